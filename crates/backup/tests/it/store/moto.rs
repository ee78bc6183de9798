//! The S3 tests' control plane on moto: buckets of each kind (plain, refusing puts, with
//! Object Lock), KMS keys, and what HeadObject reports of every object (scripts/services/lib/
//! s3_admin.py, run with moto's Python), plus a store in such a bucket.

use std::path::PathBuf;
use std::process::Command;

use thinledger_backup::store::StoreBuilder;

use super::services::{self, Service};

/// moto's Python and the admin script.
pub(crate) type Admin = (PathBuf, PathBuf);

/// moto's Python and the admin script, or `None` when the S3 service is not running.
pub(crate) fn admin() -> Option<Admin> {
    services::env(Service::S3)?;
    let python = std::env::var_os("THINLEDGER_TEST_S3_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    let Some(python) = python else {
        thinledger_tests::services::missing(
            "the S3 control-plane tests need THINLEDGER_TEST_S3_PYTHON (moto's Python with boto3; run `bash scripts/test.sh`)",
        );
        return None;
    };
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services/lib/s3_admin.py");
    Some((python, script))
}

pub(crate) fn run_admin(admin: &Admin, args: &[&str]) -> String {
    let out = Command::new(&admin.0)
        .arg(&admin.1)
        .args(args)
        .output()
        .expect("run s3_admin.py");
    assert!(
        out.status.success(),
        "s3_admin.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The kinds of bucket the tests make.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bucket {
    /// No policy, no lock.
    Plain,
    /// A policy that denies every PutObject.
    DenyPuts,
    /// Object Lock enabled (and so versioning).
    ObjectLock,
    /// Object Lock with a default retention (governance, 1 day), which S3 applies to every
    /// upload without its own, lock files included.
    ObjectLockDefault,
}

/// Creates (or reuses) the bucket `thinledger-NAME-PID` of `kind`; returns its name. Tests
/// that change a bucket (a policy put in place later) use a name of their own.
pub(crate) fn new_bucket(admin: &Admin, kind: Bucket, name: &str) -> String {
    let command = match kind {
        Bucket::Plain => "create-bucket",
        Bucket::DenyPuts => "deny-puts",
        Bucket::ObjectLock => "lock-bucket",
        Bucket::ObjectLockDefault => "lock-bucket-default",
    };
    let bucket = format!("thinledger-{name}-{}", std::process::id());
    run_admin(admin, &[command, &bucket]);
    bucket
}

/// A KMS key on moto; its ARN.
pub(crate) fn new_kms_key(admin: &Admin) -> String {
    run_admin(admin, &["create-key"]).trim().to_owned()
}

/// A store at `prefix` in `bucket` on moto, with the test credentials.
pub(crate) fn bucket_store(bucket: &str, prefix: &str, tmp: &std::path::Path) -> StoreBuilder {
    services::builder_at(Service::S3, prefix, tmp)
        .expect("the S3 service runs (admin() said so)")
        .with_url(format!("s3://{bucket}/{prefix}"))
}

/// One object's name under the prefix and what HeadObject reports of its encryption and
/// retention.
#[derive(Debug)]
pub(crate) struct Head {
    pub key: String,
    pub sse: Option<String>,
    pub kms_key_id: Option<String>,
    pub lock_mode: Option<String>,
    pub retain_until: Option<String>,
}

/// Every object under `prefix` in `bucket`, with its headers.
pub(crate) fn heads_in(admin: &Admin, bucket: &str, prefix: &str) -> Vec<Head> {
    run_admin(admin, &["heads", bucket, &format!("{prefix}/")])
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let text = |k: &str| v[k].as_str().map(str::to_owned);
            Head {
                key: text("key").unwrap(),
                sse: text("sse"),
                kms_key_id: text("kms_key_id"),
                lock_mode: text("lock_mode"),
                retain_until: text("retain_until"),
            }
        })
        .collect()
}

/// A small tree to back up: one short file and 300 kB of noise.
pub(crate) fn small_tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("hello.txt"), b"hello, ledger\n").unwrap();
    std::fs::write(
        root.join("sub/data.bin"),
        thinledger_tests::data::noise(300_000, 7),
    )
    .unwrap();
}
