//! Stats on a real cgroup holding a real process that used CPU and memory.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use oci_spec::runtime::{LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};
use wharf_cgroups::{Cgroup, Layout};
use wharf_engine::stats::sample;

/// Kills the process and removes the cgroup, even when the test fails.
struct Guard {
    cg: Cgroup,
    child: Child,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.cg.destroy();
    }
}

#[test]
fn stats_of_a_real_cgroup() {
    let id = format!("hio-stats-{}", std::process::id());
    let cg = Cgroup::new(
        Layout::detect().unwrap(),
        Some(&format!("/wharf/{id}")),
        &id,
    )
    .unwrap();
    cg.create().unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * 1024 * 1024)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(50).build().unwrap())
        .build()
        .unwrap();
    cg.apply(&res).unwrap();
    // The shell waits for a line, so it joins the cgroup before it works.
    let child = Command::new("/bin/sh")
        .args([
            "-c",
            "read go; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; x=$(head -c 2000000 /dev/zero | tr '\\0' a); echo done; exec sleep 1000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut g = Guard { cg, child };
    g.cg.add_process(g.child.id() as i32).unwrap();
    g.child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let mut line = String::new();
    BufReader::new(g.child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "done\n");

    let s = sample(&g.cg).unwrap();
    println!("stats: {s:?}");
    assert!(s.read_nano > 0);
    assert!(s.cpu.total_usage > 0, "{s:?}");
    assert!(s.cpu.system_cpu_usage > s.cpu.total_usage);
    assert!(s.cpu.online_cpus >= 1);
    assert!(s.memory.usage > 0);
    assert_eq!(s.memory.limit, 64 * 1024 * 1024);
    assert!(s.memory.max_usage >= s.memory.usage || s.memory.max_usage == 0);
    assert!(!s.memory.stats.is_empty());
    // v1 names its memory.stat keys cache/rss, v2 anon/file.
    assert!(
        s.memory.stats.contains_key("rss") || s.memory.stats.contains_key("anon"),
        "{:?}",
        s.memory.stats
    );
    assert_eq!(s.pids.limit, 50);
    assert!(s.pids.current >= 1);
    if !s.cpu.percpu_usage.is_empty() {
        assert!(s.cpu.percpu_usage.iter().sum::<u64>() > 0);
    }
    let later = sample(&g.cg).unwrap();
    assert!(later.cpu.total_usage >= s.cpu.total_usage);
    assert!(later.read_nano > s.read_nano);
}

/// The same on a pure cgroup v2 host: the test above, run again in the
/// cgroup2 guest (tools/cgroup2-vm.sh).
#[test]
fn stats_of_a_real_cgroup_in_the_cgroup2_guest() {
    use wharf_testkit::cgroups::{in_guest, libtest_counts, pure_v2, run_self_in_guest};
    if in_guest() || pure_v2() {
        return;
    }
    let out = run_self_in_guest(&[
        "stats_of_a_real_cgroup",
        "--exact",
        "--test-threads=1",
        "--nocapture",
    ])
    .expect("tools/cgroup2-vm.sh could not be started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "guest run failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(libtest_counts(&stdout), Some((1, 0)), "{stdout}");
}
