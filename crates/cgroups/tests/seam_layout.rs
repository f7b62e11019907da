//! Seam tests without root: discovery, path resolution, create, processes,
//! freezer and stats on temporary trees of plain files.

mod common;

use std::fs;
use std::path::Path;

use common::{Kind, Tree};
use wharf_cgroups::{Cgroup, CgroupError, FreezerState, Mode, Version};

#[test]
fn detects_the_three_modes() {
    for (kind, mode, count) in [
        (Kind::V1, Mode::Legacy, 10),
        (Kind::V2, Mode::Unified, 1),
        (Kind::Hybrid, Mode::Hybrid, 10),
    ] {
        let t = Tree::new(kind);
        let l = t.layout();
        assert_eq!(l.mode(), mode, "{kind:?}");
        assert_eq!(l.hierarchies().len(), count, "{kind:?}");
        for h in l.hierarchies() {
            assert_eq!(
                h.own_cgroup.as_deref(),
                Some(Path::new("/own")),
                "{kind:?} {h:?}"
            );
        }
    }
}

#[test]
fn hybrid_hierarchies_like_this_host() {
    let t = Tree::new(Kind::Hybrid);
    let l = t.layout();
    let v2 = l.v2().unwrap();
    assert_eq!(v2.controllers, ["hugetlb"]);
    assert_eq!(v2.mount_point, t.root().join("unified"));
    let systemd = l.hierarchies().iter().find(|h| h.name.is_some()).unwrap();
    assert_eq!(systemd.mount_options(), "name=systemd");
    assert_eq!(systemd.version, Version::V1);
    assert_eq!(l.v1("cpuacct").unwrap().mount_options(), "cpuacct");
    assert!(l.v1("hugetlb").is_none());
}

#[test]
fn v1_combined_controllers() {
    let l = Tree::new(Kind::V1).layout();
    let cpu = l.v1("cpuacct").unwrap();
    assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
    assert_eq!(cpu.mount_options(), "cpu,cpuacct");
    assert!(l.v2().is_none());
}

#[test]
fn cgroup_path_forms_resolve_in_every_hierarchy() {
    let t = Tree::new(Kind::Hybrid);
    let cases = [
        (None, "wharf/c1"),
        (Some("/a/b"), "a/b"),
        (Some("sub/./c"), "own/sub/c"),
        (Some("x/../y"), "own/y"),
    ];
    for (path, want) in cases {
        let cg = Cgroup::new(t.layout(), path, "c1").unwrap();
        assert_eq!(cg.dirs().count(), 10);
        for (h, dir) in cg.dirs() {
            assert_eq!(dir, h.mount_point.join(want), "{path:?}");
        }
        assert_eq!(cg.v2_dir().unwrap(), t.root().join("unified").join(want));
    }
}

#[test]
fn cgroup_path_escape_rejected() {
    let t = Tree::new(Kind::V2);
    for p in ["../x", "/../etc", "a/../../b", "/"] {
        let err = Cgroup::new(t.layout(), Some(p), "c1").unwrap_err();
        assert!(matches!(err, CgroupError::InvalidPath { .. }), "{p}: {err}");
        assert!(err.to_string().contains(p), "{err}");
    }
    assert!(Cgroup::new(t.layout(), None, "../c1").is_err());
}

#[test]
fn create_makes_dirs_copies_cpuset_and_enables_controllers() {
    let t = Tree::new(Kind::Hybrid);
    t.add_cgroup(Path::new("wharf/c1"));
    let cg = Cgroup::new(t.layout(), None, "c1").unwrap();
    cg.create().unwrap();
    assert_eq!(t.read("cpuset", "wharf", "cpuset.cpus"), "0-3\n");
    assert_eq!(t.read("cpuset", "wharf/c1", "cpuset.cpus"), "0-3\n");
    assert_eq!(t.read("cpuset", "wharf/c1", "cpuset.mems"), "0\n");
    assert_eq!(
        t.read("hugetlb", "", "cgroup.subtree_control"),
        "+hugetlb\n"
    );
    assert_eq!(
        t.read("hugetlb", "wharf", "cgroup.subtree_control"),
        "+hugetlb\n"
    );
    assert_eq!(t.read("hugetlb", "wharf/c1", "cgroup.subtree_control"), "");
    // Named hierarchies get the directory too; a fresh one is made by mkdir.
    let cg2 = Cgroup::new(t.layout(), Some("/fresh/c2"), "c2").unwrap();
    cg2.create().unwrap();
    assert!(t.root().join("systemd/fresh/c2").is_dir());
    assert!(t.root().join("unified/fresh/c2").is_dir());
}

#[test]
fn processes_go_everywhere_and_come_back_as_a_union() {
    let t = Tree::new(Kind::Hybrid);
    t.add_cgroup(Path::new("wharf/c1"));
    let cg = Cgroup::new(t.layout(), None, "c1").unwrap();
    cg.add_process(4242).unwrap();
    for (_, dir) in cg.dirs() {
        assert_eq!(
            fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
            "4242\n",
            "{}",
            dir.display()
        );
    }
    fs::write(t.mount("memory").join("wharf/c1/cgroup.procs"), "4242\n7\n").unwrap();
    fs::write(
        t.mount("hugetlb").join("wharf/c1/cgroup.procs"),
        "99\n4242\n",
    )
    .unwrap();
    assert_eq!(cg.procs().unwrap(), [7, 99, 4242]);
    let missing = Cgroup::new(t.layout(), Some("/nothing/here"), "x").unwrap();
    assert_eq!(missing.procs().unwrap(), Vec::<i32>::new());
    missing.destroy().unwrap();
}

#[test]
fn freezer_v1_writes_and_reads_state() {
    let t = Tree::new(Kind::V1);
    t.add_cgroup(Path::new("wharf/c1"));
    let cg = Cgroup::new(t.layout(), None, "c1").unwrap();
    cg.freeze().unwrap();
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
    cg.thaw().unwrap();
    assert_eq!(
        t.read("freezer", "wharf/c1", "freezer.state"),
        "FROZEN\nTHAWED\n"
    );
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);
}

#[test]
fn freezer_v2_waits_for_cgroup_events() {
    let t = Tree::new(Kind::V2);
    t.add_cgroup(Path::new("wharf/c1"));
    let cg = Cgroup::new(t.layout(), None, "c1").unwrap();
    let events = t.mount("cpu").join("wharf/c1/cgroup.events");
    fs::write(&events, "populated 1\nfrozen 1\n").unwrap();
    cg.freeze().unwrap();
    assert_eq!(t.read("cpu", "wharf/c1", "cgroup.freeze"), "1\n");
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
    fs::write(&events, "populated 1\nfrozen 0\n").unwrap();
    cg.thaw().unwrap();
    assert_eq!(t.read("cpu", "wharf/c1", "cgroup.freeze"), "1\n0\n");
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);
    // Asked to freeze, not frozen yet.
    fs::write(t.mount("cpu").join("wharf/c1/cgroup.freeze"), "1\n").unwrap();
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Freezing);
}

#[test]
fn stats_v1_and_v2() {
    let t = Tree::new(Kind::V1);
    t.add_cgroup(Path::new("wharf/c1"));
    let w = |ctrl: &str, f: &str, v: &str| {
        fs::write(t.mount(ctrl).join("wharf/c1").join(f), v).unwrap()
    };
    w("memory", "memory.usage_in_bytes", "1000\n");
    w("memory", "memory.max_usage_in_bytes", "2000\n");
    w("memory", "memory.limit_in_bytes", "9223372036854771712\n");
    w(
        "memory",
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    w("cpuacct", "cpuacct.usage", "123456789\n");
    w("cpuacct", "cpuacct.stat", "user 5\nsystem 7\n");
    w("pids", "pids.current", "4\n");
    w("pids", "pids.max", "max\n");
    let s = Cgroup::new(t.layout(), None, "c1")
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(
        (s.memory_usage, s.memory_max_usage, s.oom_kills),
        (Some(1000), Some(2000), Some(3))
    );
    assert_eq!(s.memory_limit, None, "unlimited");
    assert_eq!(
        (s.cpu_usage_ns, s.cpu_user_ns, s.cpu_system_ns),
        (Some(123456789), Some(50_000_000), Some(70_000_000))
    );
    assert_eq!((s.pids_current, s.pids_limit), (Some(4), None));

    let t = Tree::new(Kind::V2);
    t.add_cgroup(Path::new("wharf/c1"));
    let w = |f: &str, v: &str| fs::write(t.mount("memory").join("wharf/c1").join(f), v).unwrap();
    w("memory.current", "4096\n");
    w("memory.max", "max\n");
    w("memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
    w("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n");
    let s = Cgroup::new(t.layout(), None, "c1")
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(
        (
            s.memory_usage,
            s.memory_max_usage,
            s.memory_limit,
            s.oom_kills
        ),
        (Some(4096), None, None, Some(1))
    );
    assert_eq!(
        (s.cpu_usage_ns, s.cpu_user_ns, s.cpu_system_ns),
        (Some(10_000), Some(6_000), Some(4_000))
    );
}
