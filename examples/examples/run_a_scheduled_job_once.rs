//! Run a scheduled backup job once, as a Kubernetes CronJob's pod does
//! (`ledger-backup schedule once CONFIG --job NAME`), with the public API: read the example
//! schedules in `examples/schedules/`, then run a job of the same shape against a repository
//! on a local folder — backup, retention and a restore drill — and print its report.
//!
//! Run with `cargo run -p thinledger-examples --example run_a_scheduled_job_once`.

use std::path::Path;

use thinledger_backup::schedule::{JobKind, RunOutcome, Schedule};
use thinledger_backup::store::{EnvVars, StoreBuilder};
use thinledger_backup::{InitOptions, Password, Repository};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The example schedules: every job's cron expression, time zone and kind.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("schedules");
    for file in ["ledger.yaml", "onprem-minio.yaml"] {
        let schedule = Schedule::from_file(&examples.join(file))?;
        println!("{file}:");
        for job in schedule.jobs() {
            let kind = match &job.kind {
                JobKind::Repository(r) => format!("repository {}", r.url),
                JobKind::Cockroach(_) => "CockroachDB native backup".to_owned(),
                _ => "another kind of job".to_owned(),
            };
            println!(
                "  {} at \"{}\" ({}): {kind}",
                job.name,
                job.timing.cron.expression(),
                job.timing.cron.zone_name()
            );
        }
    }

    // 2. A job like `ledger-exports`, on a local folder instead of S3.
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("exports"))?;
    std::fs::create_dir_all(dir.join("scratch"))?;
    for hour in 0..24 {
        std::fs::write(
            dir.join(format!("exports/hour-{hour:02}.csv")),
            format!("hour,{hour}\nbalance,{}\n", hour * 1_000),
        )?;
    }
    std::fs::write(dir.join("password"), "example password, not a secret\n")?;
    // The repository is created here with cheap key derivation for the example; a job with
    // `init: true` creates it itself with restic's default.
    let mut init = InitOptions::default();
    init.kdf.n = 1024;
    init.kdf.r = 8;
    init.kdf.p = 1;
    let store = StoreBuilder::new(dir.join("repository").to_string_lossy()).build()?;
    Repository::init(
        store.object_store(),
        store.display_url().to_owned(),
        &Password::new("example password, not a secret"),
        &init,
    )
    .await?;
    let yaml = format!(
        r#"
jobs:
  - name: ledger-exports
    schedule: "15 * * * *"
    time_zone: Europe/Zurich
    overlap: skip
    retries: {{attempts: 2, initial_backoff: 1s, max_backoff: 2s}}
    timeout: 10m
    repository:
      url: "{repo}"
      password: {{file: password}}
      paths: ["{exports}"]
      tags: [exports]
      retention: {{keep_hourly: 48, keep_daily: 14, prune: true}}
    drill: {{read_data_percent: 100, restore: true, scratch_dir: "{scratch}"}}
"#,
        repo = dir.join("repository").display(),
        exports = dir.join("exports").display(),
        scratch = dir.join("scratch").display(),
    );
    // Relative paths in the schedule (the password file) are read from `dir`.
    let schedule = Schedule::from_yaml_in(&yaml, dir)?;
    let scheduler = schedule.scheduler(&EnvVars::default())?;

    // 3. Run it once now, with the job's retries; nothing asks it to stop.
    let report = scheduler
        .run_once("ledger-exports", true, std::future::pending())
        .await?;
    println!(
        "{}: {:?} after {} attempt(s)",
        report.job, report.outcome, report.attempts
    );
    if let Some(b) = &report.backup {
        println!(
            "  backup: snapshot {} ({} bytes added)",
            b.snapshot.as_deref().unwrap_or("-"),
            b.bytes_added
        );
    }
    if let Some(r) = &report.retention {
        println!("  retention: {} kept, {} removed", r.kept, r.removed);
    }
    if let Some(d) = &report.drill {
        println!("  drill: {} ({} bytes)", d.what, d.bytes);
    }
    for e in &report.errors {
        println!("  error: {e}");
    }
    if report.outcome != RunOutcome::Succeeded || report.drill.is_none() {
        return Err(format!("the job did not succeed with its drill: {report:?}").into());
    }
    Ok(())
}
