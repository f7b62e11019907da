//! Builder flags (`--from=x`, `--link`) checked against what each
//! instruction accepts, with Docker's `BFlags` rules: unknown and duplicate
//! flags are errors, string flags need `=value`, booleans take an optional
//! `=true`/`=false`.

use super::parser::ParseError;
use std::collections::BTreeMap;

/// A flag problem, before it is placed on a line.
pub(crate) enum FlagError {
    /// A flag the instruction does not take (name without `--`).
    Unknown(String),
    /// Any other misuse, with Docker's message.
    Invalid(String),
}

impl FlagError {
    /// The error for the instruction on `line`.
    pub(crate) fn at(self, line: usize) -> ParseError {
        match self {
            FlagError::Unknown(flag) => ParseError::UnknownFlag { line, flag },
            FlagError::Invalid(m) => ParseError::syntax(line, m),
        }
    }
}

/// The kind of value a flag takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    /// May repeat (`--mount`).
    Strs,
}

/// Parsed flag values by name.
#[derive(Default)]
pub(crate) struct Flags {
    strs: BTreeMap<&'static str, Vec<String>>,
    bools: BTreeMap<&'static str, bool>,
}

impl Flags {
    /// Parses `given` (each `--name[=value]`) against `allowed`.
    pub(crate) fn parse(
        given: &[String],
        allowed: &[(&'static str, Kind)],
    ) -> Result<Flags, FlagError> {
        let mut out = Flags::default();
        let mut used: Vec<&str> = Vec::new();
        for arg in given {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(FlagError::Invalid(format!(
                    "arg should start with -- : {arg}"
                )));
            };
            if body.is_empty() {
                break;
            }
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(key, kind)) = allowed.iter().find(|(n, _)| *n == name) else {
                return Err(FlagError::Unknown(name.to_string()));
            };
            if used.contains(&key) && kind != Kind::Strs {
                return Err(FlagError::Invalid(format!(
                    "duplicate flag specified: {name}"
                )));
            }
            used.push(key);
            match kind {
                Kind::Bool => {
                    let v = match value.map(str::to_ascii_lowercase).as_deref() {
                        None => true,
                        Some("") => {
                            return Err(FlagError::Invalid(format!(
                                "missing a value on flag: {name}"
                            )))
                        }
                        Some("true") => true,
                        Some("false") => false,
                        Some(_) => {
                            return Err(FlagError::Invalid(format!(
                                "expecting boolean value for flag {name}, not: {}",
                                value.unwrap_or_default()
                            )))
                        }
                    };
                    out.bools.insert(key, v);
                }
                Kind::Str | Kind::Strs => {
                    let Some(v) = value else {
                        return Err(FlagError::Invalid(format!(
                            "missing a value on flag: {name}"
                        )));
                    };
                    out.strs.entry(key).or_default().push(v.to_string());
                }
            }
        }
        Ok(out)
    }

    /// A string flag's value, if given.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.strs.get(name).and_then(|v| v.last().cloned())
    }

    /// Every value of a repeatable flag.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.strs.get(name).cloned().unwrap_or_default()
    }

    /// A boolean flag (false when absent).
    pub(crate) fn boolean(&self, name: &str) -> bool {
        self.bools.get(name).copied().unwrap_or(false)
    }
}
