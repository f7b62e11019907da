//! The streaming container endpoints: attach (hijacked), logs, stats and
//! wait. Each checks the container before its headers go out, so a wrong
//! name is a plain 404.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wharf_engine::lifecycle::{AttachOptions, Attached};
use wharf_engine::model::{Container, LogEntry, LogsOptions, Status, WaitCondition};
use wharf_engine::stats::{BlkioEntry, Stats};
use wharf_engine::{Engine, Kind};

use super::inspect::ZERO_TIME;
use crate::http::{blocking, flag, json, param, query, ApiError, ApiResult, Ctx, Request};
use crate::streams::{
    channel_body, endless_body, frame, hijack, parse_detach_keys, pump, stream_content_type,
    streaming, Client, Stdin, DEFAULT_DETACH_KEYS,
};

/// Interval between streamed stats samples.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// `POST /containers/{id}/attach?stream&stdin&stdout&stderr&logs&detachKeys`.
pub async fn attach(ctx: Ctx, mut req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let keys = match param(&q, "detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => parse_detach_keys(k)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    let a = AttachRequest::new(&ctx, &q, id).await?;
    let (tty, mode) = (a.c.options.tty, a.stdin_mode());
    let (resp, hijacked) = hijack(&mut req, stream_content_type(&ctx, tty));
    let engine = ctx.engine.clone();
    tokio::spawn(async move {
        let Ok(mut client) = hijacked.client().await else {
            return;
        };
        if let Some(opts) = a.logs_options() {
            if replay(&engine, &a.c.id, opts, tty, &mut client)
                .await
                .is_err()
            {
                return;
            }
        }
        let Some(attached) = a.attached else {
            return;
        };
        match attached.attached().await {
            Ok(att) => {
                pump(client, att.stream, mode, &keys).await;
            }
            Err(e) => {
                let msg = format!("Error attaching: {}\n", e.full_message());
                let _ = client.write(msg.as_bytes()).await;
            }
        }
    });
    Ok(resp)
}

/// What an attach (plain or WebSocket) asks for: the container, the
/// streams, the log replay and the registered attach (with `stream`).
pub(super) struct AttachRequest {
    pub c: Container,
    pub opts: AttachOptions,
    pub logs: bool,
    pub attached: Option<Registered>,
}

impl AttachRequest {
    /// Reads the query (`stdin`, `stdout`, `stderr`, `logs`, `stream`),
    /// finds the container (404 before any header goes out) and registers
    /// the attach.
    pub(super) async fn new(
        ctx: &Ctx,
        q: &[(String, String)],
        id: &str,
    ) -> Result<AttachRequest, ApiError> {
        let opts = AttachOptions {
            stdin: flag(q, "stdin"),
            stdout: flag(q, "stdout"),
            stderr: flag(q, "stderr"),
        };
        let (engine, name) = (ctx.engine.clone(), id.to_string());
        let c = blocking(move || engine.container(&name)).await?;
        let attached = match flag(q, "stream") {
            true => Some(Registered::new(ctx.engine.clone(), c.id.clone(), opts).await),
            false => None,
        };
        Ok(AttachRequest {
            c,
            opts,
            logs: flag(q, "logs"),
            attached,
        })
    }

    /// What the client's input is: Docker attaches stdin only to a
    /// container that keeps it open.
    pub(super) fn stdin_mode(&self) -> Stdin {
        let o = &self.c.options;
        Stdin::new(self.opts.stdin && o.open_stdin, o.stdin_once, o.tty)
    }

    /// The log replay asked for (`logs=1`) of the attached streams.
    pub(super) fn logs_options(&self) -> Option<LogsOptions> {
        self.logs.then(|| LogsOptions {
            stdout: self.opts.stdout,
            stderr: self.opts.stderr,
            ..Default::default()
        })
    }
}

/// An attach registered with the engine before the 101 goes out: the
/// client starts the container as soon as it has the 101, and the engine
/// connects only the attaches registered by then (the first poll of the
/// engine's attach registers it).
pub(super) struct Registered {
    fut: Pin<Box<dyn Future<Output = wharf_engine::Result<Attached>> + Send>>,
    ready: Option<wharf_engine::Result<Attached>>,
}

impl Registered {
    /// Registers an attach of container `id`.
    pub(super) async fn new(engine: Arc<Engine>, id: String, opts: AttachOptions) -> Registered {
        let mut fut: Pin<Box<dyn Future<Output = _> + Send>> =
            Box::pin(async move { engine.attach(&id, opts).await });
        let ready = tokio::select! {
            biased;
            r = &mut fut => Some(r),
            _ = std::future::ready(()) => None,
        };
        Registered { fut, ready }
    }

    /// The process's stream, once the container runs.
    pub(super) async fn attached(self) -> wharf_engine::Result<Attached> {
        match self.ready {
            Some(r) => r,
            None => self.fut.await,
        }
    }
}

/// Writes a container's log so far to an attached client.
async fn replay(
    engine: &Arc<Engine>,
    id: &str,
    opts: LogsOptions,
    tty: bool,
    client: &mut Client,
) -> std::io::Result<()> {
    let Ok(mut rx) = engine.logs(id, opts).await else {
        return Ok(());
    };
    while let Some(Ok(entry)) = rx.recv().await {
        client.write(&log_bytes(&entry, tty, false)).await?;
    }
    Ok(())
}

/// One log entry on the wire: framed without a tty, raw with one.
fn log_bytes(e: &LogEntry, tty: bool, timestamps: bool) -> Vec<u8> {
    let mut line = Vec::with_capacity(e.line.len() + 32);
    if timestamps {
        line.extend_from_slice(e.time.as_bytes());
        line.push(b' ');
    }
    line.extend_from_slice(&e.line);
    if tty {
        line
    } else {
        frame(e.stream, &line)
    }
}

/// A time parameter (`since`, `until`): Unix seconds with an optional
/// fraction, or RFC 3339; `0`/absent: None.
fn time_param(q: &[(String, String)], key: &str) -> Result<Option<i64>, ApiError> {
    let Some(v) = param(q, key).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n = super::parse_unix(v)
        .or_else(|| super::list::nanos(v))
        .ok_or_else(|| ApiError::bad_request(format!("invalid value for {key}: {v}")))?;
    Ok((n != 0).then_some(n))
}

/// `GET /containers/{id}/logs`.
pub async fn logs(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let (stdout, stderr) = (flag(&q, "stdout"), flag(&q, "stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match param(&q, "tail") {
        None | Some("" | "all") => None,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n as usize),
    };
    let timestamps = flag(&q, "timestamps");
    let opts = LogsOptions {
        stdout,
        stderr,
        follow: flag(&q, "follow"),
        since: time_param(&q, "since")?,
        until: time_param(&q, "until")?,
        timestamps,
        tail,
    };
    let (engine, name) = (ctx.engine.clone(), id.to_string());
    let c = blocking(move || engine.container(&name)).await?;
    let tty = c.options.tty;
    let follow = opts.follow;
    let mut rx = ctx.engine.logs(&c.id, opts).await.map_err(|e| {
        if e.message == wharf_engine::logs::NOT_READABLE {
            // Docker's errdefs.NotImplemented.
            ApiError::new(StatusCode::NOT_IMPLEMENTED, e.message)
        } else {
            e.into()
        }
    })?;
    let (tx, body) = if follow {
        endless_body(16)
    } else {
        channel_body(16)
    };
    tokio::spawn(async move {
        while let Some(Ok(entry)) = rx.recv().await {
            let bytes = Bytes::from(log_bytes(&entry, tty, timestamps));
            if tx.send(Ok(bytes)).await.is_err() {
                return;
            }
        }
    });
    Ok(streaming(stream_content_type(&ctx, tty), body))
}

/// `POST /containers/{id}/wait?condition=`: the headers go out at once
/// (the CLI starts the container only after it has them), the body when
/// the condition is met.
pub async fn wait(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let cond = match param(&q, "condition") {
        None | Some("" | "not-running") => WaitCondition::NotRunning,
        Some("next-exit") => WaitCondition::NextExit,
        Some("removed") => WaitCondition::Removed,
        Some(c) => return Err(ApiError::bad_request(format!("invalid condition: \"{c}\""))),
    };
    let waiter = ctx.engine.wait(id, cond).await?;
    let (tx, body) = endless_body(1);
    tokio::spawn(async move {
        let v = match waiter.result().await {
            Ok(exit) => json!({"StatusCode": exit.exit_code, "Error": null}),
            Err(e) => json!({"StatusCode": -1, "Error": {"Message": e.full_message()}}),
        };
        let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
        bytes.push(b'\n');
        let _ = tx.send(Ok(Bytes::from(bytes))).await;
    });
    Ok(streaming("application/json", body))
}

/// `GET /containers/{id}/stats?stream&one-shot`.
pub async fn stats(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let stream = param(&q, "stream").is_none() || flag(&q, "stream");
    let one_shot = flag(&q, "one-shot");
    let (engine, name) = (ctx.engine.clone(), id.to_string());
    let c = blocking(move || engine.container(&name)).await?;
    let running = matches!(c.state.status, Status::Running | Status::Paused);
    let (name, id) = (format!("/{}", c.name), c.id);
    let engine = ctx.engine.clone();
    if !stream {
        let first = sample(&engine, &id).await?;
        // A container that does not run has nothing to compare: zeros now.
        let (pre, cur) = if one_shot || !running {
            (None, first)
        } else {
            tokio::time::sleep(STATS_INTERVAL).await;
            (Some(first), sample(&engine, &id).await?)
        };
        return Ok(json(
            StatusCode::OK,
            &stats_json(&cur, pre.as_ref(), &name, &id),
        ));
    }
    let (tx, body) = endless_body(1);
    tokio::spawn(async move {
        let mut prev: Option<Stats> = None;
        loop {
            let Ok(cur) = sample(&engine, &id).await else {
                return;
            };
            let mut bytes = serde_json::to_vec(&stats_json(&cur, prev.as_ref(), &name, &id))
                .unwrap_or_default();
            bytes.push(b'\n');
            if tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                return;
            }
            prev = Some(cur);
            tokio::time::sleep(STATS_INTERVAL).await;
        }
    });
    Ok(streaming("application/json", body))
}

/// One sample; a container that is gone ends the stream (404), other
/// failures give zeros, as Docker does for a container that stopped.
async fn sample(engine: &Arc<Engine>, id: &str) -> Result<Stats, ApiError> {
    let (engine, id) = (engine.clone(), id.to_string());
    match tokio::task::spawn_blocking(move || engine.stats(&id)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) if e.kind == Kind::NotFound => Err(e.into()),
        _ => Ok(Stats::default()),
    }
}

fn rfc3339(nanos: i64) -> String {
    if nanos == 0 {
        return ZERO_TIME.into();
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ZERO_TIME.into())
}

fn cpu_json(s: &Stats) -> Value {
    let c = &s.cpu;
    let mut usage = json!({
        "total_usage": c.total_usage,
        "usage_in_kernelmode": c.usage_in_kernelmode,
        "usage_in_usermode": c.usage_in_usermode,
    });
    if !c.percpu_usage.is_empty() {
        usage["percpu_usage"] = json!(c.percpu_usage);
    }
    let mut v = json!({
        "cpu_usage": usage,
        "throttling_data": {
            "periods": c.throttling_periods,
            "throttled_periods": c.throttled_periods,
            "throttled_time": c.throttled_time,
        },
    });
    if c.system_cpu_usage != 0 {
        v["system_cpu_usage"] = json!(c.system_cpu_usage);
    }
    if c.online_cpus != 0 {
        v["online_cpus"] = json!(c.online_cpus);
    }
    v
}

fn blkio_json(list: &[BlkioEntry]) -> Value {
    json!(list
        .iter()
        .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
        .collect::<Vec<_>>())
}

/// Docker's stats JSON (`precpu_stats` from the previous sample).
pub fn stats_json(s: &Stats, prev: Option<&Stats>, name: &str, id: &str) -> Value {
    let zero = Stats::default();
    let p = prev.unwrap_or(&zero);
    let m = &s.memory;
    let mut memory = json!({});
    if s.read_nano != 0 {
        memory = json!({"usage": m.usage, "stats": m.stats, "limit": m.limit});
        if m.max_usage != 0 {
            memory["max_usage"] = json!(m.max_usage);
        }
        if m.failcnt != 0 {
            memory["failcnt"] = json!(m.failcnt);
        }
    }
    let mut pids = json!({});
    if s.pids.current != 0 {
        pids["current"] = json!(s.pids.current);
    }
    if s.pids.limit != 0 {
        pids["limit"] = json!(s.pids.limit);
    }
    json!({
        "read": rfc3339(s.read_nano),
        "preread": rfc3339(p.read_nano),
        "pids_stats": pids,
        "blkio_stats": {
            "io_service_bytes_recursive": blkio_json(&s.blkio.io_service_bytes_recursive),
            "io_serviced_recursive": blkio_json(&s.blkio.io_serviced_recursive),
            "io_queue_recursive": [],
            "io_service_time_recursive": [],
            "io_wait_time_recursive": [],
            "io_merged_recursive": [],
            "io_time_recursive": [],
            "sectors_recursive": [],
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(s),
        "precpu_stats": cpu_json(p),
        "memory_stats": memory,
        "name": name,
        "id": id,
    })
}
