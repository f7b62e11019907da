//! `--change` of `import` and `commit`: Dockerfile instructions applied to
//! an image's config without a build. Docker allows CMD, ENTRYPOINT, ENV,
//! EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR.

use wharf_image::config::{ImageConfig, RunConfig};

use crate::dispatch::{self, DispatchError};
use crate::dockerfile::{self, ExpandError, Instruction, ParseError};

/// A `--change` that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The text is not a Dockerfile instruction.
    #[error("invalid change {change:?}")]
    Parse {
        /// The change as given.
        change: String,
        /// The cause.
        #[source]
        source: ParseError,
    },
    /// A variable in it could not be expanded.
    #[error("invalid change {change:?}")]
    Expand {
        /// The change as given.
        change: String,
        /// The cause.
        #[source]
        source: ExpandError,
    },
    /// The instruction is not allowed or not valid.
    #[error("invalid change {change:?}")]
    Apply {
        /// The change as given.
        change: String,
        /// The cause.
        #[source]
        source: DispatchError,
    },
}

/// Applies `changes` in order to `config`.
pub fn apply(config: &mut RunConfig, changes: &[String]) -> Result<(), ChangeError> {
    let mut image = ImageConfig {
        config: Some(std::mem::take(config)),
        ..ImageConfig::default()
    };
    let mut cmd_set = false;
    for change in changes {
        let text = format!("FROM scratch\n{change}\n");
        let parsed = dockerfile::parse(&text).map_err(|source| ChangeError::Parse {
            change: change.clone(),
            source,
        })?;
        let nodes = parsed.stages.first().map(|s| s.instructions.as_slice());
        for node in nodes.unwrap_or_default() {
            let allowed = !matches!(
                node.instruction,
                Instruction::Run(_)
                    | Instruction::Copy(_)
                    | Instruction::Add(_)
                    | Instruction::Arg(_)
                    | Instruction::Shell(_)
                    | Instruction::Maintainer(_)
                    | Instruction::From(_)
            );
            if !allowed {
                return Err(ChangeError::Apply {
                    change: change.clone(),
                    source: DispatchError::NotAChange(node.instruction.keyword().to_string()),
                });
            }
            let env = image
                .config
                .as_ref()
                .and_then(|c| c.env.clone())
                .unwrap_or_default();
            let lookup = |k: &str| dispatch::get_env(&env, k).map(str::to_string);
            let instr = node
                .instruction
                .expand(parsed.escape, &lookup)
                .map_err(|source| ChangeError::Expand {
                    change: change.clone(),
                    source,
                })?;
            dispatch::apply(&mut image, &instr, &mut cmd_set).map_err(|source| {
                ChangeError::Apply {
                    change: change.clone(),
                    source,
                }
            })?;
        }
    }
    *config = image.config.unwrap_or_default();
    Ok(())
}
