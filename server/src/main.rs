//! `natter-server`: runs the reference server, or mints a UserSig (`natter-server usersig`).

use clap::Parser;
use natter_server::cli::{self, Cli, Command};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the config is resolved: the default max_connections is derived from the soft limit.
    let nofile = natter_server::fd_limit::raise_to_hard();
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
    match nofile {
        Ok(limit) => {
            tracing::info!(%limit, max_connections = config.max_connections, "file-descriptor limit (RLIMIT_NOFILE)");
            // The default cap is derived from the limit itself; only a configured one can outgrow it.
            let tables = 1 + config.accept_shards;
            let configured = config.max_connections != natter_server::default_max_connections().saturating_mul(tables);
            if let Some(why) = configured
                .then(|| natter_server::fd_limit::shortfall(&limit, config.max_connections, tables))
                .flatten()
            {
                tracing::warn!("{why}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the file-descriptor limit (RLIMIT_NOFILE)"),
    }
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
        let stop = shutdown_signal();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(cli::banner(server.config(), server.local_addr()).as_bytes());
        let _ = out.flush();
        drop(out);
        stop.await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Registers the shutdown signals now (so a SIGTERM sent as soon as the banner is out is caught,
/// not fatal) and returns the future that waits for one.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
