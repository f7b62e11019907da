//! Finding the probe's JSON line in what a container printed, and a
//! command fed on stdin and its output put into words for assertion
//! messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
