//! The connection to the daemon: where it is (`-H`, `WHARF_HOST`,
//! `DOCKER_HOST`, the default socket), the API version agreed with it
//! (`/_ping`'s `Api-Version`, at most the one Wharf speaks), a bollard
//! client for typed calls, and raw HTTP for what must stay byte-exact
//! (inspect's JSON), arrive as soon as headers do (wait) or take over the
//! connection (attach and exec start).

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// The socket the daemon listens on unless told otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/wharf/wharf.sock";
/// The newest API version this client speaks.
pub const MAX_API: (u32, u32) = (1, 47);

/// A request body: nothing, bytes, or a stream.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// What went wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The daemon answered with an error status.
    #[error("Error response from daemon: {message}")]
    Daemon {
        /// The HTTP status.
        status: u16,
        /// Its `message`.
        message: String,
    },
    /// The daemon could not be reached.
    #[error("Cannot connect to the Wharf daemon at {host}. Is the wharf daemon running?")]
    Connect {
        /// The host address.
        host: String,
    },
    /// The host address is not one this client knows.
    #[error("unable to parse docker host `{host}`")]
    BadHost {
        /// The address.
        host: String,
    },
    /// A transport failure mid-request.
    #[error("error during connect: {0}")]
    Transport(String),
}

impl From<bollard::errors::Error> for ApiError {
    fn from(e: bollard::errors::Error) -> Self {
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => ApiError::Daemon {
                status: status_code,
                message,
            },
            bollard::errors::Error::DockerContainerWaitError { error, .. } => ApiError::Daemon {
                status: 500,
                message: error,
            },
            other => ApiError::Transport(other.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
enum Addr {
    Unix(PathBuf),
    Tcp(String),
}

/// A client of one daemon.
#[derive(Clone)]
pub struct Client {
    host: String,
    addr: Addr,
    /// `1.NN`, agreed at connect.
    pub version: String,
    /// The typed client.
    pub docker: bollard::Docker,
}

/// The daemon address: the flag, else WHARF_HOST, else DOCKER_HOST, else
/// the default socket.
pub fn host_from(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("WHARF_HOST").ok().filter(|h| !h.is_empty()))
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

impl Client {
    /// Connects to `host` and agrees on an API version.
    pub async fn connect(host: &str) -> Result<Client, ApiError> {
        let addr = if let Some(p) = host.strip_prefix("unix://") {
            Addr::Unix(PathBuf::from(p))
        } else if let Some(a) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            Addr::Tcp(a.trim_end_matches('/').to_string())
        } else if host.starts_with('/') {
            Addr::Unix(PathBuf::from(host))
        } else {
            return Err(ApiError::BadHost { host: host.into() });
        };
        let ping = Request::builder()
            .method("GET")
            .uri("/_ping")
            .header("Host", "api")
            .body(empty())
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let ping = send_to(&addr, host, ping).await?;
        let server = ping
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_version)
            .unwrap_or(MAX_API);
        let agreed = server.min(MAX_API);
        let docker = match &addr {
            Addr::Unix(p) => {
                bollard::Docker::connect_with_unix(&p.to_string_lossy(), 120, &version(agreed))
            }
            Addr::Tcp(a) => bollard::Docker::connect_with_http(a, 120, &version(agreed)),
        }
        .map_err(|_| ApiError::Connect { host: host.into() })?;
        Ok(Client {
            host: host.to_string(),
            addr,
            version: format!("{}.{}", agreed.0, agreed.1),
            docker,
        })
    }

    /// Sends `method path` (path with its query, unversioned) and returns
    /// the response once its headers are in; an error status becomes
    /// [`ApiError::Daemon`]. `upgrade` asks to take over the connection.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
        upgrade: bool,
    ) -> Result<Response<Incoming>, ApiError> {
        let uri = match path {
            "/_ping" => path.to_string(),
            _ => format!("/v{}{}", self.version, path),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("Host", "api")
            .header("User-Agent", "wharf-cli");
        if upgrade {
            req = req.header("Connection", "Upgrade").header("Upgrade", "tcp");
        }
        let has_body = body.is_some();
        let body = body.unwrap_or_else(empty);
        if has_body {
            req = req.header("Content-Type", "application/json");
        }
        let req = req
            .body(body)
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let resp = send_to(&self.addr, &self.host, req).await?;
        let status = resp.status();
        if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(resp);
        }
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
        Err(ApiError::Daemon {
            status: status.as_u16(),
            message,
        })
    }

    /// A request whose whole answer is read.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
    ) -> Result<Bytes, ApiError> {
        let resp = self.request(method, path, body, false).await?;
        resp.into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| ApiError::Transport(e.to_string()))
    }

    /// GET with a JSON answer, raw.
    pub async fn get(&self, path: &str) -> Result<Bytes, ApiError> {
        self.call("GET", path, None).await
    }

    /// POST with a JSON body; returns the raw answer.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<Bytes, ApiError> {
        self.call(
            "POST",
            path,
            Some(full(serde_json::to_vec(body).unwrap_or_default())),
        )
        .await
    }
}

/// Sends one request on a connection of its own (kept for an upgrade).
async fn send_to(
    addr: &Addr,
    host: &str,
    req: Request<Body>,
) -> Result<Response<Incoming>, ApiError> {
    let connect_err = |_| ApiError::Connect { host: host.into() };
    let transport = |e: hyper::Error| ApiError::Transport(e.to_string());
    macro_rules! go {
        ($stream:expr) => {{
            let io = TokioIo::new($stream);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(transport)?;
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
            sender.send_request(req).await.map_err(transport)
        }};
    }
    match addr {
        Addr::Unix(p) => go!(tokio::net::UnixStream::connect(p)
            .await
            .map_err(connect_err)?),
        Addr::Tcp(a) => go!(tokio::net::TcpStream::connect(a)
            .await
            .map_err(connect_err)?),
    }
}

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new()).map_err(|e| match e {}).boxed()
}

/// A body of bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|e| match e {}).boxed()
}

/// A body streamed from a reader in a blocking thread.
pub fn reader_body(mut r: impl std::io::Read + Send + 'static) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|item| (item.map(hyper::body::Frame::data), rx))
    });
    http_body_util::StreamBody::new(stream).boxed()
}

fn version((major, minor): (u32, u32)) -> bollard::ClientVersion {
    bollard::ClientVersion {
        major_version: major as usize,
        minor_version: minor as usize,
    }
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
