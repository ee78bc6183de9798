//! The GCS control plane against fake-gcs-server (started by `bash scripts/test.sh`): buckets
//! made with the JSON API, read, checked, planned and fixed through `bucket check|plan|apply`.
//!
//! What the emulator answers (fake-gcs-server 1.54): the JSON API's `buckets.get` and
//! `buckets.patch` with `versioning` only. It accepts and drops `retentionPolicy`,
//! `objectRetention`, `encryption`, `iamConfiguration` and `lifecycle`, so their reading and
//! the patches that set them are checked from the documented resource in the `gcs` module's
//! unit tests, not here. It does not enforce IAM (no `Denied` change) and serves only the
//! `google.storage.v1` gRPC API (Google's crate updates buckets over `google.storage.v2`).

use std::process::Command;

use serde_json::{Value, json};
use thinledger_bucket::{
    BucketBuilder, BucketChange, BucketError, BucketOptions, ChangeResult, EncryptionAlgorithm,
    Provider, RuleId, StoreBuilder, StoreCredentials, Versioning,
};

/// The emulator's endpoint, or `None` (skipped) when it is not running.
pub(crate) fn endpoint() -> Option<String> {
    thinledger_tests::services::var("THINLEDGER_TEST_GCS_ENDPOINT")
}

/// A new bucket made with `resource` (its name added); its name.
pub(crate) fn bucket(endpoint: &str, test: &str, mut resource: Value) -> String {
    let name = crate::unique_name(test);
    resource["name"] = json!(name);
    let out = Command::new("curl")
        .args([
            "-sSf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &resource.to_string(),
            &format!("{endpoint}/storage/v1/b"),
        ])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "creating bucket {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    name
}

/// The repository's store (the URL `client` checks), anonymous (the emulator checks no
/// credentials).
pub(crate) fn store(endpoint: &str, bucket: &str) -> StoreBuilder {
    StoreBuilder::new(format!("gs://{bucket}/eu/ledger-a"))
        .with_endpoint(endpoint)
        .with_credentials(StoreCredentials::Anonymous)
}

pub(crate) fn client(endpoint: &str, bucket: &str) -> thinledger_bucket::Bucket {
    BucketBuilder::from_store_builder(store(endpoint, bucket))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_bare_bucket_is_checked_planned_and_versioned() {
    let Some(endpoint) = endpoint() else { return };
    let name = bucket(&endpoint, "bare", json!({}));
    let b = client(&endpoint, &name);
    assert_eq!(b.provider(), Provider::Gcs);
    assert_eq!(b.prefix(), "eu/ledger-a");

    let config = b.config().await.unwrap();
    assert_eq!(config.provider, Provider::Gcs);
    assert_eq!(config.bucket, name);
    assert_eq!(config.versioning, Versioning::Off);
    assert!(config.tls_only);
    assert_eq!(
        config.encryption.map(|e| e.algorithm),
        Some(EncryptionAlgorithm::ProviderManaged)
    );

    let options = BucketOptions::default();
    let report = b.check(&options).await.unwrap();
    assert_eq!(
        report.rules(),
        [
            RuleId::VersioningOff,
            RuleId::PublicAccess,
            RuleId::NoncurrentExpiryMissing
        ],
        "{report:#?}"
    );
    assert!(report.findings.iter().all(|f| f.applicable), "{report:#?}");

    let plan = b.plan(&options).await.unwrap();
    assert_eq!(plan.changes.len(), 3, "{plan:#?}");
    assert_eq!(plan.changes[0], BucketChange::EnableVersioning);
    assert_eq!(plan.changes[1], BucketChange::BlockPublicAccess);
    assert!(
        matches!(&plan.changes[2], BucketChange::AddLifecycleRule { prefix, noncurrent_expiry_days: Some(30), .. } if prefix == "eu/ledger-a/"),
        "{plan:#?}"
    );

    let applied = b.apply(&options).await.unwrap();
    assert!(
        applied
            .outcomes
            .iter()
            .all(|o| o.result == ChangeResult::Applied),
        "{applied:#?}"
    );
    assert_eq!(b.config().await.unwrap().versioning, Versioning::Enabled);
    // The emulator keeps versioning and drops the IAM configuration and lifecycle it was sent.
    assert_eq!(
        applied.after.rules(),
        [RuleId::PublicAccess, RuleId::NoncurrentExpiryMissing],
        "{applied:#?}"
    );
    let json = serde_json::to_value(&applied).unwrap();
    assert_eq!(json["plan"]["provider"], "gcs", "{json}");
}

#[tokio::test]
async fn a_versioned_bucket_of_an_immutable_repository_needs_object_retention() {
    let Some(endpoint) = endpoint() else { return };
    let name = bucket(
        &endpoint,
        "versioned",
        json!({"versioning": {"enabled": true}}),
    );
    let b = client(&endpoint, &name);
    let report = b
        .check(&BucketOptions::default().with_immutable(true))
        .await
        .unwrap();
    let lock = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::ObjectLockMissing)
        .expect("an object-lock finding");
    assert!(!lock.applicable, "{lock:?}");
    assert!(
        lock.fix.contains("--enable-per-object-retention"),
        "{lock:?}"
    );
    assert!(
        !report.rules().contains(&RuleId::VersioningOff),
        "{report:#?}"
    );
    let plan = b
        .plan(&BucketOptions::default().with_immutable(true))
        .await
        .unwrap();
    assert!(
        plan.manual
            .iter()
            .any(|f| f.rule == RuleId::ObjectLockMissing),
        "{plan:#?}"
    );
}

#[tokio::test]
async fn a_missing_bucket_names_the_request_and_the_fix() {
    let Some(endpoint) = endpoint() else { return };
    let b = client(&endpoint, "tl-no-such-bucket");
    let err = b.check(&BucketOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            BucketError::Request {
                operation: "buckets.get",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(text.contains("gs://BUCKET/PREFIX"), "{text}");
}

#[test]
fn a_plain_http_endpoint_elsewhere_is_refused_before_any_request() {
    let err = BucketBuilder::new("gs://ledger/eu")
        .with_endpoint("http://gcs.example.com")
        .with_credentials(StoreCredentials::Anonymous)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("option.endpoint"), "{err}");
}
