//! The repository's recorded object-lock policy, read through the repository's store on
//! every provider (moto, Azurite, fake-gcs-server), and the records an attacker (or a broken
//! tool) could leave in its place: each is refused with an error naming the object, the value
//! and the rule, never read as "no policy", never a panic.

use std::time::Duration;

use thinledger_bucket::{
    Bucket, BucketError, BucketOptions, LockMode, MAX_RECORD_BYTES, RetentionPolicy, RuleId,
    StoreBuilder,
};
use thinledger_store::object_store::ObjectStoreExt;
use thinledger_store::object_store::path::Path;
use thinledger_store::{OBJECT_LOCK_POLICY, ObjectLockMode, ObjectLockOptions};

const NOT_JSON: &str = "not the expected JSON";

/// Bad records written out: (case, body, what the error must say).
const BAD: &[(&str, &[u8], &str)] = &[
    ("empty", b"", NOT_JSON),
    (
        "truncated",
        br#"{"mode": "GOVERNANCE", "retain_seconds": 86400"#,
        NOT_JSON,
    ),
    (
        "wrong types",
        br#"{"mode": 1, "retain_seconds": "86400"}"#,
        NOT_JSON,
    ),
    ("an array", b"[]", NOT_JSON),
    ("not UTF-8", b"\xff\xfe{\x00}", NOT_JSON),
    (
        "unknown mode",
        br#"{"mode": "LEGAL_HOLD", "retain_seconds": 86400}"#,
        "unknown mode",
    ),
    (
        "negative retention",
        br#"{"mode": "COMPLIANCE", "retain_seconds": -1}"#,
        NOT_JSON,
    ),
    (
        "fractional retention",
        br#"{"mode": "COMPLIANCE", "retain_seconds": 86400.5}"#,
        NOT_JSON,
    ),
    (
        "zero retention",
        br#"{"mode": "COMPLIANCE", "retain_seconds": 0}"#,
        "zero",
    ),
    (
        "absurd retention",
        br#"{"mode": "COMPLIANCE", "retain_seconds": 18446744073709551615}"#,
        "36500 days",
    ),
    (
        "retention over u64",
        br#"{"mode": "COMPLIANCE", "retain_seconds": 1e30}"#,
        NOT_JSON,
    ),
];

/// Every bad record: [`BAD`], and those made to size: `huge` bytes (refused from the
/// HEAD's size), one byte-run just over the limit, a mode of 60 KB inside it.
fn attacks(huge: usize) -> Vec<(&'static str, Vec<u8>, String)> {
    let mut padded = vec![b' '; MAX_RECORD_BYTES as usize];
    padded.extend_from_slice(br#"{"mode":"GOVERNANCE","retain_seconds":86400}"#);
    let long_mode = format!(
        r#"{{"mode": "{}", "retain_seconds": 86400}}"#,
        "G".repeat(60_000)
    );
    let made = [
        ("huge", vec![b'{'; huge], format!("{huge} bytes")),
        (
            "just over the limit",
            padded.clone(),
            format!("{} bytes", padded.len()),
        ),
        (
            "oversized mode inside the limit",
            long_mode.into_bytes(),
            "unknown mode".into(),
        ),
    ];
    BAD.iter()
        .map(|&(case, body, says)| (case, body.to_vec(), says.to_owned()))
        .chain(made)
        .collect()
}

/// Writes each bad record where `store`'s repository keeps its record and checks that
/// `bucket` refuses it in `check`, `plan` and `recorded_policy`; then a folder in the record's
/// place; then a good record is read and expected of the bucket.
async fn refuses_every_bad_record(store: StoreBuilder, bucket: &Bucket, huge: usize) {
    // The record's key in the bucket, as the errors name it.
    let object = format!("{}/{OBJECT_LOCK_POLICY}", bucket.prefix());
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
        for part in [object.as_str(), expected.as_str(), "is refused", "fix:"] {
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
    assert!(err.contains(&object), "{err}");
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

/// Every check of this file on one provider's bucket (`huge`: a record size the
/// emulator stores quickly).
async fn reads_the_record_and_refuses_bad_ones(store: StoreBuilder, bucket: Bucket, huge: usize) {
    refuses_every_bad_record(store, &bucket, huge).await;
    the_recorded_policy_is_expected(&bucket).await;
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn s3_reads_the_record_and_refuses_bad_ones() {
    let Some(moto) = crate::s3::moto() else {
        return;
    };
    let name = moto.bucket("record", serde_json::json!({}));
    // 64 MiB: refused from the HEAD's size, never downloaded.
    reads_the_record_and_refuses_bad_ones(moto.store(&name), moto.client(&name), 64 << 20).await;
}

#[cfg(feature = "gcs")]
#[tokio::test]
async fn gcs_reads_the_record_and_refuses_bad_ones() {
    let Some(endpoint) = crate::gcs::endpoint() else {
        return;
    };
    let name = crate::gcs::bucket(
        &endpoint,
        "record",
        serde_json::json!({"versioning": {"enabled": true}}),
    );
    let (store, bucket) = (
        crate::gcs::store(&endpoint, &name),
        crate::gcs::client(&endpoint, &name),
    );
    reads_the_record_and_refuses_bad_ones(store, bucket, (1 << 20) + 1).await;
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn azure_reads_the_record_and_refuses_bad_ones() {
    let Some(azurite) = crate::azure::azurite() else {
        return;
    };
    let name = azurite.container("record", "private");
    let (store, bucket) = (azurite.store(&name), azurite.client(&name));
    reads_the_record_and_refuses_bad_ones(store, bucket, (1 << 20) + 1).await;
}

/// Fail closed, on the emulator: a bucket policy that denies reading the record (moto judges
/// it: the HEAD passes, the GET is refused with 403) makes `check` report
/// `bucket.lock_record_unreadable`, naming the object and the permission, instead of checking
/// without the record; `recorded_policy` is an error; a policy given explicitly is checked
/// without reading the record.
#[cfg(feature = "s3")]
#[tokio::test]
async fn s3_a_record_the_identity_may_not_read_fails_the_check() {
    let Some(moto) = crate::s3::moto() else {
        return;
    };
    let object = format!("eu-west-1/ledger-a/{OBJECT_LOCK_POLICY}");
    let deny = serde_json::json!({
        "Sid": "NoRecord", "Effect": "Deny", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{{bucket}}/{object}")
    });
    let name = moto.bucket(
        "record-denied",
        serde_json::json!({"policy": [crate::s3::tls_statement(), deny]}),
    );
    let store = moto.store(&name).build().unwrap();
    ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(86_400))
        .record(store.object_store().as_ref())
        .await
        .unwrap();
    let bucket = moto.client(&name);

    let report = bucket.check(&BucketOptions::default()).await.unwrap();
    assert!(!report.passed(), "{report:#?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::LockRecordUnreadable)
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(
        finding
            .message
            .contains(&format!("{object} cannot be read (access denied")),
        "{}",
        finding.message
    );
    assert!(
        finding
            .fix
            .contains(&format!("s3:GetObject on arn:aws:s3:::{name}/{object}")),
        "{}",
        finding.fix
    );
    let plan = bucket.plan(&BucketOptions::default()).await.unwrap();
    assert!(
        plan.manual
            .iter()
            .any(|f| f.rule == RuleId::LockRecordUnreadable)
    );
    let err = bucket.recorded_policy().await.unwrap_err();
    assert!(
        matches!(err, BucketError::Request { .. }) && err.to_string().contains("access denied"),
        "{err}"
    );

    // The policy given: the record is not read, and the bucket is judged against it.
    let given = BucketOptions::default().with_lock_policy(RetentionPolicy::new(
        LockMode::Governance,
        Duration::from_secs(86_400),
    ));
    let report = bucket.check(&given).await.unwrap();
    assert!(
        !report.rules().contains(&RuleId::LockRecordUnreadable)
            && report.rules().contains(&RuleId::ObjectLockMissing),
        "{report:#?}"
    );
}
