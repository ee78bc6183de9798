//! The archive's catalog: which WAL files and base backups the repository holds.
//!
//! It is built from the snapshots tagged [`WAL_TAG`] and [`BASE_TAG`] (their `extra` JSON field
//! says what is in them). Snapshot files are immutable and named by their content, so a local
//! cache keyed by snapshot id never goes stale: a refresh lists `snapshots/` (one listing) and
//! reads only the snapshot files it has not seen. The cache file is encrypted with the
//! repository's key like every repository file, so it leaks nothing on the local disk.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::name::{DEFAULT_SEGMENT_SIZE, Lsn, WalFileName};
use super::writer::StoredBlob;
use crate::error::{PitrError, PitrResult};
use thinledger_repository::FileType;
use thinledger_repository::Id;
use thinledger_repository::Repository;
use thinledger_repository::Snapshot;

/// Tag of snapshots holding archived WAL files.
pub const WAL_TAG: &str = "thinledger-wal";
/// Tag of snapshots holding a PostgreSQL base backup.
pub const BASE_TAG: &str = "thinledger-pg-base";
/// Key of the WAL batch record in a snapshot's JSON.
pub(crate) const WAL_KEY: &str = "thinledger_wal";
/// Key of the base backup record in a snapshot's JSON.
pub(crate) const BASE_KEY: &str = "thinledger_pg_base";
/// Snapshot files read at once on a refresh.
const LOAD_CONCURRENCY: usize = 16;

/// One archived file as recorded in its batch snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedFile {
    /// The file name PostgreSQL gave it.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the whole file (hex).
    pub sha256: String,
    /// The file's modification time when archived: PostgreSQL's last write to it, an upper
    /// bound of the commit times inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Its data blobs, in order, with where they were written.
    pub blobs: Vec<StoredBlob>,
}

/// The record of one WAL batch snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WalBatch {
    pub version: u32,
    pub cluster: String,
    pub files: Vec<ArchivedFile>,
}

/// A base backup: the record stored in its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseBackup {
    /// Its label (also the tar file's name without `.tar`).
    pub label: String,
    /// The cluster name it belongs to.
    pub cluster: String,
    /// Timeline at the start.
    pub timeline: u32,
    /// WAL position of the backup's checkpoint (replay starts here).
    pub start_lsn: Lsn,
    /// WAL position where the copy is consistent (recovery must reach it).
    pub stop_lsn: Lsn,
    /// When the backup started.
    pub start_time: DateTime<FixedOffset>,
    /// When it finished; recovery targets must be later than this.
    pub stop_time: DateTime<FixedOffset>,
    /// Bytes of the tar stream.
    pub size: u64,
    /// SHA-256 of the tar stream (hex).
    pub sha256: String,
    /// The server's version as reported by pg_basebackup.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool_version: String,
}

/// What one snapshot contributes (cached per snapshot id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SnapshotRecord {
    time: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wal: Option<WalBatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<BaseBackup>,
}

impl SnapshotRecord {
    fn from_snapshot(s: &Snapshot) -> SnapshotRecord {
        let has = |t: &str| s.tags.iter().any(|x| x == t);
        let wal = has(WAL_TAG)
            .then(|| s.extra.get(WAL_KEY))
            .flatten()
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let base = has(BASE_TAG)
            .then(|| s.extra.get(BASE_KEY))
            .flatten()
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        SnapshotRecord {
            time: Some(s.time),
            wal,
            base,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    snapshots: BTreeMap<Id, SnapshotRecord>,
}

/// An archived file and the snapshot holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogFile {
    /// The record.
    #[serde(flatten)]
    pub file: ArchivedFile,
    /// The batch snapshot.
    pub snapshot: Id,
    /// When the batch was stored.
    pub archived_at: DateTime<FixedOffset>,
}

/// A base backup and its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogBackup {
    /// The record.
    #[serde(flatten)]
    pub backup: BaseBackup,
    /// The snapshot holding the tar stream.
    pub snapshot: Id,
}

/// The archive of one cluster: its WAL files and base backups.
#[derive(Debug)]
pub struct Catalog {
    cluster: String,
    cache_path: Option<PathBuf>,
    records: BTreeMap<Id, SnapshotRecord>,
    files: BTreeMap<String, CatalogFile>,
    backups: Vec<CatalogBackup>,
}

impl Catalog {
    /// Loads the catalog of `cluster`, with an optional cache directory (created if missing;
    /// a cache that cannot be read or written is ignored with a warning).
    pub async fn load(
        repo: &Arc<Repository>,
        cluster: &str,
        cache_dir: Option<&Path>,
    ) -> PitrResult<Catalog> {
        validate_cluster(cluster)?;
        let cache_path = cache_dir.map(|d| d.join(format!("{}.pitr-catalog", repo.config().id)));
        let mut records = BTreeMap::new();
        if let Some(p) = &cache_path {
            match tokio::fs::read(p).await {
                Ok(raw) => match repo.decode_unpacked::<CacheFile>(&raw, "PITR catalog cache") {
                    Ok(c) if c.version == 1 => records = c.snapshots,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(path = %p.display(), error = %e, "ignoring unreadable catalog cache")
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "ignoring unreadable catalog cache")
                }
            }
        }
        let mut c = Catalog {
            cluster: cluster.to_string(),
            cache_path,
            records,
            files: BTreeMap::new(),
            backups: Vec::new(),
        };
        c.refresh(repo).await?;
        Ok(c)
    }

    /// Lists the repository's snapshots again and reads the ones not seen yet.
    pub async fn refresh(&mut self, repo: &Arc<Repository>) -> PitrResult<()> {
        let listed: Vec<Id> = repo
            .list_files(FileType::Snapshot)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let live: HashSet<Id> = listed.iter().copied().collect();
        let before = self.records.len();
        self.records.retain(|id, _| live.contains(id));
        let mut changed = before != self.records.len();
        let missing: Vec<Id> = listed
            .into_iter()
            .filter(|id| !self.records.contains_key(id))
            .collect();
        if !missing.is_empty() {
            changed = true;
            let loaded: Vec<(Id, Option<Snapshot>)> = futures::stream::iter(missing)
                .map(|id| async move {
                    let s: Option<Snapshot> =
                        repo.load_unpacked_opt(FileType::Snapshot, &id).await?;
                    Ok::<_, thinledger_repository::Error>((id, s))
                })
                .buffer_unordered(LOAD_CONCURRENCY)
                .try_collect()
                .await?;
            for (id, s) in loaded {
                if let Some(s) = s {
                    self.records.insert(id, SnapshotRecord::from_snapshot(&s));
                }
            }
        }
        self.rebuild();
        if changed {
            self.save_cache(repo).await;
        }
        Ok(())
    }

    async fn save_cache(&self, repo: &Repository) {
        let Some(path) = &self.cache_path else { return };
        let file = CacheFile {
            version: 1,
            snapshots: self.records.clone(),
        };
        let res = async {
            let json = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
            let enc = repo.encode_unpacked(&json).map_err(std::io::Error::other)?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            tokio::fs::write(&tmp, enc).await?;
            tokio::fs::rename(&tmp, path).await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(path = %path.display(), error = %e, "could not write the catalog cache");
        }
    }

    fn rebuild(&mut self) {
        self.files.clear();
        self.backups.clear();
        for (id, r) in &self.records {
            let time = r.time.unwrap_or_default();
            if let Some(w) = r.wal.as_ref().filter(|w| w.cluster == self.cluster) {
                for f in &w.files {
                    let entry = CatalogFile {
                        file: f.clone(),
                        snapshot: *id,
                        archived_at: time,
                    };
                    // The first stored copy is the archive's; a later one can only be identical
                    // (pushes check before storing) or a lost race, which fetch must not prefer.
                    match self.files.get(&f.name) {
                        Some(old) if (old.archived_at, old.snapshot) <= (time, *id) => {}
                        _ => {
                            self.files.insert(f.name.clone(), entry);
                        }
                    }
                }
            }
            if let Some(b) = r.base.as_ref().filter(|b| b.cluster == self.cluster) {
                self.backups.push(CatalogBackup {
                    backup: b.clone(),
                    snapshot: *id,
                });
            }
        }
        self.backups
            .sort_by_key(|b| (b.backup.stop_time, b.snapshot));
    }

    /// Records a batch this process just stored (no refresh needed).
    pub(crate) fn add_batch(&mut self, snapshot: Id, time: DateTime<FixedOffset>, batch: WalBatch) {
        self.records.insert(
            snapshot,
            SnapshotRecord {
                time: Some(time),
                wal: Some(batch),
                base: None,
            },
        );
        self.rebuild();
    }

    /// Records a base backup this process just stored.
    pub(crate) fn add_backup(&mut self, snapshot: Id, time: DateTime<FixedOffset>, b: BaseBackup) {
        self.records.insert(
            snapshot,
            SnapshotRecord {
                time: Some(time),
                wal: None,
                base: Some(b),
            },
        );
        self.rebuild();
    }

    /// Writes the cache now (after local additions).
    pub async fn persist(&self, repo: &Repository) {
        self.save_cache(repo).await;
    }

    /// The cluster.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// An archived file by name.
    pub fn get(&self, name: &str) -> Option<&CatalogFile> {
        self.files.get(name)
    }

    /// Every archived file, by name.
    pub fn files(&self) -> impl Iterator<Item = &CatalogFile> {
        self.files.values()
    }

    /// Base backups, oldest stop time first.
    pub fn backups(&self) -> &[CatalogBackup] {
        &self.backups
    }

    /// WAL batch snapshots of this cluster and the names each holds.
    pub(crate) fn wal_snapshots(&self) -> Vec<(Id, Vec<String>)> {
        self.records
            .iter()
            .filter_map(|(id, r)| {
                let w = r.wal.as_ref().filter(|w| w.cluster == self.cluster)?;
                Some((*id, w.files.iter().map(|f| f.name.clone()).collect()))
            })
            .collect()
    }

    /// The WAL segment size: the most common size of archived complete segments.
    pub fn segment_size(&self) -> u64 {
        self.known_segment_size().unwrap_or(DEFAULT_SEGMENT_SIZE)
    }

    /// The segment size the archive shows (the most common size of archived complete
    /// segments, a power of two), or `None` before any segment is archived.
    pub fn known_segment_size(&self) -> Option<u64> {
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for f in self.files.values() {
            if f.file
                .name
                .parse::<WalFileName>()
                .is_ok_and(|n| n.is_segment())
            {
                *counts.entry(f.file.size).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(s, _)| s)
            .filter(|s| s.is_power_of_two())
    }
}

/// Cluster names separate archives in one repository: letters, digits, `-`, `_`, `.`.
pub(crate) fn validate_cluster(cluster: &str) -> PitrResult<()> {
    if cluster.is_empty()
        || cluster.len() > 64
        || !cluster
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(PitrError::invalid(
            "cluster",
            cluster.to_string(),
            "use 1 to 64 letters, digits, `-`, `_` or `.` (e.g. `ledger-a`)",
        ));
    }
    Ok(())
}
