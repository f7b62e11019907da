//! Health checks, as Docker runs them: the container's `HEALTHCHECK`
//! (`CMD …` run as is, `CMD-SHELL …` through `/bin/sh -c`, `NONE` disables)
//! every `interval` (every `start_interval` during the `start_period`),
//! each probe limited to `timeout`. Exit 0 is healthy; `retries`
//! consecutive failures make the container unhealthy, except that failures
//! within the start period do not count. The last five probes are kept;
//! each change of status is a `health_status: <status>` event. Checking
//! stops when the container stops.

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
/// has no check or its check is `NONE`). The task ends when this run of the
/// container ends.
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
        run(cfg, runner, sink, state).await;
    });
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
/// the shell. `None` for `NONE` or an empty test.
pub fn command(test: &[String]) -> Option<Vec<String>> {
    match test.first().map(String::as_str) {
        Some("CMD") if test.len() > 1 => Some(test[1..].to_vec()),
        Some("CMD-SHELL") if test.len() > 1 => {
            Some(vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")])
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
/// every new health. Returns when `state` says the container stopped.
pub async fn run<P, F>(
    cfg: HealthConfig,
    mut probe: P,
    mut sink: impl FnMut(&Health, bool),
    mut state: watch::Receiver<State>,
) where
    P: FnMut(Vec<String>, Duration) -> F,
    F: Future<Output = Result<(i32, Vec<u8>), String>>,
{
    let Some(cmd) = command(&cfg.test) else {
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
    let started = tokio::time::Instant::now();
    // A restart is a new run, with checks of its own.
    let run_id = state.borrow().started_at.clone();
    let is_running = |s: &State| is_running(s) && s.started_at == run_id;
    let mut health = Health {
        status: "starting".into(),
        failing_streak: 0,
        log: Vec::new(),
    };
    sink(&health, false);
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
        assert_eq!(command(&v(&["CMD", "true", "x"])), Some(v(&["true", "x"])));
        assert_eq!(
            command(&v(&["CMD-SHELL", "exit 1"])),
            Some(v(&["/bin/sh", "-c", "exit 1"]))
        );
        assert_eq!(command(&v(&["NONE"])), None);
        assert_eq!(command(&[]), None);
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
