//! JSON as the daemon sent it: an ordered value (object fields keep the
//! server's order, numbers keep their text), Go's `json.Indent` over raw
//! bytes for `inspect`, and Go's `json.Marshal` escaping for `{{json .}}`.

use std::fmt::Write;

/// A JSON value whose objects keep their field order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in order.
    Obj(Vec<(String, Json)>),
    /// A nil slice (`false`) or map (`true`) of a typed field: `null` in
    /// JSON, `[]` or `map[]` when printed.
    NilOf(bool),
}

impl Json {
    /// Parses a JSON document.
    pub fn parse(text: &[u8]) -> Result<Json, String> {
        let mut p = Parser { s: text, i: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != text.len() {
            return Err(format!("trailing data at offset {}", p.i));
        }
        Ok(v)
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string inside, or "".
    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => "",
        }
    }

    /// Go's truthiness: false, 0, nil, empty string/array/object are false.
    pub fn truthy(&self) -> bool {
        match self {
            Json::Null | Json::NilOf(_) => false,
            Json::Bool(b) => *b,
            Json::Num(n) => n.parse::<f64>().map(|f| f != 0.0).unwrap_or(true),
            Json::Str(s) => !s.is_empty(),
            Json::Arr(a) => !a.is_empty(),
            Json::Obj(o) => o.iter().any(|(k, _)| !k.starts_with('\0')),
        }
    }

    /// Compact JSON as Go's `json.Marshal` writes it (`<`, `>`, `&`
    /// escaped).
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out, true);
        out
    }

    /// Compact JSON as docker's template `json` function writes it
    /// (an encoder with HTML escaping off).
    pub fn to_compact_raw(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out, false);
        out
    }

    fn write_compact(&self, out: &mut String, html: bool) {
        match self {
            Json::Null | Json::NilOf(_) => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => quote_go(s, out, html),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_compact(out, html);
                }
                out.push(']');
            }
            Json::Obj(o) => {
                out.push('{');
                let shown = o.iter().filter(|(k, _)| !k.starts_with('\0'));
                for (i, (k, v)) in shown.enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote_go(k, out, html);
                    out.push(':');
                    v.write_compact(out, html);
                }
                out.push('}');
            }
        }
    }

    /// The value as Go's `fmt` prints it with `%v`: strings bare, arrays
    /// `[a b]`, maps `map[k:v]` (sorted), structs (capitalised keys)
    /// `{v1 v2}`, null `<nil>`.
    pub fn to_go(&self) -> String {
        match self {
            Json::Null => "<nil>".into(),
            Json::NilOf(false) => "[]".into(),
            Json::NilOf(true) => "map[]".into(),
            Json::Bool(b) => b.to_string(),
            Json::Num(n) => n.clone(),
            Json::Str(s) => s.clone(),
            Json::Arr(a) => {
                let items: Vec<String> = a.iter().map(Json::to_go).collect();
                format!("[{}]", items.join(" "))
            }
            Json::Obj(o) => {
                let forced_map = o.iter().any(|(k, _)| k == "\0map");
                let o: Vec<&(String, Json)> =
                    o.iter().filter(|(k, _)| !k.starts_with('\0')).collect();
                let is_struct = !forced_map
                    && !o.is_empty()
                    && o.iter()
                        .all(|(k, _)| k.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
                if is_struct {
                    let items: Vec<String> = o.iter().map(|(_, v)| v.to_go()).collect();
                    format!("{{{}}}", items.join(" "))
                } else {
                    let mut items: Vec<(&String, String)> =
                        o.iter().map(|(k, v)| (k, v.to_go())).collect();
                    items.sort();
                    let items: Vec<String> =
                        items.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("map[{}]", items.join(" "))
                }
            }
        }
    }
}

/// A string quoted the way Go's encoding/json does.
fn quote_go(s: &str, out: &mut String, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `json.Indent(dst, src, prefix="", indent)`: whitespace outside
/// strings dropped, one element per line, `{}` and `[]` kept together.
pub fn indent(src: &[u8], indent: &str) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut need_indent = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    for &b in src {
        if in_str {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        if need_indent && b != b']' && b != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match b {
            b'"' => {
                in_str = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                need_indent = true;
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => {
                out.push(b);
                out.push(b' ');
            }
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        let Some(&c) = self.s.get(self.i) else {
            return Err("unexpected end of JSON".into());
        };
        match c {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let Json::Str(k) = self.value()? else {
                        return Err("object key is not a string".into());
                    };
                    self.ws();
                    self.expect(b':')?;
                    let v = self.value()?;
                    fields.push((k, v));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(fields));
                        }
                        _ => return Err(format!("bad object at offset {}", self.i)),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("bad array at offset {}", self.i)),
                    }
                }
            }
            b'"' => {
                let start = self.i;
                self.i += 1;
                let mut esc = false;
                while let Some(&b) = self.s.get(self.i) {
                    self.i += 1;
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        let raw = std::str::from_utf8(&self.s[start..self.i])
                            .map_err(|e| e.to_string())?;
                        let s: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
                        return Ok(Json::Str(s));
                    }
                }
                Err("unterminated string".into())
            }
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                if start == self.i {
                    return Err(format!("invalid character at offset {}", self.i));
                }
                Ok(Json::Num(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at offset {}", b as char, self.i))
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(format!("invalid literal at offset {}", self.i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_matches_go() {
        let src = br#"[{"A":1,"B":[],"C":{},"D":["x","y"],"E":{"k":"v, \"q\""}}]"#;
        let want = "[\n    {\n        \"A\": 1,\n        \"B\": [],\n        \"C\": {},\n        \"D\": [\n            \"x\",\n            \"y\"\n        ],\n        \"E\": {\n            \"k\": \"v, \\\"q\\\"\"\n        }\n    }\n]";
        assert_eq!(indent(src, "    "), want);
    }

    #[test]
    fn parse_keeps_order_and_marshal_escapes_like_go() {
        let v = Json::parse(br#"{"Z":1,"A":"<b>&","N":null,"F":1.50}"#).unwrap();
        assert_eq!(
            v.to_compact(),
            r#"{"Z":1,"A":"\u003cb\u003e\u0026","N":null,"F":1.50}"#
        );
        assert_eq!(v.get("A").unwrap().str(), "<b>&");
    }

    #[test]
    fn go_printing_of_maps_structs_and_lists() {
        let v = Json::parse(br#"{"b":"2","a":"1"}"#).unwrap();
        assert_eq!(v.to_go(), "map[a:1 b:2]");
        let v = Json::parse(br#"{"Status":"running","Pid":7}"#).unwrap();
        assert_eq!(v.to_go(), "{running 7}");
        let v = Json::parse(br#"["sh","-c"]"#).unwrap();
        assert_eq!(v.to_go(), "[sh -c]");
    }
}
