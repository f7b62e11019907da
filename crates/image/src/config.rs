//! Docker's image config (`application/vnd.docker.container.image.v1+json`,
//! a superset of OCI's): the run settings (`Env`, `Cmd`, `Healthcheck`,
//! `Shell`, `OnBuild`, …), the root filesystem's diff IDs and the history.
//!
//! Parsing keeps every field this crate does not know in `extra`, so a
//! config read and written again loses nothing. [`ImageConfig::to_json`]
//! writes what Docker's Go code writes: top-level keys sorted (Docker
//! marshals the image through a map), the run config's fields in Go's
//! struct order with Docker's `omitempty` rules, `null` for absent lists,
//! and `<`, `>`, `&` escaped as `\u003c`, `\u003e`, `\u0026` the way Go's
//! `encoding/json` does. Image IDs are the sha256 of these bytes.

use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::digest::Digest;

/// Errors of image config parsing.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not a valid image config document.
    #[error("invalid image config")]
    Parse(#[source] serde_json::Error),
    /// `created` is not an RFC 3339 time.
    #[error("invalid image creation time {created:?}")]
    Created {
        /// The value found.
        created: String,
        /// The cause.
        #[source]
        source: time::error::Parse,
    },
}

/// An empty JSON object, the value type of Docker's `ExposedPorts` and
/// `Volumes` sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The image config: top-level document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`).
    #[serde(deserialize_with = "nullable")]
    pub architecture: String,
    /// Author (`MAINTAINER`).
    #[serde(deserialize_with = "nullable")]
    pub author: String,
    /// Commit message (`docker commit -m`, `docker import -m`).
    #[serde(deserialize_with = "nullable")]
    pub comment: String,
    /// Default settings of containers run from the image.
    pub config: Option<RunConfig>,
    /// ID of the container the image was committed from (legacy).
    #[serde(deserialize_with = "nullable")]
    pub container: String,
    /// Config of the container the image was committed from (legacy; the
    /// classic builder records the step in its `Cmd`).
    pub container_config: Option<RunConfig>,
    /// Creation time, RFC 3339 with nanoseconds, as written.
    pub created: Option<String>,
    /// Version of the engine that made the image.
    #[serde(deserialize_with = "nullable")]
    pub docker_version: String,
    /// One entry per build step, including empty layers.
    #[serde(deserialize_with = "nullable")]
    pub history: Vec<History>,
    /// Operating system (`linux`).
    #[serde(deserialize_with = "nullable")]
    pub os: String,
    /// `os.version` (Windows).
    #[serde(rename = "os.version", deserialize_with = "nullable")]
    pub os_version: String,
    /// `os.features` (Windows).
    #[serde(rename = "os.features", deserialize_with = "nullable")]
    pub os_features: Vec<String>,
    /// Local parent image ID (legacy builder).
    #[serde(deserialize_with = "nullable")]
    pub parent: String,
    /// The layers, as diff IDs, bottom first.
    #[serde(deserialize_with = "nullable")]
    pub rootfs: RootFs,
    /// CPU variant (`v8`).
    #[serde(deserialize_with = "nullable")]
    pub variant: String,
    /// Every other top-level field, kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `rootfs`: `{"type":"layers","diff_ids":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// Uncompressed layer digests, bottom first.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    /// When the step ran (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Author.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub author: String,
    /// The step (`/bin/sh -c #(nop)  CMD ["sh"]`).
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub created_by: String,
    /// Comment.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub comment: String,
    /// The step made no layer.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub empty_layer: bool,
}

/// Docker's `container.Config`, the `config` of an image. Field names and
/// order are Docker's; lists are `None` when Docker would write `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RunConfig {
    /// Host name.
    #[serde(deserialize_with = "nullable")]
    pub hostname: String,
    /// Domain name.
    #[serde(deserialize_with = "nullable")]
    pub domainname: String,
    /// `USER`.
    #[serde(deserialize_with = "nullable")]
    pub user: String,
    /// Attach stdin.
    #[serde(deserialize_with = "nullable")]
    pub attach_stdin: bool,
    /// Attach stdout.
    #[serde(deserialize_with = "nullable")]
    pub attach_stdout: bool,
    /// Attach stderr.
    #[serde(deserialize_with = "nullable")]
    pub attach_stderr: bool,
    /// `EXPOSE`: `"80/tcp": {}`.
    #[serde(skip_serializing_if = "empty_map")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// Allocate a terminal.
    #[serde(deserialize_with = "nullable")]
    pub tty: bool,
    /// Keep stdin open.
    #[serde(deserialize_with = "nullable")]
    pub open_stdin: bool,
    /// Close stdin after one attach.
    #[serde(deserialize_with = "nullable")]
    pub stdin_once: bool,
    /// `ENV`: `KEY=value` strings.
    pub env: Option<Vec<String>>,
    /// `CMD`.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    /// `HEALTHCHECK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// The command line is already escaped (Windows).
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub args_escaped: bool,
    /// The image name given by the user.
    #[serde(deserialize_with = "nullable")]
    pub image: String,
    /// `VOLUME`: `"/data": {}`.
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// `WORKDIR`.
    #[serde(deserialize_with = "nullable")]
    pub working_dir: String,
    /// `ENTRYPOINT`.
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    /// Networking disabled.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub network_disabled: bool,
    /// MAC address.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub mac_address: String,
    /// `ONBUILD` triggers.
    pub on_build: Option<Vec<String>>,
    /// `LABEL`.
    pub labels: Option<BTreeMap<String, String>>,
    /// `STOPSIGNAL`.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub stop_signal: String,
    /// Seconds to wait before killing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// `SHELL`.
    #[serde(skip_serializing_if = "empty_list", deserialize_with = "str_slice")]
    pub shell: Option<Vec<String>>,
    /// Every other field, kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `HEALTHCHECK` settings; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub test: Vec<String>,
    /// `--interval`.
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub interval: i64,
    /// `--timeout`.
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub timeout: i64,
    /// `--start-period`.
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub start_period: i64,
    /// `--start-interval`.
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub start_interval: i64,
    /// `--retries`.
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub retries: i64,
}

impl ImageConfig {
    /// Parses a config document.
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ConfigError> {
        serde_json::from_slice(bytes).map_err(ConfigError::Parse)
    }

    /// The document as Docker writes it (see the module docs).
    pub fn to_json(&self) -> Vec<u8> {
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        for (k, v) in &self.extra {
            fields.insert(k, go_json(v));
        }
        let mut text = |key: &'static str, v: &String| {
            if !v.is_empty() {
                fields.insert(key, go_json(v));
            }
        };
        text("architecture", &self.architecture);
        text("author", &self.author);
        text("comment", &self.comment);
        text("container", &self.container);
        text("docker_version", &self.docker_version);
        text("os", &self.os);
        text("os.version", &self.os_version);
        text("parent", &self.parent);
        text("variant", &self.variant);
        if let Some(c) = &self.config {
            fields.insert("config", go_json(c));
        }
        if let Some(c) = &self.container_config {
            fields.insert("container_config", go_json(c));
        }
        if let Some(c) = &self.created {
            fields.insert("created", go_json(c));
        }
        if !self.history.is_empty() {
            fields.insert("history", go_json(&self.history));
        }
        if !self.os_features.is_empty() {
            fields.insert("os.features", go_json(&self.os_features));
        }
        fields.insert("rootfs", go_json(&self.rootfs));
        let mut out = String::from("{");
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&go_json(k));
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        out.into_bytes()
    }

    /// The layers' diff IDs, bottom first.
    pub fn diff_ids(&self) -> &[Digest] {
        &self.rootfs.diff_ids
    }

    /// `created` as a time (`None` if absent).
    pub fn created_time(&self) -> Result<Option<OffsetDateTime>, ConfigError> {
        self.created
            .as_deref()
            .map(|c| {
                OffsetDateTime::parse(c, &Rfc3339).map_err(|source| ConfigError::Created {
                    created: c.into(),
                    source,
                })
            })
            .transpose()
    }
}

/// A time as Go's `time.RFC3339Nano` writes it in UTC
/// (`2024-05-01T10:11:12.5Z`: trailing zeros of the fraction dropped).
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// `value` as Go's `encoding/json` writes it: compact, with `<`, `>`, `&`,
/// U+2028 and U+2029 escaped, control characters as `\u00XX` (but `\n`,
/// `\r`, `\t`).
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    /// Go before 1.22 (Debian's docker.io 20.10) writes backspace and form
    /// feed as `\u0008` and `\u000c`, the rest as serde_json does.
    fn write_char_escape<W: io::Write + ?Sized>(
        &mut self,
        w: &mut W,
        esc: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        use serde_json::ser::{CharEscape, CompactFormatter};
        match esc {
            CharEscape::Backspace => w.write_all(b"\\u0008"),
            CharEscape::FormFeed => w.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(w, other),
        }
    }

    fn write_string_fragment<W: io::Write + ?Sized>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `strslice.StrSlice`: a list, or a single string meaning a list of one.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn empty_map<K, V>(m: &Option<BTreeMap<K, V>>) -> bool {
    m.as_ref().is_none_or(BTreeMap::is_empty)
}

fn empty_list(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}
