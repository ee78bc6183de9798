//! What a bucket's configuration says, in terms no provider owns: the input of the rules.

use serde::{Deserialize, Serialize};

/// The cloud a bucket lives in; storage-class names and fixes differ by provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// Amazon S3 or an S3-compatible server.
    #[default]
    S3,
    /// An Azure Blob Storage container.
    Azure,
    /// A Google Cloud Storage bucket.
    Gcs,
}

impl Provider {
    /// `s3`, `azure` or `gcs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::S3 => "s3",
            Provider::Azure => "azure",
            Provider::Gcs => "gcs",
        }
    }
}

/// A bucket's (or container's) configuration as read from its provider.
///
/// The fields are what the rules look at; a provider reader fills what its provider has and
/// leaves the rest at the default (which the rules treat as "not configured").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BucketConfig {
    /// The provider, which decides how storage classes are read.
    pub provider: Provider,
    /// The bucket (or container) name.
    pub bucket: String,
    /// The bucket's region (S3: `us-east-1`, …); it decides the ARN partition of policy
    /// statements. Empty when unknown.
    pub region: String,
    /// Object versioning.
    pub versioning: Versioning,
    /// Object lock (S3), version-level immutability (Azure), or a retention policy or Object
    /// Retention Lock (GCS; the latter without a default); `None` when the bucket has none.
    pub object_lock: Option<ObjectLock>,
    /// Default encryption of new objects; `None` when the bucket sets none.
    pub encryption: Option<DefaultEncryption>,
    /// The public-access block; `None` when none is configured.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Whether the bucket refuses requests without TLS (S3: a bucket-policy statement denying
    /// `aws:SecureTransport = false`; Azure: secure transfer required; GCS: always).
    pub tls_only: bool,
    /// The bucket policy's JSON text (S3), kept so that a fix can add a statement to it
    /// without dropping the owner's statements.
    pub policy: Option<String>,
    /// Lifecycle rules, in the provider's order.
    pub lifecycle: Vec<LifecycleRule>,
    /// Settings the reader could not see with its credentials (Azure: the storage account's
    /// settings are management-plane, out of a data-plane client's reach). A rule named here
    /// is not judged: its findings are left out, and the report lists it as unverified
    /// instead of pretending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_visible: Vec<NotVisible>,
}

/// A setting a reader could not see, and where to check it instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotVisible {
    /// The rule that cannot be judged without it; `None` for a setting beyond the rules
    /// (reported, judges nothing).
    pub rule: Option<crate::RuleId>,
    /// The setting, as its provider names it.
    pub setting: String,
    /// Where to check it (Terraform, the portal, the CLI).
    pub check_with: String,
}

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Versioning {
    /// Never enabled: an overwrite or delete loses the old object.
    #[default]
    Off,
    /// Enabled.
    Enabled,
    /// Was enabled, now suspended: new writes keep no old versions.
    Suspended,
}

/// Retention mode of an object lock (or its equivalent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// S3 governance mode, an unlocked Azure policy or GCS retention policy: users with a
    /// special permission can shorten it.
    Governance,
    /// S3 compliance mode, a locked Azure policy or GCS bucket lock: nobody can.
    Compliance,
}

impl LockMode {
    /// `GOVERNANCE` or `COMPLIANCE`, as S3 names them.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }

    /// Whether this mode protects at least as much as `other` (compliance ≥ governance).
    pub fn at_least(self, other: LockMode) -> bool {
        self == LockMode::Compliance || other == LockMode::Governance
    }
}

/// The retention an immutable repository writes its objects with (its recorded policy,
/// `init --object-lock MODE --retain DURATION`): the bucket's default retention must be at
/// least as strong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// The mode.
    pub mode: LockMode,
    /// The retention, in seconds.
    pub retain_seconds: u64,
}

impl RetentionPolicy {
    /// `mode` retention for `retain`.
    pub fn new(mode: LockMode, retain: std::time::Duration) -> Self {
        RetentionPolicy {
            mode,
            retain_seconds: retain.as_secs(),
        }
    }

    /// The retention in whole days, rounded up (a bucket's default retention is in days).
    ///
    /// ```
    /// use std::time::Duration;
    /// use thinledger_bucket::{LockMode, RetentionPolicy};
    /// assert_eq!(RetentionPolicy::new(LockMode::Governance, Duration::from_secs(86_400)).days(), 1);
    /// assert_eq!(RetentionPolicy::new(LockMode::Governance, Duration::from_secs(15)).days(), 1);
    /// assert_eq!(RetentionPolicy::new(LockMode::Governance, Duration::from_secs(86_401)).days(), 2);
    /// ```
    pub fn days(&self) -> u32 {
        u32::try_from(self.retain_seconds.div_ceil(86_400)).unwrap_or(u32::MAX)
    }

    /// `GOVERNANCE for 1d`, `COMPLIANCE for 90s`: the retention as `init --retain` takes it.
    pub fn describe(&self) -> String {
        let s = self.retain_seconds;
        let retain = if s > 0 && s.is_multiple_of(86_400) {
            format!("{}d", s / 86_400)
        } else if s > 0 && s.is_multiple_of(3600) {
            format!("{}h", s / 3600)
        } else {
            format!("{s}s")
        };
        format!("{} for {retain}", self.mode.as_str())
    }
}

impl From<thinledger_store::ObjectLockOptions> for RetentionPolicy {
    fn from(options: thinledger_store::ObjectLockOptions) -> Self {
        let mode = match options.mode {
            thinledger_store::ObjectLockMode::Compliance => LockMode::Compliance,
            _ => LockMode::Governance,
        };
        RetentionPolicy::new(mode, options.retain)
    }
}

/// Object lock on a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    /// The default retention's mode; `None` when object lock is enabled without a default
    /// retention (only objects written with their own retain-until date are protected).
    pub default_mode: Option<LockMode>,
    /// The default retention in days (years are counted as 365 days).
    pub default_days: Option<u32>,
}

/// How new objects are encrypted by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionAlgorithm {
    /// Keys the provider manages (S3 `AES256`, Azure Microsoft-managed, Google-managed).
    ProviderManaged,
    /// A KMS key (S3 `aws:kms`, an Azure customer-managed key, a GCS Cloud KMS key).
    Kms,
    /// S3 dual-layer KMS encryption (`aws:kms:dsse`).
    DualLayerKms,
}

/// A bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultEncryption {
    /// The algorithm.
    pub algorithm: EncryptionAlgorithm,
    /// The KMS key (ARN, id or alias as the provider reports it), when the algorithm uses one
    /// and names it.
    pub kms_key: Option<String>,
}

/// The four switches of an S3 public-access block (Azure maps its single switch to all four;
/// GCS maps uniform bucket-level access to the two ACL switches and public access prevention
/// to the two policy switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// Refuse new public ACLs.
    pub block_public_acls: bool,
    /// Ignore existing public ACLs.
    pub ignore_public_acls: bool,
    /// Refuse public bucket policies.
    pub block_public_policy: bool,
    /// Restrict access under a public policy to the owner's account and services.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Every switch on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// Whether every switch is on.
    pub fn is_complete(&self) -> bool {
        *self == PublicAccessBlock::ALL
    }
}

/// One lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// The rule's id (may be empty).
    pub id: String,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// The key prefix it applies to (empty: the whole bucket).
    pub prefix: String,
    /// Whether a filter beyond the prefix (tags, object sizes) narrows it, so it may not
    /// apply to every object under the prefix.
    pub narrowed: bool,
    /// Storage-class transitions of current and noncurrent versions.
    pub transitions: Vec<Transition>,
    /// Days after which noncurrent versions expire.
    pub noncurrent_expiry_days: Option<u32>,
    /// Days after which incomplete multipart uploads are aborted.
    pub abort_multipart_days: Option<u32>,
}

impl LifecycleRule {
    /// Whether the rule applies to some object under the repository's `prefix` (without a
    /// trailing `/`; empty: the whole bucket): either scope contains the other.
    pub fn overlaps(&self, prefix: &str) -> bool {
        let scope = scope(prefix);
        scope.starts_with(&self.prefix) || self.prefix.starts_with(&scope)
    }

    /// Whether the rule is enabled and applies to every object under `prefix`.
    pub fn covers(&self, prefix: &str) -> bool {
        self.enabled && !self.narrowed && scope(prefix).starts_with(&self.prefix)
    }
}

/// The key prefix of a repository's objects: `prefix/`, or empty for the whole bucket.
pub(crate) fn scope(prefix: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    }
}

/// A lifecycle transition to another storage class (tier).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transition {
    /// The target class as the provider names it (`DEEP_ARCHIVE`, `Archive`, `NEARLINE`, …).
    pub storage_class: String,
    /// After how many days (since creation, or since becoming noncurrent).
    pub days: Option<u32>,
    /// Whether it moves noncurrent versions (rather than current ones).
    pub noncurrent: bool,
}

/// Whether objects in a storage class can be read at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Readable at once (perhaps with a minimum storage duration and a retrieval fee).
    Online,
    /// Must be restored (rehydrated) before a read: a restic-format repository with objects
    /// there cannot be read, checked or pruned.
    Offline,
    /// A class this crate does not know.
    Unknown,
}

impl Tier {
    /// The tier of `storage_class` on `provider` (case-insensitive).
    ///
    /// ```
    /// use thinledger_bucket::{Provider, Tier};
    /// assert_eq!(Tier::of(Provider::S3, "DEEP_ARCHIVE"), Tier::Offline);
    /// assert_eq!(Tier::of(Provider::S3, "GLACIER_IR"), Tier::Online);
    /// assert_eq!(Tier::of(Provider::Azure, "Archive"), Tier::Offline);
    /// assert_eq!(Tier::of(Provider::Gcs, "ARCHIVE"), Tier::Online);
    /// ```
    pub fn of(provider: Provider, storage_class: &str) -> Tier {
        let class = storage_class.to_ascii_uppercase().replace('-', "_");
        let (online, offline): (&[&str], &[&str]) = match provider {
            // Intelligent-Tiering's archive tiers are a separate opt-in configuration; its
            // default tiers are online.
            Provider::S3 => (
                &[
                    "STANDARD",
                    "STANDARD_IA",
                    "ONEZONE_IA",
                    "INTELLIGENT_TIERING",
                    "GLACIER_IR",
                    "REDUCED_REDUNDANCY",
                    "EXPRESS_ONEZONE",
                ],
                &["GLACIER", "DEEP_ARCHIVE"],
            ),
            Provider::Azure => (&["HOT", "COOL", "COLD"], &["ARCHIVE"]),
            // Every GCS class, Archive included, serves reads at once.
            Provider::Gcs => (
                &[
                    "STANDARD",
                    "NEARLINE",
                    "COLDLINE",
                    "ARCHIVE",
                    "MULTI_REGIONAL",
                    "REGIONAL",
                    "DURABLE_REDUCED_AVAILABILITY",
                ],
                &[],
            ),
        };
        if offline.contains(&class.as_str()) {
            Tier::Offline
        } else if online.contains(&class.as_str()) {
            Tier::Online
        } else {
            Tier::Unknown
        }
    }
}
