//! Low-level splitting of a logical line, as Docker's parser does it before
//! any typing: the command word, the leading `--flags`, word lists that keep
//! their quotes, whitespace lists and the JSON array form.

/// Docker's whitespace class for argument splitting (`[\t\v\f\r ]+`).
pub(crate) fn is_ws(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits on runs of Docker whitespace; like Go's `regexp.Split(s, -1)`
/// on a trimmed string, so an empty input gives no words.
pub(crate) fn split_ws(s: &str) -> Vec<String> {
    s.split(is_ws)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits off the first whitespace-delimited word: `(word, rest)`.
pub(crate) fn split_ws2(s: &str) -> (&str, &str) {
    match s.find(is_ws) {
        Some(i) => {
            let rest = s[i..].trim_start_matches(is_ws);
            (&s[..i], rest)
        }
        None => (s, ""),
    }
}

/// The command keyword, the builder flags (`--from=x`, as written) and the
/// remaining arguments, trimmed.
pub(crate) fn split_command(line: &str) -> (String, Vec<String>, String) {
    let (cmd, rest) = split_ws2(line.trim());
    if rest.is_empty() {
        return (cmd.to_string(), Vec::new(), String::new());
    }
    let (args, flags) = extract_flags(rest);
    (cmd.to_string(), flags, args.trim().to_string())
}

/// Leading words that start with `--` are flags (quotes inside them are
/// removed, `\` escapes); a lone `--` ends the flags.
fn extract_flags(line: &str) -> (String, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].1.is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            return (String::new(), flags);
        }
        let start = chars[i].0;
        if !(chars[i].1 == '-' && chars.get(i + 1).map(|c| c.1) == Some('-')) {
            return (line[start..].to_string(), flags);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i].1;
            match quote {
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    if i + 1 < chars.len() {
                        i += 1;
                        word.push(chars[i].1);
                    }
                }
                _ => word.push(c),
            }
            i += 1;
        }
        if word == "--" {
            let end = chars.get(i).map(|c| c.0).unwrap_or(line.len());
            return (line[end..].to_string(), flags);
        }
        flags.push(word);
    }
}

/// Docker's `parseWords`: whitespace-separated words where quotes and
/// escapes are kept (they are removed later, during expansion), and a quoted
/// part keeps its whitespace.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            if c == escape && q != '\'' {
                if i + 1 == chars.len() {
                    break;
                }
                word.push(c);
                i += 1;
                word.push(chars[i]);
                i += 1;
                continue;
            }
            word.push(c);
            i += 1;
            continue;
        }
        if !in_word {
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            in_word = true;
        }
        if c.is_whitespace() {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            blank_ok = false;
            in_word = false;
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            blank_ok = true;
        }
        if c == escape {
            if i + 1 == chars.len() {
                i += 1;
                continue;
            }
            word.push(c);
            i += 1;
        }
        word.push(chars[i]);
        i += 1;
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// The outcome of trying the JSON array form.
pub(crate) enum Json {
    /// A valid array of strings.
    Array(Vec<String>),
    /// Not JSON (or not an array): use the shell/whitespace form.
    Shell,
    /// A JSON array holding something other than strings: an error in Docker.
    NotStrings,
}

/// Docker's `parseJSON`: the arguments must start with `[` and be a valid
/// JSON array; anything else falls back to the other form.
pub(crate) fn parse_json(rest: &str) -> Json {
    let t = rest.trim_start();
    if !t.starts_with('[') {
        return Json::Shell;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(t) {
        Err(_) => Json::Shell,
        Ok(vals) => {
            let mut out = Vec::with_capacity(vals.len());
            for v in vals {
                match v {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return Json::NotStrings,
                }
            }
            Json::Array(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_off() {
        let (c, f, a) = split_command("COPY --from=build --chown=\"a b\" src dst");
        assert_eq!(c, "COPY");
        assert_eq!(f, vec!["--from=build", "--chown=a b"]);
        assert_eq!(a, "src dst");
        let (_, f, a) = split_command("RUN -- --not-a-flag");
        assert!(f.is_empty());
        assert_eq!(a, "--not-a-flag");
        let (_, f, a) = split_command("RUN --network=none");
        assert_eq!(f, vec!["--network=none"]);
        assert_eq!(a, "");
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            parse_words(r#"A="a b" C=d\ e  F=''"#, '\\'),
            vec![r#"A="a b""#, r"C=d\ e", "F=''"]
        );
        assert_eq!(parse_words("  ", '\\'), Vec::<String>::new());
        assert_eq!(parse_words(r#""" x"#, '\\'), vec![r#""""#, "x"]);
    }

    #[test]
    fn json_forms() {
        assert!(matches!(parse_json(r#"["a", "b"]"#), Json::Array(v) if v == ["a", "b"]));
        assert!(matches!(parse_json(r#"[ "a", 1 ]"#), Json::NotStrings));
        assert!(matches!(parse_json("['a']"), Json::Shell));
        assert!(matches!(parse_json(r#"["a" "b"]"#), Json::Shell));
        assert!(matches!(parse_json("echo [x]"), Json::Shell));
    }
}
