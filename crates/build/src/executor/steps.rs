//! The steps that change files: RUN, COPY, ADD and a WORKDIR that creates
//! its directory. Each mounts a fresh snapshot of the stage's image, does
//! its work there, and turns the snapshot's upper directory into a layer.

use std::path::{Path, PathBuf};

use wharf_image::commit;
use wharf_image::config::ImageConfig;
use wharf_image::digest::{self, Digest};
use wharf_image::snapshot::Snapshot;
use wharf_image::store::Store;

use super::error::{BuildError, StepError};
use super::stage::{at, run_config_json, StageState};
use super::Executor;
use crate::context::{Context, CopyOptions};
use crate::dispatch;
use crate::dockerfile::{CopyArgs, Instruction, Run, StageRef};
use crate::runner::{RunStep, StepNetwork};

/// A mounted snapshot that is unmounted and removed however the step ends.
pub(crate) struct StepRoot<'s> {
    store: &'s Store,
    snapshot: Snapshot,
    /// The mounted root.
    pub merged: PathBuf,
    /// The step's id (12 hex digits).
    pub id: String,
}

impl<'s> StepRoot<'s> {
    /// Creates and mounts a snapshot of `image` (`None`: empty).
    pub fn new(store: &'s Store, image: Option<&Digest>) -> Result<StepRoot<'s>, StepError> {
        let id = random_id();
        let snapshot = store
            .create_snapshot(&super::reap::snapshot_id(&id), image)
            .map_err(StepError::Store)?;
        let mut root = StepRoot {
            store,
            merged: PathBuf::new(),
            snapshot,
            id,
        };
        root.merged =
            wharf_image::rootfs::mount_with_init(&root.snapshot).map_err(StepError::Init)?;
        Ok(root)
    }

    /// Unmounts and turns the changes into a layer on top of `parent`'s
    /// layers; `None` when nothing changed.
    pub fn finish(self, parent: &ImageConfig) -> Result<Option<Digest>, StepError> {
        self.store
            .unmount_snapshot(&self.snapshot)
            .map_err(StepError::Store)?;
        let chain = digest::chain_ids(parent.diff_ids()).pop();
        let layer = commit::layer_from_upper(self.store, chain.as_ref(), &self.snapshot.upper)
            .map_err(StepError::Commit)?;
        Ok(layer.map(|l| l.diff_id))
    }
}

impl Drop for StepRoot<'_> {
    fn drop(&mut self) {
        let _ = self.store.unmount_snapshot(&self.snapshot);
        let _ = self.store.remove_snapshot(&self.snapshot.id);
    }
}

/// 12 random hex digits.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 6];
    let _ = rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty());
    hex::encode(bytes)
}

impl StageState {
    /// `RUN`.
    pub(super) fn run(
        &mut self,
        ex: &mut Executor<'_>,
        run: &Run,
        line: usize,
    ) -> Result<(), BuildError> {
        let err = at(line);
        // The classic builder's own refusals (its words), rather than a
        // silent ignore.
        if !run.mounts.is_empty() {
            return Err(err(StepError::Other(
                "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled".into(),
            )));
        }
        if run.security.as_deref().is_some_and(|s| s != "sandbox") {
            return Err(err(StepError::Other(
                "RUN --security=insecure is not allowed".into(),
            )));
        }
        let network = match run.network.as_deref() {
            None | Some("default") => ex.opts.network,
            Some("none") => StepNetwork::None,
            Some("host") => StepNetwork::Host,
            Some(other) => {
                return Err(err(StepError::Other(format!(
                    "RUN --network={other}: only default, none and host exist"
                ))))
            }
        };
        let shell = dispatch::shell_of(self.run_config());
        let argv = run_argv(run, &shell);
        // `|N K=V … cmd`: the build args the step sees are part of what it
        // is, in the history and so in the cache key.
        let created_by = self.scope.run_created_by(&argv);
        let key_config = run_config_json(&self.config);
        let Some(key) = self.lookup(ex, &created_by, &key_config, "") else {
            return Ok(());
        };
        let mut env: Vec<String> = self.run_config().env.clone().unwrap_or_default();
        for (k, v) in &self.scope.run_args() {
            dispatch::set_env(&mut env, k, v);
        }
        let root = StepRoot::new(ex.store, self.image.as_ref()).map_err(&err)?;
        ex.say(format_args!(" ---> Running in {}", root.id));
        let config = self.run_config();
        let workdir = match config.working_dir.as_str() {
            "" => "/".to_string(),
            w => w.to_string(),
        };
        let code = ex
            .runner
            .run(&RunStep {
                id: &root.id,
                rootfs: &root.merged,
                args: &argv,
                env: &env,
                user: &config.user,
                workdir: &workdir,
                network,
            })
            .map_err(|e| err(StepError::Runner(e)))?;
        if code != 0 {
            return Err(err(StepError::NonZero {
                command: argv.join(" "),
                code,
            }));
        }
        let step_id = root.id.clone();
        let layer = root.finish(&self.config).map_err(&err)?;
        ex.say(format_args!("Removing intermediate container {step_id}"));
        self.commit(ex, self.config.clone(), layer, created_by, &key, line)
    }

    /// `COPY` and `ADD`.
    pub(super) fn copy(
        &mut self,
        ex: &mut Executor<'_>,
        instr: &Instruction,
        args: &CopyArgs,
        from: Option<StageRef>,
        line: usize,
    ) -> Result<(), BuildError> {
        let err = at(line);
        let keyword = instr.keyword();
        let is_add = matches!(instr, Instruction::Add(_));
        let copy_err = |source| err(StepError::Copy { keyword, source });
        // The source: the context, another stage's result or an image.
        let from_root = match &from {
            None => None,
            Some(r) => {
                let image = match r {
                    StageRef::Stage(i) => ex.stage_result(*i),
                    StageRef::Image(name) => ex.store.image(name).ok().map(|i| i.id),
                };
                // The classic builder pulls a --from that no stage names
                // and says `invalid from flag value <name>: <pull error>`.
                let Some(image) = image else {
                    let name = args.from.clone().unwrap_or_default();
                    return Err(err(StepError::Other(format!(
                        "invalid from flag value {name}: pull access denied for {name}: \
                         the image is not in the store and no registry is reachable"
                    ))));
                };
                Some(StepRoot::new(ex.store, Some(&image)).map_err(&err)?)
            }
        };
        let heredoc_dir = match args.heredocs.is_empty() {
            true => None,
            false => Some(self.heredoc_context(ex, args).map_err(&err)?),
        };
        let context = match (&from_root, &heredoc_dir) {
            (Some(root), _) => {
                std::rc::Rc::new(Context::from_rootfs(&root.merged).map_err(copy_err)?)
            }
            (None, Some(dir)) => {
                std::rc::Rc::new(Context::from_rootfs(dir.path()).map_err(copy_err)?)
            }
            (None, None) => std::rc::Rc::clone(&ex.context),
        };
        let mut patterns = args.sources.clone();
        patterns.extend(args.heredocs.iter().map(|h| h.name.clone()));
        let sources = context.resolve_sources(&patterns).map_err(copy_err)?;
        let inputs = context.file_digest(&sources).map_err(copy_err)?;
        let workdir = self.run_config().working_dir.clone();
        let dest = match args.dest.starts_with('/') {
            true => args.dest.clone(),
            false => {
                let mut d = dispatch::resolve_workdir(&workdir, &args.dest);
                if args.dest.ends_with('/') && !d.ends_with('/') {
                    d.push('/');
                }
                d
            }
        };
        let kind = match (sources.len(), sources.first().map(|s| s.is_dir)) {
            (1, Some(true)) => "dir",
            (1, _) => "file",
            _ => "multi",
        };
        let shell = dispatch::shell_of(self.run_config());
        let hash = inputs.strip_prefix("sha256:").unwrap_or(&inputs);
        // Docker names the destination as written, before WORKDIR.
        let comment = format!("{keyword} {kind}:{hash} in {} ", args.dest);
        let created_by = crate::dockerfile::nop_created_by(&shell, &comment, true);
        let flags = format!("{:?}{:?}", args.chown, args.chmod);
        let key_config = run_config_json(&self.config);
        let key_inputs = format!("{inputs}{flags}");
        let Some(key) = self.lookup(ex, &created_by, &key_config, &key_inputs) else {
            return Ok(());
        };
        let root = StepRoot::new(ex.store, self.image.as_ref()).map_err(&err)?;
        let chown = match &args.chown {
            None => None,
            Some(spec) => Some(resolve_chown(&root.merged, spec).map_err(&err)?),
        };
        let chmod = match &args.chmod {
            None => None,
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .map_err(|_| err(StepError::Other(format!("invalid chmod parameter: {m}"))))?,
            ),
        };
        let opts = CopyOptions {
            chown,
            chmod,
            dest_is_dir_hint: dest.ends_with('/'),
            extract_archives: is_add,
        };
        context
            .copy_into(&sources, &root.merged, &dest, &opts)
            .map_err(copy_err)?;
        drop(from_root);
        let layer = root.finish(&self.config).map_err(&err)?;
        self.commit(ex, self.config.clone(), layer, created_by, &key, line)
    }

    /// `WORKDIR`: the config change, plus the directory when it is missing.
    pub(super) fn workdir(
        &mut self,
        ex: &mut Executor<'_>,
        config: ImageConfig,
        dir: &str,
        created_by: String,
        line: usize,
    ) -> Result<(), BuildError> {
        let err = at(line);
        let key_config = run_config_json(&config);
        let Some(key) = self.lookup(ex, &created_by, &key_config, "") else {
            return Ok(());
        };
        let root = StepRoot::new(ex.store, self.image.as_ref()).map_err(&err)?;
        wharf_image::rootfs::mkdir_all(&root.merged, dir).map_err(|e| {
            err(StepError::Other(format!(
                "failed to create WORKDIR {dir}: {e}"
            )))
        })?;
        let layer = root.finish(&self.config).map_err(&err)?;
        self.commit(ex, config, layer, created_by, &key, line)
    }

    /// Writes a COPY's here-documents as files into a temporary context.
    fn heredoc_context(
        &self,
        ex: &Executor<'_>,
        args: &CopyArgs,
    ) -> Result<tempfile::TempDir, StepError> {
        let dir = tempfile::tempdir_in(ex.store.root().join("tmp"))
            .map_err(|e| StepError::Other(format!("failed to create a heredoc context: {e}")))?;
        // The bodies were expanded with the instruction (unless quoted).
        for h in &args.heredocs {
            std::fs::write(dir.path().join(&h.name), &h.content).map_err(|e| {
                StepError::Other(format!("failed to write heredoc {}: {e}", h.name))
            })?;
        }
        Ok(dir)
    }
}

/// The argv of a RUN. Here-documents follow BuildKit's rules
/// ([`Run::heredoc_command`]); a `#!` script body also goes to the stage's
/// shell, so a shell script runs and other interpreters are not supported.
fn run_argv(run: &Run, shell: &[String]) -> Vec<String> {
    use crate::dockerfile::RunHeredoc;
    let script = match run.heredoc_command() {
        None => return run.cmd.to_argv(shell),
        Some(RunHeredoc::Shell(text)) => text,
        Some(RunHeredoc::Script(h)) => h.content.clone(),
    };
    let mut argv = shell.to_vec();
    argv.push(script);
    argv
}

/// `--chown=user[:group]` against the image's own passwd and group files;
/// a lone user means the group of the same name (Docker's rule).
fn resolve_chown(rootfs: &Path, spec: &str) -> Result<(u32, u32), StepError> {
    let spec = match spec.split_once(':') {
        Some(_) => spec.to_string(),
        None => format!("{spec}:{spec}"),
    };
    let user = wharf_image::user::resolve(rootfs, &spec).map_err(StepError::Chown)?;
    Ok((user.uid, user.gid))
}

impl Executor<'_> {
    /// The image a finished stage produced.
    pub(crate) fn stage_result(&self, stage: usize) -> Option<Digest> {
        self.results.get(&stage).cloned().flatten()
    }
}
