//! TCP connections to the server, bound to the configured local address.

use std::net::SocketAddr;

use tokio::net::{TcpSocket, TcpStream};

use crate::ClientError;
use crate::client::Shared;

pub(crate) async fn connect(shared: &Shared) -> Result<TcpStream, ClientError> {
    let target = &shared.target;
    let addr = resolve(&target.host, target.port).await?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(local) = shared.config.local_address {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = socket.connect(addr).await?;
    // Small packets (pongs, acks) must not wait for Nagle's algorithm.
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, ClientError> {
    // An IP address needs no lookup (and no blocking-pool thread).
    if let Ok(ip) = host.parse() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| ClientError::InvalidUrl(format!("{host} resolves to no address")))
}
