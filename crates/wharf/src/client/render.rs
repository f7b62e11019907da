//! `--format` for lists as docker's formatter does it: `table …` (header
//! row from the field names, docker's tabwriter), `json` (one object per
//! line), or a plain template run once per item.

use anyhow::{Context, Result};

use super::format::tabwrite;
use super::json::Json;
use super::template::Template;

/// A list format and the header name of each field.
pub struct Render<'a> {
    /// The `--format` value (or the command's default).
    pub format: &'a str,
    /// Field name → header (`ID` → `CONTAINER ID`).
    pub headers: &'a [(&'a str, &'a str)],
    /// The table format used for a bare `table`.
    pub default_table: &'a str,
}

impl Render<'_> {
    /// The text for `items`.
    pub fn render(&self, items: &[Json]) -> Result<String> {
        let mut format = self.format.to_string();
        if format == "json" {
            format = "{{json .}}".into();
        }
        if format.trim() == "table" {
            format = self.default_table.to_string();
        }
        let table = format.starts_with("table");
        let body = if table {
            format["table".len()..].trim().to_string()
        } else {
            format.clone()
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut tmpl = Template::parse(&body).context("template parsing error")?;
        tmpl.escape_html = true;
        let mut out = String::new();
        if table {
            let mut fields: Vec<(String, Json)> = self
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), Json::Str(v.to_string())))
                .collect();
            fields.push(("\0Label".into(), Json::Str(super::template::ECHO.into())));
            let header = Json::Obj(fields);
            let h = tmpl.execute(&header).unwrap_or_default();
            if !h.trim().is_empty() {
                out.push_str(&h);
                out.push('\n');
            }
        }
        for item in items {
            out.push_str(&tmpl.execute(item).context("template parsing error")?);
            out.push('\n');
        }
        Ok(if table { tabwrite(&out) } else { out })
    }
}

/// Runs `format` once on `dot` (inspect-style: no table, newline after).
pub fn once(format: &str, dot: &Json) -> Result<String> {
    let tmpl = Template::parse(format).context("template parsing error")?;
    let mut s = tmpl.execute(dot).context("template parsing error")?;
    s.push('\n');
    Ok(s)
}
