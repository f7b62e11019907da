//! `-v` strings and `--mount` specs checked with the rules and messages of
//! Docker's Linux mount parser.

use crate::error::{EngineError, Result};
use crate::model::{CreateOptions, MountSpec};

/// The modes `-v` accepts, by group (at most one of each).
const RW: &[&str] = &["rw", "ro"];
const LABEL: &[&str] = &["z", "Z"];
const PROPAGATION: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];
const COPY: &[&str] = &["nocopy"];
const CONSISTENCY: &[&str] = &["consistent", "cached", "delegated"];

/// The options of `tmpfs` Docker lets through (flags and `key=`).
const TMPFS_FLAGS: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "tmpcopyup",
];
const TMPFS_KEYS: &[&str] = &[
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "size",
    "mpol",
];

/// Whether `mode` is a valid `-v` mode list (`ro,Z`, `rshared`, …).
pub(crate) fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0; 5];
    for m in mode.split(',') {
        let group = [RW, LABEL, PROPAGATION, COPY, CONSISTENCY]
            .iter()
            .position(|g| g.contains(&m));
        match group {
            Some(i) => counts[i] += 1,
            None => return false,
        }
    }
    counts.iter().all(|&c| c <= 1)
}

fn invalid_spec(raw: &str) -> EngineError {
    EngineError::invalid(format!("invalid volume specification: '{raw}'"))
}

fn mount_config(kind: &str, msg: impl std::fmt::Display) -> String {
    format!("invalid mount config for type {kind:?}: {msg}")
}

fn not_absolute(p: &str) -> String {
    format!("invalid mount path: '{p}' mount path must be absolute")
}

/// Parses a `-v` string into a mount spec (`bind` when the source is an
/// absolute path, else `volume`).
pub fn parse_bind(raw: &str) -> Result<MountSpec> {
    parse_bind_mode(raw).map(|(spec, _)| spec)
}

/// [`parse_bind`] and the mode string as given (inspect shows it).
pub(crate) fn parse_bind_mode(raw: &str) -> Result<(MountSpec, String)> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => {
            if valid_mode(t) && !t.is_empty() && !t.starts_with('/') {
                return Err(EngineError::invalid(format!("invalid mode: {t}")));
            }
            (*s, *t, "")
        }
        [s, t, m] => (*s, *t, *m),
        _ => return Err(invalid_spec(raw)),
    };
    if target.is_empty() || (parts.len() > 1 && source.is_empty()) {
        return Err(invalid_spec(raw));
    }
    if !valid_mode(mode) {
        return Err(EngineError::invalid(format!("invalid mode: {mode}")));
    }
    let kind = if source.starts_with('/') {
        "bind"
    } else {
        "volume"
    };
    let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
    if kind == "bind" && modes.contains(&"nocopy") {
        return Err(EngineError::invalid(format!("invalid mode: {mode}")));
    }
    let wrap =
        |m: String| EngineError::invalid(format!("invalid volume specification: '{raw}': {m}"));
    if !target.starts_with('/') {
        return Err(wrap(mount_config(kind, not_absolute(target))));
    }
    if target.split('/').all(|p| p.is_empty() || p == ".") {
        return Err(wrap(mount_config(
            kind,
            "invalid specification: destination can't be '/'",
        )));
    }
    let spec = MountSpec {
        kind: kind.into(),
        source: source.into(),
        target: target.into(),
        read_only: modes.contains(&"ro"),
        propagation: modes
            .iter()
            .find(|m| PROPAGATION.contains(m))
            .map(|m| m.to_string()),
        no_copy: modes.contains(&"nocopy"),
        ..MountSpec::default()
    };
    Ok((spec, mode.to_string()))
}

/// Checks a `--mount` entry (the API's `Mounts`).
pub(crate) fn check_mount(m: &MountSpec) -> Result<()> {
    let kind = m.kind.as_str();
    let fail = |msg: &str| Err(EngineError::invalid(mount_config(kind, msg)));
    if !matches!(kind, "bind" | "volume" | "tmpfs") {
        return fail("mount type unknown");
    }
    if m.target.is_empty() {
        return fail("field Target must not be empty");
    }
    if !m.target.starts_with('/') {
        return fail(&not_absolute(&m.target));
    }
    if m.target.split('/').all(|p| p.is_empty() || p == ".") {
        return fail("invalid specification: destination can't be '/'");
    }
    let tmpfs_opts = m.tmpfs_size.is_some() || m.tmpfs_mode.is_some();
    let volume_opts =
        m.no_copy || !m.labels.is_empty() || !m.driver.is_empty() || !m.driver_options.is_empty();
    match kind {
        "bind" => {
            if m.source.is_empty() {
                return fail("field Source must not be empty");
            }
            if volume_opts {
                return fail("field VolumeOptions must not be specified");
            }
            if tmpfs_opts {
                return fail("field TmpfsOptions must not be specified");
            }
            if !m.source.starts_with('/') {
                return fail(&not_absolute(&m.source));
            }
            if let Some(p) = &m.propagation {
                if !PROPAGATION.contains(&p.as_str()) {
                    return fail(&format!("invalid propagation mode: {p}"));
                }
            }
            if !std::path::Path::new(&m.source).exists() {
                return fail(&format!("bind source path does not exist: {}", m.source));
            }
        }
        "volume" => {
            if m.propagation.is_some() {
                return fail("field BindOptions must not be specified");
            }
            if tmpfs_opts {
                return fail("field TmpfsOptions must not be specified");
            }
            if !m.source.is_empty() && !crate::volumes::valid_name(&m.source) {
                return Err(crate::volumes::invalid_name(&m.source));
            }
        }
        _ => {
            if !m.source.is_empty() {
                return fail("field Source must not be specified");
            }
            if m.propagation.is_some() {
                return fail("field BindOptions must not be specified");
            }
            if volume_opts {
                return fail("field VolumeOptions must not be specified");
            }
            if m.tmpfs_size.is_some_and(|s| s < 0) {
                return fail("invalid tmpfs size");
            }
        }
    }
    Ok(())
}

/// Checks a `--tmpfs` entry.
fn check_tmpfs(path: &str, opts: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(EngineError::invalid(not_absolute(path)));
    }
    let bad: Vec<&str> = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .filter(|o| match o.split_once('=') {
            Some((k, _)) => !TMPFS_KEYS.contains(&k),
            None => !TMPFS_FLAGS.contains(o),
        })
        .collect();
    if !bad.is_empty() {
        return Err(EngineError::invalid(format!(
            "invalid tmpfs option {bad:?}"
        )));
    }
    Ok(())
}

fn clean(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Every mount option of `opts`: `-v`, `--mount`, `--tmpfs`, and no two
/// mounts on one destination (`Duplicate mount point: /x`).
pub fn validate(opts: &CreateOptions) -> Result<()> {
    let h = &opts.host;
    let mut dests: Vec<String> = Vec::new();
    let mut add = |d: &str| {
        let d = clean(d);
        if dests.contains(&d) {
            return Err(EngineError::invalid(format!("Duplicate mount point: {d}")));
        }
        dests.push(d);
        Ok(())
    };
    for raw in &h.binds {
        let spec = parse_bind(raw)?;
        if spec.kind == "volume"
            && !spec.source.is_empty()
            && !crate::volumes::valid_name(&spec.source)
        {
            return Err(crate::volumes::invalid_name(&spec.source));
        }
        add(&spec.target)?;
    }
    for m in &h.mounts {
        check_mount(m)?;
        add(&m.target)?;
    }
    for (path, o) in &h.tmpfs {
        check_tmpfs(path, o)?;
        add(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: &str) -> String {
        parse_bind(raw).unwrap_err().message
    }

    #[test]
    fn binds_parse_like_docker() {
        let b = parse_bind("/tmp:/x:ro,Z").unwrap();
        assert_eq!(
            (b.kind.as_str(), b.source.as_str(), b.target.as_str()),
            ("bind", "/tmp", "/x")
        );
        assert!(b.read_only);
        let v = parse_bind("data:/x:nocopy").unwrap();
        assert_eq!(v.kind, "volume");
        assert!(v.no_copy && !v.read_only);
        let a = parse_bind("/anon").unwrap();
        assert_eq!((a.kind.as_str(), a.source.as_str()), ("volume", ""));
        assert_eq!(
            parse_bind("/h:/c:rshared").unwrap().propagation.as_deref(),
            Some("rshared")
        );
    }

    #[test]
    fn bad_binds_get_docker_messages() {
        assert_eq!(err("/tmp:/x:bogus"), "invalid mode: bogus");
        assert_eq!(err("/tmp:/x:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(err(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(err("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(
            err("/tmp:rel"),
            "invalid volume specification: '/tmp:rel': invalid mount config for type \"bind\": \
             invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            err("/"),
            "invalid volume specification: '/': invalid mount config for type \"volume\": \
             invalid specification: destination can't be '/'"
        );
        assert_eq!(err("/tmp:/x:nocopy"), "invalid mode: nocopy");
    }

    #[test]
    fn mounts_and_duplicates() {
        let mut o = CreateOptions::default();
        o.host.binds = vec!["/tmp:/x".into(), "/var:/x/".into()];
        assert_eq!(
            validate(&o).unwrap_err().message,
            "Duplicate mount point: /x"
        );
        let mut o = CreateOptions::default();
        o.host.mounts = vec![MountSpec {
            kind: "bind".into(),
            source: "/nonexistent-wharf".into(),
            target: "/x".into(),
            ..MountSpec::default()
        }];
        assert_eq!(
            validate(&o).unwrap_err().message,
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-wharf"
        );
        o.host.mounts[0].kind = "bogus".into();
        assert_eq!(
            validate(&o).unwrap_err().message,
            "invalid mount config for type \"bogus\": mount type unknown"
        );
        let mut o = CreateOptions::default();
        o.host.tmpfs.insert("/t".into(), "size=1m,bogus".into());
        assert_eq!(
            validate(&o).unwrap_err().message,
            "invalid tmpfs option [\"bogus\"]"
        );
        o.host.tmpfs.clear();
        o.host.tmpfs.insert("rel".into(), String::new());
        assert_eq!(
            validate(&o).unwrap_err().message,
            "invalid mount path: 'rel' mount path must be absolute"
        );
    }
}
