//! `exec`: create the exec, start it detached or hijack its stream, and
//! exit with its exit code from `GET /exec/ID/json`.

use anyhow::Result;
use serde_json::{json, Value};

use super::args::ExecArgs;
use super::conn::{full, q, Client};
use super::stream::{self, End};
use super::Exit;

/// `exec`.
pub async fn exec(c: &Client, a: ExecArgs) -> Result<u8> {
    if a.tty && a.interactive && !stream::stdin_is_tty() {
        return Err(Exit {
            code: 1,
            message: "the input device is not a TTY".into(),
        }
        .into());
    }
    let mut env = Vec::new();
    for f in &a.env_file {
        let text = std::fs::read_to_string(f)?;
        env.extend(
            text.lines()
                .map(str::trim_start)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    env.extend(a.env.iter().cloned());
    let keys = a
        .detach_keys
        .clone()
        .unwrap_or_else(|| "ctrl-p,ctrl-q".into());
    let body = json!({
        "User": a.user.clone().unwrap_or_default(),
        "Privileged": a.privileged,
        "Tty": a.tty,
        "AttachStdin": a.interactive && !a.detach,
        "AttachStdout": !a.detach,
        "AttachStderr": !a.detach,
        "DetachKeys": keys,
        "Env": env,
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Cmd": a.command,
    });
    let created: Value = serde_json::from_slice(
        &c.post_json(&format!("/containers/{}/exec", q(&a.container)), &body)
            .await?,
    )?;
    let id = created["Id"].as_str().unwrap_or_default().to_string();
    let start = json!({"Detach": a.detach, "Tty": a.tty});
    if a.detach {
        c.post_json(&format!("/exec/{id}/start"), &start).await?;
        return Ok(0);
    }
    let stdin = a.interactive;
    let hijacked = stream::hijack(
        c,
        "POST",
        &format!("/exec/{id}/start"),
        Some(full(serde_json::to_vec(&start)?)),
    )
    .await?;
    let raw = (a.tty && stdin && stream::stdin_is_tty()).then(stream::RawTerminal::new);
    let resize = a
        .tty
        .then(|| stream::monitor_size(c, format!("/exec/{id}/resize"), false))
        .flatten();
    let escape = (a.tty && stdin)
        .then(|| stream::detach_bytes(&keys).ok())
        .flatten();
    let end = stream::pump(hijacked, a.tty, stdin, escape).await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    if end? == End::Detached {
        return Ok(0);
    }
    let info: Value = serde_json::from_slice(&c.get(&format!("/exec/{id}/json")).await?)?;
    Ok(info["ExitCode"].as_i64().unwrap_or(0).clamp(0, 255) as u8)
}
