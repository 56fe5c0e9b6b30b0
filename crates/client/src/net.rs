//! Connections to the server: TCP bound to the configured local address,
//! and TLS over it for `https`/`wss` URLs.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::ClientError;
use crate::client::Shared;

/// A connection to the server, in the clear or in TLS.
#[derive(Debug)]
pub(crate) enum Conn {
    Plain(TcpStream),
    // Boxed: the TLS state is ~1 KB, and the load generator holds
    // thousands of plain connections.
    Tls(Box<TlsStream<TcpStream>>),
}

pub(crate) async fn connect(shared: &Shared) -> Result<Conn, ClientError> {
    let target = &shared.target;
    let stream = connect_tcp(shared).await?;
    // Small packets (pongs, acks) must not wait for Nagle's algorithm.
    stream.set_nodelay(true)?;
    if !target.tls {
        return Ok(Conn::Plain(stream));
    }
    // An IP address is checked against the certificate's IP names, a host
    // name against its DNS names (and sent as SNI).
    let name = ServerName::try_from(target.host.clone()).map_err(|_| {
        ClientError::InvalidUrl(format!("{} is not a TLS server name", target.host))
    })?;
    let config = shared.config.tls.clone().unwrap_or_else(default_tls);
    let tls = TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| ClientError::Tls(Arc::new(e)))?;
    Ok(Conn::Tls(Box::new(tls)))
}

/// The TLS settings used when the builder was given none: Mozilla's root
/// certificates (as compiled into `webpki-roots`), TLS 1.2 and 1.3, with
/// ring as the provider so that another crate's choice of a process-wide
/// default provider cannot change or break ours. Built once per process.
fn default_tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth());
            // ring's provider supports the default versions; a failure
            // here would be a build of rustls without them.
            match config {
                Ok(config) => Arc::new(config),
                Err(e) => unreachable!("ring supports TLS 1.2 and 1.3: {e}"),
            }
        })
        .clone()
}

/// Connects to the first of the host's addresses that answers, in the
/// order the resolver gives them: `localhost` is often `::1` first, and a
/// server listening on 127.0.0.1 only must still be reached.
async fn connect_tcp(shared: &Shared) -> Result<TcpStream, ClientError> {
    let target = &shared.target;
    // An IP address needs no lookup (and no blocking-pool thread).
    let addrs: Vec<SocketAddr> = match target.host.parse() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        let local = shared.config.local_address;
        // A bound local address must be of the target's family.
        if local.is_some_and(|l| l.is_ipv4() != addr.is_ipv4()) {
            continue;
        }
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(local) = local {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        match socket.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => e.into(),
        None => ClientError::InvalidUrl(format!("{} resolves to no usable address", target.host)),
    })
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
