//! The filesystem endpoints: changes, export and archive (`docker cp`).
//! (waiting for the engine's fsops)

use crate::http::{ApiError, ApiResult, Ctx, Request};

/// `GET /containers/{id}/changes`.
pub async fn changes(_ctx: Ctx, _id: &str) -> ApiResult {
    Err(ApiError::page_not_found())
}

/// `GET /containers/{id}/export`.
pub async fn export(_ctx: Ctx, _id: &str) -> ApiResult {
    Err(ApiError::page_not_found())
}

/// `GET|HEAD|PUT /containers/{id}/archive?path=`.
pub async fn archive(_ctx: Ctx, _req: Request, _id: &str) -> ApiResult {
    Err(ApiError::page_not_found())
}
