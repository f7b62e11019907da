//! `/images/…` and `/commit`: list, inspect, history, tag, delete, prune,
//! create (import; pull answers that no registry can be reached), get
//! (save), load and commit, with Docker's JSON shapes and status codes.

mod inspect;
mod list;
pub(crate) mod pipe;
mod remove;
mod transfer;

pub(crate) use list::labels_value;

use http::Method;

use crate::http::{ApiError, ApiResult, Ctx, Request};

/// Serves `/images/…` and `/commit` (`path` includes the family segment).
pub async fn route(ctx: Ctx, req: Request, path: &[&str]) -> ApiResult {
    let method = req.method().clone();
    match (method, path) {
        (Method::POST, ["commit"]) => remove::commit(ctx, req).await,
        (Method::GET, ["images", "json"]) => list::list(ctx, req).await,
        (Method::POST, ["images", "create"]) => transfer::create(ctx, req).await,
        (Method::POST, ["images", "load"]) => transfer::load(ctx, req).await,
        (Method::GET, ["images", "get"]) => transfer::get(ctx, req, None).await,
        (Method::POST, ["images", "prune"]) => remove::prune(ctx, req).await,
        (Method::GET, ["images", "search"]) => Err(ApiError::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            transfer::unreachable("docker.io"),
        )),
        (Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            inspect::inspect(ctx, pipe::name_of(name)).await
        }
        (Method::GET, ["images", name @ .., "history"]) if !name.is_empty() => {
            inspect::history(ctx, pipe::name_of(name)).await
        }
        (Method::GET, ["images", name @ .., "get"]) if !name.is_empty() => {
            transfer::get(ctx, req, Some(pipe::name_of(name))).await
        }
        (Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            remove::tag(ctx, req, pipe::name_of(name)).await
        }
        (Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            transfer::push(pipe::name_of(name))
        }
        (Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            remove::delete(ctx, req, pipe::name_of(name)).await
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// Nanoseconds (or seconds with a fraction) since the epoch from Docker's
/// time filters: a Unix time (`1700000000`, `1700000000.5`), an RFC 3339
/// time, or a Go duration before now (`10m`, `1h30m`).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(secs) && (frac.is_empty() || digits(frac)) {
        let whole: i64 = secs.parse().ok()?;
        let mut nanos = String::from(frac);
        nanos.truncate(9);
        while nanos.len() < 9 {
            nanos.push('0');
        }
        let nanos: i64 = nanos.parse().ok()?;
        return whole.checked_mul(1_000_000_000)?.checked_add(nanos);
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp_nanos() as i64);
    }
    parse_duration(s).map(|d| now - d)
}

/// A Go duration (`1h30m`, `10s`, `500ms`) in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Some(total as i64)
}

/// `label` filter values (`k` or `k=v`) against a label map.
pub(crate) fn labels_match(
    wanted: &[String],
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(w.as_str()),
    })
}

/// Fails with Docker's `Invalid filter 'k'` for keys not in `accepted`.
pub(crate) fn check_filters(
    f: &std::collections::BTreeMap<String, Vec<String>>,
    accepted: &[&str],
) -> Result<(), ApiError> {
    match f.keys().find(|k| !accepted.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        None => Ok(()),
    }
}

/// A boolean filter (`dangling`): `true`/`1` or `false`/`0`, else Docker's
/// error.
pub(crate) fn bool_filter(
    f: &std::collections::BTreeMap<String, Vec<String>>,
    key: &str,
) -> Result<Option<bool>, ApiError> {
    let Some(values) = f.get(key) else {
        return Ok(None);
    };
    let mut out = None;
    for v in values {
        let b = match v.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(ApiError::bad_request(format!("invalid filter '{key}={v}'"))),
        };
        out = Some(out.unwrap_or(false) || b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filters_parse_like_docker() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000_000_000));
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(
            parse_time("1700000000.123456789"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_time("soon"), None);
        let ago = parse_time("10m").expect("a duration");
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
        assert!(now - ago >= 600_000_000_000);
    }

    #[test]
    fn filters_are_checked_like_docker() {
        let mut f = std::collections::BTreeMap::new();
        f.insert("dangling".to_string(), vec!["true".to_string()]);
        assert_eq!(bool_filter(&f, "dangling").ok().flatten(), Some(true));
        assert!(check_filters(&f, &["dangling"]).is_ok());
        let e = check_filters(&f, &["label"]).expect_err("dangling is not accepted");
        assert_eq!(e.message, "invalid filter 'dangling'");
        f.insert("dangling".to_string(), vec!["maybe".to_string()]);
        let e = bool_filter(&f, "dangling").expect_err("maybe is no boolean");
        assert_eq!(e.message, "invalid filter 'dangling=maybe'");
        let labels = [("a".to_string(), "b".to_string())].into_iter().collect();
        assert!(labels_match(&["a".into(), "a=b".into()], &labels));
        assert!(!labels_match(&["a=c".into()], &labels));
        assert!(!labels_match(&["x".into()], &labels));
    }
}
