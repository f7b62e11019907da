//! `GET /events`: JSON lines in Docker's `events.Message` shape, the
//! kept history for `since`/`until`, then live events until `until` or
//! the client leaves; filters `type`, `event`, `container`, `image`,
//! `volume`, `network`, `daemon`, `label`, `scope`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use wharf_engine::Event;

use crate::http::{filters, param, query, ApiError, ApiResult, Ctx, Request};

/// Clients streaming events now (`NEventsListener` of `/info`).
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

/// How many clients stream events.
pub(crate) fn listeners() -> usize {
    LISTENERS.load(Ordering::Relaxed)
}

/// Docker's `events.Message`, fields in Docker's order.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    status: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    from: &'a str,
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Action")]
    action: &'a str,
    #[serde(rename = "Actor")]
    actor: Actor<'a>,
    scope: &'static str,
    time: i64,
    #[serde(rename = "timeNano")]
    time_nano: i64,
}

#[derive(Serialize)]
struct Actor<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Attributes")]
    attributes: &'a BTreeMap<String, String>,
}

/// An event as one JSON line.
pub(crate) fn line(e: &Event) -> Bytes {
    let legacy = matches!(e.kind.as_str(), "container" | "image");
    let from = match e.kind.as_str() {
        "container" => e.attributes.get("image").map_or("", String::as_str),
        _ => "",
    };
    let m = Message {
        status: if legacy { &e.action } else { "" },
        id: if legacy { &e.id } else { "" },
        from,
        kind: &e.kind,
        action: &e.action,
        actor: Actor {
            id: &e.id,
            attributes: &e.attributes,
        },
        scope: "local",
        time: e.time_nano.div_euclid(1_000_000_000),
        time_nano: e.time_nano,
    };
    let mut s = wharf_image::config::go_json(&m);
    s.push('\n');
    Bytes::from(s)
}

/// The request's filters.
pub(crate) struct Filter(BTreeMap<String, Vec<String>>);

impl Filter {
    fn exact(&self, key: &str, value: &str) -> bool {
        self.0
            .get(key)
            .is_none_or(|vals| vals.iter().any(|v| v == value))
    }

    fn fuzzy(&self, key: &str, value: &str) -> bool {
        self.0
            .get(key)
            .is_none_or(|vals| vals.iter().any(|v| value.starts_with(v.as_str())))
    }

    fn fuzzy_name(&self, key: &str, e: &Event) -> bool {
        match self.0.get(key) {
            None => true,
            Some(_) => {
                let name = e.attributes.get("name").map_or("", String::as_str);
                (self.fuzzy(key, &e.id) && !e.id.is_empty())
                    || (!name.is_empty() && self.fuzzy(key, name))
            }
        }
    }

    fn image(&self, e: &Event) -> bool {
        if !self.0.contains_key("image") {
            return true;
        }
        let attr = if e.kind == "image" { "name" } else { "image" };
        let name = e.attributes.get(attr).map_or("", String::as_str);
        [e.id.as_str(), name]
            .iter()
            .filter(|s| !s.is_empty())
            .any(|s| self.exact("image", s) || self.exact("image", strip_tag(s)))
    }

    /// Docker's `events.Filter.Include`.
    pub(crate) fn include(&self, e: &Event) -> bool {
        let fuzzy_event = self.0.get("event").is_some_and(|v| {
            v.iter()
                .any(|x| matches!(x.as_str(), "health_status" | "exec_create" | "exec_start"))
        });
        let event_ok = match fuzzy_event {
            true => self.fuzzy("event", &e.action),
            false => self.exact("event", &e.action),
        };
        event_ok
            && self.exact("type", &e.kind)
            && self.exact("scope", "local")
            && self.fuzzy_name("daemon", e)
            && self.fuzzy_name("container", e)
            && self.fuzzy_name("volume", e)
            && self.fuzzy_name("network", e)
            && self.fuzzy_name("plugin", e)
            && self.image(e)
            && ["node", "service", "secret", "config"]
                .iter()
                .all(|k| !self.0.contains_key(*k))
            && crate::images::labels_match(
                self.0.get("label").map_or(&[][..], Vec::as_slice),
                &e.attributes,
            )
    }
}

/// `busybox:latest` → `busybox` (a digest or a registry port stays).
fn strip_tag(s: &str) -> &str {
    if s.contains('@') {
        return s;
    }
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => &s[..i],
        _ => s,
    }
}

/// `GET /events?since=&until=&filters=`.
pub(crate) async fn events(ctx: Ctx, req: Request) -> ApiResult {
    let q = query(&req);
    // Docker checks the syntax of the filters, not their keys.
    let f = filters(&q)?;
    let time = |key: &str| -> Result<Option<i64>, ApiError> {
        match param(&q, key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => crate::images::parse_time(v)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("invalid value for {key}: {v}"))),
        }
    };
    let since = time("since")?;
    let until = time("until")?;
    let filter = Filter(f);
    let (history, mut rx) = ctx.engine.events().subscribe();
    // Ends at the daemon's shutdown too, not holding it up.
    let (tx, body) = crate::streams::endless_body(16);
    let resp = crate::streams::streaming("application/json", body);
    LISTENERS.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let _count = Listening;
        let in_range = |e: &Event| {
            since.is_none_or(|s| e.time_nano >= s) && until.is_none_or(|u| e.time_nano <= u)
        };
        if since.is_some() || until.is_some() {
            for e in history.iter().filter(|e| in_range(e) && filter.include(e)) {
                if tx.send(Ok(line(e))).await.is_err() {
                    return;
                }
            }
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
        let deadline = until.map(|u| {
            tokio::time::Instant::now()
                + std::time::Duration::from_nanos(u.saturating_sub(now).max(0) as u64)
        });
        if until.is_some_and(|u| u <= now) {
            return;
        }
        loop {
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok(),
                    None => Some(rx.recv().await),
                }
            };
            tokio::select! {
                got = next => match got {
                    None => return,
                    Some(Ok(e)) => {
                        if in_range(&e) && filter.include(&e) && tx.send(Ok(line(&e))).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(RecvError::Lagged(_))) => continue,
                    Some(Err(RecvError::Closed)) => return,
                },
                _ = tx.closed() => return,
            }
        }
    });
    Ok(resp)
}

/// Counts a listener while alive.
struct Listening;

impl Drop for Listening {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
        Event {
            kind: kind.into(),
            action: action.into(),
            id: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            time_nano: 1_700_000_000_123_456_789,
        }
    }

    fn filter(f: &[(&str, &[&str])]) -> Filter {
        Filter(
            f.iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        )
    }

    #[test]
    fn filters_match_like_dockers() {
        let start = ev(
            "container",
            "start",
            "abcdef",
            &[("name", "web"), ("image", "busybox:latest"), ("a", "b")],
        );
        let health = ev(
            "container",
            "health_status: healthy",
            "abcdef",
            &[("name", "web")],
        );
        let tag = ev("image", "tag", "sha256:1234", &[("name", "busybox:latest")]);
        assert!(filter(&[]).include(&start));
        assert!(filter(&[("container", &["web"])]).include(&start));
        assert!(filter(&[("container", &["abc"])]).include(&start));
        assert!(!filter(&[("container", &["web"])]).include(&tag));
        assert!(filter(&[("image", &["busybox"])]).include(&start));
        assert!(filter(&[("image", &["busybox:latest"])]).include(&tag));
        assert!(!filter(&[("image", &["other"])]).include(&tag));
        assert!(filter(&[("event", &["health_status"])]).include(&health));
        assert!(!filter(&[("event", &["health"])]).include(&health));
        assert!(filter(&[("type", &["image"])]).include(&tag));
        assert!(!filter(&[("type", &["volume"])]).include(&tag));
        assert!(filter(&[("label", &["a=b"])]).include(&start));
        assert!(!filter(&[("label", &["a=c"])]).include(&start));
        assert!(!filter(&[("service", &["x"])]).include(&start));
    }

    #[test]
    fn messages_have_dockers_shape() {
        let start = ev("container", "start", "abcdef", &[("image", "busybox")]);
        let v: serde_json::Value = serde_json::from_slice(&line(&start)).expect("JSON");
        assert_eq!(v["status"], "start");
        assert_eq!(v["id"], "abcdef");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["time"], 1_700_000_000);
        assert_eq!(v["timeNano"], 1_700_000_000_123_456_789_i64);
        let vol = ev("volume", "create", "data", &[("driver", "local")]);
        let text = String::from_utf8(line(&vol).to_vec()).expect("UTF-8");
        assert!(
            text.starts_with(
                "{\"Type\":\"volume\",\"Action\":\"create\",\"Actor\":{\"ID\":\"data\""
            ),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
    }
}
