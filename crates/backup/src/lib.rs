//! The thin ledger's backups: the crate a tool imports to back up and restore.
//!
//! With default features this is the repository engine ([`thinledger_repository`], re-exported
//! at this crate's root): encrypted, compressed, deduplicated snapshots in restic's repository
//! format version 2, on a local folder or any [`object_store::ObjectStore`]. Everything else is
//! a crate of its own, re-exported here behind a cargo feature:
//!
//! | feature | module | crate |
//! |---|---|---|
//! | (always) | root (the engine's items), [`repository`] (its low-level API) | `thinledger-repository` |
//! | (always; `s3`, `azure`, `gcs` add cloud stores) | [`store`] | `thinledger-store` |
//! | `pitr` | `pitr` (`pitr::wal`, `pitr::pg`) | `thinledger-pitr` |
//! | `cockroach` | `cockroach` | `thinledger-cockroach` |
//! | `schedule` (`kubernetes` adds `schedule::render`) | `schedule` | `thinledger-schedule` |
//!
//! Each crate is reachable once: the engine's items at the root ([`Repository`],
//! [`backup_paths`], [`restore`], [`PasswordSource`], …) and its low-level API under
//! [`repository`]; the others under their module. [`object_store`] is re-exported so users
//! need not match its version.
//!
//! `full` enables all of them, `all-stores` every cloud store. The `kubernetes` feature uses
//! `k8s-openapi` without a version feature: the application enables one (e.g. `v1_33`) on its
//! own `k8s-openapi` dependency, re-exported here as `k8s_openapi` so the versions match.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use thinledger_backup::store::StoreBuilder;
//! use thinledger_backup::{InitOptions, KdfParams, Password, Repository};
//!
//! let dir = tempfile::tempdir()?;
//! let store = StoreBuilder::new(dir.path().join("repo").to_string_lossy()).build()?;
//! let password = Password::new("correct horse battery staple");
//! // Cheap key derivation for the example; the default is restic's.
//! let options = InitOptions::default().with_kdf(KdfParams { n: 1024, r: 8, p: 1 });
//! let repo = Repository::init(store.object_store(), store.display_url(), &password, &options).await?;
//! assert_eq!(repo.config().version, 2);
//! # Ok(()) }
//! ```

/// The object-store crate the engine and the stores are written against, so users need not
/// match its version.
pub use thinledger_repository::object_store;

/// The repository engine as a namespace: its low-level API (`repository::repo`,
/// `repository::saver`, `repository::chunker`, `repository::commands`), for tools that work
/// below the verbs re-exported at this crate's root.
pub use thinledger_repository as repository;

// The engine's public surface, as `thinledger_repository` lists it.
pub use thinledger_repository::{
    BackupOptions, BackupProgress, BackupSummary, BlobType, CheckOptions, CheckReport, Compression,
    Config, CopySummary, DamagedFile, EntryError, Error, FileType, ForgetPlan, Id, InitOptions,
    KdfParams, KeepPolicy, Lock, LockFile, LsEntry, NameProblem, NameProblemKind, Node, NodeName,
    NodeType, Overwrite, ParentSelection, Password, PasswordError, PasswordSource, PruneOptions,
    PrunePlan, ReadData, RepairIndexOptions, RepairIndexReport, RepairSnapshotsOptions,
    RepairSnapshotsReport, RepairedSnapshot, Repository, RestoreOptions, RestoreProgress,
    RestoreSummary, Result, SaverOptions, Snapshot, SnapshotEntry, SnapshotFilter, Tree,
    apply_forget, backup_paths, backup_reader, check, copy, dump, ls, plan_forget, prune,
    repair_index, repair_snapshots, restore,
};

pub use thinledger_store as store;

#[cfg(feature = "pitr")]
pub use thinledger_pitr as pitr;

#[cfg(feature = "cockroach")]
pub use thinledger_cockroach as cockroach;

#[cfg(feature = "schedule")]
pub use thinledger_schedule as schedule;

/// The Kubernetes types of `schedule::render`, so the application's version is the one used.
#[cfg(feature = "kubernetes")]
pub use thinledger_schedule::k8s_openapi;
