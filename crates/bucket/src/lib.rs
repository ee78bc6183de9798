//! The thin ledger's storage control plane: what a bank's backup bucket must have, checked,
//! planned and applied.
//!
//! `object_store` (through `thinledger-store`) is the data plane: it reads and writes objects
//! but cannot see or change a bucket's configuration. This crate is the control plane, with
//! each cloud's SDK behind a cargo feature:
//!
//! | feature | provider | SDK |
//! |---|---|---|
//! | (always) | the rules: [`check`], [`plan`] on a [`BucketConfig`] | none |
//! | `s3` | S3 and S3-compatible buckets: [`BucketBuilder`] → [`Bucket`] | `aws-sdk-s3` |
//! | `gcs` | GCS buckets (`gs://`): [`BucketBuilder`] → [`Bucket`] | none: the JSON API's bucket resource through `thinledger-store`'s GCS client and credentials |
//! | `azure` | Azure containers (what the data plane shows: [`AzureContainer`]), signed with the account key or a Microsoft Entra identity (workload or managed identity: the store's own token provider) | `azure_storage_blob` |
//!
//! # The rules
//!
//! [`check`] is pure: a provider-neutral [`BucketConfig`] (read by [`Bucket::config`], or
//! built by hand) and [`BucketOptions`] in, a [`BucketReport`] of [`Finding`]s out (each with
//! its [`RuleId`], [`Severity`], what is wrong and the fix):
//!
//! | rule | finding when |
//! |---|---|
//! | `bucket.versioning_off` | versioning is off or suspended |
//! | `bucket.object_lock_missing` | the repository is immutable ([`BucketOptions::immutable`], or it recorded a policy) and the bucket has no object lock with a default retention (GCS: neither Object Retention Lock nor a retention policy) |
//! | `bucket.object_lock_weaker` | the bucket's default retention is weaker (mode or days) than the repository's policy ([`BucketOptions::lock_policy`]; [`Bucket::check`] reads the repository's record) |
//! | `bucket.encryption_missing` | no default encryption |
//! | `bucket.encryption_key` | default encryption without the tenant's KMS key ([`BucketOptions::kms_key`]) |
//! | `bucket.public_access` | public access is not fully blocked |
//! | `bucket.tls_not_required` | requests without TLS are not denied (S3: no `aws:SecureTransport = false` deny statement) |
//! | `bucket.offline_tier` | a lifecycle rule moves the repository's objects to an offline tier (S3 `GLACIER`, `DEEP_ARCHIVE`; Azure `Archive`): see [`Tier`] |
//! | `bucket.unknown_tier` | … to a storage class this crate does not know |
//! | `bucket.noncurrent_expiry_missing` | no rule covering the repository expires noncurrent versions (S3, GCS) |
//! | `bucket.multipart_cleanup_missing` | no rule covering the repository aborts incomplete multipart uploads (S3) |
//! | `bucket.lock_record_unreadable` | the identity may not read the repository's object-lock record ([`BucketOptions::unread_record`]): the bucket's object lock is not compared with a policy it cannot see, and the check does not pass |
//!
//! [`plan`] turns the findings into a [`BucketPlan`]: the [`BucketChange`]s that fix them
//! (versioning, default encryption, the public-access block — on GCS public access prevention
//! and uniform bucket-level access —, a TLS-only statement added to the S3 bucket policy, one
//! lifecycle rule for noncurrent expiry and multipart cleanup) and the findings left to the
//! bucket's owner (object lock, offline tiers). No change removes an
//! owner's rule or statement or turns object lock off. [`Bucket::apply`] makes the changes the
//! identity may ([`ChangeResult::Denied`] names the missing permission) and checks again.
//!
//! ```
//! use thinledger_bucket::{
//!     BucketChange, BucketConfig, BucketOptions, LifecycleRule, RuleId, Transition, Versioning,
//!     check, plan,
//! };
//!
//! let config = BucketConfig {
//!     bucket: "ledger-backups".into(),
//!     versioning: Versioning::Off,
//!     lifecycle: vec![LifecycleRule {
//!         id: "cold".into(),
//!         enabled: true,
//!         transitions: vec![Transition { storage_class: "DEEP_ARCHIVE".into(), days: Some(90), noncurrent: false }],
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let options = BucketOptions::default().with_prefix("eu-west-1/ledger-a");
//! let report = check(&config, &options);
//! assert!(report.rules().contains(&RuleId::VersioningOff));
//! assert!(report.rules().contains(&RuleId::OfflineTier));
//!
//! let plan = plan(&config, &options)?;
//! assert!(plan.changes.contains(&BucketChange::EnableVersioning));
//! // Moving the owner's objects back from Deep Archive is the owner's decision.
//! assert!(plan.manual.iter().any(|f| f.rule == RuleId::OfflineTier));
//! # Ok::<(), thinledger_bucket::BucketError>(())
//! ```
//!
//! An Azure container's data-plane client cannot see its storage account's settings
//! (versioning, secure transfer, lifecycle management): [`AzureContainer::config`] lists them
//! in [`BucketConfig::not_visible`], and [`check`] reports them as
//! [`BucketReport::unverified`] instead of judging a guess.
//!
//! With the `s3` feature, [`BucketBuilder`] builds a [`Bucket`] from the repository's URL
//! (`s3://bucket/prefix?region=…`), read as the repository's own
//! [`StoreBuilder`] reads it, with its credentials: access
//! keys, web identity (IRSA), or, when none is given, the AWS default chain of `aws-config`
//! (environment, web identity, shared profile files, ECS container and EC2 instance
//! credentials); with the `gcs` feature from a `gs://bucket/prefix` URL, signed as the
//! repository's store is (a credentials file, a service-account key, or workload identity).
//! When the prefix holds an immutable repository, [`Bucket::check`] expects
//! the repository's recorded object-lock policy of the bucket's default retention, read on
//! every provider through the repository's own store ([`Bucket::recorded_policy`]); a record
//! it cannot trust (over [`MAX_RECORD_BYTES`], malformed, an unknown mode, a zero retention or
//! one over [`MAX_RETAIN_SECONDS`]) is a [`BucketError::PolicyRecord`], never a pass, and one
//! the identity may not read is the finding `bucket.lock_record_unreadable`:
//!
//! ```no_run
//! # #[cfg(feature = "s3")]
//! # async fn run() -> Result<(), thinledger_bucket::BucketError> {
//! use thinledger_bucket::{BucketBuilder, BucketOptions};
//!
//! let bucket = BucketBuilder::from_env("s3://ledger-backups/eu-west-1/ledger-a?region=eu-west-1").build()?;
//! let options = BucketOptions::default().with_kms_key("arn:aws:kms:eu-west-1:111122223333:key/ledger");
//! let report = bucket.check(&options).await?;
//! if !report.passed() {
//!     let applied = bucket.apply(&options).await?;
//!     assert!(applied.after.findings.iter().all(|f| !f.applicable));
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "azure")]
mod azure;
mod azure_container;
#[cfg(feature = "azure")]
mod azure_token;
mod client;
mod config;
mod error;
#[cfg(feature = "gcs")]
mod gcs;
mod plan;
mod policy;
mod record;
mod rules;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "s3")]
mod s3_credentials;

pub use azure_container::{AzureContainer, PublicAccess};
pub use client::{Bucket, BucketApplied, BucketBuilder, ChangeOutcome, ChangeResult};
pub use config::{
    BucketConfig, DefaultEncryption, EncryptionAlgorithm, LifecycleRule, LockMode, NotVisible,
    ObjectLock, Provider, PublicAccessBlock, RetentionPolicy, Tier, Transition, Versioning,
};
pub use error::BucketError;
pub use plan::{BucketChange, BucketPlan, LIFECYCLE_RULE_ID, plan};
pub use policy::{TLS_STATEMENT_SID, requires_tls};
pub use record::{MAX_RECORD_BYTES, MAX_RETAIN_SECONDS};
pub use rules::{BucketOptions, BucketReport, Finding, RuleId, Severity, UnreadRecord, check};
/// The store crate's credentials, secrets and builder, which [`BucketBuilder`] takes.
pub use thinledger_store::{EnvVars, Secret, StoreBuilder, StoreCredentials};
