//! `run`, `create`, `start` and `attach`: create (pulling is the daemon's
//! business: without a registry it says why), attach before start, the
//! wait registered before start (its headers arrive first), then the
//! streams until the container's output ends, and its exit code as ours.

use anyhow::{bail, Result};
use http_body_util::BodyExt;
use serde_json::Value;

use super::args::{AttachArgs, StartArgs};
use super::conn::{q, ApiError, Client};
use super::run_args::{create_body, ContainerOpts, CreateArgs, RunArgs};
use super::stream::{self, End};
use super::{exit, Exit};

const DEFAULT_DETACH: &str = "ctrl-p,ctrl-q";

/// Creates the container, pulling (asking the daemon to) when the image is
/// missing like docker does; returns its id.
async fn create_container(
    c: &Client,
    o: &ContainerOpts,
    image: &str,
    command: &[String],
    cmd: &str,
) -> Result<String> {
    if o.tty && o.interactive && !stream::stdin_is_tty() {
        return Err(Exit {
            code: 1,
            message: "the input device is not a TTY".into(),
        }
        .into());
    }
    if let Some(f) = o
        .cidfile
        .as_deref()
        .filter(|f| std::path::Path::new(f).exists())
    {
        bail!("container ID file found, make sure the other container isn't running or delete {f}");
    }
    let body = match create_body(o, image, command) {
        Ok(b) => b,
        // The flags' errors: docker's 125 and usage hint, `create` too.
        Err(e) => {
            return Err(Exit {
                code: 125,
                message: format!("wharf: {e:#}\n\nRun 'wharf {cmd} --help' for more information"),
            }
            .into())
        }
    };
    if c.version.as_str() < "1.44" {
        if let Some(eps) = body["NetworkingConfig"]["EndpointsConfig"].as_object() {
            if super::endpoints::wants_mac(eps) {
                bail!(
                    "\"specify mac-address per network\" requires API version 1.44, but the Wharf daemon API version is {}",
                    c.version
                );
            }
        }
    }
    let path = match &o.name {
        Some(n) => format!("/containers/create?name={}", q(n)),
        None => "/containers/create".to_string(),
    };
    let resp = match c.post_json(&path, &body).await {
        Ok(r) => r,
        Err(ApiError::Daemon {
            status: 404,
            message,
        }) if message.contains("image") && o.pull.as_deref() != Some("never") => {
            eprintln!("Unable to find image '{}' locally", full_ref(image));
            pull(c, image).await?;
            c.post_json(&path, &body).await?
        }
        Err(e) => return Err(e.into()),
    };
    let v: Value = serde_json::from_slice(&resp)?;
    for w in v["Warnings"].as_array().into_iter().flatten() {
        if let Some(w) = w.as_str() {
            eprintln!("WARNING: {w}");
        }
    }
    let id = v["Id"].as_str().unwrap_or_default().to_string();
    if let Some(f) = &o.cidfile {
        std::fs::write(f, &id)?;
    }
    Ok(id)
}

/// `busybox` → `busybox:latest` (the name docker's messages use).
fn full_ref(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// `POST /images/create?fromImage=…`, its progress, its error.
async fn pull(c: &Client, image: &str) -> Result<()> {
    let r = full_ref(image);
    let (name, tag) = r.rsplit_once(':').unwrap_or((&r, "latest"));
    let resp = c
        .request(
            "POST",
            &format!("/images/create?fromImage={}&tag={}", q(name), q(tag)),
            None,
            false,
        )
        .await?;
    let body = resp.into_body().collect().await?.to_bytes();
    for line in body.split(|b| *b == b'\n') {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        if let Some(e) = v["error"].as_str() {
            bail!("{e}");
        }
    }
    Ok(())
}

/// `create`.
pub async fn create(c: &Client, a: CreateArgs) -> Result<u8> {
    let id = create_container(c, &a.opts, &a.image, &a.command, "create").await?;
    println!("{id}");
    Ok(0)
}

/// Registers a wait (headers in) and returns the pending body.
async fn wait_for(c: &Client, id: &str, condition: &str) -> Result<hyper::body::Incoming> {
    let resp = c
        .request(
            "POST",
            &format!("/containers/{id}/wait?condition={condition}"),
            None,
            false,
        )
        .await?;
    Ok(resp.into_body())
}

/// The exit status a wait body reports.
async fn wait_result(body: hyper::body::Incoming) -> Result<u8> {
    let bytes = body.collect().await?.to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(m) = v["Error"]["Message"].as_str().filter(|m| !m.is_empty()) {
        eprintln!("{m}");
    }
    Ok(v["StatusCode"].as_i64().unwrap_or(125).clamp(0, 255) as u8)
}

fn attach_path(id: &str, stdin: bool, stdout: bool, stderr: bool, keys: &str) -> String {
    format!(
        "/containers/{id}/attach?stream=1&stdin={}&stdout={}&stderr={}&detachKeys={}",
        stdin as u8,
        stdout as u8,
        stderr as u8,
        q(keys)
    )
}

/// Forwards our signals to the container while it runs (`--sig-proxy`).
fn proxy_signals(c: &Client, id: &str) -> tokio::task::JoinHandle<()> {
    let client = c.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let kinds = [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
            (SignalKind::user_defined1(), "SIGUSR1"),
            (SignalKind::user_defined2(), "SIGUSR2"),
        ];
        let (tx, mut rx) = tokio::sync::mpsc::channel::<&'static str>(8);
        for (kind, name) in kinds {
            let Ok(mut s) = signal(kind) else { continue };
            let tx = tx.clone();
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    let _ = tx.send(name).await;
                }
            });
        }
        while let Some(name) = rx.recv().await {
            let _ = client
                .call(
                    "POST",
                    &format!("/containers/{id}/kill?signal={name}"),
                    None,
                )
                .await;
        }
    })
}

/// `run`.
pub async fn run(c: &Client, a: RunArgs) -> Result<u8> {
    let o = &a.opts;
    let id = create_container(c, o, &a.image, &a.command, "run").await?;
    if a.detach {
        // docker prints the id before the start (and so also when it fails).
        println!("{id}");
        c.call("POST", &format!("/containers/{id}/start"), None)
            .await
            .map_err(run_error)?;
        return Ok(0);
    }
    let attach_stdin = if o.attach.is_empty() {
        o.interactive
    } else {
        o.attach.iter().any(|s| s.eq_ignore_ascii_case("stdin"))
    };
    let attach_out =
        o.attach.is_empty() || o.attach.iter().any(|s| s.eq_ignore_ascii_case("stdout"));
    let attach_err =
        o.attach.is_empty() || o.attach.iter().any(|s| s.eq_ignore_ascii_case("stderr"));
    let keys = a
        .detach_keys
        .clone()
        .unwrap_or_else(|| DEFAULT_DETACH.into());
    let hijacked = stream::hijack(
        c,
        "POST",
        &attach_path(&id, attach_stdin, attach_out, attach_err, &keys),
        None,
    )
    .await?;
    let condition = if o.rm { "removed" } else { "next-exit" };
    let waiter = wait_for(c, &id, condition).await?;
    let raw = (o.tty && attach_stdin && stream::stdin_is_tty()).then(stream::RawTerminal::new);
    if let Err(e) = c
        .call("POST", &format!("/containers/{id}/start"), None)
        .await
    {
        drop(raw);
        if o.rm {
            let _ = c
                .call("DELETE", &format!("/containers/{id}?force=1&v=1"), None)
                .await;
        }
        return Err(run_error(e));
    }
    let resize = o
        .tty
        .then(|| stream::monitor_size(c, format!("/containers/{id}/resize"), false))
        .flatten();
    let proxy = (!o.tty && a.sig_proxy).then(|| proxy_signals(c, &id));
    let escape = (o.tty && attach_stdin)
        .then(|| stream::detach_bytes(&keys).ok())
        .flatten();
    let end = stream::pump(hijacked, o.tty, attach_stdin, escape).await;
    drop(raw);
    for t in [resize, proxy].into_iter().flatten() {
        t.abort();
    }
    match end? {
        End::Detached => Ok(0),
        End::Closed => wait_result(waiter).await,
    }
}

/// Errors of `start` in `run`: 126 when the command cannot be executed,
/// 127 when it does not exist, 125 otherwise.
fn run_error(e: ApiError) -> anyhow::Error {
    let msg = e.to_string();
    let lower = msg.to_lowercase();
    let code = if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        127
    } else if lower.contains("permission denied") || lower.contains("not executable") {
        126
    } else {
        125
    };
    Exit {
        code,
        message: format!("wharf: {msg}\n\nRun 'wharf run --help' for more information"),
    }
    .into()
}

async fn inspect_container(c: &Client, name: &str) -> Result<Value> {
    let bytes = c.get(&format!("/containers/{}/json", q(name))).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// `start`.
pub async fn start(c: &Client, a: StartArgs) -> Result<u8> {
    if a.attach || a.interactive {
        if a.names.len() > 1 {
            bail!("you cannot start and attach multiple containers at once");
        }
        let info = inspect_container(c, &a.names[0]).await?;
        let id = info["Id"].as_str().unwrap_or_default().to_string();
        let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
        let stdin = a.interactive && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
        let keys = a
            .detach_keys
            .clone()
            .unwrap_or_else(|| DEFAULT_DETACH.into());
        let hijacked =
            stream::hijack(c, "POST", &attach_path(&id, stdin, true, true, &keys), None).await?;
        let auto_remove = info["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false);
        let waiter = wait_for(c, &id, if auto_remove { "removed" } else { "next-exit" }).await?;
        let raw = (tty && stdin && stream::stdin_is_tty()).then(stream::RawTerminal::new);
        c.call("POST", &format!("/containers/{id}/start"), None)
            .await?;
        let resize = tty
            .then(|| stream::monitor_size(c, format!("/containers/{id}/resize"), false))
            .flatten();
        let escape = (tty && stdin)
            .then(|| stream::detach_bytes(&keys).ok())
            .flatten();
        let end = stream::pump(hijacked, tty, stdin, escape).await;
        drop(raw);
        if let Some(r) = resize {
            r.abort();
        }
        return match end? {
            End::Detached => Ok(0),
            End::Closed => wait_result(waiter).await,
        };
    }
    let mut failed = Vec::new();
    for n in &a.names {
        match c
            .call("POST", &format!("/containers/{}/start", q(n)), None)
            .await
        {
            Ok(_) => println!("{n}"),
            Err(e) => {
                eprintln!("{e}");
                failed.push(n.clone());
            }
        }
    }
    if !failed.is_empty() {
        return Err(Exit {
            code: 1,
            message: format!("Error: failed to start containers: {}", failed.join(", ")),
        }
        .into());
    }
    Ok(0)
}

/// `attach`.
pub async fn attach(c: &Client, a: AttachArgs) -> Result<u8> {
    let info = inspect_container(c, &a.container).await?;
    let id = info["Id"].as_str().unwrap_or_default().to_string();
    if !info["State"]["Running"].as_bool().unwrap_or(false) {
        return Err(Exit {
            code: 1,
            message: "You cannot attach to a stopped container, start it first".into(),
        }
        .into());
    }
    if info["State"]["Paused"].as_bool().unwrap_or(false) {
        return Err(Exit {
            code: 1,
            message: "You cannot attach to a paused container, unpause it first".into(),
        }
        .into());
    }
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let keys = a
        .detach_keys
        .clone()
        .unwrap_or_else(|| DEFAULT_DETACH.into());
    let waiter = wait_for(c, &id, "not-running").await;
    let hijacked =
        stream::hijack(c, "POST", &attach_path(&id, stdin, true, true, &keys), None).await?;
    let raw = (tty && stdin && stream::stdin_is_tty()).then(stream::RawTerminal::new);
    let resize = tty
        .then(|| stream::monitor_size(c, format!("/containers/{id}/resize"), true))
        .flatten();
    let proxy = (!tty && a.sig_proxy).then(|| proxy_signals(c, &id));
    let escape = (tty && stdin)
        .then(|| stream::detach_bytes(&keys).ok())
        .flatten();
    let end = stream::pump(hijacked, tty, stdin, escape).await;
    drop(raw);
    for t in [resize, proxy].into_iter().flatten() {
        t.abort();
    }
    match end? {
        End::Detached => Err(Exit {
            code: 1,
            message: "read escape sequence".into(),
        }
        .into()),
        End::Closed => match waiter {
            Ok(w) => wait_result(w).await,
            Err(_) => Err(exit(0)),
        },
    }
}
