//! The thin ledger's repository engine: encrypted, compressed, deduplicated snapshots in
//! restic's repository format version 2, on any [`object_store::ObjectStore`].
//!
//! Most users import it through `thinledger-backup`, which re-exports it at its root and adds
//! object stores, PITR, CockroachDB and the scheduler behind features. The crate's layout
//! (private modules; the items are re-exported below): `repo` is the format (keys, packs,
//! index, trees, snapshots, locks), `chunker` and `saver` turn data into packs, and `commands`
//! holds the verbs (backup, restore and dump, check, copy, forget, ls, prune, repair), one
//! module each.
//!
//! A repository written here passes stock `restic check --read-data` and restores with
//! `restic restore`; one written by restic opens, lists and restores here. Everything is async
//! on tokio; file data streams through with bounded memory.
//!
//! Upkeep: [`check()`] (also temporary upload files, unknown files and loose modes of a local
//! folder, see [`Repository::scan_strays`]), [`prune()`], [`repair_index`] and
//! [`repair_snapshots`] (`repair index`, `repair snapshots`), and [`forget()`]: forget by a
//! policy, then prune, as one call with one report. [`Repository::with_no_lock`] reads without
//! writing a lock; [`Repository::load_index`] skips damaged index files with a warning.
//!
//! # Public surface
//!
//! The items re-exported at the root (one `pub use` block below) are the engine's API:
//! - [`Repository`] (`init`, `open`, snapshots, locks) with [`InitOptions`], [`KdfParams`],
//!   [`ChunkerParams`] (a new repository that chunks like another, for `copy`),
//!   [`Password`], and where a password comes from: [`PasswordSource`] / [`PasswordError`];
//! - the verbs and their options, reports and plans: [`backup_paths`] / [`backup_reader`]
//!   ([`BackupOptions`], [`SaverOptions`]; live totals, share done, time left and current
//!   files: [`BackupProgress`] / [`BackupStatus`]) and what a backup reads: [`ExcludePatterns`]
//!   ([`PatternError`]), [`read_exclude_file`], [`read_files_from`] ([`FilesFrom`]),
//!   [`CACHEDIR_TAG`]; [`restore`] / [`dump`] ([`RestoreOptions`]),
//!   [`check()`] ([`CheckOptions`]), [`copy()`], [`plan_forget`] / [`apply_forget`]
//!   ([`KeepPolicy`]), [`prune()`] ([`PruneOptions`]), [`forget()`]
//!   ([`ForgetOptions`], [`ForgetReport`]), [`repair_index`] / [`repair_snapshots`], [`ls()`];
//! - the format's values: [`Snapshot`], [`SnapshotFilter`], [`Tree`], [`Node`], [`Id`],
//!   [`Config`], [`BlobType`], [`FileType`]; [`Error`].
//!
//! Option structs are `#[non_exhaustive]`: start from `Default::default()` and set fields with
//! their `with_*` setters, so a new knob is not a breaking change.
//!
//! # The format layer: [`raw`]
//!
//! One module, [`raw`], holds what a crate storing its own kinds of data in a repository
//! needs beyond the root (`thinledger-pitr` keeps its WAL catalog and base backups this way),
//! and what tests that write damaged repositories on purpose use: the blob saver, the chunker,
//! the index, confined file operations. Its documentation lists the [`Repository`] methods
//! that belong to this layer.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use thinledger_repository::{InitOptions, KdfParams, Password, Repository};
//!
//! let store = Arc::new(object_store::memory::InMemory::new());
//! let password = Password::new("correct horse battery staple");
//! // Cheap key derivation for the example; the default is restic's.
//! let options = InitOptions::default().with_kdf(KdfParams { n: 1024, r: 8, p: 1 });
//! let repo = Repository::init(store.clone(), "memory://", &password, &options).await?;
//! assert_eq!(repo.config().version, 2);
//!
//! let reopened = Repository::open(store, "memory://", &password).await?;
//! assert_eq!(reopened.config().id, repo.config().id);
//! # Ok(()) }
//! ```

/// The object-store crate this engine is written against, so users need not match its version.
pub use object_store;

mod chunker;
mod commands;
mod error;
mod password_source;
pub mod raw;
mod repo;
mod saver;
mod select;
mod targets;

pub use commands::backup::{
    BackupOptions, BackupSummary, ParentSelection, backup_paths, backup_reader,
};
pub use commands::backup_progress::{BackupProgress, BackupStatus};
pub use commands::check::{CheckOptions, CheckReport, ReadData, check};
pub use commands::copy::{CopySummary, copy};
pub use commands::forget::{
    ForgetGroup, ForgetOptions, ForgetPlan, ForgetReport, KeepPolicy, Kept, apply_forget, forget,
    plan_forget,
};
pub use commands::ls::{LsEntry, ls};
pub use commands::prune::{PruneOptions, PrunePlan, prune};
pub use commands::repair::{
    RepairIndexOptions, RepairIndexReport, RepairSnapshotsOptions, RepairSnapshotsReport,
    RepairedSnapshot, repair_index, repair_snapshots,
};
pub use commands::restore::{
    DamagedFile, EntryError, Overwrite, RestoreOptions, RestoreProgress, RestoreSummary, dump,
    restore,
};
pub use error::{Error, Result};
pub use password_source::{PasswordError, PasswordSource};
pub use repo::backend::FileType;
pub use repo::config::{ChunkerParams, Config, Polynomial};
pub use repo::goquote::UnquoteError;
pub use repo::id::{Id, ParseIdError};
pub use repo::key::{KdfParams, Password};
pub use repo::lock::{Lock, LockFile};
pub use repo::pack::BlobType;
pub use repo::retained::{RetainedObject, RetentionFinding};
pub use repo::snapshot::{Snapshot, SnapshotEntry, SnapshotFilter};
pub use repo::stray::{LooseMode, StrayFile, StrayScan};
pub use repo::tree::{NameProblem, NameProblemKind, Node, NodeName, NodeType, Tree};
pub use repo::{InitOptions, Repository};
pub use saver::{Compression, SaverOptions};
pub use select::{
    CACHEDIR_SIGNATURE, CACHEDIR_TAG, ExcludePatterns, FilesFrom, PatternError, parse_exclude_file,
    parse_files_from, read_exclude_file, read_files_from,
};
