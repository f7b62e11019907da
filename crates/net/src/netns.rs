//! Network namespaces kept as files: a namespace made by one short-lived
//! thread and bind-mounted on a path (as `ip netns add` does), so that it
//! outlives every process in it and can be found again after a daemon
//! restart.
//!
//! The calling thread never changes namespace: work inside a namespace runs
//! on a scoped thread that joined it with `setns(2)`. Joining a network
//! namespace from one thread of a multi-threaded process is allowed
//! (`setns(2)`: only user and mount namespaces require a single-threaded
//! caller), and the thread's sockets keep that namespace for their whole life
//! even after the thread has ended.

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
use wharf_sys::mount::{self, Propagation};

/// Errors of network namespace handling.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The namespace file could not be made (the file, the namespace or the
    /// bind mount).
    #[error("failed to create network namespace at {path}")]
    Create {
        /// The namespace file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The directory of namespace files could not be made a private mount.
    #[error("failed to make {dir} a private mount")]
    PrivateDir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The loopback device of a new namespace could not be brought up.
    #[error("failed to bring lo up in network namespace {path}")]
    Loopback {
        /// The namespace file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The namespace file could not be opened.
    #[error("failed to open network namespace {path}")]
    Open {
        /// The namespace file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file exists but is no namespace (nothing is mounted on it).
    #[error("{path} is not a network namespace")]
    NotNamespace {
        /// The file.
        path: PathBuf,
    },
    /// A thread could not join the namespace.
    #[error("failed to enter network namespace {path}")]
    Enter {
        /// The namespace file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The namespace file could not be unmounted or deleted.
    #[error("failed to remove network namespace {path}")]
    Remove {
        /// The namespace file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A network namespace bind-mounted on a file. The value holds a descriptor
/// of the namespace, so it stays usable (and alive) while the value lives,
/// even if the file is removed meanwhile.
#[derive(Debug)]
pub struct NetNs {
    path: PathBuf,
    file: File,
}

impl NetNs {
    /// Makes a fresh network namespace, bind-mounts it on `path` (which must
    /// not exist; its parent directory is created if needed and made a private
    /// mount) and brings its `lo` up. On failure nothing is left at `path`.
    pub fn create(path: &Path) -> Result<NetNs, NetnsError> {
        let create = |source| NetnsError::Create {
            path: path.to_owned(),
            source,
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .ok_or_else(|| create(io::Error::from_raw_os_error(libc::EINVAL)))?;
        fs::create_dir_all(dir).map_err(create)?;
        make_private(dir)?;
        File::create_new(path).map_err(create)?;
        let made = std::thread::scope(|s| {
            s.spawn(|| -> Result<(), NetnsError> {
                wharf_sys::process::unshare(libc::CLONE_NEWNET).map_err(create)?;
                mount::bind_recursive(Path::new("/proc/thread-self/ns/net"), path)
                    .map_err(create)?;
                crate::link::loopback_up().map_err(|source| NetnsError::Loopback {
                    path: path.to_owned(),
                    source,
                })
            })
            .join()
            .unwrap_or_else(|_| Err(create(io::Error::other("namespace thread panicked"))))
        });
        match made.and_then(|()| NetNs::open(path)) {
            Ok(ns) => Ok(ns),
            Err(err) => {
                let _ = NetNs::remove(path);
                Err(err)
            }
        }
    }

    /// Opens the namespace bind-mounted on `path` (after a daemon restart).
    pub fn open(path: &Path) -> Result<NetNs, NetnsError> {
        let file = File::open(path).map_err(|source| NetnsError::Open {
            path: path.to_owned(),
            source,
        })?;
        let magic = wharf_sys::fs::fs_magic(file.as_fd()).map_err(|source| NetnsError::Open {
            path: path.to_owned(),
            source,
        })?;
        if magic != wharf_sys::fs::NSFS_MAGIC {
            return Err(NetnsError::NotNamespace {
                path: path.to_owned(),
            });
        }
        Ok(NetNs {
            path: path.to_owned(),
            file,
        })
    }

    /// The file the namespace is mounted on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a new thread that joined this namespace, and returns what
    /// it returns. The calling thread stays where it is; a panic in `f` is
    /// resumed on the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, NetnsError> {
        let joined = std::thread::scope(|s| {
            s.spawn(|| {
                wharf_sys::process::setns(self.file.as_fd(), libc::CLONE_NEWNET)?;
                Ok(f())
            })
            .join()
        });
        match joined {
            Ok(result) => result.map_err(|source| NetnsError::Enter {
                path: self.path.clone(),
                source,
            }),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Unmounts (lazily, `MNT_DETACH`) and deletes the namespace file. The
    /// namespace itself ends when no process, socket or descriptor holds it
    /// any more. A missing file, or a file with nothing mounted, is fine.
    pub fn remove(path: &Path) -> Result<(), NetnsError> {
        let remove = |source| NetnsError::Remove {
            path: path.to_owned(),
            source,
        };
        match mount::unmount(path, true) {
            Ok(()) => {}
            // EINVAL: not a mount point; ENOENT: no file at all.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {}
            Err(e) => return Err(remove(e)),
        }
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(remove(e)),
            _ => Ok(()),
        }
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Makes `dir` a private mount, binding it onto itself first when it is no
/// mount point (a lock keeps two threads from stacking two binds).
///
/// Why: a mount made under a shared mount propagates to every mount of its
/// peer group and to their slaves (`mount_namespaces(7)`, "Shared subtrees"),
/// and `/` is usually shared. Each such copy of a namespace file's mount is
/// one more reference to the namespace, held by a mount namespace we do not
/// control and that may keep it after our unmount (a busy or re-propagated
/// copy), so the namespace and its veth would never go away. Mounts under a
/// private mount stay in this mount namespace only.
fn make_private(dir: &Path) -> Result<(), NetnsError> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let private = |source| NetnsError::PrivateDir {
        dir: dir.to_owned(),
        source,
    };
    if !is_mount_point(dir).map_err(private)? {
        mount::bind_recursive(dir, dir).map_err(private)?;
    }
    mount::set_propagation(dir, Propagation::Private, false).map_err(private)
}

/// Whether `dir` is the root of a mount: its mount id differs from its
/// parent's (`statx(2)`, `STATX_MNT_ID`).
fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let mnt_id = |p: &Path| -> io::Result<u64> {
        Ok(statx(CWD, p, AtFlags::empty(), StatxFlags::MNT_ID)?.stx_mnt_id)
    };
    Ok(mnt_id(dir)? != mnt_id(&dir.join(".."))?)
}
