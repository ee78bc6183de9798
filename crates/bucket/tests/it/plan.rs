//! Plans: the changes that fix a bucket's findings, and what is left to its owner.

use serde_json::Value;
use thinledger_bucket::{
    BucketChange, BucketConfig, BucketOptions, EncryptionAlgorithm, LIFECYCLE_RULE_ID,
    LifecycleRule, RuleId, TLS_STATEMENT_SID, Versioning, plan, requires_tls,
};

use crate::rules::{KEY, good, options};

const OWNER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OwnerRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/audit"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::ledger-backups/*"}]}"#;

/// Everything an apply can fix is broken, plus an owner's policy, an owner's rule and a
/// Deep Archive transition.
fn broken() -> BucketConfig {
    let mut c = good();
    c.versioning = Versioning::Off;
    c.encryption = None;
    c.public_access_block = None;
    c.tls_only = false;
    c.policy = Some(OWNER_POLICY.into());
    c.lifecycle = vec![LifecycleRule {
        id: LIFECYCLE_RULE_ID.into(),
        enabled: true,
        prefix: "logs/".into(),
        transitions: vec![thinledger_bucket::Transition {
            storage_class: "DEEP_ARCHIVE".into(),
            days: Some(1),
            noncurrent: false,
        }],
        ..Default::default()
    }];
    c.object_lock = None;
    c
}

#[test]
fn good_bucket_needs_no_change() {
    let plan = plan(&good(), &options()).unwrap();
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn broken_bucket_gets_every_fix_and_keeps_the_owners_rules() {
    let plan = plan(&broken(), &options()).unwrap();
    let policy = plan
        .changes
        .iter()
        .find_map(|c| match c {
            BucketChange::RequireTls { policy } => Some(policy.clone()),
            _ => None,
        })
        .unwrap();
    assert!(requires_tls(&policy), "{policy}");
    let doc: Value = serde_json::from_str(&policy).unwrap();
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["OwnerRead", TLS_STATEMENT_SID]);
    assert_eq!(
        doc["Statement"][1]["Resource"],
        serde_json::json!([
            "arn:aws:s3:::ledger-backups",
            "arn:aws:s3:::ledger-backups/*"
        ])
    );
    let without_policy: Vec<&BucketChange> = plan
        .changes
        .iter()
        .filter(|c| !matches!(c, BucketChange::RequireTls { .. }))
        .collect();
    assert_eq!(
        without_policy,
        [
            &BucketChange::EnableVersioning,
            &BucketChange::SetDefaultEncryption {
                algorithm: EncryptionAlgorithm::Kms,
                kms_key: Some(KEY.into()),
            },
            &BucketChange::BlockPublicAccess,
            // the owner's rule has the default id: the new rule takes the next
            &BucketChange::AddLifecycleRule {
                id: format!("{LIFECYCLE_RULE_ID}-2"),
                prefix: "eu-west-1/ledger-a/".into(),
                abort_multipart_days: Some(7),
                noncurrent_expiry_days: Some(30),
            },
        ]
    );
    // The Deep Archive rule is on logs/, not the repository: only object lock is manual.
    let manual: Vec<RuleId> = plan.manual.iter().map(|f| f.rule).collect();
    assert_eq!(manual, [RuleId::ObjectLockMissing]);
    insta::assert_json_snapshot!("broken_bucket_plan", plan);
}

#[test]
fn offline_tier_on_the_repository_is_left_to_the_owner() {
    let mut c = good();
    c.lifecycle[0].transitions[0].storage_class = "DEEP_ARCHIVE".into();
    let plan = plan(&c, &options()).unwrap();
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(plan.manual.len(), 1);
    assert_eq!(plan.manual[0].rule, RuleId::OfflineTier);
}

#[test]
fn sse_s3_when_the_tenant_has_no_key() {
    let mut c = good();
    c.encryption = None;
    let plan = plan(&c, &BucketOptions::default()).unwrap();
    assert_eq!(
        plan.changes,
        [BucketChange::SetDefaultEncryption {
            algorithm: EncryptionAlgorithm::ProviderManaged,
            kms_key: None,
        }]
    );
}

#[test]
fn a_policy_that_is_not_json_is_an_error_naming_the_bucket() {
    let mut c = good();
    c.tls_only = false;
    c.policy = Some("{not json".into());
    let err = plan(&c, &options()).unwrap_err().to_string();
    assert!(
        err.contains("ledger-backups") && err.contains("not JSON"),
        "{err}"
    );
}

#[test]
fn new_policy_when_the_bucket_has_none() {
    let mut c = good();
    c.tls_only = false;
    c.region = "cn-north-1".into();
    let plan = plan(&c, &options()).unwrap();
    let [BucketChange::RequireTls { policy }] = plan.changes.as_slice() else {
        panic!("{plan:#?}");
    };
    let doc: Value = serde_json::from_str(policy).unwrap();
    assert_eq!(doc["Version"], "2012-10-17");
    assert_eq!(
        doc["Statement"][0]["Resource"][0],
        "arn:aws-cn:s3:::ledger-backups"
    );
}
