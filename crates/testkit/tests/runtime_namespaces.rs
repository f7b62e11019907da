//! Namespaces end to end: every kind made new (its inode differs from the
//! host's) and joined by path (its inode equals the holder's), user
//! namespace id mappings seen from both sides, time namespace offsets,
//! hostname and domainname. Runs `wharf runtime`;
//! `WHARF_TEST_RUNTIME=/usr/sbin/runc` runs the same tests against runc.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use wharf_testkit::host::{edit_spec, ns_inode, status_field, wait_for};
use wharf_testkit::{action_in, assert_no_leaks, report_in, Bundle, Report, Runtime};

/// OCI namespace type and its `/proc/<pid>/ns` name.
const KINDS: [(&str, &str); 8] = [
    ("cgroup", "cgroup"),
    ("ipc", "ipc"),
    ("mount", "mnt"),
    ("network", "net"),
    ("pid", "pid"),
    ("user", "user"),
    ("uts", "uts"),
    ("time", "time"),
];

const HOST_ID: u32 = 100_000;

fn id_mappings(v: &mut Value) {
    let map = json!([{ "containerID": 0, "hostID": HOST_ID, "size": 65536 }]);
    v["linux"]["uidMappings"] = map.clone();
    v["linux"]["gidMappings"] = map;
}

/// Sets `linux.namespaces` to the given (type, path) pairs.
fn namespaces(v: &mut Value, list: &[(&str, Option<String>)]) {
    let ns: Vec<Value> = list
        .iter()
        .map(|(t, p)| match p {
            Some(path) => json!({ "type": t, "path": path }),
            None => json!({ "type": t }),
        })
        .collect();
    v["linux"]["namespaces"] = Value::Array(ns);
}

fn run_report(rt: &Runtime, bundle: &Bundle, tag: &str) -> (Report, String) {
    let stdout = rt.run_clean(bundle, tag, &[]);
    (report_in(&stdout), stdout)
}

/// A container left running (`wharf-probe sleep 60`), for others to join.
fn start_holder(rt: &Runtime, bundle: &Bundle, tag: &str) -> (String, i32) {
    let id = rt.unique_id(tag);
    rt.create_ok(bundle, &id).expect("create holder");
    if let Err(e) = rt.run_ok(&["start", &id]) {
        panic!(
            "start holder: {e}\ncontainer stderr: {}",
            rt.container_stderr(&id)
        );
    }
    let pid = rt.state(&id).expect("state").pid.expect("holder pid");
    (id, pid)
}

#[test]
fn new_namespaces_of_every_kind_differ_from_host() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        let all: Vec<(&str, Option<String>)> = KINDS.iter().map(|(t, _)| (*t, None)).collect();
        namespaces(v, &all);
        id_mappings(v);
    })
    .expect("config");
    let (r, _) = run_report(&rt, &bundle, "allns");
    for (oci, proc_name) in KINDS {
        let host = ns_inode("self", proc_name).expect("host namespace");
        let inside = r.namespaces.get(proc_name).copied();
        assert!(inside.is_some(), "probe saw no {proc_name} namespace");
        assert_ne!(inside, Some(host), "namespace {oci} is the host's");
    }
    assert_eq!(r.pid, 1);
}

/// Runs a probe that joins `kind` of `holder_pid` by path (every other
/// namespace new) and checks the inode it sees.
fn join_by_path(rt: &Runtime, oci: &str, proc_name: &str, path: String, want: u64, user: bool) {
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        let mut list: Vec<(&str, Option<String>)> = ["pid", "network", "ipc", "uts", "mount"]
            .iter()
            .filter(|t| **t != oci)
            .map(|t| (*t, None))
            .collect();
        list.push((oci, Some(path.clone())));
        namespaces(v, &list);
        if user {
            id_mappings(v);
        }
        if oci == "uts" {
            // Setting a hostname would change the joined namespace's.
            v.as_object_mut().unwrap().remove("hostname");
        }
    })
    .expect("config");
    let (r, _) = run_report(rt, &bundle, &format!("join-{proc_name}"));
    assert_eq!(
        r.namespaces.get(proc_name).copied(),
        Some(want),
        "{oci} namespace joined from {path}"
    );
    if oci == "uts" {
        assert_eq!(r.hostname, "wharf-test", "joined uts keeps its hostname");
    }
    if oci == "pid" {
        assert_ne!(r.pid, 1, "a joined pid namespace already has its init");
    }
}

/// Joins each of cgroup, ipc, network, pid, uts and time from another
/// container's `/proc/<pid>/ns/<kind>`.
fn join_from_container(oci: &str, proc_name: &str) {
    let rt = Runtime::new().expect("runtime");
    let mut holder = Bundle::sleeper().expect("bundle");
    if oci == "time" || oci == "user" {
        edit_spec(&mut holder, |v| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "type": oci }));
            if oci == "user" {
                id_mappings(v);
            }
        })
        .expect("config");
    }
    let (id, pid) = start_holder(&rt, &holder, "holder");
    let want = ns_inode(&pid.to_string(), proc_name).expect("holder namespace");
    assert_ne!(
        Some(want),
        ns_inode("self", proc_name),
        "holder has its own"
    );
    join_by_path(
        &rt,
        oci,
        proc_name,
        format!("/proc/{pid}/ns/{proc_name}"),
        want,
        oci == "user",
    );
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(holder.path()));
}

#[test]
fn join_cgroup_namespace_by_path() {
    join_from_container("cgroup", "cgroup");
}

#[test]
fn join_ipc_namespace_by_path() {
    join_from_container("ipc", "ipc");
}

#[test]
fn join_network_namespace_by_path() {
    join_from_container("network", "net");
}

#[test]
fn join_pid_namespace_by_path() {
    join_from_container("pid", "pid");
}

#[test]
fn join_uts_namespace_by_path() {
    join_from_container("uts", "uts");
}

#[test]
fn join_time_namespace_by_path() {
    join_from_container("time", "time");
}

/// A process kept in namespaces made by `unshare(1)`, killed on drop.
struct Holder(Child);

impl Holder {
    fn new(flags: &[&str], proc_name: &str) -> Holder {
        let child = Command::new("unshare")
            .args(flags)
            .args(["sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let holder = Holder(child);
        let pid = holder.0.id().to_string();
        let host = ns_inode("self", proc_name);
        wait_for(Duration::from_secs(10), || {
            let now = ns_inode(&pid, proc_name);
            (now.is_some() && now != host).then_some(())
        })
        .expect("unshare made the namespace");
        holder
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn join_mount_namespace_by_path() {
    // Another container's mount namespace no longer sees the bundle (it
    // pivoted into its own root), so the holder is `unshare --mount`,
    // whose namespace is a copy of the host's.
    let rt = Runtime::new().expect("runtime");
    let holder = Holder::new(&["--mount", "--propagation", "private"], "mnt");
    let pid = holder.0.id().to_string();
    let want = ns_inode(&pid, "mnt").expect("holder mnt");
    join_by_path(
        &rt,
        "mount",
        "mnt",
        format!("/proc/{pid}/ns/mnt"),
        want,
        false,
    );
}

#[test]
fn join_user_namespace_by_path() {
    join_from_container("user", "user");
}

#[test]
fn join_network_namespace_made_by_ip_netns() {
    struct NetNs(String);
    impl Drop for NetNs {
        fn drop(&mut self) {
            let _ = Command::new("ip")
                .args(["netns", "delete", &self.0])
                .status();
        }
    }
    let rt = Runtime::new().expect("runtime");
    let name = format!("wharf-t{}-netns", std::process::id());
    let status = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .expect("ip");
    assert!(status.success(), "ip netns add {name}");
    let ns = NetNs(name);
    let path = format!("/run/netns/{}", ns.0);
    let want = std::fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .expect("netns file");
    join_by_path(&rt, "network", "net", path, want, false);
}

#[test]
fn user_namespace_maps_uid_and_gid() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe report; exec /bin/wharf-probe sleep 60",
        ])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "user" }));
        id_mappings(v);
    })
    .expect("config");
    let (id, pid) = start_holder(&rt, &bundle, "userns");
    let stdout = wait_for(Duration::from_secs(30), || {
        let out = rt.container_stdout(&id);
        out.contains('{').then_some(out)
    })
    .expect("the probe reported");
    let r = report_in(&stdout);
    assert_eq!((r.uid, r.gid, r.euid), (0, 0, 0), "root inside");
    let user = ns_inode(&pid.to_string(), "user");
    assert_ne!(user, ns_inode("self", "user"), "new user namespace");
    assert_eq!(r.namespaces.get("user").copied(), user);
    let uids = status_field(pid, "Uid");
    let gids = status_field(pid, "Gid");
    assert_eq!(uids.first().map(String::as_str), Some("100000"), "{uids:?}");
    assert_eq!(gids.first().map(String::as_str), Some("100000"), "{gids:?}");
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields, ["0", "100000", "65536"]);
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn time_namespace_offsets_shift_the_clocks() {
    const MONO: i64 = 10 * 86400;
    const BOOT: i64 = 20 * 86400;
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_args(&["/bin/sh", "-c", "cat /proc/uptime; /bin/wharf-probe clock"])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "time" }));
        v["linux"]["timeOffsets"] = json!({
            "monotonic": { "secs": MONO, "nanosecs": 0 },
            "boottime": { "secs": BOOT, "nanosecs": 0 },
        });
    })
    .expect("config");
    let host = |id| rustix::time::clock_gettime(id).tv_sec;
    let mono_before = host(rustix::time::ClockId::Monotonic);
    let boot_before = host(rustix::time::ClockId::Boottime);
    let stdout = rt.run_clean(&bundle, "timens", &[]);
    let mono_after = host(rustix::time::ClockId::Monotonic);
    let boot_after = host(rustix::time::ClockId::Boottime);
    let clock = action_in(&stdout);
    let mono = clock.data["monotonic"].as_i64().expect("monotonic");
    let boot = clock.data["boottime"].as_i64().expect("boottime");
    assert!(
        (mono_before + MONO..=mono_after + MONO).contains(&mono),
        "monotonic {mono} not host + {MONO}"
    );
    assert!(
        (boot_before + BOOT..=boot_after + BOOT).contains(&boot),
        "boottime {boot} not host + {BOOT}"
    );
    let uptime: f64 = stdout
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no /proc/uptime in {stdout:?}"));
    let uptime = uptime as i64;
    assert!(
        (boot_before + BOOT..=boot_after + BOOT).contains(&uptime),
        "/proc/uptime {uptime} not host boottime + {BOOT}"
    );
}

#[test]
fn hostname_and_domainname() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["hostname"] = json!("probe-host");
        v["domainname"] = json!("wharf.example");
    })
    .expect("config");
    let host_name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let (r, _) = run_report(&rt, &bundle, "uts");
    assert_eq!(r.hostname, "probe-host");
    assert_eq!(r.domainname, "wharf.example");
    let after = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    assert_eq!(after, host_name, "host hostname unchanged");
}

#[test]
fn kinds_left_out_are_the_hosts() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        namespaces(v, &[("mount", None)]);
        v.as_object_mut().unwrap().remove("hostname");
    })
    .expect("config");
    let (r, _) = run_report(&rt, &bundle, "hostns");
    for (oci, proc_name) in KINDS {
        let host = ns_inode("self", proc_name);
        let inside = r.namespaces.get(proc_name).copied();
        if oci == "mount" {
            assert_ne!(inside, host, "mount namespace is new");
        } else {
            assert_eq!(inside, host, "{oci} namespace is the host's");
        }
    }
    assert_ne!(r.pid, 1, "in the host's pid namespace");
}

#[test]
fn rootless_spec_runs_in_a_user_namespace() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    let config = bundle.path().join("config.json");
    std::fs::remove_file(&config).expect("remove config");
    let b = bundle.path().to_string_lossy().into_owned();
    rt.run_ok(&["spec", "--rootless", "--bundle", &b])
        .expect("spec --rootless");
    *bundle.spec_mut() = oci_spec::runtime::Spec::load(&config).expect("spec");
    bundle.set_probe_args(&["report"]).expect("config");
    edit_spec(&mut bundle, |v| v["process"]["terminal"] = json!(false)).expect("config");
    let (r, _) = run_report(&rt, &bundle, "rootless");
    assert_eq!(r.uid, 0);
    assert_ne!(r.namespaces.get("user").copied(), ns_inode("self", "user"));
    assert_eq!(r.pid, 1);
}

#[test]
fn user_and_time_namespaces_together() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["clock"]).expect("config");
    edit_spec(&mut bundle, |v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(json!({ "type": "user" }));
        ns.push(json!({ "type": "time" }));
        id_mappings(v);
        v["linux"]["timeOffsets"] = json!({ "boottime": { "secs": 86400, "nanosecs": 0 } });
    })
    .expect("config");
    let before = rustix::time::clock_gettime(rustix::time::ClockId::Boottime).tv_sec;
    let stdout = rt.run_clean(&bundle, "usertime", &[]);
    let after = rustix::time::clock_gettime(rustix::time::ClockId::Boottime).tv_sec;
    let boot = action_in(&stdout).data["boottime"]
        .as_i64()
        .expect("boottime");
    assert!(
        (before + 86400..=after + 86400).contains(&boot),
        "boottime {boot} not host + 1 day"
    );
}

fn userns_bundle() -> Bundle {
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "user" }));
        id_mappings(v);
    })
    .expect("config");
    bundle
}

#[test]
fn user_namespace_with_oom_score_adj_and_rlimits() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = userns_bundle();
    edit_spec(&mut bundle, |v| {
        v["process"]["oomScoreAdj"] = json!(300);
        v["process"]["rlimits"] = json!([{ "type": "RLIMIT_NOFILE", "soft": 100, "hard": 200 }]);
    })
    .expect("config");
    let (r, _) = run_report(&rt, &bundle, "userns-oom");
    assert_eq!(r.oom_score_adj, Some(300));
    assert_eq!(r.rlimits["RLIMIT_NOFILE"].soft, Some(100));
    assert_eq!(r.uid, 0);
}

#[test]
fn exec_into_a_user_namespace_container() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = userns_bundle();
    bundle.set_probe_args(&["sleep", "60"]).expect("config");
    let (id, pid) = start_holder(&rt, &bundle, "userns-exec");
    let out = rt
        .run_ok(&["exec", &id, "/bin/wharf-probe", "report"])
        .expect("exec");
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r.uid, 0, "root inside");
    for ns in ["user", "pid", "mnt", "net"] {
        assert_eq!(
            r.namespaces.get(ns).copied(),
            ns_inode(&pid.to_string(), ns),
            "{ns} of init"
        );
    }
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn user_namespace_with_a_non_root_user_and_a_terminal() {
    use wharf_testkit::console::read_master_until;
    let rt = Runtime::new().expect("runtime");
    let mut bundle = userns_bundle();
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe tty; /bin/wharf-probe report",
        ])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        v["process"]["terminal"] = json!(true);
        v["process"]["user"] = json!({ "uid": 1000, "gid": 1000, "additionalGids": [100] });
    })
    .expect("config");
    let id = rt.unique_id("userns-tty");
    let master = wharf_testkit::console::create_with_console(&rt, &bundle, &id);
    let keep = master.try_clone().expect("dup");
    let pid = rt.state(&id).expect("state").pid.expect("pid");
    rt.run_ok(&["start", &id]).expect("start");
    // Read until the container's side closes (EIO on the master).
    let text = read_master_until(master, "", Duration::from_secs(30));
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with('{'))
        .collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    let tty: serde_json::Value = serde_json::from_str(lines[0]).expect("tty");
    assert_eq!(tty["stdin"], json!(true), "{tty}");
    let r: Report = serde_json::from_str(lines[1]).expect("report");
    assert_eq!((r.uid, r.gid), (1000, 1000));
    assert_eq!(r.groups, [100]);
    let uids = status_field(pid, "Uid");
    assert_eq!(uids.first().map(String::as_str), Some("101000"), "{uids:?}");
    rt.wait_status(&id, "stopped").expect("stopped");
    drop(keep);
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}
