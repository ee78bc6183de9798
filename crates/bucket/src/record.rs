//! The repository's record of its object-lock policy ([`OBJECT_LOCK_POLICY`]), read through
//! the repository's own store (`object_store`, the same client, credentials and encryption as
//! the repository's) on every provider with the store's one bounded read
//! ([`read_record`]): one definition of the file and of how it is read. This module only
//! names the record's key in the bucket in what it reports.
//!
//! The record decides what `bucket check` expects of the bucket, so a record that cannot be
//! trusted is refused, never read as "no policy": one over [`MAX_RECORD_BYTES`] (the read is
//! bounded, nothing larger is fetched), malformed JSON, wrong types, an unknown mode, a zero or
//! absurd retention (over [`MAX_RETAIN_SECONDS`]), or a folder in the record's place. A record
//! the identity may not read is no pass either: `check` reports it
//! ([`RuleId::LockRecordUnreadable`](crate::RuleId::LockRecordUnreadable)).

use thinledger_store::object_store::ObjectStore;
use thinledger_store::{OBJECT_LOCK_POLICY, PolicyRecord, StoreError, read_record};

use crate::config::RetentionPolicy;
use crate::error::BucketError;
use crate::rules::UnreadRecord;

/// The largest record read (the store's limit, which opening a repository applies too).
pub const MAX_RECORD_BYTES: u64 = thinledger_store::MAX_POLICY_RECORD_BYTES;

/// The longest retention a record may name (the store's limit: 100 years).
pub const MAX_RETAIN_SECONDS: u64 = thinledger_store::MAX_POLICY_RETAIN_SECONDS;

/// What the repository's record says, as far as `check` can go by it.
#[derive(Debug)]
pub(crate) enum Recorded {
    /// The record's policy, or `None`: the repository recorded none.
    Policy(Option<RetentionPolicy>),
    /// The identity may not read it.
    Denied(UnreadRecord),
}

/// Reads the record of the repository in `store` (rooted at the repository's prefix).
/// `bucket` and `prefix` name it in errors and findings.
pub(crate) async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
) -> Result<Recorded, BucketError> {
    let object = object(prefix);
    let refused = |invalid: thinledger_store::InvalidInput| BucketError::PolicyRecord {
        bucket: bucket.to_owned(),
        object: object.clone(),
        value: invalid.value,
        rule: invalid.rule,
        fix: format!(
            "{}, or give the policy with --object-lock MODE --retain DURATION",
            invalid.fix
        ),
    };
    let failed = |e: StoreError| BucketError::Request {
        operation: "reading the repository's object-lock record",
        bucket: bucket.to_owned(),
        message: format!("{object}: {e}"),
        fix: "check the network, the credentials and the repository's encryption options".into(),
    };
    match read_record(store).await.map_err(failed)? {
        PolicyRecord::Denied { message } => Ok(Recorded::Denied(UnreadRecord {
            object: object.clone(),
            message,
        })),
        // Found, absent, or (an error) a record that cannot be trusted or a folder.
        other => match other.into_policy() {
            Ok(policy) => Ok(Recorded::Policy(policy.map(RetentionPolicy::from))),
            Err(StoreError::Invalid(invalid)) => Err(refused(invalid)),
            Err(e) => Err(failed(e)),
        },
    }
}

/// The record's key in the bucket.
fn object(prefix: &str) -> String {
    match prefix.trim_matches('/') {
        "" => OBJECT_LOCK_POLICY.to_owned(),
        p => format!("{p}/{OBJECT_LOCK_POLICY}"),
    }
}
