//! wait, attach and resize.
//!
//! An attach to a container that is not running waits for its next start
//! (`docker start -a` attaches before it starts): the start connects it to
//! the new shim before the process runs, so no output is lost. Whether to
//! wait or to connect at once is decided under the record lock that start
//! takes when it publishes its shim, so an attach never falls in between.

use tokio::sync::oneshot;

use crate::error::{EngineError, Result};
use crate::lifecycle::{is_running, not_running, AttachOptions, Attached, Waiter};
use crate::model::{ExitInfo, WaitCondition};
use crate::registry::{no_such_container, PendingAttach};
use crate::shim_client::ShimClient;
use crate::Engine;

impl Engine {
    /// Registers a wait for `condition`.
    pub async fn wait(&self, name_or_id: &str, condition: WaitCondition) -> Result<Waiter> {
        let entry = self.entry(name_or_id)?;
        // The record lock orders this against the monitor's recording.
        let (running, exit_code, oom) = {
            let r = entry.rec();
            (
                is_running(r.c.state.status) || r.shim_live,
                r.c.state.exit_code,
                r.c.state.oom_killed,
            )
        };
        let rx = entry.life.subscribe();
        let seen = rx.borrow().exits;
        let ready = (condition == WaitCondition::NotRunning && !running).then(|| ExitInfo {
            exit_code,
            oom_killed: oom,
            finished_at: String::new(),
        });
        Ok(Waiter {
            rx,
            condition,
            seen,
            ready,
        })
    }

    /// Attaches to its stdio; for a container not yet started, waits for
    /// the start (and is connected before its process runs).
    pub async fn attach(&self, name_or_id: &str, opts: AttachOptions) -> Result<Attached> {
        let entry = self.entry(name_or_id)?;
        let (tty, c, wait) = {
            let mut r = entry.rec();
            let wait = if r.shim_live {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                r.pending.push(PendingAttach {
                    stdin: opts.stdin,
                    stdout: opts.stdout,
                    stderr: opts.stderr,
                    reply: tx,
                });
                Some(rx)
            };
            (r.c.options.tty, r.c.clone(), wait)
        };
        let stream = match wait {
            None => {
                let client = ShimClient::new(self.shim_dir(&entry.id));
                client
                    .attach(None, opts.stdin, opts.stdout, opts.stderr)
                    .await?
            }
            Some(rx) => {
                self.emit_container(&c, "attach", &[]);
                return match rx.await {
                    Ok(s) => Ok(Attached { stream: s?, tty }),
                    Err(_) => Err(no_such_container(name_or_id)),
                };
            }
        };
        self.emit_container(&c, "attach", &[]);
        Ok(Attached { stream, tty })
    }

    /// Resizes its pty.
    pub async fn resize(&self, name_or_id: &str, height: u16, width: u16) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        if !entry.rec().shim_live {
            return Err(not_running(&entry.id));
        }
        ShimClient::new(self.shim_dir(&entry.id))
            .resize(None, height, width)
            .await
            .map_err(|e| EngineError {
                message: format!("Cannot resize container {}: {}", entry.id, e.message),
                ..e
            })
    }
}
