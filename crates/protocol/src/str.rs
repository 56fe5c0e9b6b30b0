//! A cheaply cloneable UTF-8 string backed by [`Bytes`].
//!
//! Engine.IO text messages are sliced out of request bodies and WebSocket
//! frames; keeping them as `Bytes` lets one received or encoded buffer be shared
//! (for example by every recipient of a broadcast) without copying.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable UTF-8 string sharing its storage by reference count.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

/// The bytes given to [`Str::from_utf8`] were not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for Utf8Error {}

impl Str {
    /// An empty string; does not allocate.
    pub const fn new() -> Self {
        Str(Bytes::new())
    }

    /// A string pointing at static text; does not allocate.
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// Checks `bytes` once; later access is free.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Str(bytes)),
            Err(_) => Err(Utf8Error),
        }
    }

    #[allow(
        unsafe_code,
        reason = "every constructor checks UTF-8 and Bytes is immutable; re-checking on each access would scan large messages again and again"
    )]
    pub fn as_str(&self) -> &str {
        // SAFETY: `Str` is only built from `&str`, `String`, or bytes that
        // `from_utf8` checked; `slice` cuts on character boundaries.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing this storage. `start..end` must fall on character
    /// boundaries; callers only cut after ASCII bytes they have matched.
    /// A sub-string `start..end` sharing this storage; both ends must fall
    /// on character boundaries.
    pub(crate) fn slice_range(&self, start: usize, end: usize) -> Str {
        let s = self.as_str();
        assert!(
            s.is_char_boundary(start) && s.is_char_boundary(end),
            "cut inside a character"
        );
        Str(self.0.slice(start..end))
    }

    pub(crate) fn slice_from(&self, start: usize) -> Str {
        assert!(
            self.as_str().is_char_boundary(start),
            "cut inside a character"
        );
        Str(self.0.slice(start..))
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

// Hashes as `str` does, so that maps keyed by `Str` can be searched with a
// `&str` (`Borrow<str>` requires equal hashes).
impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::borrow::Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s))
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Str::from_static(s)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(
            Str::from_utf8(Bytes::from_static(b"\xff\xfe")),
            Err(Utf8Error)
        );
        assert_eq!(
            Str::from_utf8(Bytes::from_static("é".as_bytes())).unwrap(),
            "é"
        );
    }
}
