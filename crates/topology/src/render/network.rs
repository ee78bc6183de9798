//! NetworkPolicies: deny everything in the namespace, then admit only the ports each
//! component needs, from the pods that need them.
//!
//! Egress to the Kubernetes API (for the zone lookup) and to object storage (backups) is
//! admitted on ports 443 and 6443 to any address: the API server's and the storage service's
//! addresses are not known when rendering. DNS (port 53) is admitted to any address so node-local
//! DNS caches work. Kubelet probes are not subject to NetworkPolicy. The backup scheduler's
//! pods (`app.kubernetes.io/name: ledger-backup`) may reach object storage and CockroachDB's SQL
//! port, which admits them.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::CockroachMode;
use super::common::{
    CLIENT_LABEL, CRDB_GRPC_PORT, CRDB_HTTP_PORT, CRDB_SQL_PORT, Context, JOB_LABEL, RP_ADMIN_PORT,
    RP_KAFKA_PORT, RP_RPC_PORT, crdb_selector, purpose, redpanda_selector,
};
use super::kit::{labels, selector};
use super::manifest::Manifest;
use super::monitoring::{BACKUP_METRICS_PORT, backup_selector};
use crate::tenant::validate_endpoint_port;

fn ports(list: &[(i32, &str)]) -> Option<Vec<NetworkPolicyPort>> {
    Some(
        list.iter()
            .map(|(p, proto)| NetworkPolicyPort {
                port: Some(IntOrString::Int(*p)),
                protocol: Some((*proto).to_owned()),
                ..Default::default()
            })
            .collect(),
    )
}

fn tcp(list: &[i32]) -> Option<Vec<NetworkPolicyPort>> {
    ports(&list.iter().map(|p| (*p, "TCP")).collect::<Vec<_>>())
}

fn pods(l: &BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(l)),
        ..Default::default()
    }
}

fn namespace_selector(ns: &str) -> LabelSelector {
    selector(&labels(&[("kubernetes.io/metadata.name", ns)]))
}

/// Client pods: labelled in the ledger's namespace, or in a listed client namespace.
fn clients(ctx: &Context<'_>) -> Vec<NetworkPolicyPeer> {
    let client = labels(&[(CLIENT_LABEL, "true")]);
    let mut out = vec![pods(&client)];
    for ns in &ctx.tenant.spec().network.client_namespaces {
        out.push(NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(ns)),
            pod_selector: Some(selector(&client)),
            ..Default::default()
        });
    }
    out
}

fn monitoring(ctx: &Context<'_>) -> Vec<NetworkPolicyPeer> {
    ctx.tenant
        .spec()
        .network
        .monitoring_namespaces
        .iter()
        .map(|ns| NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(ns)),
            ..Default::default()
        })
        .collect()
}

fn jobs() -> NetworkPolicyPeer {
    pods(&labels(&[(JOB_LABEL, "true")]))
}

fn policy(
    ctx: &Context<'_>,
    name: &str,
    pod_selector: LabelSelector,
    ingress: Option<Vec<NetworkPolicyIngressRule>>,
    egress: Option<Vec<NetworkPolicyEgressRule>>,
    why: &str,
) -> Manifest {
    let mut meta = ctx.meta(name, &BTreeMap::new());
    meta.annotations = Some(purpose(why));
    let mut types = Vec::new();
    if ingress.is_some() {
        types.push("Ingress".to_owned());
    }
    if egress.is_some() {
        types.push("Egress".to_owned());
    }
    Manifest::NetworkPolicy(Box::new(NetworkPolicy {
        metadata: meta,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(pod_selector),
            policy_types: Some(types),
            ingress,
            egress,
        }),
    }))
}

fn peer_cidrs(ctx: &Context<'_>) -> Vec<NetworkPolicyPeer> {
    ctx.tenant
        .spec()
        .network
        .peer_cidrs
        .iter()
        .map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// The other sites' ranges, for Redpanda stretched over sites (a tenant of one provider runs
/// Redpanda in one region: none).
fn redpanda_peers(ctx: &Context<'_>) -> Vec<NetworkPolicyPeer> {
    if ctx.site().is_some() {
        peer_cidrs(ctx)
    } else {
        Vec::new()
    }
}

/// Object storage: HTTPS, and the port of the tenant's own endpoint (MinIO) when it has one.
fn object_storage_ports(ctx: &Context<'_>) -> Vec<i32> {
    let mut ports = vec![443];
    if let Some(port) = ctx
        .tenant
        .spec()
        .backup
        .endpoint
        .as_deref()
        .and_then(validate_endpoint_port)
        && !ports.contains(&i32::from(port))
    {
        ports.push(i32::from(port));
    }
    ports
}

fn ingress(from: Vec<NetworkPolicyPeer>, list: &[i32]) -> Option<NetworkPolicyIngressRule> {
    (!from.is_empty()).then(|| NetworkPolicyIngressRule {
        from: Some(from),
        ports: tcp(list),
    })
}

fn egress_to(to: Vec<NetworkPolicyPeer>, list: &[i32]) -> Option<NetworkPolicyEgressRule> {
    (!to.is_empty()).then(|| NetworkPolicyEgressRule {
        to: Some(to),
        ports: tcp(list),
    })
}

fn egress_anywhere(list: &[i32]) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: None,
        ports: tcp(list),
    }
}

pub fn policies(ctx: &Context<'_>) -> Vec<Manifest> {
    let all = LabelSelector::default();
    let mut out = vec![
        policy(
            ctx,
            "default-deny",
            all.clone(),
            Some(Vec::new()),
            Some(Vec::new()),
            "nothing in or out unless a policy below admits it",
        ),
        policy(
            ctx,
            "allow-dns",
            all,
            None,
            Some(vec![NetworkPolicyEgressRule {
                to: None,
                ports: ports(&[(53, "UDP"), (53, "TCP")]),
            }]),
            "name resolution for every pod",
        ),
    ];

    // CockroachDB.
    let crdb = crdb_selector();
    let crdb_pods = pods(&crdb);
    let mut crdb_in = Vec::new();
    crdb_in.extend(ingress(
        [vec![crdb_pods.clone()], peer_cidrs(ctx)].concat(),
        &[CRDB_GRPC_PORT],
    ));
    crdb_in.extend(ingress(
        [clients(ctx), vec![jobs()], peer_cidrs(ctx)].concat(),
        &[CRDB_SQL_PORT, CRDB_GRPC_PORT],
    ));
    // The backup scheduler's CockroachDB jobs issue `BACKUP` over SQL.
    crdb_in.extend(ingress(vec![pods(&backup_selector())], &[CRDB_SQL_PORT]));
    crdb_in.extend(ingress(monitoring(ctx), &[CRDB_HTTP_PORT]));
    if ctx.mode == CockroachMode::Operator {
        let operator = NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(
                &ctx.tenant.spec().network.operator_namespace,
            )),
            ..Default::default()
        };
        crdb_in.extend(ingress(
            vec![operator],
            &[CRDB_SQL_PORT, CRDB_GRPC_PORT, CRDB_HTTP_PORT],
        ));
    }
    let mut crdb_out = Vec::new();
    crdb_out.extend(egress_to(
        [vec![crdb_pods], peer_cidrs(ctx)].concat(),
        &[CRDB_GRPC_PORT],
    ));
    // Changefeeds: every CockroachDB node may run a changefeed's sink into Redpanda.
    let changefeeds = ctx.tenant.spec().changefeeds.is_some();
    if changefeeds {
        // Stretched over sites, a partition's leader may be another site's broker.
        crdb_out.extend(egress_to(
            [vec![pods(&redpanda_selector())], redpanda_peers(ctx)].concat(),
            &[RP_KAFKA_PORT],
        ));
    }
    let mut outside = vec![443, 6443];
    for port in object_storage_ports(ctx) {
        if !outside.contains(&port) {
            outside.push(port);
        }
    }
    crdb_out.push(egress_anywhere(&outside));
    out.push(policy(
        ctx,
        "cockroachdb",
        selector(&crdb),
        Some(crdb_in),
        Some(crdb_out),
        "CockroachDB: inter-node RPC among nodes (and peer regions), SQL from labelled clients and ledger Jobs, HTTP from monitoring; out: nodes, the Kubernetes API and object storage (backups)",
    ));

    if ctx.renders_redpanda() {
        let rp = redpanda_selector();
        let rp_pods = pods(&rp);
        let mut rp_in = Vec::new();
        // Brokers of this site and, stretched over sites, of the others (their ranges).
        rp_in.extend(ingress(
            [vec![rp_pods.clone()], redpanda_peers(ctx)].concat(),
            &[RP_KAFKA_PORT, RP_RPC_PORT, RP_ADMIN_PORT],
        ));
        let mut kafka_clients = [clients(ctx), vec![jobs()]].concat();
        if changefeeds {
            kafka_clients.push(pods(&crdb_selector()));
        }
        rp_in.extend(ingress(kafka_clients, &[RP_KAFKA_PORT]));
        rp_in.extend(ingress(
            [monitoring(ctx), vec![jobs()]].concat(),
            &[RP_ADMIN_PORT],
        ));
        let mut rp_out = Vec::new();
        rp_out.extend(egress_to(
            [vec![rp_pods], redpanda_peers(ctx)].concat(),
            &[RP_KAFKA_PORT, RP_RPC_PORT, RP_ADMIN_PORT],
        ));
        // Tiered storage reaches object storage on 443, or MinIO on its endpoint's port.
        let mut rp_outside = vec![443, 6443];
        if let Some(port) = ctx
            .tenant
            .tiered_storage()
            .and_then(|t| t.endpoint)
            .as_deref()
            .and_then(validate_endpoint_port)
            && !rp_outside.contains(&i32::from(port))
        {
            rp_outside.push(i32::from(port));
        }
        rp_out.push(egress_anywhere(&rp_outside));
        out.push(policy(
            ctx,
            "redpanda",
            selector(&rp),
            Some(rp_in),
            Some(rp_out),
            if ctx.site().is_some() {
                "Redpanda stretched over the sites: Kafka, RPC and admin among brokers, this site's and the other sites' (their ranges), Kafka from labelled clients, ledger Jobs (and CockroachDB's changefeeds), admin from monitoring and Jobs; out: brokers (every site's), the Kubernetes API and object storage (tiered storage)"
            } else {
                "Redpanda: Kafka, RPC and admin among brokers, Kafka from labelled clients, ledger Jobs (and CockroachDB's changefeeds), admin from monitoring and Jobs; out: brokers, the Kubernetes API and object storage (tiered storage)"
            },
        ));
    }

    let mut job_out = Vec::new();
    job_out.extend(egress_to(
        vec![pods(&crdb_selector())],
        &[CRDB_SQL_PORT, CRDB_GRPC_PORT],
    ));
    if ctx.renders_redpanda() {
        // The topic and changefeed Jobs reach every site's brokers.
        job_out.extend(egress_to(
            [vec![pods(&redpanda_selector())], redpanda_peers(ctx)].concat(),
            &[RP_KAFKA_PORT, RP_ADMIN_PORT],
        ));
    }
    if ctx.first_region
        && let Some(scrapes) = ingress(monitoring(ctx), &[BACKUP_METRICS_PORT])
    {
        out.push(policy(
            ctx,
            "ledger-backup-metrics",
            selector(&backup_selector()),
            Some(vec![scrapes]),
            None,
            "the backup scheduler's /metrics from monitoring (its PodMonitor); its other traffic is the scheduler's own concern",
        ));
    }

    // Without this the namespace's default-deny would stop the scheduler's pods (rendered by
    // `ledger-backup schedule render` into this namespace) from reaching the repository and
    // CockroachDB: every scheduled backup would fail.
    let mut backup_out = Vec::new();
    backup_out.extend(egress_to(vec![pods(&crdb_selector())], &[CRDB_SQL_PORT]));
    backup_out.push(egress_anywhere(&object_storage_ports(ctx)));
    out.push(policy(
        ctx,
        "ledger-backup-egress",
        selector(&backup_selector()),
        None,
        Some(backup_out),
        "the backup scheduler reaches object storage (HTTPS and the tenant's endpoint) and CockroachDB's SQL port (native backups); other sources its jobs read need a policy of their own",
    ));

    out.push(policy(
        ctx,
        "ledger-jobs",
        selector(&labels(&[(JOB_LABEL, "true")])),
        None,
        Some(job_out),
        "one-shot Jobs reach CockroachDB and Redpanda only",
    ));
    out
}
