//! `/dev/shm` for Docker's IPC modes (moby's `setupIpcDirs`):
//! - `private` (the default) and `none`: the container's own tmpfs, or
//!   none at all, in its mount namespace (see `super::mounts`);
//! - `shareable`: a tmpfs mounted on the host at
//!   `<container dir>/mounts/shm` (`mode=1777,size=<ShmSize>`, nosuid,
//!   nodev, noexec) and bound at `/dev/shm`, so that others can join it;
//!   unmounted when the container's process ends ([`release_shm`]);
//! - `container:<x>`: x's namespace and x's `/dev/shm`; x must run and be
//!   shareable, else the start fails as Docker's does (500).

use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

use super::mounts::clean;
use super::StartEnv;
use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::is_running;
use crate::model::Container;

/// The host directory of a shareable container's `/dev/shm`: `dir` is the
/// container's directory (`<data-root>/containers/<id>`).
fn shm_dir(dir: &Path) -> PathBuf {
    dir.join("mounts").join("shm")
}

/// The container's directory, where its `hostname` file lives.
fn container_dir(c: &Container) -> Option<&Path> {
    c.hostname_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
}

/// Whether `path` is a mount point (its device differs from its parent's).
fn is_mount_point(path: &Path) -> bool {
    let (Ok(me), Some(Ok(parent))) = (rustix::fs::stat(path), path.parent().map(rustix::fs::stat))
    else {
        return false;
    };
    me.st_dev != parent.st_dev
}

/// Unmounts the `/dev/shm` tmpfs of a shareable container whose directory
/// is `dir`, if mounted (containers that joined it keep their own
/// reference, as with Docker).
pub fn release_shm(dir: &Path) {
    let shm = shm_dir(dir);
    while is_mount_point(&shm) {
        if rustix::mount::unmount(&shm, UnmountFlags::DETACH).is_err() {
            return;
        }
    }
}

/// The host directory to bind at `/dev/shm`, mounting the tmpfs of a
/// shareable container first; `None` for the spec's own tmpfs (or none).
pub(super) fn shm_source(c: &Container, env: &StartEnv<'_>) -> Result<Option<PathBuf>> {
    let h = &c.options.host;
    let user_shm = c.mounts.iter().any(|m| clean(&m.destination) == "/dev/shm")
        || h.tmpfs.keys().any(|t| clean(t) == "/dev/shm");
    if user_shm {
        return Ok(None);
    }
    if h.ipc_mode == "shareable" {
        let Some(dir) = container_dir(c) else {
            return Ok(None);
        };
        let size = h
            .shm_size
            .filter(|&s| s > 0)
            .unwrap_or(super::mounts::DEFAULT_SHM);
        return mount_shm(dir, size).map(Some);
    }
    let (Some(name), Some(peer)) = (h.ipc_mode.strip_prefix("container:"), env.peer) else {
        return Ok(None);
    };
    let p = peer(name)?;
    let cannot = |why: String| {
        EngineError::new(
            Kind::System,
            format!("can't join IPC of container {}: {why}", p.id),
        )
    };
    if !is_running(p.state.status) || p.state.pid == 0 {
        return Err(cannot(format!("container {} is not running", p.id)));
    }
    if p.options.host.ipc_mode != "shareable" {
        return Err(cannot(
            "non-shareable IPC (hint: use IpcMode:shareable for the donor container)".into(),
        ));
    }
    let source = container_dir(&p).map(shm_dir).filter(|d| is_mount_point(d));
    Ok(source)
}

/// Mounts a fresh tmpfs at the shm directory of the container whose
/// directory is `cdir` (a leftover of an earlier run goes first).
fn mount_shm(cdir: &Path, size: i64) -> Result<PathBuf> {
    let dir = shm_dir(cdir);
    let fail = |what: &str, e: std::io::Error| {
        EngineError::system(format!("failed to {what} {}", dir.display()), e)
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("create", e))?;
    release_shm(cdir);
    let data =
        std::ffi::CString::new(format!("mode=1777,size={size}")).expect("no NUL in the options");
    rustix::mount::mount(
        "shm",
        &dir,
        "tmpfs",
        MountFlags::NOEXEC | MountFlags::NOSUID | MountFlags::NODEV,
        Some(data.as_c_str()),
    )
    .map_err(|e| fail("mount the shm tmpfs at", e.into()))?;
    Ok(dir)
}
