//! The thin ledger's backup engine: encrypted, compressed, deduplicated snapshots in restic's
//! repository format version 2, on any [`object_store::ObjectStore`].
//!
//! A repository written here passes stock `restic check --read-data` and restores with
//! `restic restore`; one written by restic opens, lists and restores here. Everything is async
//! on tokio; file data streams through with bounded memory.
//!
//! Upkeep: [`check()`] (also temporary upload files, unknown files and loose modes of a local
//! folder, see [`repo::stray`]), [`prune()`], and [`repair`] (`repair index`, `repair
//! snapshots`). [`Repository::with_no_lock`] reads without writing a lock;
//! [`Repository::load_index`] skips damaged index files with a warning.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use thinledger_backup::{InitOptions, KdfParams, Password, Repository};
//!
//! let store = Arc::new(object_store::memory::InMemory::new());
//! let password = Password::new("correct horse battery staple");
//! // Cheap key derivation for the example; the default is restic's.
//! let options = InitOptions { kdf: KdfParams { n: 1024, r: 8, p: 1 } };
//! let repo = Repository::init(store.clone(), "memory://", &password, &options).await?;
//! assert_eq!(repo.config().version, 2);
//!
//! let reopened = Repository::open(store, "memory://", &password).await?;
//! assert_eq!(reopened.config().id, repo.config().id);
//! # Ok(()) }
//! ```

pub mod archiver;
pub mod check;
pub mod chunker;
#[cfg(feature = "cockroach")]
pub mod cockroach;
pub mod copy;
pub mod error;
pub mod forget;
pub mod ls;
pub mod pg;
pub mod prune;
pub mod repair;
pub mod repo;
pub mod restorer;
pub mod saver;
pub mod schedule;
pub mod store;
mod targets;
pub mod wal;

pub use archiver::{
    BackupOptions, BackupProgress, BackupSummary, ParentSelection, backup_paths, backup_reader,
};
pub use check::{CheckOptions, CheckReport, ReadData, check};
pub use copy::{CopySummary, copy};
pub use error::{Error, Result};
pub use forget::{ForgetPlan, KeepPolicy, apply_forget, plan_forget};
pub use ls::{LsEntry, ls};
pub use prune::{PruneOptions, PrunePlan, prune};
pub use repair::{
    RepairIndexOptions, RepairIndexReport, RepairSnapshotsOptions, RepairSnapshotsReport,
    RepairedSnapshot, repair_index, repair_snapshots,
};
pub use repo::backend::FileType;
pub use repo::config::Config;
pub use repo::id::Id;
pub use repo::key::{KdfParams, Password};
pub use repo::lock::{Lock, LockFile};
pub use repo::pack::BlobType;
pub use repo::snapshot::{Snapshot, SnapshotEntry, SnapshotFilter};
pub use repo::tree::{NameProblem, NameProblemKind, Node, NodeName, NodeType, Tree};
pub use repo::{InitOptions, Repository};
pub use restorer::{
    DamagedFile, EntryError, Overwrite, RestoreOptions, RestoreProgress, RestoreSummary, dump,
    restore,
};
pub use saver::{Compression, SaverOptions};
