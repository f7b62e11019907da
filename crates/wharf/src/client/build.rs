//! `build`: the context directory as a tar (`.dockerignore` applied with
//! the builder's own rules; the Dockerfile and `.dockerignore` always
//! sent, as docker does), `POST /build` with the flags as query
//! parameters, and the daemon's JSON messages printed as the classic
//! builder prints them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::args::BuildArgs;
use super::conn::{full, q, Client};
use super::format::human_size;
use super::images::show_messages;

/// The context as a tar: every visible file under `dir`, owned by root,
/// plus `extra` files (name, content).
fn context_tar(dir: &Path, dockerfile: &str, extra: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let rules = wharf_build::ignore::IgnoreRules::read(dir)
        .with_context(|| format!("failed to read {}/.dockerignore", dir.display()))?;
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    add_dir(&mut b, dir, Path::new(""), &rules, dockerfile)?;
    for (name, content) in extra {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(0);
        b.append_data(&mut h, name, content.as_slice())?;
    }
    Ok(b.into_inner()?)
}

/// Adds the entries of `dir/rel` depth first, in name order, the way
/// docker's archive walk does (a directory, then what is in it).
fn add_dir(
    b: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    rel: &Path,
    rules: &wharf_build::ignore::IgnoreRules,
    dockerfile: &str,
) -> Result<()> {
    let here = dir.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&here)
        .with_context(|| format!("error checking context: can't read {}", here.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = rel.join(e.file_name());
        let name = path.to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(e.path())?;
        let always = name == dockerfile || name == ".dockerignore";
        if !always && !rules.is_visible(&name, meta.is_dir()) {
            continue;
        }
        let mut h = tar::Header::new_ustar();
        h.set_metadata(&meta);
        // Permission bits only, owned by root, as docker sends them.
        h.set_mode(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("")?;
        h.set_groupname("")?;
        if meta.is_dir() {
            b.append_data(&mut h, format!("{name}/"), std::io::empty())?;
            add_dir(b, dir, &path, rules, dockerfile)?;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(e.path())?;
            h.set_size(0);
            b.append_link(&mut h, &name, &target)?;
        } else if meta.is_file() {
            let f = std::fs::File::open(e.path()).with_context(|| {
                format!(
                    "error checking context: can't stat '{}'",
                    e.path().display()
                )
            })?;
            b.append_data(&mut h, &name, f)?;
        }
    }
    Ok(())
}

fn json_map(items: &[String], from_env: bool) -> String {
    let mut m: BTreeMap<String, Option<String>> = BTreeMap::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) => {
                m.insert(k.into(), Some(v.into()));
            }
            None if from_env => {
                m.insert(i.clone(), std::env::var(i).ok());
            }
            None => {
                m.insert(i.clone(), Some(String::new()));
            }
        }
    }
    serde_json::to_string(&m).unwrap_or_default()
}

/// `build`.
pub async fn build(c: &Client, a: BuildArgs) -> Result<u8> {
    let (tar, dockerfile) = if a.path == "-" {
        let mut input = Vec::new();
        std::io::stdin().read_to_end(&mut input)?;
        if input.len() > 262 && &input[257..262] == b"ustar" {
            (input, a.file.clone().unwrap_or_else(|| "Dockerfile".into()))
        } else {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_size(input.len() as u64);
            h.set_mode(0o600);
            b.append_data(&mut h, "Dockerfile", input.as_slice())?;
            (b.into_inner()?, "Dockerfile".to_string())
        }
    } else {
        let dir = PathBuf::from(&a.path);
        let meta = std::fs::metadata(&dir).map_err(|_| {
            anyhow::anyhow!("unable to prepare context: path {:?} not found", a.path)
        })?;
        if !meta.is_dir() {
            bail!(
                "unable to prepare context: context must be a directory: {}",
                a.path
            );
        }
        let abs = std::fs::canonicalize(&dir)?;
        let df_path = match &a.file {
            Some(f) if f == "-" => None,
            Some(f) => Some(std::fs::canonicalize(f).map_err(|_| {
                anyhow::anyhow!("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory", Path::new(f).display())
            })?),
            None => {
                let p = abs.join("Dockerfile");
                if !p.exists() {
                    bail!(
                        "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                        p.display()
                    );
                }
                Some(p)
            }
        };
        let mut extra = Vec::new();
        let name = match df_path {
            None => {
                let mut content = Vec::new();
                std::io::stdin().read_to_end(&mut content)?;
                let n = format!("__dockerfile-{}", hex::encode(rand_bytes()));
                extra.push((n.clone(), content));
                n
            }
            Some(p) => match p.strip_prefix(&abs) {
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => {
                    let n = format!(".dockerfile.{}", hex::encode(rand_bytes()));
                    extra.push((n.clone(), std::fs::read(&p)?));
                    n
                }
            },
        };
        (context_tar(&abs, &name, &extra)?, name)
    };
    // docker's progress line, as its non-terminal progress writer ends it.
    // With -q, like the rest of the output, it is shown only when the
    // build fails (on stderr), as docker does.
    let mut held = Vec::new();
    let sending = format!(
        "Sending build context to Docker daemon  {}\r\r\n",
        human_size(tar.len() as u64)
    );
    match a.quiet {
        true => held.extend_from_slice(sending.as_bytes()),
        false => print!("{sending}"),
    }
    let mut path = format!(
        "/build?dockerfile={}&q={}&nocache={}&rm={}&forcerm={}&pull={}",
        q(&dockerfile),
        a.quiet as u8,
        a.no_cache as u8,
        a.rm as u8,
        a.force_rm as u8,
        a.pull as u8
    );
    for t in &a.tags {
        path.push_str(&format!("&t={}", q(t)));
    }
    if !a.build_args.is_empty() {
        path.push_str(&format!("&buildargs={}", q(&json_map(&a.build_args, true))));
    }
    if !a.labels.is_empty() {
        path.push_str(&format!("&labels={}", q(&json_map(&a.labels, false))));
    }
    if let Some(t) = &a.target {
        path.push_str(&format!("&target={}", q(t)));
    }
    if let Some(n) = &a.network {
        path.push_str(&format!("&networkmode={}", q(n)));
    }
    if let Some(p) = &a.platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let resp = c.request("POST", &path, Some(full(tar)), false).await?;
    if !a.quiet {
        show_messages(resp, &mut std::io::stdout()).await?;
        return Ok(0);
    }
    let progress = held.len();
    let shown = show_messages(resp, &mut held).await;
    match shown {
        // Only the image id came: it goes to stdout.
        Ok(_) => std::io::stdout().write_all(&held[progress..])?,
        Err(e) => {
            std::io::stderr().write_all(&held)?;
            return Err(e);
        }
    }
    Ok(0)
}

fn rand_bytes() -> [u8; 8] {
    let mut b = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    b
}
