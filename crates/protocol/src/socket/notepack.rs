//! Reading MessagePack as notepack.io writes it: the codec of
//! `socket.io-msgpack-parser` and of Node's Redis adapter.
//!
//! notepack gives three extensions of type 0 a JavaScript meaning, told
//! apart only by their marker, which a plain reader (rmpv) throws away:
//! - fixext 1 is `undefined`: a map entry holding it is left out, as
//!   `JSON.stringify` leaves it out, and anywhere else it is nil;
//! - fixext 8 is a `Date` (milliseconds since the epoch): it becomes the
//!   text `Date.prototype.toJSON` gives, as with the default parser;
//! - ext 8/16/32 is an `ArrayBuffer` (what a browser sends): binary, like
//!   bin 8/16/32. Read by value, a one-byte buffer holding 0 would be
//!   `undefined`.
//!
//! Other extension types stay extensions. The reader borrows the input and
//! never allocates more than the input could hold, whatever lengths it
//! declares.

use rmpv::Value as Pack;

/// Reads exactly one value filling `bytes`, nested at most `max_depth`
/// arrays or maps deep; `None` when it is not MessagePack, is nested
/// deeper, or has bytes after it.
pub fn read_notepack(bytes: &[u8], max_depth: usize) -> Option<Pack> {
    let mut reader = Reader { rest: bytes };
    let value = match reader.value(max_depth)? {
        Item::Value(value) => value,
        Item::Undefined => Pack::Nil,
    };
    reader.rest.is_empty().then_some(value)
}

enum Item {
    Value(Pack),
    Undefined,
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(taken)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    /// A big-endian length of `width` bytes (1, 2 or 4).
    fn len(&mut self, width: usize) -> Option<usize> {
        let bytes = self.take(width)?;
        Some(bytes.iter().fold(0, |n, &b| (n << 8) | usize::from(b)))
    }

    fn text(&mut self, len: usize) -> Option<Pack> {
        let bytes = self.take(len)?;
        Some(Pack::from(std::str::from_utf8(bytes).ok()?))
    }

    fn value(&mut self, depth: usize) -> Option<Item> {
        let marker = self.u8()?;
        let value = match marker {
            0x00..=0x7f => Pack::from(marker),
            0xe0..=0xff => Pack::from(i8::from_be_bytes([marker])),
            0xc0 => Pack::Nil,
            0xc2 => Pack::Boolean(false),
            0xc3 => Pack::Boolean(true),
            0xcc => Pack::from(self.u8()?),
            0xcd => Pack::from(u16::from_be_bytes(self.array()?)),
            0xce => Pack::from(u32::from_be_bytes(self.array()?)),
            0xcf => Pack::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Pack::from(i8::from_be_bytes(self.array()?)),
            0xd1 => Pack::from(i16::from_be_bytes(self.array()?)),
            0xd2 => Pack::from(i32::from_be_bytes(self.array()?)),
            0xd3 => Pack::from(i64::from_be_bytes(self.array()?)),
            0xca => Pack::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Pack::F64(f64::from_be_bytes(self.array()?)),
            0xa0..=0xbf => self.text(usize::from(marker & 0x1f))?,
            0xd9 => self.text_of(1)?,
            0xda => self.text_of(2)?,
            0xdb => self.text_of(4)?,
            0xc4 => self.binary_of(1)?,
            0xc5 => self.binary_of(2)?,
            0xc6 => self.binary_of(4)?,
            0x90..=0x9f => self.items(usize::from(marker & 0x0f), depth)?,
            0xdc => self.items_of(2, depth)?,
            0xdd => self.items_of(4, depth)?,
            0x80..=0x8f => self.entries(usize::from(marker & 0x0f), depth)?,
            0xde => self.entries_of(2, depth)?,
            0xdf => self.entries_of(4, depth)?,
            0xd4 => return self.fixext(1),
            0xd5 => return self.fixext(2),
            0xd6 => return self.fixext(4),
            0xd7 => return self.fixext(8),
            0xd8 => return self.fixext(16),
            0xc7 => self.ext_of(1)?,
            0xc8 => self.ext_of(2)?,
            0xc9 => self.ext_of(4)?,
            // 0xc1: never used.
            _ => return None,
        };
        Some(Item::Value(value))
    }

    fn text_of(&mut self, width: usize) -> Option<Pack> {
        let len = self.len(width)?;
        self.text(len)
    }

    fn binary_of(&mut self, width: usize) -> Option<Pack> {
        let len = self.len(width)?;
        Some(Pack::Binary(self.take(len)?.to_vec()))
    }

    fn items_of(&mut self, width: usize, depth: usize) -> Option<Pack> {
        let len = self.len(width)?;
        self.items(len, depth)
    }

    fn entries_of(&mut self, width: usize, depth: usize) -> Option<Pack> {
        let len = self.len(width)?;
        self.entries(len, depth)
    }

    fn items(&mut self, len: usize, depth: usize) -> Option<Pack> {
        let depth = depth.checked_sub(1)?;
        // Every item takes at least a byte: a declared length beyond the
        // input cannot make us reserve memory.
        let mut items = Vec::with_capacity(len.min(self.rest.len()));
        for _ in 0..len {
            items.push(match self.value(depth)? {
                Item::Value(value) => value,
                Item::Undefined => Pack::Nil,
            });
        }
        Some(Pack::Array(items))
    }

    fn entries(&mut self, len: usize, depth: usize) -> Option<Pack> {
        let depth = depth.checked_sub(1)?;
        let mut entries = Vec::with_capacity(len.min(self.rest.len() / 2));
        for _ in 0..len {
            let key = match self.value(depth)? {
                Item::Value(key) => key,
                Item::Undefined => Pack::Nil,
            };
            if let Item::Value(value) = self.value(depth)? {
                entries.push((key, value));
            }
        }
        Some(Pack::Map(entries))
    }

    fn fixext(&mut self, len: usize) -> Option<Item> {
        let kind = i8::from_be_bytes(self.array()?);
        let data = self.take(len)?;
        Some(match (kind, data) {
            (0, [_]) => Item::Undefined,
            (0, &[a, b, c, d, e, f, g, h]) => {
                let millis = i64::from_be_bytes([a, b, c, d, e, f, g, h]);
                Item::Value(Pack::from(date_json(millis)))
            }
            (kind, data) => Item::Value(Pack::Ext(kind, data.to_vec())),
        })
    }

    fn ext_of(&mut self, width: usize) -> Option<Pack> {
        let len = self.len(width)?;
        let kind = i8::from_be_bytes(self.array()?);
        let data = self.take(len)?.to_vec();
        Some(if kind == 0 {
            Pack::Binary(data)
        } else {
            Pack::Ext(kind, data)
        })
    }
}

/// `Date.prototype.toJSON`: `2026-11-22T09:05:03.007Z`, with a signed
/// six-digit year outside 0000-9999.
fn date_json(millis: i64) -> String {
    const DAY: i64 = 86_400_000;
    let (days, in_day) = (millis.div_euclid(DAY), millis.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!(
            "{}{:06}",
            if year < 0 { '-' } else { '+' },
            year.unsigned_abs()
        )
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: eras of 400
/// years (146,097 days) counted from 0000-03-01, so the leap day falls at
/// the end of each counted year.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let from_march = days + 719_468;
    let era = from_march.div_euclid(146_097);
    let day_of_era = from_march.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Option<Pack> {
        read_notepack(bytes, 8)
    }

    #[test]
    fn plain_values_as_rmpv_reads_them() {
        let value = Pack::Map(vec![
            (Pack::from("a"), Pack::from(-3)),
            (Pack::from("b"), Pack::F64(2.5)),
            (
                Pack::from("c"),
                Pack::Array(vec![
                    Pack::Nil,
                    Pack::Boolean(true),
                    Pack::from(u64::MAX),
                    Pack::from(i64::MIN),
                    Pack::from("é".repeat(40)),
                    Pack::Binary(vec![1; 300]),
                    Pack::Ext(5, vec![1, 2, 3]),
                ]),
            ),
            (Pack::from("d"), Pack::F32(1.5)),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &value).unwrap();
        assert_eq!(read(&bytes), Some(value));
    }

    /// Bytes as notepack.io 3 writes them (from its encoder's source).
    #[test]
    fn notepack_extensions() {
        // {a: undefined, b: [undefined]}
        let bytes = [0x82, 0xa1, b'a', 0xd4, 0, 0, 0xa1, b'b', 0x91, 0xd4, 0, 0];
        assert_eq!(
            read(&bytes),
            Some(Pack::Map(vec![(
                Pack::from("b"),
                Pack::Array(vec![Pack::Nil])
            )]))
        );
        assert_eq!(read(&[0xd4, 0, 0]), Some(Pack::Nil));
        // A one-byte ArrayBuffer holding 0: binary, not undefined.
        assert_eq!(read(&[0xc7, 1, 0, 0]), Some(Pack::Binary(vec![0])));
        assert_eq!(read(&[0xc8, 0, 2, 0, 7, 8]), Some(Pack::Binary(vec![7, 8])));
        // new Date(1_795_338_303_007): fixext 8, type 0, the milliseconds.
        let mut date = vec![0xd7, 0];
        date.extend_from_slice(&1_795_338_303_007_i64.to_be_bytes());
        assert_eq!(read(&date), Some(Pack::from("2026-11-22T09:05:03.007Z")));
    }

    #[test]
    fn dates_as_javascript_writes_them() {
        assert_eq!(date_json(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(date_json(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(date_json(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            date_json(-62_198_755_200_000),
            "-000001-01-01T00:00:00.000Z"
        );
        assert_eq!(
            date_json(253_402_300_800_000),
            "+010000-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn refuses_what_is_not_one_value() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[0xc1]), None);
        assert_eq!(read(&[0xc0, 0xc0]), None);
        // Truncated, and lengths beyond the input.
        assert_eq!(read(&[0xcd, 1]), None);
        assert_eq!(read(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']), None);
        assert_eq!(read(&[0xdd, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(read(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0]), None);
        assert_eq!(read(&[0xa2, 0xff, 0xfe]), None, "not UTF-8");
        // Nesting: 8 levels pass, 9 do not.
        let nested = |levels: usize| {
            let mut bytes = vec![0x91; levels - 1];
            bytes.push(0x90);
            bytes
        };
        assert!(read(&nested(8)).is_some());
        assert_eq!(read(&nested(9)), None);
    }
}
