//! Finding the binaries the tests run: the probe and `wharf` itself.
//!
//! Test executables live in `target/<triple>/<profile>/deps/`; the binaries
//! of the workspace are one level up. A binary of another package is not
//! built by `cargo test -p <this package>`, so a missing one is built on
//! demand with the `cargo` that runs the tests.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Errors locating or building a workspace binary.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// The running executable's path is unknown.
    #[error("failed to find the current executable")]
    CurrentExe(#[source] std::io::Error),
    /// `cargo build` could not be started.
    #[error("failed to run cargo to build {name}")]
    Cargo {
        /// The binary being built.
        name: String,
        /// Why cargo could not start.
        #[source]
        source: std::io::Error,
    },
    /// `cargo build` ran but the binary is still not there.
    #[error("binary {name} not found at {path} (cargo build -p {package} failed?)")]
    Missing {
        /// The binary.
        name: String,
        /// The package that builds it.
        package: String,
        /// Where it was expected.
        path: PathBuf,
    },
}

/// The directory holding the workspace's binaries for the running profile
/// (`target/<triple>/debug`).
pub fn bin_dir() -> Result<PathBuf, LocateError> {
    let exe = env::current_exe().map_err(LocateError::CurrentExe)?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The `wharf-probe` binary (`$WHARF_PROBE` overrides), built if missing.
pub fn probe_path() -> Result<PathBuf, LocateError> {
    locate("WHARF_PROBE", "wharf-probe", "wharf-testkit")
}

/// The `wharf` binary (`$WHARF_BIN` overrides), built if missing.
pub fn wharf_path() -> Result<PathBuf, LocateError> {
    locate("WHARF_BIN", "wharf", "wharf")
}

fn locate(var: &str, name: &str, package: &str) -> Result<PathBuf, LocateError> {
    if let Some(p) = env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    let dir = bin_dir()?;
    let path = dir.join(name);
    if !path.is_file() {
        build(&dir, name, package)?;
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(LocateError::Missing {
            name: name.into(),
            package: package.into(),
            path,
        })
    }
}

/// Runs `cargo build -p package --bin name` for the profile `dir` belongs to.
/// Failure is reported by the caller finding no binary.
fn build(dir: &Path, name: &str, package: &str) -> Result<(), LocateError> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", package, "--bin", name]);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    cmd.status().map_err(|source| LocateError::Cargo {
        name: name.into(),
        source,
    })?;
    Ok(())
}
