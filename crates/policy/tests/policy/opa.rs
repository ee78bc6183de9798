//! The guardrails give the same findings under the real OPA engine (Go, what `opa eval` and
//! conftest run) as under `ledger-policy`'s regorus: every fixture, every example tenant
//! rendered through the library, and edge cases where the engines used to differ (missing or
//! mistyped fields, non-ASCII strings, byte sizes at the 80% memory line, numbers in
//! resource addresses). OPA comes from `scripts/services/opa.sh` (`THINLEDGER_TEST_OPA_EVAL`).
//!
//! Each malformed production input must also be denied or refused, never passed.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use thinledger_policy::{Finding, InputSet, PolicyError, Report};
use thinledger_tests::{examples, services};
use thinledger_topology::Tenant;
use thinledger_topology::render::{
    CockroachMode, RenderOptions, ResourcePlan, render, render_sites,
};

use crate::{builtin, fixture};

/// One input set to evaluate under both engines.
struct Case {
    name: String,
    inputs: InputSet,
}

fn fixtures_root() -> PathBuf {
    fixture("")
}

/// Display name of a fixture, relative to the fixtures folder (as in findings).
fn rel(path: &Path) -> String {
    path.strip_prefix(fixtures_root())
        .unwrap()
        .display()
        .to_string()
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The fixture files of `rels` (each a file, or a folder of them), in order.
fn fixture_files(rels: &[&str]) -> Vec<PathBuf> {
    rels.iter()
        .flat_map(|r| {
            let path = fixture(r);
            if path.is_dir() {
                files_in(r)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// Loads fixtures (files or folders) under their relative names.
fn load(rels: &[&str]) -> InputSet {
    let mut set = InputSet::new();
    for p in fixture_files(rels) {
        add_text(&mut set, &rel(&p), &std::fs::read_to_string(&p).unwrap());
    }
    set
}

fn add_text(set: &mut InputSet, name: &str, text: &str) {
    if name.ends_with(".json") {
        set.add_json(name, text).unwrap();
    } else {
        set.add_yaml(name, text).unwrap();
    }
}

/// Every fixture on its own, each production folder, and the pairs the rule tests use.
fn fixture_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in ["k8s", "terraform", "quorum"] {
        for path in files_in(dir) {
            let name = rel(&path);
            cases.push(Case {
                inputs: load(&[&name]),
                name,
            });
        }
    }
    for provider in ["aws", "azure", "gcp", "onprem"] {
        let name = format!("production/{provider}");
        cases.push(Case {
            inputs: load(&[&name]),
            name,
        });
    }
    for pair in [
        ["terraform/topic-rf1.json", "k8s/tenant-aws.yaml"],
        ["terraform/topic-rf3.json", "k8s/tenant-aws.yaml"],
        ["k8s/static-key-secret.yaml", "k8s/tenant-onprem.yaml"],
        ["k8s/static-key-secret.yaml", "k8s/tenant-aws.yaml"],
        ["terraform/node-pools-2vcpu.json", "k8s/tenant-aws.yaml"],
        ["terraform/static-keys.json", "k8s/tenant-onprem.yaml"],
    ] {
        cases.push(Case {
            name: pair.join(" + "),
            inputs: load(&pair),
        });
    }
    cases.push(Case {
        name: "every fixture together".into(),
        inputs: load(&["k8s", "terraform"]),
    });
    cases
}

/// Each example tenant rendered in both CockroachDB modes, with its tenant file.
fn rendered_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for name in ["aws", "azure", "gcp", "onprem"] {
        let text = examples::tenant_text(name);
        let tenant = Tenant::from_yaml(&text).unwrap();
        let plan = ResourcePlan::from_tenant(&tenant).unwrap();
        for mode in [CockroachMode::StatefulSet, CockroachMode::Operator] {
            let rendering = render(&tenant, &plan, &RenderOptions::new(mode)).unwrap();
            let mut inputs = InputSet::new();
            inputs.add_yaml(format!("{name}.yaml"), &text).unwrap();
            for (file, yaml) in rendering.files().unwrap() {
                inputs.add_yaml(file, &yaml).unwrap();
            }
            cases.push(Case {
                name: format!("rendered {name}/{}", mode.as_str()),
                inputs,
            });
        }
    }
    // A tenant with sites: each site's rendering with the tenant file.
    let text = examples::tenant_text("multi-cloud");
    let tenant = Tenant::from_yaml(&text).unwrap();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let sites = render_sites(
        &tenant,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap();
    for site in sites {
        let mut inputs = InputSet::new();
        inputs.add_yaml("multi-cloud.yaml", &text).unwrap();
        for (file, yaml) in site.rendering.files().unwrap() {
            inputs.add_yaml(file, &yaml).unwrap();
        }
        cases.push(Case {
            name: format!("rendered multi-cloud/{}", site.site),
            inputs,
        });
    }
    cases
}

/// A fixture folder (or file) with one file's text edited: `from` must occur in it.
fn edited(set_rels: &[&str], file: &str, from: &str, to: &str) -> InputSet {
    let mut set = InputSet::new();
    let mut hit = false;
    for p in fixture_files(set_rels) {
        let name = rel(&p);
        let mut text = std::fs::read_to_string(&p).unwrap();
        if name == file {
            assert!(text.contains(from), "{file} has no {from:?}");
            text = text.replacen(from, to, 1);
            hit = true;
        }
        add_text(&mut set, &name, &text);
    }
    assert!(hit, "{file} is not among {set_rels:?}");
    set
}

const AWS: &str = "production/aws";
const AWS_CRDB: &str = "production/aws/cockroachdb.yaml";
const AWS_REDPANDA: &str = "production/aws/redpanda.yaml";
const STS_2VCPU: &str = "k8s/crdb-2vcpu.yaml";
const CRDB_CLUSTER: &str = "k8s/crdbcluster-8vcpu.yaml";
const OFFLINE: &str = "terraform/backup-buckets-offline.json";
const KAFKA_OPEN: &str = "k8s/redpanda-kafka-open.yaml";

/// Inputs the engines used to disagree on, or that passed silently: `(name, set, file,
/// from, to, malformed production input?)`.
#[allow(clippy::type_complexity)]
const EDGES: &[(&str, &str, &str, &str, &str, bool)] = &[
    (
        "db container without a name at 2 vCPU",
        STS_2VCPU,
        STS_2VCPU,
        "- name: db\n        image",
        "- image",
        true,
    ),
    (
        "container name 7",
        STS_2VCPU,
        STS_2VCPU,
        "- name: db\n",
        "- name: 7\n",
        true,
    ),
    (
        "container name null",
        STS_2VCPU,
        STS_2VCPU,
        "- name: db\n",
        "- name: null\n",
        true,
    ),
    (
        "replicas \"3\"",
        AWS,
        AWS_CRDB,
        "replicas: 3",
        "replicas: \"3\"",
        true,
    ),
    (
        "replicas 3.0 (the number 3)",
        AWS,
        AWS_CRDB,
        "replicas: 3",
        "replicas: 3.0",
        false,
    ),
    (
        "replicas null",
        AWS,
        AWS_CRDB,
        "replicas: 3",
        "replicas: null",
        true,
    ),
    (
        "nodes 3.5",
        CRDB_CLUSTER,
        CRDB_CLUSTER,
        "nodes: 3",
        "nodes: 3.5",
        true,
    ),
    (
        "nodes \"3\"",
        CRDB_CLUSTER,
        CRDB_CLUSTER,
        "nodes: 3",
        "nodes: \"3\"",
        true,
    ),
    ("cpu \"abc\"", AWS, AWS_CRDB, "cpu: \"8\"", "cpu: abc", true),
    ("cpu true", AWS, AWS_CRDB, "cpu: \"8\"", "cpu: true", true),
    (
        "cpu 3500m",
        STS_2VCPU,
        STS_2VCPU,
        "cpu: '2'\n            memory",
        "cpu: 3500m\n            memory",
        false,
    ),
    (
        "cpu 0.5",
        STS_2VCPU,
        STS_2VCPU,
        "cpu: '2'\n            memory",
        "cpu: 0.5\n            memory",
        false,
    ),
    ("cpu 1e1", AWS, AWS_CRDB, "cpu: \"8\"", "cpu: 1e1", false),
    (
        "memory limit a number",
        AWS,
        AWS_CRDB,
        "memory: 32Gi",
        "memory: 34359738368",
        false,
    ),
    (
        "memory \"lots\"",
        AWS,
        AWS_CRDB,
        "memory: 32Gi",
        "memory: lots",
        true,
    ),
    (
        "labels a list",
        AWS,
        AWS_CRDB,
        "app.kubernetes.io/part-of: thinledger",
        "x: [1]",
        false,
    ),
    (
        "metadata.name a number",
        AWS,
        AWS_CRDB,
        "name: cockroachdb\n",
        "name: 12345678901234567890\n",
        true,
    ),
    (
        "metadata.name a float",
        AWS,
        AWS_CRDB,
        "name: cockroachdb\n",
        "name: 1.5\n",
        true,
    ),
    (
        "namespace a number",
        STS_2VCPU,
        STS_2VCPU,
        "namespace: ledger-acme-bank",
        "namespace: 42",
        true,
    ),
    (
        "non-ASCII container name",
        STS_2VCPU,
        STS_2VCPU,
        "- name: db\n",
        "- name: \"dé😀\"\n",
        false,
    ),
    (
        "AKIA key id with astral characters",
        "k8s/static-key-secret.yaml",
        "k8s/static-key-secret.yaml",
        "kind: Secret",
        "kind: Secret\ndata:\n  note: AKIA😀😀😀😀😀😀😀😀",
        false,
    ),
    (
        "memory exactly at 80% in sizes",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=6.4Gi",
        false,
    ),
    (
        "memory just over 80% in sizes",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=6.41Gi",
        false,
    ),
    (
        "memory at 80% with a fractional limit",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=.3",
        false,
    ),
    (
        "memory in decimal bytes",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=10737418240",
        false,
    ),
    (
        "memory in GB",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=11GB",
        false,
    ),
    (
        "memory in percent",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=30.5%",
        false,
    ),
    (
        "memory flag garbage",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=lots",
        true,
    ),
    (
        "memory flag non-ASCII digits",
        AWS,
        AWS_CRDB,
        "--cache=.25",
        "--cache=.２５",
        true,
    ),
    (
        "node pool type with non-ASCII",
        "terraform/node-pools-8vcpu.json",
        "terraform/node-pools-8vcpu.json",
        "Standard_D8s_v5",
        "Standard_D８s_v5",
        false,
    ),
    (
        "redpanda replicas \"3\"",
        AWS,
        AWS_REDPANDA,
        "replicas: 3",
        "replicas: \"3\"",
        true,
    ),
    (
        "S3 storage class in lower case",
        OFFLINE,
        OFFLINE,
        "\"storage_class\": \"DEEP_ARCHIVE\"",
        "\"storage_class\": \"deep_archive\"",
        false,
    ),
    (
        "S3 storage class null",
        OFFLINE,
        OFFLINE,
        "\"storage_class\": \"DEEP_ARCHIVE\"",
        "\"storage_class\": null",
        false,
    ),
    (
        "S3 storage class a number",
        OFFLINE,
        OFFLINE,
        "\"storage_class\": \"GLACIER\"",
        "\"storage_class\": 7",
        false,
    ),
    (
        "S3 lifecycle rule status null",
        OFFLINE,
        OFFLINE,
        "\"status\": \"Enabled\"",
        "\"status\": null",
        false,
    ),
    (
        "Azure archive action null",
        OFFLINE,
        OFFLINE,
        "\"tier_to_archive_after_days_since_modification_greater_than\": 180",
        "\"tier_to_archive_after_days_since_modification_greater_than\": null",
        false,
    ),
    (
        "Azure archive action a string",
        OFFLINE,
        OFFLINE,
        "\"tier_to_archive_after_days_since_modification_greater_than\": 180",
        "\"tier_to_archive_after_days_since_modification_greater_than\": \"180\"",
        false,
    ),
    (
        "Kafka listener with cluster-wide SASL",
        KAFKA_OPEN,
        KAFKA_OPEN,
        "auto_create_topics_enabled: false\n",
        "auto_create_topics_enabled: false\n    enable_sasl: true\n",
        false,
    ),
    (
        "Kafka listener in plaintext",
        KAFKA_OPEN,
        KAFKA_OPEN,
        "enabled: true\n        key_file: /etc/tls/tls.key\n        name: internal",
        "enabled: false\n        key_file: /etc/tls/tls.key\n        name: internal",
        false,
    ),
    (
        "Kafka client auth quoted",
        KAFKA_OPEN,
        KAFKA_OPEN,
        "require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      admin",
        "require_client_auth: 'true'\n        truststore_file: /etc/tls/ca.crt\n      admin",
        false,
    ),
];

fn edge_cases() -> Vec<Case> {
    EDGES
        .iter()
        .map(|(name, set, file, from, to, _)| Case {
            name: (*name).to_owned(),
            inputs: edited(&[set], file, from, to),
        })
        .collect()
}

fn all_cases() -> Vec<Case> {
    let mut cases = fixture_cases();
    cases.extend(rendered_cases());
    cases.extend(edge_cases());
    cases
}

/// Findings of every case under OPA, through the harness; `None` when OPA is not set up.
fn opa(cases: &[Case], bridge: Option<&str>) -> Option<Vec<Result<BTreeSet<Finding>, String>>> {
    let harness = services::var("THINLEDGER_TEST_OPA_EVAL")?;
    let batch: Vec<Value> = cases.iter().map(|c| c.inputs.to_rego_input()).collect();
    let mut cmd = Command::new(harness);
    cmd.arg("--policies")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"));
    if let Some(bridge) = bridge {
        cmd.arg("--bridge").arg(bridge);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let payload = serde_json::to_vec(&batch).unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&payload));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "the OPA harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    Some(
        results
            .into_iter()
            .map(|r| match r.get("error") {
                Some(e) => Err(e.to_string()),
                None => Ok(serde_json::from_value(r["findings"].clone()).unwrap()),
            })
            .collect(),
    )
}

fn regorus(case: &Case) -> Result<BTreeSet<Finding>, String> {
    builtin()
        .evaluate(&case.inputs)
        .map(|r| r.findings.into_iter().collect())
        .map_err(|e| e.to_string())
}

/// Lines describing how two finding sets differ.
fn difference(ours: &BTreeSet<Finding>, theirs: &BTreeSet<Finding>) -> String {
    let line = |f: &Finding| format!("{} {} {}: {}", f.severity, f.rule, f.resource, f.message);
    let mut out = String::new();
    for f in ours.difference(theirs) {
        out.push_str(&format!("  only ledger-policy: {}\n", line(f)));
    }
    for f in theirs.difference(ours) {
        out.push_str(&format!("  only OPA:           {}\n", line(f)));
    }
    out
}

fn assert_agree(cases: &[Case], bridge: Option<&str>, engine: &str) {
    let Some(theirs) = opa(cases, bridge) else {
        return;
    };
    let mut problems = Vec::new();
    for (case, theirs) in cases.iter().zip(theirs) {
        match (regorus(case), theirs) {
            (Ok(ours), Ok(theirs)) if ours == theirs => {}
            (Ok(ours), Ok(theirs)) => problems.push(format!(
                "{}: findings differ\n{}",
                case.name,
                difference(&ours, &theirs)
            )),
            (ours, theirs) => problems.push(format!(
                "{}: ledger-policy {}, {engine} {}",
                case.name,
                ours.map_or_else(|e| format!("failed: {e}"), |f| format!("found {}", f.len())),
                theirs.map_or_else(|e| format!("failed: {e}"), |f| format!("found {}", f.len())),
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "ledger-policy and {engine} disagree on {} of {} inputs:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

/// What users run: `opa eval` and conftest leave strict builtin errors off.
#[test]
fn ledger_policy_and_opa_find_the_same_on_every_input() {
    assert_agree(&all_cases(), None, "OPA");
}

/// With strict builtin errors, a builtin given a value it cannot handle fails the query
/// instead of making its expression undefined. The policies never lean on that: they check
/// types before calling builtins, so both modes (and both engines) agree.
#[test]
fn no_builtin_fails_under_opa_strict_errors() {
    let Some(strict) = services::var("THINLEDGER_TEST_OPA_BRIDGE_STRICT") else {
        return;
    };
    assert_agree(&all_cases(), Some(&strict), "OPA (strict builtin errors)");
}

/// A malformed production input is denied or refused: never passed.
#[test]
fn malformed_production_inputs_are_denied_or_refused() {
    let mut passed = Vec::new();
    for (name, set, file, from, to, _) in EDGES.iter().filter(|e| e.5) {
        let outcome: Result<Report, PolicyError> =
            builtin().evaluate(&edited(&[set], file, from, to));
        match outcome {
            Ok(report) if report.is_denied() => {}
            Err(err) if err.is_input_error() => {}
            Ok(report) => passed.push(format!("{name} passed: {report:#?}")),
            Err(err) => passed.push(format!("{name}: the policies failed: {err}")),
        }
    }
    assert!(passed.is_empty(), "{}", passed.join("\n"));
}
