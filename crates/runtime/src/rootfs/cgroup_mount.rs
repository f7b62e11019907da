//! `type: cgroup` mounts. With a cgroup namespace each hierarchy is a real
//! cgroup (v1) or cgroup2 mount, rooted by the kernel at the container's own
//! cgroup; without one, each hierarchy is a bind mount of the container's
//! cgroup directory on the host (`CgroupMount::host_dir`), so the container
//! never sees its ancestors either way.
//!
//! Pure v2 (one hierarchy named ``) is mounted at the destination itself.
//! Otherwise the destination gets a tmpfs holding one directory per
//! hierarchy (`cpu,cpuacct`, `systemd`, `unified`, …) plus runc's symlinks
//! for co-mounted controllers (`cpu` → `cpu,cpuacct`); the tmpfs is made
//! read-only at the end if the mount asked for `ro`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use wharf_sys::fs::{self as sysfs, OFlags, ResolveFlags};
use wharf_sys::mount::{self as sysmount, attr};

use super::mounts::{new_fs_detached, set_flags, Ctx, Job};
use super::options::MountOptions;
use super::{CgroupMount, RootfsConfig, RootfsError};

/// Mounts the cgroup view at the job's destination; returns the top mount.
pub(super) fn mount(
    ctx: &Ctx<'_>,
    job: &Job<'_>,
    opts: &MountOptions,
) -> Result<OwnedFd, RootfsError> {
    let list = ctx.cfg.cgroup_mounts;
    if list.is_empty() {
        return Err(RootfsError::Refused {
            destination: job.dest.clone(),
            reason: "no cgroup hierarchies were given for a cgroup mount",
        });
    }
    let target = ctx.target(job, true)?;
    if let [only] = list {
        if only.name.is_empty() {
            let mnt = hierarchy(ctx.cfg, job, only, opts)?;
            sysmount::attach(mnt.as_fd(), target.as_fd()).map_err(|e| job.err(e))?;
            return Ok(mnt);
        }
    }
    let mut tmp_opts = MountOptions {
        attrs: opts.attrs,
        ..MountOptions::default()
    };
    tmp_opts.attrs.set &= !attr::RDONLY;
    tmp_opts.data.push("mode=755".into());
    let tmp = new_fs_detached("tmpfs", "tmpfs", &tmp_opts).map_err(|e| job.err(e))?;
    sysmount::attach(tmp.as_fd(), target.as_fd()).map_err(|e| job.err(e))?;
    for h in list {
        let name = Path::new(&h.name);
        if h.name.is_empty() || h.name.contains('/') || h.name.starts_with('.') {
            return Err(RootfsError::Refused {
                destination: job.dest.join(name),
                reason: "a cgroup hierarchy name must be one plain path component",
            });
        }
        sysfs::mkdirat(tmp.as_fd(), name, 0o755).map_err(|e| job.err(e))?;
        let dir = sysfs::openat2(
            Some(tmp.as_fd()),
            name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            0,
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS,
        )
        .map_err(|e| job.err(e))?;
        let mnt = hierarchy(ctx.cfg, job, h, opts)?;
        sysmount::attach(mnt.as_fd(), dir.as_fd()).map_err(|e| job.err(e))?;
        if h.name.contains(',') {
            for part in h
                .name
                .split(',')
                .filter(|p| !p.is_empty() && !p.contains('='))
            {
                match sysfs::symlinkat(name, tmp.as_fd(), Path::new(part)) {
                    Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(job.err(e)),
                    _ => {}
                }
            }
        }
    }
    if opts.attrs.set & attr::RDONLY != 0 {
        sysmount::set_attr(tmp.as_fd(), false, attr::RDONLY, 0, None).map_err(|e| job.err(e))?;
    }
    Ok(tmp)
}

/// One hierarchy, detached, with the mount's flags.
fn hierarchy(
    cfg: &RootfsConfig<'_>,
    job: &Job<'_>,
    h: &CgroupMount,
    opts: &MountOptions,
) -> Result<OwnedFd, RootfsError> {
    if !cfg.cgroup_ns {
        let tree =
            sysmount::clone_path(&h.host_dir, false).map_err(|source| RootfsError::Mount {
                from: h.host_dir.display().to_string(),
                destination: job.dest.join(&h.name),
                fstype: "bind".into(),
                source,
            })?;
        set_flags(job, tree.as_fd(), opts)?;
        return Ok(tree);
    }
    let mut fs_opts = MountOptions {
        attrs: opts.attrs,
        rec_attrs: opts.rec_attrs,
        ..MountOptions::default()
    };
    let fstype = if h.v2 {
        "cgroup2"
    } else {
        fs_opts.data = h
            .options
            .split(',')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        "cgroup"
    };
    new_fs_detached(fstype, fstype, &fs_opts).map_err(|source| RootfsError::Mount {
        from: fstype.into(),
        destination: job.dest.join(&h.name),
        fstype: fstype.into(),
        source,
    })
}
