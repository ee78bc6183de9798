//! Saving blobs: deduplicate, compress, encrypt, collect into packs, upload in parallel, then
//! index. Memory is bounded by the number of blobs being encoded and packs being uploaded.
//!
//! Ordering for crash safety: a pack is uploaded (create-only) before any index file names
//! it, and [`BlobSaver::finish`] returns only when every pack and index file is stored, so a
//! snapshot written afterwards never refers to missing data.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::crypto::Key;
use crate::repo::id::Id;
use crate::repo::index::{BlobKey, IndexFile, IndexPack};
use crate::repo::pack::{BlobType, PackBuilder};
use crate::{Error, Result};

/// How data blobs are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// Store data blobs uncompressed (trees and metadata are still compressed).
    Off,
    /// zstd level 1.
    Fast,
    /// zstd level 3 (restic's default strength).
    #[default]
    Auto,
    /// zstd level 19.
    Max,
}

impl Compression {
    fn level(self) -> Option<i32> {
        match self {
            Compression::Off => None,
            Compression::Fast => Some(1),
            Compression::Auto => Some(3),
            Compression::Max => Some(19),
        }
    }
}

/// Knobs of the blob saver.
#[derive(Debug, Clone)]
pub struct SaverOptions {
    /// Compression of data blobs.
    pub compression: Compression,
    /// A pack is uploaded once it reaches this size.
    pub pack_size: usize,
    /// Blobs being compressed and encrypted at once.
    pub encode_slots: usize,
    /// Packs being uploaded at once.
    pub upload_slots: usize,
}

impl Default for SaverOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SaverOptions {
            compression: Compression::Auto,
            pack_size: 16 * 1024 * 1024,
            encode_slots: cores + 1,
            upload_slots: 3,
        }
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

thread_local! {
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

fn compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    ZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|(l, _)| *l) != Some(level) {
            let c = zstd::bulk::Compressor::new(level)
                .map_err(|e| Error::Task(format!("zstd: {e}")))?;
            *slot = Some((level, c));
        }
        match slot.as_mut() {
            Some((_, c)) => c
                .compress(data)
                .map_err(|e| Error::Task(format!("zstd: {e}"))),
            None => Err(Error::Task("zstd context missing".into())),
        }
    })
}

/// Compresses (when it helps) and encrypts one blob. CPU-bound.
pub(crate) fn encode_blob(
    key: &Key,
    level: Option<i32>,
    data: &[u8],
) -> Result<(Vec<u8>, Option<u32>)> {
    if let Some(level) = level
        && !data.is_empty()
    {
        let c = compress(data, level)?;
        if c.len() < data.len() {
            let ulen =
                u32::try_from(data.len()).map_err(|_| Error::Task("blob beyond 4 GiB".into()))?;
            return Ok((key.encrypt(&c)?, Some(ulen)));
        }
    }
    Ok((key.encrypt(data)?, None))
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

/// Saves blobs into new packs of a repository.
pub struct BlobSaver {
    repo: Arc<Repository>,
    opts: SaverOptions,
    level: Option<i32>,
    seen: Mutex<HashSet<BlobKey>>,
    open_packs: Mutex<[Option<PackBuilder>; 2]>,
    encode_slots: Arc<Semaphore>,
    upload_slots: Arc<Semaphore>,
    encodes: Mutex<JoinSet<Result<()>>>,
    uploads: Mutex<JoinSet<Result<()>>>,
    unindexed: Mutex<Vec<IndexPack>>,
    index_files: Mutex<Vec<Id>>,
    failure: Mutex<Option<String>>,
    /// Live counters (for progress).
    pub stats: SaverStats,
}

impl std::fmt::Debug for BlobSaver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobSaver")
            .field("opts", &self.opts)
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

impl BlobSaver {
    /// A saver for `repo`, whose index must be loaded (it is used for deduplication).
    pub fn new(repo: Arc<Repository>, opts: SaverOptions) -> Arc<BlobSaver> {
        let level = opts.compression.level();
        Arc::new(BlobSaver {
            encode_slots: Arc::new(Semaphore::new(opts.encode_slots.max(1))),
            upload_slots: Arc::new(Semaphore::new(opts.upload_slots.max(1))),
            repo,
            opts,
            level,
            seen: Mutex::new(HashSet::new()),
            open_packs: Mutex::new([None, None]),
            encodes: Mutex::new(JoinSet::new()),
            uploads: Mutex::new(JoinSet::new()),
            unindexed: Mutex::new(Vec::new()),
            index_files: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            stats: SaverStats::default(),
        })
    }

    /// The repository.
    pub fn repo(&self) -> &Arc<Repository> {
        &self.repo
    }

    /// Whether a blob is already stored or queued (and marks it queued if not).
    fn claim(&self, key: BlobKey) -> bool {
        if self.repo.with_index(|i| i.contains(&key)) {
            return false;
        }
        lock(&self.seen).insert(key)
    }

    /// Whether the repository has (or this saver will have) a blob.
    pub fn has(&self, key: &BlobKey) -> bool {
        self.repo.with_index(|i| i.contains(key)) || lock(&self.seen).contains(key)
    }

    fn check_failed(&self) -> Result<()> {
        for set in [&self.encodes, &self.uploads] {
            let mut set = lock(set);
            while let Some(res) = set.try_join_next() {
                let res = res.map_err(Error::task).and_then(|r| r);
                if let Err(e) = res {
                    lock(&self.failure).get_or_insert_with(|| e.to_string());
                    return Err(e);
                }
            }
        }
        if let Some(msg) = lock(&self.failure).as_ref() {
            return Err(Error::Task(format!("an earlier upload failed: {msg}")));
        }
        Ok(())
    }

    /// Saves a blob whose plaintext id is `id`. Returns `false` if it was already stored or
    /// queued. Returns once the blob is queued; [`BlobSaver::finish`] waits for storage.
    pub async fn save(self: &Arc<Self>, ty: BlobType, id: Id, data: Bytes) -> Result<bool> {
        self.check_failed()?;
        if !self.claim(BlobKey { id, ty }) {
            return Ok(false);
        }
        let permit = Arc::clone(&self.encode_slots)
            .acquire_owned()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let this = Arc::clone(self);
        lock(&self.encodes).spawn(async move {
            let level = if ty == BlobType::Tree {
                Some(3)
            } else {
                this.level
            };
            let key = this.repo.key.clone();
            let plain_len = data.len() as u64;
            let (enc, ulen) = tokio::task::spawn_blocking(move || encode_blob(&key, level, &data))
                .await
                .map_err(Error::task)??;
            let counter = match ty {
                BlobType::Data => &this.stats.data_blobs,
                BlobType::Tree => &this.stats.tree_blobs,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            this.stats
                .bytes_plain
                .fetch_add(plain_len, Ordering::Relaxed);
            this.stats
                .bytes_stored
                .fetch_add(enc.len() as u64, Ordering::Relaxed);
            let res = this.add_encoded(ty, id, &enc, ulen).await;
            drop(permit);
            res
        });
        Ok(true)
    }

    /// Saves an already encrypted blob (from another pack of the same repository).
    pub(crate) async fn save_encrypted(
        self: &Arc<Self>,
        ty: BlobType,
        id: Id,
        encrypted: &[u8],
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        self.check_failed()?;
        if !lock(&self.seen).insert(BlobKey { id, ty }) {
            return Ok(());
        }
        self.add_encoded(ty, id, encrypted, uncompressed_length)
            .await
    }

    async fn add_encoded(
        self: &Arc<Self>,
        ty: BlobType,
        id: Id,
        enc: &[u8],
        ulen: Option<u32>,
    ) -> Result<()> {
        let full = {
            let mut packs = lock(&self.open_packs);
            let builder = packs[slot(ty)]
                .get_or_insert_with(|| PackBuilder::new(self.opts.pack_size + enc.len()));
            builder.add(ty, id, enc, ulen)?;
            if builder.len() >= self.opts.pack_size {
                packs[slot(ty)].take()
            } else {
                None
            }
        };
        if let Some(p) = full {
            self.upload(p).await?;
        }
        Ok(())
    }

    async fn upload(self: &Arc<Self>, pack: PackBuilder) -> Result<()> {
        let permit = Arc::clone(&self.upload_slots)
            .acquire_owned()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let this = Arc::clone(self);
        lock(&self.uploads).spawn(async move {
            let key = this.repo.key.clone();
            let done = tokio::task::spawn_blocking(move || pack.finish(&key))
                .await
                .map_err(Error::task)??;
            let entry = IndexPack::new(done.id, &done.blobs);
            this.repo
                .backend
                .put_create(FileType::Pack, &done.id, done.data)
                .await?;
            drop(permit);
            this.stats.packs.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(pack = %done.id.short(), blobs = done.blobs.len(), "pack stored");
            this.repo
                .with_index_mut(|i| i.add_pack(done.id, &done.blobs));
            let flush = {
                let mut un = lock(&this.unindexed);
                un.push(entry);
                if un.iter().map(|p| p.blobs.len()).sum::<usize>() >= INDEX_FLUSH_BLOBS {
                    std::mem::take(&mut *un)
                } else {
                    Vec::new()
                }
            };
            if !flush.is_empty() {
                this.write_index(flush).await?;
            }
            Ok(())
        });
        Ok(())
    }

    async fn write_index(&self, packs: Vec<IndexPack>) -> Result<()> {
        let file = IndexFile {
            supersedes: Vec::new(),
            packs,
        };
        let id = self.repo.save_unpacked(FileType::Index, &file).await?;
        self.stats.index_files.fetch_add(1, Ordering::Relaxed);
        lock(&self.index_files).push(id);
        tracing::debug!(index = %id.short(), packs = file.packs.len(), "index stored");
        Ok(())
    }

    async fn drain(&self, set: &Mutex<JoinSet<Result<()>>>) -> Result<()> {
        loop {
            let mut taken = std::mem::take(&mut *lock(set));
            if taken.is_empty() {
                return Ok(());
            }
            while let Some(res) = taken.join_next().await {
                res.map_err(Error::task)??;
            }
        }
    }

    /// Waits until every queued blob is in a stored pack and every pack is in a stored index
    /// file. After this returns, a snapshot may refer to the blobs.
    pub async fn finish(self: &Arc<Self>) -> Result<SaveSummary> {
        self.check_failed()?;
        self.drain(&self.encodes).await?;
        let rest: Vec<PackBuilder> = lock(&self.open_packs)
            .iter_mut()
            .filter_map(Option::take)
            .filter(|p| !p.is_empty())
            .collect();
        for p in rest {
            self.upload(p).await?;
        }
        self.drain(&self.uploads).await?;
        let un = std::mem::take(&mut *lock(&self.unindexed));
        if !un.is_empty() {
            self.write_index(un).await?;
        }
        Ok(SaveSummary {
            data_blobs: self.stats.data_blobs.load(Ordering::Relaxed),
            tree_blobs: self.stats.tree_blobs.load(Ordering::Relaxed),
            bytes_plain: self.stats.bytes_plain.load(Ordering::Relaxed),
            bytes_stored: self.stats.bytes_stored.load(Ordering::Relaxed),
            packs: self.stats.packs.load(Ordering::Relaxed),
            index_files: lock(&self.index_files).clone(),
        })
    }
}
