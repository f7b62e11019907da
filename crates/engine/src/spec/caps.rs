//! Capabilities as `docker run` sets them: Docker's default set, then
//! `--cap-drop` and `--cap-add` (names with or without `CAP_`, any case,
//! `ALL`), or every capability for `--privileged`.

use wharf_runtime::caps::TABLE;

use crate::error::{EngineError, Result};

/// `cap` in the OCI form (`CAP_NET_ADMIN`), `ALL` kept; an unknown name is
/// an error naming it (`unknown capability: "CAP_FOO"`).
pub fn normalize_cap(cap: &str) -> Result<String> {
    let upper = cap.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let name = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if TABLE.iter().any(|(_, _, n)| *n == name) {
        Ok(name)
    } else {
        Err(EngineError::invalid(format!(
            "unknown capability: {name:?}"
        )))
    }
}

/// Every capability the daemon itself holds in its bounding set (what a
/// privileged container can get: root here may lack some).
pub fn all_caps() -> Vec<String> {
    let bounding = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX);
    let last = wharf_runtime::caps::last_cap();
    TABLE
        .iter()
        .filter(|(_, n, _)| *n <= last && bounding & (1u64 << n) != 0)
        .map(|(_, _, name)| name.to_string())
        .collect()
}

/// Docker's `TweakCapabilities`: privileged gets [`all_caps`]; `ALL` in
/// `adds` is every capability but the dropped ones; `ALL` in `drops` keeps
/// only the added ones; otherwise `basics` minus drops plus adds.
pub fn tweak_caps(
    basics: &[&str],
    adds: &[String],
    drops: &[String],
    privileged: bool,
) -> Result<Vec<String>> {
    if privileged {
        return Ok(all_caps());
    }
    let norm = |list: &[String], what: &str| -> Result<Vec<String>> {
        list.iter()
            .map(|c| {
                normalize_cap(c).map_err(|e| EngineError::invalid(format!("invalid {what}: {e}")))
            })
            .collect()
    };
    let adds = norm(adds, "CapAdd")?;
    let drops = norm(drops, "CapDrop")?;
    let all = |v: &[String]| v.iter().any(|c| c == "ALL");
    let mut caps: Vec<String> = if all(&adds) {
        all_caps()
            .into_iter()
            .filter(|c| !drops.contains(c))
            .collect()
    } else if all(&drops) {
        adds.clone()
    } else {
        basics
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drops.contains(c))
            .chain(adds.iter().cloned())
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| c != "ALL" && seen.insert(c.clone()));
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[&str] = &["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"];

    #[test]
    fn names_are_normalized_and_checked() {
        assert_eq!(normalize_cap("net_admin").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(normalize_cap("CAP_sys_admin").unwrap(), "CAP_SYS_ADMIN");
        assert_eq!(normalize_cap("all").unwrap(), "ALL");
        let e = tweak_caps(BASE, &["FOO".into()], &[], false).unwrap_err();
        assert_eq!(e.message, "invalid CapAdd: unknown capability: \"CAP_FOO\"");
        let e = tweak_caps(BASE, &[], &["bar".into()], false).unwrap_err();
        assert_eq!(
            e.message,
            "invalid CapDrop: unknown capability: \"CAP_BAR\""
        );
    }

    #[test]
    fn add_and_drop_follow_docker() {
        let c = tweak_caps(BASE, &["NET_ADMIN".into()], &["kill".into()], false).unwrap();
        assert_eq!(c, ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_ADMIN"]);
        let c = tweak_caps(BASE, &["CHOWN".into()], &["ALL".into()], false).unwrap();
        assert_eq!(c, ["CAP_CHOWN"]);
        let c = tweak_caps(BASE, &["ALL".into()], &["CAP_CHOWN".into()], false).unwrap();
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        assert!(c.contains(&"CAP_SYS_ADMIN".to_string()));
        assert_eq!(tweak_caps(BASE, &[], &[], true).unwrap(), all_caps());
    }
}
