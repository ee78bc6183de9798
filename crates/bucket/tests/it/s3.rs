//! The S3 control plane against moto: buckets made with boto3 in a known configuration
//! (scripts/services/lib/s3_buckets.py), read, checked, planned and fixed through aws-sdk-s3.
//!
//! What moto cannot show: it does not enforce IAM, so a change the identity may not make
//! (`ChangeResult::Denied`) is not exercised here; it accepts any KMS key id.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use thinledger_bucket::{
    BucketBuilder, BucketOptions, ChangeResult, EncryptionAlgorithm, LockMode, RetentionPolicy,
    RuleId, Secret, StoreBuilder, Versioning,
};

/// What the tests need of the S3 service, or `None` (skipped) when it is not running.
pub(crate) struct Moto {
    endpoint: String,
    region: String,
    python: PathBuf,
}

pub(crate) fn moto() -> Option<Moto> {
    let endpoint = thinledger_tests::services::var("THINLEDGER_TEST_S3_ENDPOINT")?;
    let region = thinledger_tests::services::var("THINLEDGER_TEST_S3_REGION")?;
    let python = thinledger_tests::services::var("THINLEDGER_TEST_S3_PYTHON")?;
    Some(Moto {
        endpoint,
        region,
        python: python.into(),
    })
}

impl Moto {
    fn admin(&self, args: &[&str]) -> String {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/services/lib/s3_buckets.py");
        let out = Command::new(&self.python)
            .arg(script)
            .args(args)
            .output()
            .expect("run s3_buckets.py");
        assert!(
            out.status.success(),
            "s3_buckets.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A new bucket configured as `spec` says; its name.
    pub(crate) fn bucket(&self, test: &str, spec: Value) -> String {
        let name = crate::unique_name(test);
        self.admin(&["make", &name, &spec.to_string()]);
        name
    }

    /// The repository's store (the URL `client` checks), with the test keys.
    pub(crate) fn store(&self, bucket: &str) -> StoreBuilder {
        StoreBuilder::new(format!("s3://{bucket}/eu-west-1/ledger-a"))
            .with_endpoint(&self.endpoint)
            .with_region(&self.region)
            .with_s3_keys("thinledger-test", Secret::new("thinledger-test-secret"))
    }

    pub(crate) fn client(&self, bucket: &str) -> thinledger_bucket::Bucket {
        BucketBuilder::from_store_builder(self.store(bucket))
            .build()
            .unwrap()
    }
}

pub(crate) fn tls_statement() -> Value {
    json!({
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

fn owner_statement() -> Value {
    json!({
        "Sid": "OwnerRead", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"
    })
}

/// The owner's tiering rule: online (Standard-IA) after 30 days.
fn owner_rule() -> Value {
    json!({
        "ID": "owner-ia", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]
    })
}

#[tokio::test]
async fn a_good_bucket_passes() {
    let Some(moto) = moto() else { return };
    let key = moto.admin(&["create-key"]).trim().to_owned();
    let bucket = moto.bucket(
        "good",
        json!({
            "lock": {"mode": "GOVERNANCE", "days": 7},
            "versioning": true,
            "encryption": {"kms": key},
            "public_access_block": true,
            "policy": [tls_statement()],
            "lifecycle": [owner_rule(), {
                "ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
            }]
        }),
    );
    let client = moto.client(&bucket);
    let config = client.config().await.unwrap();
    assert_eq!(config.versioning, Versioning::Enabled);
    let lock = config.object_lock.as_ref().unwrap();
    assert_eq!(
        (lock.default_mode, lock.default_days),
        (Some(LockMode::Governance), Some(7))
    );
    let encryption = config.encryption.as_ref().unwrap();
    assert_eq!(encryption.algorithm, EncryptionAlgorithm::Kms);
    assert_eq!(encryption.kms_key.as_deref(), Some(key.as_str()));
    assert!(config.tls_only);
    assert_eq!(config.lifecycle.len(), 2);

    let options = BucketOptions::default()
        .with_immutable(true)
        .with_kms_key(&key);
    let report = client.check(&options).await.unwrap();
    assert!(report.passed(), "{report:#?}");
    assert!(client.plan(&options).await.unwrap().is_empty());
}

/// The done-when bucket: no versioning and a Deep Archive transition are both flagged.
#[tokio::test]
async fn deep_archive_and_no_versioning_are_flagged() {
    let Some(moto) = moto() else { return };
    let bucket = moto.bucket(
        "bad",
        json!({
            "encryption": "AES256",
            "public_access_block": true,
            "policy": [tls_statement()],
            "lifecycle": [{
                "ID": "to-deep-archive", "Status": "Enabled", "Filter": {"Prefix": "eu-west-1/"},
                "Transitions": [{"Days": 90, "StorageClass": "DEEP_ARCHIVE"}],
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
            }]
        }),
    );
    let report = moto
        .client(&bucket)
        .check(&BucketOptions::default())
        .await
        .unwrap();
    let mut rules = report.rules();
    rules.sort();
    assert_eq!(
        rules,
        [RuleId::VersioningOff, RuleId::OfflineTier],
        "{report:#?}"
    );
    let offline = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::OfflineTier)
        .unwrap();
    assert!(
        offline.message.contains("to-deep-archive") && offline.message.contains("DEEP_ARCHIVE")
    );
}

#[tokio::test]
async fn plan_apply_check_is_clean_and_keeps_the_owners_rules() {
    let Some(moto) = moto() else { return };
    let key = moto.admin(&["create-key"]).trim().to_owned();
    let bucket = moto.bucket(
        "apply",
        json!({"policy": [owner_statement()], "lifecycle": [owner_rule()]}),
    );
    let client = moto.client(&bucket);
    let options = BucketOptions::default().with_kms_key(&key);

    let before = client.check(&options).await.unwrap();
    let mut rules = before.rules();
    rules.sort();
    assert_eq!(
        rules,
        [
            RuleId::VersioningOff,
            RuleId::EncryptionMissing,
            RuleId::PublicAccess,
            RuleId::TlsNotRequired,
            RuleId::NoncurrentExpiryMissing,
            RuleId::MultipartCleanupMissing,
        ]
    );
    let plan = client.plan(&options).await.unwrap();
    assert_eq!(plan.changes.len(), 5, "{plan:#?}");
    assert!(plan.manual.is_empty());

    let applied = client.apply(&options).await.unwrap();
    assert_eq!(applied.plan, plan);
    for outcome in &applied.outcomes {
        assert_eq!(outcome.result, ChangeResult::Applied, "{outcome:?}");
    }
    assert!(applied.after.passed(), "{:#?}", applied.after);
    assert!(client.check(&options).await.unwrap().passed());
    assert!(client.plan(&options).await.unwrap().is_empty());

    // Read back with boto3: the owner's statement and rule are still there.
    let described: Value = serde_json::from_str(&moto.admin(&["describe", &bucket])).unwrap();
    let sids: Vec<&str> = described["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids, ["OwnerRead", thinledger_bucket::TLS_STATEMENT_SID]);
    let ids: Vec<&str> = described["lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["ID"].as_str())
        .collect();
    assert_eq!(ids, ["owner-ia", thinledger_bucket::LIFECYCLE_RULE_ID]);
    let ours = &described["lifecycle"][1];
    assert_eq!(ours["Filter"]["Prefix"], "eu-west-1/ledger-a/");
    assert_eq!(ours["NoncurrentVersionExpiration"]["NoncurrentDays"], 30);
    assert_eq!(
        ours["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
        7
    );
}

#[test]
fn local_folders_and_missing_regions_are_refused_with_the_fix() {
    let err = BucketBuilder::new("/srv/backups")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("give an s3:// URL"), "{err}");
    let err = BucketBuilder::new("s3://ledger-backups/a")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("region") && err.contains("AWS_REGION"),
        "{err}"
    );
    let err = BucketBuilder::new("s3://ledger-backups/a?endpoint=http://minio.example:9000")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("allow_http=true"), "{err}");
}

/// A bucket that meets every rule but the TLS statement (moto denies every object request
/// under a statement with a condition), with `lock` as its object lock.
fn complete(moto: &Moto, test: &str, lock: Option<Value>) -> String {
    let mut spec = json!({
        "versioning": true,
        "encryption": "AES256",
        "public_access_block": true,
        "lifecycle": [{
            "ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
        }]
    });
    if let Some(lock) = lock {
        spec["lock"] = lock;
    }
    moto.bucket(test, spec)
}

/// `init --object-lock` records the policy under the prefix; check and plan expect it of the
/// bucket's default retention without being told the repository is immutable, name both
/// values when the bucket's is weaker, and explicit options win.
#[tokio::test]
async fn the_repositorys_recorded_policy_is_expected_of_the_bucket() {
    use std::time::Duration;
    use thinledger_store::{ObjectLockMode, ObjectLockOptions};
    let Some(moto) = moto() else { return };
    let bucket = complete(
        &moto,
        "recorded",
        Some(json!({"mode": "GOVERNANCE", "days": 1})),
    );
    let client = moto.client(&bucket);
    assert_eq!(client.recorded_policy().await.unwrap(), None);
    let report = client.check(&BucketOptions::default()).await.unwrap();
    assert_eq!(report.rules(), [RuleId::TlsNotRequired], "{report:#?}");

    let compliance =
        ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(2 * 86_400));
    // As `init --object-lock` writes it: through the store that writes with the policy.
    let record = |bucket: &str| {
        let store = moto
            .store(bucket)
            .with_object_lock(compliance)
            .build()
            .unwrap();
        async move {
            compliance
                .record(store.object_store().as_ref())
                .await
                .unwrap()
        }
    };
    record(&bucket).await;
    assert_eq!(
        client.recorded_policy().await.unwrap(),
        Some(RetentionPolicy::new(
            LockMode::Compliance,
            Duration::from_secs(2 * 86_400)
        ))
    );
    let report = client.check(&BucketOptions::default()).await.unwrap();
    assert_eq!(
        report.rules(),
        [RuleId::ObjectLockWeaker, RuleId::TlsNotRequired],
        "{report:#?}"
    );
    let finding = &report.findings[0];
    assert!(
        finding.message.contains("GOVERNANCE for 1 day(s)")
            && finding.message.contains("COMPLIANCE for 2d"),
        "{}",
        finding.message
    );
    let plan = client.plan(&BucketOptions::default()).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "only the TLS statement: {plan:#?}");
    assert_eq!(
        plan.manual.iter().map(|f| f.rule).collect::<Vec<_>>(),
        [RuleId::ObjectLockWeaker]
    );

    // Explicit options win over the record.
    let explicit = BucketOptions::default().with_lock_policy(RetentionPolicy::new(
        LockMode::Governance,
        Duration::from_secs(86_400),
    ));
    assert_eq!(
        client.check(&explicit).await.unwrap().rules(),
        [RuleId::TlsNotRequired]
    );

    // A bucket without object lock under a recorded policy: object lock is missing.
    let plain = complete(&moto, "recorded-nolock", None);
    // (Written without retention: the bucket has no object lock to honour it.)
    compliance
        .record(moto.store(&plain).build().unwrap().object_store().as_ref())
        .await
        .unwrap();
    let report = moto
        .client(&plain)
        .check(&BucketOptions::default())
        .await
        .unwrap();
    assert_eq!(
        report.rules(),
        [RuleId::ObjectLockMissing, RuleId::TlsNotRequired],
        "{report:#?}"
    );
}

/// IRSA: the projected token is exchanged on STS (moto's `AssumeRoleWithWebIdentity`, found
/// through `AWS_ENDPOINT_URL_STS` in the builder's environment) for the credentials the bucket
/// is read with; a missing token file and an STS that does not answer are named.
#[tokio::test]
async fn web_identity_credentials_come_from_sts() {
    use thinledger_bucket::{EnvVars, StoreCredentials};
    let Some(moto) = moto() else { return };
    let bucket = complete(&moto, "irsa", None);
    let dir = std::env::temp_dir().join(format!("{bucket}-token"));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    // moto does not verify the token; a real STS checks it against the cluster's OIDC issuer.
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bGVkZ2VyOmJhY2t1cCJ9.c2ln\n",
    )
    .unwrap();
    let client = |token_file: &std::path::Path, sts: &str| {
        let env: EnvVars = [("AWS_ENDPOINT_URL_STS", sts)].into_iter().collect();
        BucketBuilder::new(format!("s3://{bucket}/eu-west-1/ledger-a"))
            .with_endpoint(&moto.endpoint)
            .with_region(&moto.region)
            .with_env(env)
            .with_credentials(StoreCredentials::AwsWebIdentity {
                role_arn: "arn:aws:iam::123456789012:role/ledger-backup".into(),
                token_file: token_file.to_owned(),
            })
            .build()
            .unwrap()
    };
    let config = client(&token, &moto.endpoint).config().await.unwrap();
    assert_eq!(config.bucket, bucket);
    assert_eq!(config.versioning, Versioning::Enabled);

    let missing = dir.join("no-such-token");
    let err = client(&missing, &moto.endpoint)
        .config()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("web identity"),
        "{err}"
    );
    let err = client(&token, "http://127.0.0.1:9")
        .config()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("AssumeRoleWithWebIdentity"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
