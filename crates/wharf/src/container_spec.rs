//! The OCI spec of a container made from an image: the runtime's defaults
//! (Docker's capabilities, seccomp profile, masked paths) with the image's
//! process, plus the `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`
//! files Docker bind-mounts into every container.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;
use serde_json::json;
use wharf_build::dispatch::{get_env, set_env, DEFAULT_PATH};
use wharf_image::user::ResolvedUser;

/// The network namespace a container gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// A new namespace with only loopback (`--network none`).
    None,
    /// The host's namespace (`--network host`).
    Host,
    /// An existing namespace, joined by its file (a build's sandbox on
    /// the daemon's default bridge).
    Path(Sandbox),
}

/// A network namespace the daemon set up, and what a container in it
/// gets in its `/etc` files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Sandbox {
    /// The namespace file.
    pub netns: PathBuf,
    /// The container's address (its `/etc/hosts` names its host name
    /// with it).
    pub address: String,
    /// The `/etc/resolv.conf` text.
    pub resolv_conf: String,
}

/// The process of a container, already resolved against its image.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Entrypoint and command joined.
    pub args: Vec<String>,
    /// `KEY=value`, `PATH` and `HOSTNAME` included.
    pub env: Vec<String>,
    /// Absolute working directory.
    pub cwd: String,
    /// Numeric identity.
    pub user: ResolvedUser,
    /// Whether the process gets a terminal.
    pub terminal: bool,
}

/// Writes the per-container files into `files_dir` and returns the spec.
/// `hostname` is also the container's UTS hostname.
pub fn container_spec(
    rootfs: &Path,
    files_dir: &Path,
    hostname: &str,
    process: &ProcessSpec,
    network: &Network,
) -> Result<Spec> {
    let etc = write_etc_files(files_dir, hostname, network)?;
    let mut doc = serde_json::to_value(wharf_runtime::spec::default_spec(false))?;
    doc["root"] = json!({ "path": rootfs, "readonly": false });
    doc["hostname"] = json!(hostname);
    let p = &mut doc["process"];
    p["terminal"] = json!(process.terminal);
    p["args"] = json!(process.args);
    p["env"] = json!(process.env);
    p["cwd"] = json!(process.cwd);
    p["user"] = json!({
        "uid": process.user.uid,
        "gid": process.user.gid,
        "additionalGids": process.user.additional_gids,
    });
    let mounts = doc["mounts"].as_array_mut().expect("mounts is an array");
    for (dest, source) in etc {
        mounts.push(json!({
            "destination": dest, "type": "bind", "source": source,
            "options": ["rbind", "rprivate"]
        }));
    }
    let ns = doc["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces is an array");
    if let Network::Path(sandbox) = network {
        for n in ns.iter_mut().filter(|n| n["type"] == "network") {
            n["path"] = json!(sandbox.netns);
        }
    }
    if *network == Network::Host {
        ns.retain(|n| n["type"] != "network");
        // The host's /sys belongs to the host's network namespace; sysfs
        // cannot be mounted fresh without a network namespace of our own.
        for m in doc["mounts"].as_array_mut().expect("mounts").iter_mut() {
            if m["destination"] == "/sys" {
                *m = json!({ "destination": "/sys", "type": "bind", "source": "/sys",
                             "options": ["rbind", "nosuid", "noexec", "nodev", "ro"] });
            }
        }
    }
    serde_json::from_value(doc).context("the container spec is not valid")
}

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` for the container,
/// as (destination, source) pairs.
fn write_etc_files(
    dir: &Path,
    hostname: &str,
    network: &Network,
) -> Result<Vec<(String, PathBuf)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let own = match network {
        Network::Path(sandbox) => sandbox.address.as_str(),
        _ => "127.0.0.1",
    };
    let hosts = match network {
        Network::Host => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        _ => format!(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
             ff02::2\tip6-allrouters\n{own}\t{hostname}\n"
        ),
    };
    let resolv = match network {
        Network::Path(sandbox) => sandbox.resolv_conf.clone(),
        _ => std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    };
    let files = [
        ("/etc/hostname", format!("{hostname}\n")),
        ("/etc/hosts", hosts),
        ("/etc/resolv.conf", resolv),
    ];
    let mut out = Vec::new();
    for (dest, content) in files {
        let source = dir.join(&dest[5..]);
        std::fs::write(&source, content)
            .with_context(|| format!("failed to write {}", source.display()))?;
        out.push((dest.to_string(), source));
    }
    Ok(out)
}

/// The environment of a container: the image's, then `overrides`
/// (`KEY=value` replaces in place, a bare `KEY` takes the caller's value),
/// with `PATH` defaulted, `HOSTNAME` set and `HOME` from the user's passwd
/// entry unless given, as Docker does.
pub fn container_env(
    image_env: &[String],
    overrides: &[String],
    hostname: &str,
    home: &str,
) -> Vec<String> {
    let mut env = vec![format!("HOSTNAME={hostname}")];
    let mut set = |kv: &str| match kv.split_once('=') {
        Some((k, v)) => set_env(&mut env, k, v),
        None => {
            if let Ok(v) = std::env::var(kv) {
                set_env(&mut env, kv, &v);
            }
        }
    };
    image_env.iter().chain(overrides).for_each(|kv| set(kv));
    if get_env(&env, "PATH").is_none() {
        env.insert(0, format!("PATH={DEFAULT_PATH}"));
    }
    if get_env(&env, "HOME").is_none() {
        env.push(format!("HOME={home}"));
    }
    env
}
