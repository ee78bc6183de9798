//! Cross-tool: what `ledger-topology` renders for each example tenant passes every rule of
//! `ledger-policy --strict` (warnings included: Redpanda is tiered, so `cost.redpanda_untiered`
//! stays quiet) — the guardrails and the renderer agree on what a safe ledger is.

use assert_cmd::Command;
use rstest::rstest;
use serde_json::Value;

use thinledger_tests::examples::tenant as example;

#[rstest]
fn rendered_examples_pass_every_rule_strictly(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values("statefulset", "operator")] mode: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .args(["render", "--cockroach-mode", mode, "--out"])
        .arg(&manifests)
        .arg(example(name))
        .assert()
        .success();
    assert!(
        std::fs::read_dir(&manifests).unwrap().count() > 5,
        "{name}/{mode}: too few objects"
    );

    let out = Command::cargo_bin("ledger-policy")
        .unwrap()
        .args(["check", "--strict", "--output", "json"])
        .arg(&manifests)
        .arg(example(name))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}/{mode}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let text = serde_json::to_string_pretty(&report).unwrap();
    assert!(
        text.contains("deny") || text.contains("finding") || text.contains("summary"),
        "{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}/{mode} denied or warned:\n{text}"
    );
    assert!(!text.contains("cost.redpanda_untiered"), "{text}");
}

/// `ledger-policy check` of one folder against `tenant`: the exit code and the JSON report.
fn check_strict(manifests: &std::path::Path, tenant: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::cargo_bin("ledger-policy")
        .unwrap()
        .args(["check", "--strict", "--output", "json"])
        .arg(manifests)
        .arg(tenant)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            manifests.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code(),
        serde_json::to_string_pretty(&report).unwrap(),
    )
}

/// The multi-cloud tenant: every site's folder (`render --out DIR` writes `DIR/<site>/`, one
/// per Kubernetes cluster, Redpanda stretched over all three) passes strictly on its own.
#[test]
fn every_site_of_the_multi_cloud_example_passes_every_rule_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .args(["render", "--out"])
        .arg(&manifests)
        .arg(example("multi-cloud"))
        .assert()
        .success();
    for site in ["aws-use1", "azure-eastus", "onprem-fra"] {
        let folder = manifests.join(site);
        let files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            files
                .iter()
                .any(|f| f.ends_with("-statefulset-redpanda.yaml")),
            "{site}: no Redpanda brokers in {files:?}"
        );
        let (code, text) = check_strict(&folder, &example("multi-cloud"));
        assert_eq!(code, Some(0), "{site} denied or warned:\n{text}");
        assert!(!text.contains("cost.redpanda_untiered"), "{site}: {text}");
    }
}
