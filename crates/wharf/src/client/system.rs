//! `version`, `info`, `events`, `system df` and `system prune`.

use std::io::Write;

use anyhow::Result;
use http_body_util::BodyExt;
use serde_json::Value;

use super::args::{DfArgs, EventsArgs, FormatArg, SystemPruneArgs};
use super::conn::{q, Client, MAX_API};
use super::containers::{api_time, confirm, print_deleted, print_deleted_names};
use super::format::{bytes_size, human_size, tabwrite_with};
use super::json::Json;
use super::ps::{filters_json, filters_query};
use super::render::{self, Render};

fn client_json(c: &Client) -> Json {
    let s = |v: &str| Json::Str(v.to_string());
    Json::Obj(vec![
        ("Platform".into(), Json::Obj(vec![("Name".into(), s(""))])),
        ("Version".into(), s(env!("CARGO_PKG_VERSION"))),
        ("ApiVersion".into(), s(&c.version)),
        (
            "DefaultAPIVersion".into(),
            s(&format!("{}.{}", MAX_API.0, MAX_API.1)),
        ),
        ("GoVersion".into(), s("rust")),
        ("GitCommit".into(), s("")),
        ("BuildTime".into(), s("")),
        ("Os".into(), s(std::env::consts::OS)),
        (
            "Arch".into(),
            s(match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                a => a,
            }),
        ),
        ("Context".into(), s("default")),
    ])
}

/// `version`.
pub async fn version(c: &Client, a: FormatArg) -> Result<u8> {
    let server = Json::parse(&c.get("/version").await?).map_err(anyhow::Error::msg)?;
    let client = client_json(c);
    if let Some(f) = &a.format {
        let v = Json::Obj(vec![("Client".into(), client), ("Server".into(), server)]);
        print!("{}", render::once(f, &v)?);
        return Ok(0);
    }
    let g = |v: &Json, k: &str| v.get(k).map(Json::to_go).unwrap_or_default();
    let mut t = String::new();
    t.push_str("Client:\n");
    t.push_str(&format!(" Version:\t{}\n", g(&client, "Version")));
    let api = g(&client, "ApiVersion");
    let default = g(&client, "DefaultAPIVersion");
    if api != default {
        t.push_str(&format!(
            " API version:\t{api} (downgraded from {default})\n"
        ));
    } else {
        t.push_str(&format!(" API version:\t{api}\n"));
    }
    t.push_str(&format!(
        " OS/Arch:\t{}/{}\n",
        g(&client, "Os"),
        g(&client, "Arch")
    ));
    t.push_str(" Context:\tdefault\n\nServer:");
    let platform = server
        .get("Platform")
        .and_then(|p| p.get("Name"))
        .map(Json::str)
        .unwrap_or("");
    if !platform.is_empty() {
        t.push_str(&format!(" {platform}"));
    }
    t.push('\n');
    let components = match server.get("Components") {
        Some(Json::Arr(c)) => c.clone(),
        _ => Vec::new(),
    };
    for comp in &components {
        let name = comp.get("Name").map(Json::str).unwrap_or("");
        let details = comp
            .get("Details")
            .cloned()
            .unwrap_or(Json::Obj(Vec::new()));
        let d = |k: &str| details.get(k).map(Json::to_go).unwrap_or_default();
        t.push_str(&format!(" {name}:\n"));
        if name == "Engine" {
            t.push_str(&format!("  Version:\t{}\n", g(comp, "Version")));
            t.push_str(&format!(
                "  API version:\t{} (minimum version {})\n",
                d("ApiVersion"),
                d("MinAPIVersion")
            ));
            t.push_str(&format!("  Go version:\t{}\n", d("GoVersion")));
            t.push_str(&format!("  Git commit:\t{}\n", d("GitCommit")));
            t.push_str(&format!("  Built:\t{}\n", d("BuildTime")));
            t.push_str(&format!("  OS/Arch:\t{}/{}\n", d("Os"), d("Arch")));
            t.push_str(&format!("  Experimental:\t{}\n", d("Experimental")));
        } else {
            t.push_str(&format!("  Version:\t{}\n", g(comp, "Version")));
            let mut keys: Vec<String> = match &details {
                Json::Obj(o) => o.iter().map(|(k, _)| k.clone()).collect(),
                _ => Vec::new(),
            };
            keys.sort();
            for k in keys {
                t.push_str(&format!("  {k}:\t{}\n", d(&k)));
            }
        }
    }
    print!("{}", tabwrite_with(&t, 20, 1));
    Ok(0)
}

/// `info`.
pub async fn info(c: &Client, a: FormatArg) -> Result<u8> {
    let raw = c.get("/info").await?;
    let v = Json::parse(&raw).map_err(anyhow::Error::msg)?;
    if let Some(f) = &a.format {
        let all = Json::Obj(vec![
            ("ClientInfo".into(), client_json(c)),
            ("ServerErrors".into(), Json::Null),
            ("ClientErrors".into(), Json::Null),
        ]);
        let merged = match (&v, all) {
            (Json::Obj(o), Json::Obj(extra)) => Json::Obj(o.iter().cloned().chain(extra).collect()),
            (other, _) => other.clone(),
        };
        print!("{}", render::once(f, &merged)?);
        return Ok(0);
    }
    let g = |k: &str| v.get(k).map(Json::to_go).unwrap_or_default();
    let mut o = String::new();
    o.push_str(&format!(
        "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\nServer:\n",
        env!("CARGO_PKG_VERSION")
    ));
    o.push_str(&format!(" Containers: {}\n", g("Containers")));
    o.push_str(&format!("  Running: {}\n", g("ContainersRunning")));
    o.push_str(&format!("  Paused: {}\n", g("ContainersPaused")));
    o.push_str(&format!("  Stopped: {}\n", g("ContainersStopped")));
    o.push_str(&format!(" Images: {}\n", g("Images")));
    o.push_str(&format!(" Server Version: {}\n", g("ServerVersion")));
    o.push_str(&format!(" Storage Driver: {}\n", g("Driver")));
    if let Some(Json::Arr(status)) = v.get("DriverStatus") {
        for pair in status {
            if let Json::Arr(kv) = pair {
                if kv.len() == 2 {
                    o.push_str(&format!("  {}: {}\n", kv[0].str(), kv[1].str()));
                }
            }
        }
    }
    o.push_str(&format!(" Logging Driver: {}\n", g("LoggingDriver")));
    o.push_str(&format!(" Cgroup Driver: {}\n", g("CgroupDriver")));
    o.push_str(&format!(" Cgroup Version: {}\n", g("CgroupVersion")));
    let list = |v: Option<&Json>| -> Vec<String> {
        match v {
            Some(Json::Arr(a)) => a.iter().map(|x| x.str().to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let plugins = v.get("Plugins");
    o.push_str(" Plugins:\n");
    for kind in ["Volume", "Network", "Authorization", "Log"] {
        let items = list(plugins.and_then(|p| p.get(kind)));
        if !items.is_empty() {
            o.push_str(&format!("  {kind}: {}\n", items.join(" ")));
        }
    }
    let swarm = v
        .get("Swarm")
        .and_then(|s| s.get("LocalNodeState"))
        .map(Json::str)
        .unwrap_or("inactive");
    o.push_str(&format!(" Swarm: {swarm}\n"));
    if let Some(Json::Obj(rt)) = v.get("Runtimes") {
        let names: Vec<&str> = rt.iter().map(|(k, _)| k.as_str()).collect();
        o.push_str(&format!(" Runtimes: {}\n", names.join(" ")));
    }
    o.push_str(&format!(" Default Runtime: {}\n", g("DefaultRuntime")));
    o.push_str(&format!(" Init Binary: {}\n", g("InitBinary")));
    let commit = |k: &str| {
        v.get(k)
            .and_then(|c| c.get("ID"))
            .map(Json::str)
            .unwrap_or("")
            .to_string()
    };
    o.push_str(&format!(
        " containerd version: {}\n",
        commit("ContainerdCommit")
    ));
    o.push_str(&format!(" runc version: {}\n", commit("RuncCommit")));
    o.push_str(&format!(" init version: {}\n", commit("InitCommit")));
    let sec = list(v.get("SecurityOptions"));
    if !sec.is_empty() {
        o.push_str(" Security Options:\n");
        for opt in sec {
            let mut name = String::new();
            let mut rest = Vec::new();
            for kv in opt.split(',') {
                let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
                if k == "name" {
                    name = val.to_string();
                } else {
                    rest.push((k.to_string(), val.to_string()));
                }
            }
            o.push_str(&format!("  {name}\n"));
            for (k, val) in rest {
                let mut k = k;
                if let Some(first) = k.get(..1) {
                    k = first.to_uppercase() + &k[1..];
                }
                o.push_str(&format!("   {k}: {val}\n"));
            }
        }
    }
    o.push_str(&format!(" Kernel Version: {}\n", g("KernelVersion")));
    o.push_str(&format!(" Operating System: {}\n", g("OperatingSystem")));
    o.push_str(&format!(" OSType: {}\n", g("OSType")));
    o.push_str(&format!(" Architecture: {}\n", g("Architecture")));
    o.push_str(&format!(" CPUs: {}\n", g("NCPU")));
    let mem: f64 = g("MemTotal").parse().unwrap_or(0.0);
    o.push_str(&format!(" Total Memory: {}\n", bytes_size(mem)));
    o.push_str(&format!(" Name: {}\n", g("Name")));
    o.push_str(&format!(" ID: {}\n", g("ID")));
    o.push_str(&format!(" Docker Root Dir: {}\n", g("DockerRootDir")));
    o.push_str(&format!(" Debug Mode: {}\n", g("Debug")));
    o.push_str(&format!(" Experimental: {}\n", g("ExperimentalBuild")));
    let insecure = list(
        v.get("RegistryConfig")
            .and_then(|r| r.get("InsecureRegistryCIDRs")),
    );
    if !insecure.is_empty() {
        o.push_str(" Insecure Registries:\n");
        for r in insecure {
            o.push_str(&format!("  {r}\n"));
        }
    }
    o.push_str(&format!(
        " Live Restore Enabled: {}\n",
        g("LiveRestoreEnabled")
    ));
    let warnings = list(v.get("Warnings"));
    if !warnings.is_empty() {
        o.push('\n');
        for w in warnings {
            o.push_str(&format!("{w}\n"));
        }
    }
    print!("{o}");
    Ok(0)
}

/// docker's default event line.
fn event_line(e: &Json) -> String {
    let num = |k: &str| {
        e.get(k)
            .map(Json::to_go)
            .and_then(|n| n.parse::<i128>().ok())
            .unwrap_or(0)
    };
    let nanos = match num("timeNano") {
        0 => num("time") * 1_000_000_000,
        n => n,
    };
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok();
    let mut line = match t {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z ",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        None => String::new(),
    };
    let s = |k: &str| e.get(k).map(Json::str).unwrap_or("").to_string();
    let actor = e.get("Actor");
    let id = actor.and_then(|a| a.get("ID")).map(Json::str).unwrap_or("");
    line.push_str(&format!("{} {} {id}", s("Type"), s("Action")));
    if let Some(Json::Obj(attrs)) = actor.and_then(|a| a.get("Attributes")) {
        if !attrs.is_empty() {
            let mut kv: Vec<String> = attrs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.str()))
                .collect();
            kv.sort();
            line.push_str(&format!(" ({})", kv.join(", ")));
        }
    }
    line
}

/// `events`.
pub async fn events(c: &Client, a: EventsArgs) -> Result<u8> {
    let mut path = "/events?".to_string();
    if let Some(s) = &a.since {
        path.push_str(&format!("since={}&", q(&api_time(s)?)));
    }
    if let Some(u) = &a.until {
        path.push_str(&format!("until={}&", q(&api_time(u)?)));
    }
    if !a.filter.is_empty() {
        path.push_str(&format!("filters={}&", q(&filters_json(&a.filter))));
    }
    let tmpl = match a.format.as_deref() {
        Some("json") => Some(super::template::Template::parse("{{json .}}")?),
        Some(f) => Some(super::template::Template::parse(f)?),
        None => None,
    };
    let resp = c
        .request("GET", path.trim_end_matches(['&', '?']), None, false)
        .await?;
    let mut body = resp.into_body();
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            let Ok(e) = Json::parse(line.trim_ascii()) else {
                continue;
            };
            let text = match &tmpl {
                Some(t) => t.execute(&e)?,
                None => event_line(&e),
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    }
    Ok(0)
}

fn pct(part: i64, total: i64) -> String {
    if total > 0 {
        format!(
            "{} ({}%)",
            human_size(part.max(0) as u64),
            part * 100 / total
        )
    } else {
        human_size(part.max(0) as u64)
    }
}

/// `system df`.
pub async fn df(c: &Client, a: DfArgs) -> Result<u8> {
    let v: Value = serde_json::from_slice(&c.get("/system/df").await?)?;
    let n = |x: &Value| x.as_i64().unwrap_or(0);
    let images = v["Images"].as_array().cloned().unwrap_or_default();
    let layers = n(&v["LayersSize"]);
    let active_images = images.iter().filter(|i| n(&i["Containers"]) > 0).count();
    let used: i64 = images
        .iter()
        .filter(|i| n(&i["Containers"]) > 0 && n(&i["SharedSize"]) != -1)
        .map(|i| n(&i["Size"]) - n(&i["SharedSize"]))
        .sum();
    let containers = v["Containers"].as_array().cloned().unwrap_or_default();
    let active = |c: &Value| {
        matches!(
            c["State"].as_str(),
            Some("running" | "paused" | "restarting")
        )
    };
    let c_size: i64 = containers.iter().map(|c| n(&c["SizeRw"])).sum();
    let c_reclaim: i64 = containers
        .iter()
        .filter(|c| !active(c))
        .map(|c| n(&c["SizeRw"]))
        .sum();
    let volumes = v["Volumes"].as_array().cloned().unwrap_or_default();
    let v_size: i64 = volumes
        .iter()
        .map(|x| n(&x["UsageData"]["Size"]).max(0))
        .sum();
    let v_active = volumes
        .iter()
        .filter(|x| n(&x["UsageData"]["RefCount"]) > 0)
        .count();
    let v_reclaim: i64 = volumes
        .iter()
        .filter(|x| n(&x["UsageData"]["RefCount"]) == 0)
        .map(|x| n(&x["UsageData"]["Size"]).max(0))
        .sum();
    let cache = v["BuildCache"].as_array().cloned().unwrap_or_default();
    let b_size: i64 = cache.iter().map(|x| n(&x["Size"])).sum();
    let b_reclaim: i64 = cache
        .iter()
        .filter(|x| !x["InUse"].as_bool().unwrap_or(false))
        .map(|x| n(&x["Size"]))
        .sum();
    let b_active = cache
        .iter()
        .filter(|x| x["InUse"].as_bool().unwrap_or(false))
        .count();
    let row = |t: &str, total: usize, act: usize, size: i64, rec: String| {
        let s = |x: String| Json::Str(x);
        Json::Obj(vec![
            ("Active".into(), s(act.to_string())),
            ("Reclaimable".into(), s(rec)),
            ("Size".into(), s(human_size(size.max(0) as u64))),
            ("TotalCount".into(), s(total.to_string())),
            ("Type".into(), s(t.to_string())),
        ])
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            active_images,
            layers,
            pct(layers - used, layers),
        ),
        row(
            "Containers",
            containers.len(),
            containers.iter().filter(|c| active(c)).count(),
            c_size,
            pct(c_reclaim, c_size),
        ),
        row(
            "Local Volumes",
            volumes.len(),
            v_active,
            v_size,
            pct(v_reclaim, v_size),
        ),
        row(
            "Build Cache",
            cache.len(),
            b_active,
            b_size,
            human_size(b_reclaim.max(0) as u64),
        ),
    ];
    const HEADERS: &[(&str, &str)] = &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    const TABLE: &str =
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    let format = a.format.clone().unwrap_or_else(|| TABLE.into());
    let r = Render {
        format: &format,
        headers: HEADERS,
        default_table: TABLE,
    };
    if a.verbose && a.format.is_none() {
        print!("{}", df_verbose(&images, &containers, &volumes)?);
        return Ok(0);
    }
    print!("{}", r.render(&rows)?);
    Ok(0)
}

fn df_verbose(images: &[Value], containers: &[Value], volumes: &[Value]) -> Result<String> {
    use super::format::{ago_unix, short_id, tabwrite};
    let n = |x: &Value| x.as_i64().unwrap_or(0);
    let mut out = String::from("Images space usage:\n\n");
    let mut t = String::from(
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n",
    );
    for i in images {
        let tags: Vec<String> = i["RepoTags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        let tags = if tags.is_empty() {
            vec!["<none>:<none>".to_string()]
        } else {
            tags
        };
        for tag in tags {
            let (repo, tg) = tag.rsplit_once(':').unwrap_or((&tag, "<none>"));
            t.push_str(&format!(
                "{repo}\t{tg}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                short_id(i["Id"].as_str().unwrap_or("")),
                ago_unix(n(&i["Created"])),
                super::format::human_size3(n(&i["Size"]) as f64),
                super::format::human_size3(n(&i["SharedSize"]).max(0) as f64),
                human_size((n(&i["Size"]) - n(&i["SharedSize"]).max(0)).max(0) as u64),
                n(&i["Containers"])
            ));
        }
    }
    out.push_str(&tabwrite(&t));
    out.push_str("\nContainers space usage:\n\n");
    let mut t =
        String::from("CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n");
    for c in containers {
        let names: Vec<&str> = c["Names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| s.trim_start_matches('/'))
            .collect();
        t.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            short_id(c["Id"].as_str().unwrap_or("")),
            c["Image"].as_str().unwrap_or(""),
            super::format::go_quote(&super::format::ellipsis(
                c["Command"].as_str().unwrap_or(""),
                20
            )),
            c["Mounts"].as_array().map_or(0, Vec::len),
            super::format::human_size3(n(&c["SizeRw"]) as f64),
            ago_unix(n(&c["Created"])),
            c["Status"].as_str().unwrap_or(""),
            names.join(",")
        ));
    }
    out.push_str(&tabwrite(&t));
    out.push_str("\nLocal Volumes space usage:\n\n");
    let mut t = String::from("VOLUME NAME\tLINKS\tSIZE\n");
    for v in volumes {
        t.push_str(&format!(
            "{}\t{}\t{}\n",
            v["Name"].as_str().unwrap_or(""),
            n(&v["UsageData"]["RefCount"]),
            super::format::human_size3(n(&v["UsageData"]["Size"]).max(0) as f64)
        ));
    }
    out.push_str(&tabwrite(&t));
    out.push_str("\nBuild cache usage: 0B\n\n");
    out.push_str(&tabwrite(
        "CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n",
    ));
    Ok(out)
}

/// `system prune`.
pub async fn prune(c: &Client, a: SystemPruneArgs) -> Result<u8> {
    if !a.force {
        let mut w = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
        if a.volumes {
            w.push_str("  - all anonymous volumes not used by at least one container\n");
        }
        if a.all {
            w.push_str("  - all images without at least one container associated to them\n  - all build cache\n");
        } else {
            w.push_str("  - all dangling images\n  - unused build cache\n");
        }
        if !confirm(&w)? {
            return Ok(0);
        }
    }
    let filters = filters_query(&a.filter);
    let mut total = 0u64;
    let v: Value = serde_json::from_slice(
        &c.call("POST", &format!("/containers/prune{filters}"), None)
            .await?,
    )?;
    total += v["SpaceReclaimed"].as_u64().unwrap_or(0);
    print_deleted("Containers", &v["ContainersDeleted"]);
    let v: Value = serde_json::from_slice(
        &c.call("POST", &format!("/networks/prune{filters}"), None)
            .await?,
    )?;
    print_deleted("Networks", &v["NetworksDeleted"]);
    if a.volumes {
        let (r, deleted) = super::volumes::prune_call(c, false, &a.filter).await?;
        total += r;
        print_deleted_names("Volumes", &deleted);
    }
    let mut f = a.filter.clone();
    f.push(format!("dangling={}", !a.all));
    let v: Value = serde_json::from_slice(
        &c.call(
            "POST",
            &format!("/images/prune?filters={}", q(&filters_json(&f))),
            None,
        )
        .await?,
    )?;
    total += v["SpaceReclaimed"].as_u64().unwrap_or(0);
    if let Some(items) = v["ImagesDeleted"].as_array().filter(|d| !d.is_empty()) {
        println!("Deleted Images:");
        for i in items {
            if let Some(u) = i["Untagged"].as_str() {
                println!("untagged: {u}");
            }
            if let Some(d) = i["Deleted"].as_str() {
                println!("deleted: {d}");
            }
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(total));
    Ok(0)
}
