//! GCS buckets through the JSON API's bucket resource (`thinledger_store::GcsBucketApi`, signed
//! as the repository's store is): reads it into a [`BucketConfig`] and makes a plan's changes
//! with `PATCH`. Each request's IAM permission is named in errors and denials.
//!
//! | bucket resource field | [`BucketConfig`] |
//! |---|---|
//! | `versioning.enabled` | [`Versioning`] (GCS has no suspended state: off) |
//! | `retentionPolicy` (`retentionPeriod`, `isLocked`) | [`ObjectLock`] with a default: locked is [`LockMode::Compliance`], unlocked [`LockMode::Governance`] |
//! | `objectRetention.mode = Enabled` (no retention policy) | [`ObjectLock`] without a default: thinledger sets each object's retention |
//! | `encryption.defaultKmsKeyName` | [`EncryptionAlgorithm::Kms`] with the key; without it Google-managed keys ([`EncryptionAlgorithm::ProviderManaged`]): GCS always encrypts |
//! | `iamConfiguration.uniformBucketLevelAccess.enabled` | the two ACL switches of [`PublicAccessBlock`] (no object ACLs at all) |
//! | `iamConfiguration.publicAccessPrevention = enforced` | the two policy switches (no `allUsers` / `allAuthenticatedUsers` grant) |
//! | (GCS serves only HTTPS) | `tls_only` |
//! | `lifecycle.rule[]`: `SetStorageClass`, `Delete` of noncurrent versions, `AbortIncompleteMultipartUpload` | [`LifecycleRule`]s, one per `matchesPrefix` entry (GCS rules have no id: `#N` is the rule's place) |

use serde_json::{Value, json};
use thinledger_store::{GcsAnswer, GcsBucketApi};

use crate::client::ChangeResult;
use crate::config::{
    BucketConfig, DefaultEncryption, EncryptionAlgorithm, LifecycleRule, LockMode, ObjectLock,
    Provider, PublicAccessBlock, Transition, Versioning,
};
use crate::error::BucketError;
use crate::plan::BucketChange;

/// A GCS bucket's control plane.
#[derive(Debug)]
pub(crate) struct GcsBucket {
    api: GcsBucketApi,
}

/// A request: its JSON-API method name and the IAM permission it needs.
#[derive(Clone, Copy)]
struct Op(&'static str, &'static str);

const GET: Op = Op("buckets.get", "storage.buckets.get");
const PATCH: Op = Op("buckets.patch", "storage.buckets.update");

impl GcsBucket {
    pub(crate) fn new(api: GcsBucketApi) -> Self {
        GcsBucket { api }
    }

    /// The bucket resource as the JSON API returns it.
    async fn resource(&self) -> Result<Value, BucketError> {
        let answer = self
            .api
            .get()
            .await
            .map_err(|e| self.request_error(GET, e.to_string()))?;
        if !answer.is_success() {
            return Err(self.answer_error(GET, &answer));
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            self.request_error(GET, format!("the answer is not a bucket resource: {e}"))
        })
    }

    pub(crate) async fn read(&self) -> Result<BucketConfig, BucketError> {
        Ok(config_from_resource(
            self.api.bucket(),
            &self.resource().await?,
        ))
    }

    pub(crate) async fn apply(&self, change: &BucketChange) -> Result<ChangeResult, BucketError> {
        // Read just before the patch: a lifecycle patch replaces the rule list, so the
        // owner's rules go back as they are now.
        let current = self.resource().await?;
        let mut body = patch_for(change, &current).map_err(|what| BucketError::Unsupported {
            what: format!("{what} on GCS bucket {}", self.api.bucket()),
            fix: "make the change with `gcloud storage buckets update`".into(),
        })?;
        // Every patch names versioning as it is: GCS keeps fields a patch leaves out, but
        // fake-gcs-server (the emulator the tests run) turns an unnamed versioning off.
        if body.get("versioning").is_none() && !current["versioning"].is_null() {
            body["versioning"] = current["versioning"].clone();
        }
        let answer = self
            .api
            .patch(&body)
            .await
            .map_err(|e| self.request_error(PATCH, e.to_string()))?;
        if answer.is_success() {
            Ok(ChangeResult::Applied)
        } else if answer.status == 403 {
            Ok(ChangeResult::Denied {
                permission: PATCH.1.to_owned(),
                message: answer.message(),
            })
        } else {
            Err(self.answer_error(PATCH, &answer))
        }
    }

    fn request_error(&self, op: Op, message: String) -> BucketError {
        BucketError::Request {
            operation: op.0,
            bucket: self.api.bucket().to_owned(),
            message,
            fix: format!(
                "check the endpoint and credentials, and that the identity has {}",
                op.1
            ),
        }
    }

    fn answer_error(&self, op: Op, answer: &GcsAnswer) -> BucketError {
        let fix = match answer.status {
            401 => "give valid credentials (GOOGLE_APPLICATION_CREDENTIALS, a service-account key, or workload identity)".to_owned(),
            403 => format!("grant the identity {} on the bucket", op.1),
            404 => "check the bucket name in the repository URL (gs://BUCKET/PREFIX)".to_owned(),
            _ => format!("check the request; the identity needs {}", op.1),
        };
        BucketError::Request {
            operation: op.0,
            bucket: self.api.bucket().to_owned(),
            message: format!("HTTP {}: {}", answer.status, answer.message()),
            fix,
        }
    }
}

/// An int64 of the JSON API: a string (`"86400"`), or a number from other writers.
fn int64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn days(value: &Value) -> Option<u32> {
    int64(value).and_then(|d| u32::try_from(d).ok())
}

/// The provider-neutral configuration of a GCS bucket resource (see the module's table).
pub(crate) fn config_from_resource(bucket: &str, r: &Value) -> BucketConfig {
    let versioning = if r["versioning"]["enabled"].as_bool() == Some(true) {
        Versioning::Enabled
    } else {
        Versioning::Off
    };
    let policy = &r["retentionPolicy"];
    let object_lock = match int64(&policy["retentionPeriod"]) {
        Some(seconds) => Some(ObjectLock {
            default_mode: Some(if policy["isLocked"].as_bool() == Some(true) {
                LockMode::Compliance
            } else {
                LockMode::Governance
            }),
            default_days: Some(u32::try_from(seconds / 86_400).unwrap_or(u32::MAX)),
        }),
        None if r["objectRetention"]["mode"].as_str() == Some("Enabled") => Some(ObjectLock {
            default_mode: None,
            default_days: None,
        }),
        None => None,
    };
    let encryption = Some(match r["encryption"]["defaultKmsKeyName"].as_str() {
        Some(key) if !key.is_empty() => DefaultEncryption {
            algorithm: EncryptionAlgorithm::Kms,
            kms_key: Some(key.to_owned()),
        },
        _ => DefaultEncryption {
            algorithm: EncryptionAlgorithm::ProviderManaged,
            kms_key: None,
        },
    });
    let iam = &r["iamConfiguration"];
    let uniform = iam["uniformBucketLevelAccess"]["enabled"].as_bool() == Some(true);
    let prevention = iam["publicAccessPrevention"].as_str() == Some("enforced");
    let public_access_block = (uniform || prevention).then_some(PublicAccessBlock {
        block_public_acls: uniform,
        ignore_public_acls: uniform,
        block_public_policy: prevention,
        restrict_public_buckets: prevention,
    });
    let lifecycle = r["lifecycle"]["rule"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .enumerate()
                .flat_map(|(i, rule)| lifecycle_rules(i, rule))
                .collect()
        })
        .unwrap_or_default();
    BucketConfig {
        provider: Provider::Gcs,
        bucket: bucket.to_owned(),
        region: r["location"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        versioning,
        object_lock,
        encryption,
        public_access_block,
        tls_only: true,
        policy: None,
        lifecycle,
        // The bucket resource shows every rule's setting.
        not_visible: Vec::new(),
    }
}

/// One GCS lifecycle rule (the `i`th) as [`LifecycleRule`]s: one per `matchesPrefix` entry
/// (a GCS rule applies to objects matching any of them), or one for the whole bucket.
fn lifecycle_rules(i: usize, rule: &Value) -> Vec<LifecycleRule> {
    let action = &rule["action"];
    let condition = &rule["condition"];
    // Noncurrent versions only: isLive false, or conditions that only noncurrent versions
    // meet.
    let noncurrent = condition["isLive"].as_bool() == Some(false)
        || !condition["daysSinceNoncurrentTime"].is_null()
        || !condition["noncurrentTimeBefore"].is_null()
        || !condition["numNewerVersions"].is_null();
    // Conditions that leave some objects under the prefix out.
    let narrowed = [
        "matchesSuffix",
        "matchesStorageClass",
        "createdBefore",
        "customTimeBefore",
        "daysSinceCustomTime",
    ]
    .iter()
    .any(|c| !condition[*c].is_null());
    let mut base = LifecycleRule {
        id: format!("#{}", i + 1),
        enabled: true,
        narrowed,
        ..LifecycleRule::default()
    };
    let after = days(&condition["daysSinceNoncurrentTime"]).or_else(|| days(&condition["age"]));
    match action["type"].as_str() {
        Some("SetStorageClass") => base.transitions.push(Transition {
            storage_class: action["storageClass"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            days: after,
            noncurrent,
        }),
        // A delete of live objects is an expiry, which the rules do not judge.
        Some("Delete") if noncurrent => base.noncurrent_expiry_days = Some(after.unwrap_or(0)),
        Some("AbortIncompleteMultipartUpload") => {
            base.abort_multipart_days = Some(days(&condition["age"]).unwrap_or(0))
        }
        _ => {}
    }
    match condition["matchesPrefix"].as_array() {
        Some(prefixes) if !prefixes.is_empty() => prefixes
            .iter()
            .map(|p| LifecycleRule {
                prefix: p.as_str().unwrap_or_default().to_owned(),
                ..base.clone()
            })
            .collect(),
        _ => vec![base],
    }
}

/// The `PATCH` body that makes `change`, given the bucket resource as read now (`current`,
/// needed for a lifecycle rule: the rule list is replaced whole). `Err` names a change GCS
/// buckets do not take from this crate.
pub(crate) fn patch_for(change: &BucketChange, current: &Value) -> Result<Value, String> {
    Ok(match change {
        BucketChange::EnableVersioning => json!({ "versioning": { "enabled": true } }),
        BucketChange::SetDefaultEncryption {
            kms_key: Some(key), ..
        } => json!({ "encryption": { "defaultKmsKeyName": key } }),
        BucketChange::SetDefaultEncryption { kms_key: None, .. } => {
            // GCS always encrypts; this would only drop a customer-managed key.
            return Err("removing the default KMS key".into());
        }
        BucketChange::BlockPublicAccess => json!({
            "iamConfiguration": {
                "uniformBucketLevelAccess": { "enabled": true },
                "publicAccessPrevention": "enforced"
            }
        }),
        BucketChange::RequireTls { .. } => {
            return Err("a TLS-only bucket policy (GCS serves only HTTPS)".into());
        }
        BucketChange::AddLifecycleRule {
            prefix,
            abort_multipart_days,
            noncurrent_expiry_days,
            ..
        } => {
            let mut rules = current["lifecycle"]["rule"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let scoped = |mut condition: Value| {
                if !prefix.is_empty() {
                    condition["matchesPrefix"] = json!([prefix]);
                }
                condition
            };
            if let Some(days) = noncurrent_expiry_days {
                rules.push(json!({
                    "action": { "type": "Delete" },
                    "condition": scoped(json!({ "isLive": false, "daysSinceNoncurrentTime": days })),
                }));
            }
            if let Some(days) = abort_multipart_days {
                rules.push(json!({
                    "action": { "type": "AbortIncompleteMultipartUpload" },
                    "condition": scoped(json!({ "age": days })),
                }));
            }
            json!({ "lifecycle": { "rule": rules } })
        }
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::rules::{BucketOptions, RuleId, check};

    /// A bucket as GCS documents the resource: everything a bank's backup bucket needs.
    fn good() -> Value {
        json!({
            "kind": "storage#bucket",
            "name": "ledger-backups",
            "location": "EUROPE-WEST3",
            "versioning": { "enabled": true },
            "objectRetention": { "mode": "Enabled" },
            "encryption": {
                "defaultKmsKeyName": "projects/acme/locations/europe-west3/keyRings/ledger/cryptoKeys/backups"
            },
            "iamConfiguration": {
                "uniformBucketLevelAccess": { "enabled": true, "lockedTime": "2027-03-01T00:00:00Z" },
                "publicAccessPrevention": "enforced"
            },
            "lifecycle": { "rule": [
                { "action": { "type": "SetStorageClass", "storageClass": "COLDLINE" },
                  "condition": { "age": 90, "matchesPrefix": ["eu/"] } },
                { "action": { "type": "Delete" },
                  "condition": { "isLive": false, "daysSinceNoncurrentTime": 30 } }
            ]}
        })
    }

    fn options() -> BucketOptions {
        BucketOptions::default()
            .with_prefix("eu/ledger-a")
            .with_immutable(true)
            .with_kms_key("projects/acme/locations/europe-west3/keyRings/ledger/cryptoKeys/backups")
    }

    #[test]
    fn a_good_bucket_reads_back_and_passes() {
        let config = config_from_resource("ledger-backups", &good());
        assert_eq!(config.provider, Provider::Gcs);
        assert_eq!(config.region, "europe-west3");
        assert_eq!(config.versioning, Versioning::Enabled);
        assert_eq!(
            config.object_lock,
            Some(ObjectLock {
                default_mode: None,
                default_days: None
            })
        );
        assert_eq!(config.public_access_block, Some(PublicAccessBlock::ALL));
        assert!(config.tls_only);
        assert_eq!(config.lifecycle.len(), 2);
        assert_eq!(config.lifecycle[0].prefix, "eu/");
        assert_eq!(config.lifecycle[0].transitions[0].storage_class, "COLDLINE");
        assert_eq!(config.lifecycle[1].noncurrent_expiry_days, Some(30));
        let report = check(&config, &options());
        assert!(report.passed(), "{:#?}", report.findings);
    }

    #[rstest]
    #[case::versioning_off(json!({"versioning": {"enabled": false}}), RuleId::VersioningOff)]
    #[case::versioning_absent(json!({"versioning": null}), RuleId::VersioningOff)]
    #[case::no_retention(json!({"objectRetention": null}), RuleId::ObjectLockMissing)]
    #[case::google_managed_key(json!({"encryption": null}), RuleId::EncryptionKey)]
    #[case::other_key(
        json!({"encryption": {"defaultKmsKeyName": "projects/acme/locations/eu/keyRings/x/cryptoKeys/y"}}),
        RuleId::EncryptionKey
    )]
    #[case::acls_allowed(
        json!({"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": false}, "publicAccessPrevention": "enforced"}}),
        RuleId::PublicAccess
    )]
    #[case::public_grants_allowed(
        json!({"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}, "publicAccessPrevention": "inherited"}}),
        RuleId::PublicAccess
    )]
    #[case::no_noncurrent_expiry(
        json!({"lifecycle": {"rule": [{"action": {"type": "SetStorageClass", "storageClass": "NEARLINE"}, "condition": {"age": 30}}]}}),
        RuleId::NoncurrentExpiryMissing
    )]
    #[case::expiry_of_another_prefix(
        json!({"lifecycle": {"rule": [{"action": {"type": "Delete"}, "condition": {"isLive": false, "daysSinceNoncurrentTime": 30, "matchesPrefix": ["us/"]}}]}}),
        RuleId::NoncurrentExpiryMissing
    )]
    #[case::expiry_of_some_suffixes(
        json!({"lifecycle": {"rule": [{"action": {"type": "Delete"}, "condition": {"isLive": false, "numNewerVersions": 3, "matchesSuffix": [".tmp"]}}]}}),
        RuleId::NoncurrentExpiryMissing
    )]
    #[case::unknown_class(
        json!({"lifecycle": {"rule": [
            {"action": {"type": "SetStorageClass", "storageClass": "GLACIAL"}, "condition": {"age": 30}},
            {"action": {"type": "Delete"}, "condition": {"isLive": false, "daysSinceNoncurrentTime": 30}}
        ]}}),
        RuleId::UnknownTier
    )]
    fn each_gap_is_one_finding(#[case] patch: Value, #[case] rule: RuleId) {
        let mut resource = good();
        for (k, v) in patch.as_object().unwrap() {
            resource[k] = v.clone();
        }
        let report = check(&config_from_resource("b", &resource), &options());
        assert_eq!(report.rules(), vec![rule], "{:#?}", report.findings);
    }

    #[test]
    fn every_gcs_class_is_online_archive_included() {
        let mut resource = good();
        resource["lifecycle"]["rule"] = json!([
            {"action": {"type": "SetStorageClass", "storageClass": "NEARLINE"}, "condition": {"age": 30}},
            {"action": {"type": "SetStorageClass", "storageClass": "COLDLINE"}, "condition": {"age": 90}},
            {"action": {"type": "SetStorageClass", "storageClass": "ARCHIVE"}, "condition": {"age": 365}},
            {"action": {"type": "SetStorageClass", "storageClass": "ARCHIVE"},
             "condition": {"isLive": false, "daysSinceNoncurrentTime": 7}},
            {"action": {"type": "Delete"}, "condition": {"isLive": false, "daysSinceNoncurrentTime": 30}}
        ]);
        let config = config_from_resource("b", &resource);
        assert!(config.lifecycle[3].transitions[0].noncurrent);
        assert_eq!(config.lifecycle[3].transitions[0].days, Some(7));
        assert!(check(&config, &options()).passed());
    }

    #[rstest]
    #[case::unlocked(false, LockMode::Governance)]
    #[case::locked(true, LockMode::Compliance)]
    fn a_retention_policy_is_a_default_retention(#[case] locked: bool, #[case] mode: LockMode) {
        let mut resource = good();
        resource["objectRetention"] = Value::Null;
        resource["retentionPolicy"] = json!({"retentionPeriod": "2592000", "isLocked": locked, "effectiveTime": "2026-01-01T00:00:00Z"});
        let config = config_from_resource("b", &resource);
        assert_eq!(
            config.object_lock,
            Some(ObjectLock {
                default_mode: Some(mode),
                default_days: Some(30)
            })
        );
        assert!(check(&config, &options()).passed());
    }

    #[test]
    fn a_bare_bucket_plans_versioning_public_access_and_cleanup() {
        let bare = json!({"name": "b", "location": "US", "versioning": {"enabled": false}});
        let config = config_from_resource("b", &bare);
        let plan = crate::plan::plan(
            &config,
            &BucketOptions::default().with_prefix("eu/ledger-a"),
        )
        .unwrap();
        let bodies: Vec<Value> = plan
            .changes
            .iter()
            .map(|c| patch_for(c, &bare).unwrap())
            .collect();
        assert_eq!(
            bodies,
            vec![
                json!({"versioning": {"enabled": true}}),
                json!({"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}, "publicAccessPrevention": "enforced"}}),
                json!({"lifecycle": {"rule": [{"action": {"type": "Delete"},
                    "condition": {"isLive": false, "daysSinceNoncurrentTime": 30, "matchesPrefix": ["eu/ledger-a/"]}}]}}),
            ]
        );
        assert!(plan.manual.is_empty(), "{:#?}", plan.manual);
    }

    #[test]
    fn changes_are_described_in_gcs_terms() {
        let rule = BucketChange::AddLifecycleRule {
            id: "thinledger-cleanup".into(),
            prefix: "eu/ledger-a/".into(),
            abort_multipart_days: None,
            noncurrent_expiry_days: Some(30),
        };
        assert_eq!(
            rule.describe_on(Provider::Gcs),
            "add a lifecycle rule on prefix eu/ledger-a/: expire noncurrent versions after 30 days (other rules kept)"
        );
        assert_eq!(rule.describe_on(Provider::S3), rule.describe());
        assert!(
            BucketChange::BlockPublicAccess
                .describe_on(Provider::Gcs)
                .contains("public access prevention")
        );
        let key = BucketChange::SetDefaultEncryption {
            algorithm: EncryptionAlgorithm::Kms,
            kms_key: Some("projects/p/locations/l/keyRings/r/cryptoKeys/k".into()),
        };
        assert_eq!(
            key.describe_on(Provider::Gcs),
            "set the default KMS key: projects/p/locations/l/keyRings/r/cryptoKeys/k"
        );
    }

    #[test]
    fn a_lifecycle_patch_keeps_the_owners_rules() {
        let current = good();
        let body = patch_for(
            &BucketChange::AddLifecycleRule {
                id: "thinledger-cleanup".into(),
                prefix: String::new(),
                abort_multipart_days: Some(7),
                noncurrent_expiry_days: Some(30),
            },
            &current,
        )
        .unwrap();
        let rules = body["lifecycle"]["rule"].as_array().unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(
            &rules[..2],
            current["lifecycle"]["rule"].as_array().unwrap().as_slice()
        );
        assert_eq!(
            rules[3],
            json!({"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}})
        );
    }

    #[test]
    fn the_tenants_key_becomes_the_default_key() {
        let key = "projects/acme/locations/europe-west3/keyRings/ledger/cryptoKeys/backups";
        let mut resource = good();
        resource["encryption"] = Value::Null;
        let config = config_from_resource("b", &resource);
        let plan = crate::plan::plan(&config, &options()).unwrap();
        assert_eq!(plan.changes.len(), 1, "{plan:#?}");
        assert_eq!(
            patch_for(&plan.changes[0], &resource).unwrap(),
            json!({"encryption": {"defaultKmsKeyName": key}})
        );
        assert!(
            patch_for(
                &BucketChange::SetDefaultEncryption {
                    algorithm: EncryptionAlgorithm::ProviderManaged,
                    kms_key: None
                },
                &resource
            )
            .is_err()
        );
    }
}
