//! The builder's [`StepRunner`] in `wharf build-internal`: each `RUN`
//! step runs as a container of the runtime library, in the foreground, in
//! the step's mounted root filesystem. Step containers are the builder's
//! own, kept under the daemon's `<exec-root>/build` runtime root; they are
//! not engine containers (no record, no events, not in `ps -a`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wharf_build::runner::{RunStep, RunnerError, StepNetwork, StepRunner};
use wharf_runtime::{CreateOptions, Runtime};

use crate::container_spec::{container_env, container_spec, Network, ProcessSpec};

/// One process to run in a root filesystem.
pub struct Launch<'a> {
    /// Container id for the runtime.
    pub id: &'a str,
    /// The mounted root filesystem.
    pub rootfs: &'a Path,
    /// Where the bundle (config.json, /etc files) goes.
    pub bundle: PathBuf,
    /// UTS hostname.
    pub hostname: &'a str,
    /// The process.
    pub process: ProcessSpec,
    /// The network namespace.
    pub network: Network,
    /// The runtime's state directory.
    pub runtime_root: PathBuf,
}

/// Writes the bundle and runs the container to its end; returns its exit
/// code. The bundle directory is left for the caller to remove.
pub fn launch(l: &Launch<'_>) -> Result<i32> {
    let spec = container_spec(l.rootfs, &l.bundle, l.hostname, &l.process, &l.network)?;
    let config = l.bundle.join("config.json");
    std::fs::write(&config, serde_json::to_vec(&spec)?)
        .with_context(|| format!("failed to write {}", config.display()))?;
    let runtime = Runtime::new(&l.runtime_root);
    let opts = CreateOptions {
        bundle: l.bundle.clone(),
        ..CreateOptions::default()
    };
    let code = runtime
        .run(l.id, &opts, false, false)
        .with_context(|| format!("failed to run container {}", &l.id[..12.min(l.id.len())]))?;
    Ok(code)
}

/// Runs build steps with the runtime library, output to our stdout.
pub struct LocalStepRunner {
    /// The runtime's state directory.
    pub runtime_root: PathBuf,
    /// Where step bundles go.
    pub bundles: PathBuf,
    /// What `RUN` steps get by default: the build's `--network` (the
    /// daemon's sandbox on its default bridge, `host` or `none`).
    pub network: Network,
}

impl StepRunner for LocalStepRunner {
    fn run(&mut self, step: &RunStep<'_>) -> Result<i32, RunnerError> {
        let user = wharf_image::user::resolve(step.rootfs, step.user)?;
        let env = container_env(step.env, &[], step.id, &user.home);
        wharf_image::rootfs::mkdir_all(step.rootfs, step.workdir)
            .with_context(|| format!("failed to create {} in the container", step.workdir))?;
        let network = match step.network {
            StepNetwork::Default => self.network.clone(),
            StepNetwork::None => Network::None,
            StepNetwork::Host => Network::Host,
        };
        let bundle = self.bundles.join(step.id);
        std::fs::create_dir_all(&bundle)?;
        let result = launch(&Launch {
            id: step.id,
            rootfs: step.rootfs,
            bundle: bundle.clone(),
            hostname: step.id,
            process: ProcessSpec {
                args: step.args.to_vec(),
                env,
                cwd: step.workdir.to_string(),
                user,
                terminal: false,
            },
            network,
            runtime_root: self.runtime_root.clone(),
        });
        let _ = std::fs::remove_dir_all(&bundle);
        Ok(result?)
    }

    fn forget(&mut self, id: &str) {
        let _ = Runtime::new(&self.runtime_root).delete(id, true);
        // A builder killed while the runtime created the step's container
        // left its cgroup (the spec names none: the runtime's default for
        // the id) but no state for `delete` to find.
        if let Ok(cg) = wharf_runtime::cgroup::open(None, id) {
            let _ = wharf_runtime::cgroup::kill_and_destroy(&cg);
        }
        let _ = std::fs::remove_dir_all(self.bundles.join(id));
    }
}
