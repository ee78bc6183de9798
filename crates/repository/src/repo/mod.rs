//! restic repository format version 2: files, keys, blobs, packs, index, trees, snapshots,
//! locks. See restic's design document for the format; this module says only what it decided.

pub mod backend;
pub mod config;
pub mod crypto;
pub mod goquote;
pub mod host;
pub mod id;
pub mod index;
pub mod key;
pub mod lock;
pub mod name;
pub mod pack;
pub mod retained;
pub mod snapshot;
pub mod stray;
pub mod tree;

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use backend::{Backend, FileType};
use config::{ChunkerParams, Config};
use crypto::Key;
use id::Id;
use index::{BlobKey, BlobLocation, Index, IndexFile};
use key::{KdfParams, KeyFile, Password};
use pack::BlobType;
use snapshot::{Snapshot, SnapshotEntry, SnapshotFilter};
use tree::Tree;

use crate::{Error, Result};

/// How many key files `open` tries before giving up (each costs a key derivation).
const MAX_KEYS_TRIED: usize = 20;
/// Concurrent reads when loading many small files (index, snapshots).
const LOAD_CONCURRENCY: usize = 8;

/// An index file that could not be used: its id and why.
#[derive(Debug, Clone, Serialize)]
pub struct IndexProblem {
    /// The index file's id.
    pub id: Id,
    /// What is wrong with it.
    pub error: String,
}

/// Options for [`Repository::init`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InitOptions {
    /// scrypt parameters of the first key file.
    pub kdf: KdfParams,
    /// Chunk files as another repository does (restic's `init --copy-chunker-params`);
    /// `None`: new random parameters.
    pub chunker_params: Option<ChunkerParams>,
}

impl InitOptions {
    /// Sets `kdf`: scrypt parameters of the first key file.
    #[must_use]
    pub fn with_kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    /// Sets `chunker_params`: the new repository cuts files into chunks where the one with
    /// these parameters ([`Config::chunker_params`]) does, so `copy` into it and backups into
    /// both deduplicate. [`Repository::init`] refuses a polynomial that is not irreducible of
    /// degree 53.
    #[must_use]
    pub fn with_chunker_params(mut self, params: ChunkerParams) -> Self {
        self.chunker_params = Some(params);
        self
    }
}

/// An open repository: its store, master key and config, and (once loaded) its index.
pub struct Repository {
    pub(crate) backend: Backend,
    pub(crate) key: Key,
    config: Config,
    index: RwLock<Index>,
    /// How often a held lock is rewritten (see [`Repository::with_lock_refresh`]).
    pub(crate) lock_refresh: std::time::Duration,
    /// How long taking a lock waits for a conflicting one to go (see [`Repository::with_lock_wait`]).
    pub(crate) lock_wait: std::time::Duration,
    /// Shared locks are not written (see [`Repository::with_no_lock`]).
    pub(crate) no_lock: bool,
    /// The local folder, if any (see [`Repository::with_local_root`]).
    pub(crate) local_root: Option<std::path::PathBuf>,
    /// What the store knows of the repository's object lock (see
    /// [`Repository::with_object_lock`]); `None` until told, when it is read from the
    /// repository's record where needed.
    pub(crate) object_lock: Option<Option<thinledger_store::ObjectLock>>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("location", &self.backend.location())
            .field("version", &self.config.version)
            .finish_non_exhaustive()
    }
}

/// Zstandard level for repository metadata (index, snapshots, trees).
const META_ZSTD_LEVEL: i32 = 3;

pub(crate) fn zstd_compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    zstd::bulk::compress(data, level).map_err(|e| Error::Task(format!("zstd compression: {e}")))
}

fn zstd_decompress_unknown(data: &[u8], what: &str) -> Result<Vec<u8>> {
    zstd::stream::decode_all(data).map_err(|e| Error::corrupt(what, format!("zstd: {e}")))
}

impl Repository {
    /// The repository on `backend` opened with `key`, with default locking and no index
    /// loaded yet.
    fn with_key(backend: Backend, key: Key, config: Config) -> Self {
        Repository {
            backend,
            key,
            config,
            index: RwLock::new(Index::default()),
            lock_refresh: lock::REFRESH_EVERY,
            lock_wait: std::time::Duration::ZERO,
            no_lock: false,
            local_root: None,
            object_lock: None,
        }
    }

    /// Creates a repository (format version 2) in an empty store location.
    pub async fn init(
        store: Arc<dyn ObjectStore>,
        location: impl Into<String>,
        password: &Password,
        options: &InitOptions,
    ) -> Result<Repository> {
        let backend = Backend::new(store, location.into());
        if backend
            .get_opt(FileType::Config, &Id::default())
            .await?
            .is_some()
        {
            return Err(Error::AlreadyInitialized {
                location: backend.location().to_string(),
            });
        }
        let mut config = Config::new_v2()?;
        if let Some(p) = options.chunker_params {
            let poly = p.polynomial;
            if config::degree(poly.0) != 53 || !poly.is_irreducible() {
                return Err(Error::InvalidInput {
                    field: "chunker_polynomial",
                    value: format!("{:x}", poly.0),
                    rule: "must be an irreducible polynomial of degree 53, as in a restic repository's config; take it from the source repository's config".into(),
                });
            }
            config.chunker_polynomial = poly;
            config.chunker_id = (p.key_id != config.id).then_some(p.key_id);
        }
        let master = Key::random()?;
        let who = host::Identity::current();
        let kf = {
            let master = master.clone();
            let password = password.clone();
            let kdf = options.kdf;
            tokio::task::spawn_blocking(move || {
                KeyFile::create(&master, &password, kdf, who.username, who.hostname)
            })
            .await
            .map_err(Error::task)??
        };
        let kf_json = serde_json::to_vec(&kf).map_err(|e| Error::Task(e.to_string()))?;
        backend
            .put_create(FileType::Key, &Id::hash(&kf_json), Bytes::from(kf_json))
            .await?;
        let repo = Repository::with_key(backend, master, config);
        // restic reads `config` before it knows the version, so it is never compressed.
        let cfg_json = serde_json::to_vec(&repo.config).map_err(|e| Error::Task(e.to_string()))?;
        let enc = repo.key.encrypt(&cfg_json)?;
        repo.backend
            .put_create(FileType::Config, &Id::default(), Bytes::from(enc))
            .await?;
        tracing::info!(location = repo.backend.location(), id = %repo.config.id.short(), "repository created");
        Ok(repo)
    }

    /// Opens a repository with a password.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        location: impl Into<String>,
        password: &Password,
    ) -> Result<Repository> {
        let backend = Backend::new(store, location.into());
        let Some(cfg_bytes) = backend.get_opt(FileType::Config, &Id::default()).await? else {
            return Err(Error::NoRepository {
                location: backend.location().to_string(),
            });
        };
        let keys = backend.list(FileType::Key).await?;
        if keys.is_empty() {
            return Err(Error::corrupt("keys/", "the repository has no key files"));
        }
        let mut master = None;
        for (id, _) in keys.iter().take(MAX_KEYS_TRIED) {
            let raw = backend.get(FileType::Key, id).await?;
            let what = format!("key file {}", id.short());
            let kf: KeyFile = serde_json::from_slice(&raw)
                .map_err(|e| Error::corrupt(&what, format!("not a key file: {e}")))?;
            let password = password.clone();
            let found = tokio::task::spawn_blocking(move || kf.open(&password, &what))
                .await
                .map_err(Error::task)??;
            if let Some(k) = found {
                tracing::debug!(key = %id.short(), "password opened key file");
                master = Some(k);
                break;
            }
        }
        let Some(key) = master else {
            return Err(Error::WrongPassword {
                keys: keys.len().min(MAX_KEYS_TRIED),
            });
        };
        let plain = key
            .decrypt(&cfg_bytes)
            .map_err(|e| Error::corrupt("config", e.to_string()))?;
        let plain = decode_unpacked_plain(plain, "config")?;
        let config: Config = serde_json::from_slice(&plain)
            .map_err(|e| Error::corrupt("config", format!("not the expected JSON: {e}")))?;
        if !(1..=2).contains(&config.version) {
            return Err(Error::Unsupported {
                detail: format!(
                    "repository format version {} (this engine reads versions 1 and 2)",
                    config.version
                ),
            });
        }
        Ok(Repository::with_key(backend, key, config))
    }

    /// Opens the repository for reading without locking it (restic's `--no-lock`): shared
    /// locks (check, restore, dump, ls, copy's source) write nothing, so a user or a credential
    /// without write access can read, and an immutable bucket can be restored from. The price:
    /// a concurrent `prune` elsewhere may delete packs while they are read (that read then
    /// fails; it never returns wrong data, every blob is authenticated). Operations that need
    /// an exclusive lock (prune, forget) are refused with [`Error::InvalidInput`].
    #[must_use]
    pub fn with_no_lock(mut self) -> Repository {
        self.no_lock = true;
        self
    }

    /// Whether the repository was opened with [`Repository::with_no_lock`].
    pub fn is_no_lock(&self) -> bool {
        self.no_lock
    }

    /// Sets how long taking a lock keeps retrying while another process holds a conflicting
    /// one (default zero: fail at once with [`Error::Locked`], like restic without
    /// `--retry-lock`). Schedulers and unattended jobs set this so that two jobs on one
    /// repository take turns instead of failing.
    #[must_use]
    pub fn with_lock_wait(mut self, wait: std::time::Duration) -> Repository {
        self.lock_wait = wait;
        self
    }

    /// Sets how often a lock this repository holds is rewritten with a fresh time (default
    /// 5 minutes). Others treat a lock as stale after 30 minutes without a refresh, so
    /// the interval is kept between 100 ms and a third of that.
    #[must_use]
    pub fn with_lock_refresh(mut self, every: std::time::Duration) -> Repository {
        self.lock_refresh = every
            .max(std::time::Duration::from_millis(100))
            .min(lock::STALE_AFTER / 3);
        self
    }

    /// The decrypted config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the repository is (a URL without secrets).
    pub fn location(&self) -> &str {
        self.backend.location()
    }

    /// The object store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.backend.store()
    }

    /// The object-lock (immutability) policy of the repository, if any: the one given with
    /// [`Repository::with_object_lock`], else the one recorded in the repository (a read).
    pub async fn object_lock(&self) -> Result<Option<thinledger_store::ObjectLockOptions>> {
        if let Some(known) = &self.object_lock {
            return Ok(known.as_ref().map(|l| l.policy()));
        }
        thinledger_store::ObjectLockOptions::recorded(self.store().as_ref())
            .await
            .map_err(|e| Error::Unsupported {
                detail: format!("the repository's object-lock policy cannot be read: {e}"),
            })
    }

    /// Tells the repository what its store knows of its object lock
    /// ([`Store::object_lock`](thinledger_store::Store::object_lock) of a store built with
    /// [`StoreBuilder::build_with_recorded_policy`](thinledger_store::StoreBuilder::build_with_recorded_policy)):
    /// `Some` for an immutable repository, whose forget and prune then delete only objects
    /// whose retention has passed and whose check compares each object's retention with the
    /// policy; `None` for one without retention. Without this call the repository reads its
    /// record when a command would delete, and refuses the deletes of an immutable repository
    /// ([`Error::Retained`]), since it cannot tell which objects are retained.
    #[must_use]
    pub fn with_object_lock(mut self, lock: Option<thinledger_store::ObjectLock>) -> Repository {
        self.object_lock = Some(lock);
        self
    }

    /// The files of one type and their sizes (a listing of the store, no index needed).
    pub async fn list_files(&self, ty: FileType) -> Result<Vec<(Id, u64)>> {
        self.backend.list(ty).await
    }

    /// Reads `range` of a stored file as it is (still encrypted), e.g. one blob of a pack at
    /// a recorded location; decode it with [`Repository::decode_blob`].
    pub async fn read_range(
        &self,
        ty: FileType,
        id: &Id,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes> {
        self.backend.get_range(ty, id, range).await
    }

    /// Encrypts (and for v2 compresses) a JSON document as restic stores unpacked files
    /// (snapshots, index, keys); used for records kept beside the repository, such as caches.
    pub fn encode_unpacked(&self, json: &[u8]) -> Result<Vec<u8>> {
        if self.config.version >= 2 {
            let mut plain = Vec::with_capacity(json.len() / 3 + 16);
            plain.push(2u8);
            plain.extend_from_slice(&zstd_compress(json, META_ZSTD_LEVEL)?);
            self.key.encrypt(&plain)
        } else {
            self.key.encrypt(json)
        }
    }

    /// Encrypts (and for v2 compresses) a JSON document and stores it under its hash.
    pub(crate) async fn save_unpacked<T: Serialize>(&self, ty: FileType, value: &T) -> Result<Id> {
        let json = serde_json::to_vec(value).map_err(|e| Error::Task(e.to_string()))?;
        let data = self.encode_unpacked(&json)?;
        let id = Id::hash(&data);
        self.backend.put_create(ty, &id, Bytes::from(data)).await?;
        Ok(id)
    }

    /// Decrypts, decompresses and parses what [`Repository::encode_unpacked`] wrote; `what`
    /// names the file in errors.
    pub fn decode_unpacked<T: DeserializeOwned>(&self, data: &[u8], what: &str) -> Result<T> {
        let plain = self
            .key
            .decrypt(data)
            .map_err(|e| Error::corrupt(what, e.to_string()))?;
        let plain = decode_unpacked_plain(plain, what)?;
        serde_json::from_slice(&plain)
            .map_err(|e| Error::corrupt(what, format!("unexpected JSON: {e}")))
    }

    /// Loads, checks (hash, MAC) and parses a JSON file; `Ok(None)` if it is gone.
    pub async fn load_unpacked_opt<T: DeserializeOwned>(
        &self,
        ty: FileType,
        id: &Id,
    ) -> Result<Option<T>> {
        let Some(data) = self.backend.get_opt(ty, id).await? else {
            return Ok(None);
        };
        let what = format!("{} {}", ty.dir(), id.short());
        if Id::hash(&data) != *id {
            return Err(Error::corrupt(
                what,
                "content does not match its name (SHA-256)",
            ));
        }
        self.decode_unpacked(&data, &what).map(Some)
    }

    /// Loads, checks (hash, MAC) and parses a JSON file.
    pub(crate) async fn load_unpacked<T: DeserializeOwned>(
        &self,
        ty: FileType,
        id: &Id,
    ) -> Result<T> {
        self.load_unpacked_opt(ty, id).await?.ok_or_else(|| {
            Error::corrupt(format!("{} {}", ty.dir(), id.short()), "listed but missing")
        })
    }

    /// Every pack the store holds, with its size: one listing of `data/`.
    pub(crate) async fn stored_packs(&self) -> Result<std::collections::HashMap<Id, u64>> {
        Ok(self
            .backend
            .list(FileType::Pack)
            .await?
            .into_iter()
            .collect())
    }

    /// Loads every index file into memory, replacing what was loaded before.
    ///
    /// Tolerant, for paths that only read: an index file that is damaged (bad MAC or hash,
    /// not an index) is skipped with a warning naming it, so that data the other index files
    /// describe stays readable; what only the skipped file describes then reads as "not in the
    /// index". Store failures (network, permissions) still fail. Writers that must not act
    /// on an incomplete index use [`Repository::load_index_strict`]; [`crate::check()`] reports
    /// damaged index files as errors.
    ///
    /// Entries of packs the store no longer holds are left out (one listing of `data/`), so
    /// that a blob stored again elsewhere is read from there, and a writer (backup) stores a
    /// blob whose pack is gone again instead of referring to it.
    pub async fn load_index(&self) -> Result<()> {
        let (files, skipped) = self.load_index_files_tolerant().await?;
        let present = self.stored_packs().await?;
        let mut index = Index::default();
        let mut missing = 0usize;
        for (_, f) in &files {
            for p in &f.packs {
                if present.contains_key(&p.id) {
                    index.add_pack(p.id, &p.packed_blobs());
                } else {
                    missing += 1;
                }
            }
        }
        if missing > 0 {
            tracing::warn!(
                packs = missing,
                "the index names packs the store does not hold; their blobs are treated as missing (run `check`, then `repair index`)"
            );
        }
        self.with_index_mut(|i| *i = index);
        for p in &skipped {
            tracing::warn!(index = %p.id, error = %p.error, "skipping a damaged index file; run `check`, then `repair index`");
        }
        Ok(())
    }

    /// Like [`Repository::load_index`], but a damaged index file is an error: for operations
    /// that would delete or rewrite data on the strength of the index (prune).
    pub async fn load_index_strict(&self) -> Result<()> {
        self.load_index_files().await.map(|_| ())
    }

    /// Loads every index file strictly, returning them with their ids.
    pub(crate) async fn load_index_files(&self) -> Result<Vec<(Id, IndexFile)>> {
        let (files, skipped) = self.load_index_files_tolerant().await?;
        if let Some(p) = skipped.into_iter().next() {
            return Err(Error::corrupt(
                format!("index {}", p.id.short()),
                format!(
                    "{}; the index would be incomplete, so this operation refuses to run: run `check`, then `repair index`",
                    p.error
                ),
            ));
        }
        Ok(files)
    }

    /// Loads every readable index file into memory; damaged ones are returned, not loaded.
    pub(crate) async fn load_index_files_tolerant(
        &self,
    ) -> Result<(Vec<(Id, IndexFile)>, Vec<IndexProblem>)> {
        let ids = self.backend.list(FileType::Index).await?;
        let loaded: Vec<(Id, Result<IndexFile>)> = futures::stream::iter(ids)
            .map(|(id, _)| async move {
                (
                    id,
                    self.load_unpacked::<IndexFile>(FileType::Index, &id).await,
                )
            })
            .buffer_unordered(LOAD_CONCURRENCY)
            .collect()
            .await;
        let mut files = Vec::with_capacity(loaded.len());
        let mut skipped = Vec::new();
        for (id, res) in loaded {
            match res {
                Ok(f) => files.push((id, f)),
                Err(e @ (Error::Corrupt { .. } | Error::Unsupported { .. })) => {
                    skipped.push(IndexProblem {
                        id,
                        error: e.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        files.sort_by_key(|(id, _)| *id);
        skipped.sort_by_key(|p| p.id);
        let mut index = Index::default();
        for (_, f) in &files {
            index.add_file(f);
        }
        tracing::debug!(
            files = files.len(),
            skipped = skipped.len(),
            blobs = index.len(),
            "index loaded"
        );
        *self
            .index
            .write()
            .map_err(|_| Error::Task("index lock poisoned".into()))? = index;
        Ok((files, skipped))
    }

    /// Runs `f` with the in-memory index.
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        match self.index.read() {
            Ok(g) => f(&g),
            Err(p) => f(&p.into_inner()),
        }
    }

    pub(crate) fn with_index_mut<R>(&self, f: impl FnOnce(&mut Index) -> R) -> R {
        match self.index.write() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Where a blob is stored.
    pub fn locate(&self, id: &Id, ty: BlobType) -> Option<BlobLocation> {
        self.with_index(|i| i.get(&BlobKey { id: *id, ty }))
    }

    /// Decrypts, decompresses and checks a blob read from its pack. CPU-bound.
    pub fn decode_blob(&self, id: &Id, loc: &BlobLocation, encrypted: &[u8]) -> Result<Vec<u8>> {
        decode_blob_with(&self.key, id, loc, encrypted)
    }

    /// Reads one blob.
    pub async fn load_blob(&self, id: &Id, ty: BlobType) -> Result<Vec<u8>> {
        let loc = self.locate(id, ty).ok_or_else(|| {
            Error::corrupt(format!("{ty} blob {}", id.short()), "not in the index")
        })?;
        let range = u64::from(loc.offset)..u64::from(loc.offset) + u64::from(loc.length);
        let enc = self
            .backend
            .get_range(FileType::Pack, &loc.pack, range)
            .await?;
        if enc.len() > 256 * 1024 {
            let this = self.key.clone();
            let (id2, loc2) = (*id, loc);
            let plain =
                tokio::task::spawn_blocking(move || decode_blob_with(&this, &id2, &loc2, &enc))
                    .await
                    .map_err(Error::task)??;
            Ok(plain)
        } else {
            self.decode_blob(id, &loc, &enc)
        }
    }

    /// Reads and parses a tree.
    pub async fn load_tree(&self, id: &Id) -> Result<Tree> {
        let raw = self.load_blob(id, BlobType::Tree).await?;
        serde_json::from_slice(&raw).map_err(|e| {
            Error::corrupt(
                format!("tree {}", id.short()),
                format!("unexpected JSON: {e}"),
            )
        })
    }

    /// All snapshots, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotEntry>> {
        let ids = self.backend.list(FileType::Snapshot).await?;
        let mut all: Vec<SnapshotEntry> = futures::stream::iter(ids)
            .map(|(id, _)| async move {
                let s: Option<Snapshot> = self.load_unpacked_opt(FileType::Snapshot, &id).await?;
                Ok::<_, Error>(s.map(|snapshot| SnapshotEntry { id, snapshot }))
            })
            .buffer_unordered(LOAD_CONCURRENCY)
            .try_filter_map(|s| async move { Ok(s) })
            .try_collect()
            .await?;
        all.sort_by(|a, b| a.snapshot.time.cmp(&b.snapshot.time).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// The snapshots that pass `filter`, oldest first.
    pub async fn snapshots_matching(&self, filter: &SnapshotFilter) -> Result<Vec<SnapshotEntry>> {
        let mut all = self.snapshots().await?;
        all.retain(|s| filter.matches(&s.snapshot));
        Ok(all)
    }

    /// Finds a snapshot by `latest`, a full id or a unique id prefix.
    pub async fn find_snapshot(&self, query: &str) -> Result<SnapshotEntry> {
        self.find_snapshot_matching(query, &SnapshotFilter::default())
            .await
    }

    /// Like [`Repository::find_snapshot`], but `latest` is the newest snapshot that passes
    /// `filter` (an id must pass it too).
    pub async fn find_snapshot_matching(
        &self,
        query: &str,
        filter: &SnapshotFilter,
    ) -> Result<SnapshotEntry> {
        let all = self.snapshots_matching(filter).await?;
        let not_found = |detail: String| Error::SnapshotNotFound {
            query: query.to_string(),
            detail,
        };
        let filtered = if filter.is_empty() {
            String::new()
        } else {
            format!(" with {}", filter.describe())
        };
        if query == "latest" {
            return all.into_iter().last().ok_or_else(|| {
                not_found(if filtered.is_empty() {
                    "the repository has no snapshots".into()
                } else {
                    format!("the repository has no snapshot{filtered}; list them with `snapshots`")
                })
            });
        }
        if query.is_empty() || !query.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found(
                "give `latest`, an id, or a prefix of an id (hex digits)".into(),
            ));
        }
        let q = query.to_ascii_lowercase();
        let mut hits: Vec<SnapshotEntry> = all
            .into_iter()
            .filter(|s| s.id.to_hex().starts_with(&q))
            .collect();
        match hits.len() {
            0 => Err(not_found(format!(
                "no snapshot{filtered} has an id starting with it; list them with `snapshots`"
            ))),
            1 => Ok(hits.remove(0)),
            n => Err(not_found(format!(
                "{n} snapshots start with it; give more digits"
            ))),
        }
    }

    /// Stores a snapshot file.
    pub async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<Id> {
        self.save_unpacked(FileType::Snapshot, snapshot).await
    }

    /// Deletes a snapshot file.
    pub async fn delete_snapshot(&self, id: &Id) -> Result<()> {
        self.backend.delete(FileType::Snapshot, id).await
    }
}

pub(crate) fn decode_blob_with(
    key: &Key,
    id: &Id,
    loc: &BlobLocation,
    encrypted: &[u8],
) -> Result<Vec<u8>> {
    let what = || format!("blob {} in pack {}", id.short(), loc.pack.short());
    let plain = key
        .decrypt(encrypted)
        .map_err(|e| Error::corrupt(what(), e.to_string()))?;
    let plain = match loc.uncompressed_length {
        Some(n) => zstd::bulk::decompress(&plain, n as usize)
            .map_err(|e| Error::corrupt(what(), format!("zstd: {e}")))?,
        None => plain,
    };
    if Id::hash(&plain) != *id {
        return Err(Error::corrupt(
            what(),
            "content does not match its id (SHA-256)",
        ));
    }
    Ok(plain)
}

/// Strips the v2 encoding byte: `{`/`[` mean plain JSON, 2 means zstd-compressed JSON.
fn decode_unpacked_plain(plain: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    match plain.first() {
        None | Some(b'{') | Some(b'[') => Ok(plain),
        Some(2) => zstd_decompress_unknown(&plain[1..], what),
        Some(v) => Err(Error::Unsupported {
            detail: format!("{what} uses encoding version {v} (known: JSON, 2)"),
        }),
    }
}
