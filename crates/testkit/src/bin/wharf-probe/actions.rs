//! The probe's actions and attacks: each tries one thing and says whether
//! it worked, with the errno when it did not.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wharf_testkit::ActionResult;

/// The result of an action: data on success, the error on failure.
pub type Outcome = Result<Map<String, Value>, io::Error>;

/// Turns an outcome into the printed result.
pub fn finish(action: &str, outcome: Outcome) -> ActionResult {
    match outcome {
        Ok(data) => ActionResult {
            action: action.into(),
            ok: true,
            data,
            ..ActionResult::default()
        },
        Err(e) => ActionResult {
            action: action.into(),
            ok: false,
            errno: e.raw_os_error(),
            error: Some(e.to_string()),
            data: Map::new(),
        },
    }
}

fn data(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `write PATH [DATA]`: creates or truncates PATH and writes DATA.
pub fn write(path: &str, contents: &str) -> Outcome {
    fs::write(path, contents)?;
    Ok(data(json!({ "path": path, "bytes": contents.len() })))
}

/// `read PATH`: the file's contents (lossy UTF-8).
pub fn read(path: &str) -> Outcome {
    let bytes = fs::read(path)?;
    Ok(data(
        json!({ "path": path, "value": String::from_utf8_lossy(&bytes) }),
    ))
}

/// `stat PATH`: lstat, with the type, permission bits, owner and device.
pub fn stat(path: &str) -> Outcome {
    let md = fs::symlink_metadata(path)?;
    let kind = wharf_testkit::host::file_kind(md.file_type());
    let rdev = md.rdev();
    Ok(data(json!({
        "path": path,
        "type": kind,
        "mode": md.mode() & 0o7777,
        "uid": md.uid(),
        "gid": md.gid(),
        "size": md.size(),
        "major": rustix::fs::major(rdev),
        "minor": rustix::fs::minor(rdev),
    })))
}

/// `ls DIR`: the sorted entry names.
pub fn ls(dir: &str) -> Outcome {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(data(json!({ "path": dir, "entries": names })))
}

/// `sleep SECS`: sleeps, then reports.
pub fn sleep(secs: f64) -> Outcome {
    std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
    Ok(data(json!({ "slept": secs })))
}

/// `forkbomb [MAX]`: starts sleeping copies of the probe until the kernel
/// refuses one (a pids limit, RLIMIT_NPROC) or MAX are running, reports
/// the count and the errno (`fork_errno`), then kills them all. It succeeds when a fork
/// was refused.
pub fn forkbomb(max: usize) -> Outcome {
    let exe = std::env::current_exe()?;
    let mut children: Vec<Child> = Vec::new();
    let mut failure = None;
    while children.len() < max {
        match Command::new(&exe)
            .args(["sleep", "120"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => children.push(c),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let count = children.len();
    for c in &mut children {
        let _ = c.kill();
    }
    for c in &mut children {
        let _ = c.wait();
    }
    match failure {
        Some(e) => Ok(data(json!({
            "count": count,
            "fork_errno": e.raw_os_error(),
            "fork_error": e.to_string(),
        }))),
        None => Err(io::Error::other(format!(
            "started {count} processes without being refused"
        ))),
    }
}

/// `alloc MIB`: allocates MIB mebibytes and touches every page.
pub fn alloc(mib: usize) -> Outcome {
    let len = mib * 1024 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(len).map_err(io::Error::other)?;
    buf.resize(len, 0);
    for i in (0..len).step_by(4096) {
        buf[i] = 1;
    }
    let touched = buf.iter().step_by(4096).filter(|b| **b == 1).count();
    Ok(data(json!({ "mib": mib, "pages": touched })))
}

/// `mount-tmpfs DIR`: tries to mount a tmpfs on DIR.
pub fn mount_tmpfs(dir: &str) -> Outcome {
    rustix::mount::mount(
        "tmpfs",
        dir,
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None,
    )?;
    Ok(data(json!({ "path": dir })))
}

/// `sysctl NAME [VALUE]`: reads, or writes, `/proc/sys/<NAME with / for .>`.
pub fn sysctl(name: &str, value: Option<&str>) -> Outcome {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    if let Some(v) = value {
        fs::write(&path, v)?;
    }
    let now = fs::read_to_string(&path)?;
    Ok(data(json!({ "name": name, "value": now.trim_end() })))
}
