//! Root tests that need a pure cgroup v2 hierarchy. On this project's hybrid
//! CI host each one boots the cgroup2 guest (`tools/cgroup2-vm.sh`) and runs
//! itself there; on a pure-v2 host it runs directly.

mod kernel;

use std::fs::{self, File};
use std::os::fd::AsFd;

use kernel::{block_device, on_cgroup2, spawn_probe, unique, Guard};
use oci_spec::runtime::LinuxResources;
use serde_json::json;
use wharf_cgroups::CgroupError;
use wharf_sys::bpf;

fn resources(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

fn attached(dir: &std::path::Path) -> Vec<u32> {
    let f = File::open(dir).unwrap();
    bpf::prog_query(f.as_fd(), bpf::ATTACH_CGROUP_DEVICE).unwrap()
}

#[test]
fn v2_device_program_is_replaced_not_stacked() {
    if !on_cgroup2("v2_device_program_is_replaced_not_stacked") {
        return;
    }
    let mut g = Guard::new(Some(&format!("/{}", unique("bpf"))), "c");
    g.cg.create().unwrap();
    let dir = g.cg.v2_dir().unwrap().to_path_buf();
    assert_eq!(attached(&dir), Vec::<u32>::new());
    let (pid, mut probe) = spawn_probe(&mut g);
    g.cg.add_process(pid).unwrap();

    g.cg.apply(&resources(
        json!({"devices": [{"allow": false, "access": "rwm"}]}),
    ))
    .unwrap();
    let first = attached(&dir);
    assert_eq!(first.len(), 1);
    assert_eq!(probe.ask("open"), "open-denied");

    let rules = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
        {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
    ]);
    g.cg.apply(&resources(json!({ "devices": rules }))).unwrap();
    let second = attached(&dir);
    assert_eq!(second.len(), 1, "the old program was detached");
    assert_ne!(first, second);
    assert_eq!(probe.ask("open"), "open-ok");
    assert_eq!(
        probe.ask("write"),
        "write-denied",
        "the later deny rule wins"
    );

    for c in &mut g.children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    g.children.clear();
    g.cg.destroy().unwrap();
    assert!(!dir.exists());
}

#[test]
fn v2_io_weight_io_max_and_unified() {
    if !on_cgroup2("v2_io_weight_io_max_and_unified") {
        return;
    }
    let g = Guard::new(Some(&format!("/{}", unique("io"))), "c");
    g.cg.create().unwrap();
    let dir = g.cg.v2_dir().unwrap();
    let (_, dev) = block_device().expect("the guest has /dev/vda");
    let (maj, min) = dev.split_once(':').unwrap();
    let (maj, min): (i64, i64) = (maj.parse().unwrap(), min.parse().unwrap());
    let t = |rate| json!([{"major": maj, "minor": min, "rate": rate}]);
    let mut v = json!({
        "blockIO": {"throttleReadBpsDevice": t(1048576), "throttleWriteBpsDevice": t(2097152),
                    "throttleReadIOPSDevice": t(100), "throttleWriteIOPSDevice": t(200)},
        "memory": {"swappiness": 10, "disableOOMKiller": true},
        "unified": {"memory.high": "52428800", "pids.max": "7"}
    });
    let weight_file = ["io.bfq.weight", "io.weight"]
        .into_iter()
        .find(|f| dir.join(f).exists());
    if weight_file.is_some() {
        v["blockIO"]["weight"] = json!(500);
    }
    g.cg.apply(&resources(v)).unwrap();
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(
        read("io.max").trim(),
        format!("{dev} rbps=1048576 wbps=2097152 riops=100 wiops=200")
    );
    match weight_file {
        Some("io.weight") => assert_eq!(read("io.weight").lines().next(), Some("default 4950")),
        Some(f) => assert_eq!(read(f).lines().next(), Some("default 500")),
        None => {}
    }
    assert_eq!(read("memory.high").trim(), "52428800");
    assert_eq!(read("pids.max").trim(), "7");

    // Lifting a throttle again: rate 0 → max.
    g.cg.apply(&resources(
        json!({"blockIO": {"throttleReadBpsDevice": t(0)}}),
    ))
    .unwrap();
    assert_eq!(
        read("io.max").trim(),
        format!("{dev} rbps=max wbps=2097152 riops=100 wiops=200")
    );
}

#[test]
fn v2_refuses_what_it_cannot_do() {
    if !on_cgroup2("v2_refuses_what_it_cannot_do") {
        return;
    }
    let g = Guard::new(Some(&format!("/{}", unique("refuse"))), "c");
    g.cg.create().unwrap();
    let err =
        g.cg.apply(&resources(json!({"cpu": {"realtimeRuntime": 1000}})))
            .unwrap_err();
    assert!(matches!(err, CgroupError::Unsupported { .. }), "{err}");
    let err =
        g.cg.apply(&resources(json!({"unified": {"memory.nonexistent": "1"}})))
            .unwrap_err();
    assert!(
        err.to_string().contains("unified[memory.nonexistent]"),
        "{err}"
    );
    let err =
        g.cg.apply(&resources(json!({"memory": {"limit": -5, "swap": 100}})))
            .unwrap_err();
    assert!(matches!(err, CgroupError::InvalidValue { .. }), "{err}");
}
