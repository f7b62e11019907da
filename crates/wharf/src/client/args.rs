//! The docker-style command line: commands and flags as docker CLI 28
//! names them. `run`/`create` flags are in [`super::run_args`].

use clap::{Args, Parser, Subcommand};

use super::run_args::{CreateArgs, RunArgs};

/// Wharf: a container platform (docker-style client).
#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    disable_version_flag = true,
    about = "Wharf: a container platform",
    after_help = "Other roles: `wharf daemon` (the engine), `wharf runtime` (the OCI runtime, runc's command line)."
)]
pub struct DockerCli {
    /// Daemon socket to connect to.
    #[arg(short = 'H', long = "host")]
    pub host: Option<String>,
    /// Enable debug mode.
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Set the logging level.
    #[arg(short = 'l', long = "log-level")]
    pub log_level: Option<String>,
    /// Print version information and quit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The container commands that are also under `container`.
    #[command(flatten)]
    Op(ContainerOp),
    /// List containers.
    Ps(PsArgs),
    /// Return low-level information on Wharf objects.
    Inspect(InspectArgs),
    /// Get real time events from the server.
    Events(EventsArgs),
    /// Manage containers.
    Container {
        /// The container command.
        #[command(subcommand)]
        command: ContainerCmd,
    },
    /// Manage Wharf.
    System {
        /// The system command.
        #[command(subcommand)]
        command: SystemCmd,
    },
    /// Manage volumes.
    Volume {
        /// The volume command.
        #[command(subcommand)]
        command: VolumeCmd,
    },
    /// Manage networks.
    Network {
        /// The network command.
        #[command(subcommand)]
        command: super::net_args::NetworkCmd,
    },
    /// Manage images.
    Image {
        /// The image command.
        #[command(subcommand)]
        command: ImageCmd,
    },
    /// The image commands that are also under `image`.
    #[command(flatten)]
    ImageOp(ImageOp),
    /// List images.
    Images(ImagesArgs),
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Show the Wharf version information.
    Version(FormatArg),
    /// Display system-wide information.
    Info(FormatArg),
}

/// The container commands of both `wharf X` and `wharf container X`.
#[derive(Debug, Subcommand)]
pub enum ContainerOp {
    /// Create and run a new container from an image.
    Run(RunArgs),
    /// Create a new container.
    Create(CreateArgs),
    /// Start one or more stopped containers.
    Start(StartArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Remove one or more containers.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Pause all processes within one or more containers.
    Pause(Names),
    /// Unpause all processes within one or more containers.
    Unpause(Names),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// List port mappings or a specific mapping for the container.
    Port(PortArgs),
    /// Rename a container.
    Rename(RenameArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(Names),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(AttachArgs),
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
    /// Export a container's filesystem as a tar archive.
    Export(ExportArgs),
}

/// `container …`: the shared commands, and those named differently at
/// the top (`ls` is `ps`) or meaning less there (`inspect` of containers
/// only, `prune`).
// Parsed once per process: the size of the `run` flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ContainerCmd {
    /// The commands also at the top.
    #[command(flatten)]
    Op(ContainerOp),
    /// List containers.
    #[command(alias = "ps", alias = "list")]
    Ls(PsArgs),
    /// Display detailed information on one or more containers.
    Inspect(InspectArgs),
    /// Remove all stopped containers.
    Prune(PruneArgs),
}

/// `system …`.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Show docker disk usage.
    Df(DfArgs),
    /// Remove unused data.
    Prune(SystemPruneArgs),
    /// Display system-wide information.
    Info(FormatArg),
    /// Get real time events from the server.
    Events(EventsArgs),
}

/// `volume …`.
#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// Create a volume.
    Create(VolumeCreateArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(VolumeLsArgs),
    /// Display detailed information on one or more volumes.
    Inspect(VolumeInspectArgs),
    /// Remove one or more volumes.
    #[command(alias = "remove")]
    Rm(VolumeRmArgs),
    /// Remove unused local volumes.
    Prune(PruneArgs),
}

/// The image commands of both `wharf X` and `wharf image X`.
#[derive(Debug, Subcommand)]
pub enum ImageOp {
    /// Build an image from a Dockerfile.
    Build(BuildArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default).
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN.
    Load(LoadArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(TagArgs),
    /// Show the history of an image.
    History(HistoryArgs),
}

/// `image …`: the shared commands, and those named differently at the
/// top (`ls` is `images`, `rm` is `rmi`) or only here.
#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// The commands also at the top.
    #[command(flatten)]
    Op(ImageOp),
    /// List images.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove one or more images.
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Remove unused images.
    Prune(PruneArgs),
    /// Display detailed information on one or more images.
    Inspect(VolumeInspectArgs),
}

/// One or more containers.
#[derive(Debug, Args)]
pub struct Names {
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `--format` alone.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
}

/// `start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided.
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long, default_value_t = -1)]
    pub last: i64,
    /// Show the latest created container (includes all states).
    #[arg(short, long)]
    pub latest: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
}

/// `exec`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Set environment variables.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// Give extended privileges to the command.
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// The container.
    pub container: String,
    /// The command.
    #[arg(required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs.
    #[arg(long)]
    pub details: bool,
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since timestamp or relative (e.g. 42m for 42 minutes).
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs before a timestamp or relative.
    #[arg(long)]
    pub until: Option<String>,
    /// The container.
    pub container: String,
}

/// `stop`, `restart`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Signal to send to the container.
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container.
    #[arg(short, long = "timeout", alias = "time")]
    pub timeout: Option<i64>,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container.
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
    /// Remove the specified link.
    #[arg(short, long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short, long)]
    pub volumes: bool,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container.
    #[arg(short, long)]
    pub size: bool,
    /// Only inspect objects of the given type.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Objects.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy.
    #[arg(short, long)]
    pub quiet: bool,
    /// Source.
    pub src: String,
    /// Destination.
    pub dst: String,
}

/// `top`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct TopArgs {
    /// The container.
    pub container: String,
    /// ps options.
    #[arg(allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Containers.
    pub names: Vec<String>,
}

/// `port`.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container.
    pub container: String,
    /// PRIVATE_PORT[/PROTO].
    pub port: Option<String>,
}

/// `rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container.
    pub container: String,
    /// The new name.
    pub new_name: String,
}

/// `attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN.
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    /// The container.
    pub container: String,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided.
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long)]
    pub until: Option<String>,
}

/// `prune` of containers, volumes or images.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused (images: not just dangling; volumes: not just anonymous).
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `system prune`.
#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values.
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Prune anonymous volumes.
    #[arg(long)]
    pub volumes: bool,
}

/// `system df`.
#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Show detailed information on space usage.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `volume create`.
#[derive(Debug, Args)]
pub struct VolumeCreateArgs {
    /// Specify volume driver name.
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set driver specific options.
    #[arg(short, long = "opt")]
    pub opts: Vec<String>,
    /// Specify volume name.
    #[arg(long = "name")]
    pub name_flag: Option<String>,
    /// The name.
    pub name: Option<String>,
}

/// `volume ls`.
#[derive(Debug, Args)]
pub struct VolumeLsArgs {
    /// Provide filter values.
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Only display volume names.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `volume inspect`, `image inspect`.
#[derive(Debug, Args)]
pub struct VolumeInspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `volume rm`.
#[derive(Debug, Args)]
pub struct VolumeRmArgs {
    /// Force the removal of one or more volumes.
    #[arg(short, long)]
    pub force: bool,
    /// Names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images).
    #[arg(short, long)]
    pub all: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided.
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// REPOSITORY[:TAG].
    pub repository: Option<String>,
}

/// `rmi`.
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

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
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

/// `tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG].
    pub source: String,
    /// TARGET_IMAGE[:TAG].
    pub target: String,
}

/// `save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<String>,
    /// Images.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN.
    #[arg(short, long)]
    pub input: Option<String>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long = "change")]
    pub changes: Vec<String>,
    /// Set commit message for imported image.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable.
    #[arg(long)]
    pub platform: Option<String>,
    /// file|URL|-.
    pub file: String,
    /// REPOSITORY[:TAG].
    pub reference: Option<String>,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<String>,
    /// The container.
    pub container: String,
}

/// `commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author.
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long = "change")]
    pub changes: Vec<String>,
    /// Commit message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit.
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub pause: bool,
    /// The container.
    pub container: String,
    /// REPOSITORY[:TAG].
    pub reference: Option<String>,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Set build-time variables.
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile").
    #[arg(short, long)]
    pub file: Option<String>,
    /// Set metadata for an image.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set the networking mode for the RUN instructions during build.
    #[arg(long)]
    pub network: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Set platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// Always attempt to pull a newer version of the image.
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove intermediate containers after a successful build.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub rm: bool,
    /// Always remove intermediate containers.
    #[arg(long)]
    pub force_rm: bool,
    /// Name and optionally a tag in the "name:tag" format.
    #[arg(short, long = "tag")]
    pub tags: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// PATH | URL | -.
    pub path: String,
}
