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
