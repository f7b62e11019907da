//! Compression of layer tars, told apart by their magic bytes as docker does:
//! gzip (`1f 8b`), zstd (`28 b5 2f fd`), anything else is taken as a plain tar.

use std::fmt;
use std::io::{self, BufReader, Read};

use super::LayerError;

/// Read buffer in front of a decompressor.
const BUF: usize = 256 * 1024;

/// The compressions a layer may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// An uncompressed tar.
    None,
    /// gzip (possibly several members, as `pigz` writes).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The compression whose magic starts `head` (at least 4 bytes for zstd).
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// Wraps `r` in the decompressor its first bytes call for (gzip, zstd, or
/// none). The bytes read to sniff are put back in front of the stream.
pub fn decompress<'a>(r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, LayerError> {
    let (compression, r) = sniff(r).map_err(LayerError::Read)?;
    Ok(match compression {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(BUF, r),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(BUF, r)).map_err(
                |source| LayerError::Decompress {
                    compression,
                    source,
                },
            )?,
        ),
    })
}

/// A stream with its sniffed first bytes put back.
type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Reads up to 4 bytes (short reads from pipes included) and returns the
/// compression they show with a reader that yields them again.
fn sniff<R: Read>(mut r: R) -> io::Result<(Compression, Sniffed<R>)> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = Compression::detect(&head[..n]);
    Ok((compression, io::Cursor::new(head[..n].to_vec()).chain(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8], compressed: Vec<u8>) {
        let mut out = Vec::new();
        decompress(&compressed[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn plain_passes_through() {
        roundtrip(b"hello tar", b"hello tar".to_vec());
        roundtrip(b"", Vec::new());
        roundtrip(b"ab", b"ab".to_vec());
    }

    #[test]
    fn gzip_multi_member() {
        let mut all = Vec::new();
        for part in [&b"first "[..], b"second"] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(part).unwrap();
            all.extend(enc.finish().unwrap());
        }
        roundtrip(b"first second", all);
    }

    #[test]
    fn zstd_detected() {
        let data = vec![7u8; 100_000];
        roundtrip(&data, zstd::encode_all(&data[..], 3).unwrap());
    }

    #[test]
    fn detect_magic() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(&[0x28, 0xb5]), Compression::None);
        assert_eq!(Compression::detect(b"bin/"), Compression::None);
    }
}
