//! Server → client text frames, parsed as the client's transport does (`src/transport.rs`:
//! `serde_json::from_str::<ServerFrame>` on every text message).
//!
//! Properties: parsing never panics; whatever parses serializes (`to_json` never panics) and
//! parses back to the same frame; serializing is stable (a second round trip gives the same text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_protocol::{ServerFrame, MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    // The transport only ever sees UTF-8 text messages of at most MAX_FRAME_BYTES.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.len() > MAX_FRAME_BYTES {
        return;
    }
    let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
        return;
    };
    let json = frame.to_json();
    let again: ServerFrame =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{frame:?} serialized to {json:?}, which fails: {e}"));
    assert_eq!(again, frame, "round trip through {json:?} changed the frame");
    assert_eq!(again.to_json(), json, "serialization is not stable");
    // Every frame the client reacts to is an object with a string `type`.
    let v: serde_json::Value = serde_json::from_str(&json).expect("to_json writes JSON");
    assert!(v.get("type").and_then(serde_json::Value::as_str).is_some(), "{json}");
});
