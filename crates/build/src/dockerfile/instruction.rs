//! Typed Dockerfile instructions: what each line means once its flags and
//! arguments are parsed, before any variable is expanded.

use std::time::Duration;

/// A command line in one of Docker's two forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellOrExec {
    /// Shell form: one string, run through the stage's `SHELL` (default
    /// `/bin/sh -c`).
    Shell(String),
    /// Exec (JSON array) form: argv as written.
    Exec(Vec<String>),
}

impl ShellOrExec {
    /// The argv Docker stores in the image config: exec form as is, shell
    /// form prefixed with `shell` (`["/bin/sh", "-c", "echo hi"]`).
    pub fn to_argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            ShellOrExec::Exec(v) => v.clone(),
            ShellOrExec::Shell(s) => {
                let mut v = shell.to_vec();
                v.push(s.clone());
                v
            }
        }
    }
}

/// A here-document attached to a `RUN`, `COPY` or `ADD` (`<<EOF` … `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The word after `<<` with quotes removed (`EOF`); for COPY/ADD it is
    /// also the name of the file created from the content.
    pub name: String,
    /// The body, every line with its newline. For `<<-` the leading tabs of
    /// every line are already removed.
    pub content: String,
    /// False when the word was quoted (`<<"EOF"`, `<<'EOF'`): the content is
    /// then taken literally, otherwise variables are expanded in it.
    pub expand: bool,
    /// `<<-`: leading tabs were stripped.
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
}

/// `FROM [--platform=P] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base image or stage name, unexpanded (`${BASE}:1.0`).
    pub image: String,
    /// The stage name after `AS`, lower-cased.
    pub name: Option<String>,
    /// `--platform`, unexpanded.
    pub platform: Option<String>,
}

/// `RUN [--mount=…] [--network=…] [--security=…] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command.
    pub cmd: ShellOrExec,
    /// Here-documents, in the order they appear on the line.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` values as written (may repeat).
    pub mounts: Vec<String>,
    /// `--network` value.
    pub network: Option<String>,
    /// `--security` value.
    pub security: Option<String>,
}

/// What a `RUN` with heredocs executes, following BuildKit (the classic
/// builder has no heredocs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunHeredoc<'a> {
    /// Run this text with the stage's shell (`sh -c <text>`): the body when
    /// the command is only `<<EOF`, otherwise the line followed by each
    /// body and terminator, so the shell reads the here-documents itself.
    Shell(String),
    /// The command is only `<<EOF` and the body starts with `#!`: write
    /// the body to an executable file and run that file.
    Script(&'a Heredoc),
}

impl Run {
    /// How to run this command if it has heredocs (`None` without them or
    /// in exec form).
    pub fn heredoc_command(&self) -> Option<RunHeredoc<'_>> {
        let ShellOrExec::Shell(cmd) = &self.cmd else {
            return None;
        };
        let first = self.heredocs.first()?;
        let whole =
            matches!(super::parser::parse_heredoc(cmd.trim()), Ok(Some(h)) if h.name == first.name);
        if whole && self.heredocs.len() == 1 {
            if first.content.starts_with("#!") {
                return Some(RunHeredoc::Script(first));
            }
            return Some(RunHeredoc::Shell(first.content.clone()));
        }
        Some(RunHeredoc::Shell(with_bodies(cmd, &self.heredocs)))
    }

    /// The names of the flags given (`["mount", "network"]`), in the order
    /// Docker's classic builder would complain about them.
    pub fn flags_used(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if !self.mounts.is_empty() {
            v.push("mount");
        }
        if self.network.is_some() {
            v.push("network");
        }
        if self.security.is_some() {
            v.push("security");
        }
        v
    }
}

/// `line` followed by each here-document's body and terminator, as a shell
/// (or an `ONBUILD` trigger) reads them.
pub(crate) fn with_bodies(line: &str, heredocs: &[Heredoc]) -> String {
    let mut full = line.to_string();
    for h in heredocs {
        full.push('\n');
        full.push_str(&h.content);
        full.push_str(&h.name);
    }
    full
}

/// Arguments of `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Source paths (or URLs for ADD), unexpanded, heredoc sources excluded.
    pub sources: Vec<String>,
    /// Sources given as here-documents (`COPY <<EOF /dest`).
    pub heredocs: Vec<Heredoc>,
    /// Destination, unexpanded.
    pub dest: String,
    /// `--from=` stage name, stage index or image (COPY only).
    pub from: Option<String>,
    /// `--chown=`.
    pub chown: Option<String>,
    /// `--chmod=`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--checksum=` (ADD only).
    pub checksum: Option<String>,
    /// `--keep-git-dir` (ADD only).
    pub keep_git_dir: bool,
    /// Whether the JSON array form was used.
    pub json: bool,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    /// `HEALTHCHECK CMD …`.
    Cmd(HealthCmd),
}

/// The check and its timing options; `None`/zero means "inherit the default".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCmd {
    /// The test: exec form gives `["CMD", …]`, shell form `["CMD-SHELL", s]`.
    pub test: ShellOrExec,
    /// `--interval`.
    pub interval: Option<Duration>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--start-period`.
    pub start_period: Option<Duration>,
    /// `--start-interval`.
    pub start_interval: Option<Duration>,
    /// `--retries`.
    pub retries: Option<u32>,
}

impl HealthCmd {
    /// The `Test` array Docker writes into the image config.
    pub fn test_argv(&self) -> Vec<String> {
        match &self.test {
            ShellOrExec::Exec(v) => {
                let mut t = vec!["CMD".to_string()];
                t.extend(v.iter().cloned());
                t
            }
            ShellOrExec::Shell(s) => vec!["CMD-SHELL".to_string(), s.clone()],
        }
    }
}

/// One Dockerfile instruction with its arguments. Values that Docker
/// expands are kept raw (quotes and `$VAR` as written); see
/// [`Instruction::expand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM`.
    From(From),
    /// `RUN`.
    Run(Run),
    /// `CMD`.
    Cmd(ShellOrExec),
    /// `ENTRYPOINT`.
    Entrypoint(ShellOrExec),
    /// `SHELL ["exe", "arg"]` (JSON form only).
    Shell(Vec<String>),
    /// `COPY`.
    Copy(CopyArgs),
    /// `ADD`.
    Add(CopyArgs),
    /// `ENV k=v …` or legacy `ENV k v`; values raw until expanded.
    Env(Vec<(String, String)>),
    /// `ARG name[=default] …`; defaults raw until expanded.
    Arg(Vec<(String, Option<String>)>),
    /// `LABEL k=v …`.
    Label(Vec<(String, String)>),
    /// `WORKDIR path`.
    Workdir(String),
    /// `USER user[:group]`.
    User(String),
    /// `EXPOSE port[/proto] …` (sorted, like Docker).
    Expose(Vec<String>),
    /// `VOLUME path …` or JSON array.
    Volume(Vec<String>),
    /// `STOPSIGNAL sig`.
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `ONBUILD <instruction>`.
    Onbuild {
        /// The parsed trigger.
        trigger: Box<Instruction>,
        /// The trigger's text as stored in the image config's `OnBuild`
        /// (the line without `ONBUILD`, heredoc bodies appended).
        expression: String,
    },
    /// `MAINTAINER text` (deprecated).
    Maintainer(String),
}

impl Instruction {
    /// The instruction keyword in upper case (`"RUN"`).
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild { .. } => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}
