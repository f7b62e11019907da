//! `POST /images/{name}/tag`, `DELETE /images/{name}`,
//! `POST /images/prune` and `POST /commit`.

use http::StatusCode;
use serde_json::{json, Value};
use wharf_engine::commit::CommitOptions;
use wharf_image::gc::Removed;
use wharf_image::reference::Reference;

use super::list::img_labels;
use super::pipe::blocking;
use super::{bool_filter, check_filters, parse_time};
use crate::http::{
    filters, flag, json, param, query, read_body, status, ApiError, ApiResult, Ctx, Request,
};

/// `repo` and `tag` query values as one reference (Docker's
/// `RepoTagReference`), with Docker's refusals.
pub(crate) fn repo_tag(repo: &str, tag: &str) -> Result<Option<String>, ApiError> {
    if repo.is_empty() {
        return Ok(None);
    }
    let r = Reference::parse(repo).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if r.familiar_name() == "sha256" {
        return Err(ApiError::bad_request(
            "refusing to create an ambiguous tag using digest algorithm as name",
        ));
    }
    if tag.is_empty() {
        return Ok(Some(repo.to_string()));
    }
    if tag.starts_with("sha256:") || r.tag().is_some() || r.digest().is_some() {
        return Err(ApiError::bad_request(
            "refusing to create a tag with a digest reference",
        ));
    }
    let full = format!("{repo}:{tag}");
    Reference::parse(&full).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Some(full))
}

/// `POST /images/{name}/tag?repo=…&tag=…` → 201.
pub(crate) async fn tag(ctx: Ctx, req: Request, name: String) -> ApiResult {
    let q = query(&req);
    let target = repo_tag(
        param(&q, "repo").unwrap_or(""),
        param(&q, "tag").unwrap_or(""),
    )?
    .ok_or_else(|| {
        ApiError::bad_request(
            "invalid reference format: repository name must have at least one component",
        )
    })?;
    let engine = ctx.engine.clone();
    blocking(move || engine.image_tag(&name, &target)).await?;
    Ok(status(StatusCode::CREATED))
}

/// Docker's delete response items.
fn removed_json(records: &[Removed]) -> Vec<Value> {
    records
        .iter()
        .map(|r| match r {
            Removed::Untagged(t) => json!({ "Untagged": t }),
            Removed::Deleted(d) => json!({ "Deleted": d.as_str() }),
        })
        .collect()
}

/// `DELETE /images/{name}?force=&noprune=`.
pub(crate) async fn delete(ctx: Ctx, req: Request, name: String) -> ApiResult {
    if name.trim().is_empty() {
        return Err(ApiError::bad_request("image name cannot be blank"));
    }
    let q = query(&req);
    let (force, prune) = (flag(&q, "force"), !flag(&q, "noprune"));
    let engine = ctx.engine.clone();
    let records = blocking(move || engine.image_remove_with(&name, force, prune)).await?;
    Ok(json(StatusCode::OK, &removed_json(&records)))
}

/// `POST /images/prune?filters=…` (`dangling`, `until`, `label`, `label!`).
pub(crate) async fn prune(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let f = filters(&q)?;
    check_filters(&f, &["dangling", "until", "label", "label!"])?;
    let dangling = bool_filter(&f, "dangling")?.unwrap_or(true);
    let until = match f.get("until").and_then(|v| v.first()) {
        Some(v) => Some(
            parse_time(v)
                .ok_or_else(|| ApiError::bad_request(format!("invalid filter 'until={v}'")))?,
        ),
        None => None,
    };
    let with = f.get("label").cloned().unwrap_or_default();
    let without = f.get("label!").cloned().unwrap_or_default();
    let engine = ctx.engine.clone();
    let (records, reclaimed) = blocking(move || {
        let keep = |img: &wharf_image::store::Image| {
            let labels = img_labels(img);
            let created = img.created.map_or(0, |t| t.unix_timestamp_nanos() as i64);
            until.is_none_or(|u| created < u)
                && super::labels_match(&with, &labels)
                && (without.is_empty()
                    || !without
                        .iter()
                        .any(|w| super::labels_match(std::slice::from_ref(w), &labels)))
        };
        engine.image_prune(!dangling, &keep)
    })
    .await?;
    let deleted = match records.is_empty() {
        true => Value::Null,
        false => json!(removed_json(&records)),
    };
    Ok(json(
        StatusCode::OK,
        &json!({ "ImagesDeleted": deleted, "SpaceReclaimed": reclaimed }),
    ))
}

/// `POST /commit?container=…&repo=…&tag=…&comment=…&author=…&pause=…&changes=…`
/// → 201 `{"Id": …}`. The body (a container config) is read and ignored:
/// the container's own config is the base, `changes` adjust it.
pub(crate) async fn commit(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let container = param(&q, "container").unwrap_or("").to_string();
    let reference = repo_tag(
        param(&q, "repo").unwrap_or(""),
        param(&q, "tag").unwrap_or(""),
    )?;
    let pause = match param(&q, "pause") {
        None | Some("") => true,
        Some(_) => flag(&q, "pause"),
    };
    let opts = CommitOptions {
        reference,
        comment: param(&q, "comment").unwrap_or("").to_string(),
        author: param(&q, "author").unwrap_or("").to_string(),
        changes: q
            .iter()
            .filter(|(k, v)| k == "changes" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        pause,
    };
    let body = read_body(req, 1 << 20).await?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    }
    let engine = ctx.engine.clone();
    let id = blocking(move || engine.commit(&container, &opts)).await?;
    Ok(json(StatusCode::CREATED, &json!({ "Id": id.as_str() })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_and_tag_make_one_reference() {
        assert_eq!(repo_tag("", "").ok().flatten(), None);
        assert_eq!(repo_tag("a", "").ok().flatten().as_deref(), Some("a"));
        assert_eq!(
            repo_tag("a/b", "1").ok().flatten().as_deref(),
            Some("a/b:1")
        );
        assert!(repo_tag("A", "1").is_err());
        assert!(repo_tag("a", "bad tag").is_err());
        assert!(repo_tag("sha256", "1").is_err());
        let e = repo_tag("a:1", "2").expect_err("a tag twice");
        assert_eq!(
            e.message,
            "refusing to create a tag with a digest reference"
        );
    }
}
