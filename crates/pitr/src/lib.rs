//! PostgreSQL point-in-time recovery on the thin ledger's repository engine: continuous WAL
//! archiving ([`wal`]: PostgreSQL's `archive_command` and `restore_command`) and base backups
//! and restores to a point in time ([`pg`]).
//!
//! WAL files and base backups are ordinary snapshots in a restic-format repository
//! ([`thinledger_repository`]), so `restic check --read-data` stays clean and stock `restic
//! restore` gives them back too. Both modules report [`PitrError`].
//!
//! # Public surface
//! Two namespaces, one per job, each with its curated list; the rest at the root:
//! - [`wal`]: continuous archiving — `archive_command` ([`wal::push_batch`], and
//!   [`wal::push_async`]/[`wal::run_worker`] for bursts), `restore_command` ([`wal::fetch()`],
//!   [`wal::fetch_from_spool`], [`wal::known_missing`]), the archive's [`wal::Catalog`], the
//!   recoverable window ([`wal::windows`]) and retention ([`wal::plan_retention`] →
//!   [`wal::apply_retention`], around S3 Object Lock retention: [`wal::retained_removals`]); WAL names ([`wal::WalFileName`], [`wal::Lsn`]).
//! - [`pg`]: base backups ([`pg::base_backup`] runs `pg_basebackup`;
//!   [`pg::base_backup_from_tar`] takes its tar stream as an [`tokio::io::AsyncRead`]) and
//!   restores to a point in time ([`pg::restore`], [`pg::RecoveryTarget`]).
//! - [`PitrError`] and [`PitrResult`] for both.
//! - [`ArchiveCommand`]: the `ledger-backup` command lines another process runs against the
//!   same archive (PostgreSQL's `restore_command`, the async archiver's worker), quoted with
//!   [`sh_quote`]; [`PASSWORD_COMMAND_ENV`].
//!
//! Options are `#[non_exhaustive]` with `Default` and `with_*` setters; what has no default
//! (a spool directory, a target directory, a `restore_command`) is an argument.
//!
//! ```
//! use thinledger_pitr::pg::{PgRestoreOptions, RecoveryTarget};
//! use thinledger_pitr::wal::WalFileName;
//!
//! let name: WalFileName = "000000010000000000000003".parse()?;
//! assert!(name.is_segment());
//! let options = PgRestoreOptions::default()
//!     .with_to(RecoveryTarget::parse_time("2026-05-13 10:15:00+02")?)
//!     .with_prefetch_spool("/var/lib/postgresql/restore/thinledger-prefetch");
//! assert_eq!(options.concurrency, 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod command;
mod error;
pub mod pg;
pub mod wal;

pub use command::{ArchiveCommand, PASSWORD_COMMAND_ENV, sh_quote};
pub use error::{PitrError, PitrResult};
