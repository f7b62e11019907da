//! Images in and out: `POST /images/create` (import of a root filesystem
//! tar from the body; a pull answers that the registry cannot be reached,
//! pulling comes with the registry issue), `POST /images/load`,
//! `GET /images/{name}/get` and `GET /images/get?names=…` (save), and
//! `POST /images/{name}/push` (no registry either).

use std::io::BufReader;

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;
use wharf_engine::images::ImportOptions;
use wharf_image::reference::Reference;

use super::pipe::{blocking, error_line, json_line, streamed, BodyReader, ChanWriter};
use super::remove::repo_tag;
use crate::http::{full, param, query, ApiError, ApiResult, Ctx, Request};

/// What a pull or push says on a host without a registry: the lookup of
/// `domain`'s registry host fails, as it does for dockerd offline.
pub(crate) fn unreachable(domain: &str) -> String {
    let host = crate::system::auth::registry_host(domain);
    format!("Get \"https://{host}/v2/\": dial tcp: lookup {host}: no such host")
}

/// `POST /images/create`.
pub(crate) async fn create(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    let from_image = param(&q, "fromImage").unwrap_or("");
    let repo = param(&q, "repo").unwrap_or("");
    let tag = param(&q, "tag").unwrap_or("");
    if !from_image.is_empty() {
        let name = from_image.trim_end_matches(':');
        let r = Reference::parse(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            unreachable(r.domain()),
        ));
    }
    let src = param(&q, "fromSrc").unwrap_or("").to_string();
    let reference = repo_tag(repo, tag)?;
    let changes: Vec<String> = q
        .iter()
        .filter(|(k, v)| k == "changes" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let message = param(&q, "message")
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("Imported from {src}"), str::to_string);
    if src != "-" {
        let url = match src.contains("://") {
            true => src.clone(),
            false => format!("http://{src}"),
        };
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Get \"{url}\": dial tcp: lookup {host}: no such host"),
        ));
    }
    if let Err(e) = wharf_engine::images::import_config(&changes) {
        // Read the archive first, as dockerd does: a client still sending
        // it would otherwise see its connection closed under it.
        let mut body = req.into_body();
        while let Some(Ok(_)) = http_body_util::BodyExt::frame(&mut body).await {}
        return Err(e.into());
    }
    let opts = ImportOptions {
        reference,
        changes,
        message: Some(message),
    };
    let body = BodyReader::new(req);
    let engine = ctx.engine.clone();
    let id = blocking(move || engine.image_import(BufReader::with_capacity(1 << 20, body), &opts))
        .await?;
    let mut resp = hyper::Response::new(full(json_line(&json!({ "status": id.as_str() }))));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// `POST /images/{name}/push`: there is no registry to push to yet.
pub(crate) fn push(name: String) -> ApiResult {
    let r = Reference::parse(&name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Err(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        unreachable(r.domain()),
    ))
}

/// `POST /images/load?quiet=`: `{"stream":"Loaded image: x:y\n"}` per tag
/// (`Loaded image ID: sha256:…` for an untagged image); failures are
/// reported in the stream with status 200, as Docker does.
pub(crate) async fn load(ctx: Ctx, req: Request) -> ApiResult {
    let body = BodyReader::new(req);
    let engine = ctx.engine.clone();
    let (resp, tx) = streamed("application/json");
    tokio::spawn(async move {
        let result = tokio::task::spawn_blocking(move || {
            engine.image_load(BufReader::with_capacity(1 << 20, body))
        })
        .await;
        let lines: Vec<Bytes> = match result {
            Ok(Ok(report)) => report
                .renamed
                .iter()
                .map(|(t, old)| {
                    format!(
                        "The image {t} already exists, renaming the old one with ID {old} to empty string\n"
                    )
                })
                .chain(report.loaded.iter().flat_map(|l| match l.tags.is_empty() {
                    true => vec![format!("Loaded image ID: {}\n", l.id)],
                    false => l
                        .tags
                        .iter()
                        .map(|t| format!("Loaded image: {t}\n"))
                        .collect(),
                }))
                .map(|s| json_line(&json!({ "stream": s })))
                .collect(),
            Ok(Err(e)) => vec![error_line(&e.full_message())],
            Err(e) => vec![error_line(&e.to_string())],
        };
        for l in lines {
            if tx.send(l).await.is_err() {
                break;
            }
        }
    });
    Ok(resp)
}

/// `GET /images/{name}/get` (`name` given) or `GET /images/get?names=…`:
/// the images as one tar archive.
pub(crate) async fn get(ctx: Ctx, req: Request, name: Option<String>) -> ApiResult {
    let names: Vec<String> = match name {
        Some(n) => vec![n],
        None => query(&req)
            .into_iter()
            .filter(|(k, _)| k == "names")
            .map(|(_, v)| v)
            .collect(),
    };
    let engine = ctx.engine.clone();
    let names = blocking(move || engine.image_save_names(&names)).await?;
    let engine = ctx.engine.clone();
    let (resp, tx) = streamed("application/x-tar");
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, ChanWriter::new(tx));
        // A failure half way shows as a truncated archive, as with Docker.
        if engine.image_save(&names, &mut out).is_ok() {
            let _ = std::io::Write::flush(&mut out);
        }
    });
    Ok(resp)
}
