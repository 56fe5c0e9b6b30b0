//! The HTTP long-polling payload: frames joined by the record separator.
//!
//! Text frames go in as they are; binary frames as `b` followed by standard
//! base64, since a polling body is text. The separator 0x1e cannot occur in
//! either (JSON escapes control characters, base64 has no such byte), which is
//! why Engine.IO v4 needs no length prefixes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::{DecodeError, Frame, Packet};
use crate::Str;

/// The byte between two packets of a polling payload.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Bytes `frame` takes inside a polling payload, not counting separators.
pub fn payload_len(frame: &Frame) -> usize {
    match frame {
        Frame::Text(s) => s.len(),
        Frame::Binary(b) => 1 + b.len().div_ceil(3) * 4,
    }
}

/// Appends `frames` to `out` as one polling payload.
pub fn encode_payload_into<'a>(frames: impl IntoIterator<Item = &'a Frame>, out: &mut Vec<u8>) {
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        match frame {
            Frame::Text(s) => out.extend_from_slice(s.as_bytes()),
            Frame::Binary(b) => {
                out.push(b'b');
                push_base64(out, b);
            }
        }
    }
}

/// Appends the standard base64 of `input` to `out` without a temporary String.
fn push_base64(out: &mut Vec<u8>, input: &[u8]) {
    let start = out.len();
    out.resize(start + input.len().div_ceil(3) * 4, 0);
    // The slice is exactly the padded length, so encoding cannot run out of room.
    let written = BASE64.encode_slice(input, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Splits a polling request body into packets.
///
/// The whole body must be UTF-8; each record is then decoded on its own, so a
/// caller sees every good packet before the first bad one.
pub fn decode_payload(body: Bytes) -> Result<PayloadDecoder, DecodeError> {
    let body = Str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(PayloadDecoder { rest: Some(body) })
}

/// Iterator over the packets of one polling payload; see [`decode_payload`].
#[derive(Debug)]
pub struct PayloadDecoder {
    rest: Option<Str>,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.take()?;
        let bytes = rest.as_bytes();
        let record = match bytes.iter().position(|&b| b == RECORD_SEPARATOR) {
            Some(at) => {
                // The separator is ASCII, so both cuts are on char boundaries.
                self.rest = Some(rest.slice_from(at + 1));
                Str::from_utf8(bytes.slice(..at)).map_err(|_| DecodeError::InvalidUtf8)
            }
            None => Ok(rest),
        };
        Some(record.and_then(decode_record))
    }
}

fn decode_record(record: Str) -> Result<Packet, DecodeError> {
    match record.as_bytes().first() {
        Some(b'b') => BASE64
            .decode(&record.as_bytes()[1..])
            .map(|v| Packet::Binary(Bytes::from(v)))
            .map_err(|_| DecodeError::InvalidBase64),
        _ => Packet::decode_text(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(body: &'static [u8]) -> Result<Vec<Packet>, DecodeError> {
        decode_payload(Bytes::from_static(body))?.collect()
    }

    #[test]
    fn encodes_text_and_binary_records() {
        let frames = [
            Frame::Text(Str::from_static("4hello")),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::Text(Str::from_static("2")),
        ];
        let mut out = Vec::new();
        encode_payload_into(&frames, &mut out);
        assert_eq!(out, b"4hello\x1ebAQIDBA==\x1e2");
        assert_eq!(out.len(), frames.iter().map(payload_len).sum::<usize>() + 2);
    }

    #[test]
    fn decodes_records() {
        assert_eq!(
            decode_all(b"4hello\x1ebAQIDBA==\x1e6"),
            Ok(vec![
                Packet::Message(Str::from_static("hello")),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Noop,
            ])
        );
        assert_eq!(decode_all(b"4"), Ok(vec![Packet::Message(Str::new())]));
    }

    #[test]
    fn rejects_bad_records() {
        assert_eq!(decode_all(b""), Err(DecodeError::Empty));
        assert_eq!(decode_all(b"4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode_all(b"abc"), Err(DecodeError::UnknownType(b'a')));
        assert_eq!(decode_all(b"b!!!"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode_all(b"4\xff"), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn yields_good_packets_before_the_bad_one() {
        let mut it = decode_payload(Bytes::from_static(b"4a\x1e9")).unwrap();
        assert_eq!(it.next(), Some(Ok(Packet::Message(Str::from_static("a")))));
        assert_eq!(it.next(), Some(Err(DecodeError::UnknownType(b'9'))));
        assert_eq!(it.next(), None);
    }
}
