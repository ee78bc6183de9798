//! [`plan`]: the changes that fix what [`check`](crate::check) finds, as data to print
//! before `apply` makes them.

use serde::{Deserialize, Serialize};

use crate::config::{BucketConfig, EncryptionAlgorithm, Provider};
use crate::error::BucketError;
use crate::policy;
use crate::rules::{BucketOptions, Finding, RuleId, check};

/// The id of the lifecycle rule a plan adds.
pub const LIFECYCLE_RULE_ID: &str = "thinledger-cleanup";

/// One change to a bucket's configuration. Changes only add protection: none removes an
/// owner's rule or statement, none turns object lock off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BucketChange {
    /// Turn versioning on.
    EnableVersioning,
    /// Set the default encryption (replacing the current default).
    SetDefaultEncryption {
        /// The algorithm.
        algorithm: EncryptionAlgorithm,
        /// The KMS key, for `kms`.
        kms_key: Option<String>,
    },
    /// Turn on every public-access-block switch (Azure: set the container's public access
    /// level to private).
    BlockPublicAccess,
    /// Put this bucket policy: the current one plus a statement denying requests without TLS.
    RequireTls {
        /// The whole policy as it will be put.
        policy: String,
    },
    /// Add a lifecycle rule (the bucket's other rules are kept as they are).
    AddLifecycleRule {
        /// The rule's id.
        id: String,
        /// The key prefix it applies to (the repository's, ending in `/`; empty: the whole
        /// bucket).
        prefix: String,
        /// Abort incomplete multipart uploads after this many days.
        abort_multipart_days: Option<u32>,
        /// Expire noncurrent versions after this many days.
        noncurrent_expiry_days: Option<u32>,
    },
}

impl BucketChange {
    /// The rules this change fixes.
    pub fn fixes(&self) -> Vec<RuleId> {
        match self {
            BucketChange::EnableVersioning => vec![RuleId::VersioningOff],
            BucketChange::SetDefaultEncryption { .. } => {
                vec![RuleId::EncryptionMissing, RuleId::EncryptionKey]
            }
            BucketChange::BlockPublicAccess => vec![RuleId::PublicAccess],
            BucketChange::RequireTls { .. } => vec![RuleId::TlsNotRequired],
            BucketChange::AddLifecycleRule {
                abort_multipart_days,
                noncurrent_expiry_days,
                ..
            } => {
                let mut rules = Vec::new();
                if noncurrent_expiry_days.is_some() {
                    rules.push(RuleId::NoncurrentExpiryMissing);
                }
                if abort_multipart_days.is_some() {
                    rules.push(RuleId::MultipartCleanupMissing);
                }
                rules
            }
        }
    }

    /// One line for people, in `provider`'s terms (GCS: public access prevention, a default
    /// KMS key, lifecycle rules without ids); [`BucketChange::describe`] for S3.
    pub fn describe_on(&self, provider: Provider) -> String {
        match (provider, self) {
            (
                Provider::Gcs,
                BucketChange::SetDefaultEncryption {
                    kms_key: Some(key), ..
                },
            ) => {
                format!("set the default KMS key: {key}")
            }
            (Provider::Gcs, BucketChange::BlockPublicAccess) => {
                "enforce public access prevention and uniform bucket-level access".into()
            }
            (Provider::Gcs, BucketChange::AddLifecycleRule { .. }) => self.describe().replacen(
                &format!("add lifecycle rule {}", self.rule_id()),
                "add a lifecycle rule",
                1,
            ),
            _ => self.describe(),
        }
    }

    fn rule_id(&self) -> &str {
        match self {
            BucketChange::AddLifecycleRule { id, .. } => id,
            _ => "",
        }
    }

    /// One line for people (S3's terms; see [`BucketChange::describe_on`]).
    pub fn describe(&self) -> String {
        match self {
            BucketChange::EnableVersioning => "enable versioning".into(),
            BucketChange::SetDefaultEncryption {
                kms_key: Some(key), ..
            } => format!("set default encryption: SSE-KMS with {key} (bucket key on)"),
            BucketChange::SetDefaultEncryption { .. } => {
                "set default encryption: SSE-S3 (AES256)".into()
            }
            BucketChange::BlockPublicAccess => {
                "block public access (S3: all four public-access-block switches; Azure: the container's access level to private, its stored access policies kept)".into()
            }
            BucketChange::RequireTls { .. } => format!(
                "add the bucket-policy statement {} (deny aws:SecureTransport = false), keeping the other statements",
                policy::TLS_STATEMENT_SID
            ),
            BucketChange::AddLifecycleRule {
                id,
                prefix,
                abort_multipart_days,
                noncurrent_expiry_days,
            } => {
                let mut parts = Vec::new();
                if let Some(d) = noncurrent_expiry_days {
                    parts.push(format!("expire noncurrent versions after {d} days"));
                }
                if let Some(d) = abort_multipart_days {
                    parts.push(format!("abort incomplete multipart uploads after {d} days"));
                }
                let scope = if prefix.is_empty() {
                    "the whole bucket".to_owned()
                } else {
                    format!("prefix {prefix}")
                };
                format!(
                    "add lifecycle rule {id} on {scope}: {} (other rules kept)",
                    parts.join(", ")
                )
            }
        }
    }
}

/// The changes that fix a bucket's findings, and the findings left to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BucketPlan {
    /// The provider.
    pub provider: Provider,
    /// The bucket.
    pub bucket: String,
    /// The changes `apply` makes, in order.
    pub changes: Vec<BucketChange>,
    /// Findings no change fixes (object lock, offline tiers: decisions for the bucket's
    /// owner, never made by a tool).
    pub manual: Vec<Finding>,
}

impl BucketPlan {
    /// Whether there is nothing to change and nothing left to the owner.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.manual.is_empty()
    }
}

/// Plans the fixes for `config`'s findings under `options`. S3 and GCS buckets get changes
/// (Azure fixes are listed as manual); an S3 bucket policy that is not a JSON object
/// is an error, as the TLS statement cannot be added to it.
pub fn plan(config: &BucketConfig, options: &BucketOptions) -> Result<BucketPlan, BucketError> {
    let report = check(config, options);
    let mut changes = Vec::new();
    let mut manual = Vec::new();
    let mut lifecycle = (None, None);
    for finding in report.findings {
        if !finding.applicable {
            manual.push(finding);
            continue;
        }
        match finding.rule {
            RuleId::VersioningOff => changes.push(BucketChange::EnableVersioning),
            RuleId::EncryptionMissing | RuleId::EncryptionKey => {
                changes.push(BucketChange::SetDefaultEncryption {
                    algorithm: if options.kms_key.is_some() {
                        EncryptionAlgorithm::Kms
                    } else {
                        EncryptionAlgorithm::ProviderManaged
                    },
                    kms_key: options.kms_key.clone(),
                })
            }
            RuleId::PublicAccess => changes.push(BucketChange::BlockPublicAccess),
            RuleId::TlsNotRequired => {
                let policy = policy::with_tls_statement(
                    config.policy.as_deref(),
                    &config.bucket,
                    policy::partition(&config.region),
                )
                .map_err(|reason| BucketError::Policy {
                    bucket: config.bucket.clone(),
                    reason,
                })?;
                changes.push(BucketChange::RequireTls { policy })
            }
            RuleId::NoncurrentExpiryMissing => lifecycle.1 = Some(options.noncurrent_expiry_days),
            RuleId::MultipartCleanupMissing => lifecycle.0 = Some(options.abort_multipart_days),
            _ => manual.push(finding),
        }
    }
    if lifecycle != (None, None) {
        changes.push(BucketChange::AddLifecycleRule {
            id: unused_rule_id(config),
            prefix: crate::config::scope(&options.prefix),
            abort_multipart_days: lifecycle.0,
            noncurrent_expiry_days: lifecycle.1,
        });
    }
    // Versioning first: a noncurrent-version rule on an unversioned bucket does nothing.
    Ok(BucketPlan {
        provider: config.provider,
        bucket: config.bucket.clone(),
        changes,
        manual,
    })
}

/// `thinledger-cleanup`, or `thinledger-cleanup-N` when an owner's rule already has the id
/// (lifecycle rule ids are unique in a bucket).
fn unused_rule_id(config: &BucketConfig) -> String {
    let taken = |id: &str| config.lifecycle.iter().any(|r| r.id == id);
    if !taken(LIFECYCLE_RULE_ID) {
        return LIFECYCLE_RULE_ID.to_owned();
    }
    (2..)
        .map(|n| format!("{LIFECYCLE_RULE_ID}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or_default()
}
