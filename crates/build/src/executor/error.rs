//! Build errors: each failed step names its Dockerfile line.

use wharf_image::store::StoreError;

use crate::cache::CacheError;
use crate::context::ContextError;
use crate::dispatch::DispatchError;
use crate::dockerfile::{ExpandError, ParseError, PlanError};
use crate::runner::RunnerError;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile does not parse (the message has the line).
    #[error(transparent)]
    Parse(ParseError),
    /// Stages, `--target` or `COPY --from` do not resolve.
    #[error(transparent)]
    Plan(PlanError),
    /// The build context cannot be read.
    #[error("failed to read the build context")]
    Context(#[source] ContextError),
    /// A step failed; the cause says how (`Dockerfile:7: COPY failed: …`
    /// when the chain is printed).
    #[error("Dockerfile:{line}")]
    Step {
        /// Line of the failing instruction.
        line: usize,
        /// What failed.
        source: Box<StepError>,
    },
    /// Tagging the result failed.
    #[error("failed to tag the built image")]
    Store(#[source] StoreError),
    /// `FROM scratch` with no instruction that makes a layer or config.
    #[error("no image was generated. Is your Dockerfile empty?")]
    NoImage,
}

/// Why one step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The base image is not in the store.
    #[error(
        "pull access denied for {name}: the image is not in the store and no registry is reachable"
    )]
    BaseImage {
        /// The image.
        name: String,
        /// The store's answer.
        #[source]
        source: StoreError,
    },
    /// A RUN command exited non-zero (Docker's wording).
    #[error("The command '{command}' returned a non-zero code: {code}")]
    NonZero {
        /// The command as run.
        command: String,
        /// Its exit code.
        code: i32,
    },
    /// Running the step's container failed.
    #[error("failed to run the step's container")]
    Runner(#[source] RunnerError),
    /// A variable could not be expanded.
    #[error(transparent)]
    Expand(ExpandError),
    /// A metadata instruction is invalid.
    #[error(transparent)]
    Dispatch(DispatchError),
    /// COPY/ADD sources or destination: Docker's `COPY failed: …`.
    #[error("{keyword} failed")]
    Copy {
        /// COPY or ADD.
        keyword: &'static str,
        /// The cause.
        #[source]
        source: ContextError,
    },
    /// `--chown` names a user or group the image does not have.
    #[error("unable to convert uid/gid chown string to host mapping")]
    Chown(#[source] wharf_image::user::UserError),
    /// Mounting the step's root failed.
    #[error("failed to mount the step's root filesystem")]
    Init(#[source] wharf_image::rootfs::InitError),
    /// Store, snapshot or layer work failed.
    #[error(transparent)]
    Store(StoreError),
    /// Turning the step's writable layer into a layer failed.
    #[error("failed to make a layer of the step's changes")]
    Commit(#[source] wharf_image::commit::CommitError),
    /// Writing a cache entry failed.
    #[error(transparent)]
    Cache(CacheError),
    /// Something else, named.
    #[error("{0}")]
    Other(String),
}
