//! Knobs that are not credentials: endpoints, retries, timeouts, parallelism.

use std::time::Duration;

use super::encryption::EncryptionOptions;

/// How transient failures are retried (cloud stores only; a local folder does not retry).
///
/// Retried: connection errors, timeouts, HTTP 408, 429 and 5xx, for every request the store
/// sends — reads, listings, deletes and whole-object uploads. Not retried: 4xx answers that
/// mean the request itself is wrong (403 forbidden, 404 not found, 412 precondition failed).
/// Backoff is exponential from `initial_backoff`, doubling up to `max_backoff`, with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryOptions {
    /// Attempts after the first one.
    pub max_retries: usize,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub retry_timeout: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            retry_timeout: Duration::from_secs(180),
        }
    }
}

impl RetryOptions {
    /// No retries at all (for tests of error paths).
    pub fn none() -> Self {
        RetryOptions {
            max_retries: 0,
            ..RetryOptions::default()
        }
    }
}

/// Default number of requests the repository engine keeps in flight against one store.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// Store settings other than credentials. Every field has a sensible default; the URL's
/// query string and [`super::StoreBuilder::from_env`] fill the ones left unset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Server URL for S3-compatible servers (MinIO), Azurite or a GCS emulator, e.g.
    /// `https://minio.backup.svc:9000`. Unset: the cloud's public endpoint.
    pub endpoint: Option<String>,
    /// AWS region of the bucket. Required for AWS itself; defaults to `us-east-1` with an endpoint.
    pub region: Option<String>,
    /// Path-style S3 requests (`endpoint/bucket/key`). Unset: on when an endpoint is given
    /// (what MinIO expects), off for AWS (virtual-hosted style).
    pub path_style: Option<bool>,
    /// Allow plain `http://` endpoints. Unset: only loopback endpoints may use http.
    pub allow_http: Option<bool>,
    /// Azure storage account name (also `?account=` in the URL or `AZURE_STORAGE_ACCOUNT_NAME`).
    pub azure_account: Option<String>,
    /// Retries of transient failures.
    pub retry: RetryOptions,
    /// How many requests the engine runs at once against this store (uploads of packs, reads
    /// during restore and check). The store does not enforce it; the engine reads it from
    /// [`super::Store::max_in_flight`] and bounds its own concurrency, which also bounds the
    /// memory held by uploads in flight.
    pub max_in_flight: usize,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request, including sending the body (a whole pack).
    pub request_timeout: Duration,
    /// Local folders only: fsync files and directories before a write returns, so that an
    /// object reported as stored survives a power loss. On by default; off trades that for speed.
    pub local_fsync: bool,
    /// S3 only: send `If-None-Match: *` for create-only writes. Turn off only for an
    /// S3-compatible server that rejects it; create-only writes then fail as unsupported.
    pub s3_conditional_put: bool,
    /// Server-side encryption every object is written with (unset: the bucket's default);
    /// see [`EncryptionOptions`].
    pub encryption: EncryptionOptions,
    /// S3, Azure and GCS: retention on every object written except lock files. S3: Object
    /// Lock (the bucket must have it enabled); Azure: a version-level immutability policy per
    /// blob (the container needs version-level immutability support); GCS: the object's
    /// retention (the bucket needs Object Retention Lock). Unset: no retention is asked for.
    pub object_lock: Option<ObjectLockOptions>,
}

/// Retention mode: S3 Object Lock's modes; Azure's immutability-policy states and GCS's
/// object retention modes call governance `Unlocked` and compliance `Locked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectLockMode {
    /// Users with `s3:BypassGovernanceRetention` (GCS: `storage.objects.overrideUnlockedRetention`)
    /// may still delete or shorten the retention (Azure: an unlocked policy, which its owner
    /// may shorten or remove).
    Governance,
    /// Nobody, not even the account's root user, can delete the object before the date
    /// (Azure: a locked policy, which can only be extended).
    Compliance,
}

impl ObjectLockMode {
    /// The header value: `GOVERNANCE` or `COMPLIANCE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectLockMode::Governance => "GOVERNANCE",
            ObjectLockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// Object Lock retention for every object a store writes, lock files excepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectLockOptions {
    /// Governance or compliance.
    pub mode: ObjectLockMode,
    /// How long each object is retained from its upload (at least; see the store docs).
    pub retain: Duration,
}

impl ObjectLockOptions {
    /// `mode` retention for `retain` after each upload.
    pub fn new(mode: ObjectLockMode, retain: Duration) -> Self {
        ObjectLockOptions { mode, retain }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            endpoint: None,
            region: None,
            path_style: None,
            allow_http: None,
            azure_account: None,
            retry: RetryOptions::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            local_fsync: true,
            s3_conditional_put: true,
            encryption: EncryptionOptions::default(),
            object_lock: None,
        }
    }
}
