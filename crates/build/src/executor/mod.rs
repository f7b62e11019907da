//! The executor: runs a planned Dockerfile against the image store, one
//! step at a time, the way Docker's classic builder does. Every step makes
//! an image (a new layer for RUN, COPY and ADD when they change something,
//! otherwise only a new config and history entry) and is looked up in the
//! build cache first.
//!
//! Output follows the classic builder: `Step N/M : <instruction>`,
//! ` ---> Using cache`, ` ---> Running in <id>`, ` ---> <image id>`,
//! `Successfully built <id>`, `Successfully tagged <name>`.

mod error;
mod reap;
mod stage;
mod steps;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use wharf_image::digest::Digest;
use wharf_image::reference::Reference;
use wharf_image::store::Store;

use crate::cache::BuildCache;
use crate::context::Context;
use crate::dockerfile::{self, Base};
use crate::runner::{StepNetwork, StepRunner};

pub use error::{BuildError, StepError};
pub use reap::reap_stale_steps;
use stage::StageState;

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// The build context directory.
    pub context: PathBuf,
    /// `-t`: names for the result.
    pub tags: Vec<Reference>,
    /// `--build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// `--label`: added to the final image.
    pub labels: BTreeMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--network` for RUN steps.
    pub network: StepNetwork,
}

/// Runs builds against one store.
pub struct Executor<'a> {
    pub(crate) store: &'a Store,
    pub(crate) runner: &'a mut dyn StepRunner,
    pub(crate) cache: BuildCache,
    pub(crate) out: &'a mut dyn Write,
    pub(crate) opts: &'a BuildOptions,
    pub(crate) context: std::rc::Rc<Context>,
    pub(crate) escape: char,
    pub(crate) results: BTreeMap<usize, Option<Digest>>,
    step: usize,
    steps: usize,
}

/// Builds `opts` and returns the image id. `out` gets the build output.
pub fn build(
    store: &Store,
    runner: &mut dyn StepRunner,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> Result<Digest, BuildError> {
    let df = dockerfile::parse(&opts.dockerfile).map_err(BuildError::Parse)?;
    let plan = dockerfile::plan(&df, &opts.build_args, opts.target.as_deref())
        .map_err(BuildError::Plan)?;
    let context = Context::open(&opts.context, None).map_err(BuildError::Context)?;
    reap::reap_stale_steps(store, runner);
    let steps = plan
        .needed
        .iter()
        .map(|&i| df.stages[i].instructions.len() + 1)
        .sum();
    let mut ex = Executor {
        store,
        runner,
        cache: BuildCache::new(store.root()),
        out,
        opts,
        context: std::rc::Rc::new(context),
        escape: df.escape,
        results: BTreeMap::new(),
        step: 0,
        steps,
    };
    for w in &df.warnings {
        ex.say(format_args!("[WARNING]: {w}"));
    }
    for &index in &plan.needed {
        let stage = &df.stages[index];
        ex.step_header(&stage.original);
        let base = match &plan.stages[index].base {
            Base::Scratch => None,
            Base::Stage(i) => ex.stage_result(*i),
            Base::Image(name) => Some(ex.base_image(name, stage.line)?),
        };
        let mut state = StageState::begin(&ex, base.as_ref(), &plan, stage.line)?;
        ex.say(format_args!(
            " ---> {}",
            state.image.as_ref().map_or("", Digest::short)
        ));
        state.run_triggers(&mut ex, &plan, index, stage.line)?;
        for node in &stage.instructions {
            ex.step_header(&node.original);
            state.execute(&mut ex, &plan, index, node)?;
        }
        if index == plan.target && !opts.labels.is_empty() {
            state.add_labels(&mut ex, &opts.labels, stage.line)?;
        }
        ex.results.insert(index, state.image.clone());
    }
    if let Some(w) = plan.unconsumed_warning() {
        ex.say(format_args!("{w}"));
    }
    let id = match ex.stage_result(plan.target) {
        Some(id) => id,
        None => return Err(BuildError::NoImage),
    };
    ex.say(format_args!("Successfully built {}", id.short()));
    for tag in &opts.tags {
        store.tag(&id, tag).map_err(BuildError::Store)?;
        ex.say(format_args!("Successfully tagged {}", tag.familiar()));
    }
    Ok(id)
}

impl Executor<'_> {
    /// One line of build output (a quiet build's is held back by the
    /// daemon, as dockerd holds it).
    pub(crate) fn say(&mut self, line: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn step_header(&mut self, original: &str) {
        self.step += 1;
        let (n, m) = (self.step, self.steps);
        self.say(format_args!("Step {n}/{m} : {original}"));
    }

    /// A `FROM` image from the store; there is no registry to pull from.
    fn base_image(&self, name: &str, line: usize) -> Result<Digest, BuildError> {
        let image = self.store.image(name).map_err(|source| {
            stage::at(line)(StepError::BaseImage {
                name: name.to_string(),
                source,
            })
        })?;
        Ok(image.id)
    }
}
