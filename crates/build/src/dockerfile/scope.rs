//! Docker's ARG/ENV scoping inside one stage: which value `$NAME` has,
//! which build args a `RUN` sees, and the `created_by` of a `RUN`.

use super::expand::ExpandError;
use super::instruction::Instruction;
use super::plan::PREDEFINED_ARGS;
use std::collections::{BTreeMap, BTreeSet};

/// The variables visible in one stage, with Docker's precedence: ENV (from
/// the base image and the stage) over ARG; an ARG's value is its
/// `--build-arg` override, else its default, else (for `ARG NAME`
/// re-declaring a meta ARG) the meta ARG's default. Predefined proxy args
/// given as build args are visible without declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    meta: BTreeMap<String, Option<String>>,
    build_args: BTreeMap<String, String>,
    args: Vec<(String, Option<String>)>,
    env: Vec<(String, String)>,
}

impl Scope {
    /// A scope with the meta ARGs (name → default), the build args and the
    /// base image's environment.
    pub fn new(
        meta: BTreeMap<String, Option<String>>,
        build_args: BTreeMap<String, String>,
        env: Vec<(String, String)>,
    ) -> Scope {
        Scope {
            meta,
            build_args,
            args: Vec::new(),
            env,
        }
    }

    /// The value a `$name` expands to here.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.env.iter().rev().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.arg_value(name)
    }

    fn arg_value(&self, name: &str) -> Option<String> {
        if let Some((_, default)) = self.args.iter().rev().find(|(k, _)| k == name) {
            if let Some(v) = self.build_args.get(name) {
                return Some(v.clone());
            }
            return default
                .clone()
                .or_else(|| self.meta.get(name).cloned().flatten());
        }
        if PREDEFINED_ARGS.contains(&name) {
            return self.build_args.get(name).cloned();
        }
        None
    }

    /// Declares `ARG name[=default]` (default already expanded).
    fn declare_arg(&mut self, name: &str, default: Option<String>) {
        self.args.retain(|(k, _)| k != name);
        self.args.push((name.to_string(), default));
    }

    /// Sets `ENV key=value` (value already expanded), replacing an earlier
    /// one in place like Docker does.
    fn set_env(&mut self, key: &str, value: &str) {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value.to_string(),
            None => self.env.push((key.to_string(), value.to_string())),
        }
    }

    /// The environment (`ENV`s, base image's first), in config order.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The ARG values a `RUN` sees in its environment besides [`Scope::env`]:
    /// declared args that have a value and are not shadowed by an ENV, plus
    /// predefined args given as build args; sorted by name.
    pub fn run_args(&self) -> Vec<(String, String)> {
        let mut names: BTreeSet<&str> = self.args.iter().map(|(k, _)| k.as_str()).collect();
        for p in PREDEFINED_ARGS {
            if self.build_args.contains_key(p) {
                names.insert(p);
            }
        }
        names
            .into_iter()
            .filter(|n| !self.env.iter().any(|(k, _)| k == n))
            .filter_map(|n| self.arg_value(n).map(|v| (n.to_string(), v)))
            .collect()
    }

    /// The history `created_by` of a `RUN` whose full argv (shell
    /// included) is `argv`, as the classic builder writes it: when the step
    /// sees build args, `|<n> K=V … ` comes first, listing the declared
    /// ones (predefined proxy args only if declared), sorted:
    /// `|1 VERSION=1.2 /bin/sh -c make`.
    pub fn run_created_by(&self, argv: &[String]) -> String {
        let all = self.run_args();
        if all.is_empty() {
            return argv.join(" ");
        }
        let declared = |n: &str| self.args.iter().any(|(k, _)| k == n);
        let mut kv: Vec<String> = all
            .iter()
            .filter(|(k, _)| declared(k) || !PREDEFINED_ARGS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        kv.sort();
        let mut parts = vec![format!("|{}", kv.len())];
        parts.extend(kv);
        parts.extend(argv.iter().cloned());
        parts.join(" ")
    }

    /// Expands `instr` in this scope (see [`Instruction::expand`]) and, for
    /// ARG and ENV, records the new variables. Returns the expanded
    /// instruction.
    pub fn apply(&mut self, instr: &Instruction, escape: char) -> Result<Instruction, ExpandError> {
        let expanded = instr.expand(escape, &|n| self.lookup(n))?;
        match &expanded {
            Instruction::Arg(kv) => {
                for (k, v) in kv {
                    self.declare_arg(k, v.clone());
                }
            }
            Instruction::Env(kv) => {
                for (k, v) in kv {
                    self.set_env(k, v);
                }
            }
            _ => {}
        }
        Ok(expanded)
    }
}
