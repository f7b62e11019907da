//! One stage being built: its current image and config, its variable
//! scope, and what each instruction does to them.

use std::collections::BTreeMap;

use wharf_image::commit::{self, Child};
use wharf_image::config::{ImageConfig, RunConfig};
use wharf_image::digest::Digest;

use super::error::{BuildError, StepError};
use super::Executor;
use crate::cache::CacheKey;
use crate::dispatch;
use crate::dockerfile::{self, Instruction, Node, Plan, Scope};

/// The state of a stage between two steps.
pub(crate) struct StageState {
    /// The image the last step made (`None`: still an empty scratch).
    pub image: Option<Digest>,
    /// Its config.
    pub config: ImageConfig,
    /// ARG and ENV values.
    pub scope: Scope,
    /// Whether this stage set CMD (ENTRYPOINT clears an inherited one).
    pub cmd_set: bool,
}

/// Wraps a step error with its line.
pub(crate) fn at(line: usize) -> impl Fn(StepError) -> BuildError {
    move |source| BuildError::Step {
        line,
        source: Box::new(source),
    }
}

impl StageState {
    /// Starts a stage from `base` (`None`: scratch).
    pub fn begin(
        ex: &Executor<'_>,
        base: Option<&Digest>,
        plan: &Plan,
        line: usize,
    ) -> Result<StageState, BuildError> {
        let mut config = match base {
            Some(id) => {
                let image = ex
                    .store
                    .image(id.as_str())
                    .map_err(|e| at(line)(StepError::Store(e)))?;
                image.config.clone()
            }
            None => ImageConfig {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..ImageConfig::default()
            },
        };
        config.rootfs.kind = "layers".into();
        // A child image has the author (MAINTAINER) and comment of its own
        // build, not its parent's (Docker's `NewChildImage`).
        config.author.clear();
        config.comment.clear();
        config.container.clear();
        let run = config.config.get_or_insert_with(RunConfig::default);
        // Docker gives every stage a PATH (`dispatchState.setDefaultPath`).
        let env = run.env.get_or_insert_with(Vec::new);
        if dispatch::get_env(env, "PATH").is_none() {
            env.push(format!("PATH={}", dispatch::DEFAULT_PATH));
        }
        let pairs = env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        Ok(StageState {
            image: base.cloned(),
            config,
            scope: plan.scope(pairs),
            cmd_set: false,
        })
    }

    /// Runs the base image's ONBUILD triggers, then clears them, as Docker
    /// does right after FROM.
    pub fn run_triggers(
        &mut self,
        ex: &mut Executor<'_>,
        plan: &Plan,
        stage: usize,
        line: usize,
    ) -> Result<(), BuildError> {
        let run = self.config.config.get_or_insert_with(RunConfig::default);
        let triggers = run.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        let n = triggers.len();
        ex.say(format_args!(
            "# Executing {n} build trigger{}",
            if n == 1 { "" } else { "s" }
        ));
        for trigger in triggers {
            let text = format!("FROM scratch\n{trigger}\n");
            let parsed = dockerfile::parse(&text).map_err(BuildError::Parse)?;
            for node in parsed.stages.into_iter().flat_map(|s| s.instructions) {
                let node = Node { line, ..node };
                self.execute(ex, plan, stage, &node)?;
            }
        }
        Ok(())
    }

    /// Executes one instruction of the stage.
    pub fn execute(
        &mut self,
        ex: &mut Executor<'_>,
        plan: &Plan,
        stage: usize,
        node: &Node,
    ) -> Result<(), BuildError> {
        let expanded = self
            .scope
            .apply(&node.instruction, ex.escape)
            .map_err(|e| at(node.line)(StepError::Expand(e)))?;
        match &expanded {
            Instruction::Run(run) => self.run(ex, run, node.line),
            Instruction::Copy(args) | Instruction::Add(args) => {
                let from = match &args.from {
                    Some(_) => plan.copy_from(stage, node.line).cloned(),
                    None => None,
                };
                self.copy(ex, &expanded, args, from, node.line)
            }
            Instruction::From(_) => Ok(()),
            Instruction::Arg(_) => {
                let shell = dispatch::shell_of(self.run_config());
                let created_by = expanded.created_by(&shell).unwrap_or_default();
                let config = self.config.clone();
                self.commit_config(ex, config, created_by, node.line)
            }
            _ => self.metadata(ex, expanded, node.line),
        }
    }

    /// A step that changes the config (ENV, LABEL, CMD, …; WORKDIR also
    /// creates its directory).
    fn metadata(
        &mut self,
        ex: &mut Executor<'_>,
        mut instr: Instruction,
        line: usize,
    ) -> Result<(), BuildError> {
        if let Instruction::Workdir(w) = &instr {
            let cur = &self.run_config().working_dir;
            instr = Instruction::Workdir(dispatch::resolve_workdir(cur, w));
        }
        let mut config = self.config.clone();
        dispatch::apply(&mut config, &instr, &mut self.cmd_set)
            .map_err(|e| at(line)(StepError::Dispatch(e)))?;
        // Docker words the history with the shell after the step, which
        // only SHELL itself changes.
        let shell = dispatch::shell_of(config.config.as_ref().expect("apply sets a config"));
        let created_by = instr.created_by(&shell).unwrap_or_default();
        if let Instruction::Workdir(w) = &instr {
            return self.workdir(ex, config, w, created_by, line);
        }
        self.commit_config(ex, config, created_by, line)
    }

    /// `--label`s of the command line, on the target stage's result: a
    /// LABEL step of its own, as Docker's classic builder adds it.
    pub fn add_labels(
        &mut self,
        ex: &mut Executor<'_>,
        labels: &BTreeMap<String, String>,
        line: usize,
    ) -> Result<(), BuildError> {
        let label = Instruction::Label(labels.clone().into_iter().collect());
        self.metadata(ex, label, line)
    }

    /// The current run config.
    pub fn run_config(&self) -> &RunConfig {
        self.config
            .config
            .as_ref()
            .expect("a stage's config always has a run config (begin and lookup set one)")
    }

    /// A step that changes only the config: looked up in the cache, else
    /// committed as a new image without a layer.
    fn commit_config(
        &mut self,
        ex: &mut Executor<'_>,
        config: ImageConfig,
        created_by: String,
        line: usize,
    ) -> Result<(), BuildError> {
        let key_config = run_config_json(&config);
        let Some(key) = self.lookup(ex, &created_by, &key_config, "") else {
            return Ok(());
        };
        self.commit(ex, config, None, created_by, &key, line)
    }

    /// Looks a step up in the cache: `None` on a hit (the stage now holds
    /// the cached image, and the output says so), otherwise the key under
    /// which to record the step's result.
    pub fn lookup(
        &mut self,
        ex: &mut Executor<'_>,
        step: &str,
        config: &[u8],
        inputs: &str,
    ) -> Option<String> {
        let key = CacheKey {
            parent: self.image.as_ref(),
            step,
            config,
            inputs,
        };
        let hash = key.hash();
        let cached = match ex.opts.no_cache {
            true => None,
            false => ex.cache.get(&hash),
        };
        let Some(image) = cached.and_then(|id| ex.store.image_by_id(&id).ok()) else {
            return Some(hash);
        };
        ex.say(format_args!(" ---> Using cache"));
        ex.say(format_args!(" ---> {}", image.id.short()));
        self.config = image.config;
        self.config.config.get_or_insert_with(RunConfig::default);
        self.image = Some(image.id);
        None
    }

    /// Makes the step's image from `config` (the stage's config with the
    /// step's changes), with a history entry and `layer` (its diff id) on
    /// top when the step changed files; records it in the cache under
    /// `key`.
    pub fn commit(
        &mut self,
        ex: &mut Executor<'_>,
        mut config: ImageConfig,
        layer: Option<Digest>,
        created_by: String,
        key: &str,
        line: usize,
    ) -> Result<(), BuildError> {
        let err = at(line);
        if let Some(run) = config.config.as_mut() {
            run.image = self
                .image
                .as_ref()
                .map(Digest::to_string)
                .unwrap_or_default();
        }
        // Docker records the stage's MAINTAINER as the step's author.
        let child = Child {
            created_by: Some(created_by),
            author: Some(config.author.clone()).filter(|a| !a.is_empty()),
            ..Child::default()
        };
        let (id, config) = commit::commit(
            ex.store,
            self.image.as_ref(),
            Some(&config),
            layer.as_ref(),
            &child,
        )
        .map_err(|e| err(StepError::Commit(e)))?;
        ex.cache
            .put(key, &id)
            .map_err(|e| err(StepError::Cache(e)))?;
        ex.say(format_args!(" ---> {}", id.short()));
        self.config = config;
        self.image = Some(id);
        Ok(())
    }
}

/// The part of a config that decides a step's result: the run config (the
/// `created` time and history left out, since they change every build).
pub(crate) fn run_config_json(config: &ImageConfig) -> Vec<u8> {
    let mut c = config.clone();
    c.created = None;
    c.history.clear();
    if let Some(run) = c.config.as_mut() {
        run.image.clear();
    }
    c.to_json()
}
