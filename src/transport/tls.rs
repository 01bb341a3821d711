//! TLS for `wss://`: certificates are always verified, against the Mozilla roots plus any roots
//! the app added (`ChatConfig::extra_root_certs_pem`, for a private CA). There is no switch to
//! turn verification off and no fallback to plain `ws://`.

use once_cell::sync::Lazy;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// The config every client without extra roots shares.
static DEFAULT: Lazy<Arc<rustls::ClientConfig>> = Lazy::new(|| Arc::new(build(mozilla_roots())));

fn mozilla_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// ring's default provider without its key loader. The client never presents a certificate
/// (`with_no_client_auth`), and ring's loader is what keeps RSA, ECDSA and Ed25519 *signing* in
/// the library: without it, LTO drops them from the cdylib and the staticlib (about 36 KB of
/// code, docs/performance.md, size). Suites, groups, verification and randomness stay ring's.
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::CryptoProvider {
        key_provider: &NoClientKeys,
        ..rustls::crypto::ring::default_provider()
    }
}

#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "Natter's client does not use client certificates".into(),
        ))
    }
}

fn build(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    let provider = Arc::new(provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Parses PEM text holding one or more CA certificates; the error says which entry is bad.
pub fn parse_roots(pems: &[String]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for (index, pem) in pems.iter().enumerate() {
        let before = certs.len();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            certs.push(cert.map_err(|e| format!("extra root certificate #{index} is not valid PEM: {e:?}"))?);
        }
        if certs.len() == before {
            return Err(format!("extra root certificate #{index} holds no PEM certificate"));
        }
    }
    Ok(certs)
}

/// The client config for these extra roots (PEM already checked by `ChatConfig::validate`).
pub fn client_config(extra_roots_pem: &[String]) -> Result<Arc<rustls::ClientConfig>, String> {
    if extra_roots_pem.is_empty() {
        return Ok(DEFAULT.clone());
    }
    let mut roots = mozilla_roots();
    for (index, cert) in parse_roots(extra_roots_pem)?.into_iter().enumerate() {
        roots
            .add(cert)
            .map_err(|e| format!("extra root certificate #{index} is not a usable CA certificate: {e}"))?;
    }
    Ok(Arc::new(build(roots)))
}

/// A TLS failure in words an app developer can act on.
pub fn describe(error: &std::io::Error) -> String {
    let tls = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(why)) => {
            let hint = match why {
                rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature => {
                    " (issued by a CA this client does not trust; add it with extra_root_certs_pem)"
                }
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. } => {
                    " (the certificate is for another host name)"
                }
                _ => "",
            };
            format!("TLS: the server's certificate was refused: {why:?}{hint}")
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {error}"),
    }
}
