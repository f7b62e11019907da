//! Which namespaces a container joins and which it gets anew, and the order
//! in which a process enters them.
//!
//! The order follows the kernel's permission rules (namespaces(7),
//! setns(2), user_namespaces(7)): joining a namespace needs CAP_SYS_ADMIN in
//! the user namespace that owns it, so existing namespaces are joined while
//! the process still has the host's privileges (a joined user namespace
//! first, since it decides who owns what comes after). A new user namespace
//! is created next, and every other new namespace after it, so that they are
//! owned by the container's user namespace.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// The namespace plan of one container.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Namespaces to join by path, user namespace first.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// A new user namespace is created (then ids must be mapped).
    pub new_user: bool,
    /// `CLONE_NEW*` flags of the other new namespaces.
    pub new_flags: i32,
}

/// The `CLONE_NEW*` flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> i32 {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// The name of a namespace under `/proc/<pid>/ns/`.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

impl Plan {
    /// The plan for a validated spec.
    pub fn new(spec: &Spec) -> Plan {
        let mut plan = Plan::default();
        let namespaces = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        for ns in &namespaces {
            match (ns.typ(), ns.path()) {
                (LinuxNamespaceType::User, Some(p)) => plan.join.insert(0, (ns.typ(), p.clone())),
                (_, Some(p)) => plan.join.push((ns.typ(), p.clone())),
                (LinuxNamespaceType::User, None) => plan.new_user = true,
                (t, None) => plan.new_flags |= flag(t),
            }
        }
        plan
    }

    /// Whether the container has a namespace of type `t` of its own or joined.
    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.new_flags & flag(t) != 0
            || (t == LinuxNamespaceType::User && self.new_user)
            || self.join.iter().any(|(j, _)| *j == t)
    }

    /// Whether the container gets a new namespace of type `t`.
    pub fn is_new(&self, t: LinuxNamespaceType) -> bool {
        if t == LinuxNamespaceType::User {
            self.new_user
        } else {
            self.new_flags & flag(t) != 0
        }
    }
}

/// A namespace that could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// Opening the namespace file failed.
    #[error("failed to open {kind} namespace {path}")]
    Open {
        /// Namespace kind.
        kind: &'static str,
        /// The path from config.json.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// setns(2) refused.
    #[error("failed to join {kind} namespace {path}")]
    Join {
        /// Namespace kind.
        kind: &'static str,
        /// The path from config.json.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// unshare(2) refused.
    #[error("failed to create new namespaces ({kinds})")]
    Unshare {
        /// The kinds asked for.
        kinds: String,
        #[source]
        source: std::io::Error,
    },
}

/// Joins every namespace of the plan, in order.
pub fn join_all(plan: &Plan) -> Result<(), NamespaceError> {
    for (t, path) in &plan.join {
        let kind = proc_name(*t);
        let file = File::open(path).map_err(|source| NamespaceError::Open {
            kind,
            path: path.clone(),
            source,
        })?;
        wharf_sys::process::setns(file.as_fd(), flag(*t)).map_err(|source| {
            NamespaceError::Join {
                kind,
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(())
}

/// Creates the namespaces in `flags`.
pub fn unshare(flags: i32) -> Result<(), NamespaceError> {
    if flags == 0 {
        return Ok(());
    }
    wharf_sys::process::unshare(flags).map_err(|source| NamespaceError::Unshare {
        kinds: kinds(flags),
        source,
    })
}

/// Every namespace type, in the order they are joined when all are.
pub const ALL: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Time,
];

fn kinds(flags: i32) -> String {
    ALL.into_iter()
        .filter(|t| flags & flag(*t) != 0)
        .map(proc_name)
        .collect::<Vec<_>>()
        .join(", ")
}
