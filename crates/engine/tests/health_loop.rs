//! The health check loop's state machine with a scripted probe: short
//! intervals, and results that do not depend on how long anything takes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use wharf_engine::health::{run, Resume};
use wharf_engine::{Health, HealthConfig, State, Status};

fn cfg(retries: i64, start_period_s: u64) -> HealthConfig {
    HealthConfig {
        test: vec!["CMD-SHELL".into(), "probe".into()],
        interval: 1_000_000,
        timeout: 20_000_000,
        retries,
        start_period: (start_period_s * 1_000_000_000) as i64,
        start_interval: 1_000_000,
    }
}

fn running() -> State {
    State {
        status: Status::Running,
        ..State::default()
    }
}

/// Runs the loop with probes answering `results` in turn (then stopping
/// the container); returns every health the sink heard with its flag.
async fn drive(
    cfg: HealthConfig,
    results: Vec<Result<(i32, Vec<u8>), String>>,
    hang_at: Option<usize>,
) -> Vec<(Health, bool)> {
    let (tx, rx) = watch::channel(running());
    let tx = Arc::new(tx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(0usize));
    let probe = {
        let (tx, calls) = (tx.clone(), calls.clone());
        let results = results.clone();
        move |cmd: Vec<String>, _timeout: Duration| {
            assert_eq!(cmd, ["/bin/sh", "-c", "probe"]);
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c - 1
            };
            let r = results.get(n).cloned();
            if r.is_none() {
                tx.send_replace(State {
                    status: Status::Exited,
                    ..State::default()
                });
            }
            async move {
                if Some(n) == hang_at {
                    std::future::pending::<()>().await;
                }
                r.unwrap_or(Ok((0, Vec::new())))
            }
        }
    };
    let sink = {
        let seen = seen.clone();
        move |h: &Health, changed: bool| seen.lock().unwrap().push((h.clone(), changed))
    };
    run(cfg, &[], Resume::default(), probe, sink, rx).await;
    let out = seen.lock().unwrap().clone();
    out
}

#[tokio::test]
async fn health_goes_unhealthy_after_retries_and_back() {
    let fail = || Err::<(i32, Vec<u8>), String>("boom".into());
    let seen = drive(
        cfg(2, 0),
        vec![
            Ok((0, b"ok\n".to_vec())),
            Ok((1, b"bad".to_vec())),
            fail(),
            Ok((0, Vec::new())),
        ],
        None,
    )
    .await;
    let statuses: Vec<(&str, i64, bool)> = seen
        .iter()
        .map(|(h, c)| (h.status.as_str(), h.failing_streak, *c))
        .collect();
    assert_eq!(
        statuses,
        [
            ("starting", 0, false),
            ("healthy", 0, true),
            ("healthy", 1, false),
            ("unhealthy", 2, true),
            ("healthy", 0, true),
        ]
    );
    let last = &seen.last().unwrap().0;
    assert_eq!(last.log.len(), 4);
    assert_eq!(last.log[0].output, "ok\n");
    assert_eq!(last.log[2].exit_code, -1);
    assert_eq!(last.log[2].output, "boom");
}

#[tokio::test]
async fn health_failures_in_start_period_do_not_count() {
    // start_period 100 s, start_interval 1 ms: the first failures are free.
    let seen = drive(
        cfg(1, 100),
        vec![
            Ok((1, Vec::new())),
            Ok((1, Vec::new())),
            Ok((0, Vec::new())),
        ],
        None,
    )
    .await;
    let statuses: Vec<(&str, i64)> = seen
        .iter()
        .map(|(h, _)| (h.status.as_str(), h.failing_streak))
        .collect();
    assert_eq!(
        statuses,
        [
            ("starting", 0),
            ("starting", 0),
            ("starting", 0),
            ("healthy", 0)
        ]
    );
}

#[tokio::test]
async fn health_probe_timeout_and_log_bound() {
    let mut results = vec![Ok((0, Vec::new())); 7];
    results[1] = Ok((0, Vec::new()));
    let seen = drive(cfg(3, 0), results, Some(0)).await;
    let first = &seen[1].0;
    assert_eq!(first.log[0].exit_code, -1);
    assert_eq!(first.log[0].output, "Health check exceeded timeout (20ms)");
    assert_eq!(first.failing_streak, 1);
    assert_eq!(seen.last().unwrap().0.log.len(), 5);
}

#[tokio::test]
async fn health_none_runs_nothing() {
    let (_tx, rx) = watch::channel(running());
    let mut called = false;
    let cfg = HealthConfig {
        test: vec!["NONE".into()],
        ..HealthConfig::default()
    };
    run(
        cfg,
        &[],
        Resume::default(),
        |_, _| {
            called = true;
            async { Ok((0, Vec::new())) }
        },
        |_, _| panic!("no health"),
        rx,
    )
    .await;
    assert!(!called);
}
