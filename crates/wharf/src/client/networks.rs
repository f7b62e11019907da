//! `network create`, `ls`, `inspect`, `rm`, `connect`, `disconnect` and
//! `prune`, printed as docker CLI 28 prints them.

use anyhow::Result;
use serde_json::{json, Value};

use super::args::InspectArgs;
use super::conn::{q, Client};
use super::containers::{confirm, print_deleted};
use super::format::{go_time_text, natural_cmp, short_id};
use super::json::Json;
use super::net_args::{
    NetConnectArgs, NetCreateArgs, NetDisconnectArgs, NetInspectArgs, NetLsArgs, NetPruneArgs,
    NetRmArgs, NetworkCmd,
};
use super::ps::filters_query;
use super::render::Render;
use super::run_args::kv_map;
use super::Exit;

/// Runs one `network` command.
pub async fn network(c: &Client, cmd: NetworkCmd) -> Result<u8> {
    match cmd {
        NetworkCmd::Create(a) => create(c, a).await,
        NetworkCmd::Ls(a) => ls(c, a).await,
        NetworkCmd::Inspect(a) => inspect(c, a).await,
        NetworkCmd::Rm(a) => rm(c, a).await,
        NetworkCmd::Connect(a) => connect(c, a).await,
        NetworkCmd::Disconnect(a) => disconnect(c, a).await,
        NetworkCmd::Prune(a) => prune(c, a).await,
    }
}

/// docker's wrong-argument-count error for `network <op>`, exit 1.
fn arity(op: &str, usage: &str, rule: &str) -> anyhow::Error {
    let see = if rule.starts_with("requires at least") {
        "See"
    } else {
        "Run"
    };
    Exit {
        code: 1,
        message: format!(
            "wharf: 'wharf network {op}' {rule}\n\nUsage:  wharf network {op} {usage}\n\n{see} 'wharf network {op} --help' for more information"
        ),
    }
    .into()
}

async fn create(c: &Client, a: NetCreateArgs) -> Result<u8> {
    if a.names.len() != 1 {
        return Err(arity("create", "[OPTIONS] NETWORK", "requires 1 argument"));
    }
    let config = super::net_ipam::ipam_config(&a.subnet, &a.ip_range, &a.gateway, &a.aux_address)?;
    let mut body = json!({
        "Driver": a.driver,
        "Scope": a.scope.clone().unwrap_or_default(),
        "IPAM": {"Driver": a.ipam_driver, "Options": kv_map(&a.ipam_opt), "Config": config},
        "Internal": a.internal,
        "Attachable": a.attachable,
        "Ingress": a.ingress,
        "ConfigOnly": false,
        "ConfigFrom": null,
        "Options": kv_map(&a.opt),
        "Labels": kv_map(&a.label),
        "Name": a.names[0],
    });
    if let Some(v4) = a.ipv4 {
        body["EnableIPv4"] = json!(v4);
    }
    if let Some(v6) = a.ipv6 {
        body["EnableIPv6"] = json!(v6);
    }
    if c.version.as_str() < "1.44" {
        body["CheckDuplicate"] = json!(true);
    }
    let v: Value = serde_json::from_slice(&c.post_json("/networks/create", &body).await?)?;
    println!("{}", v["Id"].as_str().unwrap_or_default());
    Ok(0)
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// The formatter's view of one network.
fn row(n: &Json, trunc: bool) -> Json {
    let s = |k: &str| n.get(k).map(Json::str).unwrap_or("").to_string();
    let b = |k: &str| Json::Str(n.get(k).is_some_and(Json::truthy).to_string());
    let id = if trunc { short_id(&s("Id")) } else { s("Id") };
    let labels_obj = n.get("Labels").cloned().unwrap_or(Json::Obj(Vec::new()));
    let mut labels: Vec<String> = match &labels_obj {
        Json::Obj(o) => o.iter().map(|(k, v)| format!("{k}={}", v.str())).collect(),
        _ => Vec::new(),
    };
    labels.sort();
    Json::Obj(vec![
        ("CreatedAt".into(), Json::Str(go_time_text(&s("Created")))),
        ("Driver".into(), Json::Str(s("Driver"))),
        ("ID".into(), Json::Str(id)),
        ("IPv4".into(), b("EnableIPv4")),
        ("IPv6".into(), b("EnableIPv6")),
        ("Internal".into(), b("Internal")),
        ("Labels".into(), Json::Str(labels.join(","))),
        ("Name".into(), Json::Str(s("Name"))),
        ("Scope".into(), Json::Str(s("Scope"))),
        ("\0Label".into(), labels_obj),
    ])
}

async fn ls(c: &Client, a: NetLsArgs) -> Result<u8> {
    if !a.extra.is_empty() {
        return Err(arity("ls", "[OPTIONS]", "accepts no arguments"));
    }
    let path = format!("/networks{}", filters_query(&a.filter));
    let v = Json::parse(&c.get(&path).await?).map_err(anyhow::Error::msg)?;
    let mut nets: Vec<Json> = match v {
        Json::Arr(a) => a,
        _ => Vec::new(),
    };
    let name = |n: &Json| n.get("Name").map(Json::str).unwrap_or("").to_string();
    nets.sort_by(|x, y| natural_cmp(&name(x), &name(y)));
    let rows: Vec<Json> = nets.iter().map(|n| row(n, !a.no_trunc)).collect();
    let format = match (a.format.as_deref(), a.quiet) {
        (None | Some("table"), true) => "{{.ID}}".to_string(),
        (Some(f), _) => f.to_string(),
        (None, false) => TABLE.into(),
    };
    let r = Render {
        format: &format,
        headers: HEADERS,
        default_table: TABLE,
    };
    print!("{}", r.render(&rows)?);
    Ok(0)
}

async fn inspect(c: &Client, a: NetInspectArgs) -> Result<u8> {
    if a.names.is_empty() {
        return Err(arity(
            "inspect",
            "[OPTIONS] NETWORK [NETWORK...]",
            "requires at least 1 argument",
        ));
    }
    // `size` asks a network for its verbose form.
    let a = InspectArgs {
        format: a.format,
        size: a.verbose,
        kind: Some("network".into()),
        names: a.names,
    };
    super::containers::inspect(c, a, Some("network")).await
}

async fn rm(c: &Client, a: NetRmArgs) -> Result<u8> {
    if a.names.is_empty() {
        return Err(arity(
            "rm",
            "NETWORK [NETWORK...]",
            "requires at least 1 argument",
        ));
    }
    let mut failed = false;
    for n in &a.names {
        match c.call("DELETE", &format!("/networks/{}", q(n)), None).await {
            Ok(_) => println!("{n}"),
            Err(super::conn::ApiError::Daemon { status: 404, .. }) if a.force => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        // docker's status error without a message prints this.
        return Err(Exit {
            code: 1,
            message: "exit status 1".into(),
        }
        .into());
    }
    Ok(0)
}

async fn connect(c: &Client, a: NetConnectArgs) -> Result<u8> {
    let [net, ctr] = a.args.as_slice() else {
        return Err(arity(
            "connect",
            "[OPTIONS] NETWORK CONTAINER",
            "requires 2 arguments",
        ));
    };
    let mut ipam = json!({
        "IPv4Address": a.ip.clone().unwrap_or_default(),
        "IPv6Address": a.ip6.clone().unwrap_or_default(),
        "LinkLocalIPs": a.link_local_ip,
    });
    if let Some(m) = ipam.as_object_mut() {
        m.retain(|_, v| v != "" && v != &json!([]));
    }
    let endpoint = super::endpoints::settings(
        ipam,
        &a.link,
        &a.alias,
        "",
        Value::Object(kv_map(&a.driver_opt)),
        a.gw_priority,
    );
    let body = json!({"Container": ctr, "EndpointConfig": endpoint});
    c.post_json(&format!("/networks/{}/connect", q(net)), &body)
        .await?;
    Ok(0)
}

async fn disconnect(c: &Client, a: NetDisconnectArgs) -> Result<u8> {
    let [net, ctr] = a.args.as_slice() else {
        return Err(arity(
            "disconnect",
            "[OPTIONS] NETWORK CONTAINER",
            "requires 2 arguments",
        ));
    };
    let body = json!({"Container": ctr, "Force": a.force});
    c.post_json(&format!("/networks/{}/disconnect", q(net)), &body)
        .await?;
    Ok(0)
}

async fn prune(c: &Client, a: NetPruneArgs) -> Result<u8> {
    if !a.extra.is_empty() {
        return Err(arity("prune", "[OPTIONS]", "accepts no arguments"));
    }
    if !a.force
        && !confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )?
    {
        return Ok(0);
    }
    let path = format!("/networks/prune{}", filters_query(&a.filter));
    let v: Value = serde_json::from_slice(&c.call("POST", &path, None).await?)?;
    print_deleted("Networks", &v["NetworksDeleted"]);
    Ok(0)
}
