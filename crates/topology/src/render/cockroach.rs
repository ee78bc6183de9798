//! CockroachDB as a StatefulSet: headless and public Services, the StatefulSet, its
//! PodDisruptionBudget and the cluster-init Job; the upgrade Job of a major upgrade (both
//! modes). Scheduling rules are shared with operator mode.
//!
//! # Stopping a node
//! A pod that stops (rolling update, eviction, node drain) first runs a preStop hook, `cockroach
//! node drain --self`, then gets SIGTERM. The drain has [`DRAIN_WAIT_SECONDS`] (270 s) and the
//! pod [`TERMINATION_GRACE_SECONDS`] (300 s, CockroachDB's recommendation): the hook's time
//! counts against the grace period, which leaves 30 s for the drained process to exit after
//! SIGTERM (CockroachDB asks for at least 5 s more than the drain timeout). The drain's own
//! phases are bounded by the cluster settings: `server.shutdown.initial_wait` (0 s by default) +
//! `server.shutdown.connections.timeout` (0 s) + 2 x `server.shutdown.transactions.timeout`
//! (2 x 10 s) + `server.shutdown.lease_transfer_iteration.timeout` (5 s) = 25 s by default, well
//! inside 270 s; CockroachDB raises `--drain-wait` to that sum if it is larger, so raising those
//! settings past 270 s means raising both numbers here (docs/runbooks/upgrade.md).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapProjection, Container, ContainerPort, ExecAction, KeyToPath, Lifecycle,
    LifecycleHandler, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSpec,
    PodTemplateSpec, Probe, ProjectedVolumeSource, SecretProjection, Service,
    ServiceAccountTokenProjection, ServicePort, ServiceSpec, TopologySpreadConstraint, Volume,
    VolumeMount, VolumeProjection,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::common::{
    CRDB_GRPC_PORT, CRDB_HTTP_PORT, CRDB_NAME, CRDB_NODE_SECRET, CRDB_PUBLIC, CRDB_ROOT_SECRET,
    CRDB_SQL_PORT, Context, DOC_PREFIX, cpu_manager_note, crdb_selector, purpose,
};
use super::job::ScriptJob;
use super::kit::{
    COCKROACH_UID, container_security, empty_dir, env, field_env, guaranteed, http_probe, mount,
    pod_security, selector, small_resources, volume_claim,
};
use super::manifest::Manifest;
use super::platform::cockroach_service_account;
use super::scripts::{
    KUBE_API_DIR, cert_refresh_loop, checked_zone, drain_command, upgrade_script,
};
use crate::provider::HOSTNAME_LABEL;
use crate::provider::ZONE_LABEL;

const DATA_DIR: &str = "/cockroach/cockroach-data";
const CERTS_DIR: &str = "/cockroach/cockroach-certs";
const CERTS_SECRET_DIR: &str = "/cockroach/certs-secret";
const LOCALITY_DIR: &str = "/cockroach/locality";
/// How long Kubernetes waits for a stopping CockroachDB pod (preStop drain included) before
/// killing it: CockroachDB's recommended 300 s. The operator's pods get the same.
pub const TERMINATION_GRACE_SECONDS: i64 = 300;
/// `--drain-wait` of the preStop drain: the grace period less 30 s for the process to exit.
pub const DRAIN_WAIT_SECONDS: i64 = TERMINATION_GRACE_SECONDS - 30;
// CockroachDB asks for a grace period at least 5 s longer than the drain timeout.
const _: () = assert!(TERMINATION_GRACE_SECONDS - DRAIN_WAIT_SECONDS >= 5);
/// How often the database container checks the Secret for renewed certificates.
const CERT_REFRESH_SECONDS: u32 = 300;
/// The node certificate's files: Secret key (as projected) → CockroachDB's name.
const NODE_CERT_FILES: [(&str, &str); 3] = [
    ("ca.crt", "ca.crt"),
    ("node.crt", "node.crt"),
    ("node.key", "node.key"),
];

pub fn objects(ctx: &Context<'_>) -> Vec<Manifest> {
    let mut out = vec![crdb_headless_service(ctx), public_service(ctx)];
    if ctx.crdb_replicas > 0 {
        out.push(Manifest::StatefulSet(Box::new(statefulset(ctx))));
        out.push(pdb(ctx));
    }
    if ctx.first_region {
        out.push(init_job(ctx));
    }
    out
}

/// A TCP Service port that targets the container port of the same name.
pub fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

/// A headless Service: stable per-pod DNS names for a StatefulSet's members, listed before
/// they are ready so they can find each other.
pub fn headless_service(
    meta: ObjectMeta,
    selector_labels: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
) -> Manifest {
    Manifest::Service(Box::new(Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

fn crdb_headless_service(ctx: &Context<'_>) -> Manifest {
    let mut meta = ctx.meta(CRDB_NAME, &crdb_selector());
    meta.annotations = Some(purpose(
        "stable per-pod DNS names for --join and --advertise-addr; lists pods before they are ready so they can find each other",
    ));
    headless_service(
        meta,
        crdb_selector(),
        vec![
            port("grpc", CRDB_GRPC_PORT),
            port("sql", CRDB_SQL_PORT),
            port("http", CRDB_HTTP_PORT),
        ],
    )
}

fn public_service(ctx: &Context<'_>) -> Manifest {
    Manifest::Service(Box::new(Service {
        metadata: ctx.meta(CRDB_PUBLIC, &crdb_selector()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(crdb_selector()),
            ports: Some(vec![
                port("sql", CRDB_SQL_PORT),
                port("http", CRDB_HTTP_PORT),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

/// No two nodes on one host; in the tenant's zones only; spread evenly over the provider's
/// failure domains.
pub fn affinity(ctx: &Context<'_>, pod_labels: &BTreeMap<String, String>) -> Affinity {
    let node_affinity = ctx.reads_node_zone().then(|| NodeAffinity {
        required_during_scheduling_ignored_during_execution: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: ZONE_LABEL.to_owned(),
                    operator: "In".to_owned(),
                    values: Some(ctx.zones.clone()),
                }]),
                ..Default::default()
            }],
        }),
        ..Default::default()
    });
    Affinity {
        node_affinity,
        pod_anti_affinity: Some(PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                label_selector: Some(selector(pod_labels)),
                topology_key: HOSTNAME_LABEL.to_owned(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn spread(
    ctx: &Context<'_>,
    pod_labels: &BTreeMap<String, String>,
) -> Vec<TopologySpreadConstraint> {
    let key = ctx.provider().topology_key();
    let min_domains = if key == ZONE_LABEL && !ctx.zones.is_empty() {
        i32::try_from(ctx.zones.len()).ok()
    } else {
        None
    };
    vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.to_owned(),
        when_unsatisfiable: "DoNotSchedule".to_owned(),
        label_selector: Some(selector(pod_labels)),
        min_domains,
        ..Default::default()
    }]
}

/// `--join` targets: up to three nodes of every region.
pub fn join_list(ctx: &Context<'_>) -> String {
    if let Some(join) = super::sites::join_list(ctx) {
        return join;
    }
    let mut targets = Vec::new();
    for (region, count) in &ctx.crdb_per_region {
        for i in 0..(*count).min(3) {
            targets.push(format!(
                "{CRDB_NAME}-{i}.{}:{CRDB_GRPC_PORT}",
                ctx.service_domain(CRDB_NAME, region)
            ));
        }
    }
    targets.join(",")
}

/// `cloud=…,region=…` (plus the zone, which comes from the node at start).
pub fn locality_prefix(ctx: &Context<'_>) -> String {
    ctx.tenant.locality().locality_flag(&ctx.region, None)
}

fn pod_annotations(ctx: &Context<'_>) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = [cpu_manager_note()].into_iter().collect();
    a.insert(
        format!("{DOC_PREFIX}drain"),
        format!(
            "preStop runs cockroach node drain --self (--drain-wait={DRAIN_WAIT_SECONDS}s) before SIGTERM, within terminationGracePeriodSeconds {TERMINATION_GRACE_SECONDS}; renewed certificates are copied in and reloaded (SIGHUP) without a restart"
        ),
    );
    a.insert(
        format!("{DOC_PREFIX}locality"),
        if ctx.reads_node_zone() {
            "the init container reads this pod's Node label topology.kubernetes.io/zone via the Kubernetes API and writes cloud,region,zone for --locality; it fails if the zone is not one of the tenant's".to_owned()
        } else {
            "no zones: --locality names cloud and region; the host is the failure domain".to_owned()
        },
    );
    a
}

fn start_script(ctx: &Context<'_>) -> String {
    let c = &ctx.plan.cockroach;
    let locality = if ctx.reads_node_zone() {
        format!("--locality=\"$(cat {LOCALITY_DIR}/locality)\"")
    } else {
        format!("--locality={}", locality_prefix(ctx))
    };
    // A site of a multi-site tenant advertises the address the other sites reach it at.
    let (prelude, advertise) = super::sites::advertise(ctx).unwrap_or_else(|| {
        (
            String::new(),
            format!(
                "\"${{POD_NAME}}.{}:{CRDB_GRPC_PORT}\"",
                ctx.service_domain(CRDB_NAME, &ctx.region)
            ),
        )
    });
    let refresh = cert_refresh_loop(
        CERTS_SECRET_DIR,
        CERTS_DIR,
        &NODE_CERT_FILES,
        CERT_REFRESH_SECONDS,
    );
    format!(
        "{prelude}{refresh}exec /cockroach/cockroach start \\\n  --certs-dir={CERTS_DIR} \\\n  --store=path={DATA_DIR} \\\n  --listen-addr=:{CRDB_GRPC_PORT} \\\n  --sql-addr=:{CRDB_SQL_PORT} \\\n  --http-addr=:{CRDB_HTTP_PORT} \\\n  --advertise-addr={advertise} \\\n  --join={join} \\\n  {locality} \\\n  --cache={cache} \\\n  --max-sql-memory={sql} \\\n  --logtostderr=INFO\n",
        join = join_list(ctx),
        cache = c.cache.to_iec(),
        sql = c.max_sql_memory.to_iec(),
    )
}

fn prepare_script(ctx: &Context<'_>) -> String {
    let mut s = format!(
        "set -eu\n# CockroachDB refuses keys readable by others: copy them out of the Secret with tight modes.\nrm -f {CERTS_DIR}/*\ncp -L {CERTS_SECRET_DIR}/ca.crt {CERTS_SECRET_DIR}/node.crt {CERTS_SECRET_DIR}/node.key {CERTS_DIR}/\nchmod 0400 {CERTS_DIR}/*\n"
    );
    if ctx.reads_node_zone() {
        s.push_str(&checked_zone(KUBE_API_DIR, &ctx.zones));
        s.push_str(&format!(
            "printf '%s,zone=%s' '{}' \"$zone\" > {LOCALITY_DIR}/locality\necho \"locality: $(cat {LOCALITY_DIR}/locality)\"\n",
            locality_prefix(ctx)
        ));
    }
    s
}

fn https_probe(path: &str, period: i32, failures: i32) -> Probe {
    http_probe("HTTPS", "http", path, period, failures)
}

fn secret_items(secret: &str, items: &[(&str, &str)]) -> VolumeProjection {
    VolumeProjection {
        secret: Some(SecretProjection {
            name: secret.to_owned(),
            items: Some(
                items
                    .iter()
                    .map(|(k, p)| KeyToPath {
                        key: (*k).to_owned(),
                        path: (*p).to_owned(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

// Newer Kubernetes versions add fields to ProjectedVolumeSource: `..Default::default()` keeps
// this building whatever version the application picks.
#[allow(clippy::needless_update)]
fn projected(name: &str, sources: Vec<VolumeProjection>) -> Volume {
    Volume {
        name: name.to_owned(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o440),
            sources: Some(sources),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A short-lived API token and the cluster CA, for the init container alone.
pub fn kube_api_volume() -> Volume {
    projected(
        "kube-api",
        vec![
            VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    path: "token".to_owned(),
                    expiration_seconds: Some(600),
                    ..Default::default()
                }),
                ..Default::default()
            },
            VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: "kube-root-ca.crt".to_owned(),
                    items: Some(vec![KeyToPath {
                        key: "ca.crt".to_owned(),
                        path: "ca.crt".to_owned(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ],
    )
}

fn statefulset(ctx: &Context<'_>) -> StatefulSet {
    let c = &ctx.plan.cockroach;
    let selector_labels = crdb_selector();
    let mut pod_labels = ctx.common_labels();
    pod_labels.extend(selector_labels.clone());
    if let Some(b) = &ctx.tenant.spec().backup.identity {
        pod_labels.extend(b.pod_labels());
    }
    let image = ctx.cockroach_image();

    let mut init_mounts = vec![
        mount("certs-secret", CERTS_SECRET_DIR, true),
        mount("certs", CERTS_DIR, false),
        mount("locality", LOCALITY_DIR, false),
    ];
    let mut volumes = vec![
        projected(
            "certs-secret",
            vec![secret_items(
                CRDB_NODE_SECRET,
                &[
                    ("ca.crt", "ca.crt"),
                    ("tls.crt", "node.crt"),
                    ("tls.key", "node.key"),
                ],
            )],
        ),
        empty_dir("certs", true, "1Mi"),
        empty_dir("locality", true, "1Mi"),
        empty_dir("tmp", false, "1Gi"),
    ];
    if ctx.reads_node_zone() {
        init_mounts.push(mount("kube-api", KUBE_API_DIR, true));
        volumes.push(kube_api_volume());
    }
    let prepare = Container {
        name: "prepare".to_owned(),
        image: Some(image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(vec![
            "/bin/bash".to_owned(),
            "-c".to_owned(),
            prepare_script(ctx),
        ]),
        env: Some(vec![field_env("NODE_NAME", "spec.nodeName")]),
        resources: Some(small_resources()),
        security_context: Some(container_security(COCKROACH_UID)),
        volume_mounts: Some(init_mounts),
        ..Default::default()
    };
    let mut database = Container {
        name: CRDB_NAME.to_owned(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(vec![
            "/bin/bash".to_owned(),
            "-ec".to_owned(),
            start_script(ctx),
        ]),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            env("COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING", "true"),
            env("HOME", "/tmp"),
        ]),
        ports: Some(vec![
            container_port("grpc", CRDB_GRPC_PORT),
            container_port("sql", CRDB_SQL_PORT),
            container_port("http", CRDB_HTTP_PORT),
        ]),
        resources: Some(guaranteed(c.cpu, c.memory)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec![
                        "/bin/bash".to_owned(),
                        "-c".to_owned(),
                        drain_command(CERTS_DIR, CRDB_GRPC_PORT, DRAIN_WAIT_SECONDS),
                    ]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        startup_probe: Some(https_probe("/health", 10, 60)),
        liveness_probe: Some(https_probe("/health", 10, 3)),
        readiness_probe: Some(https_probe("/health?ready=1", 5, 2)),
        security_context: Some(container_security(COCKROACH_UID)),
        volume_mounts: Some(vec![
            mount("datadir", DATA_DIR, false),
            // Writable: renewed certificates are copied in (see the start script).
            mount("certs", CERTS_DIR, false),
            mount("certs-secret", CERTS_SECRET_DIR, true),
            mount("locality", LOCALITY_DIR, true),
            mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    };
    let mut annotations = pod_annotations(ctx);
    // A site on another provider than the backup bucket: native BACKUP and RESTORE run on
    // every node, so each signs in as the backup identity with the token its webhook would
    // inject at home.
    if let Some(token) = super::federated::for_backups(ctx) {
        annotations.insert(
            format!("{DOC_PREFIX}backup-identity"),
            format!(
                "native BACKUP/RESTORE write to the backup bucket on {} as {}, with a projected token of this cluster (no webhook injects it here; ledger-topology iam trusts this cluster for ServiceAccount {})",
                ctx.tenant.backup_provider(),
                ctx.tenant
                    .bucket_identity()
                    .map(crate::tenant::identity_ref)
                    .unwrap_or_default(),
                cockroach_service_account(ctx.mode),
            ),
        );
        token.apply(&mut database, &mut volumes);
    }
    let mut meta = ctx.meta(CRDB_NAME, &selector_labels);
    meta.annotations = Some(
        [(
            format!("{DOC_PREFIX}data-retention"),
            "persistentVolumeClaimRetentionPolicy Retain/Retain: deleting or scaling down the StatefulSet never deletes ledger volumes".to_owned(),
        )]
        .into_iter()
        .collect(),
    );
    ledger_statefulset(LedgerPods {
        ctx,
        name: CRDB_NAME,
        meta,
        replicas: ctx.crdb_replicas,
        selector_labels,
        pod_labels,
        pod_annotations: annotations,
        service_account: cockroach_service_account(ctx.mode),
        uid: COCKROACH_UID,
        termination_grace_seconds: TERMINATION_GRACE_SECONDS,
        init_containers: vec![prepare],
        containers: vec![database],
        volumes,
        disk: c.disk,
    })
}

/// What differs between the two database StatefulSets (CockroachDB and Redpanda).
pub struct LedgerPods<'a, 'c> {
    pub ctx: &'a Context<'c>,
    /// StatefulSet and governing Service name.
    pub name: &'static str,
    pub meta: ObjectMeta,
    pub replicas: u32,
    pub selector_labels: BTreeMap<String, String>,
    pub pod_labels: BTreeMap<String, String>,
    pub pod_annotations: BTreeMap<String, String>,
    pub service_account: String,
    pub uid: i64,
    pub termination_grace_seconds: i64,
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub disk: crate::ByteSize,
}

/// A database StatefulSet with what every ledger StatefulSet must have: parallel start,
/// rolling updates, volumes retained on delete and scale-down, required anti-affinity, zone
/// spread, no service-account token in the database pod, and one `datadir` claim.
pub fn ledger_statefulset(p: LedgerPods<'_, '_>) -> StatefulSet {
    let ctx = p.ctx;
    StatefulSet {
        metadata: p.meta,
        spec: StatefulSetSpec {
            service_name: Some(p.name.to_owned()),
            replicas: i32::try_from(p.replicas).ok(),
            // Every node must be up before the cluster is initialised; ordered start-up
            // would wait for readiness that only comes after init.
            pod_management_policy: Some("Parallel".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".to_owned()),
                    when_scaled: Some("Retain".to_owned()),
                },
            ),
            selector: selector(&p.selector_labels),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(p.pod_labels),
                    annotations: Some(p.pod_annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(p.service_account),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security(p.uid)),
                    termination_grace_period_seconds: Some(p.termination_grace_seconds),
                    affinity: Some(affinity(ctx, &p.selector_labels)),
                    topology_spread_constraints: Some(spread(ctx, &p.selector_labels)),
                    image_pull_secrets: ctx.pull_secrets(),
                    init_containers: Some(p.init_containers),
                    containers: p.containers,
                    volumes: Some(p.volumes),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![data_claim(
                ctx,
                "datadir",
                p.disk,
                &p.selector_labels,
            )]),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

pub fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

pub fn data_claim(
    ctx: &Context<'_>,
    name: &str,
    size: crate::ByteSize,
    claim_labels: &BTreeMap<String, String>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(claim_labels.clone()),
            ..Default::default()
        },
        spec: Some(claim_spec(ctx, size)),
        ..Default::default()
    }
}

pub fn claim_spec(ctx: &Context<'_>, size: crate::ByteSize) -> PersistentVolumeClaimSpec {
    volume_claim(size, ctx.tenant.storage().class_name)
}

pub fn pdb_for(
    ctx: &Context<'_>,
    name: &str,
    selector_labels: &BTreeMap<String, String>,
) -> Manifest {
    let mut meta = ctx.meta(name, selector_labels);
    meta.annotations = Some(purpose(
        "voluntary disruptions (drains, upgrades) take at most one member at a time, so a Raft majority always remains",
    ));
    Manifest::PodDisruptionBudget(Box::new(PodDisruptionBudget {
        metadata: meta,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(selector_labels)),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

fn pdb(ctx: &Context<'_>) -> Manifest {
    pdb_for(ctx, CRDB_NAME, &crdb_selector())
}

fn init_job(ctx: &Context<'_>) -> Manifest {
    let name = format!("{CRDB_NAME}-init");
    let host = first_node_host(ctx);
    let copy = copy_root_certs();
    let mut script = format!(
        "set -u\n{copy}if out=\"$(/cockroach/cockroach init --certs-dir={CERTS_DIR} --host={host}:{CRDB_GRPC_PORT} 2>&1)\"; then\n  echo \"$out\"\nelif printf '%s' \"$out\" | grep -q 'already been initialized'; then\n  echo 'cluster already initialised'\nelse\n  echo \"$out\" >&2\n  exit 1\nfi\n"
    );
    if let Some(step) = replication_step(ctx, &host) {
        script.push_str(&step);
    }
    ScriptJob {
        name: &name,
        container: "init",
        image: ctx.cockroach_image(),
        script,
        mounts: root_client_mounts(),
        volumes: root_client_volumes(),
        purpose: "runs `cockroach init` once all nodes are up; safe to re-run (an initialised cluster counts as success)",
    }
    .manifest(ctx)
}

/// Operator mode: the operator runs `cockroach init` itself but knows nothing of the tenant's
/// survival goal, so this Job (in the first region) applies the same replication step as the
/// StatefulSet's init Job once the cluster answers SQL (retried by the Job until it does).
/// `None` when CockroachDB's defaults already meet the goal.
pub fn replication_job(ctx: &Context<'_>) -> Option<Manifest> {
    if !ctx.first_region {
        return None;
    }
    let step = replication_step(ctx, &first_node_host(ctx))?;
    Some(
        ScriptJob {
            name: &format!("{CRDB_NAME}-replication"),
            container: "replication",
            image: ctx.cockroach_image(),
            script: format!("set -u\n{}{step}", copy_root_certs()),
            mounts: root_client_mounts(),
            volumes: root_client_volumes(),
            purpose: "applies the tenant's survival goal (multi-region databases, or the default zone's replica count) to the operator's cluster; safe to re-run (every statement is idempotent)",
        }
        .manifest(ctx),
    )
}

/// The shell lines that copy the root client certificate with the modes CockroachDB demands.
fn copy_root_certs() -> String {
    format!(
        "rm -f {CERTS_DIR}/*\ncp -L {CERTS_SECRET_DIR}/* {CERTS_DIR}/\nchmod 0400 {CERTS_DIR}/*\n"
    )
}

/// The first node's stable name, which the Jobs dial.
fn first_node_host(ctx: &Context<'_>) -> String {
    format!(
        "{CRDB_NAME}-0.{}",
        ctx.service_domain(CRDB_NAME, &ctx.region)
    )
}

/// The SQL that makes the cluster meet the tenant's survival goal: multi-region databases
/// (sites, or region survival with named databases), or the default zone's replica count when
/// it is not CockroachDB's default of 3. Any failing statement fails the Job (`set -e`), so a
/// Job that completed applied every one. `None` when there is nothing to apply.
fn replication_step(ctx: &Context<'_>, host: &str) -> Option<String> {
    let replication = ctx
        .tenant
        .cockroach_quorum()
        .map(|q| q.replication_factor)
        .unwrap_or(ctx.tenant.spec().survival.replication_factor());
    let sql =
        format!("/cockroach/cockroach sql --certs-dir={CERTS_DIR} --host={host}:{CRDB_SQL_PORT}");
    let step = match super::sites::replication_script(ctx, &sql) {
        Some(step) => step,
        None if replication != 3 => format!(
            "{sql} -e 'ALTER RANGE default CONFIGURE ZONE USING num_replicas = {replication}'\n"
        ),
        None => return None,
    };
    (!step.is_empty()).then(|| format!("set -e\n{step}"))
}

/// The mounts of a Job that connects as `root`: the client certificate Secret, the copy
/// with tight modes CockroachDB demands, and `/tmp` (the root filesystem is read-only).
fn root_client_mounts() -> Vec<VolumeMount> {
    vec![
        mount("certs-secret", CERTS_SECRET_DIR, true),
        mount("certs", CERTS_DIR, false),
        mount("tmp", "/tmp", false),
    ]
}

/// The volumes behind [`root_client_mounts`].
fn root_client_volumes() -> Vec<Volume> {
    vec![
        root_client_certs(),
        empty_dir("certs", true, "1Mi"),
        empty_dir("tmp", false, "64Mi"),
    ]
}

/// The upgrade Job of a major upgrade (`cockroachdb.upgrade_from` in another major than
/// `cockroachdb.version`), rendered in the first region: it sets
/// `cluster.preserve_downgrade_option` to the running major through the public Service. It
/// must complete before the pods roll to the new version (docs/runbooks/upgrade.md: apply it
/// first with `-l app.kubernetes.io/name=cockroachdb-upgrade`). A patch upgrade renders none.
pub fn upgrade_job(ctx: &Context<'_>) -> Option<Manifest> {
    let spec = &ctx.tenant.spec().cockroachdb;
    let from_tag = spec.upgrade_from.as_deref()?.trim();
    let from = from_tag.parse().ok();
    let to = spec.version.parse().ok()?;
    let step = crate::UpgradeStep::between(from, to).ok()?;
    let crate::UpgradeStep::Major { from, to } = step else {
        return None;
    };
    if !ctx.first_region {
        return None;
    }
    let name = format!("{CRDB_NAME}-upgrade");
    let host = format!(
        "{}:{CRDB_SQL_PORT}",
        ctx.service_domain(CRDB_PUBLIC, &ctx.region)
    );
    let script = format!(
        "rm -f {CERTS_DIR}/*\ncp -L {CERTS_SECRET_DIR}/* {CERTS_DIR}/\nchmod 0400 {CERTS_DIR}/*\n{}",
        upgrade_script(CERTS_DIR, &host, &from.major(), &to.major())
    );
    Some(
        ScriptJob {
            name: &name,
            container: "upgrade",
            // The running version's CLI: the new binary is not running anywhere yet.
            image: ctx.image("cockroachdb/cockroach", from_tag),
            script,
            mounts: root_client_mounts(),
            volumes: root_client_volumes(),
            purpose: "before a major upgrade: sets cluster.preserve_downgrade_option to the running major so the upgrade stays reversible until finalized (RESET CLUSTER SETTING cluster.preserve_downgrade_option after the rollout is healthy); safe to re-run",
        }
        .manifest(ctx),
    )
    .map(|mut job| {
        // Argo CD applies an earlier wave first and waits for the Job to complete.
        if let Manifest::Job(j) = &mut job {
            j.metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert("argocd.argoproj.io/sync-wave".to_owned(), "-1".to_owned());
        }
        job
    })
}

/// The root client certificate under CockroachDB's file names.
fn root_client_certs() -> Volume {
    projected(
        "certs-secret",
        vec![secret_items(
            CRDB_ROOT_SECRET,
            &[
                ("ca.crt", "ca.crt"),
                ("tls.crt", "client.root.crt"),
                ("tls.key", "client.root.key"),
            ],
        )],
    )
}
