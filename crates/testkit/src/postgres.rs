//! Throwaway databases on the machine's PostgreSQL (127.0.0.1:5432, trust
//! authentication), one per test, so tests never see each other's rows.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::skip;

/// Where to connect to create databases, tried in order: the server's own
/// superuser, then the user tests usually run as on CI machines.
const ADMIN_URLS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
];

/// Every database made here is named `PREFIX<pid>_<n>`.
const PREFIX: &str = "switchboard_test_";

/// Unreachable means unreachable: a local server answers in milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database made for one test; dropped (best effort) when this is.
#[derive(Debug)]
pub struct Database {
    url: String,
    name: String,
    admin_url: &'static str,
}

impl Database {
    /// `postgres://USER@127.0.0.1:5432/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Drop may run inside a runtime (which cannot be blocked on) or
        // outside one; a thread with its own small runtime works in both.
        // FORCE: the code under test may still hold connections.
        let (admin_url, name) = (self.admin_url, self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = connect(admin_url).await.ok()?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) = config.connect(NoTls).await?;
    // The connection does the I/O; it ends when the client is dropped.
    tokio::spawn(connection);
    Ok(client)
}

/// A new, empty database on the machine's PostgreSQL, for one test.
///
/// `None` when PostgreSQL cannot be reached: the skip has then been
/// reported loudly on stderr, or, with `CI` set, this panics.
pub async fn fresh_database() -> Option<Database> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut failures = String::new();
    for admin_url in ADMIN_URLS {
        let client = match connect(admin_url).await {
            Ok(client) => client,
            Err(e) => {
                let _ = write!(failures, "; {admin_url}: {e}");
                if let Some(cause) = std::error::Error::source(&e) {
                    let _ = write!(failures, " ({cause})");
                }
                continue;
            }
        };
        sweep(&client).await;
        let name = format!(
            "{PREFIX}{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        // A leftover from an earlier process with our pid would make CREATE
        // fail; it is ours to remove.
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        if let Err(e) = client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            panic!("PostgreSQL is up ({admin_url}) but cannot create database {name}: {e}");
        }
        let user = admin_url
            .strip_prefix("postgres://")
            .and_then(|rest| rest.split('@').next())
            .unwrap_or("postgres");
        return Some(Database {
            url: format!("postgres://{user}@127.0.0.1:5432/{name}"),
            name,
            admin_url,
        });
    }
    skip(
        &format!("PostgreSQL is not reachable{failures}"),
        "Start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) \
         with trust authentication for postgres or root on 127.0.0.1:5432 and a database `test`",
    );
    None
}

/// Drops databases left by test processes that died before dropping them
/// (their pid no longer runs). Best effort; Linux only, where `/proc` says
/// which processes run.
async fn sweep(client: &Client) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(rows) = client
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
            &[&PREFIX],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        let alive = std::path::Path::new("/proc").join(pid.to_string()).exists();
        if !alive {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}
