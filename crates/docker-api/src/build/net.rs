//! The network of a build's `RUN` steps, as Docker's classic builder
//! gives them: the default `bridge` network unless the build asks for
//! `host` or `none`. For the bridge the daemon sets up one sandbox for
//! the whole build ([`Engine::build_network_up`]) before the builder
//! starts, and tears it down when the build ends, fails or is cancelled
//! (the guard drops after the builder and its steps were reaped).

use serde_json::{json, Value};
use wharf_engine::networks::BuildNetwork;
use wharf_engine::{Engine, EngineError};

/// A build's sandbox, removed on drop.
pub(super) struct Sandbox<'a> {
    engine: &'a Engine,
    net: Option<BuildNetwork>,
}

impl<'a> Sandbox<'a> {
    /// The sandbox of build `id` for network mode `mode` (`networkmode`):
    /// the default bridge's for `default`/`bridge` (nothing when the
    /// daemon has no default bridge), nothing for the other modes (the
    /// builder refuses those it does not know).
    pub fn up(engine: &'a Engine, id: &str, mode: &str) -> Result<Sandbox<'a>, EngineError> {
        let net = match mode {
            "" | "default" | "bridge" => engine.build_network_up(id)?,
            _ => None,
        };
        Ok(Sandbox { engine, net })
    }

    /// The job's `sandbox` field: the namespace file, the address and
    /// the resolv.conf text the steps get; null without a sandbox.
    pub fn job_field(&self) -> Value {
        match &self.net {
            Some(n) => json!({
                "netns": n.netns,
                "address": n.address.to_string(),
                "resolv_conf": n.resolv_conf,
            }),
            None => Value::Null,
        }
    }
}

impl Drop for Sandbox<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.net.take() {
            self.engine.build_network_down(&n);
        }
    }
}
