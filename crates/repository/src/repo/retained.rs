//! Deletes on an immutable repository (S3 Object Lock, GCS object retention): which of the
//! objects an operation would delete are still under retention, and until when. forget and
//! prune leave those in place and say so; a later run after the date removes them. Deletes
//! are only ever issued for objects whose retention has passed (or that have none), so the
//! bucket never refuses one part-way.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use thinledger_store::ObjectLock;

use super::Repository;
use super::backend::{FileType, path_of};
use super::id::Id;
use crate::{Error, Result};

/// How far past its retain-until date an object must be before it is deleted: the store's
/// clock, which enforces the date, may run behind ours.
pub(crate) const CLOCK_MARGIN: chrono::Duration = chrono::Duration::seconds(5);

/// HEAD requests in flight while retention is read.
const CONCURRENCY: usize = 8;

/// An object an operation would have deleted but left in place because it is retained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetainedObject {
    /// `snapshot`, `index` or `pack`.
    pub kind: &'static str,
    /// The object's id.
    pub id: Id,
    /// When its retention ends (for a pack kept by an index file, the index file's); a later
    /// forget or prune removes it then.
    pub retained_until: Option<DateTime<Utc>>,
    /// Why it stays: `retained`, or `named by retained index ID` (a pack an index file still
    /// lists cannot go before that index file can).
    pub reason: String,
}

/// How deletes go on this repository.
#[derive(Debug, Clone)]
pub(crate) enum Deletes {
    /// No retention: delete freely.
    Free,
    /// An immutable repository: delete only what [`retained`] does not return.
    AroundRetention(ObjectLock),
}

impl Repository {
    /// How `operation` may delete here. An immutable repository whose store cannot read
    /// retention (the repository was opened on a bare object store) is refused with
    /// [`Error::Retained`] before anything is deleted.
    pub(crate) async fn deletes(&self, operation: &'static str) -> Result<Deletes> {
        match &self.object_lock {
            Some(Some(lock)) => Ok(Deletes::AroundRetention(lock.clone())),
            Some(None) => Ok(Deletes::Free),
            None => match self.object_lock().await? {
                Some(lock) => Err(Error::Retained {
                    operation,
                    policy: format!("{} for {}s", lock.mode.as_str(), lock.retain.as_secs()),
                }),
                None => Ok(Deletes::Free),
            },
        }
    }
}

impl Repository {
    /// The objects among `ids` (of type `ty`) that `operation` (`repair index`, `pg forget`,
    /// …) must leave in place because they are still under retention, each with its date;
    /// empty on a repository without retention (no request is made). One HEAD per object on
    /// an immutable repository. Every operation that deletes asks this before it deletes
    /// anything, so the bucket never refuses a delete part-way.
    ///
    /// An immutable repository opened without its store's object lock
    /// ([`Repository::with_object_lock`]) cannot tell, and is refused with
    /// [`Error::Retained`] naming `operation`.
    pub async fn retained_among(
        &self,
        operation: &'static str,
        ty: FileType,
        ids: Vec<Id>,
    ) -> Result<Vec<RetainedObject>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.deletes(operation).await? {
            Deletes::Free => Ok(Vec::new()),
            Deletes::AroundRetention(lock) => retained(&lock, ty, ids).await,
        }
    }
}

/// The objects among `ids` (of type `ty`) that are still retained, with their dates; the
/// rest may be deleted. One HEAD per object, [`CONCURRENCY`] at a time.
pub(crate) async fn retained(
    lock: &ObjectLock,
    ty: FileType,
    ids: impl IntoIterator<Item = Id>,
) -> Result<Vec<RetainedObject>> {
    let kind = match ty {
        FileType::Snapshot => "snapshot",
        FileType::Index => "index",
        FileType::Pack => "pack",
        FileType::Key => "key",
        FileType::Config => "config",
        FileType::Lock => "lock",
    };
    let deadline = Utc::now() + CLOCK_MARGIN;
    let answers: Vec<Result<Option<RetainedObject>>> = futures::stream::iter(ids)
        .map(|id| async move {
            let found =
                lock.retention(&path_of(ty, &id))
                    .await
                    .map_err(|e| Error::Unsupported {
                        detail: e.to_string(),
                    })?;
            Ok(found
                .filter(|r| r.retained_at(deadline))
                .map(|r| RetainedObject {
                    kind,
                    id,
                    retained_until: r.retain_until,
                    reason: "retained".into(),
                }))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut out: Vec<RetainedObject> = answers
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// How much earlier than the policy asks a retain-until date may be before check reports
/// it: the writer's and the store's clocks may differ.
const CHECK_SLACK: chrono::Duration = chrono::Duration::seconds(60);

/// An object of an immutable repository whose retention is shorter than the policy's (or
/// missing): `check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetentionFinding {
    /// The object, relative to the repository (`data/ab/abcd…`, `snapshots/…`, `config`).
    pub path: String,
    /// When it was written.
    pub written: DateTime<Utc>,
    /// Its retain-until date; `None`: it has no retention at all.
    pub retained_until: Option<DateTime<Utc>>,
    /// The date the policy asks for: the write plus the policy's retention.
    pub policy_until: DateTime<Utc>,
}

impl std::fmt::Display for RetentionFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fmt = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        match &self.retained_until {
            Some(until) => write!(
                f,
                "{}: retained until {}, the policy asks for {} (written {})",
                self.path,
                fmt(until),
                fmt(&self.policy_until),
                fmt(&self.written)
            ),
            None => write!(
                f,
                "{}: no retention, the policy asks for {} (written {})",
                self.path,
                fmt(&self.policy_until),
                fmt(&self.written)
            ),
        }
    }
}

/// The objects among `objects` whose retention falls short of `lock`'s policy.
pub(crate) async fn shortfalls(
    lock: &ObjectLock,
    objects: Vec<(FileType, Id)>,
) -> Result<Vec<RetentionFinding>> {
    let policy = lock.policy();
    let answers: Vec<Result<Option<RetentionFinding>>> = futures::stream::iter(objects)
        .map(|(ty, id)| async move {
            let path = path_of(ty, &id);
            let found = lock
                .retention(&path)
                .await
                .map_err(|e| Error::Unsupported {
                    detail: e.to_string(),
                })?;
            // Gone since the listing (a concurrent forget): nothing to compare.
            Ok(found.and_then(|r| {
                r.shortfall(&policy, CHECK_SLACK)
                    .map(|policy_until| RetentionFinding {
                        path: path.to_string(),
                        written: r.last_modified,
                        retained_until: r.retain_until,
                        policy_until,
                    })
            }))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut out: Vec<RetentionFinding> = answers
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
