//! `wharf shim` (internal): the per-container monitor the daemon starts
//! with a JSON configuration on stdin (see `wharf_shim::proto`).

use std::process::ExitCode;

/// Runs the shim. It forks processes that enter the container, so it first
/// re-executes from a copy of the binary that cannot be written
/// (CVE-2019-5736); with the mount API that costs one exec and no memory.
pub fn main() -> ExitCode {
    if let Err(e) = wharf_sys::cloned_binary::reexec_from_sealed_copy() {
        let line = serde_json::json!({
            "error": format!("failed to re-execute from a read-only copy of the binary: {e}")
        });
        println!("{line}");
        return ExitCode::FAILURE;
    }
    let _ = rustix::thread::set_name(c"wharf-shim");
    match wharf_shim::main() {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
