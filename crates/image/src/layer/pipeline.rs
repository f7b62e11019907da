//! Two threads for one apply: the caller's thread reads the stream
//! (decompression, a digest, a copy to the blob store — whatever the reader
//! does) and parses the tar; a worker thread creates the files. On a layer of
//! many files the two halves take comparable time, so overlapping them
//! shortens an apply by up to half. The worker is a scoped thread, joined
//! before [`run`] returns: no thread outlives the call (callers may fork).
//!
//! The reader sends each entry's header as an [`Item`], then its data in
//! chunks, then `End`, in batches (one message per [`BATCH`] bytes or
//! [`BATCH_PIECES`] pieces: a layer of small files would otherwise cost a
//! thread wake-up per file). The channel is bounded, so at most [`QUEUE`]
//! batches wait in memory.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use tar::EntryType;

use super::apply::Applier;
use super::meta::Meta;
use super::{ApplyOptions, ApplyStats, LayerError};

/// Largest data chunk.
const CHUNK: usize = 1024 * 1024;
/// A batch is sent once it holds this many bytes of data...
const BATCH: usize = 1024 * 1024;
/// ...or this many pieces.
const BATCH_PIECES: usize = 256;
/// Batches in flight at most.
const QUEUE: usize = 16;

/// One tar entry's header, as the worker needs it.
pub(crate) struct Item {
    /// The type flag; a regular file named with a trailing `/` (old tars)
    /// is already turned into a directory.
    pub kind: EntryType,
    /// The name as the tar has it (GNU long name or PAX `path` applied).
    pub raw: PathBuf,
    pub meta: Meta,
    /// Symlink or hardlink target (GNU long link or PAX `linkpath` applied).
    pub link: Option<PathBuf>,
    /// Device numbers of a character or block device.
    pub dev: (u32, u32),
}

impl Item {
    /// The header of `entry`; `None` for a PAX global header (ignored, as
    /// docker does).
    fn read<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Option<Item>, LayerError> {
        let mut kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(None);
        }
        let raw = entry.path().map_err(LayerError::Read)?.into_owned();
        if kind == EntryType::Regular && entry.path_bytes().ends_with(b"/") {
            kind = EntryType::Directory;
        }
        let meta = Meta::read(entry).map_err(|source| LayerError::Entry {
            path: raw.clone(),
            source,
        })?;
        let link = entry
            .link_name()
            .map_err(LayerError::Read)?
            .map(|l| l.into_owned());
        let h = entry.header();
        let dev = (
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
        );
        Ok(Some(Item {
            kind,
            raw,
            meta,
            link,
            dev,
        }))
    }
}

enum Piece {
    Entry(Item),
    Data(Vec<u8>),
    End,
}

/// The reader's side of the channel: pieces gathered into batches.
struct Batcher<'a> {
    tx: &'a SyncSender<Vec<Piece>>,
    batch: Vec<Piece>,
    bytes: usize,
}

impl Batcher<'_> {
    /// Adds a piece; false if the worker has gone.
    fn push(&mut self, piece: Piece) -> bool {
        if let Piece::Data(d) = &piece {
            self.bytes += d.len();
        }
        self.batch.push(piece);
        if self.bytes >= BATCH || self.batch.len() >= BATCH_PIECES {
            return self.flush();
        }
        true
    }

    /// Sends what is gathered; false if the worker has gone.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        self.tx.send(batch).is_ok()
    }
}

/// The worker's side of the channel, one piece at a time.
struct Feed<'a> {
    rx: &'a Receiver<Vec<Piece>>,
    pending: std::vec::IntoIter<Piece>,
}

impl Feed<'_> {
    /// The next piece; `None` once the reader has hung up.
    fn next(&mut self) -> Option<Piece> {
        loop {
            if let Some(p) = self.pending.next() {
                return Some(p);
            }
            self.pending = self.rx.recv().ok()?.into_iter();
        }
    }
}

/// Applies the tar read from `archive` to `root` (see [`super::apply_tar`]),
/// then reads the stream to its end.
pub(crate) fn run<R: Read>(
    mut archive: tar::Archive<R>,
    root: &Path,
    opts: ApplyOptions,
) -> Result<ApplyStats, LayerError> {
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Vec<Piece>>(QUEUE);
        let worker = s.spawn(move || write_entries(&rx, root, opts));
        let read = send_entries(&mut archive, &tx).and_then(|complete| {
            if !complete {
                return Ok(());
            }
            // Past the end-of-archive blocks: a gzip trailer is checked and a
            // digesting reader underneath sees every byte.
            io::copy(&mut archive.into_inner(), &mut io::sink())
                .map(|_| ())
                .map_err(LayerError::Read)
        });
        drop(tx);
        let written = match worker.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match (read, written) {
            // The worker's error is about an earlier entry than the reader's.
            (_, Err(Some(e))) => Err(e),
            (Err(e), _) => Err(e),
            (Ok(()), Err(None)) => Err(LayerError::Read(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "layer tar ended inside an entry",
            ))),
            (Ok(()), Ok(stats)) => Ok(stats),
        }
    })
}

/// The reader's half: true once every entry is sent; false when the worker
/// has gone (it failed, and its error is the one to report).
fn send_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    tx: &SyncSender<Vec<Piece>>,
) -> Result<bool, LayerError> {
    let mut out = Batcher {
        tx,
        batch: Vec::new(),
        bytes: 0,
    };
    let sent = send_all(archive, &mut out);
    // Even after an error: the entries before it are applied, as they would
    // be without the pipeline.
    let flushed = out.flush();
    Ok(sent? && flushed)
}

fn send_all<R: Read>(
    archive: &mut tar::Archive<R>,
    out: &mut Batcher<'_>,
) -> Result<bool, LayerError> {
    for entry in archive.entries().map_err(LayerError::Read)? {
        let mut entry = entry.map_err(LayerError::Read)?;
        let Some(item) = Item::read(&mut entry)? else {
            continue;
        };
        if !out.push(Piece::Entry(item)) {
            return Ok(false);
        }
        let mut left = entry.size();
        loop {
            // Sized to the data (most files are small), read straight in.
            let want = usize::try_from(left).unwrap_or(CHUNK).clamp(1, CHUNK);
            let mut chunk = Vec::with_capacity(want);
            let n = (&mut entry)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk)
                .map_err(LayerError::Read)?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n as u64);
            if !out.push(Piece::Data(chunk)) {
                return Ok(false);
            }
        }
        if !out.push(Piece::End) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The worker's half. `Err(None)`: the reader stopped inside an entry (its
/// own error says why).
fn write_entries(
    rx: &Receiver<Vec<Piece>>,
    root: &Path,
    opts: ApplyOptions,
) -> Result<ApplyStats, Option<LayerError>> {
    let mut ap = Applier::open(root, opts)?;
    let mut feed = Feed {
        rx,
        pending: Vec::new().into_iter(),
    };
    while let Some(piece) = feed.next() {
        let Piece::Entry(item) = piece else {
            continue;
        };
        let mut data = Chunks {
            feed: &mut feed,
            cur: Vec::new(),
            pos: 0,
            done: false,
            cut: false,
        };
        let applied = ap.entry(item, &mut data);
        let drained = data.drain();
        if data.cut {
            return Err(None);
        }
        applied?;
        drained.map_err(LayerError::Read)?;
    }
    Ok(ap.finish()?)
}

/// One entry's data, as the reader sends it.
pub(crate) struct Chunks<'a, 'b> {
    feed: &'a mut Feed<'b>,
    cur: Vec<u8>,
    pos: usize,
    /// `End` seen.
    done: bool,
    /// The reader went away before `End`.
    cut: bool,
}

impl Chunks<'_, '_> {
    /// Hands each chunk of the data to `f`, without copying; returns the
    /// number of bytes.
    pub fn each(&mut self, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<u64> {
        let mut total = 0;
        if self.pos < self.cur.len() {
            f(&self.cur[self.pos..])?;
            total += (self.cur.len() - self.pos) as u64;
            self.pos = self.cur.len();
        }
        while self.fill()? {
            f(&self.cur)?;
            total += self.cur.len() as u64;
            self.pos = self.cur.len();
        }
        Ok(total)
    }

    /// Moves to the next chunk; false at the end of the entry.
    fn fill(&mut self) -> io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            match self.feed.next() {
                Some(Piece::Data(v)) => {
                    self.cur = v;
                    self.pos = 0;
                    if !self.cur.is_empty() {
                        return Ok(true);
                    }
                }
                Some(Piece::End) => self.done = true,
                Some(Piece::Entry(_)) | None => {
                    self.cut = true;
                    self.done = true;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "layer tar ended inside an entry",
                    ));
                }
            }
        }
    }

    /// Skips what the entry did not read.
    fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
}

impl Read for Chunks<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
