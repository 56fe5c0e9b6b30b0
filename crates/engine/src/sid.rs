//! Session ids: 20 URL-safe characters from 120 bits of a CSPRNG.

use std::fmt;

use rand::RngCore;

const LEN: usize = 20;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A session id, stored inline so a session costs no extra allocation for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; LEN]);

impl Sid {
    /// A fresh id from the thread's CSPRNG (ChaCha, seeded by the OS), so ids
    /// cannot be guessed from earlier ones.
    pub fn random() -> Sid {
        let mut raw = [0u8; 15];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; LEN];
        for (i, chunk) in raw.chunks(3).enumerate() {
            let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
            for j in 0..4 {
                out[i * 4 + j] = ALPHABET[(n >> (18 - 6 * j) & 63) as usize];
            }
        }
        Sid(out)
    }

    /// Parses a client-supplied id; anything not shaped like ours is unknown.
    pub fn parse(text: &str) -> Option<Sid> {
        let bytes: [u8; LEN] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| ALPHABET.contains(b))
            .then_some(Sid(bytes))
    }

    /// Which of `count` shards this session belongs to. The characters are
    /// random, so any of them spreads sessions evenly.
    pub(crate) fn shard(&self, count: usize) -> usize {
        usize::from(self.0[0]) % count
    }

    pub fn as_str(&self) -> &str {
        // Only ALPHABET bytes are ever stored, and they are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_parse_back() {
        let a = Sid::random();
        let b = Sid::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("!!!!!!!!!!!!!!!!!!!!"), None);
    }
}
