//! [`Event`]: an event from the server, its arguments kept as the JSON text
//! they arrived in until a handler asks for them.

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};
use switchboard_protocol::Str;

use crate::{ClientError, Socket};

/// One event received on a namespace.
pub struct Event {
    name: String,
    /// The whole JSON array as received: `["name", arg, ...]`.
    data: Str,
    binary: Vec<Bytes>,
    /// The socket and ack id when the server asked for an acknowledgement.
    ack: Option<(Socket, u64)>,
    acked: Cell<bool>,
    /// `[arg, ...]`, built the first time a handler asks for the text.
    args_json: OnceCell<String>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name)
            .field("data", &self.data)
            .field("binary", &self.binary.len())
            .field("ack", &self.ack.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl Event {
    pub(crate) fn new(
        name: String,
        data: Str,
        binary: Vec<Bytes>,
        ack: Option<(Socket, u64)>,
    ) -> Event {
        Event {
            name,
            data,
            binary,
            ack,
            acked: Cell::new(false),
            args_json: OnceCell::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments after the event name, as one JSON array's text
    /// (`[]` when there are none). Binary arguments appear as
    /// `{"_placeholder":true,"num":N}`; their bytes are in [`binary`](Self::binary).
    pub fn args_json(&self) -> &str {
        self.args_json.get_or_init(|| args_text(&self.data))
    }

    /// The arguments after the event name, deserialised as one sequence: a
    /// tuple for positional arguments, `Vec<Value>` for any. Extra arguments
    /// are ignored, as a JavaScript handler ignores them. Parses the text it
    /// arrived in, without building [`args_json`](Self::args_json).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        from_array(&self.data, SkipFirst(PhantomData))
    }

    /// The binary attachments, in placeholder order.
    pub fn binary(&self) -> &[Bytes] {
        &self.binary
    }

    /// Whether the server waits for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Acknowledges with one argument. Does nothing when the server asked
    /// for no acknowledgement or one was already sent. Fails, sending
    /// nothing, with [`ClientError::QueueFull`] past the client's queue
    /// bounds.
    pub fn ack<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), ClientError> {
        self.ack_with(|socket, id| socket.send_ack(id, data, Vec::new(), false))
    }

    /// Acknowledges with several arguments (a tuple or a sequence).
    pub fn ack_args<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), ClientError> {
        self.ack_with(|socket, id| socket.send_ack(id, args, Vec::new(), true))
    }

    /// Acknowledges with an argument array holding placeholders for `binary`.
    pub fn ack_binary<T: Serialize + ?Sized>(
        &self,
        args: &T,
        binary: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        self.ack_with(|socket, id| socket.send_ack(id, args, binary, true))
    }

    fn ack_with(
        &self,
        send: impl FnOnce(&Socket, u64) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let Some((socket, id)) = &self.ack else {
            return Ok(());
        };
        if self.acked.get() {
            return Ok(());
        }
        // Marked only once queued: a refused ack (queue full, arguments
        // that do not serialise) answered nothing, so another may follow.
        send(socket, *id)?;
        self.acked.set(true);
        Ok(())
    }
}

/// The answer to an emit with an acknowledgement, for callers that want
/// every argument or the binary ones ([`Socket::emit_with_ack_raw`]).
#[derive(Debug, Clone)]
pub struct AckReply {
    /// The acknowledgement's arguments as one JSON array's text.
    pub(crate) data: Str,
    pub(crate) binary: Vec<Bytes>,
}

impl AckReply {
    pub fn args_json(&self) -> &str {
        &self.data
    }

    /// Every argument as one sequence (a tuple, `Vec<Value>`, ...).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }

    /// The first argument (`null` when there is none), as
    /// socket.io-client's `emitWithAck` resolves.
    pub fn first<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        from_array(&self.data, First(PhantomData))
    }

    pub fn binary(&self) -> &[Bytes] {
        &self.binary
    }
}

/// Runs `visitor` over the JSON array `json`, which must be all there is.
fn from_array<'de, V: Visitor<'de>>(
    json: &'de str,
    visitor: V,
) -> Result<V::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = de.deserialize_seq(visitor)?;
    de.end()?;
    Ok(value)
}

/// `["name",a,b]` → `[a,b]`: a bracket, then the text after the name's
/// comma (one copy, no parse). The decoder checked that `data` is a JSON
/// array whose first element is a string or a number, so the name ends at
/// its closing quote (escapes skipped) or at the first byte a number
/// cannot hold.
fn args_text(data: &str) -> String {
    let bytes = data.as_bytes();
    // Past the opening bracket and any whitespace around it.
    let mut at = skip_space(bytes, skip_space(bytes, 0) + 1);
    if bytes.get(at) == Some(&b'"') {
        at += 1;
        while let Some(&b) = bytes.get(at) {
            at += if b == b'\\' { 2 } else { 1 };
            if b == b'"' {
                break;
            }
        }
    } else {
        while bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            at += 1;
        }
    }
    at = skip_space(bytes, at);
    match bytes.get(at) {
        // `at` is on an ASCII comma, so `at + 1` is a char boundary.
        Some(b',') => {
            let rest = &data[at + 1..];
            let mut out = String::with_capacity(rest.len() + 1);
            out.push('[');
            out.push_str(rest);
            out
        }
        _ => "[]".to_owned(),
    }
}

/// The index of the first byte at or after `at` that is not JSON
/// whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// Deserialises `T` from the elements of an array after the first.
struct SkipFirst<T>(PhantomData<T>);

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for SkipFirst<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        seq.next_element::<IgnoredAny>()?;
        let value = T::deserialize(Rest(&mut seq))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// Deserialises `T` from the first element of an array, `null` if empty.
struct First<T>(PhantomData<T>);

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for First<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let value = match seq.next_element::<T>()? {
            Some(value) => value,
            None => T::deserialize(serde_json::Value::Null).map_err(de::Error::custom)?,
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// The rest of a sequence, seen as a sequence of its own.
struct Rest<'a, A>(&'a mut A);

impl<'de, A: SeqAccess<'de>> Deserializer<'de> for Rest<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_seq(self.0)
    }

    /// `()` for handlers that take no arguments; any arguments are ignored.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn event(data: &'static str) -> Event {
        Event::new("e".into(), Str::from_static(data), Vec::new(), None)
    }

    #[test]
    fn arguments_after_the_name() {
        let ev = event(r#"["a\",b",1,{"x":[2]},"s"]"#);
        assert_eq!(ev.args_json(), r#"[1,{"x":[2]},"s"]"#);
        let (n, obj): (u32, Value) = ev.args().unwrap();
        assert_eq!((n, obj), (1, json!({"x": [2]})));
        let all: Vec<Value> = ev.args().unwrap();
        assert_eq!(all.len(), 3);
        ev.args::<()>().unwrap();
        assert!(ev.args::<(String,)>().is_err());
        let ev = event(r#"["only"]"#);
        assert_eq!(ev.args_json(), "[]");
        assert!(ev.args::<Vec<Value>>().unwrap().is_empty());
        // Whitespace, escapes and numeric names, as JSON allows them.
        let ev = event(" [ \"a\\\\\" , \"b\" ,\n[1] ] ");
        assert_eq!(ev.args_json(), "[ \"b\" ,\n[1] ] ");
        assert_eq!(event(r#"[-1.5e3,true]"#).args_json(), "[true]");
        assert_eq!(event(r#"[7 ]"#).args_json(), "[]");
        assert_eq!(event(r#"["a\\"]"#).args_json(), "[]");
    }

    #[test]
    fn first_argument_of_an_ack() {
        let reply = AckReply {
            data: Str::from_static(r#"[{"ok":true},2]"#),
            binary: Vec::new(),
        };
        assert_eq!(reply.first::<Value>().unwrap(), json!({"ok": true}));
        let empty = AckReply {
            data: Str::from_static("[]"),
            binary: Vec::new(),
        };
        empty.first::<()>().unwrap();
        assert_eq!(empty.first::<Option<u8>>().unwrap(), None);
    }
}
