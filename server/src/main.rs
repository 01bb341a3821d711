//! `natter-server`: runs the reference server, or mints a UserSig (`natter-server usersig`).

use clap::Parser;
use natter_server::cli::{self, Cli, Command};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli::resolve(&cli.options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("natter-server: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Usersig { user, expire }) = &cli.command {
        return match cli::mint(&config, user, *expire) {
            Ok(sig) => {
                println!("{sig}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("natter-server: --user: {e}");
                ExitCode::from(2)
            }
        };
    }
    // Logs go to stderr so stdout carries only the banner. The WebSocket crates log frame payloads
    // (login frames carry UserSigs) at trace level, so they are capped at debug whatever RUST_LOG says.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let no_frame_payloads = tracing_subscriber::filter::filter_fn(|meta| {
        !meta.target().contains("tungstenite") || *meta.level() <= tracing::Level::DEBUG
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .finish()
        .with(no_frame_payloads)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("natter-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match natter_server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("natter-server: cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(cli::banner(server.config(), server.local_addr()).as_bytes());
        let _ = out.flush();
        drop(out);
        wait_for_signal().await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
