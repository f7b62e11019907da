//! `wharf build`: reads the Dockerfile and context from disk and runs the
//! builder with the runtime library as its step runner.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use wharf_build::executor::{self, BuildOptions};
use wharf_build::runner::StepNetwork;
use wharf_image::reference::Reference;
use wharf_image::store::Store;

use crate::cli::BuildArgs;
use crate::container_spec::Network;
use crate::local::Containers;
use crate::run_cmd::LocalStepRunner;

/// `wharf build`.
pub fn build(store: &Store, args: &BuildArgs) -> Result<()> {
    let context = &args.path;
    if args.path.as_os_str() == "-" {
        bail!("a build context from stdin needs the engine; give a directory");
    }
    let meta = std::fs::metadata(context)
        .with_context(|| format!("unable to prepare context: path {:?} not found", context))?;
    if !meta.is_dir() {
        bail!(
            "unable to prepare context: {} is not a directory",
            context.display()
        );
    }
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| context.join("Dockerfile"));
    let dockerfile = std::fs::read_to_string(&file).with_context(|| {
        format!("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory", file.display())
    })?;
    let mut tags = Vec::new();
    for t in &args.tags {
        let r: Reference = t.parse().with_context(|| {
            format!("invalid argument \"{t}\" for \"-t, --tag\" flag: invalid reference format")
        })?;
        if r.digest().is_some() {
            bail!("invalid argument \"{t}\" for \"-t, --tag\" flag: refusing to create a tag with a digest reference");
        }
        tags.push(r.with_default_tag());
    }
    let build_args = key_values(&args.build_args, true);
    let labels = key_values(&args.labels, false);
    // Until bridge networking exists, the default is a namespace of the
    // step's own with only loopback: a Dockerfile does not get the host's
    // network (its services, its abstract sockets) unless asked.
    let network = match args.network.as_deref() {
        None | Some("default") | Some("none") => StepNetwork::None,
        Some("host") => StepNetwork::Host,
        Some(other) => bail!(
            "network mode {other:?} is not supported by the builder here (default, host, none)"
        ),
    };
    let opts = BuildOptions {
        dockerfile,
        context: context.clone(),
        tags,
        build_args,
        labels,
        target: args.target.clone(),
        no_cache: args.no_cache,
        quiet: args.quiet,
        network,
    };
    // RUN steps read nothing from the terminal.
    let null = std::fs::File::open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    let containers = Containers::new(store);
    let mut runner = LocalStepRunner {
        runtime_root: containers.runtime_root(),
        bundles: store.root().join("tmp"),
        network: match network {
            StepNetwork::Host => Network::Host,
            _ => Network::None,
        },
        quiet: args.quiet,
    };
    let mut stdout = std::io::stdout().lock();
    if !args.quiet {
        report_context_size(context, &mut stdout)?;
    }
    let id = executor::build(store, &mut runner, &opts, &mut stdout)?;
    if args.quiet {
        writeln!(stdout, "{id}")?;
    }
    Ok(())
}

/// `K=V` flags as a map; a bare `K` takes the caller's environment value
/// (for build args) or an empty value (for labels).
fn key_values(list: &[String], from_env: bool) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for item in list {
        match item.split_once('=') {
            Some((k, v)) => {
                map.insert(k.to_string(), v.to_string());
            }
            None if from_env => {
                if let Ok(v) = std::env::var(item) {
                    map.insert(item.clone(), v);
                }
            }
            None => {
                map.insert(item.clone(), String::new());
            }
        }
    }
    map
}

/// Docker's first line, `Sending build context to Docker daemon  2.048kB`:
/// the size of what the build can see (`.dockerignore` applied), counted
/// as the walk goes, updated in place on a terminal.
fn report_context_size(dir: &std::path::Path, out: &mut impl Write) -> Result<()> {
    let rules = wharf_build::ignore::IgnoreRules::read(dir)?;
    let tty = rustix::termios::isatty(std::io::stdout());
    let mut total = 0u64;
    let mut shown = std::time::Instant::now();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = rel.join(entry.file_name());
            let name = path.to_string_lossy();
            let Ok(meta) = entry.metadata() else { continue };
            if !rules.is_visible(&name, meta.is_dir()) {
                continue;
            }
            match meta.is_dir() {
                true => stack.push(path),
                false => total += meta.len(),
            }
        }
        if tty && shown.elapsed() > std::time::Duration::from_millis(100) {
            write!(
                out,
                "\rSending build context to Wharf  {}",
                crate::format::human_size(total)
            )?;
            out.flush()?;
            shown = std::time::Instant::now();
        }
    }
    let start = if tty { "\r" } else { "" };
    writeln!(
        out,
        "{start}Sending build context to Wharf  {}",
        crate::format::human_size(total)
    )?;
    Ok(())
}

/// What the daemon asks of `wharf build-internal` (one JSON document on
/// stdin): a build of a context it has unpacked.
#[derive(Debug, serde::Deserialize)]
struct Job {
    /// The daemon's data root (the image store).
    data_root: std::path::PathBuf,
    /// The runtime state directory for the steps' containers.
    runtime_root: std::path::PathBuf,
    /// The unpacked context.
    context: std::path::PathBuf,
    /// The Dockerfile, relative to the context.
    dockerfile: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    no_cache: bool,
    #[serde(default)]
    quiet: bool,
    /// `default`, `none`, `host`.
    #[serde(default)]
    network: String,
    /// Where the outcome goes: `{"id":…}` or `{"error":…,"code":…}`.
    result: std::path::PathBuf,
}

/// `wharf build-internal`: the daemon's builder, a single-threaded child
/// process (the daemon never forks). It reads a [`Job`] on stdin, writes
/// the classic builder's text output (and the steps' output) to stdout,
/// and the outcome as JSON to the job's result file. Exit code 0 when the
/// build succeeded.
pub fn internal_main() -> std::process::ExitCode {
    // Processes that enter a container run from a sealed copy of the binary
    // (CVE-2019-5736); stdin is still unread after the re-exec.
    if let Err(e) = wharf_sys::cloned_binary::reexec_from_sealed_copy() {
        eprintln!("Error: {e:#}");
        return std::process::ExitCode::from(1);
    }
    let job: Job = match serde_json::from_reader(std::io::stdin().lock()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("Error: invalid build job: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let outcome = match run_job(&job) {
        Ok(id) => serde_json::json!({ "id": id.as_str() }),
        Err((message, code)) => serde_json::json!({ "error": message, "code": code }),
    };
    let ok = outcome.get("id").is_some();
    if let Err(e) = std::fs::write(&job.result, outcome.to_string()) {
        eprintln!("Error: failed to write {}: {e}", job.result.display());
        return std::process::ExitCode::from(1);
    }
    match ok {
        true => std::process::ExitCode::SUCCESS,
        false => std::process::ExitCode::from(1),
    }
}

/// Runs the job; on failure, Docker's message and the RUN step's exit
/// code when that is what failed.
fn run_job(job: &Job) -> Result<wharf_image::digest::Digest, (String, Option<i32>)> {
    let plain = |e: &dyn std::fmt::Display| (e.to_string(), None);
    let store = Store::open(&job.data_root).map_err(|e| (format!("{e:#}"), None))?;
    let file = job.context.join(&job.dockerfile);
    let inside = file
        .canonicalize()
        .ok()
        .zip(job.context.canonicalize().ok())
        .is_some_and(|(f, c)| f.starts_with(c) && f.is_file());
    if !inside {
        return Err(plain(&format!(
            "Cannot locate specified Dockerfile: {}",
            job.dockerfile
        )));
    }
    let dockerfile = std::fs::read_to_string(&file).map_err(|e| plain(&e))?;
    let mut tags = Vec::new();
    for t in &job.tags {
        let r: Reference = t.parse().map_err(|e| plain(&e))?;
        tags.push(r.with_default_tag());
    }
    let network = match job.network.as_str() {
        "" | "default" | "none" | "bridge" => StepNetwork::None,
        "host" => StepNetwork::Host,
        other => {
            return Err(plain(&format!(
                "network mode {other:?} is not supported by the builder here (default, host, none)"
            )))
        }
    };
    let opts = BuildOptions {
        dockerfile,
        context: job.context.clone(),
        tags,
        build_args: job.build_args.clone(),
        labels: job.labels.clone(),
        target: job.target.clone(),
        no_cache: job.no_cache,
        quiet: job.quiet,
        network,
    };
    let null = std::fs::File::open("/dev/null").map_err(|e| plain(&e))?;
    rustix::stdio::dup2_stdin(&null).map_err(|e| plain(&e))?;
    std::fs::create_dir_all(&job.runtime_root).map_err(|e| plain(&e))?;
    let mut runner = LocalStepRunner {
        runtime_root: job.runtime_root.clone(),
        bundles: store.root().join("tmp"),
        network: match network {
            StepNetwork::Host => Network::Host,
            _ => Network::None,
        },
        quiet: job.quiet,
    };
    let mut stdout = std::io::stdout().lock();
    executor::build(&store, &mut runner, &opts, &mut stdout).map_err(|e| docker_message(&e))
}

/// A build error as Docker's classic builder words it: a failed step
/// without the `Dockerfile:N` prefix, with the exit code of a RUN.
fn docker_message(e: &executor::BuildError) -> (String, Option<i32>) {
    let chain = |e: &dyn std::error::Error| {
        let mut s = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    };
    match e {
        executor::BuildError::Step { source, .. } => {
            let code = match source.as_ref() {
                executor::StepError::NonZero { code, .. } => Some(*code),
                _ => None,
            };
            (chain(source.as_ref()), code)
        }
        other => (chain(other), None),
    }
}
