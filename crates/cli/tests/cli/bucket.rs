//! `ledger-backup bucket check|plan|apply` against moto (started by `bash scripts/test.sh`):
//! a bucket without versioning, encryption, public-access block, TLS policy or cleanup rules
//! fails `check` (exit 1), `apply` fixes it, and `check` then passes (exit 0).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{described, ledger_backup};

struct Moto {
    endpoint: String,
    python: String,
}

fn moto() -> Option<Moto> {
    Some(Moto {
        endpoint: thinledger_tests::services::var("THINLEDGER_TEST_S3_ENDPOINT")?,
        python: thinledger_tests::services::var("THINLEDGER_TEST_S3_PYTHON")?,
    })
}

/// A bucket made with boto3 from `spec` (scripts/services/lib/s3_buckets.py).
fn make_bucket(moto: &Moto, spec: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("tl-cli-{}-{nanos}", std::process::id());
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services/lib/s3_buckets.py");
    let out = Command::new(&moto.python)
        .arg(script)
        .args(["make", &name, spec])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", described(&out));
    name
}

fn bucket_cmd(moto: &Moto, bucket: &str, args: &[&str]) -> Command {
    let mut c = ledger_backup();
    c.env(
        "THINLEDGER_REPOSITORY",
        format!(
            "s3://{bucket}/ledger-a?endpoint={}&region=us-east-1",
            moto.endpoint
        ),
    )
    .env("AWS_ACCESS_KEY_ID", "thinledger-test")
    .env("AWS_SECRET_ACCESS_KEY", "thinledger-test-secret")
    .arg("bucket")
    .args(args);
    c
}

#[test]
fn check_apply_check() {
    let Some(moto) = moto() else { return };
    let bucket = make_bucket(&moto, "{}");

    let out = bucket_cmd(&moto, &bucket, &["check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"bucket.versioning_off"), "{rules:?}");

    let out = bucket_cmd(&moto, &bucket, &["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", described(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("change  enable versioning"), "{text}");

    let out = bucket_cmd(&moto, &bucket, &["apply"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", described(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("every rule met"),
        "{}",
        described(&out)
    );

    let out = bucket_cmd(&moto, &bucket, &["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", described(&out));
}

#[test]
fn a_local_repository_has_no_bucket() {
    let out = ledger_backup()
        .args(["-r", "/srv/backups", "bucket", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", described(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("s3://"),
        "{}",
        described(&out)
    );
}
