//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval=…] CMD …`, with Go
//! durations and Docker's messages.

use super::duration::{go_quote, parse_go_duration};
use super::flags::{Flags, Kind};
use super::instruction::{HealthCmd, Healthcheck, Instruction, ShellOrExec};
use super::parser::ParseError;
use super::words::{parse_json, split_ws2, Json};
use std::time::Duration;

/// Types a HEALTHCHECK line's arguments (`rest`) and flags.
pub(crate) fn parse(rest: &str, flags: &[String], n: usize) -> Result<Instruction, ParseError> {
    let err = |m: String| ParseError::syntax(n, m);
    let (typ, cmd) = split_ws2(rest);
    if typ.is_empty() {
        return Err(err("HEALTHCHECK requires at least one argument".into()));
    }
    let typ = typ.to_ascii_uppercase();
    if typ == "NONE" {
        if !cmd.is_empty() {
            return Err(err("HEALTHCHECK NONE takes no arguments".into()));
        }
        return Ok(Instruction::Healthcheck(Healthcheck::None));
    }
    let f = Flags::parse(
        flags,
        &[
            ("interval", Kind::Str),
            ("timeout", Kind::Str),
            ("start-period", Kind::Str),
            ("start-interval", Kind::Str),
            ("retries", Kind::Str),
        ],
    )
    .map_err(|e| e.at(n))?;
    if typ != "CMD" {
        return Err(err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            go_quote(&typ)
        )));
    }
    let test = match parse_json(cmd) {
        Json::Array(v) if v.is_empty() => None,
        Json::Array(v) => Some(ShellOrExec::Exec(v)),
        Json::NotStrings => {
            return Err(err(
                "when using JSON array syntax, arrays must be comprised of strings only".into(),
            ))
        }
        Json::Shell if cmd.is_empty() => None,
        Json::Shell => Some(ShellOrExec::Shell(cmd.to_string())),
    };
    let Some(test) = test else {
        return Err(err("Missing command after HEALTHCHECK CMD".into()));
    };
    let dur = |name: &str| -> Result<Option<Duration>, ParseError> {
        let Some(s) = f.string(name).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let d = parse_go_duration(&s).map_err(err)?;
        if d.is_zero() {
            return Ok(None);
        }
        if d < Duration::from_millis(1) {
            return Err(err(format!(
                "Interval {} cannot be less than 1ms",
                go_quote(name)
            )));
        }
        Ok(Some(d))
    };
    let retries = match f.string("retries").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let v: i64 = s.parse().map_err(|_| {
                err(format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    go_quote(&s)
                ))
            })?;
            if v < 0 {
                return Err(err(format!("--retries cannot be negative ({v})")));
            }
            Some(u32::try_from(v).map_err(|_| err(format!("--retries out of range ({v})")))?)
        }
    };
    Ok(Instruction::Healthcheck(Healthcheck::Cmd(HealthCmd {
        test,
        interval: dur("interval")?,
        timeout: dur("timeout")?,
        start_period: dur("start-period")?,
        start_interval: dur("start-interval")?,
        retries,
    })))
}
