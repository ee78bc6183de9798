//! The repository's record of its object-lock policy: a small JSON object beside `config`
//! that restic never reads (restic lists only `config`, `keys/`, `data/`, `index/`,
//! `snapshots/` and `locks/`). `init --object-lock` writes it; every later open reads it and
//! builds the store with the same retention, so no command forgets it.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StoreError};
use super::options::{ObjectLockMode, ObjectLockOptions};

/// The object, at the repository's root, that records its object-lock policy.
pub const OBJECT_LOCK_POLICY: &str = "thinledger-object-lock.json";

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

    /// The policy recorded in the repository at `store`, if it has one.
    pub async fn recorded(
        store: &dyn ObjectStore,
    ) -> Result<Option<ObjectLockOptions>, StoreError> {
        let body = match store.get(&Path::from(OBJECT_LOCK_POLICY)).await {
            Ok(result) => result.bytes().await,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => Err(e),
        }
        .map_err(|e| StoreError::PolicyUnreadable {
            object: OBJECT_LOCK_POLICY,
            message: e.to_string(),
        })?;
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
        Ok(ObjectLockOptions::new(
            mode,
            std::time::Duration::from_secs(record.retain_seconds),
        ))
    }
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
}
