//! Pattern compilation and matching shared by `.dockerignore` rules and
//! `COPY` source globs: Go's `filepath.Match` syntax, plus the `**` extension
//! and the match-type shortcuts (exact, prefix, suffix) of
//! `moby/patternmatcher`, whose quirks are kept on purpose (`**foo` is a plain
//! suffix test, so it matches `barfoo`).

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A literal character.
    Lit(char),
    /// `?`: one character other than `/`.
    Any,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**/` inside a pattern: `(.*/)?`, any number of whole directories.
    DirStar,
    /// `**` at the end of a pattern after something else: `.*`.
    AnyStar,
    /// `[...]`: a character class.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// How a `.dockerignore` pattern is tested (patternmatcher's `matchType`).
#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix(String),
    Suffix(String),
    Tokens(Vec<Tok>),
}

/// A compiled `.dockerignore` pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// The cleaned pattern text, without a leading `!`.
    pub(crate) text: String,
    /// True for `!` exceptions.
    pub(crate) exception: bool,
    kind: Kind,
}

impl Pattern {
    /// Compiles a cleaned pattern; `None` when it is not valid
    /// `filepath.Match` syntax.
    pub(crate) fn compile(text: &str, exception: bool) -> Option<Pattern> {
        validate(text)?;
        let chars: Vec<char> = text.chars().collect();
        let mut toks = Vec::new();
        let mut kind = 0u8; // 0 exact, 1 prefix, 2 suffix, 3 tokens
        let mut i = 0;
        let mut iteration = 0;
        while i < chars.len() {
            let ch = chars[i];
            i += 1;
            match ch {
                '*' if chars.get(i) == Some(&'*') => {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    if i == chars.len() {
                        if kind == 0 {
                            kind = 1;
                        } else {
                            toks.push(Tok::AnyStar);
                            kind = 3;
                        }
                    } else {
                        toks.push(Tok::DirStar);
                        kind = 3;
                    }
                    if iteration == 0 {
                        kind = 2;
                    }
                }
                '*' => {
                    toks.push(Tok::Star);
                    kind = 3;
                }
                '?' => {
                    toks.push(Tok::Any);
                    kind = 3;
                }
                '\\' => match chars.get(i) {
                    Some(&next) => {
                        i += 1;
                        toks.push(Tok::Lit(next));
                        kind = 3;
                    }
                    None => toks.push(Tok::Lit('\\')),
                },
                '[' => {
                    let (tok, used) = parse_class(&chars[i..])?;
                    i += used;
                    toks.push(tok);
                    kind = 3;
                }
                ']' => {
                    toks.push(Tok::Lit(']'));
                    kind = 3;
                }
                other => toks.push(Tok::Lit(other)),
            }
            iteration += 1;
        }
        let kind = match kind {
            0 => Kind::Exact,
            1 => Kind::Prefix(text[..text.len() - 2].to_string()),
            2 => Kind::Suffix(text[2..].to_string()),
            _ => Kind::Tokens(toks),
        };
        Some(Pattern {
            text: text.to_string(),
            exception,
            kind,
        })
    }

    /// Whether the whole of `path` matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Kind::Tokens(toks) => match_tokens(toks, path),
        }
    }
}

/// A glob that is not valid `filepath.Match` syntax (Go's
/// `filepath.ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Go's `filepath.Match(pattern, name)` on Unix.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    validate(pattern).ok_or(BadPattern)?;
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '\\' => {
                toks.push(Tok::Lit(chars[i]));
                i += 1;
            }
            '[' => {
                let (tok, used) = parse_class(&chars[i..]).ok_or(BadPattern)?;
                i += used;
                toks.push(tok);
            }
            other => toks.push(Tok::Lit(other)),
        }
    }
    Ok(match_tokens(&toks, name))
}

/// Whether `name` holds a glob character (`*`, `?`, `[`) that is not escaped
/// (Docker's `containsWildcards`).
pub fn has_wildcards(name: &str) -> bool {
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Checks `filepath.Match` syntax: classes closed and non-empty, no bare
/// `-` or `]` as a class bound, no trailing `\`.
fn validate(pattern: &str) -> Option<()> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                chars.get(i + 1)?;
                i += 2;
            }
            '[' => {
                let (_, used) = parse_class(&chars[i + 1..])?;
                i += 1 + used;
            }
            _ => i += 1,
        }
    }
    Some(())
}

/// Parses a class body (after `[`), Go style; returns the token and how many
/// characters it used, the closing `]` included.
fn parse_class(chars: &[char]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let negated = chars.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        let (lo, used) = class_char(&chars[i..])?;
        i += used;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, used) = class_char(&chars[i + 1..])?;
            hi = h;
            i += 1 + used;
        }
        ranges.push((lo, hi));
    }
}

/// One possibly escaped class character (Go's `getEsc`).
fn class_char(chars: &[char]) -> Option<(char, usize)> {
    match chars.first()? {
        '-' | ']' => None,
        '\\' => chars.get(1).map(|c| (*c, 2)),
        c => Some((*c, 1)),
    }
}

/// Matches the token list against the whole text (dynamic programming over
/// token and character positions, so no pattern backtracks exponentially).
fn match_tokens(toks: &[Tok], text: &str) -> bool {
    let s: Vec<char> = text.chars().collect();
    let n = s.len();
    // reach[j]: the tokens so far can consume exactly s[..j].
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for tok in toks {
        let mut next = vec![false; n + 1];
        for j in 0..=n {
            if !reach[j] {
                continue;
            }
            match tok {
                Tok::Lit(c) => {
                    if s.get(j) == Some(c) {
                        next[j + 1] = true;
                    }
                }
                Tok::Any => {
                    if s.get(j).is_some_and(|c| *c != '/') {
                        next[j + 1] = true;
                    }
                }
                Tok::Class { negated, ranges } => {
                    if let Some(c) = s.get(j) {
                        let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                        if inside != *negated {
                            next[j + 1] = true;
                        }
                    }
                }
                Tok::Star => {
                    next[j] = true;
                    let mut k = j;
                    while k < n && s[k] != '/' {
                        k += 1;
                        next[k] = true;
                    }
                }
                Tok::DirStar => {
                    next[j] = true;
                    for k in j..n {
                        if s[k] == '/' {
                            next[k + 1] = true;
                        }
                    }
                }
                Tok::AnyStar => {
                    for slot in next.iter_mut().skip(j) {
                        *slot = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n]
}
