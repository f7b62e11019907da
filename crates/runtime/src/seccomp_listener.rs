//! Handing a seccomp notify listener to `linux.seccomp.listenerPath`: the
//! runtime connects to that unix socket and sends the container process
//! state (runtime spec, "Seccomp listener") with the listener descriptor
//! attached (SCM_RIGHTS), so that an agent can answer the notifications.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Spec;
use serde_json::json;

use crate::error::{sys_err, Result, RuntimeError};

/// Sends `listener` to the spec's listenerPath for the process `pid`.
pub fn hand_over(
    spec: &Spec,
    id: &str,
    bundle: &std::path::Path,
    pid: i32,
    listener: OwnedFd,
) -> Result<()> {
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let Some(path) = seccomp.and_then(|s| s.listener_path().as_ref()) else {
        return Err(RuntimeError::Config(crate::config::ConfigError::Invalid {
            field: "linux.seccomp.listenerPath".into(),
            reason: "a rule uses SCMP_ACT_NOTIFY, so a listener path is required".into(),
        }));
    };
    let doc = json!({
        "ociVersion": crate::state::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default(),
        "state": {
            "ociVersion": crate::state::OCI_VERSION,
            "id": id,
            "status": "creating",
            "pid": pid,
            "bundle": bundle,
            "annotations": spec.annotations().clone().unwrap_or_default(),
        },
    });
    let stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| crate::error::io_err("connect to seccomp listener socket", path)(e))?;
    let data = serde_json::to_vec(&doc).expect("state always serializes");
    crate::console::send_fd(stream.as_fd(), listener.as_fd(), &data).map_err(sys_err(format!(
        "send the seccomp listener to {}",
        path.display()
    )))
}
