//! `ledger-topology rollout plan|check`, run as a user (or a CI job) would.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use thinledger_tests::examples::workspace_root;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("ledger-topology").unwrap();
    c.current_dir(workspace_root());
    c
}

/// A copy of examples/fleet in a temporary folder, with `from` replaced by `to` in `file`.
fn edited_fleet(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("live");
    let source = workspace_root().join("examples/fleet");
    for ring in ["ring-0-canary", "ring-1-early", "ring-2-prod"] {
        std::fs::create_dir_all(fleet.join(ring)).unwrap();
        for entry in std::fs::read_dir(source.join(ring)).unwrap() {
            let entry = entry.unwrap();
            let rel = format!("{ring}/{}", entry.file_name().to_string_lossy());
            let mut text = std::fs::read_to_string(entry.path()).unwrap();
            if rel == file {
                assert!(text.contains(from), "{file}: {from}");
                text = text.replacen(from, to, 1);
            }
            std::fs::write(fleet.join(&rel), text).unwrap();
        }
    }
    (dir, fleet)
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

/// The done-when: five tenants across three rings, waves canary → early → prod.
#[test]
fn plan_orders_the_example_fleet_canary_then_early_then_prod() {
    let out = cmd()
        .args([
            "rollout",
            "plan",
            "examples/fleet",
            "--to-version",
            "v25.3.1",
            "--output",
            "json",
        ])
        .assert()
        .success();
    let plan = json(&out.get_output().stdout);
    let waves = plan["waves"].as_array().unwrap();
    let rings: Vec<&str> = waves.iter().map(|w| w["ring"].as_str().unwrap()).collect();
    assert_eq!(
        rings,
        [
            "ring-0-canary",
            "ring-1-early",
            "ring-2-prod",
            "ring-2-prod"
        ]
    );
    let tenants: usize = waves
        .iter()
        .map(|w| w["tenants"].as_array().unwrap().len())
        .sum();
    assert_eq!(tenants, 5);
    assert_eq!(waves[0]["state"], "ready");
    for w in &waves[1..] {
        assert_eq!(w["state"], "blocked");
        assert!(!w["blocked_by"].as_array().unwrap().is_empty());
    }
    for step in waves.iter().flat_map(|w| w["tenants"].as_array().unwrap()) {
        assert_eq!(step["change"]["class"], "major");
        assert_eq!(step["guardrails"]["passed"], true, "{step}");
        assert!(
            step["diff"]["changed"]
                .as_array()
                .unwrap()
                .contains(&Value::from("StatefulSet/cockroachdb")),
            "{step}"
        );
    }
    assert_eq!(plan["to_version"], "v25.3.1");
    assert_eq!(plan["component"], "cockroachdb");
}

#[test]
fn plan_with_the_status_file_batches_and_bake_times() {
    let out = cmd()
        .args([
            "rollout",
            "plan",
            "examples/fleet",
            "--to-version",
            "v25.3.1",
        ])
        .args([
            "--status",
            "examples/ci/rollout-status.yaml",
            "--batch",
            "2",
        ])
        .args(["--bake", "ring-0-canary=3d"])
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        table.starts_with("Rollout of cockroachdb to v25.3.1: 5 tenants, 3 waves"),
        "{table}"
    );
    assert!(table.contains("bake ring-0-canary 3d,"), "{table}");
    assert!(
        table.contains(
            "blocked: fabrikam-prod (ring-0-canary) has run v25.3.1 for 2d of its 3d bake time"
        ),
        "{table}"
    );
}

#[test]
fn a_failing_guardrail_blocks_its_wave() {
    let (_dir, fleet) = edited_fleet("ring-0-canary/fabrikam.yaml", "cpu: 8", "cpu: 2");
    let out = cmd()
        .args([
            "rollout",
            "plan",
            "--to-version",
            "v25.3.1",
            "--resources",
            "tenant",
            "-o",
            "json",
        ])
        .arg(&fleet)
        .assert()
        .success();
    let plan = json(&out.get_output().stdout);
    let canary = &plan["waves"][0];
    assert_eq!(canary["state"], "blocked");
    let reason = canary["blocked_by"][0].as_str().unwrap();
    assert!(
        reason.starts_with("guardrail denies fabrikam-prod: sizing.min_vcpu"),
        "{reason}"
    );
}

#[test]
fn plan_refuses_a_downgrade_and_bad_flags_with_exit_2() {
    let out = cmd()
        .args([
            "rollout",
            "plan",
            "examples/fleet",
            "--to-version",
            "v25.2.1",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("fabrikam-prod: v25.2.4 -> v25.2.1: a rollout never downgrades"),
        "{err}"
    );
    assert!(err.contains("Fix: "), "{err}");
    cmd()
        .args([
            "rollout",
            "plan",
            "examples/fleet",
            "--to-version",
            "v25.3.1",
            "--bake",
            "canary=1d",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown ring"));
}

#[test]
fn a_ring_folder_contradicting_the_tenant_is_bad_input() {
    let (_dir, fleet) = edited_fleet(
        "ring-1-early/contoso.yaml",
        "ring: ring-1-early",
        "ring: ring-2-prod",
    );
    cmd()
        .args(["rollout", "plan", "--to-version", "v25.3.1"])
        .arg(&fleet)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "ring-1-early/contoso.yaml: the folder ring-1-early contradicts the tenant's ring: ring-2-prod",
        ));
}

fn check(base: &Path, head: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cmd()
        .args(["rollout", "check", "--base"])
        .arg(base)
        .arg("--head")
        .arg(head)
        .args(extra)
        .assert()
}

#[test]
fn check_refuses_production_ahead_of_the_canary_with_exit_1() {
    let base = workspace_root().join("examples/fleet");
    let (_dir, head) = edited_fleet(
        "ring-2-prod/acme-bank.yaml",
        "version: v25.2.4",
        "version: v25.3.1",
    );
    let out = check(&base, &head, &["--output", "json"]).code(1);
    let result = json(&out.get_output().stdout);
    assert_eq!(result["passed"], false);
    let findings = result["findings"].as_array().unwrap();
    let rings: Vec<&str> = findings
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), 2, "{rings:?}");
    for f in findings {
        assert_eq!(f["tenant"], "acme-bank-prod");
        assert_eq!(f["ring"], "ring-2-prod");
        assert_eq!(f["from"], "v25.2.4");
        assert_eq!(f["to"], "v25.3.1");
        assert_eq!(f["rule"], "rollout.ring_order");
    }
    // The table says the same, with the fix.
    let out = check(&base, &head, &[]).code(1);
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        table.contains("fix: roll v25.3.1 out to ring-0-canary first"),
        "{table}"
    );
    assert!(
        table.ends_with("failed  2 findings in 1 version move\n"),
        "{table}"
    );
}

#[test]
fn check_passes_the_canary_first_with_exit_0() {
    let base = workspace_root().join("examples/fleet");
    let (_dir, head) = edited_fleet(
        "ring-0-canary/fabrikam.yaml",
        "version: v25.2.4",
        "version: v25.3.1",
    );
    let out = check(&base, &head, &[]).success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(
        table,
        "ok      1 version move; every one follows the rings\n"
    );
    // No change at all passes too.
    check(&base, &base, &[]).success();
}

#[test]
fn the_ci_examples_run_both_gates() {
    let root = workspace_root().join("examples/ci");
    let workflow = std::fs::read_to_string(root.join("rollout-gate.yml")).unwrap();
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&workflow).unwrap();
    let steps = parsed["jobs"]["gate"]["steps"].as_sequence().unwrap();
    let runs: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(runs.contains("ledger-policy check"), "{runs}");
    assert!(
        runs.contains("ledger-topology rollout check --base"),
        "{runs}"
    );
    let script = std::fs::read_to_string(root.join("rollout-gate.sh")).unwrap();
    assert!(script.contains("ledger-policy check") && script.contains("rollout check --base"));
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(root.join("rollout-gate.sh"))
        .status()
        .unwrap();
    assert!(syntax.success());
}
