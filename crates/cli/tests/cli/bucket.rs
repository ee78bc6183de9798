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

/// Without keys in the environment, the AWS default chain (aws-config) finds credentials: here
/// a shared credentials file and a profile, as on a workstation; without any, the error
/// says so.
#[test]
fn without_keys_the_default_chain_reads_the_profile() {
    let Some(moto) = moto() else { return };
    let bucket = make_bucket(&moto, "{}");
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[ledger]\naws_access_key_id = thinledger-test\naws_secret_access_key = thinledger-test-secret\n",
    )
    .unwrap();
    let chain = |credentials: &std::path::Path| {
        let mut c = bucket_cmd(&moto, &bucket, &["check", "--output", "json"]);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ] {
            c.env_remove(var);
        }
        c.env("AWS_SHARED_CREDENTIALS_FILE", credentials)
            .env("AWS_CONFIG_FILE", dir.path().join("config"))
            .env("AWS_PROFILE", "ledger")
            // No instance metadata service here: do not wait for one.
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c.output().unwrap()
    };
    let out = chain(&credentials);
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bucket"], bucket.as_str(), "{report}");

    // No credentials anywhere: an error (no report), naming the chain.
    let out = chain(&dir.path().join("no-credentials"));
    assert_ne!(out.status.code(), Some(0), "{}", described(&out));
    assert!(out.stdout.is_empty(), "{}", described(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no providers in chain provided credentials"),
        "{}",
        described(&out)
    );
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

/// The repository's recorded object-lock policy is read from the bucket: a good one is
/// expected of the bucket (exit 1 without object lock, in text and JSON), and a forged or
/// broken one makes `check` fail with an error naming the record, never pass.
#[test]
fn the_recorded_policy_is_read_and_a_forged_one_is_refused() {
    let Some(moto) = moto() else { return };
    let bucket = make_bucket(&moto, "{}");
    let dir = tempfile::tempdir().unwrap();
    let put = |body: &[u8]| {
        let file = dir.path().join("record");
        std::fs::write(&file, body).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/services/lib/s3_buckets.py");
        let out = Command::new(&moto.python)
            .arg(script)
            .args(["put", &bucket, "ledger-a/thinledger-object-lock.json"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", described(&out));
    };

    put(br#"{"mode": "COMPLIANCE", "retain_seconds": 172800}"#);
    let out = bucket_cmd(&moto, &bucket, &["check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lock = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "bucket.object_lock_missing")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        lock["message"]
            .as_str()
            .unwrap()
            .contains("COMPLIANCE for 2d"),
        "{lock}"
    );

    for (body, says) in [
        (
            br#"{"mode": "COMPLIANCE", "retain_seconds": 0}"#.to_vec(),
            "zero",
        ),
        (
            br#"{"mode": "WORM", "retain_seconds": 86400}"#.to_vec(),
            "unknown mode",
        ),
        (
            b"{\"mode\": \"COMPLIANCE\"".to_vec(),
            "not the expected JSON",
        ),
        (vec![b'x'; 1 << 20], "1048576 bytes"),
    ] {
        put(&body);
        for output in [&["check"][..], &["check", "--output", "json"][..]] {
            let out = bucket_cmd(&moto, &bucket, output).output().unwrap();
            // Bad input (2), not findings (1): the bucket was not judged.
            assert_eq!(out.status.code(), Some(2), "{says}: {}", described(&out));
            assert!(out.stdout.is_empty(), "{says}: {}", described(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            for part in [
                "ledger-a/thinledger-object-lock.json",
                "is refused",
                says,
                "fix:",
            ] {
                assert!(stderr.contains(part), "{part:?}: {}", described(&out));
            }
            assert!(!stderr.contains("panicked"), "{}", described(&out));
        }
    }
    // The flag wins over the record: the bucket is checked against what it says.
    let out = bucket_cmd(
        &moto,
        &bucket,
        &["check", "--object-lock", "governance", "--retain", "1d"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
}
