//! PostgreSQL point-in-time recovery on the thin ledger's repository engine: continuous WAL
//! archiving ([`wal`]: PostgreSQL's `archive_command` and `restore_command`) and base backups
//! and restores to a point in time ([`pg`]).
//!
//! WAL files and base backups are ordinary snapshots in a restic-format repository
//! ([`thinledger_repository`]), so `restic check --read-data` stays clean and stock `restic
//! restore` gives them back too. Both modules report [`wal::PitrError`].
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
