//! `/networks…` until container networking exists (issue 5): the two
//! predefined networks this engine has, `none` and `host`, listed and
//! inspected in Docker's shape; prune (nothing to prune), and Docker's
//! refusals for removing them. The router hooks this family with
//! `"networks" => crate::system::networks::route(ctx, req, &segs)`.

use http::{Method, StatusCode};
use serde_json::json;
use wharf_image::digest::Digest;

use crate::http::{filters, json, query, ApiError, ApiResult, Ctx, Request};
use crate::images::pipe::{blocking, name_of};

/// The predefined networks: (name, driver).
const NETWORKS: [(&str, &str); 2] = [("none", "null"), ("host", "host")];

/// Serves `/networks…` (`path` includes the family segment).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let method = req.method().clone();
    match (method, path) {
        (Method::GET, ["networks"]) => list(ctx, req).await,
        (Method::POST, ["networks", "prune"]) => Ok(json(
            StatusCode::OK,
            &json!({ "NetworksDeleted": null }),
        )),
        (Method::POST, ["networks", "create"]) => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "creating networks is not supported yet: only the predefined networks host and none exist",
        )),
        (Method::GET, ["networks", id]) => {
            let all = all_networks(&ctx).await?;
            let id = name_of(&[id]);
            find(&all, &id)
                .map(|n| raw(n.text.clone()))
                .ok_or_else(|| ApiError::not_found(format!("network {id} not found")))
        }
        (Method::DELETE, ["networks", id]) => {
            let all = all_networks(&ctx).await?;
            let id = name_of(&[id]);
            match find(&all, &id) {
                Some(n) => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("{} is a pre-defined network and cannot be removed", n.name),
                )),
                None => Err(ApiError::not_found(format!("network {id} not found"))),
            }
        }
        (Method::POST, ["networks", id, "connect" | "disconnect"]) => {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("container cannot be connected to or disconnected from network {id} here"),
            ))
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// The network whose name, full ID or ID prefix is `id`.
fn find<'a>(all: &'a [Net], id: &str) -> Option<&'a Net> {
    all.iter().find(|n| n.name == id || n.id == id).or_else(|| {
        let mut hits = all
            .iter()
            .filter(|n| !id.is_empty() && n.id.starts_with(id));
        match (hits.next(), hits.next()) {
            (Some(n), None) => Some(n),
            _ => None,
        }
    })
}

/// One network: what filters look at and its JSON text in Docker's
/// field order.
struct Net {
    name: &'static str,
    driver: &'static str,
    id: String,
    text: String,
}

/// A JSON reply made of raw text (keeps Docker's field order).
fn raw(text: String) -> crate::http::Response {
    let mut resp = hyper::Response::new(crate::http::full(text + "\n"));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn all_networks(ctx: &Ctx) -> Result<Vec<Net>, ApiError> {
    let root = ctx.engine.config().data_root.clone();
    blocking(move || {
        let engine_id = super::info::engine_id(&root);
        let created = std::fs::metadata(root.join("engine-id"))
            .and_then(|m| m.modified())
            .map(|t| wharf_image::config::format_time(time::OffsetDateTime::from(t)))
            .unwrap_or_default();
        Ok(NETWORKS
            .iter()
            .map(|(name, driver)| {
                let id = Digest::of(format!("{engine_id}/{name}").as_bytes());
                // Docker's field order (inspect prints the daemon's bytes).
                let text = format!(
                    concat!(
                        r#"{{"Name":"{}","Id":"{}","Created":"{}","Scope":"local","Driver":"{}","#,
                        r#""EnableIPv6":false,"IPAM":{{"Driver":"default","Options":null,"Config":[]}},"#,
                        r#""Internal":false,"Attachable":false,"Ingress":false,"#,
                        r#""ConfigFrom":{{"Network":""}},"ConfigOnly":false,"#,
                        r#""Containers":{{}},"Options":{{}},"Labels":{{}}}}"#
                    ),
                    name,
                    id.hex(),
                    created,
                    driver
                );
                Net {
                    name,
                    driver,
                    id: id.hex().to_string(),
                    text,
                }
            })
            .collect())
    })
    .await
}

/// `GET /networks?filters=…` (`name`, `id`, `driver`, `type`, `scope`).
async fn list(ctx: Ctx, req: Request) -> ApiResult {
    let f = filters(&query(&req))?;
    crate::images::check_filters(
        &f,
        &["name", "id", "driver", "type", "scope", "label", "dangling"],
    )?;
    let all = all_networks(&ctx).await?;
    let keep = |n: &Net| {
        let has = |key: &str, test: &dyn Fn(&str) -> bool| {
            f.get(key).is_none_or(|vals| vals.iter().any(|v| test(v)))
        };
        has("name", &|v| n.name.contains(v))
            && has("id", &|v| n.id.starts_with(v))
            && has("driver", &|v| n.driver == v)
            && has("type", &|v| v == "builtin")
            && has("scope", &|v| v == "local")
            && !f.contains_key("label")
            && has("dangling", &|v| v == "false" || v == "0")
    };
    let out: Vec<&str> = all
        .iter()
        .filter(|n| keep(n))
        .map(|n| n.text.as_str())
        .collect();
    Ok(raw(format!("[{}]", out.join(","))))
}
