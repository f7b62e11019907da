//! The filesystem endpoints: changes (`docker diff`), export and archive
//! (`docker cp`). Tars are produced and consumed on blocking threads and
//! streamed: a GET's stat header goes out before its body, a PUT's body is
//! read as it arrives.

use base64::Engine as _;
use bytes::{Buf, Bytes};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::mpsc;
use wharf_engine::model::PathStat;

use crate::http::{blocking, flag, json, param, query, status, ApiError, ApiResult, Ctx, Request};
use crate::streams::{channel_body, streaming, ChannelWriter};

/// `GET /containers/{id}/changes`.
pub async fn changes(ctx: Ctx, id: &str) -> ApiResult {
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    let list = blocking(move || engine.changes(&id)).await?;
    let v: Vec<_> = list
        .iter()
        .map(|c| json!({"Path": c.path, "Kind": c.kind}))
        .collect();
    Ok(json(
        StatusCode::OK,
        &if v.is_empty() { json!(null) } else { json!(v) },
    ))
}

/// `GET /containers/{id}/export`.
pub async fn export(ctx: Ctx, id: &str) -> ApiResult {
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    let c = {
        let (engine, id) = (engine.clone(), id.clone());
        blocking(move || engine.container(&id)).await?
    };
    let (tx, body) = channel_body(8);
    tokio::task::spawn_blocking(move || {
        let _ = engine.export(&c.id, ChannelWriter(tx));
    });
    Ok(streaming("application/x-tar", body))
}

/// Docker's `X-Docker-Container-Path-Stat`: base64 (URL alphabet) JSON.
fn stat_header(s: &PathStat) -> HeaderValue {
    let v = json!({
        "name": s.name,
        "size": s.size,
        "mode": s.mode,
        "mtime": s.mtime,
        "linkTarget": s.link_target,
    });
    let enc = base64::engine::general_purpose::URL_SAFE.encode(v.to_string());
    HeaderValue::from_str(&enc).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `GET|HEAD|PUT /containers/{id}/archive?path=`.
pub async fn archive(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let path = param(&q, "path").unwrap_or("").to_string();
    if path.is_empty() {
        return Err(ApiError::bad_request("bad parameter: path cannot be empty"));
    }
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    match *req.method() {
        Method::PUT => {
            let no_overwrite = flag(&q, "noOverwriteDirNonDir");
            let copy_uid_gid = flag(&q, "copyUIDGID");
            let reader = BodyReader::spawn(req);
            blocking(move || engine.archive_put(&id, &path, reader, no_overwrite, copy_uid_gid))
                .await?;
            Ok(status(StatusCode::OK))
        }
        Method::HEAD => {
            let stat = blocking(move || engine.archive_stat(&id, &path)).await?;
            let mut resp = status(StatusCode::OK);
            resp.headers_mut()
                .insert("X-Docker-Container-Path-Stat", stat_header(&stat));
            Ok(resp)
        }
        _ => {
            let stat = {
                let (engine, id, path) = (engine.clone(), id.clone(), path.clone());
                blocking(move || engine.archive_stat(&id, &path)).await?
            };
            let (tx, body) = channel_body(8);
            tokio::task::spawn_blocking(move || {
                let _ = engine.archive_get(&id, &path, ChannelWriter(tx));
            });
            let mut resp = streaming("application/x-tar", body);
            resp.headers_mut()
                .insert("X-Docker-Container-Path-Stat", stat_header(&stat));
            Ok(resp)
        }
    }
}

/// A request body as a blocking [`std::io::Read`]: a task reads the body
/// and hands its chunks over a channel.
struct BodyReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
}

impl BodyReader {
    fn spawn(req: Request) -> BodyReader {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            let mut body = req.into_body();
            while let Some(frame) = body.frame().await {
                let item = match frame {
                    Ok(f) => match f.into_data() {
                        Ok(d) => Ok(d),
                        Err(_) => continue,
                    },
                    Err(e) => Err(std::io::Error::other(e)),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        BodyReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}
