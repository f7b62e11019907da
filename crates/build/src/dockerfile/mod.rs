//! The Dockerfile front end: a pure syntax tree, no I/O.
//!
//! [`parse`] turns the text of a Dockerfile into a [`Dockerfile`]: parser
//! directives, then the instructions split into stages at each `FROM`, each
//! typed ([`Instruction`]) and carrying its 1-based line and original text.
//! The rules follow Docker's parser (moby/buildkit
//! `frontend/dockerfile/parser` and `instructions`): line continuations with
//! the escape character (comment and empty lines between continued lines are
//! skipped), JSON (exec) form with a fallback to shell form when the JSON is
//! not valid, builder flags, heredocs for `RUN`, `COPY` and `ADD`.
//!
//! Variables are expanded later, step by step, with [`Instruction::expand`]
//! and the shell-like [`lex::Lexer`]; [`Scope`] keeps Docker's ARG/ENV
//! scoping for a stage. [`plan::plan`] resolves stage references, meta ARGs,
//! `--target` and unused build args. [`Instruction::created_by`] gives the
//! classic builder's history text for metadata-only steps.

mod duration;
mod expand;
mod flags;
mod healthcheck;
mod history;
mod instruction;
pub mod lex;
mod parser;
pub mod plan;
mod scope;
mod typed;
mod words;

pub use expand::ExpandError;
pub use history::nop_created_by;
pub use instruction::{
    CopyArgs, From, HealthCmd, Healthcheck, Heredoc, Instruction, Run, RunHeredoc, ShellOrExec,
};
pub use parser::{parse, parse_heredoc, ParseError};
pub use plan::{plan, Base, Plan, PlanError, PlannedStage, StageRef, PREDEFINED_ARGS};
pub use scope::Scope;

/// One parsed instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based line on which the instruction starts.
    pub line: usize,
    /// 1-based line on which it ends (continuations, heredoc bodies).
    pub end_line: usize,
    /// The logical line as Docker keeps it: continuations joined, comments
    /// dropped, leading whitespace trimmed (heredoc bodies not included).
    pub original: String,
    /// The typed instruction.
    pub instruction: Instruction,
}

/// A build stage: a `FROM` line and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position among the stages (0-based), usable in `COPY --from=<n>`.
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<String>,
    /// The base image or stage, unexpanded.
    pub base: String,
    /// `FROM --platform=`, unexpanded.
    pub platform: Option<String>,
    /// Line of the `FROM`.
    pub line: usize,
    /// The `FROM` line's original text.
    pub original: String,
    /// The instructions after `FROM` (never `FROM` itself).
    pub instructions: Vec<Node>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character: `\` or, with `# escape=``, a backtick.
    pub escape: char,
    /// The `# syntax=` directive, if any (recorded, otherwise ignored).
    pub syntax: Option<String>,
    /// `ARG` instructions before the first `FROM` (always
    /// [`Instruction::Arg`]).
    pub meta_args: Vec<Node>,
    /// The stages in file order.
    pub stages: Vec<Stage>,
    /// Parser warnings, e.g. Docker's empty continuation line warning.
    pub warnings: Vec<String>,
}

impl Dockerfile {
    /// The number of instructions in the file (meta ARGs, each `FROM` and
    /// everything after it): the `M` of Docker's `Step N/M`.
    pub fn instruction_count(&self) -> usize {
        self.meta_args.len()
            + self
                .stages
                .iter()
                .map(|s| s.instructions.len() + 1)
                .sum::<usize>()
    }
}
