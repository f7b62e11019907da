//! `wharf-mkbundle`: writes a busybox test bundle (the same one the tests
//! use) into a directory, for scripts: the demo and the benchmark.
//!
//! ```text
//! wharf-mkbundle DIR [--hostname H] [--pids N] [--memory BYTES] [--writable]
//!                    [--terminal] [--cgroups-path P] [--] [ARGS...]
//! ```
//! Without ARGS the process is `/bin/wharf-probe report`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use oci_spec::runtime::{LinuxMemory, LinuxPids, Spec};
use wharf_testkit::{default_spec, Bundle};

const USAGE: &str = "usage: wharf-mkbundle DIR [--hostname H] [--pids N] [--memory BYTES] \
[--writable] [--terminal] [--cgroups-path P] [--] [ARGS...]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok((dir, spec)) => match Bundle::create_at(&dir, spec) {
            Ok(bundle) => {
                println!("{}", bundle.path().display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                eprintln!("wharf-mkbundle: {msg}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("wharf-mkbundle: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: Vec<String>) -> Result<(PathBuf, Spec), String> {
    let mut it = args.into_iter();
    let dir = PathBuf::from(it.next().ok_or("missing DIR")?);
    let mut spec = default_spec();
    let mut process = spec.process().clone().unwrap_or_default();
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut resources = linux.resources().clone().unwrap_or_default();
    let mut cmd: Vec<String> = Vec::new();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--hostname" => {
                spec.set_hostname(Some(value("--hostname")?));
            }
            "--pids" => {
                let limit = value("--pids")?.parse().map_err(|_| "bad --pids")?;
                let mut pids = LinuxPids::default();
                pids.set_limit(limit);
                resources.set_pids(Some(pids));
            }
            "--memory" => {
                let limit: i64 = value("--memory")?.parse().map_err(|_| "bad --memory")?;
                let mut mem = LinuxMemory::default();
                mem.set_limit(Some(limit));
                mem.set_swap(Some(limit));
                resources.set_memory(Some(mem));
            }
            "--cgroups-path" => {
                linux.set_cgroups_path(Some(value("--cgroups-path")?.into()));
            }
            "--writable" => {
                let mut root = spec.root().clone().unwrap_or_default();
                root.set_readonly(Some(false));
                spec.set_root(Some(root));
            }
            "--terminal" => {
                process.set_terminal(Some(true));
            }
            "--" => {
                cmd.extend(it.by_ref());
            }
            a if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => {
                cmd.push(arg);
                cmd.extend(it.by_ref());
            }
        }
    }
    if !cmd.is_empty() {
        process.set_args(Some(cmd));
    }
    linux.set_resources(Some(resources));
    spec.set_linux(Some(linux));
    spec.set_process(Some(process));
    Ok((dir, spec))
}
