//! `cp` both ways through the archive API: `GET /containers/ID/archive`
//! gives a tar of the path (extracted here with docker's naming rules, or
//! passed through for `-`), `PUT` takes a tar of the local path (or of
//! stdin for `-`) into the directory that will hold it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::Value;

use super::args::CpArgs;
use super::conn::{full, q, reader_body, ApiError, Client};

/// `container:path` → (container, path); a local path otherwise.
fn split(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') || arg == "-" {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() && !c.contains('/') => (Some(c), p),
        _ => (None, arg),
    }
}

/// The stat header of an archive answer.
fn path_stat(headers: &hyper::HeaderMap) -> Option<Value> {
    let v = headers.get("x-docker-container-path-stat")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.as_bytes())
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

/// `cp`.
pub async fn cp(c: &Client, a: CpArgs) -> Result<u8> {
    match (split(&a.src), split(&a.dst)) {
        ((Some(ctr), src), (None, dst)) => copy_from(c, ctr, src, dst, a.follow_link).await,
        ((None, src), (Some(ctr), dst)) => {
            copy_to(c, src, ctr, dst, a.archive, a.follow_link).await
        }
        ((Some(_), _), (Some(_), _)) => bail!("copying between containers is not supported"),
        _ => bail!("must specify at least one container source"),
    }
}

async fn copy_from(c: &Client, ctr: &str, src: &str, dst: &str, follow: bool) -> Result<u8> {
    let mut src_path = src.to_string();
    if follow {
        let head = c
            .request(
                "HEAD",
                &format!("/containers/{}/archive?path={}", q(ctr), q(src)),
                None,
                false,
            )
            .await?;
        if let Some(st) = path_stat(head.headers()) {
            if let Some(target) = st["linkTarget"].as_str().filter(|t| !t.is_empty()) {
                src_path = target.to_string();
            }
        }
    }
    let resp = c
        .request(
            "GET",
            &format!("/containers/{}/archive?path={}", q(ctr), q(&src_path)),
            None,
            false,
        )
        .await?;
    let stat = path_stat(resp.headers()).unwrap_or(Value::Null);
    let bytes = resp.into_body().collect().await?.to_bytes();
    if dst == "-" {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()?;
        return Ok(0);
    }
    let src_is_dir = stat["mode"].as_u64().is_some_and(|m| m & (1 << 31) != 0);
    let contents_only = src.ends_with("/.");
    let dst_path = PathBuf::from(dst);
    let dst_meta = std::fs::metadata(&dst_path).ok();
    if dst.ends_with('/') && dst_meta.is_none() {
        bail!("destination directory {dst} does not exist");
    }
    if let Some(m) = &dst_meta {
        if !m.is_dir() && src_is_dir {
            bail!("cannot copy a directory to a file");
        }
    }
    // Where the tar goes, and what its first component becomes.
    let (root, rename): (PathBuf, Option<String>) = match &dst_meta {
        Some(m) if m.is_dir() && contents_only => (dst_path.clone(), Some(String::new())),
        Some(m) if m.is_dir() => (dst_path.clone(), None),
        _ => {
            let parent = dst_path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf();
            let name = dst_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (parent, Some(name))
        }
    };
    let mut archive = tar::Archive::new(std::io::Cursor::new(bytes));
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut e = entry?;
        let path = e.path()?.into_owned();
        let mut comps = path.components();
        let first = comps.next();
        let rest: PathBuf = comps.collect();
        let rel = match (&rename, first) {
            (None, _) => path.clone(),
            (Some(n), Some(_)) if n.is_empty() => rest,
            (Some(n), Some(_)) if rest.as_os_str().is_empty() => PathBuf::from(n),
            (Some(n), Some(_)) => Path::new(n).join(rest),
            (Some(_), None) => continue,
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = root.join(&rel);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).ok();
        }
        e.unpack(&target)
            .with_context(|| format!("failed to write {}", target.display()))?;
    }
    Ok(0)
}

async fn copy_to(
    c: &Client,
    src: &str,
    ctr: &str,
    dst: &str,
    archive: bool,
    follow: bool,
) -> Result<u8> {
    let stat = c
        .request(
            "HEAD",
            &format!("/containers/{}/archive?path={}", q(ctr), q(dst)),
            None,
            false,
        )
        .await;
    let dst_stat = match stat {
        Ok(r) => path_stat(r.headers()),
        Err(ApiError::Daemon { status: 404, .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let dst_is_dir = dst_stat
        .as_ref()
        .and_then(|s| s["mode"].as_u64())
        .is_some_and(|m| m & (1 << 31) != 0);
    let query = |dir: &str| {
        format!(
            "/containers/{}/archive?path={}&noOverwriteDirNonDir=true&copyUIDGID={}",
            q(ctr),
            q(dir),
            archive
        )
    };
    if src == "-" {
        if dst_stat.is_some() && !dst_is_dir {
            bail!("destination \"{ctr}:{dst}\" must be a directory");
        }
        c.request(
            "PUT",
            &query(dst),
            Some(reader_body(std::io::stdin())),
            false,
        )
        .await?;
        return Ok(0);
    }
    let src_path = PathBuf::from(src);
    let meta = if follow {
        std::fs::metadata(&src_path)
    } else {
        std::fs::symlink_metadata(&src_path)
    }
    .map_err(|_| anyhow::anyhow!("stat {src}: no such file or directory"))?;
    let contents_only = src.ends_with("/.");
    let (dir, name) = if dst_is_dir {
        let base = src_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (
            dst.to_string(),
            if contents_only { String::new() } else { base },
        )
    } else {
        if dst.ends_with('/') {
            bail!("Error response from daemon: Could not find the file {dst} in container {ctr}");
        }
        let p = Path::new(dst);
        let parent = p
            .parent()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        let parent = if parent.is_empty() {
            "/".to_string()
        } else {
            parent
        };
        (
            parent,
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(follow);
    if meta.is_dir() {
        if name.is_empty() {
            b.append_dir_all(".", &src_path)?;
        } else {
            b.append_dir_all(&name, &src_path)?;
        }
    } else if meta.file_type().is_symlink() {
        let mut h = tar::Header::new_gnu();
        h.set_metadata(&meta);
        b.append_link(&mut h, &name, std::fs::read_link(&src_path)?)?;
    } else {
        let mut f = std::fs::File::open(&src_path)?;
        b.append_file(&name, &mut f)?;
    }
    let tar = b.into_inner()?;
    c.request("PUT", &query(&dir), Some(full(tar)), false)
        .await?;
    Ok(0)
}
