//! Durable chat history behind one small trait: SQLite (the default),
//! PostgreSQL, or memory.
//!
//! A message is acknowledged only after its transaction committed. Writers
//! group every message waiting at that moment into one transaction, so
//! under load the cost of a commit is shared by many messages and storing
//! does not become the bottleneck.

mod memory;
mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most messages written in one transaction.
const MAX_BATCH: usize = 512;

/// A message to store; the store assigns its id.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub user: Option<String>,
    pub text: String,
    pub room: Option<String>,
    /// ISO 8601, UTC.
    pub timestamp: String,
}

/// A stored message, exactly as clients receive it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredMessage {
    /// Unique, increasing, below 2^53 (a JavaScript client reads it exactly).
    pub id: i64,
    pub user: Option<String>,
    pub text: String,
    pub timestamp: String,
    pub room: Option<String>,
}

impl StoredMessage {
    fn new(id: i64, message: NewMessage) -> Self {
        StoredMessage {
            id,
            user: message.user,
            text: message.text,
            timestamp: message.timestamp,
            room: message.room,
        }
    }
}

/// The store failed; the text says how. Reported to clients as a generic
/// error and logged in full.
#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// History of the chat.
pub trait Store: Send + Sync + 'static {
    /// Stores a message; resolves once it is committed.
    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<StoredMessage, StoreError>>;
    /// Up to `limit` messages of `room` (`None`: the main chat) with ids
    /// below `before`, oldest first.
    fn history(
        &self,
        room: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>>;
    /// Messages stored in all.
    fn count(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Finishes pending writes; later inserts fail.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Opens the store a `--database` value names: `sqlite://PATH`,
/// `postgres://...` (or `postgresql://`), or `memory`.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url == "memory" {
        return Ok(Box::new(MemoryStore::default()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Box::new(SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PostgresStore::connect(url).await?));
    }
    Err(StoreError(format!(
        "unknown database {url:?}: use sqlite://PATH, postgres://... or memory"
    )))
}
