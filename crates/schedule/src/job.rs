//! What the scheduler runs: the [`JobRunner`] trait and what a run reports.
//!
//! The scheduler owns timing (cron, jitter, overlap, retries, timeouts, stop) and metrics;
//! a runner owns the work. Real runners: [`super::RepositoryJob`] (the engine) and
//! [`super::CockroachJob`] (CockroachDB native backups). Tests drive the timing with runners
//! that only sleep, on tokio's paused clock.

use std::fmt;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;

/// What a runner is told about the run it is part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The job's name.
    pub job: String,
    /// The fire time this run belongs to (before jitter).
    pub scheduled_for: DateTime<Utc>,
    /// 1 for the first attempt of the backup step, 2 for the first retry, …
    pub attempt: u32,
}

/// What a successful backup step reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackupReport {
    /// New bytes the backup stored (before compression; 0 when everything was deduplicated).
    pub bytes_added: u64,
    /// Bytes the backup covered.
    pub bytes_total: u64,
    /// The snapshot or backup it made (id, or a CockroachDB job id).
    pub snapshot: Option<String>,
}

/// What retention did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetentionReport {
    /// Snapshots kept.
    pub kept: usize,
    /// Snapshots removed.
    pub removed: usize,
    /// Pack files deleted or rewritten by prune.
    pub packs_pruned: usize,
}

/// What a restore drill found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DrillReport {
    /// Seconds the test restore took (`None` when the drill restores nothing).
    pub restore_seconds: Option<f64>,
    /// Bytes restored (or verified).
    pub bytes: u64,
    /// What was checked, for the log (e.g. `check 10% of packs; restore of 1a2b3c4d`).
    pub what: String,
}

/// Why a step of a run failed. The message never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The backup engine failed.
    #[error(transparent)]
    Engine(#[from] thinledger_repository::Error),
    /// The store could not be built.
    #[error(transparent)]
    Store(#[from] thinledger_store::StoreError),
    /// The CockroachDB driver failed.
    #[cfg(feature = "cockroach")]
    #[error(transparent)]
    Cockroach(#[from] thinledger_cockroach::CockroachError),
    /// Something the job depends on failed (password source, stdin command, a drill's
    /// comparison).
    #[error("{what}: {message}")]
    Failed {
        /// What failed.
        what: String,
        /// Why, with the fix where there is one.
        message: String,
    },
    /// An attempt ran longer than the job's `timeout`.
    #[error("the attempt ran longer than the job's timeout of {seconds}s and was cancelled")]
    TimedOut {
        /// The timeout.
        seconds: u64,
    },
    /// The scheduler stopped while the attempt ran and the stop timeout passed.
    #[error("cancelled by the scheduler's stop (SIGTERM/SIGINT) after the stop timeout")]
    Cancelled,
}

impl JobError {
    /// A [`JobError::Failed`].
    pub fn failed(what: impl Into<String>, message: impl fmt::Display) -> Self {
        JobError::Failed {
            what: what.into(),
            message: message.to_string(),
        }
    }
}

/// One job's work, in three steps the scheduler sequences: the backup (retried with backoff),
/// then retention (after a successful backup), then the restore drill (after every N-th
/// successful backup). Implementations must be cancel-safe at await points: the scheduler drops
/// a step's future when it times out or when a stop's grace period ends.
pub trait JobRunner: Send + Sync + fmt::Debug {
    /// `repository`, `cockroach`, … (for logs).
    fn kind(&self) -> &'static str;

    /// Makes one backup.
    fn backup<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<BackupReport, JobError>>;

    /// Applies retention; `None` when the job has none.
    fn retention<'a>(
        &'a self,
        ctx: &'a RunContext,
    ) -> BoxFuture<'a, Result<Option<RetentionReport>, JobError>> {
        let _ = ctx;
        Box::pin(async { Ok(None) })
    }

    /// Runs the restore drill on what `backup` just made; `None` when the job has none.
    fn drill<'a>(
        &'a self,
        ctx: &'a RunContext,
        backup: &'a BackupReport,
    ) -> BoxFuture<'a, Result<Option<DrillReport>, JobError>> {
        let _ = (ctx, backup);
        Box::pin(async { Ok(None) })
    }
}
