//! The callbacks registered on a socket.
//!
//! Callbacks are synchronous and run inline on the connection's task, so a
//! received event costs no task and no allocation beyond decoding (the load
//! generator holds thousands of connections on one core). The set is copied
//! on write: dispatch takes one short lock to clone an `Arc`, and a callback
//! may register more callbacks without deadlocking.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{Event, Socket};

pub(crate) type EventHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
pub(crate) type DisconnectHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) events: HashMap<Box<str>, Vec<EventHandler>>,
    pub(crate) any: Vec<EventHandler>,
    pub(crate) connect: Vec<ConnectHandler>,
    pub(crate) disconnect: Vec<DisconnectHandler>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .field("any", &self.any.len())
            .field("connect", &self.connect.len())
            .field("disconnect", &self.disconnect.len())
            .finish()
    }
}

/// The handler set of one socket, replaced whole on every registration.
#[derive(Debug, Default)]
pub(crate) struct HandlerCell {
    // Held only to clone or swap the `Arc`, never while a callback runs, so
    // it cannot contend with anything slow.
    current: Mutex<Arc<Handlers>>,
}

impl HandlerCell {
    pub(crate) fn new(handlers: Handlers) -> Self {
        HandlerCell {
            current: Mutex::new(Arc::new(handlers)),
        }
    }

    pub(crate) fn get(&self) -> Arc<Handlers> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Handlers)) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = Handlers::clone(&current);
        change(&mut next);
        *current = Arc::new(next);
    }
}
