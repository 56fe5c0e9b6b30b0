//! switchboard-chat: the chat server every Socket.IO tutorial builds, done
//! properly. `cargo run --release` serves it on http://127.0.0.1:3000 with
//! its history in `data/chat.db`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use switchboard_chat::auth::Secret;
use switchboard_chat::{Config, Failure};

#[derive(Parser)]
#[command(name = "switchboard-chat", version, about = "A Socket.IO chat server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
    /// File holding the JWT signing secret (else SWITCHBOARD_JWT_SECRET).
    #[arg(long, global = true)]
    jwt_secret_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Prints a signed token (HS256) for a user.
    Token {
        #[arg(long)]
        sub: String,
        #[arg(long)]
        role: Option<String>,
        /// Seconds the token stays valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

#[derive(Args)]
struct Serve {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// sqlite://PATH, postgres://..., or memory.
    #[arg(long, default_value = "sqlite://data/chat.db")]
    database: String,
    /// Require a valid token on `/` too; the user name is its subject.
    #[arg(long)]
    require_auth: bool,
    /// An origin allowed to connect from another site (repeatable);
    /// same-origin only by default.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Longest message, in characters.
    #[arg(long, default_value_t = 4000)]
    max_message_length: usize,
    /// Join a cluster of chat servers (switchboard or Node socket.io with
    /// @socket.io/redis-adapter) through this Redis, e.g. redis://127.0.0.1:6379.
    #[arg(long)]
    redis: Option<String>,
    /// The cluster's channel prefix (the Node adapter's `key` option).
    #[arg(long, default_value = "socket.io")]
    redis_key_prefix: String,
    /// Seconds a dropped client's session and missed messages are kept for
    /// it (connection state recovery); 0 turns recovery off.
    #[arg(long, default_value_t = 120)]
    recovery_window: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token { sub, role, ttl }) => {
            token(cli.jwt_secret_file, &sub, role.as_deref(), ttl)
        }
        None => serve(cli.serve, cli.jwt_secret_file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn secret(file: Option<PathBuf>) -> Result<Option<Secret>, Failure> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        return Ok(Some(Secret::new(text.trim_end().as_bytes())));
    }
    Ok(std::env::var("SWITCHBOARD_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| Secret::new(s.into_bytes())))
}

fn token(file: Option<PathBuf>, sub: &str, role: Option<&str>, ttl: u64) -> Result<(), Failure> {
    let secret =
        secret(file)?.ok_or("no secret: set SWITCHBOARD_JWT_SECRET or --jwt-secret-file")?;
    let token = secret.issue(sub, role, ttl)?;
    #[allow(
        clippy::print_stdout,
        reason = "printing the token is the command's job"
    )]
    {
        println!("{token}");
    }
    Ok(())
}

fn serve(args: Serve, secret_file: Option<PathBuf>) -> Result<(), Failure> {
    let config = Config {
        database: args.database,
        secret: secret(secret_file)?,
        require_auth: args.require_auth,
        cors_origins: args.cors_origins,
        max_message_length: args.max_message_length,
        recovery: (args.recovery_window > 0)
            .then(|| std::time::Duration::from_secs(args.recovery_window)),
        redis: args
            .redis
            .map(|url| switchboard_redis::RedisConfig::new(url).key_prefix(args.redis_key_prefix)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = switchboard::bind((args.host.as_str(), args.port)).await?;
        switchboard_chat::run(listener, config, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
