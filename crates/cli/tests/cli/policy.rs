//! `ledger-policy`, run as a user would, on the policy crate's fixtures.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use rstest::rstest;
use serde_json::Value;

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../policy/tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn ledger_policy(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("ledger-policy")
        .unwrap()
        .args(args)
        .assert()
}

#[test]
fn pvc_deletion_is_denied_with_exit_1_naming_the_address() {
    ledger_policy(&["check", &fixture("terraform/pvc-delete.json")])
        .code(1)
        .stdout(predicate::str::contains(
            "DENY  antideletion.pvc_destroyed  module.ledger.kubernetes_persistent_volume_claim_v1.data[\"cockroachdb-0\"]",
        ))
        .stdout(predicate::str::contains("FAILED: 1 denied, 0 warnings in 1 file"));
}

#[test]
fn the_same_plan_without_the_pvc_change_passes() {
    ledger_policy(&["check", &fixture("terraform/pvc-kept.json")])
        .code(0)
        .stdout(predicate::str::contains("PASSED: 0 denied, 0 warnings"));
}

#[test]
fn production_ledger_at_2_vcpu_is_denied_as_json() {
    let out = ledger_policy(&["check", &fixture("k8s/crdb-2vcpu.yaml"), "--output", "json"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["denied"], 1);
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "sizing.min_vcpu");
    assert_eq!(f["severity"], "deny");
    assert_eq!(f["resource"], "StatefulSet/ledger-acme-bank/cockroachdb");
    assert!(f["message"].as_str().unwrap().contains("2 vCPU"));
}

#[rstest]
#[case::lenient(&[], 0)]
#[case::strict(&["--strict"], 1)]
fn untiered_storage_warns_and_fails_only_with_strict(#[case] extra: &[&str], #[case] code: i32) {
    let input = fixture("terraform/backup-buckets-untiered.json");
    let mut args = vec!["check", input.as_str()];
    args.extend_from_slice(extra);
    ledger_policy(&args)
        .code(code)
        .stdout(predicate::str::contains(
            "WARN  cost.backup_bucket_untiered  module.backup.aws_s3_bucket.backups",
        ))
        .stdout(predicate::str::contains("0 denied, 3 warnings"));
}

#[rstest]
#[case::json("malformed/plan.json", "plan.json:5:62: malformed JSON")]
#[case::yaml("malformed/manifests.yaml", "manifests.yaml:11:5: malformed YAML")]
#[case::missing("does/not/exist.json", "cannot read")]
fn bad_input_exits_2_naming_file_and_line(#[case] rel: &str, #[case] message: &str) {
    ledger_policy(&["check", &fixture(rel)])
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(message));
}

#[test]
fn sarif_output_lists_rules_and_locations() {
    let out = ledger_policy(&[
        "check",
        &fixture("terraform/pvc-replace.json"),
        "-o",
        "sarif",
    ])
    .code(1)
    .get_output()
    .stdout
    .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["id"],
        "antideletion.pvc_destroyed"
    );
    let result = &run["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "kubernetes_persistent_volume_claim.datadir"
    );
    assert!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("pvc-replace.json")
    );
}

#[rstest]
fn production_manifest_sets_pass(#[values("aws", "azure", "gcp", "onprem")] provider: &str) {
    ledger_policy(&[
        "check",
        &fixture(&format!("production/{provider}")),
        "--strict",
    ])
    .code(0)
    .stdout(predicate::str::contains(
        "PASSED: 0 denied, 0 warnings in 4 files",
    ));
}

#[test]
fn user_policies_add_to_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ours.rego"),
        "package ours\n\nimport rego.v1\n\nwarn contains \"every plan gets a second pair of eyes\" if count(input) > 0\n",
    )
    .unwrap();
    let policy_dir = dir.path().display().to_string();
    let input = fixture("terraform/pvc-delete.json");
    ledger_policy(&["check", &input, "--policy", &policy_dir])
        .code(1)
        .stdout(predicate::str::contains("WARN  ours.warn  -"))
        .stdout(predicate::str::contains("1 denied, 1 warning in 1 file"));
    ledger_policy(&["check", &input, "--policy", &policy_dir, "--no-builtin"])
        .code(0)
        .stdout(predicate::str::contains("0 denied, 1 warning"));
}

#[test]
fn builtin_policies_can_be_written_out_for_conftest() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("policy");
    ledger_policy(&["policies", "--write", target.to_str().unwrap()]).success();
    let written = std::fs::read_to_string(target.join("thinledger/antideletion.rego")).unwrap();
    assert!(written.starts_with("# Anti-deletion"));
    // The written files are the policies the binary evaluates: using only them gives the same result.
    ledger_policy(&[
        "check",
        &fixture("terraform/pvc-delete.json"),
        "--no-builtin",
        "--policy",
        target.to_str().unwrap(),
    ])
    .code(1)
    .stdout(predicate::str::contains("antideletion.pvc_destroyed"));
}

/// A reader that closes the pipe early (`ledger-policy check … | head`) sees no error, and the
/// denial still decides the exit code: a guardrail must never pass because output was cut.
#[test]
fn a_closed_pipe_keeps_the_denial_as_exit_code() {
    let out = run_with_closed_stdout(&["check", &fixture("k8s")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn listing_the_policies_into_a_closed_pipe_ends_quietly() {
    let out = run_with_closed_stdout(&["policies"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs ledger-policy with its standard output closed before it writes (`| head` that has
/// already stopped reading).
fn run_with_closed_stdout(args: &[&str]) -> std::process::Output {
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ledger-policy"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}
