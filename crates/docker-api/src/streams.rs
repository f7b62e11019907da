//! Streaming bodies and the hijack dance.
//!
//! * [`channel_body`]: a body fed by an mpsc channel (logs, stats, wait,
//!   events, build output): headers go out as soon as the handler returns,
//!   chunks as they are sent, the end when the sender is dropped.
//! * [`hijack`]: Docker's attach/exec-start upgrade: `101 UPGRADED` with
//!   `Connection: Upgrade`, `Upgrade: tcp` and the stream's content type,
//!   then the raw connection. A client that did not ask for an upgrade
//!   gets `200` and only the output, as a body.
//! * [`pump`]: copies between a client and a process's stream: the
//!   client's half-close is the end of stdin (the process goes on and its
//!   output still flows), the detach keys end the session without ending
//!   the process, the process's end closes the connection.
//! * [`frame`]: Docker's 8-byte header `[stream, 0, 0, 0, len u32 BE]`.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::http::{ApiError, Body, Ctx, Request, Response};

/// A chunk sender for [`channel_body`].
pub type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A body streaming what is sent on the returned sender, ending when it
/// is dropped. Sending fails once the client is gone.
pub fn channel_body(buffer: usize) -> (Sender, Body) {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(buffer);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Frame::data), rx))
    });
    (tx, StreamBody::new(stream).boxed())
}

/// Set once the daemon begins to shut down (see [`shutdown`]).
static SHUTDOWN: std::sync::OnceLock<tokio::sync::watch::Sender<bool>> = std::sync::OnceLock::new();

fn shutdown_flag() -> &'static tokio::sync::watch::Sender<bool> {
    SHUTDOWN.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// Tells every [`endless_body`] to end: the server calls it when it
/// stops accepting, so followers (logs, stats, wait, events) do not hold
/// the shutdown up for the whole grace period.
pub fn shutdown() {
    shutdown_flag().send_replace(true);
}

/// A [`channel_body`] for streams that only end when their subject does
/// (`logs --follow`, streamed stats, wait, events): it also ends when the
/// daemon shuts down.
pub fn endless_body(buffer: usize) -> (Sender, Body) {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(buffer);
    let stop = shutdown_flag().subscribe();
    let stream = futures_util::stream::unfold((rx, stop), |(mut rx, mut stop)| async move {
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = stop.wait_for(|s| *s) => None,
        };
        item.map(|item| (item.map(Frame::data), (rx, stop)))
    });
    (tx, StreamBody::new(stream).boxed())
}

/// A `200` response with `content_type` and a streamed body.
pub fn streaming(content_type: &'static str, body: Body) -> Response {
    let mut resp = hyper::Response::new(body);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    resp
}

/// Docker's content type of a process's output: the multiplexed one for
/// API 1.42 and later without a tty, the raw one otherwise.
pub fn stream_content_type(ctx: &Ctx, tty: bool) -> &'static str {
    if !tty && ctx.at_least(42) {
        "application/vnd.docker.multiplexed-stream"
    } else {
        "application/vnd.docker.raw-stream"
    }
}

/// Docker's frame of `data` on `stream` (0 stdin, 1 stdout, 2 stderr).
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A hijacked connection, once the response is sent.
pub enum Hijacked {
    /// The client upgraded: a full-duplex connection.
    Upgraded(OnUpgrade),
    /// The client did not ask for an upgrade: output goes to this body.
    Body(Sender),
}

/// Prepares the hijack of `req`: the response to send now and what the
/// connection becomes afterwards.
pub fn hijack(req: &mut Request, content_type: &'static str) -> (Response, Hijacked) {
    let wants_upgrade = req
        .headers()
        .get(http::header::UPGRADE)
        .is_some_and(|v| !v.is_empty());
    if !wants_upgrade {
        let (tx, body) = channel_body(16);
        return (streaming(content_type, body), Hijacked::Body(tx));
    }
    let on = hyper::upgrade::on(req);
    let mut resp = hyper::Response::new(crate::http::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    h.insert(http::header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    (resp, Hijacked::Upgraded(on))
}

/// The client side of a hijacked session as one duplex stream.
pub enum Client {
    /// An upgraded connection.
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
    /// Output only, into a response body.
    Body(Sender),
}

impl Hijacked {
    /// Waits for the upgrade to complete.
    pub async fn client(self) -> Result<Client, ApiError> {
        match self {
            Hijacked::Upgraded(on) => on
                .await
                .map(|u| Client::Upgraded(TokioIo::new(u)))
                .map_err(|e| ApiError::internal(format!("failed to upgrade the connection: {e}"))),
            Hijacked::Body(tx) => Ok(Client::Body(tx)),
        }
    }
}

impl Client {
    /// Writes all of `data` to the client.
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Client::Upgraded(io) => io.write_all(data).await,
            Client::Body(tx) => tx
                .send(Ok(Bytes::copy_from_slice(data)))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        }
    }
}

/// Docker's default detach keys: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// Parses Docker's `detachKeys` (`ctrl-p,ctrl-q`, `a,ctrl-@`…).
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, ApiError> {
    let bad = || ApiError::bad_request(format!("Invalid detach keys ({s}) provided"));
    let mut out = Vec::new();
    for key in s.split(',') {
        if let Some(c) = key.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_')] => b - b'@',
                _ => return Err(bad()),
            };
            out.push(b);
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// How a [`pump`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpEnd {
    /// The process's stream ended.
    Ended,
    /// The client typed the detach keys.
    Detached,
    /// The client went away.
    ClientGone,
}

/// What an attached client's input is to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdin {
    /// Not attached: the client's bytes are read and dropped.
    Detached,
    /// The process's stdin; the client's end of input closes it and the
    /// output goes on to its end (Docker's `CloseStdin` without a tty:
    /// `StdinOnce` for a container, always for an exec).
    Closes,
    /// The process's stdin; the client's end of input ends the attach
    /// (Docker closes the attach's stdout and stderr) and the process's
    /// stdin stays open: with a tty, or without `StdinOnce`.
    EndsAttach,
}

impl Stdin {
    /// Docker's rule: `attached` stdin that `close_stdin` (StdinOnce, or an
    /// exec) and no `tty` closes; otherwise the attach ends.
    pub fn new(attached: bool, close_stdin: bool, tty: bool) -> Stdin {
        match (attached, close_stdin && !tty) {
            (false, _) => Stdin::Detached,
            (true, true) => Stdin::Closes,
            (true, false) => Stdin::EndsAttach,
        }
    }
}

/// Copies between `client` and the process stream `proc_io` until the
/// process's output ends, the client detaches or goes away, or (see
/// [`Stdin`]) its input ends.
pub async fn pump<P>(client: Client, proc_io: P, stdin: Stdin, detach_keys: &[u8]) -> PumpEnd
where
    P: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut proc_r, proc_w) = tokio::io::split(proc_io);
    let client_io = match client {
        Client::Upgraded(io) => io,
        Client::Body(tx) => {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match proc_r.read(&mut buf).await {
                    Ok(0) | Err(_) => return PumpEnd::Ended,
                    Ok(n) => {
                        if tx
                            .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                            .await
                            .is_err()
                        {
                            return PumpEnd::ClientGone;
                        }
                    }
                }
            }
        }
    };
    let (client_r, client_w) = tokio::io::split(client_io);
    pump_raw(client_r, client_w, proc_r, proc_w, stdin, detach_keys).await
}

/// [`pump`] between a client's read and write halves and a process's.
async fn pump_raw<CR, CW, PR, PW>(
    mut client_r: CR,
    mut client_w: CW,
    mut proc_r: PR,
    mut proc_w: PW,
    stdin: Stdin,
    detach_keys: &[u8],
) -> PumpEnd
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    PR: AsyncRead + Unpin,
    PW: AsyncWrite + Unpin,
{
    let output = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match proc_r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = client_w.flush().await;
                    let _ = client_w.shutdown().await;
                    return PumpEnd::Ended;
                }
                Ok(n) => {
                    if client_w.write_all(&buf[..n]).await.is_err() {
                        return PumpEnd::ClientGone;
                    }
                }
            }
        }
    };
    let keys = detach_keys.to_vec();
    let input = async move {
        let mut buf = vec![0u8; 32 * 1024];
        let mut held: Vec<u8> = Vec::new();
        loop {
            let n = match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // Half-close: the end of stdin, not a detach.
                    match stdin {
                        Stdin::Detached => return None,
                        Stdin::Closes => {
                            let _ = proc_w.write_all(&held).await;
                            let _ = proc_w.shutdown().await;
                            return None;
                        }
                        Stdin::EndsAttach => {
                            let _ = proc_w.write_all(&held).await;
                            let _ = proc_w.flush().await;
                            return Some(PumpEnd::Ended);
                        }
                    }
                }
                Ok(n) => n,
            };
            if stdin == Stdin::Detached {
                continue;
            }
            let mut out = Vec::with_capacity(n);
            for &b in &buf[..n] {
                if keys.is_empty() {
                    out.push(b);
                    continue;
                }
                held.push(b);
                if keys.starts_with(&held) {
                    if held.len() == keys.len() {
                        // What came before the keys still reaches the process.
                        let _ = proc_w.write_all(&out).await;
                        let _ = proc_w.flush().await;
                        return Some(PumpEnd::Detached);
                    }
                } else {
                    out.append(&mut held);
                }
            }
            if !out.is_empty() && proc_w.write_all(&out).await.is_err() {
                // The process closed its stdin: keep reading for detach.
                continue;
            }
        }
    };
    tokio::pin!(output);
    tokio::pin!(input);
    let mut input_done = false;
    loop {
        tokio::select! {
            end = &mut output => return end,
            r = &mut input, if !input_done => match r {
                Some(end) => return end,
                None => input_done = true,
            },
        }
    }
}

/// A blocking [`std::io::Write`] into a [`channel_body`] (for tar streams
/// produced on a blocking thread). Writing fails once the client is gone.
pub struct ChannelWriter(pub Sender);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_like_dockers() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            DEFAULT_DETACH_KEYS
        );
        assert_eq!(
            parse_detach_keys("a,ctrl-@,ctrl-_").unwrap(),
            vec![b'a', 0, 0x1f]
        );
        for bad in ["ctrl-", "ctrl-pp", "ab", ""] {
            let e = parse_detach_keys(bad).unwrap_err();
            assert_eq!(e.message, format!("Invalid detach keys ({bad}) provided"));
        }
    }

    #[test]
    fn frames_carry_the_stream_and_a_big_endian_length() {
        assert_eq!(frame(2, b"hi"), vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(1, b"").len(), 8);
    }

    #[tokio::test]
    async fn half_close_reaches_the_process_as_the_end_of_stdin() {
        // The "process" side echoes what it reads until its stdin ends.
        let (client_io, mut client_peer) = tokio::io::duplex(64);
        let (proc_io, proc_peer) = tokio::io::duplex(64);
        let echo = tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(proc_peer);
            tokio::io::copy(&mut r, &mut w).await.unwrap();
            w.write_all(b"eof").await.unwrap();
        });
        let pump_task = tokio::spawn(async move {
            let (r, w) = tokio::io::split(client_io);
            let (pr, pw) = tokio::io::split(proc_io);
            pump_raw(r, w, pr, pw, Stdin::Closes, DEFAULT_DETACH_KEYS).await
        });
        client_peer.write_all(b"a\x10b").await.unwrap();
        client_peer.shutdown().await.unwrap();
        let mut got = Vec::new();
        client_peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"a\x10beof");
        assert_eq!(pump_task.await.unwrap(), PumpEnd::Ended);
        echo.await.unwrap();
    }

    /// A pump between two in-memory pipes: the client's and the
    /// process's far ends, and the pump's task.
    fn pumping(
        stdin: Stdin,
    ) -> (
        tokio::io::DuplexStream,
        tokio::io::DuplexStream,
        tokio::task::JoinHandle<PumpEnd>,
    ) {
        let (client_io, client_peer) = tokio::io::duplex(64);
        let (proc_io, proc_peer) = tokio::io::duplex(64);
        let task = tokio::spawn(async move {
            let (r, w) = tokio::io::split(client_io);
            let (pr, pw) = tokio::io::split(proc_io);
            pump_raw(r, w, pr, pw, stdin, DEFAULT_DETACH_KEYS).await
        });
        (client_peer, proc_peer, task)
    }

    #[tokio::test]
    async fn half_close_with_a_tty_ends_the_attach_and_keeps_stdin_open() {
        let (mut client_peer, mut proc_peer, pump_task) = pumping(Stdin::EndsAttach);
        client_peer.write_all(b"a").await.unwrap();
        client_peer.shutdown().await.unwrap();
        // The attach ends though the process never ended its output.
        let mut got = Vec::new();
        client_peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(pump_task.await.unwrap(), PumpEnd::Ended);
        let mut seen = [0u8; 1];
        proc_peer.read_exact(&mut seen).await.unwrap();
        assert_eq!(&seen, b"a");
        assert_eq!(Stdin::new(true, true, true), Stdin::EndsAttach);
        assert_eq!(Stdin::new(true, false, false), Stdin::EndsAttach);
        assert_eq!(Stdin::new(true, true, false), Stdin::Closes);
        assert_eq!(Stdin::new(false, true, false), Stdin::Detached);
    }

    #[tokio::test]
    async fn detach_keys_end_the_pump_without_reaching_the_process() {
        let (mut client_peer, mut proc_peer, pump_task) = pumping(Stdin::Closes);
        client_peer.write_all(b"x\x10\x11").await.unwrap();
        assert_eq!(pump_task.await.unwrap(), PumpEnd::Detached);
        let mut got = Vec::new();
        proc_peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"x");
    }
}
