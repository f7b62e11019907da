//! runc's command line, parsed by hand.
//!
//! The runtime runs three times per container (create, start, delete), so
//! its start-up is on the hot path that `bench/runtime` measures; a derive
//! parser builds its whole command tree on every start and touches a few
//! hundred KiB of code. runc's grammar is small: Go-style flags (`--flag`,
//! `-flag`, `--flag=value`, `--flag value`) before positional arguments,
//! and parsing stops at the first positional one, so that `exec ID ls -l`
//! passes `-l` to `ls`.

use std::ffi::OsString;
use std::path::PathBuf;

/// A flag this parser knows: its names and whether it takes a value.
struct Flag {
    names: &'static [&'static str],
    value: bool,
}

const fn flag(names: &'static [&'static str], value: bool) -> Flag {
    Flag { names, value }
}

const GLOBAL: &[Flag] = &[
    flag(&["root"], true),
    flag(&["log"], true),
    flag(&["log-format"], true),
    flag(&["debug"], false),
    flag(&["systemd-cgroup"], false),
    flag(&["rootless"], true),
    flag(&["criu"], true),
    flag(&["help", "h"], false),
    flag(&["version", "v"], false),
];

const CREATE: &[Flag] = &[
    flag(&["bundle", "b"], true),
    flag(&["console-socket"], true),
    flag(&["pid-file"], true),
    flag(&["no-pivot"], false),
    flag(&["no-new-keyring"], false),
    flag(&["preserve-fds"], true),
];

/// `run` takes `create`'s flags and these.
const RUN: &[Flag] = &[
    flag(&["detach", "d"], false),
    flag(&["keep"], false),
    flag(&["no-subreaper"], false),
];

const EXEC: &[Flag] = &[
    flag(&["console-socket"], true),
    flag(&["cwd"], true),
    flag(&["env", "e"], true),
    flag(&["tty", "t"], false),
    flag(&["user", "u"], true),
    flag(&["additional-gids", "g"], true),
    flag(&["process", "p"], true),
    flag(&["detach", "d"], false),
    flag(&["pid-file"], true),
    flag(&["process-label"], true),
    flag(&["apparmor"], true),
    flag(&["no-new-privs"], false),
    flag(&["cap", "c"], true),
    flag(&["preserve-fds"], true),
    flag(&["ignore-paused"], false),
    flag(&["cgroup"], true),
];

const KILL: &[Flag] = &[flag(&["all", "a"], false)];
const DELETE: &[Flag] = &[flag(&["force", "f"], false)];
const LIST: &[Flag] = &[flag(&["format", "f"], true), flag(&["quiet", "q"], false)];
const PS: &[Flag] = &[flag(&["format", "f"], true)];
const SPEC: &[Flag] = &[flag(&["bundle", "b"], true), flag(&["rootless"], false)];

/// The flags given to one command (or the global ones), by canonical name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flags {
    values: Vec<(&'static str, String)>,
}

impl Flags {
    /// The last value of a flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable flag, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean flag: present (or `=true`).
    pub fn on(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v != "false")
    }

    /// A path flag.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.value(name).map(PathBuf::from)
    }

    /// A numeric flag (0 when absent).
    pub fn number(&self, name: &str) -> Result<u32, String> {
        match self.value(name) {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: {v:?} is not a number")),
        }
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The global flags.
    pub global: Flags,
    /// The command (`create`, `start`, …); `None` with only global flags.
    pub command: Option<String>,
    /// The command's flags.
    pub flags: Flags,
    /// What follows the flags.
    pub positional: Vec<String>,
}

/// Parses `args` (without argv[0]).
pub fn parse(args: Vec<OsString>) -> Result<Args, String> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            a.into_string()
                .map_err(|a| format!("argument {a:?} is not UTF-8"))
        })
        .collect::<Result<_, _>>()?;
    let mut rest = args.into_iter().peekable();
    let global = parse_flags(&mut rest, &[GLOBAL], "wharf-runc")?;
    let Some(command) = rest.next() else {
        return Ok(Args {
            global,
            command: None,
            flags: Flags::default(),
            positional: Vec::new(),
        });
    };
    let tables: &[&[Flag]] = match command.as_str() {
        "create" => &[CREATE],
        "run" => &[CREATE, RUN],
        "exec" => &[EXEC],
        "kill" => &[KILL],
        "delete" => &[DELETE],
        "list" => &[LIST],
        "ps" => &[PS],
        "spec" => &[SPEC],
        "start" | "state" | "pause" | "resume" | "features" | "help" => &[],
        other => return Err(format!("unknown command {other:?} (see --help)")),
    };
    let flags = parse_flags(&mut rest, tables, &command)?;
    Ok(Args {
        global,
        command: Some(command),
        flags,
        positional: rest.collect(),
    })
}

fn parse_flags(
    rest: &mut std::iter::Peekable<std::vec::IntoIter<String>>,
    tables: &[&[Flag]],
    context: &str,
) -> Result<Flags, String> {
    let mut flags = Flags::default();
    while let Some(arg) = rest.peek() {
        if arg == "--" {
            rest.next();
            break;
        }
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            break;
        };
        if body.is_empty() {
            break;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let known = tables
            .iter()
            .flat_map(|t| t.iter())
            .find(|f| f.names.contains(&name));
        let Some(known) = known else {
            return Err(format!("{context}: unknown flag {arg}"));
        };
        let canonical = known.names[0];
        rest.next();
        let value = match (known.value, inline) {
            (_, Some(v)) => v,
            (true, None) => rest
                .next()
                .ok_or_else(|| format!("{context}: flag --{canonical} needs a value"))?,
            (false, None) => "true".to_string(),
        };
        flags.values.push((canonical, value));
    }
    Ok(flags)
}

/// The help text.
pub const HELP: &str = "\
wharf-runc: Wharf's OCI runtime (runc-compatible)

USAGE: wharf-runc [global flags] COMMAND [flags] [arguments]

COMMANDS:
  create [--bundle DIR] [--console-socket PATH] [--pid-file PATH]
         [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
  start ID                       release a created container's process
  run [create flags] [--detach] [--keep] ID
  state ID                       print the state as JSON
  kill [--all] ID [SIGNAL]       signal by name or number (default SIGTERM)
  delete [--force] ID
  list [--format table|json] [--quiet]
  ps [--format table|json] ID [ps options]
  exec [--process FILE | flags] ID [COMMAND...]
       flags: --console-socket --cwd --env/-e --tty/-t --user/-u uid[:gid]
              --additional-gids/-g --detach/-d --pid-file --no-new-privs
              --cap/-c --preserve-fds --ignore-paused
  pause ID | resume ID
  spec [--bundle DIR] [--rootless]  write a default config.json
  features                       print supported features as JSON

GLOBAL FLAGS:
  --root DIR        state directory (default /run/wharf/runtime)
  --log FILE        write the log to FILE
  --log-format text|json
  --debug           log debug messages
  --systemd-cgroup  use systemd for cgroups (not available without systemd)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn go_style_flags() {
        let a = p(&[
            "--root",
            "/r",
            "-log=/l",
            "create",
            "-b",
            "/b",
            "--pid-file=/p",
            "id1",
        ])
        .unwrap();
        assert_eq!(a.global.value("root"), Some("/r"));
        assert_eq!(a.global.value("log"), Some("/l"));
        assert_eq!(a.command.as_deref(), Some("create"));
        assert_eq!(a.flags.value("bundle"), Some("/b"));
        assert_eq!(a.flags.value("pid-file"), Some("/p"));
        assert_eq!(a.positional, ["id1"]);
    }

    #[test]
    fn exec_stops_at_the_first_positional() {
        let a = p(&["exec", "-t", "-e", "A=1", "--env", "B=2", "id", "ls", "-l"]).unwrap();
        assert!(a.flags.on("tty"));
        assert_eq!(a.flags.values("env"), ["A=1", "B=2"]);
        assert_eq!(a.positional, ["id", "ls", "-l"]);
    }

    #[test]
    fn booleans_and_errors() {
        let a = p(&["delete", "--force=false", "x"]).unwrap();
        assert!(!a.flags.on("force"));
        assert!(p(&["delete", "--bogus", "x"])
            .unwrap_err()
            .contains("--bogus"));
        assert!(p(&["create", "--bundle"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(p(&["frobnicate"]).unwrap_err().contains("unknown command"));
        assert_eq!(p(&["kill", "--", "-id"]).unwrap().positional, ["-id"]);
        assert_eq!(p(&["--version"]).unwrap().command, None);
    }
}
