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
//! Where `pg_basebackup` runs elsewhere (a sidecar, another host), [`base_backup_from_tar`]
//! takes its tar stream as a [`tokio::io::AsyncRead`] instead, read once in bounded memory;
//! the record is written the same way, once the stream ended and the backup's history file
//! reached the archive.
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

mod base_backup;
mod restore;
mod unpack;

// The PostgreSQL side's public surface (`thinledger_pitr::pg::…`).
pub use base_backup::{BaseBackupOptions, BaseBackupSummary, base_backup, base_backup_from_tar};
pub use restore::{PgRestoreOptions, PgRestoreSummary, RecoveryTarget, recovery_settings, restore};
