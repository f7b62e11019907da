//! Opening the engine and live restore: re-attaching to the shims of
//! running containers, recording the exits that happened while no daemon
//! ran, and applying restart policies. (being written: H-core)

use std::sync::Arc;

use crate::error::Result;
use crate::{Engine, EngineConfig};

/// See [`Engine::open`].
pub(crate) async fn open(_config: EngineConfig) -> Result<Arc<Engine>> {
    todo!()
}
