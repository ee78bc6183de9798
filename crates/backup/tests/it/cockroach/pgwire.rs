//! The driver's pgwire plumbing against a real PostgreSQL (scripts/services/postgres.sh):
//! connecting with and without TLS, starting a "job" and polling it to success, failure and
//! timeout, and keeping secrets out of errors and logs. PostgreSQL has no BACKUP, so each test
//! gets its own database with a stand-in `crdb_internal.jobs` table that the driver polls
//! (JobStatusQuery::CrdbInternalJobs), and the statements that "start a job" are INSERTs that
//! return `job_id` like `BACKUP … WITH detached` does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use thinledger_backup::cockroach::{
    CHECK_FILES_LABEL, CockroachClient, CockroachError, ConnectionUrl, JobStatusQuery, Param,
    Rendered, S3Credentials, S3Keys, StorageUri, WaitOptions,
};
use thinledger_backup::store::Secret;

use super::{SECRET_KEY, assert_no_secret};

/// The server's URL variable, or None (test skipped) when PostgreSQL was not started.
fn url_from(var: &str) -> Option<String> {
    thinledger_tests::services::var(var)
}

/// A fresh database with the stand-in jobs table; returns a client on it and its URL.
async fn scratch(base: &str) -> (CockroachClient, String) {
    let admin = CockroachClient::connect(&ConnectionUrl::parse(base).unwrap())
        .await
        .unwrap();
    let name = format!(
        "tl_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    // Identifiers cannot be bind parameters; the name is generated right here.
    exec(
        &admin,
        Box::leak(format!("CREATE DATABASE {name}").into_boxed_str()),
    )
    .await;
    let url = base.replacen("/postgres?", &format!("/{name}?"), 1);
    assert_ne!(url, base, "the test URL names database postgres");
    let client = CockroachClient::connect(&ConnectionUrl::parse(&url).unwrap())
        .await
        .unwrap()
        .with_job_status_query(JobStatusQuery::CrdbInternalJobs);
    exec(&client, "CREATE SCHEMA crdb_internal").await;
    exec(
        &client,
        "CREATE TABLE crdb_internal.jobs (job_id INT8 PRIMARY KEY, status TEXT NOT NULL, error TEXT, fraction_completed FLOAT4, description TEXT)",
    )
    .await;
    (client, url)
}

async fn exec(client: &CockroachClient, sql: &'static str) {
    // Runs any statement through the public API (rows are ignored).
    let _ = client
        .list_backups(&Rendered::from_static("setup", sql, vec![]))
        .await
        .unwrap();
}

/// A statement that "starts a job" as BACKUP … WITH detached does: returns job_id.
fn start_job(id: i64, description: Param) -> Rendered {
    Rendered::from_static(
        "BACKUP",
        "INSERT INTO crdb_internal.jobs (job_id, status, error, fraction_completed, description) VALUES ($1::text::int8, 'running', '', 0.25, $2) RETURNING job_id",
        vec![Param::text(id.to_string()), description],
    )
}

/// A second session that moves the job on after a while, as the cluster would.
fn finish_later(url: String, id: i64, delay: Duration, status: &'static str, error: &'static str) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let c = CockroachClient::connect(&ConnectionUrl::parse(&url).unwrap())
            .await
            .unwrap();
        c.list_backups(&Rendered::from_static(
            "update",
            "UPDATE crdb_internal.jobs SET status = $2, fraction_completed = 1, error = replace($3, '{description}', description) WHERE job_id = $1::text::int8 RETURNING status",
            vec![Param::text(id.to_string()), Param::text(status), Param::text(error)],
        ))
        .await
        .unwrap();
    });
}

fn minio_uri() -> StorageUri {
    StorageUri::s3_compatible(
        "ledger",
        "cockroach/t",
        "http://127.0.0.1:9000",
        None,
        &S3Credentials::Keys(S3Keys::new("ledger-backup", Secret::new(SECRET_KEY)).unwrap()),
    )
    .unwrap()
}

fn fast() -> WaitOptions {
    WaitOptions::new(Duration::from_secs(20), Duration::from_millis(50)).unwrap()
}

#[tokio::test]
async fn job_is_polled_until_it_succeeds() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let (client, url) = scratch(&base).await;
    finish_later(url, 101, Duration::from_millis(400), "succeeded", "");
    let mut seen = Vec::new();
    let outcome = client
        .run_job(&start_job(101, Param::text("full backup")), &fast(), |s| {
            seen.push((s.status.clone(), s.fraction_completed))
        })
        .await
        .unwrap();
    assert_eq!(outcome.job_id, 101);
    assert!(outcome.elapsed >= Duration::from_millis(400), "{outcome:?}");
    assert_eq!(
        seen.first(),
        Some(&("running".to_owned(), 0.25)),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&("succeeded".to_owned(), 1.0)),
        "{seen:?}"
    );
    assert!(seen.len() >= 3, "polled only {} times", seen.len());
}

#[tokio::test]
async fn failed_job_carries_its_id_and_scrubbed_error() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let (client, url) = scratch(&base).await;
    // The "cluster" quotes the destination URI, secret key included, in the job's error.
    finish_later(
        url,
        202,
        Duration::from_millis(200),
        "failed",
        "failed to write to {description}: AccessDenied",
    );
    let err = client
        .run_job(&start_job(202, minio_uri().to_param()), &fast(), |_| {})
        .await
        .unwrap_err();
    eprintln!("failed job: {err}");
    let CockroachError::JobFailed {
        job_id,
        status,
        error,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*job_id, status.as_str()), (202, "failed"));
    assert!(error.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{error}");
    assert!(error.contains("AccessDenied"), "{error}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("job 202 failed"), "{text}");
    assert_no_secret(&text);
}

#[tokio::test]
async fn wait_times_out_and_says_the_job_keeps_running() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let (client, _url) = scratch(&base).await;
    let options = WaitOptions::new(Duration::from_millis(300), Duration::from_millis(50)).unwrap();
    let started = std::time::Instant::now();
    let err = client
        .run_job(&start_job(303, Param::text("slow")), &options, |_| {})
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let CockroachError::JobTimeout {
        job_id,
        status,
        percent,
        waited,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*job_id, status.as_str()), (303, "running"));
    assert!((*percent - 25.0).abs() < 1e-6, "{percent}");
    assert!(*waited >= Duration::from_millis(300), "{waited:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let text = err.to_string();
    assert!(
        text.contains("SHOW JOB 303") && text.contains("CANCEL JOB 303"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_job_and_missing_job_id_are_typed_errors() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let (client, _url) = scratch(&base).await;
    let err = client.job_status(999).await.unwrap_err();
    assert!(
        matches!(err, CockroachError::JobNotFound { job_id: 999 }),
        "{err:?}"
    );

    let no_id = Rendered::from_static(
        "BACKUP",
        "SELECT 1::int8 AS id, 'x'::text AS status",
        vec![],
    );
    let err = client.start_job(&no_id).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CockroachError::NoJobId { .. }), "{err:?}");
    assert!(
        text.contains("id, status") && text.contains("WITH detached"),
        "{text}"
    );
}

#[tokio::test]
async fn server_errors_keep_the_sqlstate_and_lose_the_secrets() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let client = CockroachClient::connect(&ConnectionUrl::parse(&base).unwrap())
        .await
        .unwrap();
    // PostgreSQL quotes the offending value — the whole URI with the secret key — back.
    let bad = Rendered::from_static(
        "BACKUP",
        "SELECT $1::int8 AS job_id",
        vec![minio_uri().to_param()],
    );
    let err = client.start_job(&bad).await.unwrap_err();
    eprintln!("server error: {err}");
    let CockroachError::Statement {
        statement,
        code,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(statement, "BACKUP");
    assert_eq!(code.as_deref(), Some("22P02"), "{message}");
    assert!(message.contains("invalid input syntax"), "{message}");
    assert!(message.contains("redacted"), "{message}");
    assert_no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn check_files_refusal_is_a_verification_failure() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let client = CockroachClient::connect(&ConnectionUrl::parse(&base).unwrap())
        .await
        .unwrap();
    let refused = Rendered::from_static(
        CHECK_FILES_LABEL,
        "SELECT CASE WHEN $1 <> '' THEN 1/0 END",
        vec![minio_uri().to_param()],
    );
    let err = client.show_backup(&refused).await.unwrap_err();
    assert!(
        matches!(err, CockroachError::VerificationFailed { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("22012"), "{err}");
}

#[tokio::test]
async fn show_backup_and_schedule_rows_decode_from_real_types() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let client = CockroachClient::connect(&ConnectionUrl::parse(&base).unwrap())
        .await
        .unwrap();
    let contents = client
        .show_backup(&Rendered::from_static(
            "SHOW BACKUP",
            "SELECT * FROM (VALUES ('ledger'::text, 'public'::text, 'entries'::text, 'table'::text, 'full'::text, NULL::timestamp, '2025-06-01 12:00:00'::timestamp, 1000::int8, 10::int8, true), ('ledger', 'public', 'entries', 'table', 'incremental', '2025-06-01 12:00:00', '2025-06-01 13:00:00', 24::int8, 2::int8, true)) AS t(database_name, parent_schema_name, object_name, object_type, backup_type, start_time, end_time, size_bytes, rows, is_full_cluster)",
            vec![],
        ))
        .await
        .unwrap();
    assert_eq!(contents.objects.len(), 2);
    assert_eq!(contents.total_size_bytes(), 1024);
    assert_eq!(contents.total_rows(), 12);
    assert_eq!(
        contents.end_time().unwrap().to_string(),
        "2025-06-01 13:00:00"
    );
    assert_eq!(contents.objects[0].start_time, None);
    assert_eq!(
        contents.objects[1].backup_type.as_deref(),
        Some("incremental")
    );
    assert_eq!(contents.objects[0].file_bytes, None, "absent column");

    let schedules = client
        .create_schedule(&Rendered::from_static(
            "CREATE SCHEDULE FOR BACKUP",
            "SELECT 812345::int8 AS schedule_id, $1::text AS label, 'ACTIVE'::text AS status, '2025-06-01 12:00:00+00'::timestamptz AS first_run, '@hourly'::text AS schedule, 'BACKUP INTO ' || quote_literal($2) AS backup_stmt",
            vec![Param::text("ledger-acme"), minio_uri().to_param()],
        ))
        .await
        .unwrap();
    assert_eq!(schedules.len(), 1);
    let s = &schedules[0];
    assert_eq!(
        (s.schedule_id, s.label.as_str(), s.status.as_str()),
        (812345, "ledger-acme", "ACTIVE")
    );
    assert_eq!(
        s.first_run.unwrap().to_rfc3339(),
        "2025-06-01T12:00:00+00:00"
    );
    assert!(
        s.backup_stmt.contains("AWS_SECRET_ACCESS_KEY=redacted"),
        "{}",
        s.backup_stmt
    );
    assert_no_secret(&format!("{schedules:?}"));
}

#[tokio::test]
async fn tls_verify_full_verify_ca_and_require() {
    let Some(tls_url) = url_from("THINLEDGER_TEST_POSTGRES_TLS_URL") else {
        return;
    };
    let ssl = Rendered::from_static(
        "ssl",
        "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        vec![],
    );
    // verify-full against the test CA, by the name in the certificate.
    let client = CockroachClient::connect(&ConnectionUrl::parse(&tls_url).unwrap())
        .await
        .unwrap();
    assert_eq!(client.list_backups(&ssl).await.unwrap(), ["true"]);

    // A name the certificate does not carry (same address): verify-full refuses, verify-ca
    // accepts, require without a CA just encrypts.
    let port = std::env::var("THINLEDGER_TEST_POSTGRES_PORT").unwrap();
    let ca = std::env::var("THINLEDGER_TEST_POSTGRES_CA_CERT").unwrap();
    let wrong = |mode: &str, ca: Option<&str>| {
        let mut url = format!(
            "postgresql://postgres:hunter2-secret@wrong-name.invalid:{port}/postgres?hostaddr=127.0.0.1&sslmode={mode}"
        );
        if let Some(ca) = ca {
            url.push_str(&format!("&sslrootcert={ca}"));
        }
        ConnectionUrl::parse(&url).unwrap()
    };
    let err = CockroachClient::connect(&wrong("verify-full", Some(&ca)))
        .await
        .unwrap_err();
    let text = err.to_string();
    eprintln!("verify-full, wrong name: {text}");
    assert!(matches!(err, CockroachError::Connect { .. }), "{err:?}");
    assert!(
        text.contains("wrong-name.invalid") && text.to_lowercase().contains("certificate"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");

    let client = CockroachClient::connect(&wrong("verify-ca", Some(&ca)))
        .await
        .unwrap();
    assert_eq!(client.list_backups(&ssl).await.unwrap(), ["true"]);
    let client = CockroachClient::connect(&wrong("require", None))
        .await
        .unwrap();
    assert_eq!(client.list_backups(&ssl).await.unwrap(), ["true"]);
    let client = CockroachClient::connect(&wrong("disable", None))
        .await
        .unwrap();
    assert_eq!(client.list_backups(&ssl).await.unwrap(), ["false"]);
}

#[tokio::test]
async fn connection_failures_name_the_target_without_the_password() {
    // Nothing listens on port 1: no server needed.
    let url = ConnectionUrl::parse(
        "postgresql://root:hunter2-secret@127.0.0.1:1/defaultdb?sslmode=disable&connect_timeout=2",
    )
    .unwrap();
    let err = CockroachClient::connect(&url).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, CockroachError::Connect { .. }), "{text}");
    assert!(
        text.contains("postgresql://root:redacted@127.0.0.1:1/defaultdb"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

/// A `MakeWriter` collecting log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_show_statements_redacted() {
    let Some(base) = url_from("THINLEDGER_TEST_POSTGRES_URL") else {
        return;
    };
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (client, url) = scratch(&base).await;
    finish_later(url, 404, Duration::from_millis(100), "succeeded", "");
    client
        .run_job(&start_job(404, minio_uri().to_param()), &fast(), |_| {})
        .await
        .unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{logs}");
    assert!(
        logs.contains("job started") && logs.contains("404"),
        "{logs}"
    );
    assert_no_secret(&logs);
}
