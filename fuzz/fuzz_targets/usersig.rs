//! UserSig decoding and verification (`natter_server::usersig`).
//!
//! Properties: `decode` and `verify` never panic on any string; whatever verifies decodes to a
//! document whose `TLS.sig` is the HMAC-SHA256 (recomputed here, independently of the server)
//! of the claims it returned, for the user, app and time asked, and not expired; `generate` →
//! `verify` round-trips for arbitrary user ids, apps, lifetimes and issue times (until expiry).
//!
//! Input: either a UserSig as text (verified for the identifier, app and issue time it claims, so
//! the official vectors in the corpus verify and their mutations reach every check), or a zero
//! byte followed by `arbitrary` bytes for [`Input`] (generated, tampered and hand-built sigs).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use natter_server::usersig::{self, UserSigError};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The secret key of the official vectors (tests/vectors/usersig-vectors.json), so they verify.
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const APP: u64 = 1400000001;

/// A number the way some generators write it: as a JSON number or as a string.
#[derive(Arbitrary, Debug)]
enum Num {
    U(u64),
    I(i64),
    Text(String),
    Missing,
}

impl Num {
    fn json(&self) -> Option<Value> {
        match self {
            Num::U(n) => Some(Value::from(*n)),
            Num::I(n) => Some(Value::from(*n)),
            Num::Text(s) => Some(Value::from(s.as_str())),
            Num::Missing => None,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Source {
    /// Any text as the UserSig.
    Raw(String),
    /// A generated UserSig with bytes overwritten (positions modulo its length).
    Tampered {
        user_id: String,
        expire: u64,
        issued: i64,
        edits: Vec<(u16, u8)>,
    },
    /// A hand-built document, deflated and encoded like a real one; signed with the right key
    /// over the canonical claims when `sign`.
    Crafted {
        identifier: Option<String>,
        sdkappid: Num,
        time: Num,
        expire: Num,
        userbuf: Option<String>,
        sig_text: String,
        sign: bool,
        extra: Vec<(String, String)>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    source: Source,
    /// What the verifier is asked to accept.
    user_id: String,
    app: u64,
    now: i64,
    /// The round trip part.
    gen_user: String,
    gen_app: u64,
    gen_expire: u64,
    gen_issued: i64,
}

fn hmac_sig(identifier: &str, app: u64, time: i64, expire: u64, userbuf: Option<&str>) -> String {
    let mut content =
        format!("TLS.identifier:{identifier}\nTLS.sdkappid:{app}\nTLS.time:{time}\nTLS.expire:{expire}\n");
    if let Some(b) = userbuf {
        content.push_str(&format!("TLS.userbuf:{b}\n"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn parse_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

fn parse_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

fn build(source: Source) -> String {
    match source {
        Source::Raw(s) => s,
        Source::Tampered {
            user_id,
            expire,
            issued,
            edits,
        } => {
            // An id outside the identifier rule cannot be minted: tamper with the id's text instead.
            let minted = usersig::generate(APP, KEY, &user_id, expire, issued).unwrap_or_else(|_| user_id.clone());
            let mut bytes = minted.into_bytes();
            for (at, b) in edits {
                let n = bytes.len();
                if n > 0 {
                    bytes[at as usize % n] = b;
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Source::Crafted {
            identifier,
            sdkappid,
            time,
            expire,
            userbuf,
            sig_text,
            sign,
            extra,
        } => {
            let mut doc = Map::new();
            for (k, v) in extra {
                doc.insert(k, Value::from(v));
            }
            doc.insert("TLS.ver".into(), "2.0".into());
            if let Some(id) = &identifier {
                doc.insert("TLS.identifier".into(), id.as_str().into());
            }
            for (name, num) in [
                ("TLS.sdkappid", &sdkappid),
                ("TLS.time", &time),
                ("TLS.expire", &expire),
            ] {
                if let Some(v) = num.json() {
                    doc.insert(name.into(), v);
                }
            }
            if let Some(b) = &userbuf {
                doc.insert("TLS.userbuf".into(), b.as_str().into());
            }
            let canonical = (|| {
                Some((
                    identifier.as_deref()?,
                    parse_u64(&sdkappid.json()?)?,
                    parse_i64(&time.json()?)?,
                    parse_u64(&expire.json()?)?,
                ))
            })();
            let sig = match canonical {
                Some((id, app, t, e)) if sign => hmac_sig(id, app, t, e, userbuf.as_deref()),
                _ => sig_text,
            };
            doc.insert("TLS.sig".into(), sig.into());
            usersig::encode(&Value::Object(doc))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => {
            if let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(rest)) {
                structured(input);
            }
        }
        _ => {
            let sig = String::from_utf8_lossy(data);
            // Ask for what the sig claims, so a genuine one verifies.
            let doc = usersig::decode(&sig).ok();
            let field = |k: &str| doc.as_ref().and_then(|d| d.get(k));
            let user = field("TLS.identifier")
                .and_then(Value::as_str)
                .unwrap_or("alice")
                .to_owned();
            let app = field("TLS.sdkappid").and_then(parse_u64).unwrap_or(APP);
            let issued = field("TLS.time").and_then(parse_i64).unwrap_or(0);
            let expire = field("TLS.expire").and_then(parse_u64).unwrap_or(0);
            let end = issued.saturating_add(i64::try_from(expire).unwrap_or(i64::MAX));
            for now in [issued, end.saturating_sub(1), end] {
                check_verify(&sig, app, &user, now);
            }
        }
    }
});

fn structured(input: Input) {
    let sig = build(input.source);
    check_verify(&sig, input.app, &input.user_id, input.now);
    round_trip(&input.gen_user, input.gen_app, input.gen_expire, input.gen_issued);
}

fn check_verify(sig: &str, app: u64, user_id: &str, now: i64) {
    let decoded = usersig::decode(sig);
    match usersig::verify(sig, app, KEY, user_id, now) {
        Ok(claims) => {
            let doc = decoded.expect("a UserSig that verifies decodes");
            assert_eq!(claims.identifier, user_id);
            assert_eq!(claims.sdk_app_id, app);
            assert!(now < claims.expires_at(), "expired sig accepted: {claims:?} at {}", now);
            assert_eq!(doc["TLS.identifier"].as_str(), Some(claims.identifier.as_str()));
            assert_eq!(parse_u64(&doc["TLS.sdkappid"]), Some(claims.sdk_app_id));
            assert_eq!(parse_i64(&doc["TLS.time"]), Some(claims.time));
            assert_eq!(parse_u64(&doc["TLS.expire"]), Some(claims.expire));
            let userbuf = doc.get("TLS.userbuf").map(|b| b.as_str().expect("userbuf is a string"));
            let expected = hmac_sig(
                &claims.identifier,
                claims.sdk_app_id,
                claims.time,
                claims.expire,
                userbuf,
            );
            assert_eq!(
                doc["TLS.sig"].as_str(),
                Some(expected.as_str()),
                "accepted a wrong signature"
            );
        }
        Err(e) => {
            // Every refusal has one of the documented codes.
            assert!(
                matches!(e.code(), 70001 | 70002 | 70003 | 70009 | 70013 | 70014),
                "{e:?}"
            );
            if sig.is_empty() {
                assert_eq!(e, UserSigError::Empty);
            }
        }
    }
}

// Round trip: what we mint verifies for exactly its user and app until it expires. Real
// user ids are at most 32 bytes; anything up to 1 KiB must round-trip.
fn round_trip(gen_user: &str, gen_app: u64, gen_expire: u64, gen_issued: i64) {
    if gen_user.len() <= 1024 {
        let valid_id = natter_protocol::identifier::validate(gen_user).is_ok();
        let s = match usersig::generate(gen_app, KEY, gen_user, gen_expire, gen_issued) {
            Ok(s) => {
                assert!(valid_id, "minted a sig for {gen_user:?}, outside the identifier rule");
                s
            }
            Err(e) => {
                // Minting refuses exactly the ids outside the identifier rule.
                assert_eq!(e, UserSigError::InvalidIdentifier);
                assert!(!valid_id, "refused to mint for {gen_user:?}");
                return;
            }
        };
        let end = gen_issued.saturating_add(i64::try_from(gen_expire).unwrap_or(i64::MAX));
        match usersig::verify(&s, gen_app, KEY, gen_user, gen_issued) {
            Ok(c) => {
                assert!(gen_issued < end);
                assert_eq!(
                    (c.identifier.as_str(), c.sdk_app_id, c.time, c.expire),
                    (gen_user, gen_app, gen_issued, gen_expire)
                );
                assert_eq!(c.expires_at(), end);
            }
            Err(e) => {
                assert_eq!(e, UserSigError::Expired, "generated sig for {:?} refused", gen_user);
                assert!(gen_issued >= end);
            }
        }
        // Another valid id: one character more, or one less at the 32-byte limit.
        let other_user = if gen_user.len() < natter_protocol::identifier::MAX_USER_ID_BYTES {
            format!("{gen_user}x")
        } else {
            gen_user[1..].to_owned()
        };
        assert_eq!(
            usersig::verify(&s, gen_app, KEY, &other_user, gen_issued),
            Err(UserSigError::UserMismatch)
        );
        assert_eq!(
            usersig::verify(&s, gen_app ^ 1, KEY, gen_user, gen_issued),
            Err(UserSigError::AppMismatch)
        );
    }
}
