//! Login in the WebSocket upgrade request ("header login"): the client sends its `login` frame,
//! base64url-encoded (RFC 4648 §5, no padding), in the [`LOGIN_HEADER`] request header; a server
//! that takes it answers the 101 with [`LOGIN_ACCEPTED_HEADER`] and sends the login's reply
//! (`loginOk` or `error`) as its first frame, so the client saves the round trip of the login
//! frame. A server without the feature ignores the header and the client sends the frame as
//! usual. In a header and not in the URL, because URLs end up in proxy and access logs.

/// Request header carrying the base64url of the `login` frame's JSON.
pub const LOGIN_HEADER: &str = "x-natter-login";
/// Response header (value [`LOGIN_ACCEPTED_VALUE`]) of a server that took the header login.
pub const LOGIN_ACCEPTED_HEADER: &str = "x-natter-login-accepted";
pub const LOGIN_ACCEPTED_VALUE: &str = "1";

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

const NOT_A_DIGIT: u8 = 0xff;
/// Each byte's value in [`ALPHABET`]: the server decodes a header of every login, and a search of
/// the alphabet per character was ~3 % of its CPU per login under load (docs/performance.md).
const DIGITS: [u8; 256] = {
    let mut table = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The inverse of [`encode`]; `None` for anything that is not unpadded base64url.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match DIGITS[c as usize] {
        NOT_A_DIGIT => None,
        d => Some(d as u32),
    };
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= digit(*c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        // Bits below the last whole byte must be zero (one encoding per input).
        if n & ((1 << (24 - 8 * bytes)) - 1) != 0 {
            return None;
        }
        out.extend((0..bytes).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        for n in 0..all.len() {
            let coded = encode(&all[..n]);
            assert!(coded
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            assert_eq!(decode(&coded).unwrap(), &all[..n]);
        }
    }

    #[test]
    fn refuses_what_is_not_unpadded_base64url() {
        for bad in ["Z", "Zg==", "Zm9v+A", "Zm9v/A", "Zh", "Zm9", "ab cd", "Zé", "Zm9\u{ff}"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        // Every byte outside the alphabet, in every position of a quad (a byte above 0x7f cannot
        // stand alone in a `str`: it arrives as U+FFFD's three bytes).
        for b in (0..=255u8).filter(|b| !ALPHABET.contains(b)) {
            for pos in 0..4 {
                let mut quad = *b"Zm9v";
                quad[pos] = b;
                let text = String::from_utf8_lossy(&quad).into_owned();
                assert_eq!(decode(&text), None, "{quad:?}");
            }
        }
    }
}
