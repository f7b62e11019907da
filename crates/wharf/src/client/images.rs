//! The image commands: `images`, `rmi`, `image prune`, `history`, `tag`,
//! `save`, `load`, `import`, `export` and `commit`, plus the display of
//! the daemon's JSON progress messages that `load`, `import`, `build` and
//! pulls stream.

use std::io::Write;

use anyhow::{bail, Result};
use http_body_util::BodyExt;
use serde_json::Value;

use super::args::{
    CommitArgs, ExportArgs, HistoryArgs, ImagesArgs, ImportArgs, LoadArgs, PruneArgs, RmiArgs,
    SaveArgs, TagArgs,
};
use super::conn::{q, reader_body, Client};
use super::containers::{collected, confirm};
use super::format::{ago_unix, ellipsis, go_time, human_size, human_size3, short_id};
use super::json::Json;
use super::ps::filters_json;
use super::render::Render;

const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];
const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

fn num(v: Option<&Json>) -> i64 {
    match v {
        Some(Json::Num(n)) => n.parse::<f64>().map(|f| f as i64).unwrap_or(0),
        _ => 0,
    }
}

fn strs(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Arr(a)) => a.iter().map(|s| s.str().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// `docker.io/library/busybox` → `busybox`.
fn familiar(name: &str) -> String {
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
        .to_string()
}

/// `repo:tag` split at the tag's colon (a registry port stays).
fn split_tag(s: &str) -> (String, String) {
    match s.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (familiar(r), t.to_string()),
        _ => (familiar(s), String::new()),
    }
}

/// `images`, `image ls`.
pub async fn images(c: &Client, a: ImagesArgs) -> Result<u8> {
    let mut filters = a.filter.clone();
    if let Some(r) = &a.repository {
        filters.push(format!("reference={r}"));
    }
    let mut path = format!("/images/json?all={}&digests=1", a.all as u8);
    if !filters.is_empty() {
        path.push_str(&format!("&filters={}", q(&filters_json(&filters))));
    }
    let list = Json::parse(&c.get(&path).await?).map_err(anyhow::Error::msg)?;
    let mut images: Vec<Json> = match list {
        Json::Arr(a) => a,
        _ => Vec::new(),
    };
    images.sort_by_key(|i| std::cmp::Reverse(num(i.get("Created"))));
    let trunc = !a.no_trunc;
    let mut rows = Vec::new();
    for img in &images {
        let tags: Vec<String> = strs(img.get("RepoTags"))
            .into_iter()
            .filter(|t| t != "<none>:<none>")
            .collect();
        let digests: Vec<String> = strs(img.get("RepoDigests"))
            .into_iter()
            .filter(|d| d != "<none>@<none>")
            .collect();
        let mut entries: Vec<(String, String, String)> = Vec::new();
        if tags.is_empty() && digests.is_empty() {
            entries.push(("<none>".into(), "<none>".into(), "<none>".into()));
        } else {
            let mut by_repo: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for d in &digests {
                if let Some((r, dg)) = d.split_once('@') {
                    by_repo.entry(familiar(r)).or_default().push(dg.to_string());
                }
            }
            let mut seen = Vec::new();
            for t in &tags {
                let (repo, tag) = split_tag(t);
                let ds = if a.digests {
                    by_repo.get(&repo).cloned().unwrap_or_default()
                } else {
                    Vec::new()
                };
                seen.push(repo.clone());
                if ds.is_empty() {
                    entries.push((repo, tag, "<none>".into()));
                } else {
                    for d in ds {
                        entries.push((repo.clone(), tag.clone(), d));
                    }
                }
            }
            for (repo, ds) in by_repo {
                if seen.contains(&repo) {
                    continue;
                }
                if a.digests {
                    for d in ds {
                        entries.push((repo.clone(), "<none>".into(), d));
                    }
                } else {
                    entries.push((repo, "<none>".into(), "<none>".into()));
                }
            }
        }
        let id = img.get("Id").map(Json::str).unwrap_or("").to_string();
        let created = num(img.get("Created"));
        let size = num(img.get("Size"));
        let shared = num(img.get("SharedSize"));
        let containers = num(img.get("Containers"));
        for (repo, tag, digest) in entries {
            let s = |v: String| Json::Str(v);
            rows.push(Json::Obj(vec![
                (
                    "Containers".into(),
                    s(if containers < 0 {
                        "N/A".into()
                    } else {
                        containers.to_string()
                    }),
                ),
                ("CreatedAt".into(), s(go_time(created))),
                (
                    "CreatedSince".into(),
                    s(if created == 0 {
                        "N/A".into()
                    } else {
                        ago_unix(created)
                    }),
                ),
                ("Digest".into(), s(digest)),
                (
                    "ID".into(),
                    s(if trunc { short_id(&id) } else { id.clone() }),
                ),
                ("Repository".into(), s(repo)),
                (
                    "SharedSize".into(),
                    s(if shared < 0 {
                        "N/A".into()
                    } else {
                        human_size3(shared as f64)
                    }),
                ),
                ("Size".into(), s(human_size3(size as f64))),
                ("Tag".into(), s(tag)),
                (
                    "UniqueSize".into(),
                    s(if shared < 0 {
                        "N/A".into()
                    } else {
                        human_size3((size - shared) as f64)
                    }),
                ),
                ("VirtualSize".into(), s(human_size(size.max(0) as u64))),
            ]));
        }
    }
    let format = match (&a.format, a.quiet, a.digests) {
        (_, true, _) => "{{.ID}}".to_string(),
        (Some(f), _, _) => f.clone(),
        (None, _, true) => IMAGES_DIGESTS.into(),
        (None, _, false) => IMAGES_TABLE.into(),
    };
    let r = Render {
        format: &format,
        headers: IMAGE_HEADERS,
        default_table: if a.digests {
            IMAGES_DIGESTS
        } else {
            IMAGES_TABLE
        },
    };
    print!("{}", r.render(&rows)?);
    Ok(0)
}

/// Prints `Untagged: …` / `Deleted: …` lines of an image delete answer.
fn print_deleted(v: &Value, lower: bool) {
    for item in v.as_array().into_iter().flatten() {
        if let Some(u) = item["Untagged"].as_str() {
            println!("{}: {u}", if lower { "untagged" } else { "Untagged" });
        }
        if let Some(d) = item["Deleted"].as_str() {
            println!("{}: {d}", if lower { "deleted" } else { "Deleted" });
        }
    }
}

/// `rmi`, `image rm`.
pub async fn rmi(c: &Client, a: RmiArgs) -> Result<u8> {
    let mut errors = Vec::new();
    for name in &a.images {
        let opts = bollard::query_parameters::RemoveImageOptions {
            force: a.force,
            noprune: a.no_prune,
            platforms: None,
        };
        match c.docker.remove_image(name, Some(opts), None).await {
            Ok(items) => {
                for i in items {
                    if let Some(u) = i.untagged {
                        println!("Untagged: {u}");
                    }
                    if let Some(d) = i.deleted {
                        println!("Deleted: {d}");
                    }
                }
            }
            Err(e) => errors.push(super::conn::ApiError::from(e).to_string()),
        }
    }
    collected(errors)
}

/// `image prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> Result<u8> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !confirm(warning)? {
        return Ok(0);
    }
    let mut filters = a.filter.clone();
    filters.push(format!("dangling={}", !a.all));
    let path = format!("/images/prune?filters={}", q(&filters_json(&filters)));
    let v: Value = serde_json::from_slice(&c.call("POST", &path, None).await?)?;
    if v["ImagesDeleted"].as_array().is_some_and(|d| !d.is_empty()) {
        println!("Deleted Images:");
        print_deleted(&v["ImagesDeleted"], true);
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(v["SpaceReclaimed"].as_u64().unwrap_or(0))
    );
    Ok(0)
}

/// `history`.
pub async fn history(c: &Client, a: HistoryArgs) -> Result<u8> {
    let list = Json::parse(&c.get(&format!("/images/{}/history", q(&a.image))).await?)
        .map_err(anyhow::Error::msg)?;
    let trunc = !a.no_trunc;
    let mut rows = Vec::new();
    for h in match &list {
        Json::Arr(a) => a.as_slice(),
        _ => &[],
    } {
        let id = h.get("Id").map(Json::str).unwrap_or("");
        let id = if trunc && id != "<missing>" {
            short_id(id)
        } else {
            id.to_string()
        };
        let created = num(h.get("Created"));
        let created_at = time::OffsetDateTime::from_unix_timestamp(created)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let by = h
            .get("CreatedBy")
            .map(Json::str)
            .unwrap_or("")
            .replace('\t', " ");
        let by = if trunc { ellipsis(&by, 45) } else { by };
        let size = num(h.get("Size"));
        let s = |v: String| Json::Str(v);
        rows.push(Json::Obj(vec![
            (
                "Comment".into(),
                s(h.get("Comment").map(Json::str).unwrap_or("").to_string()),
            ),
            ("CreatedAt".into(), s(created_at.clone())),
            ("CreatedBy".into(), s(by)),
            (
                "CreatedSince".into(),
                s(if a.human {
                    ago_unix(created)
                } else {
                    created_at
                }),
            ),
            ("ID".into(), s(id)),
            (
                "Size".into(),
                s(if a.human {
                    human_size3(size as f64)
                } else {
                    size.to_string()
                }),
            ),
        ]));
    }
    const HEADERS: &[(&str, &str)] = &[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ];
    const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    const TABLE_AT: &str = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    let table = if a.human { TABLE } else { TABLE_AT };
    let format = match (&a.format, a.quiet) {
        (_, true) => "{{.ID}}".to_string(),
        (Some(f), _) => f.clone(),
        (None, _) => table.into(),
    };
    let r = Render {
        format: &format,
        headers: HEADERS,
        default_table: table,
    };
    print!("{}", r.render(&rows)?);
    Ok(0)
}

/// `tag`.
pub async fn tag(c: &Client, a: TagArgs) -> Result<u8> {
    if a.target.contains('@') {
        bail!("refusing to create a tag with a digest reference");
    }
    let (repo, tag) = match a.target.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (a.target.clone(), "latest".to_string()),
    };
    let opts = bollard::query_parameters::TagImageOptions {
        repo: Some(repo),
        tag: Some(tag),
    };
    c.docker
        .tag_image(&a.source, Some(opts))
        .await
        .map_err(super::conn::ApiError::from)?;
    Ok(0)
}

/// Copies a streamed body to a file (`-o`) or stdout (never a terminal).
async fn body_to(resp: hyper::Response<hyper::body::Incoming>, output: Option<&str>) -> Result<()> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.write_all(&data)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn refuse_terminal(output: Option<&str>) -> Result<()> {
    if output.is_none() && rustix::termios::isatty(std::io::stdout()) {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    Ok(())
}

/// `save`.
pub async fn save(c: &Client, a: SaveArgs) -> Result<u8> {
    refuse_terminal(a.output.as_deref())?;
    let names: Vec<String> = a.images.iter().map(|n| format!("names={}", q(n))).collect();
    let resp = c
        .request(
            "GET",
            &format!("/images/get?{}", names.join("&")),
            None,
            false,
        )
        .await?;
    body_to(resp, a.output.as_deref()).await?;
    Ok(0)
}

/// `export`.
pub async fn export(c: &Client, a: ExportArgs) -> Result<u8> {
    refuse_terminal(a.output.as_deref())?;
    let resp = c
        .request(
            "GET",
            &format!("/containers/{}/export", q(&a.container)),
            None,
            false,
        )
        .await?;
    body_to(resp, a.output.as_deref()).await?;
    Ok(0)
}

/// Shows the daemon's JSON messages on `out` like docker's `jsonmessage`
/// without a terminal; returns the last `aux.ID`. An `error` message
/// fails.
pub async fn show_messages(
    resp: hyper::Response<hyper::body::Incoming>,
    out: &mut dyn Write,
) -> Result<Option<String>> {
    let mut body = resp.into_body();
    let mut pending = Vec::new();
    let mut aux = None;
    loop {
        let frame = body.frame().await;
        let done = frame.is_none();
        if let Some(f) = frame {
            if let Ok(data) = f?.into_data() {
                pending.extend_from_slice(&data);
            }
        }
        while let Some(pos) =
            pending
                .iter()
                .position(|b| *b == b'\n')
                .or(if done && !pending.is_empty() {
                    Some(pending.len())
                } else {
                    None
                })
        {
            let line: Vec<u8> = pending.drain(..pos.min(pending.len())).collect();
            if !pending.is_empty() {
                pending.remove(0);
            }
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(e) = v["errorDetail"]["message"].as_str().or(v["error"].as_str()) {
                out.flush()?;
                // docker exits with the failed step's code.
                let code = v["errorDetail"]["code"]
                    .as_u64()
                    .filter(|c| *c > 0 && *c < 256);
                return Err(super::Exit {
                    code: code.unwrap_or(1) as u8,
                    message: e.to_string(),
                }
                .into());
            }
            if let Some(id) = v["aux"]["ID"].as_str() {
                aux = Some(id.to_string());
            }
            if let Some(s) = v["stream"].as_str() {
                out.write_all(s.as_bytes())?;
            } else if let Some(s) = v["status"].as_str() {
                match v["id"].as_str() {
                    Some(id) => writeln!(out, "{id}: {s}")?,
                    None => writeln!(out, "{s}")?,
                }
            }
            out.flush()?;
        }
        if done {
            break;
        }
    }
    Ok(aux)
}

/// A directory as a tar stream, written by a thread into a pipe; its
/// symlinks stay links (the daemon judges where they lead).
fn tar_of_dir(dir: &str) -> Result<std::io::PipeReader> {
    let (reader, writer) = std::io::pipe()?;
    let dir = std::path::PathBuf::from(dir);
    std::thread::spawn(move || {
        let mut b = tar::Builder::new(std::io::BufWriter::new(writer));
        b.follow_symlinks(false);
        // A failure shows up on the daemon's side as a truncated archive.
        if b.append_dir_all(".", &dir).is_ok() {
            let _ = b.finish();
        }
    });
    Ok(reader)
}

/// `load`.
pub async fn load(c: &Client, a: LoadArgs) -> Result<u8> {
    let input: Box<dyn std::io::Read + Send> = match &a.input {
        // An OCI layout directory goes over as the tar of it.
        Some(p) if std::path::Path::new(p).is_dir() => Box::new(tar_of_dir(p)?),
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| anyhow::anyhow!("open {p}: {e}"))?),
        None => {
            if rustix::termios::isatty(std::io::stdin()) {
                bail!("requested load from stdin, but stdin is empty");
            }
            Box::new(std::io::stdin())
        }
    };
    let resp = c
        .request(
            "POST",
            // Without a terminal docker asks for no progress.
            &format!(
                "/images/load?quiet={}",
                (a.quiet || !rustix::termios::isatty(std::io::stdout())) as u8
            ),
            Some(reader_body(input)),
            false,
        )
        .await?;
    let json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        show_messages(resp, &mut std::io::stdout()).await?;
    } else {
        body_to(resp, None).await?;
    }
    Ok(0)
}

/// `import`.
pub async fn import(c: &Client, a: ImportArgs) -> Result<u8> {
    let mut path = String::from("/images/create?");
    let body = if a.file == "-" {
        path.push_str("fromSrc=-");
        Some(reader_body(std::io::stdin()))
    } else if a.file.contains("://") {
        path.push_str(&format!("fromSrc={}", q(&a.file)));
        None
    } else {
        let f =
            std::fs::File::open(&a.file).map_err(|e| anyhow::anyhow!("open {}: {e}", a.file))?;
        path.push_str("fromSrc=-");
        Some(reader_body(f))
    };
    if let Some(r) = &a.reference {
        let (repo, tag) = match r.rsplit_once(':') {
            Some((x, t)) if !t.contains('/') => (x.to_string(), t.to_string()),
            _ => (r.clone(), String::new()),
        };
        path.push_str(&format!("&repo={}", q(&repo)));
        if !tag.is_empty() {
            path.push_str(&format!("&tag={}", q(&tag)));
        }
    }
    if let Some(m) = &a.message {
        path.push_str(&format!("&message={}", q(m)));
    }
    for ch in &a.changes {
        path.push_str(&format!("&changes={}", q(ch)));
    }
    if let Some(p) = &a.platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let resp = c.request("POST", &path, body, false).await?;
    show_messages(resp, &mut std::io::stdout()).await?;
    Ok(0)
}

/// `commit`.
pub async fn commit(c: &Client, a: CommitArgs) -> Result<u8> {
    let mut path = format!(
        "/commit?container={}&pause={}",
        q(&a.container),
        a.pause as u8
    );
    if let Some(r) = &a.reference {
        let (repo, tag) = match r.rsplit_once(':') {
            Some((x, t)) if !t.contains('/') => (x.to_string(), t.to_string()),
            _ => (r.clone(), String::new()),
        };
        path.push_str(&format!("&repo={}&tag={}", q(&repo), q(&tag)));
    }
    if let Some(m) = &a.message {
        path.push_str(&format!("&comment={}", q(m)));
    }
    if let Some(au) = &a.author {
        path.push_str(&format!("&author={}", q(au)));
    }
    for ch in &a.changes {
        path.push_str(&format!("&changes={}", q(ch)));
    }
    let v: Value = serde_json::from_slice(&c.post_json(&path, &serde_json::json!({})).await?)?;
    println!("{}", v["Id"].as_str().unwrap_or_default());
    Ok(0)
}
