//! `ps`: `GET /containers/json` printed with docker's columns, truncation
//! and field texts (`"sh -c 'sleep…"`, `2 minutes ago`, the daemon's
//! `Up 3 seconds`).

use std::collections::BTreeMap;

use anyhow::Result;

use super::args::PsArgs;
use super::conn::{q, Client};
use super::format::{ago_unix, ellipsis, go_quote, go_time, human_size3, join_host_port, short_id};
use super::json::Json;
use super::render::Render;

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

const DEFAULT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// `--filter k=v` flags as the API's `filters` JSON.
pub fn filters_json(filters: &[String]) -> String {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    serde_json::to_string(&map).unwrap_or_default()
}

/// `?filters=…` for a path, or nothing when there are no filters.
pub fn filters_query(filters: &[String]) -> String {
    if filters.is_empty() {
        return String::new();
    }
    format!("?filters={}", q(&filters_json(filters)))
}

/// `ps`.
pub async fn ps(c: &Client, a: PsArgs) -> Result<u8> {
    let format = match (&a.format, a.quiet) {
        (_, true) => "{{.ID}}".to_string(),
        (Some(f), false) => f.clone(),
        (None, false) if a.size => format!("{DEFAULT}\t{{{{.Size}}}}"),
        (None, false) => DEFAULT.to_string(),
    };
    // docker asks for sizes when the template uses them (`json .` does).
    let size = a.size || (!a.quiet && (format.contains(".Size") || format.contains("json .")));
    let mut path = format!(
        "/containers/json?all={}",
        (a.all || a.latest || a.last > 0) as u8
    );
    if a.latest {
        path.push_str("&limit=1");
    } else if a.last > 0 {
        path.push_str(&format!("&limit={}", a.last));
    }
    if size {
        path.push_str("&size=1");
    }
    if !a.filter.is_empty() {
        path.push_str(&format!("&filters={}", q(&filters_json(&a.filter))));
    }
    let raw = c.get(&path).await?;
    let list = Json::parse(&raw).map_err(anyhow::Error::msg)?;
    let items: Vec<Json> = match &list {
        Json::Arr(a2) => a2.iter().map(|c| context(c, !a.no_trunc)).collect(),
        _ => Vec::new(),
    };
    let r = Render {
        format: &format,
        headers: HEADERS,
        default_table: DEFAULT,
    };
    print!("{}", r.render(&items)?);
    Ok(0)
}

fn num(v: Option<&Json>) -> i64 {
    match v {
        Some(Json::Num(n)) => n.parse::<f64>().map(|f| f as i64).unwrap_or(0),
        _ => 0,
    }
}

/// The image column: a short id for an id, the familiar name otherwise.
fn image_text(image: &str, image_id: &str, trunc: bool) -> String {
    if image.is_empty() {
        return "<no image>".into();
    }
    if !trunc {
        return image.to_string();
    }
    if short_id(image_id) == short_id(image) {
        return short_id(image);
    }
    let name = image.split('@').next().unwrap_or(image);
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
        .to_string()
}

/// docker's `DisplayablePorts`: ports sorted, consecutive ones folded
/// into ranges per protocol (and IP when published on the same port),
/// other published ports as `ip:public->private/proto`.
fn ports_text(ports: Option<&Json>) -> String {
    struct P {
        private: i64,
        public: i64,
        ip: String,
        kind: String,
    }
    let mut list: Vec<P> = match ports {
        Some(Json::Arr(ps)) => ps
            .iter()
            .map(|p| P {
                private: num(p.get("PrivatePort")),
                public: num(p.get("PublicPort")),
                ip: p.get("IP").map(Json::str).unwrap_or("").to_string(),
                kind: p.get("Type").map(Json::str).unwrap_or("tcp").to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    list.sort_by(|a, b| {
        (a.private, &a.ip, a.public, &a.kind).cmp(&(b.private, &b.ip, b.public, &b.kind))
    });
    let form = |key: &str, first: i64, last: i64| {
        let (ip, kind) = match key.split_once('/') {
            Some((ip, kind)) => (ip, kind),
            None => ("", key),
        };
        let mut group = first.to_string();
        if first != last {
            group = format!("{group}-{last}");
        }
        if !ip.is_empty() {
            group = format!("{}->{group}", join_host_port(ip, &group));
        }
        format!("{group}/{kind}")
    };
    let mut groups: Vec<(String, i64, i64)> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in &list {
        let mut key = p.kind.clone();
        if !p.ip.is_empty() {
            if p.public != p.private {
                let host = join_host_port(&p.ip, &p.public.to_string());
                mappings.push(format!("{host}->{}/{}", p.private, p.kind));
                continue;
            }
            key = format!("{}/{}", p.ip, p.kind);
        }
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, p.private, p.private)),
            Some(g) if p.private == g.2 + 1 => g.2 = p.private,
            Some(g) => {
                result.push(form(&g.0, g.1, g.2));
                g.1 = p.private;
                g.2 = p.private;
            }
        }
    }
    for g in &groups {
        result.push(form(&g.0, g.1, g.2));
    }
    result.extend(mappings);
    result.join(", ")
}

/// The formatter's view of one container.
pub fn context(c: &Json, trunc: bool) -> Json {
    let s = |k: &str| c.get(k).map(Json::str).unwrap_or("").to_string();
    let id = if trunc { short_id(&s("Id")) } else { s("Id") };
    let command = s("Command");
    let command = go_quote(&if trunc {
        ellipsis(&command, 20)
    } else {
        command
    });
    let created = num(c.get("Created"));
    let mut names: Vec<String> = Vec::new();
    if let Some(Json::Arr(ns)) = c.get("Names") {
        for n in ns {
            let n = n.str().trim_start_matches('/');
            if trunc && n.contains('/') {
                continue;
            }
            names.push(n.to_string());
        }
    }
    let labels_obj = c.get("Labels").cloned().unwrap_or(Json::Obj(Vec::new()));
    let mut labels: Vec<String> = match &labels_obj {
        Json::Obj(o) => o.iter().map(|(k, v)| format!("{k}={}", v.str())).collect(),
        _ => Vec::new(),
    };
    labels.sort();
    let mut mounts = Vec::new();
    let mut local_volumes = 0;
    if let Some(Json::Arr(ms)) = c.get("Mounts") {
        for m in ms {
            let name = m.get("Name").map(Json::str).unwrap_or("");
            let shown = if !name.is_empty() {
                if trunc {
                    ellipsis(name, 15)
                } else {
                    name.to_string()
                }
            } else {
                let src = m.get("Source").map(Json::str).unwrap_or("");
                if trunc {
                    ellipsis(src, 15)
                } else {
                    src.to_string()
                }
            };
            mounts.push(shown);
            if m.get("Driver").map(Json::str) == Some("local") {
                local_volumes += 1;
            }
        }
    }
    let mut networks: Vec<String> = match c.get("NetworkSettings").and_then(|n| n.get("Networks")) {
        Some(Json::Obj(o)) => o.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
    networks.sort();
    let size_rw = num(c.get("SizeRw"));
    let size_root = num(c.get("SizeRootFs"));
    let size = if size_root > 0 {
        format!(
            "{} (virtual {})",
            human_size3(size_rw as f64),
            human_size3(size_root as f64)
        )
    } else {
        human_size3(size_rw as f64)
    };
    let str_ = |v: String| Json::Str(v);
    Json::Obj(vec![
        ("Command".into(), str_(command)),
        ("CreatedAt".into(), str_(go_time(created))),
        ("ID".into(), str_(id)),
        (
            "Image".into(),
            str_(image_text(&s("Image"), &s("ImageID"), trunc)),
        ),
        ("Labels".into(), str_(labels.join(","))),
        ("LocalVolumes".into(), str_(local_volumes.to_string())),
        ("Mounts".into(), str_(mounts.join(","))),
        ("Names".into(), str_(names.join(","))),
        ("Networks".into(), str_(networks.join(","))),
        ("Platform".into(), Json::Null),
        ("Ports".into(), str_(ports_text(c.get("Ports")))),
        ("RunningFor".into(), str_(ago_unix(created))),
        ("Size".into(), str_(size)),
        ("State".into(), str_(s("State"))),
        ("Status".into(), str_(s("Status"))),
        ("\0Label".into(), labels_obj),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_fold_like_docker() {
        let ports = Json::parse(
            br#"[{"PrivatePort":8001,"Type":"tcp"},{"PrivatePort":8000,"Type":"tcp"},
                 {"PrivatePort":53,"Type":"udp"},{"PrivatePort":80,"Type":"tcp"},
                 {"IP":"0.0.0.0","PrivatePort":443,"PublicPort":8443,"Type":"tcp"}]"#,
        )
        .unwrap();
        assert_eq!(
            ports_text(Some(&ports)),
            // A group is printed when the next port breaks it, the open
            // ones at the end in the order they began (docker's order).
            "80/tcp, 53/udp, 8000-8001/tcp, 0.0.0.0:8443->443/tcp"
        );
        // dockerd's sample (issue 5): IPv6 hosts in brackets, same-port
        // publications folded per address.
        let ports = Json::parse(
            br#"[{"IP":"0.0.0.0","PrivatePort":6000,"PublicPort":6000,"Type":"tcp"},
                 {"IP":"::","PrivatePort":6001,"PublicPort":6001,"Type":"tcp"},
                 {"IP":"::","PrivatePort":6000,"PublicPort":6000,"Type":"tcp"},
                 {"IP":"0.0.0.0","PrivatePort":6001,"PublicPort":6001,"Type":"tcp"},
                 {"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},
                 {"IP":"127.0.0.1","PrivatePort":81,"PublicPort":32769,"Type":"udp"},
                 {"PrivatePort":53,"Type":"udp"}]"#,
        )
        .unwrap();
        assert_eq!(
            ports_text(Some(&ports)),
            "53/udp, 0.0.0.0:6000-6001->6000-6001/tcp, [::]:6000-6001->6000-6001/tcp, \
             [::]:8080->80/tcp, 127.0.0.1:32769->81/udp"
        );
    }

    #[test]
    fn a_container_row_like_docker_ps() {
        let c = Json::parse(
            br#"{"Id":"0123456789abcdef0123","Names":["/web"],"Image":"sha256:aaaabbbbccccdddd",
                 "ImageID":"sha256:aaaabbbbccccdddd","Command":"sh -c 'sleep 1000; echo done'",
                 "Created":0,"State":"running","Status":"Up 3 seconds","Labels":{"b":"2","a":"1"}}"#,
        )
        .unwrap();
        let ctx = context(&c, true);
        let get = |k: &str| ctx.get(k).map(Json::str).unwrap_or("").to_string();
        assert_eq!(get("ID"), "0123456789ab");
        assert_eq!(get("Image"), "aaaabbbbcccc");
        assert_eq!(get("Command"), "\"sh -c 'sleep 1000; …\"");
        assert_eq!(get("Names"), "web");
        assert_eq!(get("Labels"), "a=1,b=2");
        assert_eq!(get("Status"), "Up 3 seconds");
    }
}
