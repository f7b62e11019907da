//! `POST /build`: the classic builder. The body is the context as a tar
//! (plain, gzip or zstd), unpacked into a temporary directory under the
//! data root; the build runs in a single-threaded child process of the
//! `wharf` binary (`wharf build-internal`, the daemon never forks), whose
//! output streams back as Docker's JSON messages: `{"stream":"Step 1/2 :
//! FROM busybox\n"}`, `{"aux":{"ID":"sha256:…"}}` before `Successfully
//! built`, and `{"errorDetail":{…},"error":…}` when the build fails. As
//! from dockerd, a build that fails before its first message (a
//! Dockerfile that does not parse, a `target` no stage has: 400) is an
//! HTTP error instead, and a client that goes away stops the build
//! (see `cancel`). The `RUN` steps of a build on the default network
//! share one sandbox on the daemon's default bridge, set up before the
//! builder starts and removed when the build ends (see `net`).
//!
//! `rm` and `forcerm` are accepted and change nothing. dockerd runs each
//! `RUN` in an engine container, removed after success (`rm`, the
//! default) and also after failure (`forcerm`), so that a failed step's
//! container stays for `ps -a`, `logs` and `commit`. Wharf's builder runs
//! each step as a container of its own runtime root, in the builder
//! process: not an engine container (no record, no `create`/`start`/
//! `die`/`destroy` events, nothing to inspect or commit afterwards), so
//! it is always removed, as with `forcerm=1`; the output still says
//! `Removing intermediate container <id>` after a step that succeeded,
//! as docker's does by default.

mod cancel;
mod child;
mod net;
mod output;

use std::collections::BTreeMap;
use std::path::PathBuf;

use http::StatusCode;
use serde_json::Value;
use wharf_image::reference::Reference;

use crate::http::{flag, param, query, ApiError, ApiResult, Ctx, Request};
use crate::images::pipe::{blocking, streamed, BodyReader};

/// The build a request asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildRequest {
    /// `t` (repeatable), normalized (`x` → `x:latest`).
    pub tags: Vec<String>,
    /// `dockerfile`, relative to the context (default `Dockerfile`).
    pub dockerfile: String,
    /// `buildargs` (JSON; null values dropped).
    pub build_args: BTreeMap<String, String>,
    /// `labels` (JSON).
    pub labels: BTreeMap<String, String>,
    /// `target`.
    pub target: Option<String>,
    /// `nocache`.
    pub no_cache: bool,
    /// `q`.
    pub quiet: bool,
    /// `networkmode`.
    pub network: String,
}

/// Serves `POST /build` (`path` includes the family segment).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    match (req.method(), path) {
        (&http::Method::POST, ["build"]) => build(ctx, req).await,
        (&http::Method::POST, ["build", "prune"]) => Ok(crate::http::json(
            StatusCode::OK,
            &serde_json::json!({ "CachesDeleted": null, "SpaceReclaimed": 0 }),
        )),
        (&http::Method::POST, ["build", "cancel"]) => Ok(crate::http::status(StatusCode::OK)),
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// A JSON map of strings from a query value (`{"a":"b","c":null}`).
fn string_map(q: &[(String, String)], key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(raw) = param(q, key).filter(|s| !s.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let v: BTreeMap<String, Value> = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid {key}: {e}")))?;
    Ok(v.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect())
}

/// The request's parameters, validated as Docker does before any output.
pub(crate) fn parse_request(q: &[(String, String)]) -> Result<BuildRequest, ApiError> {
    if param(q, "version").is_some_and(|v| v == "2") {
        return Err(ApiError::bad_request(
            "buildkit not supported by daemon; use the classic builder (version=1)",
        ));
    }
    if flag(q, "squash") {
        return Err(ApiError::bad_request(
            "squash is only supported with experimental mode",
        ));
    }
    if param(q, "remote").is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "remote build contexts need the network, which this daemon does not reach",
        ));
    }
    let mut tags = Vec::new();
    for (_, t) in q.iter().filter(|(k, v)| k == "t" && !v.is_empty()) {
        let r = Reference::parse(t).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if r.digest().is_some() {
            return Err(ApiError::bad_request(
                "refusing to create a tag with a digest reference",
            ));
        }
        let name = r.with_default_tag().familiar();
        if !tags.contains(&name) {
            tags.push(name);
        }
    }
    Ok(BuildRequest {
        tags,
        dockerfile: param(q, "dockerfile")
            .filter(|d| !d.is_empty())
            .unwrap_or("Dockerfile")
            .to_string(),
        build_args: string_map(q, "buildargs")?,
        labels: string_map(q, "labels")?,
        target: param(q, "target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        no_cache: flag(q, "nocache"),
        quiet: flag(q, "q"),
        network: param(q, "networkmode").unwrap_or("default").to_string(),
    })
}

/// `POST /build`.
async fn build(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let request = parse_request(&q)?;
    let engine = ctx.engine.clone();
    let body = BodyReader::new(req);
    let dockerfile = request.dockerfile.clone();
    let work = blocking(move || child::unpack(&engine, body, &dockerfile)).await?;
    let (resp, tx) = streamed("application/json");
    let (started, started_rx) = tokio::sync::oneshot::channel();
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        child::run(&engine, &work, &request, output::Output::new(tx, started));
        drop(work);
    });
    // Headers wait for the first message: a build that fails before it
    // is an HTTP error, as from dockerd.
    match started_rx.await {
        Ok(Err(e)) => Err(e),
        _ => Ok(resp),
    }
}

/// Where a build's context lives (`<data-root>/tmp/build-…`); removed
/// on drop.
pub(crate) struct Work {
    /// The temporary directory.
    pub dir: PathBuf,
}

impl Work {
    /// The unpacked context.
    pub fn context(&self) -> PathBuf {
        self.dir.join("context")
    }

    /// The build's id: its directory's name without `build-`
    /// (`<pid>-<seq>-<nanos>`).
    pub fn id(&self) -> String {
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        name.strip_prefix("build-").unwrap_or(&name).to_string()
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
