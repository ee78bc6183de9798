//! Restores to a point in time: the base backup that serves the target, unpacked, with the
//! recovery settings written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use super::unpack;
use crate::error::{PitrError, PitrResult};
use crate::wal::{
    Catalog, CatalogBackup, FetchOptions, SegmentId, choose_backup, load_histories, seed_spool,
};
use thinledger_repository::NodeType;
use thinledger_repository::Repository;

/// Where recovery stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecoveryTarget {
    /// Replay every archived WAL file.
    Latest,
    /// Stop before the first commit after this time.
    Time(DateTime<FixedOffset>),
}

impl RecoveryTarget {
    /// Parses a time: RFC 3339 (`2026-05-13T10:15:00Z`), or PostgreSQL style
    /// (`2026-05-13 10:15:00.123+02`); without an offset it is UTC.
    pub fn parse_time(s: &str) -> PitrResult<RecoveryTarget> {
        let t = s.trim();
        let bad = || {
            PitrError::invalid(
                "--to-time",
                s.to_string(),
                "give a time like `2026-05-13T10:15:00Z` or `2026-05-13 10:15:00.25+02` (no offset means UTC)",
            )
        };
        if let Ok(d) = DateTime::parse_from_rfc3339(t) {
            return Ok(RecoveryTarget::Time(d));
        }
        for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
            if let Ok(d) = DateTime::parse_from_str(t, f) {
                return Ok(RecoveryTarget::Time(d));
            }
        }
        for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
                return Ok(RecoveryTarget::Time(
                    Utc.from_utc_datetime(&n).fixed_offset(),
                ));
            }
        }
        Err(bad())
    }

    fn time(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            RecoveryTarget::Latest => None,
            RecoveryTarget::Time(t) => Some(*t),
        }
    }
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// The recovery settings written to `postgresql.auto.conf`.
pub fn recovery_settings(
    restore_command: &str,
    target: &RecoveryTarget,
    recovery_end_command: Option<&str>,
) -> String {
    let mut s = String::from("\n# Added by ledger-backup pg restore.\n");
    s.push_str(&format!("restore_command = {}\n", quote(restore_command)));
    if let Some(t) = target.time() {
        let utc = t.with_timezone(&Utc);
        s.push_str(&format!(
            "recovery_target_time = {}\n",
            quote(&utc.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
        ));
    }
    s.push_str("recovery_target_action = 'promote'\n");
    s.push_str("recovery_target_timeline = 'latest'\n");
    if let Some(c) = recovery_end_command {
        s.push_str(&format!("recovery_end_command = {}\n", quote(c)));
    }
    s
}

/// Knobs of a restore. The new data directory and the `restore_command` are arguments of
/// [`restore`]: neither has a default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgRestoreOptions {
    /// Where recovery stops. Default [`RecoveryTarget::Latest`].
    pub to: RecoveryTarget,
    /// A command PostgreSQL runs once recovery ends (e.g. removing a prefetch spool).
    pub recovery_end_command: Option<String>,
    /// The prefetch spool the `restore_command` reads (its `wal fetch --spool`): filled with
    /// the first segments of the recovery while the base backup unpacks. `None` (the
    /// default): not filled.
    pub prefetch_spool: Option<PathBuf>,
    /// Blobs read at once. Default 8.
    pub concurrency: usize,
}

impl Default for PgRestoreOptions {
    fn default() -> Self {
        PgRestoreOptions {
            to: RecoveryTarget::Latest,
            recovery_end_command: None,
            prefetch_spool: None,
            concurrency: 8,
        }
    }
}

impl PgRestoreOptions {
    /// Sets [`PgRestoreOptions::to`].
    pub fn with_to(mut self, to: RecoveryTarget) -> Self {
        self.to = to;
        self
    }

    /// Sets [`PgRestoreOptions::recovery_end_command`].
    pub fn with_recovery_end_command(mut self, command: impl Into<String>) -> Self {
        self.recovery_end_command = Some(command.into());
        self
    }

    /// Sets [`PgRestoreOptions::prefetch_spool`].
    pub fn with_prefetch_spool(mut self, spool: impl Into<PathBuf>) -> Self {
        self.prefetch_spool = Some(spool.into());
        self
    }

    /// Sets [`PgRestoreOptions::concurrency`].
    pub fn with_concurrency(mut self, blobs: usize) -> Self {
        self.concurrency = blobs;
        self
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PgRestoreSummary {
    /// The base backup restored.
    pub backup: CatalogBackup,
    /// The data directory written.
    pub target_dir: PathBuf,
    /// Where recovery will stop.
    pub to: RecoveryTarget,
    /// Bytes of the base backup unpacked.
    pub bytes: u64,
    /// Seconds taken.
    pub duration_secs: f64,
}

/// Restores the base backup that serves `opts.to` into `target_dir` (missing or empty) and
/// writes the recovery settings, with `restore_command` the command the restored server runs
/// to fetch WAL (`%f`, `%p` as PostgreSQL expects; normally
/// [`ArchiveCommand::restore_command`](crate::ArchiveCommand::restore_command)). Start
/// PostgreSQL on the directory to recover.
pub async fn restore(
    repo: &Arc<Repository>,
    catalog: &Catalog,
    target_dir: &Path,
    restore_command: &str,
    opts: &PgRestoreOptions,
) -> PitrResult<PgRestoreSummary> {
    let started = Instant::now();
    let dir = target_dir;
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(PitrError::invalid(
                    "--target",
                    dir.display().to_string(),
                    "the directory is not empty; give a new or empty directory for the restored data",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(PitrError::io("reading", dir, e)),
    }
    let histories = load_histories(repo, catalog).await?;
    let chosen = choose_backup(catalog, &histories, opts.to.time())?;
    tracing::info!(backup = %chosen.backup.label, "restoring base backup");
    std::fs::create_dir_all(dir).map_err(|e| PitrError::io("creating", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| PitrError::io("setting permissions of", dir, e))?;

    repo.load_index().await?;
    let snap = repo.find_snapshot(&chosen.snapshot.to_hex()).await?;
    let root = repo.load_tree(&snap.snapshot.tree).await?;
    let node = root
        .nodes
        .into_iter()
        .find(|n| n.node_type == NodeType::File && n.name.as_bytes().ends_with(b".tar"))
        .ok_or_else(|| PitrError::Damaged {
            name: chosen.backup.label.clone(),
            detail: "the base backup snapshot holds no .tar file".into(),
        })?;
    // The spool is filled while the base backup unpacks: both are reads of the repository.
    let seed = async {
        match &opts.prefetch_spool {
            Some(spool) => seed_for_recovery(repo, catalog, &chosen, &opts.to, spool).await,
            None => 0,
        }
    };
    let (unpacked, seeded) = tokio::join!(
        unpack::unpack_base(repo, &node, dir, opts.concurrency),
        seed
    );
    let bytes = unpacked?;
    tracing::info!(
        segments = seeded,
        "prefetched the first WAL segments of the recovery"
    );
    if bytes != chosen.backup.size {
        return Err(PitrError::Damaged {
            name: chosen.backup.label.clone(),
            detail: format!("{bytes} bytes restored, {} recorded", chosen.backup.size),
        });
    }
    // Confined like the unpack: a link the archive left (say `pg_wal -> /elsewhere`) is an
    // error here, never followed.
    let sub = Path::new("pg_wal/archive_status");
    unpack::make_dirs_below(dir, sub).map_err(|e| PitrError::io("creating", dir.join(sub), e))?;
    let conf = dir.join("postgresql.auto.conf");
    let settings = recovery_settings(
        restore_command,
        &opts.to,
        opts.recovery_end_command.as_deref(),
    );
    unpack::rewrite_file(dir, "postgresql.auto.conf", |mut text| {
        text.extend_from_slice(settings.as_bytes());
        text
    })
    .map_err(|e| PitrError::io("writing", &conf, e))?;
    let signal = dir.join("recovery.signal");
    unpack::rewrite_file(dir, "recovery.signal", |_| Vec::new())
        .map_err(|e| PitrError::io("writing", &signal, e))?;
    Ok(PgRestoreSummary {
        backup: chosen,
        target_dir: dir.to_path_buf(),
        to: opts.to.clone(),
        bytes,
        duration_secs: started.elapsed().as_secs_f64(),
    })
}

/// Fills the restored server's prefetch spool with the segments recovery reads first: from
/// the base backup's start up to the segment closed at or after the target time (every
/// archived segment may hold the target's commit until one was closed after it), at most
/// [`FetchOptions::prefetch`] of them.
async fn seed_for_recovery(
    repo: &Arc<Repository>,
    catalog: &Catalog,
    chosen: &CatalogBackup,
    to: &RecoveryTarget,
    spool: &Path,
) -> usize {
    let opts = FetchOptions::default().with_spool(spool);
    let size = catalog.segment_size();
    let first = SegmentId {
        timeline: chosen.backup.timeline,
        segno: chosen.backup.start_lsn.segment(size),
    };
    let mut count = 0;
    while count < opts.prefetch {
        let name = SegmentId {
            timeline: first.timeline,
            segno: first.segno + count as u64,
        }
        .file_name(size);
        let Some(entry) = catalog.get(&name) else {
            break;
        };
        count += 1;
        if let (Some(t), Some(closed)) = (to.time(), entry.file.mtime)
            && closed >= t
        {
            break;
        }
    }
    seed_spool(repo, catalog, first, count, &opts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_settings_quote() {
        let t = RecoveryTarget::parse_time("2026-05-13 10:15:00.25").unwrap();
        let s = recovery_settings("cmd 'x' %f %p", &t, Some("rm -rf '/tmp/s'"));
        assert!(s.contains("restore_command = 'cmd ''x'' %f %p'"));
        assert!(s.contains("recovery_target_time = '2026-05-13 10:15:00.250000+00'"));
        assert!(s.contains("recovery_end_command = 'rm -rf ''/tmp/s'''"));
        assert!(RecoveryTarget::parse_time("yesterday").is_err());
        assert!(
            !recovery_settings("c", &RecoveryTarget::Latest, None)
                .contains("recovery_target_time =")
        );
    }
}
