//! Listeners (unix socket, TCP, TCP with mutual TLS), the hyper
//! connection loop and graceful shutdown.
//!
//! [`bind`] opens every `-H` address first, so that a bad address fails
//! the daemon before it serves anything; [`serve`] then accepts on all of
//! them until its shutdown future resolves. At shutdown the listeners
//! close at once, keep-alive connections are told to close after their
//! current request, and in-flight requests get [`GRACE`] to finish.
//! Upgraded connections (attach, exec) are the containers' business and
//! are simply dropped with the process: containers keep running.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use wharf_engine::Engine;

use crate::router;

/// The default socket.
pub const DEFAULT_SOCKET: &str = "/run/wharf/wharf.sock";
/// Docker's port for plain TCP.
pub const DEFAULT_TCP_PORT: u16 = 2375;
/// How long in-flight requests may run after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long a TLS client may take to finish its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Errors of the listeners.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The `-H` value is not an address the daemon can listen on.
    #[error("invalid host address {host}: {reason}")]
    Host {
        /// The value.
        host: String,
        /// What is wrong.
        reason: String,
    },
    /// A non-loopback TCP address without mutual TLS.
    #[error(
        "refusing to listen on {addr}: a TCP address that is not loopback needs mutual TLS \
         (--tlsverify --tlscacert --tlscert --tlskey)"
    )]
    Insecure {
        /// The address.
        addr: SocketAddr,
    },
    /// The TLS files could not be used.
    #[error("invalid TLS configuration: {path}: {reason}")]
    Tls {
        /// The file (or the setting) at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another daemon answers on the socket.
    #[error("socket {path} is in use by another daemon")]
    SocketInUse {
        /// The socket.
        path: PathBuf,
    },
    /// Preparing or binding the unix socket failed.
    #[error("failed to listen on unix socket {path}")]
    Unix {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Binding the TCP address failed.
    #[error("failed to listen on tcp address {addr}")]
    Tcp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One address to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `unix:///path` (or a bare path).
    Unix(PathBuf),
    /// `tcp://host:port`.
    Tcp(SocketAddr),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Unix(p) => write!(f, "unix://{}", p.display()),
            Listen::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// The TLS files of `--tlsverify`.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// CA that client certificates must chain to.
    pub ca: PathBuf,
    /// Server certificate.
    pub cert: PathBuf,
    /// Server key.
    pub key: PathBuf,
}

/// Parses a `-H` value as dockerd does: `unix://[path]`, `tcp://[host][:port]`,
/// a bare absolute path.
pub fn parse_host(host: &str) -> Result<Listen, ServerError> {
    let bad = |reason: &str| ServerError::Host {
        host: host.to_string(),
        reason: reason.to_string(),
    };
    if let Some(p) = host.strip_prefix("unix://") {
        let p = if p.is_empty() { DEFAULT_SOCKET } else { p };
        if !p.starts_with('/') {
            return Err(bad("the socket path must be absolute"));
        }
        return Ok(Listen::Unix(PathBuf::from(p)));
    }
    if host.starts_with('/') {
        return Ok(Listen::Unix(PathBuf::from(host)));
    }
    let Some(rest) = host.strip_prefix("tcp://") else {
        return Err(bad("only unix:// and tcp:// addresses are supported"));
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(bad("a tcp address has no path"));
    }
    let (h, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => {
            let port = if p.is_empty() {
                DEFAULT_TCP_PORT
            } else {
                p.parse().map_err(|_| bad("invalid port"))?
            };
            (h, port)
        }
        _ => (rest, DEFAULT_TCP_PORT),
    };
    let h = h.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match h {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h
            .parse()
            .map_err(|_| bad("the host must be an IP address"))?,
    };
    Ok(Listen::Tcp(SocketAddr::new(ip, port)))
}

/// A bound listener.
pub enum Bound {
    /// A unix socket (removed at shutdown).
    Unix(UnixListener, PathBuf),
    /// A TCP listener.
    Tcp(TcpListener),
    /// A TCP listener speaking mutual TLS.
    Tls(TcpListener, TlsAcceptor),
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Unix(_, p) => write!(f, "Bound::Unix({})", p.display()),
            Bound::Tcp(l) => write!(f, "Bound::Tcp({:?})", l.local_addr().ok()),
            Bound::Tls(l, _) => write!(f, "Bound::Tls({:?})", l.local_addr().ok()),
        }
    }
}

/// Checks that every address may be served: a TCP address that is not
/// loopback needs mutual TLS.
pub fn validate(hosts: &[Listen], tls: Option<&TlsOptions>) -> Result<(), ServerError> {
    for h in hosts {
        if let Listen::Tcp(addr) = h {
            if tls.is_none() && !addr.ip().is_loopback() {
                return Err(ServerError::Insecure { addr: *addr });
            }
        }
    }
    Ok(())
}

/// A TLS acceptor that requires a client certificate signed by `t.ca`
/// (dockerd's `--tlsverify`).
pub fn tls_acceptor(t: &TlsOptions) -> Result<TlsAcceptor, ServerError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &Path, reason: String| ServerError::Tls {
        path: path.to_path_buf(),
        reason,
    };
    let certs = |path: &Path| -> Result<Vec<CertificateDer<'static>>, ServerError> {
        let list = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(path, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(path, e.to_string()))?;
        if list.is_empty() {
            return Err(bad(path, "no certificate in the file".into()));
        }
        Ok(list)
    };
    let chain = certs(&t.cert)?;
    let key = PrivateKeyDer::from_pem_file(&t.key).map_err(|e| bad(&t.key, e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in certs(&t.ca)? {
        roots.add(ca).map_err(|e| bad(&t.ca, e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| bad(&t.ca, e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&t.cert, e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| bad(&t.key, e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Opens every address (call inside the tokio runtime). Unix sockets get
/// their parent directory created, a stale socket removed and mode 0660;
/// a TCP address that is not loopback needs `tls`.
pub async fn bind(hosts: &[Listen], tls: Option<&TlsOptions>) -> Result<Vec<Bound>, ServerError> {
    validate(hosts, tls)?;
    let acceptor = tls.map(tls_acceptor).transpose()?;
    let mut out = Vec::new();
    for h in hosts {
        match h {
            Listen::Unix(path) => out.push(bind_unix(path).await?),
            Listen::Tcp(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServerError::Tcp {
                        addr: *addr,
                        source,
                    })?;
                out.push(match &acceptor {
                    Some(a) => Bound::Tls(l, a.clone()),
                    None => Bound::Tcp(l),
                });
            }
        }
    }
    Ok(out)
}

async fn bind_unix(path: &Path) -> Result<Bound, ServerError> {
    let err = |source| ServerError::Unix {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(ServerError::SocketInUse {
                    path: path.to_path_buf(),
                });
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        Ok(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket",
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let l = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    Ok(Bound::Unix(l, path.to_path_buf()))
}

/// Serves on every listener until `shutdown` resolves, then shuts down
/// gracefully (see the module doc) and removes the unix sockets.
pub async fn serve(
    engine: Arc<Engine>,
    listeners: Vec<Bound>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of `done_tx`; when all are
    // dropped, `done_rx.recv()` returns None.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut sockets = Vec::new();
    let mut accepts = Vec::new();
    for l in listeners {
        let engine = engine.clone();
        let stop = stop_rx.clone();
        let done = done_tx.clone();
        if let Bound::Unix(_, p) = &l {
            sockets.push(p.clone());
        }
        accepts.push(tokio::spawn(accept_loop(engine, l, stop, done)));
    }
    drop(done_tx);
    shutdown.await;
    let _ = stop_tx.send(true);
    crate::streams::shutdown();
    for a in accepts {
        let _ = a.await;
    }
    for p in sockets {
        let _ = std::fs::remove_file(p);
    }
    let _ = tokio::time::timeout(GRACE, done_rx.recv()).await;
}

async fn accept_loop(
    engine: Arc<Engine>,
    listener: Bound,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => return,
            a = accept(&listener) => a,
        };
        match accepted {
            Ok(Conn::Unix(s)) => spawn_conn(engine.clone(), s, stop.clone(), done.clone()),
            Ok(Conn::Tcp(s)) => spawn_conn(engine.clone(), s, stop.clone(), done.clone()),
            Ok(Conn::Tls(s, acceptor)) => {
                let (engine, stop, done) = (engine.clone(), stop.clone(), done.clone());
                tokio::spawn(async move {
                    // A client that never finishes its handshake is dropped.
                    let hs = tokio::time::timeout(HANDSHAKE, acceptor.accept(s)).await;
                    if let Ok(Ok(tls)) = hs {
                        spawn_conn(engine, tls, stop, done);
                    }
                });
            }
            Err(e) => {
                // EMFILE and the like: back off instead of spinning.
                eprintln!("wharf daemon: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
    Tls(tokio::net::TcpStream, TlsAcceptor),
}

async fn accept(l: &Bound) -> std::io::Result<Conn> {
    match l {
        Bound::Unix(l, _) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
        Bound::Tcp(l) => l.accept().await.map(|(s, _)| {
            let _ = s.set_nodelay(true);
            Conn::Tcp(s)
        }),
        Bound::Tls(l, a) => l.accept().await.map(|(s, _)| {
            let _ = s.set_nodelay(true);
            Conn::Tls(s, a.clone())
        }),
    }
}

fn spawn_conn<S>(
    engine: Arc<Engine>,
    stream: S,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _done = done;
        let svc = service_fn(move |req| {
            let engine = engine.clone();
            async move { Ok::<_, Infallible>(router::handle(engine, req).await) }
        });
        let conn = http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(stream), svc)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = stopped(&mut stop) => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_like_dockerd() {
        assert_eq!(
            parse_host("unix:///tmp/x.sock").unwrap(),
            Listen::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            parse_host("unix://").unwrap(),
            Listen::Unix(DEFAULT_SOCKET.into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2400").unwrap(),
            Listen::Tcp("127.0.0.1:2400".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1").unwrap(),
            Listen::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://[::1]:5").unwrap(),
            Listen::Tcp("[::1]:5".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://:2376").unwrap(),
            Listen::Tcp("0.0.0.0:2376".parse().unwrap())
        );
        assert!(parse_host("fd://").is_err());
        assert!(parse_host("tcp://example.com:1").is_err());
        assert!(parse_host("unix://relative").is_err());
    }
}
