//! Content digests: `sha256:<64 lower-case hex>`, the name of every blob,
//! image ID, layer diff ID and chain ID in the store; hashing adapters for
//! readers and writers; the OCI chain ID of a layer stack.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A malformed or unsupported digest string.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// Not `<algorithm>:<hex>`.
    #[error("invalid checksum digest format: {digest}")]
    Format {
        /// The string that was given.
        digest: String,
    },
    /// An algorithm other than sha256.
    #[error("unsupported digest algorithm: {digest}")]
    Algorithm {
        /// The string that was given.
        digest: String,
    },
    /// The hex part is not 64 lower-case hex digits.
    #[error("invalid checksum digest length or characters: {digest}")]
    Hex {
        /// The string that was given.
        digest: String,
    },
}

/// A sha256 digest in its canonical text form `sha256:<64 lower-case hex>`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
}

const PREFIX: &str = "sha256:";

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    /// A digest from its 64 hex digits (no `sha256:` prefix).
    pub fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        format!("{PREFIX}{hex}").parse()
    }

    fn from_hasher(h: Sha256) -> Digest {
        Digest {
            text: format!("{PREFIX}{}", hex::encode(h.finalize())),
        }
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.text[PREFIX.len()..]
    }

    /// The first 12 hex digits, as `docker images` shows an image ID.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }

    /// The whole `sha256:<hex>` string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The algorithm: always `sha256`.
    pub fn algorithm(&self) -> &str {
        "sha256"
    }
}

/// `true` if `s` is exactly 64 lower-case hex digits (an image ID without
/// its algorithm, as `docker` accepts it).
pub fn is_full_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The OCI chain ID of a layer whose diff ID is `diff_id` on top of the
/// layer with chain ID `parent`: `chain(L0) = diff_id(L0)`,
/// `chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln))`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// The chain IDs of a whole stack of diff IDs, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = chain_id(out.last(), d);
        out.push(next);
    }
    out
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((algo, hex)) = s.split_once(':') else {
            return Err(DigestError::Format { digest: s.into() });
        };
        if algo.is_empty() || hex.is_empty() {
            return Err(DigestError::Format { digest: s.into() });
        }
        if algo != "sha256" {
            return Err(DigestError::Algorithm { digest: s.into() });
        }
        if !is_full_hex(hex) {
            return Err(DigestError::Hex { digest: s.into() });
        }
        Ok(Digest { text: s.into() })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A writer that hashes (and counts) every byte passed on to `W`.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> DigestWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        DigestWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The inner writer, the digest and the number of bytes written.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.size)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes (and counts) every byte read from `R`.
pub struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> DigestReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        DigestReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The digest of what was read so far (does not consume the reader).
    pub fn digest(&self) -> Digest {
        Digest::from_hasher(self.hasher.clone())
    }

    /// The inner reader, the digest and the number of bytes read.
    pub fn finish(self) -> (R, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.size)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_empty_input() {
        assert_eq!(Digest::of(b"").as_str(), EMPTY);
        assert_eq!(Digest::of(b"").short(), "e3b0c44298fc");
        assert_eq!(Digest::of(b"").hex().len(), 64);
    }

    #[test]
    fn parse_rejects_bad_digests() {
        assert!(EMPTY.parse::<Digest>().is_ok());
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "e3b0c44298fc",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad} accepted");
        }
        let err = "sha512:abcd".parse::<Digest>().unwrap_err();
        assert_eq!(err.to_string(), "unsupported digest algorithm: sha512:abcd");
    }

    #[test]
    fn reader_and_writer_agree_with_of() {
        let data = b"hello layer".repeat(1000);
        let mut r = DigestReader::new(&data[..]);
        let mut out = Vec::new();
        let mut w = DigestWriter::new(&mut out);
        io::copy(&mut r, &mut w).unwrap();
        let (_, wd, ws) = w.finish();
        let (_, rd, rs) = r.finish();
        assert_eq!(wd, Digest::of(&data));
        assert_eq!(rd, wd);
        assert_eq!((ws, rs), (data.len() as u64, data.len() as u64));
        assert_eq!(out, data);
    }

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
        assert_eq!(chain_id(Some(&a), &b), ids[1]);
    }

    #[test]
    fn serde_as_string() {
        let d = Digest::of(b"x");
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(j, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&j).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }
}
