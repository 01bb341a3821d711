//! `wss://` end to end: a test CA made with rcgen, a TLS front (tokio-rustls) that forwards to
//! the real natter-server's loopback port, and the client's certificate checks: trusted only
//! with `extra_root_certs_pem`, never for an unknown CA or a wrong host name, no downgrade to
//! plain text, and no TLS on a `ws://` URL.

mod common;

use common::fake::FakeServer;
use common::*;
use natter::{code, ChatClient, ChatConfig, ChatEvent, Platform};
use natter_server::ServerHandle;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestCa { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses) issued by this CA.
    fn leaf(&self, names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], key)
    }
}

/// A certificate signed by its own key: no CA anywhere vouches for it.
fn self_signed_leaf(names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names).unwrap().self_signed(&key).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (vec![cert.der().clone()], key)
}

/// Terminates TLS on a loopback port and forwards the plain bytes to `target`.
struct TlsFront {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    async fn start(target: SocketAddr, identity: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(identity.0, identity.1)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(inbound).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront { addr, task }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn wss_config(server: &ServerHandle, url: String, roots: Vec<String>) -> ChatConfig {
    let mut c = config_for(server, Platform::Web);
    c.server_url = url;
    c.extra_root_certs_pem = roots;
    c
}

async fn failed_login(server: &ServerHandle, config: ChatConfig) -> natter::ChatError {
    let c = client_with(config);
    tokio::time::timeout(SOON, c.client.login("alice", &server.user_sig("alice", 600)))
        .await
        .expect("settles")
        .expect_err("the login must be refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_logs_in_when_the_app_trusts_the_test_ca() {
    let server = server().await;
    let ca = TestCa::new("Natter test CA");
    let front = TlsFront::start(server.local_addr(), ca.leaf(&["localhost"])).await;
    // No path: `proxyServer` as a bare host, over TLS.
    let url = format!("wss://localhost:{}", front.addr.port());
    let mut c = client_with(wss_config(&server, url, vec![ca.pem()]));
    c.login_ready(&server, "alice").await;
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
    c.client.logout().await.unwrap();
    c.events.expect_next(ChatEvent::SdkNotReady).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_or_a_self_signed_server_is_refused_by_default() {
    let server = server().await;
    let ca = TestCa::new("Unknown CA");
    let by_unknown_ca = TlsFront::start(server.local_addr(), ca.leaf(&["localhost"])).await;
    let self_signed = TlsFront::start(server.local_addr(), self_signed_leaf(&["localhost"])).await;
    let other_ca = TestCa::new("Some other CA");
    for front in [&by_unknown_ca, &self_signed] {
        // Neither with no extra roots nor with an unrelated CA added.
        for roots in [vec![], vec![other_ca.pem()]] {
            let url = format!("wss://localhost:{}/ws", front.addr.port());
            let err = failed_login(&server, wss_config(&server, url, roots)).await;
            assert_eq!(err.code(), code::NETWORK_ERROR, "{err}");
            let message = err.to_string();
            assert!(message.contains("certificate was refused"), "{message}");
            assert!(message.contains("does not trust"), "{message}");
        }
    }
    assert!(online_platforms(&server, "alice").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_name_is_refused() {
    let server = server().await;
    let ca = TestCa::new("Natter test CA");
    let front = TlsFront::start(server.local_addr(), ca.leaf(&["chat.example.com"])).await;
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("wss://{host}:{}/ws", front.addr.port());
        let err = failed_login(&server, wss_config(&server, url, vec![ca.pem()])).await;
        assert_eq!(err.code(), code::NETWORK_ERROR, "{err}");
        assert!(err.to_string().contains("another host name"), "{host}: {err}");
    }
}

/// A plain TCP listener that reports the first bytes of every connection, then hangs up.
async fn first_bytes_recorder() -> (FakeServer, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let fake = FakeServer::start(move |mut stream, _| {
        let tx = tx.clone();
        async move {
            let mut buf = vec![0u8; 16];
            if stream.read_exact(&mut buf).await.is_ok() {
                let _ = tx.send(buf);
            }
        }
    })
    .await;
    (fake, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_url_against_a_plain_server_fails_and_never_falls_back_to_plain_text() {
    let server = server().await;
    let url = format!("wss://127.0.0.1:{}/ws", server.local_addr().port());
    let err = failed_login(&server, wss_config(&server, url, vec![])).await;
    assert_eq!(err.code(), code::NETWORK_ERROR);
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(online_platforms(&server, "alice").await.is_empty());

    let (fake, mut first) = first_bytes_recorder().await;
    let url = format!("wss://127.0.0.1:{}/ws", fake.addr.port());
    let _ = failed_login(&server, wss_config(&server, url, vec![])).await;
    let bytes = first.recv().await.unwrap();
    // 0x16 0x03: a TLS handshake record (the ClientHello), not an HTTP request.
    assert_eq!(&bytes[..2], &[0x16, 0x03], "{bytes:?}");
    assert!(first.try_recv().is_err(), "exactly one connection, no plain-text retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_url_never_does_tls() {
    let server = server().await;
    let (fake, mut first) = first_bytes_recorder().await;
    // With and without a path: a bare host means /ws.
    for url in [
        format!("ws://127.0.0.1:{}/ws", fake.addr.port()),
        format!("ws://127.0.0.1:{}", fake.addr.port()),
    ] {
        let mut config = wss_config(&server, url.clone(), vec![TestCa::new("unused").pem()]);
        config.request_timeout = std::time::Duration::from_secs(1);
        let _ = failed_login(&server, config).await;
        let bytes = first.recv().await.unwrap();
        assert_eq!(
            &bytes,
            b"GET /ws HTTP/1.1",
            "{url}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn extra_root_certificates_are_validated_at_new() {
    let good = TestCa::new("ok").pem();
    let mut config = ChatConfig::new(1400000001);
    config.extra_root_certs_pem = vec![good.clone(), TestCa::new("second").pem()];
    ChatClient::new(config).expect("valid PEM CA certificates are accepted");
    let corrupt = good.replace("MII", "M!I");
    for bad in [
        String::new(),
        "not a certificate".to_owned(),
        corrupt,
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".to_owned(),
    ] {
        let mut config = ChatConfig::new(1400000001);
        config.extra_root_certs_pem = vec![good.clone(), bad.clone()];
        let err = ChatClient::new(config).expect_err(&bad);
        assert_eq!(err.code(), code::INVALID_ARGUMENT, "{bad:?}: {err}");
        assert!(err.to_string().contains("extra root certificate #1"), "{err}");
    }
}

/// The outcome of hub call `call`, skipping other items.
async fn settled(rx: &mut mpsc::UnboundedReceiver<natter::hub::HubItem>, call: u64) -> natter::hub::CallOutcome {
    loop {
        let item = tokio::time::timeout(SOON, rx.recv())
            .await
            .expect("in time")
            .expect("open");
        if let natter::hub::HubItem::Settled { call_id, outcome } = item {
            if call_id == call {
                return outcome;
            }
        }
    }
}

/// The faces' path: `extraRootCertsPem` in the `create()` options reaches the TLS check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_option_extra_root_certs_pem_trusts_the_test_ca() {
    use natter::hub::{CallOutcome, Hub, HubItem, HubSink, InstanceOptions};
    struct Sink(mpsc::UnboundedSender<HubItem>);
    impl HubSink for Sink {
        fn on_item(&self, item: HubItem) {
            let _ = self.0.send(item);
        }
    }
    let server = server().await;
    let ca = TestCa::new("Natter test CA");
    let front = TlsFront::start(server.local_addr(), ca.leaf(&["localhost"])).await;
    let hub = Hub::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    hub.set_sink(Arc::new(Sink(tx)));
    let options = |pem: Option<String>| InstanceOptions {
        sdk_app_id: Some(server.config().sdk_app_id as f64),
        proxy_server: Some(format!("wss://localhost:{}", front.addr.port())),
        login_timeout_ms: Some(5000.0),
        extra_root_certs_pem: pem,
        ..Default::default()
    };
    let trusted = hub.create(options(Some(ca.pem()))).expect("valid options");
    let call = hub.login(trusted.clone(), "alice".into(), server.user_sig("alice", 600));
    assert!(matches!(settled(&mut rx, call).await, CallOutcome::Ok { .. }));
    assert!(hub.is_ready(trusted.clone()));
    let untrusted = hub.create(options(None)).expect("valid options");
    let call = hub.login(untrusted, "bob".into(), server.user_sig("bob", 600));
    match settled(&mut rx, call).await {
        CallOutcome::Err { code, message } => {
            assert_eq!(code, code::NETWORK_ERROR);
            assert!(message.contains("UnknownIssuer"), "{message}");
        }
        other => panic!("an untrusted CA must be refused, got {other:?}"),
    }
    let bad = hub.create(options(Some("not PEM".into()))).unwrap_err();
    assert_eq!(bad.code(), code::INVALID_ARGUMENT);
    let call = hub.destroy(trusted);
    assert!(matches!(settled(&mut rx, call).await, CallOutcome::Ok { .. }));
}
