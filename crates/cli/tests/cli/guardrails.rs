//! Cross-tool: what `ledger-topology` renders for each example tenant passes every rule of
//! `ledger-policy --strict` (warnings included: Redpanda is tiered, so `cost.redpanda_untiered`
//! stays quiet) — the guardrails and the renderer agree on what a safe ledger is.

use std::path::PathBuf;

use assert_cmd::Command;
use rstest::rstest;

use crate::policy::check_strict_json;
use thinledger_tests::examples::tenant as example;

/// `ledger-topology render ARGS… --out DIR TENANT` into a fresh folder: the folder (kept
/// while the first is) and `DIR`.
fn render(tenant: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .arg("render")
        .args(args)
        .arg("--out")
        .arg(&manifests)
        .arg(example(tenant))
        .assert()
        .success();
    (dir, manifests)
}

#[rstest]
fn rendered_examples_pass_every_rule_strictly(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values("statefulset", "operator")] mode: &str,
) {
    let (_dir, manifests) = render(name, &["--cockroach-mode", mode]);
    assert!(
        std::fs::read_dir(&manifests).unwrap().count() > 5,
        "{name}/{mode}: too few objects"
    );

    let (code, text) = check_strict_json(&[&manifests, &example(name)]);
    assert!(
        text.contains("deny") || text.contains("finding") || text.contains("summary"),
        "{text}"
    );
    assert_eq!(code, Some(0), "{name}/{mode} denied or warned:\n{text}");
    assert!(!text.contains("cost.redpanda_untiered"), "{text}");
}

/// The multi-cloud tenant: every site's folder (`render --out DIR` writes `DIR/<site>/`, one
/// per Kubernetes cluster, Redpanda stretched over all three) passes strictly on its own.
#[test]
fn every_site_of_the_multi_cloud_example_passes_every_rule_strictly() {
    let (_dir, manifests) = render("multi-cloud", &[]);
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
        let (code, text) = check_strict_json(&[&folder, &example("multi-cloud")]);
        assert_eq!(code, Some(0), "{site} denied or warned:\n{text}");
        assert!(!text.contains("cost.redpanda_untiered"), "{site}: {text}");
    }
}
