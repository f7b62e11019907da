//! Finding the probe's JSON line in what a container printed; a command
//! fed on stdin, a stream collected in the background, and a command's
//! output put into words for assertion messages.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use crate::report::{ActionResult, Report};

/// A command's stdout as text.
pub fn stdout_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `cmd` with `input` written to its stdin from a thread (so that a
/// command answering before it has read everything cannot block it), its
/// stdout and stderr collected.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the command runs");
    let _ = writer.join();
    out
}

/// A command's exit status, stdout and stderr, for assertion messages.
pub fn explain(o: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The last line of `stdout` that starts with `{`, parsed as `T`; panics
/// (naming the output) when there is none or it does not parse, as a test
/// assertion would.
pub fn json_line<T: serde::de::DeserializeOwned>(stdout: &str) -> T {
    let line = stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line in output: {stdout:?}"));
    serde_json::from_str(line.trim_start()).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// The probe's report (`wharf-probe report`) in a container's output.
pub fn report_in(stdout: &str) -> Report {
    json_line(stdout)
}

/// The probe's action result (`wharf-probe write ...`) in a container's
/// output.
pub fn action_in(stdout: &str) -> ActionResult {
    json_line(stdout)
}

/// The bytes of a stream (a following command's stdout, a pty's master),
/// collected by a thread as they come.
pub struct Collector {
    seen: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts the thread reading `from` until its end or an error (EIO on
    /// a pty master once every slave descriptor is closed).
    pub fn spawn(mut from: impl Read + Send + 'static) -> Collector {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Collector {
            seen,
            reader: Some(reader),
        }
    }

    /// Everything read so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// How many bytes were read so far.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Whether nothing was read yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `ok` holds for the text (at most `limit`, a hang guard,
    /// then panics naming `what`); returns the text.
    pub fn wait_until(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.text();
            if ok(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; what came:\n{text}"
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the stream's end (its writer gone) and the thread; returns
    /// the text.
    pub fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.text()
    }
}
