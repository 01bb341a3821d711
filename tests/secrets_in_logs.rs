//! No UserSig, no `TLS.sig` HMAC inside one, and no secret key appears in any log line, client
//! or server, at debug level (the most verbose `setLogLevel` offers), across logins ok and
//! refused, a reconnect with its silent re-login, kicks and logout. Natter's and the server's
//! own TRACE lines are checked too; tungstenite's TRACE lines print whole frames (the login
//! frame with its UserSig) and are counted, not checked: an app must not enable TRACE for
//! `tungstenite` in production (docs/operations.md). Its own test binary: a `log` logger is
//! process-global.

mod common;

use common::*;
use natter::{ChatEvent, KickType, NetState, Platform};
use natter_protocol::header_login;
use std::sync::{Mutex, OnceLock};

/// Keeps every formatted log record of this process.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        self.0.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
        capture
    })
}

/// Every secret a line must not contain: the sig as sent, the HMAC inside it, the secret key.
fn secrets_of(sig: &str, secret_key: &str) -> Vec<String> {
    let doc = natter_server::usersig::decode(sig).expect("a generated sig decodes");
    let hmac = doc["TLS.sig"].as_str().expect("has TLS.sig").to_owned();
    vec![sig.to_owned(), hmac, secret_key.to_owned()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_user_sig_hmac_or_secret_key_reaches_any_log_line() {
    let capture = capture();
    let server = server().await;
    let addr = server.local_addr();
    let config = server.config().clone();
    let mut secrets = vec![];

    // A login that succeeds, then a logout.
    let mut a = client(&server, Platform::Web);
    let sig = server.user_sig("alice", 3600);
    secrets.extend(secrets_of(&sig, &config.secret_key));
    a.client.login("alice", &sig).await.unwrap();
    a.events.expect_next(ChatEvent::SdkReady).await;
    a.client.logout().await.unwrap();
    a.events.expect_next(ChatEvent::SdkNotReady).await;

    // Refused logins: a sig for another user, an expired one, and garbage.
    let other = server.user_sig("mallory", 3600);
    let now = natter::local_unix_ms() / 1000;
    let expired =
        natter_server::usersig::generate(config.sdk_app_id, &config.secret_key, "bob", 1, now - 3600).unwrap();
    secrets.extend(secrets_of(&other, &config.secret_key));
    secrets.extend(secrets_of(&expired, &config.secret_key));
    let garbage = "eJyrVkrNLaFUqY--not-a-sig-but-secret-looking-0123456789";
    secrets.push(garbage.to_owned());
    for (user, sig) in [("alice", other.as_str()), ("bob", expired.as_str()), ("carol", garbage)] {
        let b = client(&server, Platform::Web);
        b.client.login(user, sig).await.expect_err("refused");
    }

    // A reconnect with a silent re-login (the resume frame carries the sig again).
    let sig = server.user_sig("alice", 3600);
    secrets.extend(secrets_of(&sig, &config.secret_key));
    a.client.login("alice", &sig).await.unwrap();
    a.events.expect_next(ChatEvent::SdkReady).await;
    server.shutdown().await;
    a.events.until(&net(NetState::Disconnected)).await;
    let server = server_with(|c| c.listen = addr).await;
    a.events.until(&net(NetState::Connected)).await;

    // Kicks: a second web instance (multipleAccount), then the REST API kick on another user.
    let sig2 = server.user_sig("alice", 3600);
    secrets.extend(secrets_of(&sig2, &config.secret_key));
    let a2 = client(&server, Platform::Web);
    a2.client.login("alice", &sig2).await.unwrap();
    a.events.expect_kicked(KickType::MultipleAccount).await;
    let sig3 = server.user_sig("dave", 3600);
    secrets.extend(secrets_of(&sig3, &config.secret_key));
    let mut d = client(&server, Platform::Android);
    d.login_ready(&server, "dave").await;
    natter_server::admin::kick(&server, "dave").await.unwrap();
    d.events.expect_kicked(KickType::RestApi).await;
    a2.client.destroy().await.unwrap();
    a.client.destroy().await.unwrap();

    let lines = capture.0.lock().unwrap().clone();
    // The capture really saw the client's debug logs and the reconnect, so the check has teeth.
    assert!(
        lines.iter().any(|l| l.starts_with("DEBUG natter::")),
        "no client debug lines"
    );
    assert!(
        lines.iter().any(|l| l.contains("reconnect attempt")),
        "no reconnect logged"
    );
    // A header login carries the sig base64url-encoded (`x-natter-login`): a line also leaks when
    // any base64url run in it decodes to text holding a secret.
    let holds_secret = |text: &str| secrets.iter().any(|s| text.contains(s.as_str()));
    let leaks = |line: &String| {
        holds_secret(line)
            || line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|run| run.len() >= 16)
                .filter_map(header_login::decode)
                .any(|bytes| holds_secret(&String::from_utf8_lossy(&bytes)))
    };
    let encoded = header_login::encode(format!(r#"{{"type":"login","userSig":"{sig}"}}"#).as_bytes());
    assert!(
        leaks(&format!("request header x-natter-login: {encoded}")),
        "the check finds an encoded sig"
    );
    let tungstenite_trace = |line: &String| line.starts_with("TRACE tungstenite");
    let checked: Vec<&String> = lines.iter().filter(|l| !tungstenite_trace(l)).collect();
    let leaked: Vec<&&String> = checked.iter().filter(|l| leaks(l)).collect();
    assert!(
        leaked.is_empty(),
        "{} of {} log lines leak a secret: {leaked:#?}",
        leaked.len(),
        checked.len()
    );
    let trace_leaks = lines.iter().filter(|l| tungstenite_trace(l) && leaks(l)).count();
    eprintln!(
        "checked {} log lines against {} secrets: no leak; {trace_leaks} tungstenite TRACE lines hold a frame with a sig",
        checked.len(),
        secrets.len()
    );
}
