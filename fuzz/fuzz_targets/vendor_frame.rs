//! The vendor SDK's frames on `/binfo` and `/info` (`server/src/vendor/`), through the envelope
//! parser and the A2Key check the endpoint runs on every request
//! (`natter_server::fuzzing::{parse_vendor_frame, verify_a2key}`).
//!
//! Properties: parsing never panics; a frame that parses has a non-empty `servcmd` and a number
//! or string `seq`, and both replies are JSON `{head, body}` echoing exactly that pair with the
//! status triple in `body`; the `a2` a frame carries (or the whole frame as a token) never
//! verifies without the key and never panics; an A2Key issued for the frame's identifier verifies
//! back to it, and is refused once any byte of it changes or it is shown for another instance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_protocol::identifier;
use natter_server::fuzzing::{issue_a2key, parse_vendor_frame, verify_a2key};
use serde_json::Value;

const KEY: &str = "fuzz-secret-key";
const APP: u64 = 1_400_000_001;
const INSTANCE: &str = "0123456789abcdef0123456789abcdef";
const NOW: i64 = 1_700_000_000;
/// Vendor codes an A2Key is refused with: expired, invalid.
const A2_CODES: [i32; 2] = [70001, 70003];

fn check_reply(reply: &str, servcmd: &str, seq: &Value, ok: bool) {
    let v: Value = serde_json::from_str(reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"));
    assert_eq!(v["head"]["servcmd"], Value::String(servcmd.to_owned()), "{reply}");
    assert_eq!(&v["head"]["seq"], seq, "{reply}");
    let body = &v["body"];
    assert_eq!(body["ActionStatus"], if ok { "OK" } else { "FAIL" }, "{reply}");
    assert_eq!(body["ErrorCode"].as_i64() == Some(0), ok, "{reply}");
    assert!(body["ErrorInfo"].is_string(), "{reply}");
}

fuzz_target!(|data: &[u8]| {
    // Without the key nothing verifies, whatever the bytes.
    if let Ok(token) = std::str::from_utf8(data) {
        let refused = verify_a2key(KEY, token, APP, INSTANCE, NOW).expect_err("a token made without the key");
        assert!(A2_CODES.contains(&refused), "{refused}");
    }
    let Some(frame) = parse_vendor_frame(data) else {
        return;
    };
    assert!(!frame.servcmd.is_empty());
    assert!(frame.seq.is_number() || frame.seq.is_string(), "{:?}", frame.seq);
    check_reply(&frame.ok_reply, &frame.servcmd, &frame.seq, true);
    check_reply(&frame.fail_reply, &frame.servcmd, &frame.seq, false);
    for field in [&frame.identifier, &frame.usersig, &frame.a2] {
        assert!(field.as_deref() != Some(""), "an empty head field reads as absent");
    }
    if let Some(a2) = &frame.a2 {
        let refused = verify_a2key(KEY, a2, APP, INSTANCE, NOW).expect_err("an a2 made without the key");
        assert!(A2_CODES.contains(&refused), "{refused}");
    }
    // The endpoint issues A2Keys only to identifiers that passed the identifier rule.
    let Some(user) = frame.identifier.as_deref().filter(|u| identifier::validate(u).is_ok()) else {
        return;
    };
    let expires = NOW + 1 + (data.len() as i64);
    let token = issue_a2key(KEY, APP, user, INSTANCE, expires);
    assert_eq!(verify_a2key(KEY, &token, APP, INSTANCE, NOW), Ok((user.to_owned(), expires)));
    assert_eq!(verify_a2key(KEY, &token, APP, INSTANCE, expires), Err(70001));
    assert_eq!(verify_a2key(KEY, &token, APP, "ffffffffffffffffffffffffffffffff", NOW), Err(70003));
    let mut tampered = token.clone().into_bytes();
    let at = data.len() % tampered.len();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    if let Ok(tampered) = String::from_utf8(tampered) {
        assert!(verify_a2key(KEY, &tampered, APP, INSTANCE, NOW).is_err(), "{tampered} still verifies");
    }
});
