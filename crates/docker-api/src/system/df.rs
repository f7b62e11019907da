//! `GET /system/df?type=…`: disk usage of layers, images, containers and
//! volumes (`BuildCache` is always empty: the build cache lives in the
//! images themselves).

use std::collections::HashMap;
use std::path::Path;

use http::StatusCode;
use serde_json::{json, Value};
use wharf_engine::{Container, Engine};

use crate::http::{json, query, ApiError, ApiResult, Ctx, Request};
use crate::images::pipe::blocking;
use crate::volumes::volume_json;

/// `GET /system/df`.
pub(crate) async fn df(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let mut kinds: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .collect();
    for k in &kinds {
        if !matches!(k.as_str(), "container" | "image" | "volume" | "build-cache") {
            return Err(ApiError::bad_request(format!("unknown object type: {k}")));
        }
    }
    if kinds.is_empty() || !ctx.at_least(42) {
        kinds = ["container", "image", "volume", "build-cache"]
            .map(String::from)
            .to_vec();
    }
    let engine = ctx.engine.clone();
    let old = !ctx.at_least(44);
    let mut body = blocking(move || df_value(&engine, &kinds)).await?;
    if old {
        for img in body["Images"].as_array_mut().into_iter().flatten() {
            img["VirtualSize"] = img["Size"].clone();
        }
    }
    if !ctx.at_least(42) {
        body["BuilderSize"] = json!(0);
    }
    Ok(json(StatusCode::OK, &body))
}

fn df_value(engine: &Engine, kinds: &[String]) -> wharf_engine::Result<Value> {
    let want = |k: &str| kinds.iter().any(|x| x == k);
    let containers = engine.containers(true)?;
    let mut out = serde_json::Map::new();
    if want("image") {
        let images = engine.images()?;
        let mut users: HashMap<String, usize> = HashMap::new();
        for img in &images {
            for l in &img.layers {
                *users.entry(l.chain_id.to_string()).or_default() += 1;
            }
        }
        let mut layers_size = 0u64;
        for chain in engine.store().layers().unwrap_or_default() {
            if let Ok(l) = engine.store().layer(&chain) {
                layers_size += l.size;
            }
        }
        let parents: std::collections::HashSet<String> = images
            .iter()
            .filter_map(|i| i.parent.as_ref().map(|p| p.to_string()))
            .collect();
        // Like `docker images` without `-a`: no intermediate images.
        let list: Vec<Value> = images
            .iter()
            .filter(|img| !(img.references.is_empty() && parents.contains(img.id.as_str())))
            .map(|img| {
                let shared: u64 = img
                    .layers
                    .iter()
                    .filter(|l| users.get(l.chain_id.as_str()).is_some_and(|n| *n > 1))
                    .map(|l| l.size)
                    .sum();
                let used = containers
                    .iter()
                    .filter(|c| c.image_id == img.id.as_str())
                    .count();
                json!({
                    "Containers": used,
                    "Created": img.created.map_or(0, |t| t.unix_timestamp()),
                    "Id": img.id.as_str(),
                    "Labels": crate::images::labels_value(img),
                    "ParentId": img.parent.as_ref().map_or(String::new(), |p| p.to_string()),
                    "RepoDigests": img.repo_digests,
                    "RepoTags": img.repo_tags,
                    "SharedSize": shared,
                    "Size": img.size,
                })
            })
            .collect();
        out.insert("LayersSize".into(), json!(layers_size));
        out.insert("Images".into(), json!(list));
    }
    if want("container") {
        let ids = crate::networks::network_ids(engine);
        let list: Vec<Value> = containers
            .iter()
            .map(|c| container_json(engine, c, &ids))
            .collect();
        out.insert("Containers".into(), json!(list));
    }
    if want("volume") {
        let mut refs: HashMap<String, i64> = HashMap::new();
        for c in &containers {
            for m in &c.mounts {
                if let Some(n) = &m.name {
                    *refs.entry(n.clone()).or_default() += 1;
                }
            }
        }
        let list: Vec<Value> = engine
            .volumes()
            .list()?
            .iter()
            .map(|v| {
                let size = engine.volumes().size(&v.name).unwrap_or(-1);
                let n = refs.get(&v.name).copied().unwrap_or(0);
                volume_json(v, Some((size, n)))
            })
            .collect();
        out.insert("Volumes".into(), json!(list));
    }
    if want("build-cache") {
        out.insert("BuildCache".into(), json!([]));
    }
    Ok(Value::Object(out))
}

/// Bytes of the regular files under `dir` (hard links once).
fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                total += m.len();
            }
        }
    }
    total
}

/// A container summary as `system df` lists it: the list entry with its
/// sizes.
fn container_json(
    engine: &Engine,
    c: &Container,
    ids: &crate::networks::endpoint::NetIds,
) -> Value {
    let size_rw = engine
        .store()
        .snapshot(&c.snapshot)
        .map(|s| dir_size(&s.upper))
        .unwrap_or(0);
    let image_size = c
        .image_id
        .parse()
        .ok()
        .and_then(|d| engine.store().image_by_id(&d).ok())
        .map_or(0, |i| i.size);
    let mut v = crate::containers::list::list_entry(c, ids);
    v["SizeRw"] = json!(size_rw);
    v["SizeRootFs"] = json!(size_rw + image_size);
    v
}
