//! switchboard-chat as a library: [`run`] serves the chat on a bound
//! listener until a shutdown future resolves, so tests start it on port 0.

pub mod admin;
pub mod auth;
pub mod chat;
pub mod presence;
pub mod store;
pub mod validate;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::serve::ListenerExt;
use switchboard::{Cors, Io, RemoteAddr};

use crate::auth::Secret;
use crate::chat::Chat;

/// How to run the chat; the CLI fills it from its flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH`, `postgres://...`, or `memory`.
    pub database: String,
    /// Signs and checks tokens; without it `/admin` is disabled.
    pub secret: Option<Secret>,
    /// Require a valid token on `/` too; the user name is its subject.
    pub require_auth: bool,
    /// Origins allowed besides the server's own.
    pub cors_origins: Vec<String>,
    /// Longest message, in characters.
    pub max_message_length: usize,
    /// Join a cluster through Redis (`--redis`): broadcasts reach the
    /// clients of every server, and presence is cluster-wide.
    pub redis: Option<switchboard_redis::RedisConfig>,
    /// Connection state recovery: how long a dropped client's session and
    /// the messages it missed are kept; `None` turns recovery off.
    pub recovery: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: "sqlite://data/chat.db".to_owned(),
            secret: None,
            require_auth: false,
            cors_origins: Vec::new(),
            max_message_length: 4000,
            redis: None,
            recovery: Some(DEFAULT_RECOVERY),
        }
    }
}

/// How long a dropped client can take to come back and miss nothing:
/// Socket.IO's default.
pub const DEFAULT_RECOVERY: Duration = Duration::from_secs(120);

pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Packets a client may have waiting to be sent before it is disconnected
/// as too slow: room for one `user:joined` from each of 16,384 users.
const MAX_QUEUED_PACKETS: usize = 16_384;

/// Serves the chat on `listener` until `shutdown` resolves; then closes
/// every session, flushes the store and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Failure> {
    if config.require_auth && config.secret.is_none() {
        return Err(
            "--require-auth needs a secret: set SWITCHBOARD_JWT_SECRET or --jwt-secret-file".into(),
        );
    }
    let store = store::open(&config.database).await?;
    tracing::info!(database = %config.database, "history store open");
    let cors = if config.cors_origins.is_empty() {
        Cors::same_origin()
    } else {
        Cors::origins(config.cors_origins.clone()).with_credentials(true)
    };
    // A storm of joins sends every client one `user:joined` per other user
    // (N² small packets in all). With the engine's default of 1,024 queued
    // packets, clients that read slower than 2,000 users join (measured:
    // the official client, 2,000 of them in one Node process) were
    // disconnected as slow readers. The queue's byte bound (4 MiB) still
    // caps memory per client; only the packet count is raised.
    let cluster = match &config.redis {
        Some(redis) => Some(switchboard_redis::RedisCluster::connect(redis.clone()).await?),
        None => None,
    };
    let io = with_cluster(Io::builder(), cluster.as_ref())
        .cors(cors)
        .engine(|e| e.max_queued_packets(MAX_QUEUED_PACKETS));
    // A client whose connection drops (a tunnel, a Wi-Fi handover) comes
    // back with its name, rooms and every message it missed; the page
    // fetches the gap through `chat:history` only after a longer absence.
    // `--require-auth` checks a returning client's token again.
    let io = match config.recovery {
        Some(window) => io.connection_state_recovery(
            switchboard::Recovery::new().max_disconnection_duration(window),
        ),
        None => io,
    }
    .build();
    let chat = Arc::new(Chat {
        store,
        presence: Default::default(),
        max_message: config.max_message_length,
        started: Instant::now(),
        require_auth: if config.require_auth {
            config.secret.clone()
        } else {
            None
        },
    });
    let announcer = chat::install(&io, chat.clone());
    if let Some(cluster) = &cluster {
        // Clients are served once the main namespace hears the cluster.
        cluster.subscribed().await;
    }
    let sharer = cluster.as_ref().map(|_| {
        let server = switchboard::Sid::random().to_string();
        tokio::spawn(presence::share(chat.clone(), io.of("/"), server))
    });
    match config.secret {
        Some(secret) => admin::install(&io, chat.clone(), secret),
        None => tracing::warn!(
            "no JWT secret (SWITCHBOARD_JWT_SECRET or --jwt-secret-file): /admin is disabled"
        ),
    }
    let app = web::router()
        .layer(io.layer())
        .layer(axum::middleware::map_request(remote_addr));
    tracing::info!("chat server on http://{}", listener.local_addr()?);
    let closing = io.clone();
    // Without TCP_NODELAY every small reply (an ack, a chat message) waits
    // on Nagle's algorithm for the client's delayed ACK: tens of ms each.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing every session");
        closing.close().await;
    })
    .await?;
    chat.store.close().await;
    // The announcer holds the chat, and with it the store: left running, it
    // kept a PostgreSQL connection open after `run` returned (seen when a
    // test restarts the server on the same database).
    announcer.abort();
    if let Some(sharer) = sharer {
        sharer.abort();
    }
    tracing::info!("history flushed");
    Ok(())
}

/// The builder with the Redis adapter when the chat is clustered.
fn with_cluster(
    builder: switchboard::IoBuilder,
    cluster: Option<&switchboard_redis::RedisCluster>,
) -> switchboard::IoBuilder {
    match cluster {
        Some(cluster) => builder.adapter(cluster.factory()),
        None => builder,
    }
}

/// Hands the peer address to the engine, for `socket.handshake().address`.
async fn remote_addr(ConnectInfo(addr): ConnectInfo<SocketAddr>, mut request: Request) -> Request {
    request.extensions_mut().insert(RemoteAddr(addr));
    request
}
