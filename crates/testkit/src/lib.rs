//! Wharf's test kit: the pieces every runtime test needs, written once.
//!
//! - `wharf-probe` (a binary of this package) runs as a container's process
//!   and prints what it sees as JSON; [`Report`] and [`ActionResult`] are the
//!   shapes it prints.
//! - [`Bundle`] makes an OCI bundle in a temporary directory: a busybox root
//!   filesystem holding the probe, and a `config.json` written from a
//!   [`Spec`](oci_spec::runtime::Spec) close to `runc spec` ([`default_spec`]).
//! - [`Runtime`] drives the `wharf runtime` command line (or any runc-like
//!   binary) with its own state root, and force-deletes on drop every
//!   container it made.
//! - [`leaks()`] / [`assert_no_leaks`] check that a container left no cgroup,
//!   mount or process behind.
//! - [`cgroups`] finds a process's cgroup directories on the host and runs
//!   the calling test binary again in the pure cgroup v2 guest
//!   (`tools/cgroup2-vm.sh`).
//! - [`ConsoleSocket`] is the receiving end of `--console-socket`; [`host`]
//!   edits a spec as JSON and reads namespaces and `/proc` status from the
//!   host; [`report_in`] / [`action_in`] find the probe's JSON in output.
//! - [`dockerd::Dockerd`] runs a private Debian dockerd (and its containerd)
//!   in a temporary directory for tests against real Docker, leaving nothing
//!   behind; [`images`] builds a busybox root filesystem tar and layer tars.
//! - [`daemon::WharfDaemon`] runs a private `wharf daemon` the same way;
//!   [`daemon::Engine`] drives either daemon with the docker CLI and curl,
//!   and [`engine_tests!`] runs one scenario against both. What the two
//!   fixtures share (their directory, command line, `/_ping` wait and
//!   stop) is in [`fixture`].
//! - [`netns::FixtureNetns`] is the network namespace each networked
//!   daemon runs in; [`daemon::Engine::host_cmd`] runs a host-side command
//!   there and [`daemon::Engine::net_leftovers`] lists what networking
//!   left in it; [`engine_net_tests!`] runs a scenario against a dockerd
//!   with its default bridge and against `wharf daemon`; [`net_scenario`]
//!   holds what those scenarios share (an httpd image, fetches, waits).
//! - [`run_with_input`], [`Collector`], [`explain`] and [`stdout_text`]
//!   feed a command, collect a stream in the background and put a
//!   command's output into words for assertion messages.
//!
//! The kit knows the runtime only through its command line, so it depends on
//! no other Wharf crate.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod caps;
pub mod cgroups;
pub mod console;
pub mod daemon;
pub mod dockerd;
pub mod fixture;
pub mod host;
pub mod images;
pub mod leaks;
pub mod net_scenario;
pub mod netns;
pub mod output;
pub mod paths;
pub mod report;
pub mod runtime;
pub mod spec;
pub mod wharf_cli;

pub use bundle::{Bundle, BundleError};
pub use console::ConsoleSocket;
pub use leaks::{assert_no_leaks, leaks};
pub use output::{action_in, explain, report_in, run_with_input, stdout_text, Collector};
pub use paths::{bin_dir, probe_path, wharf_path};
pub use report::{ActionResult, CapSet, CapSets, MountEntry, Report, Rlimit};
pub use runtime::{output_with_timeout, ContainerState, Runtime, RuntimeError};
pub use spec::default_spec;
pub use wharf_cli::WharfRoot;
