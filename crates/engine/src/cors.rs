//! Which web origins may talk to the engine.
//!
//! Browsers send `Origin` on cross-origin requests and on every WebSocket
//! handshake. Requests without it (native clients, same-origin GETs) are not
//! subject to CORS and are always allowed.

use http::{HeaderMap, HeaderValue, header};

/// Cross-origin policy; the default allows only the server's own origin.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Origins,
    credentials: bool,
}

#[derive(Debug, Clone, Default)]
enum Origins {
    #[default]
    SameOrigin,
    Any,
    List(Vec<String>),
}

/// What to do with one request's `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginCheck {
    /// No `Origin` header: not a cross-origin browser request.
    Absent,
    /// Allowed; echo it in `Access-Control-Allow-Origin`.
    Allowed(HeaderValue),
    Denied,
}

impl Cors {
    /// Only pages served from the same scheme, host and port (the default).
    pub fn same_origin() -> Self {
        Cors::default()
    }

    /// Any origin; the request's origin is echoed back.
    pub fn any() -> Self {
        Cors {
            origins: Origins::Any,
            credentials: false,
        }
    }

    /// Exactly these origins, such as `https://app.example.com`, besides the
    /// server's own.
    pub fn origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_owned())
            .collect();
        Cors {
            origins: Origins::List(list),
            credentials: false,
        }
    }

    /// Allow cookies and HTTP auth on cross-origin requests
    /// (`Access-Control-Allow-Credentials: true`). Default off.
    pub fn with_credentials(mut self, credentials: bool) -> Self {
        self.credentials = credentials;
        self
    }

    pub(crate) fn check(&self, headers: &HeaderMap) -> OriginCheck {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return OriginCheck::Absent;
        };
        let Ok(text) = origin.to_str() else {
            return OriginCheck::Denied;
        };
        let allowed = is_same_origin(text, headers)
            || match &self.origins {
                Origins::SameOrigin => false,
                Origins::Any => true,
                Origins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(text)),
            };
        if allowed {
            OriginCheck::Allowed(origin.clone())
        } else {
            OriginCheck::Denied
        }
    }

    /// Adds the CORS answer for an allowed origin to a response.
    pub(crate) fn apply(&self, check: &OriginCheck, headers: &mut HeaderMap) {
        if let OriginCheck::Allowed(origin) = check {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
            if self.credentials {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was
/// sent to. The scheme is not compared: behind a TLS-terminating proxy the
/// server cannot know it, and the host and port already pin the origin.
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &'static str, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static(origin));
        h.insert(header::HOST, HeaderValue::from_static(host));
        h
    }

    #[test]
    fn same_origin_by_default() {
        let cors = Cors::default();
        assert!(matches!(
            cors.check(&headers("http://a:3000", "a:3000")),
            OriginCheck::Allowed(_)
        ));
        assert_eq!(
            cors.check(&headers("http://evil:3000", "a:3000")),
            OriginCheck::Denied
        );
        assert_eq!(cors.check(&HeaderMap::new()), OriginCheck::Absent);
    }

    #[test]
    fn listed_origins() {
        let cors = Cors::origins(["https://app.example/"]);
        assert!(matches!(
            cors.check(&headers("https://app.example", "a")),
            OriginCheck::Allowed(_)
        ));
        assert_eq!(
            cors.check(&headers("https://other.example", "a")),
            OriginCheck::Denied
        );
        assert!(matches!(
            Cors::any().check(&headers("http://x", "a")),
            OriginCheck::Allowed(_)
        ));
    }
}
