//! The repository verbs, one module each, as restic names them.
//!
//! | verb | module | entry points |
//! |---|---|---|
//! | `backup` | [`backup`] | [`backup_paths`](backup::backup_paths), [`backup_reader`](backup::backup_reader); its live state: [`backup_progress`] |
//! | `restore`, `dump` | [`restore`] | [`restore`](restore::restore), [`dump`](restore::dump) |
//! | `check` | [`check`] | [`check`](check::check) |
//! | `copy` | [`copy`] | [`copy`](copy::copy) |
//! | `forget` | [`forget`] | [`plan_forget`](forget::plan_forget) → [`apply_forget`](forget::apply_forget); [`forget`](forget::forget()) does both, then prunes if asked |
//! | `ls` | [`ls`] | [`ls`](ls::ls) |
//! | `prune` | [`prune`] | [`prune`](prune::prune) (plans, then applies unless a dry run) |
//! | `repair index`, `repair snapshots` | [`repair`] | [`repair_index`](repair::repair_index), [`repair_snapshots`](repair::repair_snapshots) |
//!
//! Each verb works on an open [`Repository`](crate::Repository); the building blocks they
//! share (pack saving, chunking, the repository format) live beside this module.

pub mod backup;
pub mod backup_progress;
pub mod check;
pub mod copy;
pub mod forget;
pub mod ls;
pub mod prune;
pub mod repair;
pub mod restore;
