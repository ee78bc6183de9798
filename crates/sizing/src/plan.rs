//! The computed result: what to deploy, and every rule that led there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thinledger_topology::{ByteSize, Cpu, FailureDomain, Placement, Provider, SurvivalGoal, Tier};

/// A sizing: CockroachDB and Redpanda resources, flags, disks and nodes, with the rules
/// applied, advice and warnings. Printed by `ledger-size`; consumed by rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SizingPlan {
    /// The provider sized for.
    pub provider: Provider,
    /// The tier sized for.
    pub tier: Tier,
    /// What the cluster survives.
    pub survival: SurvivalGoal,
    /// `node_shape` or `workload`.
    pub mode: SizingMode,
    /// The workload forecast, in workload mode (or when a node shape came with a data size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
    /// CockroachDB's part.
    pub cockroachdb: CockroachPlan,
    /// Redpanda's part.
    pub redpanda: RedpandaPlan,
    /// Every rule applied, in order, with its source.
    pub rules: Vec<AppliedRule>,
    /// Recommendations that are not refusals.
    pub advice: Vec<String>,
    /// Requirements the plan could not meet in full (e.g. a disk class that cannot reach the
    /// per-vCPU performance); read these before applying.
    pub warnings: Vec<String>,
}

/// How the plan was derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingMode {
    /// From a given vCPU and memory per node.
    NodeShape,
    /// From data size, growth and survival goal.
    Workload,
}

/// The data the cluster is sized to hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Forecast {
    /// Logical data today.
    pub data: ByteSize,
    /// Yearly growth, percent.
    pub growth_percent_per_year: f64,
    /// Planning horizon, years.
    pub horizon_years: u32,
    /// Logical data at the horizon: `data × (1 + growth)^horizon`.
    pub data_at_horizon: ByteSize,
    /// Peak logical writes per second, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_rate_per_second: Option<ByteSize>,
}

/// CPU and memory of one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceList {
    /// CPU (whole CPUs).
    pub cpu: Cpu,
    /// Memory.
    pub memory: ByteSize,
}

/// A container's requests and limits; they are always equal (Guaranteed QoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PodResources {
    /// `resources.requests`.
    pub requests: ResourceList,
    /// `resources.limits` (equal to the requests).
    pub limits: ResourceList,
    /// The QoS class Kubernetes assigns: always `Guaranteed`.
    pub qos_class: QosClass,
}

/// A pod's Kubernetes QoS class; sizing only plans Guaranteed pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum QosClass {
    /// Requests equal limits for every resource of every container.
    Guaranteed,
}

impl QosClass {
    /// The name Kubernetes uses (`status.qosClass`).
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
        }
    }
}

impl std::fmt::Display for QosClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl PodResources {
    pub(crate) fn guaranteed(cpu: Cpu, memory: ByteSize) -> Self {
        let list = ResourceList { cpu, memory };
        PodResources {
            requests: list,
            limits: list,
            qos_class: QosClass::Guaranteed,
        }
    }

    /// Whole CPUs of the container.
    pub fn vcpu(&self) -> u32 {
        self.limits.cpu.millis() / 1000
    }
}

/// CockroachDB's nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CockroachPlan {
    /// Node count (odd, at least 3).
    pub nodes: u32,
    /// Replicas per range.
    pub replication_factor: u32,
    /// Nodes per region and zone: as even as possible (counts differ by at most one).
    pub placements: Vec<Placement>,
    /// The survival goal's failure domains and the most replicas of one range each holds:
    /// losing any one leaves a majority.
    #[serde(default)]
    pub failure_domains: Vec<FailureDomain>,
    /// Per-node container resources.
    pub resources: PodResources,
    /// `--cache`.
    pub cache: ByteSize,
    /// `--max-sql-memory`.
    pub max_sql_memory: ByteSize,
    /// The start flags sizing decides, e.g. `--cache=8GiB`.
    pub flags: Vec<String>,
    /// The data volume of each node.
    pub disk: DiskPlan,
    /// The Kubernetes node each pod needs.
    pub node: NodeFit,
}

/// One node's data volume and the performance it must deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiskPlan {
    /// `storageClassName`.
    pub storage_class: String,
    /// CSI provisioner of the class.
    pub provisioner: String,
    /// Volume size (PVC `resources.requests.storage`).
    pub size: ByteSize,
    /// Data the node holds at the horizon (after replication), when a data size is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_per_node: Option<ByteSize>,
    /// Fullest the volume is planned to be, percent.
    pub target_utilisation_percent: u32,
    /// Largest volume allowed: min(320 GiB × vCPU, 10 TiB, the class's maximum).
    pub max_size: ByteSize,
    /// IOPS the node needs (500 per vCPU).
    pub required_iops: u64,
    /// Throughput the node needs, MB/s (30 per vCPU, more for a high write rate).
    pub required_mbps: u64,
    /// IOPS provisioned on the volume (gp3/io2), if the class provisions them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_iops: Option<u64>,
    /// Throughput provisioned on the volume, MB/s (gp3), if the class provisions it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_mbps: Option<u64>,
    /// IOPS the volume delivers; absent when it depends on hardware (on-prem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_iops: Option<u64>,
    /// Throughput the volume delivers, MB/s; absent when it depends on hardware.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_mbps: Option<u64>,
    /// Size tier that sets the performance (Azure Premium SSD, e.g. `P40`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_tier: Option<String>,
    /// StorageClass `parameters`, including per-volume IOPS/throughput where the class
    /// takes them (EBS CSI `iops`, `throughput`).
    pub class_parameters: BTreeMap<String, String>,
    /// A requirement the platform team must verify (on-prem disks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

/// The Kubernetes node a pod needs: the instance type chosen and the minimum capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeFit {
    /// The smallest approved instance type that holds the pod and the node's reserve; absent
    /// on-prem, where `minimum_vcpu`/`minimum_memory` state the requirement instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceChoice>,
    /// Fewest vCPU a node needs for the pod plus reserve.
    pub minimum_vcpu: u32,
    /// Least memory a node needs for the pod plus reserve (whole GiB).
    pub minimum_memory: ByteSize,
    /// What the node keeps for itself.
    pub reserve: SystemReserve,
}

/// An instance type and what it leaves for pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceChoice {
    /// The provider's name, e.g. `m6i.4xlarge`.
    pub name: String,
    /// Its family, e.g. `m6i`.
    pub family: String,
    /// Its vCPU.
    pub vcpu: u32,
    /// Its memory.
    pub memory: ByteSize,
    /// CPU left for pods after the reserve.
    pub allocatable_cpu: Cpu,
    /// Memory left for pods after the reserve.
    pub allocatable_memory: ByteSize,
}

/// The part of a node that is not for the database pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemReserve {
    /// kube-reserved CPU (tiered formula).
    pub kube_reserved_cpu: Cpu,
    /// kube-reserved memory (tiered formula).
    pub kube_reserved_memory: ByteSize,
    /// Hard eviction threshold.
    pub eviction_memory: ByteSize,
    /// Daemonset CPU.
    pub daemonset_cpu: Cpu,
    /// Daemonset memory.
    pub daemonset_memory: ByteSize,
}

/// Redpanda's brokers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedpandaPlan {
    /// Brokers (odd, at least 3).
    pub brokers: u32,
    /// Replication factor of the ledger's topics.
    pub replication_factor: u32,
    /// Brokers per region and zone (rack awareness follows the zone label).
    pub placements: Vec<Placement>,
    /// The zones (racks) and the most replicas of one partition each holds.
    #[serde(default)]
    pub failure_domains: Vec<FailureDomain>,
    /// Cores per broker (`--smp`).
    pub cores: u32,
    /// Per-broker container resources.
    pub resources: PodResources,
    /// `--memory`: about 90% of the memory request, whole MiB.
    pub memory: ByteSize,
    /// `--reserve-memory`: always 0 (the container limit already bounds Redpanda).
    pub reserve_memory: ByteSize,
    /// The start flags sizing decides: `--smp`, `--memory`, `--reserve-memory`.
    pub flags: Vec<String>,
    /// Each broker's data volume.
    pub disk: RedpandaDisk,
    /// The Kubernetes node each broker needs.
    pub node: NodeFit,
}

/// A broker's data volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedpandaDisk {
    /// `storageClassName` (the same class as CockroachDB's volumes).
    pub storage_class: String,
    /// Volume size.
    pub size: ByteSize,
    /// Hours of events retained.
    pub retention_hours: u32,
    /// Ingest rate the size was computed from, bytes per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_per_second: Option<ByteSize>,
}

/// One rule the calculator applied: what it says, what it gave for this plan, and its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppliedRule {
    /// Stable identifier, e.g. `crdb.cache`.
    pub id: String,
    /// The rule, in words.
    pub rule: String,
    /// What the rule produced here.
    pub result: String,
    /// Where the rule comes from.
    pub source: String,
}

/// Collects rules as the calculator applies them.
#[derive(Debug, Default)]
pub(crate) struct RuleLog(pub(crate) Vec<AppliedRule>);

impl RuleLog {
    pub(crate) fn add(
        &mut self,
        id: &'static str,
        rule: impl Into<String>,
        result: impl Into<String>,
        source: &'static str,
    ) {
        self.0.push(AppliedRule {
            id: id.to_owned(),
            rule: rule.into(),
            result: result.into(),
            source: source.to_owned(),
        });
    }
}
