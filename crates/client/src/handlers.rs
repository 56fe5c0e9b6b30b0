//! The callbacks registered on a socket.
//!
//! Callbacks are synchronous and run inline on the connection's task, so a
//! received event costs no task and no allocation beyond decoding (the load
//! generator holds thousands of connections on one core). The set is copied
//! on write: dispatch takes one short lock to clone an `Arc`, and a callback
//! may register more callbacks without deadlocking.

use std::sync::{Arc, Mutex};

use crate::{Event, Socket};

pub(crate) type EventHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
pub(crate) type DisconnectHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct Handlers {
    /// By event name. A socket listens to a handful of names, so a linear
    /// search (a length check, then a short compare) beats hashing the
    /// name with SipHash on every received event.
    pub(crate) events: Vec<(Box<str>, Vec<EventHandler>)>,
    pub(crate) any: Vec<EventHandler>,
    pub(crate) connect: Vec<ConnectHandler>,
    pub(crate) disconnect: Vec<DisconnectHandler>,
}

impl Handlers {
    /// The handlers of event `name`.
    pub(crate) fn of(&self, name: &str) -> &[EventHandler] {
        self.events
            .iter()
            .find(|(n, _)| **n == *name)
            .map_or(&[], |(_, list)| list)
    }

    pub(crate) fn add(&mut self, name: &str, handler: EventHandler) {
        match self.events.iter_mut().find(|(n, _)| **n == *name) {
            Some((_, list)) => list.push(handler),
            None => self.events.push((name.into(), vec![handler])),
        }
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.events.retain(|(n, _)| **n != *name);
    }
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field(
                "events",
                &self.events.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
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
