//! Docker's shell-like word processor (moby/buildkit
//! `frontend/dockerfile/shell/lex.go`): quote removal, escapes with the
//! Dockerfile's escape character and `$VAR`, `${VAR}`, `${VAR:-word}`,
//! `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`,
//! `${VAR?msg}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`,
//! `${VAR/pat/repl}`, `${VAR//pat/repl}` substitution. It is not a shell:
//! no command substitution, no globbing.

use super::duration::go_quote;

/// What went wrong while processing a word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {}: {message}", go_quote(.word))]
pub struct LexError {
    /// The word being processed.
    pub word: String,
    /// Docker's message, e.g. `syntax error: missing '}'` or
    /// `VAR: is not allowed to be unset`.
    pub message: String,
}

/// The variables a word is expanded against: `Some(value)` when set.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Shell-like word processor with Docker's options.
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    /// The escape character (`\` or a backtick).
    pub escape: char,
    /// Keep quote characters in the result.
    pub raw_quotes: bool,
    /// Keep escape characters in the result.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters (used for heredoc bodies).
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as written (`$X`, `${X:-y}`).
    pub skip_unset_env: bool,
}

impl Lexer {
    /// A lexer with Docker's default options for this escape character.
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// Docker's `ProcessWord`: expands and removes quotes, keeping the
    /// whitespace between words (`a  "b c"` gives `a  b c`).
    pub fn process_word(&self, word: &str, vars: Lookup<'_>) -> Result<String, LexError> {
        self.process(word, vars).map(|(w, _)| w)
    }

    /// Docker's `ProcessWords`: expands, then splits into words on
    /// unquoted whitespace; whitespace produced by an unquoted `$VAR` splits
    /// too (`EXPOSE $PORTS`).
    pub fn process_words(&self, word: &str, vars: Lookup<'_>) -> Result<Vec<String>, LexError> {
        self.process(word, vars).map(|(_, ws)| ws)
    }

    fn process(&self, word: &str, vars: Lookup<'_>) -> Result<(String, Vec<String>), LexError> {
        let mut sw = ShellWord {
            lx: *self,
            chars: word.chars().collect(),
            pos: 0,
            vars,
            raw_escapes: self.raw_escapes,
        };
        sw.process_stop_on(None, self.raw_escapes)
            .map_err(|message| LexError {
                word: word.to_string(),
                message,
            })
    }
}

#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct ShellWord<'a> {
    lx: Lexer,
    chars: Vec<char>,
    pos: usize,
    vars: Lookup<'a>,
    raw_escapes: bool,
}

type R<T> = Result<T, String>;

impl ShellWord<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> R<(String, Vec<String>)> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> R<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let quote = !self.lx.skip_process_quotes && (ch == '\'' || ch == '"');
            if ch == '$' {
                let tmp = self.process_dollar()?;
                result.push_str(&tmp);
                words.add_string(&tmp);
            } else if quote {
                let tmp = if ch == '\'' {
                    self.process_single_quote()?
                } else {
                    self.process_double_quote()?
                };
                result.push_str(&tmp);
                words.add_raw_string(&tmp);
            } else {
                self.next();
                let mut ch = ch;
                if ch == self.lx.escape {
                    if self.raw_escapes {
                        words.add_raw_char(ch);
                        result.push(ch);
                    }
                    match self.next() {
                        None => break,
                        Some(c) => ch = c,
                    }
                    words.add_raw_char(ch);
                } else {
                    words.add_char(ch);
                }
                result.push(ch);
            }
        }
        if let Some(s) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> R<String> {
        let mut result = String::new();
        let open = self.next();
        if self.lx.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.lx.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> R<String> {
        let mut result = String::new();
        let open = self.next();
        if self.lx.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.lx.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lx.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lx.escape => {
                                self.next();
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.vars)(name)
    }

    fn process_dollar(&mut self) -> R<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.get(&name) {
                Some(v) => v,
                None if self.lx.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{') | Some('}') | Some(':') => {
                return Err("syntax error: bad substitution".into())
            }
            _ => {}
        }
        let name = self.process_name();
        let Some(mut ch) = self.next() else {
            return Err("syntax error: missing '}'".into());
        };
        let mut chs = ch.to_string();
        let mut null_is_unset = false;
        match ch {
            '}' => {
                return Ok(match self.get(&name) {
                    Some(v) => v,
                    None if self.lx.skip_unset_env => format!("${{{name}}}"),
                    None => String::new(),
                })
            }
            '/' => return self.process_replace(&name),
            ':' => {
                null_is_unset = true;
                match self.next() {
                    Some(c) => {
                        ch = c;
                        chs.push(c);
                    }
                    None => return Err("syntax error: missing '}'".into()),
                }
            }
            _ => {}
        }
        if !matches!(ch, '+' | '-' | '?' | '#' | '%') {
            return Err(format!("unsupported modifier ({chs}) in substitution"));
        }
        let raw = ch == '#' || ch == '%';
        let word = match self.process_stop_on(Some('}'), raw) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".into());
                }
                return Err(e);
            }
        };
        let value = self.get(&name);
        if value.is_none() && self.lx.skip_unset_env {
            return Ok(format!("${{{name}{chs}{word}}}"));
        }
        let set = value.is_some();
        let value = value.unwrap_or_default();
        let unset_like = !set || (null_is_unset && value.is_empty());
        match ch {
            '-' => Ok(if unset_like { word } else { value }),
            '+' => Ok(if unset_like { String::new() } else { word }),
            '?' => {
                if !set {
                    let m = if word.is_empty() {
                        "is not allowed to be unset".into()
                    } else {
                        word
                    };
                    return Err(format!("{name}: {m}"));
                }
                if null_is_unset && value.is_empty() {
                    let m = if word.is_empty() {
                        "is not allowed to be empty".into()
                    } else {
                        word
                    };
                    return Err(format!("{name}: {m}"));
                }
                Ok(value)
            }
            _ => {
                let (greedy, pat) = match word.strip_prefix(ch) {
                    Some(p) => (true, p.to_string()),
                    None => (false, word),
                };
                let pat: Vec<char> = pattern_chars(&pat);
                Ok(if ch == '#' {
                    trim_prefix(&value, &pat, greedy)
                } else {
                    trim_suffix(&value, &pat, greedy)
                })
            }
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`
    /// (first or every match; `*` and `?` wildcards, `*` greedy).
    fn process_replace(&mut self, name: &str) -> R<String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = match self.process_stop_on(Some('/'), true) {
            Ok((w, _)) => w,
            Err(_) if self.peek().is_none() => {
                return Err("syntax error: missing '/' in ${}".into())
            }
            Err(e) => return Err(e),
        };
        let repl = match self.process_stop_on(Some('}'), true) {
            Ok((w, _)) => w,
            Err(_) if self.peek().is_none() => return Err("syntax error: missing '}'".into()),
            Err(e) => return Err(e),
        };
        let Some(value) = self.get(name) else {
            if self.lx.skip_unset_env {
                return Ok(format!("${{{name}/{pattern}/{repl}}}"));
            }
            return Ok(String::new());
        };
        Ok(replace(&value, &pattern_chars(&pattern), &repl, all))
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(|c| c.is_ascii_digit()) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }
}

/// A shell pattern as a char list where `\x` becomes a literal marker.
/// Wildcards: `*` (any string) and `?` (one char); `\` escapes.
const STAR: char = '\u{E000}';
const QMARK: char = '\u{E001}';

fn pattern_chars(p: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.extend(it.next()),
            '*' => out.push(STAR),
            '?' => out.push(QMARK),
            c => out.push(c),
        }
    }
    out
}

/// Wildcard match without backtracking blow-up: on a mismatch, retry from
/// the last `*` one character further.
fn glob_match(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(&STAR) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == QMARK || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == STAR)
}

fn trim_prefix(value: &str, pat: &[char], greedy: bool) -> String {
    let v: Vec<char> = value.chars().collect();
    let mut cuts: Vec<usize> = (0..=v.len()).collect();
    if greedy {
        cuts.reverse();
    }
    for i in cuts {
        if glob_match(pat, &v[..i]) {
            return v[i..].iter().collect();
        }
    }
    value.to_string()
}

fn trim_suffix(value: &str, pat: &[char], greedy: bool) -> String {
    let v: Vec<char> = value.chars().collect();
    let mut cuts: Vec<usize> = (0..=v.len()).rev().collect();
    if greedy {
        cuts.reverse();
    }
    for i in cuts {
        if glob_match(pat, &v[i..]) {
            return v[..i].iter().collect();
        }
    }
    value.to_string()
}

/// Replaces the leftmost-longest match of `pat` (or every match).
fn replace(value: &str, pat: &[char], repl: &str, all: bool) -> String {
    let v: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut done = false;
    while i <= v.len() {
        let found = if done {
            None
        } else {
            (i..=v.len()).rev().find(|&j| glob_match(pat, &v[i..j]))
        };
        match found {
            Some(j) => {
                out.push_str(repl);
                done = !all;
                if j > i {
                    i = j;
                    continue;
                }
            }
            None if done => {
                out.extend(&v[i..]);
                break;
            }
            None => {}
        }
        if i < v.len() {
            out.push(v[i]);
        }
        i += 1;
    }
    out
}
