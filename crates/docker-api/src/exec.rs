//! `/exec/…` and `POST /containers/{id}/exec`: processes started in a
//! running container. `start` without `Detach` is hijacked like attach:
//! the exec's output flows to the client and the client's bytes are its
//! stdin (a half-close ends stdin).

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use wharf_engine::model::{ExecOptions, Status};

use crate::containers::create::nullable;
use crate::containers::MAX_JSON;
use crate::http::{
    blocking, json, param, query, read_json, status, ApiError, ApiResult, Ctx, Request,
};
use crate::streams::{
    frame, hijack, parse_detach_keys, pump, stream_content_type, Stdin, DEFAULT_DETACH_KEYS,
};

/// Serves `/exec/…` (see [`crate::router`]).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    match (req.method().clone(), path) {
        (Method::POST, ["exec", id, "start"]) => start(ctx, req, id).await,
        (Method::POST, ["exec", id, "resize"]) => resize(ctx, req, id).await,
        (Method::GET, ["exec", id, "json"]) => inspect(ctx, id).await,
        _ => Err(ApiError::page_not_found()),
    }
}

/// The body of exec create.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    #[serde(deserialize_with = "nullable")]
    attach_stdin: bool,
    #[serde(deserialize_with = "nullable")]
    attach_stdout: bool,
    #[serde(deserialize_with = "nullable")]
    attach_stderr: bool,
    #[serde(deserialize_with = "nullable")]
    detach_keys: String,
    #[serde(deserialize_with = "nullable")]
    tty: bool,
    #[serde(deserialize_with = "nullable")]
    env: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    cmd: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    privileged: bool,
    #[serde(deserialize_with = "nullable")]
    user: String,
    #[serde(deserialize_with = "nullable")]
    working_dir: String,
}

/// `POST /containers/{id}/exec`.
pub async fn create(ctx: Ctx, req: Request, container: &str) -> ApiResult {
    let b: CreateBody = read_json(req, MAX_JSON).await?;
    if b.cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    if !b.detach_keys.is_empty() {
        parse_detach_keys(&b.detach_keys)?;
    }
    let some = |s: String| (!s.is_empty()).then_some(s);
    let opts = ExecOptions {
        cmd: b.cmd,
        env: b.env,
        working_dir: some(b.working_dir),
        user: some(b.user),
        tty: b.tty,
        attach_stdin: b.attach_stdin,
        attach_stdout: b.attach_stdout,
        attach_stderr: b.attach_stderr,
        privileged: b.privileged,
        detach_keys: some(b.detach_keys),
    };
    let (engine, c) = (ctx.engine.clone(), container.to_string());
    let id = blocking(move || engine.exec_create(&c, opts)).await?;
    Ok(json(StatusCode::CREATED, &json!({ "Id": id })))
}

/// The body of exec start.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    #[serde(deserialize_with = "nullable")]
    detach: bool,
    #[serde(deserialize_with = "nullable")]
    tty: bool,
    console_size: Option<[u16; 2]>,
}

/// `POST /exec/{id}/start`.
async fn start(ctx: Ctx, mut req: Request, id: &str) -> ApiResult {
    let (engine, eid) = (ctx.engine.clone(), id.to_string());
    let info = blocking(move || engine.exec_inspect(&eid)).await?;
    let body = http_body_util::Limited::new(req.body_mut(), MAX_JSON);
    let bytes = http_body_util::BodyExt::collect(body)
        .await
        .map_err(|e| ApiError::bad_request(format!("failed to read the request body: {e}")))?
        .to_bytes();
    let b: StartBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        StartBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    if b.detach {
        ctx.engine.exec_start(id, true).await?;
        return Ok(status(StatusCode::OK));
    }
    if info.running || info.pid != 0 || info.exit_code.is_some() {
        return Err(ApiError::conflict(format!(
            "Error: Exec command {id} is already running"
        )));
    }
    let (engine, cid) = (ctx.engine.clone(), info.container_id.clone());
    let c = blocking(move || engine.container(&cid)).await?;
    match c.state.status {
        Status::Running => {}
        Status::Paused => {
            return Err(ApiError::conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )))
        }
        _ => {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )))
        }
    }
    let keys = match info.options.detach_keys.as_deref() {
        Some(k) => parse_detach_keys(k)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    let tty = info.options.tty || b.tty;
    let stdin = info.options.attach_stdin;
    // As dockerd: the connection is hijacked first; a failure to start
    // the process is then written into the stream, and the client reads
    // the exit code (126/127) from exec inspect.
    let (resp, hijacked) = hijack(&mut req, stream_content_type(&ctx, tty));
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    let console = b.console_size;
    tokio::spawn(async move {
        let Ok(mut client) = hijacked.client().await else {
            return;
        };
        match engine.exec_start(&id, false).await {
            Ok(Some(att)) => {
                if let (Some([h, w]), true) = (console, tty) {
                    if h > 0 && w > 0 {
                        let _ = engine.exec_resize(&id, h, w).await;
                    }
                }
                pump(client, att.stream, Stdin::new(stdin, true, tty), &keys).await;
            }
            Ok(None) => {}
            Err(e) => {
                let msg = format!("{}\r\n", e.full_message());
                let bytes = if tty {
                    msg.into_bytes()
                } else {
                    frame(1, msg.as_bytes())
                };
                let _ = client.write(&bytes).await;
            }
        }
    });
    Ok(resp)
}

/// `POST /exec/{id}/resize?h&w`.
async fn resize(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let num = |k: &str| -> Result<i64, ApiError> {
        param(&q, k).filter(|v| !v.is_empty()).map_or(Ok(0), |v| {
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid value for {k}: {v}")))
        })
    };
    let (h, w) = crate::containers::dims(num("h")?, num("w")?)?;
    ctx.engine.exec_resize(id, h, w).await?;
    Ok(status(StatusCode::CREATED))
}

/// `GET /exec/{id}/json`.
async fn inspect(ctx: Ctx, id: &str) -> ApiResult {
    let (engine, eid) = (ctx.engine.clone(), id.to_string());
    let e = blocking(move || engine.exec_inspect(&eid)).await?;
    let o = &e.options;
    let mut process = json!({
        "tty": o.tty,
        "entrypoint": o.cmd.first().cloned().unwrap_or_default(),
        "arguments": o.cmd.iter().skip(1).collect::<Vec<_>>(),
        "privileged": o.privileged,
    });
    if let Some(u) = &o.user {
        process["user"] = json!(u);
    }
    Ok(json(
        StatusCode::OK,
        &json!({
            "ID": e.id,
            "Running": e.running,
            "ExitCode": e.exit_code,
            "ProcessConfig": process,
            "OpenStdin": o.attach_stdin,
            "OpenStderr": o.attach_stderr,
            "OpenStdout": o.attach_stdout,
            "CanRemove": false,
            "ContainerID": e.container_id,
            "DetachKeys": o.detach_keys.clone().unwrap_or_default(),
            "Pid": e.pid,
        }),
    ))
}
