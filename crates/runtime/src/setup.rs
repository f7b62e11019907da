//! The last steps before the container's process runs, shared by a
//! container's init and by `exec`: rlimits, working directory, user and
//! groups, capabilities, and finding the program to execute.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{PosixRlimitType, Process};
use rustix::process::{Gid, Resource, Rlimit, Uid};

use crate::caps;

/// A step of process setup that failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// setrlimit refused.
    #[error("failed to set rlimit {resource} to soft {soft}, hard {hard}")]
    Rlimit {
        /// The resource name.
        resource: String,
        /// Soft limit.
        soft: u64,
        /// Hard limit.
        hard: u64,
        #[source]
        source: std::io::Error,
    },
    /// The working directory is unusable.
    #[error("failed to change to working directory {path}")]
    Cwd {
        /// process.cwd.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The working directory resolved outside the container's root
    /// (CVE-2024-21626: a leaked descriptor used as cwd).
    #[error("working directory {path} is outside the container's root filesystem")]
    CwdOutside {
        /// process.cwd.
        path: PathBuf,
    },
    /// Changing user or groups failed.
    #[error("failed to switch to {what} {id}")]
    Identity {
        /// uid, gid or supplementary groups.
        what: &'static str,
        /// The id(s).
        id: String,
        #[source]
        source: std::io::Error,
    },
    /// A capability step failed.
    #[error("failed to {step}")]
    Capabilities {
        /// Which step.
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The program is not there.
    #[error("exec: {name:?}: executable file not found in $PATH")]
    NotFound {
        /// args[0].
        name: String,
    },
    /// The program is there but cannot be executed.
    #[error("exec: {path:?}: {reason}")]
    NotExecutable {
        /// The resolved path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An argument or variable holds a NUL byte.
    #[error("process.{field} contains a NUL byte")]
    Nul {
        /// args or env.
        field: &'static str,
    },
    /// A prctl or other small system call failed.
    #[error("failed to {step}")]
    Sys {
        /// What was attempted.
        step: String,
        #[source]
        source: std::io::Error,
    },
}

/// The program to run, resolved inside the container.
#[derive(Debug)]
pub struct ExecTarget {
    /// The resolved executable path.
    pub path: CString,
    /// argv.
    pub args: Vec<CString>,
    /// envp.
    pub env: Vec<CString>,
}

fn resource(t: PosixRlimitType) -> Option<Resource> {
    use PosixRlimitType::*;
    Some(match t {
        RlimitCpu => Resource::Cpu,
        RlimitFsize => Resource::Fsize,
        RlimitData => Resource::Data,
        RlimitStack => Resource::Stack,
        RlimitCore => Resource::Core,
        RlimitRss => Resource::Rss,
        RlimitNproc => Resource::Nproc,
        RlimitNofile => Resource::Nofile,
        RlimitMemlock => Resource::Memlock,
        RlimitAs => Resource::As,
        RlimitLocks => Resource::Locks,
        RlimitSigpending => Resource::Sigpending,
        RlimitMsgqueue => Resource::Msgqueue,
        RlimitNice => Resource::Nice,
        RlimitRtprio => Resource::Rtprio,
        RlimitRttime => Resource::Rttime,
    })
}

/// Applies process.rlimits.
pub fn set_rlimits(process: &Process) -> Result<(), SetupError> {
    for r in process.rlimits().iter().flatten() {
        let Some(res) = resource(r.typ()) else {
            continue;
        };
        let limit = |v: u64| (v != u64::MAX).then_some(v);
        let rl = Rlimit {
            current: limit(r.soft()),
            maximum: limit(r.hard()),
        };
        rustix::process::setrlimit(res, rl).map_err(|e| SetupError::Rlimit {
            resource: format!("{:?}", r.typ()).to_uppercase(),
            soft: r.soft(),
            hard: r.hard(),
            source: e.into(),
        })?;
    }
    Ok(())
}

/// Creates process.cwd (mode 0755) if it is missing; called inside the new
/// root while still root and before the root is remounted read-only.
pub fn create_cwd(cwd: &Path) -> Result<(), SetupError> {
    use std::os::unix::fs::DirBuilderExt;
    if std::fs::symlink_metadata(cwd).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(cwd)
            .map_err(|source| SetupError::Cwd {
                path: cwd.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

/// Applies process.ioPriority and process.scheduler.
pub fn set_scheduling(process: &Process) -> Result<(), SetupError> {
    use oci_spec::runtime::{IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy};
    if let Some(io) = process.io_priority() {
        let class = match io.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        wharf_sys::sched::set_io_priority(class, io.priority() as u32).map_err(|source| {
            SetupError::Sys {
                step: format!(
                    "set process.ioPriority ({:?}, {})",
                    io.class(),
                    io.priority()
                ),
                source,
            }
        })?;
    }
    if let Some(sched) = process.scheduler() {
        let policy = match sched.policy() {
            LinuxSchedulerPolicy::SchedOther => 0,
            LinuxSchedulerPolicy::SchedFifo => 1,
            LinuxSchedulerPolicy::SchedRr => 2,
            LinuxSchedulerPolicy::SchedBatch => 3,
            LinuxSchedulerPolicy::SchedIso => 4,
            LinuxSchedulerPolicy::SchedIdle => 5,
            LinuxSchedulerPolicy::SchedDeadline => 6,
        };
        let flags = sched.flags().iter().flatten().fold(0u64, |acc, f| {
            acc | match f {
                LinuxSchedulerFlag::SchedResetOnFork => 0x01,
                LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
                LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
                LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
                LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
                LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
                LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
            }
        });
        let attr = wharf_sys::sched::SchedAttr {
            policy,
            flags,
            nice: sched.nice().unwrap_or(0),
            priority: sched.priority().unwrap_or(0) as u32,
            runtime: sched.runtime().unwrap_or(0),
            deadline: sched.deadline().unwrap_or(0),
            period: sched.period().unwrap_or(0),
        };
        wharf_sys::sched::set_scheduler(attr).map_err(|source| SetupError::Sys {
            step: format!("set process.scheduler ({:?})", sched.policy()),
            source,
        })?;
    }
    Ok(())
}

/// Applies linux.personality (the execution domain; flags are refused, as
/// no flag is defined for containers yet).
pub fn set_personality(
    personality: Option<&oci_spec::runtime::LinuxPersonality>,
) -> Result<(), SetupError> {
    use oci_spec::runtime::LinuxPersonalityDomain;
    let Some(p) = personality else { return Ok(()) };
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(SetupError::Sys {
            step: "set linux.personality".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "personality flags are not supported",
            ),
        });
    }
    let persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    wharf_sys::sched::set_personality(persona).map_err(|source| SetupError::Sys {
        step: format!("set linux.personality {}", p.domain()),
        source,
    })
}

/// Changes into process.cwd (creating it if missing, as runc does) and
/// checks that the result is inside the container's root: a working
/// directory reached through a leaked host descriptor (`/proc/self/fd/N`)
/// shows up in getcwd(3) as "(unreachable)/…" and is refused.
pub fn enter_cwd(cwd: &Path) -> Result<(), SetupError> {
    let err = |source| SetupError::Cwd {
        path: cwd.to_path_buf(),
        source,
    };
    if std::fs::symlink_metadata(cwd).is_err() {
        std::fs::create_dir_all(cwd).map_err(err)?;
    }
    std::env::set_current_dir(cwd).map_err(err)?;
    let now = rustix::process::getcwd(Vec::new()).map_err(|e| err(e.into()))?;
    if !now.to_bytes().starts_with(b"/") {
        return Err(SetupError::CwdOutside {
            path: cwd.to_path_buf(),
        });
    }
    Ok(())
}

/// Switches to process.user and sets the five capability sets.
pub fn set_identity(process: &Process) -> Result<(), SetupError> {
    let caps_err = |step| move |e: std::io::Error| SetupError::Capabilities { step, source: e };
    let caps = process.capabilities().clone().unwrap_or_default();
    caps::drop_bounding(&caps).map_err(caps_err("drop capabilities from the bounding set"))?;
    let user = process.user();
    // Keep the permitted set across the uid change (capabilities(7)).
    rustix::thread::set_keep_capabilities(true)
        .map_err(|e| caps_err("set PR_SET_KEEPCAPS")(e.into()))?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    let id_err = |what, id: String| {
        move |e: rustix::io::Errno| SetupError::Identity {
            what,
            id,
            source: e.into(),
        }
    };
    // setgroups is refused in a user namespace whose setgroups file says
    // "deny"; with no supplementary groups asked for there is nothing to do.
    if !groups.is_empty() || setgroups_allowed() {
        rustix::thread::set_thread_groups(&groups)
            .map_err(id_err("supplementary groups", format!("{groups:?}")))?;
    }
    let gid = Gid::from_raw(user.gid());
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .map_err(id_err("gid", user.gid().to_string()))?;
    let uid = Uid::from_raw(user.uid());
    rustix::thread::set_thread_res_uid(uid, uid, uid)
        .map_err(id_err("uid", user.uid().to_string()))?;
    caps::apply(&caps).map_err(caps_err("set capabilities"))?;
    rustix::thread::set_keep_capabilities(false)
        .map_err(|e| caps_err("clear PR_SET_KEEPCAPS")(e.into()))?;
    if let Some(mask) = user.umask() {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    Ok(())
}

fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() == "allow")
}

/// Resolves args[0] against PATH from process.env, as execvp would, and
/// checks that it is an executable regular file, so that a missing program
/// is reported by `create` rather than lost after `start`.
pub fn resolve_exec(process: &Process) -> Result<ExecTarget, SetupError> {
    let args = process.args().clone().unwrap_or_default();
    let env = process.env().clone().unwrap_or_default();
    let name = args.first().cloned().unwrap_or_default();
    let path = if name.contains('/') {
        PathBuf::from(&name)
    } else {
        let search = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(crate::spec::DEFAULT_PATH);
        search
            .split(':')
            .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(&name))
            .find(|p| is_executable(p))
            .ok_or(SetupError::NotFound { name: name.clone() })?
    };
    match std::fs::metadata(&path) {
        Err(e) => {
            return Err(SetupError::NotExecutable {
                path,
                reason: e.to_string(),
            })
        }
        Ok(m) if m.is_dir() => {
            return Err(SetupError::NotExecutable {
                path,
                reason: "is a directory".into(),
            })
        }
        Ok(_) => {}
    }
    let cstr = |field, s: &[u8]| CString::new(s).map_err(|_| SetupError::Nul { field });
    Ok(ExecTarget {
        path: cstr("args", path.as_os_str().as_bytes())?,
        args: args
            .iter()
            .map(|a| cstr("args", a.as_bytes()))
            .collect::<Result<_, _>>()?,
        env: env
            .iter()
            .map(|e| cstr("env", e.as_bytes()))
            .collect::<Result<_, _>>()?,
    })
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
