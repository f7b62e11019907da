//! Wharf's image builder: a Dockerfile parser that yields a pure syntax tree,
//! variable expansion with Docker's ARG/ENV scoping, a stage planner, the
//! `.dockerignore` matcher, build-context reading that never leaves the
//! context, the build cache and the executor.
//!
//! The builder runs `RUN` steps through the [`runner::StepRunner`] trait,
//! which the layer above (the `wharf` binary today, the engine later)
//! implements; this crate depends only on the image store below it.
#![forbid(unsafe_code)]

pub mod cache;
pub mod changes;
pub mod context;
pub mod dispatch;
pub mod dockerfile;
pub mod executor;
pub mod ignore;
pub mod runner;
