//! Logs, stats, top, cp, changes, export and health through a real engine
//! with busybox containers.

mod support;

use std::time::Duration;

use support::{event, opts, Roots};
use wharf_engine::{HealthConfig, Kind, LogsOptions, Status};
use wharf_testkit::images::{layer_tar, tar_files, Entry};

#[tokio::test(flavor = "multi_thread")]
async fn io_on_a_created_container() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let bind = roots.dir.join("bind");
    std::fs::create_dir(&bind).unwrap();
    let mut o = opts(None, &["true"]);
    o.name = Some("hio-created".into());
    o.host.binds = vec![format!("{}:/data", bind.display())];
    let id = engine.create(o).await.unwrap().id;
    let merged = engine.store().snapshot(&id).unwrap().merged;

    let tar = layer_tar(&[Entry::dir("d"), Entry::file("d/a", b"hi")]);
    engine
        .archive_put("hio-created", "/tmp", &tar[..], false, false)
        .unwrap();
    assert!(
        !wharf_image::snapshot::is_mounted(&merged),
        "cp unmounts what it mounted"
    );
    engine
        .archive_put(&id, "/data", &tar[..], false, false)
        .unwrap();
    assert_eq!(std::fs::read(bind.join("d/a")).unwrap(), b"hi");
    let mut out = Vec::new();
    let stat = engine.archive_get(&id, "/tmp/d", &mut out).unwrap();
    assert_eq!(stat.name, "d");
    assert_eq!(tar_files(&out)["d/a"], b"hi");
    let e = engine.archive_stat("hio-created", "/nope").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert_eq!(
        e.message,
        "Could not find the file /nope in container hio-created"
    );
    assert!(!wharf_image::snapshot::is_mounted(&merged));

    let changes: Vec<(u8, String)> = engine
        .changes(&id)
        .unwrap()
        .into_iter()
        .map(|c| (c.kind, c.path))
        .collect();
    assert!(
        changes.contains(&(1, "/tmp/d/a".to_string())),
        "{changes:?}"
    );
    assert!(changes.contains(&(0, "/tmp".to_string())), "{changes:?}");
    let mut out = Vec::new();
    engine.export(&id, &mut out).unwrap();
    let files = tar_files(&out);
    assert_eq!(files["tmp/d/a"], b"hi");
    assert!(files.contains_key("bin/busybox"));

    let e = engine.top(&id, None).unwrap_err();
    assert_eq!(
        (e.kind, e.message.clone()),
        (Kind::Conflict, format!("Container {id} is not running"))
    );
    assert_eq!(engine.stats(&id).unwrap(), Default::default());
    let mut rx = engine
        .logs(
            &id,
            LogsOptions {
                stdout: true,
                stderr: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(rx.recv().await.is_none());

    let mut o = opts(None, &["true"]);
    o.host.log_config.driver = "none".into();
    let quiet = engine.create(o).await.unwrap().id;
    let e = engine
        .logs(&quiet, LogsOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "configured logging driver does not support reading"
    );
    engine.remove(&id, true, true).await.unwrap();
    engine.remove(&quiet, true, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn io_on_a_running_container() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let mut o = opts(
        None,
        &["sh", "-c", "echo hello; echo oops >&2; exec sleep 100"],
    );
    o.healthcheck = Some(HealthConfig {
        test: vec!["CMD-SHELL".into(), "test -e /tmp/ok".into()],
        interval: 100_000_000,
        timeout: 10_000_000_000,
        retries: 1,
        ..Default::default()
    });
    let id = engine.create(o).await.unwrap().id;
    let (_, mut events) = engine.events().subscribe();
    engine.start(&id).await.unwrap();
    assert_eq!(engine.container(&id).unwrap().state.status, Status::Running);

    let mut follow = engine
        .logs(
            &id,
            LogsOptions {
                stdout: true,
                stderr: true,
                follow: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut lines = Vec::new();
    for _ in 0..2 {
        let e = tokio::time::timeout(Duration::from_secs(60), follow.recv())
            .await
            .expect("log lines")
            .expect("an entry")
            .unwrap();
        lines.push((e.stream, String::from_utf8(e.line).unwrap()));
    }
    lines.sort();
    assert_eq!(
        lines,
        [(1, "hello\n".to_string()), (2, "oops\n".to_string())]
    );

    // Unhealthy until the file exists; `cp` into the running container
    // makes it healthy.
    event(&mut events, &id, "health_status: unhealthy").await;
    // A probe ran, so the shell has long exec'd its sleep.
    let (titles, rows) = engine.top(&id, None).unwrap();
    let cmd = titles.iter().position(|t| t == "CMD").unwrap();
    assert!(rows.iter().any(|r| r[cmd] == "sleep 100"), "{rows:?}");
    let pid = engine.container(&id).unwrap().state.pid;
    let (_, rows) = engine.top(&id, Some("-o pid,comm")).unwrap();
    // (Health probes may be running beside it.)
    assert!(
        rows.contains(&vec![pid.to_string(), "sleep".to_string()]),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.len() == 2));

    let s = engine.stats(&id).unwrap();
    assert!(s.pids.current >= 1, "{s:?}");
    assert!(s.memory.usage > 0);
    assert!(s.cpu.total_usage > 0);

    let tar = layer_tar(&[Entry::file("ok", b"")]);
    engine
        .archive_put(&id, "/tmp", &tar[..], false, false)
        .unwrap();
    event(&mut events, &id, "health_status: healthy").await;
    let health = engine.container(&id).unwrap().state.health.unwrap();
    assert_eq!(health.status, "healthy");
    assert_eq!(health.failing_streak, 0);
    assert!(!health.log.is_empty() && health.log.len() <= 5);
    assert!(engine
        .changes(&id)
        .unwrap()
        .iter()
        .any(|c| c.path == "/tmp/ok" && c.kind == 1));

    // Following ends when the container stops.
    engine.stop(&id, Some(1), None).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(60), follow.recv())
        .await
        .expect("follow ends");
    assert!(end.is_none(), "{end:?}");
    assert_eq!(engine.stats(&id).unwrap(), Default::default());
    engine.remove(&id, true, true).await.unwrap();
}
