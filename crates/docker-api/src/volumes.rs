//! (being written: H-images)

use crate::http::{ApiError, ApiResult, Ctx, Request};

/// Serves the family (`path` includes the family segment).
pub async fn route(_ctx: Ctx, _req: Request, _path: &[&str]) -> ApiResult {
    Err(ApiError::not_found("page not found"))
}
