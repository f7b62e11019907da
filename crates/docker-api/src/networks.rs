//! `/networks…`: Docker's network endpoints on top of the engine's
//! networks (list, inspect, create, remove, connect, disconnect, prune).
//!
//! The JSON shapes are in [`shape`], the request bodies and the checks
//! dockerd makes before its network controller in [`body`], the list and
//! prune filters in [`filter`], and a container's view of its networks
//! (inspect's and list's `NetworkSettings`, `Ports`) in [`endpoint`];
//! a container create's `NetworkingConfig` in [`joining`].

pub mod body;
pub mod endpoint;
pub mod filter;
pub mod joining;
pub mod shape;

use http::{Method, StatusCode};
use serde_json::json;
use wharf_engine::model::Network;
use wharf_engine::Engine;

use crate::containers::MAX_JSON;
use crate::http::{
    blocking, filters, json, param, query, read_json, status, ApiError, ApiResult, Ctx, Request,
};
use crate::images::pipe::name_of;
use shape::NetworkJson;

/// Serves `/networks…` (`path` includes the family segment).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let method = req.method().clone();
    match (method, path) {
        (Method::GET, ["networks"]) => list(ctx, req).await,
        (Method::POST, ["networks", "create"]) => create(ctx, req).await,
        (Method::POST, ["networks", "prune"]) => prune(ctx, req).await,
        (Method::GET, ["networks", id]) => inspect(ctx, req, &name_of(&[id])).await,
        (Method::DELETE, ["networks", id]) => {
            let (engine, id) = (ctx.engine.clone(), name_of(&[id]));
            blocking(move || engine.network_remove(&id)).await?;
            Ok(status(StatusCode::NO_CONTENT))
        }
        (Method::POST, ["networks", id, "connect"]) => connect(ctx, req, &name_of(&[id])).await,
        (Method::POST, ["networks", id, "disconnect"]) => {
            disconnect(ctx, req, &name_of(&[id])).await
        }
        _ => Err(ApiError::page_not_found()),
    }
}

/// `GET /networks?filters=…`: every network, `Containers` left empty as
/// dockerd leaves it in lists since API 1.28.
async fn list(ctx: Ctx, req: Request) -> ApiResult {
    let f = filter::ListFilter::new(filters(&query(&req))?)?;
    let engine = ctx.engine.clone();
    let out = blocking(move || {
        let mut out = Vec::new();
        for n in engine.networks()? {
            let members = if f.needs_members() {
                engine.network_members(&n.id)?.len()
            } else {
                0
            };
            if f.matches(&n, members) {
                out.push(NetworkJson::of(&n, &[]));
            }
        }
        Ok(out)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// `GET /networks/{id}?verbose=&scope=`: a network with its running
/// containers. `verbose` only adds swarm details, which a local network
/// has none of; a scope other than `local` finds nothing, as in dockerd.
async fn inspect(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let q = query(&req);
    if param(&q, "scope").is_some_and(|s| !s.is_empty() && s != "local") {
        return Err(ApiError::not_found(format!("network {id} not found")));
    }
    let (engine, id) = (ctx.engine.clone(), id.to_string());
    let out = blocking(move || {
        let n = engine.network(&id)?;
        let members = engine.network_members(&n.id)?;
        Ok(NetworkJson::of(&n, &members))
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// `POST /networks/create` → 201 `{"Id": …, "Warning": ""}`.
async fn create(ctx: Ctx, req: Request) -> ApiResult {
    let body: body::CreateBody = read_json(req, MAX_JSON).await?;
    let opts = body.into_create()?;
    let engine = ctx.engine.clone();
    let n = blocking(move || engine.network_create(opts)).await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({"Id": n.id, "Warning": ""}),
    ))
}

/// `POST /networks/{id}/connect` → 200, empty.
async fn connect(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let body: body::ConnectBody = read_json(req, MAX_JSON).await?;
    let opts = body.endpoint_config.into_options()?;
    ctx.engine
        .network_connect(id, &body.container, opts)
        .await?;
    Ok(status(StatusCode::OK))
}

/// `POST /networks/{id}/disconnect` → 200, empty.
async fn disconnect(ctx: Ctx, req: Request, id: &str) -> ApiResult {
    let body: body::DisconnectBody = read_json(req, MAX_JSON).await?;
    ctx.engine
        .network_disconnect(id, &body.container, body.force)
        .await?;
    Ok(status(StatusCode::OK))
}

/// `POST /networks/prune?filters=…` → `{"NetworksDeleted": [names] | null}`.
async fn prune(ctx: Ctx, req: Request) -> ApiResult {
    let f = filter::PruneFilter::new(&filters(&query(&req))?)?;
    let engine = ctx.engine.clone();
    let deleted = blocking(move || engine.networks_prune(&|n: &Network| f.matches(n))).await?;
    let deleted = (!deleted.is_empty()).then_some(deleted);
    Ok(json(StatusCode::OK, &json!({ "NetworksDeleted": deleted })))
}

/// Network name → id of every network (for a container's endpoints that
/// are not attached now); empty when the engine cannot tell.
pub(crate) fn network_ids(engine: &Engine) -> std::collections::BTreeMap<String, String> {
    engine
        .networks()
        .map(|all| all.into_iter().map(|n| (n.name, n.id)).collect())
        .unwrap_or_default()
}
