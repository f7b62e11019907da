//! Health checks, as Docker runs them: the container's `HEALTHCHECK`
//! (`CMD …` run as is, `CMD-SHELL …` through the container's `Shell`,
//! `/bin/sh -c` by default, `NONE` disables)
//! every `interval` (every `start_interval` during the `start_period`),
//! each probe limited to `timeout`. Exit 0 is healthy; `retries`
//! consecutive failures make the container unhealthy, except that failures
//! within the start period do not count. The last five probes are kept;
//! each change of status is a `health_status: <status>` event. Checking
//! stops when the container stops.
//!
//! After a live restore the checks go on from the health recorded before
//! the daemon went away (status, failing streak and log kept, the start
//! period counted from the container's start), as Docker 23 and 24 do;
//! dockerd 20.10 keeps the status and log too but never probes again
//! (moby#41871), and Docker 25+ starts over at `starting` (moby#47051).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::model::{Health, HealthConfig, HealthProbe, State, Status};
use crate::Engine;

/// Docker's defaults.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Probes kept in the log.
const MAX_LOG: usize = 5;
/// Output kept per probe.
const MAX_OUTPUT: usize = 4096;

/// Starts checking the health of container `id` (nothing happens when it
/// has no check or its check is `NONE`), from the health its state holds:
/// `starting` after a start, the last one after a live restore. The task
/// ends when this run of the container ends.
pub(crate) fn spawn(engine: Arc<Engine>, id: String) {
    let Ok(c) = engine.container(&id) else {
        return;
    };
    let Some(cfg) = c.healthcheck.clone().filter(enabled) else {
        return;
    };
    let Ok(state) = engine.watch_state(&id) else {
        return;
    };
    let resume = Resume {
        health: c.state.health.clone(),
        elapsed: since(&c.state.started_at),
    };
    let shell = c.options.shell.clone();
    tokio::spawn(async move {
        let runner = {
            let (engine, id) = (engine.clone(), id.clone());
            move |cmd: Vec<String>, timeout: Duration| {
                let (engine, id) = (engine.clone(), id.clone());
                async move {
                    engine
                        .exec_capture(&id, cmd, timeout)
                        .await
                        .map_err(|e| e.full_message())
                }
            }
        };
        let sink = |h: &Health, changed: bool| {
            let Some(c) = engine.set_health(&id, h) else {
                return;
            };
            if changed {
                engine.emit_container(&c, &format!("health_status: {}", h.status), &[]);
            }
        };
        run(cfg, &shell, resume, runner, sink, state).await;
    });
}

/// How long ago an RFC 3339 time was (zero when it cannot be read).
fn since(rfc3339: &str) -> Duration {
    let Ok(t) =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
    else {
        return Duration::ZERO;
    };
    (time::OffsetDateTime::now_utc() - t)
        .try_into()
        .unwrap_or(Duration::ZERO)
}

/// Where a check loop starts.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// The health recorded before (a live restore); `None` or a fresh
    /// `starting` health start from scratch.
    pub health: Option<Health>,
    /// How long the container has run already (the start period counts
    /// from its start).
    pub elapsed: Duration,
}

impl Engine {
    /// Records `health` in the state of container `id` while it runs;
    /// the container as it is then, or `None` when it no longer runs.
    pub(crate) fn set_health(&self, id: &str, health: &Health) -> Option<crate::model::Container> {
        let entry = self.entry(id).ok()?;
        entry
            .modify(self, |r| {
                if !is_running(&r.c.state) {
                    return Ok(None);
                }
                r.c.state.health = Some(health.clone());
                Ok(Some(r.c.clone()))
            })
            .ok()
            .flatten()
    }
}

/// Whether `cfg` asks for checks at all.
fn enabled(cfg: &HealthConfig) -> bool {
    cfg.test.first().is_some_and(|t| t != "NONE")
}

/// The command of a check: `CMD` arguments as they are, `CMD-SHELL` through
/// the container's `Shell` (moby's `getShell`: `/bin/sh -c` when `shell` is
/// empty). `None` for `NONE` or an empty test.
pub fn command_in(test: &[String], shell: &[String]) -> Option<Vec<String>> {
    match test.first().map(String::as_str) {
        Some("CMD") if test.len() > 1 => Some(test[1..].to_vec()),
        Some("CMD-SHELL") if test.len() > 1 => {
            let mut cmd = if shell.is_empty() {
                vec!["/bin/sh".to_string(), "-c".to_string()]
            } else {
                shell.to_vec()
            };
            cmd.push(test[1..].join(" "));
            Some(cmd)
        }
        _ => None,
    }
}

fn dur(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

fn is_running(s: &State) -> bool {
    matches!(s.status, Status::Running | Status::Paused)
}

/// The check loop. `probe(cmd, timeout)` runs one check (exit code and
/// output, or why it could not run); `sink(health, status_changed)` hears
/// every new health. `CMD-SHELL` checks run through `shell` (see
/// [`command_in`]); the loop goes on from `resume`. Returns when `state`
/// says the container stopped.
pub async fn run<P, F>(
    cfg: HealthConfig,
    shell: &[String],
    resume: Resume,
    mut probe: P,
    mut sink: impl FnMut(&Health, bool),
    mut state: watch::Receiver<State>,
) where
    P: FnMut(Vec<String>, Duration) -> F,
    F: Future<Output = Result<(i32, Vec<u8>), String>>,
{
    let Some(cmd) = command_in(&cfg.test, shell) else {
        return;
    };
    let interval = dur(cfg.interval, DEFAULT_INTERVAL);
    let timeout = dur(cfg.timeout, DEFAULT_TIMEOUT);
    let start_interval = dur(cfg.start_interval, DEFAULT_START_INTERVAL);
    let start_period = dur(cfg.start_period, Duration::ZERO);
    let retries = if cfg.retries > 0 {
        cfg.retries
    } else {
        DEFAULT_RETRIES
    };
    let now = tokio::time::Instant::now();
    let started = now.checked_sub(resume.elapsed).unwrap_or(now);
    // A restart is a new run, with checks of its own.
    let run_id = state.borrow().started_at.clone();
    let is_running = |s: &State| is_running(s) && s.started_at == run_id;
    let mut health = match resume.health {
        Some(h) if !h.status.is_empty() => h,
        _ => {
            let fresh = Health {
                status: "starting".into(),
                failing_streak: 0,
                log: Vec::new(),
            };
            sink(&fresh, false);
            fresh
        }
    };
    loop {
        let in_start = started.elapsed() < start_period;
        let wait = if in_start { start_interval } else { interval };
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            if !is_running(&state.borrow_and_update()) {
                return;
            }
            tokio::select! {
                _ = &mut sleep => break,
                changed = state.changed() => if changed.is_err() { return },
            }
        }
        let start = now_rfc3339();
        let (exit_code, output) = match tokio::time::timeout(timeout, probe(cmd.clone(), timeout))
            .await
        {
            Ok(Ok((code, out))) => (i64::from(code), String::from_utf8_lossy(&out).into_owned()),
            Ok(Err(why)) => (-1, why),
            Err(_) => (
                -1,
                format!("Health check exceeded timeout ({})", go_duration(timeout)),
            ),
        };
        if !is_running(&state.borrow()) {
            return;
        }
        let end = now_rfc3339();
        let old = health.status.clone();
        let in_start = started.elapsed() < start_period;
        if exit_code == 0 {
            health.failing_streak = 0;
            health.status = "healthy".into();
        } else if !(in_start && health.status == "starting") {
            health.failing_streak += 1;
            if health.failing_streak >= retries {
                health.status = "unhealthy".into();
            }
        }
        health.log.push(HealthProbe {
            start,
            end,
            exit_code,
            output: truncate(output),
        });
        if health.log.len() > MAX_LOG {
            health.log.remove(0);
        }
        sink(&health, health.status != old);
    }
}

/// Now as Go writes a time in JSON (RFC 3339, nanoseconds trimmed).
fn now_rfc3339() -> String {
    let n = crate::events::now_nano();
    crate::fsops::rfc3339(n.div_euclid(1_000_000_000), n.rem_euclid(1_000_000_000))
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Go's `time.Duration` string for whole milliseconds and up (`30s`,
/// `1m30s`, `500ms`, `1h0m0s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64() % 60.0;
    let mins = d.as_secs() / 60 % 60;
    let hours = d.as_secs() / 3600;
    let s = format!("{secs}s");
    match (hours, mins) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_in(&v(&["CMD", "true", "x"]), &[]),
            Some(v(&["true", "x"]))
        );
        assert_eq!(
            command_in(&v(&["CMD-SHELL", "exit 1"]), &[]),
            Some(v(&["/bin/sh", "-c", "exit 1"]))
        );
        assert_eq!(command_in(&v(&["NONE"]), &[]), None);
        assert_eq!(
            command_in(
                &v(&["CMD-SHELL", "exit", "1"]),
                &v(&["/bin/bash", "-eu", "-c"])
            ),
            Some(v(&["/bin/bash", "-eu", "-c", "exit 1"]))
        );
        assert_eq!(
            command_in(&v(&["CMD", "true"]), &v(&["/bin/bash", "-c"])),
            Some(v(&["true"]))
        );
        assert_eq!(command_in(&[], &[]), None);
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
