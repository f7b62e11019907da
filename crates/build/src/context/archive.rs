//! `ADD` of a local archive: a source file is extracted when its content
//! (after gzip or zstd decompression, told apart by magic bytes) starts with a
//! valid tar header — Docker's `isArchivePath`, which looks at content, never
//! at the file name. bzip2 and xz archives, which Docker also reads, are
//! copied as plain files here.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use wharf_image::layer::{ApplyOptions, LayerError};

/// Size of a tar header block.
const BLOCK: usize = 512;

/// Whether `file` holds a tar archive (plain, gzip or zstd). Leaves the file
/// positioned at its start.
pub(super) fn is_archive(file: &mut File) -> io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    // A stream that fails to start or breaks off is "not an archive", as
    // for Docker.
    let mut header = Vec::with_capacity(BLOCK);
    if let Ok(reader) = wharf_image::layer::decompress(&mut *file) {
        let _ = reader.take(BLOCK as u64).read_to_end(&mut header);
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(valid_tar_header(&header))
}

/// Go's `archive/tar` acceptance of a first header: a full block, not all
/// zeros (that is the end-of-archive marker), whose checksum field matches
/// the unsigned or signed sum of the block with that field as spaces.
fn valid_tar_header(block: &[u8]) -> bool {
    if block.len() < BLOCK || block.iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .map(|b| *b as char)
        .filter(|c| *c != '\0' && *c != ' ')
        .collect();
    let Ok(want) = i64::from_str_radix(&text, 8) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, b) in block[..BLOCK].iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || want == signed
}

/// Extracts the archive `file` into the directory `dir` (a path naming an
/// already resolved directory): no whiteouts, owners and modes from the tar.
pub(super) fn extract(file: File, dir: &Path) -> Result<(), LayerError> {
    wharf_image::layer::apply(file, dir, &ApplyOptions::PLAIN)?;
    Ok(())
}
