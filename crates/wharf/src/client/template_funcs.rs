//! The functions of `--format` templates: docker's (`json` is in the
//! evaluator, which knows whether to escape), `split`, `join`, `lower`,
//! `upper`, `title`, `truncate`, `pad`, and Go's `index`, `len`, the
//! comparisons, `not`/`and`/`or` and the `print` family.

use super::json::Json;
use super::template::{err, print, truthy, TemplateError, ECHO};

fn s(v: &Option<Json>) -> String {
    match v {
        Some(Json::Str(s)) => s.clone(),
        other => print(other),
    }
}

fn num(v: &Option<Json>) -> f64 {
    match v {
        Some(Json::Num(n)) => n.parse().unwrap_or(0.0),
        Some(Json::Str(n)) => n.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

pub(super) fn call(f: &str, a: Vec<Option<Json>>) -> Result<Option<Json>, TemplateError> {
    let arg = |i: usize| a.get(i).cloned().unwrap_or(None);
    let str_v = |x: String| Ok(Some(Json::Str(x)));
    let cmp = |x: &Option<Json>, y: &Option<Json>| -> std::cmp::Ordering {
        match (x, y) {
            (Some(Json::Num(_)), Some(Json::Num(_))) => num(x)
                .partial_cmp(&num(y))
                .unwrap_or(std::cmp::Ordering::Equal),
            _ => s(x).cmp(&s(y)),
        }
    };
    match f {
        "json" => str_v(arg(0).unwrap_or(Json::Null).to_compact()),
        "lower" => str_v(s(&arg(0)).to_lowercase()),
        "upper" => str_v(s(&arg(0)).to_uppercase()),
        "title" => str_v(title(&s(&arg(0)))),
        "split" => Ok(Some(Json::Arr(
            s(&arg(0))
                .split(s(&arg(1)).as_str())
                .map(|p| Json::Str(p.to_string()))
                .collect(),
        ))),
        "join" => {
            let items: Vec<String> = match arg(0) {
                Some(Json::Arr(items)) => items.iter().map(|i| s(&Some(i.clone()))).collect(),
                other => vec![s(&other)],
            };
            str_v(items.join(&s(&arg(1))))
        }
        "truncate" => {
            let text = s(&arg(0));
            let n = num(&arg(1)) as usize;
            str_v(text.chars().take(n).collect())
        }
        "pad" => str_v(format!(
            "{}{}{}",
            " ".repeat(num(&arg(1)) as usize),
            s(&arg(0)),
            " ".repeat(num(&arg(2)) as usize)
        )),
        "len" => Ok(Some(Json::Num(
            match arg(0) {
                Some(Json::Arr(x)) => x.len(),
                Some(Json::Obj(x)) => x.iter().filter(|(k, _)| !k.starts_with('\0')).count(),
                Some(Json::Str(x)) => x.len(),
                _ => 0,
            }
            .to_string(),
        ))),
        "index" => {
            let mut v = arg(0);
            for k in &a[1..] {
                v = match (v, k) {
                    (Some(Json::Arr(items)), _) => items.get(num(k) as usize).cloned(),
                    (Some(Json::Obj(o)), _) => Some(
                        o.iter()
                            .find(|(n, _)| *n == s(k))
                            .map_or(Json::Str(String::new()), |(_, v)| v.clone()),
                    ),
                    (None | Some(Json::Null | Json::NilOf(_)), _) => Some(Json::Str(String::new())),
                    // A header row: `{{.Label "k"}}` heads its column `k`.
                    (Some(Json::Str(m)), _) if m == ECHO => Some(Json::Str(s(k))),
                    _ => return err("can't index item"),
                };
            }
            Ok(v)
        }
        "not" => Ok(Some(Json::Bool(!truthy(&arg(0))))),
        "and" => Ok(a
            .iter()
            .find(|v| !truthy(v))
            .or(a.last())
            .cloned()
            .unwrap_or(None)),
        "or" => Ok(a
            .iter()
            .find(|v| truthy(v))
            .or(a.last())
            .cloned()
            .unwrap_or(None)),
        "eq" => Ok(Some(Json::Bool(
            a[1..].iter().any(|y| cmp(&arg(0), y).is_eq()),
        ))),
        "ne" => Ok(Some(Json::Bool(!cmp(&arg(0), &arg(1)).is_eq()))),
        "lt" => Ok(Some(Json::Bool(cmp(&arg(0), &arg(1)).is_lt()))),
        "le" => Ok(Some(Json::Bool(cmp(&arg(0), &arg(1)).is_le()))),
        "gt" => Ok(Some(Json::Bool(cmp(&arg(0), &arg(1)).is_gt()))),
        "ge" => Ok(Some(Json::Bool(cmp(&arg(0), &arg(1)).is_ge()))),
        "print" => str_v(a.iter().map(s).collect::<Vec<_>>().join("")),
        "println" => str_v(format!(
            "{}\n",
            a.iter().map(s).collect::<Vec<_>>().join(" ")
        )),
        "printf" => str_v(printf(&s(&arg(0)), &a[1.min(a.len())..])),
        other => err(format!("function \"{other}\" not defined")),
    }
}

fn title(text: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in text.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

fn printf(fmt: &str, args: &[Option<Json>]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!("{:?}", s(it.next().unwrap_or(&None)))),
            Some(_) => out.push_str(&s(it.next().unwrap_or(&None))),
            None => out.push('%'),
        }
    }
    out
}
