//! `/volumes…`: list (filters `dangling`, `name`, `label`, `driver`),
//! create (201), inspect, delete (204; 409 in use), prune (API 1.42+:
//! anonymous volumes only unless the filter `all=true`).

use std::collections::{BTreeMap, HashSet};

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_engine::{Event, Volume};

use crate::http::{
    filters, flag, json, query, read_json, status, ApiError, ApiResult, Ctx, Request,
};
use crate::images::pipe::{blocking, name_of};
use crate::images::{bool_filter, check_filters, labels_match};

/// Serves `/volumes…` (`path` includes the family segment).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let method = req.method().clone();
    match (method, path) {
        (Method::GET, ["volumes"]) => list(ctx, req).await,
        (Method::POST, ["volumes", "create"]) => create(ctx, req).await,
        (Method::POST, ["volumes", "prune"]) => prune(ctx, req).await,
        (Method::GET, ["volumes", name @ ..]) if !name.is_empty() => {
            let name = name_of(name);
            let engine = ctx.engine.clone();
            let v = blocking(move || engine.volumes().get(&name)).await?;
            Ok(json(StatusCode::OK, &volume_json(&v, None)))
        }
        (Method::DELETE, ["volumes", name @ ..]) if !name.is_empty() => {
            let name = name_of(name);
            let force = flag(&query(&req), "force");
            let engine = ctx.engine.clone();
            blocking(move || engine.volume_remove(&name, force)).await?;
            Ok(status(StatusCode::NO_CONTENT))
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// A map as Docker shows it: `null` when empty.
fn map_or_null(m: &BTreeMap<String, String>) -> Value {
    match m.is_empty() {
        true => Value::Null,
        false => json!(m),
    }
}

/// Docker's `Volume`; `usage` = (size, ref count) for `system df`.
pub(crate) fn volume_json(v: &Volume, usage: Option<(i64, i64)>) -> Value {
    let mut out = json!({
        "CreatedAt": v.created_at,
        "Driver": v.driver,
        "Labels": map_or_null(&v.labels),
        "Mountpoint": v.mountpoint.display().to_string(),
        "Name": v.name,
        "Options": map_or_null(&v.options),
        "Scope": "local",
    });
    if let Some((size, refs)) = usage {
        out["UsageData"] = json!({ "RefCount": refs, "Size": size });
    }
    out
}

/// Names of the volumes some container mounts.
fn used_volumes(ctx: &Ctx) -> wharf_engine::Result<HashSet<String>> {
    Ok(ctx
        .engine
        .containers(true)?
        .iter()
        .flat_map(|c| c.mounts.iter().filter_map(|m| m.name.clone()))
        .collect())
}

/// `GET /volumes?filters=…`.
async fn list(ctx: Ctx, req: Request) -> ApiResult {
    let f = filters(&query(&req))?;
    check_filters(&f, &["dangling", "name", "label", "driver"])?;
    let dangling = bool_filter(&f, "dangling")?;
    let names = f.get("name").cloned().unwrap_or_default();
    let labels = f.get("label").cloned().unwrap_or_default();
    let drivers = f.get("driver").cloned().unwrap_or_default();
    let c = ctx.clone();
    let (vols, used) =
        blocking(move || Ok((c.engine.volumes().list()?, used_volumes(&c)?))).await?;
    let out: Vec<Value> = vols
        .iter()
        .filter(|v| names.is_empty() || names.iter().any(|n| v.name.contains(n.as_str())))
        .filter(|v| drivers.is_empty() || drivers.contains(&v.driver))
        .filter(|v| labels_match(&labels, &v.labels))
        .filter(|v| dangling.is_none_or(|d| d != used.contains(&v.name)))
        .map(|v| volume_json(v, None))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "Volumes": out, "Warnings": null }),
    ))
}

/// `POST /volumes/create` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create` → 201.
async fn create(ctx: Ctx, req: Request) -> ApiResult {
    let body: CreateBody = read_json(req, 1 << 20).await?;
    let engine = ctx.engine.clone();
    let v = blocking(move || {
        let name = body.name.filter(|n| !n.is_empty());
        let driver = body.driver.filter(|d| !d.is_empty());
        let v = engine.volumes().create(
            name.as_deref(),
            driver.as_deref().unwrap_or("local"),
            body.labels.unwrap_or_default(),
            body.driver_opts.unwrap_or_default(),
        )?;
        // Docker emits `create` for an existing volume too.
        engine.events().emit(Event {
            kind: "volume".into(),
            action: "create".into(),
            id: v.name.clone(),
            attributes: BTreeMap::from([("driver".to_string(), v.driver.clone())]),
            time_nano: 0,
        });
        Ok(v)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &volume_json(&v, None)))
}

/// `POST /volumes/prune?filters=…` (`label`, `label!`, `all`).
async fn prune(ctx: Ctx, req: Request) -> ApiResult {
    let f = filters(&query(&req))?;
    check_filters(&f, &["label", "label!", "all"])?;
    let all = !ctx.at_least(42) || bool_filter(&f, "all")?.unwrap_or(false);
    let mut labels = f.get("label").cloned().unwrap_or_default();
    labels.extend(
        f.get("label!")
            .into_iter()
            .flatten()
            .map(|l| format!("!{l}")),
    );
    let engine = ctx.engine.clone();
    let (names, bytes) = blocking(move || {
        let (names, bytes) = engine.volume_prune(&labels, all)?;
        engine.events().emit(Event {
            kind: "volume".into(),
            action: "prune".into(),
            id: String::new(),
            attributes: BTreeMap::from([("reclaimed".to_string(), bytes.to_string())]),
            time_nano: 0,
        });
        Ok((names, bytes))
    })
    .await?;
    let deleted = match names.is_empty() {
        true => Value::Null,
        false => json!(names),
    };
    Ok(json(
        StatusCode::OK,
        &json!({ "VolumesDeleted": deleted, "SpaceReclaimed": bytes }),
    ))
}
