//! PostgreSQL history. One writer task turns every message waiting at that
//! moment into a single `INSERT ... SELECT FROM UNNEST`, which commits
//! them together; reads go straight to the shared client, which pipelines.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use super::{BoxFuture, MAX_BATCH, NewMessage, Store, StoreError, StoredMessage};

type Pending = (
    NewMessage,
    oneshot::Sender<Result<StoredMessage, StoreError>>,
);

#[derive(Debug)]
pub struct PostgresStore {
    client: Arc<Client>,
    // `None` once closed. Dropping the only sender ends the writer after it
    // has drained what was queued; the lock is held for one send.
    writes: std::sync::Mutex<Option<mpsc::UnboundedSender<Pending>>>,
    writer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS messages (
    id BIGSERIAL PRIMARY KEY,
    "user" TEXT,
    text TEXT NOT NULL,
    room TEXT,
    timestamp TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room, id);
"#;

const INSERT: &str = r#"
INSERT INTO messages ("user", text, room, timestamp)
SELECT u, t, r, ts FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS x(u, t, r, ts)
RETURNING id
"#;

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(fail)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "PostgreSQL connection ended");
            }
        });
        client.batch_execute(SCHEMA).await.map_err(fail)?;
        let client = Arc::new(client);
        let (writes, queue) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(client.clone(), queue));
        Ok(PostgresStore {
            client,
            writes: std::sync::Mutex::new(Some(writes)),
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }
}

async fn write_loop(client: Arc<Client>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let insert = match client.prepare(INSERT).await {
        Ok(statement) => statement,
        Err(e) => {
            tracing::error!(error = %e, "cannot prepare the insert");
            return;
        }
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let column = |f: fn(&NewMessage) -> Option<String>| {
            batch.iter().map(|(m, _)| f(m)).collect::<Vec<_>>()
        };
        let users = column(|m| m.user.clone());
        let texts = column(|m| Some(m.text.clone()));
        let rooms = column(|m| m.room.clone());
        let stamps = column(|m| Some(m.timestamp.clone()));
        match client
            .query(&insert, &[&users, &texts, &rooms, &stamps])
            .await
        {
            Ok(rows) => {
                // Ids come from one sequence in the order the rows were
                // inserted, which is the order of the arrays.
                let mut ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
                ids.sort_unstable();
                for ((message, reply), id) in batch.drain(..).zip(ids) {
                    let _ = reply.send(Ok(StoredMessage::new(id, message)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storing messages failed");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(fail(&e)));
                }
            }
        }
    }
}

impl Store for PostgresStore {
    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<StoredMessage, StoreError>> {
        let (tx, rx) = oneshot::channel();
        let queued = match &*self.writes.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(writes) => writes.send((message, tx)).map_err(|_| ()),
            None => Err(()),
        };
        Box::pin(async move {
            if queued.is_err() {
                return Err(StoreError("store closed".to_owned()));
            }
            rx.await
                .unwrap_or_else(|_| Err(StoreError("store closed".to_owned())))
        })
    }

    fn history(
        &self,
        room: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client
                .query(
                    r#"SELECT id, "user", text, room, timestamp FROM messages
                       WHERE room IS NOT DISTINCT FROM $1 AND id < $2 ORDER BY id DESC LIMIT $3"#,
                    &[&room, &before.unwrap_or(i64::MAX), &(limit as i64)],
                )
                .await
                .map_err(fail)?;
            let mut page: Vec<StoredMessage> = rows
                .iter()
                .map(|row| StoredMessage {
                    id: row.get(0),
                    user: row.get(1),
                    text: row.get(2),
                    room: row.get(3),
                    timestamp: row.get(4),
                })
                .collect();
            page.reverse();
            Ok(page)
        })
    }

    fn count(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let row = self
                .client
                .query_one("SELECT COUNT(*) FROM messages", &[])
                .await
                .map_err(fail)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        drop(self.writes.lock().unwrap_or_else(|e| e.into_inner()).take());
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        Box::pin(async move {
            if let Some(writer) = writer {
                let _ = writer.await;
            }
        })
    }
}
