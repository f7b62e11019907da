//! `GET /images/{name}/json` and `GET /images/{name}/history`.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::Serialize;
use serde_json::json;
use wharf_image::config::RunConfig;
use wharf_image::store::Image;

use super::pipe::blocking;
use crate::http::{json, ApiResult, Ctx};

/// Go's zero time, what Docker shows for a time never set.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `GET /images/{name}/json`.
pub(crate) async fn inspect(ctx: Ctx, name: String) -> ApiResult {
    let engine = ctx.engine.clone();
    let (img, tagged) = blocking(move || {
        let img = engine.image(&name)?;
        let tagged = engine.image_last_tag_time(&img.id);
        Ok((img, tagged))
    })
    .await?;
    Ok(json(StatusCode::OK, &inspect_value(&ctx, &img, tagged)))
}

/// Docker's `ImageInspect`, fields in Docker's order (clients such as
/// `docker inspect` print the daemon's bytes).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InspectBody<'a> {
    id: &'a str,
    repo_tags: &'a [String],
    repo_digests: &'a [String],
    parent: String,
    comment: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_config: Option<RunConfig>,
    docker_version: &'a str,
    author: &'a str,
    config: Option<&'a RunConfig>,
    architecture: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    variant: &'a str,
    os: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    os_version: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_size: Option<u64>,
    graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    root_fs: RootFs<'a>,
    metadata: Metadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GraphDriver {
    data: Option<BTreeMap<&'static str, String>>,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RootFs<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layers: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    last_tag_time: String,
}

/// The image in Docker's inspect shape for the request's version.
/// `tagged` is when the engine last tagged it; an image tagged elsewhere
/// (a build) counts its creation.
pub(crate) fn inspect_value<'a>(
    ctx: &Ctx,
    img: &'a Image,
    tagged: Option<String>,
) -> InspectBody<'a> {
    let cfg = &img.config;
    let old = !ctx.at_least(45);
    let created = match &cfg.created {
        Some(c) => Some(c.as_str()),
        None if !ctx.at_least(44) => Some(ZERO_TIME),
        None => None,
    };
    let last_tag_time = match (img.repo_tags.is_empty(), tagged, &cfg.created) {
        (true, _, _) => ZERO_TIME.to_string(),
        (false, Some(t), _) => t,
        (false, None, Some(c)) => c.clone(),
        (false, None, None) => ZERO_TIME.to_string(),
    };
    InspectBody {
        id: img.id.as_str(),
        repo_tags: &img.repo_tags,
        repo_digests: &img.repo_digests,
        parent: img.parent.as_ref().map_or(String::new(), |p| p.to_string()),
        comment: &cfg.comment,
        created,
        container: old.then_some(cfg.container.as_str()),
        container_config: old.then(|| cfg.container_config.clone().unwrap_or_default()),
        docker_version: &cfg.docker_version,
        author: &cfg.author,
        config: cfg.config.as_ref(),
        architecture: &cfg.architecture,
        variant: &cfg.variant,
        os: &cfg.os,
        os_version: &cfg.os_version,
        size: img.size,
        virtual_size: (!ctx.at_least(44)).then_some(img.size),
        graph_driver: graph_driver(img),
        root_fs: RootFs {
            kind: "layers",
            layers: cfg.diff_ids().iter().map(|d| d.as_str()).collect(),
        },
        metadata: Metadata { last_tag_time },
    }
}

/// `GraphDriver` as overlay2 shows it: the top layer as `UpperDir`, the
/// ones below as `LowerDir` (top first).
fn graph_driver(img: &Image) -> GraphDriver {
    let Some(top) = img.layers.last() else {
        return GraphDriver {
            data: None,
            name: "overlay2",
        };
    };
    let home = top.dir.parent().unwrap_or(&top.dir);
    let mut data = BTreeMap::new();
    if img.layers.len() > 1 {
        let lower: Vec<String> = img.layers[..img.layers.len() - 1]
            .iter()
            .rev()
            .map(|l| l.dir.display().to_string())
            .collect();
        data.insert("LowerDir", lower.join(":"));
    }
    data.insert("MergedDir", home.join("merged").display().to_string());
    data.insert("UpperDir", top.dir.display().to_string());
    data.insert("WorkDir", home.join("work").display().to_string());
    GraphDriver {
        data: Some(data),
        name: "overlay2",
    }
}

/// `GET /images/{name}/history`: newest first; each entry has the ID of
/// the local image it made (`<missing>` past the local parents), its tags,
/// and the size of its layer.
pub(crate) async fn history(ctx: Ctx, name: String) -> ApiResult {
    let engine = ctx.engine.clone();
    let out = blocking(move || {
        let img = engine.image(&name)?;
        let mut layers = img.layers.iter();
        let mut rows = Vec::new();
        for h in &img.config.history {
            let size = match h.empty_layer {
                true => 0,
                false => layers.next().map_or(0, |l| l.size),
            };
            let created = h
                .created
                .as_deref()
                .and_then(|c| {
                    time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map_or(0, |t| t.unix_timestamp());
            rows.push(json!({
                "Comment": h.comment,
                "Created": created,
                "CreatedBy": h.created_by,
                "Id": "<missing>",
                "Size": size,
                "Tags": null,
            }));
        }
        rows.reverse();
        let mut cur = Some(img);
        for row in rows.iter_mut() {
            let Some(i) = cur.take() else { break };
            row["Id"] = json!(i.id.as_str());
            if !i.repo_tags.is_empty() {
                row["Tags"] = json!(i.repo_tags);
            }
            cur = i
                .parent
                .as_ref()
                .and_then(|p| engine.store().image_by_id(p).ok());
        }
        Ok(rows)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}
