//! The built-in guardrails against fixtures: for every rule a failing and a passing input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rstest::rstest;
use thinledger_policy::{InputSet, PolicyError, PolicySet, Report, Severity};

mod inputs;
mod large_plan;
mod opa;
mod quorum;

pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Copies the fixture `rel` to `to`.
fn copy_fixture(rel: &str, to: &Path) {
    std::fs::copy(fixture(rel), to).unwrap();
}

pub(crate) fn builtin() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| PolicySet::builtin().unwrap())
}

fn check(rels: &[&str]) -> Report {
    let paths: Vec<PathBuf> = rels.iter().map(|r| fixture(r)).collect();
    builtin()
        .evaluate(&InputSet::load(&paths).unwrap())
        .unwrap()
}

fn resources_of(report: &Report, rule: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.resource.clone())
        .collect()
}

#[test]
fn empty_input_has_no_findings() {
    let report = builtin().evaluate(&InputSet::new()).unwrap();
    assert!(report.findings.is_empty(), "{report:#?}");
    assert!(
        report
            .packages
            .contains(&"thinledger.antideletion".to_owned())
    );
}

/// Failing fixtures: the rule fires on exactly these resources, with this severity.
#[rstest]
// anti-deletion
#[case::pvc_deleted(&["terraform/pvc-delete.json"], "antideletion.pvc_destroyed", Severity::Deny, &["module.ledger.kubernetes_persistent_volume_claim_v1.data[\"cockroachdb-0\"]"])]
#[case::pvc_replaced(&["terraform/pvc-replace.json"], "antideletion.pvc_destroyed", Severity::Deny, &["kubernetes_persistent_volume_claim.datadir"])]
#[case::sts_retention_plan(&["terraform/statefulset-retention-delete.json"], "antideletion.statefulset_pvc_retention", Severity::Deny, &["module.ledger.module.crdb.kubernetes_stateful_set_v1.cockroachdb"])]
#[case::sts_retention_manifest(&["k8s/sts-retention-delete.yaml"], "antideletion.statefulset_pvc_retention", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::helm_destroyed(&["terraform/helm-release-destroyed.json"], "antideletion.helm_release_destroyed", Severity::Deny, &["module.ledger.helm_release.cockroachdb"])]
#[case::sc_reclaim_plan(&["terraform/storage-class-reclaim-delete.json"], "antideletion.reclaim_delete", Severity::Deny, &["kubernetes_storage_class_v1.ledger"])]
#[case::sc_reclaim_manifest(&["k8s/sc-reclaim-default.yaml"], "antideletion.reclaim_delete", Severity::Deny, &["StorageClass/ledger-gp3"])]
#[case::pv_reclaim(&["k8s/pv-reclaim-delete.yaml"], "antideletion.reclaim_delete", Severity::Deny, &["PersistentVolume/pv-datadir-cockroachdb-0"])]
// sizing
#[case::sts_2vcpu(&["k8s/crdb-2vcpu.yaml"], "sizing.min_vcpu", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::crdbcluster_2vcpu(&["k8s/crdbcluster-2vcpu.yaml"], "sizing.min_vcpu", Severity::Deny, &["CrdbCluster/ledger-acme-bank/cockroachdb"])]
#[case::node_pools_2vcpu(&["terraform/node-pools-2vcpu.json"], "sizing.min_vcpu", Severity::Deny, &["module.aks.azurerm_kubernetes_cluster_node_pool.ledger", "module.eks.aws_eks_node_group.ledger", "module.gke.google_container_node_pool.ledger"])]
#[case::tenant_2vcpu(&["k8s/tenant-2vcpu.yaml"], "sizing.min_vcpu", Severity::Deny, &["tenant/acme-bank"])]
#[case::requests_below_limits(&["k8s/crdb-requests-below-limits.yaml"], "sizing.guaranteed_qos", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::cache_too_large(&["k8s/crdb-cache-too-large.yaml"], "sizing.memory_flags", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
// topology
#[case::preferred_anti_affinity(&["k8s/crdb-preferred-anti-affinity.yaml"], "topology.anti_affinity", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::no_pdb(&["k8s/crdb-no-pdb.yaml"], "topology.pdb", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::even_replicas(&["k8s/crdb-4-replicas.yaml"], "topology.node_count", Severity::Deny, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::crdbcluster_even(&["k8s/crdbcluster-4-nodes.yaml"], "topology.node_count", Severity::Deny, &["CrdbCluster/ledger-acme-bank/cockroachdb"])]
#[case::tenant_even_nodes(&["quorum/aws-4-nodes.yaml"], "topology.quorum", Severity::Deny, &["tenant/acme-bank"])]
#[case::tenant_two_racks(&["quorum/onprem-2-racks.yaml"], "topology.quorum", Severity::Deny, &["tenant/acme-bank", "tenant/acme-bank"])]
#[case::tenant_region_of_one_zone(&["quorum/gcp-region-one-zone-regions.yaml"], "topology.quorum", Severity::Deny, &["tenant/acme-bank"])]
#[case::topic_rf1(&["k8s/topic-rf1.yaml"], "topology.replication_factor", Severity::Deny, &["Topic/ledger-acme-bank/ledger-events"])]
#[case::tf_topic_rf1(&["terraform/topic-rf1.json", "k8s/tenant-aws.yaml"], "topology.replication_factor", Severity::Deny, &["redpanda_topic.ledger_events"])]
// identity
#[case::secret_keys(&["k8s/static-key-secret.yaml"], "identity.static_cloud_key", Severity::Deny, &["Secret/ledger-acme-bank/backup-credentials", "Secret/ledger-acme-bank/backup-credentials"])]
#[case::secret_keys_aws_tenant(&["k8s/static-key-secret.yaml", "k8s/tenant-aws.yaml"], "identity.static_cloud_key", Severity::Deny, &["Secret/ledger-acme-bank/backup-credentials", "Secret/ledger-acme-bank/backup-credentials"])]
#[case::plan_keys(&["terraform/static-keys.json"], "identity.static_cloud_key", Severity::Deny, &["module.backup.aws_iam_access_key.backup", "module.backup.kubernetes_secret_v1.backup_credentials", "module.backup.kubernetes_secret_v1.backup_credentials"])]
// access
#[case::kafka_tls_only(&["k8s/redpanda-kafka-open.yaml"], "access.kafka_unauthenticated", Severity::Deny, &["ConfigMap/ledger-acme-bank/redpanda"])]
#[case::kafka_json(&["k8s/redpanda-kafka-open-json.yaml"], "access.kafka_unauthenticated", Severity::Deny, &["ConfigMap/ledger-acme-bank/redpanda"])]
#[case::rpc_without_client_auth(&["k8s/redpanda-rpc-open.yaml"], "access.redpanda_rpc_unauthenticated", Severity::Deny, &["ConfigMap/ledger-acme-bank/redpanda"])]
#[case::admin_plain_http(&["k8s/redpanda-admin-plaintext.yaml"], "access.redpanda_admin_unauthenticated", Severity::Deny, &["ConfigMap/ledger-acme-bank/redpanda"])]
#[case::rpc_cr_chart_default(&["k8s/redpanda-cr-rpc-open.yaml"], "access.redpanda_rpc_unauthenticated", Severity::Deny, &["Redpanda/ledger-acme-bank/redpanda"])]
#[case::admin_cr_chart_default(&["k8s/redpanda-cr-admin-open.yaml"], "access.redpanda_admin_unauthenticated", Severity::Deny, &["Redpanda/ledger-acme-bank/redpanda"])]
#[case::kafka_cr_chart_defaults(&["k8s/redpanda-cr-kafka-open.yaml"], "access.kafka_unauthenticated", Severity::Deny, &["Redpanda/ledger-acme-bank/redpanda"])]
// cost
#[case::redpanda_sts(&["k8s/redpanda-untiered.yaml"], "cost.redpanda_untiered", Severity::Warn, &["StatefulSet/ledger-acme-bank/redpanda"])]
#[case::redpanda_cr(&["k8s/redpanda-cr-untiered.yaml"], "cost.redpanda_untiered", Severity::Warn, &["Redpanda/ledger-acme-bank/redpanda"])]
#[case::redpanda_helm(&["terraform/redpanda-helm-untiered.json"], "cost.redpanda_untiered", Severity::Warn, &["module.ledger.helm_release.redpanda"])]
#[case::backup_buckets(&["terraform/backup-buckets-untiered.json"], "cost.backup_bucket_untiered", Severity::Warn, &["module.backup.aws_s3_bucket.backups", "module.backup.azurerm_storage_account.backups", "module.backup.google_storage_bucket.backups"])]
#[case::backup_buckets_offline(&["terraform/backup-buckets-offline.json"], "cost.backup_bucket_offline_tier", Severity::Deny, &["module.backup.aws_s3_bucket.backups", "module.backup.aws_s3_bucket_lifecycle_configuration.backups", "module.backup.azurerm_storage_management_policy.backups"])]
#[case::gp2_volumes(&["k8s/crdb-gp2.yaml"], "cost.legacy_disk_class", Severity::Warn, &["StatefulSet/ledger-acme-bank/cockroachdb"])]
#[case::gp2_ebs(&["terraform/ebs-gp2.json"], "cost.legacy_disk_class", Severity::Warn, &["aws_ebs_volume.scratch"])]
fn rule_fires(
    #[case] inputs: &[&str],
    #[case] rule: &str,
    #[case] severity: Severity,
    #[case] resources: &[&str],
) {
    let report = check(inputs);
    let found: Vec<_> = report.findings.iter().filter(|f| f.rule == rule).collect();
    let mut got: Vec<_> = found.iter().map(|f| f.resource.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, resources, "{report:#?}");
    for f in &found {
        assert_eq!(f.severity, severity, "{f:#?}");
        assert!(f.message.len() > 20 && !f.remediation.is_empty(), "{f:#?}");
        assert!(
            f.file.ends_with(inputs[0]) || inputs.iter().any(|i| f.file.ends_with(i)),
            "{f:#?}"
        );
    }
    // Each failing fixture is about its one rule.
    let others: Vec<_> = report.findings.iter().filter(|f| f.rule != rule).collect();
    assert!(others.is_empty(), "unexpected findings: {others:#?}");
}

/// Passing fixtures: the same shape without the problem.
#[rstest]
#[case::pvc_kept(&["terraform/pvc-kept.json"], "antideletion.pvc_destroyed")]
#[case::pvc_resized(&["terraform/pvc-resize.json"], "antideletion.pvc_destroyed")]
#[case::sts_retain_plan(&["terraform/statefulset-retention-retain.json"], "antideletion.statefulset_pvc_retention")]
#[case::helm_upgraded(&["terraform/helm-release-upgraded.json"], "antideletion.helm_release_destroyed")]
#[case::sc_retain_plan(&["terraform/storage-class-reclaim-retain.json"], "antideletion.reclaim_delete")]
#[case::pv_retain(&["k8s/pv-reclaim-retain.yaml"], "antideletion.reclaim_delete")]
#[case::staging_2vcpu(&["k8s/crdb-2vcpu-staging.yaml"], "sizing.min_vcpu")]
#[case::crdbcluster_8vcpu(&["k8s/crdbcluster-8vcpu.yaml"], "sizing.min_vcpu")]
#[case::init_job_is_a_client(&["k8s/crdb-init-job.yaml"], "sizing.min_vcpu")]
#[case::init_job_not_guaranteed(&["k8s/crdb-init-job.yaml"], "sizing.guaranteed_qos")]
#[case::node_pools_8vcpu(&["terraform/node-pools-8vcpu.json"], "sizing.min_vcpu")]
#[case::tenant_8vcpu(&["production/aws/tenant.yaml"], "sizing.min_vcpu")]
#[case::cache_sized(&["k8s/crdb-cache-sized.yaml"], "sizing.memory_flags")]
#[case::five_replicas(&["k8s/crdb-5-replicas.yaml"], "topology.node_count")]
#[case::tenant_5_nodes(&["quorum/aws-5-nodes.yaml"], "topology.quorum")]
#[case::tenant_7_nodes(&["quorum/aws-7-nodes.yaml"], "topology.quorum")]
#[case::tenant_5_nodes_3_regions(&["quorum/gcp-region-5-nodes.yaml"], "topology.quorum")]
#[case::topic_rf3(&["k8s/topic-rf3.yaml"], "topology.replication_factor")]
#[case::tf_topic_rf3(&["terraform/topic-rf3.json", "k8s/tenant-aws.yaml"], "topology.replication_factor")]
#[case::tf_topic_not_production(&["terraform/topic-rf1.json"], "topology.replication_factor")]
#[case::onprem_minio_keys(&["k8s/static-key-secret.yaml", "k8s/tenant-onprem.yaml"], "identity.static_cloud_key")]
#[case::workload_identity(&["terraform/workload-identity.json"], "identity.static_cloud_key")]
#[case::kafka_mtls(&["k8s/redpanda-kafka-mtls.yaml"], "access.kafka_unauthenticated")]
#[case::kafka_sasl(&["k8s/redpanda-kafka-sasl.yaml"], "access.kafka_unauthenticated")]
#[case::rpc_mtls(&["k8s/redpanda-kafka-mtls.yaml"], "access.redpanda_rpc_unauthenticated")]
#[case::admin_mtls(&["k8s/redpanda-kafka-sasl.yaml"], "access.redpanda_admin_unauthenticated")]
#[case::redpanda_cr_tiered(&["k8s/redpanda-cr-tiered.yaml"], "cost.redpanda_untiered")]
#[case::redpanda_helm_tiered(&["terraform/redpanda-helm-tiered.json"], "cost.redpanda_untiered")]
#[case::backup_buckets_tiered(&["terraform/backup-buckets-tiered.json"], "cost.backup_bucket_untiered")]
#[case::backup_buckets_online_tiers(&["terraform/backup-buckets-tiered.json"], "cost.backup_bucket_offline_tier")]
#[case::ebs_gp3(&["terraform/ebs-gp3.json"], "cost.legacy_disk_class")]
fn rule_passes(#[case] inputs: &[&str], #[case] rule: &str) {
    let report = check(inputs);
    assert!(report.findings.is_empty(), "{rule}: {report:#?}");
}

/// The Kafka listener rule over variants of `redpanda.yaml` (the open fixture with `from`
/// replaced by `to`): denied with a message containing the text given, or passed.
#[rstest]
#[case::tls_without_client_auth(
    "",
    "",
    Some(
        "\"internal\" (redpanda.yaml) uses TLS without client certificates (require_client_auth is not true) and without SASL: any pod that reaches its port is admitted"
    )
)]
#[case::staging("thinledger.io/tier: prod", "thinledger.io/tier: staging", None)]
#[case::client_auth_quoted(
    "require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      admin",
    "require_client_auth: 'true'\n        truststore_file: /etc/tls/ca.crt\n      admin",
    None
)]
#[case::cluster_wide_sasl(
    "auto_create_topics_enabled: false\n",
    "auto_create_topics_enabled: false\n    enable_sasl: true\n",
    None
)]
#[case::mtls_identity(
    "port: 9092\n      advertised",
    "port: 9092\n        authentication_method: mtls_identity\n      advertised",
    None
)]
#[case::plaintext(
    "enabled: true\n        key_file: /etc/tls/tls.key\n        name: internal",
    "enabled: false\n        key_file: /etc/tls/tls.key\n        name: internal",
    Some("has neither TLS client certificates nor SASL")
)]
#[case::tls_of_another_listener(
    "key_file: /etc/tls/tls.key\n        name: internal\n        require_client_auth: false",
    "key_file: /etc/tls/tls.key\n        name: external\n        require_client_auth: true",
    Some("has neither TLS client certificates nor SASL")
)]
fn kafka_listeners_authenticate_their_clients(
    #[case] from: &str,
    #[case] to: &str,
    #[case] denied: Option<&str>,
) {
    let text = std::fs::read_to_string(fixture("k8s/redpanda-kafka-open.yaml")).unwrap();
    assert!(text.contains(from), "{from:?}");
    let mut inputs = InputSet::new();
    inputs
        .add_yaml("redpanda.yaml", &text.replacen(from, to, 1))
        .unwrap();
    let report = builtin().evaluate(&inputs).unwrap();
    let messages: Vec<&str> = report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, "access.kafka_unauthenticated", "{f:#?}");
            f.message.as_str()
        })
        .collect();
    match denied {
        Some(text) => {
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(messages[0].contains(text), "{messages:?}");
        }
        None => assert!(messages.is_empty(), "{messages:?}"),
    }
}

/// The RPC and admin listener rules over variants of `redpanda.yaml` (the mTLS fixture, which
/// passes every access rule, with each `from` replaced by its `to`; `json` first rewrites it as JSON):
/// denied by `rule` with a message containing the text given, or passed.
#[rstest]
#[case::passes(&[], false, None)]
#[case::passes_as_json(&[], true, None)]
#[case::rpc_without_client_auth(
    &[("require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:", "require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:")],
    false,
    Some(("access.redpanda_rpc_unauthenticated", "Redpanda's RPC listener (redpanda.yaml) uses TLS without client certificates"))
)]
#[case::rpc_without_client_auth_json(
    &[("require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:", "require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:")],
    true,
    Some(("access.redpanda_rpc_unauthenticated", "uses TLS without client certificates"))
)]
#[case::rpc_plaintext(
    &[("      rpc_server_tls:\n        cert_file: /etc/tls/tls.crt\n        enabled: true", "      rpc_server_tls:\n        cert_file: /etc/tls/tls.crt\n        enabled: false")],
    false,
    Some(("access.redpanda_rpc_unauthenticated", "is plaintext"))
)]
#[case::rpc_staging(&[("thinledger.io/tier: prod", "thinledger.io/tier: staging"), ("require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:", "require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      kafka_api:")], false, None)]
#[case::admin_without_client_auth(
    &[("name: internal\n        require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      rack", "name: internal\n        require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      rack")],
    false,
    Some(("access.redpanda_admin_unauthenticated", "\"internal\" (redpanda.yaml) uses TLS without client certificates (require_client_auth is not true) and admin_api_require_auth is off"))
)]
#[case::admin_basic_auth_over_tls(
    &[
        ("name: internal\n        require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      rack", "name: internal\n        require_client_auth: false\n        truststore_file: /etc/tls/ca.crt\n      rack"),
        ("auto_create_topics_enabled: false\n", "auto_create_topics_enabled: false\n    admin_api_require_auth: true\n"),
    ],
    false,
    None
)]
#[case::admin_tls_of_another_listener(
    &[("        name: internal\n        require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      rack", "        name: external\n        require_client_auth: true\n        truststore_file: /etc/tls/ca.crt\n      rack")],
    false,
    Some(("access.redpanda_admin_unauthenticated", "is plain HTTP"))
)]
#[case::admin_default_listener(
    &[("      admin:\n      - address: 0.0.0.0\n        name: internal\n        port: 9644\n", "")],
    true,
    Some(("access.redpanda_admin_unauthenticated", "listener \"\" (redpanda.yaml) is plain HTTP"))
)]
fn rpc_and_admin_listeners_authenticate_their_callers(
    #[case] changes: &[(&str, &str)],
    #[case] json: bool,
    #[case] denied: Option<(&str, &str)>,
) {
    let mut text = std::fs::read_to_string(fixture("k8s/redpanda-kafka-mtls.yaml")).unwrap();
    for (from, to) in changes {
        assert!(text.contains(from), "{from:?}");
        text = text.replacen(from, to, 1);
    }
    if json {
        text = as_json_config(&text);
    }
    let mut inputs = InputSet::new();
    inputs.add_yaml("redpanda.yaml", &text).unwrap();
    let report = builtin().evaluate(&inputs).unwrap();
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.message.as_str()))
        .collect();
    match denied {
        Some((rule, message)) => {
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].0, rule, "{found:?}");
            assert!(found[0].1.contains(message), "{found:?}");
        }
        None => assert!(found.is_empty(), "{found:?}"),
    }
}

/// The fixture with its ConfigMap's `redpanda.yaml` and `bootstrap.yaml` rewritten as JSON.
fn as_json_config(text: &str) -> String {
    let mut docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    for key in ["redpanda.yaml", "bootstrap.yaml"] {
        let data = &mut docs[1]["data"][key];
        let value: serde_json::Value = serde_yaml_ng::from_str(data.as_str().unwrap()).unwrap();
        *data = serde_json::Value::String(serde_json::to_string_pretty(&value).unwrap());
    }
    docs.iter()
        .map(|d| serde_yaml_ng::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// One realistic production manifest set per provider passes every rule, deny and warn.
#[rstest]
fn production_sets_pass_every_rule(#[values("aws", "azure", "gcp", "onprem")] provider: &str) {
    let report = check(&[&format!("production/{provider}")]);
    assert_eq!(report.files.len(), 4);
    assert!(report.findings.is_empty(), "{report:#?}");
}

/// The production sets really are checked: breaking one thing in them is caught.
#[test]
fn production_set_at_2_vcpu_is_denied() {
    let dir = fixture("production/aws");
    let mut inputs = InputSet::new();
    for name in ["namespace.yaml", "tenant.yaml", "redpanda.yaml"] {
        inputs.add_path(&dir.join(name)).unwrap();
    }
    let crdb = std::fs::read_to_string(dir.join("cockroachdb.yaml")).unwrap();
    assert_eq!(crdb.matches("cpu: \"8\"").count(), 2);
    inputs
        .add_yaml(
            "cockroachdb.yaml",
            &crdb.replace("cpu: \"8\"", "cpu: \"2\""),
        )
        .unwrap();
    let report = builtin().evaluate(&inputs).unwrap();
    assert_eq!(
        resources_of(&report, "sizing.min_vcpu"),
        ["StatefulSet/ledger-acme-bank/cockroachdb"]
    );
    assert!(report.fails(false));
}

#[test]
fn pvc_deletion_is_denied_naming_the_address_and_the_plan_without_it_passes() {
    let denied = check(&["terraform/pvc-delete.json"]);
    let finding = denied.denials().next().unwrap();
    assert!(
        finding.message.contains("destroys a PersistentVolumeClaim"),
        "{finding:#?}"
    );
    assert_eq!(
        finding.resource,
        "module.ledger.kubernetes_persistent_volume_claim_v1.data[\"cockroachdb-0\"]"
    );
    assert!(denied.is_denied());
    let replaced = check(&["terraform/pvc-replace.json"]);
    assert!(
        replaced
            .denials()
            .next()
            .unwrap()
            .message
            .contains("replaces")
    );
    let kept = check(&["terraform/pvc-kept.json"]);
    assert!(!kept.is_denied() && kept.findings.is_empty(), "{kept:#?}");
}

#[test]
fn all_findings_come_in_one_pass() {
    let report = check(&[
        "terraform/pvc-delete.json",
        "terraform/node-pools-2vcpu.json",
        "terraform/backup-buckets-untiered.json",
        "k8s/crdb-no-pdb.yaml",
    ]);
    assert_eq!(report.denials().count(), 5, "{report:#?}");
    assert_eq!(report.warnings().count(), 3, "{report:#?}");
    assert!(report.fails(false));
    // Denials sort first.
    assert_eq!(report.findings[0].severity, Severity::Deny);
}

#[test]
fn warnings_fail_only_in_strict_mode() {
    let report = check(&["terraform/ebs-gp2.json"]);
    assert!(!report.is_denied());
    assert!(!report.fails(false));
    assert!(report.fails(true));
}

#[rstest]
#[case::json("malformed/plan.json", "JSON", 5)]
#[case::yaml("malformed/manifests.yaml", "YAML", 11)]
fn malformed_input_is_reported_with_file_and_line(
    #[case] rel: &str,
    #[case] format: &str,
    #[case] line: usize,
) {
    let err = InputSet::load(&[fixture(rel)]).unwrap_err();
    assert!(err.is_input_error());
    match &err {
        PolicyError::Parse {
            path,
            format: f,
            line: l,
            ..
        } => {
            assert!(path.ends_with(rel));
            assert_eq!((*f, *l), (format, line));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains(&format!("{rel}:{line}:")), "{err}");
}

#[test]
fn a_directory_without_inputs_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing").unwrap();
    let err = InputSet::load(&[dir.path()]).unwrap_err();
    assert!(
        matches!(err, PolicyError::NoInput { .. }) && err.is_input_error(),
        "{err}"
    );
}

/// The policies accept plain (not combined) input too, as `conftest test FILE` and
/// `opa eval -i FILE` give it.
#[test]
fn uncombined_input_shapes_are_accepted() {
    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("terraform/pvc-replace.json")).unwrap(),
    )
    .unwrap();
    let report = builtin().evaluate_value(plan).unwrap();
    assert_eq!(
        resources_of(&report, "antideletion.pvc_destroyed"),
        ["kubernetes_persistent_volume_claim.datadir"]
    );
    assert_eq!(report.findings[0].file, "");

    let docs: Vec<serde_json::Value> = {
        let mut set = InputSet::new();
        set.add_path(&fixture("k8s/crdb-2vcpu.yaml")).unwrap();
        set.files()[0].documents.clone()
    };
    let report = builtin()
        .evaluate_value(serde_json::Value::Array(docs))
        .unwrap();
    assert_eq!(
        resources_of(&report, "sizing.min_vcpu"),
        ["StatefulSet/ledger-acme-bank/cockroachdb"]
    );
}

#[test]
fn user_policies_in_conftest_style_are_evaluated_alongside() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome item in input\n\tsome doc in item.contents\n\tdoc.kind == \"Secret\"\n\tmsg := sprintf(\"%s: Secrets are managed elsewhere\", [item.path])\n}\n\nwarn_labels contains {\"msg\": \"label everything\", \"rule\": \"ours.labels\"} if count(input) > 0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main_test.rego"),
        "this is not rego and is skipped",
    )
    .unwrap();
    let mut set = PolicySet::builtin().unwrap();
    set.add_path(dir.path()).unwrap();
    let inputs = InputSet::load(&[fixture("k8s/static-key-secret.yaml")]).unwrap();
    let report = set.evaluate(&inputs).unwrap();
    let ours: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("main.") || f.rule.starts_with("ours."))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    assert_eq!(ours[0].rule, "main.deny");
    assert_eq!(ours[0].severity, Severity::Deny);
    assert!(ours[0].message.ends_with("Secrets are managed elsewhere"));
    assert_eq!(
        (ours[1].rule.as_str(), ours[1].severity),
        ("ours.labels", Severity::Warn)
    );
    // The built-in identity rule still fires in the same pass.
    assert_eq!(resources_of(&report, "identity.static_cloud_key").len(), 2);
}

#[test]
fn policy_errors_name_the_file() {
    let mut set = PolicySet::empty();
    let err = set
        .add_policy("broken.rego", "package x\n\ndeny contains m if {\n")
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, PolicyError::Policy { .. }) && !err.is_input_error());
    assert!(err.to_string().starts_with("policy broken.rego:"), "{err}");

    let mut set = PolicySet::empty();
    set.add_policy(
        "numbers.rego",
        "package x\n\nimport rego.v1\n\ndeny contains 42 if true\n",
    )
    .unwrap();
    let err = set.evaluate(&InputSet::new()).unwrap_err();
    assert!(matches!(err, PolicyError::BadFinding { .. }), "{err}");
}

/// Every fixture at once: inputs that disagree (one Namespace labelled staging in one file and
/// prod in another) must not make a Rego function conflict; any production label wins.
#[test]
fn all_fixtures_together_evaluate_without_conflicts() {
    let report = check(&["terraform", "k8s"]);
    assert_eq!(report.files.len(), 23 + 36);
    let staging = resources_of(&report, "sizing.min_vcpu");
    assert!(
        staging
            .iter()
            .filter(|r| r.as_str() == "StatefulSet/ledger-acme-bank/cockroachdb")
            .count()
            == 2,
        "{staging:?}"
    );
    // The on-prem tenant in k8s/ exempts every static key, in manifests and plans alike.
    assert!(resources_of(&report, "identity.static_cloud_key").is_empty());
}
