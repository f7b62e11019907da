//! stop, kill, restart, pause and unpause. Signals go to the container's
//! init through its shim; stop waits for the exit the monitor records
//! (without holding the container's op lock, which the monitor takes).

use std::sync::Arc;
use std::time::Duration;

use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::not_running;
use crate::model::Status;
use crate::registry::{no_such_container, Entry};
use crate::shim_client::ShimClient;
use crate::Engine;

/// How long a SIGKILLed container may take to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(30);

/// Parses a signal as Docker does (`9`, `KILL`, `SIGKILL`); 400 otherwise.
pub(crate) fn parse_signal(s: &str) -> Result<i32> {
    wharf_runtime::lifecycle::parse_signal(s)
        .map(|sig| sig.as_raw())
        .map_err(|_| EngineError::invalid(format!("Invalid signal: {s}")))
}

impl Engine {
    /// Waits until the exit count of `entry` passes `seen` (None: forever).
    pub(crate) async fn wait_exit(entry: &Entry, seen: u64, limit: Option<Duration>) -> bool {
        let mut rx = entry.life.subscribe();
        let done = rx.wait_for(|l| l.exits > seen || l.removed);
        match limit {
            None => done.await.is_ok(),
            Some(d) => matches!(tokio::time::timeout(d, done).await, Ok(Ok(_))),
        }
    }

    /// Sends `signal` to init (or with `all` to every process) through the
    /// shim; a paused container is thawed so that the signal lands (a
    /// frozen process does not even die of SIGKILL before it thaws).
    async fn signal(&self, entry: &Entry, signal: i32, all: bool) -> Result<()> {
        let paused = entry.status() == Status::Paused;
        let client = ShimClient::new(self.shim_dir(&entry.id));
        client.kill(signal, all).await?;
        if paused {
            let runtime = self.runtime();
            let _ = runtime.resume(&entry.id);
            let _ = entry.modify(self, |r| {
                if r.c.state.status == Status::Paused {
                    r.c.state.status = Status::Running;
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// Stop signal, then SIGKILL after `timeout` seconds (container's or 10; -1 waits forever).
    /// It goes on when the caller goes away.
    pub async fn stop(
        self: &Arc<Self>,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<String>,
    ) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        let engine = self.clone();
        crate::start::detached(async move { engine.stop_entry(entry, timeout, signal).await }).await
    }

    async fn stop_entry(
        self: &Arc<Self>,
        entry: Arc<Entry>,
        timeout: Option<i64>,
        signal: Option<String>,
    ) -> Result<()> {
        let c = entry.get();
        let sig = parse_signal(signal.as_deref().unwrap_or(&c.stop_signal).trim())
            .or_else(|_| parse_signal("SIGTERM"))?;
        let seen = {
            let _op = entry.op.lock().await;
            let status = entry.status();
            match status {
                Status::Running | Status::Paused => {}
                Status::Restarting => {
                    let c = entry.modify(self, |r| {
                        r.gen += 1;
                        r.c.state.manually_stopped = true;
                        r.c.state.status = Status::Exited;
                        Ok(r.c.clone())
                    })?;
                    self.emit_container(&c, "stop", &[]);
                    return Ok(());
                }
                _ => {
                    return Err(EngineError::new(
                        Kind::NotModified,
                        "container already stopped",
                    ))
                }
            }
            entry.modify(self, |r| {
                r.gen += 1;
                r.exit_on_next = true;
                r.c.state.manually_stopped = true;
                Ok(())
            })?;
            entry.life.borrow().exits
        };
        let timeout = timeout.or(c.options.stop_timeout).unwrap_or(10);
        let limit = (timeout >= 0).then(|| Duration::from_secs(timeout as u64));
        let mut exited = false;
        if self.signal(&entry, sig, false).await.is_ok() {
            self.emit_container(&c, "kill", &[("signal", sig.to_string())]);
            exited = Self::wait_exit(&entry, seen, limit).await;
        }
        if !exited {
            let _ = self.signal(&entry, libc::SIGKILL, true).await;
            self.emit_container(&c, "kill", &[("signal", libc::SIGKILL.to_string())]);
            if !Self::wait_exit(&entry, seen, Some(KILL_GRACE)).await {
                return Err(EngineError::new(
                    Kind::System,
                    format!(
                        "tried to kill container, but did not receive an exit event: {}",
                        c.id
                    ),
                ));
            }
        }
        self.emit_container(&entry.get(), "stop", &[]);
        Ok(())
    }

    /// Sends a signal (default SIGKILL); 409 when not running.
    pub async fn kill(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let wrap = |e: EngineError| EngineError {
            message: format!("Cannot kill container: {name_or_id}: {}", e.message),
            ..e
        };
        let entry = self
            .inner
            .find(name_or_id)
            .map_err(|_| wrap(no_such_container(name_or_id)))?;
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        let c = entry.get();
        let stop_sig = parse_signal(&c.stop_signal).unwrap_or(libc::SIGTERM);
        let restarting = entry.modify(self, |r| match r.c.state.status {
            Status::Running | Status::Paused | Status::Restarting => {
                if sig == libc::SIGKILL || sig == stop_sig {
                    r.exit_on_next = true;
                    r.gen += 1;
                }
                r.c.state.manually_stopped = true;
                let restarting = r.c.state.status == Status::Restarting;
                if restarting && r.exit_on_next {
                    r.c.state.status = Status::Exited;
                }
                Ok(restarting)
            }
            _ => Err(not_running(&r.c.id)),
        });
        if restarting.map_err(wrap)? {
            return Ok(());
        }
        self.signal(&entry, sig, false).await.map_err(wrap)?;
        self.emit_container(&c, "kill", &[("signal", sig.to_string())]);
        Ok(())
    }

    /// stop + start.
    pub async fn restart(self: &Arc<Self>, name_or_id: &str, timeout: Option<i64>) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        let engine = self.clone();
        crate::start::detached(async move {
            match engine.stop(&entry.id, timeout, None).await {
                Ok(()) => {}
                Err(e) if e.kind == Kind::NotModified => {}
                Err(e) => return Err(e),
            }
            {
                let _op = entry.op.lock().await;
                match engine.start_locked(&entry, true).await {
                    Ok(()) => {}
                    Err(e) if e.kind == Kind::NotModified => {}
                    Err(e) => return Err(e),
                }
            }
            engine.emit_container(&entry.get(), "restart", &[]);
            Ok(())
        })
        .await
    }

    /// Freezes it.
    pub fn pause(&self, name_or_id: &str) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        match entry.status() {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::conflict(format!(
                    "Container {} is already paused",
                    entry.id
                )))
            }
            Status::Restarting => {
                return Err(EngineError::conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    entry.id
                )))
            }
            _ => return Err(not_running(&entry.id)),
        }
        self.runtime()
            .pause(&entry.id)
            .map_err(|e| EngineError::system(format!("Cannot pause container {}", entry.id), e))?;
        let c = entry.modify(self, |r| {
            if r.c.state.status == Status::Running {
                r.c.state.status = Status::Paused;
            }
            Ok(r.c.clone())
        })?;
        self.emit_container(&c, "pause", &[]);
        Ok(())
    }

    /// Thaws it.
    pub fn unpause(&self, name_or_id: &str) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        if entry.status() != Status::Paused {
            return Err(EngineError::conflict(format!(
                "Container {} is not paused",
                entry.id
            )));
        }
        self.runtime().resume(&entry.id).map_err(|e| {
            EngineError::system(format!("Cannot unpause container {}", entry.id), e)
        })?;
        let c = entry.modify(self, |r| {
            if r.c.state.status == Status::Paused {
                r.c.state.status = Status::Running;
            }
            Ok(r.c.clone())
        })?;
        self.emit_container(&c, "unpause", &[]);
        Ok(())
    }
}
