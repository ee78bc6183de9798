//! [`ObjectLock`]: what a store knows of an immutable repository — the recorded policy its
//! writes carry, and each object's retention as the store reports it — so that forget, prune
//! and check can plan around retention instead of finding it out from a refused delete.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use object_store::path::Path;

use super::error::StoreError;
use super::options::{ObjectLockMode, ObjectLockOptions};

/// One object's retention as the store reports it (S3: HeadObject's
/// `x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date` and `Last-Modified`;
/// Azure: Get Blob Properties' `x-ms-immutability-policy-mode`,
/// `x-ms-immutability-policy-until-date` and `Last-Modified`; GCS: the object resource's
/// `retention` (mode `Unlocked` is governance, `Locked` compliance), a bucket retention
/// policy's `retentionExpirationTime` when later, and `timeCreated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectRetention {
    /// The retention mode, if the object has one.
    pub mode: Option<ObjectLockMode>,
    /// Until when the object cannot be deleted, if it is retained at all.
    pub retain_until: Option<DateTime<Utc>>,
    /// When the object was written.
    pub last_modified: DateTime<Utc>,
}

impl ObjectRetention {
    /// Whether the object is still retained at `now`.
    pub fn retained_at(&self, now: DateTime<Utc>) -> bool {
        self.retain_until.is_some_and(|until| until > now)
    }

    /// Whether the retention falls short of `policy`: no retention at all, or a retain-until
    /// date earlier than the write time plus the policy's retention (less `slack`, for clocks
    /// that differ between the writer and the store). The earliest date the policy asks for.
    pub fn shortfall(
        &self,
        policy: &ObjectLockOptions,
        slack: chrono::Duration,
    ) -> Option<DateTime<Utc>> {
        let retain = chrono::Duration::from_std(policy.retain).unwrap_or(chrono::Duration::MAX);
        let wanted = self.last_modified.checked_add_signed(retain)?;
        match self.retain_until {
            Some(until) if until + slack >= wanted => None,
            _ => Some(wanted),
        }
    }
}

/// Lock files (`…/locks/ID`) are written without retention: they are removed when an
/// operation ends.
#[cfg_attr(
    not(any(feature = "s3", feature = "azure", feature = "gcs")),
    allow(dead_code)
)]
pub(crate) fn is_lock_file(location: &Path) -> bool {
    location.as_ref().rsplit('/').nth(1) == Some("locks")
}

/// Reads objects' retention; implemented by the S3 store (see `object_lock`), the Azure
/// store (see `azure_lock`) and the GCS store (see `gcs`).
#[async_trait]
pub(crate) trait RetentionSource: fmt::Debug + Send + Sync + 'static {
    /// The retention of `key` (the full key in the bucket), `None` if there is no such object.
    async fn retention(&self, key: &Path) -> Result<Option<ObjectRetention>, StoreError>;
}

/// An immutable repository's store: the policy every write carries, and a way to read each
/// object's retention. [`Store::object_lock`](crate::Store::object_lock) has one when the store
/// writes with retention (S3, Azure or GCS with [`StoreBuilder::with_object_lock`](crate::StoreBuilder::with_object_lock),
/// or a repository whose recorded policy
/// [`StoreBuilder::build_with_recorded_policy`](crate::StoreBuilder::build_with_recorded_policy) read).
#[derive(Debug, Clone)]
pub struct ObjectLock {
    policy: ObjectLockOptions,
    source: Arc<dyn RetentionSource>,
    /// The store's prefix, which the engine's paths are relative to.
    prefix: String,
}

impl ObjectLock {
    pub(crate) fn new(
        policy: ObjectLockOptions,
        source: Arc<dyn RetentionSource>,
        prefix: &str,
    ) -> Self {
        ObjectLock {
            policy,
            source,
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    /// The retention every object but lock files is written with.
    pub fn policy(&self) -> ObjectLockOptions {
        self.policy
    }

    /// The retention of the object at `location` (relative to the store's prefix, as the
    /// engine names objects); `None` if there is no such object. One request (S3: a HEAD;
    /// GCS: a GET of the object's metadata).
    pub async fn retention(&self, location: &Path) -> Result<Option<ObjectRetention>, StoreError> {
        let key = if self.prefix.is_empty() {
            location.clone()
        } else {
            Path::from(format!("{}/{location}", self.prefix))
        };
        self.source.retention(&key).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn shortfalls_are_measured_from_the_write() {
        let policy =
            ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(86_400));
        let slack = chrono::Duration::seconds(60);
        let written = at("2026-12-06T12:00:00Z");
        let with = |until: Option<&str>| ObjectRetention {
            mode: until.map(|_| ObjectLockMode::Governance),
            retain_until: until.map(at),
            last_modified: written,
        };
        assert_eq!(
            with(Some("2026-12-07T12:15:00Z")).shortfall(&policy, slack),
            None
        );
        assert_eq!(
            with(Some("2026-12-07T11:59:30Z")).shortfall(&policy, slack),
            None
        );
        assert_eq!(
            with(Some("2026-12-07T11:00:00Z")).shortfall(&policy, slack),
            Some(at("2026-12-07T12:00:00Z"))
        );
        assert_eq!(
            with(None).shortfall(&policy, slack),
            Some(at("2026-12-07T12:00:00Z"))
        );
        assert!(with(Some("2026-12-07T12:15:00Z")).retained_at(at("2026-12-07T12:00:00Z")));
        assert!(!with(Some("2026-12-07T12:15:00Z")).retained_at(at("2026-12-07T12:15:00Z")));
        assert!(!with(None).retained_at(written));
    }

    #[test]
    fn only_lock_files_go_unretained() {
        assert!(is_lock_file(&Path::from("tenant/locks/abcd")));
        assert!(is_lock_file(&Path::from("locks/abcd")));
        assert!(!is_lock_file(&Path::from("tenant/data/ab/abcd")));
        assert!(!is_lock_file(&Path::from("locks")));
        assert!(!is_lock_file(&Path::from("tenant/keys/abcd")));
    }
}
