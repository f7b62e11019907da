//! `wharf run` without the engine, and the builder's [`StepRunner`]: both
//! run one process in a mounted root filesystem through the runtime
//! library, in the foreground.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wharf_build::runner::{RunStep, RunnerError, StepNetwork, StepRunner};
use wharf_image::store::Store;
use wharf_runtime::{CreateOptions, Runtime};

use crate::cli::RunArgs;
use crate::container_spec::{container_env, container_spec, Network, ProcessSpec};
use crate::local::{self, Containers, Record};

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
    let spec = container_spec(l.rootfs, &l.bundle, l.hostname, &l.process, l.network)?;
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

/// `wharf run`.
pub fn run(store: &Store, args: &RunArgs) -> Result<i32> {
    if args.tty && !rustix::termios::isatty(std::io::stdin()) {
        bail!("the input device is not a TTY");
    }
    let network = match args.network.as_str() {
        "none" => Network::None,
        "host" => Network::Host,
        other => {
            bail!("network {other} not found: without the engine only \"none\" and \"host\" exist")
        }
    };
    let image = store
        .image(&args.image)
        .with_context(|| format!("Unable to find image '{}' locally", args.image))?;
    let containers = Containers::new(store);
    let id = local::new_id();
    let name = match &args.name {
        Some(n) => {
            local::check_name(n)?;
            if let Some(other) = containers.find(n).ok().filter(|r| &r.name == n) {
                bail!(
                    "Conflict. The container name \"/{n}\" is already in use by container \
                     \"{}\". You have to remove (or rename) that container to be able to reuse \
                     that name.",
                    other.id
                );
            }
            n.clone()
        }
        None => local::generated_name(&id),
    };
    let config = image.config.config.clone().unwrap_or_default();
    let entrypoint = match &args.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => config.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = match (&args.entrypoint, args.command.is_empty()) {
        (_, false) => args.command.clone(),
        (Some(_), true) => Vec::new(),
        (None, true) => config.cmd.clone().unwrap_or_default(),
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        bail!("No command specified");
    }
    let record = Record {
        id: id.clone(),
        name,
        image: image.id.clone(),
        image_name: args.image.clone(),
        command: argv.clone(),
        created: crate::format::now_rfc3339(),
        exit_code: None,
    };
    containers.save(&record)?;
    let result = run_record(store, &containers, &record, args, &config, argv, network);
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let _ = containers.remove(&id);
            return Err(e);
        }
    };
    if args.rm {
        containers.remove(&id)?;
    } else {
        containers.save(&Record {
            exit_code: Some(code),
            ..record
        })?;
    }
    Ok(code)
}

fn run_record(
    store: &Store,
    containers: &Containers<'_>,
    record: &Record,
    args: &RunArgs,
    config: &wharf_image::config::RunConfig,
    argv: Vec<String>,
    network: Network,
) -> Result<i32> {
    let snapshot = store.create_snapshot(&record.id, Some(&record.image))?;
    let rootfs = wharf_image::rootfs::mount_with_init(&snapshot)?;
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| record.id[..12].to_string());
    let user_spec = args.user.clone().unwrap_or_else(|| config.user.clone());
    let user = wharf_image::user::resolve(&rootfs, &user_spec)?;
    let mut overrides = args.env.clone();
    if args.tty {
        overrides.insert(0, "TERM=xterm".into());
    }
    let env = container_env(
        config.env.as_deref().unwrap_or_default(),
        &overrides,
        &hostname,
        &user.home,
    );
    let cwd = args
        .workdir
        .clone()
        .or_else(|| Some(config.working_dir.clone()).filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    local::mkdir_in_root(&rootfs, &cwd)?;
    if !args.interactive {
        let null = std::fs::File::open("/dev/null")?;
        rustix::stdio::dup2_stdin(&null)?;
    }
    let bundle = local::bundle_dir(containers, &record.id);
    std::fs::create_dir_all(&bundle)?;
    let launched = launch(&Launch {
        id: &record.id,
        rootfs: &rootfs,
        bundle,
        hostname: &hostname,
        process: ProcessSpec {
            args: argv,
            env,
            cwd,
            user,
            terminal: args.tty,
        },
        network,
        runtime_root: containers.runtime_root(),
    });
    store.unmount_snapshot(&snapshot)?;
    launched
}

/// Runs build steps with the runtime library, output to our stdout.
pub struct LocalStepRunner {
    /// The runtime's state directory.
    pub runtime_root: PathBuf,
    /// Where step bundles go.
    pub bundles: PathBuf,
    /// `--network` of the build.
    pub network: Network,
    /// `-q`: the steps' output goes nowhere.
    pub quiet: bool,
}

impl StepRunner for LocalStepRunner {
    fn run(&mut self, step: &RunStep<'_>) -> Result<i32, RunnerError> {
        let user = wharf_image::user::resolve(step.rootfs, step.user)?;
        let env = container_env(step.env, &[], step.id, &user.home);
        local::mkdir_in_root(step.rootfs, step.workdir)?;
        let network = match step.network {
            StepNetwork::Default => self.network,
            StepNetwork::None => Network::None,
            StepNetwork::Host => Network::Host,
        };
        let bundle = self.bundles.join(step.id);
        std::fs::create_dir_all(&bundle)?;
        let _silence = match self.quiet {
            true => Some(Silenced::new()?),
            false => None,
        };
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
        let _ = std::fs::remove_dir_all(self.bundles.join(id));
    }
}

/// Standard output and error sent to /dev/null until dropped.
struct Silenced {
    stdout: std::os::fd::OwnedFd,
    stderr: std::os::fd::OwnedFd,
}

impl Silenced {
    fn new() -> std::io::Result<Silenced> {
        let saved = Silenced {
            stdout: rustix::io::dup(std::io::stdout())?,
            stderr: rustix::io::dup(std::io::stderr())?,
        };
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
        rustix::stdio::dup2_stdout(&null)?;
        rustix::stdio::dup2_stderr(&null)?;
        Ok(saved)
    }
}

impl Drop for Silenced {
    fn drop(&mut self) {
        let _ = rustix::stdio::dup2_stdout(&self.stdout);
        let _ = rustix::stdio::dup2_stderr(&self.stderr);
    }
}
