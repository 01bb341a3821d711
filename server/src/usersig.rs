//! UserSig v2, bit-compatible with the official `tls-sig-api-v2` generators.
//!
//! A UserSig is base64 (with `+`→`*`, `/`→`-`, `=`→`_`) of zlib-deflated JSON
//! `{TLS.ver, TLS.identifier, TLS.sdkappid, TLS.time, TLS.expire, TLS.sig [, TLS.userbuf]}`;
//! `TLS.sig` is base64 HMAC-SHA256 over `TLS.<field>:<value>\n` lines.
//!
//! Because the signed text is line-based, no signed value may hold a newline: identifiers follow
//! [`natter_protocol::identifier::validate`] (when minting and when checking), `TLS.userbuf` must
//! be base64, and a document with any other key is refused. Without that, a sig minted for the id
//! `administrator\nTLS.sdkappid:…\nTLS.userbuf:X` could be re-packed into an admin sig.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use natter_protocol::code;
use serde_json::{json, Value};
use sha2::Sha256;
use std::cell::Cell;
use std::io::{Cursor, Read, Write};
use subtle::ConstantTimeEq;

/// The only `TLS.ver` we mint and accept.
pub const VERSION: &str = "2.0";
/// The keys a UserSig document may carry; any other key is refused (70003).
const KNOWN_KEYS: [&str; 7] = [
    "TLS.ver",
    "TLS.identifier",
    "TLS.sdkappid",
    "TLS.time",
    "TLS.expire",
    "TLS.sig",
    "TLS.userbuf",
];
/// How far in the future `TLS.time` may lie (clocks of the minting backend and the server differ).
pub const DEFAULT_MAX_FUTURE_SECS: u64 = 300;

/// Largest inflated UserSig JSON we accept (a real one is ~200 bytes); bounds zip bombs.
const MAX_INFLATED_BYTES: u64 = 8 * 1024;
/// Largest encoded UserSig we even try to decode.
const MAX_ENCODED_BYTES: usize = 8 * 1024;

/// The verified content of a UserSig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub identifier: String,
    pub sdk_app_id: u64,
    /// Issue time, Unix seconds.
    pub time: i64,
    /// Lifetime in seconds.
    pub expire: u64,
}

impl Claims {
    /// First Unix second at which the UserSig is expired.
    pub fn expires_at(&self) -> i64 {
        self.time.saturating_add(i64::try_from(self.expire).unwrap_or(i64::MAX))
    }
}

/// Why a UserSig was refused; [`UserSigError::code`] is the reference server's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum UserSigError {
    #[error("UserSig is empty")]
    Empty,
    #[error("UserSig is malformed and cannot be decoded")]
    Malformed,
    #[error("UserSig signature check failed")]
    BadSignature,
    #[error("UserSig was issued for another userID")]
    UserMismatch,
    #[error("UserSig was issued for another SDKAppID")]
    AppMismatch,
    #[error("UserSig expired")]
    Expired,
    #[error("identifier is not 1-32 characters of [A-Za-z0-9_-]")]
    InvalidIdentifier,
    #[error("UserSig carries a field a UserSig never has")]
    UnexpectedField,
    #[error("UserSig has an unsupported TLS.ver (expected 2.0)")]
    UnsupportedVersion,
    #[error("UserSig TLS.userbuf is not base64")]
    BadUserbuf,
    #[error("UserSig is not valid yet: TLS.time is too far in the future")]
    NotYetValid,
}

impl UserSigError {
    /// The documented wire code (`natter_protocol::code`).
    pub fn code(&self) -> i32 {
        match self {
            UserSigError::Expired => code::USERSIG_EXPIRED,
            UserSigError::Empty => code::USERSIG_EMPTY,
            UserSigError::Malformed
            | UserSigError::InvalidIdentifier
            | UserSigError::UnexpectedField
            | UserSigError::UnsupportedVersion
            | UserSigError::BadUserbuf
            | UserSigError::NotYetValid => code::USERSIG_INVALID,
            UserSigError::BadSignature => code::USERSIG_BAD_SIGNATURE,
            UserSigError::UserMismatch => code::USERSIG_USER_MISMATCH,
            UserSigError::AppMismatch => code::USERSIG_APP_MISMATCH,
        }
    }
}

fn signature(
    secret_key: &str,
    identifier: &str,
    sdk_app_id: u64,
    time: i64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let mut content =
        format!("TLS.identifier:{identifier}\nTLS.sdkappid:{sdk_app_id}\nTLS.time:{time}\nTLS.expire:{expire}\n");
    if let Some(b) = userbuf {
        content.push_str(&format!("TLS.userbuf:{b}\n"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Mints a UserSig valid from `issued_at_unix` for `expire_secs` seconds; refuses a `user_id`
/// outside the identifier rule ([`UserSigError::InvalidIdentifier`]).
pub fn generate(
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    expire_secs: u64,
    issued_at_unix: i64,
) -> Result<String, UserSigError> {
    natter_protocol::identifier::validate(user_id).map_err(|_| UserSigError::InvalidIdentifier)?;
    let sig = signature(secret_key, user_id, sdk_app_id, issued_at_unix, expire_secs, None);
    let doc = json!({
        "TLS.ver": VERSION,
        "TLS.identifier": user_id,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire_secs,
        "TLS.time": issued_at_unix,
        "TLS.sig": sig,
    });
    Ok(encode(&doc))
}

/// Packs a UserSig document as a UserSig string (the inverse of [`decode`]): zlib, base64, then
/// `+`→`*`, `/`→`-`, `=`→`_`. Signs nothing: tests and tools use it to build documents by hand.
pub fn encode(doc: &Value) -> String {
    encode_bytes(doc.to_string().as_bytes())
}

fn encode_bytes(json: &[u8]) -> String {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(json).expect("writing to a Vec cannot fail");
    let compressed = enc.finish().expect("writing to a Vec cannot fail");
    sig_base64(&compressed)
}

/// Base64 in the UserSig alphabet (`*`, `-`, `_` for `+`, `/`, `=`).
fn sig_base64(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

/// Decodes a UserSig to its JSON document without checking anything else.
pub fn decode(user_sig: &str) -> Result<Value, UserSigError> {
    with_inflater(|inflater| {
        let inflated = inflater.inflate(user_sig)?;
        let doc: Value = serde_json::from_slice(inflated).map_err(|_| UserSigError::Malformed)?;
        if !doc.is_object() {
            return Err(UserSigError::Malformed);
        }
        Ok(doc)
    })
}

/// The buffers and the zlib state one decode needs, kept per thread and reused: a fresh
/// `read::ZlibDecoder` allocates a 32 KiB input buffer and a ~43 KiB inflate state (both
/// zero-filled) for every login. Reuse changes nothing the caller sees: the state is fully reset
/// (dictionary zeroed, as a new one is) and driven through the same `Read` path with the same
/// input chunks, so every input inflates, or fails, exactly as it did with a fresh decoder.
struct Inflater {
    /// Owns the compressed bytes of the current call (its `Vec` is reused for the next).
    decoder: flate2::bufread::ZlibDecoder<Cursor<Vec<u8>>>,
    /// The UserSig with its URL-safe characters mapped back to standard base64.
    b64: Vec<u8>,
    inflated: Vec<u8>,
}

impl Inflater {
    fn new() -> Self {
        Inflater {
            decoder: flate2::bufread::ZlibDecoder::new(Cursor::new(Vec::new())),
            b64: Vec::new(),
            inflated: Vec::new(),
        }
    }

    /// base64 (UserSig alphabet) → zlib → at most [`MAX_INFLATED_BYTES`] of JSON text.
    fn inflate(&mut self, user_sig: &str) -> Result<&[u8], UserSigError> {
        if user_sig.is_empty() {
            return Err(UserSigError::Empty);
        }
        if user_sig.len() > MAX_ENCODED_BYTES {
            return Err(UserSigError::Malformed);
        }
        // Mapping never touches whitespace, so trimming first equals trimming the mapped text.
        self.b64.clear();
        self.b64.extend(user_sig.trim().bytes().map(|b| match b {
            b'*' => b'+',
            b'-' => b'/',
            b'_' => b'=',
            b => b,
        }));
        let mut compressed = std::mem::take(self.decoder.get_mut().get_mut());
        compressed.clear();
        let decoded = STANDARD.decode_vec(&self.b64, &mut compressed);
        // `reset` zeroes the inflate state as `Decompress::new` does, and hands back the
        // previous (empty) cursor.
        self.decoder.reset(Cursor::new(compressed));
        decoded.map_err(|_| UserSigError::Malformed)?;
        self.inflated.clear();
        (&mut self.decoder)
            .take(MAX_INFLATED_BYTES + 1)
            .read_to_end(&mut self.inflated)
            .map_err(|_| UserSigError::Malformed)?;
        if self.inflated.len() as u64 > MAX_INFLATED_BYTES {
            return Err(UserSigError::Malformed);
        }
        Ok(&self.inflated)
    }
}

thread_local! {
    static INFLATER: Cell<Option<Inflater>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's [`Inflater`], taken out for the call and put back after (a fresh
/// one if the thread has none to give).
fn with_inflater<T>(f: impl FnOnce(&mut Inflater) -> T) -> T {
    let mut inflater = INFLATER
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(Inflater::new);
    let out = f(&mut inflater);
    let _ = INFLATER.try_with(|cell| cell.set(Some(inflater)));
    out
}

// Some generators write numbers as strings; accept both.
fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Verifies a UserSig for `user_id` of app `sdk_app_id` at `now_unix`, allowing `TLS.time` up to
/// [`DEFAULT_MAX_FUTURE_SECS`] in the future.
pub fn verify(
    user_sig: &str,
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    now_unix: i64,
) -> Result<Claims, UserSigError> {
    verify_with_skew(
        user_sig,
        sdk_app_id,
        secret_key,
        user_id,
        now_unix,
        DEFAULT_MAX_FUTURE_SECS,
    )
}

fn is_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// [`verify`] with an explicit not-before tolerance: `TLS.time > now + max_future_secs` is refused.
///
/// Check order: empty (70002), decode (70003), shape (70003: unknown key, `TLS.ver` other than
/// 2.0, wrong types, identifier outside the rule in the sig or in `user_id`, `TLS.userbuf` not
/// base64), user (70013), app (70014), signature (70009), not-before (70003), expiry (70001;
/// expired from `time + expire` on).
pub fn verify_with_skew(
    user_sig: &str,
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    now_unix: i64,
    max_future_secs: u64,
) -> Result<Claims, UserSigError> {
    let doc = decode(user_sig)?;
    let Some(fields) = doc.as_object() else {
        return Err(UserSigError::Malformed);
    };
    if fields.keys().any(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(UserSigError::UnexpectedField);
    }
    if fields.get("TLS.ver").and_then(Value::as_str) != Some(VERSION) {
        return Err(UserSigError::UnsupportedVersion);
    }
    let identifier = doc
        .get("TLS.identifier")
        .and_then(Value::as_str)
        .ok_or(UserSigError::Malformed)?;
    let app = as_u64(doc.get("TLS.sdkappid")).ok_or(UserSigError::Malformed)?;
    let time = as_i64(doc.get("TLS.time")).ok_or(UserSigError::Malformed)?;
    let expire = as_u64(doc.get("TLS.expire")).ok_or(UserSigError::Malformed)?;
    let sig = doc
        .get("TLS.sig")
        .and_then(Value::as_str)
        .ok_or(UserSigError::Malformed)?;
    let userbuf = match doc.get("TLS.userbuf") {
        None => None,
        Some(Value::String(s)) if is_base64(s) => Some(s.as_str()),
        Some(Value::String(_)) => return Err(UserSigError::BadUserbuf),
        Some(_) => return Err(UserSigError::Malformed),
    };
    let valid = |id: &str| natter_protocol::identifier::validate(id).is_ok();
    if !valid(identifier) || !valid(user_id) {
        return Err(UserSigError::InvalidIdentifier);
    }
    if identifier != user_id {
        return Err(UserSigError::UserMismatch);
    }
    if app != sdk_app_id {
        return Err(UserSigError::AppMismatch);
    }
    let expected = signature(secret_key, identifier, app, time, expire, userbuf);
    if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
        return Err(UserSigError::BadSignature);
    }
    let claims = Claims {
        identifier: identifier.to_owned(),
        sdk_app_id: app,
        time,
        expire,
    };
    check_window(&claims, now_unix, max_future_secs)?;
    Ok(claims)
}

/// The last two checks of [`verify_with_skew`]: not-before (70003), then expiry (70001).
fn check_window(claims: &Claims, now_unix: i64, max_future_secs: u64) -> Result<(), UserSigError> {
    let latest_start = now_unix.saturating_add(i64::try_from(max_future_secs).unwrap_or(i64::MAX));
    if claims.time > latest_start {
        return Err(UserSigError::NotYetValid);
    }
    if now_unix >= claims.expires_at() {
        return Err(UserSigError::Expired);
    }
    Ok(())
}

/// The checks of [`verify_with_skew`] that depend on the caller and the clock, in its order, for
/// claims whose signature already passed (`verified_sigs`): the same sig, user and time get the
/// same answer as from a fresh check.
pub fn check_claims(
    claims: &Claims,
    sdk_app_id: u64,
    user_id: &str,
    now_unix: i64,
    max_future_secs: u64,
) -> Result<(), UserSigError> {
    if natter_protocol::identifier::validate(user_id).is_err() {
        return Err(UserSigError::InvalidIdentifier);
    }
    if claims.identifier != user_id {
        return Err(UserSigError::UserMismatch);
    }
    if claims.sdk_app_id != sdk_app_id {
        return Err(UserSigError::AppMismatch);
    }
    check_window(claims, now_unix, max_future_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y";

    #[test]
    fn round_trip() {
        let s = generate(42, KEY, "alice", 100, 1_000).unwrap();
        let c = verify(&s, 42, KEY, "alice", 1_000).unwrap();
        assert_eq!(
            c,
            Claims {
                identifier: "alice".into(),
                sdk_app_id: 42,
                time: 1_000,
                expire: 100
            }
        );
        assert_eq!(c.expires_at(), 1_100);
        assert!(verify(&s, 42, KEY, "alice", 1_099).is_ok());
        assert_eq!(verify(&s, 42, KEY, "alice", 1_100), Err(UserSigError::Expired));
        assert_eq!(verify(&s, 42, KEY, "bob", 1_000), Err(UserSigError::UserMismatch));
        assert_eq!(verify(&s, 43, KEY, "alice", 1_000), Err(UserSigError::AppMismatch));
        assert_eq!(verify(&s, 42, "other", "alice", 1_000), Err(UserSigError::BadSignature));
        assert_eq!(verify("", 42, KEY, "alice", 1_000), Err(UserSigError::Empty));
        assert!(!s.contains('+') && !s.contains('/') && !s.contains('='));
        assert_eq!(decode(&s).unwrap()["TLS.ver"], "2.0");
    }

    #[test]
    fn codes() {
        assert_eq!(UserSigError::Expired.code(), 70001);
        assert_eq!(UserSigError::Empty.code(), 70002);
        assert_eq!(UserSigError::Malformed.code(), 70003);
        assert_eq!(UserSigError::BadSignature.code(), 70009);
        assert_eq!(UserSigError::UserMismatch.code(), 70013);
        assert_eq!(UserSigError::AppMismatch.code(), 70014);
        for e in [
            UserSigError::InvalidIdentifier,
            UserSigError::UnexpectedField,
            UserSigError::UnsupportedVersion,
            UserSigError::BadUserbuf,
            UserSigError::NotYetValid,
        ] {
            assert_eq!(e.code(), 70003, "{e}");
        }
    }

    /// A correctly signed document with `extra` merged in (so only the shape check can refuse it).
    fn signed(extra: Value, userbuf: Option<&str>) -> String {
        let mut doc = json!({"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":42,"TLS.time":1000,
                             "TLS.expire":100,"TLS.sig": signature(KEY, "alice", 42, 1000, 100, userbuf)});
        if let Some(b) = userbuf {
            doc["TLS.userbuf"] = json!(b);
        }
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        encode(&doc)
    }

    #[test]
    fn identifiers_outside_the_rule_are_neither_minted_nor_accepted() {
        for bad in ["", "a\nTLS.time:0", "a b", &"x".repeat(33), "é"] {
            assert_eq!(generate(42, KEY, bad, 100, 1_000), Err(UserSigError::InvalidIdentifier));
        }
        let good = generate(42, KEY, "alice", 100, 1_000).unwrap();
        assert_eq!(
            verify(&good, 42, KEY, "alice\n", 1_000),
            Err(UserSigError::InvalidIdentifier)
        );
        let sig = signature(KEY, "a\nb", 42, 1000, 100, None);
        let doc = json!({"TLS.ver":"2.0","TLS.identifier":"a\nb","TLS.sdkappid":42,"TLS.time":1000,"TLS.expire":100,"TLS.sig":sig});
        assert_eq!(
            verify(&encode(&doc), 42, KEY, "a\nb", 1_000),
            Err(UserSigError::InvalidIdentifier)
        );
    }

    #[test]
    fn unknown_fields_wrong_version_and_bad_userbuf_are_refused() {
        assert!(verify(&signed(json!({}), None), 42, KEY, "alice", 1_000).is_ok());
        assert!(verify(&signed(json!({}), Some("QUJD")), 42, KEY, "alice", 1_000).is_ok());
        assert_eq!(
            verify(&signed(json!({"TLS.admin": true}), None), 42, KEY, "alice", 1_000),
            Err(UserSigError::UnexpectedField)
        );
        assert_eq!(
            verify(&signed(json!({"TLS.ver": "3.0"}), None), 42, KEY, "alice", 1_000),
            Err(UserSigError::UnsupportedVersion)
        );
        assert_eq!(
            verify(&signed(json!({"TLS.ver": 2}), None), 42, KEY, "alice", 1_000),
            Err(UserSigError::UnsupportedVersion)
        );
        assert_eq!(
            verify(&signed(json!({}), Some("X\nTLS.time:1")), 42, KEY, "alice", 1_000),
            Err(UserSigError::BadUserbuf)
        );
    }

    #[test]
    fn not_before_allows_the_documented_skew_only() {
        let s = generate(42, KEY, "alice", 10_000, 1_000).unwrap();
        let skew = DEFAULT_MAX_FUTURE_SECS as i64;
        assert!(verify(&s, 42, KEY, "alice", 1_000 - skew).is_ok());
        assert_eq!(
            verify(&s, 42, KEY, "alice", 1_000 - skew - 1),
            Err(UserSigError::NotYetValid)
        );
        assert!(verify_with_skew(&s, 42, KEY, "alice", 990, 10).is_ok());
        assert_eq!(
            verify_with_skew(&s, 42, KEY, "alice", 989, 10),
            Err(UserSigError::NotYetValid)
        );
    }

    #[test]
    fn tampered_fields_fail_the_signature() {
        let doc = json!({"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":42,"TLS.time":1000,"TLS.expire":999999,"TLS.sig":"AAAA"});
        assert_eq!(
            verify(&encode(&doc), 42, KEY, "alice", 1_000),
            Err(UserSigError::BadSignature)
        );
    }

    /// `decode` before the reusable inflater: a fresh `read::ZlibDecoder` per call.
    fn decode_fresh(user_sig: &str) -> Result<Value, UserSigError> {
        if user_sig.is_empty() {
            return Err(UserSigError::Empty);
        }
        if user_sig.len() > MAX_ENCODED_BYTES {
            return Err(UserSigError::Malformed);
        }
        let b64: String = user_sig
            .chars()
            .map(|c| match c {
                '*' => '+',
                '-' => '/',
                '_' => '=',
                c => c,
            })
            .collect();
        let compressed = STANDARD.decode(b64.trim()).map_err(|_| UserSigError::Malformed)?;
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(compressed.as_slice())
            .take(MAX_INFLATED_BYTES + 1)
            .read_to_end(&mut inflated)
            .map_err(|_| UserSigError::Malformed)?;
        if inflated.len() as u64 > MAX_INFLATED_BYTES {
            return Err(UserSigError::Malformed);
        }
        let doc: Value = serde_json::from_slice(&inflated).map_err(|_| UserSigError::Malformed)?;
        if !doc.is_object() {
            return Err(UserSigError::Malformed);
        }
        Ok(doc)
    }

    /// The reused inflater decodes (or refuses) every input exactly as a fresh decoder did, one
    /// input after another on the same thread: truncations at every length, every byte changed,
    /// trailing garbage, whitespace, a zip bomb just under and just over the bound.
    #[test]
    fn reused_inflater_decodes_like_a_fresh_decoder() {
        let good = generate(42, KEY, "alice", 100, 1_000).unwrap();
        let raw = STANDARD
            .decode(good.replace('*', "+").replace('-', "/").replace('_', "="))
            .unwrap();
        let mut inputs: Vec<String> = vec![
            String::new(),
            good.clone(),
            format!("  {good}\n"),
            format!("{good}\u{2003}"),
            format!("{good}AAAA"),
            encode_bytes(&[raw.as_slice(), b"trailing"].concat()),
            encode_bytes(&vec![b' '; MAX_INFLATED_BYTES as usize - 2]),
            encode_bytes(format!("{{{}}}", " ".repeat(MAX_INFLATED_BYTES as usize - 2)).as_bytes()),
            encode_bytes(format!("{{{}}}", " ".repeat(MAX_INFLATED_BYTES as usize - 1)).as_bytes()),
            encode_bytes(&vec![b' '; 1 << 20]),
            "é".repeat(10),
            "a".repeat(MAX_ENCODED_BYTES + 1),
        ];
        for n in 0..raw.len() {
            inputs.push(sig_base64(&raw[..n]));
        }
        for i in 0..raw.len() {
            for flip in [0x01u8, 0x80] {
                let mut b = raw.clone();
                b[i] ^= flip;
                inputs.push(sig_base64(&b));
            }
        }
        for i in 0..good.len() {
            let mut b = good.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            inputs.push(String::from_utf8(b).unwrap());
        }
        let mut outcomes = [0usize; 2];
        for s in &inputs {
            let (new, old) = (decode(s), decode_fresh(s));
            assert_eq!(new, old, "{s:?}");
            outcomes[usize::from(old.is_ok())] += 1;
        }
        // Both kinds occur, so the comparison means something.
        assert!(outcomes[0] > 100 && outcomes[1] > 3, "{outcomes:?}");
    }

    #[test]
    fn garbage_never_panics() {
        let good = generate(42, KEY, "alice", 100, 1_000).unwrap();
        let mut inputs: Vec<String> = vec![
            "x".into(),
            "****".into(),
            "eJw".into(),
            "eJwBAAD__w__".into(),
            "\u{0}\u{1}é✓".into(),
            "a".repeat(100_000),
            good[..good.len() / 2].to_owned(),
        ];
        for i in 0..good.len() {
            let mut b = good.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            inputs.push(String::from_utf8(b).unwrap());
        }
        // Valid zlib of non-object / wrong-typed JSON.
        for body in [
            "[]",
            "null",
            "{\"TLS.identifier\":5}",
            "{\"TLS.identifier\":\"alice\",\"TLS.sdkappid\":-1}",
        ] {
            inputs.push(encode_bytes(body.as_bytes()));
        }
        for s in &inputs {
            // A mutation can only verify if it decodes to the very same document (e.g. ignored trailing bits).
            if verify(s, 42, KEY, "alice", 1_000).is_ok() {
                assert_eq!(decode(s).unwrap(), decode(&good).unwrap(), "{s}");
            }
            let _ = decode(s);
        }
    }
}
