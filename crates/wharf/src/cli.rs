//! The docker-style command line for images, builds and local containers.
//! Flags and output follow the docker CLI; every command takes `--root`
//! (the store's directory) so that stores can live side by side.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Wharf: a container platform.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about = "Wharf: a container platform")]
pub struct Cli {
    /// Where images, layers and containers live.
    #[arg(long, global = true, default_value = "/var/lib/wharf")]
    pub root: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The OCI runtime, with runc's command line (`wharf runtime --help`).
    Runtime {
        /// runc's global flags, command and arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Build an image from a Dockerfile.
    Build(BuildArgs),
    /// Run a command in a new container.
    Run(RunArgs),
    /// List containers made by `wharf run`.
    Ps {
        /// Show all containers (stopped ones are all there is without the engine).
        #[arg(short, long)]
        all: bool,
        /// Only display container IDs.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove one or more containers.
    Rm {
        /// Force the removal.
        #[arg(short, long)]
        force: bool,
        /// Containers (name or id).
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List images.
    Images(ImagesArgs),
    /// Manage images.
    Image {
        /// The image command.
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Load images from a tar archive (docker-archive or OCI layout).
    Load(LoadArgs),
    /// Save one or more images to a tar archive.
    Save(SaveArgs),
    /// Import the contents of a tarball to create a filesystem image.
    Import(ImportArgs),
    /// Export a container's filesystem as a tar archive.
    Export {
        /// Write to a file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The container.
        container: String,
    },
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag {
        /// SOURCE_IMAGE[:TAG]
        source: String,
        /// TARGET_IMAGE[:TAG]
        target: String,
    },
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Show the history of an image.
    History(HistoryArgs),
    /// Return low-level information on images.
    Inspect {
        /// Images.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// `wharf image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an image from a Dockerfile.
    Build(BuildArgs),
    /// List images.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Display detailed information on one or more images.
    Inspect {
        /// Images.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused images.
    Prune {
        /// Remove all unused images, not just dangling ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
    },
    /// Remove one or more images.
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag {
        /// SOURCE_IMAGE[:TAG]
        source: String,
        /// TARGET_IMAGE[:TAG]
        target: String,
    },
    /// Show the history of an image.
    History(HistoryArgs),
    /// Load images from a tar archive.
    Load(LoadArgs),
    /// Save images to a tar archive.
    Save(SaveArgs),
    /// Import a tarball as an image.
    Import(ImportArgs),
}

/// `wharf images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (intermediate build images included).
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Only images of this repository (and tag).
    pub repository: Option<String>,
}

/// `wharf rmi`.
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image.
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents.
    #[arg(long)]
    pub no_prune: bool,
    /// Images.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `wharf history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub human: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image.
    pub image: String,
}

/// `wharf load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from a tar archive file (or an OCI layout directory) instead
    /// of stdin.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `wharf save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Images (names keep their tags; ids save untagged).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `wharf import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instructions to the created image.
    #[arg(short, long = "change")]
    pub changes: Vec<String>,
    /// Set the commit message for the imported image.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform (accepted; only linux/amd64 is built here).
    #[arg(long)]
    pub platform: Option<String>,
    /// A file, or `-` for stdin.
    pub file: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

/// `wharf commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author.
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instructions to the created image.
    #[arg(short, long = "change")]
    pub changes: Vec<String>,
    /// Commit message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause the container during commit (nothing runs without the engine).
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pause: bool,
    /// The container.
    pub container: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

/// `wharf build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the `name:tag` format.
    #[arg(short, long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: PATH/Dockerfile).
    #[arg(short, long)]
    pub file: Option<PathBuf>,
    /// Set build-time variables.
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set metadata for an image.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Always remove intermediate containers (always done).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub rm: bool,
    /// Always attempt to pull a newer version of the image (nothing to pull from here).
    #[arg(long)]
    pub pull: bool,
    /// Set the networking mode for the RUN instructions.
    #[arg(long)]
    pub network: Option<String>,
    /// Set platform (accepted; only linux/amd64 is built here).
    #[arg(long)]
    pub platform: Option<String>,
    /// The build context directory.
    pub path: PathBuf,
}

/// `wharf run`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct RunArgs {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Network: none (default without the engine) or host.
    #[arg(long, default_value = "none")]
    pub network: String,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}
