//! PodMonitors: CockroachDB's `/_status/vars` over HTTPS (the cluster runs secure, so its HTTP
//! port speaks TLS; the scrape verifies the node certificate against the CA in
//! `cockroachdb-node` and the public Service's name, which the node certificate carries),
//! Redpanda's `/public_metrics` on the admin port (HTTPS requiring a client certificate:
//! Prometheus presents `redpanda-metrics-client`'s and verifies the broker as the `redpanda`
//! Service's name; admitted only from the monitoring namespaces), and the backup scheduler's
//! `/metrics`.

use std::collections::BTreeMap;

use super::types::{
    MONITORING_API_VERSION, PodMetricsEndpoint, PodMonitor, PodMonitorSpec, SafeTlsConfig,
    SecretKeyRef, SecretOrConfigMap,
};
use super::{renders_backups, renders_cockroach};
use crate::render::common::{
    BACKUP_SA, CRDB_NAME, CRDB_NODE_SECRET, CRDB_PUBLIC, Context, RP_METRICS_CLIENT_SECRET,
    RP_NAME, crdb_selector, purpose, redpanda_selector,
};
use crate::render::kit::{labels, selector};

/// Scrape interval of every monitor.
const INTERVAL: &str = "30s";

/// The backup scheduler's pods: `ledger-backup`'s own labels.
pub(crate) fn backup_selector() -> BTreeMap<String, String> {
    labels(&[("app.kubernetes.io/name", BACKUP_SA)])
}

fn monitor(
    ctx: &Context<'_>,
    name: &str,
    pods: &BTreeMap<String, String>,
    endpoint: PodMetricsEndpoint,
    why: &str,
) -> PodMonitor {
    let mut meta = ctx.meta(
        name,
        &labels(&[("app.kubernetes.io/component", "monitoring")]),
    );
    meta.annotations = Some(purpose(why));
    PodMonitor {
        api_version: MONITORING_API_VERSION.to_owned(),
        kind: "PodMonitor".to_owned(),
        metadata: meta,
        spec: PodMonitorSpec {
            selector: selector(pods),
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                interval: Some(INTERVAL.to_owned()),
                ..endpoint
            }],
        },
    }
}

/// A key of a Secret in the monitor's namespace.
fn secret_key(name: &str, key: &str) -> SecretOrConfigMap {
    SecretOrConfigMap {
        secret: Some(SecretKeyRef {
            name: name.to_owned(),
            key: key.to_owned(),
        }),
    }
}

/// The region's PodMonitors.
pub(crate) fn pod_monitors(ctx: &Context<'_>) -> Vec<PodMonitor> {
    let mut out = Vec::new();
    if renders_cockroach(ctx) {
        out.push(monitor(
            ctx,
            CRDB_NAME,
            &crdb_selector(),
            PodMetricsEndpoint {
                port: "http".to_owned(),
                path: "/_status/vars".to_owned(),
                scheme: "https".to_owned(),
                tls_config: Some(SafeTlsConfig {
                    ca: Some(secret_key(CRDB_NODE_SECRET, "ca.crt")),
                    server_name: Some(ctx.service_domain(CRDB_PUBLIC, &ctx.region)),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "Prometheus scrapes every CockroachDB node's /_status/vars over TLS, verified against the cluster CA",
        ));
    }
    if ctx.renders_redpanda() {
        out.push(monitor(
            ctx,
            RP_NAME,
            &redpanda_selector(),
            PodMetricsEndpoint {
                port: "admin".to_owned(),
                path: "/public_metrics".to_owned(),
                scheme: "https".to_owned(),
                tls_config: Some(SafeTlsConfig {
                    ca: Some(secret_key(RP_METRICS_CLIENT_SECRET, "ca.crt")),
                    cert: Some(secret_key(RP_METRICS_CLIENT_SECRET, "tls.crt")),
                    key_secret: Some(SecretKeyRef {
                        name: RP_METRICS_CLIENT_SECRET.to_owned(),
                        key: "tls.key".to_owned(),
                    }),
                    server_name: Some(ctx.service_domain(RP_NAME, &ctx.region)),
                }),
                ..Default::default()
            },
            "Prometheus scrapes every Redpanda broker's /public_metrics on the admin port over TLS, verified against the tenant's CA, presenting the client certificate in Secret redpanda-metrics-client (the admin API requires one)",
        ));
    }
    if renders_backups(ctx) {
        out.push(monitor(
            ctx,
            BACKUP_SA,
            &backup_selector(),
            PodMetricsEndpoint {
                port: "metrics".to_owned(),
                path: "/metrics".to_owned(),
                scheme: "http".to_owned(),
                // The scheduler labels its series with the backup job's name as `job`; keep it
                // rather than Prometheus' scrape job.
                honor_labels: Some(true),
                ..Default::default()
            },
            "Prometheus scrapes the backup scheduler (ledger-backup schedule run, metrics.listen on port 9464, container port named metrics): RPO, failures and drills per backup job",
        ));
    }
    out
}
