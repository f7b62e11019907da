//! The seam between the builder and whatever runs containers: the builder
//! prepares a root filesystem for a `RUN` step and asks a [`StepRunner`] to
//! run the command in it. The `wharf` binary implements it with the runtime
//! library; the engine will implement it with its own containers.

use std::path::Path;

/// The network a `RUN` step gets (`RUN --network=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepNetwork {
    /// The builder's default, which the [`StepRunner`] decides (Wharf's:
    /// the daemon's default bridge, as Docker's classic builder).
    #[default]
    Default,
    /// A network namespace with only loopback.
    None,
    /// The host's network namespace.
    Host,
}

/// One `RUN` step: what to run and where.
#[derive(Debug, Clone)]
pub struct RunStep<'a> {
    /// The step's container id (12 hex, as the build output prints it).
    pub id: &'a str,
    /// The mounted root filesystem (the step's overlay `merged` dir).
    pub rootfs: &'a Path,
    /// The command, already in exec form (the stage's `SHELL` applied).
    pub args: &'a [String],
    /// `KEY=value` pairs: the stage's `ENV` plus the build args in scope.
    pub env: &'a [String],
    /// The stage's `USER` as written (`name`, `uid:gid`); empty for root.
    pub user: &'a str,
    /// The stage's `WORKDIR`, absolute; `/` when unset.
    pub workdir: &'a str,
    /// `RUN --network=`.
    pub network: StepNetwork,
}

/// An error from running a step, from the layer that runs it.
pub type RunnerError = Box<dyn std::error::Error + Send + Sync>;

/// Runs build steps in containers. Output of the step goes wherever the
/// implementation sends build output (a terminal, a JSON stream).
pub trait StepRunner {
    /// Runs `step` to completion and returns its exit code.
    fn run(&mut self, step: &RunStep<'_>) -> Result<i32, RunnerError>;

    /// Removes whatever the container of step `id` left behind when the
    /// builder that ran it was killed (its processes, cgroup, state). The
    /// step's root filesystem is the builder's to remove.
    fn forget(&mut self, id: &str) {
        let _ = id;
    }
}
