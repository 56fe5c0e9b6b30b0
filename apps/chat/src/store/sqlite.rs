//! SQLite history: one connection on a thread of its own, WAL journal.
//!
//! SQLite allows one writer at a time anyway, so a single thread that takes
//! every queued request, writes the inserts in one transaction and then
//! answers the reads loses nothing and batches for free.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::{BoxFuture, MAX_BATCH, NewMessage, Store, StoreError, StoredMessage};

enum Request {
    Insert(
        NewMessage,
        oneshot::Sender<Result<StoredMessage, StoreError>>,
    ),
    History {
        room: Option<String>,
        before: Option<i64>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<StoredMessage>, StoreError>>,
    },
    Count(oneshot::Sender<Result<u64, StoreError>>),
    Close(oneshot::Sender<()>),
}

#[derive(Debug)]
pub struct SqliteStore {
    requests: mpsc::Sender<Request>,
}

fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `path`.
    pub async fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let path = path.to_owned();
        let (requests, queue) = mpsc::channel();
        let (ready, opened) = oneshot::channel();
        std::thread::Builder::new()
            .name("sqlite-store".to_owned())
            .spawn(move || match connect(&path) {
                Ok(connection) => {
                    let _ = ready.send(Ok(()));
                    serve(connection, queue);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(fail)?;
        opened.await.map_err(fail)??;
        Ok(SqliteStore { requests })
    }

    fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        // A closed store drops the request; the receiver then reports it.
        let _ = self.requests.send(make(tx));
        rx
    }
}

fn connect(path: &str) -> Result<Connection, StoreError> {
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("creating {}: {e}", dir.display())))?;
    }
    let connection = Connection::open(path).map_err(fail)?;
    // WAL lets readers (another process, a backup) run beside the writer;
    // NORMAL sync is durable across process crashes in WAL mode and still
    // commits at memory speed.
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS messages (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 user TEXT,
                 text TEXT NOT NULL,
                 room TEXT,
                 timestamp TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room, id);",
        )
        .map_err(fail)?;
    Ok(connection)
}

/// The store's thread: takes what is queued, commits the inserts in one
/// transaction, answers everything, repeats.
fn serve(mut connection: Connection, queue: mpsc::Receiver<Request>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let mut inserts = Vec::new();
        let mut others = Vec::new();
        for request in batch {
            match request {
                Request::Insert(message, reply) => inserts.push((message, reply)),
                other => others.push(other),
            }
        }
        if !inserts.is_empty() {
            write(&mut connection, inserts);
        }
        for request in others {
            match request {
                Request::History {
                    room,
                    before,
                    limit,
                    reply,
                } => {
                    let _ = reply.send(history(&connection, room, before, limit));
                }
                Request::Count(reply) => {
                    let count = connection
                        .query_row("SELECT COUNT(*) FROM messages", [], |row| {
                            row.get::<_, i64>(0)
                        })
                        .map(|n| n as u64)
                        .map_err(fail);
                    let _ = reply.send(count);
                }
                Request::Close(reply) => {
                    let _ = reply.send(());
                    return;
                }
                Request::Insert(..) => {}
            }
        }
    }
}

type Pending = (
    NewMessage,
    oneshot::Sender<Result<StoredMessage, StoreError>>,
);

fn write(connection: &mut Connection, inserts: Vec<Pending>) {
    let result = (|| {
        let tx = connection.transaction()?;
        let mut ids = Vec::with_capacity(inserts.len());
        {
            let mut statement = tx.prepare_cached(
                "INSERT INTO messages (user, text, room, timestamp) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (m, _) in &inserts {
                statement.execute(params![m.user, m.text, m.room, m.timestamp])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok::<_, rusqlite::Error>(ids)
    })();
    match result {
        Ok(ids) => {
            for ((message, reply), id) in inserts.into_iter().zip(ids) {
                let _ = reply.send(Ok(StoredMessage::new(id, message)));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "storing messages failed");
            for (_, reply) in inserts {
                let _ = reply.send(Err(fail(&e)));
            }
        }
    }
}

fn history(
    connection: &Connection,
    room: Option<String>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT id, user, text, room, timestamp FROM messages
             WHERE room IS ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )
        .map_err(fail)?;
    let rows = statement
        .query_map(
            params![room, before.unwrap_or(i64::MAX), limit as i64],
            |row| {
                Ok(StoredMessage {
                    id: row.get(0)?,
                    user: row.get(1)?,
                    text: row.get(2)?,
                    room: row.get(3)?,
                    timestamp: row.get(4)?,
                })
            },
        )
        .map_err(fail)?;
    let mut page = rows.collect::<Result<Vec<_>, _>>().map_err(fail)?;
    page.reverse();
    Ok(page)
}

fn closed() -> StoreError {
    StoreError("store closed".to_owned())
}

impl Store for SqliteStore {
    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<StoredMessage, StoreError>> {
        let reply = self.ask(|tx| Request::Insert(message, tx));
        Box::pin(async move { reply.await.unwrap_or_else(|_| Err(closed())) })
    }

    fn history(
        &self,
        room: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        let reply = self.ask(|reply| Request::History {
            room,
            before,
            limit,
            reply,
        });
        Box::pin(async move { reply.await.unwrap_or_else(|_| Err(closed())) })
    }

    fn count(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let reply = self.ask(Request::Count);
        Box::pin(async move { reply.await.unwrap_or_else(|_| Err(closed())) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        let reply = self.ask(Request::Close);
        Box::pin(async move {
            let _ = reply.await;
        })
    }
}
