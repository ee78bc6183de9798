//! `wal push`: store WAL files so that PostgreSQL may recycle them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::catalog::{ArchivedFile, Catalog, WAL_KEY, WAL_TAG, WalBatch};
use super::error::{PitrError, PitrResult};
use super::name::WalFileName;
use super::writer::StreamSnapshot;
use crate::repo::Repository;
use crate::saver::{Compression, SaverOptions};

/// Knobs of pushing.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Files read (chunked, hashed) at once within a batch.
    pub read_concurrency: usize,
    /// Blob saving (compression, pack size, parallel uploads).
    pub saver: SaverOptions,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            read_concurrency: 4,
            saver: SaverOptions {
                // zstd level 1, as pgBackRest's `compress-level=1`: against level -1 it left
                // real WAL a third smaller, which the encryption, hashing and writing of fewer
                // bytes paid back (bench/RESULTS.md, PITR).
                compression: Compression::Auto,
                upload_slots: 4,
                ..SaverOptions::default()
            },
        }
    }
}

/// What happened to one pushed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PushOutcome {
    /// Stored now.
    Stored,
    /// The archive already held an identical file; nothing was written.
    AlreadyArchived,
}

/// One file's result in a batch.
#[derive(Debug)]
pub struct PushResult {
    /// The file name.
    pub name: String,
    /// The SHA-256 of what was pushed (hex), when the file could be read.
    pub sha256: Option<String>,
    /// The file's [`file_identity`] while it was read, when it could be read.
    pub identity: Option<String>,
    /// Stored, already there, or why not.
    pub outcome: PitrResult<PushOutcome>,
}

/// Who a file is and whether it changed: device, inode, size, modification and change times
/// (nanoseconds). Any write changes the change time, which no program can set back, so
/// equal identities before and after reading mean the content read is the file's; the
/// asynchronous push compares identities instead of hashing the file a second time.
pub fn file_identity(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{}:{}:{}:{}.{:09}:{}.{:09}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}

/// The identity of the file at `path` now.
pub(crate) async fn identity_of(path: &Path) -> PitrResult<String> {
    tokio::fs::metadata(path)
        .await
        .map(|m| file_identity(&m))
        .map_err(|e| PitrError::io("reading WAL file", path, e))
}

/// Fails when the file at `path` is no longer the one read (`before`).
async fn unchanged_since(path: &Path, before: &str) -> PitrResult<()> {
    let after = identity_of(path).await?;
    if after == before {
        return Ok(());
    }
    Err(PitrError::io(
        "archiving WAL file",
        path,
        std::io::Error::other("the file changed while it was read; PostgreSQL will retry"),
    ))
}

fn mtime_of(meta: &std::fs::Metadata) -> Option<DateTime<FixedOffset>> {
    use std::os::unix::fs::MetadataExt;
    Utc.timestamp_opt(meta.mtime(), meta.mtime_nsec().clamp(0, 999_999_999) as u32)
        .single()
        .map(|t| t.fixed_offset())
}

/// SHA-256 (hex) of a whole file.
pub async fn sha256_file(path: &Path) -> PitrResult<String> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&p).map_err(|e| PitrError::io("reading", &p, e))?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).map_err(|e| PitrError::io("reading", &p, e))?;
        Ok(hex::encode(h.finalize()))
    })
    .await
    .map_err(|e| PitrError::Engine(crate::Error::Task(e.to_string())))?
}

/// Pushes WAL files into one batch snapshot. Each file's result is separate: a conflict or an
/// unreadable file fails only that file. A file counts as stored only once the snapshot that
/// names it is written (packs and index first), i.e. durably in the repository.
///
/// Takes a shared repository lock while writing.
pub async fn push_batch(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    paths: &[PathBuf],
    opts: &PushOptions,
) -> PitrResult<Vec<PushResult>> {
    push_batch_with(repo, catalog, paths, opts, true).await
}

/// [`push_batch`]; `take_lock` false when the caller already holds a shared lock (the
/// asynchronous worker holds one for its lifetime instead of one per batch).
pub(crate) async fn push_batch_with(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    paths: &[PathBuf],
    opts: &PushOptions,
    take_lock: bool,
) -> PitrResult<Vec<PushResult>> {
    let mut results: Vec<PushResult> = Vec::new();
    let mut to_store: Vec<(String, PathBuf)> = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Err(e) = name.parse::<WalFileName>() {
            results.push(PushResult {
                name: p.display().to_string(),
                sha256: None,
                identity: None,
                outcome: Err(PitrError::InvalidInput {
                    field: "WAL file path",
                    value: p.display().to_string(),
                    rule: e.to_string(),
                }),
            });
            continue;
        }
        if to_store.iter().any(|(n, _)| *n == name) || results.iter().any(|r| r.name == name) {
            continue;
        }
        if let Some(known) = catalog.get(&name) {
            // Already archived: identical is success, different is a loud failure.
            let archived = known.file.sha256.clone();
            let read = async {
                let before = identity_of(p).await?;
                let sha = sha256_file(p).await?;
                unchanged_since(p, &before).await?;
                Ok::<_, PitrError>((sha, before))
            };
            let (sha, identity, outcome) = match read.await {
                Ok((sha, id)) if sha == archived => {
                    (Some(sha), Some(id), Ok(PushOutcome::AlreadyArchived))
                }
                Ok((sha, id)) => (
                    Some(sha.clone()),
                    Some(id),
                    Err(PitrError::Conflict {
                        name: name.clone(),
                        archived,
                        offered: sha,
                    }),
                ),
                Err(e) => (None, None, Err(e)),
            };
            results.push(PushResult {
                name,
                sha256: sha,
                identity,
                outcome,
            });
        } else {
            to_store.push((name, p.clone()));
        }
    }
    if to_store.is_empty() {
        return Ok(results);
    }
    let lock = if take_lock {
        Some(repo.lock(false).await?)
    } else {
        None
    };
    let stored = store_files(repo, catalog, to_store, opts).await;
    if let Some(lock) = lock {
        lock.release().await?;
    }
    results.extend(stored?);
    Ok(results)
}

async fn store_files(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    files: Vec<(String, PathBuf)>,
    opts: &PushOptions,
) -> PitrResult<Vec<PushResult>> {
    let writer = Arc::new(StreamSnapshot::new(repo, opts.saver.clone()));
    type Read = PitrResult<(
        String,
        Option<DateTime<FixedOffset>>,
        super::writer::SavedStream,
    )>;
    let read: Vec<(String, Read)> = futures::stream::iter(files)
        .map(|(name, path)| {
            let writer = Arc::clone(&writer);
            async move {
                let res = async {
                    let f = std::fs::File::open(&path)
                        .map_err(|e| PitrError::io("opening WAL file", &path, e))?;
                    let meta = f
                        .metadata()
                        .map_err(|e| PitrError::io("reading WAL file", &path, e))?;
                    let identity = file_identity(&meta);
                    let saved = writer
                        .save_file(f)
                        .await?
                        .map_err(|e| PitrError::io("reading WAL file", &path, e))?;
                    unchanged_since(&path, &identity).await?;
                    Ok((identity, mtime_of(&meta), saved))
                }
                .await;
                (name, res)
            }
        })
        .buffer_unordered(opts.read_concurrency.max(1))
        .collect()
        .await;
    let mut results = Vec::new();
    let mut ok = Vec::new();
    for (name, r) in read {
        match r {
            Ok((identity, mtime, saved)) => ok.push((name, mtime, saved, identity)),
            Err(e @ PitrError::Engine(_)) => return Err(e),
            Err(e) => results.push(PushResult {
                name,
                sha256: None,
                identity: None,
                outcome: Err(e),
            }),
        }
    }
    if ok.is_empty() {
        return Ok(results);
    }
    let writer = Arc::try_unwrap(writer)
        .map_err(|_| PitrError::Engine(crate::Error::Task("batch writer still shared".into())))?;
    let tree_files = ok
        .iter()
        .map(|(n, m, s, _)| (n.clone(), s.size, *m, s.ids.clone()))
        .collect();
    let cluster = catalog.cluster().to_string();
    let mut batch_out = None;
    let snapshot = writer
        .finish(
            tree_files,
            vec![WAL_TAG.to_string(), format!("cluster={cluster}")],
            |locate| {
                let files: Vec<ArchivedFile> = ok
                    .iter()
                    .map(|(n, m, s, _)| ArchivedFile {
                        name: n.clone(),
                        size: s.size,
                        sha256: s.sha256.clone(),
                        mtime: *m,
                        blobs: s.ids.iter().map(locate).collect(),
                    })
                    .collect();
                let batch = WalBatch {
                    version: 1,
                    cluster: cluster.clone(),
                    files,
                };
                let mut extra = serde_json::Map::new();
                if let Ok(v) = serde_json::to_value(&batch) {
                    extra.insert(WAL_KEY.to_string(), v);
                }
                batch_out = Some(batch);
                extra
            },
        )
        .await?;
    if let Some(batch) = batch_out {
        catalog.add_batch(snapshot, Utc::now().fixed_offset(), batch);
    }
    tracing::info!(snapshot = %snapshot.short(), files = ok.len(), "WAL batch stored");
    for (name, _, s, identity) in ok {
        results.push(PushResult {
            name,
            sha256: Some(s.sha256),
            identity: Some(identity),
            outcome: Ok(PushOutcome::Stored),
        });
    }
    Ok(results)
}
