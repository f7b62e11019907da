//! Plumbing between hyper's async bodies and the engine's blocking image
//! code: a request body read as a `std::io::Read` on a blocking thread, a
//! response body fed through a channel (by a `std::io::Write` or by JSON
//! messages), and blocking engine calls run off the async threads.

use std::io::{self, Read, Write};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;
use wharf_engine::EngineError;

use crate::http::{ApiError, Body, Request, Response};

/// How many chunks a streamed body buffers.
const DEPTH: usize = 16;

/// Runs a blocking engine call on the blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, EngineError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )),
    }
}

/// A response body fed by the chunks sent to `rx`'s sender; it ends when
/// every sender is dropped.
pub(crate) fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, io::Error>(Frame::data(b)), rx))
    });
    StreamBody::new(stream).boxed()
}

/// A 200 streamed response of `content_type` and its sender.
pub(crate) fn streamed(content_type: &'static str) -> (Response, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(DEPTH);
    let mut resp = hyper::Response::new(channel_body(rx));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    (resp, tx)
}

/// One JSON message line, as Docker's stream formatter writes it.
pub(crate) fn json_line(v: &serde_json::Value) -> Bytes {
    let mut s = wharf_image::config::go_json(v);
    s.push('\n');
    Bytes::from(s)
}

/// Docker's `{"errorDetail":{"code":c,"message":m},"error":m}` (the code
/// of a failed RUN only), fields in Docker's order.
#[derive(serde::Serialize)]
struct ErrorMessage<'a> {
    #[serde(rename = "errorDetail")]
    detail: ErrorDetail<'a>,
    error: &'a str,
}

#[derive(serde::Serialize)]
struct ErrorDetail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    message: &'a str,
}

/// An error message line of a JSON stream.
pub(crate) fn error_line_code(message: &str, code: Option<i64>) -> Bytes {
    let m = ErrorMessage {
        detail: ErrorDetail { code, message },
        error: message,
    };
    let mut s = wharf_image::config::go_json(&m);
    s.push('\n');
    Bytes::from(s)
}

/// An error message line without a code.
pub(crate) fn error_line(message: &str) -> Bytes {
    error_line_code(message, None)
}

/// A `Write` that sends what it gets as body chunks (for blocking code).
pub(crate) struct ChanWriter {
    tx: mpsc::Sender<Bytes>,
}

impl ChanWriter {
    /// A writer into `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Bytes>) -> ChanWriter {
        ChanWriter { tx }
    }
}

impl Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A request body read on a blocking thread: an async task pumps the
/// body's frames into a channel this reads from.
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl BodyReader {
    /// Starts pumping `req`'s body (call from the async side).
    pub(crate) fn new(req: Request) -> BodyReader {
        let (tx, rx) = mpsc::channel(DEPTH);
        let mut body = req.into_body();
        tokio::spawn(async move {
            loop {
                match body.frame().await {
                    None => break,
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            if !data.is_empty() && tx.send(Ok(data)).await.is_err() {
                                break;
                            }
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send(Err(io::Error::other(e))).await;
                        break;
                    }
                }
            }
        });
        BodyReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// The image name of a path's middle segments (`/images/library/x:1/json`
/// gives `library/x:1`), percent-decoded.
pub(crate) fn name_of(segments: &[&str]) -> String {
    crate::http::percent_decode(&segments.join("/"))
}
