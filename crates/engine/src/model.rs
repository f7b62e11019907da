//! The engine's own vocabulary: what a caller asks for when it creates a
//! container, and what the engine knows about one. These types are the
//! engine's, persisted as JSON in its database; the Docker API layer maps
//! Docker's shapes onto them and back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything `create` needs: Docker's Config and HostConfig in engine terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CreateOptions {
    /// `--name` (without the leading `/`); generated when absent.
    pub name: Option<String>,
    /// The image as the user named it.
    pub image: String,
    /// Overrides the image's Cmd (None keeps the image's).
    pub cmd: Option<Vec<String>>,
    /// Overrides the image's Entrypoint (Some(empty) clears it).
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` added to (or replacing in) the image's env.
    pub env: Vec<String>,
    /// Overrides the image's WorkingDir.
    pub working_dir: Option<String>,
    /// Overrides the image's User.
    pub user: Option<String>,
    /// UTS hostname; the short id when absent.
    pub hostname: Option<String>,
    /// Domain name.
    pub domainname: Option<String>,
    /// Labels, added to the image's.
    pub labels: BTreeMap<String, String>,
    /// Allocate a pty.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin after the first attach that sent stdin detaches.
    pub stdin_once: bool,
    /// Streams a client means to attach (recorded for inspect).
    pub attach_stdin: bool,
    /// See `attach_stdin`.
    pub attach_stdout: bool,
    /// See `attach_stdin`.
    pub attach_stderr: bool,
    /// Overrides the image's StopSignal.
    pub stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL (default 10).
    pub stop_timeout: Option<i64>,
    /// Overrides the image's Healthcheck.
    pub healthcheck: Option<HealthConfig>,
    /// Docker's `Config.Shell`: the shell of `CMD-SHELL` health checks
    /// (`/bin/sh -c` when empty). Docker does not take the image's SHELL.
    #[serde(default)]
    pub shell: Vec<String>,
    /// Ports the container exposes (`80/tcp`), added to the image's.
    pub exposed_ports: Vec<String>,
    /// Anonymous volume paths, added to the image's VOLUME list.
    pub volumes: Vec<String>,
    /// Host side.
    pub host: HostOptions,
    /// Docker's `NetworkingConfig.EndpointsConfig`: the networks (by name
    /// or id as given) the container joins besides its network mode's,
    /// with their settings; the mode's own network may be listed too.
    #[serde(default)]
    pub networks: BTreeMap<String, EndpointOptions>,
}

/// How a container joins one network (`--network-alias`, `--ip`;
/// Docker's EndpointSettings as a client sends it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Extra names other containers on the network resolve to it.
    pub aliases: Vec<String>,
    /// A fixed IPv4 address (`--ip`), user-defined networks only.
    pub ipv4_address: Option<String>,
    /// A fixed MAC address (`--mac-address`).
    pub mac_address: Option<String>,
}

/// A container's attachment to one network while it runs (an entry of
/// inspect's `NetworkSettings.Networks`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Endpoint {
    /// The network's id (64 hex).
    pub network_id: String,
    /// 64 hex, new for every attachment.
    pub endpoint_id: String,
    /// The container's IPv4 address.
    pub ip_address: String,
    /// The subnet's prefix length.
    pub prefix_len: u8,
    /// The network's gateway.
    pub gateway: String,
    /// `02:42:…` (from the address) or the one asked for.
    pub mac_address: String,
    /// What the container was joined with.
    pub options: EndpointOptions,
    /// Names other containers on the network resolve to it: its name,
    /// its aliases and its short id (user-defined networks only).
    pub dns_names: Vec<String>,
    /// Host end of the veth pair.
    pub host_ifname: String,
    /// Interface name in the container (`eth0`, `eth1`, …).
    pub ifname: String,
}

/// A published port as set up (inspect's `NetworkSettings.Ports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortMapping {
    /// Port in the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub proto: String,
    /// Host address (`0.0.0.0`: all).
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
}

/// A container's network state while it runs. After a stop only the last
/// sandbox's id and key stay (inspect shows them, as Docker's does).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkState {
    /// Its network namespace file (`<exec-root>/netns/<id12>`); empty
    /// without one of its own (`host`, `container:`, not running).
    pub sandbox_key: PathBuf,
    /// 64 hex, new for every run with a namespace of its own.
    pub sandbox_id: String,
    /// Network name → attachment.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// The network its ports are published on and its default route
    /// goes through (its first).
    #[serde(default)]
    pub primary: String,
    /// Published ports.
    pub ports: Vec<PortMapping>,
}

/// A network (`network inspect`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Network {
    /// 64 hex.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// RFC 3339 (nanoseconds).
    pub created: String,
    /// No outbound NAT and no published ports.
    pub internal: bool,
    /// Recorded only (Docker's swarm flag).
    pub attachable: bool,
    /// Recorded only (IPv6 is not supported yet).
    pub enable_ipv6: bool,
    /// The address pools (one IPv4 pool for a bridge network).
    pub ipam: Vec<IpamPool>,
    /// IPAM driver options.
    pub ipam_options: BTreeMap<String, String>,
    /// Driver options (`com.docker.network.bridge.name`, …).
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The bridge device (bridge driver only).
    pub bridge: String,
}

/// One IPAM pool.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IpamPool {
    /// CIDR, `172.18.0.0/16`.
    pub subnet: String,
    /// First host address unless given.
    pub gateway: String,
    /// Addresses handed out come from here (CIDR; empty: the subnet).
    pub ip_range: String,
}

/// `network create`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCreate {
    /// Name (unique).
    pub name: String,
    /// `bridge` (default when empty).
    pub driver: String,
    /// See [`Network::internal`].
    pub internal: bool,
    /// See [`Network::attachable`].
    pub attachable: bool,
    /// Refused when true (IPv6 is not supported yet).
    pub enable_ipv6: bool,
    /// Pools asked for (empty: one from the default pools).
    pub ipam: Vec<IpamPool>,
    /// IPAM driver options.
    pub ipam_options: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// Docker's HostConfig in engine terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostOptions {
    /// `-v` strings: `/host:/ctr[:opts]`, `name:/ctr[:opts]`, `/ctr`.
    pub binds: Vec<String>,
    /// `--mount` entries.
    pub mounts: Vec<MountSpec>,
    /// `--tmpfs /path[:opts]`: path → options.
    pub tmpfs: BTreeMap<String, String>,
    /// `none`, `host`, `default`/`bridge` (issue 5), `container:<id>`.
    pub network_mode: String,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add` (`NET_ADMIN` or `CAP_NET_ADMIN`, `ALL`).
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt` (`no-new-privileges`, `seccomp=unconfined|<file json>`, …).
    pub security_opt: Vec<String>,
    /// `--device`.
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule` (`c 42:* rmw`), checked at start as Docker does.
    #[serde(default)]
    pub device_cgroup_rules: Vec<String>,
    /// `--ulimit`.
    pub ulimits: Vec<Ulimit>,
    /// Resource limits.
    pub resources: Resources,
    /// Log driver and options (`json-file` with `max-size`, `max-file`; `none`).
    pub log_config: LogConfig,
    /// `-p` bindings, kept for networking (issue 5): `80/tcp` → bindings.
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// `-P`.
    pub publish_all_ports: bool,
    /// `--dns`, `--dns-search`, `--dns-option`, `--add-host`.
    pub dns: Vec<String>,
    /// See `dns`.
    pub dns_search: Vec<String>,
    /// See `dns`.
    pub dns_options: Vec<String>,
    /// See `dns`.
    pub extra_hosts: Vec<String>,
    /// `--link name:alias` (Docker's legacy links), kept as `name:alias`.
    #[serde(default)]
    pub links: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--sysctl`.
    pub sysctls: BTreeMap<String, String>,
    /// `--shm-size` in bytes (default 64 MiB).
    pub shm_size: Option<i64>,
    /// `--init`: the container's command runs under `/sbin/docker-init`.
    pub init: Option<bool>,
    /// `--ipc` (`private`, `shareable`, `host`, `container:<id>`).
    pub ipc_mode: String,
    /// `--pid` (`host`, `container:<id>`).
    pub pid_mode: String,
    /// `--uts` (`host`).
    pub uts_mode: String,
    /// `--oom-score-adj`.
    pub oom_score_adj: i64,
}

/// A `--mount` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MountSpec {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// Host path (bind) or volume name (volume; empty: anonymous).
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// `bind-propagation`.
    pub propagation: Option<String>,
    /// `volume-nocopy`.
    pub no_copy: bool,
    /// `tmpfs-size` in bytes.
    pub tmpfs_size: Option<i64>,
    /// `tmpfs-mode`.
    pub tmpfs_mode: Option<u32>,
    /// Volume labels (`volume-label`).
    pub labels: BTreeMap<String, String>,
    /// The volume's driver (`volume-driver`; empty: `local`).
    #[serde(default)]
    pub driver: String,
    /// Options of a volume this mount creates (`volume-opt`: `type`,
    /// `device`, `o`); an existing volume keeps its own.
    #[serde(default)]
    pub driver_options: BTreeMap<String, String>,
}

/// A mount as the container finally has it (inspect's `Mounts`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MountPoint {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// Volume name (volume).
    pub name: Option<String>,
    /// Host path (for a volume, its `_data` directory).
    pub source: PathBuf,
    /// Path in the container.
    pub destination: String,
    /// `local` for volumes.
    pub driver: Option<String>,
    /// Mode string as Docker shows it (`ro`, `z`, ``).
    pub mode: String,
    /// Writable.
    pub rw: bool,
    /// Propagation (`rprivate` by default for binds).
    pub propagation: String,
    /// Created for this container from the image's VOLUME or `-v /path`.
    pub anonymous: bool,
    /// A volume that gets the image's content at its destination when it
    /// is empty at start (Docker's copy-up; false with `volume-nocopy`).
    #[serde(default)]
    pub copy_data: bool,
}

/// Restart policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestartPolicy {
    /// `no` (or empty), `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// `on-failure:N`.
    pub maximum_retry_count: i64,
}

/// `--device /dev/x[:/dev/y[:rwm]]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceMapping {
    /// Host path.
    pub path_on_host: String,
    /// Path in the container.
    pub path_in_container: String,
    /// `rwm` subset.
    pub cgroup_permissions: String,
}

/// `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ulimit {
    /// `nofile`, `nproc`, …
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// Resource limits (0 or None: unlimited / unset), as Docker names them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resources {
    /// `--memory` bytes.
    pub memory: i64,
    /// `--memory-swap` bytes (-1 unlimited).
    pub memory_swap: i64,
    /// `--memory-reservation` bytes.
    pub memory_reservation: i64,
    /// `--cpus` × 1e9.
    pub nano_cpus: i64,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `--cpu-period`.
    pub cpu_period: i64,
    /// `--cpu-quota`.
    pub cpu_quota: i64,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: String,
    /// `--cpuset-mems`.
    pub cpuset_mems: String,
    /// `--pids-limit` (None or ≤0: unlimited).
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`.
    pub blkio_weight: u16,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
}

/// Log driver configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogConfig {
    /// `json-file` (default when empty) or `none`.
    pub driver: String,
    /// Driver options (`max-size`, `max-file`).
    pub options: BTreeMap<String, String>,
}

/// One `-p` binding.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortBinding {
    /// Host address (empty: all).
    pub host_ip: String,
    /// Host port (empty: any).
    pub host_port: String,
}

/// A health check (Docker's HealthConfig; durations in nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", …]`, `["CMD-SHELL", "…"]`; empty inherits.
    pub test: Vec<String>,
    /// Between checks (default 30 s).
    pub interval: i64,
    /// One check's limit (default 30 s).
    pub timeout: i64,
    /// Failures before unhealthy (default 3).
    pub retries: i64,
    /// Grace period after start.
    pub start_period: i64,
    /// Interval during the start period (default 5 s).
    pub start_interval: i64,
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, never started.
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Being restarted by its policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process ended.
    Exited,
    /// Broken beyond use (e.g. its rootfs could not be mounted).
    Dead,
}

impl Status {
    /// Docker's word for the status (`created`, `running`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

/// A container's runtime state (inspect's `State`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// Status.
    pub status: Status,
    /// Init's pid on the host (0 when not running).
    pub pid: i32,
    /// Exit code of the last run.
    pub exit_code: i32,
    /// Killed by the OOM killer in the last run.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: String,
    /// RFC 3339 (nanoseconds) or Go's zero time `0001-01-01T00:00:00Z`.
    pub started_at: String,
    /// See `started_at`.
    pub finished_at: String,
    /// Health, when the container has a check.
    pub health: Option<Health>,
    /// Stopped by the user (`stop`/`kill` through the API): unless-stopped
    /// and always policies honour it across daemon restarts.
    pub manually_stopped: bool,
}

/// Health state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// `starting`, `healthy`, `unhealthy`.
    pub status: String,
    /// Consecutive failures.
    pub failing_streak: i64,
    /// The last (at most five) probes.
    pub log: Vec<HealthProbe>,
}

/// One health probe.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthProbe {
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// 0 healthy, 1 unhealthy, other: error.
    pub exit_code: i64,
    /// Output (at most 4 KiB).
    pub output: String,
}

/// Everything the engine knows about a container (inspect).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Container {
    /// 64 hex digits.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// RFC 3339 (nanoseconds).
    pub created: String,
    /// Image id (`sha256:…`).
    pub image_id: String,
    /// The options it was created with (updated by `update`/`rename`).
    pub options: CreateOptions,
    /// The resolved process: entrypoint+cmd as run.
    pub path: String,
    /// See `path`.
    pub args: Vec<String>,
    /// The final env (image's + options').
    pub env: Vec<String>,
    /// Final working dir.
    pub working_dir: String,
    /// Final user (as given, not resolved).
    pub user: String,
    /// Final labels (image's + options').
    pub labels: BTreeMap<String, String>,
    /// Final stop signal (`SIGTERM` default).
    pub stop_signal: String,
    /// Final healthcheck (options' or image's).
    pub healthcheck: Option<HealthConfig>,
    /// Final exposed ports (image's + options').
    pub exposed_ports: Vec<String>,
    /// Runtime state.
    pub state: State,
    /// Times started by its restart policy since the last manual start.
    pub restart_count: i64,
    /// Mounts as set up.
    pub mounts: Vec<MountPoint>,
    /// Snapshot (overlay) id in the image store (= container id).
    pub snapshot: String,
    /// Host path of the merged rootfs when mounted.
    pub rootfs: PathBuf,
    /// `<data-root>/containers/<id>/<id>-json.log`.
    pub log_path: PathBuf,
    /// `/etc/hostname` etc. source files.
    pub hostname_path: PathBuf,
    /// See `hostname_path`.
    pub hosts_path: PathBuf,
    /// See `hostname_path`.
    pub resolv_conf_path: PathBuf,
    /// Its network state while it runs.
    #[serde(default)]
    pub network: NetworkState,
}

/// The condition `wait` waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitCondition {
    /// Not running (returns at once if not running).
    #[default]
    NotRunning,
    /// The next exit (even if not running now: waits for a start and exit).
    NextExit,
    /// Removed.
    Removed,
}

/// How a run ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code (128+signal when killed).
    pub exit_code: i32,
    /// OOM killed.
    pub oom_killed: bool,
    /// RFC 3339 nanoseconds.
    pub finished_at: String,
}

/// `exec` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecOptions {
    /// Command and arguments.
    pub cmd: Vec<String>,
    /// Extra `KEY=value`.
    pub env: Vec<String>,
    /// Working dir (container's default when None).
    pub working_dir: Option<String>,
    /// User (container's when None).
    pub user: Option<String>,
    /// pty.
    pub tty: bool,
    /// Attach stdin.
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// Privileged (all caps).
    pub privileged: bool,
    /// Detach keys.
    pub detach_keys: Option<String>,
}

/// An exec as inspect shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecInfo {
    /// 64 hex.
    pub id: String,
    /// Container id.
    pub container_id: String,
    /// Options.
    pub options: ExecOptions,
    /// Running now.
    pub running: bool,
    /// Exit code once it ended.
    pub exit_code: Option<i32>,
    /// Host pid (0 before start).
    pub pid: i32,
}

/// An engine event (`/events`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// `container`, `image`, `volume`, `network`, `daemon`.
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`, `health_status: healthy`, `tag`, …
    pub action: String,
    /// Object id (container id, image id, volume name).
    pub id: String,
    /// Attributes (`name`, `image`, `exitCode`, labels…).
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the epoch.
    pub time_nano: i64,
}

/// A named or anonymous volume.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Volume {
    /// Name (64 hex for anonymous ones).
    pub name: String,
    /// `local`.
    pub driver: String,
    /// `<data-root>/volumes/<name>/_data`.
    pub mountpoint: PathBuf,
    /// RFC 3339.
    pub created_at: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options (`type`, `device`, `o` for the local driver).
    pub options: BTreeMap<String, String>,
    /// Made for one container (anonymous: removed with `rm -v`).
    pub anonymous: bool,
}

/// Options of `logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsOptions {
    /// stdout lines.
    pub stdout: bool,
    /// stderr lines.
    pub stderr: bool,
    /// Keep streaming new lines until the container stops.
    pub follow: bool,
    /// Only lines at or after (nanoseconds since the epoch).
    pub since: Option<i64>,
    /// Only lines before (nanoseconds since the epoch).
    pub until: Option<i64>,
    /// Prefix each line with its RFC 3339 time.
    pub timestamps: bool,
    /// Only the last N lines (None: all).
    pub tail: Option<usize>,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// 1 stdout, 2 stderr.
    pub stream: u8,
    /// RFC 3339 nanoseconds.
    pub time: String,
    /// The line, with its newline.
    pub line: Vec<u8>,
}

/// One `changes` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Path in the container.
    pub path: String,
    /// 0 modified, 1 added, 2 deleted (Docker's numbering).
    pub kind: u8,
}

/// The stat of a path in a container (archive HEAD/GET).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PathStat {
    /// Base name.
    pub name: String,
    /// Size.
    pub size: i64,
    /// Go's os.FileMode bits (type bits as Go puts them).
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    /// Symlink target, if one.
    pub link_target: String,
}
