//! Broken configurations and failures inside the container's init, through
//! the runtime's command line: each must fail with a non-zero status and
//! exactly one line on stderr that names the field or object at fault (and,
//! for a failure inside init, its cause), and leave nothing behind: no
//! state directory, cgroup, mount or process.

use std::fs;

use serde_json::{json, Value};
use wharf_testkit::{assert_no_leaks, Bundle, Runtime};

fn edit(bundle: &mut Bundle, f: impl FnOnce(&mut Value)) {
    let mut json = serde_json::to_value(bundle.spec()).unwrap();
    f(&mut json);
    // Written as JSON, not through the typed spec: some cases are specs
    // the typed builder would refuse to hold.
    fs::write(
        bundle.path().join("config.json"),
        serde_json::to_vec_pretty(&json).unwrap(),
    )
    .unwrap();
}

/// Asserts that `out` failed with one stderr line holding one of `names`
/// (case-insensitive), and that container `id` left nothing behind.
fn assert_clean_failure(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    out: &std::process::Output,
    names: &[&str],
) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{id}: {} -> {}", out.status, err.trim());
    assert!(!out.status.success(), "{id}: succeeded");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{id}: want one stderr line, got {lines:#?}");
    let lower = lines[0].to_lowercase();
    assert!(
        names.iter().any(|n| lower.contains(&n.to_lowercase())),
        "{id}: {:?} names none of {names:?}",
        lines[0]
    );
    assert!(rt.state(id).is_err(), "{id}: state still answers");
    assert!(
        !rt.root().join(id).exists(),
        "{id}: state directory {} left",
        rt.root().join(id).display()
    );
    assert_no_leaks(id, Some(bundle.path()));
    lines[0].to_string()
}

/// Creates a container from a spec changed by `f` and checks that it fails
/// cleanly naming one of `names`.
fn broken_create(tag: &str, names: &[&str], f: impl FnOnce(&mut Value)) {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    edit(&mut bundle, f);
    let id = rt.unique_id(tag);
    let out = rt.create(&bundle, &id).unwrap();
    assert_clean_failure(&rt, &bundle, &id, &out, names);
}

#[test]
fn bad_json_names_config_json() {
    let rt = Runtime::new().unwrap();
    let bundle = Bundle::new().unwrap();
    fs::write(bundle.path().join("config.json"), "{ \"ociVersion\": ").unwrap();
    let id = rt.unique_id("badjson");
    let out = rt.create(&bundle, &id).unwrap();
    assert_clean_failure(&rt, &bundle, &id, &out, &["config.json"]);
}

#[test]
fn unknown_namespace_type() {
    broken_create("nstype", &["bogus", "namespace"], |s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "bogus"}));
    });
}

#[test]
fn duplicate_namespace() {
    broken_create("nsdup", &["pid"], |s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "pid"}));
    });
}

#[test]
fn missing_rootfs() {
    broken_create("norootfs", &["no-such-rootfs"], |s| {
        s["root"]["path"] = json!("no-such-rootfs");
    });
}

#[test]
fn relative_cwd() {
    broken_create("relcwd", &["cwd"], |s| {
        s["process"]["cwd"] = json!("tmp");
    });
}

#[test]
fn relative_mount_destination() {
    broken_create("relmnt", &["destination", "relative-mnt"], |s| {
        s["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "relative-mnt", "type": "tmpfs", "source": "tmpfs"}));
    });
}

#[test]
fn relative_namespace_path() {
    broken_create("relns", &["proc/1/ns/net"], |s| {
        for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "network" {
                ns["path"] = json!("proc/1/ns/net");
            }
        }
    });
}

fn with_userns(s: &mut Value, uid_maps: Value) {
    s["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    s["linux"]["uidMappings"] = uid_maps;
    s["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

#[test]
fn id_mapping_of_size_zero() {
    broken_create("mapzero", &["uidMappings", "size", "mapping"], |s| {
        with_userns(s, json!([{"containerID": 0, "hostID": 100000, "size": 0}]));
    });
}

#[test]
fn overlapping_id_mappings() {
    broken_create("mapover", &["uidMappings", "overlap"], |s| {
        with_userns(
            s,
            json!([{"containerID": 0, "hostID": 100000, "size": 100},
                   {"containerID": 50, "hostID": 200000, "size": 100}]),
        );
    });
}

#[test]
fn unknown_id_for_every_command() {
    let rt = Runtime::new().unwrap();
    let bundle = Bundle::new().unwrap();
    let id = rt.unique_id("nosuch");
    for cmd in [
        vec!["state", id.as_str()],
        vec!["start", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", id.as_str()],
        vec!["pause", id.as_str()],
        vec!["exec", id.as_str(), "/bin/true"],
    ] {
        let out = rt.run(&cmd).unwrap();
        let line = assert_clean_failure(&rt, &bundle, &id, &out, &[&id]);
        assert!(
            line.contains("not exist") || line.contains("not found"),
            "{cmd:?}: {line}"
        );
    }
}

#[test]
fn duplicate_id_is_refused_and_the_first_survives() {
    let rt = Runtime::new().unwrap();
    let bundle = Bundle::sleeper().unwrap();
    let id = rt.unique_id("dupid");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    let pid = rt.state(&id).unwrap().pid;
    let out = rt
        .run(&["create", "--bundle", &bundle.path().to_string_lossy(), &id])
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("second create: {} -> {}", out.status, err.trim());
    assert!(!out.status.success());
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{err}"
    );
    assert!(err.contains(&id) && err.contains("exists"), "{err}");
    let first = rt.state(&id).unwrap();
    assert_eq!(first.status, "created", "the first container is untouched");
    assert_eq!(first.pid, pid);
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

/// Runs (create and start) a container whose init fails, and checks that
/// the failure reaches the caller with `what` and `cause`.
fn init_failure(tag: &str, what: &str, cause: &str, f: impl FnOnce(&mut Value)) {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    edit(&mut bundle, f);
    let id = rt.unique_id(tag);
    let out = rt.run_container(&bundle, &id).unwrap();
    let line = assert_clean_failure(&rt, &bundle, &id, &out, &[what]);
    assert!(
        line.to_lowercase().contains(&cause.to_lowercase()),
        "{tag}: cause {cause:?} missing in {line:?}"
    );
}

#[test]
fn init_exec_of_a_missing_binary() {
    init_failure(
        "nobin",
        "/no/such/binary",
        "no such file or directory",
        |s| {
            s["process"]["args"] = json!(["/no/such/binary", "arg"]);
        },
    );
}

#[test]
fn init_cwd_that_is_a_file() {
    init_failure("cwdfile", "/etc/passwd", "not a directory", |s| {
        s["process"]["cwd"] = json!("/etc/passwd");
    });
}

#[test]
fn init_mount_of_an_unknown_fs_type() {
    init_failure("badfs", "/mnt", "no such device", |s| {
        s["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/mnt", "type": "wharfnosuchfs", "source": "none"}));
    });
}

#[test]
fn exec_of_a_missing_binary_leaves_the_container_running() {
    let rt = Runtime::new().unwrap();
    let bundle = Bundle::sleeper().unwrap();
    let id = rt.unique_id("execmiss");
    assert!(rt.create(&bundle, &id).unwrap().status.success());
    rt.run_ok(&["start", &id]).unwrap();
    let out = rt.run(&["exec", &id, "/no/such/binary"]).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("exec: {} -> {}", out.status, err.trim());
    assert!(!out.status.success());
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = lines[0].to_lowercase();
    assert!(
        line.contains("/no/such/binary") && line.contains("no such file"),
        "{line}"
    );
    assert!(line.contains("exec"), "{line}");
    assert!(
        !line.contains("create"),
        "an exec failure is not a create failure: {line}"
    );
    // Nothing of the failed exec stays in the container.
    assert_eq!(rt.state(&id).unwrap().status, "running");
    let out = rt.run_ok(&["ps", &id]).unwrap();
    let ps = String::from_utf8_lossy(&out.stdout);
    let rows = ps.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert_eq!(
        rows, 1,
        "only the init is left (a header, then one row): {ps}"
    );
    rt.run_ok(&["delete", "--force", &id]).unwrap();
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn cgroups_path_climbing_out() {
    broken_create("cgclimb", &["cgroupsPath", "'..'"], |s| {
        s["linux"]["cgroupsPath"] = json!("/../../../etc");
    });
}

#[test]
fn cpuset_of_a_cpu_that_does_not_exist() {
    broken_create("cpuset", &["cpuset.cpus", "cpus"], |s| {
        s["linux"]["resources"]["cpu"] = json!({"cpus": "4095"});
    });
}

#[test]
fn cpu_quota_below_the_kernel_minimum() {
    broken_create("quota", &["cfs_quota_us", "cpu.max", "quota"], |s| {
        s["linux"]["resources"]["cpu"] = json!({"quota": 1, "period": 100000});
    });
}
