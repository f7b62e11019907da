//! `wharf images`, `history`, `image inspect`, `tag`, `rmi` and
//! `image prune`: the store's contents printed as the docker CLI prints
//! them.

use anyhow::{bail, Context, Result};
use serde_json::json;
use wharf_image::gc::Removed;
use wharf_image::reference::Reference;
use wharf_image::store::{Image, Store};

use crate::cli::{HistoryArgs, ImagesArgs, RmiArgs};
use crate::format::{ago, human_size, Table};

/// `wharf images`.
pub fn images(store: &Store, args: &ImagesArgs) -> Result<()> {
    let mut images = store.images()?;
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
    let filter = args.repository.as_deref().map(split_repo_tag);
    let mut table = if args.digests {
        Table::new(&["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"])
    } else {
        Table::new(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"])
    };
    let mut quiet_ids = Vec::new();
    for image in &images {
        if !args.all && image.repo_tags.is_empty() && store.has_children(&image.id)? {
            continue;
        }
        let id = match args.no_trunc {
            true => image.id.to_string(),
            false => image.id.short().to_string(),
        };
        let mut rows: Vec<(String, String)> = image
            .repo_tags
            .iter()
            .map(|t| split_repo_tag(t))
            .map(|(r, t)| (r.to_string(), t.unwrap_or("<none>").to_string()))
            .collect();
        if rows.is_empty() {
            rows.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in rows {
            if let Some((want_repo, want_tag)) = filter {
                if repo != want_repo || want_tag.is_some_and(|t| t != tag) {
                    continue;
                }
            }
            if args.quiet {
                if !quiet_ids.contains(&id) {
                    quiet_ids.push(id.clone());
                }
                continue;
            }
            let mut row = vec![repo, tag];
            if args.digests {
                row.push(image.repo_digests.first().map_or("<none>".into(), |d| {
                    d.split_once('@').map_or(d.clone(), |(_, d)| d.to_string())
                }));
            }
            row.extend([
                id.clone(),
                ago(image.config.created.as_deref()),
                human_size(image.size),
            ]);
            table.row(row);
        }
    }
    if args.quiet {
        for id in quiet_ids {
            println!("{id}");
        }
    } else {
        print!("{}", table.render());
    }
    Ok(())
}

/// `busybox:1.36` → (`busybox`, Some(`1.36`)); `localhost:5000/x` keeps its
/// port.
fn split_repo_tag(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (s, None),
    }
}

/// `wharf history`.
pub fn history(store: &Store, args: &HistoryArgs) -> Result<()> {
    let image = store.image(&args.image)?;
    let mut table = Table::new(&["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]);
    let layers = &image.layers;
    let mut layer_index = layers.len();
    let history = &image.config.history;
    for (i, h) in history.iter().enumerate().rev() {
        let size = match h.empty_layer {
            true => 0,
            false => {
                layer_index = layer_index.saturating_sub(1);
                layers.get(layer_index).map_or(0, |l| l.size)
            }
        };
        let id = match i + 1 == history.len() {
            true => match args.no_trunc {
                true => image.id.to_string(),
                false => image.id.short().to_string(),
            },
            false => "<missing>".to_string(),
        };
        if args.quiet {
            println!("{id}");
            continue;
        }
        let created_by = h.created_by.replace(['\t', '\n'], " ");
        let created_by = match args.no_trunc || created_by.chars().count() <= 45 {
            true => created_by,
            false => format!("{}…", created_by.chars().take(44).collect::<String>()),
        };
        let (created, size) = match args.human {
            true => (ago(h.created.as_deref()), human_size(size)),
            false => (h.created.clone().unwrap_or_default(), size.to_string()),
        };
        table.row(vec![id, created, created_by, size, h.comment.clone()]);
    }
    if !args.quiet {
        print!("{}", table.render());
    }
    Ok(())
}

/// `wharf image inspect`: the JSON array `docker image inspect` prints.
pub fn inspect(store: &Store, names: &[String]) -> Result<bool> {
    let mut out = Vec::new();
    let mut ok = true;
    for name in names {
        match store.image(name) {
            Ok(image) => out.push(inspect_json(store, &image)?),
            Err(_) => {
                eprintln!("Error: No such image: {name}");
                ok = false;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ok)
}

/// The docker `ImageInspect` shape of an image.
pub fn inspect_json(store: &Store, image: &Image) -> Result<serde_json::Value> {
    let cfg: serde_json::Value = serde_json::from_slice(&image.config_bytes)?;
    let layers: Vec<String> = image.layers.iter().map(|l| l.diff_id.to_string()).collect();
    let upper = image.layers.last().map(|l| l.dir.display().to_string());
    let lower: Vec<String> = image
        .layers
        .iter()
        .rev()
        .skip(1)
        .map(|l| l.dir.display().to_string())
        .collect();
    Ok(json!({
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": store.parent(&image.id)?.map(|p| p.to_string()).unwrap_or_default(),
        "Comment": cfg.get("comment").cloned().unwrap_or(json!("")),
        "Created": cfg.get("created").cloned().unwrap_or(json!("")),
        "Container": cfg.get("container").cloned().unwrap_or(json!("")),
        "ContainerConfig": cfg.get("container_config").cloned().unwrap_or(json!({})),
        "DockerVersion": cfg.get("docker_version").cloned().unwrap_or(json!("")),
        "Author": cfg.get("author").cloned().unwrap_or(json!("")),
        "Config": cfg.get("config").cloned().unwrap_or(json!(null)),
        "Architecture": cfg.get("architecture").cloned().unwrap_or(json!("")),
        "Os": cfg.get("os").cloned().unwrap_or(json!("")),
        "Size": image.size,
        "VirtualSize": image.size,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "LowerDir": (!lower.is_empty()).then(|| lower.join(":")),
                "UpperDir": upper,
            }
        },
        "RootFS": { "Type": "layers", "Layers": layers },
        "Metadata": { "LastTagTime": "0001-01-01T00:00:00Z" },
    }))
}

/// `wharf tag`.
pub fn tag(store: &Store, source: &str, target: &str) -> Result<()> {
    let image = store.image(source)?;
    let target: Reference = target
        .parse()
        .with_context(|| format!("invalid reference format: {target}"))?;
    if target.digest().is_some() {
        bail!("refusing to create a tag with a digest reference");
    }
    store.tag(&image.id, &target.with_default_tag())?;
    Ok(())
}

/// `wharf rmi`; false when one of the images could not be removed.
pub fn rmi(store: &Store, args: &RmiArgs) -> Result<bool> {
    let mut ok = true;
    for name in &args.images {
        match store.remove_image(name, args.force) {
            Ok(removed) => print_removed(&removed),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// Prints `Untagged: …` / `Deleted: …` lines.
pub fn print_removed(removed: &[Removed]) {
    for r in removed {
        match r {
            Removed::Untagged(t) => println!("Untagged: {t}"),
            Removed::Deleted(d) => println!("Deleted: {d}"),
        }
    }
}

/// `wharf image prune`.
pub fn prune(store: &Store, all: bool, force: bool) -> Result<()> {
    if !force {
        let what = match all {
            true => "all images without at least one container associated to them",
            false => "all dangling images",
        };
        eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            println!("Total reclaimed space: 0B");
            return Ok(());
        }
    }
    let removed = store.prune(all)?;
    let gc = store.gc()?;
    if !removed.is_empty() {
        println!("Deleted Images:");
        print_removed(&removed);
        println!();
    }
    println!("Total reclaimed space: {}", human_size(gc.bytes));
    Ok(())
}
