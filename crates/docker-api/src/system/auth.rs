//! `POST /auth` (`docker login`) and `POST /session` (BuildKit's session).
//!
//! Login: Wharf has no registry client yet (the registry issue brings it),
//! so `/auth` goes as far as dockerd does before it speaks to a registry:
//! it picks the endpoints (Docker Hub's `registry-1.docker.io` for an
//! empty or Hub address; `https` and then plain `http` for a registry on a
//! loopback address, which Docker treats as insecure) and dials each.
//! When none can be reached it answers as dockerd does (500, Go's words:
//! `Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect:
//! connection refused`); a registry that answers gets a clear 500 that
//! login is not supported yet.
//!
//! Session: dockerd answers a request without `Upgrade: h2c` with 400
//! `no upgrade proto in request` (or `protocol X not supported`); Wharf has
//! no BuildKit (its `/_ping` says `Builder-Version: 1`), so an `h2c`
//! upgrade is refused with a 400 as well instead of hanging.

use std::net::IpAddr;
use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

use crate::http::{read_json, ApiError, ApiResult, Request};

/// Go's default dial timeout of the registry client.
const DIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Docker Hub's registry host.
const HUB_REGISTRY: &str = "registry-1.docker.io";

/// The login body (`AuthConfig`); only the address matters here.
#[derive(Debug, Default, Deserialize)]
struct AuthBody {
    #[serde(default, rename = "serveraddress")]
    server_address: String,
}

/// The registry's `host[:port]` for a login address, as Docker's
/// `ConvertToHostname` and its Hub aliases see it.
pub fn registry_host(address: &str) -> String {
    let rest = address
        .strip_prefix("https://")
        .or_else(|| address.strip_prefix("http://"))
        .unwrap_or(address);
    let host = rest.split('/').next().unwrap_or("");
    match host {
        "" | "index.docker.io" | "docker.io" | "registry-1.docker.io" => HUB_REGISTRY.into(),
        h => h.to_string(),
    }
}

/// Whether Docker treats the registry as insecure by default: its host is
/// in 127.0.0.0/8 (or names a loopback address, `localhost`).
fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => name == "localhost",
    }
}

/// The URLs dockerd tries, in order.
pub fn endpoints(host: &str) -> Vec<String> {
    let mut out = vec![format!("https://{host}/v2/")];
    if is_loopback(host) {
        out.push(format!("http://{host}/v2/"));
    }
    out
}

/// The first nameserver of /etc/resolv.conf, as Go names it in a failed
/// lookup.
fn nameserver() -> String {
    std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|t| {
            t.lines()
                .filter_map(|l| l.strip_prefix("nameserver"))
                .map(|ns| ns.trim().to_string())
                .next()
        })
        .unwrap_or_else(|| "127.0.0.1".into())
}

/// Go's text for a failed connect.
fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        std::io::ErrorKind::TimedOut => "i/o timeout".into(),
        _ => {
            // Go's words: lower case, without Rust's "(os error N)".
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            format!("connect: {}", text.to_lowercase())
        }
    }
}

/// Dials `url`'s host; `Err` is the request error as Go prints it.
async fn dial(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split('/').next().unwrap_or("");
    let port = if scheme == "https" { 443 } else { 80 };
    let target = match host.rsplit_once(':') {
        Some((_, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => host.to_string(),
        _ => format!("{host}:{port}"),
    };
    let name = target.rsplit_once(':').map_or(host, |(h, _)| h);
    let fail = |why: String| format!("Get \"{url}\": dial tcp{why}");
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host(&target).await {
        Ok(a) => a.collect(),
        Err(_) => {
            return Err(fail(format!(
                ": lookup {name} on {}:53: no such host",
                nameserver()
            )))
        }
    };
    let mut last = fail(format!(": lookup {name}: no such host"));
    for addr in addrs {
        match tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => last = fail(format!(" {addr}: {}", connect_error(&e))),
            Err(_) => last = fail(format!(" {addr}: i/o timeout")),
        }
    }
    Err(last)
}

/// `POST /auth`.
pub async fn auth(req: Request) -> ApiResult {
    let body: AuthBody = read_json(req, 1 << 20).await?;
    let host = registry_host(&body.server_address);
    let mut last = String::new();
    for url in endpoints(&host) {
        match dial(&url).await {
            Ok(()) => {
                return Err(ApiError::internal(format!(
                    "login to {host} is not supported by wharf yet (no registry client)"
                )))
            }
            Err(e) => last = e,
        }
    }
    Err(ApiError::internal(last))
}

/// `POST /session`.
pub async fn session(req: Request) -> ApiResult {
    let proto = req
        .headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let message = match proto.as_str() {
        "" => "no upgrade proto in request".to_string(),
        "h2c" => {
            "session is not supported: wharf has no BuildKit (use the classic builder)".to_string()
        }
        p => format!("protocol {p} not supported"),
    };
    Err(ApiError::new(StatusCode::BAD_REQUEST, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_endpoints_as_dockerd_picks_them() {
        assert_eq!(registry_host(""), HUB_REGISTRY);
        assert_eq!(registry_host("https://index.docker.io/v1/"), HUB_REGISTRY);
        assert_eq!(registry_host("http://127.0.0.1:1/x"), "127.0.0.1:1");
        assert_eq!(
            endpoints(HUB_REGISTRY),
            ["https://registry-1.docker.io/v2/"]
        );
        assert_eq!(
            endpoints("localhost:5000"),
            ["https://localhost:5000/v2/", "http://localhost:5000/v2/"]
        );
        assert_eq!(endpoints("10.0.0.1").len(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_loopback_registry_is_reported_in_gos_words() {
        // Port 1 on loopback: nothing listens there.
        let e = dial("http://127.0.0.1:1/v2/").await.unwrap_err();
        assert_eq!(
            e,
            "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
        );
    }
}
