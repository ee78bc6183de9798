//! Operator mode: a `crdb.cockroachlabs.com/v1alpha1` `CrdbCluster` for the public CockroachDB
//! operator, carrying the same resources, storage, scheduling and disruption settings as the
//! StatefulSet.
//!
//! The operator applies `affinity`, `tolerations` and `topologySpreadConstraints` only when
//! its alpha feature gates `AffinityRules`, `TolerationRules` and `TopologySpreadRules` are
//! on; without them the anti-affinity below is silently ignored. The rendered resource says so
//! in an annotation, and the platform must start the operator with
//! `--feature-gates=AffinityRules=true,TopologySpreadRules=true`. `--cache` and
//! `--max-sql-memory` are set explicitly (the operator would otherwise derive 25% of
//! `limits.memory`), and its PodDisruptionBudget comes from `maxUnavailable`.
//!
//! Stopping a node: the operator offers no preStop hook, so CockroachDB drains on SIGTERM
//! (the same phases as `cockroach node drain`) within `terminationGracePeriodSecs`
//! ([`TERMINATION_GRACE_SECONDS`]); the operator rolls one pod at a time. A major upgrade's
//! downgrade option is set by the same upgrade Job as in StatefulSet mode.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, PersistentVolumeClaimSpec, ResourceRequirements, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::cockroach::{TERMINATION_GRACE_SECONDS, affinity, join_list, locality_prefix, spread};
use super::common::{
    CRDB_GRPC_PORT, CRDB_HTTP_PORT, CRDB_NAME, CRDB_NODE_SECRET, CRDB_ROOT_SECRET, CRDB_SQL_PORT,
    Context, DOC_PREFIX, cpu_manager_note, crdb_selector,
};
use super::kit::{env, field_env, guaranteed, volume_claim};
use super::manifest::Manifest;
use super::scripts::operator_locality_arg;
use crate::quantity::{ByteSize, Cpu};

/// API version of the operator's resource.
pub const CRDB_API_VERSION: &str = "crdb.cockroachlabs.com/v1alpha1";
/// Feature gates the operator needs for the scheduling rules to take effect.
pub const REQUIRED_FEATURE_GATES: &str = "AffinityRules=true,TopologySpreadRules=true";

/// The operator's `CrdbCluster` resource (the fields this renderer sets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdbCluster {
    /// Always [`CRDB_API_VERSION`].
    pub api_version: String,
    /// Always `CrdbCluster`.
    pub kind: String,
    /// Name, namespace, labels, annotations.
    pub metadata: ObjectMeta,
    /// The cluster.
    pub spec: CrdbClusterSpec,
}

/// `CrdbCluster.spec`: what the renderer sets in full, and (through
/// [`CrdbClusterSpec::sizing_fragment`]) the keys sizing decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdbClusterSpec {
    /// Node count (at least 3).
    pub nodes: i32,
    /// Image.
    pub image: CrdbImage,
    /// TLS between nodes and clients.
    pub tls_enabled: bool,
    /// Secret with the node certificate (`tls.crt`, `tls.key`, `ca.crt`).
    #[serde(rename = "nodeTLSSecret")]
    pub node_tls_secret: String,
    /// Secret with the root client certificate.
    #[serde(rename = "clientTLSSecret")]
    pub client_tls_secret: String,
    /// Inter-node port.
    pub grpc_port: i32,
    /// SQL port.
    pub sql_port: i32,
    /// HTTP port.
    pub http_port: i32,
    /// `--cache`.
    pub cache: String,
    /// `--max-sql-memory`.
    #[serde(rename = "maxSQLMemory")]
    pub max_sql_memory: String,
    /// Extra `cockroach start` arguments (evaluated by bash in the operator's start command).
    pub additional_args: Vec<String>,
    /// Container resources (requests = limits).
    pub resources: ResourceRequirements,
    /// Data volumes.
    pub data_store: CrdbDataStore,
    /// The PodDisruptionBudget's maxUnavailable.
    pub max_unavailable: i32,
    /// Scheduling (needs the `AffinityRules` gate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Spread (needs the `TopologySpreadRules` gate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Environment of the database container.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pod_env_variables: Vec<EnvVar>,
    /// Labels added to every object the operator creates (pods included).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_labels: BTreeMap<String, String>,
    /// Annotations added to every object the operator creates.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_annotations: BTreeMap<String, String>,
    /// Whether pods mount their ServiceAccount token (needed for the zone lookup).
    pub automount_service_account_token: bool,
    /// Grace period on termination.
    pub termination_grace_period_secs: i64,
}

/// `CrdbCluster.spec.image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdbImage {
    /// Image reference with its tag.
    pub name: String,
    /// Pull policy.
    pub pull_policy: String,
    /// Pull secret name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
}

/// `CrdbCluster.spec.dataStore`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdbDataStore {
    /// A claim per node.
    pub pvc: CrdbVolumeClaim,
    /// Whether the operator may resize volumes without a restart.
    pub supports_auto_resize: bool,
}

/// `CrdbCluster.spec.dataStore.pvc`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrdbVolumeClaim {
    /// The claim template.
    pub spec: PersistentVolumeClaimSpec,
}

impl CrdbClusterSpec {
    /// The keys sizing decides, everything else at its default: `nodes`, Guaranteed
    /// `resources` of `cpu` and `memory`, `cache` and `maxSQLMemory` as spelled by the caller
    /// (e.g. `8GiB`), and a `dataStore` claim of `disk` on `storage_class`.
    pub fn sized(
        nodes: u32,
        cpu: Cpu,
        memory: ByteSize,
        cache: String,
        max_sql_memory: String,
        disk: ByteSize,
        storage_class: &str,
    ) -> Self {
        CrdbClusterSpec {
            nodes: i32::try_from(nodes).unwrap_or(i32::MAX),
            cache,
            max_sql_memory,
            resources: guaranteed(cpu, memory),
            data_store: CrdbDataStore {
                pvc: CrdbVolumeClaim {
                    spec: volume_claim(disk, storage_class),
                },
                supports_auto_resize: false,
            },
            ..Default::default()
        }
    }

    /// Only the keys sizing decides, as a `spec:` fragment to merge into a `CrdbCluster`
    /// (what `ledger-size --fragment crdb-cluster` prints).
    pub fn sizing_fragment(self) -> CrdbClusterFragment {
        CrdbClusterFragment(self)
    }
}

/// The keys of a [`CrdbClusterSpec`] that sizing decides, serialised as `{spec: {nodes, cache,
/// maxSQLMemory, resources: {requests, limits}, dataStore: {pvc}}}`: paste-ready, requests
/// before limits as people write them.
#[derive(Debug, Clone, PartialEq)]
pub struct CrdbClusterFragment(pub CrdbClusterSpec);

impl Serialize for CrdbClusterFragment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Borrowed views fix the keys and their order; the values are the spec's own.
        #[derive(Serialize)]
        struct Fragment<'a> {
            spec: Keys<'a>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Keys<'a> {
            nodes: i32,
            cache: &'a str,
            #[serde(rename = "maxSQLMemory")]
            max_sql_memory: &'a str,
            resources: Resources<'a>,
            data_store: DataStore<'a>,
        }
        #[derive(Serialize)]
        struct Resources<'a> {
            requests: &'a Option<BTreeMap<String, Quantity>>,
            limits: &'a Option<BTreeMap<String, Quantity>>,
        }
        #[derive(Serialize)]
        struct DataStore<'a> {
            pvc: &'a CrdbVolumeClaim,
        }
        let s = &self.0;
        Fragment {
            spec: Keys {
                nodes: s.nodes,
                cache: &s.cache,
                max_sql_memory: &s.max_sql_memory,
                resources: Resources {
                    requests: &s.resources.requests,
                    limits: &s.resources.limits,
                },
                data_store: DataStore {
                    pvc: &s.data_store.pvc,
                },
            },
        }
        .serialize(serializer)
    }
}

pub fn crdb_cluster(ctx: &Context<'_>) -> Manifest {
    let c = &ctx.plan.cockroach;
    let selector_labels = crdb_selector();
    let locality = if ctx.reads_node_zone() {
        operator_locality_arg(&locality_prefix(ctx), &ctx.zones)
    } else {
        format!("--locality={}", locality_prefix(ctx))
    };
    let mut additional_labels = ctx.common_labels();
    if let Some(b) = &ctx.tenant.spec().backup.identity {
        additional_labels.extend(b.pod_labels());
    }
    let additional_annotations: BTreeMap<String, String> =
        [cpu_manager_note()].into_iter().collect();
    let mut meta = ctx.meta(CRDB_NAME, &selector_labels);
    meta.annotations = Some(
        [
            (
                format!("{DOC_PREFIX}operator-feature-gates"),
                format!(
                    "the operator applies spec.affinity and spec.topologySpreadConstraints only with its alpha feature gates on: start it with --feature-gates={REQUIRED_FEATURE_GATES}, or pods may share a node or a zone"
                ),
            ),
            (
                format!("{DOC_PREFIX}locality"),
                "the start command reads this pod's Node label topology.kubernetes.io/zone through the Kubernetes API (token automounted, ClusterRole get nodes); an unknown zone leaves --locality empty and CockroachDB refuses to start".to_owned(),
            ),
            (
                format!("{DOC_PREFIX}drain"),
                format!(
                    "the operator's pods take no preStop hook: on SIGTERM CockroachDB drains itself (unready, SQL, DistSQL and lease-transfer phases) within terminationGracePeriodSecs {TERMINATION_GRACE_SECONDS}, and the operator restarts one pod at a time; a renewed node certificate is read when each pod restarts (docs/certificates.md)"
                ),
            ),
            (
                format!("{DOC_PREFIX}service-account"),
                format!(
                    "the operator runs pods as ServiceAccount {CRDB_NAME}-sa, rendered here with the backup identity"
                ),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let mut env_vars = vec![
        field_env("NODE_NAME", "spec.nodeName"),
        env("COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING", "true"),
    ];
    env_vars.sort_by(|a, b| a.name.cmp(&b.name));
    Manifest::CrdbCluster(Box::new(CrdbCluster {
        api_version: CRDB_API_VERSION.to_owned(),
        kind: "CrdbCluster".to_owned(),
        metadata: meta,
        spec: CrdbClusterSpec {
            image: CrdbImage {
                name: ctx.cockroach_image(),
                pull_policy: "IfNotPresent".to_owned(),
                pull_secret: ctx.tenant.spec().images.pull_secret.clone(),
            },
            tls_enabled: true,
            node_tls_secret: CRDB_NODE_SECRET.to_owned(),
            client_tls_secret: CRDB_ROOT_SECRET.to_owned(),
            grpc_port: CRDB_GRPC_PORT,
            sql_port: CRDB_SQL_PORT,
            http_port: CRDB_HTTP_PORT,
            additional_args: vec![locality, format!("--join={}", join_list(ctx))],
            max_unavailable: 1,
            affinity: Some(affinity(ctx, &selector_labels)),
            topology_spread_constraints: spread(ctx, &selector_labels),
            pod_env_variables: env_vars,
            additional_labels,
            additional_annotations,
            automount_service_account_token: ctx.reads_node_zone(),
            termination_grace_period_secs: TERMINATION_GRACE_SECONDS,
            ..CrdbClusterSpec::sized(
                ctx.crdb_replicas,
                c.cpu,
                c.memory,
                c.cache.to_iec(),
                c.max_sql_memory.to_iec(),
                c.disk,
                ctx.tenant.storage().class_name,
            )
        },
    }))
}

/// Structural check of a rendered `CrdbCluster` against the operator's schema: the fields it
/// requires, the values it accepts, and the rules this project adds. Returns every problem.
pub fn check_crdb_cluster(value: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };
    need(
        value["apiVersion"] == CRDB_API_VERSION,
        "apiVersion is crdb.cockroachlabs.com/v1alpha1",
    );
    need(value["kind"] == "CrdbCluster", "kind is CrdbCluster");
    need(
        value["metadata"]["name"].is_string(),
        "metadata.name is set",
    );
    let spec = &value["spec"];
    need(
        spec["nodes"].as_i64().is_some_and(|n| n >= 3 && n % 2 == 1),
        "spec.nodes is odd and at least 3 (the operator's minimum is 3)",
    );
    need(
        spec["dataStore"]["pvc"]["spec"]["storageClassName"].is_string()
            && spec["dataStore"]["pvc"]["spec"]["resources"]["requests"]["storage"].is_string(),
        "spec.dataStore.pvc.spec names a storage class and size (dataStore is required)",
    );
    need(
        spec["image"]["name"]
            .as_str()
            .is_some_and(|n| n.contains(':') && !n.ends_with(":latest")),
        "spec.image.name is pinned to a tag",
    );
    need(
        ["Always", "IfNotPresent", "Never"]
            .contains(&spec["image"]["pullPolicy"].as_str().unwrap_or("")),
        "spec.image.pullPolicy is Always, IfNotPresent or Never",
    );
    need(spec["tlsEnabled"] == true, "spec.tlsEnabled is true");
    need(spec["maxUnavailable"] == 1, "spec.maxUnavailable is 1");
    let requests = &spec["resources"]["requests"];
    let limits = &spec["resources"]["limits"];
    need(
        requests.is_object() && requests == limits,
        "spec.resources requests equal limits (Guaranteed QoS)",
    );
    need(
        spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
            == crate::HOSTNAME_LABEL,
        "spec.affinity requires pod anti-affinity on kubernetes.io/hostname",
    );
    need(
        spec["additionalArgs"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str().is_some_and(|s| s.starts_with("--locality=")))
        }),
        "spec.additionalArgs sets --locality",
    );
    for port in ["grpcPort", "sqlPort", "httpPort"] {
        need(
            spec[port]
                .as_i64()
                .is_some_and(|p| (1..=65_535).contains(&p)),
            &format!("spec.{port} is a port number"),
        );
    }
    let known = [
        "nodes",
        "image",
        "grpcPort",
        "httpPort",
        "sqlPort",
        "tlsEnabled",
        "nodeTLSSecret",
        "clientTLSSecret",
        "maxUnavailable",
        "minAvailable",
        "cache",
        "maxSQLMemory",
        "additionalArgs",
        "resources",
        "dataStore",
        "cockroachDBVersion",
        "priorityClassName",
        "podEnvVariables",
        "affinity",
        "topologySpreadConstraints",
        "additionalLabels",
        "additionalAnnotations",
        "tolerations",
        "nodeSelector",
        "ingress",
        "logConfigMap",
        "automountServiceAccountToken",
        "terminationGracePeriodSecs",
    ];
    if let Some(fields) = spec.as_object() {
        for key in fields.keys() {
            if !known.contains(&key.as_str()) {
                problems.push(format!("spec.{key} is not a CrdbCluster field"));
            }
        }
    }
    problems
}
