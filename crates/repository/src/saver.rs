//! Saving blobs: deduplicate, compress, encrypt, collect into packs, upload in parallel, then
//! index.
//!
//! Data blobs go through a short bounded queue to a fixed set of encoder threads. Each encoder
//! compresses and encrypts a blob in its own buffer, then appends it to the one open data pack
//! they share (hashing the pack as it grows); a full pack is sealed there and queued for the
//! upload task, which stores a few at once. Tree blobs and already-encrypted blobs need little
//! work and go into shared packs on the caller's task. Per blob there is at most one hand-over
//! between threads and no task spawn: a reader hands its small files' blobs over in batches.
//! Memory is bounded: the queue (`encode_slots` jobs), one open data pack, one sealed pack
//! waiting and `upload_slots` packs being stored.
//!
//! Ordering for crash safety: a pack is uploaded (create-only) before any index file names
//! it, and [`BlobSaver::finish`] returns only when every pack and index file is stored, so a
//! snapshot written afterwards never refers to missing data.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use crate::chunker::{BufferPool, CHUNK_BUFFER, release};
use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::crypto::{Key, OVERHEAD};
use crate::repo::id::Id;
use crate::repo::index::{BlobKey, IndexFile, IndexPack};
use crate::repo::lock::WriteGate;
use crate::repo::pack::{BlobType, FinishedPack, PackBuilder, header_room};
use crate::{Error, Result};

/// How data blobs are compressed. Whatever the level, a large blob whose first block does not
/// shrink (random or already-compressed data) is stored as it is without compressing the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// Store data blobs uncompressed (trees and metadata are still compressed).
    Off,
    /// zstd's fast mode (level −1): about twice the speed of `Auto`, noticeably larger.
    Fast,
    /// zstd level 1. (restic's "auto" is close to zstd level 3, which takes about 1.6× the
    /// CPU; measured here its output was 11% smaller on source code and 6% larger on ledger
    /// text than level 1's. See bench/RESULTS.md.)
    #[default]
    Auto,
    /// zstd level 19.
    Max,
}

impl Compression {
    fn level(self) -> Option<i32> {
        match self {
            Compression::Off => None,
            Compression::Fast => Some(-1),
            Compression::Auto => Some(1),
            Compression::Max => Some(19),
        }
    }
}

/// Knobs of the blob saver: `SaverOptions::default()` and the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SaverOptions {
    /// Compression of data blobs.
    pub compression: Compression,
    /// A pack is uploaded once it reaches this size.
    pub pack_size: usize,
    /// Threads compressing and encrypting data blobs (each fills its own pack).
    pub encode_slots: usize,
    /// Packs being uploaded at once. Memory for packs is at most
    /// `(encode_slots + upload_slots) × pack_size`; stores far away may want more.
    pub upload_slots: usize,
}

impl Default for SaverOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SaverOptions {
            compression: Compression::Auto,
            pack_size: 16 * 1024 * 1024,
            // One open pack per encoder: cap them so memory stays bounded on large machines.
            encode_slots: cores.min(8),
            upload_slots: 2,
        }
    }
}

impl SaverOptions {
    /// Sets `compression`: of data blobs.
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets `pack_size`: a pack is uploaded once it reaches this many bytes.
    #[must_use]
    pub fn with_pack_size(mut self, pack_size: usize) -> Self {
        self.pack_size = pack_size;
        self
    }

    /// Sets `encode_slots`: threads compressing and encrypting data blobs.
    #[must_use]
    pub fn with_encode_slots(mut self, encode_slots: usize) -> Self {
        self.encode_slots = encode_slots;
        self
    }

    /// Sets `upload_slots`: packs uploaded at once.
    #[must_use]
    pub fn with_upload_slots(mut self, upload_slots: usize) -> Self {
        self.upload_slots = upload_slots;
        self
    }
}

/// Counters of what was saved.
#[derive(Debug, Default)]
pub struct SaverStats {
    /// New data blobs.
    pub data_blobs: AtomicU64,
    /// New tree blobs.
    pub tree_blobs: AtomicU64,
    /// Plaintext bytes of new blobs.
    pub bytes_plain: AtomicU64,
    /// Bytes of new blobs as stored (compressed, encrypted).
    pub bytes_stored: AtomicU64,
    /// Packs uploaded.
    pub packs: AtomicU64,
    /// Index files written.
    pub index_files: AtomicU64,
}

/// Write an index file once this many uploaded blobs are not yet indexed, so an interrupted
/// backup leaves reusable, indexed packs behind.
const INDEX_FLUSH_BLOBS: usize = 20_000;

/// Room beyond the pack size in a pack buffer, so a typical last blob fits without growing it.
const PACK_SLACK: usize = 1024 * 1024;

/// Zstandard level of tree blobs. Level 1, like data: on a real tree of 66,600 files the
/// repository came out the same size as with level 3 (321.9 against 322.1 MB), and trees are
/// compressed on the walk's own threads, the last of them one after another up to the root.
const TREE_ZSTD_LEVEL: i32 = 1;

thread_local! {
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

/// Blobs at least this large are probed before being compressed whole.
const PROBE_MIN: usize = 256 * 1024;
/// The probe: zstd's largest block. Compressed first (with a flush, so the frame goes on
/// from there when it pays off); if it does not shrink, the blob is stored as it is.
const PROBE_LEN: usize = 128 * 1024;
/// Bytes of a large blob whose byte entropy decides whether it needs the probe at all.
const ENTROPY_SAMPLE: usize = 32 * 1024;
/// Below this many bits per byte a blob is compressed whole without a probe: text is about
/// 4.5–5.5, base64 6, compressed or encrypted data within a hair of 8.
const SURELY_COMPRESSIBLE_BITS: f64 = 7.0;

/// The Shannon entropy of `sample`'s bytes, in bits per byte.
fn byte_entropy(sample: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in sample {
        counts[usize::from(b)] += 1;
    }
    let n = sample.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Compresses `data` into `out` (replacing its contents) with this thread's reused context.
/// Returns `false`, leaving `out` unusable, when a large blob's first block does not shrink:
/// random or already-compressed data costs one block of work instead of the whole blob.
fn compress_into(data: &[u8], level: i32, out: &mut Vec<u8>) -> Result<bool> {
    use zstd::zstd_safe::zstd_sys::ZSTD_EndDirective;
    use zstd::zstd_safe::{InBuffer, OutBuffer, ResetDirective};
    let zerr = |e: usize| Error::Task(format!("zstd: {}", zstd::zstd_safe::get_error_name(e)));
    ZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|(l, _)| *l) != Some(level) {
            let c = zstd::bulk::Compressor::new(level)
                .map_err(|e| Error::Task(format!("zstd: {e}")))?;
            *slot = Some((level, c));
        }
        let Some((_, c)) = slot.as_mut() else {
            return Err(Error::Task("zstd context missing".into()));
        };
        let cctx = c.context_mut();
        cctx.reset(ResetDirective::SessionOnly).map_err(zerr)?;
        out.clear();
        out.reserve(zstd::compress_bound(data.len()));
        let needs_probe = data.len() >= PROBE_MIN
            && byte_entropy(&data[..ENTROPY_SAMPLE]) >= SURELY_COMPRESSIBLE_BITS;
        if !needs_probe {
            // One pass straight from `data`: the streaming path below copies its input into
            // zstd's window first.
            cctx.compress2(out, data).map_err(zerr)?;
            return Ok(true);
        }
        cctx.set_pledged_src_size(Some(data.len() as u64))
            .map_err(zerr)?;
        let mut output = OutBuffer::around(out);
        let mut probe = InBuffer::around(&data[..PROBE_LEN]);
        while cctx
            .compress_stream2(&mut output, &mut probe, ZSTD_EndDirective::ZSTD_e_flush)
            .map_err(zerr)?
            > 0
            || probe.pos < PROBE_LEN
        {}
        // Frame header and block header included: under 2% saved is not worth it.
        if output.pos() > PROBE_LEN - PROBE_LEN / 50 {
            return Ok(false);
        }
        let mut input = InBuffer::around(&data[PROBE_LEN..]);
        while cctx
            .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_end)
            .map_err(zerr)?
            > 0
        {}
        Ok(true)
    })
}

/// Compresses `data` when that makes it smaller. Returns what to encrypt and, if compressed,
/// the plaintext length to record. `scratch` holds the compressed bytes.
fn maybe_compress<'a>(
    level: Option<i32>,
    data: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<(&'a [u8], Option<u32>)> {
    if let Some(level) = level
        && !data.is_empty()
        && compress_into(data, level, scratch)?
        && scratch.len() < data.len()
    {
        let ulen =
            u32::try_from(data.len()).map_err(|_| Error::Task("blob beyond 4 GiB".into()))?;
        return Ok((scratch.as_slice(), Some(ulen)));
    }
    Ok((data, None))
}

/// What one [`BlobSaver`] stored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SaveSummary {
    /// New data blobs.
    pub data_blobs: u64,
    /// New tree blobs.
    pub tree_blobs: u64,
    /// Plaintext bytes of the new blobs.
    pub bytes_plain: u64,
    /// Bytes stored for them.
    pub bytes_stored: u64,
    /// Packs uploaded.
    pub packs: u64,
    /// Index files written.
    pub index_files: Vec<Id>,
}

/// State shared by the saver, its encoder threads and its upload task. It holds no queue
/// sender, so dropping the [`BlobSaver`] closes the queues and the threads end.
struct Shared {
    repo: Arc<Repository>,
    opts: SaverOptions,
    level: Option<i32>,
    unindexed: Mutex<Vec<IndexPack>>,
    index_files: Mutex<Vec<Id>>,
    failure: Mutex<Option<String>>,
    failed: AtomicBool,
    stats: SaverStats,
    /// Chunk buffers, back from the encoders for the readers.
    chunks: BufferPool,
    /// Whole-file buffers (WAL segments), back from the encoders for a reader that outlives
    /// this saver: reused memory is already mapped, where a fresh 16 MiB buffer costs 4096
    /// page faults to fill.
    file_buffers: Option<Arc<BufferPool>>,
    /// Pack buffers, back from the store for the encoders.
    packs: BufferPool,
    /// Data packs that may exist at once (open, queued or uploading): the memory bound.
    pack_budget: Arc<Semaphore>,
    /// The data pack the encoders fill.
    data_pack: Mutex<Option<OpenPack>>,
    /// Every store waits here until the operation's lock is confirmed.
    gate: WriteGate,
}

/// A sealed pack on its way to the store, with its share of the pack budget (none for the
/// shared tree pack, which the upload queue alone bounds).
struct Sealed {
    pack: FinishedPack,
    budget: Option<OwnedSemaphorePermit>,
}

/// The open data pack and its share of the budget.
type OpenPack = (PackBuilder, OwnedSemaphorePermit);
/// Data blobs on their way to an encoder.
enum Job {
    /// One blob.
    One(Id, Vec<u8>),
    /// Small blobs of one reader ([`BlobBatch`]): one hand-over between threads and one
    /// section under the pack lock for all of them, instead of one each.
    Many(Vec<(Id, Vec<u8>)>),
}

/// Blobs under this size are collected into a [`BlobBatch`] (whole small files, mostly).
const SMALL_BLOB: usize = 64 * 1024;
/// A batch is handed to the encoders once it holds this many bytes (less than one chunk
/// buffer, so batching adds no memory beyond what a large file's chunk has in flight)…
const BATCH_BLOB_BYTES: usize = 512 * 1024;
/// … or this many blobs.
const BATCH_BLOBS: usize = 64;

/// Small data blobs a reader collects before handing them to the encoders together. Whoever
/// fills one calls [`BlobSaver::flush_batch_blocking`] before its blobs are needed (before
/// [`BlobSaver::finish`]).
#[derive(Debug, Default)]
pub(crate) struct BlobBatch {
    blobs: Vec<(Id, Vec<u8>)>,
    bytes: usize,
}

/// The running part of a saver, started on first use (it needs the async runtime).
struct Pipeline {
    jobs: mpsc::Sender<Job>,
    packs: mpsc::Sender<Sealed>,
    uploader: JoinHandle<Result<()>>,
}

/// Saves blobs into new packs of a repository.
pub struct BlobSaver {
    shared: Arc<Shared>,
    seen: Mutex<HashSet<BlobKey>>,
    /// Packs filled on the caller's task: trees, and already-encrypted blobs.
    open_packs: Mutex<[Option<PackBuilder>; 2]>,
    pipeline: Mutex<Option<Pipeline>>,
}

impl std::fmt::Debug for BlobSaver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobSaver")
            .field("opts", &self.shared.opts)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn slot(ty: BlobType) -> usize {
    match ty {
        BlobType::Data => 0,
        BlobType::Tree => 1,
    }
}

impl Shared {
    fn fail(&self, e: &Error) {
        lock(&self.failure).get_or_insert_with(|| e.to_string());
        self.failed.store(true, Ordering::Release);
    }

    fn check(&self) -> Result<()> {
        if self.failed.load(Ordering::Acquire)
            && let Some(msg) = lock(&self.failure).as_ref()
        {
            return Err(Error::Task(format!("an earlier upload failed: {msg}")));
        }
        Ok(())
    }

    fn new_pack(&self, first_blob: usize) -> PackBuilder {
        // Room for the target size plus a typical blob, so the buffer never grows; a pack is
        // sealed early rather than grown when a large blob does not fit.
        let mut buf = self.packs.take();
        buf.reserve(first_blob + header_room(1));
        PackBuilder::with_buffer(buf)
    }

    /// A new data pack for an encoder thread: waits (blocking) until the budget allows it.
    fn new_pack_blocking(&self, first_blob: usize) -> Result<OpenPack> {
        let permit = futures::executor::block_on(Arc::clone(&self.pack_budget).acquire_owned())
            .map_err(|e| Error::Task(format!("pack budget: {e}")))?;
        Ok((self.new_pack(first_blob), permit))
    }

    /// Seals an encoder's pack and queues it for upload (blocking).
    fn seal_blocking(
        &self,
        key: &Key,
        (pack, permit): OpenPack,
        packs: &mpsc::Sender<Sealed>,
    ) -> Result<()> {
        let sealed = Sealed {
            pack: pack.finish(key)?,
            budget: Some(permit),
        };
        packs.blocking_send(sealed).map_err(|_| upload_gone())
    }

    /// Hands a blob's buffer back to the pool it came from (by capacity), or frees it.
    fn recycle(&self, buf: Vec<u8>) {
        match &self.file_buffers {
            Some(pool) if buf.capacity() == pool.capacity() => pool.give(buf),
            _ => self.chunks.give(buf),
        }
    }

    fn count(&self, ty: BlobType, plain: usize, stored: usize) {
        let counter = match ty {
            BlobType::Data => &self.stats.data_blobs,
            BlobType::Tree => &self.stats.tree_blobs,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_plain
            .fetch_add(plain as u64, Ordering::Relaxed);
        self.stats
            .bytes_stored
            .fetch_add(stored as u64, Ordering::Relaxed);
    }

    /// Encoder thread: compresses and encrypts data blobs into the shared data pack until the
    /// queue closes, then seals that pack if another encoder has not. After a failure it
    /// keeps draining the queue (so no sender waits forever) without doing the work.
    fn encode_loop(
        self: Arc<Self>,
        jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
        packs: mpsc::Sender<Sealed>,
    ) {
        let key = self.repo.key.clone();
        let mut scratch = Vec::new();
        let mut staged = Vec::new();
        loop {
            let job = lock(&jobs).blocking_recv();
            let Some(job) = job else { break };
            if self.failed.load(Ordering::Acquire) {
                continue;
            }
            let done = match job {
                Job::One(id, data) => self.encode_one(&key, id, data, &mut scratch, &packs),
                Job::Many(blobs) => {
                    self.encode_many(&key, blobs, &mut scratch, &mut staged, &packs)
                }
            };
            if let Err(e) = done {
                self.fail(&e);
            }
        }
        release(scratch);
        release(staged);
        let last = lock(&self.data_pack).take();
        if let Some(p) = last.filter(|(p, _)| !p.is_empty())
            && !self.failed.load(Ordering::Acquire)
            && let Err(e) = self.seal_blocking(&key, p, &packs)
        {
            self.fail(&e);
        }
    }

    /// Compresses `data` into `scratch` when that makes it smaller. Returns what to encrypt
    /// (one of the two buffers) and, if compressed, the plaintext length to record.
    fn compress_for_pack<'a>(
        &self,
        data: &'a mut Vec<u8>,
        scratch: &'a mut Vec<u8>,
    ) -> Result<(&'a mut [u8], Option<u32>)> {
        let plain_len = data.len();
        let compressed = match self.level {
            Some(level) if plain_len > 0 => {
                compress_into(data, level, scratch)? && scratch.len() < plain_len
            }
            _ => false,
        };
        if compressed {
            let ulen =
                u32::try_from(plain_len).map_err(|_| Error::Task("blob beyond 4 GiB".into()))?;
            Ok((scratch.as_mut_slice(), Some(ulen)))
        } else {
            Ok((data.as_mut_slice(), None))
        }
    }

    /// Appends an encrypted blob to the shared data pack (under its lock); returns the packs
    /// that filled up, to be sealed once the lock is released.
    fn append_locked(
        &self,
        open: &mut Option<OpenPack>,
        id: Id,
        parts: &[&[u8]],
        ulen: Option<u32>,
        sealed: &mut Vec<OpenPack>,
    ) -> Result<()> {
        let stored: usize = parts.iter().map(|p| p.len()).sum();
        if let Some(p) = open.take_if(|(p, _)| !p.fits(stored)) {
            sealed.push(p);
        }
        let (p, _) = match open {
            Some(p) => p,
            None => open.insert(self.new_pack_blocking(stored)?),
        };
        p.add_parts(BlobType::Data, id, parts, ulen)?;
        if let Some(p) = open.take_if(|(p, _)| p.len() >= self.opts.pack_size) {
            sealed.push(p);
        }
        Ok(())
    }

    /// Compresses and encrypts one blob in its own buffer (no lock held), then appends it to
    /// the shared data pack. One open data pack for all encoders keeps memory low; the
    /// section under the lock is a copy and the pack's running hash.
    fn encode_one(
        &self,
        key: &Key,
        id: Id,
        mut data: Vec<u8>,
        scratch: &mut Vec<u8>,
        packs: &mpsc::Sender<Sealed>,
    ) -> Result<()> {
        let plain_len = data.len();
        let (payload, ulen) = self.compress_for_pack(&mut data, scratch)?;
        let (iv, mac) = key.encrypt_in_place(payload)?;
        let stored = payload.len() + OVERHEAD;
        let mut sealed = Vec::new();
        self.append_locked(
            &mut lock(&self.data_pack),
            id,
            &[&iv, payload, &mac],
            ulen,
            &mut sealed,
        )?;
        self.count(BlobType::Data, plain_len, stored);
        self.recycle(data);
        for p in sealed {
            self.seal_blocking(key, p, packs)?;
        }
        Ok(())
    }

    /// Compresses and encrypts a batch of small blobs one after another into `staged` (no
    /// lock held), then appends them all to the shared data pack in one section under its
    /// lock.
    fn encode_many(
        &self,
        key: &Key,
        blobs: Vec<(Id, Vec<u8>)>,
        scratch: &mut Vec<u8>,
        staged: &mut Vec<u8>,
        packs: &mpsc::Sender<Sealed>,
    ) -> Result<()> {
        staged.clear();
        let mut placed = Vec::with_capacity(blobs.len());
        for (id, mut data) in blobs {
            let plain_len = data.len();
            let (payload, ulen) = self.compress_for_pack(&mut data, scratch)?;
            let (iv, mac) = key.encrypt_in_place(payload)?;
            let start = staged.len();
            staged.extend_from_slice(&iv);
            staged.extend_from_slice(payload);
            staged.extend_from_slice(&mac);
            self.count(BlobType::Data, plain_len, staged.len() - start);
            placed.push((id, start..staged.len(), ulen));
        }
        let mut sealed = Vec::new();
        {
            let mut open = lock(&self.data_pack);
            for (id, range, ulen) in placed {
                self.append_locked(&mut open, id, &[&staged[range]], ulen, &mut sealed)?;
            }
        }
        for p in sealed {
            self.seal_blocking(key, p, packs)?;
        }
        Ok(())
    }

    /// Upload task: stores sealed packs, `upload_slots` at a time, and indexes them. Ends when
    /// every sender is gone. After a failure it drains the queue without storing.
    async fn upload_loop(self: Arc<Self>, mut packs: mpsc::Receiver<Sealed>) -> Result<()> {
        let mut running: JoinSet<Result<()>> = JoinSet::new();
        let mut first_err: Option<Error> = None;
        let slots = self.opts.upload_slots.max(1);
        while let Some(pack) = packs.recv().await {
            while running.len() >= slots {
                if let Some(res) = running.join_next().await {
                    self.note(res, &mut first_err);
                }
            }
            if first_err.is_some() || self.failed.load(Ordering::Acquire) {
                continue;
            }
            let this = Arc::clone(&self);
            running.spawn(async move { this.store_pack(pack).await });
        }
        while let Some(res) = running.join_next().await {
            self.note(res, &mut first_err);
        }
        first_err.map_or(Ok(()), Err)
    }

    fn note(
        &self,
        res: std::result::Result<Result<()>, tokio::task::JoinError>,
        first: &mut Option<Error>,
    ) {
        if let Err(e) = res.map_err(Error::task).and_then(|r| r) {
            self.fail(&e);
            first.get_or_insert(e);
        }
    }

    async fn store_pack(&self, sealed: Sealed) -> Result<()> {
        let Sealed { pack: done, budget } = sealed;
        let entry = IndexPack::new(done.id, &done.blobs);
        // A second handle, to reuse the buffer once the store has let go of it.
        let buffer = done.data.clone();
        self.gate.wait().await?;
        self.repo
            .backend
            .put_create(FileType::Pack, &done.id, done.data)
            .await?;
        if let Ok(b) = buffer.try_into_mut() {
            self.packs.give(Vec::from(b));
        }
        drop(budget);
        self.stats.packs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(pack = %done.id.short(), blobs = done.blobs.len(), "pack stored");
        self.repo
            .with_index_mut(|i| i.add_pack(done.id, &done.blobs));
        let flush = {
            let mut un = lock(&self.unindexed);
            un.push(entry);
            if un.iter().map(|p| p.blobs.len()).sum::<usize>() >= INDEX_FLUSH_BLOBS {
                std::mem::take(&mut *un)
            } else {
                Vec::new()
            }
        };
        if !flush.is_empty() {
            self.write_index(flush).await?;
        }
        Ok(())
    }

    async fn write_index(&self, packs: Vec<IndexPack>) -> Result<()> {
        let file = IndexFile {
            supersedes: Vec::new(),
            packs,
        };
        self.gate.wait().await?;
        let id = self.repo.save_unpacked(FileType::Index, &file).await?;
        self.stats.index_files.fetch_add(1, Ordering::Relaxed);
        lock(&self.index_files).push(id);
        tracing::debug!(index = %id.short(), packs = file.packs.len(), "index stored");
        Ok(())
    }
}

fn upload_gone() -> Error {
    Error::Task("the pack upload task stopped".into())
}

impl BlobSaver {
    /// A saver for `repo`, whose index must be loaded (it is used for deduplication).
    pub fn new(repo: Arc<Repository>, opts: SaverOptions) -> Arc<BlobSaver> {
        BlobSaver::with_file_buffers(repo, opts, None)
    }

    /// [`BlobSaver::new`], handing data buffers of `file_buffers`' capacity back to it once
    /// encoded (whole files read into buffers of that pool).
    pub fn with_file_buffers(
        repo: Arc<Repository>,
        opts: SaverOptions,
        file_buffers: Option<Arc<BufferPool>>,
    ) -> Arc<BlobSaver> {
        BlobSaver::build(repo, opts, file_buffers, WriteGate::open())
    }

    /// [`BlobSaver::new`] for work begun by [`Repository::locked_early`]: nothing is stored
    /// until `gate` opens.
    pub(crate) fn gated(
        repo: Arc<Repository>,
        opts: SaverOptions,
        gate: WriteGate,
    ) -> Arc<BlobSaver> {
        BlobSaver::build(repo, opts, None, gate)
    }

    fn build(
        repo: Arc<Repository>,
        opts: SaverOptions,
        file_buffers: Option<Arc<BufferPool>>,
        gate: WriteGate,
    ) -> Arc<BlobSaver> {
        let level = opts.compression.level();
        let encoders = opts.encode_slots.max(1);
        // Chunk buffers in flight: one or two per reader, the queue and each encoder's blob.
        let chunks = BufferPool::new(CHUNK_BUFFER, 2 * encoders + 2);
        // The open data pack and those queued or being uploaded.
        let budget = 1 + opts.upload_slots.max(1);
        // Those, one being sealed, and the shared tree pack.
        let packs = BufferPool::new(opts.pack_size + PACK_SLACK, budget + 2);
        Arc::new(BlobSaver {
            shared: Arc::new(Shared {
                chunks,
                file_buffers,
                packs,
                pack_budget: Arc::new(Semaphore::new(budget)),
                data_pack: Mutex::new(None),
                gate,
                repo,
                opts,
                level,
                unindexed: Mutex::new(Vec::new()),
                index_files: Mutex::new(Vec::new()),
                failure: Mutex::new(None),
                failed: AtomicBool::new(false),
                stats: SaverStats::default(),
            }),
            seen: Mutex::new(HashSet::new()),
            open_packs: Mutex::new([None, None]),
            pipeline: Mutex::new(None),
        })
    }

    /// What this saver's stores wait for; whatever else the work stores waits there too.
    pub(crate) fn gate(&self) -> &WriteGate {
        &self.shared.gate
    }

    /// The repository.
    pub fn repo(&self) -> &Arc<Repository> {
        &self.shared.repo
    }

    /// Live counters (for progress).
    pub fn stats(&self) -> &SaverStats {
        &self.shared.stats
    }

    /// Whether a blob is already stored or queued (and marks it queued if not).
    fn claim(&self, key: BlobKey) -> bool {
        if self.shared.repo.with_index(|i| i.contains(&key)) {
            return false;
        }
        lock(&self.seen).insert(key)
    }

    /// Whether the repository has (or this saver will have) a blob.
    pub fn has(&self, key: &BlobKey) -> bool {
        self.shared.repo.with_index(|i| i.contains(key)) || lock(&self.seen).contains(key)
    }

    /// The queue senders, starting the encoder threads and the upload task on first use.
    /// Must run inside the async runtime.
    fn senders(&self) -> Result<(mpsc::Sender<Job>, mpsc::Sender<Sealed>)> {
        let mut guard = lock(&self.pipeline);
        if let Some(p) = guard.as_ref() {
            return Ok((p.jobs.clone(), p.packs.clone()));
        }
        let encoders = self.shared.opts.encode_slots.max(1);
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(encoders);
        // One sealed pack may wait while `upload_slots` are being stored.
        let (packs_tx, packs_rx) = mpsc::channel::<Sealed>(1);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        for n in 0..encoders {
            let shared = Arc::clone(&self.shared);
            let rx = Arc::clone(&jobs_rx);
            let tx = packs_tx.clone();
            std::thread::Builder::new()
                .name(format!("thinledger-encode-{n}"))
                .spawn(move || shared.encode_loop(rx, tx))
                .map_err(|e| Error::Task(format!("starting an encoder thread: {e}")))?;
        }
        let uploader = tokio::spawn(Arc::clone(&self.shared).upload_loop(packs_rx));
        *guard = Some(Pipeline {
            jobs: jobs_tx.clone(),
            packs: packs_tx.clone(),
            uploader,
        });
        Ok((jobs_tx, packs_tx))
    }

    /// Saves a blob whose plaintext id is `id`. Returns `false` if it was already stored or
    /// queued. Returns once the blob is queued; [`BlobSaver::finish`] waits for storage.
    pub async fn save(self: &Arc<Self>, ty: BlobType, id: Id, data: Bytes) -> Result<bool> {
        self.shared.check()?;
        if !self.claim(BlobKey { id, ty }) {
            if let Ok(buf) = data.try_into_mut() {
                self.shared.recycle(Vec::from(buf));
            }
            return Ok(false);
        }
        match ty {
            BlobType::Data => {
                let (jobs, _) = self.senders()?;
                let data = Vec::from(data);
                if jobs.send(Job::One(id, data)).await.is_err() {
                    self.shared.check()?;
                    return Err(Error::Task("the blob encoders stopped".into()));
                }
            }
            BlobType::Tree => {
                // Trees are small: compress and encrypt here, into the shared tree pack.
                let mut scratch = Vec::new();
                let (payload, ulen) = maybe_compress(Some(TREE_ZSTD_LEVEL), &data, &mut scratch)?;
                let stored = payload.len() + OVERHEAD;
                let key = &self.shared.repo.key;
                let sealed =
                    self.with_shared_pack(ty, |p| p.add_encrypting(key, ty, id, payload, ulen))?;
                self.shared.count(ty, data.len(), stored);
                // A large directory's JSON and its compressed copy are megabytes.
                release(scratch);
                if let Ok(b) = data.try_into_mut() {
                    release(Vec::from(b));
                }
                self.send_sealed(sealed).await?;
            }
        }
        Ok(true)
    }

    /// Adds a blob to the shared pack of its type; returns the packs that were sealed.
    fn with_shared_pack(
        &self,
        ty: BlobType,
        add: impl FnOnce(&mut PackBuilder) -> Result<()>,
    ) -> Result<Option<FinishedPack>> {
        let mut packs = lock(&self.open_packs);
        let open = &mut packs[slot(ty)];
        // A pack buffer from the pool (only the pages written are resident), given back after
        // the upload: a buffer grown here and freed there would raise glibc's mmap threshold
        // (`chunker::release`).
        let p = open.get_or_insert_with(|| PackBuilder::with_buffer(self.shared.packs.take()));
        add(p)?;
        match open.take_if(|p| p.len() >= self.shared.opts.pack_size) {
            Some(p) => Ok(Some(p.finish(&self.shared.repo.key)?)),
            None => Ok(None),
        }
    }

    async fn send_sealed(&self, sealed: impl IntoIterator<Item = FinishedPack>) -> Result<()> {
        for pack in sealed {
            let (_, packs) = self.senders()?;
            let sealed = Sealed { pack, budget: None };
            if packs.send(sealed).await.is_err() {
                self.shared.check()?;
                return Err(upload_gone());
            }
        }
        Ok(())
    }

    /// Like [`BlobSaver::save`] for a data blob, from a blocking thread (a file reader). The
    /// buffer goes back to [`BlobSaver::chunk_buffers`] once encoded.
    pub(crate) fn save_data_blocking(&self, id: Id, data: Vec<u8>) -> Result<bool> {
        self.shared.check()?;
        if !self.claim(BlobKey {
            id,
            ty: BlobType::Data,
        }) {
            self.shared.recycle(data);
            return Ok(false);
        }
        self.send_blocking(Job::One(id, data))?;
        Ok(true)
    }

    /// Like [`BlobSaver::save_data_blocking`], collecting a small blob into `batch` (handed
    /// over once full; [`BlobSaver::flush_batch_blocking`] hands over the rest).
    pub(crate) fn save_data_batched(
        &self,
        batch: &mut BlobBatch,
        id: Id,
        data: Vec<u8>,
    ) -> Result<bool> {
        if data.len() >= SMALL_BLOB {
            return self.save_data_blocking(id, data);
        }
        self.shared.check()?;
        if !self.claim(BlobKey {
            id,
            ty: BlobType::Data,
        }) {
            return Ok(false);
        }
        batch.bytes += data.len();
        batch.blobs.push((id, data));
        if batch.bytes >= BATCH_BLOB_BYTES || batch.blobs.len() >= BATCH_BLOBS {
            self.flush_batch_blocking(batch)?;
        }
        Ok(true)
    }

    /// Hands the blobs collected in `batch` to the encoders (blocking).
    pub(crate) fn flush_batch_blocking(&self, batch: &mut BlobBatch) -> Result<()> {
        if batch.blobs.is_empty() {
            return Ok(());
        }
        batch.bytes = 0;
        self.send_blocking(Job::Many(std::mem::take(&mut batch.blobs)))
    }

    fn send_blocking(&self, job: Job) -> Result<()> {
        let (jobs, _) = self.senders()?;
        if jobs.blocking_send(job).is_err() {
            self.shared.check()?;
            return Err(Error::Task("the blob encoders stopped".into()));
        }
        Ok(())
    }

    /// Reusable chunk buffers for the readers feeding this saver.
    pub(crate) fn chunk_buffers(&self) -> &BufferPool {
        &self.shared.chunks
    }

    /// Saves an already encrypted blob (from another pack of the same repository).
    pub(crate) async fn save_encrypted(
        self: &Arc<Self>,
        ty: BlobType,
        id: Id,
        encrypted: &[u8],
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        self.shared.check()?;
        if !lock(&self.seen).insert(BlobKey { id, ty }) {
            return Ok(());
        }
        let sealed =
            self.with_shared_pack(ty, |p| p.add(ty, id, encrypted, uncompressed_length))?;
        let plain =
            uncompressed_length.map_or(encrypted.len().saturating_sub(OVERHEAD), |u| u as usize);
        self.shared.count(ty, plain, encrypted.len());
        self.send_sealed(sealed).await
    }

    /// Waits until every queued blob is in a stored pack and every pack is in a stored index
    /// file. After this returns, a snapshot may refer to the blobs.
    pub async fn finish(self: &Arc<Self>) -> Result<SaveSummary> {
        self.shared.check()?;
        let key = &self.shared.repo.key;
        let rest: Vec<FinishedPack> = {
            let mut open = lock(&self.open_packs);
            let mut out = Vec::new();
            for p in open.iter_mut().filter_map(Option::take) {
                if !p.is_empty() {
                    out.push(p.finish(key)?);
                }
            }
            out
        };
        self.send_sealed(rest).await?;
        // Closing the job queue lets the encoders seal their packs and stop; the upload task
        // ends once they and this saver have dropped their pack senders.
        let pipeline = lock(&self.pipeline).take();
        if let Some(Pipeline {
            jobs,
            packs,
            uploader,
        }) = pipeline
        {
            drop(jobs);
            drop(packs);
            uploader.await.map_err(Error::task)??;
        }
        self.shared.check()?;
        let un = std::mem::take(&mut *lock(&self.shared.unindexed));
        if !un.is_empty() {
            self.shared.write_index(un).await?;
        }
        let stats = &self.shared.stats;
        Ok(SaveSummary {
            data_blobs: stats.data_blobs.load(Ordering::Relaxed),
            tree_blobs: stats.tree_blobs.load(Ordering::Relaxed),
            bytes_plain: stats.bytes_plain.load(Ordering::Relaxed),
            bytes_stored: stats.bytes_stored.load(Ordering::Relaxed),
            packs: stats.packs.load(Ordering::Relaxed),
            index_files: lock(&self.shared.index_files).clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn text(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(
                format!("{:012} credit settled {}\n", i * 7919, i % 97).as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    #[test]
    fn compressible_blobs_are_compressed_and_round_trip() {
        let mut scratch = Vec::new();
        for len in [100, PROBE_MIN - 1, PROBE_MIN, 3 * 1024 * 1024 + 5] {
            let data = text(len);
            let (payload, ulen) = maybe_compress(Some(3), &data, &mut scratch).unwrap();
            assert_eq!(ulen, Some(len as u32));
            assert!(payload.len() < len * 2 / 3, "{len}: {}", payload.len());
            let back = zstd::bulk::decompress(payload, len).unwrap();
            assert_eq!(back, data);
            // The frame records its size, as a one-shot compression does.
            assert_eq!(
                zstd::zstd_safe::get_frame_content_size(payload).unwrap(),
                Some(len as u64)
            );
        }
    }

    #[test]
    fn incompressible_blobs_are_stored_as_they_are() {
        let mut scratch = Vec::new();
        for len in [1000, PROBE_MIN + 17, 2 * 1024 * 1024] {
            let data = noise(len);
            let (payload, ulen) = maybe_compress(Some(1), &data, &mut scratch).unwrap();
            assert_eq!(ulen, None);
            assert_eq!(payload, &data[..]);
        }
        let (payload, ulen) = maybe_compress(None, b"plain", &mut scratch).unwrap();
        assert_eq!((payload, ulen), (&b"plain"[..], None));
        // After a probe gave up, the reused context still compresses correctly.
        let data = text(PROBE_MIN * 2);
        let (payload, _) = maybe_compress(Some(1), &data, &mut scratch).unwrap();
        assert_eq!(zstd::bulk::decompress(payload, data.len()).unwrap(), data);
    }

    #[test]
    fn byte_entropy_tells_text_from_noise() {
        let text_bits = byte_entropy(&text(ENTROPY_SAMPLE));
        let noise_bits = byte_entropy(&noise(ENTROPY_SAMPLE));
        assert!(text_bits < SURELY_COMPRESSIBLE_BITS, "{text_bits}");
        assert!(noise_bits > 7.9, "{noise_bits}");
        assert_eq!(byte_entropy(&[7u8; 4096]), 0.0);
    }

    #[test]
    fn noisy_bytes_that_repeat_still_go_through_the_probe_and_compress() {
        // Every byte value is as frequent as in noise, so only the probe can tell that the
        // blob repeats itself.
        let block = noise(4096);
        let data: Vec<u8> = block.iter().copied().cycle().take(PROBE_MIN * 3).collect();
        assert!(byte_entropy(&data[..ENTROPY_SAMPLE]) >= SURELY_COMPRESSIBLE_BITS);
        let mut scratch = Vec::new();
        let (payload, ulen) = maybe_compress(Some(1), &data, &mut scratch).unwrap();
        assert_eq!(ulen, Some(data.len() as u32));
        assert!(payload.len() < data.len() / 20, "{}", payload.len());
        assert_eq!(zstd::bulk::decompress(payload, data.len()).unwrap(), data);
    }
}
