//! Golden statements for every provider/identity combination (insta snapshots), checked
//! against CockroachDB's documented syntax by review; the SQL/parameter split is asserted too.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use rstest::rstest;
use thinledger_backup::cockroach::{
    AsOf, CockroachBackupOptions, CockroachBackupPlan, Encryption, FirstRun, FullBackup, KmsUri,
    OnFailure, OnPreviousRunning, RegionalBucket, RestoreRequest, S3Credentials, S3Keys,
    ScheduleOptions, Statement, Subdir, Target,
};
use thinledger_backup::store::Secret;
use thinledger_topology::Tenant;

use super::*;

fn minio_keys() -> S3Keys {
    S3Keys::new("ledger-backup", Secret::new(SECRET_KEY)).unwrap()
}

/// The plan as --dry-run prints it, followed by the executed SQL and its parameters.
fn golden(plan: &CockroachBackupPlan) -> String {
    let mut out = plan.to_string();
    out.push_str("\n-- executed as:\n");
    for (name, r) in plan.statements() {
        out.push_str(&format!("{name}: {}\n", r.sql()));
        for (i, p) in r.params().iter().enumerate() {
            out.push_str(&format!("  ${} = {}\n", i + 1, p.display()));
        }
    }
    out
}

fn kms_aws() -> Encryption {
    Encryption::Kms(vec![
        KmsUri::Aws {
            key: "arn:aws:kms:us-east-1:123456789012:key/0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d"
                .into(),
            region: "us-east-1".into(),
            assume_role: None,
        },
        KmsUri::Aws {
            key: "alias/ledger-backup".into(),
            region: "us-west-2".into(),
            assume_role: Some("arn:aws:iam::123456789012:role/ledger-kms".into()),
        },
    ])
}

#[rstest]
#[case::aws_irsa("aws_irsa", aws(), CockroachBackupOptions::default())]
#[case::aws_irsa_assume_role("aws_irsa_assume_role", aws(), CockroachBackupOptions::default()
    .with_aws_region("us-east-1")
    .with_assume_role("arn:aws:iam::210987654321:role/ledger-backup-writer"))]
#[case::aws_irsa_kms("aws_irsa_kms", aws(), CockroachBackupOptions::default().with_encryption(kms_aws()))]
#[case::aws_locality_aware("aws_locality_aware", aws_multi_region(), CockroachBackupOptions::default()
    .with_regional_buckets([
        RegionalBucket::new("us-east-1", "acme-ledger-backups-use1"),
        RegionalBucket::new("us-west-2", "acme-ledger-backups-usw2"),
        RegionalBucket::new("eu-west-1", "acme-ledger-backups-euw1"),
    ])
    .with_aws_region("us-east-1"))]
#[case::aws_irsa_assume_role_kms("aws_irsa_assume_role_kms", aws(), CockroachBackupOptions::default()
    .with_assume_role("arn:aws:iam::210987654321:role/ledger-backup-writer")
    .with_encryption(kms_aws()))]
#[case::azure_workload_identity(
    "azure_workload_identity",
    azure_workload(),
    CockroachBackupOptions::default()
)]
#[case::azure_managed_identity(
    "azure_managed_identity",
    azure_managed(),
    CockroachBackupOptions::default()
)]
#[case::azure_kms("azure_kms", azure_workload(), CockroachBackupOptions::default().with_encryption(Encryption::Kms(vec![KmsUri::Azure {
    vault: "acme-ledger-kv".into(),
    key: "ledger-backup".into(),
    version: "b3c5e1d2a4f64e0c9a7b8d6e5f4a3b2c".into(),
}])))]
#[case::gcp_workload_identity("gcp_workload_identity", gcp(), CockroachBackupOptions::default())]
#[case::gcp_workload_identity_assume_role("gcp_workload_identity_assume_role", gcp(), CockroachBackupOptions::default()
    .with_assume_role("ledger-backup-writer@acme-shared.iam.gserviceaccount.com")
    .with_encryption(Encryption::Kms(vec![KmsUri::Gcp {
        key: "projects/acme-prod/locations/europe-west1/keyRings/ledger/cryptoKeys/backup".into(),
        assume_role: None,
    }])))]
#[case::minio_keys("minio_keys", onprem(), CockroachBackupOptions::default().with_s3_credentials(Some(S3Credentials::Keys(minio_keys()))))]
#[case::minio_keys_passphrase("minio_keys_passphrase", onprem(), CockroachBackupOptions::default()
    .with_s3_credentials(Some(S3Credentials::Keys(minio_keys())))
    .with_encryption(Encryption::Passphrase(Secret::new(PASSPHRASE))))]
#[case::minio_implicit("minio_implicit", onprem(), CockroachBackupOptions::default()
    .with_s3_credentials(Some(S3Credentials::Implicit))
    .with_aws_region("eu-central-1"))]
#[case::databases_custom_schedule("databases_custom_schedule", aws(), CockroachBackupOptions::default()
    .with_path("crdb/ledger")
    .with_target(Target::databases(["ledger", "Ledger Audit\"; --"]).unwrap())
    .with_as_of(AsOf::Ago(Duration::from_secs(30)))
    .with_schedule(ScheduleOptions::default()
        .with_label("acme's ledger")
        .with_recurring(thinledger_backup::cockroach::Crontab::new("s", "*/15 * * * *").unwrap())
        .with_full_backup(FullBackup::Always)
        .with_first_run(FirstRun::At(Utc.with_ymd_and_hms(2025, 7, 1, 2, 0, 0).unwrap()))
        .with_on_execution_failure(OnFailure::Pause)
        .with_on_previous_running(OnPreviousRunning::Wait)
        .with_ignore_existing_backups(true)))]
#[case::tables("tables", gcp(), CockroachBackupOptions::default()
    .with_target(Target::tables(["ledger.public.entries", "ledger.audit.*"]).unwrap())
    .with_revision_history(false))]
fn plans(#[case] name: &str, #[case] tenant: Tenant, #[case] options: CockroachBackupOptions) {
    let plan = CockroachBackupPlan::for_tenant(&tenant, &options).unwrap();
    let text = golden(&plan);
    assert_no_secret(&text);
    insta::with_settings!({ snapshot_suffix => name }, {
        insta::assert_snapshot!("plan", text);
    });
}

#[rstest]
#[case::cluster_latest("cluster_latest", RestoreRequest::default())]
#[case::pitr_database_as_new_name("pitr_database_as_new_name", RestoreRequest {
    target: Target::databases(["ledger"]).unwrap(),
    as_of: Some("2025-06-01T12:34:56.789Z".parse().unwrap()),
    new_db_name: Some("ledger_restored".into()),
    ..Default::default()
})]
#[case::tables_into_db_from_subdir("tables_into_db_from_subdir", RestoreRequest {
    target: Target::tables(["ledger.public.entries"]).unwrap(),
    subdir: Subdir::path("2025/06/01-120000.00").unwrap(),
    into_db: Some("drill".into()),
    ..Default::default()
})]
fn restores(#[case] name: &str, #[case] request: RestoreRequest) {
    let options = CockroachBackupOptions::default()
        .with_s3_credentials(Some(S3Credentials::Keys(minio_keys())))
        .with_encryption(Encryption::Passphrase(Secret::new(PASSPHRASE)));
    let plan = CockroachBackupPlan::for_tenant(&onprem(), &options).unwrap();
    let r = plan.restore(&request).unwrap().render();
    let text = format!(
        "{}\n-- executed as:\n{}\n{:#?}\n",
        r.display(),
        r.sql(),
        r.params()
    );
    assert_no_secret(&text);
    insta::with_settings!({ snapshot_suffix => name }, {
        insta::assert_snapshot!("restore", text);
    });
}

#[test]
fn restore_options_are_checked_against_the_target() {
    let plan = CockroachBackupPlan::for_tenant(&aws(), &Default::default()).unwrap();
    let err = plan
        .restore(&RestoreRequest {
            new_db_name: Some("x".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("exactly one database"), "{err}");
    let err = plan
        .restore(&RestoreRequest {
            target: Target::databases(["a"]).unwrap(),
            into_db: Some("x".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("into_db applies to restoring tables"), "{err}");
}

#[test]
fn documented_statement_shapes() {
    // Spot checks of the grammar, independent of the snapshots.
    let plan = CockroachBackupPlan::for_tenant(
        &aws_multi_region(),
        &CockroachBackupOptions::default()
            .with_regional_buckets([RegionalBucket::new("us-west-2", "b-usw2")])
            .with_encryption(kms_aws()),
    )
    .unwrap();
    assert_eq!(
        plan.full_backup().render().sql(),
        "BACKUP INTO ($1, $2) AS OF SYSTEM TIME '-10s' WITH revision_history, detached, kms = ($3, $4)"
    );
    assert_eq!(
        plan.incremental_backup().render().sql(),
        "BACKUP INTO LATEST IN ($1, $2) AS OF SYSTEM TIME '-10s' WITH revision_history, detached, kms = ($3, $4)"
    );
    assert_eq!(
        plan.schedule().render().sql(),
        "CREATE SCHEDULE IF NOT EXISTS $1 FOR BACKUP INTO ($2, $3) WITH revision_history, kms = ($4, $5) RECURRING $6 FULL BACKUP $7 WITH SCHEDULE OPTIONS first_run = 'now', on_execution_failure = 'reschedule', on_previous_running = 'skip', ignore_existing_backups"
    );
    assert_eq!(plan.list().render().sql(), "SHOW BACKUPS IN $1");
    assert_eq!(
        plan.verify().render().sql(),
        "SHOW BACKUP FROM LATEST IN ($1, $2) WITH check_files, kms = ($3, $4)"
    );
    let urls: Vec<String> = plan
        .destination()
        .uris()
        .iter()
        .map(|u| u.redacted())
        .collect();
    assert_eq!(
        urls,
        [
            "s3://acme-ledger-backups/cockroach/acme-bank-prod?AUTH=implicit&COCKROACH_LOCALITY=default",
            "s3://b-usw2/cockroach/acme-bank-prod?AUTH=implicit&AWS_REGION=us-west-2&COCKROACH_LOCALITY=region%3Dus-west-2",
        ]
    );
}

#[rstest]
#[case::unknown_region(aws(), CockroachBackupOptions::default()
    .with_regional_buckets([RegionalBucket::new("eu-north-1", "b")]), "options.regional_buckets")]
#[case::minio_without_credentials(
    onprem(),
    CockroachBackupOptions::default(),
    "S3 credentials is missing"
)]
#[case::short_passphrase(aws(), CockroachBackupOptions::default()
    .with_encryption(Encryption::Passphrase(Secret::new("short"))), "at least 8 characters")]
#[case::empty_kms(aws(), CockroachBackupOptions::default()
    .with_encryption(Encryption::Kms(vec![])), "at least one KMS key")]
#[case::bad_path(aws(), CockroachBackupOptions::default().with_path("a/../b"), "options.path")]
#[case::bad_assume_role(aws(), CockroachBackupOptions::default().with_assume_role("arn with space"), "options.assume_role")]
#[case::control_char_label(aws(), CockroachBackupOptions::default()
    .with_schedule(ScheduleOptions::default().with_label("a\nb")), "options.schedule.label")]
fn refused_inputs_name_the_field(
    #[case] tenant: Tenant,
    #[case] options: CockroachBackupOptions,
    #[case] needle: &str,
) {
    let err = CockroachBackupPlan::for_tenant(&tenant, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains(needle), "{err}");
    assert!(err.contains("fix"), "{err}");
    assert!(!err.contains("short\""), "{err}");
}

/// Azure workload identity for `AUTH=implicit` exists from CockroachDB v25.1: older pinned
/// versions are refused naming the version and the fix; managed identity is older and allowed.
#[rstest]
#[case::v24_3(
    "v24.3.9",
    "azure-workload-identity",
    Some("is invalid: Azure workload identity for backups")
)]
#[case::v24_1(
    "v24.1.0",
    "azure-workload-identity",
    Some(
        "exists from CockroachDB v25.1 on; this tenant pins v24.1.0; fix: pin cockroachdb.version to v25.1 or later"
    )
)]
#[case::v25_1("v25.1.0", "azure-workload-identity", None)]
#[case::v25_2("v25.2.4", "azure-workload-identity", None)]
#[case::managed_on_v24_3("v24.3.9", "azure-managed-identity", None)]
fn azure_workload_identity_needs_v25_1(
    #[case] version: &str,
    #[case] kind: &str,
    #[case] refused: Option<&str>,
) {
    let text = format!(
        "tenant: acme-bank\nenvironment: prod\nring: ring-2-prod\ntier: prod\nprovider: azure\nregions: [{{name: westeurope, zones: [\"1\", \"2\", \"3\"]}}]\ncockroachdb: {{version: {version}, nodes: 3}}\nredpanda: {{version: v25.1.9}}\nbackup:\n  bucket: ledger-backups\n  account: acmeledgerbackups\n  identity: {{kind: {kind}, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}}\n"
    );
    let tenant = Tenant::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let result = CockroachBackupPlan::for_tenant(&tenant, &CockroachBackupOptions::default());
    match refused {
        None => {
            result.unwrap();
        }
        Some(needle) => {
            let err = result.unwrap_err();
            assert_eq!(err.input(), Some("tenant"));
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("cockroachdb.version: \"{version}\" is invalid")),
                "{shown}"
            );
            assert!(shown.contains(needle), "{shown}");
        }
    }
}

/// The default schedule sets `ignore_existing_backups` (the collection is shared with one-off
/// backups and the scheduler's jobs) and the plan says so; opting out says what happens then.
#[test]
fn schedules_ignore_existing_backups_and_say_so() {
    let plan = CockroachBackupPlan::for_tenant(&aws(), &CockroachBackupOptions::default()).unwrap();
    assert!(
        plan.schedule()
            .render()
            .sql()
            .ends_with("on_previous_running = 'skip', ignore_existing_backups"),
        "{}",
        plan.schedule().render().sql()
    );
    assert!(
        plan.notes()
            .iter()
            .any(|n| n.starts_with("schedule: ignore_existing_backups is set")),
        "{:?}",
        plan.notes()
    );
    let refusing = CockroachBackupPlan::for_tenant(
        &aws(),
        &CockroachBackupOptions::default()
            .with_schedule(ScheduleOptions::default().with_ignore_existing_backups(false)),
    )
    .unwrap();
    assert!(
        !refusing
            .schedule()
            .render()
            .sql()
            .contains("ignore_existing_backups")
    );
    assert!(
        refusing
            .notes()
            .iter()
            .any(|n| n.contains("CREATE SCHEDULE fails if the collection")),
        "{:?}",
        refusing.notes()
    );
}

#[test]
fn summary_serialises_redacted() {
    let plan = CockroachBackupPlan::for_tenant(
        &onprem(),
        &CockroachBackupOptions::default()
            .with_s3_credentials(Some(S3Credentials::Keys(minio_keys())))
            .with_encryption(Encryption::Passphrase(Secret::new(PASSPHRASE))),
    )
    .unwrap();
    let json = serde_json::to_string_pretty(&plan.summary()).unwrap();
    assert_no_secret(&json);
    assert!(json.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{json}");
    assert!(
        json.contains("encryption_passphrase = 'redacted'"),
        "{json}"
    );
    let statement = plan.full_backup();
    let _: &dyn Statement = statement;
}
