//! What every handler shares: the request context, bodies, JSON replies
//! and Docker's error bodies.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use wharf_engine::{Engine, EngineError, Kind};

/// A request as hyper gives it.
pub type Request = hyper::Request<hyper::body::Incoming>;
/// A response body: full or streamed.
pub type Body = BoxBody<Bytes, std::io::Error>;
/// A response.
pub type Response = hyper::Response<Body>;

/// Per-request context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The API version the client asked for (`/v1.41/…`), else the newest:
    /// (major, minor).
    pub version: (u32, u32),
}

impl Ctx {
    /// Whether the request's version is at least `1.minor`.
    pub fn at_least(&self, minor: u32) -> bool {
        self.version >= (1, minor)
    }
}

/// An API error: a status and Docker's `{"message": …}` body.
#[derive(Debug)]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// Docker's answer to a route it does not serve (any method or path
    /// it does not know): 404 `{"message":"page not found"}`.
    pub fn page_not_found() -> Self {
        Self::not_found("page not found")
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = match e.kind {
            Kind::InvalidArgument => StatusCode::BAD_REQUEST,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::NotModified => StatusCode::NOT_MODIFIED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::System => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.full_message())
    }
}

/// A handler's result.
pub type ApiResult = Result<Response, ApiError>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// `status` with a JSON body (Docker ends JSON replies with a newline).
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut bytes = serde_json::to_vec(value).expect("API values always serialize");
    bytes.push(b'\n');
    let mut resp = hyper::Response::new(full(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `status` with no body (204, 304, …).
pub fn status(status: StatusCode) -> Response {
    let mut resp = hyper::Response::new(empty());
    *resp.status_mut() = status;
    resp
}

/// Docker's error reply.
pub fn error_response(e: &ApiError) -> Response {
    if e.status == StatusCode::NOT_MODIFIED {
        return status(e.status);
    }
    json(e.status, &serde_json::json!({ "message": e.message }))
}

/// The body, at most `limit` bytes (413 beyond).
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(req.into_body(), limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "failed to read the request body: {e}"
        ))),
    }
}

/// The body parsed as JSON `T` (empty body: `T::default()`); unknown
/// fields are ignored like Docker does, syntax errors are 400.
pub async fn read_json<T: serde::de::DeserializeOwned + Default>(
    req: Request,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = read_body(req, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// The query string as (key, value) pairs, percent-decoded.
pub fn query(req: &Request) -> Vec<(String, String)> {
    let q = req.uri().query().unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The last value of `key`.
pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A boolean query flag as Docker reads it: absent/""/"0"/"false" are false.
pub fn flag(q: &[(String, String)], key: &str) -> bool {
    !matches!(
        param(q, key).map(str::to_ascii_lowercase).as_deref(),
        None | Some("" | "0" | "false" | "no")
    )
}

/// `%xx` and `+` decoding.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `filters` (`{"label":["a=b"],"status":{"running":true}}` or the old
/// list form) as key → values.
pub fn filters(
    q: &[(String, String)],
) -> Result<std::collections::BTreeMap<String, Vec<String>>, ApiError> {
    let mut out = std::collections::BTreeMap::new();
    let Some(raw) = param(q, "filters").filter(|s| !s.is_empty()) else {
        return Ok(out);
    };
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request("invalid filter: not an object"))?;
    for (k, vals) in obj {
        let list: Vec<String> = match vals {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(_, b)| b.as_bool() == Some(true))
                .map(|(s, _)| s.clone())
                .collect(),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

/// Runs a blocking engine call on tokio's blocking pool.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> wharf_engine::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("engine task failed: {e}"))),
    }
}

/// Runs blocking work that answers in API terms on tokio's blocking pool.
pub async fn blocking_api<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(format!("engine task failed: {e}"))))
}
