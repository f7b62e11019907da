//! (being written: H-api)

use crate::http::{ApiError, ApiResult, Ctx, Request};

/// Serves `/exec/…` (see [`crate::router`]).
pub async fn route(_ctx: Ctx, _req: Request, _path: &[&str]) -> ApiResult {
    Err(ApiError::page_not_found())
}
