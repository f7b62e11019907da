//! The history text (`created_by`) Docker's classic builder writes for
//! steps that only change metadata: the stage's shell, `#(nop) `, then the
//! instruction as dispatched (moby `builder/dockerfile/dispatchers.go`).

use super::duration::{format_go_duration, go_quote, go_quote_rune};
use super::instruction::{Healthcheck, Instruction};

/// Joins a `#(nop)` history line. Docker has two styles: most instructions
/// put `"#(nop) "` and the comment in two argv slots, so the joined text has
/// two spaces (`/bin/sh -c #(nop)  ENV A=b`); WORKDIR, COPY and ADD use one
/// slot (`/bin/sh -c #(nop) WORKDIR /x`) — pass `single_slot = true` for
/// those (COPY/ADD comments like `COPY file:<sha256> in /dst `).
pub fn nop_created_by(shell: &[String], comment: &str, single_slot: bool) -> String {
    let mut argv: Vec<String> = shell.to_vec();
    if single_slot {
        argv.push(format!("#(nop) {comment}"));
    } else {
        argv.push("#(nop) ".to_string());
        argv.push(comment.to_string());
    }
    argv.join(" ")
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn quote_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", items.join(" "))
}

impl Instruction {
    /// The commit comment the classic builder records for this (already
    /// expanded) instruction, e.g. `ENV A=b`, `CMD ["/bin/sh" "-c" "x"]`,
    /// `VOLUME [/data]`. `shell` is the stage's current SHELL (default
    /// `["/bin/sh", "-c"]`), used by shell-form CMD/ENTRYPOINT.
    ///
    /// `None` for FROM (no history entry), RUN (its created_by is the
    /// command itself) and COPY/ADD (their comment names content hashes the
    /// executor computes). For WORKDIR pass the resolved absolute path.
    fn history_comment(&self, shell: &[String]) -> Option<String> {
        let kv = |kw: &str, v: &[(String, String)]| {
            let mut s = kw.to_string();
            for (k, val) in v {
                s.push_str(&format!(" {k}={val}"));
            }
            s
        };
        Some(match self {
            Instruction::From(_)
            | Instruction::Run(_)
            | Instruction::Copy(_)
            | Instruction::Add(_) => return None,
            Instruction::Env(v) => kv("ENV", v),
            Instruction::Label(v) => kv("LABEL", v),
            Instruction::Arg(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|(k, d)| match d {
                        Some(d) => format!("{k}={d}"),
                        None => k.clone(),
                    })
                    .collect();
                format!("ARG {}", parts.join(" "))
            }
            Instruction::Maintainer(m) => format!("MAINTAINER {m}"),
            Instruction::Onbuild { expression, .. } => format!("ONBUILD {expression}"),
            Instruction::Workdir(p) => format!("WORKDIR {p}"),
            Instruction::User(u) => format!("USER {u}"),
            Instruction::StopSignal(s) => format!("STOPSIGNAL {s}"),
            Instruction::Expose(p) => format!("EXPOSE {}", p.join(" ")),
            Instruction::Volume(v) => format!("VOLUME [{}]", v.join(" ")),
            Instruction::Shell(v) => format!("SHELL [{}]", v.join(" ")),
            Instruction::Cmd(c) => format!("CMD {}", quote_list(&c.to_argv(shell))),
            Instruction::Entrypoint(c) => format!("ENTRYPOINT {}", quote_list(&c.to_argv(shell))),
            Instruction::Healthcheck(h) => {
                let (test, i, t, sp, r) = match h {
                    Healthcheck::None => (vec!["NONE".to_string()], None, None, None, None),
                    Healthcheck::Cmd(c) => (
                        c.test_argv(),
                        c.interval,
                        c.timeout,
                        c.start_period,
                        c.retries,
                    ),
                };
                let d = |x: Option<std::time::Duration>| {
                    go_quote(&format_go_duration(x.unwrap_or_default()))
                };
                format!(
                    "HEALTHCHECK &{{{} {} {} {} {}}}",
                    quote_list(&test),
                    d(i),
                    d(t),
                    d(sp),
                    go_quote_rune(r.unwrap_or(0))
                )
            }
        })
    }

    /// The full `created_by` of a metadata-only step as Docker 20.10's
    /// classic builder writes it: `/bin/sh -c #(nop)  ENV A=b`,
    /// `/bin/sh -c #(nop) WORKDIR /x`. `None` where
    /// there is no commit comment (FROM, RUN, COPY, ADD).
    pub fn created_by(&self, shell: &[String]) -> Option<String> {
        let comment = self.history_comment(shell)?;
        let single = matches!(self, Instruction::Workdir(_));
        Some(nop_created_by(shell, &comment, single))
    }
}
