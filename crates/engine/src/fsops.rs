//! Container filesystems: `diff` (changes), `export` and the archive API
//! behind `docker cp` (stat, get, put).
//!
//! The container's root filesystem is its snapshot's overlay mount. A
//! running container has it mounted already; for one that is not running
//! it is mounted (with its init layer) for the operation and unmounted
//! afterwards — concurrent operations share one mount. Paths are resolved
//! inside the container ([`scope`]), binds and volumes included, and every
//! file is opened below a trusted root with `RESOLVE_IN_ROOT`, so a
//! container cannot make `cp` read or write a host file.

mod archive;
mod changes;
mod extract;
pub mod scope;
mod tar_out;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use wharf_image::snapshot::{self, Snapshot};

pub use archive::{go_mode, rfc3339, PutOptions};
pub use changes::changes;
pub use scope::{FsView, ViewMount};

use crate::error::{EngineError, Result};
use crate::model::{Change, Container, Event, PathStat, Status};
use crate::Engine;

/// Mounts made here and how many operations use each (by merged path).
static MOUNTS: LazyLock<Mutex<HashMap<PathBuf, usize>>> = LazyLock::new(Default::default);

/// A container's root filesystem, mounted while this lives.
pub struct Rootfs<'a> {
    engine: &'a Engine,
    /// The container's id.
    id: String,
    snapshot: Snapshot,
    /// Whether this use counts in [`MOUNTS`] (a mount made here).
    counted: bool,
}

impl Rootfs<'_> {
    /// The merged root on the host.
    pub fn path(&self) -> &Path {
        &self.snapshot.merged
    }
}

impl Drop for Rootfs<'_> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let mut map = MOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(self.snapshot.merged.clone()).or_insert(1);
        *n -= 1;
        if *n == 0 {
            map.remove(&self.snapshot.merged);
            self.release();
        }
    }
}

impl Rootfs<'_> {
    /// Unmounts the root mounted for this operation — unless the container
    /// started meanwhile and uses it, or an operation on it (a start) is
    /// under way: then it stays for the container, whose exit unmounts it.
    fn release(&self) {
        let Ok(entry) = self.engine.entry(&self.id) else {
            let _ = self.engine.store().unmount_snapshot(&self.snapshot);
            return;
        };
        let Ok(_op) = entry.op.try_lock() else {
            return;
        };
        if matches!(
            entry.status(),
            Status::Created | Status::Exited | Status::Dead
        ) {
            let _ = self.engine.store().unmount_snapshot(&self.snapshot);
        }
    }
}

fn store_err(what: String) -> impl FnOnce(wharf_image::store::StoreError) -> EngineError {
    move |e| EngineError::system(what, e)
}

impl Engine {
    /// Mounts the container's root filesystem unless it is mounted.
    pub fn rootfs(&self, c: &Container) -> Result<Rootfs<'_>> {
        let snapshot = self
            .store()
            .snapshot(&c.snapshot)
            .map_err(store_err(format!(
                "failed to find the filesystem of {}",
                c.id
            )))?;
        let mut map = MOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&snapshot.merged) {
            *n += 1;
        } else if snapshot::is_mounted(&snapshot.merged) {
            return Ok(Rootfs {
                engine: self,
                id: c.id.clone(),
                snapshot,
                counted: false,
            });
        } else {
            wharf_image::rootfs::mount_with_init(&snapshot).map_err(|e| {
                EngineError::system(format!("failed to mount the filesystem of {}", c.id), e)
            })?;
            map.insert(snapshot.merged.clone(), 1);
        }
        Ok(Rootfs {
            engine: self,
            id: c.id.clone(),
            snapshot,
            counted: true,
        })
    }

    /// What the container changed in its filesystem (`docker diff`).
    pub fn changes(&self, name_or_id: &str) -> Result<Vec<Change>> {
        let c = self.container(name_or_id)?;
        let s = self
            .store()
            .snapshot(&c.snapshot)
            .map_err(store_err(format!(
                "failed to find the filesystem of {}",
                c.id
            )))?;
        let mut lowers = Vec::new();
        let init = s.dir.join("init");
        if init.is_dir() {
            lowers.push(init);
        }
        lowers.extend(s.lowers.iter().cloned());
        changes(&s.upper, &lowers)
            .map_err(|e| EngineError::system(format!("failed to list the changes of {}", c.id), e))
    }

    /// Writes the container's whole filesystem as a tar (`docker export`).
    pub fn export(&self, name_or_id: &str, out: impl Write) -> Result<()> {
        let c = self.container(name_or_id)?;
        let root = self.rootfs(&c)?;
        wharf_image::layer::tar_dir(root.path(), out)
            .map_err(|e| EngineError::system(format!("failed to export {}", c.id), e))?;
        self.emit_fs(&c, "export");
        Ok(())
    }

    /// What is at `path` in the container (archive HEAD).
    pub fn archive_stat(&self, name_or_id: &str, path: &str) -> Result<PathStat> {
        let c = self.container(name_or_id)?;
        let root = self.rootfs(&c)?;
        view(name_or_id, &c, root.path()).stat(path)
    }

    /// A tar of `path` in the container, as `docker cp` takes it (archive GET).
    pub fn archive_get(&self, name_or_id: &str, path: &str, out: impl Write) -> Result<PathStat> {
        let c = self.container(name_or_id)?;
        let root = self.rootfs(&c)?;
        let stat = view(name_or_id, &c, root.path()).get(path, out)?;
        self.emit_fs(&c, "archive-path");
        Ok(stat)
    }

    /// Extracts `tar` into the directory `path` of the container (archive PUT).
    pub fn archive_put(
        &self,
        name_or_id: &str,
        path: &str,
        tar: impl Read,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> Result<()> {
        let c = self.container(name_or_id)?;
        let root = self.rootfs(&c)?;
        let chown = if copy_uid_gid && !c.user.is_empty() {
            let u = wharf_image::user::resolve(root.path(), &c.user)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            Some((u.uid, u.gid))
        } else {
            None
        };
        let opts = PutOptions {
            no_overwrite_dir_non_dir,
            chown,
        };
        view(name_or_id, &c, root.path()).put(path, tar, opts)?;
        self.emit_fs(&c, "extract-to-dir");
        Ok(())
    }

    fn emit_fs(&self, c: &Container, action: &str) {
        self.events().emit(Event {
            kind: "container".into(),
            action: action.into(),
            id: c.id.clone(),
            attributes: [
                ("name".to_string(), c.name.clone()),
                ("image".to_string(), c.options.image.clone()),
            ]
            .into(),
            time_nano: 0,
        });
    }
}

/// The container's filesystem with its binds, volumes and `/etc` files.
pub fn view(name: &str, c: &Container, rootfs: &Path) -> FsView {
    let mut mounts: Vec<ViewMount> = c
        .mounts
        .iter()
        .filter(|m| m.kind != "tmpfs" && !m.source.as_os_str().is_empty())
        .map(|m| ViewMount {
            destination: m.destination.clone(),
            source: m.source.clone(),
            rw: m.rw,
        })
        .collect();
    for (dest, src) in [
        ("/etc/hostname", &c.hostname_path),
        ("/etc/hosts", &c.hosts_path),
        ("/etc/resolv.conf", &c.resolv_conf_path),
    ] {
        let user_mounted = mounts.iter().any(|m| m.destination == dest);
        if !src.as_os_str().is_empty() && src.exists() && !user_mounted {
            mounts.push(ViewMount {
                destination: dest.into(),
                source: src.clone(),
                rw: true,
            });
        }
    }
    FsView {
        container: name.to_string(),
        rootfs: rootfs.to_path_buf(),
        mounts,
        read_only_rootfs: c.options.host.read_only,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MountPoint;

    #[test]
    fn view_has_binds_volumes_and_etc_files_not_tmpfs() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "").unwrap();
        let mount = |kind: &str, src: &str, dest: &str, rw: bool| MountPoint {
            kind: kind.into(),
            source: src.into(),
            destination: dest.into(),
            rw,
            ..MountPoint::default()
        };
        let mut c = Container {
            mounts: vec![
                mount("bind", "/srv/x", "/x", false),
                mount("volume", "/v/_data", "/data", true),
                mount("tmpfs", "", "/run", true),
            ],
            hosts_path: hosts.clone(),
            hostname_path: dir.path().join("missing"),
            ..Container::default()
        };
        c.options.host.read_only = true;
        let v = view("web", &c, Path::new("/merged"));
        let dests: Vec<(&str, bool)> = v
            .mounts
            .iter()
            .map(|m| (m.destination.as_str(), m.rw))
            .collect();
        assert_eq!(
            dests,
            [("/x", false), ("/data", true), ("/etc/hosts", true)]
        );
        assert_eq!(v.mounts[2].source, hosts);
        assert!(v.read_only_rootfs);
        assert_eq!(v.container, "web");
    }
}
