//! Base backups: `pg_basebackup`'s tar stream into one snapshot, its record after the
//! backup history file reached the archive.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead};

use crate::error::{PitrError, PitrResult};
use crate::wal::{
    BASE_KEY, BASE_TAG, BaseBackup, Catalog, CatalogBackup, CatalogFile, Lsn, StreamSnapshot,
    read_archived, validate_cluster,
};
use thinledger_repository::Repository;
use thinledger_repository::SaverOptions;

/// Knobs of a base backup.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BaseBackupOptions {
    /// The `pg_basebackup` program (a path, or a name looked up in `PATH`). Default
    /// `pg_basebackup`.
    pub pg_basebackup: PathBuf,
    /// Connection string for `pg_basebackup -d` (e.g. `host=… port=… user=…`); empty (the
    /// default): libpq's `PG*` environment variables. Passwords come from
    /// `PGPASSWORD`/`.pgpass` as for every libpq tool, never from here.
    pub connection: String,
    /// Backup label (default: `CLUSTER-YYYYMMDDTHHMMSSZ`).
    pub label: Option<String>,
    /// Ask for an immediate checkpoint instead of waiting for the next one. Default `true`.
    pub fast_checkpoint: bool,
    /// Blob saving.
    pub saver: SaverOptions,
    /// How long to wait for the backup's history file to reach the archive. Default 120 s.
    pub history_wait: std::time::Duration,
}

impl Default for BaseBackupOptions {
    fn default() -> Self {
        BaseBackupOptions {
            pg_basebackup: PathBuf::from("pg_basebackup"),
            connection: String::new(),
            label: None,
            fast_checkpoint: true,
            saver: SaverOptions::default(),
            history_wait: std::time::Duration::from_secs(120),
        }
    }
}

impl BaseBackupOptions {
    /// Sets [`BaseBackupOptions::pg_basebackup`].
    pub fn with_pg_basebackup(mut self, program: impl Into<PathBuf>) -> Self {
        self.pg_basebackup = program.into();
        self
    }

    /// Sets [`BaseBackupOptions::connection`].
    pub fn with_connection(mut self, connection: impl Into<String>) -> Self {
        self.connection = connection.into();
        self
    }

    /// Sets [`BaseBackupOptions::label`].
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets [`BaseBackupOptions::fast_checkpoint`].
    pub fn with_fast_checkpoint(mut self, fast: bool) -> Self {
        self.fast_checkpoint = fast;
        self
    }

    /// Sets [`BaseBackupOptions::saver`].
    pub fn with_saver(mut self, saver: SaverOptions) -> Self {
        self.saver = saver;
        self
    }

    /// Sets [`BaseBackupOptions::history_wait`].
    pub fn with_history_wait(mut self, wait: std::time::Duration) -> Self {
        self.history_wait = wait;
        self
    }
}

/// What a base backup did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
        let fresh: Vec<CatalogFile> = catalog
            .files()
            .filter(|f| f.file.name.ends_with(".backup") && !seen.contains(&f.file.name))
            .cloned()
            .collect();
        for f in fresh {
            seen.insert(f.file.name.clone());
            let data = read_archived(repo, &f).await?;
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

/// The label of a new base backup: the caller's, else `CLUSTER-YYYYMMDDTHHMMSSZ`.
fn backup_label(
    catalog: &Catalog,
    label: Option<&str>,
    start_time: DateTime<FixedOffset>,
) -> PitrResult<String> {
    let label = label.map_or_else(
        || {
            format!(
                "{}-{}",
                catalog.cluster(),
                start_time.format("%Y%m%dT%H%M%SZ")
            )
        },
        str::to_owned,
    );
    validate_cluster(&label).map_err(|_| {
        PitrError::invalid(
            "label",
            label.clone(),
            "use letters, digits, `-`, `_` or `.` (at most 64)",
        )
    })?;
    Ok(label)
}

/// Takes a base backup with `pg_basebackup` into the repository: runs it (tar format to
/// standard output, `-X none`) and stores its tar stream as [`base_backup_from_tar`] does.
/// Takes a shared lock.
pub async fn base_backup(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    opts: &BaseBackupOptions,
) -> PitrResult<BaseBackupSummary> {
    let started = Instant::now();
    let start_time = Utc::now().fixed_offset();
    let label = backup_label(catalog, opts.label.as_deref(), start_time)?;
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
    let mut cmd = tokio::process::Command::new(tool);
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
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| tool_err(tool, format!("cannot start it: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(tool_err(tool, "no output pipes"));
    };
    let err_reader = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!(target: "pg_basebackup", "{line}");
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    // pg_basebackup's exit status decides before anything is recorded.
    let finished = async {
        let status = child
            .wait()
            .await
            .map_err(|e| tool_err(tool, format!("waiting for it: {e}")))?;
        let stderr: String = err_reader.await.unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
        if status.success() {
            Ok(())
        } else {
            Err(tool_err(tool, format!("{status}: {tail}")))
        }
    };
    let source = TarSource {
        tool,
        label,
        tool_version,
        started,
        start_time,
    };
    store_base(repo, catalog, source, stdout, finished, opts).await
}

/// Stores a base backup whose tar stream the caller streams: the standard output of a
/// `pg_basebackup -D - -F tar -X none -l LABEL` run elsewhere (say in a sidecar), with `label`
/// the label it was given (the backup history file of that label must reach this cluster's
/// archive within [`BaseBackupOptions::history_wait`] after the stream ends). Only
/// [`BaseBackupOptions::saver`] and [`BaseBackupOptions::history_wait`] apply. The stream is
/// read once, in bounded memory. Takes a shared lock.
pub async fn base_backup_from_tar<R>(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    label: &str,
    tar: R,
    opts: &BaseBackupOptions,
) -> PitrResult<BaseBackupSummary>
where
    R: AsyncRead + Unpin + Send,
{
    let started = Instant::now();
    let start_time = Utc::now().fixed_offset();
    let source = TarSource {
        tool: Path::new("pg_basebackup"),
        label: backup_label(catalog, Some(label), start_time)?,
        tool_version: String::from("pg_basebackup (run by the caller)"),
        started,
        start_time,
    };
    store_base(repo, catalog, source, tar, async { Ok(()) }, opts).await
}

/// Where a base backup's tar stream comes from.
struct TarSource<'a> {
    tool: &'a Path,
    label: String,
    tool_version: String,
    started: Instant,
    start_time: DateTime<FixedOffset>,
}

/// Stores `tar` under a shared lock; once it is read and `finished` (the producer's outcome)
/// succeeded, waits for the backup history file and writes the snapshot with the record.
async fn store_base<R, F>(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    source: TarSource<'_>,
    tar: R,
    finished: F,
    opts: &BaseBackupOptions,
) -> PitrResult<BaseBackupSummary>
where
    R: AsyncRead + Unpin + Send,
    F: Future<Output = PitrResult<()>>,
{
    let TarSource {
        tool,
        label,
        tool_version,
        started,
        start_time,
    } = source;
    let lock = repo.lock(false).await?;
    let res = async {
        let writer = StreamSnapshot::new(repo, opts.saver.clone());
        let saved = writer.save_async(tar).await?;
        finished.await?;
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
}
