//! The server address a client connects to, parsed once from `ChatConfig::server_url`.

/// The path used when the URL names only a host (`wss://im.example.com`), as users of the
/// reference SDK write `proxyServer`.
pub const DEFAULT_PATH: &str = natter_protocol::WS_PATH;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    /// Host name or IP address, without the brackets of an IPv6 literal (for TLS and DNS).
    pub host: String,
    pub port: u16,
    /// The request target: path plus query, never empty.
    pub path: String,
    /// What the `Host` header carries (`host[:port]`, brackets kept).
    pub authority: String,
}

impl Endpoint {
    /// Parses a `ws://` or `wss://` URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else {
            return Err(format!("server URL must start with ws:// or wss://, got {url:?}"));
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') || authority.chars().any(|c| c.is_whitespace()) {
            return Err(format!("server URL has no valid host: {url:?}"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_host_port(authority, default_port)
            .ok_or_else(|| format!("server URL has no valid host or port: {url:?}"))?;
        if tail.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "server URL has a space or control character in its path: {url:?}"
            ));
        }
        // A fragment is never sent to the server.
        let tail = tail.split('#').next().unwrap_or_default();
        let path = if tail.is_empty() || tail == "/" {
            DEFAULT_PATH.to_owned()
        } else if tail.starts_with('?') {
            format!("{DEFAULT_PATH}{tail}")
        } else {
            tail.to_owned()
        };
        Ok(Endpoint {
            tls,
            host,
            port,
            path,
            authority: authority.to_owned(),
        })
    }

    /// The URL as it is used, for error messages (`ws://host:port/path`).
    pub fn display_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority, self.path)
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
    };
    Some((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_path_uses_the_default_path() {
        for url in ["ws://127.0.0.1:9800", "ws://127.0.0.1:9800/", "ws://127.0.0.1:9800#x"] {
            let e = Endpoint::parse(url).unwrap();
            assert_eq!(
                (e.host.as_str(), e.port, e.path.as_str()),
                ("127.0.0.1", 9800, "/ws"),
                "{url}"
            );
        }
        let e = Endpoint::parse("wss://im.example.com?a=1").unwrap();
        assert_eq!((e.tls, e.port, e.path.as_str()), (true, 443, "/ws?a=1"));
        assert_eq!(e.display_url(), "wss://im.example.com/ws?a=1");
    }

    #[test]
    fn an_explicit_path_is_kept() {
        let e = Endpoint::parse("ws://h:1/chat/socket?x=y").unwrap();
        assert_eq!(e.path, "/chat/socket?x=y");
        assert_eq!(e.authority, "h:1");
        let e = Endpoint::parse("ws://[::1]:8080/ws").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.authority.as_str()),
            ("::1", 8080, "[::1]:8080")
        );
        assert_eq!(Endpoint::parse("ws://[::1]").unwrap().port, 80);
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://x/ws",
            "x",
            "",
            "ws://",
            "wss:///ws",
            "ws://a b/",
            "ws://h:0/",
            "ws://h:99999/",
            "ws://h:x/",
            "ws://:80/",
            "ws://[::1/",
            "ws://u@h/",
            "ws://h/a b",
        ] {
            assert!(Endpoint::parse(url).is_err(), "{url}");
        }
    }
}
