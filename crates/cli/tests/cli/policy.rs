//! `ledger-policy`, run as a user would, on the policy crate's fixtures.

use assert_cmd::Command;
use predicates::prelude::*;
use rstest::rstest;
use serde_json::Value;
use thinledger_tests::examples::{self, policy_fixture};

fn fixture(rel: &str) -> String {
    policy_fixture(rel).display().to_string()
}

/// The `ledger-policy` binary cargo built for these tests, to run as a user would.
pub(crate) fn ledger_policy_command() -> Command {
    Command::cargo_bin("ledger-policy").unwrap()
}

fn ledger_policy(args: &[&str]) -> assert_cmd::assert::Assert {
    ledger_policy_command().args(args).assert()
}

/// `ledger-policy check --strict --output json INPUTS…`, as CI gates a rendering: the exit
/// code and the report, pretty-printed. Panics naming the first input (and what went to
/// stderr) when the report is not JSON.
pub(crate) fn check_strict_json(inputs: &[&std::path::Path]) -> (Option<i32>, String) {
    let out = ledger_policy_command()
        .args(["check", "--strict", "--output", "json"])
        .args(inputs)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            inputs[0].display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code(),
        serde_json::to_string_pretty(&report).unwrap(),
    )
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

/// A guardrail that cannot recognise its input refuses it: exit 2 naming the file and the
/// field, with or without --strict, and no verdict on stdout.
#[rstest]
#[case::empty_object("empty-object.json", "found an empty object")]
#[case::empty_array("empty-array.json", "found an empty array")]
#[case::null("null.json", "found null")]
#[case::top_level_string("string.json", "found the string")]
#[case::no_format_version(
    "no-format-version.json",
    "not a Terraform plan, Kubernetes object or tenant file"
)]
#[case::null_change_item("null-change-item.json", "resource_changes[1] is null")]
#[case::change_is_a_string(
    "change-is-a-string.json",
    "resource_changes[0].change is the string \"delete\""
)]
#[case::actions_is_a_string(
    "actions-is-a-string.json",
    "resource_changes[0].change.actions is the string \"delete\""
)]
#[case::actions_nested_list(
    "actions-nested-list.json",
    "resource_changes[0].change.actions[0] is the array"
)]
#[case::actions_upper_case(
    "actions-upper-case.json",
    "resource_changes[0].change.actions[0] is the string \"DELETE\""
)]
#[case::actions_unknown_name("actions-unknown-name.json", "actions[0] is the string \"destroy\"")]
#[case::actions_repeated(
    "actions-repeated.json",
    "resource_changes[0].change.actions is the array"
)]
#[case::mode_upper_case(
    "mode-upper-case.json",
    "resource_changes[0].mode is the string \"MANAGED\""
)]
#[case::state_not_plan("state-not-plan.json", "resource_changes is missing")]
#[case::empty_yaml("empty.yaml", "found no document")]
#[case::second_document("second-document-a-string.yaml", "(document 2)")]
fn unrecognised_or_malformed_input_exits_2(
    #[case] name: &str,
    #[case] message: &str,
    #[values(false, true)] strict: bool,
) {
    let input = fixture(&format!("refused/{name}"));
    let mut args = vec!["check", input.as_str()];
    if strict {
        args.push("--strict");
    }
    ledger_policy(&args)
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(input.clone()))
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("expected"));
}

/// A refused file among good ones still refuses the whole check: nothing is half-checked.
#[test]
fn one_refused_file_refuses_the_whole_check() {
    ledger_policy(&[
        "check",
        &fixture("terraform/pvc-kept.json"),
        &fixture("refused/actions-is-a-string.json"),
    ])
    .code(2)
    .stdout("");
}

#[test]
fn a_symlink_loop_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    examples::policy_fixture_in_a_symlink_loop(dir.path(), "terraform/pvc-delete.json");
    ledger_policy(&["check", dir.path().to_str().unwrap()])
        .code(1)
        .stdout(predicate::str::contains(
            "FAILED: 1 denied, 0 warnings in 1 file",
        ));
}

#[test]
fn a_symlink_out_of_the_directory_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        policy_fixture("k8s/tenant-aws.yaml"),
        dir.path().join("tenant.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    ledger_policy(&["check", dir.path().to_str().unwrap()])
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "etc: symbolic link to /etc, outside the directories given",
        ));
}

/// Devices and fifos are refused at once instead of read forever (or waited on).
#[test]
fn dev_zero_and_a_fifo_exit_2_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (input, what) in [
        ("/dev/zero", "is a character device, not a regular file"),
        (
            fifo.to_str().unwrap(),
            "is a fifo (named pipe), not a regular file",
        ),
        (
            dir.path().to_str().unwrap(),
            "is a fifo (named pipe), not a regular file",
        ),
    ] {
        ledger_policy_command()
            .args(["check", input])
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(what));
    }
}

/// `ledger-policy check` run from the fixtures folder with relative paths, so outputs are
/// the same on every machine.
fn check_in_fixtures(args: &[&str]) -> std::process::Output {
    ledger_policy_command()
        .current_dir(policy_fixture(""))
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

const GOLDEN_INPUTS: [&str; 2] = [
    "k8s/crdb-2vcpu.yaml",
    "terraform/backup-buckets-untiered.json",
];

/// What each format prints for a denial and three warnings (golden files).
#[rstest]
fn every_output_format_is_golden(
    #[values("table", "json", "yaml", "sarif", "junit", "github")] format: &str,
) {
    let mut args = GOLDEN_INPUTS.to_vec();
    args.extend(["--output", format]);
    let out = check_in_fixtures(&args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    insta::assert_snapshot!(
        format!("policy_check_output_{format}"),
        String::from_utf8(out.stdout).unwrap()
    );
}

/// `(severity, rule, resource)` of each finding, read back from each format.
fn findings_in(format: &str, text: &str) -> Vec<(String, String, String)> {
    let mut found: Vec<(String, String, String)> = match format {
        "json" | "yaml" => {
            let doc: Value = if format == "json" {
                serde_json::from_str(text).unwrap()
            } else {
                serde_yaml_ng::from_str(text).unwrap()
            };
            doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["severity"].as_str().unwrap().to_owned(),
                        f["rule"].as_str().unwrap().to_owned(),
                        f["resource"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        }
        "sarif" => {
            let doc: Value = serde_json::from_str(text).unwrap();
            doc["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let severity = if r["level"] == "error" {
                        "deny"
                    } else {
                        "warn"
                    };
                    (
                        severity.to_owned(),
                        r["ruleId"].as_str().unwrap().to_owned(),
                        r["properties"]["resource"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        }
        "table" => text
            .lines()
            .filter(|l| l.starts_with("DENY") || l.starts_with("WARN"))
            .map(|l| {
                let mut parts = l.split("  ");
                let severity = parts.next().unwrap().to_lowercase();
                (
                    severity,
                    parts.next().unwrap().to_owned(),
                    parts.next().unwrap().to_owned(),
                )
            })
            .collect(),
        "github" => text
            .lines()
            .filter_map(|l| {
                let (command, rest) = l.strip_prefix("::")?.split_once(' ')?;
                let severity = if command == "error" { "deny" } else { "warn" };
                let (properties, message) = rest.split_once("::")?;
                let rule = properties
                    .split(',')
                    .find_map(|p| p.strip_prefix("title="))?;
                let resource = message.split(": ").next()?;
                Some((severity.to_owned(), rule.to_owned(), resource.to_owned()))
            })
            .collect(),
        "junit" => text
            .split("<testcase ")
            .skip(1)
            .filter(|case| !case.contains("every guardrail passes"))
            .map(|case| {
                let name = case
                    .split(" name=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let name = name
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
                let (rule, resource) = name.split_once(' ').unwrap();
                let severity = if case.contains("<failure type=\"deny\"") {
                    "deny"
                } else {
                    "warn"
                };
                (severity.to_owned(), rule.to_owned(), resource.to_owned())
            })
            .collect(),
        other => panic!("no reader for {other}"),
    };
    found.sort();
    found
}

/// Every format carries the same findings.
#[test]
fn every_output_format_carries_the_same_findings() {
    let formats = ["table", "json", "yaml", "sarif", "junit", "github"];
    let mut seen = Vec::new();
    for format in formats {
        let mut args = vec!["k8s", "terraform"];
        args.extend(["--output", format]);
        let out = check_in_fixtures(&args);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        seen.push((
            format,
            findings_in(format, &String::from_utf8(out.stdout).unwrap()),
        ));
    }
    let (_, reference) = &seen[1];
    assert!(reference.len() > 20, "{reference:?}");
    for (format, found) in &seen {
        assert_eq!(found, reference, "{format} differs from json");
    }
}

/// A malformed production input is denied (exit 1) or refused (exit 2), never passed, in
/// every output format.
#[rstest]
#[case::db_container_without_name_at_2_vcpu(
    "k8s/crdb-2vcpu.yaml",
    "- name: db\n        image",
    "- image",
    "sizing.min_vcpu"
)]
#[case::container_name_7(
    "k8s/crdb-2vcpu.yaml",
    "- name: db\n",
    "- name: 7\n",
    "input.malformed"
)]
#[case::replicas_string(
    "production/aws/cockroachdb.yaml",
    "replicas: 3",
    "replicas: \"3\"",
    "input.malformed"
)]
#[case::nodes_fractional(
    "k8s/crdbcluster-8vcpu.yaml",
    "nodes: 3",
    "nodes: 3.5",
    "input.malformed"
)]
#[case::nodes_string(
    "k8s/crdbcluster-8vcpu.yaml",
    "nodes: 3",
    "nodes: \"3\"",
    "input.malformed"
)]
#[case::cpu_unreadable(
    "production/aws/cockroachdb.yaml",
    "cpu: \"8\"",
    "cpu: abc",
    "input.malformed"
)]
#[case::memory_unreadable(
    "production/aws/cockroachdb.yaml",
    "memory: 32Gi",
    "memory: lots",
    "input.malformed"
)]
#[case::cache_flag_unreadable(
    "production/aws/cockroachdb.yaml",
    "--cache=.25",
    "--cache=.２５",
    "input.malformed"
)]
#[case::name_a_number(
    "production/aws/cockroachdb.yaml",
    "name: cockroachdb\n",
    "name: 12345678901234567890\n",
    "input.malformed"
)]
#[case::namespace_a_number(
    "k8s/crdb-2vcpu.yaml",
    "namespace: ledger-acme-bank",
    "namespace: 42",
    "input.malformed"
)]
#[case::redpanda_replicas_string(
    "production/aws/redpanda.yaml",
    "replicas: 3",
    "replicas: \"3\"",
    "input.malformed"
)]
fn malformed_production_input_is_never_passed(
    #[case] file: &str,
    #[case] from: &str,
    #[case] to: &str,
    #[case] rule: &str,
    #[values("table", "json", "github")] format: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    // The whole folder of a production set (its PDB, namespace and tenant), one file edited.
    let source = policy_fixture(file);
    let folder = if file.starts_with("production/") {
        source.parent().unwrap().to_path_buf()
    } else {
        source.clone()
    };
    let inputs: Vec<std::path::PathBuf> = if folder.is_dir() {
        std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    } else {
        vec![folder]
    };
    for input in inputs {
        let mut text = std::fs::read_to_string(&input).unwrap();
        if input == source {
            assert!(text.contains(from), "{file}: no {from:?}");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(input.file_name().unwrap()), text).unwrap();
    }
    let out = ledger_policy_command()
        .args(["check", "--output", format])
        .arg(dir.path())
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "{file}: {to:?} passed: {out:?}"
    );
    if code == Some(1) {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(rule),
            "{file}: {to:?} denied without {rule}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// `ledger-policy input` prints the document `check` evaluates, as `opa eval -i` takes it.
#[test]
fn input_prints_the_combined_document() {
    let out = ledger_policy_command()
        .current_dir(policy_fixture(""))
        .args(["input", "terraform/pvc-delete.json", "k8s/tenant-aws.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc[0]["path"], "terraform/pvc-delete.json");
    assert_eq!(doc[0]["contents"]["format_version"], "1.2");
    assert_eq!(doc[1]["path"], "k8s/tenant-aws.yaml");
    // Refused inputs are refused here too.
    ledger_policy(&["input", &fixture("refused/empty-object.json")])
        .code(2)
        .stdout("");
}
