//! OCI bundles for tests: a busybox root filesystem with the probe in it,
//! and a `config.json` the test may change before the runtime reads it.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use oci_spec::runtime::Spec;

use crate::paths::{probe_path, LocateError};
use crate::spec::default_spec;

/// Where the Debian `busybox-static` package puts its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Errors making a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The temporary bundle directory could not be created.
    #[error("failed to create a temporary bundle directory")]
    TempDir(#[source] io::Error),
    /// A file or directory of the root filesystem could not be written.
    #[error("failed to write {path} in the bundle")]
    Write {
        /// The path being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// busybox is missing or `busybox --list` failed.
    #[error("failed to list the applets of {BUSYBOX} (apt-get install busybox-static)")]
    Busybox(#[source] io::Error),
    /// The probe binary was not found.
    #[error("failed to locate the probe")]
    Probe(#[source] LocateError),
    /// `config.json` could not be serialized or written.
    #[error("failed to write config.json in {dir}")]
    Config {
        /// The bundle directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: oci_spec::OciSpecError,
    },
}

/// An OCI bundle in a unique temporary directory, removed on drop.
///
/// The root filesystem (`rootfs/`) holds a static busybox with every applet
/// linked in `/bin`, `/bin/wharf-probe`, `/etc/passwd` and `/etc/group`
/// with `root` (0), `nobody` (65534) and `test` (1000, also in group
/// `users` 100), a world-writable `/tmp` and the usual empty mount points.
pub struct Bundle {
    dir: PathBuf,
    spec: Spec,
    keep: bool,
}

impl Bundle {
    /// Makes a bundle with [`default_spec`] and writes its `config.json`.
    pub fn new() -> Result<Bundle, BundleError> {
        Self::with_spec(default_spec())
    }

    /// Makes a bundle with `spec` and writes its `config.json`.
    pub fn with_spec(spec: Spec) -> Result<Bundle, BundleError> {
        let dir = tempfile::Builder::new()
            .prefix("wharf-bundle-")
            .tempdir()
            .map_err(BundleError::TempDir)?
            .keep();
        let bundle = Bundle {
            dir,
            spec,
            keep: false,
        };
        build_rootfs(&bundle.rootfs())?;
        bundle.write_config()?;
        Ok(bundle)
    }

    /// Makes a bundle in `dir` (created if missing) that is kept after
    /// drop: for scripts (`wharf-mkbundle`, the demo, the benchmark).
    pub fn create_at(dir: &Path, spec: Spec) -> Result<Bundle, BundleError> {
        fs::create_dir_all(dir).map_err(write_err(dir))?;
        let dir = fs::canonicalize(dir).map_err(write_err(dir))?;
        let bundle = Bundle {
            dir,
            spec,
            keep: true,
        };
        build_rootfs(&bundle.rootfs())?;
        bundle.write_config()?;
        Ok(bundle)
    }

    /// The bundle directory (holding `config.json` and `rootfs/`).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The root filesystem directory.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The spec as last set; call [`Bundle::write_config`] after changing it.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The spec, to change before [`Bundle::write_config`].
    pub fn spec_mut(&mut self) -> &mut Spec {
        &mut self.spec
    }

    /// A bundle like [`Bundle::new`] whose process is `wharf-probe sleep
    /// 60`: a container that stays running while a test looks at it.
    pub fn sleeper() -> Result<Bundle, BundleError> {
        let mut bundle = Bundle::new()?;
        bundle.set_probe_args(&["sleep", "60"])?;
        Ok(bundle)
    }

    /// Sets the process arguments and writes `config.json`.
    pub fn set_args(&mut self, args: &[&str]) -> Result<(), BundleError> {
        if let Some(process) = self.spec.process_mut() {
            process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        }
        self.write_config()
    }

    /// Sets the probe command line (`/bin/wharf-probe <args>`) and writes
    /// `config.json`.
    pub fn set_probe_args(&mut self, args: &[&str]) -> Result<(), BundleError> {
        let mut all = vec!["/bin/wharf-probe"];
        all.extend_from_slice(args);
        self.set_args(&all)
    }

    /// Writes the spec to `config.json`.
    pub fn write_config(&self) -> Result<(), BundleError> {
        self.spec
            .save(self.path().join("config.json"))
            .map_err(|source| BundleError::Config {
                dir: self.path().to_path_buf(),
                source,
            })
    }

    /// Writes a file into the root filesystem (`path` relative to its root).
    pub fn add_file(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), BundleError> {
        let full = self.rootfs().join(path.trim_start_matches('/'));
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        fs::write(&full, contents).map_err(write_err(&full))?;
        fs::set_permissions(&full, fs::Permissions::from_mode(mode)).map_err(write_err(&full))
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // A mount a runtime leaked under the bundle (a bind of a host path,
        // say) must not be deleted through: detach every such mount first,
        // and keep the directory if one will not go.
        if crate::leaks::unmount_under(&self.dir) {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "wharf-testkit: keeping {} because mounts under it remain",
                self.dir.display()
            );
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The applet names of the host busybox, listed once per process.
fn applets() -> Result<&'static [String], BundleError> {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    if let Some(list) = APPLETS.get() {
        return Ok(list);
    }
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(BundleError::Busybox)?;
    if !out.status.success() {
        return Err(BundleError::Busybox(io::Error::other(format!(
            "busybox --list exited with {}",
            out.status
        ))));
    }
    let list = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('/') && *l != "busybox")
        .map(str::to_string)
        .collect();
    Ok(APPLETS.get_or_init(|| list))
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
test:x:1000:1000:test:/home/test:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

const GROUP: &str = "root:x:0:\ntty:x:5:\nusers:x:100:test\ntest:x:1000:\nnogroup:x:65534:\n";

fn build_rootfs(root: &Path) -> Result<(), BundleError> {
    for (dir, mode) in [
        ("", 0o755),
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("home/test", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("run", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("var", 0o755),
    ] {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(write_err(&path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(write_err(&path))?;
    }
    let home = root.join("home/test");
    std::os::unix::fs::chown(&home, Some(1000), Some(1000)).map_err(write_err(&home))?;

    let bin = root.join("bin");
    let busybox = bin.join("busybox");
    fs::copy(BUSYBOX, &busybox).map_err(BundleError::Busybox)?;
    for applet in applets()? {
        let link = bin.join(applet);
        match symlink("busybox", &link) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(write_err(&link)(e));
            }
            _ => {}
        }
    }
    let probe = bin.join("wharf-probe");
    fs::copy(probe_path().map_err(BundleError::Probe)?, &probe).map_err(write_err(&probe))?;
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).map_err(write_err(&probe))?;

    for (name, text) in [
        ("etc/passwd", PASSWD),
        ("etc/group", GROUP),
        ("etc/hostname", "wharf-test\n"),
    ] {
        let path = root.join(name);
        fs::write(&path, text).map_err(write_err(&path))?;
    }
    Ok(())
}
