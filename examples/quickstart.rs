//! The README's "run" command: starts an embedded reference server on a free loopback port and
//! narrates the seed scenario with real clients over real WebSockets.
//!
//!     cargo run --example quickstart
//!     cargo run --example quickstart -- --server ws://host:9800/ws --sdk-app-id N --user ID --user-sig SIG
//!
//! Exits non-zero on any failure.

use natter::{ChatClient, ChatConfig, ChatEvent, Platform};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

type Result<T> = std::result::Result<T, String>;

struct External {
    server: String,
    sdk_app_id: u64,
    user: String,
    user_sig: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Some(external)) => run_external(external).await,
        Ok(None) => run_embedded().await,
        Err(usage) => Err(usage),
    };
    match outcome {
        Ok(()) => {
            println!("\n✔ done");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\n✘ {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Option<External>> {
    if args.is_empty() {
        return Ok(None);
    }
    let usage = "usage: quickstart [--server URL --sdk-app-id N --user ID --user-sig SIG]";
    let mut it = args.into_iter();
    let (mut server, mut app, mut user, mut sig) = (None, None, None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value\n{usage}"))?;
        match flag.as_str() {
            "--server" => server = Some(value),
            "--sdk-app-id" => app = Some(value.parse::<u64>().map_err(|e| format!("--sdk-app-id: {e}"))?),
            "--user" => user = Some(value),
            "--user-sig" => sig = Some(value),
            _ => return Err(format!("unknown option {flag}\n{usage}")),
        }
    }
    match (server, app, user, sig) {
        (Some(server), Some(sdk_app_id), Some(user), Some(user_sig)) => Ok(Some(External {
            server,
            sdk_app_id,
            user,
            user_sig,
        })),
        _ => Err(format!("all four options are needed together\n{usage}")),
    }
}

/// One client with a name for the narration and its event stream.
struct Page {
    name: &'static str,
    client: ChatClient,
    events: UnboundedReceiver<ChatEvent>,
}

impl Page {
    fn new(name: &'static str, config: ChatConfig) -> Result<Self> {
        let client = ChatClient::new(config).map_err(|e| format!("create {name}: {e} (code {})", e.code()))?;
        println!(
            "▶ create()                     → instance {name} ({})",
            client.config().platform
        );
        let events = client.events();
        Ok(Page { name, client, events })
    }

    /// Prints this page's events until `wanted` (by reference name) arrives.
    async fn expect(&mut self, wanted: &str) -> Result<ChatEvent> {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), self.events.recv())
                .await
                .map_err(|_| format!("{}: timed out waiting for {wanted}", self.name))?
                .ok_or(format!("{}: event stream ended before {wanted}", self.name))?;
            println!("    [{}] event {event}", self.name);
            if event.name() == wanted {
                return Ok(event);
            }
        }
    }

    async fn login(&mut self, user: &str, sig: &str) -> Result<()> {
        let r = self
            .client
            .login(user, sig)
            .await
            .map_err(|e| format!("{} login: {e} (code {})", self.name, e.code()))?;
        println!(
            "▶ {}.login({user:?})             → {{code: 0, data: {{repeatLogin: {}}}}}",
            self.name, r.repeat_login
        );
        self.expect("sdkStateReady").await.map(drop)
    }

    fn show_getters(&self) {
        let local = natter::local_unix_ms();
        let server = self.client.server_time_ms();
        println!("    getLoginUser() = {:?}", self.client.login_user());
        println!("    isReady()      = {}", self.client.is_ready());
        println!(
            "    getServerTime()= {server} (server clock − local clock: {} ms)",
            server - local
        );
    }

    async fn logout(&mut self) -> Result<()> {
        self.client
            .logout()
            .await
            .map_err(|e| format!("{} logout: {e}", self.name))?;
        println!("▶ {}.logout()                   → {{code: 0, data: {{}}}}", self.name);
        self.expect("sdkStateNotReady").await.map(drop)
    }

    async fn destroy(&mut self) -> Result<()> {
        self.client
            .destroy()
            .await
            .map_err(|e| format!("{} destroy: {e}", self.name))?;
        println!("▶ {}.destroy()                  → {{code: 0, data: {{}}}}", self.name);
        self.expect("sdkDestroy").await.map(drop)
    }
}

async fn run_embedded() -> Result<()> {
    let config = natter_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let server = natter_server::start(config)
        .await
        .map_err(|e| format!("cannot start the server: {e}"))?;
    println!(
        "▶ embedded natter-server at {} (dev SDKAppID {})\n",
        server.ws_url(),
        server.config().sdk_app_id
    );
    let client_config = || {
        ChatConfig::new(server.config().sdk_app_id)
            .with_server_url(server.ws_url())
            .with_platform(Platform::Web)
    };

    let mut a = Page::new("A", client_config())?;
    a.login("alice", &server.user_sig("alice", 7 * 86400)).await?;
    a.show_getters();

    println!("\n— a second web page of alice logs in: the older one is kicked (multipleAccount)");
    let mut b = Page::new("B", client_config())?;
    b.login("alice", &server.user_sig("alice", 7 * 86400)).await?;
    a.expect("kickedOut").await?;
    a.expect("sdkStateNotReady").await?;

    println!("\n— the admin REST API kicks alice everywhere (REST_API_Kick)");
    let reply = natter_server::admin::kick(&server, "alice")
        .await
        .map_err(|e| format!("REST kick: {e}"))?;
    println!("▶ POST /v4/im_open_login_svc/kick {{\"UserID\":\"alice\"}} → {reply}");
    b.expect("kickedOut").await?;
    b.expect("sdkStateNotReady").await?;

    println!("\n— A logs in again, then logs out and both instances are destroyed");
    a.login("alice", &server.user_sig("alice", 7 * 86400)).await?;
    a.show_getters();
    a.logout().await?;
    a.destroy().await?;
    b.destroy().await?;
    server.shutdown().await;
    Ok(())
}

async fn run_external(ext: External) -> Result<()> {
    println!("▶ external server {} (SDKAppID {})\n", ext.server, ext.sdk_app_id);
    let config = ChatConfig::new(ext.sdk_app_id).with_server_url(ext.server);
    let mut a = Page::new("A", config)?;
    a.login(&ext.user, &ext.user_sig).await?;
    a.show_getters();
    a.logout().await?;
    a.destroy().await
}
