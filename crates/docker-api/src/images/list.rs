//! `GET /images/json`: Docker's image summaries with the filters
//! `dangling`, `label`, `before`, `since`, `until` and `reference`, `all`
//! (intermediate images too) and `shared-size`.

use std::collections::{BTreeMap, HashMap};

use http::StatusCode;
use serde_json::{json, Value};
use wharf_image::reference::Reference;
use wharf_image::store::Image;

use super::pipe::blocking;
use super::{bool_filter, check_filters, labels_match, parse_time};
use crate::http::{filters, flag, json, query, ApiError, ApiResult, Ctx, Request};

const ACCEPTED: &[&str] = &["dangling", "label", "before", "since", "until", "reference"];

/// `GET /images/json`.
pub(crate) async fn list(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let mut f = filters(&q)?;
    if !ctx.at_least(41) {
        if let Some(v) = crate::http::param(&q, "filter").filter(|v| !v.is_empty()) {
            f.entry("reference".into()).or_default().push(v.to_string());
        }
    }
    check_filters(&f, ACCEPTED)?;
    let dangling = bool_filter(&f, "dangling")?;
    let all = flag(&q, "all");
    let shared = ctx.at_least(42) && flag(&q, "shared-size");
    let engine = ctx.engine.clone();
    let mut images = blocking(move || engine.images()).await?;
    // Docker lists newest first.
    images.sort_by_key(|i| std::cmp::Reverse(created_nanos(i)));
    let bound = |key: &str| -> Result<Option<i64>, ApiError> {
        let Some(v) = f.get(key).and_then(|v| v.first()) else {
            return Ok(None);
        };
        let img = images
            .iter()
            .find(|i| is_named(i, v))
            .ok_or_else(|| ApiError::not_found(format!("No such image: {}", shown(v))))?;
        Ok(Some(created_nanos(img)))
    };
    let before = bound("before")?;
    let since = bound("since")?;
    let until = match f.get("until").and_then(|v| v.first()) {
        Some(v) => Some(
            parse_time(v)
                .ok_or_else(|| ApiError::bad_request(format!("invalid filter 'until={v}'")))?,
        ),
        None => None,
    };
    let labels = f.get("label").cloned().unwrap_or_default();
    let patterns = f.get("reference").cloned().unwrap_or_default();
    let children: HashMap<String, usize> = images
        .iter()
        .filter_map(|i| i.parent.as_ref().map(|p| p.to_string()))
        .fold(HashMap::new(), |mut m, p| {
            *m.entry(p).or_default() += 1;
            m
        });
    let layer_users = layer_users(&images);
    let mut out = Vec::new();
    for img in &images {
        let created = created_nanos(img);
        if before.is_some_and(|b| created >= b)
            || since.is_some_and(|s| created <= s)
            || until.is_some_and(|u| created >= u)
        {
            continue;
        }
        let img_labels = img_labels(img);
        if !labels_match(&labels, &img_labels) {
            continue;
        }
        let is_dangling = img.references.is_empty();
        if let Some(d) = dangling {
            if d != is_dangling {
                continue;
            }
        }
        let (mut tags, mut digests) = (img.repo_tags.clone(), img.repo_digests.clone());
        if !patterns.is_empty() {
            let keep = |r: &String| patterns.iter().any(|p| familiar_match(p, r));
            tags.retain(keep);
            digests.retain(keep);
            if tags.is_empty() && digests.is_empty() {
                continue;
            }
        }
        if is_dangling && !all && children.contains_key(img.id.as_str()) {
            continue;
        }
        let shared_size = match shared {
            true => img
                .layers
                .iter()
                .filter(|l| layer_users.get(l.chain_id.as_str()).is_some_and(|n| *n > 1))
                .map(|l| l.size as i64)
                .sum::<i64>(),
            false => -1,
        };
        out.push(summary(&ctx, img, tags, digests, shared_size));
    }
    Ok(json(StatusCode::OK, &out))
}

/// One summary in Docker's shape for the request's version.
fn summary(
    ctx: &Ctx,
    img: &Image,
    mut tags: Vec<String>,
    mut digests: Vec<String>,
    shared_size: i64,
) -> Value {
    if !ctx.at_least(43) && tags.is_empty() && digests.is_empty() {
        tags.push("<none>:<none>".into());
        digests.push("<none>@<none>".into());
    }
    let mut v = json!({
        "Containers": -1,
        "Created": created_secs(img),
        "Id": img.id.as_str(),
        "Labels": labels_value(img),
        "ParentId": img.parent.as_ref().map_or(String::new(), |p| p.to_string()),
        "RepoDigests": digests,
        "RepoTags": tags,
        "SharedSize": shared_size,
        "Size": img.size,
    });
    if !ctx.at_least(44) {
        v["VirtualSize"] = json!(img.size);
    }
    v
}

/// How many images use each layer (by chain ID).
fn layer_users(images: &[Image]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for img in images {
        for l in &img.layers {
            *m.entry(l.chain_id.to_string()).or_insert(0) += 1;
        }
    }
    m
}

/// `Labels` as Docker shows them: the config's map, `null` when it has
/// none.
pub(crate) fn labels_value(img: &Image) -> Value {
    match img.config.config.as_ref().and_then(|c| c.labels.as_ref()) {
        Some(m) => json!(m),
        None => Value::Null,
    }
}

/// The image's config labels.
pub(crate) fn img_labels(img: &Image) -> BTreeMap<String, String> {
    img.config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

/// Creation time in nanoseconds (0 when unknown).
fn created_nanos(img: &Image) -> i64 {
    img.created.map_or(0, |t| {
        i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
    })
}

/// Creation time in Unix seconds (0 when unknown).
pub(crate) fn created_secs(img: &Image) -> i64 {
    img.created.map_or(0, |t| t.unix_timestamp())
}

/// Whether `name` (a reference or an ID prefix) names `img`.
fn is_named(img: &Image, name: &str) -> bool {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if !hex.is_empty() && img.id.hex().starts_with(hex) {
        return true;
    }
    match Reference::parse(name) {
        Ok(r) => {
            let r = r.with_default_tag();
            img.references.contains(&r)
        }
        Err(_) => false,
    }
}

fn shown(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.with_default_tag().familiar())
        .unwrap_or_else(|_| name.to_string())
}

/// Docker's `reference.FamiliarMatch`: the glob against the familiar
/// string (`busybox:latest`) or, failing that, the familiar name.
pub(crate) fn familiar_match(pattern: &str, familiar: &str) -> bool {
    if glob(pattern.as_bytes(), familiar.as_bytes()) {
        return true;
    }
    let name = match familiar.split_once('@') {
        Some((n, _)) => n,
        None => match familiar.rfind(':') {
            Some(i) if !familiar[i..].contains('/') => &familiar[..i],
            _ => familiar,
        },
    };
    glob(pattern.as_bytes(), name.as_bytes())
}

/// Go's `path.Match`: `*` and `?` do not cross `/`; `[…]` classes.
pub(crate) fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if glob(rest, &s[i..]) {
                    return true;
                }
                if i >= s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        Some(b'?') => !s.is_empty() && s[0] != b'/' && glob(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = p.iter().position(|&c| c == b']') else {
                return false;
            };
            let Some(&c) = s.first() else { return false };
            let mut class = &p[1..end];
            let negate = class.first() == Some(&b'^');
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&p[end + 1..], &s[1..])
        }
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_globs_match_like_docker() {
        assert!(familiar_match("busybox", "busybox:latest"));
        assert!(familiar_match("busy*", "busybox:latest"));
        assert!(familiar_match("busybox:lat*", "busybox:latest"));
        assert!(!familiar_match("busy", "busybox:latest"));
        assert!(!familiar_match("*", "library/x:1"));
        assert!(familiar_match("*/x", "foo/x:1"));
        assert!(familiar_match("localhost:5000/x", "localhost:5000/x:1"));
        assert!(glob(b"a[b-d]?", b"acz"));
        assert!(!glob(b"a[^b-d]", b"ac"));
    }
}
