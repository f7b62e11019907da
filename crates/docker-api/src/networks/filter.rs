//! The filters of `GET /networks` and `POST /networks/prune`, checked and
//! matched as dockerd does (`name` and `id` match anywhere, like its
//! regular expressions on plain text; `driver` and `scope` exactly).

use std::collections::BTreeMap;

use wharf_engine::model::Network;

use super::shape::PREDEFINED;
use crate::http::ApiError;
use crate::images::{bool_filter, check_filters, labels_match, parse_time};

/// Filter key → values, as [`crate::http::filters`] reads them.
pub type Filters = BTreeMap<String, Vec<String>>;

/// The list's filters, checked.
#[derive(Debug)]
pub struct ListFilter {
    f: Filters,
    dangling: Option<bool>,
}

impl ListFilter {
    /// Checks the keys and the values of `type` and `dangling`.
    pub fn new(f: Filters) -> Result<ListFilter, ApiError> {
        check_filters(
            &f,
            &["name", "id", "driver", "type", "scope", "label", "dangling"],
        )?;
        if let Some(bad) = f.get("type").and_then(|t| {
            t.iter()
                .find(|t| !matches!(t.as_str(), "custom" | "builtin"))
        }) {
            return Err(ApiError::bad_request(format!(
                "invalid filter 'type={bad}'"
            )));
        }
        let dangling = bool_filter(&f, "dangling")?;
        Ok(ListFilter { f, dangling })
    }

    /// Whether matching needs each network's member count.
    pub fn needs_members(&self) -> bool {
        self.dangling.is_some()
    }

    /// Whether `n`, with `members` running containers on it, is listed.
    pub fn matches(&self, n: &Network, members: usize) -> bool {
        let any = |key: &str, test: &dyn Fn(&str) -> bool| {
            self.f
                .get(key)
                .filter(|v| !v.is_empty())
                .is_none_or(|vals| vals.iter().any(|v| test(v)))
        };
        let builtin = PREDEFINED.contains(&n.name.as_str());
        let dangling_ok = match self.dangling {
            None => true,
            Some(true) => !builtin && members == 0,
            Some(false) => builtin || members > 0,
        };
        any("name", &|v| n.name.contains(v))
            && any("id", &|v| n.id.contains(v))
            && any("driver", &|v| n.driver == v)
            && any("scope", &|v| v == "local")
            && any("type", &|v| (v == "builtin") == builtin)
            && self
                .f
                .get("label")
                .is_none_or(|l| labels_match(l, &n.labels))
            && dangling_ok
    }
}

/// The prune's filters: `until` (created before) and `label`/`label!`.
#[derive(Debug)]
pub struct PruneFilter {
    until: Option<i64>,
    labels: Vec<String>,
    not_labels: Vec<String>,
}

impl PruneFilter {
    /// Checks the keys and parses `until`.
    pub fn new(f: &Filters) -> Result<PruneFilter, ApiError> {
        check_filters(f, &["until", "label", "label!"])?;
        let until = match f.get("until").map(Vec::as_slice) {
            None | Some([]) => None,
            Some([u]) => Some(parse_time(u).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "failed to parse value as time or duration: \"{u}\""
                ))
            })?),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "more than one until filter specified",
                ))
            }
        };
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        Ok(PruneFilter {
            until,
            labels: get("label"),
            not_labels: get("label!"),
        })
    }

    /// Whether `n` may be pruned (the engine still keeps the predefined
    /// networks and those with containers).
    pub fn matches(&self, n: &Network) -> bool {
        let created = crate::containers::list::nanos(&n.created).unwrap_or(0);
        self.until.is_none_or(|u| created < u)
            && labels_match(&self.labels, &n.labels)
            && (self.not_labels.is_empty() || !labels_match(&self.not_labels, &n.labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Filters {
        let mut out = Filters::new();
        for (k, v) in pairs {
            out.entry(k.to_string()).or_default().push(v.to_string());
        }
        out
    }

    fn net(name: &str, id: &str, labels: &[(&str, &str)]) -> Network {
        Network {
            name: name.into(),
            id: id.into(),
            driver: if name == "host" { "host" } else { "bridge" }.into(),
            created: "2026-01-01T00:00:00Z".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn list_filters_match_like_dockerd() {
        let (bridge, host) = (net("bridge", "c5a1fb", &[]), net("host", "5a4ce2", &[]));
        let un = net("un", "3a716f", &[("env", "dev")]);
        let keep = |pairs: &[(&str, &str)], n: &Network, members: usize| {
            ListFilter::new(f(pairs)).unwrap().matches(n, members)
        };
        assert!(keep(&[("name", "u")], &un, 0));
        assert!(!keep(&[("name", "x")], &un, 0));
        assert!(keep(&[("id", "716")], &un, 0));
        assert!(keep(&[("driver", "host")], &host, 0) && !keep(&[("driver", "host")], &un, 0));
        assert!(keep(&[("type", "builtin")], &bridge, 0) && !keep(&[("type", "builtin")], &un, 0));
        assert!(keep(&[("type", "custom")], &un, 0) && !keep(&[("type", "custom")], &host, 0));
        assert!(keep(&[("label", "env=dev")], &un, 0) && !keep(&[("label", "env")], &bridge, 0));
        assert!(keep(&[("scope", "local")], &un, 0) && !keep(&[("scope", "swarm")], &un, 0));
        assert!(keep(&[("dangling", "true")], &un, 0));
        assert!(!keep(&[("dangling", "true")], &un, 1));
        assert!(!keep(&[("dangling", "1")], &bridge, 0));
        assert!(keep(&[("dangling", "false")], &bridge, 0));
        assert!(keep(&[("dangling", "0")], &un, 2));
    }

    #[test]
    fn bad_list_filters_are_400() {
        for (pairs, message) in [
            (vec![("bogus", "x")], "invalid filter 'bogus'"),
            (vec![("type", "foo")], "invalid filter 'type=foo'"),
            (
                vec![("dangling", "maybe")],
                "invalid filter 'dangling=maybe'",
            ),
        ] {
            let e = ListFilter::new(f(&pairs)).unwrap_err();
            assert_eq!((e.status.as_u16(), e.message.as_str()), (400, message));
        }
    }

    #[test]
    fn prune_filters_take_until_and_labels() {
        let un = net("un", "3a716f", &[("env", "dev")]);
        let p = |pairs: &[(&str, &str)]| PruneFilter::new(&f(pairs)).unwrap();
        assert!(p(&[]).matches(&un));
        assert!(p(&[("until", "2026-06-01T00:00:00Z")]).matches(&un));
        assert!(!p(&[("until", "2025-06-01T00:00:00Z")]).matches(&un));
        assert!(p(&[("label", "env=dev")]).matches(&un));
        assert!(!p(&[("label!", "env")]).matches(&un));
        assert!(p(&[("label!", "env=prod")]).matches(&un));
        assert_eq!(
            PruneFilter::new(&f(&[("name", "x")])).unwrap_err().message,
            "invalid filter 'name'"
        );
        assert!(PruneFilter::new(&f(&[("until", "soon")])).is_err());
    }
}
