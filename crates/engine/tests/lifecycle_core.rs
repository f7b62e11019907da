//! The container lifecycle on the real kernel: create, start, wait,
//! stop, kill, pause, restart policies, remove, rename, update, and the
//! errors Docker answers with. Root only; each test has its own roots.

mod support;

use support::{names, opts, status, until, Roots};
use tokio::io::AsyncReadExt;
use wharf_engine::lifecycle::AttachOptions;
use wharf_engine::{Kind, RestartPolicy, Status, WaitCondition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_to_exit_code_with_events() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let (history, _) = engine.events().subscribe();
    let before = history.len();
    let c = engine
        .create(opts(Some("exit3"), &["sh", "-c", "exit 3"]))
        .await
        .unwrap();
    assert_eq!(status(&engine, &c.id), Status::Created);
    let waiter = engine.wait(&c.id, WaitCondition::NextExit).await.unwrap();
    engine.start(&c.id).await.unwrap();
    assert_eq!(waiter.result().await.unwrap().exit_code, 3);
    until(&engine, "exit3", |c| c.state.status == Status::Exited).await;
    let got = engine.container("exit3").unwrap();
    assert_eq!(got.state.exit_code, 3);
    assert_eq!(got.state.pid, 0);
    assert_ne!(got.state.finished_at, "0001-01-01T00:00:00Z");
    let (history, _) = engine.events().subscribe();
    let actions: Vec<_> = history[before..]
        .iter()
        .filter(|e| e.id == c.id)
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(actions, ["create", "start", "die"]);
    let die = history.iter().find(|e| e.action == "die").unwrap();
    assert_eq!(die.attributes["exitCode"], "3");
    assert_eq!(die.attributes["name"], "exit3");
    assert_eq!(die.attributes["image"], "busybox:latest");
    // Not running: wait returns at once with the last exit code.
    let w = engine
        .wait("exit3", WaitCondition::NotRunning)
        .await
        .unwrap();
    assert_eq!(w.result().await.unwrap().exit_code, 3);
    engine.remove("exit3", false, false).await.unwrap();
    let e = engine.container("exit3").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert_eq!(e.message, "No such container: exit3");
    // The files went before the removal answered, the snapshot with them.
    assert!(engine.store().snapshot(&c.id).is_err(), "snapshot left");
    // The name is free at once.
    engine.create(opts(Some("exit3"), &["true"])).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_errors_for_names_images_and_states() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let mut bad = opts(Some("a b"), &["true"]);
    let e = engine.create(bad.clone()).await.unwrap_err();
    assert_eq!(e.kind, Kind::InvalidArgument);
    assert_eq!(
        e.message,
        "Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    bad.name = Some("ok".into());
    bad.image = "nosuch".into();
    let e = engine.create(bad).await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (Kind::NotFound, "No such image: nosuch:latest")
    );
    let first = engine.create(opts(Some("/dup"), &["true"])).await.unwrap();
    let e = engine
        .create(opts(Some("dup"), &["true"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::Conflict);
    assert_eq!(
        e.message,
        format!("Conflict. The container name \"/dup\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.", first.id)
    );
    // A prefix of the id finds it; a generated name is valid.
    assert_eq!(engine.find_id(&first.id[..8]).unwrap(), first.id);
    let anon = engine.create(opts(None, &["true"])).await.unwrap();
    let name = engine.container(&anon.id).unwrap().name;
    assert!(wharf_engine::names::validate(&name).is_ok(), "{name}");
    // Not running: kill 409, stop 304, pause 409.
    let e = engine.kill("dup", None).await.unwrap_err();
    assert_eq!(e.kind, Kind::Conflict);
    assert_eq!(
        e.message,
        format!(
            "Cannot kill container: dup: Container {} is not running",
            first.id
        )
    );
    assert_eq!(
        engine.stop("dup", None, None).await.unwrap_err().kind,
        Kind::NotModified
    );
    assert_eq!(engine.pause("dup").unwrap_err().kind, Kind::Conflict);
    let e = engine.kill("dup", Some("NOPE")).await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (Kind::InvalidArgument, "Invalid signal: NOPE")
    );
    // Rename: same name 400, taken 409, then done.
    assert_eq!(
        engine.rename("dup", "dup").unwrap_err().kind,
        Kind::InvalidArgument
    );
    assert_eq!(
        engine.rename("dup", &name).unwrap_err().kind,
        Kind::Conflict
    );
    engine.rename("dup", "renamed").unwrap();
    assert_eq!(engine.find_id("renamed").unwrap(), first.id);
    assert_eq!(engine.container("dup").unwrap_err().kind, Kind::NotFound);
    engine.create(opts(Some("dup"), &["true"])).await.unwrap();
    // Newest first.
    assert_eq!(names(&engine), ["dup", name.as_str(), "renamed"]);
    assert!(engine.containers(false).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kill_pause_and_force_remove() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let c = engine
        .create(opts(Some("sleeper"), &["sleep", "1000"]))
        .await
        .unwrap();
    engine.start("sleeper").await.unwrap();
    assert_eq!(
        engine.start("sleeper").await.unwrap_err().kind,
        Kind::NotModified
    );
    let running = engine.container("sleeper").unwrap();
    assert_eq!(running.state.status, Status::Running);
    assert!(running.state.pid > 0);
    engine.pause("sleeper").unwrap();
    assert_eq!(status(&engine, "sleeper"), Status::Paused);
    engine.unpause("sleeper").unwrap();
    assert_eq!(status(&engine, "sleeper"), Status::Running);
    let e = engine.remove("sleeper", false, false).await.unwrap_err();
    assert_eq!(e.kind, Kind::Conflict);
    assert!(e
        .message
        .contains("Stop the container before attempting removal or force remove"));
    // sleep as pid 1 ignores SIGTERM: stop ends with SIGKILL.
    engine.stop("sleeper", Some(1), None).await.unwrap();
    let stopped = engine.container("sleeper").unwrap();
    assert_eq!(stopped.state.status, Status::Exited);
    assert_eq!(stopped.state.exit_code, 137);
    assert!(stopped.state.manually_stopped);
    engine.start("sleeper").await.unwrap();
    engine.kill("sleeper", Some("SIGKILL")).await.unwrap();
    until(&engine, "sleeper", |c| c.state.status == Status::Exited).await;
    engine.restart("sleeper", Some(0)).await.unwrap();
    assert_eq!(status(&engine, "sleeper"), Status::Running);
    // A frozen process dies of SIGKILL only once thawed: kill thaws it.
    engine.pause("sleeper").unwrap();
    engine.kill("sleeper", None).await.unwrap();
    until(&engine, "sleeper", |c| c.state.status == Status::Exited).await;
    engine.start("sleeper").await.unwrap();
    engine.remove("sleeper", true, true).await.unwrap();
    assert!(engine.container(&c.id).is_err());
    let dir = roots.config.data_root.join("containers").join(&c.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while dir.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{dir:?} never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_policies_and_auto_remove() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let mut o = opts(Some("flaky"), &["sh", "-c", "exit 1"]);
    o.host.restart = RestartPolicy {
        name: "on-failure".into(),
        maximum_retry_count: 2,
    };
    engine.create(o).await.unwrap();
    engine.start("flaky").await.unwrap();
    until(&engine, "flaky", |c| {
        c.state.status == Status::Exited && c.restart_count == 2
    })
    .await;
    // `always` comes back until stopped; the stop sticks.
    let mut o = opts(Some("always"), &["sh", "-c", "exit 0"]);
    o.host.restart.name = "always".into();
    engine.create(o).await.unwrap();
    engine.start("always").await.unwrap();
    until(&engine, "always", |c| c.restart_count >= 2).await;
    let _ = engine.stop("always", Some(1), None).await;
    until(&engine, "always", |c| c.state.status == Status::Exited).await;
    let n = engine.container("always").unwrap().restart_count;
    // --rm: removed after its exit; a removed-condition wait sees it.
    let mut o = opts(Some("gone"), &["sh", "-c", "exit 5"]);
    o.host.auto_remove = true;
    let gone = engine.create(o).await.unwrap();
    let w = engine.wait(&gone.id, WaitCondition::Removed).await.unwrap();
    engine.start(&gone.id).await.unwrap();
    assert_eq!(w.result().await.unwrap().exit_code, 5);
    assert_eq!(engine.container(&gone.id).unwrap_err().kind, Kind::NotFound);
    assert_eq!(engine.container("always").unwrap().restart_count, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_before_start_gets_all_output() {
    let roots = Roots::new();
    let engine = roots.open().await;
    let mut o = opts(Some("talker"), &["sh", "-c", "echo out; echo err >&2"]);
    o.attach_stdout = true;
    o.attach_stderr = true;
    engine.create(o).await.unwrap();
    let e2 = engine.clone();
    let attach = tokio::spawn(async move {
        let opts = AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
        };
        let mut a = e2.attach("talker", opts).await.unwrap();
        let mut buf = Vec::new();
        a.stream.read_to_end(&mut buf).await.unwrap();
        buf
    });
    // Let the attach register before the start (it waits either way).
    tokio::task::yield_now().await;
    engine.start("talker").await.unwrap();
    let buf = tokio::time::timeout(std::time::Duration::from_secs(60), attach)
        .await
        .unwrap()
        .unwrap();
    // Docker's framing: [stream, 0, 0, 0, len BE] + payload.
    let mut frames = Vec::new();
    let mut rest = &buf[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        frames.push((rest[0], rest[8..8 + len].to_vec()));
        rest = &rest[8 + len..];
    }
    let out: Vec<u8> = frames
        .iter()
        .filter(|f| f.0 == 1)
        .flat_map(|f| f.1.clone())
        .collect();
    let err: Vec<u8> = frames
        .iter()
        .filter(|f| f.0 == 2)
        .flat_map(|f| f.1.clone())
        .collect();
    assert_eq!(out, b"out\n");
    assert_eq!(err, b"err\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_limits_live() {
    let roots = Roots::new();
    let engine = roots.open().await;
    engine
        .create(opts(Some("limited"), &["sleep", "1000"]))
        .await
        .unwrap();
    engine.start("limited").await.unwrap();
    let res = wharf_engine::Resources {
        memory: 64 << 20,
        pids_limit: Some(50),
        ..Default::default()
    };
    engine.update("limited", Some(res), None).unwrap();
    let c = engine.container("limited").unwrap();
    assert_eq!(c.options.host.resources.memory, 64 << 20);
    let id = c.id.clone();
    let rt = wharf_runtime::Runtime::new(roots.config.exec_root.join("runtime"));
    let cg = rt.load(&id).unwrap().cgroup().unwrap();
    let stats = cg.stats().unwrap();
    assert_eq!(stats.memory_limit, Some(64 << 20));
    // A restart (here by its policy after a crash) is back in its cgroup
    // with the updated limits.
    let policy = RestartPolicy {
        name: "always".into(),
        maximum_retry_count: 0,
    };
    engine.update("limited", None, Some(policy)).unwrap();
    let old_pid = c.state.pid;
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(old_pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    until(&engine, "limited", |c| {
        c.restart_count == 1 && c.state.status == Status::Running
    })
    .await;
    let pid = engine.container("limited").unwrap().state.pid;
    assert_ne!(pid, old_pid);
    let ctr = rt.load(&id).unwrap();
    let cg = ctr.cgroup().unwrap();
    assert!(cg.procs().unwrap().contains(&pid));
    assert_eq!(cg.stats().unwrap().memory_limit, Some(64 << 20));
    let e = engine
        .update(
            "limited",
            Some(wharf_engine::Resources {
                memory: 1 << 20,
                ..Default::default()
            }),
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind, Kind::InvalidArgument);
    engine.remove("limited", true, false).await.unwrap();
}
