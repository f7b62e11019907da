//! The container commands that are one call each (or one per name):
//! `logs`, `stop`, `restart`, `kill`, `rm`, `pause`, `unpause`, `inspect`,
//! `top`, `port`, `rename`, `wait` and `container prune`.

use std::io::Write;

use anyhow::{bail, Result};
use http_body_util::BodyExt;
use serde_json::Value;

use super::args::{
    InspectArgs, KillArgs, LogsArgs, Names, PortArgs, PruneArgs, RenameArgs, RmArgs, StopArgs,
    TopArgs,
};
use super::conn::{q, ApiError, Client};
use super::format::{human_size, join_host_port, natural_cmp, tabwrite_with};
use super::json::{indent, Json};
use super::render;
use super::run_args::go_duration;
use super::stream::demux;
use super::Exit;

/// Fails with the collected errors (one per line), exit 1.
pub fn collected(errors: Vec<String>) -> Result<u8> {
    if errors.is_empty() {
        return Ok(0);
    }
    Err(Exit {
        code: 1,
        message: errors.join("\n"),
    }
    .into())
}

/// docker's `timetypes.GetTimestamp`: a duration before now, an RFC 3339
/// time or date, or Unix seconds, as `seconds.nanoseconds`.
pub fn api_time(value: &str) -> Result<String> {
    if value.chars().all(|c| c.is_ascii_digit() || c == '.') && !value.is_empty() {
        return Ok(value.to_string());
    }
    let now = time::OffsetDateTime::now_utc();
    if let Ok(d) = go_duration(value) {
        let t = now - time::Duration::nanoseconds(d);
        return Ok(format!("{}.{:09}", t.unix_timestamp(), t.nanosecond()));
    }
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(value, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{value}Z"), &Rfc3339))
        .or_else(|_| time::OffsetDateTime::parse(&format!("{value}T00:00:00Z"), &Rfc3339))
        .or_else(|_| time::OffsetDateTime::parse(&format!("{value}:00Z"), &Rfc3339))
        .map_err(|_| anyhow::anyhow!("invalid value for \"since\": failed to parse value as time or duration: \"{value}\""))?;
    Ok(format!("{}.{:09}", t.unix_timestamp(), t.nanosecond()))
}

/// `logs`.
pub async fn logs(c: &Client, a: LogsArgs) -> Result<u8> {
    let info: Value = serde_json::from_slice(
        &c.get(&format!("/containers/{}/json", q(&a.container)))
            .await?,
    )?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let mut path = format!(
        "/containers/{}/logs?stdout=1&stderr=1&follow={}&timestamps={}&details={}&tail={}",
        q(&a.container),
        a.follow as u8,
        a.timestamps as u8,
        a.details as u8,
        q(&a.tail)
    );
    if let Some(s) = &a.since {
        path.push_str(&format!("&since={}", q(&api_time(s)?)));
    }
    if let Some(u) = &a.until {
        path.push_str(&format!("&until={}", q(&api_time(u)?)));
    }
    let resp = c.request("GET", &path, None, false).await?;
    let mut body = resp.into_body();
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if tty {
            let mut o = std::io::stdout().lock();
            o.write_all(&data)?;
            o.flush()?;
        } else {
            pending.extend_from_slice(&data);
            demux(&mut pending)?;
        }
    }
    Ok(0)
}

/// `stop` and `restart`.
pub async fn stop(c: &Client, a: StopArgs, restart: bool) -> Result<u8> {
    let verb = if restart { "restart" } else { "stop" };
    let mut errors = Vec::new();
    for n in &a.names {
        let mut path = format!("/containers/{}/{verb}?", q(n));
        if let Some(t) = a.timeout {
            path.push_str(&format!("t={t}&"));
        }
        if let Some(s) = &a.signal {
            path.push_str(&format!("signal={}&", q(s)));
        }
        match c
            .call("POST", path.trim_end_matches(['?', '&']), None)
            .await
        {
            Ok(_) => println!("{n}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// `kill`.
pub async fn kill(c: &Client, a: KillArgs) -> Result<u8> {
    let mut errors = Vec::new();
    for n in &a.names {
        let mut path = format!("/containers/{}/kill", q(n));
        if let Some(s) = &a.signal {
            path.push_str(&format!("?signal={}", q(s)));
        }
        match c.call("POST", &path, None).await {
            Ok(_) => println!("{n}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// `rm`.
pub async fn rm(c: &Client, a: RmArgs) -> Result<u8> {
    let mut errors = Vec::new();
    for n in &a.names {
        let name = n.trim_matches('/');
        if name.is_empty() {
            errors.push("Container name cannot be empty".to_string());
            continue;
        }
        let path = format!(
            "/containers/{}?force={}&v={}&link={}",
            q(name),
            a.force as u8,
            a.volumes as u8,
            a.link as u8
        );
        match c.call("DELETE", &path, None).await {
            Ok(_) => println!("{n}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// `pause` / `unpause`.
pub async fn pause(c: &Client, a: Names, pause: bool) -> Result<u8> {
    let verb = if pause { "pause" } else { "unpause" };
    let mut errors = Vec::new();
    for n in &a.names {
        match c
            .call("POST", &format!("/containers/{}/{verb}", q(n)), None)
            .await
        {
            Ok(_) => println!("{n}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// The raw JSON of one object of `kind` (or whatever kind it is);
/// `size` asks a container for its sizes, a network for its verbose form.
async fn inspect_raw(
    c: &Client,
    name: &str,
    kind: Option<&str>,
    size: bool,
) -> Result<bytes::Bytes, ApiError> {
    let container = format!(
        "/containers/{}/json{}",
        q(name),
        if size { "?size=1" } else { "" }
    );
    let image = format!("/images/{}/json", q(name));
    let volume = format!("/volumes/{}", q(name));
    let network = format!(
        "/networks/{}{}",
        q(name),
        if size { "?verbose=true" } else { "" }
    );
    let tries: Vec<&str> = match kind {
        Some("container") => vec![&container],
        Some("image") => vec![&image],
        Some("volume") => vec![&volume],
        Some("network") => vec![&network],
        _ => vec![&container, &image, &network, &volume],
    };
    let mut last = None;
    for path in tries {
        match c.get(path).await {
            Ok(b) => return Ok(b),
            Err(e @ ApiError::Daemon { status: 404, .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(match (kind, last) {
        (None, _) => ApiError::Daemon {
            status: 404,
            message: format!("No such object: {name}"),
        },
        (_, Some(e)) => e,
        (_, None) => ApiError::Daemon {
            status: 404,
            message: format!("No such object: {name}"),
        },
    })
}

/// `inspect`, `container inspect`, `image inspect`.
pub async fn inspect(c: &Client, a: InspectArgs, kind: Option<&str>) -> Result<u8> {
    let kind = kind.or(a.kind.as_deref());
    if let Some(k) = kind {
        if ![
            "container",
            "image",
            "volume",
            "network",
            "node",
            "plugin",
            "secret",
            "service",
            "task",
            "config",
        ]
        .contains(&k)
        {
            bail!("\"{k}\" is not a valid value for --type");
        }
    }
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        match inspect_raw(c, n, kind, a.size).await {
            Ok(b) => raws.push(b),
            Err(ApiError::Daemon {
                status: 404,
                message,
            }) if kind.is_none() => errors.push(format!("Error: {message}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let mut out = std::io::stdout().lock();
    match &a.format {
        None => {
            if raws.is_empty() {
                writeln!(out, "[]")?;
            } else {
                let mut joined = b"[".to_vec();
                for (i, r) in raws.iter().enumerate() {
                    if i > 0 {
                        joined.push(b',');
                    }
                    joined.extend_from_slice(r);
                }
                joined.push(b']');
                writeln!(out, "{}", indent(&joined, "    "))?;
            }
        }
        Some(f) => {
            for r in &raws {
                let v = Json::parse(r).map_err(anyhow::Error::msg)?;
                out.write_all(render::once(f, &v)?.as_bytes())?;
            }
        }
    }
    out.flush()?;
    collected(errors)
}

/// `top`.
pub async fn top(c: &Client, a: TopArgs) -> Result<u8> {
    let mut path = format!("/containers/{}/top", q(&a.container));
    if !a.ps_args.is_empty() {
        path.push_str(&format!("?ps_args={}", q(&a.ps_args.join(" "))));
    }
    let v: Value = serde_json::from_slice(&c.get(&path).await?)?;
    let mut text = String::new();
    let titles: Vec<&str> = v["Titles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    text.push_str(&titles.join("\t"));
    text.push('\n');
    for p in v["Processes"].as_array().into_iter().flatten() {
        let cells: Vec<&str> = p
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    print!("{}", tabwrite_with(&text, 20, 1));
    Ok(0)
}

/// `port`: the container's published ports (`80/tcp -> 0.0.0.0:8080`),
/// or the host addresses of one, in natural order.
pub async fn port(c: &Client, a: PortArgs) -> Result<u8> {
    let v: Value = serde_json::from_slice(
        &c.get(&format!("/containers/{}/json", q(&a.container)))
            .await?,
    )?;
    let ports = v["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let host = |b: &Value| {
        join_host_port(
            b["HostIp"].as_str().unwrap_or(""),
            b["HostPort"].as_str().unwrap_or(""),
        )
    };
    let mut lines = Vec::new();
    if let Some(want) = &a.port {
        let (port, proto) = want.split_once('/').unwrap_or((want, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        if let Err(e) = port.parse::<u16>() {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow => "value out of range",
                _ => "invalid syntax",
            };
            bail!("Error: invalid port ({port}): strconv.ParseUint: parsing \"{port}\": {why}");
        }
        match ports
            .get(&format!("{port}/{proto}"))
            .and_then(Value::as_array)
        {
            Some(bs) if !bs.is_empty() => lines.extend(bs.iter().map(host)),
            _ => bail!(
                "Error: No public port '{want}' published for {}",
                a.container
            ),
        }
    } else {
        for (k, bs) in &ports {
            for b in bs.as_array().into_iter().flatten() {
                lines.push(format!("{k} -> {}", host(b)));
            }
        }
    }
    lines.sort_by(|x, y| natural_cmp(x, y));
    for l in lines {
        println!("{l}");
    }
    Ok(0)
}

/// `rename`.
pub async fn rename(c: &Client, a: RenameArgs) -> Result<u8> {
    let new = a.new_name.trim();
    if a.container.trim().is_empty() || new.is_empty() {
        bail!("Error: Neither old nor new names may be empty");
    }
    c.call(
        "POST",
        &format!("/containers/{}/rename?name={}", q(&a.container), q(new)),
        None,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\nError: failed to rename container named {}",
            a.container
        )
    })?;
    Ok(0)
}

/// `wait`.
pub async fn wait(c: &Client, a: Names) -> Result<u8> {
    let mut errors = Vec::new();
    for n in &a.names {
        match c
            .call("POST", &format!("/containers/{}/wait", q(n)), None)
            .await
        {
            Ok(b) => {
                let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                println!("{}", v["StatusCode"].as_i64().unwrap_or(-1));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// Asks `question [y/N]` on stderr... docker asks on stdout; true on yes.
pub fn confirm(warning: &str) -> Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// A prune's `Deleted <kind>:` list of the strings in `list` (JSON).
pub fn print_deleted(kind: &str, list: &Value) {
    let deleted: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    print_deleted_names(kind, &deleted);
}

/// A prune's `Deleted <kind>:` list and its blank line (nothing when
/// none was deleted).
pub fn print_deleted_names(kind: &str, deleted: &[impl std::fmt::Display]) {
    if !deleted.is_empty() {
        println!("Deleted {kind}:");
        for d in deleted {
            println!("{d}");
        }
        println!();
    }
}

/// `container prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> Result<u8> {
    if !a.force && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let path = format!("/containers/prune{}", super::ps::filters_query(&a.filter));
    let v: Value = serde_json::from_slice(&c.call("POST", &path, None).await?)?;
    print_deleted("Containers", &v["ContainersDeleted"]);
    println!(
        "Total reclaimed space: {}",
        human_size(v["SpaceReclaimed"].as_u64().unwrap_or(0))
    );
    Ok(0)
}
