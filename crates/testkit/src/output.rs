//! Finding the probe's JSON line in what a container printed.

use crate::report::{ActionResult, Report};

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
