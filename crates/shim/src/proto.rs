//! The shim protocol, shared by the shim and the daemon's client.
//!
//! Launch: the daemon runs `wharf shim` with one JSON [`ShimConfig`] on
//! stdin. The shim detaches (new session, one fork: the process the daemon
//! started exits at once), creates the container (not started), binds
//! `<dir>/shim.sock` and writes one [`Launched`] line on its stdout.
//!
//! Then every connection to the socket carries one JSON [`Request`] line and
//! gets one JSON [`Reply`] line. After a successful `attach` the connection
//! becomes the process's stream: shim→client Docker's 8-byte framing
//! ([`frame_header`]) without a tty, raw bytes with one; client→shim raw
//! stdin bytes, the client's write shutdown ending stdin.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The socket in the shim's directory.
pub const SOCKET: &str = "shim.sock";
/// The exit record in the shim's directory, written atomically once the
/// container's init exited: an [`Exit`].
pub const EXIT_FILE: &str = "exit.json";
/// The shim's own pid, written when it serves.
pub const PID_FILE: &str = "shim.pid";

/// What the daemon gives a shim on stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimConfig {
    /// The container id (also the runtime's id).
    pub id: String,
    /// The bundle directory holding config.json.
    pub bundle: PathBuf,
    /// The runtime's state root.
    pub runtime_root: PathBuf,
    /// The shim's directory: socket, exit file, pid file.
    pub dir: PathBuf,
    /// The json-file log, or None (log driver `none`).
    pub log: Option<LogConfig>,
    /// The process has a pty.
    pub tty: bool,
    /// Keep a stdin the container can read (else /dev/null).
    pub open_stdin: bool,
    /// Close the container's stdin when the first attach that sent stdin ends it.
    pub stdin_once: bool,
}

/// The json-file log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// `<data-root>/containers/<id>/<id>-json.log`.
    pub path: PathBuf,
    /// Rotate when the file reaches this many bytes (0: never).
    pub max_size: u64,
    /// Files kept, the current one included (at least 1).
    pub max_files: u32,
}

/// The one line the shim writes on its stdout once it serves (or failed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// The container's init pid on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Why the container could not be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request: one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start the created container.
    Start,
    /// Init's pid and whether it runs; its exit once it ended.
    State,
    /// Send a signal to init, or with `all` to every process of the container.
    Kill {
        /// The signal number.
        signal: i32,
        /// Every process of the container.
        #[serde(default)]
        all: bool,
    },
    /// Resize the pty of init (or of an exec).
    Resize {
        /// The exec id (None: init).
        #[serde(default)]
        exec: Option<String>,
        /// Rows.
        height: u16,
        /// Columns.
        width: u16,
    },
    /// Reply once init has exited, with its [`Exit`].
    Wait,
    /// Make this connection the process's stream.
    Attach {
        /// The exec id (None: init).
        #[serde(default)]
        exec: Option<String>,
        /// Forward what the client sends to the process's stdin.
        #[serde(default)]
        stdin: bool,
        /// Send stdout.
        #[serde(default)]
        stdout: bool,
        /// Send stderr.
        #[serde(default)]
        stderr: bool,
    },
    /// Run a process in the container.
    Exec {
        /// The exec id chosen by the daemon.
        exec: String,
        /// The process (its `terminal` is set from `tty`).
        process: Box<oci_spec::runtime::Process>,
        /// Give it a pty.
        #[serde(default)]
        tty: bool,
        /// Give it a stdin pipe (else /dev/null).
        #[serde(default)]
        stdin: bool,
        /// Nobody attaches: its output is discarded.
        #[serde(default)]
        detach: bool,
    },
    /// Whether an exec runs, and its exit code once it ended.
    ExecState {
        /// The exec id.
        exec: String,
    },
    /// Reply once the exec has ended, as [`Request::ExecState`] does then.
    ExecWait {
        /// The exec id.
        exec: String,
    },
}

/// How the container's init ended (also the content of `exit.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Exit code, 128+signal when killed by one.
    pub exit_code: i32,
    /// Its cgroup saw an OOM kill.
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
}

/// What an error reply is about, so the daemon can pick a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No such exec.
    NotFound,
    /// The process is not in a state that allows the request.
    Conflict,
    /// The request is malformed.
    Invalid,
    /// Anything else.
    System,
}

/// A reply: one JSON line. Fields not concerned by the request are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The request succeeded.
    #[serde(default)]
    pub ok: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    /// A pid (state, exec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Whether the process runs (state, exec_state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
    /// Its exit code once it ended (state, exec_state, wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// OOM killed (state and wait, once ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_killed: Option<bool>,
    /// When it ended (state and wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

impl Reply {
    /// A bare success.
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            ..Reply::default()
        }
    }

    /// A failure.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Reply {
        Reply {
            error: Some(message.into()),
            kind: Some(kind),
            ..Reply::default()
        }
    }

    /// A success carrying an exit.
    pub fn exit(exit: &Exit) -> Reply {
        Reply {
            ok: true,
            running: Some(false),
            exit_code: Some(exit.exit_code),
            oom_killed: Some(exit.oom_killed),
            finished_at: Some(exit.finished_at.clone()),
            ..Reply::default()
        }
    }

    /// The exit this reply carries, if any.
    pub fn as_exit(&self) -> Option<Exit> {
        Some(Exit {
            exit_code: self.exit_code?,
            oom_killed: self.oom_killed.unwrap_or(false),
            finished_at: self.finished_at.clone().unwrap_or_default(),
        })
    }
}

/// Stream numbers of Docker's framing.
pub const STDOUT: u8 = 1;
/// See [`STDOUT`].
pub const STDERR: u8 = 2;

/// Docker's 8-byte header for a frame of `len` bytes on `stream`
/// (`[stream, 0, 0, 0, len as u32 big-endian]`).
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_shape() {
        let r: Request = serde_json::from_str(r#"{"op":"kill","signal":15}"#).unwrap();
        assert_eq!(
            r,
            Request::Kill {
                signal: 15,
                all: false
            }
        );
        let text = serde_json::to_string(&Request::Wait).unwrap();
        assert_eq!(text, r#"{"op":"wait"}"#);
        let r: Request =
            serde_json::from_str(r#"{"op":"attach","stdout":true,"stderr":true}"#).unwrap();
        assert!(matches!(
            r,
            Request::Attach {
                exec: None,
                stdin: false,
                stdout: true,
                ..
            }
        ));
    }

    #[test]
    fn reply_carries_exit() {
        let e = Exit {
            exit_code: 137,
            oom_killed: true,
            finished_at: "2026-11-26T21:00:00.5Z".into(),
        };
        let text = serde_json::to_string(&Reply::exit(&e)).unwrap();
        let back: Reply = serde_json::from_str(&text).unwrap();
        assert_eq!(back.as_exit(), Some(e));
        assert_eq!(Reply::ok().as_exit(), None);
    }

    #[test]
    fn frame_header_is_big_endian() {
        assert_eq!(frame_header(STDERR, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
    }
}
