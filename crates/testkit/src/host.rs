//! What tests look at from the host: a spec edited as JSON (and a small
//! seccomp profile for it), a process's namespaces and status lines, and
//! polling with a hang guard.

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bundle::{Bundle, BundleError};

/// Changes the bundle's spec as JSON (for fields the typed builder makes
/// long-winded) and writes `config.json`; panics if the edited JSON is no
/// longer a spec, as a test assertion would.
pub fn edit_spec(bundle: &mut Bundle, f: impl FnOnce(&mut Value)) -> Result<(), BundleError> {
    let mut json = serde_json::to_value(bundle.spec()).expect("spec serializes");
    f(&mut json);
    *bundle.spec_mut() =
        serde_json::from_value(json).unwrap_or_else(|e| panic!("edited spec is invalid: {e}"));
    bundle.write_config()
}

/// The errno [`seccomp_mount_errno`] makes `mount` fail with: EXDEV, which
/// no real mount returns here.
pub const MOUNT_ERRNO: i64 = 18;

/// A `linux.seccomp` object (spec JSON) that allows every system call but
/// `mount`, which fails with [`MOUNT_ERRNO`].
pub fn seccomp_mount_errno() -> Value {
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            { "names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": MOUNT_ERRNO }
        ]
    })
}

/// The kind of a file as tests name it: `dir`, `file`, `symlink`, `char`,
/// `block`, `fifo` or `socket`.
pub fn file_kind(ft: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "dir"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "file"
    }
}

/// The inode of `/proc/<pid>/ns/<kind>` (`kind` as in `/proc`: `mnt`,
/// `net`, ...); `pid` may be `self`.
pub fn ns_inode(pid: &str, kind: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    let text = link.to_string_lossy().into_owned();
    let (_, rest) = text.split_once('[')?;
    rest.trim_end_matches(']').parse().ok()
}

/// The fields of a line of `/proc/<pid>/status` (`Uid`, `Gid`, ...), split
/// on whitespace.
pub fn status_field(pid: i32, key: &str) -> Vec<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k == key).then(|| v.split_whitespace().map(str::to_string).collect())
        })
        .unwrap_or_default()
}

/// Polls `f` every 10 ms until it returns `Some`, for at most `limit` (a
/// hang guard, not a timing assertion).
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` (a runtime command) with `file` open as descriptor 3, the way
/// a caller of `--preserve-fds 1` passes it, and checks that the report the
/// probe printed shows exactly that one extra descriptor.
pub fn check_fd3_passed(cmd: &std::process::Command, file: &std::path::Path) {
    let dir = file.parent().expect("the file has a directory");
    // The shell opens the file as descriptor 3, then becomes the runtime.
    let mut sh = std::process::Command::new("/bin/sh");
    sh.arg("-c")
        .arg("exec 3<\"$0\"; exec \"$@\"")
        .arg(file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let out = crate::output_with_timeout(&mut sh, dir, "fd3", Duration::from_secs(60))
        .expect("run with descriptor 3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = crate::report_in(&stdout);
    let name = file.file_name().expect("a file name").to_string_lossy();
    let target = r
        .fds
        .get(&3)
        .unwrap_or_else(|| panic!("no fd 3: {:?}", r.fds));
    assert!(target.ends_with(name.as_ref()), "fd 3 is {target}");
    assert!(!r.fds.contains_key(&4), "only one passed: {:?}", r.fds);
}
