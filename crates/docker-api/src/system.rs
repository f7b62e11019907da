//! `/version`, `/info`, `/events`, `/system/df`, `/auth` and `/session`.

pub(crate) mod auth;
mod df;
mod events;
mod info;

use http::{Method, StatusCode};
use serde::Serialize;

use crate::http::{json, ApiError, ApiResult, Ctx, Request};
use crate::{API_VERSION, MIN_API_VERSION};

/// The Docker Engine version Wharf's API corresponds to (`Server:`
/// header, `/version`, `/info`).
pub const ENGINE_VERSION: &str = "27.0.0";

/// Serves `/version`, `/info`, `/events`, `/system/df`, `/auth`, `/session`.
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let method = req.method().clone();
    match (method, path) {
        (Method::GET, ["version"]) => Ok(json(StatusCode::OK, &version())),
        (Method::GET, ["info"]) => info::info(ctx).await,
        (Method::GET, ["events"]) => events::events(ctx, req).await,
        (Method::GET, ["system", "df"]) => df::df(ctx, req).await,
        (Method::POST, ["auth"]) => auth::auth(req).await,
        (Method::POST, ["session"]) => auth::session(req).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// Docker's `Version`, fields in Docker's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    platform: Platform,
    components: Vec<Component>,
    version: &'static str,
    api_version: &'static str,
    #[serde(rename = "MinAPIVersion")]
    min_api_version: &'static str,
    git_commit: &'static str,
    go_version: String,
    os: &'static str,
    arch: &'static str,
    kernel_version: String,
    build_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Platform {
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: &'static str,
    version: &'static str,
    details: serde_json::Value,
}

/// `GOARCH` of this machine (`amd64`, `arm64`).
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// `uname -r`.
pub(crate) fn kernel_version() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

/// The time this binary was built, as near as can be told: its mtime.
fn build_time() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .map(|t| wharf_image::config::format_time(time::OffsetDateTime::from(t)))
        .unwrap_or_default()
}

/// What the Go toolchain field says for a Rust build.
const TOOLCHAIN: &str = "rust (wharf)";

fn version() -> Version {
    let kernel = kernel_version();
    let build = build_time();
    let details = serde_json::json!({
        "ApiVersion": API_VERSION,
        "Arch": go_arch(),
        "BuildTime": build,
        "Experimental": "false",
        "GitCommit": env!("CARGO_PKG_VERSION"),
        "GoVersion": TOOLCHAIN,
        "KernelVersion": kernel,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": "linux",
    });
    Version {
        platform: Platform {
            name: "Wharf Engine",
        },
        components: vec![
            Component {
                name: "Engine",
                version: ENGINE_VERSION,
                details,
            },
            Component {
                name: "wharf-runtime",
                version: env!("CARGO_PKG_VERSION"),
                details: serde_json::json!({ "GitCommit": env!("CARGO_PKG_VERSION") }),
            },
        ],
        version: ENGINE_VERSION,
        api_version: API_VERSION,
        min_api_version: MIN_API_VERSION,
        git_commit: env!("CARGO_PKG_VERSION"),
        go_version: TOOLCHAIN.to_string(),
        os: "linux",
        arch: go_arch(),
        kernel_version: kernel,
        build_time: build,
    }
}
