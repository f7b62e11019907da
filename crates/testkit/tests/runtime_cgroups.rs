//! linux.resources and cgroupsPath through the runtime, on the real kernel:
//! each value is read back from the host's cgroup files and from inside the
//! container (its own `/sys/fs/cgroup`). Every test knows both layouts: on
//! this hybrid host (v1 controllers, hugetlb on cgroup2) it checks v1 files;
//! `every_cgroup_test_passes_in_the_cgroup2_guest` runs this same binary
//! again in a pure cgroup v2 guest (one boot), where the tests check the v2
//! files and the device BPF program.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wharf_testkit::cgroups::{
    block_device, cgroup_dir, first_line, hugepage_sizes, in_guest, libtest_counts, proc_cgroup,
    pure_v2, run_self_in_guest, v1_mount, v2_mount,
};
use wharf_testkit::{assert_no_leaks, ActionResult, Bundle, Runtime};

/// Whether to check v2 files; inside the guest the layout must be v2.
fn v2() -> bool {
    let v2 = pure_v2();
    assert!(
        v2 || !in_guest(),
        "inside the cgroup2 guest but /sys/fs/cgroup is not cgroup2"
    );
    v2
}

fn edit(bundle: &mut Bundle, f: impl FnOnce(&mut Value)) {
    let mut json = serde_json::to_value(bundle.spec()).unwrap();
    f(&mut json);
    *bundle.spec_mut() = serde_json::from_value(json).expect("edited spec is valid");
    bundle.write_config().unwrap();
}

/// A shell loop printing `PATH=first line` for each path.
const CAT: &str = r#"for f in "$@"; do printf '%s=%s\n' "$f" "$(head -n 1 "$f" 2>&1)"; done"#;

fn cat_args(paths: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["/bin/sh", "-c", CAT, "sh"].map(String::from).to_vec();
    args.extend(paths.iter().cloned());
    args
}

fn parse_cat(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One cgroup file: the v1 controller whose hierarchy holds it (`""`: the
/// cgroup2 hierarchy), its name and the value wanted on its first line.
struct Want {
    ctrl: &'static str,
    file: String,
    value: String,
}

fn want(ctrl: &'static str, file: &str, value: impl ToString) -> Want {
    Want {
        ctrl,
        file: file.into(),
        value: value.to_string(),
    }
}

/// Where the container sees a hierarchy's file: `/sys/fs/cgroup/<dir>/`
/// named after the host's mount point, or `/sys/fs/cgroup/` on pure v2.
fn inside_path(w: &Want) -> String {
    if pure_v2() {
        return format!("/sys/fs/cgroup/{}", w.file);
    }
    let mount = if w.ctrl.is_empty() {
        v2_mount()
    } else {
        v1_mount(w.ctrl)
    }
    .expect("hierarchy mounted");
    let dir = mount.file_name().unwrap().to_string_lossy().into_owned();
    format!("/sys/fs/cgroup/{dir}/{}", w.file)
}

/// Creates the container, checks every wanted file on the host while it
/// exists, starts it (its process prints the files it sees), deletes it and
/// checks the same values inside and that its cgroup directories are gone.
fn check_files(rt: &Runtime, mut bundle: Bundle, id: &str, wants: &[Want]) {
    let inside: Vec<String> = wants.iter().map(inside_path).collect();
    let args = cat_args(&inside);
    edit(&mut bundle, |s| s["process"]["args"] = json!(args));
    let out = rt.create(&bundle, id).unwrap();
    assert!(
        out.status.success(),
        "create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = rt.state(id).unwrap().pid.unwrap().to_string();
    let mut dirs = Vec::new();
    for w in wants {
        let dir = cgroup_dir(&pid, w.ctrl).unwrap_or_else(|| panic!("no cgroup for {}", w.ctrl));
        assert!(
            dir.to_string_lossy().contains(id),
            "{} not in the container's own cgroup",
            dir.display()
        );
        let host = first_line(&dir.join(&w.file));
        assert_eq!(host.as_deref(), Some(w.value.as_str()), "host {}", w.file);
        dirs.push(dir);
    }
    rt.run_ok(&["start", id]).unwrap();
    rt.wait_status(id, "stopped").unwrap();
    rt.run_ok(&["delete", id]).unwrap();
    let seen = parse_cat(&rt.container_stdout(id));
    for (w, path) in wants.iter().zip(&inside) {
        assert_eq!(
            seen.get(path).map(String::as_str),
            Some(w.value.as_str()),
            "inside {path}"
        );
    }
    for d in dirs {
        assert!(!d.exists(), "{} left after delete", d.display());
    }
    assert_no_leaks(id, Some(bundle.path()));
}

#[test]
fn cpu_memory_pids_hugetlb_limits_read_back() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let mib = 1024 * 1024;
    let huge = hugepage_sizes().into_iter().next();
    edit(&mut bundle, |s| {
        let r = &mut s["linux"]["resources"];
        r["cpu"] =
            json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"});
        r["memory"] = json!({"limit": 64 * mib, "reservation": 32 * mib, "swap": 128 * mib,
                              "swappiness": 10, "disableOOMKiller": true});
        r["pids"] = json!({"limit": 50});
        if let Some(size) = &huge {
            r["hugepageLimits"] = json!([{"pageSize": size, "limit": 4 * mib}]);
        }
    });
    let mut wants = if v2 {
        vec![
            // cpu.weight from shares, as runc converts: 1 + (s-2)*9999/262142.
            want("", "cpu.weight", 1 + (512 - 2) * 9999 / 262142),
            want("", "cpu.max", "50000 100000"),
            want("", "cpuset.cpus", "0"),
            want("", "cpuset.mems", "0"),
            want("", "memory.max", 64 * mib),
            want("", "memory.low", 32 * mib),
            // OCI swap is memory+swap; v2's limit is the swap alone.
            want("", "memory.swap.max", 64 * mib),
            want("", "pids.max", 50),
        ]
    } else {
        let mut w = vec![
            want("cpu", "cpu.shares", 512),
            want("cpu", "cpu.cfs_quota_us", 50000),
            want("cpu", "cpu.cfs_period_us", 100000),
            want("cpuset", "cpuset.cpus", "0"),
            want("cpuset", "cpuset.mems", "0"),
            want("memory", "memory.limit_in_bytes", 64 * mib),
            want("memory", "memory.soft_limit_in_bytes", 32 * mib),
            want("memory", "memory.swappiness", 10),
            want("memory", "memory.oom_control", "oom_kill_disable 1"),
            want("pids", "pids.max", 50),
        ];
        let memsw = v1_mount("memory")
            .unwrap()
            .join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            w.push(want("memory", "memory.memsw.limit_in_bytes", 128 * mib));
        } else {
            println!("no swap accounting on this host: memory.memsw not checked");
        }
        w
    };
    match &huge {
        Some(size) if v1_mount("hugetlb").is_some() => wants.push(want(
            "hugetlb",
            &format!("hugetlb.{size}.limit_in_bytes"),
            4 * mib,
        )),
        Some(size) => wants.push(want("", &format!("hugetlb.{size}.max"), 4 * mib)),
        None => println!("no huge page sizes in /sys/kernel/mm/hugepages: hugetlb not checked"),
    }
    let id = rt.unique_id("res");
    check_files(&rt, bundle, &id, &wants);
}

#[test]
fn block_io_throttles_read_back() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let (name, dev) = block_device().expect("a block device");
    let (maj, min) = dev.split_once(':').unwrap();
    let (maj, min): (i64, i64) = (maj.parse().unwrap(), min.parse().unwrap());
    let t = |rate: u64| json!([{"major": maj, "minor": min, "rate": rate}]);
    edit(&mut bundle, |s| {
        s["linux"]["resources"]["blockIO"] = json!({
            "throttleReadBpsDevice": t(1048576), "throttleWriteBpsDevice": t(2097152),
            "throttleReadIOPSDevice": t(100), "throttleWriteIOPSDevice": t(200)});
    });
    println!("throttling {name} ({dev})");
    let wants = if v2 {
        vec![want(
            "",
            "io.max",
            format!("{dev} rbps=1048576 wbps=2097152 riops=100 wiops=200"),
        )]
    } else {
        vec![
            want(
                "blkio",
                "blkio.throttle.read_bps_device",
                format!("{dev} 1048576"),
            ),
            want(
                "blkio",
                "blkio.throttle.write_bps_device",
                format!("{dev} 2097152"),
            ),
            want(
                "blkio",
                "blkio.throttle.read_iops_device",
                format!("{dev} 100"),
            ),
            want(
                "blkio",
                "blkio.throttle.write_iops_device",
                format!("{dev} 200"),
            ),
        ]
    };
    let id = rt.unique_id("bio");
    check_files(&rt, bundle, &id, &wants);
}

#[test]
fn block_io_weight_is_set_or_refused_by_name() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    edit(&mut bundle, |s| {
        s["linux"]["resources"]["blockIO"] = json!({"weight": 500});
    });
    // The weight files exist only below the root, and only with an IO
    // scheduler (bfq) or controller (iocost) that weighs: look in the
    // container's own cgroup. The value as each file spells 500.
    let (ctrl, files) = if v2 {
        (
            "",
            [
                ("io.bfq.weight", "default 500"),
                ("io.weight", "default 4950"),
            ],
        )
    } else {
        (
            "blkio",
            [("blkio.bfq.weight", "500"), ("blkio.weight", "500")],
        )
    };
    let inside: Vec<String> = files
        .iter()
        .map(|(f, v)| inside_path(&want(ctrl, f, v)))
        .collect();
    let args = cat_args(&inside);
    edit(&mut bundle, |s| s["process"]["args"] = json!(args));
    let id = rt.unique_id("weight");
    let out = rt.create(&bundle, &id).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(err.contains("weight"), "the error names the weight: {err}");
        assert_no_leaks(&id, Some(bundle.path()));
        return;
    }
    let pid = rt.state(&id).unwrap().pid.unwrap().to_string();
    let dir = cgroup_dir(&pid, ctrl).unwrap();
    match files.into_iter().find(|(f, _)| dir.join(f).exists()) {
        Some((f, value)) => {
            assert_eq!(first_line(&dir.join(f)).as_deref(), Some(value), "{f}");
            rt.run_ok(&["start", &id]).unwrap();
            rt.wait_status(&id, "stopped").unwrap();
            let seen = parse_cat(&rt.container_stdout(&id));
            let path = inside_path(&want(ctrl, f, value));
            assert_eq!(
                seen.get(&path).map(String::as_str),
                Some(value),
                "inside {path}"
            );
            println!("{f} reads {value} on the host and inside");
        }
        None => println!(
            "skipped: no blkio weight file in {} (no weighing IO scheduler); \
             the runtime accepted weight 500 without one",
            dir.display()
        ),
    }
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert!(!dir.exists(), "{} left after delete", dir.display());
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn devices_deny_all_allow_only_the_defaults() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    // 10:237 is loop-control: openable by root when allowed, and in no
    // runtime's default list.
    edit(&mut bundle, |s| {
        s["linux"]["devices"] = json!([{"path": "/dev/wharf-denied", "type": "c",
            "major": 10, "minor": 237, "fileMode": 0o666}]);
        s["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "/bin/wharf-probe read /dev/null; /bin/wharf-probe write /dev/null x; \
             /bin/wharf-probe read /dev/wharf-denied; /bin/wharf-probe stat /dev/wharf-denied"
        ]);
    });
    let id = rt.unique_id("dev");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    let pid = rt.state(&id).unwrap().pid.unwrap().to_string();
    if !v2 {
        let list =
            fs::read_to_string(cgroup_dir(&pid, "devices").unwrap().join("devices.list")).unwrap();
        assert!(!list.contains("a *:* rwm"), "deny-all not applied: {list}");
        assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
        assert!(
            !list.contains("10:237"),
            "the extra node is allowed: {list}"
        );
    }
    rt.run_ok(&["start", &id]).unwrap();
    rt.wait_status(&id, "stopped").unwrap();
    rt.run_ok(&["delete", &id]).unwrap();
    let results: Vec<ActionResult> = rt
        .container_stdout(&id)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(results[0].ok, "read /dev/null: {:?}", results[0]);
    assert!(results[1].ok, "write /dev/null: {:?}", results[1]);
    assert_eq!(results[2].errno, Some(1), "denied device: {:?}", results[2]);
    assert!(results[3].ok, "the node exists: {:?}", results[3]);
    assert_eq!(results[3].data["type"], "char");
    assert_no_leaks(&id, Some(bundle.path()));
}

/// Every hierarchy's (v1 controller or `""`) path of `pid` that the test
/// checks.
fn controllers(v2: bool) -> Vec<&'static str> {
    if v2 {
        vec![""]
    } else {
        vec!["cpu", "memory", "pids", "devices", "freezer", "blkio"]
    }
}

/// Removes `rel` below every hierarchy's root and below this process's own
/// cgroup in each, on drop (the parents the runtime leaves, as runc does).
struct ParentGuard(PathBuf);

impl Drop for ParentGuard {
    fn drop(&mut self) {
        let mounts: Vec<PathBuf> = wharf_testkit::leaks::host_mounts()
            .into_iter()
            .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
            .map(|m| PathBuf::from(m.mount_point))
            .collect();
        let own: Vec<String> = fs::read_to_string("/proc/self/cgroup")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.splitn(3, ':').nth(2).map(str::to_string))
            .collect();
        for m in &mounts {
            let _ = fs::remove_dir(m.join(&self.0));
            for o in &own {
                let _ = fs::remove_dir(m.join(o.trim_start_matches('/')).join(&self.0));
            }
        }
    }
}

#[test]
fn cgroups_path_absolute_relative_and_default() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    let tag = format!("wharf-cgpath-{}", std::process::id());
    let _abs = ParentGuard(PathBuf::from(format!("{tag}-abs")));
    let _rel = ParentGuard(PathBuf::from(format!("{tag}-rel")));
    let cases: Vec<(String, Option<String>)> = vec![
        (rt.unique_id("default"), None),
        (rt.unique_id("abs"), Some(format!("/{tag}-abs/"))),
        (rt.unique_id("rel"), Some(format!("{tag}-rel/"))),
    ];
    for (id, prefix) in &cases {
        let path = prefix.as_ref().map(|p| format!("{p}{id}"));
        edit(&mut bundle, |s| {
            s["linux"]["cgroupsPath"] = json!(path);
            s["process"]["args"] = json!(["/bin/wharf-probe", "report"]);
        });
        assert!(rt.create(&bundle, id).unwrap().status.success());
        let pid = rt.state(id).unwrap().pid.unwrap().to_string();
        let mut dirs = Vec::new();
        for ctrl in controllers(v2) {
            let expect = match &path {
                None => format!("/wharf/{id}"),
                Some(p) if p.starts_with('/') => p.clone(),
                Some(p) => {
                    let own = proc_cgroup("self", ctrl).unwrap();
                    format!("{}/{p}", own.trim_end_matches('/'))
                }
            };
            assert_eq!(
                proc_cgroup(&pid, ctrl).as_deref(),
                Some(expect.as_str()),
                "{ctrl}"
            );
            let dir = cgroup_dir(&pid, ctrl).unwrap();
            assert!(dir.is_dir());
            dirs.push(dir);
        }
        rt.run_ok(&["start", id]).unwrap();
        rt.wait_status(id, "stopped").unwrap();
        rt.run_ok(&["delete", id]).unwrap();
        let report = wharf_testkit::output::report_in(&rt.container_stdout(id));
        // The cgroup namespace makes the container's own cgroup its root.
        assert!(!report.cgroups.is_empty());
        for line in &report.cgroups {
            assert!(line.ends_with(":/"), "inside sees {line}");
        }
        for d in &dirs {
            assert!(!d.exists(), "{} left after delete", d.display());
        }
        assert_no_leaks(id, Some(bundle.path()));
    }
}

fn freezer_state(pid: &str, v2: bool) -> String {
    if v2 {
        let dir = cgroup_dir(pid, "").unwrap();
        let events = fs::read_to_string(dir.join("cgroup.events")).unwrap();
        let frozen = events.lines().any(|l| l == "frozen 1");
        let freeze = first_line(&dir.join("cgroup.freeze")).unwrap();
        format!("freeze {freeze} frozen {}", u8::from(frozen))
    } else {
        first_line(&cgroup_dir(pid, "freezer").unwrap().join("freezer.state")).unwrap()
    }
}

fn wait_freezer(pid: &str, v2: bool, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..500 {
        last = freezer_state(pid, v2);
        if last == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    last
}

#[test]
fn pause_and_resume_freeze_the_cgroup() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let bundle = Bundle::sleeper().unwrap();
    let id = rt.unique_id("pause");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let pid = rt.state(&id).unwrap().pid.unwrap().to_string();
    let (frozen, thawed) = if v2 {
        ("freeze 1 frozen 1", "freeze 0 frozen 0")
    } else {
        ("FROZEN", "THAWED")
    };
    assert_eq!(freezer_state(&pid, v2), thawed);
    rt.run_ok(&["pause", &id]).unwrap();
    assert_eq!(rt.state(&id).unwrap().status, "paused");
    assert_eq!(wait_freezer(&pid, v2, frozen), frozen);
    rt.run_ok(&["resume", &id]).unwrap();
    assert_eq!(rt.state(&id).unwrap().status, "running");
    assert_eq!(wait_freezer(&pid, v2, thawed), thawed);
    // A paused container can still be force-deleted.
    rt.run_ok(&["pause", &id]).unwrap();
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || rt.state(&id).is_err());
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn exec_joins_the_container_cgroup_and_its_limits() {
    let v2 = v2();
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    edit(&mut bundle, |s| {
        s["linux"]["resources"]["pids"] = json!({"limit": 10});
        s["process"]["args"] = json!(["/bin/wharf-probe", "sleep", "60"]);
    });
    let id = rt.unique_id("execcg");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let pid = rt.state(&id).unwrap().pid.unwrap().to_string();
    let out = rt
        .run_ok(&["exec", &id, "/bin/wharf-probe", "report"])
        .unwrap();
    let report = wharf_testkit::output::report_in(&String::from_utf8_lossy(&out.stdout));
    // In the container's cgroup namespace, a process outside the init's
    // cgroup would see a path other than "/".
    assert!(!report.cgroups.is_empty());
    for line in &report.cgroups {
        assert!(line.ends_with(":/"), "exec sees {line}");
    }
    // The exec'd processes count against the container's pids limit: with
    // init and the bomb's own process, fewer than 10 children start.
    let out = rt
        .run(&["exec", &id, "/bin/wharf-probe", "forkbomb", "100"])
        .unwrap();
    let bomb = wharf_testkit::output::action_in(&String::from_utf8_lossy(&out.stdout));
    assert!(bomb.ok, "{bomb:?}");
    assert!(bomb.data["count"].as_u64().unwrap() < 10, "{bomb:?}");
    let ctrl = if v2 { "" } else { "pids" };
    let procs = fs::read_to_string(cgroup_dir(&pid, ctrl).unwrap().join("cgroup.procs")).unwrap();
    assert_eq!(
        procs.split_whitespace().collect::<Vec<_>>(),
        vec![pid.as_str()]
    );
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

/// The names of this binary's tests (libtest `--list`).
fn test_names() -> Vec<String> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_cgroup_test_passes_in_the_cgroup2_guest() {
    if in_guest() {
        return;
    }
    if pure_v2() {
        println!("this host is pure cgroup v2: the tests above already ran on it");
        return;
    }
    // Counted now: a rebuild during the slow guest run may replace this
    // executable.
    let others = test_names().len() - 1;
    let out = run_self_in_guest(&[
        "--skip",
        "every_cgroup_test_passes_in_the_cgroup2_guest",
        "--test-threads=1",
        "--nocapture",
    ])
    .expect("tools/cgroup2-vm.sh could not be started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "guest run failed: {}", out.status);
    let (passed, failed) = libtest_counts(&stdout).expect("a libtest summary");
    assert_eq!(failed, 0);
    assert_eq!(
        passed as usize, others,
        "every other test of this file ran in the guest"
    );
}
