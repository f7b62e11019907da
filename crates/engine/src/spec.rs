//! The OCI spec of a container: the image and its create options resolved
//! into a process ([`resolve`], at create time, validating every option
//! with Docker's messages), the `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` files ([`write_etc_files`]) and the runtime's
//! config.json ([`container_spec`], at each start).

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::Spec;
use wharf_image::user::ResolvedUser;

use crate::error::Result;
use crate::model::{Container, CreateOptions, HealthConfig};

/// The process and metadata of a container, resolved from its options and
/// its image's config as `docker create` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// Executable: the first word of entrypoint + cmd.
    pub path: String,
    /// The rest of entrypoint + cmd.
    pub args: Vec<String>,
    /// Final environment (image's, then the options'; PATH defaulted).
    /// HOSTNAME and HOME are added at start by [`container_spec`].
    pub env: Vec<String>,
    /// Working directory (absolute, `/` by default).
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
    let _ = (opts, image);
    todo!()
}

/// Writes `hostname`, `hosts` and `resolv.conf` for `c` into `dir`
/// (`<data-root>/containers/<id>/`) at the paths `c.hostname_path`,
/// `c.hosts_path` and `c.resolv_conf_path` (when empty: `dir/<name>`).
pub fn write_etc_files(dir: &Path, c: &Container) -> Result<()> {
    let _ = (dir, c);
    todo!()
}

/// The runtime spec of `c`, whose root filesystem is mounted at `rootfs`
/// and whose user resolved to `user`. `peer_pid` maps the container named in
/// a `container:<name|id>` network/ipc/pid mode to the host pid of its
/// running init (an error, e.g. 409, when it does not run); the spec joins
/// that process's namespaces by `/proc/<pid>/ns/<kind>`.
pub fn container_spec(
    c: &Container,
    rootfs: &Path,
    user: &ResolvedUser,
    peer_pid: &dyn Fn(&str) -> Result<i32>,
) -> Result<Spec> {
    let _ = (c, rootfs, user, peer_pid);
    todo!()
}
