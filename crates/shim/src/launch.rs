//! Starting a shim: read the configuration, leave the daemon's session and
//! process tree, create the container with its stdio, bind the socket and
//! report the init's pid.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;

use rustix::fs::{Mode, OFlags};
use wharf_runtime::{CreateOptions, Runtime};

use crate::process::{Proc, Stdio};
use crate::proto::{Launched, ShimConfig, EXIT_FILE, PID_FILE, SOCKET};
use crate::server::Shim;
use crate::{chain, io_err, Result, ShimError};

/// `wharf shim`: reads a [`ShimConfig`] on stdin, detaches, and serves
/// until the container's init has exited. Returns the exit status.
pub fn main() -> i32 {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        report(&ShimError::Io {
            op: "read the configuration".into(),
            source: e,
        });
        return 1;
    }
    let cfg: ShimConfig = match serde_json::from_slice(&input) {
        Ok(c) => c,
        Err(e) => {
            report(&ShimError::Config(e));
            return 1;
        }
    };
    // A session of our own (no terminal of the daemon's reaches us), then
    // one fork: the process the daemon started exits at once and the
    // daemon reaps it; the shim lives on as an orphan.
    let _ = rustix::process::setsid();
    let fork = wharf_sys::process::SingleThreaded::check()
        .and_then(|t| wharf_sys::process::clone3_single_threaded(&t, Default::default()));
    match fork {
        Ok(wharf_sys::process::Fork::Parent(_)) => return 0,
        Ok(wharf_sys::process::Fork::Child) => {}
        Err(e) => {
            report(&io_err("fork the shim")(e));
            return 1;
        }
    }
    // Our stdout is the daemon's pipe: keep it apart from fd 1, which the
    // container inherits.
    let out = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdout(), 3).ok();
    match setup(&cfg) {
        Ok((mut shim, pid)) => {
            if let Some(out) = out {
                send_line(
                    out,
                    &Launched {
                        pid: Some(pid),
                        error: None,
                    },
                );
            }
            shim.serve();
            0
        }
        Err(e) => {
            if let Some(out) = out {
                send_line(
                    out,
                    &Launched {
                        pid: None,
                        error: Some(launch_error(&cfg.id, &e)),
                    },
                );
            }
            1
        }
    }
}

/// The error line of a failed launch: the runtime's own message when it
/// already names the container (the engine matches on it to pick an exit
/// code), else the whole chain.
fn launch_error(id: &str, e: &ShimError) -> String {
    if let ShimError::Runtime { source, .. } = e {
        let inner = chain(&**source);
        if inner.contains(id) {
            return inner;
        }
    }
    chain(e)
}

fn report(e: &ShimError) {
    let line = Launched {
        pid: None,
        error: Some(chain(e)),
    };
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string(&line).expect("serializes")
    );
}

fn send_line(fd: OwnedFd, line: &Launched) {
    let mut f = std::fs::File::from(fd);
    let mut text = serde_json::to_vec(line).expect("serializes");
    text.push(b'\n');
    let _ = f.write_all(&text);
}

/// Opens `/dev/null` read-write, close-on-exec.
pub(crate) fn dev_null() -> Result<OwnedFd> {
    rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(io_err("open /dev/null"))
}

/// Points descriptors 0-2 at `fds` (what a process the runtime forks
/// inherits as its stdio).
pub(crate) fn set_stdio(fds: [&OwnedFd; 3]) -> Result<()> {
    rustix::stdio::dup2_stdin(fds[0].as_fd())
        .and_then(|()| rustix::stdio::dup2_stdout(fds[1].as_fd()))
        .and_then(|()| rustix::stdio::dup2_stderr(fds[2].as_fd()))
        .map_err(io_err("set the standard descriptors"))
}

fn setup(cfg: &ShimConfig) -> Result<(Shim, i32)> {
    reset_signals()?;
    // Orphans of a container without its own pid namespace come to us.
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(io_err("become a subreaper"))?;
    std::fs::create_dir_all(&cfg.dir).map_err(io_err(format!("create {}", cfg.dir.display())))?;
    let _ = std::fs::remove_file(cfg.dir.join(EXIT_FILE));
    let null = dev_null()?;
    let rt = Runtime::new(&cfg.runtime_root);
    let stdio = Stdio::new(cfg.tty, cfg.open_stdin, false, &null)?;
    let opts = CreateOptions {
        bundle: cfg.bundle.clone(),
        ..CreateOptions::default()
    };
    let created = rt.create_with_console(&cfg.id, &opts, stdio.console);
    set_stdio([&null, &null, &null])?;
    let created = created.map_err(|source| ShimError::Runtime {
        op: "create",
        id: cfg.id.clone(),
        source: Box::new(source),
    })?;
    let pid = created.state.pid;
    let init = Proc::new(pid, stdio.ours, created.terminal, cfg.stdin_once).inspect_err(|_| {
        let _ = rt.delete(&cfg.id, true);
    })?;
    let sock = cfg.dir.join(SOCKET);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            let _ = rt.delete(&cfg.id, true);
            io_err(format!("bind {}", sock.display()))(e)
        })?;
    let _ = std::fs::write(
        cfg.dir.join(PID_FILE),
        rustix::process::getpid().as_raw_nonzero().to_string(),
    );
    Ok((Shim::new(cfg.clone(), rt, listener, init, null)?, pid))
}

/// Signals the shim never catches: the ones it cannot, and the faults that
/// must still kill it.
fn uncatchable(sig: i32) -> bool {
    use rustix::process::Signal;
    [
        Signal::KILL,
        Signal::STOP,
        Signal::SEGV,
        Signal::BUS,
        Signal::ILL,
        Signal::FPE,
        Signal::TRAP,
        Signal::ABORT,
        Signal::SYS,
    ]
    .iter()
    .any(|s| s.as_raw() == sig)
}

/// Gives the container's processes default signal handling, whatever the
/// daemon's was. Every other signal is caught by a handler that does
/// nothing: a caught signal returns to its default action at execve(2),
/// where an ignored one (a daemon started in the background ignores
/// SIGINT and SIGQUIT) would stay ignored in the container. So SIGTERM and
/// SIGINT to the shim do nothing (only the daemon's requests stop
/// containers), SIGPIPE becomes EPIPE, and SIGCHLD wakes the poll loop to
/// reap. The blocked mask, which execve keeps too, is emptied.
fn reset_signals() -> Result<()> {
    // 32 and 33 are glibc's own real-time signals.
    for sig in (1..=64).filter(|s| !uncatchable(*s) && !matches!(s, 32 | 33)) {
        let caught = wharf_sys::sigaction::catch_noop(sig);
        if sig < 32 {
            caught.map_err(io_err(format!("catch signal {sig}")))?;
        }
    }
    wharf_sys::signal::SignalSet::block_forwardable()
        .and_then(|set| set.unblock())
        .map_err(io_err("unblock signals"))
}
