//! The entries of `GET /containers/json` (list), the list's filters, and
//! the times and human durations of the `Status` column.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wharf_engine::model::{Container, Status};
use wharf_engine::Engine;

use super::inspect::mount_json;
use crate::http::ApiError;
use crate::networks::endpoint::{self, NetIds, Shown};

/// Nanoseconds since the epoch of an RFC 3339 time (None for Go's zero
/// time or garbage).
pub fn nanos(t: &str) -> Option<i64> {
    if t.is_empty() || t.starts_with("0001-") {
        return None;
    }
    let t = OffsetDateTime::parse(t, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

fn now_nanos() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// Go's `units.HumanDuration`.
pub fn human_duration(nanos: i64) -> String {
    let secs = nanos / 1_000_000_000;
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (nanos as f64 / 3.6e12).round() as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours / 24 / 365)
}

/// The `Status` column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, …
pub fn status_text(c: &Container) -> String {
    let s = &c.state;
    let now = now_nanos();
    let since = |t: &str| human_duration(nanos(t).map_or(0, |t| now - t));
    match s.status {
        Status::Running | Status::Paused => {
            let up = since(&s.started_at);
            if s.status == Status::Paused {
                return format!("Up {up} (Paused)");
            }
            match &s.health {
                Some(h) if h.status == "starting" => format!("Up {up} (health: starting)"),
                Some(h) if !h.status.is_empty() => format!("Up {up} ({})", h.status),
                _ => format!("Up {up}"),
            }
        }
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited => {
            if nanos(&s.started_at).is_none() {
                "Created".into()
            } else {
                format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at))
            }
        }
    }
}

/// One entry of `GET /containers/json`; `ids` names the networks' ids
/// (a stopped container shows the ids of the networks it joins).
pub fn list_entry(c: &Container, ids: &NetIds) -> Value {
    let mut command = vec![c.path.clone()];
    command.extend(c.args.iter().cloned());
    let created = nanos(&c.created).map_or(0, |n| n / 1_000_000_000);
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.options.image,
        "ImageID": c.image_id,
        "Command": command.join(" "),
        "Created": created,
        "Ports": endpoint::port_entries(c),
        "Labels": c.labels,
        "State": c.state.status.as_str(),
        "Status": status_text(c),
        "HostConfig": { "NetworkMode": c.options.host.network_mode },
        "NetworkSettings": {
            "Networks": endpoint::networks_json(c, ids, Shown::List),
        },
        "Mounts": c.mounts.iter().map(mount_json).collect::<Vec<_>>(),
    })
}

/// The filters `GET /containers/json` knows.
const FILTERS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "before", "since", "exited", "health", "volume",
    "network", "publish", "expose", "is-task",
];

/// Keeps the containers matching `filters` (Docker's list filters).
pub fn filter(
    engine: &Engine,
    mut list: Vec<Container>,
    filters: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Container>, ApiError> {
    for k in filters.keys() {
        if !FILTERS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
        }
    }
    let get = |k: &str| filters.get(k).filter(|v| !v.is_empty());
    if let Some(st) = get("status") {
        for s in st {
            if !matches!(
                s.as_str(),
                "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead"
            ) {
                return Err(ApiError::bad_request(format!(
                    "invalid filter 'status={s}'"
                )));
            }
        }
        list.retain(|c| st.iter().any(|s| s == c.state.status.as_str()));
    }
    if let Some(ids) = get("id") {
        list.retain(|c| ids.iter().any(|i| c.id.starts_with(i.as_str())));
    }
    if let Some(names) = get("name") {
        list.retain(|c| {
            names
                .iter()
                .any(|n| c.name.contains(n.trim_start_matches('/')))
        });
    }
    if let Some(labels) = get("label") {
        list.retain(|c| {
            labels.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
                None => c.labels.contains_key(l),
            })
        });
    }
    if let Some(codes) = get("exited") {
        let mut want = Vec::new();
        for c in codes {
            want.push(
                c.parse::<i32>()
                    .map_err(|_| ApiError::bad_request(format!("invalid filter 'exited={c}'")))?,
            );
        }
        list.retain(|c| c.state.status == Status::Exited && want.contains(&c.state.exit_code));
    }
    if let Some(hs) = get("health") {
        list.retain(|c| {
            let h = c
                .state
                .health
                .as_ref()
                .map_or("none", |h| h.status.as_str());
            hs.iter().any(|x| x == h)
        });
    }
    if let Some(ancestors) = get("ancestor") {
        let ids: Vec<String> = ancestors
            .iter()
            .filter_map(|a| engine.store().image_id(a).ok().map(|d| d.to_string()))
            .collect();
        list.retain(|c| {
            ancestors
                .iter()
                .any(|a| *a == c.options.image || c.image_id.contains(a.as_str()))
                || ids.contains(&c.image_id)
        });
    }
    if let Some(vols) = get("volume") {
        list.retain(|c| {
            c.mounts.iter().any(|m| {
                vols.iter()
                    .any(|v| m.name.as_deref() == Some(v.as_str()) || m.destination == *v)
            })
        });
    }
    if let Some(nets) = get("network") {
        // By name, or by a prefix of the id (dockerd: of the endpoint's
        // NetworkID, which a container gets at its first start).
        let ids = crate::networks::network_ids(engine);
        list.retain(|c| {
            endpoint::network_names(c, &ids).iter().any(|name| {
                let id = endpoint::network_id(c, name, &ids);
                nets.iter()
                    .any(|n| n == name || (!id.is_empty() && id.starts_with(n.as_str())))
            })
        });
    }
    for (key, published) in [("publish", true), ("expose", false)] {
        if let Some(specs) = get(key) {
            let mut wanted = Vec::new();
            for s in specs {
                wanted.push(port_filter(key, s)?);
            }
            list.retain(|c| {
                endpoint::port_map(c).iter().any(|(k, binds)| {
                    let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
                    let hit = |p: u16| {
                        wanted
                            .iter()
                            .any(|(lo, hi, pr)| (*lo..=*hi).contains(&p) && pr == proto)
                    };
                    if published {
                        binds.iter().any(|(_, host)| hit(*host))
                    } else {
                        port.parse().is_ok_and(hit)
                    }
                })
            });
        }
    }
    // `list` is newest first: `before` keeps what was created before the
    // named container, `since` what came after it.
    for (key, after) in [("before", false), ("since", true)] {
        if let Some(refs) = get(key) {
            let r = &refs[0];
            let pivot = engine.container(r).map_err(ApiError::from)?;
            let pn = nanos(&pivot.created).unwrap_or(0);
            list.retain(|c| {
                let n = nanos(&c.created).unwrap_or(0);
                if after {
                    n > pn
                } else {
                    n < pn
                }
            });
        }
    }
    Ok(list)
}

/// A `publish`/`expose` filter value (`80`, `80/udp`, `8000-8010/tcp`)
/// as (low, high, proto).
fn port_filter(key: &str, s: &str) -> Result<(u16, u16, String), ApiError> {
    let bad = || ApiError::bad_request(format!("invalid filter '{key}={s}'"));
    let (range, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if hi < lo {
        return Err(bad());
    }
    Ok((lo, hi, proto.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_read_like_go_units() {
        let s = 1_000_000_000i64;
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(s), "1 second");
        assert_eq!(human_duration(59 * s), "59 seconds");
        assert_eq!(human_duration(60 * s), "About a minute");
        assert_eq!(human_duration(5 * 60 * s), "5 minutes");
        assert_eq!(human_duration(3600 * s), "About an hour");
        assert_eq!(human_duration(3 * 3600 * s), "3 hours");
        assert_eq!(human_duration(3 * 86400 * s), "3 days");
        assert_eq!(human_duration(20 * 86400 * s), "2 weeks");
    }

    #[test]
    fn publish_and_expose_values_parse_like_dockerd() {
        assert_eq!(
            port_filter("publish", "80").unwrap(),
            (80, 80, "tcp".into())
        );
        assert_eq!(
            port_filter("expose", "8000-8010/udp").unwrap(),
            (8000, 8010, "udp".into())
        );
        assert_eq!(port_filter("expose", "80/icmp").unwrap().2, "icmp");
        for bad in ["x", "90-80", "70000"] {
            let e = port_filter("publish", bad).unwrap_err();
            assert_eq!(e.message, format!("invalid filter 'publish={bad}'"));
        }
    }

    #[test]
    fn status_text_of_created_and_exited() {
        let mut c = Container::default();
        assert_eq!(status_text(&c), "Created");
        c.state.status = Status::Exited;
        c.state.exit_code = 3;
        c.state.started_at = "2020-01-01T00:00:00Z".into();
        c.state.finished_at = "2020-01-01T00:00:01Z".into();
        assert!(
            status_text(&c).starts_with("Exited (3) "),
            "{}",
            status_text(&c)
        );
    }
}
