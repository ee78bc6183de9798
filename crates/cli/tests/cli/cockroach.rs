//! `ledger-backup cockroach`, run as a user would: the dry run of every provider/identity
//! example (insta snapshots, table and JSON), secrets kept out of every output, bad input
//! (exit 2, naming the field or flag) and clusters that cannot be reached or refuse the
//! statements (exit 1). No CockroachDB can be installed here: with
//! THINLEDGER_TEST_POSTGRES_URL set (scripts/services/postgres.sh), the real connect path runs
//! against PostgreSQL, which refuses CockroachDB's statements — and the test expects exactly
//! that refusal.

use std::net::TcpListener;

use assert_cmd::Command;
use rstest::rstest;
use serde_json::Value;
use thinledger_tests::examples::{edited_tenant as edited, tenant as example};
use thinledger_tests::services;

/// The MinIO secret key the on-prem cases put in the environment; it must never be printed.
const MINIO_SECRET: &str = "fake-MinIO/secret+key_0123456789";
/// A connection password; it must never be printed either.
const URL_PASSWORD: &str = "hunter2-not-a-real-password";

/// The tool with the variables it reads cleared, and the MinIO keys set.
fn cmd() -> Command {
    let mut c = Command::cargo_bin("ledger-backup").unwrap();
    for var in [
        "THINLEDGER_COCKROACH_URL",
        "AWS_SESSION_TOKEN",
        "THINLEDGER_LOG",
        "THINLEDGER_REPOSITORY",
    ] {
        c.env_remove(var);
    }
    c.env("AWS_ACCESS_KEY_ID", "minio-ledger")
        .env("AWS_SECRET_ACCESS_KEY", MINIO_SECRET);
    c
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    let o = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    for secret in [MINIO_SECRET, URL_PASSWORD, "fake-MinIO%2Fsecret"] {
        assert!(
            !o.stdout.contains(secret) && !o.stderr.contains(secret),
            "a secret was printed:\nstdout: {}\nstderr: {}",
            o.stdout,
            o.stderr
        );
    }
    o
}

fn dry_run(args: &[&str], tenant: &str) -> Output {
    let o = run(cmd()
        .arg("cockroach")
        .args(args)
        .arg("--tenant")
        .arg(example(tenant))
        .arg("--dry-run"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    o
}

#[rstest]
#[case::aws_irsa(
    "aws",
    "s3://acme-ledger-backups/acme-bank/prod/cockroach/acme-bank-prod?AUTH=implicit"
)]
#[case::azure_workload_identity(
    "azure",
    "azure-blob://ledger-backups/cockroach/contoso-prod?AZURE_ACCOUNT_NAME=contosoledgerbackups&AUTH=implicit"
)]
#[case::gcp_workload_identity(
    "gcp",
    "gs://fabrikam-ledger-backups/fabrikam/prod/cockroach/fabrikam-prod?AUTH=implicit"
)]
#[case::onprem_minio_keys(
    "onprem",
    "s3://northwind-ledger/northwind/prod/cockroach/northwind-prod?AWS_ENDPOINT=https%3A%2F%2Fminio.backup.svc%3A9000&AWS_USE_PATH_STYLE=true&AWS_REGION=us-east-1&AWS_ACCESS_KEY_ID=minio-ledger&AWS_SECRET_ACCESS_KEY=redacted"
)]
fn dry_run_prints_redacted_statements(#[case] tenant: &str, #[case] uri: &str) {
    let table = dry_run(&["backup"], tenant).stdout;
    assert!(
        table.contains(&format!("full_backup: BACKUP INTO '{uri}' AS OF SYSTEM TIME '-10s' WITH revision_history, detached;")),
        "{table}"
    );
    insta::assert_snapshot!(format!("dry_run_backup_{tenant}_table"), table);

    let json = dry_run(&["backup", "--output", "json"], tenant).stdout;
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["runs"], serde_json::json!(["full_backup"]));
    assert_eq!(doc["destination"][0], uri);
    let statements = doc["statements"].as_object().unwrap();
    for name in [
        "full_backup",
        "incremental_backup",
        "schedule",
        "list",
        "verify",
    ] {
        let sql = statements[name].as_str().unwrap();
        assert!(sql.contains(&format!("'{uri}'")), "{name}: {sql}");
    }
    insta::assert_snapshot!(format!("dry_run_backup_{tenant}_json"), json);

    if tenant == "onprem" {
        for out in [&table, &json] {
            assert!(out.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{out}");
        }
    }
}

#[rstest]
#[case::incremental(&["backup", "--incremental"], "incremental_backup: BACKUP INTO LATEST IN ")]
#[case::list(&["list"], "list: SHOW BACKUPS IN ")]
#[case::verify_latest(&["verify"], "verify: SHOW BACKUP FROM LATEST IN ")]
#[case::verify_subdir(&["verify", "--subdir", "2025/06/01-120000.00"], "verify: SHOW BACKUP FROM '2025/06/01-120000.00' IN ")]
#[case::schedule(&["schedule"], "schedule: CREATE SCHEDULE IF NOT EXISTS 'ledger-northwind-prod' FOR BACKUP INTO ")]
fn each_subcommand_prints_the_statement_it_runs(#[case] args: &[&str], #[case] start: &str) {
    let out = dry_run(args, "onprem").stdout;
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with("--")).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with(start), "{out}");
    assert!(lines[0].contains("AWS_SECRET_ACCESS_KEY=redacted"), "{out}");
}

#[test]
fn schedule_options_reach_the_statement() {
    let out = dry_run(
        &[
            "schedule",
            "--label",
            "fabrikam nightly",
            "--recurring",
            "0 */4 * * *",
            "--full-backup",
            "@weekly",
            "--first-run",
            "2025-07-01T02:00:00+02:00",
            "--on-failure",
            "pause",
            "--on-previous-running",
            "wait",
            "--ignore-existing-backups",
        ],
        "gcp",
    )
    .stdout;
    insta::assert_snapshot!("dry_run_schedule_gcp_options", out);
}

#[test]
fn restore_as_of_dry_run() {
    let args = [
        "restore",
        "--database",
        "ledger",
        "--new-db-name",
        "ledger_drill",
        "--as-of",
        "2025-06-01T12:34:56.789Z",
    ];
    let table = dry_run(&args, "aws").stdout;
    assert!(
        table.contains("restore: RESTORE DATABASE \"ledger\" FROM LATEST IN 's3://acme-ledger-backups/acme-bank/prod/cockroach/acme-bank-prod?AUTH=implicit' AS OF SYSTEM TIME '2025-06-01 12:34:56.789000+00:00' WITH detached, new_db_name = 'ledger_drill';"),
        "{table}"
    );
    insta::assert_snapshot!("dry_run_restore_as_of_aws_table", table);

    let mut json_args = args.to_vec();
    json_args.extend(["--output", "json"]);
    let doc: Value = serde_json::from_str(&dry_run(&json_args, "aws").stdout).unwrap();
    assert_eq!(doc["command"], "restore");
    assert_eq!(doc["runs"], serde_json::json!(["restore"]));
    assert!(
        doc["statements"]["restore"]
            .as_str()
            .unwrap()
            .contains("AS OF SYSTEM TIME '2025-06-01 12:34:56.789000+00:00'")
    );
}

#[test]
fn restore_as_of_an_offset_and_first_run_at_a_time() {
    let out = dry_run(&["restore", "--as-of", "-90m"], "azure").stdout;
    assert!(
        out.contains("&AUTH=implicit' AS OF SYSTEM TIME '-5400s' WITH detached;"),
        "{out}"
    );
    let out = dry_run(&["schedule", "--first-run", "next"], "azure").stdout;
    assert!(
        out.contains("WITH SCHEDULE OPTIONS on_execution_failure = 'reschedule', on_previous_running = 'skip', ignore_existing_backups;"),
        "{out}"
    );
}

#[test]
fn tables_restore_into_db_from_a_subdir_with_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("passphrase");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let out = run(cmd()
        .args(["cockroach", "restore", "--tenant"])
        .arg(example("onprem"))
        .args([
            "--table",
            "ledger.public.entries",
            "--into-db",
            "scratch",
            "--subdir",
            "2025/06/01-120000.00",
            "--encryption-passphrase-file",
        ])
        .arg(&pass)
        .args(["--dry-run", "--output", "yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("horse"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "RESTORE TABLE \"ledger\".\"public\".\"entries\" FROM '2025/06/01-120000.00' IN"
        ) && out
            .stdout
            .contains("WITH detached, encryption_passphrase = 'redacted', into_db = 'scratch'"),
        "{}",
        out.stdout
    );
}

#[test]
fn kms_uris_are_parsed_and_printed() {
    let out = dry_run(
        &[
            "backup",
            "--kms",
            // As CockroachDB's docs write it, and the older aws-kms form: both read.
            "aws:///arn:aws:kms:us-east-1:123456789012:key/0f4c8a2e?AUTH=implicit&REGION=us-east-1",
            "--kms",
            "aws-kms:///alias/ledger-backup?REGION=us-west-2&ASSUME_ROLE=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkms",
        ],
        "aws",
    )
    .stdout;
    assert!(
        out.contains("WITH revision_history, detached, kms = ('aws:///arn:aws:kms:us-east-1:123456789012:key/0f4c8a2e?AUTH=implicit&REGION=us-east-1', 'aws:///alias/ledger-backup?AUTH=implicit&REGION=us-west-2&ASSUME_ROLE=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkms');"),
        "{out}"
    );
}

#[test]
fn an_assumed_role_reaches_the_kms_uri() {
    let out = dry_run(
        &[
            "backup",
            "--assume-role",
            "arn:aws:iam::210987654321:role/writer",
            "--kms",
            "aws:///alias/ledger-backup?REGION=us-east-1",
        ],
        "aws",
    )
    .stdout;
    assert!(
        out.contains("?AUTH=implicit&ASSUME_ROLE=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fwriter' AS OF SYSTEM TIME")
            && out.contains("kms = 'aws:///alias/ledger-backup?AUTH=implicit&REGION=us-east-1&ASSUME_ROLE=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fwriter'"),
        "{out}"
    );
}

/// A tenant with `survival: region` over three regions, in a temporary folder.
fn region_tenant() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.yaml");
    std::fs::write(&path, "tenant: acme-bank\nenvironment: prod\nring: ring-2-prod\ntier: prod\nprovider: aws\nsurvival: region\nregions:\n  - {name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], cluster_domain: use1.ledger.internal}\n  - {name: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], cluster_domain: usw2.ledger.internal}\n  - {name: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cluster_domain: euw1.ledger.internal}\ncockroachdb: {version: v25.2.4, nodes: 9}\nredpanda: {version: v25.1.9}\nbackup:\n  bucket: acme-ledger-backups\n  identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}\nnetwork: {peer_cidrs: [10.20.0.0/16, 10.30.0.0/16, 10.40.0.0/16]}\n").unwrap();
    (dir, path)
}

#[test]
fn survive_region_dry_run_prints_the_multi_region_statements() {
    let (_dir, tenant) = region_tenant();
    let out = run(cmd()
        .args([
            "cockroach",
            "survive-region",
            "--database",
            "ledger",
            "--dry-run",
            "--tenant",
        ])
        .arg(&tenant));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "ALTER DATABASE \"ledger\" SET PRIMARY REGION \"us-east-1\";",
        "ALTER DATABASE \"ledger\" ADD REGION IF NOT EXISTS \"us-west-2\";",
        "ALTER DATABASE \"ledger\" ADD REGION IF NOT EXISTS \"eu-west-1\";",
        "ALTER DATABASE \"ledger\" SURVIVE REGION FAILURE;",
    ] {
        assert!(out.stdout.contains(line), "{line} in:\n{}", out.stdout);
    }
    // No hand-set replication zone among the statements (the notes say why).
    assert!(
        !out.stdout
            .lines()
            .any(|l| !l.starts_with("--") && l.contains("CONFIGURE ZONE")),
        "{}",
        out.stdout
    );

    // A zone-survival tenant is refused, naming the field and the fix (exit 2).
    let out = run(cmd()
        .args([
            "cockroach",
            "survive-region",
            "--database",
            "ledger",
            "--dry-run",
            "--tenant",
        ])
        .arg(example("aws")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("survival") && out.stderr.contains("fix:"),
        "{}",
        out.stderr
    );
}

#[test]
fn changefeed_plan_prints_statements_without_reading_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("changefeeds.yaml");
    std::fs::write(
        &spec,
        "bootstrap: redpanda.ledger.svc.cluster.local:9093\nca: {secret: redpanda-tls, key: ca.crt}\nauth:\n  kind: scram-sha-512\n  user: {secret: ledger-cdc, key: username}\n  password: {secret: ledger-cdc, key: password}\nfeeds:\n  - {topic: ledger.balances.audit, tables: [ledger.public.balances]}\n",
    )
    .unwrap();
    let out = run(cmd()
        .args(["cockroach", "changefeed", "plan", "--spec"])
        .arg(&spec));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("CREATE CHANGEFEED FOR TABLE \"ledger\".\"public\".\"balances\" INTO 'kafka://redpanda.ledger.svc.cluster.local:9093?topic_name=ledger.balances.audit&tls_enabled=true&ca_cert=")
            && out.stdout.contains("&sasl_password=redacted' WITH updated, resolved = '10s', min_checkpoint_frequency = '10s', diff, envelope = 'wrapped', format = 'json', on_error = 'pause';"),
        "{}",
        out.stdout
    );
    // apply reads the Secret values: a missing one names its variable and Secret (exit 2).
    let out = run(cmd()
        .args(["cockroach", "changefeed", "apply", "--spec"])
        .arg(&spec));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("CA_CRT is missing")
            && out.stderr.contains("Secret redpanda-tls key ca.crt"),
        "{}",
        out.stderr
    );
}

#[rstest]
#[case::missing_tenant_file(None, &["list", "--tenant", "/nonexistent/tenant.yaml", "--dry-run"], &["--tenant /nonexistent/tenant.yaml", "cannot read"])]
#[case::malformed_tenant(Some(("aws", "  nodes: 3 ", "  nodes: three #")), &["list", "--dry-run"], &["cockroachdb.nodes", "\"three\"", "line 17"])]
#[case::bad_bucket(Some(("aws", "bucket: acme-ledger-backups", "bucket: Acme_Backups")), &["list", "--dry-run"], &["backup.bucket", "Acme_Backups", "Fix:"])]
#[case::azure_without_account(Some(("azure", "  account: contosoledgerbackups", "")), &["list", "--dry-run"], &["backup.account"])]
#[case::as_of_offset_in_the_future(None, &["restore", "--as-of", "10m", "--dry-run"], &["--as-of", "offset into the past"])]
#[case::bad_timestamp(None, &["restore", "--as-of", "yesterday", "--dry-run"], &["--as-of", "\"yesterday\"", "RFC 3339"])]
#[case::timestamp_without_zone(None, &["restore", "--as-of", "2025-06-01 12:00:00", "--dry-run"], &["--as-of", "RFC 3339"])]
#[case::bad_cron(None, &["schedule", "--recurring", "every hour", "--dry-run"], &["--recurring", "crontab"])]
#[case::bad_first_run(None, &["schedule", "--first-run", "-10s", "--dry-run"], &["--first-run", "RFC 3339"])]
#[case::bad_subdir(None, &["verify", "--subdir", "../other", "--dry-run"], &["--subdir", "SHOW BACKUPS IN"])]
#[case::new_db_name_without_database(None, &["restore", "--new-db-name", "x", "--dry-run"], &["--database"])]
#[case::new_db_name_with_two_databases(None, &["restore", "--database", "a", "--database", "b", "--new-db-name", "x", "--dry-run"], &["--new-db-name", "exactly one database"])]
#[case::database_and_table(None, &["backup", "--database", "a", "--table", "a.b", "--dry-run"], &["--table"])]
#[case::bad_table(None, &["backup", "--table", "a.b.c.d", "--dry-run"], &["--table", "a.b.c.d"])]
#[case::regional_bucket_of_unknown_region(None, &["backup", "--regional-bucket", "eu-west-1=b2", "--dry-run"], &["--regional-bucket", "us-east-1"])]
#[case::kms_with_a_key(None, &["backup", "--kms", "aws-kms:///k?REGION=us-east-1&AWS_SECRET_ACCESS_KEY=fake-MinIO%2Fsecret", "--dry-run"], &["--kms", "AWS_SECRET_ACCESS_KEY", "not supported"])]
#[case::kms_without_region(None, &["backup", "--kms", "aws-kms:///alias/k", "--dry-run"], &["--kms", "REGION"])]
#[case::azure_workload_identity_before_v25_1(Some(("azure", "version: v25.2.4", "version: v24.3.9")), &["list", "--dry-run"], &["--tenant", "cockroachdb.version", "\"v24.3.9\"", "v25.1", "azure-managed-identity"])]
#[case::minio_flag_on_aws(None, &["backup", "--minio-credentials", "implicit", "--dry-run"], &["--minio-credentials", "on-prem"])]
#[case::zero_timeout(None, &["backup", "--timeout", "0s", "--dry-run"], &["--timeout"])]
#[case::no_connection(None, &["list"], &["--url", "THINLEDGER_COCKROACH_URL", "--dry-run"])]
#[case::bad_url_scheme(None, &["list", "--url", "mysql://root:hunter2-not-a-real-password@h/db"], &["--url", "postgresql://"])]
#[case::bad_sslmode(None, &["list", "--url", "postgresql://root:hunter2-not-a-real-password@h/db?sslmode=verify-full"], &["--url", "sslrootcert"])]
fn bad_input_exits_2_naming_the_field(
    #[case] tenant_edit: Option<(&str, &str, &str)>,
    #[case] args: &[&str],
    #[case] needles: &[&str],
) {
    let mut c = cmd();
    c.arg("cockroach").args(args);
    let _dir = match tenant_edit {
        Some((name, from, to)) => {
            let (dir, path) = edited(name, from, to);
            c.arg("--tenant").arg(path);
            Some(dir)
        }
        None if args.contains(&"--tenant") => None,
        None => {
            c.arg("--tenant").arg(example("aws"));
            None
        }
    };
    let out = run(&mut c);
    assert_eq!(
        out.code, 2,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle:?} in: {}", out.stderr);
    }
}

#[test]
fn onprem_without_keys_names_the_variable() {
    let out = run(cmd()
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["cockroach", "backup", "--dry-run", "--tenant"])
        .arg(example("onprem")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("AWS_SECRET_ACCESS_KEY is missing")
            && out.stderr.contains("--minio-credentials implicit"),
        "{}",
        out.stderr
    );

    // With the keys left to the pods, no key is in any statement.
    let out = run(cmd()
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_ACCESS_KEY_ID")
        .args([
            "cockroach",
            "backup",
            "--dry-run",
            "--minio-credentials",
            "implicit",
            "--tenant",
        ])
        .arg(example("onprem")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("?AUTH=implicit&AWS_ENDPOINT=")
            && !out.stdout.contains("AWS_SECRET_ACCESS_KEY=")
            && !out.stdout.contains("AWS_ACCESS_KEY_ID="),
        "{}",
        out.stdout
    );
}

#[test]
fn short_passphrase_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("passphrase");
    std::fs::write(&pass, "s3cr3t\n").unwrap();
    let out = run(cmd()
        .args(["cockroach", "backup", "--dry-run", "--tenant"])
        .arg(example("aws"))
        .arg("--encryption-passphrase-file")
        .arg(&pass));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--encryption-passphrase-file") && !out.stderr.contains("s3cr3t"),
        "{}",
        out.stderr
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[rstest]
#[case::list(&["list"])]
#[case::backup_job(&["backup", "--incremental", "--timeout", "30s"])]
#[case::restore_job(&["restore", "--as-of", "2025-06-01T12:00:00Z"])]
fn unreachable_cluster_exits_1_without_the_password(
    #[case] args: &[&str],
    #[values(false, true)] url_from_env: bool,
) {
    let url = format!(
        "postgresql://root:{URL_PASSWORD}@127.0.0.1:{}/defaultdb?sslmode=disable",
        closed_port()
    );
    let mut c = cmd();
    c.arg("cockroach")
        .args(args)
        .arg("--tenant")
        .arg(example("onprem"));
    if url_from_env {
        c.env("THINLEDGER_COCKROACH_URL", &url);
    } else {
        c.arg("--url").arg(&url);
    }
    let out = run(&mut c);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let shown = url.replace(URL_PASSWORD, "redacted");
    // The plan line first (redacted), then the connection error.
    assert!(
        out.stderr.contains(&format!(" on {shown}: "))
            && out.stderr.contains("AWS_SECRET_ACCESS_KEY=redacted"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("error: connecting to {shown} failed:")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn help_does_not_show_the_url_from_the_environment() {
    let out = run(cmd()
        .env(
            "THINLEDGER_COCKROACH_URL",
            format!("postgresql://root:{URL_PASSWORD}@h:26257/defaultdb"),
        )
        .args(["cockroach", "backup", "--help"]));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("THINLEDGER_COCKROACH_URL"),
        "{}",
        out.stdout
    );
}

/// PostgreSQL from scripts/services/postgres.sh, or None (skipped) when it was not started.
fn postgres_url(var: &str) -> Option<String> {
    services::var(var)
}

/// The CLI connects for real (plain and TLS verify-full), sends the statement, and reports
/// the server's refusal — PostgreSQL has no BACKUP — as a failure (exit 1) with the SQLSTATE,
/// without the connection password or the MinIO key.
#[rstest]
#[case::list(&["list"], "SHOW BACKUPS failed")]
#[case::backup(&["backup"], "BACKUP failed")]
#[case::verify(&["verify"], "backup verification failed: ")]
fn a_server_that_refuses_the_statement_exits_1(
    #[case] args: &[&str],
    #[case] error: &str,
    #[values("THINLEDGER_TEST_POSTGRES_URL", "THINLEDGER_TEST_POSTGRES_TLS_URL")] var: &str,
) {
    let Some(base) = postgres_url(var) else {
        return;
    };
    // Trust authentication ignores the password; it is there to prove it is never shown.
    let url = base.replacen("://postgres@", &format!("://postgres:{URL_PASSWORD}@"), 1);
    assert_ne!(url, base, "{base}");
    let out = run(cmd()
        .arg("cockroach")
        .args(args)
        .arg("--tenant")
        .arg(example("onprem"))
        .args(["--url", &url, "--output", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(error) && out.stderr.contains("SQLSTATE 42601"),
        "{error:?} in: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("connecting to"),
        "the connection itself should work: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

/// The changefeeds `ledger-topology render` writes for the AWS example (its
/// `redpanda-changefeeds` ConfigMap) are the statements `changefeed plan` prints: pinned here.
#[cfg(feature = "topology")]
#[test]
fn rendered_changefeeds_plan_the_pinned_statements() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .args(["render", "--out"])
        .arg(&manifests)
        .arg(example("aws"))
        .assert()
        .success();
    let spec_text = std::fs::read_dir(&manifests)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|text| {
            text.contains("kind: ConfigMap") && text.contains("name: redpanda-changefeeds")
        })
        .expect("a redpanda-changefeeds ConfigMap");
    let config_map: serde_yaml_ng::Value = serde_yaml_ng::from_str(&spec_text).unwrap();
    let spec = dir.path().join("changefeeds.yaml");
    std::fs::write(
        &spec,
        config_map["data"]["changefeeds.yaml"].as_str().unwrap(),
    )
    .unwrap();
    let out = run(cmd()
        .args(["cockroach", "changefeed", "plan", "--spec"])
        .arg(&spec));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("rendered_changefeeds_plan", out.stdout);
}

/// `--spec` is read with the same size cap as tenant files: a huge file is refused unread.
#[test]
fn a_huge_changefeed_spec_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("changefeeds.yaml");
    // Sparse: 64 GiB long, nothing written.
    std::fs::File::create(&spec)
        .unwrap()
        .set_len(64 * 1024 * 1024 * 1024)
        .unwrap();
    let started = std::time::Instant::now();
    let out = run(cmd()
        .args(["cockroach", "changefeed", "plan", "--spec"])
        .arg(&spec));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("changefeed spec") && out.stderr.contains("more than the 4 MiB"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// One source of truth for a multi-site tenant's region survival: the statements
/// `survive-region` plans for `examples/tenants/multi-cloud.yaml` (survival provider: one
/// region per site, the first site's the primary one) are exactly the ones its first site's
/// rendered init Job runs, in the same order.
#[cfg(feature = "topology")]
#[test]
fn survive_region_plans_what_the_rendered_init_job_runs() {
    let out = run(cmd()
        .args([
            "cockroach",
            "survive-region",
            "--dry-run",
            "--output",
            "json",
            "--tenant",
        ])
        .arg(example("multi-cloud")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let planned: Vec<String> = plan["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(plan["primary_region"], "us-east-1", "{plan}");
    assert_eq!(
        plan["regions"],
        serde_json::json!(["us-east-1", "eastus", "dc-frankfurt"]),
        "{plan}"
    );

    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .args(["render", "--out"])
        .arg(&manifests)
        .arg(example("multi-cloud"))
        .assert()
        .success();
    let init_jobs: Vec<Value> = std::fs::read_dir(&manifests)
        .unwrap()
        .flat_map(|site| std::fs::read_dir(site.unwrap().path()).unwrap())
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|text| text.contains("kind: Job") && text.contains("name: cockroachdb-init"))
        .map(|text| serde_yaml_ng::from_str::<Value>(&text).unwrap())
        .filter(|doc| {
            doc["kind"] == "Job"
                && doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("cockroachdb-init"))
        })
        .collect();
    assert_eq!(init_jobs.len(), 1, "the first site initialises the cluster");
    let job = &init_jobs[0];
    assert_eq!(job["metadata"]["labels"]["thinledger.io/site"], "aws-use1");
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    let rendered: Vec<String> = script
        .split("-e '")
        .skip(1)
        .map(|rest| rest.split('\'').next().unwrap().to_owned())
        .filter(|s| s.starts_with("CREATE ") || s.starts_with("ALTER "))
        .collect();
    assert!(!rendered.is_empty(), "{script}");
    assert_eq!(
        rendered, planned,
        "the init Job and survive-region disagree"
    );
}
