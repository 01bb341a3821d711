//! Client → server text frames, parsed by the server's own parser (`ws::parse`, exposed as
//! `natter_server::fuzzing::parse_client_frame`).
//!
//! Properties: no panic; `NotJson` exactly when the text is not JSON; `Malformed(id)` carries the
//! numeric `id` of the JSON object (what the server echoes in its error frame); an accepted frame
//! round-trips through `to_json`, and its `Debug` form never shows the UserSig.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_protocol::{ClientFrame, MAX_FRAME_BYTES};
use natter_server::fuzzing::{parse_client_frame, FrameRejection};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // tungstenite hands the server only UTF-8 text of at most max_frame_bytes.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.len() > MAX_FRAME_BYTES {
        return;
    }
    let as_json = serde_json::from_str::<Value>(text);
    match parse_client_frame(text) {
        Err(FrameRejection::NotJson) => assert!(as_json.is_err(), "valid JSON reported as not JSON: {text:?}"),
        Err(FrameRejection::Malformed(id)) => {
            let v = as_json.expect("Malformed is only for JSON");
            assert_eq!(id, v.get("id").and_then(Value::as_u64), "{text:?}");
        }
        Ok(frame) => {
            assert!(as_json.is_ok());
            let json = frame.to_json();
            let again = parse_client_frame(&json)
                .unwrap_or_else(|e| panic!("{frame:?} serialized to {json:?}, which the server refuses: {e:?}"));
            assert_eq!(again, frame, "round trip through {json:?} changed the frame");
            // Debug does not depend on the UserSig at all: it is redacted, never printed.
            assert_eq!(format!("{frame:?}"), format!("{:?}", frame_without_sig(&frame)));
        }
    }
});

fn frame_without_sig(frame: &ClientFrame) -> ClientFrame {
    match frame.clone() {
        ClientFrame::Login {
            id,
            version,
            sdk_app_id,
            user_id,
            platform,
            instance_id,
            resume,
            ..
        } => ClientFrame::Login {
            id,
            version,
            sdk_app_id,
            user_id,
            user_sig: String::new(),
            platform,
            instance_id,
            resume,
        },
        ClientFrame::RenewUserSig { id, .. } => ClientFrame::RenewUserSig {
            id,
            user_sig: String::new(),
        },
        other => other,
    }
}
