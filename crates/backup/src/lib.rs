//! The thin ledger's backups: the crate a tool imports to back up and restore.
//!
//! With default features this is the repository engine ([`thinledger_repository`], re-exported
//! at this crate's root): encrypted, compressed, deduplicated snapshots in restic's repository
//! format version 2, on a local folder or any [`object_store::ObjectStore`]. Everything else is
//! a crate of its own, re-exported here behind a cargo feature:
//!
//! | feature | module | crate |
//! |---|---|---|
//! | (always) | root (the engine's items), [`raw`] (its format layer) | `thinledger-repository` |
//! | (always; `s3`, `azure`, `gcs` add cloud stores) | [`store`] | `thinledger-store` |
//! | `pitr` | `pitr` (`pitr::wal`, `pitr::pg`) | `thinledger-pitr` |
//! | `cockroach` | `cockroach` | `thinledger-cockroach` |
//! | `schedule` (`kubernetes` adds `schedule::render`) | `schedule` | `thinledger-schedule` |
//! | `bucket` (`s3` adds S3 buckets) | `bucket` | `thinledger-bucket` |
//!
//! Each item is reachable once: the engine's items at the root ([`Repository`],
//! [`backup_paths`], [`restore`], [`PasswordSource`], …) and its format layer under [`raw`]
//! (what a crate storing its own kinds of data needs, as `thinledger-pitr` does); the other
//! crates under their module. [`object_store`] is re-exported so users
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

// The engine's public surface, exactly as `thinledger_repository`'s root lists it (one list to
// keep, not two): `Repository`, the verbs, their options and reports, the format's values,
// `raw` (the format layer) and `object_store` (the store crate, so users need not match its
// version).
pub use thinledger_repository::*;

pub use thinledger_store as store;

#[cfg(feature = "pitr")]
pub use thinledger_pitr as pitr;

#[cfg(feature = "cockroach")]
pub use thinledger_cockroach as cockroach;

#[cfg(feature = "schedule")]
pub use thinledger_schedule as schedule;

#[cfg(feature = "bucket")]
pub use thinledger_bucket as bucket;

/// The Kubernetes types of `schedule::render`, so the application's version is the one used.
#[cfg(feature = "kubernetes")]
pub use thinledger_schedule::k8s_openapi;
