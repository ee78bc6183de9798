//! The quorum rule has one definition, `thinledger_topology::quorum`, and the Rego guardrails
//! (`thinledger.topology`, rule `topology.quorum`) hold the same figures and reach the same
//! verdicts: every tenant file under `fixtures/quorum` (the verdict table; its first line says
//! `Passes` or `Fails <fields>`) and every example tenant is refused on the same fields by
//! tenant validation and by the policies, or passed by both.

use std::collections::BTreeSet;

use thinledger_policy::{BUILTIN_POLICIES, InputSet};
use thinledger_tests::examples;
use thinledger_topology::{Tenant, quorum};

use crate::{builtin, fixture};

/// Fields a quorum refusal names in a tenant file (and every `sites…` field: a tenant with
/// sites is judged site by site, e.g. `sites[1].region`).
const QUORUM_FIELDS: [&str; 7] = [
    "cockroachdb.nodes",
    "regions",
    "regions[0].zones",
    "redpanda.brokers",
    "redpanda.region",
    "survival",
    "providers",
];

fn is_quorum_field(field: &str) -> bool {
    QUORUM_FIELDS.contains(&field) || field == "sites" || field.starts_with("sites[")
}

/// The fields tenant validation refuses for quorum.
fn model_verdict(text: &str) -> BTreeSet<String> {
    match Tenant::from_yaml(text) {
        Ok(_) => BTreeSet::new(),
        Err(err) => {
            let fields: BTreeSet<String> = err.problems().iter().map(|p| p.field.clone()).collect();
            assert!(
                fields.iter().all(|f| is_quorum_field(f)),
                "a fixture must fail only the quorum rule: {err}"
            );
            fields
        }
    }
}

/// The fields `topology.quorum` denies (its messages start with `field = value`).
fn policy_verdict(name: &str, text: &str) -> BTreeSet<String> {
    let mut inputs = InputSet::new();
    inputs.add_yaml(name, text).unwrap();
    builtin()
        .evaluate(&inputs)
        .unwrap()
        .findings
        .iter()
        .filter(|f| f.rule == "topology.quorum")
        .map(|f| f.message.split(" = ").next().unwrap_or_default().to_owned())
        .collect()
}

/// What the fixture's first line says: `# Passes…` or `# Fails a and b: …`.
fn declared_verdict(text: &str) -> BTreeSet<String> {
    let first = text.lines().next().unwrap_or_default();
    if first.starts_with("# Passes") {
        return BTreeSet::new();
    }
    let fields = first
        .strip_prefix("# Fails ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no verdict on the first line: {first}"));
    fields.split(" and ").map(str::to_owned).collect()
}

#[test]
fn the_model_and_the_policies_reach_the_same_verdicts() {
    let mut dir: Vec<_> = std::fs::read_dir(fixture("quorum"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dir.sort();
    assert!(dir.len() >= 10, "{dir:?}");
    assert!(
        dir.iter()
            .filter(|p| p.to_string_lossy().contains("sites-"))
            .count()
            >= 5,
        "multi-site cases: {dir:?}"
    );
    let mut cases: Vec<(String, String, Option<BTreeSet<String>>)> = dir
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let declared = declared_verdict(&text);
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                text,
                Some(declared),
            )
        })
        .collect();
    for name in ["aws", "azure", "gcp", "onprem", "multi-cloud"] {
        cases.push((
            format!("{name}.yaml"),
            examples::tenant_text(name),
            Some(BTreeSet::new()),
        ));
    }
    let mut disagreements = Vec::new();
    for (name, text, declared) in &cases {
        let model = model_verdict(text);
        let policy = policy_verdict(name, text);
        if Some(&model) != declared.as_ref() || policy != model {
            disagreements.push(format!(
                "{name}: declared {declared:?}, tenant validation {model:?}, policies {policy:?}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn a_refusal_names_the_field_the_value_the_rule_and_the_fix() {
    let text = std::fs::read_to_string(fixture("quorum/onprem-2-racks.yaml")).unwrap();
    let report = builtin()
        .evaluate(&{
            let mut inputs = InputSet::new();
            inputs.add_yaml("onprem-2-racks.yaml", &text).unwrap();
            inputs
        })
        .unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "topology.quorum" && f.message.starts_with("regions[0].zones"))
        .unwrap();
    assert_eq!(
        finding.message,
        "regions[0].zones = 2: losing zone rack-a (3 of 5 nodes) would lose 2 of the 3 replicas of some ranges, a majority, and they would stop"
    );
    assert_eq!(
        finding.remediation,
        "Fix: spread the nodes over at least 3 zones."
    );
    // Tenant validation says the same.
    let err = Tenant::from_yaml(&text).unwrap_err().to_string();
    assert!(
        err.contains("losing zone rack-a (3 of 5 nodes) would lose 2 of the 3 replicas"),
        "{err}"
    );
}

/// The Rego's figures are the model's.
#[test]
fn the_policies_hold_the_models_figures() {
    let mut engine = regorus::Engine::new();
    for (name, source) in BUILTIN_POLICIES {
        engine
            .add_policy((*name).to_owned(), (*source).to_owned())
            .unwrap();
    }
    let value = engine
        .eval_rule("data.thinledger.topology.quorum_rules".to_owned())
        .unwrap();
    let rules: serde_json::Value = serde_json::to_value(&value).unwrap();
    let model = quorum::RULES;
    let figure = |key: &str| {
        rules[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {rules}"))
    };
    assert_eq!(rules.as_object().map(|o| o.len()), Some(4), "{rules}");
    assert_eq!(figure("min_nodes"), f64::from(model.min_nodes));
    assert_eq!(
        figure("min_failure_domains"),
        model.min_failure_domains as f64
    );
    assert_eq!(
        figure("zone_replication_factor"),
        f64::from(model.zone_replication_factor)
    );
    assert_eq!(
        figure("region_replication_factor"),
        f64::from(model.region_replication_factor)
    );
}

/// For a tenant with sites the policies say what tenant validation says, word for word: the
/// field, the value, the rule naming the failure domain, and the fix.
#[test]
fn sites_refusals_say_what_tenant_validation_says() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture("quorum")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if !name.starts_with("sites-") || declared_verdict(&text).is_empty() {
            continue;
        }
        let model: BTreeSet<(String, String)> = Tenant::from_yaml(&text)
            .unwrap_err()
            .problems()
            .iter()
            .map(|p| {
                (
                    format!("{} = {}: {}", p.field, p.value, p.rule),
                    format!("Fix: {}.", p.fix),
                )
            })
            .collect();
        let mut inputs = InputSet::new();
        inputs.add_yaml(&name, &text).unwrap();
        let policy: BTreeSet<(String, String)> = builtin()
            .evaluate(&inputs)
            .unwrap()
            .findings
            .iter()
            .filter(|f| f.rule == "topology.quorum")
            .map(|f| (f.message.clone(), f.remediation.clone()))
            .collect();
        assert_eq!(policy, model, "{name}");
        checked += 1;
    }
    assert!(checked >= 4, "{checked} refused sites fixtures");
}
