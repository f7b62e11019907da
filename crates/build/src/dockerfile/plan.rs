//! The stage planner and Docker's ARG/ENV scoping.
//!
//! [`plan`] expands the meta ARGs (ARGs before the first `FROM`) with the
//! `--build-arg` overrides, expands each `FROM` with them, resolves `FROM
//! <stage>` and `COPY --from=<name|index>` to stage indices (or to an image
//! when no earlier stage has that name), picks the target and the stages it
//! needs, and finds the build args nothing declares. [`Scope`] is the
//! variable scope of one stage while it is being built.

use super::expand::ExpandError;
use super::instruction::Instruction;
use super::scope::Scope;
use super::Dockerfile;
use std::collections::{BTreeMap, BTreeSet};

/// Build args Docker accepts without an `ARG` declaration.
pub const PREDEFINED_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Why a Dockerfile cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Two stages share an `AS` name.
    #[error("dockerfile parse error on line {line}: duplicate stage name {name:?}")]
    DuplicateStageName {
        /// Line of the second `FROM`.
        line: usize,
        /// The name.
        name: String,
    },
    /// Only meta ARGs, no `FROM`.
    #[error("dockerfile contains no stages to build")]
    NoStages,
    /// `--target` names no stage (the classic builder's words).
    #[error("failed to reach build target {target} in Dockerfile")]
    TargetNotFound {
        /// The requested target.
        target: String,
    },
    /// A variable in a FROM, meta ARG or COPY --from could not be expanded.
    #[error("dockerfile line {line}: failed to expand variables")]
    Expand {
        /// Line of the instruction.
        line: usize,
        /// The lexer error.
        #[source]
        source: ExpandError,
    },
    /// `FROM ${EMPTY}` expanded to nothing.
    #[error("dockerfile line {line}: base name ({base}) should not be blank")]
    BlankBase {
        /// Line of the `FROM`.
        line: usize,
        /// The unexpanded base.
        base: String,
    },
    /// `COPY --from=<n>` names the current stage, a later one or none.
    #[error("dockerfile line {line}: invalid stage index {index}")]
    InvalidStageIndex {
        /// Line of the COPY.
        line: usize,
        /// The index given.
        index: String,
    },
    /// `COPY --from=<own stage name>`.
    #[error("dockerfile line {line}: circular dependency detected on stage: {name}")]
    Circular {
        /// Line of the COPY.
        line: usize,
        /// The stage name.
        name: String,
    },
}

/// What `COPY --from` or `FROM` refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageRef {
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference (to look up in the store).
    Image(String),
}

/// A stage's base after meta-ARG expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: no layers.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference.
    Image(String),
}

/// One stage with its references resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStage {
    /// Index in [`Dockerfile::stages`].
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<String>,
    /// The expanded, resolved base.
    pub base: Base,
    /// `--platform`, expanded.
    pub platform: Option<String>,
    /// Every `COPY --from` of the stage: (line, resolved reference).
    pub copy_from: Vec<(usize, StageRef)>,
    /// Stages this one needs (its base and COPY --from sources), sorted.
    pub deps: Vec<usize>,
}

/// The result of planning a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every stage, in file order (also the ones not needed).
    pub stages: Vec<PlannedStage>,
    /// The stage whose result is the image.
    pub target: usize,
    /// The stages to build, ascending: the target and what it needs.
    pub needed: Vec<usize>,
    /// Meta ARGs: name → expanded default (`None` if declared without).
    pub meta_args: BTreeMap<String, Option<String>>,
    /// The `--build-arg` values given.
    pub build_args: BTreeMap<String, String>,
    /// Build args that no needed stage nor meta ARG declares and that are
    /// not predefined: Docker warns about them.
    pub unconsumed: Vec<String>,
}

impl Plan {
    /// Whether the stage is built.
    pub fn is_needed(&self, stage: usize) -> bool {
        self.needed.contains(&stage)
    }

    /// The resolved `COPY --from` of the COPY on `line` in `stage`.
    pub fn copy_from(&self, stage: usize, line: usize) -> Option<&StageRef> {
        let s = self.stages.get(stage)?;
        s.copy_from.iter().find(|(l, _)| *l == line).map(|(_, r)| r)
    }

    /// A fresh variable scope for a stage whose base image has `image_env`
    /// (the base config's `Env`, split at `=`).
    pub fn scope(&self, image_env: Vec<(String, String)>) -> Scope {
        Scope::new(self.meta_args.clone(), self.build_args.clone(), image_env)
    }

    /// Docker's warning for [`Plan::unconsumed`], if any:
    /// `[Warning] One or more build-args [A B] were not consumed`.
    pub fn unconsumed_warning(&self) -> Option<String> {
        if self.unconsumed.is_empty() {
            return None;
        }
        Some(format!(
            "[Warning] One or more build-args [{}] were not consumed",
            self.unconsumed.join(" ")
        ))
    }
}

/// Plans a build of `df` with these `--build-arg`s for `--target`.
pub fn plan(
    df: &Dockerfile,
    build_args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Result<Plan, PlanError> {
    if df.stages.is_empty() {
        return Err(PlanError::NoStages);
    }
    let mut meta: BTreeMap<String, Option<String>> = BTreeMap::new();
    let meta_value = |meta: &BTreeMap<String, Option<String>>, n: &str| -> Option<String> {
        if meta.contains_key(n) {
            return build_args
                .get(n)
                .cloned()
                .or_else(|| meta.get(n).cloned().flatten());
        }
        None
    };
    for node in &df.meta_args {
        let ex = node
            .instruction
            .expand(df.escape, &|n| {
                meta_value(&meta, n).or_else(|| {
                    PREDEFINED_ARGS
                        .contains(&n)
                        .then(|| build_args.get(n).cloned())
                        .flatten()
                })
            })
            .map_err(|source| PlanError::Expand {
                line: node.line,
                source,
            })?;
        if let Instruction::Arg(kv) = ex {
            for (k, v) in kv {
                meta.insert(k, v);
            }
        }
    }
    let mut stages: Vec<PlannedStage> = Vec::new();
    for st in &df.stages {
        if let Some(name) = &st.name {
            if stages.iter().any(|p| p.name.as_ref() == Some(name)) {
                return Err(PlanError::DuplicateStageName {
                    line: st.line,
                    name: name.clone(),
                });
            }
        }
        let exp_err = |line| move |source| PlanError::Expand { line, source };
        let lx = super::lex::Lexer::new(df.escape);
        let look = |n: &str| meta_value(&meta, n);
        let base = lx
            .process_word(&st.base, &look)
            .map_err(|e| exp_err(st.line)(e.into()))?;
        if base.is_empty() {
            return Err(PlanError::BlankBase {
                line: st.line,
                base: st.base.clone(),
            });
        }
        let platform = st
            .platform
            .as_deref()
            .map(|p| lx.process_word(p, &look))
            .transpose()
            .map_err(|e| exp_err(st.line)(e.into()))?;
        let base = if base.eq_ignore_ascii_case("scratch") {
            Base::Scratch
        } else if let Some(p) = by_name(&stages, &base) {
            Base::Stage(p.index)
        } else {
            Base::Image(base)
        };
        let mut scope = Scope::new(meta.clone(), build_args.clone(), Vec::new());
        let mut copy_from = Vec::new();
        for node in &st.instructions {
            match &node.instruction {
                Instruction::Arg(_) | Instruction::Env(_) => {
                    // Scope tracking only: the executor reports these errors.
                    let _ = scope.apply(&node.instruction, df.escape);
                }
                Instruction::Copy(c) => {
                    let Some(from) = &c.from else { continue };
                    let from = lx
                        .process_word(from, &|n| scope.lookup(n))
                        .map_err(|e| exp_err(node.line)(e.into()))?;
                    copy_from.push((node.line, resolve_from(&stages, st, &from, node.line)?));
                }
                _ => {}
            }
        }
        let mut deps: Vec<usize> = copy_from
            .iter()
            .filter_map(|(_, r)| match r {
                StageRef::Stage(i) => Some(*i),
                StageRef::Image(_) => None,
            })
            .collect();
        if let Base::Stage(i) = base {
            deps.push(i);
        }
        deps.sort_unstable();
        deps.dedup();
        stages.push(PlannedStage {
            index: st.index,
            name: st.name.clone(),
            base,
            platform,
            copy_from,
            deps,
        });
    }
    let target = match target {
        Some(t) => {
            by_name(&stages, t)
                .map(|p| p.index)
                .ok_or_else(|| PlanError::TargetNotFound {
                    target: t.to_string(),
                })?
        }
        None => stages.len().saturating_sub(1),
    };
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if needed.insert(i) {
            todo.extend(stages[i].deps.iter().copied());
        }
    }
    let needed: Vec<usize> = needed.into_iter().collect();
    let mut declared: BTreeSet<&str> = meta.keys().map(String::as_str).collect();
    for &i in &needed {
        for node in &df.stages[i].instructions {
            if let Instruction::Arg(kv) = &node.instruction {
                declared.extend(kv.iter().map(|(k, _)| k.as_str()));
            }
        }
    }
    let unconsumed = build_args
        .keys()
        .filter(|k| !declared.contains(k.as_str()) && !PREDEFINED_ARGS.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok(Plan {
        stages,
        target,
        needed,
        meta_args: meta,
        build_args: build_args.clone(),
        unconsumed,
    })
}

fn resolve_from(
    done: &[PlannedStage],
    current: &super::Stage,
    from: &str,
    line: usize,
) -> Result<StageRef, PlanError> {
    if let Some(p) = by_name(done, from) {
        return Ok(StageRef::Stage(p.index));
    }
    let lower = from.to_ascii_lowercase();
    if current.name.as_deref() == Some(lower.as_str()) {
        return Err(PlanError::Circular { line, name: lower });
    }
    if let Ok(n) = from.parse::<i64>() {
        if n >= 0 && (n as usize) < current.index {
            return Ok(StageRef::Stage(n as usize));
        }
        return Err(PlanError::InvalidStageIndex {
            line,
            index: from.to_string(),
        });
    }
    Ok(StageRef::Image(from.to_string()))
}

/// The planned stage named `name` (`AS` names are lower-cased; references
/// match case-insensitively).
fn by_name<'a>(stages: &'a [PlannedStage], name: &str) -> Option<&'a PlannedStage> {
    let lower = name.to_ascii_lowercase();
    stages
        .iter()
        .find(|p| p.name.as_deref() == Some(lower.as_str()))
}
