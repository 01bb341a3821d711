//! Client-supplied strings in log lines. A raw newline would let a client write a forged line
//! (`… login ok user=administrator`) and raw escape bytes would drive the operator's terminal, so
//! such strings are logged escaped (Rust `escape_debug`: `\n`, `\u{1b}`, …) and cut to a bound.

use std::fmt;

/// Longest part of a client string written to a log line, in characters.
const MAX_LOGGED_CHARS: usize = 64;

/// Displays a client-supplied string escaped and truncated (with the total length when cut).
pub(crate) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            // Escape everything that is not printable ASCII; keep the rest readable.
            if c == ' ' || c.is_ascii_graphic() && c != '\\' {
                fmt::Write::write_char(f, c)?;
            } else {
                write!(f, "{}", c.escape_default())?;
            }
        }
        if chars.next().is_some() {
            write!(f, "…({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_and_newlines_are_escaped() {
        let shown = Escaped("bob\n2026-12-01T00:00:00Z INFO login ok user=administrator").to_string();
        assert_eq!(shown, "bob\\n2026-12-01T00:00:00Z INFO login ok user=administrator");
        let shown = Escaped("\u{1b}[31m\r\0é\\\t").to_string();
        assert_eq!(shown, "\\u{1b}[31m\\r\\u{0}\\u{e9}\\\\\\t");
        assert!(!shown.chars().any(|c| c.is_control()), "{shown}");
        assert_eq!(Escaped("alice").to_string(), "alice");
        assert_eq!(format!("{:?}", Escaped("a\"b")), "\"a\"b\"");
    }

    #[test]
    fn long_strings_are_cut() {
        let long = "x".repeat(16 * 1024);
        let shown = Escaped(&long).to_string();
        assert!(shown.len() < 100, "{}", shown.len());
        assert!(shown.ends_with("…(16384 bytes)"));
        assert_eq!(Escaped(&"y".repeat(64)).to_string(), "y".repeat(64));
    }
}

/// A connection URL with its credentials (`user:password@`) replaced, for logs and `Debug`.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://<redacted>@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn credentials_never_shown() {
        assert_eq!(
            super::redact_url("redis://u:secret@10.0.0.1:6379/0"),
            "redis://<redacted>@10.0.0.1:6379/0"
        );
        assert_eq!(super::redact_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
