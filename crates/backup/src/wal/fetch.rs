//! `wal fetch`: bring an archived WAL file back for PostgreSQL's restore_command, with an
//! optional prefetch of the segments that follow.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::catalog::{Catalog, CatalogFile};
use super::error::{PitrError, PitrResult};
use super::name::{SegmentId, WalFileName};
use super::writer::read_blob;
use crate::repo::Repository;

/// Blobs read at once for one file.
const BLOB_CONCURRENCY: usize = 4;

/// Knobs of fetching.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// A local directory of prefetched files: looked in first, filled with the segments after
    /// a fetched one. `None`: no prefetch.
    pub spool: Option<PathBuf>,
    /// How many following segments one fetch brings into the spool.
    pub prefetch: usize,
    /// Files prefetched at once.
    pub prefetch_concurrency: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            spool: None,
            prefetch: 16,
            prefetch_concurrency: 4,
        }
    }
}

/// Where a fetched file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FetchSource {
    /// The prefetch spool (already verified when it was prefetched).
    Spool,
    /// The repository.
    Repository,
}

/// Looks in the spool only; returns `true` if `name` was there and is now at `dest`. Needs no
/// repository (and no password): the common case of a recovery with prefetch.
pub async fn fetch_from_spool(spool: &Path, name: &str, dest: &Path) -> PitrResult<bool> {
    let parsed: WalFileName =
        name.parse()
            .map_err(|e: super::name::BadWalName| PitrError::InvalidInput {
                field: "WAL file name",
                value: name.to_string(),
                rule: e.to_string(),
            })?;
    let src = spool.join(parsed.as_str());
    match tokio::fs::rename(&src, dest).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        // Another file system: copy, then drop the spool's copy.
        Err(e) if e.raw_os_error() == Some(18) => {
            write_verified_copy(&src, dest).await?;
            let _ = tokio::fs::remove_file(&src).await;
            Ok(true)
        }
        Err(e) => Err(PitrError::io("moving prefetched WAL file", &src, e)),
    }
}

async fn write_verified_copy(src: &Path, dest: &Path) -> PitrResult<()> {
    let data = tokio::fs::read(src)
        .await
        .map_err(|e| PitrError::io("reading", src, e))?;
    write_durably(dest, &data).await
}

/// Writes `data` to `dest` via a temporary file in the same directory, fsynced, then renamed.
async fn write_durably(dest: &Path, data: &[u8]) -> PitrResult<()> {
    let tmp = tmp_path(dest);
    let mut f = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| PitrError::io("creating", &tmp, e))?;
    f.write_all(data)
        .await
        .map_err(|e| PitrError::io("writing", &tmp, e))?;
    f.sync_all()
        .await
        .map_err(|e| PitrError::io("syncing", &tmp, e))?;
    drop(f);
    tokio::fs::rename(&tmp, dest)
        .await
        .map_err(|e| PitrError::io("renaming into place", dest, e))
}

fn tmp_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".thinledger-tmp{}", std::process::id()));
    dest.with_file_name(name)
}

/// Reads an archived file fully and checks its SHA-256 and size.
pub async fn read_archived(repo: &Arc<Repository>, entry: &CatalogFile) -> PitrResult<Vec<u8>> {
    let index = tokio::sync::OnceCell::new();
    let index = &index;
    let parts: Vec<Vec<u8>> = futures::stream::iter(entry.file.blobs.iter())
        .map(|b| async move { read_blob(repo, b, index).await })
        .buffered(BLOB_CONCURRENCY)
        .try_collect()
        .await?;
    let data = parts.concat();
    let name = entry.file.name.clone();
    if data.len() as u64 != entry.file.size {
        return Err(PitrError::Damaged {
            name,
            detail: format!("{} bytes read, {} recorded", data.len(), entry.file.size),
        });
    }
    let (data, sha) = tokio::task::spawn_blocking(move || {
        let sha = hex::encode(Sha256::digest(&data));
        (data, sha)
    })
    .await
    .map_err(|e| PitrError::Engine(crate::Error::Task(e.to_string())))?;
    if sha != entry.file.sha256 {
        return Err(PitrError::Damaged {
            name,
            detail: format!("SHA-256 {sha}, recorded {}", entry.file.sha256),
        });
    }
    Ok(data)
}

/// Fetches `name` from the repository to `dest` (written durably, then renamed into place).
/// A name the archive does not hold fails with [`PitrError::NotInArchive`] after one listing
/// of new snapshots. With a spool, the segments that follow are prefetched into it.
pub async fn fetch(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    name: &str,
    dest: &Path,
    opts: &FetchOptions,
) -> PitrResult<FetchSource> {
    if let Some(spool) = &opts.spool
        && fetch_from_spool(spool, name, dest).await?
    {
        return Ok(FetchSource::Spool);
    }
    let parsed: WalFileName =
        name.parse()
            .map_err(|e: super::name::BadWalName| PitrError::InvalidInput {
                field: "WAL file name",
                value: name.to_string(),
                rule: e.to_string(),
            })?;
    let entry = catalog
        .get(parsed.as_str())
        .cloned()
        .ok_or_else(|| PitrError::NotInArchive {
            name: name.to_string(),
            cluster: catalog.cluster().to_string(),
        })?;
    let data = read_archived(repo, &entry).await?;
    write_durably(dest, &data).await?;
    if let Some(spool) = &opts.spool {
        prefetch_after(repo, catalog, &parsed, spool, opts).await;
    }
    Ok(FetchSource::Repository)
}

/// Brings the segments after `name` (same timeline) into the spool; failures are only logged
/// (the fetch that needs the file will try the repository itself).
async fn prefetch_after(
    repo: &Arc<Repository>,
    catalog: &Catalog,
    name: &WalFileName,
    spool: &Path,
    opts: &FetchOptions,
) {
    let size = catalog.segment_size();
    let Some(start) = name.segment(size) else {
        return;
    };
    if let Err(e) = tokio::fs::create_dir_all(spool).await {
        tracing::warn!(spool = %spool.display(), error = %e, "cannot create the prefetch spool");
        return;
    }
    let wanted: Vec<CatalogFile> = (1..=opts.prefetch as u64)
        .map(|i| {
            SegmentId {
                timeline: start.timeline,
                segno: start.segno + i,
            }
            .file_name(size)
        })
        .filter(|n| !spool.join(n).exists())
        .filter_map(|n| catalog.get(&n).cloned())
        .collect();
    let n = futures::stream::iter(wanted)
        .map(|e| async move {
            let dest = spool.join(&e.file.name);
            match read_archived(repo, &e).await {
                Ok(data) => write_durably(&dest, &data).await.map(|_| 1usize),
                Err(err) => Err(err),
            }
        })
        .buffer_unordered(opts.prefetch_concurrency.max(1))
        .fold(0usize, |acc, r| async move {
            match r {
                Ok(n) => acc + n,
                Err(e) => {
                    tracing::warn!(error = %e, "prefetch failed");
                    acc
                }
            }
        })
        .await;
    tracing::debug!(prefetched = n, "prefetched following segments");
}
