//! Monitoring rendered with every tenant: what Prometheus scrapes ([`PodMonitor`]s), the alerts
//! a ledger's on-call needs (a [`PrometheusRule`]) and the Grafana dashboards (ConfigMaps
//! labelled [`DASHBOARD_LABEL`]), as the Prometheus Operator's `monitoring.coreos.com/v1` kinds.
//! The metrics they query are listed in [`metrics`]; each alert's runbook is a section of
//! `docs/runbooks/alerts.md` ([`RUNBOOK_URL`]).
//!
//! Per region (each region is its own cluster with its own Prometheus): CockroachDB's monitor
//! and alerts where it has nodes, Redpanda's in its region, and the backup scheduler's in the
//! first region (where the scheduler runs; rendering them in every region would alert on a
//! missing scheduler everywhere else).
//!
//! PodMonitors rather than ServiceMonitors: the backup scheduler has no Service, and in
//! operator mode the operator names CockroachDB's Services; pods carry the same labels and
//! port names in both modes. Prometheus must select these objects (its `podMonitorSelector`,
//! `ruleSelector` and namespace selectors; every object carries
//! `app.kubernetes.io/part-of: thinledger`) and its namespace must be one of the tenant's
//! `network.monitoring_namespaces`, which the NetworkPolicies admit to the metrics ports.

//!
//! # Public surface
//! - The kinds: [`PodMonitor`] ([`PodMonitorSpec`], [`PodMetricsEndpoint`],
//!   [`SafeTlsConfig`], [`SecretOrConfigMap`], [`SecretKeyRef`]) and [`PrometheusRule`]
//!   ([`PrometheusRuleSpec`], [`RuleGroup`], [`Rule`]); [`MONITORING_API_VERSION`].
//! - [`metrics`]: the catalog of queried metrics ([`Metric`], [`MetricSource`], [`METRICS`]).
//! - [`Severity`], [`RUNBOOK_URL`], [`BACKUP_METRICS_PORT`], [`DASHBOARD_LABEL`].

mod dashboards;
pub mod metrics;
mod monitors;
mod rules;
mod types;

pub use dashboards::DASHBOARD_LABEL;
pub use metrics::{METRICS, Metric, MetricSource};
pub(crate) use monitors::backup_selector;
pub(crate) use rules::CERT_WARNING_SECONDS;
pub use types::{
    MONITORING_API_VERSION, PodMetricsEndpoint, PodMonitor, PodMonitorSpec, PrometheusRule,
    PrometheusRuleSpec, Rule, RuleGroup, SafeTlsConfig, SecretKeyRef, SecretOrConfigMap,
};

use super::common::Context;
use super::manifest::Manifest;
use crate::tier::Tier;

/// Where the alert runbooks are: each alert's `runbook_url` is this with `#<alert name in
/// lowercase>`, the anchor of its section.
pub const RUNBOOK_URL: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/runbooks/alerts.md"
);

/// The container port the backup scheduler serves `/metrics` on (`metrics.listen` in its
/// schedule file, e.g. `0.0.0.0:9464`); its pod names the port `metrics`.
pub const BACKUP_METRICS_PORT: i32 = 9_464;

/// Every monitoring object of the region.
pub(crate) fn objects(ctx: &Context<'_>) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = monitors::pod_monitors(ctx)
        .into_iter()
        .map(|m| Manifest::PodMonitor(Box::new(m)))
        .collect();
    if let Some(rule) = rules::prometheus_rule(ctx) {
        out.push(Manifest::PrometheusRule(Box::new(rule)));
    }
    out.extend(
        dashboards::config_maps(ctx)
            .into_iter()
            .map(|c| Manifest::ConfigMap(Box::new(c))),
    );
    out
}

/// How urgent an alert is: its `severity` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Someone looks when convenient.
    Info,
    /// Someone looks today.
    Warning,
    /// Someone is paged now.
    Critical,
}

impl Severity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// What an alert of `self` urgency in production becomes in `tier`: production keeps it,
    /// staging pages no one (critical becomes warning), dev only informs.
    pub fn in_tier(self, tier: Tier) -> Severity {
        match tier {
            Tier::Prod => self,
            Tier::Staging => self.min(Severity::Warning),
            Tier::Dev => Severity::Info,
        }
    }
}

/// Which region objects go to.
pub(crate) fn renders_cockroach(ctx: &Context<'_>) -> bool {
    ctx.crdb_replicas > 0
}

/// The backup scheduler's monitor and alerts go to the first region only.
pub(crate) fn renders_backups(ctx: &Context<'_>) -> bool {
    ctx.first_region
}

/// `namespace="ledger-…"`: every series of this tenant (Prometheus adds the target's
/// namespace to each).
pub(crate) fn in_namespace(ctx: &Context<'_>) -> String {
    format!("namespace=\"{}\"", ctx.namespace)
}

/// The `job` label Prometheus gives the targets of the PodMonitor `name`.
pub(crate) fn scrape_job(ctx: &Context<'_>, name: &str) -> String {
    format!("{}/{name}", ctx.namespace)
}
