//! The first request head of a connection, as the listener reads it before any HTTP stack
//! (`natter_server::fuzzing::HeadScanner`, `websocket_upgrade`): the first input byte picks how
//! the rest arrives in reads (1–16 bytes each, from a xorshift of that seed).
//!
//! Properties: nothing panics; a head found in pieces is the head found in one read (same
//! length), and a head complete in one read is decided on in pieces too (never "read on" once
//! every byte is in); the upgrade the scanner decides is `websocket_upgrade` of the head it
//! found; an accepted upgrade is a GET with a 28-character accept key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_server::fuzzing::{websocket_upgrade, HeadRead, HeadScanner};

fn scan(bytes: &[u8], mut seed: u32) -> Option<HeadRead> {
    let mut scanner = HeadScanner::new(true);
    let mut end = 0usize;
    while end < bytes.len() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        end = (end + 1 + (seed % 16) as usize).min(bytes.len());
        if let Some(done) = scanner.after_read(&bytes[..end]) {
            return Some(done);
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let whole = HeadScanner::new(true).after_read(bytes);
    let pieces = scan(bytes, u32::from(seed) | 1);
    if let Some(HeadRead::Complete { head_len, .. }) = pieces {
        assert_eq!(
            whole.as_ref().map(|w| matches!(w, HeadRead::Complete { head_len: h, .. } if *h == head_len)),
            Some(true),
            "pieces found a head one read does not"
        );
        assert_eq!(pieces, whole, "pieces decided another upgrade than one read");
    }
    if matches!(whole, Some(HeadRead::Complete { .. })) {
        assert!(pieces.is_some(), "a complete head left undecided in pieces");
    }
    if let Some(HeadRead::Complete { head_len, upgrade }) = &whole {
        let head_len = *head_len;
        assert_eq!(upgrade, &websocket_upgrade(&bytes[..head_len], true), "the scanner's upgrade is not the head's");
        for login in [false, true] {
            if let Some(up) = websocket_upgrade(&bytes[..head_len], login) {
                let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
                assert!(bytes[start..].starts_with(b"GET "), "an upgrade that is no GET");
                assert_eq!(up.accept.len(), 28, "{:?}", up.accept);
                assert!(login || up.login.is_none());
            }
        }
    }
});
