//! `ledger-backup schedule`, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use thinledger_tests::examples::schedule as example;

fn cmd() -> Command {
    Command::cargo_bin("ledger-backup").unwrap()
}

#[test]
fn render_prints_one_cronjob_per_job_that_runs_schedule_once() {
    let out = cmd()
        .args(["schedule", "render", "--output", "json"])
        .arg(example("ledger.yaml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rendering: Value = serde_json::from_slice(&out).unwrap();
    let objects = rendering["objects"].as_array().unwrap();
    let cronjobs: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "CronJob").collect();
    assert_eq!(cronjobs.len(), 3, "{rendering:#}");
    for cj in cronjobs {
        let args = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
            .to_string();
        assert!(args.contains("once") && args.contains("--job"), "{args}");
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
    }
}

#[test]
fn render_yaml_is_the_default() {
    cmd()
        .args(["schedule", "render"])
        .arg(example("onprem-minio.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("kind: CronJob"));
}

#[test]
fn missing_schedule_file_is_bad_input() {
    cmd()
        .args(["schedule", "run", "/nonexistent/schedule.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/schedule.yaml"));
}

#[test]
fn unknown_job_names_the_jobs_that_exist() {
    cmd()
        .args(["schedule", "once", "--job", "nope"])
        .arg(example("ledger.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ledger-exports"));
}
