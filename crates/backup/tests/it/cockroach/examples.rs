//! The example schedules: every command they run exists in CockroachDB v25.2 (`cockroach dump`
//! was removed), and each file parses, builds its runners (the CockroachDB jobs compute their
//! statements from the tenant files) and renders.

use thinledger_backup::schedule::render::render;
use thinledger_backup::schedule::{JobKind, Schedule};
use thinledger_backup::store::EnvVars;
use thinledger_tests::examples::{schedule as example, workspace_root};

/// `cockroach sql` flags CockroachDB v25.2 documents (what the examples may use).
const DOCUMENTED_SQL_FLAGS: [&str; 4] = ["--url", "--read-only", "--format=csv", "--execute"];

#[test]
fn no_example_runs_cockroach_dump() {
    let dir = workspace_root().join("examples/schedules");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let commands: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(
            !commands.iter().any(|l| l.contains("cockroach dump")),
            "{} runs `cockroach dump`, which CockroachDB no longer has",
            path.display()
        );
    }
}

#[test]
fn the_onprem_export_runs_a_documented_cockroach_sql() {
    let schedule = Schedule::from_file(&example("onprem-minio.yaml")).unwrap();
    let job = &schedule.jobs()[0];
    let JobKind::Repository(repo) = &job.kind else {
        panic!("{} is a repository job", job.name);
    };
    let stdin = repo.stdin.as_ref().unwrap();
    let words: Vec<&str> = stdin.command.split_whitespace().collect();
    assert_eq!(&words[..2], ["cockroach", "sql"], "{}", stdin.command);
    for flag in words.iter().filter(|w| w.starts_with("--")) {
        assert!(
            DOCUMENTED_SQL_FLAGS.contains(flag),
            "{flag} in `{}`",
            stdin.command
        );
    }
    // One consistent snapshot, read-only, and the URL (which may hold a password) from the
    // environment.
    assert!(
        stdin.command.contains("AS OF SYSTEM TIME '-10s'"),
        "{}",
        stdin.command
    );
    assert!(
        stdin
            .command
            .contains("--url \"$THINLEDGER_COCKROACH_URL\""),
        "{}",
        stdin.command
    );
    assert_eq!(stdin.filename, "ledger-entries.csv");
}

#[test]
fn example_schedules_parse_plan_and_render() {
    for file in ["ledger.yaml", "onprem-minio.yaml", "multi-cloud-azure.yaml"] {
        let schedule = Schedule::from_file(&example(file)).unwrap();
        let runners = schedule
            .runners(&EnvVars::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(runners.len(), schedule.jobs().len(), "{file}");
        let tenants = schedule.read_tenant_files().unwrap();
        let rendering = render(&schedule, &tenants).unwrap_or_else(|e| panic!("{file}: {e}"));
        for job in schedule.jobs() {
            assert!(
                rendering.cron_job(&job.name).is_some(),
                "{file}: {}",
                job.name
            );
        }
    }
}

/// A schedule in `dir` with one CockroachDB job backing up the on-prem (MinIO) example tenant.
fn onprem_cockroach_schedule(dir: &std::path::Path, credentials: &str) -> Schedule {
    let tenant = workspace_root().join("examples/tenants/onprem.yaml");
    let text = format!(
        "kubernetes:\n  namespace: ledger-northwind-prod\n  image: registry.example/thinledger/ledger-backup:0.1.0\n  cockroach_secret: cockroach-backup\njobs:\n  - name: ledger-native\n    schedule: \"0 * * * *\"\n    cockroach:\n      tenant: {}\n      connection: {{env: THINLEDGER_COCKROACH_URL}}\n{credentials}",
        tenant.display()
    );
    let path = dir.join("schedule.yaml");
    std::fs::write(&path, text).unwrap();
    Schedule::from_file(&path).unwrap()
}

fn cron_job_env(schedule: &Schedule) -> String {
    let rendering = render(schedule, &schedule.read_tenant_files().unwrap()).unwrap();
    let cron_job = serde_json::to_value(rendering.cron_job("ledger-native").unwrap()).unwrap();
    cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"].to_string()
}

#[test]
fn an_onprem_cockroach_job_gets_the_minio_keys_from_the_tenants_secret() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = onprem_cockroach_schedule(dir.path(), "");
    // Without the keys in its environment the job refuses to plan, naming the variable.
    let err = schedule
        .runners(&EnvVars::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    let secret = "minio-secret-value-0123";
    let env: EnvVars = [
        ("AWS_ACCESS_KEY_ID", "ledger-backup"),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ]
    .into_iter()
    .collect();
    let runners = schedule.runners(&env).unwrap();
    assert_eq!(runners.len(), 1);
    assert!(!format!("{runners:?}").contains(secret));
    // The CronJob mounts both keys from the Secret of the tenant's secret-ref binding.
    let env = cron_job_env(&schedule);
    for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        let wanted = format!(
            r#"{{"name":"{key}","valueFrom":{{"secretKeyRef":{{"key":"{key}","name":"minio-ledger-backup","optional":false}}}}}}"#
        );
        assert!(env.contains(&wanted), "{env}");
    }
}

#[test]
fn an_onprem_cockroach_job_with_implicit_credentials_needs_no_keys() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = onprem_cockroach_schedule(dir.path(), "      minio_credentials: implicit\n");
    assert_eq!(schedule.runners(&EnvVars::default()).unwrap().len(), 1);
    assert!(!cron_job_env(&schedule).contains("AWS_"));
}

/// The example schedule's repositories on the aws example tenant's bucket lie under that
/// tenant's `backup.prefix`, and its native CockroachDB jobs write under it too: those are the
/// only keys `ledger-topology iam` grants the backup identity both files name.
#[test]
fn the_example_schedule_writes_where_the_tenants_identity_may() {
    let tenant =
        thinledger_topology::Tenant::from_yaml(&thinledger_tests::examples::tenant_text("aws"))
            .unwrap();
    let backup = &tenant.spec().backup;
    let prefix = backup.prefix.as_deref().unwrap().trim_matches('/');
    assert!(!prefix.is_empty());
    let schedule = Schedule::from_file(&example("ledger.yaml")).unwrap();
    let mut checked = 0;
    for job in &schedule.spec().jobs {
        let Some(repo) = &job.repository else {
            continue;
        };
        let Some(rest) = repo.url.strip_prefix(&format!("s3://{}/", backup.bucket)) else {
            continue;
        };
        let key = rest.split('?').next().unwrap();
        assert!(
            key.starts_with(&format!("{prefix}/")),
            "{}: {} is outside the tenant's prefix {prefix}/",
            job.name,
            repo.url
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no job of the example writes to {}",
        backup.bucket
    );
    assert!(
        tenant
            .cockroach_backup_path()
            .starts_with(&format!("{prefix}/")),
        "{}",
        tenant.cockroach_backup_path()
    );
}
