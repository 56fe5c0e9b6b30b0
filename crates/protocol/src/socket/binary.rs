//! Binary attachments: placeholders in the JSON, bytes in the messages after.

use bytes::Bytes;
use serde_json::Value;

use super::{Packet, SocketDecodeError};

/// The JSON that stands for attachment `num`, in the key order Node writes.
pub fn placeholder_json(num: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{num}}}"#)
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
pub struct Assembly {
    packet: Packet,
    attachments: Vec<Bytes>,
}

impl Assembly {
    /// Starts collecting for `packet`, after checking that every placeholder
    /// in its JSON refers to an attachment it announced.
    pub fn new(packet: Packet) -> Result<Assembly, SocketDecodeError> {
        if let Some(json) = &packet.data {
            // The decoder already bounded the nesting depth, so walking the
            // tree cannot recurse deeply.
            let value: Value =
                serde_json::from_str(json).map_err(|_| SocketDecodeError::InvalidPayload)?;
            check_placeholders(&value, packet.attachments)?;
        }
        let attachments = Vec::with_capacity(packet.attachments);
        Ok(Assembly {
            packet,
            attachments,
        })
    }

    /// Whether every attachment has arrived.
    pub fn is_complete(&self) -> bool {
        self.attachments.len() == self.packet.attachments
    }

    /// Adds the next attachment; errors once all have arrived.
    pub fn push(&mut self, bytes: Bytes) -> Result<(), SocketDecodeError> {
        if self.is_complete() {
            return Err(SocketDecodeError::UnexpectedBinary);
        }
        self.attachments.push(bytes);
        Ok(())
    }

    pub fn into_parts(self) -> (Packet, Vec<Bytes>) {
        (self.packet, self.attachments)
    }
}

fn check_placeholders(value: &Value, attachments: usize) -> Result<(), SocketDecodeError> {
    match value {
        Value::Object(map) => {
            if map.contains_key("_placeholder") {
                let valid = map.get("_placeholder") == Some(&Value::Bool(true))
                    && map
                        .get("num")
                        .and_then(Value::as_u64)
                        .is_some_and(|n| (n as usize) < attachments);
                return if valid {
                    Ok(())
                } else {
                    Err(SocketDecodeError::InvalidPlaceholder)
                };
            }
            map.values()
                .try_for_each(|v| check_placeholders(v, attachments))
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|v| check_placeholders(v, attachments)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Str;
    use crate::socket::Limits;

    fn packet(s: &'static str) -> Packet {
        Packet::decode(Str::from_static(s), &Limits::default()).unwrap()
    }

    #[test]
    fn collects_announced_attachments() {
        let p =
            packet(r#"52-["m",{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]"#);
        let mut assembly = Assembly::new(p).unwrap();
        assert!(!assembly.is_complete());
        assembly.push(Bytes::from_static(&[1, 2, 3])).unwrap();
        assembly.push(Bytes::from_static(&[4, 5, 6])).unwrap();
        assert!(assembly.is_complete());
        assert_eq!(
            assembly.push(Bytes::new()),
            Err(SocketDecodeError::UnexpectedBinary)
        );
        let (p, bins) = assembly.into_parts();
        assert_eq!((p.attachments, bins.len()), (2, 2));
    }

    #[test]
    fn refuses_bad_placeholders() {
        let bad = [
            r#"51-["m",{"_placeholder":true,"num":1}]"#,
            r#"51-["m",{"_placeholder":true,"num":-1}]"#,
            r#"51-["m",{"_placeholder":true,"num":"0"}]"#,
            r#"51-["m",{"_placeholder":true,"num":0.5}]"#,
            r#"51-["m",{"_placeholder":false,"num":0}]"#,
            r#"51-["m",{"_placeholder":true}]"#,
        ];
        for s in bad {
            assert_eq!(
                Assembly::new(packet(s)).err(),
                Some(SocketDecodeError::InvalidPlaceholder),
                "{s}"
            );
        }
    }

    #[test]
    fn placeholder_text() {
        assert_eq!(placeholder_json(3), r#"{"_placeholder":true,"num":3}"#);
    }
}
