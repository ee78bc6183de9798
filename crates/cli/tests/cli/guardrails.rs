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

/// A tenant with sites: each site's rendering (`render --out DIR` writes `DIR/<site>/`), with
/// the tenant file, passes every rule strictly — the quorum rule over the providers included.
#[test]
fn each_site_of_the_multi_cloud_tenant_passes_every_rule_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .args(["render", "--out"])
        .arg(&manifests)
        .arg(example("multi-cloud"))
        .assert()
        .success();
    let mut sites: Vec<_> = std::fs::read_dir(&manifests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sites.sort();
    let names: Vec<String> = sites
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["aws-use1", "azure-eastus", "onprem-fra"]);
    for site in &sites {
        let out = Command::cargo_bin("ledger-policy")
            .unwrap()
            .args(["check", "--strict", "--output", "json"])
            .arg(site)
            .arg(example("multi-cloud"))
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                site.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let text = serde_json::to_string_pretty(&report).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} denied or warned:\n{text}",
            site.display()
        );
    }
}
