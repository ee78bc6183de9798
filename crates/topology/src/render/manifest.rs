//! The rendered objects, and YAML at the edge.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::RenderError;
use super::certs::{Certificate, Issuer};
use super::job::JOB_PURPOSE_LABEL;
use super::monitoring::{PodMonitor, PrometheusRule};
use super::operator::CrdbCluster;

/// One rendered Kubernetes object, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Manifest {
    /// The tenant's namespace.
    Namespace(Box<Namespace>),
    /// A ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// The node-reader ClusterRole.
    ClusterRole(Box<ClusterRole>),
    /// Its binding.
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    /// The StorageClass, where the platform owns it.
    StorageClass(Box<StorageClass>),
    /// A ConfigMap.
    ConfigMap(Box<ConfigMap>),
    /// A Service.
    Service(Box<Service>),
    /// A StatefulSet.
    StatefulSet(Box<StatefulSet>),
    /// A PodDisruptionBudget.
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    /// A Job.
    Job(Box<Job>),
    /// A NetworkPolicy.
    NetworkPolicy(Box<NetworkPolicy>),
    /// The operator's custom resource.
    CrdbCluster(Box<CrdbCluster>),
    /// A Prometheus Operator PodMonitor (custom resource).
    PodMonitor(Box<PodMonitor>),
    /// A Prometheus Operator PrometheusRule (custom resource).
    PrometheusRule(Box<PrometheusRule>),
    /// A cert-manager Issuer (custom resource).
    Issuer(Box<Issuer>),
    /// A cert-manager Certificate (custom resource).
    Certificate(Box<Certificate>),
}

impl Manifest {
    /// The object's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Manifest::Namespace(_) => "Namespace",
            Manifest::ServiceAccount(_) => "ServiceAccount",
            Manifest::ClusterRole(_) => "ClusterRole",
            Manifest::ClusterRoleBinding(_) => "ClusterRoleBinding",
            Manifest::StorageClass(_) => "StorageClass",
            Manifest::ConfigMap(_) => "ConfigMap",
            Manifest::Service(_) => "Service",
            Manifest::StatefulSet(_) => "StatefulSet",
            Manifest::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Manifest::Job(_) => "Job",
            Manifest::NetworkPolicy(_) => "NetworkPolicy",
            Manifest::CrdbCluster(_) => "CrdbCluster",
            Manifest::PodMonitor(_) => "PodMonitor",
            Manifest::PrometheusRule(_) => "PrometheusRule",
            Manifest::Issuer(_) => "Issuer",
            Manifest::Certificate(_) => "Certificate",
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Manifest::Namespace(o) => &o.metadata,
            Manifest::ServiceAccount(o) => &o.metadata,
            Manifest::ClusterRole(o) => &o.metadata,
            Manifest::ClusterRoleBinding(o) => &o.metadata,
            Manifest::StorageClass(o) => &o.metadata,
            Manifest::ConfigMap(o) => &o.metadata,
            Manifest::Service(o) => &o.metadata,
            Manifest::StatefulSet(o) => &o.metadata,
            Manifest::PodDisruptionBudget(o) => &o.metadata,
            Manifest::Job(o) => &o.metadata,
            Manifest::NetworkPolicy(o) => &o.metadata,
            Manifest::CrdbCluster(o) => &o.metadata,
            Manifest::PodMonitor(o) => &o.metadata,
            Manifest::PrometheusRule(o) => &o.metadata,
            Manifest::Issuer(o) => &o.metadata,
            Manifest::Certificate(o) => &o.metadata,
        }
    }

    /// Whether the kind is a custom resource (its CRD comes from an operator, and the
    /// Kubernetes OpenAPI schemas do not describe it).
    pub fn is_custom_resource(&self) -> bool {
        matches!(
            self,
            Manifest::CrdbCluster(_)
                | Manifest::PodMonitor(_)
                | Manifest::PrometheusRule(_)
                | Manifest::Issuer(_)
                | Manifest::Certificate(_)
        )
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    /// The object as one YAML document.
    pub fn to_yaml(&self) -> Result<String, RenderError> {
        serde_yaml_ng::to_string(self).map_err(|e| RenderError::Yaml {
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            message: e.to_string(),
        })
    }

    /// The object as a JSON value (for policy checks and tests).
    pub fn to_json(&self) -> Result<serde_json::Value, RenderError> {
        serde_json::to_value(self).map_err(|e| RenderError::Yaml {
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            message: e.to_string(),
        })
    }
}

/// Everything rendered for one region, in apply order (namespace and accounts first).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Rendering {
    /// The objects.
    pub objects: Vec<Manifest>,
}

impl Rendering {
    pub(crate) fn new(objects: Vec<Manifest>) -> Self {
        Rendering { objects }
    }

    /// One multi-document YAML stream (`---` between documents).
    pub fn to_yaml(&self) -> Result<String, RenderError> {
        let mut out = String::new();
        for object in &self.objects {
            out.push_str("---\n");
            out.push_str(&object.to_yaml()?);
        }
        Ok(out)
    }

    /// One `(file name, YAML)` per object. Names are stable across runs and sort in apply
    /// order: `NN-<kind>-<name>.yaml`.
    pub fn files(&self) -> Result<Vec<(String, String)>, RenderError> {
        self.objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let name = format!(
                    "{:02}-{}-{}.yaml",
                    i + 1,
                    o.kind().to_ascii_lowercase(),
                    o.name()
                );
                Ok((name, o.to_yaml()?))
            })
            .collect()
    }

    /// The Job that does `what` (`cockroachdb-init`, `redpanda-topics`): Job names end in a
    /// hash of their inputs, so they are found by the label naming what they do.
    pub fn job(&self, what: &str) -> Option<&Manifest> {
        self.objects.iter().find(|o| {
            o.kind() == "Job"
                && o.metadata()
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(JOB_PURPOSE_LABEL))
                    .is_some_and(|v| v == what)
        })
    }

    /// The first object of `kind` named `name`.
    pub fn find(&self, kind: &str, name: &str) -> Option<&Manifest> {
        self.objects
            .iter()
            .find(|o| o.kind() == kind && o.name() == name)
    }
}
