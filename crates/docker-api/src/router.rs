//! Version prefix and dispatch by path family.
//!
//! A request's path is `/v1.NN/<family>/…` or `/<family>/…`. The router
//! checks the version (1.24 ≤ v ≤ 1.47, Docker's wording otherwise), sets
//! the headers every reply carries (`Api-Version`, `Server`, `Ostype`,
//! `Docker-Experimental`), answers `/_ping` itself and hands the rest to
//! the module serving the family.
//!
//! # The contract of a family module
//!
//! Each family module exposes
//!
//! ```ignore
//! pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult
//! ```
//!
//! where `path` is the request path split at `/` after the version prefix,
//! the family segment included (`GET /v1.41/images/foo/json` gives
//! `["images", "foo", "json"]`; empty segments are kept, so a trailing `/`
//! gives a last `""`). A path or method the module does not serve answers
//! `Err(ApiError::page_not_found())`, like Docker. Families:
//!
//! | first segment | module |
//! |---|---|
//! | `containers` | [`crate::containers`] |
//! | `exec` | [`crate::exec`] |
//! | `images`, `commit` | [`crate::images`] |
//! | `build` | [`crate::build`] |
//! | `volumes` | [`crate::volumes`] |
//! | `version`, `info`, `events`, `system`, `auth`, `session` | [`crate::system`] |
//! | `_ping` | here |
//! | `networks` | [`crate::networks`] |
//!
//! Streams that only end with their subject (events, logs --follow)
//! should use [`crate::streams::endless_body`], which also ends when the
//! daemon shuts down, so they do not hold the shutdown for its grace.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode};
use wharf_engine::Engine;

use crate::http::{error_response, full, status, ApiError, Ctx, Request, Response};
use crate::{API_VERSION, MIN_API_VERSION};

/// The `Server` header.
pub const SERVER: &str = "Docker/27.0.0 (linux)";

/// Whether every request is logged (`wharf daemon --debug`).
static DEBUG: AtomicBool = AtomicBool::new(false);

/// Logs every request to stderr (`--debug`); server errors are always
/// logged.
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// Serves one request.
pub async fn handle(engine: Arc<Engine>, req: Request) -> Response {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let mut resp = match route(engine, req).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                eprintln!(
                    "wharf daemon: {method} {uri}: {} {}",
                    e.status.as_u16(),
                    e.message
                );
            }
            error_response(&e)
        }
    };
    if DEBUG.load(Ordering::Relaxed) {
        eprintln!("wharf daemon: {method} {uri} -> {}", resp.status().as_u16());
    }
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(http::header::SERVER, HeaderValue::from_static(SERVER));
    resp
}

async fn route(engine: Arc<Engine>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path().to_string();
    let mut segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut version = parse_version(API_VERSION);
    if let Some(v) = segs.first().and_then(|s| s.strip_prefix('v')) {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            check_version(v)?;
            version = parse_version(v);
            segs.remove(0);
        }
    }
    let ctx = Ctx {
        engine,
        version: (
            version.first().copied().unwrap_or(1),
            version.get(1).copied().unwrap_or(0),
        ),
    };
    let family = segs.first().copied().unwrap_or("");
    match family {
        "_ping" if segs.len() == 1 => ping(&req),
        "containers" => crate::containers::route(ctx, req, &segs).await,
        "exec" => crate::exec::route(ctx, req, &segs).await,
        "images" | "commit" => crate::images::route(ctx, req, &segs).await,
        "build" => crate::build::route(ctx, req, &segs).await,
        "volumes" => crate::volumes::route(ctx, req, &segs).await,
        "version" | "info" | "events" | "system" | "auth" | "session" => {
            crate::system::route(ctx, req, &segs).await
        }
        "networks" => crate::networks::route(ctx, req, &segs).await,
        _ => Err(ApiError::page_not_found()),
    }
}

/// `GET`/`HEAD /_ping`.
fn ping(req: &Request) -> Result<Response, ApiError> {
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Err(ApiError::page_not_found()),
    };
    let mut resp = if head {
        status(StatusCode::OK)
    } else {
        hyper::Response::new(full("OK"))
    };
    let h = resp.headers_mut();
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if head {
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    Ok(resp)
}

/// `1.41` → `[1, 41]` (non-numbers count as 0, like Docker's compare).
fn parse_version(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Docker's numeric, dot-wise comparison.
fn compare(a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// 400 with Docker's words for a version outside [1.24, 1.47].
fn check_version(v: &str) -> Result<(), ApiError> {
    let pv = parse_version(v);
    if compare(&pv, &parse_version(MIN_API_VERSION)).is_lt() {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too old. Minimum supported API version is \
             {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if compare(&pv, &parse_version(API_VERSION)).is_gt() {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_range_pass_and_others_get_dockers_words() {
        assert!(check_version("1.24").is_ok());
        assert!(check_version("1.41").is_ok());
        assert!(check_version("1.47").is_ok());
        let old = check_version("1.23").unwrap_err();
        assert_eq!(old.status, StatusCode::BAD_REQUEST);
        assert!(old.message.starts_with("client version 1.23 is too old"));
        let new = check_version("1.48").unwrap_err();
        assert_eq!(
            new.message,
            "client version 1.48 is too new. Maximum supported API version is 1.47"
        );
        assert!(check_version("1").is_err());
        assert!(check_version("2.0").is_err());
    }
}
