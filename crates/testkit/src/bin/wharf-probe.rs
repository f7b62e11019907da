//! `wharf-probe`: run as a container's process, it reports what it sees
//! (`report`) or tries one thing (`write`, `forkbomb`, `mount-tmpfs`, ...),
//! printing one JSON object on stdout. It exits 0 when the action worked,
//! 1 when it did not, 2 on a usage error.
#![forbid(unsafe_code)]

#[path = "wharf-probe/actions.rs"]
mod actions;
#[path = "wharf-probe/collect.rs"]
mod collect;
#[path = "wharf-probe/extra.rs"]
mod extra;
#[path = "wharf-probe/overwrite.rs"]
mod overwrite;

use std::process::ExitCode;

const USAGE: &str = "usage: wharf-probe report | write PATH [DATA] | read PATH | stat PATH \
| ls DIR | exit N | sleep SECS | forkbomb [MAX] | alloc MIB | mount-tmpfs DIR \
| sysctl NAME [VALUE] | overwrite-exe FIFO STOP | clock | tty | count PATH";

/// Default cap on `forkbomb` when no limit stops it first.
const FORKBOMB_MAX: usize = 4096;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match argv.as_slice() {
        ["report"] | [] => {
            let report = collect::report();
            return print(&serde_json::to_string(&report), 0);
        }
        ["exit", n] => match n.parse::<u8>() {
            Ok(code) => return ExitCode::from(code),
            Err(_) => return usage(),
        },
        ["write", path] => actions::write(path, ""),
        ["write", path, contents] => actions::write(path, contents),
        ["read", path] => actions::read(path),
        ["stat", path] => actions::stat(path),
        ["ls", dir] => actions::ls(dir),
        ["sleep", secs] => match secs.parse() {
            Ok(s) => actions::sleep(s),
            Err(_) => return usage(),
        },
        ["forkbomb"] => actions::forkbomb(FORKBOMB_MAX),
        ["forkbomb", max] => match max.parse() {
            Ok(m) => actions::forkbomb(m),
            Err(_) => return usage(),
        },
        ["alloc", mib] => match mib.parse() {
            Ok(m) => actions::alloc(m),
            Err(_) => return usage(),
        },
        ["mount-tmpfs", dir] => actions::mount_tmpfs(dir),
        ["overwrite-exe", fifo, stop] => overwrite::overwrite_exe(fifo, stop),
        ["sysctl", name] => actions::sysctl(name, None),
        ["sysctl", name, value] => actions::sysctl(name, Some(value)),
        ["clock"] => extra::clock(),
        ["tty"] => extra::tty(),
        ["count", path] => extra::count(path),
        _ => return usage(),
    };
    let result = actions::finish(argv[0], outcome);
    let code = if result.ok { 0 } else { 1 };
    print(&serde_json::to_string(&result), code)
}

fn print(json: &Result<String, serde_json::Error>, code: u8) -> ExitCode {
    match json {
        Ok(text) => {
            println!("{text}");
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("wharf-probe: failed to encode the result: {e}");
            ExitCode::from(3)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
