//! The rules a bank's backup bucket must meet, as data: [`check`] turns a [`BucketConfig`]
//! into a [`BucketReport`] of [`Finding`]s. Pure: no provider is asked anything.

use serde::{Deserialize, Serialize};

use crate::config::{BucketConfig, EncryptionAlgorithm, Tier, Versioning};

/// What the bucket is expected to have beyond the rules every backup bucket meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BucketOptions {
    /// The repository's prefix in the bucket: lifecycle rules are judged for the objects
    /// under it (empty: the whole bucket).
    pub prefix: String,
    /// The repository is immutable (`init --object-lock`): the bucket needs object lock with
    /// a default retention (Azure: version-level immutability; GCS: a retention policy).
    pub immutable: bool,
    /// The immutable repository's retention (its recorded policy): the bucket's default
    /// retention must be at least as strong (mode and days). Implies `immutable`. `None`:
    /// any default retention will do; [`Bucket::check`](crate::Bucket::check) fills it from
    /// the repository's record when the bucket holds one.
    pub lock_policy: Option<crate::config::RetentionPolicy>,
    /// The tenant's KMS key: the default encryption must use it. `None`: any default
    /// encryption will do.
    pub kms_key: Option<String>,
    /// Days after which noncurrent versions should expire (the fix's value; any value
    /// passes the check).
    pub noncurrent_expiry_days: u32,
    /// Days after which incomplete multipart uploads should be aborted (the fix's value).
    pub abort_multipart_days: u32,
    /// The repository's object-lock record, which the identity may not read: `check` reports
    /// [`RuleId::LockRecordUnreadable`] (a policy it cannot see is no pass).
    /// [`Bucket::check`](crate::Bucket::check) fills it when reading the record is denied
    /// and `lock_policy` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_record: Option<UnreadRecord>,
}

/// The repository's object-lock record, which the identity may not read (access denied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnreadRecord {
    /// The record's key in the bucket, e.g. `eu/ledger-a/thinledger-object-lock.json`.
    pub object: String,
    /// The provider's answer.
    pub message: String,
}

impl UnreadRecord {
    /// The record at `object`, refused with `message`.
    pub fn new(object: impl Into<String>, message: impl Into<String>) -> Self {
        UnreadRecord {
            object: object.into(),
            message: message.into(),
        }
    }
}

impl Default for BucketOptions {
    fn default() -> Self {
        BucketOptions {
            prefix: String::new(),
            immutable: false,
            lock_policy: None,
            kms_key: None,
            noncurrent_expiry_days: 30,
            abort_multipart_days: 7,
            unread_record: None,
        }
    }
}

impl BucketOptions {
    /// Judge lifecycle rules for the objects under `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_matches('/').to_owned();
        self
    }

    /// Expect object lock (an immutable repository).
    pub fn with_immutable(mut self, immutable: bool) -> Self {
        self.immutable = immutable;
        self
    }

    /// Expect object lock whose default retention is at least `policy` (an immutable
    /// repository's; explicit, so the repository's own record is not read).
    pub fn with_lock_policy(mut self, policy: crate::config::RetentionPolicy) -> Self {
        self.immutable = true;
        self.lock_policy = Some(policy);
        self
    }

    /// The repository's object-lock record could not be read ([`BucketOptions::unread_record`]).
    pub fn with_unread_record(mut self, record: UnreadRecord) -> Self {
        self.unread_record = Some(record);
        self
    }

    /// Expect default encryption with this KMS key.
    pub fn with_kms_key(mut self, key: impl Into<String>) -> Self {
        self.kms_key = Some(key.into());
        self
    }

    /// The noncurrent-version expiry a fix sets.
    pub fn with_noncurrent_expiry_days(mut self, days: u32) -> Self {
        self.noncurrent_expiry_days = days;
        self
    }

    /// The incomplete-multipart cleanup a fix sets.
    pub fn with_abort_multipart_days(mut self, days: u32) -> Self {
        self.abort_multipart_days = days;
        self
    }
}

/// The rules, one id each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
#[non_exhaustive]
pub enum RuleId {
    /// Versioning is off or suspended.
    VersioningOff,
    /// The repository is immutable but the bucket has no object lock (or no default).
    ObjectLockMissing,
    /// The bucket's default retention is weaker than the repository's policy.
    ObjectLockWeaker,
    /// No default encryption.
    EncryptionMissing,
    /// Default encryption without the tenant's KMS key.
    EncryptionKey,
    /// Public access is not fully blocked.
    PublicAccess,
    /// Requests without TLS are not refused.
    TlsNotRequired,
    /// A lifecycle rule moves repository objects to an offline tier.
    OfflineTier,
    /// A lifecycle rule moves repository objects to a class this crate does not know.
    UnknownTier,
    /// No rule expires noncurrent versions.
    NoncurrentExpiryMissing,
    /// No rule aborts incomplete multipart uploads.
    MultipartCleanupMissing,
    /// The repository's object-lock record cannot be read by the identity, so the bucket's
    /// object lock was not compared with the repository's policy.
    LockRecordUnreadable,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 12] = [
        RuleId::VersioningOff,
        RuleId::LockRecordUnreadable,
        RuleId::ObjectLockMissing,
        RuleId::ObjectLockWeaker,
        RuleId::EncryptionMissing,
        RuleId::EncryptionKey,
        RuleId::PublicAccess,
        RuleId::TlsNotRequired,
        RuleId::OfflineTier,
        RuleId::UnknownTier,
        RuleId::NoncurrentExpiryMissing,
        RuleId::MultipartCleanupMissing,
    ];

    /// The id as printed: `bucket.versioning_off`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::VersioningOff => "bucket.versioning_off",
            RuleId::ObjectLockMissing => "bucket.object_lock_missing",
            RuleId::ObjectLockWeaker => "bucket.object_lock_weaker",
            RuleId::EncryptionMissing => "bucket.encryption_missing",
            RuleId::EncryptionKey => "bucket.encryption_key",
            RuleId::PublicAccess => "bucket.public_access",
            RuleId::TlsNotRequired => "bucket.tls_not_required",
            RuleId::OfflineTier => "bucket.offline_tier",
            RuleId::UnknownTier => "bucket.unknown_tier",
            RuleId::NoncurrentExpiryMissing => "bucket.noncurrent_expiry_missing",
            RuleId::MultipartCleanupMissing => "bucket.multipart_cleanup_missing",
            RuleId::LockRecordUnreadable => "bucket.lock_record_unreadable",
        }
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<RuleId> for &'static str {
    fn from(id: RuleId) -> Self {
        id.as_str()
    }
}

impl TryFrom<String> for RuleId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| format!("unknown bucket rule {text:?}"))
    }
}

/// How serious a finding is. Every finding fails `bucket check`; the severity orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Data can be lost, exposed or made unreadable.
    High,
    /// Costs grow without bound, or an unknown class needs a look.
    Medium,
}

/// One rule the bucket breaks: what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong, naming the bucket's setting.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// Whether `bucket apply` makes the fix (else it is for the bucket's owner).
    pub applicable: bool,
}

impl Finding {
    fn new(
        rule: RuleId,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
        applicable: bool,
    ) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            fix: fix.into(),
            applicable,
        }
    }
}

/// The result of [`check`]: the bucket's findings, most serious first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BucketReport {
    /// The provider.
    pub provider: crate::Provider,
    /// The bucket (container) name.
    pub bucket: String,
    /// What is wrong; empty when the bucket passes.
    pub findings: Vec<Finding>,
    /// What could not be judged with the reader's credentials
    /// ([`BucketConfig::not_visible`]): not a finding, but not a pass either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<crate::NotVisible>,
}

impl BucketReport {
    /// Whether the bucket meets every rule.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// The ids of the rules broken, in report order.
    pub fn rules(&self) -> Vec<RuleId> {
        self.findings.iter().map(|f| f.rule).collect()
    }
}

/// Judges `config` against the backup-bucket rules and `options`.
///
/// ```
/// use thinledger_bucket::{BucketConfig, BucketOptions, RuleId, check};
///
/// let bare = BucketConfig { bucket: "ledger-backups".into(), ..Default::default() };
/// let report = check(&bare, &BucketOptions::default());
/// assert!(report.rules().contains(&RuleId::VersioningOff));
/// ```
pub fn check(config: &BucketConfig, options: &BucketOptions) -> BucketReport {
    let mut findings = Vec::new();
    let provider = config.provider;
    match config.versioning {
        Versioning::Enabled => {}
        state => findings.push(Finding::new(
            RuleId::VersioningOff,
            Severity::High,
            format!(
                "versioning is {}: an overwrite or delete (by a bug, a stolen credential or ransomware) loses the backup",
                if state == Versioning::Off { "off" } else { "suspended" }
            ),
            match provider {
                crate::Provider::Azure => {
                    "enable blob versioning on the storage account (an account setting: the portal, Terraform or `az storage account blob-service-properties update --enable-versioning`)"
                }
                _ => "enable versioning on the bucket",
            },
            // Azure's versioning is the storage account's (management plane).
            provider != crate::Provider::Azure,
        )),
    }
    if let Some(record) = options
        .unread_record
        .as_ref()
        .filter(|_| options.lock_policy.is_none())
    {
        findings.push(Finding::new(
            RuleId::LockRecordUnreadable,
            Severity::High,
            format!(
                "the repository's object-lock record {} cannot be read (access denied: {}): the bucket's object lock is not compared with the repository's policy",
                record.object, record.message
            ),
            unread_fix(provider, &config.bucket, &record.object),
            false,
        ));
    }
    if options.immutable || options.lock_policy.is_some() {
        match &config.object_lock {
            None => findings.push(Finding::new(
                RuleId::ObjectLockMissing,
                Severity::High,
                format!(
                    "the repository is immutable{} but the bucket has no object lock: nothing stops the backup credentials from deleting backups",
                    recorded(options)
                ),
                lock_fix(provider),
                false,
            )),
            // GCS has no default per-object retention: Object Retention Lock enabled is what
            // lets thinledger retain each object (a bucket retention policy, the GCS default,
            // would hold lock files too).
            Some(lock)
                if (lock.default_mode.is_none() || lock.default_days.is_none())
                    && provider != crate::Provider::Gcs =>
            {
                findings.push(Finding::new(
                    RuleId::ObjectLockMissing,
                    Severity::High,
                    format!(
                        "object lock is enabled without a default retention: objects written without a retain-until date (by another tool) are unprotected{}",
                        recorded(options)
                    ),
                    lock_fix(provider),
                    false,
                ))
            }
            Some(lock) => {
                if let (Some(policy), Some(mode), Some(days)) =
                    (&options.lock_policy, lock.default_mode, lock.default_days)
                    && !(mode.at_least(policy.mode) && days >= policy.days())
                {
                    findings.push(Finding::new(
                        RuleId::ObjectLockWeaker,
                        Severity::High,
                        format!(
                            "the bucket's default retention is {} for {days} day(s), weaker than the repository's policy {} ({} for {} day(s)): objects written without their own retain-until date (by another tool) are protected for less",
                            mode.as_str(),
                            policy.describe(),
                            policy.mode.as_str(),
                            policy.days()
                        ),
                        weaker_fix(
                            provider,
                            &config.bucket,
                            if mode.at_least(policy.mode) { mode } else { policy.mode },
                            days.max(policy.days()),
                        ),
                        false,
                    ))
                }
            }
        }
    }
    match (&config.encryption, &options.kms_key) {
        (None, key) => findings.push(Finding::new(
            RuleId::EncryptionMissing,
            Severity::High,
            "the bucket has no default encryption",
            match key {
                Some(k) => format!("set default encryption with the tenant's KMS key {k}"),
                None => "set default encryption (SSE-S3, or SSE-KMS with the bank's key)".into(),
            },
            true,
        )),
        // An Azure container's default encryption is its default encryption scope, fixed
        // when the container is created; the tenant's "key" is the scope's name.
        (Some(enc), Some(want)) if provider == crate::Provider::Azure => {
            let scope = enc.kms_key.as_deref().unwrap_or(AZURE_ACCOUNT_SCOPE);
            if scope != want {
                findings.push(Finding::new(
                    RuleId::EncryptionKey,
                    Severity::High,
                    format!(
                        "the container's default encryption scope is {scope}, not the tenant's {want}"
                    ),
                    format!(
                        "create a container with default encryption scope {want} and scope override denied (a container's default scope is fixed when it is created), and move the repository there"
                    ),
                    false,
                ));
            }
        }
        (Some(enc), Some(want)) => {
            let kms = matches!(
                enc.algorithm,
                EncryptionAlgorithm::Kms | EncryptionAlgorithm::DualLayerKms
            );
            let same_key = enc
                .kms_key
                .as_deref()
                .is_some_and(|k| same_kms_key(k, want));
            if !kms || !same_key {
                findings.push(Finding::new(
                    RuleId::EncryptionKey,
                    Severity::High,
                    match (&enc.algorithm, &enc.kms_key) {
                        (EncryptionAlgorithm::ProviderManaged, _) => format!(
                            "default encryption uses provider-managed keys, not the tenant's KMS key {want}"
                        ),
                        (_, Some(k)) => format!(
                            "default encryption uses the KMS key {k}, not the tenant's {want}"
                        ),
                        (_, None) => format!(
                            "default encryption uses the provider's default KMS key, not the tenant's {want}"
                        ),
                    },
                    format!("set default encryption with the KMS key {want}"),
                    true,
                ));
            }
        }
        (Some(_), None) => {}
    }
    if !config.public_access_block.is_some_and(|b| b.is_complete()) {
        findings.push(Finding::new(
            RuleId::PublicAccess,
            Severity::High,
            match (provider, config.public_access_block) {
                (crate::Provider::Azure, _) => {
                    "the container allows anonymous (public) read access".to_owned()
                }
                (_, None) => "the bucket has no public-access block".to_owned(),
                (_, Some(_)) => {
                    "the bucket's public-access block leaves some switches off".to_owned()
                }
            },
            match provider {
                crate::Provider::S3 => "turn on all four public-access-block switches",
                crate::Provider::Azure => {
                    "set the container's public access level to private (and disallow blob public access on the storage account)"
                }
                crate::Provider::Gcs => {
                    "enforce public access prevention and uniform bucket-level access on the bucket"
                }
            },
            // Azure: Set Container ACL, a data-plane request; GCS: a bucket patch.
            matches!(
                provider,
                crate::Provider::S3 | crate::Provider::Azure | crate::Provider::Gcs
            ),
        ));
    }
    if !config.tls_only {
        findings.push(Finding::new(
            RuleId::TlsNotRequired,
            Severity::High,
            "the bucket accepts requests without TLS",
            match provider {
                crate::Provider::S3 => {
                    "add a bucket-policy statement denying every request with aws:SecureTransport = false"
                }
                _ => "require secure transfer (HTTPS only)",
            },
            provider == crate::Provider::S3,
        ));
    }
    let prefix = options.prefix.as_str();
    for rule in config
        .lifecycle
        .iter()
        .filter(|r| r.enabled && r.overlaps(prefix))
    {
        for t in &rule.transitions {
            let versions = if t.noncurrent {
                "noncurrent versions"
            } else {
                "objects"
            };
            let after = t
                .days
                .map(|d| format!(" after {d} days"))
                .unwrap_or_default();
            let name = if rule.id.is_empty() {
                "(no id)"
            } else {
                rule.id.as_str()
            };
            match Tier::of(provider, &t.storage_class) {
                Tier::Online => {}
                Tier::Offline => findings.push(Finding::new(
                    RuleId::OfflineTier,
                    Severity::High,
                    format!(
                        "lifecycle rule {name} moves {versions}{after} to {}, an offline tier: the repository cannot be read, checked or pruned until they are restored",
                        t.storage_class
                    ),
                    format!(
                        "transition to an online tier instead ({}), or exclude the repository's prefix from rule {name}",
                        online_examples(provider)
                    ),
                    false,
                )),
                Tier::Unknown => findings.push(Finding::new(
                    RuleId::UnknownTier,
                    Severity::Medium,
                    format!(
                        "lifecycle rule {name} moves {versions}{after} to {}, a storage class thinledger does not know",
                        t.storage_class
                    ),
                    format!(
                        "make sure it serves reads at once ({}), or transition to one of those",
                        online_examples(provider)
                    ),
                    false,
                )),
            }
        }
    }
    // Azure deletes previous versions and uncommitted blocks by its own rules (a management
    // policy's version actions, uncommitted blocks expire in 7 days): S3 and GCS only.
    let covering = || config.lifecycle.iter().filter(|r| r.covers(prefix));
    if provider != crate::Provider::Azure && !covering().any(|r| r.noncurrent_expiry_days.is_some())
    {
        findings.push(Finding::new(
            RuleId::NoncurrentExpiryMissing,
            Severity::Medium,
            "no lifecycle rule expires noncurrent versions: every pruned or overwritten object is kept (and billed) forever",
            format!(
                "add a lifecycle rule expiring noncurrent versions after {} days (longer than the restore window)",
                options.noncurrent_expiry_days
            ),
            matches!(provider, crate::Provider::S3 | crate::Provider::Gcs),
        ));
    }
    if provider == crate::Provider::S3 && !covering().any(|r| r.abort_multipart_days.is_some()) {
        findings.push(Finding::new(
            RuleId::MultipartCleanupMissing,
            Severity::Medium,
            "no lifecycle rule aborts incomplete multipart uploads: interrupted uploads are billed forever",
            format!(
                "add a lifecycle rule aborting incomplete multipart uploads after {} days",
                options.abort_multipart_days
            ),
            true,
        ));
    }
    // A rule whose setting the reader could not see is not judged on the placeholder.
    findings.retain(|f| !config.not_visible.iter().any(|n| n.rule == Some(f.rule)));
    findings.sort_by_key(|f| f.severity);
    BucketReport {
        provider,
        bucket: config.bucket.clone(),
        findings,
        unverified: config
            .not_visible
            .iter()
            .cloned()
            .map(|mut n| {
                // What the unseen default retention must reach (Azure's container policy).
                if let (Some(RuleId::ObjectLockMissing), Some(policy)) =
                    (n.rule, &options.lock_policy)
                {
                    n.setting = format!(
                        "{}: it must be {} for at least {} day(s), the repository's policy {}",
                        n.setting,
                        policy.mode.as_str(),
                        policy.days(),
                        policy.describe()
                    );
                }
                n
            })
            .collect(),
    }
}

/// `(policy GOVERNANCE for 1d)` when the options carry the repository's policy.
fn recorded(options: &BucketOptions) -> String {
    match &options.lock_policy {
        Some(policy) => format!(" (policy {})", policy.describe()),
        None => String::new(),
    }
}

/// What the identity needs to read the repository's record, or how to check without it.
fn unread_fix(provider: crate::Provider, bucket: &str, object: &str) -> String {
    let grant = match provider {
        crate::Provider::S3 => format!("s3:GetObject on arn:aws:s3:::{bucket}/{object}"),
        crate::Provider::Gcs => {
            format!(
                "storage.objects.get on gs://{bucket}/{object} (e.g. roles/storage.objectViewer)"
            )
        }
        crate::Provider::Azure => format!(
            "the Storage Blob Data Reader role on container {bucket} (or a key or SAS that may read {object})"
        ),
    };
    format!(
        "grant the checking identity {grant}, or give the repository's policy explicitly (--object-lock MODE --retain DURATION)"
    )
}

/// How to raise the bucket's default retention to `mode` for `days`.
fn weaker_fix(provider: crate::Provider, bucket: &str, mode: crate::LockMode, days: u32) -> String {
    let compliance = mode == crate::LockMode::Compliance;
    match provider {
        crate::Provider::S3 => format!(
            "set the bucket's default retention to {} for at least {days} day(s)",
            mode.as_str()
        ),
        crate::Provider::Gcs => format!(
            "set the bucket's retention policy to at least {days} day(s) (`gcloud storage buckets update gs://{bucket} --retention-period={days}d`){}",
            if compliance {
                " and lock it (`--lock-retention-period`): the repository's policy is COMPLIANCE"
            } else {
                ""
            }
        ),
        crate::Provider::Azure => format!(
            "set the container's default immutability policy to at least {days} day(s){}",
            if compliance {
                " and lock it: the repository's policy is COMPLIANCE"
            } else {
                ""
            }
        ),
    }
}

/// The encryption scope of an Azure container without a default scope of its own: the
/// storage account's encryption.
pub(crate) const AZURE_ACCOUNT_SCOPE: &str = "$account-encryption-key";

fn lock_fix(provider: crate::Provider) -> &'static str {
    match provider {
        crate::Provider::S3 => {
            "enable object lock with a default retention (governance or compliance mode) on the bucket, or move the repository to a bucket created with object lock"
        }
        crate::Provider::Azure => {
            "enable version-level immutability with a time-based retention policy on the container"
        }
        crate::Provider::Gcs => {
            "use a bucket with Object Retention Lock enabled (`gcloud storage buckets create --enable-per-object-retention`): thinledger sets each object's retention; a bucket retention policy also protects every object, but holds the repository's lock files too"
        }
    }
}

fn online_examples(provider: crate::Provider) -> &'static str {
    match provider {
        crate::Provider::S3 => "STANDARD_IA or GLACIER_IR",
        crate::Provider::Azure => "Cool or Cold",
        crate::Provider::Gcs => "NEARLINE, COLDLINE or ARCHIVE",
    }
}

/// Whether two spellings of a KMS key name the same key: equal, or one is the other's key id
/// at the end of an ARN (`arn:aws:kms:…:key/ID` and `ID`, `…:alias/NAME` and `alias/NAME`).
pub(crate) fn same_kms_key(a: &str, b: &str) -> bool {
    let ends = |long: &str, short: &str| {
        long.len() > short.len()
            && long.ends_with(short)
            && matches!(long.as_bytes()[long.len() - short.len() - 1], b'/' | b':')
    };
    a == b || ends(a, b) || ends(b, a)
}
