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
        tags.push(r.with_default_tag());
    }
    let build_args = key_values(&args.build_args, true);
    let labels = key_values(&args.labels, false);
    let network = match args.network.as_deref() {
        None | Some("default") | Some("host") => StepNetwork::Host,
        Some("none") => StepNetwork::None,
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
        network: Network::Host,
        quiet: args.quiet,
    };
    let mut stdout = std::io::stdout().lock();
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
