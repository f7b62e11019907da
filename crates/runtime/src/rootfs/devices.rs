//! `/dev` inside the container: the default device nodes (`null`, `zero`,
//! `full`, `random`, `urandom`, `tty`) and `linux.devices`, made with
//! `mknod` — or, in a user namespace where `mknod` of devices is not
//! allowed, bind-mounted from the host's node after checking that it is the
//! device the spec names — then runc's symlinks (`/dev/fd`, `stdin`,
//! `stdout`, `stderr`, `core`) and `/dev/ptmx` → `pts/ptmx`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceType, Spec};
use wharf_sys::fs::{self as sysfs, Kind, NodeKind, OFlags, ResolveFlags};
use wharf_sys::mount as sysmount;

use super::{safe_path, RootfsConfig, RootfsError};

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Device {
    path: PathBuf,
    kind: NodeKind,
    major: u32,
    minor: u32,
    perm: u32,
    uid: u32,
    gid: u32,
}

fn default_devices() -> Vec<Device> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| Device {
        path: Path::new("/dev").join(name),
        kind: NodeKind::Char,
        major,
        minor,
        perm: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// The default devices with `linux.devices` added (a spec entry replaces a
/// default one with the same path).
fn devices(spec: &Spec) -> Result<Vec<Device>, RootfsError> {
    let mut out = default_devices();
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    for d in list {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => NodeKind::Char,
            LinuxDeviceType::B => NodeKind::Block,
            LinuxDeviceType::P => NodeKind::Fifo,
            LinuxDeviceType::A => {
                return Err(RootfsError::Unsafe {
                    op: "create device",
                    path: d.path().clone(),
                    reason: "type 'a' is not a node type",
                })
            }
        };
        let path = Path::new("/").join(safe_path::clean(d.path()));
        let invalid = |_| RootfsError::Unsafe {
            op: "create device",
            path: path.clone(),
            reason: "major/minor out of range",
        };
        let dev = Device {
            kind,
            major: u32::try_from(d.major()).map_err(invalid)?,
            minor: u32::try_from(d.minor()).map_err(invalid)?,
            perm: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
            path,
        };
        out.retain(|o| o.path != dev.path);
        out.push(dev);
    }
    Ok(out)
}

/// Whether `/dev` must be populated: not when config.json bind-mounts it.
pub(super) fn needs_dev_setup(spec: &Spec) -> bool {
    !spec.mounts().iter().flatten().any(|m| {
        let bind = m.typ().as_deref() == Some("bind")
            || m.options()
                .iter()
                .flatten()
                .any(|o| o == "bind" || o == "rbind");
        bind && safe_path::clean(m.destination()) == Path::new("dev")
    })
}

fn proc_is_mounted(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        m.typ().as_deref() == Some("proc") && safe_path::clean(m.destination()) == Path::new("proc")
    })
}

/// Creates the device nodes, the symlinks and `/dev/ptmx`.
pub(super) fn setup(cfg: &RootfsConfig<'_>, root: BorrowedFd<'_>) -> Result<(), RootfsError> {
    for dev in devices(cfg.spec)? {
        create(cfg, root, &dev).map_err(|source| RootfsError::Device {
            path: dev.path.clone(),
            source,
        })?;
    }
    let dev_dir = safe_path::mkdir_all(root, Path::new("dev"), 0o755).map_err(|source| {
        RootfsError::Path {
            op: "create",
            path: "/dev".into(),
            source,
        }
    })?;
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    if proc_is_mounted(cfg.spec) {
        links.push(("core", "/proc/kcore"));
    }
    // /dev/ptmx must be the ptmx of the container's own devpts instance.
    match sysfs::unlinkat(dev_dir.as_fd(), Path::new("ptmx")) {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
            return Err(RootfsError::Device {
                path: "/dev/ptmx".into(),
                source: e,
            })
        }
        _ => {}
    }
    links.push(("ptmx", "pts/ptmx"));
    for (name, target) in links {
        match sysfs::symlinkat(Path::new(target), dev_dir.as_fd(), Path::new(name)) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                return Err(RootfsError::Path {
                    op: "create symlink",
                    path: Path::new("/dev").join(name),
                    source: e,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// Creates one node: replaces whatever non-directory is at its path.
fn create(cfg: &RootfsConfig<'_>, root: BorrowedFd<'_>, dev: &Device) -> std::io::Result<()> {
    let rel = safe_path::clean(&dev.path);
    let (parent, name) = safe_path::split(&rel)?;
    let name = Path::new(name);
    let dir = safe_path::mkdir_all(root, &parent, 0o755)?;
    if let Ok(old) = sysfs::openat2(
        Some(dir.as_fd()),
        name,
        OFlags::PATH | OFlags::NOFOLLOW,
        0,
        beneath(),
    ) {
        if sysfs::fstat(old.as_fd())?.kind == Kind::Dir {
            return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
        }
        sysfs::unlinkat(dir.as_fd(), name)?;
    }
    if cfg.in_user_ns {
        return bind_host_node(dir.as_fd(), name, dev);
    }
    sysfs::mknodat(dir.as_fd(), name, dev.kind, dev.perm, dev.major, dev.minor)?;
    sysfs::chmodat(dir.as_fd(), name, dev.perm)?;
    sysfs::chownat(dir.as_fd(), name, dev.uid, dev.gid)
}

/// In a user namespace: binds the host's node at the same path, after
/// checking that it is the same kind of device with the same numbers.
fn bind_host_node(dir: BorrowedFd<'_>, name: &Path, dev: &Device) -> std::io::Result<()> {
    let host = sysfs::openat2(
        None,
        &dev.path,
        OFlags::PATH,
        0,
        ResolveFlags::NO_MAGICLINKS,
    )?;
    let st = sysfs::fstat(host.as_fd())?;
    let kind = match dev.kind {
        NodeKind::Char => Kind::CharDevice,
        NodeKind::Block => Kind::BlockDevice,
        NodeKind::Fifo => Kind::Fifo,
    };
    let fifo = dev.kind == NodeKind::Fifo;
    if st.kind != kind || (!fifo && (st.rdev_major, st.rdev_minor) != (dev.major, dev.minor)) {
        return Err(std::io::Error::other(format!(
            "host node {} is not the device {}:{}",
            dev.path.display(),
            dev.major,
            dev.minor
        )));
    }
    drop(sysfs::create_file_at(dir, name, 0o644)?);
    let target = sysfs::openat2(
        Some(dir),
        name,
        OFlags::PATH | OFlags::NOFOLLOW,
        0,
        beneath(),
    )?;
    let tree = sysmount::clone_fd(host.as_fd(), false)?;
    sysmount::attach(tree.as_fd(), target.as_fd())
}

/// Binds the pty slave over `/dev/console`.
pub(super) fn mount_console(root: &OwnedFd, slave: &Path) -> Result<(), RootfsError> {
    let err = |source| RootfsError::Console {
        slave: slave.to_path_buf(),
        source,
    };
    let pty =
        sysfs::openat2(None, slave, OFlags::PATH, 0, ResolveFlags::NO_SYMLINKS).map_err(err)?;
    if sysfs::fstat(pty.as_fd()).map_err(err)?.kind != Kind::CharDevice {
        return Err(RootfsError::Unsafe {
            op: "mount as console",
            path: slave.to_path_buf(),
            reason: "it is not a character device",
        });
    }
    let target = safe_path::create_file(root.as_fd(), Path::new("dev/console")).map_err(err)?;
    let tree = sysmount::clone_fd(pty.as_fd(), false).map_err(err)?;
    sysmount::attach(tree.as_fd(), target.as_fd()).map_err(err)
}
