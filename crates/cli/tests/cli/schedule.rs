//! `ledger-backup schedule`, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use thinledger_tests::examples::schedule as example;

fn cmd() -> Command {
    Command::cargo_bin("ledger-backup").unwrap()
}

/// `schedule render --output json` of one example schedule, which must succeed.
fn render_json(example_name: &str) -> Value {
    let out = cmd()
        .args(["schedule", "render", "--output", "json"])
        .arg(example(example_name))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn render_prints_one_cronjob_per_job_that_runs_schedule_once() {
    let rendering = render_json("ledger.yaml");
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

/// The multi-cloud example's CronJob runs in the Azure site's cluster: its pod signs in as the
/// S3 bucket's IRSA role with a projected token (no EKS webhook there), and an identity that
/// cannot be federated is refused as bad input, naming the field and the fix.
#[test]
fn render_gives_cron_jobs_in_another_clouds_cluster_the_identitys_token() {
    let rendering = render_json("multi-cloud-azure.yaml");
    let cj = rendering["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "CronJob")
        .unwrap();
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].to_string();
    for wanted in [
        "AWS_ROLE_ARN",
        "arn:aws:iam::123456789012:role/acme-ledger-backup",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        assert!(env.contains(wanted), "{wanted}: {env}");
    }
    assert!(
        pod["volumes"].to_string().contains("sts.amazonaws.com"),
        "{pod:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example("multi-cloud-azure.yaml"))
        .unwrap()
        .replace(
            "identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}",
            "identity: {kind: azure-managed-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
        )
        .replace("provider: azure", "provider: onprem")
        .replace("s3://acme-ledger-backups/acme-bank/prod/exports-eastus?region=us-east-1", "az://ledger-backups/exports");
    let path = dir.path().join("schedule.yaml");
    std::fs::write(&path, text).unwrap();
    cmd()
        .args(["schedule", "render"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("kubernetes.provider")
                .and(predicate::str::contains("AKS nodes only"))
                .and(predicate::str::contains("Fix:")),
        );
}
