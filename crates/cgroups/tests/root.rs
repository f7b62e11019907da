//! Root tests on the real kernel, whatever this host's layout is (hybrid on
//! the project's CI host). The same tests run once more inside the cgroup2
//! guest (`generic_root_tests_in_cgroup2_guest`), so each behaviour is proven
//! on a v1 and a v2 hierarchy.

mod kernel;

use std::path::PathBuf;

use kernel::{block_device, kernel_file, on_v1, proc_state, spawn_probe, unique, Guard};
use oci_spec::runtime::LinuxResources;
use serde_json::json;
use wharf_cgroups::{FreezerState, Layout, Mode};

fn resources(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

#[test]
fn real_limits_read_back() {
    let name = unique("limits");
    let g = Guard::new(Some(&format!("/{name}")), "c");
    g.cg.create().unwrap();
    let mut v = json!({
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 30},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 32},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]
    });
    let dev = block_device();
    if let Some((_, d)) = &dev {
        let (maj, min) = d.split_once(':').unwrap();
        let (maj, min): (i64, i64) = (maj.parse().unwrap(), min.parse().unwrap());
        v["blockIO"] =
            json!({"throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}]});
    }
    g.cg.apply(&resources(v)).unwrap();

    let read = |ctrl: &str, file: &str| kernel_file(&g.cg, ctrl, file).trim().to_string();
    if on_v1(&g.cg, "memory") {
        assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
        assert_eq!(read("memory", "memory.soft_limit_in_bytes"), "33554432");
        assert_eq!(read("memory", "memory.memsw.limit_in_bytes"), "134217728");
        assert_eq!(read("memory", "memory.swappiness"), "30");
    } else {
        assert_eq!(read("memory", "memory.max"), "67108864");
        assert_eq!(read("memory", "memory.low"), "33554432");
        assert_eq!(read("memory", "memory.swap.max"), "67108864");
    }
    if on_v1(&g.cg, "cpu") {
        assert_eq!(read("cpu", "cpu.shares"), "512");
        assert_eq!(read("cpu", "cpu.cfs_quota_us"), "20000");
        assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
    } else {
        assert_eq!(read("cpu", "cpu.weight"), "20");
        assert_eq!(read("cpu", "cpu.max"), "20000 100000");
    }
    assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(read("cpuset", "cpuset.mems"), "0");
    assert_eq!(read("pids", "pids.max"), "32");
    let huge = if on_v1(&g.cg, "hugetlb") {
        "hugetlb.2MB.limit_in_bytes"
    } else {
        "hugetlb.2MB.max"
    };
    assert_eq!(read("hugetlb", huge), "4194304");
    if let Some((_, d)) = dev {
        if on_v1(&g.cg, "blkio") {
            assert_eq!(
                read("blkio", "blkio.throttle.read_bps_device"),
                format!("{d} 1048576")
            );
        } else {
            assert_eq!(
                read("io", "io.max"),
                format!("{d} rbps=1048576 wbps=max riops=max wiops=max")
            );
        }
    }
    let stats = g.cg.stats().unwrap();
    assert_eq!(stats.memory_limit, Some(67108864));
    assert_eq!(stats.pids_limit, Some(32));
    assert_eq!(stats.pids_current, Some(0));
}

#[test]
fn real_process_lifecycle() {
    let name = unique("life");
    let mut g = Guard::new(Some(&format!("/{name}")), "c");
    g.cg.create().unwrap();
    g.cg.apply(&resources(json!({"pids": {"limit": 16}})))
        .unwrap();
    let (pid, mut probe) = spawn_probe(&mut g);
    g.cg.add_process(pid).unwrap();
    assert_eq!(g.cg.procs().unwrap(), [pid]);
    // The kernel agrees, in every hierarchy.
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(own.lines().count(), g.cg.dirs().count(), "{own}");
    for line in own.lines() {
        assert!(line.ends_with(&format!("/{name}")), "{line}");
    }
    assert_eq!(g.cg.stats().unwrap().pids_current, Some(1));

    probe.send("spin");
    g.cg.freeze().unwrap();
    assert_eq!(g.cg.freezer_state().unwrap(), FreezerState::Frozen);
    if on_v1(&g.cg, "freezer") {
        assert_eq!(
            kernel_file(&g.cg, "freezer", "freezer.state").trim(),
            "FROZEN"
        );
    } else {
        assert!(kernel_file(&g.cg, "", "cgroup.events").contains("frozen 1"));
    }
    assert_ne!(proc_state(pid), "R", "a frozen task does not run");
    g.cg.thaw().unwrap();
    assert_eq!(g.cg.freezer_state().unwrap(), FreezerState::Thawed);

    for c in &mut g.children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    g.children.clear();
    assert_eq!(g.cg.procs().unwrap(), Vec::<i32>::new());
    let dirs: Vec<PathBuf> = g.cg.dirs().map(|(_, d)| d.to_path_buf()).collect();
    g.cg.destroy().unwrap();
    for d in dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    g.cg.destroy().unwrap(); // twice is fine
}

#[test]
fn real_device_rules_deny_then_allow() {
    let name = unique("dev");
    let mut g = Guard::new(Some(&format!("/{name}")), "c");
    g.cg.create().unwrap();
    let (pid, mut probe) = spawn_probe(&mut g);
    g.cg.add_process(pid).unwrap();
    assert_eq!(probe.ask("open"), "open-ok", "no rules yet");
    assert_eq!(probe.ask("write"), "write-ok", "no rules yet");

    let deny_all = json!([{"allow": false, "access": "rwm"}]);
    g.cg.apply(&resources(json!({"devices": deny_all})))
        .unwrap();
    assert_eq!(probe.ask("open"), "open-denied");

    // The new rules replace the old ones: read is allowed, write is not.
    let allow_null = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "r"}
    ]);
    g.cg.apply(&resources(json!({"devices": allow_null})))
        .unwrap();
    assert_eq!(probe.ask("open"), "open-ok");
    assert_eq!(probe.ask("write"), "write-denied");
    if on_v1(&g.cg, "devices") {
        assert_eq!(
            kernel_file(&g.cg, "devices", "devices.list").trim(),
            "c 1:3 r"
        );
    }
}

#[test]
fn real_relative_path_and_child_cgroups() {
    let name = unique("rel");
    let g = Guard::new(Some(&name), "c");
    g.cg.create().unwrap();
    let layout = Layout::detect().unwrap();
    for (h, dir) in g.cg.dirs() {
        assert_eq!(dir, h.own_dir().unwrap().join(&name));
        assert!(dir.is_dir());
        // A cgroup the container made inside its own (e.g. with cgroupns).
        std::fs::create_dir(dir.join("inner")).unwrap();
    }
    assert_eq!(g.cg.dirs().count(), layout.hierarchies().len());
    g.cg.destroy().unwrap();
    for (_, dir) in g.cg.dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn generic_root_tests_in_cgroup2_guest() {
    if Layout::detect().unwrap().mode() == Mode::Unified {
        // The real_* tests above already ran on this pure-v2 host.
        assert!(Layout::detect().unwrap().v2().is_some());
        return;
    }
    kernel::run_in_guest("real_", false);
}

#[test]
fn real_generated_device_programs_pass_the_verifier() {
    use oci_spec::runtime::LinuxDeviceCgroup;
    use wharf_cgroups::devices::{program, rules};
    use wharf_sys::bpf::{load_cgroup_device_prog, BpfInsn};

    kernel::require_root();
    let parse =
        |v: serde_json::Value| -> Vec<LinuxDeviceCgroup> { serde_json::from_value(v).unwrap() };
    let many: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            let (typ, access) = (["a", "b", "c"][i % 3], ["r", "w", "rm", "rwm"][i % 4]);
            json!({"allow": i % 3 != 0, "type": typ, "major": i, "minor": i * 7, "access": access})
        })
        .collect();
    let sets = [
        json!([]),
        json!([{"allow": true, "access": "rwm"}]),
        json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]),
        json!([{"allow": true, "access": "rwm"}, {"allow": false, "type": "b", "access": "w"}]),
        serde_json::Value::Array(many),
    ];
    for set in sets {
        let insns = program(&rules(&parse(set.clone())).unwrap());
        if let Err(e) = load_cgroup_device_prog(&insns, c"Apache-2.0") {
            panic!(
                "{} rules, {} insns: {e}",
                set.as_array().unwrap().len(),
                insns.len()
            );
        }
    }
    // A refused program comes back with the verifier's reason.
    let no_exit = [BpfInsn::new(0xb7, 0, 0, 0, 1)];
    let err = load_cgroup_device_prog(&no_exit, c"Apache-2.0").unwrap_err();
    assert!(!err.log.is_empty(), "{err}");
}
