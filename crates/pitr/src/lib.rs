//! PostgreSQL point-in-time recovery on the thin ledger's repository engine: continuous WAL
//! archiving ([`wal`]: PostgreSQL's `archive_command` and `restore_command`) and base backups
//! and restores to a point in time ([`pg`]).
//!
//! WAL files and base backups are ordinary snapshots in a restic-format repository
//! ([`thinledger_repository`]), so `restic check --read-data` stays clean and stock `restic
//! restore` gives them back too. Both modules report [`wal::PitrError`].
//!
//! # Public surface
//! - [`wal`]: `archive_command`/`restore_command` ([`wal::push_batch`], [`wal::push_async`],
//!   [`wal::fetch()`]), the archive's [`wal::Catalog`] and recoverable window;
//!   [`wal::PitrError`] for both modules.
//! - [`pg`]: base backups ([`pg::base_backup`]), listing, retention and restore to a point
//!   in time ([`pg::restore`]).
//! - [`ArchiveCommand`]: the `ledger-backup` command lines another process runs against the
//!   same archive (PostgreSQL's `restore_command`, the async archiver's worker), quoted with
//!   [`sh_quote`].
//!
//! ```
//! use thinledger_pitr::wal::WalFileName;
//!
//! let name: WalFileName = "000000010000000000000003".parse()?;
//! assert!(name.is_segment());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod command;
pub mod pg;
pub mod wal;

pub use command::{ArchiveCommand, PASSWORD_COMMAND_ENV, sh_quote};
