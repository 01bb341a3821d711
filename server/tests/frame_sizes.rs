//! The per-connection read buffer is small (1,000 B, memory per session) but frames up to the
//! protocol limit still arrive whole: the buffer grows for the frame that needs it.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn frames_up_to_the_limit_pass_a_read_buffer_smaller_than_them() {
    let s = server(config()).await;
    // A login frame of several KiB (the UserSig is checked after the read, so pad an unknown field).
    let mut ws = connect(&s).await;
    let sig = s.user_sig("bigframes", 3600);
    let mut login: serde_json::Value = serde_json::from_str(&login_frame(
        1,
        s.config().sdk_app_id,
        "bigframes",
        &sig,
        "web",
        "b1",
        false,
    ))
    .unwrap();
    login["padding"] = json!("p".repeat(6 * 1024));
    send(&mut ws, &login.to_string()).await;
    assert_eq!(next_frame(&mut ws).await["type"], "loginOk");
    // An (ignored) unknown frame of exactly the limit, then the session still answers.
    let head = json!({"type": "future", "data": ""}).to_string();
    let fill = natter_protocol::MAX_FRAME_BYTES - head.len();
    let frame = json!({"type": "future", "data": "d".repeat(fill)}).to_string();
    assert_eq!(frame.len(), natter_protocol::MAX_FRAME_BYTES);
    for id in 2..5 {
        send(&mut ws, &frame).await;
        ping(&mut ws, id).await;
    }
}
