//! PostgreSQL base backups and restores to a point in time, with the WAL archive of
//! [`crate::wal`].
//!
//! **Base backups come from `pg_basebackup`** (run as a subprocess, tar format to standard
//! output, `-X none`: the WAL comes from the archive). We chose it over calling
//! `pg_backup_start`/`pg_backup_stop` and copying the data directory ourselves because it
//! needs only a replication connection (so it runs from a sidecar or a Job, not only on the
//! database host), it applies PostgreSQL's own rules for which files to skip, writes the
//! `backup_label` into the copy, and, with `-X none`, returns only once the WAL up to the
//! backup's end is archived. The tar stream is chunked, deduplicated, compressed and encrypted
//! into one snapshot tagged [`crate::wal::BASE_TAG`]; its record (label, timeline, start and
//! stop LSN and time, size, SHA-256) is in the snapshot's JSON and is written only after
//! `pg_basebackup` succeeded. One tablespace only (pg_basebackup cannot stream more to stdout).
//!
//! **Restore** picks the newest base backup that ended before the target (and whose WAL chain
//! reaches it), unpacks it into an empty directory, and writes the recovery settings to
//! `postgresql.auto.conf` plus `recovery.signal`: `restore_command` (the caller's, normally
//! `ledger-backup … wal fetch %f %p`), `recovery_target_time` (or none for the latest),
//! `recovery_target_action = 'promote'` and `recovery_target_timeline = 'latest'`. Starting
//! PostgreSQL on the directory then recovers to exactly that time and opens for writes.
//!
//! ```
//! use thinledger_pitr::pg::{RecoveryTarget, recovery_settings};
//! let target = RecoveryTarget::parse_time("2026-05-13 10:15:00+02").unwrap();
//! let conf = recovery_settings("ledger-backup wal fetch %f %p", &target, None);
//! assert!(conf.contains("recovery_target_time = '2026-05-13 08:15:00.000000+00'"));
//! assert!(conf.contains("recovery_target_action = 'promote'"));
//! ```

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

mod unpack;

use crate::wal::catalog::{BASE_KEY, BASE_TAG};
use crate::wal::writer::StreamSnapshot;
use crate::wal::{
    BaseBackup, Catalog, CatalogBackup, FetchOptions, Lsn, PitrError, PitrResult, SegmentId,
    choose_backup, load_histories,
};
use thinledger_repository::{NodeType, Repository, SaverOptions};

/// Knobs of a base backup.
#[derive(Debug, Clone)]
pub struct BaseBackupOptions {
    /// The `pg_basebackup` program (a path, or a name looked up in `PATH`).
    pub pg_basebackup: PathBuf,
    /// Connection string for `pg_basebackup -d` (e.g. `host=… port=… user=…`); empty: libpq's
    /// `PG*` environment variables. Passwords come from `PGPASSWORD`/`.pgpass` as for every
    /// libpq tool, never from here.
    pub connection: String,
    /// Backup label (default: `CLUSTER-YYYYMMDDTHHMMSSZ`).
    pub label: Option<String>,
    /// Ask for an immediate checkpoint instead of waiting for the next one.
    pub fast_checkpoint: bool,
    /// Blob saving.
    pub saver: SaverOptions,
    /// How long to wait for the backup's history file to reach the archive.
    pub history_wait: std::time::Duration,
}

impl BaseBackupOptions {
    /// Options for a connection string, with `pg_basebackup` from `PATH`.
    pub fn new(connection: impl Into<String>) -> BaseBackupOptions {
        BaseBackupOptions {
            pg_basebackup: PathBuf::from("pg_basebackup"),
            connection: connection.into(),
            label: None,
            fast_checkpoint: true,
            saver: SaverOptions::default(),
            history_wait: std::time::Duration::from_secs(120),
        }
    }
}

/// What a base backup did.
#[derive(Debug, Clone, Serialize)]
pub struct BaseBackupSummary {
    /// The record and snapshot.
    pub backup: CatalogBackup,
    /// Seconds taken.
    pub duration_secs: f64,
}

fn tool_err(tool: &Path, detail: impl Into<String>) -> PitrError {
    PitrError::Tool {
        tool: tool.display().to_string(),
        detail: detail.into(),
    }
}

/// What PostgreSQL's backup history file (`SEGMENT.OFFSET.backup`, archived at the end of
/// every base backup) says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BackupHistory {
    label: String,
    start_lsn: Lsn,
    stop_lsn: Lsn,
    timeline: u32,
    start_time: Option<DateTime<FixedOffset>>,
    stop_time: Option<DateTime<FixedOffset>>,
}

/// `2026-05-13 10:15:00 UTC` (PostgreSQL writes the log time zone's abbreviation; only UTC,
/// GMT and numeric offsets are unambiguous).
fn parse_history_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    let (dt, zone) = s.rsplit_once(' ')?;
    let naive = NaiveDateTime::parse_from_str(dt, "%Y-%m-%d %H:%M:%S").ok()?;
    match zone {
        "UTC" | "GMT" | "Z" => Some(Utc.from_utc_datetime(&naive).fixed_offset()),
        z => DateTime::parse_from_str(&format!("{dt} {z}"), "%Y-%m-%d %H:%M:%S %#z").ok(),
    }
}

fn parse_backup_history(text: &str) -> Option<BackupHistory> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let lsn = |key: &str| field(key)?.split_whitespace().next()?.parse::<Lsn>().ok();
    Some(BackupHistory {
        label: field("LABEL:")?,
        start_lsn: lsn("START WAL LOCATION:")?,
        stop_lsn: lsn("STOP WAL LOCATION:")?,
        timeline: field("START TIMELINE:")?.parse().ok()?,
        start_time: field("START TIME:").and_then(|t| parse_history_time(&t)),
        stop_time: field("STOP TIME:").and_then(|t| parse_history_time(&t)),
    })
}

/// Waits (up to `wait`) for the archived backup history file of `label`.
async fn find_backup_history(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    label: &str,
    wait: std::time::Duration,
) -> PitrResult<Option<BackupHistory>> {
    let deadline = Instant::now() + wait;
    let mut seen = std::collections::HashSet::new();
    loop {
        catalog.refresh(repo).await?;
        let fresh: Vec<crate::wal::CatalogFile> = catalog
            .files()
            .filter(|f| f.file.name.ends_with(".backup") && !seen.contains(&f.file.name))
            .cloned()
            .collect();
        for f in fresh {
            seen.insert(f.file.name.clone());
            let data = crate::wal::fetch::read_archived(repo, &f).await?;
            if let Some(h) = parse_backup_history(&String::from_utf8_lossy(&data))
                && h.label == label
            {
                return Ok(Some(h));
            }
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Takes a base backup with `pg_basebackup` into the repository. Takes a shared lock.
pub async fn base_backup(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    opts: &BaseBackupOptions,
) -> PitrResult<BaseBackupSummary> {
    let started = Instant::now();
    let start_time = Utc::now().fixed_offset();
    let label = opts.label.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            catalog.cluster(),
            start_time.format("%Y%m%dT%H%M%SZ")
        )
    });
    crate::wal::catalog::validate_cluster(&label).map_err(|_| PitrError::InvalidInput {
        field: "label",
        value: label.clone(),
        rule: "use letters, digits, `-`, `_` or `.` (at most 64)".into(),
    })?;
    let tool = &opts.pg_basebackup;
    let version = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .map_err(|e| {
            tool_err(
                tool,
                format!("cannot run it ({e}); install PostgreSQL's client tools or give its path"),
            )
        })?;
    let tool_version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let mut cmd = std::process::Command::new(tool);
    cmd.args([
        "-d",
        &opts.connection,
        "-D",
        "-",
        "-F",
        "tar",
        "-X",
        "none",
        "-v",
        "--no-manifest",
    ])
    .args(["-l", &label])
    .args([
        "-c",
        if opts.fast_checkpoint {
            "fast"
        } else {
            "spread"
        },
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| tool_err(tool, format!("cannot start it: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(tool_err(tool, "no output pipes"));
    };
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            tracing::debug!(target: "pg_basebackup", "{line}");
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let lock = repo.lock(false).await?;
    let res = async {
        let writer = StreamSnapshot::new(repo, opts.saver.clone());
        let saved = writer.save(stdout).await?;
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(|e| PitrError::Engine(thinledger_repository::Error::Task(e.to_string())))?
            .map_err(|e| tool_err(tool, format!("waiting for it: {e}")))?;
        let stderr: String = err_reader.join().unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
        if !status.success() {
            return Err(tool_err(tool, format!("{status}: {tail}")));
        }
        let saved = saved.map_err(|e| tool_err(tool, format!("reading its output: {e}")))?;
        let local_stop = Utc::now().fixed_offset();
        // With `-X none` pg_basebackup returned only after the WAL up to the backup's end was
        // archived; the backup history file written at its end follows it into the archive.
        let Some(h) = find_backup_history(repo, catalog, &label, opts.history_wait).await? else {
            return Err(tool_err(
                tool,
                format!(
                    "the backup finished but its history file (LABEL: {label}) did not reach the archive within {} s: check that archive_mode is on and archive_command is `ledger-backup wal push %p` for cluster `{}`",
                    opts.history_wait.as_secs(),
                    catalog.cluster()
                ),
            ));
        };
        // The history file's times have whole seconds: one second more is a safe upper bound
        // of the end (recovery targets must come after it).
        let stop_time = h
            .stop_time
            .map_or(local_stop, |t| t + chrono::Duration::seconds(1));
        let backup = BaseBackup {
            label: label.clone(),
            cluster: catalog.cluster().to_string(),
            timeline: h.timeline,
            start_lsn: h.start_lsn,
            stop_lsn: h.stop_lsn,
            start_time: h.start_time.unwrap_or(start_time),
            stop_time,
            size: saved.size,
            sha256: saved.sha256.clone(),
            tool_version,
        };
        let file = format!("{label}.tar");
        let b2 = backup.clone();
        let snapshot = writer
            .finish(
                vec![(file, saved.size, Some(stop_time), saved.ids)],
                vec![
                    BASE_TAG.to_string(),
                    format!("cluster={}", catalog.cluster()),
                ],
                move |_| {
                    let mut m = serde_json::Map::new();
                    if let Ok(v) = serde_json::to_value(&b2) {
                        m.insert(BASE_KEY.to_string(), v);
                    }
                    m
                },
            )
            .await?;
        Ok((snapshot, backup))
    }
    .await;
    lock.release().await?;
    let (snapshot, backup) = res?;
    catalog.add_backup(snapshot, Utc::now().fixed_offset(), backup.clone());
    catalog.persist(repo).await;
    tracing::info!(snapshot = %snapshot.short(), label = %backup.label, "base backup stored");
    Ok(BaseBackupSummary {
        backup: CatalogBackup { backup, snapshot },
        duration_secs: started.elapsed().as_secs_f64(),
    })
}

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
            PitrError::InvalidInput {
            field: "--to-time",
            value: s.to_string(),
            rule: "give a time like `2026-05-13T10:15:00Z` or `2026-05-13 10:15:00.25+02` (no offset means UTC)".into(),
        }
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

/// Knobs of a restore.
#[derive(Debug, Clone)]
pub struct PgRestoreOptions {
    /// The new data directory (must be missing or empty).
    pub target_dir: PathBuf,
    /// Where recovery stops.
    pub to: RecoveryTarget,
    /// The `restore_command` the restored server runs (`%f`, `%p` as PostgreSQL expects).
    pub restore_command: String,
    /// A command PostgreSQL runs once recovery ends (e.g. removing a prefetch spool).
    pub recovery_end_command: Option<String>,
    /// The prefetch spool the `restore_command` reads (its `wal fetch --spool`): filled with
    /// the first segments of the recovery while the base backup unpacks. `None`: not filled.
    pub prefetch_spool: Option<PathBuf>,
    /// Blobs read at once.
    pub concurrency: usize,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
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

/// Restores the base backup that serves `opts.to` into `opts.target_dir` and writes the
/// recovery settings. Start PostgreSQL on the directory to recover.
pub async fn restore(
    repo: &Arc<Repository>,
    catalog: &Catalog,
    opts: &PgRestoreOptions,
) -> PitrResult<PgRestoreSummary> {
    let started = Instant::now();
    let dir = &opts.target_dir;
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(PitrError::InvalidInput {
                    field: "--target",
                    value: dir.display().to_string(),
                    rule: "the directory is not empty; give a new or empty directory for the restored data".into(),
                });
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
        &opts.restore_command,
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
        target_dir: dir.clone(),
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
    let opts = FetchOptions::default();
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
    crate::wal::fetch::seed_spool(repo, catalog, first, count, spool, &opts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_history_is_parsed() {
        let text = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                    STOP WAL LOCATION: 0/2000100 (file 000000010000000000000002)\n\
                    CHECKPOINT LOCATION: 0/2000060\n\
                    BACKUP METHOD: streamed\n\
                    BACKUP FROM: primary\n\
                    START TIME: 2026-05-13 10:15:00 UTC\n\
                    LABEL: main-20260513T101500Z\n\
                    START TIMELINE: 1\n\
                    STOP TIME: 2026-05-13 10:15:02 UTC\n\
                    STOP TIMELINE: 1\n";
        let h = parse_backup_history(text).unwrap();
        assert_eq!(h.label, "main-20260513T101500Z");
        assert_eq!(h.start_lsn, Lsn(0x2000028));
        assert_eq!(h.stop_lsn, Lsn(0x2000100));
        assert_eq!(h.timeline, 1);
        assert_eq!(
            h.stop_time.unwrap().to_rfc3339(),
            "2026-05-13T10:15:02+00:00"
        );
        assert!(parse_history_time("2026-05-13 10:15:00 CEST").is_none());
        assert!(parse_history_time("2026-05-13 10:15:00 +02").is_some());
    }

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
