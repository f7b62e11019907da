//! `/containers/…`: Docker's container endpoints on top of the engine.
//!
//! Create/list/inspect shapes are in [`create`], [`list`] and [`inspect`]; the
//! streaming endpoints (attach, logs, stats, wait) in [`io`]; the
//! filesystem ones (archive, export, changes) in [`files`].

pub mod create;
pub mod files;
pub mod inspect;
pub mod io;
pub mod list;
mod sha1;
pub mod ws;

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;

use crate::http::{
    blocking, blocking_api, filters, flag, json, param, query, read_json, status, ApiError,
    ApiResult, Ctx, Request,
};

/// The largest JSON body accepted (create, update, exec): dockerd has no
/// limit, but a create body is a few KiB.
pub const MAX_JSON: usize = 4 << 20;

/// Serves `/containers/…` (see [`crate::router`]).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let m = req.method().clone();
    match (&m, path) {
        (&Method::POST, ["containers", "create"]) => create(ctx, req).await,
        (&Method::GET, ["containers", "json"]) => list(ctx, req).await,
        (&Method::POST, ["containers", "prune"]) => prune(ctx, req).await,
        (&Method::DELETE, ["containers", id]) => remove(ctx, req, id).await,
        (&Method::GET, ["containers", id, "json"]) => inspect(ctx, req, id).await,
        (&Method::GET, ["containers", id, "top"]) => top(ctx, req, id).await,
        (&Method::GET, ["containers", id, "logs"]) => io::logs(ctx, req, id).await,
        (&Method::GET, ["containers", id, "stats"]) => io::stats(ctx, req, id).await,
        (&Method::POST, ["containers", id, "attach"]) => io::attach(ctx, req, id).await,
        (&Method::GET, ["containers", id, "attach", "ws"]) => ws::attach_ws(ctx, req, id).await,
        (&Method::POST, ["containers", id, "wait"]) => io::wait(ctx, req, id).await,
        (&Method::GET, ["containers", id, "changes"]) => files::changes(ctx, id).await,
        (&Method::GET, ["containers", id, "export"]) => files::export(ctx, id).await,
        (&Method::GET | &Method::HEAD | &Method::PUT, ["containers", id, "archive"]) => {
            files::archive(ctx, req, id).await
        }
        (&Method::POST, ["containers", id, "exec"]) => crate::exec::create(ctx, req, id).await,
        (&Method::POST, ["containers", id, action]) => {
            let id = id.to_string();
            lifecycle(ctx, req, &id, action).await
        }
        _ => Err(ApiError::page_not_found()),
    }
}

/// `POST /containers/create?name=`.
async fn create(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let body: create::CreateBody = read_json(req, MAX_JSON).await?;
    let mut opts = body.into_options(param(&q, "name"), ctx.version)?;
    let mut warnings = wharf_engine::spec::adapt(&mut opts);
    warnings.extend(wharf_engine::spec::warnings(&opts));
    if let Some(donor) = opts.host.ipc_mode.strip_prefix("container:") {
        // Docker names the donor by its full id, and a missing one is a
        // bad parameter of the create (400).
        let (engine, donor) = (ctx.engine.clone(), donor.to_string());
        let found = blocking(move || engine.container(&donor)).await;
        match found {
            Ok(d) => opts.host.ipc_mode = format!("container:{}", d.id),
            Err(e) => return Err(ApiError::bad_request(e.message)),
        }
    }
    let created = ctx.engine.create(opts).await?;
    warnings.extend(created.warnings);
    Ok(json(
        StatusCode::CREATED,
        &json!({"Id": created.id, "Warnings": warnings}),
    ))
}

/// `GET /containers/json`.
async fn list(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let f = filters(&q)?;
    let limit: i64 = match param(&q, "limit").filter(|s| !s.is_empty()) {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
        None => -1,
    };
    let all = flag(&q, "all") || limit > 0 || !f.is_empty() && f.contains_key("status");
    let size = flag(&q, "size");
    let engine = ctx.engine.clone();
    let out = blocking_api(move || {
        let list = engine.containers(all)?;
        let mut list = list::filter(&engine, list, &f)?;
        if limit > 0 {
            list.truncate(limit as usize);
        }
        let ids = crate::networks::network_ids(&engine);
        Ok(list
            .iter()
            .map(|c| {
                let mut v = list::list_entry(c, &ids);
                if size {
                    let (rw, root) = inspect::sizes(&engine, c);
                    if rw > 0 {
                        v["SizeRw"] = json!(rw);
                    }
                    v["SizeRootFs"] = json!(root);
                }
                v
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// `GET /containers/{id}/json`.
async fn inspect(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let size = flag(&query(&req), "size");
    let (id, version) = (id.to_string(), ctx.version);
    let engine = ctx.engine.clone();
    let v = blocking(move || {
        let c = engine.container(&id)?;
        let mut v = inspect::inspect(&engine, &c, version);
        if size {
            let (rw, root) = inspect::sizes(&engine, &c);
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(root);
        }
        Ok(v)
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// `DELETE /containers/{id}?force&v`.
async fn remove(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    if flag(&q, "link") {
        return Err(ApiError::bad_request("links are not supported"));
    }
    ctx.engine
        .remove(id, flag(&q, "force"), flag(&q, "v"))
        .await?;
    Ok(status(StatusCode::NO_CONTENT))
}

/// `GET /containers/{id}/top?ps_args=`.
async fn top(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    let args = param(&q, "ps_args").map(String::from);
    let (id, engine) = (id.to_string(), ctx.engine.clone());
    let (titles, rows) = blocking(move || engine.top(&id, args.as_deref())).await?;
    Ok(json(
        StatusCode::OK,
        &json!({"Titles": titles, "Processes": rows}),
    ))
}

/// A query integer (absent or empty: None).
fn int_param(q: &[(String, String)], key: &str) -> Result<Option<i64>, ApiError> {
    match param(q, key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}"))),
    }
}

/// The POST actions on one container.
async fn lifecycle(ctx: Ctx, req: Request, id: &str, action: &str) -> ApiResult {
    let q = query(&req);
    let e = &ctx.engine;
    let signal = param(&q, "signal")
        .filter(|s| !s.is_empty())
        .map(String::from);
    match action {
        "start" => e.start(id).await?,
        "stop" => e.stop(id, int_param(&q, "t")?, signal).await?,
        "restart" => e.restart(id, int_param(&q, "t")?).await?,
        "kill" => e.kill(id, signal.as_deref()).await?,
        "pause" | "unpause" => {
            let (engine, id, pause) = (e.clone(), id.to_string(), action == "pause");
            blocking(move || {
                if pause {
                    engine.pause(&id)
                } else {
                    engine.unpause(&id)
                }
            })
            .await?
        }
        "rename" => {
            let name = param(&q, "name").unwrap_or("");
            let name = create::validate_name(name)?;
            let (engine, id) = (e.clone(), id.to_string());
            blocking(move || engine.rename(&id, &name)).await?
        }
        "resize" => {
            let h = int_param(&q, "h")?.unwrap_or(0);
            let w = int_param(&q, "w")?.unwrap_or(0);
            let (h, w) = dims(h, w)?;
            e.resize(id, h, w).await?;
            return Ok(status(StatusCode::OK));
        }
        "update" => return update(ctx, req, id).await,
        _ => return Err(ApiError::page_not_found()),
    }
    Ok(status(StatusCode::NO_CONTENT))
}

/// A terminal size from the `h` and `w` parameters.
pub(crate) fn dims(h: i64, w: i64) -> Result<(u16, u16), ApiError> {
    match (u16::try_from(h), u16::try_from(w)) {
        (Ok(h), Ok(w)) => Ok((h, w)),
        _ => Err(ApiError::bad_request(format!(
            "invalid terminal size {h}x{w}"
        ))),
    }
}

/// `POST /containers/{id}/update`.
async fn update(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let body: create::UpdateBody = read_json(req, MAX_JSON).await?;
    let res = body.resources.to_resources();
    let res = (res != Default::default()).then_some(res);
    let policy = body.restart_policy.map(|r| r.to_policy());
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    let warnings = blocking(move || {
        if let Some(r) = &res {
            engine.update_check(&id, r)?;
        }
        engine.update(&id, res, policy)
    })
    .await?;
    Ok(json(StatusCode::OK, &json!({"Warnings": warnings})))
}

/// `POST /containers/prune?filters=`.
async fn prune(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let f = filters(&q)?;
    let until = prune_until(&f)?;
    let labels = prune_labels(&f)?;
    let (ids, space) = ctx.engine.prune(until, &labels).await?;
    let deleted = if ids.is_empty() {
        json!(null)
    } else {
        json!(ids)
    };
    Ok(json(
        StatusCode::OK,
        &json!({"ContainersDeleted": deleted, "SpaceReclaimed": space}),
    ))
}

/// The `label` and `label!` prune filters as the engine takes them
/// (`k`, `k=v`, `!k`, `!k=v`).
pub fn prune_labels(f: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for (k, vals) in f {
        match k.as_str() {
            "label" => out.extend(vals.iter().cloned()),
            "label!" => out.extend(vals.iter().map(|v| format!("!{v}"))),
            "until" => {}
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    Ok(out)
}

/// The `until` prune filter in nanoseconds: a Unix time (`1700000000`,
/// with an optional fraction), an RFC 3339 time or a duration before
/// now (`10m`, `1h30m`).
pub fn prune_until(f: &BTreeMap<String, Vec<String>>) -> Result<Option<i64>, ApiError> {
    let Some(v) = f.get("until").and_then(|v| v.first()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(format!("failed to parse value of until: {v}"));
    if let Some(n) = parse_unix(v) {
        return Ok(Some(n));
    }
    if let Some(n) = list::nanos(v) {
        return Ok(Some(n));
    }
    let d = parse_duration(v).ok_or_else(bad)?;
    let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).map_err(|_| bad())?;
    Ok(Some(now - d))
}

/// `secs[.fraction]` → nanoseconds.
pub fn parse_unix(v: &str) -> Option<i64> {
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = s.parse().ok()?;
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(secs * 1_000_000_000 + nanos)
}

/// Go's `time.ParseDuration` for h/m/s/ms units → nanoseconds.
fn parse_duration(v: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_until_takes_unix_times_and_durations() {
        assert_eq!(parse_unix("12.5"), Some(12_500_000_000));
        assert_eq!(parse_unix("x"), None);
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("10"), None);
        let mut f = BTreeMap::new();
        f.insert("until".to_string(), vec!["10".to_string()]);
        assert_eq!(prune_until(&f).unwrap(), Some(10_000_000_000));
        f.insert("label!".to_string(), vec!["a=b".to_string()]);
        assert_eq!(prune_labels(&f).unwrap(), vec!["!a=b"]);
        f.insert("bogus".to_string(), vec![]);
        assert!(prune_labels(&f).is_err());
    }
}
