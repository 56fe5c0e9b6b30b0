//! Incoming events: typed arguments, attachments, and the ack sender; and
//! how a handler is stored without its types.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Waker};

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_protocol::Str;
use switchboard_protocol::socket::PacketType;

use crate::encode::{EncodedPacket, array};
use crate::error::EmitError;
use crate::socket::Socket;

/// The arguments of an event or an ack as received, still JSON.
#[derive(Clone)]
pub struct Payload {
    /// The packet's JSON array.
    json: Str,
    /// Events carry their name as the first element; it is not an argument.
    skip_name: bool,
    pub binary: Vec<Bytes>,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("args", &self.args_json())
            .field("binary", &self.binary.len())
            .finish()
    }
}

impl Payload {
    pub(crate) fn event(json: Str, binary: Vec<Bytes>) -> Payload {
        Payload {
            json,
            skip_name: true,
            binary,
        }
    }

    /// Arguments from a JSON array (placeholders referring to `binary`);
    /// for adapters handing over an answer from another server.
    pub fn from_args_json(json: String, binary: Vec<Bytes>) -> Payload {
        Payload::ack(Str::from(json), binary)
    }

    pub(crate) fn ack(json: Str, binary: Vec<Bytes>) -> Payload {
        Payload {
            json,
            skip_name: false,
            binary,
        }
    }

    /// The arguments as `T`, deserialised from the array of arguments:
    /// use a tuple for positional arguments (`(String, u32)`), or
    /// `Vec<Value>` / `Value` to take whatever came. Arguments beyond what
    /// `T` reads are ignored.
    pub fn args<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        let mut de = serde_json::Deserializer::from_str(&self.json);
        let value = de.deserialize_seq(Args {
            skip_name: self.skip_name,
            _t: PhantomData,
        })?;
        de.end()?;
        Ok(value)
    }

    /// The arguments as a JSON array, placeholders for attachments included,
    /// exactly as the client wrote them.
    pub fn args_json(&self) -> String {
        if !self.skip_name {
            return self.json.to_string();
        }
        let args: Vec<Box<serde_json::value::RawValue>> = self.args().unwrap_or_default();
        let mut out = String::with_capacity(self.json.len());
        out.push('[');
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(arg.get());
        }
        out.push(']');
        out
    }
}

/// Deserialises `T` from a JSON array's elements, skipping the event name.
struct Args<T> {
    skip_name: bool,
    _t: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Args<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        if self.skip_name {
            seq.next_element::<IgnoredAny>()?;
        }
        let value = T::deserialize(ArgList(&mut seq))?;
        // Lenient like JavaScript: extra arguments are not an error.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// The arguments as a sequence, except that `()` takes none: a plain
/// `SeqAccessDeserializer` refuses `()` ("invalid type: sequence"), which
/// silently dropped every event of an `Event<()>` handler, the documented
/// way to take an event without arguments.
struct ArgList<A>(A);

impl<'de, A: SeqAccess<'de>> Deserializer<'de> for ArgList<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_seq(self.0)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

/// An event delivered to a handler registered with [`Socket::on`].
#[derive(Debug)]
pub struct Event<T> {
    /// The arguments, deserialised from the array of arguments (see
    /// [`Payload::args`]).
    pub data: T,
    /// Binary attachments, in placeholder order.
    pub binary: Vec<Bytes>,
    /// Present when the client asked for an acknowledgement.
    pub ack: Option<AckSender>,
}

/// Answers a client's acknowledgement request, once.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
    binary: Vec<Bytes>,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        AckSender {
            socket,
            id,
            binary: Vec::new(),
        }
    }

    /// Attachments for the answer; mark their places in the data with
    /// [`Placeholder`](crate::Placeholder).
    pub fn binary(mut self, binary: Vec<Bytes>) -> Self {
        self.binary = binary;
        self
    }

    /// Acknowledges with one argument.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let json = serde_json::to_string(&[data])?;
        self.finish(&json)
    }

    /// Acknowledges with several arguments; `args` must serialise to an
    /// array (a tuple, say).
    pub fn send_args<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let json = array(args)?;
        self.finish(&json)
    }

    fn finish(self, json: &str) -> Result<(), EmitError> {
        let packet = EncodedPacket::new(
            self.socket.parser(),
            PacketType::Ack,
            self.socket.namespace_name(),
            Some(self.id),
            self.binary,
            Some(json),
        );
        self.socket.send_packet(&packet, false)
    }
}

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handler with its argument type erased.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn call(
        &self,
        socket: Socket,
        payload: Payload,
        ack: Option<AckSender>,
    ) -> Option<HandlerFuture>;
}

pub(crate) struct TypedHandler<T, F> {
    pub(crate) f: F,
    pub(crate) _t: PhantomData<fn() -> T>,
}

impl<T, F, Fut> TypedHandler<T, F>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, Event<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    /// `f` as a handler of any event's payload.
    pub(crate) fn erased(f: F) -> std::sync::Arc<dyn ErasedHandler> {
        std::sync::Arc::new(TypedHandler { f, _t: PhantomData })
    }
}

impl<T, F, Fut> ErasedHandler for TypedHandler<T, F>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, Event<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(
        &self,
        socket: Socket,
        payload: Payload,
        ack: Option<AckSender>,
    ) -> Option<HandlerFuture> {
        match payload.args::<T>() {
            Ok(data) => Some(Box::pin((self.f)(
                socket,
                Event {
                    data,
                    binary: payload.binary,
                    ack,
                },
            ))),
            Err(error) => {
                tracing::debug!(%error, "event arguments do not fit the handler's type; dropped");
                None
            }
        }
    }
}

/// Runs a handler's future: polled once here, so that handlers start in
/// the order their events arrived and one that finishes at once costs no
/// task; spawned only if it waits.
pub(crate) fn run(mut future: HandlerFuture) {
    // The spawned task polls again first thing, with its own waker, so a
    // wake-up that reached the no-op waker in between is not lost.
    let mut cx = Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(future);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn event(json: &'static str) -> Payload {
        Payload::event(Str::from_static(json), Vec::new())
    }

    #[test]
    fn args_are_positional() {
        let p = event(r#"["message",1,"2",{"3":[true]}]"#);
        let (a, b): (u32, String) = p.args().unwrap();
        assert_eq!((a, b.as_str()), (1, "2"));
        let all: Vec<Value> = p.args().unwrap();
        assert_eq!(all.len(), 3);
        let (only,): (String,) = event(r#"["ev","x"]"#).args().unwrap();
        assert_eq!(only, "x");
        assert!(event(r#"["ev",1]"#).args::<(String,)>().is_err());
        let ack = Payload::ack(Str::from_static(r#"[1,2]"#), Vec::new());
        assert_eq!(ack.args::<(u8, u8)>().unwrap(), (1, 2));
        // `()` takes no arguments, and ignores any, like the other types.
        event(r#"["ping"]"#).args::<()>().unwrap();
        event(r#"["ping",1]"#).args::<()>().unwrap();
    }

    #[test]
    fn args_json_drops_the_name() {
        assert_eq!(event(r#"["m",1,"2"]"#).args_json(), r#"[1,"2"]"#);
        assert_eq!(event(r#"["m"]"#).args_json(), "[]");
    }
}
