//! `GET /containers/{id}/attach/ws`: attach over a WebSocket (RFC 6455),
//! as dockerd serves it: the output as binary frames of raw bytes (stdout
//! and stderr not multiplexed, one frame per write), the client's text or
//! binary frames as stdin, a close frame (1000) when the output ends. The
//! end of the client's input (its close frame, or the connection's end)
//! follows Docker's attach rule ([`Stdin`]).

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::io::AttachRequest;
use super::sha1::sha1;
use crate::http::{query, ApiError, ApiResult, Ctx, Request};
use crate::streams::Stdin;

/// The GUID every WebSocket accept key is made with (RFC 6455, 1.3).
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest client frame accepted (stdin comes in small pieces).
const MAX_FRAME: u64 = 1 << 20;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    use base64::Engine as _;
    let digest = sha1(format!("{key}{WS_GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The close frame the server ends with: status 1000 (normal closure).
fn close_frame() -> Vec<u8> {
    ws_frame(8, &1000u16.to_be_bytes())
}

/// One frame from the server: FIN set, unmasked.
pub fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A frame from the client: (opcode, unmasked payload); `None` at the end
/// of the connection or on a frame too big.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head).await.ok()?;
    let opcode = head[0] & 0x0f;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7f {
        126 => u64::from(r.read_u16().await.ok()?),
        127 => r.read_u64().await.ok()?,
        n => u64::from(n),
    };
    if len > MAX_FRAME {
        return None;
    }
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask).await.ok()?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).await.ok()?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Some((opcode, payload))
}

/// Docker's 8-byte stream frames into their payloads (a tty's output is
/// raw already).
struct Demux {
    tty: bool,
    buf: Vec<u8>,
}

impl Demux {
    fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        if self.tty {
            return vec![data.to_vec()];
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buf.len() >= 8 {
            let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
            let end = 8 + len as usize;
            if self.buf.len() < end {
                break;
            }
            out.push(self.buf[8..end].to_vec());
            self.buf.drain(..end);
        }
        out
    }
}

/// `GET /containers/{id}/attach/ws?logs&stream&stdin&stdout&stderr`.
pub async fn attach_ws(ctx: Ctx, mut req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_ws = req
        .headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let (Some(key), true) = (key, is_ws) else {
        return Err(ApiError::bad_request("not a websocket handshake"));
    };
    // Registered before the 101, as for the plain attach.
    let a = AttachRequest::new(&ctx, &q, id).await?;
    let (tty, mode) = (a.c.options.tty, a.stdin_mode());
    let on = hyper::upgrade::on(&mut req);
    let mut resp = hyper::Response::new(crate::http::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = HeaderValue::from_str(&accept_key(&key)) {
        h.insert("sec-websocket-accept", v);
    }
    let engine = ctx.engine.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on.await else {
            return;
        };
        let mut client = TokioIo::new(upgraded);
        if let Some(opts) = a.logs_options() {
            if let Ok(mut rx) = engine.logs(&a.c.id, opts).await {
                while let Some(Ok(entry)) = rx.recv().await {
                    if client.write_all(&ws_frame(2, &entry.line)).await.is_err() {
                        return;
                    }
                }
            }
        }
        let Some(attached) = a.attached else {
            let _ = client.write_all(&close_frame()).await;
            return;
        };
        match attached.attached().await {
            Ok(att) => pump_ws(client, att.stream, mode, tty).await,
            Err(e) => {
                let msg = format!("Error attaching: {}\n", e.full_message());
                let _ = client.write_all(&ws_frame(2, msg.as_bytes())).await;
                let _ = client.write_all(&close_frame()).await;
            }
        }
    });
    Ok(resp)
}

/// Copies between the WebSocket client and the process until the output
/// ends (then a close frame), the client goes away, or its input ends
/// where [`Stdin::EndsAttach`] says so.
async fn pump_ws<C, P>(client: C, proc_io: P, stdin: Stdin, tty: bool)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    P: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut client_r, client_w) = tokio::io::split(client);
    let (mut proc_r, mut proc_w) = tokio::io::split(proc_io);
    let client_w = std::sync::Arc::new(tokio::sync::Mutex::new(client_w));
    let writer = client_w.clone();
    let output = async move {
        let mut demux = Demux {
            tty,
            buf: Vec::new(),
        };
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match proc_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for payload in demux.push(&buf[..n]) {
                let frame = Bytes::from(ws_frame(2, &payload));
                if writer.lock().await.write_all(&frame).await.is_err() {
                    return;
                }
            }
        }
        let mut w = writer.lock().await;
        let _ = w.write_all(&close_frame()).await;
        let _ = w.shutdown().await;
    };
    let input = async move {
        loop {
            match read_frame(&mut client_r).await {
                Some((0..=2, payload)) => {
                    if stdin != Stdin::Detached {
                        let _ = proc_w.write_all(&payload).await;
                    }
                }
                Some((9, payload)) => {
                    let _ = client_w
                        .lock()
                        .await
                        .write_all(&ws_frame(10, &payload))
                        .await;
                }
                Some((10, _)) => {}
                // A close frame or the connection's end: the end of input.
                _ => {
                    return match stdin {
                        Stdin::Detached => false,
                        Stdin::Closes => {
                            let _ = proc_w.shutdown().await;
                            false
                        }
                        Stdin::EndsAttach => true,
                    };
                }
            }
        }
    };
    tokio::pin!(output);
    tokio::pin!(input);
    let mut input_done = false;
    loop {
        tokio::select! {
            () = &mut output => return,
            ends = &mut input, if !input_done => {
                if ends {
                    return;
                }
                input_done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_as_in_rfc_6455() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_carry_their_length() {
        assert_eq!(ws_frame(2, b"hi"), vec![0x82, 2, b'h', b'i']);
        assert_eq!(&ws_frame(2, &[0; 300])[..4], &[0x82, 126, 1, 44]);
        assert_eq!(&ws_frame(2, &vec![0; 70000])[..2], &[0x82, 127]);
    }

    #[test]
    fn docker_frames_are_unwrapped_across_reads() {
        let mut d = Demux {
            tty: false,
            buf: Vec::new(),
        };
        let mut wire = crate::streams::frame(1, b"out\n");
        wire.extend(crate::streams::frame(2, b"err\n"));
        assert_eq!(d.push(&wire[..5]), Vec::<Vec<u8>>::new());
        assert_eq!(
            d.push(&wire[5..]),
            vec![b"out\n".to_vec(), b"err\n".to_vec()]
        );
    }

    #[tokio::test]
    async fn client_frames_are_unmasked() {
        let mask = [1u8, 2, 3, 4];
        let mut wire = vec![0x81, 0x80 | 3];
        wire.extend(mask);
        wire.extend(b"abc".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let mut r = wire.as_slice();
        assert_eq!(read_frame(&mut r).await, Some((1, b"abc".to_vec())));
        assert_eq!(read_frame(&mut r).await, None);
    }
}
