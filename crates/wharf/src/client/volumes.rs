//! `volume create`, `ls`, `inspect`, `rm` and `prune`.

use anyhow::Result;
use serde_json::{json, Value};

use super::args::{PruneArgs, VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumeRmArgs};
use super::conn::{q, Client};
use super::containers::{collected, confirm, print_deleted_names};
use super::format::human_size;
use super::json::Json;
use super::ps::filters_query;
use super::render::Render;
use super::run_args::kv_map;

/// `volume create`.
pub async fn create(c: &Client, a: VolumeCreateArgs) -> Result<u8> {
    let name = a.name.clone().or(a.name_flag.clone()).unwrap_or_default();
    let body = json!({
        "Name": name,
        "Driver": a.driver,
        "DriverOpts": kv_map(&a.opts),
        "Labels": kv_map(&a.labels),
    });
    let v: Value = serde_json::from_slice(&c.post_json("/volumes/create", &body).await?)?;
    println!("{}", v["Name"].as_str().unwrap_or_default());
    Ok(0)
}

/// `volume ls`.
pub async fn ls(c: &Client, a: VolumeLsArgs) -> Result<u8> {
    let path = format!("/volumes{}", filters_query(&a.filter));
    let v = Json::parse(&c.get(&path).await?).map_err(anyhow::Error::msg)?;
    let mut vols: Vec<Json> = match v.get("Volumes") {
        Some(Json::Arr(a)) => a.clone(),
        _ => Vec::new(),
    };
    vols.sort_by(|x, y| {
        x.get("Name")
            .map(Json::str)
            .cmp(&y.get("Name").map(Json::str))
    });
    let rows: Vec<Json> = vols
        .iter()
        .map(|v| {
            let s = |k: &str| Json::Str(v.get(k).map(Json::str).unwrap_or("").to_string());
            let mut labels: Vec<String> = match v.get("Labels") {
                Some(Json::Obj(o)) => o.iter().map(|(k, x)| format!("{k}={}", x.str())).collect(),
                _ => Vec::new(),
            };
            labels.sort();
            Json::Obj(vec![
                ("Availability".into(), Json::Str("N/A".into())),
                ("Driver".into(), s("Driver")),
                ("Group".into(), Json::Str("N/A".into())),
                ("Labels".into(), Json::Str(labels.join(","))),
                ("Links".into(), Json::Str("N/A".into())),
                ("Mountpoint".into(), s("Mountpoint")),
                ("Name".into(), s("Name")),
                ("Scope".into(), s("Scope")),
                ("Size".into(), Json::Str("N/A".into())),
                ("Status".into(), Json::Str("N/A".into())),
                (
                    "\0Label".into(),
                    v.get("Labels").cloned().unwrap_or(Json::Obj(Vec::new())),
                ),
            ])
        })
        .collect();
    const HEADERS: &[(&str, &str)] = &[
        ("Name", "VOLUME NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
        ("Group", "GROUP"),
        ("Availability", "AVAILABILITY"),
        ("Status", "STATUS"),
    ];
    const TABLE: &str = "table {{.Driver}}\t{{.Name}}";
    let format = match (&a.format, a.quiet) {
        (_, true) => "{{.Name}}".to_string(),
        (Some(f), _) => f.clone(),
        (None, _) => TABLE.into(),
    };
    let r = Render {
        format: &format,
        headers: HEADERS,
        default_table: TABLE,
    };
    print!("{}", r.render(&rows)?);
    Ok(0)
}

/// `volume inspect`.
pub async fn inspect_volumes(c: &Client, a: VolumeInspectArgs) -> Result<u8> {
    let a = super::args::InspectArgs {
        format: a.format,
        size: false,
        kind: Some("volume".into()),
        names: a.names,
    };
    super::containers::inspect(c, a, Some("volume")).await
}

pub use inspect_volumes as inspect;

/// `volume rm`.
pub async fn rm(c: &Client, a: VolumeRmArgs) -> Result<u8> {
    let mut errors = Vec::new();
    for n in &a.names {
        match c
            .call(
                "DELETE",
                &format!("/volumes/{}?force={}", q(n), a.force as u8),
                None,
            )
            .await
        {
            Ok(_) => println!("{n}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    collected(errors)
}

/// `volume prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> Result<u8> {
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !a.force && !confirm(warning)? {
        return Ok(0);
    }
    let (reclaimed, deleted) = prune_call(c, a.all, &a.filter).await?;
    print_deleted_names("Volumes", &deleted);
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(0)
}

/// `POST /volumes/prune`; (bytes reclaimed, names deleted).
pub async fn prune_call(c: &Client, all: bool, filter: &[String]) -> Result<(u64, Vec<String>)> {
    let mut filters = filter.to_vec();
    if all && c.version.as_str() >= "1.42" {
        filters.push("all=true".into());
    }
    let path = format!("/volumes/prune{}", filters_query(&filters));
    let v: Value = serde_json::from_slice(&c.call("POST", &path, None).await?)?;
    let deleted = v["VolumesDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    Ok((v["SpaceReclaimed"].as_u64().unwrap_or(0), deleted))
}
