//! `wal push`: store WAL files so that PostgreSQL may recycle them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::catalog::{ArchivedFile, Catalog, WAL_KEY, WAL_TAG, WalBatch};
use super::name::{MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, WalFileKind, WalFileName};
use super::writer::{self, StreamSnapshot};
use crate::error::{PitrError, PitrResult};
use thinledger_repository::Id;
use thinledger_repository::Repository;
use thinledger_repository::raw::BufferPool;
use thinledger_repository::{Compression, SaverOptions};

/// Knobs of pushing.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
            // zstd level 1, as pgBackRest's `compress-level=1`: against level -1 it left real
            // WAL a third smaller, which the encryption, hashing and writing of fewer bytes
            // paid back (bench/RESULTS.md, PITR).
            saver: SaverOptions::default()
                .with_compression(Compression::Auto)
                .with_upload_slots(4),
        }
    }
}

impl PushOptions {
    /// Sets [`PushOptions::read_concurrency`].
    pub fn with_read_concurrency(mut self, files: usize) -> Self {
        self.read_concurrency = files;
        self
    }

    /// Sets [`PushOptions::saver`].
    pub fn with_saver(mut self, saver: SaverOptions) -> Self {
        self.saver = saver;
        self
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
    .map_err(|e| PitrError::Engine(thinledger_repository::Error::Task(e.to_string())))?
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
    let Classified {
        mut results,
        to_store,
    } = classify(catalog, paths).await;
    if to_store.is_empty() {
        return Ok(results);
    }
    let lock = repo.lock(false).await?;
    let stored = async {
        let staged = stage(
            repo,
            catalog.cluster(),
            to_store,
            opts,
            writer::file_buffers(1),
        )
        .await?;
        staged.commit().await
    }
    .await;
    lock.release().await?;
    results.extend(stored?.record(catalog));
    Ok(results)
}

/// A batch sorted out against the catalog: the files already archived (identical, or in
/// conflict) have their results; the rest are to be stored.
pub(crate) struct Classified {
    pub results: Vec<PushResult>,
    pub to_store: Vec<(String, PathBuf)>,
}

/// Sorts `paths` out: invalid names and files the catalog already holds get their result
/// (an archived name is read and compared: identical is success, different a conflict);
/// the others are returned to be stored, each name once.
pub(crate) async fn classify(catalog: &Catalog, paths: &[PathBuf]) -> Classified {
    let mut results: Vec<PushResult> = Vec::new();
    let mut to_store: Vec<(String, PathBuf)> = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = match name.parse::<WalFileName>() {
            Ok(parsed) => parsed,
            Err(e) => {
                results.push(PushResult {
                    name: p.display().to_string(),
                    sha256: None,
                    identity: None,
                    outcome: Err(PitrError::invalid(
                        "WAL file path",
                        p.display().to_string(),
                        e.to_string(),
                    )),
                });
                continue;
            }
        };
        if to_store.iter().any(|(n, _)| *n == name) || results.iter().any(|r| r.name == name) {
            continue;
        }
        if let Err(e) = check_size(&parsed, p, catalog.known_segment_size()).await {
            results.push(PushResult {
                name,
                sha256: None,
                identity: None,
                outcome: Err(e),
            });
            continue;
        }
        let Some(known) = catalog.get(&name) else {
            to_store.push((name, p.clone()));
            continue;
        };
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
    }
    Classified { results, to_store }
}

/// Refuses a file whose size cannot be what PostgreSQL archives under its name: a segment
/// (or `.partial` segment) of a size that is not a WAL segment size (a power of two from
/// 1 MiB to 1 GiB, and the archive's own once it holds segments), such as a 0-byte file left
/// by a crash or a copy that failed. Archiving it would acknowledge a segment the archive
/// cannot replay, and later pushes of the real file would conflict. A `.partial` segment
/// is the promoted server's last segment file: not empty, at most a segment. History files
/// and backup labels are small text files of any size.
async fn check_size(name: &WalFileName, path: &Path, known: Option<u64>) -> PitrResult<()> {
    let partial = match name.kind() {
        WalFileKind::Segment { .. } => false,
        WalFileKind::Partial { .. } => true,
        _ => return Ok(()),
    };
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| PitrError::io("reading WAL file", path, e))?
        .len();
    let valid = (MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size) && size.is_power_of_two();
    let rule = match (partial, known) {
        (false, Some(segment)) if size == segment => return Ok(()),
        (false, Some(segment)) => format!(
            "it holds {size} bytes, but this cluster's WAL segments are {segment} bytes (from the              archive): not a whole segment (a truncated or empty copy?); PostgreSQL will retry.              If the server was re-initialised with another --wal-segsize, archive it under a new --cluster"
        ),
        (false, None) if !valid => format!(
            "it holds {size} bytes, which is not a WAL segment size (a power of two from 1 MiB              to 1 GiB): not a whole segment (a truncated or empty copy?); PostgreSQL will retry"
        ),
        (true, known) if size == 0 || size > known.unwrap_or(MAX_SEGMENT_SIZE) => format!(
            "a .partial segment holds up to one segment ({} bytes), not {size}",
            known.unwrap_or(MAX_SEGMENT_SIZE)
        ),
        _ => return Ok(()),
    };
    Err(PitrError::invalid(
        "WAL file",
        path.display().to_string(),
        rule,
    ))
}

/// A file read into the batch: name, identity while read, modification time, blobs.
struct ReadFile {
    name: String,
    identity: String,
    mtime: Option<DateTime<FixedOffset>>,
    saved: writer::SavedStream,
}

/// A batch whose files are all read and queued to its writer: what is left is to store the
/// packs, the index and the snapshot ([`StagedBatch::commit`]), which needs no further input,
/// so the next batch can be read meanwhile.
pub(crate) struct StagedBatch {
    writer: StreamSnapshot,
    cluster: String,
    read: Vec<ReadFile>,
    /// Files that could not be read (reported, not stored).
    failed: Vec<PushResult>,
}

/// A stored batch: its snapshot and record (none when nothing was readable), and the results.
pub(crate) struct CommittedBatch {
    stored: Option<(Id, WalBatch)>,
    results: Vec<PushResult>,
}

impl CommittedBatch {
    /// Adds the stored batch to `catalog`; returns every file's result.
    pub(crate) fn record(self, catalog: &mut Catalog) -> Vec<PushResult> {
        if let Some((snapshot, batch)) = self.stored {
            catalog.add_batch(snapshot, Utc::now().fixed_offset(), batch);
        }
        self.results
    }
}

/// Reads `files` (up to `read_concurrency` at once) and queues their blobs to a new batch
/// writer whose whole-file buffers come from `buffers`. Unreadable files fail alone; a
/// repository failure fails the batch.
pub(crate) async fn stage(
    repo: &Arc<Repository>,
    cluster: &str,
    files: Vec<(String, PathBuf)>,
    opts: &PushOptions,
    buffers: Arc<BufferPool>,
) -> PitrResult<StagedBatch> {
    let writer = Arc::new(StreamSnapshot::with_file_buffers(
        repo,
        opts.saver.clone(),
        buffers,
    ));
    let outcomes: Vec<(String, PitrResult<ReadFile>)> = futures::stream::iter(files)
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
                    Ok(ReadFile {
                        name: name.clone(),
                        identity,
                        mtime: mtime_of(&meta),
                        saved,
                    })
                }
                .await;
                (name, res)
            }
        })
        .buffer_unordered(opts.read_concurrency.max(1))
        .collect()
        .await;
    let mut read = Vec::new();
    let mut failed = Vec::new();
    for (name, r) in outcomes {
        match r {
            Ok(f) => read.push(f),
            Err(e @ PitrError::Engine(_)) => return Err(e),
            Err(e) => failed.push(PushResult {
                name,
                sha256: None,
                identity: None,
                outcome: Err(e),
            }),
        }
    }
    let writer = Arc::try_unwrap(writer).map_err(|_| {
        PitrError::Engine(thinledger_repository::Error::Task(
            "batch writer still shared".into(),
        ))
    })?;
    Ok(StagedBatch {
        writer,
        cluster: cluster.to_string(),
        read,
        failed,
    })
}

impl StagedBatch {
    /// Stores the batch: packs and index, then the snapshot naming its files. Only then do
    /// its files count as archived.
    pub(crate) async fn commit(self) -> PitrResult<CommittedBatch> {
        let StagedBatch {
            writer,
            cluster,
            read,
            mut failed,
        } = self;
        if read.is_empty() {
            return Ok(CommittedBatch {
                stored: None,
                results: failed,
            });
        }
        let tree_files = read
            .iter()
            .map(|f| (f.name.clone(), f.saved.size, f.mtime, f.saved.ids.clone()))
            .collect();
        let mut batch_out = None;
        let snapshot = writer
            .finish(
                tree_files,
                vec![WAL_TAG.to_string(), format!("cluster={cluster}")],
                |locate| {
                    let files: Vec<ArchivedFile> = read
                        .iter()
                        .map(|f| ArchivedFile {
                            name: f.name.clone(),
                            size: f.saved.size,
                            sha256: f.saved.sha256.clone(),
                            mtime: f.mtime,
                            blobs: f.saved.ids.iter().map(locate).collect(),
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
        tracing::info!(snapshot = %snapshot.short(), files = read.len(), "WAL batch stored");
        failed.extend(read.into_iter().map(|f| PushResult {
            name: f.name,
            sha256: Some(f.saved.sha256),
            identity: Some(f.identity),
            outcome: Ok(PushOutcome::Stored),
        }));
        Ok(CommittedBatch {
            stored: batch_out.map(|b| (snapshot, b)),
            results: failed,
        })
    }
}
