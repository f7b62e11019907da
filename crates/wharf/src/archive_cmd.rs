//! `wharf load`, `save`, `import`, `export` and `commit`: moving images
//! and container filesystems in and out of the store as tar archives.

use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use wharf_image::commit::{self, Child};
use wharf_image::reference::Reference;
use wharf_image::store::Store;

use crate::cli::{CommitArgs, ImportArgs, LoadArgs, SaveArgs};
use crate::local::Containers;

/// `wharf load`: a tar (docker-archive or OCI layout, plain or
/// compressed) from a file or stdin, or an OCI layout directory.
pub fn load(store: &Store, args: &LoadArgs) -> Result<()> {
    let input: Box<dyn Read> = match &args.input {
        Some(path) if path.is_dir() => Box::new(tar_of_dir(path)?),
        Some(path) => Box::new(
            std::fs::File::open(path)
                .with_context(|| format!("failed to open {}", path.display()))?,
        ),
        None => {
            if rustix::termios::isatty(std::io::stdin()) {
                bail!("requested load from stdin, but stdin is empty");
            }
            Box::new(std::io::stdin().lock())
        }
    };
    let loaded =
        wharf_image::archive::load(store, std::io::BufReader::with_capacity(1 << 20, input))?;
    if !args.quiet {
        for image in loaded {
            if image.tags.is_empty() {
                println!("Loaded image ID: {}", image.id);
            }
            for tag in image.tags {
                println!("Loaded image: {tag}");
            }
        }
    }
    Ok(())
}

/// A directory as a tar stream, written by a thread into a pipe. The
/// directory gets the same scrutiny as an archive: its symlinks stay links,
/// and `load` refuses any that leads outside.
fn tar_of_dir(dir: &std::path::Path) -> Result<std::io::PipeReader> {
    let (reader, writer) = std::io::pipe().context("failed to create a pipe")?;
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, writer);
        // A failure shows up on the reading side as a truncated archive.
        if wharf_image::layer::tar_dir(&dir, &mut out).is_ok() {
            let _ = out.flush();
        }
    });
    Ok(reader)
}

/// `wharf save`.
pub fn save(store: &Store, args: &SaveArgs) -> Result<()> {
    match &args.output {
        Some(path) => {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let dir = dir.unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("failed to create a file beside {}", path.display()))?;
            {
                let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
                wharf_image::archive::save(store, &args.images, &mut out)?;
                out.flush()?;
            }
            tmp.persist(path)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        None => {
            if rustix::termios::isatty(std::io::stdout()) {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            wharf_image::archive::save(store, &args.images, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `wharf import`: a root filesystem tar as a one-layer image.
pub fn import(store: &Store, args: &ImportArgs) -> Result<()> {
    let (input, source): (Box<dyn Read>, &str) = match args.file.as_str() {
        "-" => (Box::new(std::io::stdin().lock()), "-"),
        url if url.starts_with("http://") || url.starts_with("https://") => {
            bail!("importing from {url} needs the network, which this host does not have")
        }
        path => (
            Box::new(std::fs::File::open(path).with_context(|| format!("failed to open {path}"))?),
            path,
        ),
    };
    let layer = store.add_layer(None, std::io::BufReader::with_capacity(1 << 20, input))?;
    let mut config = wharf_image::config::RunConfig::default();
    wharf_build::changes::apply(&mut config, &args.changes)?;
    let comment = args
        .message
        .clone()
        .unwrap_or_else(|| format!("Imported from {source}"));
    let (id, _) = commit::commit(
        store,
        None,
        None,
        Some(&layer.diff_id),
        &Child {
            config: Some(config),
            comment: Some(comment),
            ..Child::default()
        },
    )?;

    if let Some(r) = &args.reference {
        tag_new(store, &id, r)?;
    }
    println!("{id}");
    Ok(())
}

fn tag_new(store: &Store, id: &wharf_image::digest::Digest, reference: &str) -> Result<()> {
    let r: Reference = reference
        .parse()
        .with_context(|| format!("invalid reference format: {reference}"))?;
    store.tag(id, &r.with_default_tag())?;
    Ok(())
}

/// `wharf export`: the container's whole filesystem as one tar.
pub fn export(store: &Store, container: &str, output: Option<&std::path::Path>) -> Result<()> {
    let record = Containers::new(store).find(container)?;
    let snapshot = store.snapshot(&record.id)?;
    if output.is_none() && rustix::termios::isatty(std::io::stdout()) {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let merged = store.mount_snapshot(&snapshot)?;
    let result = (|| -> Result<()> {
        match output {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("failed to create {}", path.display()))?;
                let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
                wharf_image::layer::tar_dir(&merged, &mut out)?;
                out.flush()?;
            }
            None => {
                let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                wharf_image::layer::tar_dir(&merged, &mut out)?;
                out.flush()?;
            }
        }
        Ok(())
    })();
    store.unmount_snapshot(&snapshot)?;
    result
}

/// `wharf commit`: the container's writable layer on top of its image.
pub fn commit(store: &Store, args: &CommitArgs) -> Result<()> {
    let record = Containers::new(store).find(&args.container)?;
    let image = store.image(record.image.as_str())?;
    let snapshot = store.snapshot(&record.id)?;
    let mut config = image.config.config.clone().unwrap_or_default();
    wharf_build::changes::apply(&mut config, &args.changes)?;
    let layer = commit::layer_from_upper(store, image.top_layer(), &snapshot.upper)?;
    let (id, _) = commit::commit(
        store,
        Some(&image.id),
        Some(&image.config),
        layer.as_ref().map(|l| &l.diff_id),
        &Child {
            config: Some(config),
            created_by: Some(record.command.join(" ")),
            author: args.author.clone(),
            comment: args.message.clone(),
            container: Some(record.id.clone()),
        },
    )?;

    if let Some(r) = &args.reference {
        tag_new(store, &id, r)?;
    }
    println!("{id}");
    Ok(())
}
