//! A plan of 20,000 resource changes gets exactly the findings its few bad changes deserve.
//! How long it takes is measured by bench/policy.sh, not here.

use serde_json::{Value, json};
use thinledger_policy::{InputSet, Severity};

use super::builtin;

const CHANGES: usize = 20_000;

fn change(i: usize, rtype: &str, actions: &[&str], after: Value) -> Value {
    let module = format!("module.m{}", i % 40);
    let before = if actions == ["create"] {
        Value::Null
    } else {
        after.clone()
    };
    let after = if actions == ["delete"] {
        Value::Null
    } else {
        after
    };
    json!({
        "address": format!("{module}.{rtype}.r{i}"),
        "module_address": module,
        "mode": "managed",
        "type": rtype,
        "name": format!("r{i}"),
        "provider_name": "registry.terraform.io/hashicorp/x",
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
    })
}

/// Safe changes of the types the rules read (and others), in a fixed rotation.
fn ordinary(i: usize) -> Value {
    let tags = json!({"team": format!("team-{}", i % 17), "env": "staging"});
    let actions: &[&str] = [&["no-op"][..], &["update"], &["create"]][i % 3];
    match i % 6 {
        0 => change(
            i,
            "kubernetes_persistent_volume_claim_v1",
            actions,
            json!({"metadata": [{"name": format!("data-{i}"), "labels": {}}], "spec": [{"storage_class_name": "gp3"}]}),
        ),
        1 => change(
            i,
            "kubernetes_manifest",
            actions,
            json!({"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}"), "namespace": "web"}, "data": {"a": "b"}}}),
        ),
        2 => change(
            i,
            "aws_s3_bucket",
            actions,
            json!({"bucket": format!("assets-{i}"), "tags": tags}),
        ),
        3 => change(
            i,
            "aws_instance",
            actions,
            json!({"instance_type": "m6i.large", "tags": tags}),
        ),
        4 => change(
            i,
            "helm_release",
            actions,
            json!({"name": format!("web-{i}"), "chart": "nginx", "values": ["replicaCount: 2\n"]}),
        ),
        _ => change(
            i,
            "aws_ebs_volume",
            actions,
            json!({"type": "gp3", "size": 10, "tags": tags}),
        ),
    }
}

#[test]
fn a_plan_of_20000_changes_gets_exactly_its_findings() {
    let mut changes: Vec<Value> = (0..CHANGES).map(ordinary).collect();
    // Every 1000th change deletes a claim.
    for i in (999..CHANGES).step_by(1000) {
        changes[i] = change(
            i,
            "kubernetes_persistent_volume_claim_v1",
            &["delete"],
            json!({"metadata": [{"name": format!("data-{i}")}]}),
        );
    }
    changes[5000] = change(
        5000,
        "aws_iam_access_key",
        &["create"],
        json!({"user": "backup"}),
    );
    changes[9001] = change(
        9001,
        "kubernetes_secret_v1",
        &["create"],
        json!({"metadata": [{"name": "creds"}], "data": {"AWS_SECRET_ACCESS_KEY": "x"}}),
    );
    // One backup bucket without tiering, one tiered by a separate lifecycle configuration.
    changes[7000] = change(
        7000,
        "aws_s3_bucket",
        &["create"],
        json!({"bucket": "ledger-backup-a"}),
    );
    changes[7001] = change(
        7001,
        "aws_s3_bucket",
        &["create"],
        json!({"bucket": "ledger-backup-b"}),
    );
    changes[7002] = change(
        7002,
        "aws_s3_bucket_lifecycle_configuration",
        &["create"],
        json!({"bucket": "ledger-backup-b", "rule": [{"transition": [{"storage_class": "GLACIER_IR"}]}]}),
    );
    changes[7003] = change(
        7003,
        "aws_ebs_volume",
        &["create"],
        json!({"type": "gp2", "size": 10}),
    );
    let plan =
        json!({"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes});

    let mut inputs = InputSet::new();
    inputs
        .add_json("plan.json", &serde_json::to_string(&plan).unwrap())
        .unwrap();
    let report = builtin().evaluate(&inputs).unwrap();

    let mut found: Vec<(Severity, String, String)> = report
        .findings
        .iter()
        .map(|f| (f.severity, f.rule.clone(), f.resource.clone()))
        .collect();
    found.sort();
    let mut expected: Vec<(Severity, String, String)> = (999..CHANGES)
        .step_by(1000)
        .map(|i| {
            (
                Severity::Deny,
                "antideletion.pvc_destroyed".to_owned(),
                format!(
                    "module.m{}.kubernetes_persistent_volume_claim_v1.r{i}",
                    i % 40
                ),
            )
        })
        .collect();
    expected.extend([
        (
            Severity::Deny,
            "identity.static_cloud_key".to_owned(),
            "module.m0.aws_iam_access_key.r5000".to_owned(),
        ),
        (
            Severity::Deny,
            "identity.static_cloud_key".to_owned(),
            "module.m1.kubernetes_secret_v1.r9001".to_owned(),
        ),
        (
            Severity::Warn,
            "cost.backup_bucket_untiered".to_owned(),
            "module.m0.aws_s3_bucket.r7000".to_owned(),
        ),
        (
            Severity::Warn,
            "cost.legacy_disk_class".to_owned(),
            "module.m3.aws_ebs_volume.r7003".to_owned(),
        ),
    ]);
    expected.sort();
    assert_eq!(found, expected);
}
