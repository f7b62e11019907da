//! Image references as Docker parses and prints them (the grammar of
//! `github.com/distribution/reference`):
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [domain "/"] path-component ["/" path-component]*
//! domain     := host [":" port]       host := dns-name | "[" ipv6 "]"
//! path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [\w][\w.-]{0,127}
//! ```
//!
//! Normalization (`ParseNormalizedNamed`): the first component is a domain
//! only if it contains `.` or `:`, is `localhost`, or has upper-case letters;
//! otherwise the domain is `docker.io`, and a one-component path on docker.io
//! gets `library/` in front. `index.docker.io` is `docker.io`. The familiar
//! form (what `docker images` prints) strips both again.

use std::fmt;
use std::str::FromStr;

use crate::digest::{is_full_hex, Digest, DigestError};

/// Docker Hub's domain in normalized names.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a name without tag or digest stands for.
pub const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;

/// A reference that does not parse. Messages are Docker's.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Empty name.
    #[error("invalid reference format: repository name must have at least one component")]
    Empty,
    /// A 64-hex string given as a name.
    #[error("invalid repository name ({name}), cannot specify 64-byte hexadecimal strings")]
    HexName {
        /// The input.
        name: String,
    },
    /// Upper case in the repository path.
    #[error("invalid reference format: repository name ({name}) must be lowercase")]
    Uppercase {
        /// The repository path.
        name: String,
    },
    /// Longer than 255 characters.
    #[error(
        "invalid reference format: repository name ({name}) must not be more than 255 characters"
    )]
    TooLong {
        /// The name.
        name: String,
    },
    /// Does not match the grammar.
    #[error("invalid reference format: {input}")]
    Format {
        /// The input.
        input: String,
    },
    /// A bad digest after `@`.
    #[error("invalid reference format: {input}")]
    Digest {
        /// The input.
        input: String,
        /// What is wrong with the digest.
        #[source]
        source: DigestError,
    },
    /// A tag that does not match `[\w][\w.-]{0,127}`.
    #[error("invalid tag format: {tag}")]
    Tag {
        /// The tag.
        tag: String,
    },
}

type Result<T> = std::result::Result<T, ReferenceError>;

/// A normalized image reference: domain, path, optional tag and digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses `s` the way the docker CLI does (`ParseNormalizedNamed`).
    pub fn parse(s: &str) -> Result<Reference> {
        if is_full_hex(s) {
            return Err(ReferenceError::HexName { name: s.into() });
        }
        let (domain, rest) = split_domain(s);
        let remote = rest.split_once(':').map_or(rest.as_str(), |(r, _)| r);
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase {
                name: remote.into(),
            });
        }
        parse_full(&format!("{domain}/{rest}"), s)
    }

    /// The domain (`docker.io`, `localhost:5000`, `[::1]:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The path below the domain (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name, `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository as `docker images` prints it: `busybox`,
    /// `user/app`, `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(short) if !short.contains('/') => short.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The familiar form with tag and digest: `busybox:latest`,
    /// `busybox@sha256:…` (as `docker rmi` prints "Untagged: …").
    pub fn familiar(&self) -> String {
        self.with_name(self.familiar_name())
    }

    fn with_name(&self, mut s: String) -> String {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Adds the tag `latest` to a reference with neither tag nor digest
    /// (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.into());
        }
        self
    }

    /// The same repository with tag `tag` (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        if !valid_tag(tag) {
            return Err(ReferenceError::Tag { tag: tag.into() });
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.into()),
            digest: None,
        })
    }

    /// The same repository with digest `d` (and no tag).
    pub fn with_digest(&self, d: &Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(d.clone()),
        }
    }

    /// The repository alone, without tag or digest.
    pub fn repository(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }
}

/// Docker's `splitDockerDomain`.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.into();
    }
    if domain == DEFAULT_DOMAIN && !rest.contains('/') {
        rest = format!("{OFFICIAL_PREFIX}{rest}");
    }
    (domain, rest)
}

/// Docker's `Parse` of `s`, a string that already carries its domain;
/// errors name `input`, what the user wrote.
fn parse_full(s: &str, input: &str) -> Result<Reference> {
    if input.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let bad = || {
        if matches_grammar(&s.to_lowercase()) {
            ReferenceError::Uppercase { name: input.into() }
        } else {
            ReferenceError::Format {
                input: input.into(),
            }
        }
    };
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            let digest = d
                .parse::<Digest>()
                .map_err(|source| ReferenceError::Digest {
                    input: input.into(),
                    source,
                })?;
            (r, Some(digest))
        }
        None => (s, None),
    };
    // A tag is after the last ':' that follows the last '/'.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(bad());
        }
    }
    let (domain, path) = split_name(name).ok_or_else(bad)?;
    if name.len() > NAME_MAX {
        return Err(ReferenceError::TooLong { name: name.into() });
    }
    Ok(Reference {
        domain: domain.into(),
        path: path.into(),
        tag: tag.map(str::to_owned),
        digest,
    })
}

fn matches_grammar(s: &str) -> bool {
    let rest = s.split_once('@').map_or(s, |(r, _)| r);
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    tag.is_none_or(valid_tag) && split_name(name).is_some()
}

/// Splits `domain/path` and checks both against the grammar.
fn split_name(name: &str) -> Option<(&str, &str)> {
    let (domain, path) = name.split_once('/')?;
    (valid_domain(domain) && path.split('/').all(valid_path_component)).then_some((domain, path))
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            a => match a.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if d.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        })
}

/// `[a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

/// The full normalized form: `docker.io/library/busybox:latest`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_name(self.name()))
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
