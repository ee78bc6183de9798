//! Integration tests of the tenant file and the Kubernetes rendering: snapshots of every
//! provider in both CockroachDB modes, the done-when properties, refusals, and validation of
//! every rendered document by independent tools (kubernetes-validate against the OpenAPI
//! schemas of two Kubernetes minors; checkov, a security scanner).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rstest::rstest;
use serde_json::Value;
use thinledger_tests::examples::tenant_text as example_text;
use thinledger_tests::kubernetes::{KUBERNETES_VERSIONS, validate_strict};
use thinledger_tests::services::var as service;
use thinledger_topology::render::{
    CockroachMode, Manifest, RenderOptions, Rendering, ResourcePlan, check_crdb_cluster, render,
};
use thinledger_topology::{Provider, Tenant, TenantError};

#[path = "topology/certs.rs"]
mod certs;
#[path = "topology/iam.rs"]
mod iam;
#[path = "topology/monitoring.rs"]
mod monitoring;
#[path = "topology/redpanda.rs"]
mod redpanda;
#[path = "topology/rollout.rs"]
mod rollout;
#[path = "topology/sites.rs"]
mod sites;

const PROVIDERS: [&str; 4] = ["aws", "azure", "gcp", "onprem"];
const MODES: [CockroachMode; 2] = [CockroachMode::StatefulSet, CockroachMode::Operator];

fn example(name: &str) -> Tenant {
    Tenant::from_yaml(&example_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn rendering(name: &str, mode: CockroachMode) -> Rendering {
    let tenant = example(name);
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    render(&tenant, &plan, &RenderOptions::new(mode)).unwrap()
}

/// The tenant of `text` rendered in `mode` for one `region` (of a multi-region tenant, such as
/// [`multi_region_text`]'s).
fn region_rendering(text: &str, mode: CockroachMode, region: &str) -> Rendering {
    let tenant = Tenant::from_yaml(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    render(
        &tenant,
        &plan,
        &RenderOptions::new(mode).with_region(region),
    )
    .unwrap()
}

fn json(m: &Manifest) -> Value {
    m.to_json().unwrap()
}

/// Pod specs of every workload (StatefulSets and Jobs), with their object names.
fn pod_specs(r: &Rendering) -> Vec<(String, Value)> {
    r.objects
        .iter()
        .filter(|o| matches!(o.kind(), "StatefulSet" | "Job"))
        .map(|o| {
            (
                o.name().to_owned(),
                json(o)["spec"]["template"]["spec"].clone(),
            )
        })
        .collect()
}

#[rstest]
fn snapshots(
    #[values("aws", "azure", "gcp", "onprem")] provider: &str,
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let yaml = rendering(provider, mode).to_yaml().unwrap();
    insta::assert_snapshot!(format!("{provider}-{mode}"), yaml);
}

#[rstest]
fn done_when_properties(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let tenant = example(name);
    let provider = tenant.provider();
    let r = rendering(name, mode);
    let yaml = r.to_yaml().unwrap();

    // Required anti-affinity on the host name for every database and broker.
    let mut scheduled = Vec::new();
    for o in &r.objects {
        let v = json(o);
        match o.kind() {
            "StatefulSet" => scheduled.push((
                o.name().to_owned(),
                v["spec"]["template"]["spec"].clone(),
                v["spec"]["replicas"].as_i64().unwrap(),
            )),
            "CrdbCluster" => scheduled.push((
                o.name().to_owned(),
                v["spec"].clone(),
                v["spec"]["nodes"].as_i64().unwrap(),
            )),
            _ => {}
        }
    }
    assert_eq!(scheduled.len(), 2, "cockroachdb and redpanda");
    for (object, spec, replicas) in &scheduled {
        let term = &spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            [0];
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname", "{object}");
        assert!(term["labelSelector"]["matchLabels"].is_object(), "{object}");
        let spread = &spec["topologySpreadConstraints"][0];
        assert_eq!(spread["topologyKey"], provider.topology_key(), "{object}");
        assert_eq!(spread["whenUnsatisfiable"], "DoNotSchedule", "{object}");
        assert!(*replicas >= 3 && replicas % 2 == 1, "{object}: {replicas}");
    }

    // Disruption budgets of one.
    let pdbs: Vec<Value> = r
        .objects
        .iter()
        .filter(|o| o.kind() == "PodDisruptionBudget")
        .map(json)
        .collect();
    let expected_pdbs = if mode == CockroachMode::Operator {
        1
    } else {
        2
    };
    assert_eq!(pdbs.len(), expected_pdbs);
    for pdb in &pdbs {
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    }
    if mode == CockroachMode::Operator {
        let crdb = json(r.find("CrdbCluster", "cockroachdb").unwrap());
        assert_eq!(crdb["spec"]["maxUnavailable"], 1);
    }

    // The provider's storage class on every claim, and on the StorageClass where rendered.
    let class = tenant.storage().class_name;
    assert!(
        provider
            .storage_profiles()
            .iter()
            .any(|p| p.class_name == class)
    );
    let claims = yaml.matches(&format!("storageClassName: {class}")).count();
    assert_eq!(claims, 2, "{yaml}");
    assert_eq!(
        r.find("StorageClass", class).is_some(),
        matches!(provider, Provider::Aws | Provider::OnPrem)
    );
    if let Some(sc) = r.find("StorageClass", class) {
        let sc = json(sc);
        assert_eq!(sc["reclaimPolicy"], "Retain");
        assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
    }

    // The provider's identity binding on the database's ServiceAccount.
    let sa_name = match mode {
        CockroachMode::StatefulSet => "cockroachdb",
        _ => "cockroachdb-sa",
    };
    let sa = json(r.find("ServiceAccount", sa_name).unwrap());
    let annotations = &sa["metadata"]["annotations"];
    match provider {
        Provider::Aws => assert_eq!(
            annotations["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::123456789012:role/acme-ledger-backup"
        ),
        Provider::Azure => {
            assert_eq!(
                annotations["azure.workload.identity/client-id"],
                "0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d"
            );
            assert!(
                yaml.contains("azure.workload.identity/use: 'true'"),
                "{yaml}"
            );
        }
        Provider::Gcp => assert_eq!(
            annotations["iam.gke.io/gcp-service-account"],
            "ledger-backup@fabrikam-prod.iam.gserviceaccount.com"
        ),
        _ => {
            assert_eq!(
                annotations["thinledger.io/backup-credentials-secret"],
                "minio-ledger-backup"
            );
            // A reference only: no Secret object and no key material is rendered.
            assert!(r.objects.iter().all(|o| o.kind() != "Secret"));
        }
    }

    // Locality flag with cloud and region, and the zone read from the node where there are zones.
    let region = &tenant.locality().regions()[0].name;
    assert!(
        yaml.contains(&format!("cloud={provider},region={region}")),
        "{yaml}"
    );
    assert!(yaml.contains("--locality="), "{yaml}");
    if provider.has_zones() {
        assert!(yaml.contains("/api/v1/nodes/${NODE_NAME}"), "{yaml}");
        assert!(r.objects.iter().any(|o| o.kind() == "ClusterRole"));
    }
}

#[rstest]
fn statefulset_hardening(#[values("aws", "azure", "gcp", "onprem")] name: &str) {
    let r = rendering(name, CockroachMode::StatefulSet);
    let ns = json(&r.objects[0]);
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    for (object, spec) in pod_specs(&r) {
        assert_eq!(spec["automountServiceAccountToken"], false, "{object}");
        let pod = &spec["securityContext"];
        assert_eq!(pod["runAsNonRoot"], true, "{object}");
        assert!(pod["runAsUser"].as_i64().unwrap() > 10_000, "{object}");
        assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault", "{object}");
        let containers = [spec["initContainers"].clone(), spec["containers"].clone()];
        for c in containers.iter().filter_map(Value::as_array).flatten() {
            let name = c["name"].as_str().unwrap();
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{object}/{name}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{object}/{name}");
            assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{object}/{name}");
            assert_eq!(c["imagePullPolicy"], "IfNotPresent", "{object}/{name}");
            let image = c["image"].as_str().unwrap();
            assert!(image.contains(":v"), "{object}/{name}: {image}");
            let res = &c["resources"];
            assert_eq!(
                res["requests"], res["limits"],
                "{object}/{name}: Guaranteed"
            );
        }
    }
    let crdb = json(r.find("StatefulSet", "cockroachdb").unwrap());
    assert_eq!(
        crdb["spec"]["persistentVolumeClaimRetentionPolicy"],
        serde_json::json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    let main = &crdb["spec"]["template"]["spec"]["containers"][0];
    let start = main["command"][2].as_str().unwrap();
    for flag in [
        "--join=",
        "--cache=8GiB",
        "--max-sql-memory=8GiB",
        "--certs-dir=",
    ] {
        assert!(start.contains(flag), "{flag} in {start}");
    }
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        assert!(main[probe].is_object(), "{probe}");
    }
    let redpanda = json(r.find("StatefulSet", "redpanda").unwrap());
    let args = redpanda["spec"]["template"]["spec"]["containers"][0]["command"].clone();
    let args: Vec<&str> = args
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for flag in ["--smp=4", "--memory=14745M", "--reserve-memory=0M"] {
        assert!(args.contains(&flag), "{flag} in {args:?}");
    }
    let config = json(r.find("ConfigMap", "redpanda").unwrap());
    let bootstrap = config["data"]["bootstrap.yaml"].as_str().unwrap();
    assert!(
        bootstrap.contains("default_topic_replications: 3"),
        "{bootstrap}"
    );
    assert!(
        bootstrap.contains("enable_rack_awareness: true"),
        "{bootstrap}"
    );
}

#[test]
fn tuning_is_opt_in_and_says_why() {
    let text = example_text("aws").replace("  brokers: 3\n", "  brokers: 3\n  tuning: true\n");
    let tenant = Tenant::from_yaml(&text).unwrap();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let r = render(&tenant, &plan, &RenderOptions::default()).unwrap();
    let sts = json(r.find("StatefulSet", "redpanda").unwrap());
    let tune = &sts["spec"]["template"]["spec"]["initContainers"][1];
    assert_eq!(tune["name"], "tune");
    assert_eq!(tune["securityContext"]["privileged"], true);
    let why = sts["metadata"]["annotations"]["thinledger.io/privileged-tuning"]
        .as_str()
        .unwrap();
    assert!(
        why.starts_with("on") && why.contains("kernel settings"),
        "{why}"
    );
    let ns = json(&r.objects[0]);
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert!(!tenant.advice().is_empty());

    let off = rendering("aws", CockroachMode::StatefulSet);
    let sts = json(off.find("StatefulSet", "redpanda").unwrap());
    assert_eq!(
        sts["spec"]["template"]["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn operator_resource_passes_its_structural_check() {
    for name in PROVIDERS {
        let r = rendering(name, CockroachMode::Operator);
        let crdb = json(r.find("CrdbCluster", "cockroachdb").unwrap());
        assert_eq!(check_crdb_cluster(&crdb), Vec::<String>::new(), "{name}");
        let gates = crdb["metadata"]["annotations"]["thinledger.io/operator-feature-gates"]
            .as_str()
            .unwrap();
        assert!(
            gates.contains("AffinityRules=true,TopologySpreadRules=true"),
            "{gates}"
        );
    }
    // The check catches what matters.
    let mut broken = json(
        rendering("aws", CockroachMode::Operator)
            .find("CrdbCluster", "cockroachdb")
            .unwrap(),
    );
    broken["spec"]["nodes"] = 4.into();
    broken["spec"]["maxUnavailable"] = 2.into();
    broken["spec"]["replicas"] = 3.into();
    let problems = check_crdb_cluster(&broken);
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn file_names_are_stable_and_ordered() {
    let r = rendering("aws", CockroachMode::StatefulSet);
    let files = r.files().unwrap();
    assert_eq!(files.len(), r.objects.len());
    assert_eq!(files[0].0, "01-namespace-ledger-acme-bank-prod.yaml");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert_eq!(r.files().unwrap(), files);
}

/// aws.yaml over three regions (three clusters), nine nodes, surviving a region's loss.
fn multi_region_text() -> String {
    example_text("aws").replace(
        "regions:\n  - name: us-east-1\n    zones: [us-east-1a, us-east-1b, us-east-1c]\n",
        "regions:\n  - name: us-east-1\n    zones: [us-east-1a, us-east-1b, us-east-1c]\n    cluster_domain: use1.ledger.internal\n  - name: us-west-2\n    zones: [us-west-2a, us-west-2b, us-west-2c]\n    cluster_domain: usw2.ledger.internal\n  - name: eu-west-1\n    zones: [eu-west-1a, eu-west-1b, eu-west-1c]\n    cluster_domain: euw1.ledger.internal\n",
    )
    .replace("survival: zone", "survival: region")
    .replace("  nodes: 3", "  nodes: 9")
    .replace(
        "  client_namespaces: [payments]",
        "  client_namespaces: [payments]\n  peer_cidrs: [10.20.0.0/16, 10.30.0.0/16]",
    )
}

#[test]
fn multi_region_needs_a_region_and_joins_across_clusters() {
    let tenant = Tenant::from_yaml(&multi_region_text()).unwrap();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let err = render(&tenant, &plan, &RenderOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--region"), "{err}");

    let west = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-west-2",
    );
    let sts = json(west.find("StatefulSet", "cockroachdb").unwrap());
    assert_eq!(sts["spec"]["replicas"], 3);
    let start = sts["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        start.contains(
            "cockroachdb-2.cockroachdb.ledger-acme-bank-prod.svc.euw1.ledger.internal:26258"
        ),
        "{start}"
    );
    assert!(
        start.contains("svc.usw2.ledger.internal:26258\""),
        "{start}"
    );
    // Redpanda and the init Job live in the first region only.
    assert!(west.find("StatefulSet", "redpanda").is_none());
    assert!(west.job("cockroachdb-init").is_none());
    let east = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-east-1",
    );
    let job = east.job("cockroachdb-init").unwrap().to_yaml().unwrap();
    // Without databases named, the default zone keeps five replicas.
    assert!(job.contains("num_replicas = 5"), "{job}");

    // With them, region survival is CockroachDB's multi-region SQL (SET PRIMARY REGION, ADD
    // REGION, SURVIVE REGION FAILURE), as for a tenant with sites, not a hand-set zone.
    let text =
        multi_region_text().replace("cockroachdb:\n", "cockroachdb:\n  databases: [ledger]\n");
    let east = region_rendering(&text, CockroachMode::StatefulSet, "us-east-1");
    let job = east.job("cockroachdb-init").unwrap().to_yaml().unwrap();
    assert!(!job.contains("num_replicas"), "{job}");
    for statement in [
        "SET PRIMARY REGION",
        "ADD REGION IF NOT EXISTS",
        "SURVIVE REGION FAILURE",
        "us-west-2",
        "eu-west-1",
    ] {
        assert!(job.contains(statement), "{statement}: {job}");
    }
}

/// Operator mode: the operator runs `cockroach init` but knows nothing of the survival goal,
/// so a Job in the first region applies the same replication step as the StatefulSet's init
/// Job (multi-region SQL with databases named, five replicas without), failing on any failed
/// statement; a tenant whose goal CockroachDB's defaults meet gets no such Job.
#[test]
fn operator_mode_applies_the_survival_goal_like_the_init_job() {
    let step = |r: &Rendering, job: &str| -> Option<String> {
        let job = json(r.job(job)?);
        let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap()
            .to_owned();
        // The step starts with its `set -e`; the init Job's `cockroach init` part comes before.
        Some(script[script.find("set -e\n")?..].to_owned())
    };
    let with_databases =
        multi_region_text().replace("cockroachdb:\n", "cockroachdb:\n  databases: [ledger]\n");
    for (text, expected) in [
        (multi_region_text(), "num_replicas = 5"),
        (with_databases, "SURVIVE REGION FAILURE"),
    ] {
        let statefulset = region_rendering(&text, CockroachMode::StatefulSet, "us-east-1");
        let operator = region_rendering(&text, CockroachMode::Operator, "us-east-1");
        let init = step(&statefulset, "cockroachdb-init").unwrap();
        assert!(init.contains(expected), "{init}");
        let replication = step(&operator, "cockroachdb-replication")
            .unwrap_or_else(|| panic!("operator mode renders no replication Job for {expected}"));
        assert_eq!(replication, init);
        let script = json(operator.job("cockroachdb-replication").unwrap())["spec"]["template"]
            ["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap()
            .to_owned();
        let parsed = Command::new("bash")
            .args(["-n", "-c", &script])
            .output()
            .unwrap();
        assert!(parsed.status.success(), "{script}");
        assert!(operator.job("cockroachdb-init").is_none());
        // Only the first region runs it.
        let west = region_rendering(&text, CockroachMode::Operator, "us-west-2");
        assert!(west.job("cockroachdb-replication").is_none());
    }
    // CockroachDB's default of three replicas meets zone survival: no Job.
    assert!(
        rendering("aws", CockroachMode::Operator)
            .job("cockroachdb-replication")
            .is_none()
    );
}

/// The runbook's odd increments: 5 and 7 nodes over three zones keep a majority through the
/// loss of any zone; the uneven spread is advice with its capacity cost, not a refusal.
#[rstest]
#[case(5, &[2, 2, 1], "what 3 evenly loaded nodes would")]
#[case(7, &[3, 2, 2], "what 6 evenly loaded nodes would")]
fn five_and_seven_nodes_over_three_zones_are_accepted(
    #[case] nodes: u32,
    #[case] spread: &[u32],
    #[case] cost: &str,
) {
    let text = example_text("aws").replacen("  nodes: 3", &format!("  nodes: {nodes}"), 1);
    let tenant = Tenant::from_yaml(&text).unwrap();
    let quorum = tenant.cockroach_quorum().unwrap();
    let counts: Vec<u32> = quorum.placements.iter().map(|p| p.nodes).collect();
    assert_eq!(counts, spread);
    assert!(quorum.failure_domains.iter().all(|d| d.replicas == 1));
    assert!(
        tenant.advice().iter().any(|a| a.contains(cost)),
        "{:?}",
        tenant.advice()
    );
    // It renders, the StatefulSet with every node and the zones spread by the scheduler.
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let rendering = render(&tenant, &plan, &RenderOptions::default()).unwrap();
    let sts = json(rendering.find("StatefulSet", "cockroachdb").unwrap());
    assert_eq!(sts["spec"]["replicas"], nodes);
}

/// Refusals, each naming the field, the line and the rule.
#[rstest]
#[case::even_nodes(
    "  nodes: 3",
    "  nodes: 4",
    "cockroachdb.nodes",
    Some(17),
    "counts must be odd"
)]
#[case::too_few_nodes(
    "  nodes: 3",
    "  nodes: 1",
    "cockroachdb.nodes",
    Some(17),
    "at least 3"
)]
#[case::even_brokers(
    "  brokers: 3",
    "  brokers: 4",
    "redpanda.brokers",
    Some(24),
    "counts must be odd"
)]
#[case::foreign_storage_class(
    "class: gp3 ",
    "class: premium-rwo ",
    "storage.class",
    Some(14),
    "provider aws"
)]
#[case::no_identity(
    "  identity:\n    kind: irsa\n    role_arn: arn:aws:iam::123456789012:role/acme-ledger-backup\n",
    "",
    "backup.identity",
    Some(44),
    "cloud backups need an identity"
)]
#[case::foreign_identity(
    "    kind: irsa\n    role_arn: arn:aws:iam::123456789012:role/acme-ledger-backup",
    "    kind: gke-workload-identity\n    service_account: ledger-backup@x-prod.iam.gserviceaccount.com",
    "backup.identity.kind",
    Some(47),
    "work only on gcp"
)]
#[case::bad_role_arn(
    "role/acme-ledger-backup",
    "user/acme",
    "backup.identity.role_arn",
    Some(48),
    "role/<name>"
)]
#[case::two_zones(
    "[us-east-1a, us-east-1b, us-east-1c]",
    "[us-east-1a, us-east-1b]",
    "regions[0].zones",
    Some(12),
    "at least 3 zones"
)]
#[case::foreign_zone(
    "us-east-1c]",
    "us-west-2c]",
    "regions[0].zones[2]",
    Some(12),
    "region plus a letter"
)]
#[case::latest_image(
    "version: v25.2.4",
    "version: latest",
    "cockroachdb.version",
    Some(16),
    "pinned"
)]
#[case::prod_ring_dev_tier("tier: prod ", "tier: dev ", "tier", Some(7), "ring-2-prod")]
#[case::replication_one(
    "      partitions: 12\n",
    "      partitions: 12\n      replication: 1\n",
    "redpanda.topics[0].replication",
    Some(32),
    "at least 3"
)]
#[case::bad_tenant_id(
    "tenant: acme-bank ",
    "tenant: Acme_Bank ",
    "tenant",
    Some(4),
    "lowercase"
)]
fn refusals(
    #[case] from: &str,
    #[case] to: &str,
    #[case] field: &str,
    #[case] line: Option<usize>,
    #[case] rule: &str,
) {
    let text = example_text("aws");
    assert!(text.contains(from), "{from:?} not in the example");
    let err = Tenant::from_yaml(&text.replacen(from, to, 1)).unwrap_err();
    let problem = err
        .problems()
        .iter()
        .find(|p| p.field == field)
        .unwrap_or_else(|| panic!("no problem for {field}: {err}"));
    assert_eq!(problem.line, line, "{err}");
    let message = err.to_string();
    assert!(message.contains(rule), "{message}");
    assert!(message.contains(field), "{message}");
    assert!(message.contains("Fix:"), "{message}");
}

#[rstest]
#[case::unknown_field(
    "cockroachdb:\n",
    "cockroachdb:\n  replicas: 3\n",
    16,
    "unknown field `replicas`"
)]
#[case::unknown_ring("ring: ring-2-prod", "ring: prod", 6, "unknown variant `prod`")]
#[case::bad_quantity(
    "    memory: 32Gi\n    disk: 1Ti",
    "    memory: 32 gigs\n    disk: 1Ti",
    19,
    "unknown unit"
)]
#[case::missing_field("tier: prod ", "", 4, "missing field `tier`")]
fn syntax_errors_point_at_the_line(
    #[case] from: &str,
    #[case] to: &str,
    #[case] line: usize,
    #[case] message: &str,
) {
    let text = example_text("aws");
    assert!(text.contains(from), "{from:?}");
    let text = text.replacen(from, to, 1);
    let text = if to.is_empty() {
        // Drop the now-empty comment-only remainder of the tier line.
        text.lines()
            .filter(|l| !l.trim_start().starts_with("# dev | staging | prod"))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        text
    };
    let err = Tenant::from_yaml(&text).unwrap_err();
    let TenantError::Syntax {
        message: m,
        line: l,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(m.contains(message), "{m}");
    assert_eq!(*l, Some(line), "{err}");
}

#[rstest]
#[case::max_sql_memory(|p: &mut ResourcePlan| p.cockroach.max_sql_memory = p.cockroach.memory, &["80%"])]
#[case::smp(|p: &mut ResourcePlan| p.redpanda.smp = 3, &["--smp"])]
#[case::nodes(|p: &mut ResourcePlan| p.cockroach.nodes = 4, &["cockroachdb.nodes", "odd"])]
fn plan_inconsistent_with_the_manifests_is_refused(
    #[case] change: fn(&mut ResourcePlan),
    #[case] says: &[&str],
) {
    let tenant = example("aws");
    let mut plan = ResourcePlan::from_tenant(&tenant).unwrap();
    change(&mut plan);
    let err = render(&tenant, &plan, &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(says.iter().all(|s| err.contains(s)), "{err}");
}

/// Writes every rendering's documents (custom resources excepted: CrdbCluster, PodMonitor,
/// PrometheusRule, Issuer and Certificate, which the Kubernetes schemas do not describe;
/// `monitoring` and `certs` check those against their CRDs)
/// into `dir`, one file per object.
fn write_documents(dir: &Path, modes: &[CockroachMode]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for name in PROVIDERS {
        for mode in modes {
            let r = rendering(name, *mode);
            for (i, object) in r.objects.iter().enumerate() {
                if object.is_custom_resource() {
                    continue;
                }
                let path = dir.join(format!("{name}-{mode}-{:02}-{}.yaml", i + 1, object.kind()));
                std::fs::write(&path, object.to_yaml().unwrap()).unwrap();
                paths.push(path);
            }
        }
    }
    // Every site of the multi-cloud tenant, each its own cluster's documents.
    for site in sites::site_renderings() {
        for (i, object) in site.rendering.objects.iter().enumerate() {
            if object.is_custom_resource() {
                continue;
            }
            let path = dir.join(format!(
                "multi-cloud-{}-{:02}-{}.yaml",
                site.site,
                i + 1,
                object.kind()
            ));
            std::fs::write(&path, object.to_yaml().unwrap()).unwrap();
            paths.push(path);
        }
    }
    paths
}

#[test]
fn every_document_passes_kubernetes_validate_strict() {
    let Some(tool) = service("THINLEDGER_TEST_KUBERNETES_VALIDATE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let paths = write_documents(dir.path(), &MODES);
    assert!(paths.len() > 100, "{}", paths.len());
    for version in KUBERNETES_VERSIONS {
        let (passed, report) = validate_strict(&tool, version, &paths);
        assert!(passed, "Kubernetes {version}:\n{report}");
    }
    // The validator is not vacuous: it rejects an unknown field.
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    std::fs::write(&bad, text.replace("metadata:", "metadata:\n  colour: blue")).unwrap();
    let (passed, _) = validate_strict(&tool, KUBERNETES_VERSIONS[0], &[&bad]);
    assert!(!passed);
}

/// Checks `objects` (a file name and a custom resource) against their CRD schemas with
/// crd-validate (the npm @kubernetes-models packages, generated from the CRDs; kubernetes-validate
/// knows only built-in kinds), and that it is not vacuous: the first of kind `kind`, spoilt by
/// `spoil`, is refused. Skipped without the tool.
fn assert_custom_resources_valid(
    objects: &[(String, Value)],
    kind: &str,
    spoil: impl FnOnce(&mut Value),
) {
    let Some(tool) = service("THINLEDGER_TEST_CRD_VALIDATE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = objects
        .iter()
        .map(|(name, object)| {
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, object.to_string()).unwrap();
            path
        })
        .collect();
    let out = Command::new(&tool).args(&paths).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, object) = objects.iter().find(|(_, o)| o["kind"] == kind).unwrap();
    let mut spoilt = object.clone();
    spoil(&mut spoilt);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, spoilt.to_string()).unwrap();
    let out = Command::new(&tool).arg(&bad).output().unwrap();
    assert!(!out.status.success(), "{kind} {spoilt}");
}

/// checkov checks that do not apply, with the reason; the README lists the same.
pub const CHECKOV_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "CKV_K8S_15",
        "imagePullPolicy IfNotPresent: images are pinned to release tags, and a registry outage must not stop a database pod from restarting",
    ),
    (
        "CKV_K8S_43",
        "images are pinned by release tag, not digest; set images.registry to a mirror that pins digests if required",
    ),
];

#[test]
fn production_renderings_pass_checkov() {
    let skip: Vec<&str> = CHECKOV_EXCEPTIONS.iter().map(|(id, _)| *id).collect();
    assert_checkov_clean("kubernetes", &skip, 100, |dir| {
        let paths = write_documents(dir, &[CockroachMode::StatefulSet]);
        assert!(!paths.is_empty());
    });
}

/// Runs checkov's `framework` checks (less `skip`) over a folder `write` fills and asserts more
/// than `min_passed` checks passed and none failed; skipped without checkov.
fn assert_checkov_clean(
    framework: &str,
    skip: &[&str],
    min_passed: u64,
    write: impl FnOnce(&Path),
) {
    let Some(tool) = service("THINLEDGER_TEST_CHECKOV") else {
        return;
    };
    // checkov skips hidden directories, so the name must not start with '.'.
    let dir = tempfile::Builder::new()
        .prefix("thinledger-checkov-")
        .tempdir()
        .unwrap();
    write(dir.path());
    let mut cmd = Command::new(tool);
    cmd.args([
        "--framework",
        framework,
        "--quiet",
        "--compact",
        "--output",
        "json",
    ]);
    if !skip.is_empty() {
        cmd.args(["--skip-check", &skip.join(",")]);
    }
    let out = cmd
        .arg("--directory")
        .arg(dir.path())
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = &report["summary"];
    assert!(
        summary["passed"].as_u64().unwrap() > min_passed,
        "{summary}"
    );
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["check_name"]))
        .collect();
    assert!(
        failed.is_empty(),
        "checkov findings:\n{}",
        failed.join("\n")
    );
}

/// Every shell script in a rendered container parses (`bash -n`), including the operator's
/// start command with the rendered `additionalArgs` appended as the operator does.
#[test]
fn rendered_shell_scripts_parse() {
    let mut scripts = Vec::new();
    for name in PROVIDERS {
        for mode in MODES {
            let r = rendering(name, mode);
            for (object, spec) in pod_specs(&r) {
                let containers = [spec["initContainers"].clone(), spec["containers"].clone()];
                for c in containers.iter().filter_map(Value::as_array).flatten() {
                    let command = c["command"].as_array().unwrap();
                    if command[0] == "/bin/bash" {
                        let script = command.last().unwrap().as_str().unwrap().to_owned();
                        scripts.push((format!("{name}/{object}/{}", c["name"]), script));
                    }
                }
            }
            if let Some(crdb) = r.find("CrdbCluster", "cockroachdb") {
                let args: Vec<String> = json(crdb)["spec"]["additionalArgs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect();
                let start = format!(
                    "exec /cockroach/cockroach.sh start --certs-dir=/cockroach/cockroach-certs/ {}",
                    args.join(" ")
                );
                scripts.push((format!("{name}/CrdbCluster"), start));
            }
        }
    }
    assert!(scripts.len() >= 4 * 2 * 3, "{}", scripts.len());
    for (what, script) in scripts {
        let out = Command::new("bash")
            .args(["-n", "-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{what}: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Jobs are named by what they do and a hash of their inputs: the same tenant renders the same
/// names (re-applying is a no-op), a version bump renames exactly the Jobs it changes (a Job's
/// pod template is immutable, so a fixed name could not be applied again); finished Jobs go
/// away after a TTL.
#[rstest]
fn jobs_are_named_by_their_inputs(
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let names = |text: &str| {
        let tenant = Tenant::from_yaml(text).unwrap();
        let plan = ResourcePlan::from_tenant(&tenant).unwrap();
        let r = render(&tenant, &plan, &RenderOptions::new(mode)).unwrap();
        let name = |what: &str| r.job(what).map(|j| j.name().to_owned());
        (name("cockroachdb-init"), name("redpanda-topics").unwrap())
    };
    let text = example_text("aws");
    let (init, topics) = names(&text);
    assert_eq!(
        names(&text),
        (init.clone(), topics.clone()),
        "unchanged tenant"
    );
    assert!(
        topics.starts_with("redpanda-topics-") && topics.len() == 26,
        "{topics}"
    );
    // The operator initialises its own cluster: no init Job there.
    assert_eq!(init.is_some(), mode == CockroachMode::StatefulSet);

    let crdb_bump = names(&text.replace("version: v25.2.4", "version: v25.3.1"));
    assert_eq!(
        crdb_bump.1, topics,
        "the topics Job does not use CockroachDB"
    );
    if let Some(init) = &init {
        assert!(
            init.starts_with("cockroachdb-init-") && init.len() == 27,
            "{init}"
        );
        assert_ne!(crdb_bump.0.as_ref(), Some(init), "a new image is a new Job");
    }
    let rp_bump = names(&text.replace("version: v25.1.9", "version: v25.1.10"));
    assert_ne!(rp_bump.1, topics);
    assert_eq!(rp_bump.0, init);
    let topic_change = names(&text.replace("partitions: 12", "partitions: 24"));
    assert_ne!(topic_change.1, topics, "the script is an input too");

    let r = rendering("aws", mode);
    for job in r.objects.iter().filter(|o| o.kind() == "Job") {
        let spec = &json(job)["spec"];
        assert_eq!(spec["ttlSecondsAfterFinished"], 86_400, "{}", job.name());
        // Pods keep the Job's purpose as their name label, for the network policy and logs.
        let what = &json(job)["metadata"]["labels"]["app.kubernetes.io/name"];
        assert_eq!(
            &spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
            what
        );
    }
}
