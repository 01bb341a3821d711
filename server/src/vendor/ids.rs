//! Numbers the vendor SDK needs that Natter does not model, derived (not stored) so that every
//! node gives the same answer: `TinyId` (a numeric user id, per app and user) and `InstId` (a
//! numeric instance id, per SDK instance). Both are 53-bit so JavaScript holds them exactly, and
//! never 0 (the SDK treats an `InstId` of 0 as "not logged in" and ignores kicks then).

/// FNV-1a, 64-bit: stable across builds and platforms (unlike `std`'s hasher).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn js_safe_nonzero(h: u64) -> u64 {
    (h & ((1 << 53) - 1)).max(1)
}

/// The `TinyId` of `user_id` in `sdk_app_id` (the SDK keeps it as a decimal string).
pub(crate) fn tiny_id(sdk_app_id: u64, user_id: &str) -> String {
    js_safe_nonzero(fnv1a(&[&sdk_app_id.to_be_bytes(), user_id.as_bytes()])).to_string()
}

/// The `InstId` of the SDK instance whose socket URL carried `instance_id`.
pub(crate) fn inst_id(instance_id: &str) -> u64 {
    js_safe_nonzero(fnv1a(&[instance_id.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_distinct_nonzero_and_js_safe() {
        assert_eq!(tiny_id(1, "alice"), tiny_id(1, "alice"));
        assert_ne!(tiny_id(1, "alice"), tiny_id(2, "alice"));
        assert_ne!(tiny_id(1, "alice"), tiny_id(1, "bob"));
        assert_ne!(inst_id("a"), inst_id("b"));
        for s in ["", "a", "dfd03c717c03689e5b6c6b4d88d8aa1a"] {
            let n = inst_id(s);
            assert!(n > 0 && n < (1 << 53));
            let t: u64 = tiny_id(7, s).parse().unwrap();
            assert!(t > 0 && t < (1 << 53));
        }
    }
}
