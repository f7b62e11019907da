//! Docker's per-instruction variable expansion: which instructions expand
//! their arguments and how (one word, or a word list for `EXPOSE`).

use super::instruction::{CopyArgs, Instruction};
use super::lex::{LexError, Lexer, Lookup};

/// A variable reference could not be expanded (`${X:?}` with `X` unset,
/// an unterminated quote or `${`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// Docker's lexer message, e.g.
    /// `failed to process "${A:?}": A: is not allowed to be unset`.
    #[error(transparent)]
    Word(#[from] LexError),
}

impl Instruction {
    /// Whether Docker expands variables in this instruction's arguments:
    /// ADD, ARG, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME,
    /// WORKDIR do; RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and
    /// MAINTAINER do not (the shell expands RUN at run time).
    pub fn expands(&self) -> bool {
        !matches!(
            self,
            Instruction::Run(_)
                | Instruction::Cmd(_)
                | Instruction::Entrypoint(_)
                | Instruction::Shell(_)
                | Instruction::Healthcheck(_)
                | Instruction::Onbuild { .. }
                | Instruction::Maintainer(_)
        )
    }

    /// The instruction with its variables expanded and quotes removed, the
    /// way Docker dispatches it. `vars` gives the current value of a name
    /// (see [`super::Scope::lookup`] for Docker's ARG/ENV scoping).
    ///
    /// Always call this before using an instruction's values, even when no
    /// variable is set: it is also what removes the quotes and escapes of
    /// `ENV A="a b"`. Instructions that do not expand come back unchanged.
    /// For `FROM`, pass the meta ARGs (see [`super::plan()`]).
    pub fn expand(&self, escape: char, vars: Lookup<'_>) -> Result<Instruction, ExpandError> {
        let lx = Lexer::new(escape);
        let w = |s: &str| lx.process_word(s, vars);
        let opt = |s: &Option<String>| s.as_deref().map(|v| lx.process_word(v, vars)).transpose();
        Ok(match self {
            Instruction::From(f) => {
                let mut f = f.clone();
                f.image = w(&f.image)?;
                f.platform = opt(&f.platform)?;
                Instruction::From(f)
            }
            Instruction::Copy(c) => Instruction::Copy(expand_copy(c, &lx, vars)?),
            Instruction::Add(c) => Instruction::Add(expand_copy(c, &lx, vars)?),
            Instruction::Env(kv) => Instruction::Env(
                kv.iter()
                    .map(|(k, v)| Ok((w(k)?, w(v)?)))
                    .collect::<Result<_, LexError>>()?,
            ),
            Instruction::Label(kv) => Instruction::Label(
                kv.iter()
                    .map(|(k, v)| Ok((w(k)?, w(v)?)))
                    .collect::<Result<_, LexError>>()?,
            ),
            Instruction::Arg(kv) => Instruction::Arg(
                kv.iter()
                    .map(|(k, v)| Ok((w(k)?, opt(v)?)))
                    .collect::<Result<_, LexError>>()?,
            ),
            Instruction::Workdir(s) => Instruction::Workdir(w(s)?),
            Instruction::User(s) => Instruction::User(w(s)?),
            Instruction::StopSignal(s) => Instruction::StopSignal(w(s)?),
            Instruction::Volume(v) => {
                Instruction::Volume(v.iter().map(|s| w(s)).collect::<Result<_, _>>()?)
            }
            Instruction::Expose(ports) => {
                let mut out = Vec::new();
                for p in ports {
                    out.extend(lx.process_words(p, vars)?);
                }
                Instruction::Expose(out)
            }
            other => other.clone(),
        })
    }
}

fn expand_copy(c: &CopyArgs, lx: &Lexer, vars: Lookup<'_>) -> Result<CopyArgs, LexError> {
    let w = |s: &str| lx.process_word(s, vars);
    let opt = |s: &Option<String>| s.as_deref().map(w).transpose();
    // BuildKit expands heredoc bodies with a backslash lexer that leaves
    // quotes alone: the body is a file or script, not Dockerfile words.
    let body = Lexer {
        skip_process_quotes: true,
        ..Lexer::new('\\')
    };
    let mut out = c.clone();
    out.sources = c.sources.iter().map(|s| w(s)).collect::<Result<_, _>>()?;
    out.dest = w(&c.dest)?;
    out.from = opt(&c.from)?;
    out.chown = opt(&c.chown)?;
    out.chmod = opt(&c.chmod)?;
    out.checksum = opt(&c.checksum)?;
    for h in &mut out.heredocs {
        if h.expand {
            h.content = body.process_word(&h.content, vars)?;
        }
    }
    Ok(out)
}
