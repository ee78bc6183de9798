//! Paste-ready configuration fragments from a plan.
//!
//! Each is the subset of keys sizing decides, shaped as the target expects, so it can be merged
//! into a values file or a resource:
//!
//! - [`CockroachHelmValues`] — the `cockroachdb` Helm chart: `statefulset.replicas`,
//!   `statefulset.resources.{requests,limits}`, `conf.cache`, `conf.max-sql-memory`,
//!   `storage.persistentVolume.{size,storageClass}`.
//! - `SizingPlan::crdb_cluster_spec` (feature `render`) — the operator's `CrdbCluster`
//!   (`crdb.cockroachlabs.com/v1alpha1`) `spec`: `nodes`, `resources`, `cache`,
//!   `maxSQLMemory`, `dataStore.pvc.spec`, as topology's one `CrdbClusterSpec` type cut to
//!   these keys.
//! - [`RedpandaHelmValues`] — the `redpanda` Helm chart: `statefulset.replicas`,
//!   `resources.cpu.cores`, `resources.memory.container.{min,max}`,
//!   `resources.memory.redpanda.{memory,reserveMemory}`, `storage.persistentVolume.{size,storageClass}`.
//!
//! Per-volume IOPS/throughput are StorageClass parameters, not part of these fragments; they
//! are in [`DiskPlan::class_parameters`](crate::DiskPlan::class_parameters).

use serde::Serialize;
use thinledger_topology::ByteSize;
#[cfg(feature = "render")]
use thinledger_topology::render::{CrdbClusterFragment, CrdbClusterSpec};

use crate::plan::{PodResources, SizingPlan};

/// Values for the `cockroachdb` Helm chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CockroachHelmValues {
    /// `statefulset.*`.
    pub statefulset: HelmStatefulSet,
    /// `conf.*`.
    pub conf: HelmConf,
    /// `storage.*`.
    pub storage: HelmStorage,
}

/// `statefulset` of the CockroachDB chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HelmStatefulSet {
    /// `statefulset.replicas`.
    pub replicas: u32,
    /// `statefulset.resources`.
    pub resources: PodResourcesYaml,
}

/// `conf` of the CockroachDB chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HelmConf {
    /// `conf.cache`.
    pub cache: String,
    /// `conf.max-sql-memory`.
    #[serde(rename = "max-sql-memory")]
    pub max_sql_memory: String,
}

/// `storage` of a chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HelmStorage {
    /// `storage.persistentVolume`.
    #[serde(rename = "persistentVolume")]
    pub persistent_volume: HelmPersistentVolume,
}

/// `storage.persistentVolume` of a chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HelmPersistentVolume {
    /// `enabled`.
    pub enabled: bool,
    /// `size`.
    pub size: ByteSize,
    /// `storageClass`.
    #[serde(rename = "storageClass")]
    pub storage_class: String,
}

/// Kubernetes `resources` with requests and limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PodResourcesYaml {
    /// `requests`.
    pub requests: ResourceYaml,
    /// `limits`.
    pub limits: ResourceYaml,
}

/// One resource list as Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResourceYaml {
    /// `cpu`.
    pub cpu: String,
    /// `memory`.
    pub memory: String,
}

impl From<&PodResources> for PodResourcesYaml {
    fn from(r: &PodResources) -> Self {
        let list = |l: &crate::plan::ResourceList| ResourceYaml {
            cpu: l.cpu.to_quantity(),
            memory: l.memory.to_quantity(),
        };
        PodResourcesYaml {
            requests: list(&r.requests),
            limits: list(&r.limits),
        }
    }
}

/// Values for the `redpanda` Helm chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaHelmValues {
    /// `statefulset.replicas`.
    pub statefulset: RedpandaStatefulSet,
    /// `resources`.
    pub resources: RedpandaResources,
    /// `storage`.
    pub storage: HelmStorage,
}

/// `statefulset` of the Redpanda chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaStatefulSet {
    /// `replicas`.
    pub replicas: u32,
}

/// `resources` of the Redpanda chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaResources {
    /// `cpu`.
    pub cpu: RedpandaCpu,
    /// `memory`.
    pub memory: RedpandaMemory,
}

/// `resources.cpu`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaCpu {
    /// `cores` (`--smp`; requests = limits).
    pub cores: u32,
    /// `overprovisioned`: false, the cores are dedicated.
    pub overprovisioned: bool,
}

/// `resources.memory`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaMemory {
    /// `container`: request (`min`) and limit (`max`), equal.
    pub container: RedpandaContainerMemory,
    /// `redpanda`: `--memory` and `--reserve-memory`.
    pub redpanda: RedpandaProcessMemory,
}

/// `resources.memory.container`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaContainerMemory {
    /// `min` (the request).
    pub min: ByteSize,
    /// `max` (the limit).
    pub max: ByteSize,
}

/// `resources.memory.redpanda`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RedpandaProcessMemory {
    /// `memory` (`--memory`).
    pub memory: ByteSize,
    /// `reserveMemory` (`--reserve-memory`).
    #[serde(rename = "reserveMemory")]
    pub reserve_memory: ByteSize,
}

impl SizingPlan {
    /// The `cockroachdb` Helm chart values this plan decides.
    pub fn cockroach_helm_values(&self) -> CockroachHelmValues {
        let c = &self.cockroachdb;
        CockroachHelmValues {
            statefulset: HelmStatefulSet {
                replicas: c.nodes,
                resources: (&c.resources).into(),
            },
            conf: HelmConf {
                cache: c.cache.to_iec(),
                max_sql_memory: c.max_sql_memory.to_iec(),
            },
            storage: HelmStorage {
                persistent_volume: HelmPersistentVolume {
                    enabled: true,
                    size: c.disk.size,
                    storage_class: c.disk.storage_class.clone(),
                },
            },
        }
    }

    /// The `CrdbCluster` `spec` keys this plan decides: the operator's own
    /// [`CrdbClusterSpec`](thinledger_topology::render::CrdbClusterSpec), cut to those keys
    /// (feature `render`).
    #[cfg(feature = "render")]
    pub fn crdb_cluster_spec(&self) -> CrdbClusterFragment {
        let c = &self.cockroachdb;
        CrdbClusterSpec::sized(
            c.nodes,
            c.resources.limits.cpu,
            c.resources.limits.memory,
            c.cache.to_iec(),
            c.max_sql_memory.to_iec(),
            c.disk.size,
            &c.disk.storage_class,
        )
        .sizing_fragment()
    }

    /// The `redpanda` Helm chart values this plan decides.
    pub fn redpanda_helm_values(&self) -> RedpandaHelmValues {
        let r = &self.redpanda;
        RedpandaHelmValues {
            statefulset: RedpandaStatefulSet {
                replicas: r.brokers,
            },
            resources: RedpandaResources {
                cpu: RedpandaCpu {
                    cores: r.cores,
                    overprovisioned: false,
                },
                memory: RedpandaMemory {
                    container: RedpandaContainerMemory {
                        min: r.resources.requests.memory,
                        max: r.resources.limits.memory,
                    },
                    redpanda: RedpandaProcessMemory {
                        memory: r.memory,
                        reserve_memory: r.reserve_memory,
                    },
                },
            },
            storage: HelmStorage {
                persistent_volume: HelmPersistentVolume {
                    enabled: true,
                    size: r.disk.size,
                    storage_class: r.disk.storage_class.clone(),
                },
            },
        }
    }
}
