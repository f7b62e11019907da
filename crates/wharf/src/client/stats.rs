//! `stats`: docker's CPU % (usage delta over system delta times online
//! CPUs), memory without the inactive file cache, network and block I/O
//! sums, and the table — once with `--no-stream`, redrawn every second
//! otherwise.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::args::StatsArgs;
use super::conn::{q, Client};
use super::format::{bytes_size, human_size3, short_id};
use super::json::Json;
use super::render::Render;

const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];
const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// One row from one stats document.
pub fn row(container: &str, s: &Value, trunc: bool) -> Json {
    let cpu_delta = f(&s["cpu_stats"]["cpu_usage"]["total_usage"])
        - f(&s["precpu_stats"]["cpu_usage"]["total_usage"]);
    let sys_delta =
        f(&s["cpu_stats"]["system_cpu_usage"]) - f(&s["precpu_stats"]["system_cpu_usage"]);
    let mut online = f(&s["cpu_stats"]["online_cpus"]);
    if online == 0.0 {
        online = s["cpu_stats"]["cpu_usage"]["percpu_usage"]
            .as_array()
            .map_or(0, Vec::len) as f64;
    }
    let cpu = if sys_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / sys_delta * online * 100.0
    } else {
        0.0
    };
    let mem = &s["memory_stats"];
    let usage = f(&mem["usage"]);
    let used = match mem["stats"]["total_inactive_file"].as_f64() {
        Some(v) if v < usage => usage - v,
        _ => match mem["stats"]["inactive_file"].as_f64() {
            Some(v) if v < usage => usage - v,
            _ => usage,
        },
    };
    let limit = f(&mem["limit"]);
    let mem_perc = if limit != 0.0 {
        used / limit * 100.0
    } else {
        0.0
    };
    let (mut rx, mut tx) = (0.0, 0.0);
    if let Some(nets) = s["networks"].as_object() {
        for n in nets.values() {
            rx += f(&n["rx_bytes"]);
            tx += f(&n["tx_bytes"]);
        }
    }
    let (mut rd, mut wr) = (0.0, 0.0);
    for e in s["blkio_stats"]["io_service_bytes_recursive"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match e["op"].as_str().and_then(|o| o.chars().next()) {
            Some('r' | 'R') => rd += f(&e["value"]),
            Some('w' | 'W') => wr += f(&e["value"]),
            _ => {}
        }
    }
    let id = s["id"].as_str().unwrap_or("");
    let name = s["name"].as_str().unwrap_or("").trim_start_matches('/');
    let st = |v: String| Json::Str(v);
    Json::Obj(vec![
        (
            "BlockIO".into(),
            st(format!("{} / {}", human_size3(rd), human_size3(wr))),
        ),
        ("CPUPerc".into(), st(format!("{cpu:.2}%"))),
        ("Container".into(), st(container.to_string())),
        (
            "ID".into(),
            st(if trunc { short_id(id) } else { id.to_string() }),
        ),
        ("MemPerc".into(), st(format!("{mem_perc:.2}%"))),
        (
            "MemUsage".into(),
            st(format!("{} / {}", bytes_size(used), bytes_size(limit))),
        ),
        ("Name".into(), st(name.to_string())),
        (
            "NetIO".into(),
            st(format!("{} / {}", human_size3(rx), human_size3(tx))),
        ),
        (
            "PIDs".into(),
            st(format!(
                "{}",
                s["pids_stats"]["current"].as_u64().unwrap_or(0)
            )),
        ),
    ])
}

async fn names(c: &Client, a: &StatsArgs) -> Result<Vec<String>> {
    if !a.names.is_empty() {
        return Ok(a.names.clone());
    }
    let list: Value = serde_json::from_slice(
        &c.get(&format!("/containers/json?all={}", a.all as u8))
            .await?,
    )?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["Id"].as_str().map(|s| s[..12.min(s.len())].to_string()))
        .collect())
}

/// Follows `GET /containers/ID/stats?stream=1`, keeping the newest
/// document in `latest` until the stream ends.
fn follow(c: &Client, name: String, latest: Latest) {
    let client = c.clone();
    tokio::spawn(async move {
        use http_body_util::BodyExt;
        let path = format!("/containers/{}/stats?stream=1", q(&name));
        let Ok(resp) = client.request("GET", &path, None, false).await else {
            latest.lock().map(|mut m| m.remove(&name)).ok();
            return;
        };
        let mut body = resp.into_body();
        let mut pending = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            pending.extend_from_slice(&data);
            while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=pos).collect();
                if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                    if let Ok(mut m) = latest.lock() {
                        m.insert(name.clone(), v);
                    }
                }
            }
        }
        latest.lock().map(|mut m| m.remove(&name)).ok();
    });
}

type Latest = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>>;

/// `stats`.
pub async fn stats(c: &Client, a: StatsArgs) -> Result<u8> {
    let format = a.format.clone().unwrap_or_else(|| TABLE.into());
    let render = Render {
        format: &format,
        headers: HEADERS,
        default_table: TABLE,
    };
    if a.no_stream {
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for n in names(c, &a).await? {
            match c
                .get(&format!("/containers/{}/stats?stream=0", q(&n)))
                .await
            {
                Ok(b) => {
                    let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                    rows.push(row(&n, &v, !a.no_trunc));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        // docker prints no table when a container is missing.
        if errors.is_empty() {
            print!("{}", render.render(&rows)?);
        }
        return super::containers::collected(errors);
    }
    let tty = rustix::termios::isatty(std::io::stdout());
    let latest: Latest = Default::default();
    let mut watched: Vec<String> = Vec::new();
    loop {
        let current = names(c, &a).await?;
        for n in &current {
            if !watched.contains(n) {
                watched.push(n.clone());
                follow(c, n.clone(), latest.clone());
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rows: Vec<Json> = {
            let m = latest
                .lock()
                .map_err(|_| anyhow::anyhow!("stats state poisoned"))?;
            current
                .iter()
                .map(|n| match m.get(n) {
                    Some(v) => row(n, v, !a.no_trunc),
                    // No sample yet: docker shows zeros until one comes.
                    None => row(n, &serde_json::json!({"id": n, "name": n}), !a.no_trunc),
                })
                .collect()
        };
        let mut out = std::io::stdout().lock();
        if tty {
            write!(out, "\x1b[2J\x1b[H")?;
        }
        write!(out, "{}", render.render(&rows)?)?;
        out.flush()?;
    }
}
