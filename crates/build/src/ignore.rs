//! The `.dockerignore` matcher, with the semantics of Docker's classic
//! builder (`moby/patternmatcher` and its `ignorefile.ReadAll`):
//!
//! - a line starting with `#` is a comment (only at the very start of the
//!   line); blank lines are skipped; surrounding white space is trimmed; a
//!   UTF-8 byte order mark on the first line is dropped;
//! - each pattern is cleaned like Go's `filepath.Clean`, and one leading `/`
//!   is stripped (`/a/b` and `a/b` are the same pattern);
//! - `!pattern` is an exception: the last pattern that matches a path decides
//!   whether it is excluded;
//! - `*` matches any run of characters except `/`, `?` one character except
//!   `/`, `[...]` a character class (`[^...]` negated, ranges `a-z`), `\`
//!   escapes the next character, and `**` matches any number of directories
//!   (zero included);
//! - a pattern that matches a directory excludes everything under it (Docker's
//!   `MatchesOrParentMatches`).
//!
//! The Dockerfile and `.dockerignore` themselves: the docker CLI always sends
//! both to the daemon (it appends `!Dockerfile` and `!.dockerignore` to the
//! rules), and the daemon, once it has read the Dockerfile, deletes whichever
//! of the two the rules exclude from the context (`removeDockerfile` in
//! `builder/remotecontext/detect.go`). So an excluded Dockerfile is still
//! built, but `COPY` cannot copy it — which is what [`IgnoreRules::is_excluded`]
//! gives when applied to every path alike. The builder reads the Dockerfile
//! through its own path, never through the filtered context.

use std::path::Path;

mod pattern;

use pattern::Pattern;
pub use pattern::{go_match, has_wildcards, BadPattern};

/// Errors from reading or compiling `.dockerignore` rules.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// A pattern is not valid `filepath.Match` syntax.
    #[error("syntax error in .dockerignore pattern {pattern:?}")]
    BadPattern {
        /// The pattern as cleaned.
        pattern: String,
    },
    /// A line holds a lone `!`.
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    /// The `.dockerignore` file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A compiled list of `.dockerignore` patterns.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Parses the text of a `.dockerignore` file (Docker's `ReadAll` followed
    /// by `patternmatcher.New`).
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        IgnoreRules::from_patterns(read_all(text))
    }

    /// Reads `<dir>/.dockerignore`; a missing file gives empty rules.
    pub fn read(dir: &Path) -> Result<IgnoreRules, IgnoreError> {
        let path = dir.join(".dockerignore");
        match std::fs::read(&path) {
            Ok(bytes) => IgnoreRules::parse(&String::from_utf8_lossy(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IgnoreRules::default()),
            Err(source) => Err(IgnoreError::Read { path, source }),
        }
    }

    /// Compiles patterns already split into lines (Docker's
    /// `patternmatcher.New`): each is trimmed and cleaned, `!` marks an
    /// exception, empty ones are skipped.
    pub fn from_patterns<I, S>(patterns: I) -> Result<IgnoreRules, IgnoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut rules = IgnoreRules::default();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let p = clean(p);
            let (exception, body) = match p.strip_prefix('!') {
                Some("") => return Err(IgnoreError::LoneExclamation),
                Some(rest) => (true, rest.to_string()),
                None => (false, p),
            };
            let pattern = Pattern::compile(&body, exception)
                .ok_or(IgnoreError::BadPattern { pattern: body })?;
            rules.patterns.push(pattern);
        }
        Ok(rules)
    }

    /// True when there are no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the rules exclude `path` (relative to the context root,
    /// `/`-separated): the last pattern that matches the path or one of its
    /// parent directories decides (Docker's `MatchesOrParentMatches`). The
    /// context root itself (`.`) is never excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        let file = clean(path);
        if file == "." || self.patterns.is_empty() {
            return false;
        }
        // The parent directories, as prefixes of `file`: `a`, `a/b`, ...
        let parents: Vec<&str> = file.match_indices('/').map(|(i, _)| &file[..i]).collect();
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exception != matched {
                continue;
            }
            if pattern.matches(&file) || parents.iter().any(|p| pattern.matches(p)) {
                matched = !pattern.exception;
            }
        }
        matched
    }

    /// Whether the client must still walk into the excluded directory `dir`
    /// because an exception may re-include something below it. Docker's rule
    /// is textual: some exception pattern, followed by `/`, starts with
    /// `dir/` (so `!dir/keep` opens `dir`, but `!**/keep` does not).
    pub fn may_include_below(&self, dir: &str) -> bool {
        let mut exceptions = self.patterns.iter().filter(|p| p.exception).peekable();
        if exceptions.peek().is_none() {
            return false;
        }
        let dir_slash = format!("{}/", clean(dir));
        exceptions.any(|p| format!("{}/", p.text).starts_with(&dir_slash))
    }

    /// Whether `path` exists in the context Docker's client would send: not
    /// excluded, or an excluded directory that an exception keeps open.
    /// Callers check every parent directory with this too.
    pub fn is_visible(&self, path: &str, is_dir: bool) -> bool {
        !self.is_excluded(path) || (is_dir && self.may_include_below(path))
    }
}

/// Docker's `ignorefile.ReadAll`: the pattern lines of a `.dockerignore`.
pub fn read_all(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if n == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        if invert {
            cleaned.insert(0, '!');
        }
        out.push(cleaned);
    }
    out
}

/// Go's `filepath.Clean` on a `/`-separated path: removes empty and `.`
/// elements, resolves `..` lexically (dropping those that climb above a
/// rooted path), and gives `.` for an empty result.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}
