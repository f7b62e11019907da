//! The default `config.json` of a test bundle: what `runc spec` writes,
//! with Docker's default capabilities and the probe as the process.

use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilities, LinuxDeviceCgroup, LinuxResources, Process, Spec,
};

use crate::caps::docker_default_caps;

/// The hostname the default spec gives the container.
pub const DEFAULT_HOSTNAME: &str = "wharf-test";

/// A spec close to `runc spec`: namespaces pid, network, ipc, uts, mount and
/// cgroup; mounts proc, /dev tmpfs, devpts, shm, mqueue, sysfs (ro) and
/// cgroup (ro); runc's masked and read-only paths; a read-only root `rootfs`;
/// no terminal; `noNewPrivileges`; RLIMIT_NOFILE 1024; every device denied
/// in the device cgroup (the runtime adds the standard ones). It differs
/// from `runc spec` in its capabilities, Docker's default set in the
/// bounding, effective and permitted sets (none inheritable or ambient, as
/// Docker does), in the hostname [`DEFAULT_HOSTNAME`], and in the process,
/// `/bin/wharf-probe report`.
pub fn default_spec() -> Spec {
    // oci-spec's own default is modelled on `runc spec`; only the parts that
    // differ are changed here.
    let mut spec = Spec::default();
    spec.set_hostname(Some(DEFAULT_HOSTNAME.to_string()));

    let mut process = Process::default();
    process.set_args(Some(vec!["/bin/wharf-probe".into(), "report".into()]));
    process.set_capabilities(Some(docker_capabilities()));
    spec.set_process(Some(process));

    if let Some(linux) = spec.linux_mut() {
        let mut resources = LinuxResources::default();
        let mut deny_all = LinuxDeviceCgroup::default();
        deny_all.set_allow(false);
        deny_all.set_access(Some("rwm".into()));
        resources.set_devices(Some(vec![deny_all]));
        linux.set_resources(Some(resources));
    }
    spec
}

/// Docker's default capabilities as an OCI capability object.
pub fn docker_capabilities() -> LinuxCapabilities {
    let set: Capabilities = docker_default_caps()
        .into_iter()
        .map(|name| parse_capability(name).expect("known capability name"))
        .collect();
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(Some(set.clone()));
    caps.set_effective(Some(set.clone()));
    caps.set_permitted(Some(set));
    caps.set_inheritable(None);
    caps.set_ambient(None);
    caps
}

/// Parses `CAP_SYS_ADMIN` into oci-spec's enum (through its serde name).
pub fn parse_capability(name: &str) -> Option<Capability> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxNamespaceType;

    #[test]
    fn default_spec_is_runc_like() {
        let spec = default_spec();
        let linux = spec.linux().as_ref().unwrap();
        let ns: Vec<_> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        for want in [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Cgroup,
        ] {
            assert!(ns.contains(&want), "missing namespace {want:?}");
        }
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.terminal(), Some(false));
        let caps = process.capabilities().as_ref().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
        assert!(caps.ambient().is_none());
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["hostname"], DEFAULT_HOSTNAME);
        assert_eq!(json["process"]["args"][0], "/bin/wharf-probe");
        let dests: Vec<_> = json["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap().to_string())
            .collect();
        assert!(dests.contains(&"/sys/fs/cgroup".to_string()));
        assert!(json["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .contains(&"/proc/kcore".into()));
    }
}
