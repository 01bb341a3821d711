//! What one session's task holds inline: the future of `ws::run`, which tokio allocates once per
//! connection and keeps for the session's whole life, so every byte of it is a byte of RSS per
//! session. `examples/session_memory.rs` prints it beside the measured total.

use std::future::Future;
use std::mem::size_of;

/// The size of the future an async fn of four arguments returns.
fn future_size<A, B, C, D, F: Future>(_: &impl Fn(A, B, C, D) -> F) -> usize {
    size_of::<F>()
}

/// Bytes of one WebSocket session's future (`ws::run`), as built in this profile.
#[doc(hidden)]
pub fn session_future_bytes() -> usize {
    future_size(&crate::ws::run)
}

#[cfg(test)]
mod tests {
    /// 2,328 B (debug and release alike) when this was written: 6,264 B with the terminal paths
    /// (close, refusal, kick) inline, 4,488 B with them boxed but the `WebSocket` still carried
    /// by value. Fails when something grows it again.
    #[test]
    fn session_future_stays_small() {
        let bytes = super::session_future_bytes();
        println!("ws::run future: {bytes} B");
        assert!(bytes <= 2560, "ws::run's future grew to {bytes} B");
    }
}
