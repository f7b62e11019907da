//! Attacks on the runtime, each performed from inside a container and shown
//! to fail: overwriting the runtime binary (CVE-2019-5736), host descriptors
//! and a `/proc/self/fd/N` cwd (CVE-2024-21626), symlinked mount
//! destinations and masked paths, and what the runtime's own `spec`
//! defaults give a container (capabilities, masked and read-only /proc,
//! no_new_privs, seccomp, pids and memory limits, mount propagation).

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wharf_testkit::caps::DOCKER_DEFAULT_CAP_MASK;
use wharf_testkit::cgroups::{cgroup_dir, pure_v2};
use wharf_testkit::leaks::host_mounts;
use wharf_testkit::output::{action_in, report_in};
use wharf_testkit::{assert_no_leaks, wharf_path, ActionResult, Bundle, CapSet, Report, Runtime};

fn edit(bundle: &mut Bundle, f: impl FnOnce(&mut Value)) {
    let mut json = serde_json::to_value(bundle.spec()).unwrap();
    f(&mut json);
    *bundle.spec_mut() = serde_json::from_value(json).expect("edited spec is valid");
    bundle.write_config().unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every JSON action line the container printed, in order.
fn actions(stdout: &str) -> Vec<ActionResult> {
    stdout
        .lines()
        .filter(|l| l.starts_with("{\"action\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Polls `f` every 10 ms for up to 30 s (a hang guard, not a timing check).
fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Whether host process `pid` has exited (gone, or a zombie).
fn process_gone(pid: impl std::fmt::Display) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// FNV-1a of a file: enough to see that not one byte changed.
fn file_hash(path: &Path) -> u64 {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The runtime binary copied into a temporary directory (so a successful
/// attack could never damage the build), and a runtime driving that copy
/// with the arguments that lead to its runc-like command line.
fn runtime_copy() -> (tempfile::TempDir, PathBuf, Runtime, Vec<&'static str>) {
    let dir = tempfile::tempdir().unwrap();
    let (src, prefix) = match std::env::var_os("WHARF_TEST_RUNTIME") {
        Some(bin) => (PathBuf::from(bin), vec![]),
        None => (wharf_path().unwrap(), vec!["runtime"]),
    };
    let copy = dir.path().join(src.file_name().unwrap());
    fs::copy(&src, &copy).unwrap();
    let rt = Runtime::with_command(&copy, &prefix).unwrap();
    (dir, copy, rt, prefix)
}

#[test]
fn cve_2019_5736_runtime_binary_cannot_be_overwritten() {
    let (_dir, bin, rt, prefix) = runtime_copy();
    let before = file_hash(&bin);
    let mut bundle = Bundle::new().unwrap();
    // Executing this runs its interpreter, /proc/self/exe of whoever execs
    // it: the runtime itself, inside the container.
    bundle
        .add_file("/evil", b"#!/proc/self/exe\n", 0o755)
        .unwrap();
    let (fifo, stop) = ("/dev/shm/wharf-fifo", "/dev/shm/wharf-stop");
    bundle
        .set_probe_args(&["overwrite-exe", fifo, stop])
        .unwrap();
    let id = rt.unique_id("5736");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let pid = rt.state(&id).unwrap().pid.unwrap();
    let fifo_host = format!("/proc/{pid}/root{fifo}");
    assert!(wait_for(|| Path::new(&fifo_host).exists()), "no fifo");

    // The runtime run as the container's command, held by its log fifo
    // until the attacker holds its executable.
    let mut held = vec!["exec", &id, "/proc/self/exe"];
    held.extend(&prefix);
    held.extend(["--log", fifo, "--debug", "state", "no-such-container"]);
    let held_out = rt.run(&held).unwrap();
    let held_err = stderr(&held_out);
    println!("held exec: {} {held_err}", held_out.status);
    for _ in 0..5 {
        let out = rt.run(&["exec", &id, "/evil"]).unwrap();
        println!("exec /evil: {} {}", out.status, stderr(&out));
        rt.run_ok(&["exec", &id, "/bin/wharf-probe", "exit", "0"])
            .unwrap();
    }
    // Stopped from the host, so that no runtime process is running when
    // the attacker makes its last try.
    fs::write(format!("/proc/{pid}/root{stop}"), "").unwrap();
    // Wait for the attacker (the container's init) to finish without
    // running the runtime: any runtime command, even `state`, would make
    // the binary busy again during its last try.
    assert!(
        wait_for(|| process_gone(pid)),
        "the attacker did not finish"
    );
    rt.wait_status(&id, "stopped").unwrap();
    rt.run_ok(&["delete", &id]).unwrap();

    let result = action_in(&rt.container_stdout(&id));
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    assert_eq!(file_hash(&bin), before, "the runtime binary was changed");
    assert!(result.ok, "{result:?}");
    assert_eq!(result.data["writes_ok"], 0, "a write reached an executable");
    let seen = result.data["seen"].as_array().unwrap();
    if result.data["released"] == false {
        // The only other way out: the runtime is not reachable from the
        // container at all (runc: `exec /proc/self/exe: no such file`).
        assert!(
            !held_out.status.success() && held_err.contains("/proc/self/exe"),
            "the held runtime was neither caught nor refused: {held_err} {seen:?}"
        );
        assert_no_leaks(&id, Some(bundle.path()));
        return;
    }
    // The runtime as the container's own command (argv[0] /proc/self/exe),
    // held by the fifo: the attacker had all the time it wanted.
    let caught: Vec<&Value> = seen
        .iter()
        .filter(|v| {
            let cmd = v["cmdline"].as_str().unwrap_or("");
            cmd.starts_with("/proc/self/exe") && cmd.contains(fifo)
        })
        .collect();
    assert!(!caught.is_empty(), "{seen:?}");
    for v in caught {
        println!("caught {}: {}", v["exe"], v["cmdline"]);
        // Its executable was out of reach, or refused the write at open,
        // at every retry through the kept descriptor, and at the last one,
        // made when no runtime process kept it busy (ETXTBSY no longer
        // protects it then: a sealed memfd says EPERM, a read-only mount
        // EROFS).
        assert_eq!(v["wrote"], false, "{v}");
        assert!(!v["open_write_errno"].is_null(), "{v}");
        if v["path_fd"] == true {
            let last = v["final_errno"].as_i64();
            assert!(last.is_some(), "{v}");
            assert_ne!(last, Some(26), "still busy at the last try: {v}");
        }
    }
    assert_no_leaks(&id, Some(bundle.path()));
}

/// Descriptors other than stdio in a report.
fn extra_fds(r: &Report) -> Vec<String> {
    r.fds
        .iter()
        .filter(|(fd, _)| **fd > 2)
        .map(|(fd, t)| format!("{fd} -> {t}"))
        .collect()
}

#[test]
fn cve_2024_21626_no_host_fd_in_init_or_exec() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let id = rt.unique_id("fds");
    let out = rt.run_container(&bundle, &id).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    assert!(extra_fds(&r).is_empty(), "init holds {:?}", extra_fds(&r));
    assert_no_leaks(&id, Some(bundle.path()));

    bundle.set_probe_args(&["sleep", "60"]).unwrap();
    let id = rt.unique_id("execfds");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let out = rt
        .run_ok(&["exec", &id, "/bin/wharf-probe", "report"])
        .unwrap();
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    assert!(extra_fds(&r).is_empty(), "exec holds {:?}", extra_fds(&r));
    assert_ne!(r.pid, 1, "exec is not the init");
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn cve_2024_21626_only_preserved_fds_pass() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    bundle.set_probe_args(&["report"]).unwrap();
    let id = rt.unique_id("preserve");
    let b = bundle.path().to_string_lossy().into_owned();
    // A shell opens fd 3 (and 4, not preserved) without close-on-exec and
    // runs the runtime with --preserve-fds 1.
    let runtime = rt.command(&["run", "--preserve-fds", "1", "--bundle", &b, &id]);
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", r#"exec 3</etc/hostname 4</etc; exec "$@""#, "sh"])
        .arg(runtime.get_program())
        .args(runtime.get_args());
    let io = tempfile::tempdir().unwrap();
    let out =
        wharf_testkit::output_with_timeout(&mut cmd, io.path(), "run", Duration::from_secs(60))
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    let extra = extra_fds(&r);
    assert_eq!(extra.len(), 1, "only fd 3 is preserved: {extra:?}");
    assert!(extra[0].starts_with("3 -> "), "{extra:?}");
    assert!(!r.fds.contains_key(&4), "fd 4 (a host directory) leaked");
    assert_no_leaks(&id, Some(bundle.path()));

    // The same through exec, into a running container.
    bundle.set_probe_args(&["sleep", "60"]).unwrap();
    let id = rt.unique_id("execpreserve");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let runtime = rt.command(&[
        "exec",
        "--preserve-fds",
        "1",
        &id,
        "/bin/wharf-probe",
        "report",
    ]);
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", r#"exec 3</etc/hostname 4</etc; exec "$@""#, "sh"])
        .arg(runtime.get_program())
        .args(runtime.get_args());
    let out =
        wharf_testkit::output_with_timeout(&mut cmd, io.path(), "exec", Duration::from_secs(60))
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    let extra = extra_fds(&r);
    assert_eq!(extra.len(), 1, "exec: only fd 3 is preserved: {extra:?}");
    assert!(extra[0].starts_with("3 -> "), "{extra:?}");
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

/// A cwd reached through /proc/self/fd/N is either refused or inside the
/// container: getcwd(3) names a directory outside the root
/// `(unreachable)/...`.
fn check_cwd(out: &std::process::Output, what: &str) -> bool {
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        assert!(!stderr(out).trim().is_empty(), "{what}: refused silently");
        return false;
    }
    let r = report_in(&stdout);
    assert!(!r.cwd.is_empty(), "{what}: cwd unreadable: {:?}", r.errors);
    assert!(
        !r.cwd.starts_with("(unreachable)"),
        "{what}: cwd {} is outside the container",
        r.cwd
    );
    true
}

#[test]
fn cve_2024_21626_proc_self_fd_cwd_never_reaches_the_host() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let mut refused = 0;
    for n in 3..10 {
        let cwd = format!("/proc/self/fd/{n}");
        edit(&mut bundle, |s| s["process"]["cwd"] = json!(cwd));
        let id = rt.unique_id(&format!("cwd{n}"));
        let out = rt.run_container(&bundle, &id).unwrap();
        if !check_cwd(&out, &format!("create with cwd {cwd}")) {
            refused += 1;
        }
        assert_no_leaks(&id, Some(bundle.path()));
    }
    println!("create: {refused} of 7 refused, the rest landed inside");

    edit(&mut bundle, |s| {
        s["process"]["cwd"] = json!("/");
        s["process"]["args"] = json!(["/bin/wharf-probe", "sleep", "60"]);
    });
    let id = rt.unique_id("execcwd");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    for n in 3..10 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = rt
            .run(&["exec", "--cwd", &cwd, &id, "/bin/wharf-probe", "report"])
            .unwrap();
        check_cwd(&out, &format!("exec --cwd {cwd}"));
    }
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

/// Removes host paths an escaping runtime would have created.
struct Remove(Vec<PathBuf>);

impl Drop for Remove {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_dir_all(p).or_else(|_| fs::remove_file(p));
        }
    }
}

#[test]
fn symlinked_mount_destinations_stay_in_the_rootfs() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let tag = format!("wharf-escape-{}", std::process::id());
    let host_dir = PathBuf::from(format!("/tmp/{tag}-dir"));
    let host_file = PathBuf::from(format!("/tmp/{tag}-file"));
    let host_etc = PathBuf::from(format!("/etc/{tag}"));
    let _cleanup = Remove(vec![host_dir.clone(), host_file.clone(), host_etc.clone()]);
    let r = bundle.rootfs();
    // Symlinks in the image aiming at host paths, absolute and relative.
    symlink(&host_dir, r.join("evil_abs")).unwrap();
    symlink(
        format!("../../../../../../../../tmp/{tag}-file"),
        r.join("evil_rel"),
    )
    .unwrap();
    symlink("../../../../../../../../etc", r.join("evil_etc")).unwrap();
    let source = bundle.path().join("source.txt");
    fs::write(&source, "bound").unwrap();
    let cases = [
        (
            json!({"destination": "/evil_abs/mnt", "type": "tmpfs", "source": "tmpfs"}),
            format!("{}/mnt", host_dir.display()),
        ),
        (
            json!({"destination": "/evil_rel", "type": "bind", "source": source,
                   "options": ["bind"]}),
            host_file.display().to_string(),
        ),
        (
            json!({"destination": format!("/evil_etc/{tag}"), "type": "tmpfs",
                   "source": "tmpfs"}),
            host_etc.display().to_string(),
        ),
    ];
    let base = serde_json::to_value(bundle.spec()).unwrap()["mounts"].clone();
    for (mount, inside) in cases {
        edit(&mut bundle, |s| {
            s["mounts"] = base.clone();
            s["mounts"].as_array_mut().unwrap().push(mount.clone());
        });
        let id = rt.unique_id("symdest");
        let out = rt.run_container(&bundle, &id).unwrap();
        for p in [&host_dir, &host_file, &host_etc] {
            assert!(!p.exists(), "{} was created on the host", p.display());
        }
        let host = host_mounts();
        assert!(
            !host.iter().any(|m| m.mount_point.contains(&tag)),
            "a mount landed on the host"
        );
        let dest = &mount["destination"];
        if out.status.success() {
            // Followed inside the root: the container sees it there.
            let report = report_in(&String::from_utf8_lossy(&out.stdout));
            assert!(
                report.mount(&inside).is_some(),
                "{dest}: no mount at {inside}"
            );
            println!("{dest}: followed inside the rootfs to {inside}");
        } else {
            let err = stderr(&out);
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            println!("{dest}: refused: {}", err.trim());
        }
        assert_no_leaks(&id, Some(bundle.path()));
    }
}

#[test]
fn masked_and_readonly_symlinks_do_not_redirect() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let marker = bundle.path().join("host-marker");
    fs::write(&marker, "host").unwrap();
    let r = bundle.rootfs();
    fs::write(r.join("etc/victim"), "keep").unwrap();
    symlink("/etc/victim", r.join("etc/evil")).unwrap();
    symlink(&marker, r.join("etc/evil_host")).unwrap();
    for (key, path) in [
        ("maskedPaths", "/etc/evil"),
        ("readonlyPaths", "/etc/evil"),
        ("maskedPaths", "/etc/evil_host"),
    ] {
        edit(&mut bundle, |s| {
            s["root"]["readonly"] = json!(false);
            s["linux"][key] = json!([path]);
            let other = if key == "maskedPaths" {
                "readonlyPaths"
            } else {
                "maskedPaths"
            };
            s["linux"][other] = json!([]);
            s["process"]["args"] = json!([
                "/bin/sh",
                "-c",
                "/bin/wharf-probe read /etc/victim; /bin/wharf-probe write /etc/victim keep"
            ]);
        });
        let id = rt.unique_id("masksym");
        let out = rt.run_container(&bundle, &id).unwrap();
        if out.status.success() {
            // Not refused: then the victim must be neither masked nor
            // made read-only through the link.
            let acts = actions(&String::from_utf8_lossy(&out.stdout));
            assert_eq!(acts[0].data["value"], "keep", "{key} {path} redirected");
            assert!(acts[1].ok, "{key} {path} made the victim read-only");
        } else {
            let err = stderr(&out);
            assert!(err.contains(path) || err.contains("symlink"), "{err}");
        }
        assert_eq!(fs::read_to_string(&marker).unwrap(), "host");
        assert_eq!(fs::read_to_string(r.join("etc/victim")).unwrap(), "keep");
        assert_no_leaks(&id, Some(bundle.path()));
    }
}

/// A bundle from the runtime's own `spec`, with the probe as its process.
fn runtime_spec_bundle(rt: &Runtime, args: &[&str]) -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    rt.run_ok(&["spec", "--bundle", &d]).unwrap();
    let text = fs::read_to_string(dir.path().join("config.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    json["process"]["terminal"] = json!(false);
    json["process"]["args"] = json!(args);
    json["root"]["path"] = json!("rootfs");
    Bundle::with_spec(serde_json::from_value(json).unwrap()).unwrap()
}

#[test]
fn runtime_spec_defaults_confine_the_container() {
    let rt = Runtime::new().unwrap();
    let mut bundle = runtime_spec_bundle(&rt, &["/bin/wharf-probe", "report"]);
    let spec = serde_json::to_value(bundle.spec()).unwrap();
    // The masked paths this kernel has (a file gets /dev/null bound over it,
    // a directory an empty read-only tmpfs), and /proc/sys read-only.
    let masked: Vec<(String, bool)> = spec["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| fs::metadata(p).ok().map(|m| (p.to_string(), m.is_dir())))
        .collect();
    assert!(
        spec["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .contains(&json!("/proc/kcore")),
        "the default masks /proc/kcore"
    );
    assert!(!masked.is_empty(), "no masked path exists on this kernel");
    let mut script =
        String::from("/bin/wharf-probe report; /bin/wharf-probe sysctl kernel.domainname evil");
    for (p, dir) in &masked {
        let verb = if *dir { "ls" } else { "stat" };
        script.push_str(&format!("; /bin/wharf-probe {verb} {p}"));
    }
    bundle.set_args(&["/bin/sh", "-c", &script]).unwrap();
    let id = rt.unique_id("spec");
    let out = rt.run_container(&bundle, &id).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report_in(stdout.lines().find(|l| l.starts_with("{\"pid")).unwrap());
    let docker = DOCKER_DEFAULT_CAP_MASK;
    assert_eq!(r.caps.bounding, CapSet::from_mask(docker));
    assert_eq!(r.caps.effective, CapSet::from_mask(docker));
    assert!(r.no_new_privs, "no_new_privs");
    assert_eq!(r.seccomp, Some(2), "seccomp filter mode");
    let acts = actions(&stdout);
    assert_eq!(acts.len(), 1 + masked.len(), "{acts:?}");
    assert_eq!(
        acts[0].errno,
        Some(30),
        "/proc/sys is read-only: {:?}",
        acts[0]
    );
    for ((p, dir), act) in masked.iter().zip(&acts[1..]) {
        assert!(act.ok, "{p}: {act:?}");
        if *dir {
            assert_eq!(act.data["entries"], json!([]), "{p} not masked");
        } else {
            let dev = (&act.data["type"], &act.data["major"], &act.data["minor"]);
            assert_eq!(
                dev,
                (&json!("char"), &json!(1), &json!(3)),
                "{p} not masked"
            );
        }
    }
    println!("masked and checked: {masked:?}");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn pids_limit_contains_a_fork_bomb() {
    let rt = Runtime::new().unwrap();
    let mut bundle = runtime_spec_bundle(&rt, &["/bin/wharf-probe", "forkbomb", "1000"]);
    edit(&mut bundle, |s| {
        s["linux"]["resources"]["pids"] = json!({"limit": 20});
    });
    let id = rt.unique_id("bomb");
    let out = rt.run_container(&bundle, &id).unwrap();
    let res = action_in(&String::from_utf8_lossy(&out.stdout));
    assert!(res.ok, "the bomb was not stopped: {res:?}");
    let count = res.data["count"].as_u64().unwrap();
    assert!(count < 20, "{count} processes under a limit of 20");
    assert_eq!(res.data["fork_errno"], 11, "EAGAIN from the pids limit");
    // The host is fine: it still starts processes.
    assert!(std::process::Command::new("/bin/true")
        .status()
        .unwrap()
        .success());
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn memory_limit_oom_kills_inside_only() {
    let rt = Runtime::new().unwrap();
    let mut bundle = runtime_spec_bundle(&rt, &["/bin/wharf-probe", "alloc", "256"]);
    let limit = 32 * 1024 * 1024;
    edit(&mut bundle, |s| {
        s["linux"]["resources"]["memory"] = json!({"limit": limit, "swap": limit});
    });
    let id = rt.unique_id("oom");
    let out = rt.run_container(&bundle, &id).unwrap();
    assert_eq!(
        out.status.code(),
        Some(128 + 9),
        "killed by SIGKILL: {}",
        stderr(&out)
    );
    assert_no_leaks(&id, Some(bundle.path()));

    let id = rt.unique_id("oomev");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    let pid = rt.state(&id).unwrap().pid.unwrap().to_string();
    let (dir, file) = if pure_v2() {
        (cgroup_dir(&pid, "").unwrap(), "memory.events")
    } else {
        (cgroup_dir(&pid, "memory").unwrap(), "memory.oom_control")
    };
    rt.run_ok(&["start", &id]).unwrap();
    rt.wait_status(&id, "stopped").unwrap();
    let text = fs::read_to_string(dir.join(file)).unwrap();
    let kills: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no oom_kill in {file}: {text}"));
    assert!(kills >= 1, "{text}");
    assert!(
        action_in_opt(&rt.container_stdout(&id)).is_none(),
        "alloc finished"
    );
    // The runtime is unaffected: it still reports and deletes.
    assert_eq!(rt.state(&id).unwrap().status, "stopped");
    rt.run_ok(&["delete", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

fn action_in_opt(stdout: &str) -> Option<ActionResult> {
    actions(stdout).into_iter().next()
}

#[test]
fn mount_inside_does_not_propagate_to_the_host() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    // Make the bundle a shared mount on the host, so that only the
    // runtime's own propagation settings keep mounts from coming back.
    let b = bundle.path().to_path_buf();
    rustix::mount::mount_bind(&b, &b).unwrap();
    rustix::mount::mount_change(&b, rustix::mount::MountPropagationFlags::SHARED).unwrap();
    edit(&mut bundle, |s| {
        for set in ["bounding", "effective", "permitted"] {
            s["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
        s["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "/bin/wharf-probe mount-tmpfs /tmp && exec /bin/wharf-probe sleep 60"
        ]);
    });
    let id = rt.unique_id("prop");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    assert!(wait_for(|| rt
        .container_stdout(&id)
        .contains("mount-tmpfs")));
    let res = action_in(&rt.container_stdout(&id));
    assert!(res.ok, "mount inside failed: {res:?}");
    let rootfs = bundle.rootfs();
    let leaked: Vec<String> = host_mounts()
        .into_iter()
        .filter(|m| Path::new(&m.mount_point).starts_with(&rootfs))
        .map(|m| format!("{} ({})", m.mount_point, m.fs_type))
        .collect();
    assert!(leaked.is_empty(), "propagated to the host: {leaked:?}");
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    rustix::mount::unmount(&b, rustix::mount::UnmountFlags::DETACH).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}
