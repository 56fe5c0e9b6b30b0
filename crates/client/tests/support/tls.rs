//! The contract's servers behind TLS: Node's socket.io on its own `https`
//! server (OpenSSL's TLS), and switchboard, which serves plain HTTP,
//! behind a rustls terminator in this process, as a reverse proxy would
//! put it in production.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::{Kind, Server, SwitchboardServer};

/// A self-signed certificate made for this run, for `names` (host names
/// or IP addresses).
#[derive(Debug)]
pub struct Certificate {
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Certificate {
    pub fn new(names: &[&str]) -> Certificate {
        let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        Certificate {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
            cert_der: made.cert.der().clone(),
            key_der: made.signing_key.serialize_der(),
        }
    }

    /// A client config that trusts this certificate and nothing else.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone()).unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    fn acceptor(&self) -> TlsAcceptor {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

/// A server of either kind answering TLS on 127.0.0.1.
#[derive(Debug)]
pub struct TlsServer {
    server: Server,
    addr: SocketAddr,
    terminator: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// `None` when Node is not installed and this is not CI (the skip was
    /// reported).
    pub async fn start(kind: Kind, certificate: &Certificate) -> Option<TlsServer> {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Some(match kind {
            Kind::Switchboard => {
                let server = SwitchboardServer::start(any_port, false).await;
                let listener = TcpListener::bind(any_port).await.unwrap();
                let addr = listener.local_addr().unwrap();
                let terminator =
                    tokio::spawn(terminate(listener, certificate.acceptor(), server.addr));
                TlsServer {
                    server: Server::Switchboard(server),
                    addr,
                    terminator: Some(terminator),
                }
            }
            Kind::Node => {
                let node = switchboard_testkit::Node::package("tests/node")?;
                let mut script = node.start(
                    "client/server.mjs",
                    &["0", "plain", &certificate.cert_pem, &certificate.key_pem],
                );
                let port: u16 = script.line_starting("listening ").await.parse().unwrap();
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                TlsServer {
                    server: Server::Node(Box::new(script), addr),
                    addr,
                    terminator: None,
                }
            }
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub async fn stop(mut self) {
        if let Some(terminator) = self.terminator.take() {
            terminator.abort();
        }
        self.server.stop().await;
    }
}

/// Accepts TLS and relays each connection's plaintext to `upstream`.
async fn terminate(listener: TcpListener, acceptor: TlsAcceptor, upstream: SocketAddr) {
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            tcp.set_nodelay(true).unwrap();
            // A client that gives up on the certificate ends here.
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut plain = TcpStream::connect(upstream).await.unwrap();
            plain.set_nodelay(true).unwrap();
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}
