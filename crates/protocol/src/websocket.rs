//! WebSocket frame heads (RFC 6455 §5.2), with no I/O: the one place the
//! bytes before a payload are written and read. The engine writes server
//! frames with it, the client writes masked frames and reads the
//! server's, and the bench's floor reads masked ones; what each side
//! refuses (reserved bits, masks, control frames, sizes) stays with it.
//! Both functions run once per frame on the send and receive paths, so
//! they are `#[inline]` across the crate boundary.

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Appends the head of a final frame: FIN and `opcode`, the payload's
/// length `len` in 7, 7+16 or 7+64 bits, and `mask` when given (every
/// frame from a client is masked, none from a server).
#[inline]
pub fn push_head(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    let masked = if mask.is_some() { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    if len < 126 {
        // Fits in seven bits.
        out.push(masked | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(masked | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
}

/// A frame head as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub fin: bool,
    /// RSV1-3, as the three bits 0x70 of the first byte.
    pub reserved: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    /// Bytes the head takes, mask included.
    pub head_len: usize,
    /// The payload's length as the frame states it (not yet checked
    /// against any limit).
    pub payload_len: u64,
}

/// The head at the start of `buf`; `None` until all of it has arrived.
#[inline]
pub fn read_head(buf: &[u8]) -> Option<Head> {
    let [b0, b1, ..] = *buf else {
        return None;
    };
    let (mut head_len, payload_len) = match b1 & 0x7F {
        126 => {
            let bytes = buf.get(2..4)?;
            (4, u64::from(u16::from_be_bytes([bytes[0], bytes[1]])))
        }
        127 => {
            let mut len = [0; 8];
            len.copy_from_slice(buf.get(2..10)?);
            (10, u64::from_be_bytes(len))
        }
        len => (2, u64::from(len)),
    };
    let mask = if b1 & 0x80 == 0 {
        None
    } else {
        let bytes = buf.get(head_len..head_len + 4)?;
        head_len += 4;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    };
    Some(Head {
        fin: b0 & 0x80 != 0,
        reserved: b0 & 0x70,
        opcode: b0 & 0x0F,
        mask,
        head_len,
        payload_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_form_reads_back_as_written() {
        for (len, head_len) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let mut out = Vec::new();
                push_head(&mut out, OP_BINARY, len, mask);
                let extra = if mask.is_some() { 4 } else { 0 };
                assert_eq!(out.len(), head_len + extra);
                let head = read_head(&out).expect("a whole head");
                assert_eq!(
                    head,
                    Head {
                        fin: true,
                        reserved: 0,
                        opcode: OP_BINARY,
                        mask,
                        head_len: head_len + extra,
                        payload_len: len as u64,
                    }
                );
                for cut in 0..out.len() {
                    assert_eq!(read_head(&out[..cut]), None, "cut at {cut} of {len}");
                }
            }
        }
    }

    #[test]
    fn the_first_byte_is_read_as_sent() {
        let head = read_head(&[0x41, 0x00]).expect("a head");
        assert!(!head.fin);
        assert_eq!((head.reserved, head.opcode), (0x40, OP_TEXT));
    }
}
