//! The server URL: `http(s)://host[:port][/namespace][?query]` (or
//! `ws(s)://`), and the Engine.IO request targets built from it.
//!
//! Parsed by hand: the client needs host, port, namespace and query, and a
//! URL crate would be a dependency for a dozen lines.

use std::fmt::Write as _;

use crate::ClientError;

/// Where the server is, as given by the user.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `host` or `[v6]`, without the port: for DNS and the `Host` header.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `https` or `wss`: TLS over the TCP connection.
    pub(crate) tls: bool,
    /// The URL's path, `/` when it has none. Like socket.io-client, a path
    /// names the namespace, not the Engine.IO path.
    pub(crate) namespace: String,
    /// Query pairs from the URL, already percent-encoded as given.
    pub(crate) query: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, ClientError> {
        let invalid = |why: &str| ClientError::InvalidUrl(format!("{why}: {url:?}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(invalid("scheme is not http, https, ws or wss")),
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(invalid("user info is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (ip, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed ["))?;
            (ip, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| invalid("bad port"))?,
            None => default_port(tls),
        };
        let namespace = match path.trim_end_matches('/') {
            "" => "/".to_owned(),
            nsp => nsp.to_owned(),
        };
        Ok(Target {
            host: host.to_owned(),
            port,
            tls,
            namespace,
            query: query.to_owned(),
        })
    }

    /// The `Host` header value: without the scheme's default port, as
    /// browsers send it (some virtual hosts match the bare name only).
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(self.tls) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn default_port(tls: bool) -> u16 {
    if tls { 443 } else { 80 }
}

/// The request target of an Engine.IO request:
/// `<path>?EIO=4&transport=<t>[&sid=<sid>][&<url query>][&<k>=<v>...]`.
pub(crate) fn request_target(
    path: &str,
    transport: &str,
    sid: Option<&str>,
    url_query: &str,
    query: &[(String, String)],
) -> String {
    let mut out = String::with_capacity(64);
    out.push_str(path);
    out.push_str("?EIO=4&transport=");
    out.push_str(transport);
    if let Some(sid) = sid {
        out.push_str("&sid=");
        encode_component(&mut out, sid);
    }
    if !url_query.is_empty() {
        out.push('&');
        out.push_str(url_query);
    }
    for (k, v) in query {
        out.push('&');
        encode_component(&mut out, k);
        out.push('=');
        encode_component(&mut out, v);
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.namespace.as_str()),
            ("127.0.0.1", 3000, "/")
        );
        let t = Target::parse("ws://example.com/admin/?a=b").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.namespace.as_str()),
            ("example.com", 80, "/admin")
        );
        assert_eq!(t.query, "a=b");
        let t = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(t.host_header(), "[::1]:8080");
        let t = Target::parse("https://example.com/chat").unwrap();
        assert_eq!(
            (t.port, t.tls, t.host_header()),
            (443, true, "example.com".to_owned())
        );
        let t = Target::parse("WSS://example.com:8443").unwrap();
        assert_eq!(
            (t.port, t.tls, t.host_header()),
            (8443, true, "example.com:8443".to_owned())
        );
        let t = Target::parse("http://example.com").unwrap();
        assert_eq!(
            (t.port, t.tls, t.host_header()),
            (80, false, "example.com".to_owned())
        );
        let t = Target::parse("https://example.com:80").unwrap();
        assert_eq!(t.host_header(), "example.com:80");
        for bad in [
            "127.0.0.1:3000",
            "ftp://x",
            "http://:80",
            "http://x:y",
            "http://u@x",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn builds_request_targets() {
        let q = [("to ken".to_owned(), "a&b=c".to_owned())];
        assert_eq!(
            request_target("/socket.io/", "polling", Some("abc"), "x=1", &q),
            "/socket.io/?EIO=4&transport=polling&sid=abc&x=1&to%20ken=a%26b%3Dc"
        );
    }
}
