//! `wharf shim`: the small monitor that is a container's parent. It
//! creates the container with the runtime library, holds its stdio (pipes
//! or the pty), writes its json-file log, runs execs, reaps exit statuses
//! and answers the daemon on a unix socket, so that containers outlive the
//! daemon (live restore). It is single-threaded and never uses an async
//! runtime: one poll loop.
//!
//! [`proto`] is the wire protocol, shared with the daemon's client.

#![forbid(unsafe_code)]

pub mod proto;
