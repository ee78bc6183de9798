//! The repository's record of its object-lock policy: a small JSON object beside `config`
//! that restic never reads (restic lists only `config`, `keys/`, `data/`, `index/`,
//! `snapshots/` and `locks/`). `init --object-lock` writes it; every later open reads it and
//! builds the store with the same retention, so no command forgets it.

use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StoreError};
use super::options::{ObjectLockMode, ObjectLockOptions};

/// The object, at the repository's root, that records its object-lock policy.
pub const OBJECT_LOCK_POLICY: &str = "thinledger-object-lock.json";

/// The largest [`OBJECT_LOCK_POLICY`] object read: a record is under 100 bytes, so anything
/// larger is corrupted or forged, and is refused without being downloaded.
pub const MAX_POLICY_RECORD_BYTES: u64 = 64 * 1024;

/// The longest retention a record may name: 100 years (S3's and GCS's largest default
/// retention; longer is a corrupted or forged record, not a policy).
pub const MAX_POLICY_RETAIN_SECONDS: u64 = 36_500 * 86_400;

#[derive(Serialize, Deserialize)]
struct Record {
    mode: String,
    retain_seconds: u64,
}

impl ObjectLockOptions {
    /// Records the policy in the repository at `store` (create-only: a policy is never
    /// replaced, which is what immutability asks).
    pub async fn record(&self, store: &dyn ObjectStore) -> Result<(), object_store::Error> {
        let record = Record {
            mode: self.mode.as_str().to_owned(),
            retain_seconds: self.retain.as_secs(),
        };
        let body =
            serde_json::to_vec_pretty(&record).map_err(|e| object_store::Error::Generic {
                store: "object-lock policy",
                source: e.into(),
            })?;
        store
            .put_opts(
                &Path::from(OBJECT_LOCK_POLICY),
                body.into(),
                PutOptions::from(PutMode::Create),
            )
            .await
            .map(|_| ())
    }

    /// The policy recorded in the repository at `store`, if it has one. The read is bounded
    /// by [`MAX_POLICY_RECORD_BYTES`]: a larger object is refused from its size (never
    /// downloaded), and an object that changes between the size check and the read is an
    /// error, not another record.
    pub async fn recorded(
        store: &dyn ObjectStore,
    ) -> Result<Option<ObjectLockOptions>, StoreError> {
        let path = Path::from(OBJECT_LOCK_POLICY);
        let unreadable = |e: object_store::Error| StoreError::PolicyUnreadable {
            object: OBJECT_LOCK_POLICY,
            message: e.to_string(),
        };
        let meta = match store.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unreadable(e)),
        };
        if meta.size > MAX_POLICY_RECORD_BYTES {
            return Err(too_large(meta.size));
        }
        let options = GetOptions {
            range: (meta.size > 0).then_some(GetRange::Bounded(0..meta.size)),
            if_match: meta.e_tag.clone(),
            ..Default::default()
        };
        let body = store
            .get_opts(&path, options)
            .await
            .map_err(unreadable)?
            .bytes()
            .await
            .map_err(unreadable)?;
        ObjectLockOptions::from_record(&body).map(Some)
    }

    /// The policy in the text of a [`OBJECT_LOCK_POLICY`] object (read by another client, such
    /// as the bucket control plane's).
    pub fn from_record(body: &[u8]) -> Result<ObjectLockOptions, StoreError> {
        let bad = |rule: String| {
            StoreError::invalid(
                OBJECT_LOCK_POLICY,
                String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                rule,
                "restore the object from the repository's first version, or write it again with the repository's policy",
            )
        };
        if body.len() as u64 > MAX_POLICY_RECORD_BYTES {
            return Err(too_large(body.len() as u64));
        }
        let record: Record =
            serde_json::from_slice(body).map_err(|e| bad(format!("not the expected JSON: {e}")))?;
        let mode = match record.mode.as_str() {
            "GOVERNANCE" => ObjectLockMode::Governance,
            "COMPLIANCE" => ObjectLockMode::Compliance,
            other => return Err(bad(format!("unknown mode {other:?}"))),
        };
        if record.retain_seconds == 0 {
            return Err(bad("the retention is zero".into()));
        }
        if record.retain_seconds > MAX_POLICY_RETAIN_SECONDS {
            return Err(bad(format!(
                "retain_seconds {}: a retention over {} days (100 years) is no policy a bucket can hold",
                record.retain_seconds,
                MAX_POLICY_RETAIN_SECONDS / 86_400
            )));
        }
        Ok(ObjectLockOptions::new(
            mode,
            std::time::Duration::from_secs(record.retain_seconds),
        ))
    }
}

/// A record over [`MAX_POLICY_RECORD_BYTES`], refused from its size.
fn too_large(size: u64) -> StoreError {
    StoreError::invalid(
        OBJECT_LOCK_POLICY,
        format!("{size} bytes"),
        format!(
            "larger than the {MAX_POLICY_RECORD_BYTES}-byte limit of a record (a record is under 100 bytes); not read"
        ),
        "restore the object from the repository's first version, or write it again with the repository's policy",
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_policy_round_trips_and_is_never_replaced() {
        let store = object_store::memory::InMemory::new();
        assert_eq!(ObjectLockOptions::recorded(&store).await.unwrap(), None);
        let policy =
            ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(86_400));
        policy.record(&store).await.unwrap();
        assert_eq!(
            ObjectLockOptions::recorded(&store).await.unwrap(),
            Some(policy)
        );
        let other = ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(60));
        assert!(matches!(
            other.record(&store).await,
            Err(object_store::Error::AlreadyExists { .. })
        ));
    }

    #[rstest::rstest]
    #[case::huge(vec![b' '; 64 * 1024 + 1], "limit of a record")]
    #[case::absurd_retention(br#"{"mode":"COMPLIANCE","retain_seconds":3153600001}"#.to_vec(), "36500 days")]
    #[case::zero_retention(br#"{"mode":"COMPLIANCE","retain_seconds":0}"#.to_vec(), "zero")]
    #[case::unknown_mode(br#"{"mode":"WORM","retain_seconds":60}"#.to_vec(), "unknown mode")]
    #[case::not_json(b"\xff\xfe".to_vec(), "not the expected JSON")]
    #[tokio::test]
    async fn a_record_that_cannot_be_trusted_is_refused_on_open(
        #[case] body: Vec<u8>,
        #[case] rule: &str,
    ) {
        let store = object_store::memory::InMemory::new();
        store
            .put(&Path::from(OBJECT_LOCK_POLICY), body.into())
            .await
            .unwrap();
        let err = ObjectLockOptions::recorded(&store).await.unwrap_err();
        assert!(err.to_string().contains(rule), "{err}");
    }
}
