//! The repository's recorded object-lock policy, read through the repository's store on
//! every provider (moto, Azurite, fake-gcs-server), and the records an attacker (or a broken
//! tool) could leave in its place: each is refused with an error naming the object, the value
//! and the rule, never read as "no policy", never a panic.

use std::time::Duration;

use thinledger_bucket::{
    Bucket, BucketBuilder, BucketError, BucketOptions, LockMode, MAX_RECORD_BYTES, RetentionPolicy,
    RuleId, StoreBuilder,
};
use thinledger_store::object_store::ObjectStoreExt;
use thinledger_store::object_store::path::Path;
use thinledger_store::{OBJECT_LOCK_POLICY, ObjectLockMode, ObjectLockOptions};

/// The record's key under the URLs' prefix.
const OBJECT: &str = "eu/ledger-a/thinledger-object-lock.json";

/// Bad records: (case, body, what the error must say).
fn attacks(huge: usize) -> Vec<(&'static str, Vec<u8>, String)> {
    let json = |s: &str| s.as_bytes().to_vec();
    let mut padded = vec![b' '; MAX_RECORD_BYTES as usize];
    padded.extend_from_slice(br#"{"mode":"GOVERNANCE","retain_seconds":86400}"#);
    vec![
        ("huge", vec![b'{'; huge], format!("{huge} bytes")),
        (
            "just over the limit",
            padded.clone(),
            format!("{} bytes", padded.len()),
        ),
        ("empty", Vec::new(), "not the expected JSON".into()),
        (
            "truncated",
            json(r#"{"mode": "GOVERNANCE", "retain_seconds": 86400"#),
            "not the expected JSON".into(),
        ),
        (
            "wrong types",
            json(r#"{"mode": 1, "retain_seconds": "86400"}"#),
            "not the expected JSON".into(),
        ),
        ("an array", json("[]"), "not the expected JSON".into()),
        (
            "not UTF-8",
            b"\xff\xfe{\x00}".to_vec(),
            "not the expected JSON".into(),
        ),
        (
            "unknown mode",
            json(r#"{"mode": "LEGAL_HOLD", "retain_seconds": 86400}"#),
            "unknown mode".into(),
        ),
        (
            "negative retention",
            json(r#"{"mode": "COMPLIANCE", "retain_seconds": -1}"#),
            "not the expected JSON".into(),
        ),
        (
            "fractional retention",
            json(r#"{"mode": "COMPLIANCE", "retain_seconds": 86400.5}"#),
            "not the expected JSON".into(),
        ),
        (
            "zero retention",
            json(r#"{"mode": "COMPLIANCE", "retain_seconds": 0}"#),
            "zero".into(),
        ),
        (
            "absurd retention",
            json(r#"{"mode": "COMPLIANCE", "retain_seconds": 18446744073709551615}"#),
            "36500 days".into(),
        ),
        (
            "retention over u64",
            json(r#"{"mode": "COMPLIANCE", "retain_seconds": 1e30}"#),
            "not the expected JSON".into(),
        ),
        (
            "oversized mode inside the limit",
            format!(
                r#"{{"mode": "{}", "retain_seconds": 86400}}"#,
                "G".repeat(60_000)
            )
            .into_bytes(),
            "unknown mode".into(),
        ),
    ]
}

/// Writes each bad record where `store`'s repository keeps its record and checks that
/// `bucket` refuses it in `check`, `plan` and `recorded_policy`; then a folder in the record's
/// place; then a good record is read and expected of the bucket.
async fn refuses_every_bad_record(store: StoreBuilder, bucket: &Bucket, huge: usize) {
    let store = store.build().unwrap();
    let objects = store.object_store();
    let record = Path::from(OBJECT_LOCK_POLICY);
    for (case, body, expected) in attacks(huge) {
        objects.put(&record, body.into()).await.unwrap();
        let err = bucket.check(&BucketOptions::default()).await.unwrap_err();
        assert!(
            matches!(err, BucketError::PolicyRecord { .. }),
            "{case}: {err:?}"
        );
        let message = err.to_string();
        for part in [OBJECT, expected.as_str(), "is refused", "fix:"] {
            assert!(message.contains(part), "{case}: {part:?} in {message}");
        }
        // The value is shown cut short: no 60 KB message, no 64 MiB one.
        assert!(message.len() < 2_000, "{case}: {} bytes", message.len());
        assert!(
            bucket.plan(&BucketOptions::default()).await.is_err(),
            "{case}"
        );
        assert!(bucket.recorded_policy().await.is_err(), "{case}");
    }

    // Something in the record's place that is not the record: objects under its name.
    objects.delete(&record).await.unwrap();
    objects
        .put(&Path::from(format!("{OBJECT_LOCK_POLICY}/x")), "{}".into())
        .await
        .unwrap();
    let err = bucket.recorded_policy().await.unwrap_err().to_string();
    assert!(err.contains("is a folder"), "{err}");
    assert!(err.contains(OBJECT), "{err}");
    assert!(
        err.contains(&format!("\"{OBJECT_LOCK_POLICY}/x\"")),
        "{err}"
    );
    objects
        .delete(&Path::from(format!("{OBJECT_LOCK_POLICY}/x")))
        .await
        .unwrap();
    assert_eq!(bucket.recorded_policy().await.unwrap(), None);

    // A good record is read with the store's parser and expected of the bucket.
    let policy =
        ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(2 * 86_400));
    policy.record(objects.as_ref()).await.unwrap();
    assert_eq!(
        bucket.recorded_policy().await.unwrap(),
        Some(RetentionPolicy::new(
            LockMode::Compliance,
            Duration::from_secs(2 * 86_400)
        ))
    );
}

/// The emulators' buckets have no object lock: a recorded policy makes that a finding that
/// names the policy.
async fn the_recorded_policy_is_expected(bucket: &Bucket) {
    let report = bucket.check(&BucketOptions::default()).await.unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::ObjectLockMissing)
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(
        finding.message.contains("COMPLIANCE for 2d"),
        "{}",
        finding.message
    );
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn s3_refuses_bad_records() {
    use thinledger_bucket::Secret;
    let var = thinledger_tests::services::var;
    let (Some(endpoint), Some(region), Some(python)) = (
        var("THINLEDGER_TEST_S3_ENDPOINT"),
        var("THINLEDGER_TEST_S3_REGION"),
        var("THINLEDGER_TEST_S3_PYTHON"),
    ) else {
        return;
    };
    let name = format!("tl-record-{}", unique());
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/services/lib/s3_buckets.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(["make", &name, "{}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = StoreBuilder::new(format!("s3://{name}/eu/ledger-a"))
        .with_endpoint(&endpoint)
        .with_region(&region)
        .with_s3_keys("thinledger-test", Secret::new("thinledger-test-secret"));
    let bucket = BucketBuilder::from_store_builder(store.clone())
        .build()
        .unwrap();
    // 64 MiB: refused from the HEAD's size, never downloaded.
    refuses_every_bad_record(store, &bucket, 64 << 20).await;
    the_recorded_policy_is_expected(&bucket).await;
}

#[cfg(feature = "gcs")]
#[tokio::test]
async fn gcs_reads_the_record_and_refuses_bad_ones() {
    use thinledger_bucket::StoreCredentials;
    let Some(endpoint) = thinledger_tests::services::var("THINLEDGER_TEST_GCS_ENDPOINT") else {
        return;
    };
    let name = format!("tl-record-{}", unique());
    let out = std::process::Command::new("curl")
        .args([
            "-sSf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!(r#"{{"name":"{name}","versioning":{{"enabled":true}}}}"#),
            &format!("{endpoint}/storage/v1/b"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = StoreBuilder::new(format!("gs://{name}/eu/ledger-a"))
        .with_endpoint(&endpoint)
        .with_credentials(StoreCredentials::Anonymous);
    let bucket = BucketBuilder::from_store_builder(store.clone())
        .build()
        .unwrap();
    refuses_every_bad_record(store, &bucket, (1 << 20) + 1).await;
    the_recorded_policy_is_expected(&bucket).await;
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn azure_reads_the_record_and_refuses_bad_ones() {
    use thinledger_bucket::Secret;
    let var = thinledger_tests::services::var;
    let (Some(endpoint), Some(account), Some(key)) = (
        var("THINLEDGER_TEST_AZURITE_ENDPOINT"),
        var("THINLEDGER_TEST_AZURITE_ACCOUNT"),
        var("THINLEDGER_TEST_AZURITE_KEY"),
    ) else {
        return;
    };
    let name = format!("tl-record-{}", unique() % 1_000_000_000_000);
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/services/lib/azure_containers.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["make", &name, "private"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = StoreBuilder::new(format!("az://{name}/eu/ledger-a"))
        .with_endpoint(&endpoint)
        .with_azure_account(&account)
        .with_azure_access_key(Secret::new(key));
    let bucket = BucketBuilder::from_store_builder(store.clone())
        .build()
        .unwrap();
    refuses_every_bad_record(store, &bucket, (1 << 20) + 1).await;
    the_recorded_policy_is_expected(&bucket).await;
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
