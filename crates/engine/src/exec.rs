//! Exec: processes started in a running container by its shim.
//! (being written: H-shim)

use crate::error::Result;
use crate::lifecycle::Attached;
use crate::model::{ExecInfo, ExecOptions};
use crate::Engine;

impl Engine {
    /// Registers an exec (409 when the container is not running).
    pub fn exec_create(&self, _container: &str, _opts: ExecOptions) -> Result<String> {
        todo!()
    }

    /// Starts it: detached (None) or with its stdio attached.
    pub async fn exec_start(&self, _exec_id: &str, _detach: bool) -> Result<Option<Attached>> {
        todo!()
    }

    /// Resizes its pty.
    pub async fn exec_resize(&self, _exec_id: &str, _height: u16, _width: u16) -> Result<()> {
        todo!()
    }

    /// Its state and exit code.
    pub fn exec_inspect(&self, _exec_id: &str) -> Result<ExecInfo> {
        todo!()
    }

    /// Runs `cmd` to its end within `timeout` (health checks); exit code and
    /// combined output (at most 4 KiB kept).
    pub async fn exec_capture(
        &self,
        _container: &str,
        _cmd: Vec<String>,
        _timeout: std::time::Duration,
    ) -> Result<(i32, Vec<u8>)> {
        todo!()
    }
}
