//! The repository's record of its object-lock policy: a small JSON object beside `config`
//! that restic never reads (restic lists only `config`, `keys/`, `data/`, `index/`,
//! `snapshots/` and `locks/`). `init --object-lock` writes it; every later open reads it and
//! builds the store with the same retention, so no command forgets it.

use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use super::error::{InvalidInput, StoreError};
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

    /// The policy recorded in the repository at `store`, if it has one: [`read_record`]'s
    /// answer, with everything but a valid record or its absence an error (access denied is
    /// [`StoreError::PolicyUnreadable`], a record that cannot be trusted or a folder in its
    /// place [`StoreError::Invalid`]).
    pub async fn recorded(
        store: &dyn ObjectStore,
    ) -> Result<Option<ObjectLockOptions>, StoreError> {
        read_record(store).await?.into_policy()
    }

    /// The policy in the text of a [`OBJECT_LOCK_POLICY`] object. A record over
    /// [`MAX_POLICY_RECORD_BYTES`], not the record's JSON, with an unknown mode, or with a
    /// zero retention or one over [`MAX_POLICY_RETAIN_SECONDS`] is refused
    /// ([`StoreError::Invalid`], its value and rule cut short: a forged mode may be 60 KB).
    pub fn from_record(body: &[u8]) -> Result<ObjectLockOptions, StoreError> {
        let bad = |rule: String| {
            StoreError::from(invalid(
                String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                cut(&rule, 300),
            ))
        };
        if body.len() as u64 > MAX_POLICY_RECORD_BYTES {
            return Err(too_large(body.len() as u64).into());
        }
        let record: Record =
            serde_json::from_slice(body).map_err(|e| bad(format!("not the expected JSON: {e}")))?;
        let mode = match record.mode.as_str() {
            "GOVERNANCE" => ObjectLockMode::Governance,
            "COMPLIANCE" => ObjectLockMode::Compliance,
            other => return Err(bad(format!("unknown mode {:?}", cut(other, 100)))),
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

/// What [`read_record`] found where a repository keeps its [`OBJECT_LOCK_POLICY`] record.
/// Only [`PolicyRecord::Found`] and [`PolicyRecord::Absent`] say what the repository's
/// policy is; a caller that must not pass on a policy it could not see treats every other
/// answer as a failure ([`PolicyRecord::into_policy`] does).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyRecord {
    /// A valid record: the repository's policy.
    Found(ObjectLockOptions),
    /// No record and nothing in its place: the repository recorded no policy.
    Absent,
    /// The store refused the identity (HTTP 401 or 403 on the HEAD or the GET): whether the
    /// repository has a record is unknown. The identity needs read access to the object
    /// (S3 `s3:GetObject`, GCS `storage.objects.get`, Azure Storage Blob Data Reader).
    Denied {
        /// The store's answer.
        message: String,
    },
    /// Objects stand under the record's name, as in a folder: no record, and not "no policy"
    /// either (a store without folders can tell only by listing, which [`read_record`] does
    /// when the HEAD finds nothing).
    Folder {
        /// The first object under the name (a common prefix ends in `/`), relative to the
        /// store's prefix.
        first: String,
    },
    /// A record that cannot be trusted: over [`MAX_POLICY_RECORD_BYTES`] (refused from its
    /// size, not read), not the record's JSON, an unknown mode, a zero retention or one over
    /// [`MAX_POLICY_RETAIN_SECONDS`]. Its `field` is [`OBJECT_LOCK_POLICY`]; its value is
    /// the size or the first 200 bytes.
    Invalid(InvalidInput),
}

impl PolicyRecord {
    /// The policy (`None`: no record), or the error that says why there is none to go by:
    /// [`StoreError::PolicyUnreadable`] when access is denied, [`StoreError::Invalid`] for an
    /// untrusted record or a folder in its place.
    pub fn into_policy(self) -> Result<Option<ObjectLockOptions>, StoreError> {
        match self {
            PolicyRecord::Found(policy) => Ok(Some(policy)),
            PolicyRecord::Absent => Ok(None),
            PolicyRecord::Denied { message } => Err(StoreError::PolicyUnreadable {
                object: OBJECT_LOCK_POLICY,
                message: format!("access denied: {message}"),
            }),
            PolicyRecord::Folder { first } => Err(folder(first).into()),
            PolicyRecord::Invalid(invalid) => Err(invalid.into()),
        }
    }
}

/// Reads the [`OBJECT_LOCK_POLICY`] record of the repository at `store` (rooted at the
/// repository's prefix): the one bounded read of it, which opening a repository
/// ([`ObjectLockOptions::recorded`]) and the bucket control plane share.
///
/// A HEAD, then a GET of at most the HEAD's size pinned to its ETag (`If-Match`): an object
/// over [`MAX_POLICY_RECORD_BYTES`] is refused from its size and never downloaded, and one
/// that changes between the two requests is an error, not another record. When the HEAD
/// finds nothing, one listing under the name tells "absent" from a folder in its place.
/// Errors are the store's other failures ([`StoreError::PolicyUnreadable`]: network, server).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), thinledger_store::StoreError> {
/// use std::time::Duration;
/// use thinledger_store::{ObjectLockMode, ObjectLockOptions, PolicyRecord, read_record};
///
/// let store = object_store::memory::InMemory::new();
/// assert_eq!(read_record(&store).await?, PolicyRecord::Absent);
/// let policy = ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(86_400));
/// policy.record(&store).await.expect("recorded");
/// assert_eq!(read_record(&store).await?, PolicyRecord::Found(policy));
/// # Ok(()) }
/// ```
pub async fn read_record(store: &dyn ObjectStore) -> Result<PolicyRecord, StoreError> {
    let path = Path::from(OBJECT_LOCK_POLICY);
    let unreadable = |e: object_store::Error| StoreError::PolicyUnreadable {
        object: OBJECT_LOCK_POLICY,
        message: e.to_string(),
    };
    let meta = match store.head(&path).await {
        Ok(meta) => meta,
        Err(object_store::Error::NotFound { .. }) => {
            let listed = store
                .list_with_delimiter(Some(&path))
                .await
                .map_err(unreadable)?;
            let first = listed
                .objects
                .iter()
                .map(|o| o.location.to_string())
                .chain(listed.common_prefixes.iter().map(|p| format!("{p}/")))
                .next();
            return Ok(first.map_or(PolicyRecord::Absent, |first| PolicyRecord::Folder { first }));
        }
        Err(e) if denied(&e) => {
            return Ok(PolicyRecord::Denied {
                message: e.to_string(),
            });
        }
        Err(e) => return Err(unreadable(e)),
    };
    if meta.size > MAX_POLICY_RECORD_BYTES {
        return Ok(PolicyRecord::Invalid(too_large(meta.size)));
    }
    let options = GetOptions {
        range: (meta.size > 0).then_some(GetRange::Bounded(0..meta.size)),
        if_match: meta.e_tag.clone(),
        ..Default::default()
    };
    let body = match store.get_opts(&path, options).await {
        Ok(answer) => answer.bytes().await.map_err(unreadable)?,
        Err(e) if denied(&e) => {
            return Ok(PolicyRecord::Denied {
                message: e.to_string(),
            });
        }
        Err(e) => return Err(unreadable(e)),
    };
    match ObjectLockOptions::from_record(&body) {
        Ok(policy) => Ok(PolicyRecord::Found(policy)),
        Err(StoreError::Invalid(invalid)) => Ok(PolicyRecord::Invalid(invalid)),
        Err(other) => Err(other),
    }
}

/// Whether the store refused the identity (as opposed to failing).
fn denied(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    )
}

const FIX: &str = "restore the object from the repository's first version, or write it again with the repository's policy";

/// The record refused: `value` breaks `rule`.
fn invalid(value: String, rule: String) -> InvalidInput {
    InvalidInput::new(OBJECT_LOCK_POLICY, value, rule, FIX)
}

/// A record over [`MAX_POLICY_RECORD_BYTES`], refused from its size.
fn too_large(size: u64) -> InvalidInput {
    invalid(
        format!("{size} bytes"),
        format!(
            "larger than the {MAX_POLICY_RECORD_BYTES}-byte limit of a record (a record is under 100 bytes); not read"
        ),
    )
}

/// Objects under the record's name.
fn folder(first: String) -> InvalidInput {
    InvalidInput::new(
        OBJECT_LOCK_POLICY,
        first,
        "the record's name is a folder, not the record",
        "move the objects under the record's name away, then restore the record from the repository's first version (or write it again with the repository's policy)",
    )
}

/// `text`, at most `max` bytes of it (on a character boundary), marked when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
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
        assert!(err.to_string().contains(OBJECT_LOCK_POLICY), "{err}");
        let Ok(PolicyRecord::Invalid(invalid)) = read_record(&store).await else {
            panic!("not refused as invalid")
        };
        assert_eq!(invalid.field, OBJECT_LOCK_POLICY);
        assert!(invalid.rule.contains(rule), "{invalid}");
        // The value is the size or the record's first bytes, never all of it.
        assert!(invalid.value.len() <= 200 * 3, "{}", invalid.value.len());
    }

    /// Objects under the record's name are no record, and not "no policy" either.
    #[tokio::test]
    async fn a_folder_in_the_records_place_is_refused() {
        let store = object_store::memory::InMemory::new();
        let inside = Path::from(format!("{OBJECT_LOCK_POLICY}/x"));
        store.put(&inside, "{}".into()).await.unwrap();
        assert_eq!(
            read_record(&store).await.unwrap(),
            PolicyRecord::Folder {
                first: format!("{OBJECT_LOCK_POLICY}/x")
            }
        );
        let err = ObjectLockOptions::recorded(&store).await.unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
        store.delete(&inside).await.unwrap();
        assert_eq!(read_record(&store).await.unwrap(), PolicyRecord::Absent);
    }

    /// No emulator here refuses a read (moto and fake-gcs-server check no permissions), so
    /// the denial is checked where it is mapped: opening a repository fails, naming it.
    #[test]
    fn a_denied_read_is_an_error_when_opening() {
        let denied = PolicyRecord::Denied {
            message: "403 Forbidden".into(),
        };
        let err = denied.into_policy().unwrap_err();
        assert!(
            matches!(err, StoreError::PolicyUnreadable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("access denied: 403"), "{err}");
    }
}
