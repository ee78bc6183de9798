//! The Prometheus Operator's `monitoring.coreos.com/v1` kinds this crate renders, typed: the
//! fields set here, named as in the upstream CRDs. Unset optional fields are not written.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// API version of [`PodMonitor`] and [`PrometheusRule`].
pub const MONITORING_API_VERSION: &str = "monitoring.coreos.com/v1";

/// A `PodMonitor`: which pods Prometheus scrapes, on which port and path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitor {
    /// Always [`MONITORING_API_VERSION`].
    pub api_version: String,
    /// Always `PodMonitor`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// What to scrape.
    pub spec: PodMonitorSpec,
}

/// `PodMonitor.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// Pods to scrape (in the PodMonitor's own namespace).
    pub selector: LabelSelector,
    /// One scrape endpoint per entry.
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

/// One scrape endpoint of the selected pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// Name of the container port.
    pub port: String,
    /// HTTP path of the metrics.
    pub path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Scrape interval (`30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Keep the target's own labels when they clash with Prometheus' (`job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_labels: Option<bool>,
    /// TLS settings of an `https` endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<SafeTlsConfig>,
}

/// TLS settings of a scrape (the CA that signed the target's certificate, and the name the
/// certificate carries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafeTlsConfig {
    /// The CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SecretOrConfigMap>,
    /// The client certificate presented to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<SecretOrConfigMap>,
    /// The client certificate's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<SecretKeyRef>,
    /// The name to verify the target's certificate against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// A value read from a Secret key (or a ConfigMap key, not used here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretOrConfigMap {
    /// The Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
}

/// A key of a Secret in the monitor's namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key.
    pub key: String,
}

/// A `PrometheusRule`: groups of alerting rules the operator loads into Prometheus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusRule {
    /// Always [`MONITORING_API_VERSION`].
    pub api_version: String,
    /// Always `PrometheusRule`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// The rule groups.
    pub spec: PrometheusRuleSpec,
}

/// `PrometheusRule.spec`: exactly what a Prometheus rule file holds, so
/// `promtool check rules` reads it as one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusRuleSpec {
    /// The groups.
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup {
    /// Group name (unique in the object).
    pub name: String,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// An alerting rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The alert's name.
    pub alert: String,
    /// The PromQL expression; every series it returns is a firing alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels added to the alert (`severity`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook_url`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
