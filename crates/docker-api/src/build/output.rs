//! Where a build's messages go. Like dockerd's classic builder, the
//! response's headers wait for the first message: a build that fails
//! before it printed anything (a Dockerfile that does not parse, a
//! `--target` no stage has) is answered with an HTTP error (`Error
//! response from daemon: …` in the docker CLI); once something was sent,
//! a failure is an `errorDetail` message in the stream.

use std::sync::Mutex;

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use wharf_image::config::go_json;

use crate::http::ApiError;

/// The response's channel, and the handler waiting to learn whether it
/// answers with the stream or with an error.
pub(crate) struct Output {
    tx: mpsc::Sender<Bytes>,
    started: Mutex<Option<oneshot::Sender<Result<(), ApiError>>>>,
}

impl Output {
    /// Messages go to `tx`; `started` hears of the first one, or of a
    /// failure before it.
    pub fn new(tx: mpsc::Sender<Bytes>, started: oneshot::Sender<Result<(), ApiError>>) -> Self {
        Output {
            tx,
            started: Mutex::new(Some(started)),
        }
    }

    /// A sender that tells when the client is gone (its `closed()`).
    pub fn watch(&self) -> mpsc::Sender<Bytes> {
        self.tx.clone()
    }

    /// Sends one message; false once the client is gone.
    pub fn send(&self, b: Bytes) -> bool {
        if let Some(s) = self.started.lock().expect("not poisoned").take() {
            let _ = s.send(Ok(()));
        }
        self.tx.blocking_send(b).is_ok()
    }

    /// A `{"stream": text}` message.
    pub fn stream(&self, text: &str) -> bool {
        self.send(message(&json!({ "stream": text })))
    }

    /// An `{"aux": {"ID": id}}` message.
    pub fn aux_id(&self, id: &str) -> bool {
        self.send(message(&json!({ "aux": { "ID": id } })))
    }

    /// Fails the build: the HTTP error `status` when nothing was sent
    /// yet, else an error message with the RUN's exit `code`.
    pub fn fail(&self, status: StatusCode, text: &str, code: Option<i64>) {
        match self.started.lock().expect("not poisoned").take() {
            Some(s) => {
                let _ = s.send(Err(ApiError::new(status, text)));
            }
            None => {
                let _ = self
                    .tx
                    .blocking_send(crate::images::pipe::error_line_code(text, code));
            }
        }
    }
}

/// One message line as Docker's Go code writes it.
fn message(v: &serde_json::Value) -> Bytes {
    let mut s = go_json(v);
    s.push('\n');
    Bytes::from(s)
}
