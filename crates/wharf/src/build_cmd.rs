//! `wharf build-internal`: the daemon's builder, run as a single-threaded
//! child of `wharf daemon` for each `POST /build` (the daemon never
//! forks). It builds a context the daemon unpacked, with the runtime
//! library as the step runner, and writes the classic builder's text
//! output to stdout. A job with `reap` set builds nothing: it removes what
//! builders that died (killed when their client went away) left behind.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use wharf_build::executor::{self, BuildOptions};
use wharf_build::runner::StepNetwork;
use wharf_image::reference::Reference;
use wharf_image::store::Store;

use crate::container_spec::{Network, Sandbox};
use crate::step_runner::LocalStepRunner;

/// What the daemon asks of `wharf build-internal` (one JSON document on
/// stdin): a build of a context it has unpacked, or a reap.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Job {
    /// The daemon's data root (the image store).
    data_root: PathBuf,
    /// The runtime state directory for the steps' containers.
    runtime_root: PathBuf,
    /// Only remove what dead builders left (no build).
    reap: bool,
    /// The unpacked context.
    context: PathBuf,
    /// The Dockerfile, relative to the context.
    dockerfile: String,
    tags: Vec<String>,
    build_args: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    target: Option<String>,
    no_cache: bool,
    /// `default`, `none`, `host`.
    network: String,
    /// The daemon's sandbox on its default bridge, for the steps of a
    /// `default`/`bridge` build (absent: the daemon has no bridge).
    sandbox: Option<Sandbox>,
    /// Where the outcome goes: `{"id":…}` or `{"error":…,"code":…,"status":…}`.
    result: PathBuf,
}

/// Why a build failed, as the daemon reports it.
struct Failure {
    /// Docker's message.
    message: String,
    /// The exit code of the RUN that failed, if that is what failed.
    code: Option<i32>,
    /// The HTTP status Docker answers when nothing was sent yet: 400 for
    /// a Dockerfile that does not parse or a `--target` no stage has.
    status: u16,
}

impl Failure {
    fn plain(e: impl std::fmt::Display) -> Failure {
        Failure {
            message: e.to_string(),
            code: None,
            status: 500,
        }
    }
}

/// `wharf build-internal`: reads a [`Job`] on stdin, writes the classic
/// builder's text output (and the steps' output) to stdout, and the
/// outcome as JSON to the job's result file. Exit code 0 when the build
/// succeeded.
pub fn internal_main() -> ExitCode {
    // Processes that enter a container run from a sealed copy of the binary
    // (CVE-2019-5736); stdin is still unread after the re-exec.
    if let Err(e) = wharf_sys::cloned_binary::reexec_from_sealed_copy() {
        eprintln!("Error: {e:#}");
        return ExitCode::from(1);
    }
    let job: Job = match serde_json::from_reader(std::io::stdin().lock()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("Error: invalid build job: {e}");
            return ExitCode::from(1);
        }
    };
    if job.reap {
        return match reap(&job) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {}", e.message);
                ExitCode::from(1)
            }
        };
    }
    let outcome = match run_job(&job) {
        Ok(id) => serde_json::json!({ "id": id.as_str() }),
        Err(f) => serde_json::json!({ "error": f.message, "code": f.code, "status": f.status }),
    };
    let ok = outcome.get("id").is_some();
    if let Err(e) = std::fs::write(&job.result, outcome.to_string()) {
        eprintln!("Error: failed to write {}: {e}", job.result.display());
        return ExitCode::from(1);
    }
    match ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}

/// The step runner of a job.
fn runner(store: &Store, job: &Job, network: StepNetwork) -> LocalStepRunner {
    LocalStepRunner {
        runtime_root: job.runtime_root.clone(),
        bundles: store.root().join("tmp"),
        network: match (network, &job.sandbox) {
            (StepNetwork::Host, _) => Network::Host,
            (StepNetwork::Default, Some(s)) => Network::Path(s.clone()),
            _ => Network::None,
        },
    }
}

/// Removes the step containers and snapshots of builders that died.
fn reap(job: &Job) -> Result<(), Failure> {
    let store = Store::open(&job.data_root).map_err(|e| Failure::plain(format!("{e:#}")))?;
    let mut runner = runner(&store, job, StepNetwork::None);
    executor::reap_stale_steps(&store, &mut runner);
    Ok(())
}

/// Runs the job; on failure, Docker's message, the RUN step's exit code
/// when that is what failed, and the status of an early failure.
fn run_job(job: &Job) -> Result<wharf_image::digest::Digest, Failure> {
    let store = Store::open(&job.data_root).map_err(|e| Failure::plain(format!("{e:#}")))?;
    let file = job.context.join(&job.dockerfile);
    let inside = file
        .canonicalize()
        .ok()
        .zip(job.context.canonicalize().ok())
        .is_some_and(|(f, c)| f.starts_with(c) && f.is_file());
    if !inside {
        return Err(Failure::plain(format!(
            "Cannot locate specified Dockerfile: {}",
            job.dockerfile
        )));
    }
    let dockerfile = std::fs::read_to_string(&file).map_err(Failure::plain)?;
    let mut tags = Vec::new();
    for t in &job.tags {
        let r: Reference = t.parse().map_err(Failure::plain)?;
        tags.push(r.with_default_tag());
    }
    let network = match job.network.as_str() {
        "" | "default" | "bridge" => StepNetwork::Default,
        "none" => StepNetwork::None,
        "host" => StepNetwork::Host,
        other => {
            return Err(Failure::plain(format!(
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
        network,
    };
    let null = std::fs::File::open("/dev/null").map_err(Failure::plain)?;
    rustix::stdio::dup2_stdin(&null).map_err(Failure::plain)?;
    std::fs::create_dir_all(&job.runtime_root).map_err(Failure::plain)?;
    let mut runner = runner(&store, job, network);
    let mut stdout = std::io::stdout().lock();
    executor::build(&store, &mut runner, &opts, &mut stdout).map_err(|e| failure(&e))
}

/// A build error as Docker's classic builder words it: a failed step
/// without the `Dockerfile:N` prefix, with the exit code of a RUN; a
/// Dockerfile that does not parse or plan (a missing target included) is
/// the request's fault (400), as dockerd answers.
fn failure(e: &executor::BuildError) -> Failure {
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
    use executor::BuildError as E;
    let status = match e {
        E::Parse(_) | E::Plan(_) => 400,
        _ => 500,
    };
    let (message, code) = match e {
        E::Step { source, .. } => {
            let code = match source.as_ref() {
                executor::StepError::NonZero { code, .. } => Some(*code),
                _ => None,
            };
            (chain(source.as_ref()), code)
        }
        other => (chain(other), None),
    };
    Failure {
        message,
        code,
        status,
    }
}
