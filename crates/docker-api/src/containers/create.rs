//! `POST /containers/create`: Docker's body (Config, HostConfig,
//! NetworkingConfig) mapped onto the engine's [`CreateOptions`].
//!
//! Docker's JSON decoder takes `null` for any field and a string where a
//! command list is expected; both are accepted here. Unknown fields are
//! ignored, as dockerd does; a field of the wrong type is a 400.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use wharf_engine::model::{
    CreateOptions, DeviceMapping, HealthConfig, HostOptions, LogConfig, MountSpec, PortBinding,
    Resources, RestartPolicy, Ulimit,
};

use crate::http::ApiError;
use crate::networks::joining::NetworkingBody;

/// `null` → the default.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's StrSlice: `null`, a string or a list of strings.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<S>::deserialize(d)? {
        None => None,
        Some(S::One(s)) => Some(vec![s]),
        Some(S::Many(v)) => Some(v),
    })
}

/// Docker's set-like maps (`"ExposedPorts": {"80/tcp": {}}`): the keys.
fn key_set<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let m: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(m.map(|m| m.into_keys().collect()).unwrap_or_default())
}

/// The create body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    #[serde(deserialize_with = "nullable")]
    hostname: String,
    #[serde(deserialize_with = "nullable")]
    domainname: String,
    #[serde(deserialize_with = "nullable")]
    user: String,
    #[serde(deserialize_with = "nullable")]
    attach_stdin: bool,
    #[serde(deserialize_with = "nullable")]
    attach_stdout: bool,
    #[serde(deserialize_with = "nullable")]
    attach_stderr: bool,
    #[serde(deserialize_with = "key_set")]
    exposed_ports: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    tty: bool,
    #[serde(deserialize_with = "nullable")]
    open_stdin: bool,
    #[serde(deserialize_with = "nullable")]
    stdin_once: bool,
    #[serde(deserialize_with = "nullable")]
    env: Vec<String>,
    #[serde(deserialize_with = "str_slice")]
    cmd: Option<Vec<String>>,
    healthcheck: Option<Health>,
    #[serde(deserialize_with = "nullable")]
    shell: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    image: String,
    #[serde(deserialize_with = "key_set")]
    volumes: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    working_dir: String,
    #[serde(deserialize_with = "str_slice")]
    entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    stop_signal: String,
    stop_timeout: Option<i64>,
    /// Deprecated since API 1.44 for the endpoint's own.
    #[serde(deserialize_with = "nullable")]
    mac_address: String,
    host_config: Option<Host>,
    #[serde(deserialize_with = "nullable")]
    networking_config: NetworkingBody,
}

/// Docker's HealthConfig.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Health {
    #[serde(deserialize_with = "nullable")]
    test: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    interval: i64,
    #[serde(deserialize_with = "nullable")]
    timeout: i64,
    #[serde(deserialize_with = "nullable")]
    retries: i64,
    #[serde(deserialize_with = "nullable")]
    start_period: i64,
    #[serde(deserialize_with = "nullable")]
    start_interval: i64,
}

/// Docker's HostConfig (the fields the engine knows).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Host {
    #[serde(deserialize_with = "nullable")]
    binds: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    log_config: Log,
    #[serde(deserialize_with = "nullable")]
    network_mode: String,
    #[serde(deserialize_with = "nullable")]
    port_bindings: BTreeMap<String, Option<Vec<Port>>>,
    #[serde(deserialize_with = "nullable")]
    restart_policy: Restart,
    #[serde(deserialize_with = "nullable")]
    auto_remove: bool,
    #[serde(deserialize_with = "nullable")]
    mounts: Vec<Mount>,
    #[serde(deserialize_with = "nullable")]
    cap_add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    cap_drop: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns_options: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns_search: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    extra_hosts: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    links: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    group_add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    ipc_mode: String,
    #[serde(deserialize_with = "nullable")]
    oom_score_adj: i64,
    #[serde(deserialize_with = "nullable")]
    pid_mode: String,
    #[serde(deserialize_with = "nullable")]
    privileged: bool,
    #[serde(deserialize_with = "nullable")]
    publish_all_ports: bool,
    #[serde(deserialize_with = "nullable")]
    readonly_rootfs: bool,
    #[serde(deserialize_with = "nullable")]
    security_opt: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode", deserialize_with = "nullable")]
    uts_mode: String,
    #[serde(deserialize_with = "nullable")]
    shm_size: i64,
    #[serde(deserialize_with = "nullable")]
    sysctls: BTreeMap<String, String>,
    init: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    devices: Vec<Device>,
    #[serde(deserialize_with = "nullable")]
    device_cgroup_rules: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    ulimits: Vec<Limit>,
    #[serde(flatten)]
    resources: ResourcesBody,
}

/// Docker's Resources (also the body of `update`, with RestartPolicy).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourcesBody {
    #[serde(deserialize_with = "nullable")]
    memory: i64,
    #[serde(deserialize_with = "nullable")]
    memory_swap: i64,
    #[serde(deserialize_with = "nullable")]
    memory_reservation: i64,
    #[serde(deserialize_with = "nullable")]
    nano_cpus: i64,
    #[serde(deserialize_with = "nullable")]
    cpu_shares: i64,
    #[serde(deserialize_with = "nullable")]
    cpu_period: i64,
    #[serde(deserialize_with = "nullable")]
    cpu_quota: i64,
    #[serde(deserialize_with = "nullable")]
    cpuset_cpus: String,
    #[serde(deserialize_with = "nullable")]
    cpuset_mems: String,
    pids_limit: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    blkio_weight: u16,
    oom_kill_disable: Option<bool>,
}

impl ResourcesBody {
    /// The engine's resources.
    pub fn to_resources(&self) -> Resources {
        Resources {
            memory: self.memory,
            memory_swap: self.memory_swap,
            memory_reservation: self.memory_reservation,
            nano_cpus: self.nano_cpus,
            cpu_shares: self.cpu_shares,
            cpu_period: self.cpu_period,
            cpu_quota: self.cpu_quota,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            oom_kill_disable: self.oom_kill_disable.unwrap_or(false),
        }
    }
}

/// The body of `POST /containers/{id}/update`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateBody {
    /// The limits.
    #[serde(flatten)]
    pub resources: ResourcesBody,
    /// The restart policy, when given.
    pub restart_policy: Option<Restart>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Log {
    #[serde(deserialize_with = "nullable")]
    r#type: String,
    #[serde(deserialize_with = "nullable")]
    config: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Port {
    #[serde(rename = "HostIp", deserialize_with = "nullable")]
    host_ip: String,
    #[serde(rename = "HostPort", deserialize_with = "nullable")]
    host_port: String,
}

/// Docker's RestartPolicy.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Restart {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    maximum_retry_count: i64,
}

impl Restart {
    /// The engine's policy.
    pub fn to_policy(&self) -> RestartPolicy {
        RestartPolicy {
            name: self.name.clone(),
            maximum_retry_count: self.maximum_retry_count,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Mount {
    #[serde(deserialize_with = "nullable")]
    r#type: String,
    #[serde(deserialize_with = "nullable")]
    source: String,
    #[serde(deserialize_with = "nullable")]
    target: String,
    #[serde(deserialize_with = "nullable")]
    read_only: bool,
    bind_options: Option<BindOptions>,
    volume_options: Option<VolumeOptions>,
    tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct BindOptions {
    propagation: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeOptions {
    #[serde(deserialize_with = "nullable")]
    no_copy: bool,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    driver_config: Option<DriverConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DriverConfig {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TmpfsOptions {
    size_bytes: Option<i64>,
    mode: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Device {
    #[serde(deserialize_with = "nullable")]
    path_on_host: String,
    #[serde(deserialize_with = "nullable")]
    path_in_container: String,
    #[serde(deserialize_with = "nullable")]
    cgroup_permissions: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Limit {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    soft: i64,
    #[serde(deserialize_with = "nullable")]
    hard: i64,
}

/// Docker's rule for container names.
pub fn validate_name(name: &str) -> Result<String, ApiError> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let b = n.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if !ok {
        return Err(ApiError::bad_request(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(n.to_string())
}

impl CreateBody {
    /// The engine's options; `name` is the `name` query parameter,
    /// `version` the request's API version.
    pub fn into_options(
        self,
        name: Option<&str>,
        version: (u32, u32),
    ) -> Result<CreateOptions, ApiError> {
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(validate_name(n)?),
            None => None,
        };
        if self.image.is_empty() {
            return Err(ApiError::bad_request(
                "Config cannot be empty in order to create a container",
            ));
        }
        let h = self.host_config.unwrap_or_default();
        let entrypoint = self.entrypoint.map(|e| {
            if e.len() == 1 && e[0].is_empty() {
                Vec::new()
            } else {
                e
            }
        });
        let some = |s: String| (!s.is_empty()).then_some(s);
        let network_mode = if h.network_mode.is_empty() {
            "default".to_string()
        } else {
            h.network_mode
        };
        let networks =
            self.networking_config
                .into_networks(&network_mode, &self.mac_address, version.1)?;
        let host = HostOptions {
            binds: h.binds,
            mounts: h.mounts.into_iter().map(mount_spec).collect(),
            tmpfs: h.tmpfs,
            network_mode,
            restart: h.restart_policy.to_policy(),
            auto_remove: h.auto_remove,
            read_only: h.readonly_rootfs,
            privileged: h.privileged,
            cap_add: h.cap_add,
            cap_drop: h.cap_drop,
            security_opt: h.security_opt,
            devices: h
                .devices
                .into_iter()
                .map(|d| DeviceMapping {
                    path_on_host: d.path_on_host,
                    path_in_container: d.path_in_container,
                    cgroup_permissions: d.cgroup_permissions,
                })
                .collect(),
            device_cgroup_rules: h.device_cgroup_rules,
            ulimits: h
                .ulimits
                .into_iter()
                .map(|u| Ulimit {
                    name: u.name,
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            resources: h.resources.to_resources(),
            log_config: LogConfig {
                driver: h.log_config.r#type,
                options: h.log_config.config,
            },
            port_bindings: h
                .port_bindings
                .into_iter()
                .map(|(k, v)| {
                    let v = v
                        .unwrap_or_default()
                        .into_iter()
                        .map(|p| PortBinding {
                            host_ip: p.host_ip,
                            host_port: p.host_port,
                        })
                        .collect();
                    (k, v)
                })
                .collect(),
            publish_all_ports: h.publish_all_ports,
            dns: h.dns,
            dns_search: h.dns_search,
            dns_options: h.dns_options,
            extra_hosts: h.extra_hosts,
            links: h.links,
            group_add: h.group_add,
            sysctls: h.sysctls,
            shm_size: (h.shm_size > 0).then_some(h.shm_size),
            init: h.init,
            ipc_mode: h.ipc_mode,
            pid_mode: h.pid_mode,
            uts_mode: h.uts_mode,
            oom_score_adj: h.oom_score_adj,
        };
        Ok(CreateOptions {
            name,
            image: self.image,
            cmd: self.cmd.filter(|c| !c.is_empty()),
            entrypoint,
            env: self.env,
            working_dir: some(self.working_dir),
            user: some(self.user),
            hostname: some(self.hostname),
            domainname: some(self.domainname),
            labels: self.labels,
            tty: self.tty,
            open_stdin: self.open_stdin,
            stdin_once: self.stdin_once,
            attach_stdin: self.attach_stdin,
            attach_stdout: self.attach_stdout,
            attach_stderr: self.attach_stderr,
            stop_signal: some(self.stop_signal),
            stop_timeout: self.stop_timeout,
            healthcheck: self.healthcheck.map(|h| HealthConfig {
                test: h.test,
                interval: h.interval,
                timeout: h.timeout,
                retries: h.retries,
                start_period: h.start_period,
                start_interval: h.start_interval,
            }),
            shell: self.shell,
            exposed_ports: self.exposed_ports,
            volumes: self.volumes,
            host,
            networks,
        })
    }
}

fn mount_spec(m: Mount) -> MountSpec {
    let vo = m.volume_options.unwrap_or_default();
    let dc = vo.driver_config.unwrap_or_default();
    let to = m.tmpfs_options.unwrap_or_default();
    MountSpec {
        kind: m.r#type.to_ascii_lowercase(),
        source: m.source,
        target: m.target,
        read_only: m.read_only,
        propagation: m
            .bind_options
            .and_then(|b| b.propagation)
            .filter(|p| !p.is_empty()),
        no_copy: vo.no_copy,
        tmpfs_size: to.size_bytes.filter(|s| *s > 0),
        tmpfs_mode: to.mode.filter(|m| *m != 0),
        labels: vo.labels,
        driver: dc.name,
        driver_options: dc.options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> CreateOptions {
        let body: CreateBody = serde_json::from_str(json).unwrap();
        body.into_options(Some("/web-1"), (1, 47)).unwrap()
    }

    #[test]
    fn create_body_maps_dockers_fields_and_nulls() {
        let o = parse(
            r#"{"Image":"busybox","Cmd":"true","Entrypoint":null,"Env":null,
            "ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"Labels":{"a":"b"},
            "Tty":true,"Bogus":1,
            "HostConfig":{"Binds":["/h:/c:ro"],"NetworkMode":"none","Memory":6291456,
             "PidsLimit":null,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},
             "Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1024}}],
             "UTSMode":"host","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}}}"#,
        );
        assert_eq!(o.name.as_deref(), Some("web-1"));
        assert_eq!(o.cmd, Some(vec!["true".to_string()]));
        assert_eq!(o.entrypoint, None);
        assert!(o.tty);
        assert_eq!(o.exposed_ports, vec!["80/tcp"]);
        assert_eq!(o.volumes, vec!["/data"]);
        assert_eq!(o.host.binds, vec!["/h:/c:ro"]);
        assert_eq!(o.host.network_mode, "none");
        assert_eq!(o.host.resources.memory, 6291456);
        assert_eq!(o.host.resources.pids_limit, None);
        assert_eq!(o.host.restart.maximum_retry_count, 3);
        assert_eq!(o.host.mounts[0].kind, "tmpfs");
        assert_eq!(o.host.mounts[0].tmpfs_size, Some(1024));
        assert_eq!(o.host.uts_mode, "host");
        assert_eq!(o.host.port_bindings["80/tcp"][0].host_port, "8080");
    }

    #[test]
    fn empty_entrypoint_clears_and_missing_image_is_refused() {
        let o = parse(r#"{"Image":"x","Entrypoint":[""]}"#);
        assert_eq!(o.entrypoint, Some(vec![]));
        let body: CreateBody = serde_json::from_str("{}").unwrap();
        assert_eq!(
            body.into_options(None, (1, 47))
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
        let wrong: Result<CreateBody, _> = serde_json::from_str(r#"{"Image":"x","Memory":"x"}"#);
        assert!(
            wrong.is_ok(),
            "Memory lives in HostConfig, ignored at top level"
        );
        let wrong: Result<CreateBody, _> =
            serde_json::from_str(r#"{"Image":"x","HostConfig":{"Memory":"x"}}"#);
        assert!(wrong.is_err());
    }

    #[test]
    fn container_names_follow_dockers_pattern() {
        assert_eq!(validate_name("/ab").unwrap(), "ab");
        assert_eq!(validate_name("a.b_c-d").unwrap(), "a.b_c-d");
        for bad in ["a", "bad/name", "-ab", "a b", ""] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
