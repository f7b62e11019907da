//! A small Go `text/template` for `--format`: fields (`{{.State.Status}}`),
//! variables, pipelines, `if`/`else if`/`else`, `range` (with `$k, $v :=`),
//! `with`, trim markers, and docker's functions (`json`, `join`, `split`,
//! `lower`, `upper`, `title`, `truncate`, `pad`) plus Go's `index`, `len`,
//! `eq`/`ne`/`lt`/`le`/`gt`/`ge`, `not`/`and`/`or`, `print`/`printf`/`println`.
//! Values are [`Json`]; a field call with arguments on an object
//! (`{{.Label "k"}}`) indexes the object the field names.

use super::json::Json;
use super::template_funcs::call;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    /// `json` escapes `<`, `>` and `&` (docker's list formatters marshal
    /// their rows with encoding/json; inspect templates do not escape).
    pub escape_html: bool,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
}

#[derive(Debug, Clone)]
struct Pipe {
    decl: Vec<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Lit(Json),
    Func(String),
    Sub(Pipe, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Num(String),
    Ident(String),
    Pipe,
    Open,
    Close(Vec<String>),
    Decl,
    Comma,
}

/// Errors parsing or running a template.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

pub(super) fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let items = split_actions(text)?;
        let mut pos = 0;
        let (nodes, end) = parse_list(&items, &mut pos)?;
        if let Some(e) = end {
            return err(format!("unexpected {{{{{e}}}}}"));
        }
        Ok(Template {
            nodes,
            escape_html: false,
        })
    }

    /// Runs the template on `dot`.
    pub fn execute(&self, dot: &Json) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), dot.clone())];
        if self.escape_html {
            vars.push((ESCAPE.to_string(), Json::Bool(true)));
        }
        exec_list(&self.nodes, dot, &mut vars, &mut out)?;
        Ok(out)
    }
}

enum Item {
    Text(String),
    Action(String),
}

fn split_actions(text: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let mut before = rest[..start].to_string();
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return err("unclosed action");
        };
        let mut inner = &after[..end];
        if let Some(s) = inner.strip_prefix("- ") {
            before = before.trim_end().to_string();
            inner = s;
        }
        let mut trim_next = false;
        if let Some(s) = inner.strip_suffix(" -") {
            trim_next = true;
            inner = s;
        }
        items.push(Item::Text(before));
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            items.push(Item::Action(inner.to_string()));
        }
        rest = &after[end + 2..];
        if trim_next {
            rest = rest.trim_start();
        }
    }
    items.push(Item::Text(rest.to_string()));
    Ok(items)
}

/// Parses nodes until `end`/`else`; returns them and the keyword that
/// stopped the list (`end`, `else`, `else if …`).
fn parse_list(
    items: &[Item],
    pos: &mut usize,
) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut nodes = Vec::new();
    while *pos < items.len() {
        let item = &items[*pos];
        *pos += 1;
        let action = match item {
            Item::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t.clone()));
                }
                continue;
            }
            Item::Action(a) => a.as_str(),
        };
        let (word, rest) = match action.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (action, ""),
        };
        match word {
            "end" | "else" => return Ok((nodes, Some(action.to_string()))),
            "if" => {
                let mut branches = vec![(parse_pipe(rest)?, Vec::new())];
                let mut otherwise = Vec::new();
                loop {
                    let (body, end) = parse_list(items, pos)?;
                    let end = end.unwrap_or_default();
                    if let Some(last) = branches.last_mut() {
                        last.1 = body;
                    }
                    if end == "end" {
                        break;
                    }
                    if let Some(cond) = end.strip_prefix("else if ") {
                        branches.push((parse_pipe(cond.trim())?, Vec::new()));
                        continue;
                    }
                    if end == "else" {
                        let (body, end) = parse_list(items, pos)?;
                        if end.as_deref() != Some("end") {
                            return err("missing {{end}}");
                        }
                        otherwise = body;
                        break;
                    }
                    return err("missing {{end}}");
                }
                nodes.push(Node::If(branches, otherwise));
            }
            "range" | "with" => {
                let pipe = parse_pipe(rest)?;
                let (body, end) = parse_list(items, pos)?;
                let otherwise = match end.as_deref() {
                    Some("end") => Vec::new(),
                    Some("else") => {
                        let (b, end) = parse_list(items, pos)?;
                        if end.as_deref() != Some("end") {
                            return err("missing {{end}}");
                        }
                        b
                    }
                    _ => return err(format!("missing {{{{end}}}} for {word}")),
                };
                nodes.push(match word {
                    "range" => Node::Range(pipe, body, otherwise),
                    _ => Node::With(pipe, body, otherwise),
                });
            }
            _ => nodes.push(Node::Action(parse_pipe(action)?)),
        }
    }
    Ok((nodes, None))
}

fn path_of(s: &str) -> Vec<String> {
    s.split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn lex(s: &str) -> Result<Vec<Tok>, TemplateError> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut toks = Vec::new();
    let word_end = |mut j: usize| {
        while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_' || b[j] == '.') {
            j += 1;
        }
        j
    };
    while i < b.len() {
        let c = b[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                toks.push(Tok::Pipe);
                i += 1
            }
            '(' => {
                toks.push(Tok::Open);
                i += 1
            }
            ')' => {
                let j = word_end(i + 1);
                toks.push(Tok::Close(path_of(&b[i + 1..j].iter().collect::<String>())));
                i = j;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1
            }
            ':' if b.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Decl);
                i += 2
            }
            '=' => {
                toks.push(Tok::Decl);
                i += 1
            }
            '"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != '"' {
                    if b[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let raw: String = b[i..(j + 1).min(b.len())].iter().collect();
                let v: String = serde_json::from_str(&raw)
                    .map_err(|_| TemplateError(format!("bad string {raw}")))?;
                toks.push(Tok::Str(v));
                i = j + 1;
            }
            '`' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != '`' {
                    j += 1;
                }
                toks.push(Tok::Str(b[i + 1..j.min(b.len())].iter().collect()));
                i = j + 1;
            }
            '.' => {
                let j = word_end(i + 1);
                toks.push(Tok::Field(path_of(&b[i..j].iter().collect::<String>())));
                i = j;
            }
            '$' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
                    j += 1;
                }
                let name: String = b[i..j].iter().collect();
                let k = word_end(j);
                toks.push(Tok::Var(name, path_of(&b[j..k].iter().collect::<String>())));
                i = k;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == '.') {
                    j += 1;
                }
                toks.push(Tok::Num(b[i..j].iter().collect()));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let j = word_end(i);
                toks.push(Tok::Ident(b[i..j].iter().collect()));
                i = j;
            }
            other => return err(format!("unexpected {other:?} in command")),
        }
    }
    Ok(toks)
}

fn parse_pipe(s: &str) -> Result<Pipe, TemplateError> {
    let toks = lex(s)?;
    let mut pos = 0;
    let pipe = pipe_of(&toks, &mut pos)?;
    if pos != toks.len() {
        return err(format!("unexpected token in {s:?}"));
    }
    Ok(pipe)
}

fn pipe_of(toks: &[Tok], pos: &mut usize) -> Result<Pipe, TemplateError> {
    let mut decl = Vec::new();
    // `$a := …` or `$k, $v := …`
    let mut j = *pos;
    let mut names = Vec::new();
    while let Some(Tok::Var(n, p)) = toks.get(j) {
        if !p.is_empty() {
            break;
        }
        names.push(n.clone());
        j += 1;
        match toks.get(j) {
            Some(Tok::Comma) => j += 1,
            Some(Tok::Decl) => {
                decl = names.clone();
                *pos = j + 1;
                break;
            }
            _ => break,
        }
    }
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Close(_) => break,
            Tok::Pipe => {
                cmds.push(std::mem::take(&mut cmd));
                *pos += 1;
                continue;
            }
            _ => {}
        }
        *pos += 1;
        cmd.push(match t {
            Tok::Field(p) => Arg::Dot(p.clone()),
            Tok::Var(n, p) => Arg::Var(n.clone(), p.clone()),
            Tok::Str(s) => Arg::Lit(Json::Str(s.clone())),
            Tok::Num(n) => Arg::Lit(Json::Num(n.clone())),
            Tok::Ident(i) if i == "true" || i == "false" => Arg::Lit(Json::Bool(i == "true")),
            Tok::Ident(i) if i == "nil" => Arg::Lit(Json::Null),
            Tok::Ident(i) => Arg::Func(i.clone()),
            Tok::Open => {
                let inner = pipe_of(toks, pos)?;
                let Some(Tok::Close(path)) = toks.get(*pos) else {
                    return err("unclosed left paren");
                };
                *pos += 1;
                Arg::Sub(inner, path.clone())
            }
            _ => return err("unexpected token"),
        });
    }
    if cmd.is_empty() {
        return err("missing value for command");
    }
    cmds.push(cmd);
    Ok(Pipe { decl, cmds })
}

type Vars = Vec<(String, Json)>;

/// The variable that tells `json` to escape HTML characters.
const ESCAPE: &str = "\0escape";

/// A value that `index` answers with the key itself (header rows).
pub const ECHO: &str = "\0echo";

fn exec_list(
    nodes: &[Node],
    dot: &Json,
    vars: &mut Vars,
    out: &mut String,
) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval_pipe(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&print(&v));
                }
            }
            Node::If(branches, otherwise) => {
                let mut done = false;
                for (cond, body) in branches {
                    if truthy(&eval_pipe(cond, dot, vars)?) {
                        exec_list(body, dot, vars, out)?;
                        done = true;
                        break;
                    }
                }
                if !done {
                    exec_list(otherwise, dot, vars, out)?;
                }
            }
            Node::With(p, body, otherwise) => {
                let v = eval_pipe(p, dot, vars)?;
                match v {
                    Some(v) if v.truthy() => exec_list(body, &v, vars, out)?,
                    _ => exec_list(otherwise, dot, vars, out)?,
                }
            }
            Node::Range(p, body, otherwise) => {
                let mark = vars.len();
                let v = eval_range_source(p, dot, vars)?;
                let items: Vec<(Json, Json)> = match v {
                    Some(Json::Arr(a)) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Json::Num(i.to_string()), v))
                        .collect(),
                    Some(Json::Obj(mut o)) => {
                        o.retain(|(k, _)| !k.starts_with('\0'));
                        o.sort_by(|a, b| a.0.cmp(&b.0));
                        o.into_iter().map(|(k, v)| (Json::Str(k), v)).collect()
                    }
                    Some(Json::Null | Json::NilOf(_)) | None => Vec::new(),
                    Some(other) => {
                        return err(format!("range can't iterate over {}", other.to_go()))
                    }
                };
                if items.is_empty() {
                    exec_list(otherwise, dot, vars, out)?;
                }
                for (k, v) in items {
                    vars.truncate(mark);
                    match p.decl.as_slice() {
                        [one] => vars.push((one.clone(), v.clone())),
                        [a, b] => {
                            vars.push((a.clone(), k));
                            vars.push((b.clone(), v.clone()));
                        }
                        _ => {}
                    }
                    exec_list(body, &v, vars, out)?;
                }
                vars.truncate(mark);
            }
        }
    }
    Ok(())
}

fn eval_range_source(p: &Pipe, dot: &Json, vars: &mut Vars) -> Result<Option<Json>, TemplateError> {
    let plain = Pipe {
        decl: Vec::new(),
        cmds: p.cmds.clone(),
    };
    eval_pipe(&plain, dot, vars)
}

pub(super) fn truthy(v: &Option<Json>) -> bool {
    v.as_ref().is_some_and(Json::truthy)
}

/// A value as the template prints it (`<no value>` for a missing field).
pub(super) fn print(v: &Option<Json>) -> String {
    match v {
        None => "<no value>".into(),
        Some(v) => v.to_go(),
    }
}

fn eval_pipe(p: &Pipe, dot: &Json, vars: &mut Vars) -> Result<Option<Json>, TemplateError> {
    let mut prev: Option<Option<Json>> = None;
    for cmd in &p.cmds {
        prev = Some(eval_cmd(cmd, dot, vars, prev)?);
    }
    let v = prev.unwrap_or(None);
    if let [name] = p.decl.as_slice() {
        vars.push((name.clone(), v.clone().unwrap_or(Json::Null)));
    }
    Ok(v)
}

/// Fields of docker's types that are slices: nil prints `[]`.
const LISTS: &[&str] = &[
    "Binds",
    "Entrypoint",
    "Cmd",
    "CapAdd",
    "CapDrop",
    "OnBuild",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "VolumesFrom",
    "Links",
    "SecurityOpt",
    "Shell",
    "Env",
    "Devices",
    "DeviceRequests",
    "DeviceCgroupRules",
    "Mounts",
    "Ulimits",
    "RepoTags",
    "RepoDigests",
    "Layers",
    "Args",
    "Aliases",
    "MaskedPaths",
    "ReadonlyPaths",
    "Warnings",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "Test",
    "Links",
];
/// Fields of docker's types that are maps: nil prints `map[]`, and their
/// capitalised keys do not make them structs.
const MAPS: &[&str] = &[
    "Volumes",
    "ExposedPorts",
    "Tmpfs",
    "Labels",
    "Sysctls",
    "StorageOpt",
    "Options",
    "DriverOpts",
    "Ports",
    "PortBindings",
    "Data",
    "Annotations",
];

fn walk(mut v: Option<Json>, path: &[String]) -> Option<Json> {
    for k in path {
        v = v.and_then(|v| {
            // Hidden fields (`\0Name`) serve method calls like `.Label "k"`.
            if let Some(x) = v.get(k).or_else(|| v.get(&format!("\0{k}"))) {
                return Some(x.clone());
            }
            // Go names a field where the JSON key differs only in case
            // (`APIVersion` is sent as `ApiVersion`, `ID` as `Id`).
            if let Json::Obj(o) = &v {
                if let Some((_, x)) = o.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
                    return Some(x.clone());
                }
            }
            // A field a struct omitted is a nil pointer; a map's missing
            // key has no value.
            match &v {
                Json::Obj(o)
                    if !o.is_empty()
                        && o.iter()
                            .all(|(n, _)| n.starts_with(|c: char| c.is_ascii_uppercase())) =>
                {
                    Some(Json::Null)
                }
                _ => None,
            }
        });
        v = match (v, k.as_str()) {
            (Some(Json::Null), k) if LISTS.contains(&k) => Some(Json::NilOf(false)),
            (Some(Json::Null), k) if MAPS.contains(&k) => Some(Json::NilOf(true)),
            (Some(Json::Obj(mut o)), k) if MAPS.contains(&k) => {
                o.push(("\0map".into(), Json::Null));
                Some(Json::Obj(o))
            }
            (v, _) => v,
        };
    }
    v
}

fn eval_arg(a: &Arg, dot: &Json, vars: &mut Vars) -> Result<Option<Json>, TemplateError> {
    Ok(match a {
        Arg::Dot(path) => walk(Some(dot.clone()), path),
        Arg::Var(name, path) => {
            let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                return err(format!("undefined variable: {name}"));
            };
            walk(Some(v.clone()), path)
        }
        Arg::Lit(v) => Some(v.clone()),
        Arg::Func(f) => call(f, Vec::new())?,
        Arg::Sub(p, path) => walk(eval_pipe(p, dot, vars)?, path),
    })
}

fn eval_cmd(
    cmd: &[Arg],
    dot: &Json,
    vars: &mut Vars,
    prev: Option<Option<Json>>,
) -> Result<Option<Json>, TemplateError> {
    let mut args = Vec::new();
    for a in &cmd[1..] {
        args.push(eval_arg(a, dot, vars)?);
    }
    if let Some(p) = prev {
        args.push(p);
    }
    match &cmd[0] {
        Arg::Func(f) if f == "json" => {
            let escape = vars.iter().any(|(n, _)| n == ESCAPE);
            let v = args.into_iter().next().flatten().unwrap_or(Json::Null);
            Ok(Some(Json::Str(if escape {
                v.to_compact()
            } else {
                v.to_compact_raw()
            })))
        }
        Arg::Func(f) => call(f, args),
        first => {
            let v = eval_arg(first, dot, vars)?;
            if args.is_empty() {
                return Ok(v);
            }
            // `.Label "k"`: a method with arguments indexes what it names.
            let mut all = vec![v];
            all.extend(args);
            call("index", all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &str, v: &str) -> String {
        Template::parse(t)
            .unwrap()
            .execute(&Json::parse(v.as_bytes()).unwrap())
            .unwrap()
    }

    #[test]
    fn fields_functions_and_control() {
        let v = r#"{"ID":"abc","State":{"Status":"running","Running":true},"Args":["-c","x"],
                    "Config":{"Labels":{"k":"v","a":"b"}},"Mounts":[{"Source":"/a"},{"Source":"/b"}]}"#;
        assert_eq!(run("{{.ID}} {{.State.Status}}", v), "abc running");
        assert_eq!(
            run("{{json .State}}", v),
            r#"{"Status":"running","Running":true}"#
        );
        assert_eq!(run(r#"{{index .Config.Labels "k"}}"#, v), "v");
        assert_eq!(run(r#"{{join .Args " "}}"#, v), "-c x");
        assert_eq!(run("{{range .Mounts}}{{.Source}};{{end}}", v), "/a;/b;");
        assert_eq!(run("{{if .State.Running}}up{{else}}down{{end}}", v), "up");
        assert_eq!(
            run("{{if not .State.Running}}up{{else if .ID}}id{{end}}", v),
            "id"
        );
        assert_eq!(
            run("{{upper .ID | lower}} {{title \"hello world\"}}", v),
            "abc Hello World"
        );
        assert_eq!(
            run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}", v),
            "a=b k=v "
        );
        assert_eq!(run("{{.Config.Labels}}", v), "map[a:b k:v]");
        // A struct's omitted field is a nil pointer; a map's missing key
        // has no value; nil slices and maps of docker's types print empty.
        assert_eq!(run("{{.Nope}}", v), "<nil>");
        assert_eq!(run("{{.Config.Labels.zz}}", v), "<no value>");
        assert_eq!(
            run(
                "{{.Config.Binds}} {{.Config.Volumes}} {{json .Config.Binds}}",
                v
            ),
            "[] map[] null"
        );
        assert_eq!(run(r#"{{.Config.Labels.k}} {{- " " -}} x"#, v), "v x");
        assert_eq!(run(r#"{{(index .Mounts 1).Source}}"#, v), "/b");
        assert_eq!(run(r#"{{with .State}}{{.Status}}{{end}}"#, v), "running");
        assert_eq!(run(r#"{{eq .State.Status "running"}}"#, v), "true");
    }
}
