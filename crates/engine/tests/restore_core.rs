//! Live restore and crash safety: a daemon that goes away (its runtime
//! dropped mid-flight, as a kill -9 would) leaves its containers running;
//! the next open finds them, records the exits it missed, applies restart
//! policies, and finishes creates and removals a crash cut short. And 50
//! containers created and started at once all run. Root only.

mod support;

use std::sync::Arc;

use support::{names, opts, status, until, Roots};
use wharf_engine::{Engine, Kind, RestartPolicy, Status, WaitCondition};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on an engine of its own runtime, then drops the runtime with
/// every task of the engine (its monitors) as a killed daemon would.
fn daemon<T>(roots: &Roots, f: impl AsyncFnOnce(Arc<Engine>) -> T) -> T {
    let rt = runtime();
    let out = rt.block_on(async {
        let engine = roots.open().await;
        f(engine).await
    });
    rt.shutdown_background();
    out
}

#[test]
fn running_containers_survive_the_daemon() {
    let roots = Roots::new();
    let (id, pid) = daemon(&roots, async |engine| {
        let c = engine
            .create(opts(Some("survivor"), &["sleep", "1000"]))
            .await
            .unwrap();
        engine.start(&c.id).await.unwrap();
        let mut o = opts(Some("dies"), &["sleep", "1000"]);
        o.host.restart = RestartPolicy {
            name: "on-failure".into(),
            maximum_retry_count: 0,
        };
        engine.create(o).await.unwrap();
        engine.start("dies").await.unwrap();
        let mut o = opts(Some("boot"), &["sleep", "1000"]);
        o.host.restart.name = "always".into();
        engine.create(o).await.unwrap();
        engine.start("boot").await.unwrap();
        // Its exit is recorded, with the always policy not undone by a stop.
        engine.stop("boot", Some(0), None).await.unwrap();
        (c.id, engine.container("survivor").unwrap().state.pid)
    });
    daemon(&roots, async |engine| {
        let c = engine.container(&id).unwrap();
        assert_eq!(c.state.status, Status::Running);
        assert_eq!(c.state.pid, pid);
        assert!(
            rustix::process::test_kill_process(rustix::process::Pid::from_raw(pid).unwrap())
                .is_ok()
        );
        // Re-attached: the exit of a stop is seen.
        engine.stop(&id, Some(0), None).await.unwrap();
        assert_eq!(status(&engine, &id), Status::Exited);
        assert_eq!(engine.container(&id).unwrap().state.exit_code, 137);
        // `always` is started again by a new daemon even after a stop.
        until(&engine, "boot", |c| c.state.status == Status::Running).await;
    });
    // Kill `dies` behind the daemon's back, then open: the exit is read
    // from the shim's exit file and on-failure restarts it.
    let pid = daemon(&roots, async |engine| {
        engine.container("dies").unwrap().state.pid
    });
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    daemon(&roots, async |engine| {
        until(&engine, "dies", |c| {
            c.restart_count == 1 && c.state.status == Status::Running
        })
        .await;
        engine.remove("dies", true, false).await.unwrap();
        engine.remove("boot", true, false).await.unwrap();
    });
}

#[test]
fn crash_in_create_or_remove_is_finished_on_open() {
    let roots = Roots::new();
    let (half_created, half_removed) = daemon(&roots, async |engine| {
        let a = engine
            .create(opts(Some("half-created"), &["true"]))
            .await
            .unwrap();
        let b = engine
            .create(opts(Some("half-removed"), &["true"]))
            .await
            .unwrap();
        engine.create(opts(Some("whole"), &["true"])).await.unwrap();
        (a.id, b.id)
    });
    // A crash between the row and the parts, and one in the middle of a removal.
    let db = rusqlite::Connection::open(roots.config.data_root.join("wharf.db")).unwrap();
    db.execute(
        "UPDATE containers SET phase = 0 WHERE id = ?1",
        [&half_created],
    )
    .unwrap();
    db.execute(
        "UPDATE containers SET phase = 2 WHERE id = ?1",
        [&half_removed],
    )
    .unwrap();
    drop(db);
    let containers = roots.config.data_root.join("containers");
    daemon(&roots, async |engine| {
        assert_eq!(names(&engine), ["whole"]);
        for id in [&half_created, &half_removed] {
            assert_eq!(engine.container(id).unwrap_err().kind, Kind::NotFound);
            assert!(
                engine.store().snapshot(id).is_err(),
                "snapshot of {id} left"
            );
            assert!(!containers.join(id).exists(), "directory of {id} left");
        }
        // The names are free again.
        engine
            .create(opts(Some("half-created"), &["true"]))
            .await
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_and_starts() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let c = engine
                .create(opts(Some(&format!("many{i}")), &["sleep", "1000"]))
                .await?;
            engine.start(&c.id).await?;
            Ok::<_, wharf_engine::EngineError>(c.id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    assert_eq!(engine.containers(false).unwrap().len(), 50);
    let mut waits = Vec::new();
    for id in &ids {
        waits.push(engine.wait(id, WaitCondition::Removed).await.unwrap());
    }
    let mut tasks = Vec::new();
    for id in ids {
        let engine = engine.clone();
        tasks.push(tokio::spawn(
            async move { engine.remove(&id, true, true).await },
        ));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for w in waits {
        assert_eq!(w.result().await.unwrap().exit_code, 137);
    }
    assert!(engine.containers(true).unwrap().is_empty());
}
