//! Object stores built from a URL plus options: the layer the repository engine writes through.
//!
//! | URL | store | credentials (first that applies) |
//! |---|---|---|
//! | `/srv/backups`, `./repo`, `file:///srv/backups` | local folder | none |
//! | `s3://bucket/prefix?region=eu-west-1` | AWS S3 | keys, IRSA web identity, container or instance credentials |
//! | `s3://bucket/prefix?endpoint=https://minio:9000` | MinIO / S3-compatible (path style) | keys (a `secret-ref` identity) |
//! | `az://container/prefix?account=NAME` | Azure Blob | account key, workload identity, managed identity |
//! | `gs://bucket/prefix` | Google Cloud Storage | credentials file, service-account key, workload identity (metadata server) |
//!
//! URL query options (`endpoint`, `region`, `path_style`, `allow_http`, `account`) are for
//! settings only; a URL that carries a secret is refused, without echoing it. Secrets travel as
//! [`Secret`]s, which print as `redacted` ([`REDACTED`]), and client messages are scrubbed of them, so neither
//! `Debug` output, logs nor errors contain a key. A provider identity binding from the tenant
//! model ([`thinledger_topology::IdentityBinding`]) selects the credentials with
//! [`StoreBuilder::with_identity`]; see [`StoreCredentials::for_identity`] for the mapping.
//!
//! # Server-side encryption
//!
//! Every object a store writes can carry the bank's encryption: S3 SSE-KMS, DSSE-KMS, SSE-S3
//! or SSE-C (`s3://bucket/prefix?server_side_encryption=aws:kms&sse_kms_key_id=ARN`), an Azure
//! encryption scope or customer-provided key, a GCS Cloud KMS key (`kms_key_name`). Since the
//! engine writes only through the store, packs, indexes, snapshots, keys, config, locks and
//! WAL segments all carry it. See [`EncryptionOptions`] for the options, their environment
//! variables and what is checked when; a refused upload is [`StoreError::EncryptionRefused`].
//!
//! # Immutable repositories (S3 Object Lock, Azure immutability policies, GCS Object Retention Lock)
//!
//! With [`StoreBuilder::with_object_lock`] every object an S3, Azure or GCS store writes, lock
//! files excepted, carries a retention (mode and retain-until date): S3 Object Lock headers;
//! an Azure version-level immutability policy set by the write itself (`Unlocked` for
//! governance, `Locked` for compliance; the container needs version-level immutability
//! support, and account-key requests are signed again over the added headers; the
//! `azure_lock` module docs say how); on GCS the object resource's `retention` (governance as
//! `Unlocked`, compliance as `Locked`, so the bucket needs Object Retention Lock enabled; a
//! refused upload is [`StoreError::RetentionRefused`]). `init --object-lock` records
//! the policy in the repository ([`OBJECT_LOCK_POLICY`]). One bounded read, [`read_record`],
//! reads it back as a [`PolicyRecord`] (found, absent, access denied, a folder in its place,
//! or invalid) for every client of the record;
//! [`StoreBuilder::build_with_recorded_policy`] reads it when a repository is opened, so
//! no command forgets it. Such a store has an [`ObjectLock`] ([`Store::object_lock`]), which
//! reads each object's retention ([`ObjectRetention`]) so that forget and prune plan around
//! it and check compares it with the policy.
//!
//! # What the engine can rely on
//!
//! - **Prefix.** The returned client is scoped to the URL's prefix (`object_store`'s
//!   `PrefixStore`): the engine sees `config`, `data/…`, never the bucket's other objects.
//! - **Retries.** Cloud stores retry transient failures (connection errors, timeouts, HTTP 408,
//!   429, 5xx) with exponential backoff, per [`RetryOptions`]: `object_store`'s retry policy for
//!   S3, Azure and GCS reads, and the same policy in this module for GCS uploads. Answers that
//!   mean the request is wrong (403, 404, 412) are not retried. A local folder does not retry.
//! - **Parallelism.** The store does not limit concurrency; [`Store::max_in_flight`]
//!   ([`StoreOptions::max_in_flight`], default 8) is the bound the engine applies to its own
//!   uploads and reads, which also bounds the memory held by packs in flight.
//! - **Create-only writes.** `PutMode::Create` fails with `AlreadyExists` if the name exists,
//!   and is atomic (the check and the write are one step on the server) on every store:
//!
//!   | store | how |
//!   |---|---|
//!   | local folder | written to a temporary file, then hard-linked into place (fails if the name exists); fsynced unless [`StoreOptions::local_fsync`] is off |
//!   | S3, MinIO | `If-None-Match: *` (S3 conditional writes; off only with [`StoreOptions::s3_conditional_put`]) |
//!   | Azure Blob | `If-None-Match: *` on Put Blob |
//!   | GCS | `ifGenerationMatch=0` on a JSON-API upload (see below) |
//!
//!   A create-only write that is retried after an attempt whose answer was lost can report
//!   `AlreadyExists` for the object it wrote itself. The engine names immutable objects by the
//!   SHA-256 of their content, so an existing name means the same content is stored.
//! - **Suffix ranges.** `GetRange::Suffix` works on every store; on Azure, which lacks it, as a
//!   head plus a bounded range pinned to the head's e-tag.
//! - **Multipart.** The engine writes every object with a single put (packs are bounded in
//!   size). Multipart uploads work on real S3, Azure and GCS but are not create-only, and
//!   fake-gcs-server (our GCS emulator) does not accept them.
//!
//! # Google Cloud Storage
//!
//! `object_store`'s GCS client writes with the XML API, which the GCS emulator rejects. GCS
//! stores therefore upload through the JSON API (the same endpoint on real GCS) and use
//! `object_store` for everything else; the module docs of `gcs` explain the choice.
//!
//! Cloud stores are cargo features (`s3`, `azure`, `gcs`); without them only the local folder
//! is compiled and a cloud URL is refused with the feature to enable.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use object_store::{ObjectStoreExt, PutMode, PutOptions, path::Path};
//! use thinledger_store::StoreBuilder;
//!
//! let dir = tempfile::tempdir()?;
//! let store = StoreBuilder::new(dir.path().join("repo").to_string_lossy()).build()?;
//! assert!(store.display_url().starts_with("file:///"));
//!
//! let client = store.object_store();
//! let create = PutOptions { mode: PutMode::Create, ..Default::default() };
//! client.put_opts(&Path::from("config"), "v2".into(), create.clone()).await?;
//! let again = client.put_opts(&Path::from("config"), "other".into(), create).await;
//! assert!(matches!(again, Err(object_store::Error::AlreadyExists { .. })));
//!
//! // Bad input names the field, the rule and the fix.
//! let err = StoreBuilder::new("s3://Ledger_Backups").build().unwrap_err();
//! assert!(err.to_string().starts_with("url.bucket: \"Ledger_Backups\" is invalid"));
//! # Ok(()) }
//! ```

/// The object-store crate the stores are built on, so users need not match its version.
pub use object_store;

#[cfg(feature = "azure")]
mod azure_credentials;
#[cfg(feature = "azure")]
mod azure_lock;
mod builder;
mod cloud;
mod credentials;
mod encryption;
mod error;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
mod forward;
#[cfg(feature = "gcs")]
mod gcs;
#[cfg(feature = "gcs")]
mod gcs_api;
#[cfg(feature = "gcs")]
mod gcs_retention;
mod local;
mod location;
mod lock_policy;
#[cfg(feature = "s3")]
mod object_lock;
mod options;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
mod refusal;
mod retention;
mod secret;
#[cfg(feature = "azure")]
mod suffix;

pub use builder::{Store, StoreBuilder, StoreSettings};
pub use credentials::{
    AZURE_FEDERATED_TOKEN_FILE, EKS_WEB_IDENTITY_TOKEN_FILE, EnvVars, StoreCredentials,
};
pub use encryption::{EncryptionOptions, SseMode, check_gcs_kms_key_name};
pub use error::{Invalid, InvalidInput, StoreError};
#[cfg(feature = "gcs")]
pub use gcs_api::{GcsAnswer, GcsBucketApi};
pub use local::{DIR_MODE, FILE_MODE};
pub use location::{StoreKind, StoreLocation};
pub use lock_policy::{
    MAX_POLICY_RECORD_BYTES, MAX_POLICY_RETAIN_SECONDS, OBJECT_LOCK_POLICY, PolicyRecord,
    read_record,
};
pub use options::{
    DEFAULT_MAX_IN_FLIGHT, ObjectLockMode, ObjectLockOptions, RetryOptions, StoreOptions,
};
pub use retention::{ObjectLock, ObjectRetention};
pub use secret::{REDACTED, Secret, scrub};
