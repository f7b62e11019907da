//! Seam tests without root: a full `LinuxResources` applied to fake v1, v2
//! and hybrid trees, checking exactly which file received which value.

mod common;

use std::path::Path;

use common::{Kind, Tree};
use oci_spec::runtime::LinuxResources;
use serde_json::json;
use wharf_cgroups::{Cgroup, CgroupError};

fn resources(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

fn memory_cpu_pids_io_huge() -> serde_json::Value {
    json!({
        "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824,
                   "kernel": 1, "kernelTCP": 1, "swappiness": 10, "disableOOMKiller": true},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "leafWeight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 0}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}]
    })
}

fn setup(kind: Kind) -> (Tree, Cgroup) {
    let t = Tree::new(kind);
    t.add_cgroup(Path::new("wharf/c1"));
    let cg = Cgroup::new(t.layout(), None, "c1").unwrap();
    cg.create().unwrap();
    (t, cg)
}

fn check(t: &Tree, expected: &[(&str, &str, &str)]) {
    for (ctrl, file, want) in expected {
        assert_eq!(t.read(ctrl, "wharf/c1", file), *want, "{ctrl} {file}");
    }
}

const V1_COMMON: &[(&str, &str, &str)] = &[
    ("cpuset", "cpuset.cpus", "0-3\n0-1\n"), // copied from the parent by create
    ("cpuset", "cpuset.mems", "0\n0\n"),
    ("devices", "devices.deny", "a\na\n"),
    ("devices", "devices.allow", "c 1:3 rwm\nc 136:* rw\n"),
    ("memory", "memory.memsw.limit_in_bytes", "1073741824\n"),
    ("memory", "memory.limit_in_bytes", "536870912\n"),
    ("memory", "memory.soft_limit_in_bytes", "268435456\n"),
    ("memory", "memory.swappiness", "10\n"),
    ("memory", "memory.oom_control", "1\n"),
    ("cpu", "cpu.shares", "1024\n"),
    ("cpu", "cpu.cfs_period_us", "100000\n"),
    ("cpu", "cpu.cfs_quota_us", "50000\n"),
    ("cpu", "cpu.rt_period_us", "1000000\n"),
    ("cpu", "cpu.rt_runtime_us", "950\n"),
    ("cpu", "cpu.idle", ""),
    ("pids", "pids.max", "64\n"),
    ("blkio", "blkio.weight", "500\n"),
    ("blkio", "blkio.leaf_weight", "300\n"),
    ("blkio", "blkio.weight_device", "8:0 600\n"),
    ("blkio", "blkio.leaf_weight_device", "8:0 200\n"),
    ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576\n"),
    ("blkio", "blkio.throttle.write_bps_device", "8:0 2097152\n"),
    ("blkio", "blkio.throttle.read_iops_device", "8:0 100\n"),
    ("blkio", "blkio.throttle.write_iops_device", "8:16 0\n"),
];

fn v1_resources() -> LinuxResources {
    let mut v = memory_cpu_pids_io_huge();
    v["cpu"]["realtimeRuntime"] = json!(950);
    v["cpu"]["realtimePeriod"] = json!(1000000);
    v["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "access": "rw"}
    ]);
    v["network"] = json!({"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]});
    resources(v)
}

#[test]
fn full_resources_v1() {
    let (t, cg) = setup(Kind::V1);
    cg.apply(&v1_resources()).unwrap();
    check(&t, V1_COMMON);
    check(
        &t,
        &[
            ("hugetlb", "hugetlb.2MB.limit_in_bytes", "209715200\n"),
            ("hugetlb", "hugetlb.1GB.limit_in_bytes", ""),
            ("net_cls", "net_cls.classid", "1048577\n"),
            ("net_prio", "net_prio.ifpriomap", "eth0 500\n"),
        ],
    );
}

#[test]
fn full_resources_hybrid() {
    let (t, cg) = setup(Kind::Hybrid);
    let mut res = v1_resources();
    res.set_network(None);
    res.set_unified(Some(
        [("hugetlb.1GB.max".to_string(), "0".to_string())].into(),
    ));
    cg.apply(&res).unwrap();
    check(&t, V1_COMMON);
    // hugetlb lives on the v2 tree here, like on this project's CI host.
    check(
        &t,
        &[
            ("hugetlb", "hugetlb.2MB.max", "209715200\n"),
            ("hugetlb", "hugetlb.1GB.max", "0\n"),
        ],
    );
    assert_eq!(
        t.read("hugetlb", "", "cgroup.subtree_control"),
        "+hugetlb\n"
    );
}

#[test]
fn full_resources_v2() {
    let (t, cg) = setup(Kind::V2);
    let mut v = memory_cpu_pids_io_huge();
    v["cpu"]["burst"] = json!(1000);
    v["cpu"]["idle"] = json!(0);
    v["unified"] = json!({"pids.max": "100", "memory.low": "1000"});
    cg.apply(&resources(v)).unwrap();
    check(
        &t,
        &[
            ("cpuset", "cpuset.cpus", "0-1\n"),
            ("cpuset", "cpuset.mems", "0\n"),
            ("memory", "memory.swap.max", "536870912\n"),
            ("memory", "memory.max", "536870912\n"),
            ("memory", "memory.low", "268435456\n1000\n"),
            ("cpu", "cpu.weight", "39\n"),
            ("cpu", "cpu.max", "50000 100000\n"),
            ("cpu", "cpu.max.burst", "1000\n"),
            ("cpu", "cpu.idle", "0\n"),
            ("pids", "pids.max", "64\n100\n"),
            ("io", "io.weight", "default 4950\n8:0 5960\n"),
            (
                "io",
                "io.max",
                "8:0 rbps=1048576\n8:0 wbps=2097152\n8:0 riops=100\n8:16 wiops=max\n",
            ),
            ("hugetlb", "hugetlb.2MB.max", "209715200\n"),
        ],
    );
    let all = "+cpuset +cpu +io +memory +hugetlb +pids +rdma\n";
    assert_eq!(t.read("cpu", "", "cgroup.subtree_control"), all);
    assert_eq!(t.read("cpu", "wharf", "cgroup.subtree_control"), all);
}

#[test]
fn v2_prefers_bfq_weight_when_present() {
    let (t, cg) = setup(Kind::V2);
    std::fs::write(t.mount("io").join("wharf/c1/io.bfq.weight"), "").unwrap();
    let res = resources(
        json!({"blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 600}]}}),
    );
    cg.apply(&res).unwrap();
    check(
        &t,
        &[
            ("io", "io.bfq.weight", "500\n8:0 600\n"),
            ("io", "io.weight", ""),
        ],
    );
}

#[test]
fn v1_memory_shrinking_writes_limit_before_memsw() {
    let (t, cg) = setup(Kind::V1);
    std::fs::write(
        t.mount("memory")
            .join("wharf/c1/memory.memsw.limit_in_bytes"),
        "4000000\n",
    )
    .unwrap();
    cg.apply(&resources(
        json!({"memory": {"limit": 1000000, "swap": 2000000}}),
    ))
    .unwrap();
    // Limit first: memsw may never drop below the memory limit.
    check(
        &t,
        &[(
            "memory",
            "memory.memsw.limit_in_bytes",
            "4000000\n2000000\n",
        )],
    );
    check(&t, &[("memory", "memory.limit_in_bytes", "1000000\n")]);
}

#[test]
fn unsupported_resources_are_named() {
    let cases = [
        (
            Kind::V1,
            json!({"unified": {"memory.high": "1"}}),
            "unified",
        ),
        (
            Kind::Hybrid,
            json!({"rdma": {"mlx5_0": {"hcaHandles": 3}}}),
            "rdma",
        ),
        (
            Kind::Hybrid,
            json!({"network": {"classID": 1}}),
            "network.classID",
        ),
        (
            Kind::V2,
            json!({"cpu": {"realtimeRuntime": 100}}),
            "cpu.realtimeRuntime",
        ),
        (
            Kind::V1,
            json!({"hugepageLimits": [{"pageSize": "4MB", "limit": 1}]}),
            "hugepageLimits[4MB]",
        ),
        (
            Kind::V2,
            json!({"unified": {"memory.high": "1"}}),
            "unified[memory.high]",
        ),
    ];
    for (kind, v, name) in cases {
        let (_t, cg) = setup(kind);
        let err = cg.apply(&resources(v)).unwrap_err();
        assert!(
            matches!(err, CgroupError::Unsupported { .. }),
            "{kind:?}: {err}"
        );
        assert!(err.to_string().contains(name), "{kind:?}: {err}");
    }
}

#[test]
fn invalid_values_are_rejected_before_writing() {
    let cases = [
        (Kind::V2, json!({"unified": {"../memory.max": "1"}})),
        (Kind::V2, json!({"unified": {"memory/max": "1"}})),
        (Kind::V2, json!({"unified": {"cgroup.procs": "1"}})),
        (Kind::V2, json!({"memory": {"limit": 100, "swap": 50}})),
        (Kind::V1, json!({"memory": {"swappiness": 101}})),
        (Kind::V1, json!({"blockIO": {"weight": 5}})),
        (
            Kind::V1,
            json!({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}),
        ),
        (
            Kind::V1,
            json!({"devices": [{"allow": true, "access": "rwx"}]}),
        ),
    ];
    for (kind, v) in cases {
        let (t, cg) = setup(kind);
        let err = cg.apply(&resources(v.clone())).unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidValue { .. }),
            "{v}: {err}"
        );
        let limit = if kind == Kind::V2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        assert_eq!(t.read("memory", "wharf/c1", limit), "", "{v}");
    }
}

#[test]
fn write_errors_name_value_and_file() {
    let (t, cg) = setup(Kind::V2);
    let file = t.mount("pids").join("wharf/c1/pids.max");
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let err = cg
        .apply(&resources(json!({"pids": {"limit": 5}})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("failed to write 5 to {}", file.display())
    );
    assert!(std::error::Error::source(&err).is_some());
}
