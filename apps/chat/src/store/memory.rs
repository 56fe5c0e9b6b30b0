//! History in memory: for tests and benchmarks; gone on restart.

use std::sync::Mutex;

use super::{BoxFuture, NewMessage, Store, StoreError, StoredMessage};

#[derive(Debug, Default)]
pub struct MemoryStore {
    // Held for one push or one scan; nothing awaits under it.
    messages: Mutex<Vec<StoredMessage>>,
}

impl Store for MemoryStore {
    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<StoredMessage, StoreError>> {
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let id = messages.last().map_or(1, |m| m.id + 1);
        let stored = StoredMessage::new(id, message);
        messages.push(stored.clone());
        Box::pin(std::future::ready(Ok(stored)))
    }

    fn history(
        &self,
        room: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        let messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let mut page: Vec<StoredMessage> = messages
            .iter()
            .rev()
            .filter(|m| m.room == room && before.is_none_or(|b| m.id < b))
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        Box::pin(std::future::ready(Ok(page)))
    }

    fn count(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let count = self
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64;
        Box::pin(std::future::ready(Ok(count)))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}
