//! Grafana dashboards for the ledger (CockroachDB), the stream (Redpanda) and backups: JSON in
//! ConfigMaps labelled `grafana_dashboard: "1"`, the label Grafana's dashboard sidecar (as
//! kube-prometheus-stack runs it) loads dashboards from. Every query is scoped to the tenant's
//! namespace and reads the data source chosen in the dashboard's `datasource` variable.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};

use super::metrics::*;
use super::{renders_backups, renders_cockroach, scrape_job};
use crate::render::common::{Context, RP_NAME, purpose, short_hash};
use crate::render::kit::labels;

/// The label (with value `"1"`) Grafana's sidecar loads dashboards from.
pub const DASHBOARD_LABEL: &str = "grafana_dashboard";

/// One time-series panel: title, unit, and `(query, legend)` pairs.
struct Panel {
    title: &'static str,
    unit: &'static str,
    queries: Vec<(String, &'static str)>,
}

fn panel(title: &'static str, unit: &'static str, query: String, legend: &'static str) -> Panel {
    Panel {
        title,
        unit,
        queries: vec![(query, legend)],
    }
}

fn ledger_panels(ns: &str) -> Vec<Panel> {
    vec![
        panel(
            "Unavailable ranges",
            "short",
            format!("sum({RANGES_UNAVAILABLE}{{{ns}}})"),
            "unavailable",
        ),
        panel(
            "Under-replicated ranges",
            "short",
            format!("sum({RANGES_UNDERREPLICATED}{{{ns}}})"),
            "under-replicated",
        ),
        panel(
            "Live nodes",
            "short",
            format!("min({LIVENESS_LIVENODES}{{{ns}}})"),
            "live nodes",
        ),
        panel(
            "SQL statements per second",
            "ops",
            format!("sum(rate({SQL_QUERY_COUNT}{{{ns}}}[5m]))"),
            "statements/s",
        ),
        panel(
            "SQL latency p99",
            "s",
            format!(
                "histogram_quantile(0.99, sum by (le) (rate({SQL_SERVICE_LATENCY_BUCKET}{{{ns}}}[5m]))) / 1e9"
            ),
            "p99",
        ),
        panel(
            "Clock offset",
            "ms",
            format!("max by (pod) ({CLOCK_OFFSET_MEANNANOS}{{{ns}}}) / 1e6"),
            "{{pod}}",
        ),
        panel(
            "Store free space",
            "percentunit",
            format!("min by (pod, store) ({CAPACITY_AVAILABLE}{{{ns}}} / {CAPACITY}{{{ns}}})"),
            "{{pod}} store {{store}}",
        ),
        Panel {
            title: "Certificate days left",
            unit: "d",
            queries: vec![
                (
                    format!("(min({CERT_EXPIRATION_NODE}{{{ns}}} > 0) - time()) / 86400"),
                    "node",
                ),
                (
                    format!("(min({CERT_EXPIRATION_CA}{{{ns}}} > 0) - time()) / 86400"),
                    "CA",
                ),
            ],
        },
        panel(
            "Changefeed behind",
            "s",
            format!("max({CHANGEFEED_MAX_BEHIND_NANOS}{{{ns}}}) / 1e9"),
            "slowest changefeed",
        ),
    ]
}

fn stream_panels(ns: &str, job: &str) -> Vec<Panel> {
    vec![
        panel(
            "Under-replicated replicas",
            "short",
            format!("sum({RP_UNDER_REPLICATED}{{{ns}}})"),
            "under-replicated",
        ),
        panel(
            "Leaderless partitions",
            "short",
            format!("max({RP_UNAVAILABLE_PARTITIONS}{{{ns}}})"),
            "leaderless",
        ),
        Panel {
            title: "Brokers",
            unit: "short",
            queries: vec![
                (format!("max({RP_BROKERS}{{{ns}}})"), "configured"),
                (format!("sum({UP}{{job=\"{job}\"}})"), "scraped"),
            ],
        },
        panel(
            "Consumer group lag (max per partition)",
            "short",
            format!("max by (redpanda_group) ({RP_CONSUMER_LAG_MAX}{{{ns}}})"),
            "{{redpanda_group}}",
        ),
        panel(
            "Consumer group lag (total)",
            "short",
            format!("max by (redpanda_group) ({RP_CONSUMER_LAG_SUM}{{{ns}}})"),
            "{{redpanda_group}}",
        ),
        panel(
            "Produced and consumed bytes",
            "Bps",
            format!("sum by (redpanda_request) (rate({RP_REQUEST_BYTES_TOTAL}{{{ns}}}[5m]))"),
            "{{redpanda_request}}",
        ),
        panel(
            "Data disk free",
            "percentunit",
            format!("min by (pod) ({RP_DISK_FREE_BYTES}{{{ns}}} / {RP_DISK_TOTAL_BYTES}{{{ns}}})"),
            "{{pod}}",
        ),
    ]
}

fn backup_panels(ns: &str, rpo: u64) -> Vec<Panel> {
    vec![
        Panel {
            title: "RPO (age of the newest backup)",
            unit: "s",
            queries: vec![
                (
                    format!("max by (job) ({BACKUP_RPO_SECONDS}{{{ns}}})"),
                    "{{job}}",
                ),
                (format!("vector({rpo})"), "target"),
            ],
        },
        panel(
            "Time since the last success",
            "s",
            format!("time() - max by (job) ({BACKUP_LAST_SUCCESS}{{{ns}}})"),
            "{{job}}",
        ),
        panel(
            "Backup duration",
            "s",
            format!("max by (job) ({BACKUP_LAST_DURATION}{{{ns}}})"),
            "{{job}}",
        ),
        panel(
            "Bytes added by the last backup",
            "bytes",
            format!("max by (job) ({BACKUP_LAST_BYTES_ADDED}{{{ns}}})"),
            "{{job}}",
        ),
        panel(
            "Runs per day",
            "short",
            format!("sum by (job) (increase({BACKUP_RUNS_TOTAL}{{{ns}}}[1d]))"),
            "{{job}}",
        ),
        panel(
            "Failures per hour",
            "short",
            format!("sum by (job, stage) (increase({BACKUP_FAILURES_TOTAL}{{{ns}}}[1h]))"),
            "{{job}} {{stage}}",
        ),
        Panel {
            title: "Restore drills",
            unit: "short",
            queries: vec![
                (
                    format!("min by (job) ({BACKUP_LAST_DRILL_SUCCESS}{{{ns}}})"),
                    "{{job}} passed",
                ),
                (
                    format!("max by (job) ({BACKUP_LAST_DRILL_RESTORE}{{{ns}}})"),
                    "{{job}} restore seconds",
                ),
            ],
        },
        panel(
            "WAL archive age",
            "s",
            format!("max({WAL_LAST_ARCHIVE_AGE}{{{ns}}})"),
            "last archived",
        ),
    ]
}

/// A dashboard's JSON model (Grafana schema 39: time-series panels, two per row).
fn dashboard(uid: &str, title: &str, tags: &[&str], panels: Vec<Panel>) -> Value {
    let source = json!({"type": "prometheus", "uid": "${datasource}"});
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let targets: Vec<Value> = p
                .queries
                .into_iter()
                .zip('A'..='Z')
                .map(|((expr, legend), id)| {
                    json!({"refId": id.to_string(), "datasource": source, "expr": expr, "legendFormat": legend})
                })
                .collect();
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": p.title,
                "datasource": source,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": targets,
            })
        })
        .collect();
    json!({
        "uid": uid,
        "title": title,
        "tags": tags,
        "editable": false,
        "schemaVersion": 39,
        "timezone": "utc",
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [{
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
        }]},
        "panels": panels,
    })
}

/// The region's dashboard ConfigMaps.
pub(crate) fn config_maps(ctx: &Context<'_>) -> Vec<ConfigMap> {
    let ns = super::in_namespace(ctx);
    let spec = ctx.tenant.spec();
    // Grafana's uid is at most 40 characters and global to the Grafana: derive it from the
    // namespace (tenant and environment) and the region.
    let key = short_hash(format!("{}/{}", ctx.namespace, ctx.region).as_bytes());
    let mut boards = Vec::new();
    if renders_cockroach(ctx) {
        boards.push(("ledger", "CockroachDB", ledger_panels(&ns)));
    }
    if ctx.renders_redpanda() {
        boards.push((
            "stream",
            "Redpanda",
            stream_panels(&ns, &scrape_job(ctx, RP_NAME)),
        ));
    }
    if renders_backups(ctx) {
        boards.push((
            "backups",
            "backups",
            backup_panels(&ns, ctx.tenant.rpo_seconds()),
        ));
    }
    boards
        .into_iter()
        .map(|(name, what, panels)| {
            let title = format!(
                "Ledger {} {} ({}): {what}",
                spec.tenant, spec.environment, ctx.region
            );
            let board = dashboard(
                &format!("tl-{key}-{name}"),
                &title,
                &["thinledger", spec.tenant.as_str(), name],
                panels,
            );
            let mut meta = ctx.meta(
                &format!("grafana-dashboard-{name}"),
                &labels(&[
                    ("app.kubernetes.io/component", "monitoring"),
                    (DASHBOARD_LABEL, "1"),
                ]),
            );
            meta.annotations = Some(purpose(&format!(
                "Grafana dashboard ({what}), loaded by Grafana's sidecar from the {DASHBOARD_LABEL} label"
            )));
            ConfigMap {
                metadata: meta,
                // Pretty-printed so a reviewer can read the rendered diff.
                data: Some(
                    [(
                        format!("{name}.json"),
                        serde_json::to_string_pretty(&board).unwrap_or_default(),
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..Default::default()
            }
        })
        .collect()
}
