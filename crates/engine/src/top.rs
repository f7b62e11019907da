//! Processes in a container, as Docker's `top` finds them: the host's `ps`
//! with the user's arguments (default `-ef`), its rows kept when their PID
//! is in the container's cgroup. As in Docker, the pids are first passed to
//! `ps` as `q<pid>,…` (quick selection); options that do not combine with
//! it (`f`) make that fail, and `ps` runs again with the arguments alone.
//! Thread rows (`-` in the PID column, with `m`) follow their process.

use std::process::Command;

use crate::error::{EngineError, Result};
use crate::model::Status;
use crate::Engine;

/// Titles and rows of `ps` output.
pub type Top = (Vec<String>, Vec<Vec<String>>);

impl Engine {
    /// The processes of a running container (409 when it does not run).
    pub fn top(&self, name_or_id: &str, ps_args: Option<&str>) -> Result<Top> {
        let args = ps_args.filter(|a| !a.is_empty()).unwrap_or("-ef");
        validate_ps_args(args)?;
        let c = self.container(name_or_id)?;
        match c.state.status {
            Status::Running | Status::Paused => {}
            Status::Restarting => {
                return Err(EngineError::conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::conflict(format!(
                    "Container {} is not running",
                    c.id
                )))
            }
        }
        let cg = crate::stats::container_cgroup(&c.id)?;
        let pids = cg.procs().map_err(|e| {
            EngineError::system(format!("failed to list the processes of {}", c.id), e)
        })?;
        let top = ps(&pids, args)?;
        self.events().emit(crate::model::Event {
            kind: "container".into(),
            action: "top".into(),
            id: c.id.clone(),
            attributes: [("name".to_string(), c.name.clone())].into(),
            time_nano: 0,
        });
        Ok(top)
    }
}

/// Refuses `-o x=PID…`-style arguments that rename the PID column (the
/// filter could not find it), with Docker's message.
pub fn validate_ps_args(args: &str) -> Result<()> {
    // Docker's pattern: `\s+([^\s]*)=\s*(PID[^\s]*)`.
    let padded = format!(" {args}");
    for (i, _) in padded.match_indices('=') {
        let key_start = padded[..i]
            .rfind(|c: char| c.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        if key_start == 0 {
            continue;
        }
        let key = &padded[key_start..i];
        let rest = padded[i + 1..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let value: String = rest
            .chars()
            .take_while(|c| !c.is_ascii_whitespace())
            .collect();
        if value.starts_with("PID") && key != "pid" {
            return Err(EngineError::invalid(format!(
                "specifying \"{key}={value}\" is not allowed"
            )));
        }
    }
    Ok(())
}

/// Runs `ps` with `args` and keeps the rows of `pids`.
pub fn ps(pids: &[i32], args: &str) -> Result<Top> {
    let args: Vec<&str> = args.split(' ').collect();
    // moby's psPidsArg: `-q` (procps' quick pid list in the options'
    // format; BSD `q` would switch to BSD columns and add STAT).
    let quick = format!(
        "-q{}",
        pids.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut out = Command::new("ps").args(&args).arg(&quick).output();
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        out = Command::new("ps").args(&args).output();
    }
    let out = out.map_err(|e| EngineError::system("ps", e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").to_string();
        let why = if first.is_empty() {
            out.status.to_string()
        } else {
            first
        };
        return Err(EngineError::new(crate::Kind::System, format!("ps: {why}")));
    }
    parse_ps_output(&String::from_utf8_lossy(&out.stdout), pids)
}

/// Docker's `parsePSOutput`: titles from the first line, rows whose PID is
/// in `pids` (and the thread rows after them), the columns beyond the
/// titles joined into the last one.
pub fn parse_ps_output(output: &str, pids: &[i32]) -> Result<Top> {
    let mut lines = output.split('\n');
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(String::from)
        .collect();
    let Some(pid_index) = titles.iter().position(|t| t == "PID") else {
        return Err(EngineError::system(
            "Couldn't find PID field in ps output",
            std::io::Error::other("no PID column"),
        ));
    };
    let mut rows = Vec::new();
    let mut in_container = false;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(field) = fields.get(pid_index) else {
            continue;
        };
        if *field == "-" {
            if in_container {
                rows.push(row(&fields, titles.len()));
            }
            continue;
        }
        let pid: i32 = field
            .parse()
            .map_err(|e| EngineError::system(format!("Unexpected pid '{field}'"), e))?;
        in_container = pids.contains(&pid);
        if in_container {
            rows.push(row(&fields, titles.len()));
        }
    }
    Ok((titles, rows))
}

/// A row with exactly `n` columns: the overhanging fields (a command's
/// arguments) joined by spaces into the last.
fn row(fields: &[&str], n: usize) -> Vec<String> {
    let n = n.max(1);
    let mut out: Vec<String> = fields.iter().take(n - 1).map(|s| s.to_string()).collect();
    out.push(fields.get(n - 1..).unwrap_or(&[]).join(" "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_container_only() {
        let out = "UID PID PPID C STIME TTY TIME CMD\n\
                   root 1 0 0 10:00 ? 00:00:01 /sbin/init\n\
                   root 42 1 0 10:00 ? 00:00:00 sleep 100 extra\n\
                   root 43 42 0 10:00 ? 00:00:00 sh\n";
        let (titles, rows) = parse_ps_output(out, &[42]).unwrap();
        assert_eq!(titles.len(), 8);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][7], "sleep 100 extra");
        assert_eq!(rows[0].len(), 8);
    }

    #[test]
    fn thread_rows_follow_their_process() {
        let out = "PID TID CMD\n7 - a\n- 7 a\n8 - b\n- 8 b\n";
        let (_, rows) = parse_ps_output(out, &[7]).unwrap();
        assert_eq!(rows, [vec!["7", "-", "a"], vec!["-", "7", "a"]]);
    }

    #[test]
    fn no_pid_column_or_bad_pid() {
        let e = parse_ps_output("A B\n1 2\n", &[]).unwrap_err();
        assert_eq!(e.message, "Couldn't find PID field in ps output");
        let e = parse_ps_output("PID CMD\nx y\n", &[]).unwrap_err();
        assert!(e.full_message().starts_with("Unexpected pid 'x'"));
    }

    #[test]
    fn renaming_the_pid_column_is_refused() {
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        let e = validate_ps_args("-o user=PID,comm").unwrap_err();
        assert_eq!(e.message, "specifying \"user=PID,comm\" is not allowed");
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("aux").is_ok());
    }

    #[test]
    fn host_ps_finds_our_own_process() {
        let me = std::process::id() as i32;
        let (titles, rows) = ps(&[me], "-ef").unwrap();
        assert!(titles.contains(&"PID".to_string()));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][1], me.to_string());
        // `f` does not combine with the quick selection: the retry runs.
        let (_, rows) = ps(&[me], "-ef f").unwrap();
        assert!(rows.iter().any(|r| r[1] == me.to_string()));
        let e = ps(&[me], "--no-such-option").unwrap_err();
        assert!(e.message.starts_with("ps: "), "{}", e.message);
    }
}
