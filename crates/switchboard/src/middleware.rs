//! Connect middleware: may refuse a socket before it joins its namespace.

use std::fmt;
use std::future::Future;

use serde_json::Value;

use crate::adapter::BoxFuture;
use crate::socket::Socket;

/// A refusal: reaches the client as `connect_error` with this message and,
/// when set, `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    pub message: String,
    pub data: Option<Value>,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The CONNECT_ERROR payload: `{"message":...,"data":...}`.
    pub(crate) fn to_json(&self) -> String {
        let mut object = serde_json::Map::new();
        object.insert("message".to_owned(), Value::String(self.message.clone()));
        if let Some(data) = &self.data {
            object.insert("data".to_owned(), data.clone());
        }
        Value::Object(object).to_string()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// Checks a socket before it connects; runs in the order registered, and
/// the first refusal wins. The socket is not connected yet: it can store
/// data (`set_data`) but not emit.
pub trait Middleware: Send + Sync + 'static {
    fn check<'a>(&'a self, socket: &'a Socket) -> BoxFuture<'a, Result<(), ConnectError>>;
}

impl<F, Fut> Middleware for F
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    fn check<'a>(&'a self, socket: &'a Socket) -> BoxFuture<'a, Result<(), ConnectError>> {
        Box::pin(self(socket.clone()))
    }
}
