//! The OCI spec of a container: the image and its create options resolved
//! into a process ([`resolve`], at create time, validating every option
//! with Docker's messages), the `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` files ([`write_etc_files`]) and the runtime's
//! config.json ([`container_spec`], at each start).

mod caps;
mod devices;
mod etc;
mod ipc;
mod mounts;
mod oci;
mod resources;
mod seccomp;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use wharf_build::dispatch::{get_env, set_env};
use wharf_image::user::ResolvedUser;

use crate::error::{EngineError, Result};
use crate::model::{Container, CreateOptions, HealthConfig};

pub use caps::{all_caps, normalize_cap, tweak_caps};
pub(crate) use etc::resolv_conf;
pub use etc::{etc_paths, hostname, write_etc_files, write_etc_files_with};
pub use ipc::release_shm;
pub(crate) use oci::errno_text;
pub use validate::{parse_size, validate_host};

/// The process and metadata of a container, resolved from its options and
/// its image's config as `docker create` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// Executable: the first word of entrypoint + cmd.
    pub path: String,
    /// The rest of entrypoint + cmd.
    pub args: Vec<String>,
    /// The config's environment: the options' entries, then the image's
    /// whose keys the options do not set (Docker's merge). PATH, HOSTNAME,
    /// TERM and HOME are added for the process by [`container_spec`].
    pub env: Vec<String>,
    /// Working directory: the options', else the image's; empty when
    /// neither sets one (the process then runs in `/`).
    pub working_dir: String,
    /// User as given (resolved against the rootfs at start).
    pub user: String,
    /// Image labels overlaid with the options'.
    pub labels: BTreeMap<String, String>,
    /// Stop signal (`SIGTERM` by default).
    pub stop_signal: String,
    /// The options' health check, else the image's.
    pub healthcheck: Option<HealthConfig>,
    /// Exposed ports, image's and options' (`80/tcp`), sorted.
    pub exposed_ports: Vec<String>,
    /// Anonymous volume paths: the image's VOLUMEs and the options'.
    pub volumes: Vec<String>,
}

/// Resolves and validates `opts` against `image`: every option is checked
/// here with Docker's wording (the API answers 400).
pub fn resolve(opts: &CreateOptions, image: &wharf_image::store::Image) -> Result<Resolved> {
    let cfg = image.config.config.clone().unwrap_or_default();
    validate_host(opts)?;
    let (entrypoint, cmd) = entrypoint_and_cmd(opts, &cfg);
    let mut argv: Vec<String> = entrypoint;
    argv.extend(cmd);
    if argv.is_empty() {
        return Err(EngineError::invalid("No command specified"));
    }
    let path = argv.remove(0);

    let mut env: Vec<String> = Vec::new();
    for kv in &opts.env {
        // A bare `KEY` has no value on the daemon's side: the client
        // resolves it; the daemon drops it.
        if let Some((k, v)) = kv.split_once('=') {
            if k.is_empty() {
                return Err(EngineError::invalid(format!(
                    "invalid environment variable: {kv}"
                )));
            }
            set_env(&mut env, k, v);
        }
    }
    for kv in cfg.env.iter().flatten() {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        if get_env(&env, key).is_none() && kv.contains('=') {
            env.push(kv.clone());
        }
    }

    let working_dir = match opts.working_dir.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => w.to_string(),
        // Unset stays empty, as in Docker's Config; the process runs in `/`.
        None => cfg.working_dir.clone(),
    };
    let mut labels = cfg.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let stop_signal = opts
        .stop_signal
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| Some(cfg.stop_signal.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "SIGTERM".to_string());
    if wharf_runtime::lifecycle::parse_signal(&stop_signal).is_err() {
        return Err(EngineError::invalid(format!(
            "Invalid signal: {stop_signal}"
        )));
    }
    let healthcheck = match &opts.healthcheck {
        Some(h) if !h.test.is_empty() => Some(h.clone()),
        // Only durations given: the image's test with the options' timings.
        Some(h) => image_health(&cfg).map(|img| HealthConfig {
            interval: pick(h.interval, img.interval),
            timeout: pick(h.timeout, img.timeout),
            retries: pick(h.retries, img.retries),
            start_period: pick(h.start_period, img.start_period),
            start_interval: pick(h.start_interval, img.start_interval),
            test: img.test,
        }),
        None => image_health(&cfg),
    };
    if let Some(h) = &healthcheck {
        validate::healthcheck(h)?;
    }
    let mut exposed_ports: Vec<String> = cfg
        .exposed_ports
        .iter()
        .flat_map(|m| m.keys().cloned())
        .chain(opts.exposed_ports.iter().map(|p| normalize_port(p)))
        .collect();
    exposed_ports.sort();
    exposed_ports.dedup();
    let mut volumes: Vec<String> = cfg.volumes.iter().flat_map(|m| m.keys().cloned()).collect();
    for v in &opts.volumes {
        if !volumes.contains(v) {
            volumes.push(v.clone());
        }
    }
    Ok(Resolved {
        path,
        args: argv,
        env,
        working_dir,
        user: opts.user.clone().unwrap_or_else(|| cfg.user.clone()),
        labels,
        stop_signal,
        healthcheck,
        exposed_ports,
        volumes,
    })
}

/// Docker's defaults filled into create options (moby's
/// `adaptContainerSettings`): a memory limit without a swap limit gets
/// twice the memory as memory+swap, as `HostConfig.MemorySwap` shows and
/// the cgroup gets; on a host without swap accounting any swap limit
/// becomes -1 (none), with Docker's warning, which is returned.
pub fn adapt(opts: &mut CreateOptions) -> Vec<String> {
    let r = &mut opts.host.resources;
    if r.memory > 0 && r.memory_swap == 0 {
        r.memory_swap = r.memory.saturating_mul(2);
    }
    if r.memory > 0 && r.memory_swap > 0 && !resources::swap_supported() {
        r.memory_swap = -1;
        return vec![
            "Your kernel does not support swap limit capabilities or the cgroup is not \
             mounted. Memory limited without swap."
                .to_string(),
        ];
    }
    Vec::new()
}

/// The warnings Docker's create answers with for `opts` on this host
/// (options accepted but without effect), after those of [`adapt`].
pub fn warnings(opts: &CreateOptions) -> Vec<String> {
    let h = &opts.host;
    let mut out = Vec::new();
    if h.resources.oom_kill_disable && h.resources.memory == 0 {
        out.push(
            "OOM killer is disabled for the container, but no memory limit is set, this can \
             result in the system running out of resources."
                .to_string(),
        );
    }
    if h.resources.blkio_weight != 0 && !resources::blkio_weight_supported() {
        out.push(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. \
             Weight discarded."
                .to_string(),
        );
    }
    if h.network_mode == "host" && (!h.port_bindings.is_empty() || h.publish_all_ports) {
        out.push("Published ports are discarded when using host network mode".to_string());
    }
    out
}

/// Docker's merge of entrypoint and cmd: an entrypoint given by the user
/// (even an empty one) runs with the user's cmd alone; otherwise the
/// image's entrypoint runs with the user's cmd, or the image's when the
/// user gave none.
pub(crate) fn entrypoint_and_cmd(
    opts: &CreateOptions,
    cfg: &wharf_image::config::RunConfig,
) -> (Vec<String>, Vec<String>) {
    match &opts.entrypoint {
        Some(ep) => (
            ep.iter().filter(|s| !s.is_empty()).cloned().collect(),
            opts.cmd.clone().unwrap_or_default(),
        ),
        None => {
            let cmd = match &opts.cmd {
                Some(c) if !c.is_empty() => c.clone(),
                _ => cfg.cmd.clone().unwrap_or_default(),
            };
            (cfg.entrypoint.clone().unwrap_or_default(), cmd)
        }
    }
}

fn pick(mine: i64, theirs: i64) -> i64 {
    if mine != 0 {
        mine
    } else {
        theirs
    }
}

fn image_health(cfg: &wharf_image::config::RunConfig) -> Option<HealthConfig> {
    cfg.healthcheck.as_ref().map(|h| HealthConfig {
        test: h.test.clone(),
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        start_period: h.start_period,
        start_interval: h.start_interval,
    })
}

fn normalize_port(p: &str) -> String {
    if p.contains('/') {
        p.to_string()
    } else {
        format!("{p}/tcp")
    }
}

/// The runtime spec of `c`, whose root filesystem is mounted at `rootfs`
/// and whose user resolved to `user`. `peer_pid` maps the container named in
/// a `container:<name|id>` network/ipc/pid mode to the host pid of its
/// running init (an error, e.g. 409, when it does not run); the spec joins
/// that process's namespaces by `/proc/<pid>/ns/<kind>`. The working
/// directory is created in `rootfs` when missing (Docker).
pub fn container_spec(
    c: &Container,
    rootfs: &Path,
    user: &ResolvedUser,
    peer_pid: &dyn Fn(&str) -> Result<i32>,
) -> Result<Spec> {
    let env = StartEnv {
        peer_pid,
        peer: None,
        init: None,
    };
    oci::build(c, rootfs, user, &env)
}

/// Finds a container by name or id.
pub type PeerLookup<'a> = &'a dyn Fn(&str) -> Result<Container>;

/// What the spec of a container being started needs from the engine.
pub struct StartEnv<'a> {
    /// The host pid of the running init of the container named in a
    /// `container:<name|id>` mode (an error, e.g. 409, when it does not run).
    pub peer_pid: &'a dyn Fn(&str) -> Result<i32>,
    /// That container, running or not: `--ipc container:` checks that it is
    /// shareable and binds its `/dev/shm`. Without it, only the namespace
    /// is joined.
    pub peer: Option<PeerLookup<'a>>,
    /// The init binary (the `wharf` executable) bind-mounted read-only at
    /// `/sbin/docker-init` for `--init`; without it `--init` is refused.
    pub init: Option<PathBuf>,
}

/// [`container_spec`] with everything a start knows ([`StartEnv`]): Docker's
/// `--init` and the `/dev/shm` of `--ipc shareable` (a tmpfs mounted on the
/// host under the container's directory, see [`release_shm`]) and of
/// `--ipc container:<x>` (the donor's).
pub fn container_spec_with(
    c: &Container,
    rootfs: &Path,
    user: &ResolvedUser,
    env: &StartEnv<'_>,
) -> Result<Spec> {
    oci::build(c, rootfs, user, env)
}
