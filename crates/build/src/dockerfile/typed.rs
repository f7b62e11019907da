//! From one logical line to a typed [`Instruction`], with Docker's argument
//! rules and error messages (moby/buildkit `instructions/parse.go`).

use super::duration::go_quote;
use super::flags::{Flags, Kind};
use super::instruction::{with_bodies, CopyArgs, From, Heredoc, Instruction, Run, ShellOrExec};
use super::parser::{parse_heredoc, ParseError};
use super::words::{parse_json, parse_words, split_command, split_ws, split_ws2, Json};

/// How an instruction's arguments are split before typing.
enum Args {
    /// JSON array form.
    Json(Vec<String>),
    /// Anything else, already split the instruction's way.
    Plain(Vec<String>),
}

impl Args {
    fn list(&self) -> &[String] {
        match self {
            Args::Json(v) | Args::Plain(v) => v,
        }
    }
}

/// Types one logical line. `heredocs` are the bodies read after it.
pub(crate) fn instruction(
    line: &str,
    heredocs: Vec<Heredoc>,
    escape: char,
    n: usize,
) -> Result<Instruction, ParseError> {
    let (cmd, flags, rest) = split_command(line);
    let err = |m: String| ParseError::syntax(n, m);
    let fl = |allowed: &[(&'static str, Kind)]| Flags::parse(&flags, allowed).map_err(|e| e.at(n));
    let lower = cmd.to_ascii_lowercase();
    let json_or = |plain: fn(&str) -> Vec<String>| -> Result<Args, ParseError> {
        match parse_json(&rest) {
            Json::Array(v) => Ok(Args::Json(v)),
            Json::NotStrings => Err(err(
                "when using JSON array syntax, arrays must be comprised of strings only".into(),
            )),
            Json::Shell => Ok(Args::Plain(plain(&rest))),
        }
    };
    let one = |name: &str| -> Result<String, ParseError> {
        if rest.is_empty() {
            Err(err(format!("{name} requires exactly one argument")))
        } else {
            Ok(rest.clone())
        }
    };
    let shell_or_exec = || -> Result<ShellOrExec, ParseError> {
        if rest.is_empty() {
            return Ok(ShellOrExec::Shell(String::new()));
        }
        Ok(match json_or(|s| vec![s.to_string()])? {
            Args::Json(v) => ShellOrExec::Exec(v),
            Args::Plain(v) => ShellOrExec::Shell(v.join(" ")),
        })
    };
    Ok(match lower.as_str() {
        "from" => {
            let f = fl(&[("platform", Kind::Str)])?;
            let args = split_ws(&rest);
            let name = match args.len() {
                1 => None,
                3 if args[1].eq_ignore_ascii_case("as") => {
                    let name = args[2].to_ascii_lowercase();
                    if !valid_stage_name(&name) {
                        return Err(err(format!(
                            "invalid name for build stage: {}, name can't start with a number or contain symbols",
                            go_quote(&args[2])
                        )));
                    }
                    Some(name)
                }
                _ => return Err(err("FROM requires either one or three arguments".into())),
            };
            Instruction::From(From {
                image: args[0].clone(),
                name,
                platform: f.string("platform"),
            })
        }
        "run" => {
            let f = fl(&[
                ("mount", Kind::Strs),
                ("network", Kind::Str),
                ("security", Kind::Str),
            ])?;
            Instruction::Run(Run {
                cmd: shell_or_exec()?,
                heredocs,
                mounts: f.strings("mount"),
                network: f.string("network"),
                security: f.string("security"),
            })
        }
        "cmd" => {
            fl(&[])?;
            Instruction::Cmd(shell_or_exec()?)
        }
        "entrypoint" => {
            fl(&[])?;
            Instruction::Entrypoint(shell_or_exec()?)
        }
        "shell" => {
            fl(&[])?;
            match json_or(|s| vec![s.to_string()])? {
                _ if rest.is_empty() => {
                    return Err(err("SHELL requires at least one argument".into()))
                }
                Args::Json(v) if v.is_empty() => {
                    return Err(err("SHELL requires at least one argument".into()))
                }
                Args::Json(v) => Instruction::Shell(v),
                Args::Plain(_) => {
                    return Err(err("SHELL requires the arguments to be in JSON form".into()))
                }
            }
        }
        "copy" | "add" => {
            let is_add = lower == "add";
            let f = if is_add {
                fl(&[
                    ("chown", Kind::Str),
                    ("chmod", Kind::Str),
                    ("link", Kind::Bool),
                    ("keep-git-dir", Kind::Bool),
                    ("checksum", Kind::Str),
                ])?
            } else {
                fl(&[
                    ("chown", Kind::Str),
                    ("chmod", Kind::Str),
                    ("link", Kind::Bool),
                    ("from", Kind::Str),
                ])?
            };
            let name = if is_add { "ADD" } else { "COPY" };
            let args = json_or(split_ws)?;
            let json = matches!(args, Args::Json(_));
            let list = args.list();
            if list.len() < 2 {
                return Err(err(format!("{name} requires at least two arguments, but only one was provided. Destination could not be determined")));
            }
            let (srcs, dest) = list.split_at(list.len() - 1);
            let mut c = CopyArgs {
                dest: dest[0].clone(),
                from: f.string("from"),
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                link: f.boolean("link"),
                checksum: f.string("checksum"),
                keep_git_dir: f.boolean("keep-git-dir"),
                json,
                ..CopyArgs::default()
            };
            let is_heredoc = |w: &str| !json && matches!(parse_heredoc(w), Ok(Some(_)));
            if is_heredoc(&c.dest) {
                return Err(err(format!(
                    "{name} cannot accept a heredoc as a destination"
                )));
            }
            for s in srcs {
                match parse_heredoc(s) {
                    Ok(Some(h)) if !json => {
                        let found = heredocs.iter().find(|d| d.name == h.name).cloned();
                        c.heredocs.push(found.unwrap_or(h));
                    }
                    _ => c.sources.push(s.clone()),
                }
            }
            if is_add {
                Instruction::Add(c)
            } else {
                Instruction::Copy(c)
            }
        }
        "env" | "label" => {
            fl(&[])?;
            let name = lower.to_ascii_uppercase();
            let kv = name_values(&rest, &name, escape).map_err(err)?;
            if lower == "env" {
                Instruction::Env(kv)
            } else {
                Instruction::Label(kv)
            }
        }
        "arg" => {
            fl(&[])?;
            let words = parse_words(&rest, escape);
            if words.is_empty() {
                return Err(err("ARG requires at least one argument".into()));
            }
            let mut out = Vec::new();
            for w in words {
                match w.split_once('=') {
                    Some(("", _)) => return Err(err("ARG names can not be blank".into())),
                    Some((k, v)) => out.push((k.to_string(), Some(v.to_string()))),
                    None => out.push((w, None)),
                }
            }
            Instruction::Arg(out)
        }
        "workdir" => {
            fl(&[])?;
            Instruction::Workdir(one("WORKDIR")?)
        }
        "user" => {
            fl(&[])?;
            Instruction::User(one("USER")?)
        }
        "stopsignal" => {
            fl(&[])?;
            Instruction::StopSignal(one("STOPSIGNAL")?)
        }
        "maintainer" => {
            fl(&[])?;
            Instruction::Maintainer(one("MAINTAINER")?)
        }
        "expose" => {
            fl(&[])?;
            let mut ports = split_ws(&rest);
            if ports.is_empty() {
                return Err(err("EXPOSE requires at least one argument".into()));
            }
            ports.sort();
            Instruction::Expose(ports)
        }
        "volume" => {
            fl(&[])?;
            let args = json_or(split_ws)?;
            if args.list().is_empty() {
                return Err(err("VOLUME requires at least one argument".into()));
            }
            let mut vols = Vec::new();
            for v in args.list() {
                let v = v.trim();
                if v.is_empty() {
                    return Err(err("VOLUME specified can not be an empty string".into()));
                }
                vols.push(v.to_string());
            }
            Instruction::Volume(vols)
        }
        "healthcheck" => super::healthcheck::parse(&rest, &flags, n)?,
        "onbuild" => {
            fl(&[])?;
            if rest.is_empty() {
                return Err(err("ONBUILD requires at least one argument".into()));
            }
            let trigger_word = split_ws2(&rest).0.to_ascii_uppercase();
            match trigger_word.as_str() {
                "ONBUILD" => {
                    return Err(err(
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()
                    ))
                }
                "MAINTAINER" | "FROM" => {
                    return Err(err(format!(
                        "{trigger_word} isn't allowed as an ONBUILD trigger"
                    )))
                }
                _ => {}
            }
            let expression = with_bodies(strip_onbuild(line), &heredocs);
            let trigger = instruction(&rest, heredocs, escape, n)?;
            Instruction::Onbuild {
                trigger: Box::new(trigger),
                expression,
            }
        }
        _ => {
            return Err(ParseError::UnknownInstruction {
                line: n,
                instruction: cmd,
            })
        }
    })
}

/// `(?i)^\s*ONBUILD\s*` removed.
fn strip_onbuild(line: &str) -> &str {
    let t = line.trim_start();
    t.get(7..).map(str::trim_start).unwrap_or("")
}

fn valid_stage_name(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(|c| c.is_ascii_lowercase())
        && it.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// `ENV`/`LABEL`: legacy `KEY value…` when the first word has no `=`,
/// otherwise `k=v` words (quotes kept, removed at expansion).
fn name_values(rest: &str, name: &str, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Err(format!("{name} requires at least one argument"));
    }
    if !words[0].contains('=') {
        let (k, v) = split_ws2(rest);
        if v.is_empty() {
            return Err(format!("{name} must have two arguments"));
        }
        return Ok(vec![(k.to_string(), v.to_string())]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(&w)
            ));
        };
        if k.is_empty() {
            return Err(format!("{name} names can not be blank"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}
