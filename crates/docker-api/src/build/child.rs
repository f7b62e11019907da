//! The build's two halves on the daemon's side: unpacking the context, and
//! running `wharf build-internal` with its output turned into Docker's
//! JSON messages (on a blocking thread, the output read by a second one
//! while the first waits for the builder).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use std::os::unix::process::CommandExt;
use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;
use wharf_engine::{Engine, EngineError};
use wharf_image::layer::ApplyOptions;

use super::cancel::{self, Group};
use super::net::Sandbox;
use super::output::Output;
use super::{BuildRequest, Work};
use crate::images::pipe::BodyReader;

/// Tells apart the builds of one daemon.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Unpacks the context tar into a new directory under the store's `tmp`
/// and checks that the Dockerfile is there (Docker's 500 otherwise).
pub(super) fn unpack(
    engine: &Engine,
    body: BodyReader,
    dockerfile: &str,
) -> Result<Work, EngineError> {
    let tmp = engine.store().tmp_dir();
    let name = format!(
        "build-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let work = Work {
        dir: tmp.join(name),
    };
    let context = work.context();
    std::fs::create_dir_all(&context)
        .map_err(|e| EngineError::system(format!("failed to create {}", context.display()), e))?;
    let reader = BufReader::with_capacity(1 << 20, body);
    wharf_image::layer::apply(reader, &context, &ApplyOptions::PLAIN).map_err(|e| {
        EngineError::invalid(format!("failed to read the build context: {}", chain(&e)))
    })?;
    let file = context.join(dockerfile);
    let inside = file
        .canonicalize()
        .ok()
        .zip(context.canonicalize().ok())
        .is_some_and(|(f, c)| f.starts_with(c) && f.is_file());
    if !inside {
        return Err(EngineError::new(
            wharf_engine::Kind::System,
            format!("Cannot locate specified Dockerfile: {dockerfile}"),
        ));
    }
    Ok(work)
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Runs the build in `wharf build-internal` and sends its output to
/// `out` as Docker's messages. A client that goes away stops the build:
/// the builder is killed, then what it left is reaped (see
/// [`super::cancel`]).
pub(super) fn run(engine: &Engine, work: &Work, req: &BuildRequest, out: Output) {
    let result_file = work.dir.join("result.json");
    let runtime_root = engine.config().exec_root.join("build");
    let internal = |text: String| out.fail(StatusCode::INTERNAL_SERVER_ERROR, &text, None);
    // Dropped last but `out`: torn down after the builder and its steps
    // are gone, before the response ends.
    let sandbox = match Sandbox::up(engine, &work.id(), &req.network) {
        Ok(s) => s,
        Err(e) => return internal(e.full_message()),
    };
    let job = json!({
        "data_root": engine.config().data_root,
        "runtime_root": runtime_root,
        "context": work.context(),
        "dockerfile": req.dockerfile,
        "tags": req.tags,
        "build_args": req.build_args,
        "labels": req.labels,
        "target": req.target,
        "no_cache": req.no_cache,
        "network": req.network,
        "sandbox": sandbox.job_field(),
        "result": result_file,
    });
    let (reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return internal(format!("failed to create a pipe: {e}")),
    };
    let spawned = writer.try_clone().and_then(|w2| {
        Command::new(&engine.config().wharf_exe)
            .arg("build-internal")
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(writer)
            .stderr(w2)
            .spawn()
    });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return internal(format!("failed to start the builder: {e}")),
    };
    let group = Arc::new(Group::of(&child));
    let (done, done_rx) = oneshot::channel();
    cancel::watch_client(
        &tokio::runtime::Handle::current(),
        out.watch(),
        group.clone(),
        done_rx,
    );
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(job.to_string().as_bytes());
    }
    let (outcome, held) = std::thread::scope(|s| {
        let pump = s.spawn(|| pump(engine, reader, &out, &group, req.quiet));
        group.wait_exit();
        let _ = child.wait();
        let _ = done.send(());
        let outcome: Option<serde_json::Value> = std::fs::read(&result_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if outcome.is_none() {
            // Killed (its client went away) or crashed: its step
            // containers may still run, holding the pipe open.
            cancel::reap(engine, &runtime_root);
        }
        let held = pump.join().unwrap_or_default();
        (outcome, held)
    });
    let Some(outcome) = outcome else {
        return internal("the builder ended without a result".into());
    };
    if let Some(id) = outcome.get("id").and_then(|v| v.as_str()) {
        if req.quiet {
            out.stream(&format!("{id}\n"));
        }
        if let Ok(digest) = id.parse() {
            for t in &req.tags {
                engine.image_event("tag", &digest, t);
            }
        }
        return;
    }
    let text = outcome
        .get("error")
        .and_then(|v| v.as_str())
        .unwrap_or("build failed");
    for text in &held {
        out.stream(text);
    }
    let status = outcome
        .get("status")
        .and_then(|v| v.as_u64())
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    out.fail(status, text, outcome.get("code").and_then(|c| c.as_i64()));
}

/// Turns the builder's text output into messages until the pipe ends; a
/// client that is gone kills the builder (the rest is drained unsent).
/// With `quiet` the text is held back and returned, as dockerd holds it
/// (sent only if the build fails, when there is no image to announce).
fn pump(
    engine: &Engine,
    reader: std::io::PipeReader,
    out: &Output,
    group: &Group,
    quiet: bool,
) -> Vec<String> {
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    let mut gone = false;
    let mut held = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if gone {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if quiet {
            held.push(text.into_owned());
            continue;
        }
        if let Some(short) = text.strip_prefix("Successfully built ") {
            if let Ok(id) = engine.store().image_id(short.trim()) {
                gone = !out.aux_id(id.as_str());
            }
        }
        if gone || !out.stream(&text) {
            gone = true;
            group.kill();
        }
    }
    held
}
