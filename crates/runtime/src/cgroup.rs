//! The runtime's use of `wharf-cgroups`: opening a container's cgroup, what
//! its `cgroup` mounts show, and emptying it.

use std::time::{Duration, Instant};

use oci_spec::runtime::{Linux, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};
use wharf_cgroups::{Cgroup, Layout, Version};

use crate::error::Result;
use crate::rootfs::CgroupMount;

/// The hierarchies, read once per process: a shim opens its container's
/// cgroup to create it, to read its OOM count and to delete it, and
/// `/proc/self/mountinfo` costs the kernel more with every mount on the
/// host (each container's overlay among them). Hierarchies are mounted at
/// boot and this process does not change cgroups.
static LAYOUT: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();

/// The cgroup of container `id` for `cgroups_path` (`None`: the default).
pub fn open(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
    let layout = match LAYOUT.get() {
        Some(l) => l.clone(),
        None => {
            let detected = Layout::detect()?;
            LAYOUT.get_or_init(|| detected).clone()
        }
    };
    Ok(Cgroup::new(layout, cgroups_path, id)?)
}

/// linux.resources with the device rules every container needs appended,
/// as runc does: the default devices (/dev/null, zero, full, random,
/// urandom, tty, console, ptmx, the pty slaves), so that a deny-all rule
/// does not make the container's own /dev unusable. A node of linux.devices
/// is only created, not allowed: access to it is what linux.resources.devices
/// says (as in runc; an engine that passes a device adds its allow rule).
pub fn with_default_devices(linux: &Linux) -> LinuxResources {
    let mut res = linux.resources().clone().unwrap_or_default();
    let rule = |typ, major: i64, minor: Option<i64>| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(Some(major));
        r.set_minor(minor);
        r.set_access(Some("rwm".to_string()));
        r
    };
    let mut rules = res.devices().clone().unwrap_or_default();
    let c = LinuxDeviceType::C;
    for (major, minor) in [
        (1, Some(3)),
        (1, Some(5)),
        (1, Some(7)),
        (1, Some(8)),
        (1, Some(9)),
        (5, Some(0)),
        (5, Some(1)),
        (5, Some(2)),
        (136, None),
    ] {
        rules.push(rule(c, major, minor));
    }
    // mknod of any node (as runc allows): the nodes of linux.devices are
    // made inside the container after it joined the cgroup.
    for typ in [LinuxDeviceType::C, LinuxDeviceType::B] {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_access(Some("m".to_string()));
        rules.push(r);
    }
    res.set_devices(Some(rules));
    res
}

/// One entry per hierarchy: what `/sys/fs/cgroup` shows in the container.
pub fn mounts(cg: &Cgroup) -> Vec<CgroupMount> {
    let v1_present = cg.dirs().any(|(h, _)| h.version == Version::V1);
    cg.dirs()
        .map(|(h, dir)| {
            let v2 = h.version == Version::V2;
            let name = if v2 && !v1_present {
                String::new()
            } else {
                h.mount_point
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            CgroupMount {
                v2,
                name,
                options: h.mount_options(),
                host_dir: dir.to_path_buf(),
            }
        })
        .collect()
}

/// Forks a setup process that is to join `cg`. Where the cgroup has a v2
/// part, the child is born in it (clone3 `CLONE_INTO_CGROUP`, no migration
/// at all); the returned flag says so. The child then calls
/// [`Cgroup::enter_self`] for the rest, which is fast on v1 because a
/// thread moving itself skips the kernel's global threadgroup lock.
pub fn fork_into(
    threads: &wharf_sys::process::SingleThreaded,
    cg: &Cgroup,
) -> std::io::Result<(wharf_sys::process::Fork, bool)> {
    use rustix::fs::{Mode, OFlags};
    use std::os::fd::AsFd;
    let v2 = cg.v2_dir().and_then(|dir| {
        rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    });
    if let Some(fd) = &v2 {
        let args = wharf_sys::process::CloneArgs {
            cgroup: Some(fd.as_fd()),
            ..Default::default()
        };
        // Refused e.g. when the cgroup has controllers enabled for its
        // children (the "no internal processes" rule): then migrate.
        if let Ok(fork) = wharf_sys::process::clone3_single_threaded(threads, args) {
            return Ok((fork, true));
        }
    }
    let fork = wharf_sys::process::clone3_single_threaded(threads, Default::default())?;
    Ok((fork, false))
}

/// Kills every process in the cgroup and removes it. Waits up to a few
/// seconds for the processes to go (SIGKILL cannot be ignored, but a frozen
/// cgroup must be thawed first, and exit takes a moment).
pub fn kill_and_destroy(cg: &Cgroup) -> Result<()> {
    let _ = cg.thaw();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let procs = cg.procs()?;
        if procs.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in procs {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(cg.destroy()?)
}
