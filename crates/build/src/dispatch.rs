//! What the metadata instructions do to an image's config, with Docker's
//! semantics: ENV replaces a key in place, ENTRYPOINT clears a CMD that was
//! inherited, EXPOSE normalizes `80` to `80/tcp`, relative WORKDIRs join
//! the previous one. Used by the executor and by `--change` of `import` and
//! `commit`.

use std::collections::BTreeMap;

use wharf_image::config::{Empty, HealthConfig, ImageConfig, RunConfig};

use crate::dockerfile::{Healthcheck, Instruction, ShellOrExec};

/// A metadata instruction that Docker refuses.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// `VOLUME ""`.
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    /// `EXPOSE` with a port that is not a number or range.
    #[error("invalid containerPort: {0}")]
    BadPort(String),
    /// `STOPSIGNAL` with an unknown signal.
    #[error("invalid signal: {0}")]
    BadSignal(String),
    /// An instruction that cannot be applied here (`RUN` in `--change`).
    #[error("{0} is not a valid change command")]
    NotAChange(String),
}

/// Docker's `PATH` for a stage or container whose image sets none. (The
/// runtime keeps the same default for processes; neither crate depends on
/// the other.)
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default `SHELL`.
pub fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_string(), "-c".to_string()]
}

/// The shell of a config: its `SHELL`, else `/bin/sh -c`.
pub fn shell_of(config: &RunConfig) -> Vec<String> {
    config
        .shell
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(default_shell)
}

/// Sets `KEY=value` in an environment list, replacing the key in place.
pub fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// The value of `key` in an environment list.
pub fn get_env<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .filter_map(|e| e.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Joins a WORKDIR with the current one and cleans it (`/a/./b/..` → `/a`).
pub fn resolve_workdir(current: &str, requested: &str) -> String {
    let joined = if requested.starts_with('/') {
        requested.to_string()
    } else {
        format!(
            "{}/{requested}",
            if current.is_empty() { "/" } else { current }
        )
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Applies one metadata instruction (already expanded) to `image`'s config.
/// `cmd_set` tracks whether this build set CMD, since ENTRYPOINT clears an
/// inherited CMD only. RUN, COPY, ADD, FROM and ARG are not metadata.
pub fn apply(
    image: &mut ImageConfig,
    instr: &Instruction,
    cmd_set: &mut bool,
) -> Result<(), DispatchError> {
    let c = image.config.get_or_insert_with(RunConfig::default);
    let shell = shell_of(c);
    let argv = |s: &ShellOrExec| s.to_argv(&shell);
    match instr {
        Instruction::Env(kv) => {
            let env = c.env.get_or_insert_with(Vec::new);
            for (k, v) in kv {
                set_env(env, k, v);
            }
        }
        Instruction::Label(kv) => {
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in kv {
                labels.insert(k.clone(), v.clone());
            }
        }
        Instruction::Workdir(w) => c.working_dir = resolve_workdir(&c.working_dir, w),
        Instruction::User(u) => c.user = u.clone(),
        Instruction::Cmd(cmd) => {
            c.cmd = Some(argv(cmd));
            *cmd_set = true;
        }
        Instruction::Entrypoint(ep) => {
            c.entrypoint = Some(argv(ep));
            if !*cmd_set {
                c.cmd = None;
            }
        }
        Instruction::Expose(ports) => {
            let map = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in ports {
                for port in expand_port(p)? {
                    map.insert(port, Empty {});
                }
            }
        }
        Instruction::Volume(vols) => {
            let map = c.volumes.get_or_insert_with(BTreeMap::new);
            for v in vols {
                if v.trim().is_empty() {
                    return Err(DispatchError::EmptyVolume);
                }
                map.insert(v.clone(), Empty {});
            }
        }
        Instruction::StopSignal(s) => {
            check_signal(s)?;
            c.stop_signal = s.clone();
        }
        Instruction::Healthcheck(Healthcheck::None) => {
            c.healthcheck = Some(HealthConfig {
                test: vec!["NONE".to_string()],
                ..HealthConfig::default()
            });
        }
        Instruction::Healthcheck(Healthcheck::Cmd(h)) => {
            let ns = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_nanos() as i64);
            c.healthcheck = Some(HealthConfig {
                test: h.test_argv(),
                interval: ns(h.interval),
                timeout: ns(h.timeout),
                start_period: ns(h.start_period),
                start_interval: ns(h.start_interval),
                retries: h.retries.map_or(0, i64::from),
            });
        }
        Instruction::Shell(s) => c.shell = Some(s.clone()),
        Instruction::Onbuild { expression, .. } => {
            c.on_build
                .get_or_insert_with(Vec::new)
                .push(expression.clone());
        }
        Instruction::Maintainer(m) => image.author = m.clone(),
        other => return Err(DispatchError::NotAChange(other.keyword().to_string())),
    }
    Ok(())
}

/// `80` → `80/tcp`; `8000-8002/udp` → three ports.
fn expand_port(spec: &str) -> Result<Vec<String>, DispatchError> {
    let bad = || DispatchError::BadPort(spec.to_string());
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// Accepts what Docker accepts: a number, or a name with or without `SIG`.
fn check_signal(s: &str) -> Result<(), DispatchError> {
    const NAMES: &[&str] = &[
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
        "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS", "RTMIN",
        "RTMAX",
    ];
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let ok = s.parse::<u8>().is_ok_and(|n| n > 0 && n < 65)
        || NAMES.contains(&name)
        || name
            .strip_prefix("RTMIN+")
            .or_else(|| name.strip_prefix("RTMAX-"))
            .is_some_and(|n| n.parse::<u8>().is_ok());
    match ok {
        true => Ok(()),
        false => Err(DispatchError::BadSignal(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdirs_join_and_clean() {
        assert_eq!(resolve_workdir("", "app"), "/app");
        assert_eq!(resolve_workdir("/a", "b/../c"), "/a/c");
        assert_eq!(resolve_workdir("/a", "/x/./y/"), "/x/y");
        assert_eq!(resolve_workdir("/", "../.."), "/");
    }

    #[test]
    fn env_replaces_in_place() {
        let mut env = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        set_env(&mut env, "PATH", "/usr/bin");
        set_env(&mut env, "B", "x=y");
        assert_eq!(env, ["PATH=/usr/bin", "A=1", "B=x=y"]);
        assert_eq!(get_env(&env, "B"), Some("x=y"));
    }

    #[test]
    fn entrypoint_clears_only_an_inherited_cmd() {
        let mut image = ImageConfig {
            config: Some(RunConfig {
                cmd: Some(vec!["sh".into()]),
                ..RunConfig::default()
            }),
            ..ImageConfig::default()
        };
        let mut cmd_set = false;
        let ep = Instruction::Entrypoint(ShellOrExec::Exec(vec!["/bin/top".into()]));
        apply(&mut image, &ep, &mut cmd_set).unwrap();
        assert_eq!(image.config.as_ref().unwrap().cmd, None);
        let cmd = Instruction::Cmd(ShellOrExec::Shell("echo hi".into()));
        apply(&mut image, &cmd, &mut cmd_set).unwrap();
        apply(&mut image, &ep, &mut cmd_set).unwrap();
        let c = image.config.unwrap();
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
    }

    #[test]
    fn ports_and_signals_follow_docker() {
        assert_eq!(expand_port("80").unwrap(), ["80/tcp"]);
        assert_eq!(expand_port("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(expand_port("8000-8001").unwrap(), ["8000/tcp", "8001/tcp"]);
        assert!(expand_port("http").is_err());
        assert!(check_signal("SIGTERM").is_ok());
        assert!(check_signal("usr1").is_ok());
        assert!(check_signal("9").is_ok());
        assert!(check_signal("SIGFOO").is_err());
    }
}
