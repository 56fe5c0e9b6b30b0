//! The browser client, embedded in the binary and served next to the
//! engine at `<path>socket.io.js` (classic script) and
//! `<path>socket.io.esm.js` (ES module), as Node's socket.io serves its own.
//!
//! Both files are one source (`clients/js/src/core.js`) with a different
//! ending, put together at compile time: no build step, nothing to install.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;

static CLASSIC: &str = concat!(
    include_str!("../../../clients/js/src/core.js"),
    include_str!("../../../clients/js/src/classic.js")
);

static MODULE: &str = concat!(
    include_str!("../../../clients/js/src/core.js"),
    include_str!("../../../clients/js/src/esm.js")
);

/// Which file a request path names, if any. The `.min.js` names of Node's
/// server are served too, so pages written for it work unchanged.
pub(crate) fn file_for(base: &str, path: &str) -> Option<&'static str> {
    let name = path.strip_prefix(base)?;
    match name {
        "socket.io.js" | "socket.io.min.js" => Some(CLASSIC),
        "socket.io.esm.js" | "socket.io.esm.min.js" => Some(MODULE),
        _ => None,
    }
}

/// A strong validator for a file: its length and a hash of its bytes.
fn etag(file: &'static str) -> HeaderValue {
    static TAGS: OnceLock<[HeaderValue; 2]> = OnceLock::new();
    let make = |text: &str| {
        // SipHash with fixed keys: the same bytes give the same tag in every
        // process, which is what a cache validator needs.
        let mut hasher = std::hash::DefaultHasher::new();
        text.hash(&mut hasher);
        let tag = format!("\"{:x}-{:016x}\"", text.len(), hasher.finish());
        HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
    };
    let tags = TAGS.get_or_init(|| [make(CLASSIC), make(MODULE)]);
    // Statics have one address each, so the file is known by its pointer.
    if std::ptr::eq(file, CLASSIC) {
        tags[0].clone()
    } else {
        tags[1].clone()
    }
}

/// Answers a request for a client file: the file, or 304 when the
/// browser's copy is current.
pub(crate) fn respond(
    file: &'static str,
    method: &Method,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    let tag = etag(file);
    let mut response = if method != Method::GET && method != Method::HEAD {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    } else if fresh(headers, &tag) {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from_static(file.as_bytes())
        };
        let mut r = Response::new(Full::new(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, tag);
    // Revalidate every time: the ETag makes that a 304 with no body, and a
    // new server version is picked up at once.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0, must-revalidate"),
    );
    response
}

fn fresh(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == tag.to_str().unwrap_or(""))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_validators() {
        assert!(file_for("/socket.io/", "/socket.io/socket.io.js").is_some());
        assert!(file_for("/socket.io/", "/socket.io/socket.io.esm.min.js").is_some());
        assert!(file_for("/socket.io/", "/socket.io/").is_none());
        assert!(file_for("/socket.io/", "/other/socket.io.js").is_none());
        let ok = respond(CLASSIC, &Method::GET, &HeaderMap::new());
        assert_eq!(ok.status(), StatusCode::OK);
        let tag = ok.headers().get(header::ETAG).unwrap().clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, tag.clone());
        assert_eq!(
            respond(CLASSIC, &Method::GET, &headers).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_ne!(etag(MODULE), tag, "the two files have different tags");
        assert!(MODULE.contains("export"));
        assert!(!CLASSIC.contains("export {"));
    }
}
