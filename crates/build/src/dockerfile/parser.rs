//! From text to logical lines to a [`Dockerfile`]: parser directives, line
//! continuations, comments, heredoc bodies, then stages.

use super::instruction::{Heredoc, Instruction};
use super::lex::Lexer;
use super::typed;
use super::words::{parse_json, split_command, Json};
use super::{Dockerfile, Node, Stage};

/// Why a Dockerfile could not be parsed; every variant names the 1-based
/// line, and the message reads like Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An instruction keyword Docker does not know.
    #[error("dockerfile parse error on line {line}: unknown instruction: {instruction}")]
    UnknownInstruction {
        /// Line of the instruction.
        line: usize,
        /// The keyword as written.
        instruction: String,
    },
    /// A `--flag` the instruction does not accept.
    #[error("dockerfile parse error on line {line}: unknown flag: {flag}")]
    UnknownFlag {
        /// Line of the instruction.
        line: usize,
        /// The flag name without `--`.
        flag: String,
    },
    /// Any other syntax error (Docker's wording in `message`).
    #[error("dockerfile parse error on line {line}: {message}")]
    Syntax {
        /// Line of the instruction or directive.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ParseError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            ParseError::UnknownInstruction { line, .. }
            | ParseError::UnknownFlag { line, .. }
            | ParseError::Syntax { line, .. } => *line,
        }
    }

    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> ParseError {
        ParseError::Syntax {
            line,
            message: message.into(),
        }
    }
}

/// Parses the text of a Dockerfile.
///
/// Errors carry the line number: an unknown instruction, a bad flag, a bad
/// directive, an unterminated heredoc, a non-`ARG` instruction before the
/// first `FROM`, or a file with no instructions.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let raw = read_lines(text)?;
    let mut df = Dockerfile {
        escape: raw.escape,
        syntax: raw.syntax,
        meta_args: Vec::new(),
        stages: Vec::new(),
        warnings: raw.warnings,
    };
    if raw.nodes.is_empty() {
        return Err(ParseError::syntax(
            raw.last_line,
            "file with no instructions",
        ));
    }
    for r in raw.nodes {
        let instruction = typed::instruction(&r.text, r.heredocs, raw.escape, r.line)?;
        let node = Node {
            line: r.line,
            end_line: r.end_line,
            original: r.text,
            instruction,
        };
        match node.instruction {
            Instruction::Arg(_) if df.stages.is_empty() => df.meta_args.push(node),
            Instruction::From(ref f) => df.stages.push(Stage {
                index: df.stages.len(),
                name: f.name.clone(),
                base: f.image.clone(),
                platform: f.platform.clone(),
                line: node.line,
                original: node.original,
                instructions: Vec::new(),
            }),
            _ => match df.stages.last_mut() {
                Some(s) => s.instructions.push(node),
                None => {
                    return Err(ParseError::syntax(
                        node.line,
                        "no build stage in current context",
                    ))
                }
            },
        }
    }
    Ok(df)
}

struct RawNode {
    line: usize,
    end_line: usize,
    text: String,
    heredocs: Vec<Heredoc>,
}

struct Raw {
    escape: char,
    syntax: Option<String>,
    warnings: Vec<String>,
    nodes: Vec<RawNode>,
    last_line: usize,
}

/// Parser directives: `# key=value` lines before anything else.
struct Directives {
    done: bool,
    seen: Vec<String>,
    escape: char,
    syntax: Option<String>,
}

impl Directives {
    /// Looks at a left-trimmed line while directives may still appear.
    fn line(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        let Some(body) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(());
        };
        let Some((key, value)) = directive(body.trim_start()) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(ParseError::syntax(
                n,
                format!("only one {key} parser directive can be used"),
            ));
        }
        self.seen.push(key.clone());
        match key.as_str() {
            "escape" => match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                v => {
                    return Err(ParseError::syntax(
                        n,
                        format!("invalid escape token '{v}' does not match ` or \\"),
                    ))
                }
            },
            "syntax" => self.syntax = Some(value.to_string()),
            _ => {}
        }
        Ok(())
    }
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn directive(s: &str) -> Option<(&str, &str)> {
    let first = s.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let key_end = s
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len());
    let key = &s[..key_end];
    let rest = s[key_end..].trim_start().strip_prefix('=')?;
    let value = rest.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// Removes a trailing escape character (line continuation): the escape must
/// stand alone or follow a character that is not itself the escape.
fn trim_continuation(line: &str, esc: char) -> (String, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(esc) {
        if before.is_empty() || !before.ends_with(esc) {
            return (before.to_string(), false);
        }
    }
    (line.to_string(), true)
}

fn read_lines(text: &str) -> Result<Raw, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut d = Directives {
        done: false,
        seen: Vec::new(),
        escape: '\\',
        syntax: None,
    };
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = trim_newline(lines[i]).trim_start();
        d.line(first, i + 1)?;
        i += 1;
        let start = i;
        let first = if is_comment(first) { "" } else { first };
        let (mut line, mut end) = trim_continuation(first, d.escape);
        if end && line.is_empty() {
            continue;
        }
        let mut empty_cont = false;
        while !end && i < lines.len() {
            let l = trim_newline(lines[i]);
            i += 1;
            if is_comment(l) {
                continue;
            }
            if l.trim_start().is_empty() {
                empty_cont = true;
                continue;
            }
            let (part, e) = trim_continuation(l, d.escape);
            line.push_str(&part);
            end = e;
        }
        if empty_cont {
            warnings.push(format!("Empty continuation line found in: {line}"));
        }
        let mut heredocs = Vec::new();
        if line.contains("<<") && can_contain_heredoc(&line) {
            for mut h in heredocs_from_line(&line, start)? {
                let mut done = false;
                while i < lines.len() {
                    let body = lines[i];
                    i += 1;
                    let mut term = trim_newline(body);
                    if h.chomp {
                        term = term.trim_start_matches('\t');
                    }
                    if term == h.name {
                        done = true;
                        break;
                    }
                    h.content.push_str(body);
                }
                if !done {
                    return Err(ParseError::syntax(start, "unterminated heredoc"));
                }
                if h.chomp {
                    h.content = chomp(&h.content);
                }
                heredocs.push(h);
            }
        }
        nodes.push(RawNode {
            line: start,
            end_line: i,
            text: line,
            heredocs,
        });
    }
    Ok(Raw {
        escape: d.escape,
        syntax: d.syntax,
        warnings,
        nodes,
        last_line: lines.len(),
    })
}

/// Strips leading tabs from every line (`<<-`).
pub(crate) fn chomp(s: &str) -> String {
    s.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// RUN, COPY and ADD (also as an ONBUILD trigger) take heredocs, unless in
/// JSON form.
fn can_contain_heredoc(line: &str) -> bool {
    let (mut cmd, _, mut args) = split_command(line);
    if cmd.eq_ignore_ascii_case("onbuild") {
        (cmd, _, args) = split_command(&args);
    }
    let cmd = cmd.to_ascii_lowercase();
    matches!(cmd.as_str(), "run" | "copy" | "add") && !matches!(parse_json(&args), Json::Array(_))
}

fn heredocs_from_line(line: &str, n: usize) -> Result<Vec<Heredoc>, ParseError> {
    let lx = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset_env: true,
        ..Lexer::new('\\')
    };
    let words = lx.process_words(line, &|_| None).unwrap_or_default();
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(mut w) = it.next() {
        // `<< EOF`: a bare operator takes the next word as its name.
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if op == "<<" || op == "<<-" {
            if let Some(next) = it.next() {
                w = format!("{w} {next}");
            }
        }
        if let Some(h) = parse_heredoc(&w).map_err(|e| ParseError::syntax(n, e))? {
            out.push(h);
        }
    }
    Ok(out)
}

/// Recognizes one heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`, `<< EOF`);
/// the body is empty until read. Like BuildKit's `^(\d*)<<(-?)\s*([^<]*)$`
/// where the rest must lex to exactly one word.
pub fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, String> {
    let Some(pos) = word.find("<<") else {
        return Ok(None);
    };
    let (fd, after) = (&word[..pos], &word[pos + 2..]);
    if !fd.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let lx = Lexer {
        skip_unset_env: true,
        ..Lexer::new('\\')
    };
    let words = lx
        .process_words(rest, &|_| None)
        .map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = Lexer {
        raw_quotes: true,
        ..lx
    }
    .process_words(rest, &|_| None)
    .map_err(|e| e.to_string())?;
    if raw.len() != 1 {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    Ok(Some(Heredoc {
        name: words[0].clone(),
        content: String::new(),
        expand: quotes(&words[0]) == quotes(&raw[0]),
        chomp,
        fd: fd.parse().ok(),
    }))
}
