//! cgroups for Wharf containers: v1, v2 and hybrid layouts behind one
//! interface.
//!
//! [`Layout`] discovers the mounted hierarchies (from mountinfo and
//! `/proc/self/cgroup`, both replaceable so that tests can point the crate at
//! a temporary tree of plain files). [`Cgroup`] is one container's cgroup in
//! every hierarchy: it creates the directories, applies OCI
//! `linux.resources` (each controller goes to the v1 hierarchy that has it, or
//! else to the v2 one), moves processes in, freezes and thaws, reads
//! counters and removes everything again. On v2, device rules become an eBPF
//! program generated here and loaded through `wharf_sys::bpf`.
//!
//! This crate knows OCI resource types but nothing of containers' other
//! configuration, images or the daemon; it depends only on `wharf-sys`.
#![forbid(unsafe_code)]

mod block_io;
mod cgroup;
mod convert;
pub mod devices;
mod error;
mod files;
mod freezer;
mod layout;
mod path;
mod resources;
mod stats;

pub use cgroup::Cgroup;
pub use convert::{blkio_to_io_weight, shares_to_weight, swap_to_v2};
pub use error::{CgroupError, Result};
pub use freezer::FreezerState;
pub use layout::{hierarchies, Hierarchy, Layout, Mode, Version};
pub use path::{CgroupPath, DEFAULT_PARENT};
pub use stats::Stats;
