//! Freezing and thawing every process of a cgroup: v1 `freezer.state`, v2
//! `cgroup.freeze` with the outcome in `cgroup.events` (`frozen 1`).
//!
//! Both are asynchronous in the kernel: the write starts the transition and
//! the state file says when every task has stopped. A v1 freeze can stay in
//! `FREEZING` while a task sleeps uninterruptibly, so the write is repeated
//! while waiting (as runc does) and the cgroup is thawed again on giving up.

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use crate::cgroup::{Cgroup, Ctl, Place};
use crate::error::{CgroupError, Result};
use crate::files::{read_keyed, read_value, write};

/// The state of a cgroup's freezer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreezerState {
    /// Processes run.
    Thawed,
    /// A freeze was requested and has not completed.
    Freezing,
    /// Every process is stopped.
    Frozen,
}

/// How many times the state is polled, with the pause between polls.
const POLLS: u32 = 2000;
const PAUSE: Duration = Duration::from_millis(1);

impl Cgroup {
    /// Stops every process of the cgroup and waits until the kernel reports
    /// the cgroup frozen.
    pub fn freeze(&self) -> Result<()> {
        match self.need(Ctl::Freezer, "freezer")? {
            Place::V1(d) => {
                for i in 0..POLLS {
                    if i % 100 == 0 {
                        write(d, "freezer.state", "FROZEN")?;
                    }
                    if read_value(d, "freezer.state")?.as_deref() == Some("FROZEN") {
                        return Ok(());
                    }
                    sleep(PAUSE);
                }
                write(d, "freezer.state", "THAWED")?;
                Err(CgroupError::Freeze {
                    path: d.into(),
                    state: "FROZEN",
                })
            }
            Place::V2(d) => {
                write(d, "cgroup.freeze", "1")?;
                wait_v2(d, 1, "frozen")
            }
        }
    }

    /// Lets the processes of the cgroup run again.
    pub fn thaw(&self) -> Result<()> {
        match self.need(Ctl::Freezer, "freezer")? {
            Place::V1(d) => {
                write(d, "freezer.state", "THAWED")?;
                for _ in 0..POLLS {
                    if read_value(d, "freezer.state")?.as_deref() == Some("THAWED") {
                        return Ok(());
                    }
                    sleep(PAUSE);
                }
                Err(CgroupError::Freeze {
                    path: d.into(),
                    state: "THAWED",
                })
            }
            Place::V2(d) => {
                write(d, "cgroup.freeze", "0")?;
                wait_v2(d, 0, "thawed")
            }
        }
    }

    /// The current freezer state.
    pub fn freezer_state(&self) -> Result<FreezerState> {
        match self.need(Ctl::Freezer, "freezer")? {
            Place::V1(d) => Ok(match read_value(d, "freezer.state")?.as_deref() {
                Some("FROZEN") => FreezerState::Frozen,
                Some("FREEZING") => FreezerState::Freezing,
                _ => FreezerState::Thawed,
            }),
            Place::V2(d) => {
                let wanted = read_value(d, "cgroup.freeze")?.as_deref() == Some("1");
                let frozen = read_keyed(d, "cgroup.events", "frozen")? == Some(1);
                Ok(match (wanted, frozen) {
                    (_, true) => FreezerState::Frozen,
                    (true, false) => FreezerState::Freezing,
                    (false, false) => FreezerState::Thawed,
                })
            }
        }
    }
}

fn wait_v2(d: &Path, want: u64, state: &'static str) -> Result<()> {
    for _ in 0..POLLS {
        if read_keyed(d, "cgroup.events", "frozen")?.unwrap_or(0) == want {
            return Ok(());
        }
        sleep(PAUSE);
    }
    Err(CgroupError::Freeze {
        path: d.into(),
        state,
    })
}
