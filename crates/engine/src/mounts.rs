//! Mounts: `-v` binds and volumes, `--mount` specs, anonymous volumes from
//! the image's VOLUMEs, tmpfs; and the copy-up of image content into a new
//! empty volume, as Docker does at a container's start.

mod copy;
mod parse;

use std::path::{Path, PathBuf};

pub use parse::{parse_bind, validate};

use crate::error::{EngineError, Result};
use crate::model::{CreateOptions, MountPoint};
use crate::Engine;

fn clean(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Undoes what a failed [`prepare`] made: its anonymous volumes.
struct Made<'a> {
    engine: &'a Engine,
    anonymous: Vec<String>,
    done: bool,
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        if !self.done {
            for name in &self.anonymous {
                let _ = self.engine.volumes().remove(name);
            }
        }
    }
}

fn volume_point(name: &str, source: PathBuf, dest: &str, anonymous: bool) -> MountPoint {
    MountPoint {
        kind: "volume".into(),
        name: Some(name.to_string()),
        source,
        destination: clean(dest),
        driver: Some("local".into()),
        mode: String::new(),
        rw: true,
        propagation: String::new(),
        anonymous,
        copy_data: true,
    }
}

/// The propagation of a bind of `source`: the one given, else `rprivate`
/// — but a source that holds the data root (or lies in it) gets `rslave`,
/// and only `rslave` or `rshared` are allowed there (Docker's
/// validateBindDaemonRoot), so the container never pins the daemon's
/// mounts.
fn bind_propagation(engine: &Engine, source: &str, given: Option<&str>) -> Result<String> {
    let root = &engine.config().data_root;
    let src = Path::new(source);
    if !(root.starts_with(src) || src.starts_with(root)) {
        return Ok(given.unwrap_or("rprivate").to_string());
    }
    match given {
        None => Ok("rslave".into()),
        Some(p @ ("rslave" | "rshared")) => Ok(p.to_string()),
        Some(p) => Err(EngineError::invalid(format!(
            "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" \
             when mount source is within the daemon root, daemon root: {:?}, bind mount source: \
             {source:?}, propagation: {p:?}",
            root.display().to_string()
        ))),
    }
}

/// The mounts of new container `id`: binds (a missing `-v` source is
/// created; a missing `--mount type=bind` source is an error), named
/// volumes (created when missing), anonymous volumes for the paths in
/// `anon` not otherwise mounted, tmpfs (`--mount type=tmpfs`; `--tmpfs`
/// stays in the options, as Docker keeps it in HostConfig only). On error,
/// the anonymous volumes made are removed again.
pub fn prepare(
    engine: &Engine,
    id: &str,
    opts: &CreateOptions,
    anon: &[String],
) -> Result<Vec<MountPoint>> {
    let _ = id;
    validate(opts)?;
    let h = &opts.host;
    let mut made = Made {
        engine,
        anonymous: Vec::new(),
        done: false,
    };
    let mut out: Vec<MountPoint> = Vec::new();
    let anonymous = |made: &mut Made<'_>, dest: &str, spec: Option<&crate::model::MountSpec>| {
        let v = match spec {
            Some(m) => engine
                .volumes()
                .create_anonymous_with(&m.driver, m.driver_options.clone())?,
            None => engine.volumes().create_anonymous()?,
        };
        made.anonymous.push(v.name.clone());
        engine.emit_volume("create", &v.name);
        Ok(volume_point(&v.name, v.mountpoint, dest, true))
    };
    for raw in &h.binds {
        let (spec, mode) = parse::parse_bind_mode(raw)?;
        let mut point = if spec.kind == "bind" {
            let src = Path::new(&spec.source);
            if !src.exists() {
                // `-v` creates a missing host directory (Docker).
                std::fs::create_dir_all(src).map_err(|e| {
                    EngineError::system(format!("failed to create bind source {}", spec.source), e)
                })?;
            }
            MountPoint {
                kind: "bind".into(),
                source: src.to_path_buf(),
                destination: clean(&spec.target),
                propagation: bind_propagation(engine, &spec.source, spec.propagation.as_deref())?,
                ..MountPoint::default()
            }
        } else if spec.source.is_empty() {
            anonymous(&mut made, &spec.target, None)?
        } else {
            let existed = engine.volumes().get(&spec.source).is_ok();
            let v = engine.volumes().create(
                Some(&spec.source),
                "local",
                Default::default(),
                Default::default(),
            )?;
            if !existed {
                engine.emit_volume("create", &v.name);
            }
            volume_point(&v.name, v.mountpoint, &spec.target, false)
        };
        // A named volume without a mode shows `z` (Docker's
        // setBindModeIfNull); an anonymous one shows nothing.
        point.mode = if mode.is_empty() && point.kind == "volume" && !point.anonymous {
            "z".into()
        } else {
            mode
        };
        point.rw = !spec.read_only;
        point.copy_data = point.kind == "volume" && !spec.no_copy;
        out.push(point);
    }
    for m in &h.mounts {
        let point = match m.kind.as_str() {
            "bind" => MountPoint {
                kind: "bind".into(),
                source: PathBuf::from(&m.source),
                destination: clean(&m.target),
                rw: !m.read_only,
                propagation: bind_propagation(engine, &m.source, m.propagation.as_deref())?,
                ..MountPoint::default()
            },
            "volume" if m.source.is_empty() => {
                let mut p = anonymous(&mut made, &m.target, Some(m))?;
                p.rw = !m.read_only;
                p.copy_data = !m.no_copy;
                p
            }
            "volume" => {
                let existed = engine.volumes().get(&m.source).is_ok();
                let v = engine.volumes().create(
                    Some(&m.source),
                    &m.driver,
                    m.labels.clone(),
                    m.driver_options.clone(),
                )?;
                if !existed {
                    engine.emit_volume("create", &v.name);
                }
                let mut p = volume_point(&v.name, v.mountpoint, &m.target, false);
                p.mode = "z".into();
                p.rw = !m.read_only;
                p.copy_data = !m.no_copy;
                p
            }
            _ => MountPoint {
                kind: "tmpfs".into(),
                destination: clean(&m.target),
                rw: !m.read_only,
                ..MountPoint::default()
            },
        };
        out.push(point);
    }
    let mut taken: Vec<String> = out.iter().map(|m| m.destination.clone()).collect();
    taken.extend(h.tmpfs.keys().map(|k| clean(k)));
    for path in anon {
        let dest = clean(path);
        if taken.contains(&dest) || dest == "/" {
            continue;
        }
        out.push(anonymous(&mut made, &dest, None)?);
        taken.push(dest);
    }
    made.done = true;
    Ok(out)
}

/// Copies the image's content at each volume's destination (in `rootfs`,
/// the container's mounted root) into the volume when the volume is empty
/// and the mount allows it (Docker's copy-up: modes, owners, times,
/// xattrs, symlinks, hard links; nothing is followed out of the root).
/// Volumes with driver options are mounted again first if a reboot
/// unmounted them.
pub fn copy_up(engine: &Engine, mounts: &[MountPoint], rootfs: &Path) -> Result<()> {
    for name in mounts
        .iter()
        .filter(|m| m.kind == "volume")
        .filter_map(|m| m.name.as_deref())
    {
        engine.volumes().ensure_ready(name)?;
    }
    for m in mounts.iter().filter(|m| m.kind == "volume" && m.copy_data) {
        let fail = |e: std::io::Error| {
            EngineError::system(
                format!(
                    "failed to copy the image's {} into volume {}",
                    m.destination,
                    m.name.as_deref().unwrap_or_default()
                ),
                e,
            )
        };
        copy_image_path(rootfs, &m.destination, &m.source).map_err(fail)?;
    }
    Ok(())
}

/// Copies the directory `path` of the root filesystem `rootfs` (resolved
/// inside it) into the directory `volume` if `volume` is empty; whether it
/// copied. A missing path, or one that is not a directory, copies nothing.
/// The copy holds an exclusive `flock` on the volume's parent directory.
pub fn copy_image_path(rootfs: &Path, path: &str, volume: &Path) -> std::io::Result<bool> {
    // Two containers starting on one new volume: one copies, the other
    // then finds it full. The lock is on the volume's own directory.
    let lock_dir = volume.parent().unwrap_or(volume);
    let lock = std::fs::File::open(lock_dir)?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    if !copy::is_empty_dir(volume)? {
        return Ok(false);
    }
    let Some(src) = copy::open_in_root(rootfs, path)? else {
        return Ok(false);
    };
    copy::copy_tree(std::os::fd::AsFd::as_fd(&src), volume)?;
    Ok(true)
}
