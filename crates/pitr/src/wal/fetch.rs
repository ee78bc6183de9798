//! `wal fetch`: bring an archived WAL file back for PostgreSQL's restore_command, with an
//! optional prefetch of the segments that follow.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::catalog::{Catalog, CatalogFile};
use super::name::{SegmentId, WalFileName};
use super::writer::read_blob;
use crate::error::{PitrError, PitrResult};
use thinledger_repository::Repository;

/// Blobs read at once for one file.
const BLOB_CONCURRENCY: usize = 4;

/// Knobs of fetching.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// A local directory of prefetched files: looked in first, filled with the segments after
    /// a fetched one. `None`: no prefetch.
    pub spool: Option<PathBuf>,
    /// How many following segments one fetch brings into the spool. Default 16.
    pub prefetch: usize,
    /// Files prefetched at once. Default 4.
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

impl FetchOptions {
    /// Sets [`FetchOptions::spool`].
    pub fn with_spool(mut self, spool: impl Into<PathBuf>) -> Self {
        self.spool = Some(spool.into());
        self
    }

    /// Sets [`FetchOptions::prefetch`].
    pub fn with_prefetch(mut self, segments: usize) -> Self {
        self.prefetch = segments;
        self
    }

    /// Sets [`FetchOptions::prefetch_concurrency`].
    pub fn with_prefetch_concurrency(mut self, files: usize) -> Self {
        self.prefetch_concurrency = files;
        self
    }
}

/// How long a spool's [`LISTING_FILE`] answers [`known_missing`] by default. PostgreSQL probes for files past the end of
/// the archive (the next segment, newer timelines' `.history`) several times while it
/// recovers; each probe would otherwise open the repository (a key derivation, ~0.3 s).
/// A file archived within this window of the last listing may be reported missing once;
/// PostgreSQL asks again (a standby every `wal_retrieve_retry_interval`).
pub const DEFAULT_LISTING_TTL: Duration = Duration::from_secs(15);

/// The file in a spool that records which names the archive held at a fetch's last look.
/// Not a valid WAL name, so it never collides with a prefetched file.
pub const LISTING_FILE: &str = "archive-listing.json";

/// What [`LISTING_FILE`] holds.
#[derive(Debug, Serialize, Deserialize)]
struct Listing {
    cluster: String,
    /// Unix time in milliseconds of the catalog this was written from.
    listed_at_ms: i64,
    names: BTreeSet<String>,
}

/// Records in the spool which names the archive holds now.
async fn write_listing(spool: &Path, catalog: &Catalog) {
    let listing = Listing {
        cluster: catalog.cluster().to_string(),
        listed_at_ms: chrono::Utc::now().timestamp_millis(),
        names: catalog.files().map(|f| f.file.name.clone()).collect(),
    };
    let res = match serde_json::to_vec(&listing) {
        Ok(json) => match tokio::fs::create_dir_all(spool).await {
            Ok(()) => write_durably(&spool.join(LISTING_FILE), &json).await,
            Err(e) => Err(PitrError::io("creating", spool, e)),
        },
        Err(e) => Err(PitrError::Engine(thinledger_repository::Error::Task(
            e.to_string(),
        ))),
    };
    if let Err(e) = res {
        tracing::warn!(error = %e, "cannot record the archive listing in the spool");
    }
}

/// Whether the spool's listing, younger than `ttl` and of `cluster`, says the archive does
/// not hold `name`. Any doubt (no listing, too old, unreadable) answers `false`.
pub async fn known_missing(spool: &Path, cluster: &str, name: &str, ttl: Duration) -> bool {
    if ttl.is_zero() || name.parse::<WalFileName>().is_err() {
        return false;
    }
    let Ok(bytes) = tokio::fs::read(spool.join(LISTING_FILE)).await else {
        return false;
    };
    let Ok(listing) = serde_json::from_slice::<Listing>(&bytes) else {
        return false;
    };
    let age_ms = chrono::Utc::now().timestamp_millis() - listing.listed_at_ms;
    let fresh = (0..i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)).contains(&age_ms);
    fresh && listing.cluster == cluster && !listing.names.contains(name)
}

/// The part of a fetch that needs no repository (and so no password, no key derivation): the
/// file moved from `spool` to `dest` (`Ok(true)`), or [`PitrError::NotInArchive`] when the
/// spool's listing, younger than `listing_ttl` and of `cluster`, says the archive does not hold
/// `name` ([`known_missing`]). `Ok(false)`: only the repository can answer ([`fetch()`]).
pub async fn fetch_without_repository(
    spool: &Path,
    cluster: &str,
    name: &str,
    dest: &Path,
    listing_ttl: Duration,
) -> PitrResult<bool> {
    if fetch_from_spool(spool, name, dest).await? {
        return Ok(true);
    }
    if known_missing(spool, cluster, name, listing_ttl).await {
        return Err(PitrError::NotInArchive {
            name: name.to_string(),
            cluster: cluster.to_string(),
        });
    }
    Ok(false)
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
    let parsed = super::name::parse_input(name, "WAL file name", name)?;
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
pub(crate) async fn read_archived(
    repo: &Arc<Repository>,
    entry: &CatalogFile,
) -> PitrResult<Vec<u8>> {
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
    // A file stored as one blob has that blob's id as its SHA-256, and reading the blob
    // already checked the id: hashing 16 MiB again would prove nothing more.
    if let [blob] = entry.file.blobs.as_slice()
        && blob.id.to_hex() == entry.file.sha256
    {
        return Ok(data);
    }
    let (data, sha) = tokio::task::spawn_blocking(move || {
        let sha = hex::encode(Sha256::digest(&data));
        (data, sha)
    })
    .await
    .map_err(|e| PitrError::Engine(thinledger_repository::Error::Task(e.to_string())))?;
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
    if let Some(spool) = &opts.spool {
        if fetch_from_spool(spool, name, dest).await? {
            return Ok(FetchSource::Spool);
        }
        write_listing(spool, catalog).await;
    }
    let parsed = super::name::parse_input(name, "WAL file name", name)?;
    let entry = catalog
        .get(parsed.as_str())
        .cloned()
        .ok_or_else(|| PitrError::NotInArchive {
            name: name.to_string(),
            cluster: catalog.cluster().to_string(),
        })?;
    let data = read_archived(repo, &entry).await?;
    write_durably(dest, &data).await?;
    if let Some(spool) = &opts.spool
        && let Some(start) = parsed.segment(catalog.segment_size())
    {
        let next = SegmentId {
            timeline: start.timeline,
            segno: start.segno + 1,
        };
        Prefetch::new(repo, catalog, spool, opts)
            .segments(next, opts.prefetch)
            .await;
    }
    Ok(FetchSource::Repository)
}

/// Fills a new spool (`opts.spool`; without one nothing is done) before recovery starts: the
/// listing, and up to `count` segments from `first` on, so that the first fetches of a
/// recovery need no repository (and no key derivation). Returns how many segments were
/// prefetched; failures are only logged.
pub async fn seed_spool(
    repo: &Arc<Repository>,
    catalog: &Catalog,
    first: SegmentId,
    count: usize,
    opts: &FetchOptions,
) -> usize {
    let Some(spool) = &opts.spool else {
        return 0;
    };
    write_listing(spool, catalog).await;
    Prefetch::new(repo, catalog, spool, opts)
        .segments(first, count)
        .await
}

/// Prefetching into a spool.
struct Prefetch<'a> {
    repo: &'a Arc<Repository>,
    catalog: &'a Catalog,
    spool: &'a Path,
    concurrency: usize,
}

impl<'a> Prefetch<'a> {
    fn new(
        repo: &'a Arc<Repository>,
        catalog: &'a Catalog,
        spool: &'a Path,
        opts: &FetchOptions,
    ) -> Self {
        Prefetch {
            repo,
            catalog,
            spool,
            concurrency: opts.prefetch_concurrency.max(1),
        }
    }

    /// Brings `count` segments from `first` on (same timeline) into the spool; failures are
    /// only logged (the fetch that needs the file will try the repository itself).
    async fn segments(&self, first: SegmentId, count: usize) -> usize {
        let Prefetch {
            repo,
            catalog,
            spool,
            concurrency,
        } = *self;
        let size = catalog.segment_size();
        if let Err(e) = tokio::fs::create_dir_all(spool).await {
            tracing::warn!(spool = %spool.display(), error = %e, "cannot create the prefetch spool");
            return 0;
        }
        let wanted: Vec<CatalogFile> = (0..count as u64)
            .map(|i| {
                SegmentId {
                    timeline: first.timeline,
                    segno: first.segno + i,
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
            .buffer_unordered(concurrency)
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
        tracing::debug!(prefetched = n, "prefetched segments");
        n
    }
}
