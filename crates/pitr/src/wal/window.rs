//! The recoverable window per timeline, and retention of base backups and the WAL they need.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use super::catalog::{Catalog, CatalogBackup};
use super::fetch::read_archived;
use super::name::{HistoryEntry, SegmentId, WalFileKind, WalFileName, parse_history};
use crate::error::{PitrError, PitrResult};
use thinledger_repository::Id;
use thinledger_repository::Repository;
use thinledger_repository::{FileType, RetainedObject};
use thinledger_repository::{KeepPolicy, plan_forget};
use thinledger_repository::{Snapshot, SnapshotEntry};

/// What can be restored on one timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineWindow {
    /// The timeline.
    pub timeline: u32,
    /// Archived segments on it.
    pub segments: usize,
    /// Its first and last archived segment.
    pub first_segment: Option<String>,
    /// See `first_segment`.
    pub last_segment: Option<String>,
    /// Base backups from which this timeline can be reached.
    pub base_backups: usize,
    /// Earliest restorable time: the end of the oldest usable base backup.
    pub earliest: Option<DateTime<FixedOffset>>,
    /// Latest restorable time: when the last segment of an unbroken chain from a base backup
    /// was completed (an upper bound of the commits it holds; `--to-latest` replays it all).
    pub latest: Option<DateTime<FixedOffset>>,
    /// The first missing segment after which archived segments exist again (WAL past it is
    /// not reachable from the base backups before it).
    pub gap_at: Option<String>,
}

/// Ancestry of a timeline: `(timeline, first segno, last segno or None)`, oldest first.
pub(crate) type Ancestry = Vec<(u32, u64, Option<u64>)>;

pub(crate) fn ancestry(
    timeline: u32,
    history: Option<&[HistoryEntry]>,
    segment_size: u64,
) -> Ancestry {
    let mut out = Vec::new();
    let mut begin = 0u64;
    for h in history.unwrap_or_default() {
        if h.timeline >= timeline {
            break;
        }
        let switch = h.switch_lsn.segment(segment_size);
        out.push((h.timeline, begin, Some(switch)));
        begin = switch;
    }
    out.push((timeline, begin, None));
    out
}

/// Reads every archived `.history` file.
pub(crate) async fn load_histories(
    repo: &Arc<Repository>,
    catalog: &Catalog,
) -> PitrResult<BTreeMap<u32, Vec<HistoryEntry>>> {
    let mut out = BTreeMap::new();
    for f in catalog.files() {
        if let Ok(n) = f.file.name.parse::<WalFileName>()
            && let WalFileKind::History { timeline } = n.kind()
        {
            let data = read_archived(repo, f).await?;
            out.insert(*timeline, parse_history(&String::from_utf8_lossy(&data)));
        }
    }
    Ok(out)
}

struct Chain<'a> {
    catalog: &'a Catalog,
    size: u64,
}

impl Chain<'_> {
    /// The archived file for segment `s` reached on a timeline with `anc`, newest timeline
    /// first (as PostgreSQL's recovery looks for it).
    fn file(&self, anc: &Ancestry, s: u64) -> Option<&super::catalog::CatalogFile> {
        anc.iter()
            .rev()
            .filter(|(_, b, e)| *b <= s && e.is_none_or(|e| s <= e))
            .find_map(|(t, _, _)| {
                self.catalog.get(
                    &SegmentId {
                        timeline: *t,
                        segno: s,
                    }
                    .file_name(self.size),
                )
            })
    }

    /// The last segment of the unbroken run from `from`, if `from` itself is archived.
    fn run_end(&self, anc: &Ancestry, from: u64, max: u64) -> Option<u64> {
        self.file(anc, from)?;
        let mut s = from;
        while s < max && self.file(anc, s + 1).is_some() {
            s += 1;
        }
        Some(s)
    }
}

fn usable(b: &CatalogBackup, anc: &Ancestry, size: u64) -> bool {
    anc.iter().any(|(t, _, end)| {
        *t == b.backup.timeline && end.is_none_or(|e| b.backup.stop_lsn.segment(size) <= e)
    })
}

/// The base backup to restore for a target time (`None`: latest) on `timeline` (`None`: the
/// newest timeline), and the window it gives. Fails with a clear message when none fits or
/// when WAL needed to reach the target is missing.
pub(crate) fn choose_backup(
    catalog: &Catalog,
    histories: &BTreeMap<u32, Vec<HistoryEntry>>,
    target: Option<DateTime<FixedOffset>>,
) -> PitrResult<CatalogBackup> {
    let windows = windows_with(catalog, histories);
    let shown = target.map_or_else(|| "the latest archived WAL".to_string(), |t| t.to_rfc3339());
    let no = |detail: String| PitrError::NoBaseBackup {
        cluster: catalog.cluster().to_string(),
        target: shown.clone(),
        detail,
    };
    let size = catalog.segment_size();
    let newest_tli = windows.iter().map(|w| w.timeline).max().unwrap_or(1);
    let anc = ancestry(
        newest_tli,
        histories.get(&newest_tli).map(Vec::as_slice),
        size,
    );
    let chain = Chain { catalog, size };
    let max = max_segno(catalog, size);
    let mut candidates: Vec<&CatalogBackup> = catalog
        .backups()
        .iter()
        .filter(|b| usable(b, &anc, size))
        .filter(|b| target.is_none_or(|t| b.backup.stop_time < t))
        .collect();
    candidates.sort_by_key(|b| b.backup.stop_time);
    if candidates.is_empty() {
        let have: Vec<String> = catalog
            .backups()
            .iter()
            .map(|b| {
                format!(
                    "{} (ended {})",
                    b.backup.label,
                    b.backup.stop_time.to_rfc3339()
                )
            })
            .collect();
        return Err(no(if have.is_empty() {
            "the archive has no base backup; take one with `pg base-backup`".into()
        } else {
            format!(
                "every base backup ended after the target; choose a later time. Base backups: {}",
                have.join(", ")
            )
        }));
    }
    let mut last_err = String::new();
    for b in candidates.into_iter().rev() {
        let start = b.backup.start_lsn.segment(size);
        let stop = b.backup.stop_lsn.segment(size);
        match chain.run_end(&anc, start, max) {
            Some(end) if end >= stop => {
                if let Some(t) = target {
                    let reach = chain.file(&anc, end).and_then(|f| f.file.mtime);
                    if reach.is_some_and(|r| r < t) && end < max {
                        last_err = format!(
                            "WAL after segment {} is missing, so base backup {} reaches only {}",
                            SegmentId {
                                timeline: newest_tli,
                                segno: end + 1
                            }
                            .file_name(size),
                            b.backup.label,
                            reach.map(|r| r.to_rfc3339()).unwrap_or_default()
                        );
                        continue;
                    }
                }
                return Ok(b.clone());
            }
            _ => {
                last_err = format!(
                    "the WAL from {} to {} that base backup {} needs is not all archived",
                    b.backup.start_lsn, b.backup.stop_lsn, b.backup.label
                );
            }
        }
    }
    Err(no(last_err))
}

fn max_segno(catalog: &Catalog, size: u64) -> u64 {
    catalog
        .files()
        .filter_map(|f| f.file.name.parse::<WalFileName>().ok()?.segment(size))
        .map(|s| s.segno)
        .max()
        .unwrap_or(0)
}

/// The recoverable window of every timeline that has archived segments.
pub(crate) fn windows_with(
    catalog: &Catalog,
    histories: &BTreeMap<u32, Vec<HistoryEntry>>,
) -> Vec<TimelineWindow> {
    let size = catalog.segment_size();
    let mut by_tli: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
    for f in catalog.files() {
        if let Some(s) = f
            .file
            .name
            .parse::<WalFileName>()
            .ok()
            .and_then(|n| n.segment(size))
        {
            by_tli.entry(s.timeline).or_default().insert(s.segno);
        }
    }
    let max = max_segno(catalog, size);
    let chain = Chain { catalog, size };
    by_tli
        .into_iter()
        .map(|(tli, segs)| {
            let anc = ancestry(tli, histories.get(&tli).map(Vec::as_slice), size);
            let backups: Vec<&CatalogBackup> = catalog
                .backups()
                .iter()
                .filter(|b| usable(b, &anc, size))
                .collect();
            let mut earliest = None;
            let mut latest: Option<DateTime<FixedOffset>> = None;
            let mut best_end: Option<u64> = None;
            for b in &backups {
                let stop = b.backup.stop_lsn.segment(size);
                if let Some(end) = chain.run_end(&anc, b.backup.start_lsn.segment(size), max)
                    && end >= stop
                {
                    earliest = Some(
                        earliest.map_or(b.backup.stop_time, |e: DateTime<FixedOffset>| {
                            e.min(b.backup.stop_time)
                        }),
                    );
                    let reach = chain
                        .file(&anc, end)
                        .map(|f| f.file.mtime.unwrap_or(f.archived_at));
                    latest = latest.max(reach);
                    best_end = best_end.max(Some(end));
                }
            }
            let last = segs.iter().next_back().copied();
            let gap_at = match (best_end, last) {
                (Some(e), Some(l)) if e < l => Some(
                    SegmentId {
                        timeline: tli,
                        segno: e + 1,
                    }
                    .file_name(size),
                ),
                _ => None,
            };
            let name = |s: u64| {
                SegmentId {
                    timeline: tli,
                    segno: s,
                }
                .file_name(size)
            };
            TimelineWindow {
                timeline: tli,
                segments: segs.len(),
                first_segment: segs.iter().next().map(|s| name(*s)),
                last_segment: last.map(name),
                base_backups: backups.len(),
                earliest,
                latest,
                gap_at,
            }
        })
        .collect()
}

/// The recoverable window of every timeline (reads the archived `.history` files).
pub async fn windows(repo: &Arc<Repository>, catalog: &Catalog) -> PitrResult<Vec<TimelineWindow>> {
    let h = load_histories(repo, catalog).await?;
    Ok(windows_with(catalog, &h))
}

/// What retention keeps and removes.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionPlan {
    /// The policy applied to base backups.
    pub policy: KeepPolicy,
    /// Base backups kept (labels).
    pub keep_backups: Vec<String>,
    /// Base backups removed: label and snapshot.
    pub remove_backups: Vec<(String, Id)>,
    /// The oldest WAL segment still needed (the start of the oldest kept base backup).
    pub oldest_needed: Option<String>,
    /// WAL batch snapshots removed (every file in them is older than `oldest_needed`).
    pub remove_wal_snapshots: Vec<Id>,
    /// WAL files in those snapshots.
    pub wal_files_removed: usize,
    /// The file names of each removed WAL batch, to say what a retained one holds.
    #[serde(skip)]
    wal_names: BTreeMap<Id, Vec<String>>,
}

/// A base backup or WAL batch a retention plan removes that stays, because its snapshot is
/// still under retention (S3 Object Lock); a later `pg forget` removes it after the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetainedSnapshot {
    /// The snapshot.
    pub snapshot: Id,
    /// What it holds: `base backup LABEL`, or `WAL FIRST … LAST (N files)`.
    pub holds: String,
    /// The WAL files it holds (empty for a base backup).
    pub wal_files: Vec<String>,
    /// When its retention ends.
    pub retained_until: Option<DateTime<Utc>>,
}

/// What [`apply_retention`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetentionApplied {
    /// Snapshots deleted.
    pub removed: usize,
    /// Immutable repositories: what the plan removes that stays for now, with its date.
    pub retained: Vec<RetainedSnapshot>,
}

/// Plans retention: `policy` over base backups (like `forget`), then every WAL batch whose
/// files all precede the oldest kept base backup's start. History files are always kept.
pub fn plan_retention(catalog: &Catalog, policy: KeepPolicy) -> PitrResult<RetentionPlan> {
    let entries: Vec<SnapshotEntry> = catalog
        .backups()
        .iter()
        .map(|b| SnapshotEntry {
            id: b.snapshot,
            snapshot: Snapshot {
                time: b.backup.stop_time,
                parent: None,
                tree: Id::default(),
                paths: vec!["/pg-base".into()],
                hostname: catalog.cluster().to_string(),
                username: String::new(),
                uid: 0,
                gid: 0,
                excludes: Vec::new(),
                tags: Vec::new(),
                original: None,
                program_version: String::new(),
                extra: serde_json::Map::new(),
            },
        })
        .collect();
    let forget = plan_forget(&entries, policy)?;
    let removed: BTreeSet<Id> = forget.to_remove().map(|s| s.id).collect();
    let label = |id: &Id| {
        catalog
            .backups()
            .iter()
            .find(|b| b.snapshot == *id)
            .map(|b| b.backup.label.clone())
            .unwrap_or_default()
    };
    let kept: Vec<&CatalogBackup> = catalog
        .backups()
        .iter()
        .filter(|b| !removed.contains(&b.snapshot))
        .collect();
    let size = catalog.segment_size();
    let cutoff = kept
        .iter()
        .map(|b| SegmentId {
            timeline: b.backup.timeline,
            segno: b.backup.start_lsn.segment(size),
        })
        .min_by_key(|s| s.segno);
    let mut remove_wal = Vec::new();
    let mut wal_names = BTreeMap::new();
    let mut files_removed = 0;
    if let Some(cut) = cutoff {
        for (id, names) in catalog.wal_snapshots() {
            let all_old = names.iter().all(|n| {
                let Ok(p) = n.parse::<WalFileName>() else {
                    return false;
                };
                match p.kind() {
                    WalFileKind::History { .. } => false,
                    WalFileKind::Segment { .. } => {
                        p.segment(size).is_some_and(|s| s.segno < cut.segno)
                    }
                    WalFileKind::Partial { .. } | WalFileKind::BackupLabel { .. } => {
                        // Named after the segment they belong to.
                        n.get(..24)
                            .and_then(|s| s.parse::<WalFileName>().ok())
                            .and_then(|s| s.segment(size))
                            .is_some_and(|s| s.segno < cut.segno)
                    }
                }
            });
            if all_old && !names.is_empty() {
                files_removed += names.len();
                remove_wal.push(id);
                wal_names.insert(id, names);
            }
        }
    }
    Ok(RetentionPlan {
        policy,
        keep_backups: kept.iter().map(|b| b.backup.label.clone()).collect(),
        remove_backups: removed.iter().map(|id| (label(id), *id)).collect(),
        oldest_needed: cutoff.map(|c| c.file_name(size)),
        remove_wal_snapshots: remove_wal,
        wal_files_removed: files_removed,
        wal_names,
    })
}

/// What of `plan`'s removals stays because it is still under retention (an immutable
/// repository; nothing elsewhere, without a request). [`apply_retention`] asks this first;
/// call it for a dry run's report. An immutable repository opened without its store's
/// object lock is refused ([`thinledger_repository::Error::Retained`]).
pub async fn retained_removals(
    repo: &Arc<Repository>,
    plan: &RetentionPlan,
) -> PitrResult<Vec<RetainedSnapshot>> {
    let ids: Vec<Id> = plan
        .remove_backups
        .iter()
        .map(|(_, id)| *id)
        .chain(plan.remove_wal_snapshots.iter().copied())
        .collect();
    let retained = repo
        .retained_among("pg forget", FileType::Snapshot, ids)
        .await?;
    Ok(retained.iter().map(|r| describe(plan, r)).collect())
}

fn describe(plan: &RetentionPlan, r: &RetainedObject) -> RetainedSnapshot {
    let (holds, wal_files) = match (
        plan.remove_backups.iter().find(|(_, id)| *id == r.id),
        plan.wal_names.get(&r.id),
    ) {
        (Some((label, _)), _) => (format!("base backup {label}"), Vec::new()),
        (None, Some(names)) => {
            let first = names.first().map(String::as_str).unwrap_or_default();
            let last = names.last().map(String::as_str).unwrap_or_default();
            let holds = if names.len() == 1 {
                format!("WAL {first}")
            } else {
                format!("WAL {first} … {last} ({} files)", names.len())
            };
            (holds, names.clone())
        }
        (None, None) => (format!("snapshot {}", r.id.short()), Vec::new()),
    };
    RetainedSnapshot {
        snapshot: r.id,
        holds,
        wal_files,
        retained_until: r.retained_until,
    }
}

/// Deletes what a retention plan removes (snapshots only; run `prune` to free the data).
/// Takes an exclusive lock.
///
/// On an immutable repository, snapshots still under retention stay and are listed in
/// [`RetentionApplied::retained`] with their dates; which ones is known before the first
/// delete, so none is refused part-way. A later run after the date removes them.
pub async fn apply_retention(
    repo: &Arc<Repository>,
    plan: &RetentionPlan,
) -> PitrResult<RetentionApplied> {
    let retained = retained_removals(repo, plan).await?;
    for r in &retained {
        tracing::info!(snapshot = %r.snapshot.short(), holds = %r.holds, until = ?r.retained_until, "kept: under retention");
    }
    let lock = repo.lock(true).await?;
    let mut n = 0;
    let mut res = Ok(());
    for id in plan
        .remove_backups
        .iter()
        .map(|(_, id)| id)
        .chain(plan.remove_wal_snapshots.iter())
        .filter(|id| !retained.iter().any(|r| r.snapshot == **id))
    {
        if let Err(e) = repo.delete_snapshot(id).await {
            res = Err(e);
            break;
        }
        n += 1;
    }
    lock.release().await?;
    res?;
    Ok(RetentionApplied {
        removed: n,
        retained,
    })
}
