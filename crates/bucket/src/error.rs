//! What can go wrong reading or changing a bucket's configuration.

pub use thinledger_store::{InvalidInput, StoreError};

/// Why a bucket could not be read, planned or changed. Messages name the bucket, the
/// request or setting, and the fix; they never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BucketError {
    /// A value breaks a rule (the field is e.g. `url.endpoint`).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The URL is not a store URL (the store crate's message names the field and fix).
    #[error(transparent)]
    Url(#[from] StoreError),
    /// A setting the provider needs is missing.
    #[error("{field} is required for {provider} buckets; fix: {fix}")]
    Missing {
        /// The setting, e.g. `region`.
        field: &'static str,
        /// `s3`, `azure`, `gcs`.
        provider: &'static str,
        /// What to do.
        fix: String,
    },
    /// The URL's provider is not in this build.
    #[error(
        "url.scheme: {scheme}:// buckets are not in this build; fix: build thinledger-bucket with the cargo feature `{feature}`"
    )]
    FeatureDisabled {
        /// The URL scheme.
        scheme: &'static str,
        /// The feature that adds it.
        feature: &'static str,
    },
    /// Something this crate does not do yet.
    #[error("{what} is not supported; fix: {fix}")]
    Unsupported {
        /// What was asked.
        what: String,
        /// What to do instead.
        fix: String,
    },
    /// The provider refused or failed a request.
    #[error("{operation} on bucket {bucket} failed: {message}; fix: {fix}")]
    Request {
        /// The request, e.g. `GetBucketVersioning`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The provider's answer.
        message: String,
        /// What to check (for a denial: the permission to grant).
        fix: String,
    },
    /// The repository's record of its object-lock policy
    /// ([`OBJECT_LOCK_POLICY`](thinledger_store::OBJECT_LOCK_POLICY)) is refused: too large (it
    /// is not read), not the record's JSON, an unknown mode, a zero or absurd retention, or a
    /// folder in its place. `check` never passes on a record it cannot trust.
    #[error(
        "bucket {bucket}: the repository's object-lock record {object} is refused: {value:?}: {rule}; fix: {fix}"
    )]
    PolicyRecord {
        /// The bucket.
        bucket: String,
        /// The record's key in the bucket.
        object: String,
        /// The offending value (its size, or its first 200 bytes).
        value: String,
        /// The rule it breaks.
        rule: String,
        /// What to do.
        fix: String,
    },
    /// The bucket policy cannot be extended with the TLS statement.
    #[error(
        "bucket {bucket}: {reason}; fix: correct the bucket policy (or add the TLS statement by hand), then plan again"
    )]
    Policy {
        /// The bucket.
        bucket: String,
        /// Why.
        reason: String,
    },
}
