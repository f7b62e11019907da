//! Loading and validating a bundle's `config.json`.
//!
//! Everything that can be checked before any process, mount or cgroup exists
//! is checked here, so that a broken config fails with one line naming the
//! field and leaves nothing behind.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

/// A config.json that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The config.json path.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The JSON is malformed or does not fit the OCI schema.
    #[error("invalid {path}: {field}: {message}")]
    Parse {
        /// The config.json path.
        path: PathBuf,
        /// Where in the document, e.g. `linux.namespaces[1].type`.
        field: String,
        /// What the parser said.
        message: String,
    },
    /// The JSON parses but a value is not acceptable.
    #[error("invalid config.json: {field}: {reason}")]
    Invalid {
        /// Where in the document.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A validated bundle: its directory, its spec and the resolved rootfs.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The parsed config.json.
    pub spec: Spec,
    /// `root.path` resolved against the bundle and canonicalized.
    pub rootfs: PathBuf,
}

impl Bundle {
    /// Reads `<dir>/config.json` and validates it for `create`.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let dir = std::path::absolute(dir).map_err(|source| ConfigError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("config.json");
        let spec = parse_spec(&path)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| invalid("root", "missing: a container needs a root filesystem"))?;
        let rootfs = dir.join(root.path());
        let rootfs = rootfs.canonicalize().map_err(|e| {
            invalid(
                "root.path",
                format!("root filesystem {} is not usable: {e}", rootfs.display()),
            )
        })?;
        if !rootfs.is_dir() {
            return Err(invalid(
                "root.path",
                format!("{} is not a directory", rootfs.display()),
            ));
        }
        validate(&spec)?;
        Ok(Bundle { dir, spec, rootfs })
    }
}

/// Parses a spec, naming the field where parsing failed.
pub fn parse_spec(path: &Path) -> Result<Spec, ConfigError> {
    let data = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_spec_bytes(path, &data)
}

/// Parses spec bytes; `path` is only used in messages.
pub fn parse_spec_bytes(path: &Path, data: &[u8]) -> Result<Spec, ConfigError> {
    let de = &mut serde_json::Deserializer::from_slice(data);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = match e.path().to_string().as_str() {
            "." => "(document)".to_string(),
            p => p.to_string(),
        };
        ConfigError::Parse {
            path: path.to_path_buf(),
            field,
            message: e.into_inner().to_string(),
        }
    })
}

/// Checks the rules of the runtime spec that the type system does not.
pub fn validate(spec: &Spec) -> Result<(), ConfigError> {
    if !spec.version().starts_with("1.") {
        return Err(invalid(
            "ociVersion",
            format!("unsupported version {:?}, want 1.x", spec.version()),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process", "missing: nothing to run"))?;
    validate_process(process)?;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(invalid(
                format!("mounts[{i}].destination"),
                format!("{} is not an absolute path", m.destination().display()),
            ));
        }
    }
    let Some(linux) = spec.linux() else {
        return Err(invalid(
            "linux",
            "missing: only Linux containers are supported",
        ));
    };
    let mut seen = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                format!("linux.namespaces[{i}]"),
                format!("duplicate namespace {}", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not an absolute path", p.display()),
                ));
            }
            if !p.exists() {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} does not exist", p.display()),
                ));
            }
        }
    }
    let has = |t| seen.contains(&t);
    let new_user = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    let uid_maps = linux.uid_mappings().as_deref().unwrap_or_default();
    let gid_maps = linux.gid_mappings().as_deref().unwrap_or_default();
    if new_user {
        if uid_maps.is_empty() || gid_maps.is_empty() {
            return Err(invalid(
                "linux.uidMappings",
                "a new user namespace needs uidMappings and gidMappings",
            ));
        }
        validate_mappings("linux.uidMappings", uid_maps)?;
        validate_mappings("linux.gidMappings", gid_maps)?;
    } else if has(LinuxNamespaceType::User) {
        // A joined user namespace has its mappings already; runc wants them
        // repeated in the spec, so accept them (and use the namespace's).
        validate_mappings("linux.uidMappings", uid_maps)?;
        validate_mappings("linux.gidMappings", gid_maps)?;
    } else if !uid_maps.is_empty() || !gid_maps.is_empty() {
        return Err(invalid(
            "linux.uidMappings",
            "id mappings are given but no new user namespace is requested",
        ));
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid(
            "hostname",
            "setting a hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "domainname",
            "setting a domainname needs a uts namespace",
        ));
    }
    if linux.time_offsets().is_some() && !has(LinuxNamespaceType::Time) {
        return Err(invalid(
            "linux.timeOffsets",
            "time offsets need a time namespace",
        ));
    }
    for name in linux.sysctl().iter().flat_map(|s| s.keys()) {
        validate_sysctl(name, &seen)?;
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() || !d.path().starts_with("/dev") {
            return Err(invalid(
                format!("linux.devices[{i}].path"),
                format!("{} is not an absolute path under /dev", d.path().display()),
            ));
        }
    }
    if let Some(p) = linux.cgroups_path() {
        if p.components().any(|c| c == std::path::Component::ParentDir) {
            return Err(invalid(
                "linux.cgroupsPath",
                format!("{} must not contain '..'", p.display()),
            ));
        }
    }
    Ok(())
}

fn validate_process(process: &oci_spec::runtime::Process) -> Result<(), ConfigError> {
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(invalid("process.args", "must name the program to run"));
    }
    if !process.cwd().is_absolute() {
        return Err(invalid(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    let mut seen = Vec::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if seen.contains(&r.typ()) {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                format!("duplicate rlimit {:?}", r.typ()),
            ));
        }
        seen.push(r.typ());
        if r.soft() > r.hard() {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                "soft limit is above the hard limit",
            ));
        }
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            return Err(invalid(
                format!("process.env[{i}]"),
                format!("{e:?} is not of the form KEY=value"),
            ));
        }
    }
    Ok(())
}

fn validate_mappings(field: &str, maps: &[LinuxIdMapping]) -> Result<(), ConfigError> {
    // The kernel accepts at most 340 lines in uid_map (user_namespaces(7)).
    if maps.len() > 340 {
        return Err(invalid(field, "more than 340 mappings"));
    }
    for (i, m) in maps.iter().enumerate() {
        if m.size() == 0 {
            return Err(invalid(format!("{field}[{i}].size"), "must not be 0"));
        }
        let overflow = |start: u32| start.checked_add(m.size()).is_none();
        if overflow(m.container_id()) || overflow(m.host_id()) {
            return Err(invalid(format!("{field}[{i}]"), "range exceeds 2^32"));
        }
        for (j, o) in maps.iter().enumerate().take(i) {
            let overlaps =
                |a: u32, b: u32| a < b.saturating_add(o.size()) && b < a.saturating_add(m.size());
            if overlaps(m.container_id(), o.container_id()) {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("container ids overlap with {field}[{j}]"),
                ));
            }
            if overlaps(m.host_id(), o.host_id()) {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("host ids overlap with {field}[{j}]"),
                ));
            }
        }
    }
    Ok(())
}

/// Sysctls are namespaced; one that is not would change the host.
fn validate_sysctl(name: &str, ns: &HashSet<LinuxNamespaceType>) -> Result<(), ConfigError> {
    let field = format!("linux.sysctl.{name}");
    if name.contains('/') || name.split('.').any(|p| p.is_empty() || p == "..") {
        return Err(invalid(field, "not a valid sysctl name"));
    }
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let needs = if IPC.contains(&name) || name.starts_with("fs.mqueue.") {
        LinuxNamespaceType::Ipc
    } else if name.starts_with("net.") {
        LinuxNamespaceType::Network
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        LinuxNamespaceType::Uts
    } else {
        return Err(invalid(
            field,
            "not a namespaced sysctl: it would change the host",
        ));
    };
    if !ns.contains(&needs) {
        return Err(invalid(field, format!("needs a {needs} namespace")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(patch: impl FnOnce(&mut serde_json::Value)) -> Result<(), ConfigError> {
        let mut doc = serde_json::to_value(crate::spec::default_spec(false)).unwrap();
        patch(&mut doc);
        let spec = parse_spec_bytes(Path::new("config.json"), &serde_json::to_vec(&doc).unwrap())?;
        validate(&spec)
    }

    fn field_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { field, .. } | ConfigError::Parse { field, .. } => field,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn default_spec_validates() {
        spec_with(|_| {}).unwrap();
    }

    #[test]
    fn bad_json_names_the_document() {
        let err = parse_spec_bytes(Path::new("c.json"), b"{not json").unwrap_err();
        assert!(err.to_string().starts_with("invalid c.json: "), "{err}");
    }

    #[test]
    fn unknown_namespace_names_the_field() {
        let err = spec_with(|d| d["linux"]["namespaces"][1]["type"] = "bogus".into()).unwrap_err();
        assert_eq!(field_of(err), "linux.namespaces[1].type");
    }

    #[test]
    fn relative_paths_are_refused() {
        let err = spec_with(|d| d["process"]["cwd"] = "tmp".into()).unwrap_err();
        assert_eq!(field_of(err), "process.cwd");
        let err = spec_with(|d| d["mounts"][0]["destination"] = "proc".into()).unwrap_err();
        assert_eq!(field_of(err), "mounts[0].destination");
        let err =
            spec_with(|d| d["linux"]["namespaces"][1]["path"] = "run/netns/x".into()).unwrap_err();
        assert_eq!(field_of(err), "linux.namespaces[1].path");
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let err = spec_with(|d| {
            d["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"type": "pid"}))
        })
        .unwrap_err();
        assert_eq!(field_of(err), "linux.namespaces[6]");
    }

    #[test]
    fn id_mappings_are_checked() {
        let user = |maps: serde_json::Value| {
            move |d: &mut serde_json::Value| {
                d["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"type": "user"}));
                d["linux"]["uidMappings"] = maps.clone();
                d["linux"]["gidMappings"] =
                    serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            }
        };
        spec_with(user(
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
        ))
        .unwrap();
        let err = spec_with(user(
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 0}]),
        ))
        .unwrap_err();
        assert_eq!(field_of(err), "linux.uidMappings[0].size");
        let err = spec_with(user(serde_json::json!([
            {"containerID": 0, "hostID": 1000, "size": 10},
            {"containerID": 5, "hostID": 5000, "size": 10}
        ])))
        .unwrap_err();
        assert_eq!(field_of(err), "linux.uidMappings[1]");
        let err = spec_with(|d| {
            d["linux"]["uidMappings"] =
                serde_json::json!([{"containerID": 0, "hostID": 1, "size": 1}])
        })
        .unwrap_err();
        assert_eq!(field_of(err), "linux.uidMappings");
    }

    #[test]
    fn sysctls_must_be_namespaced() {
        spec_with(|d| d["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"}))
            .unwrap();
        let err = spec_with(|d| d["linux"]["sysctl"] = serde_json::json!({"vm.swappiness": "1"}))
            .unwrap_err();
        assert_eq!(field_of(err), "linux.sysctl.vm.swappiness");
        let err =
            spec_with(|d| d["linux"]["sysctl"] = serde_json::json!({"net/../x": "1"})).unwrap_err();
        assert_eq!(field_of(err), "linux.sysctl.net/../x");
    }

    #[test]
    fn hostname_needs_uts() {
        let err = spec_with(|d| {
            d["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "uts")
        })
        .unwrap_err();
        assert_eq!(field_of(err), "hostname");
    }
}
