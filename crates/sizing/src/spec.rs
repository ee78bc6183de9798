//! What a user declares (`*Spec`) and the knobs the calculator offers (`*Options`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use thinledger_topology::{ByteSize, Cpu, Locality, QuantityError, SurvivalGoal};

use crate::rules::{
    DEFAULT_DISK_UTILISATION_PERCENT, DEFAULT_REDPANDA_RETENTION_HOURS, DEFAULT_WRITE_AMPLIFICATION,
};

/// `with_*` setters: a `set` field takes the value, a `some` field wraps it in `Some`, an
/// `into` field takes anything that converts and wraps it in `Some`.
macro_rules! setters {
    ($ty:ident { $($kind:ident $setter:ident => $field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(setters!(@one $kind $setter $field $t);)*
        }
    };
    (@one set $setter:ident $field:ident $t:ty) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        pub fn $setter(mut self, $field: $t) -> Self {
            self.$field = $field;
            self
        }
    };
    (@one some $setter:ident $field:ident $t:ty) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        pub fn $setter(mut self, $field: $t) -> Self {
            self.$field = Some($field);
            self
        }
    };
    (@one into $setter:ident $field:ident $t:ty) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        pub fn $setter(mut self, $field: impl Into<$t>) -> Self {
            self.$field = Some($field.into());
            self
        }
    };
}

/// What to size from: a node shape the user already has in mind, or a workload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SizingSpec {
    /// Check and complete a given node shape.
    NodeShape(NodeShapeSpec),
    /// Derive node count, shape and disks from data, growth and survival goal.
    Workload(WorkloadSpec),
}

impl From<NodeShapeSpec> for SizingSpec {
    fn from(spec: NodeShapeSpec) -> Self {
        SizingSpec::NodeShape(spec)
    }
}

impl From<WorkloadSpec> for SizingSpec {
    fn from(spec: WorkloadSpec) -> Self {
        SizingSpec::Workload(spec)
    }
}

/// A CockroachDB node shape: vCPU and memory per node (requests = limits).
///
/// Built with [`NodeShapeSpec::new`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NodeShapeSpec {
    /// CPU per node; must be whole CPUs.
    pub vcpu: Cpu,
    /// Memory per node (the container's request and limit).
    pub memory: ByteSize,
    /// Node count; defaults to the fewest the survival goal allows (3, or 5 for region).
    pub nodes: Option<u32>,
    /// Logical data the cluster will hold (before replication). Without it the disk is
    /// [`DEFAULT_DISK_GIB_PER_VCPU`](crate::rules::DEFAULT_DISK_GIB_PER_VCPU) per vCPU.
    pub data: Option<ByteSize>,
    /// What the cluster must survive; sets the replication factor.
    pub survival: SurvivalGoal,
}

impl NodeShapeSpec {
    /// A shape of `vcpu` and `memory`, three nodes, zone survival, no data size.
    pub fn new(vcpu: Cpu, memory: ByteSize) -> Self {
        NodeShapeSpec {
            vcpu,
            memory,
            nodes: None,
            data: None,
            survival: SurvivalGoal::Zone,
        }
    }
}

setters!(NodeShapeSpec {
    some with_nodes => nodes: u32,
    some with_data => data: ByteSize,
    set with_survival => survival: SurvivalGoal,
});

/// A workload: how much data, how fast it grows, how long to plan for, what to survive.
///
/// Built with [`WorkloadSpec::new`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkloadSpec {
    /// Logical data today (before replication).
    pub data: ByteSize,
    /// Yearly growth in percent (`40.0` = 40% a year, compounded).
    pub growth_percent_per_year: f64,
    /// Years the disks must last before a resize.
    pub horizon_years: u32,
    /// Logical bytes written per second at peak, if known; raises disk throughput when the
    /// per-vCPU figure is not enough, and sizes Redpanda's disks.
    pub write_rate_per_second: Option<ByteSize>,
    /// What the cluster must survive; sets the replication factor and the minimum node count.
    pub survival: SurvivalGoal,
    /// vCPU per node; defaults to the tier's (8 in production).
    pub vcpu: Option<Cpu>,
    /// Memory per node; defaults to the tier's GiB per vCPU (4).
    pub memory: Option<ByteSize>,
    /// A fixed node count; by default the fewest odd count whose disks fit.
    pub nodes: Option<u32>,
}

impl WorkloadSpec {
    /// Default planning horizon, years.
    pub const DEFAULT_HORIZON_YEARS: u32 = 3;

    /// A workload of `data` today with no growth, a three-year horizon and zone survival.
    pub fn new(data: ByteSize) -> Self {
        WorkloadSpec {
            data,
            growth_percent_per_year: 0.0,
            horizon_years: Self::DEFAULT_HORIZON_YEARS,
            write_rate_per_second: None,
            survival: SurvivalGoal::Zone,
            vcpu: None,
            memory: None,
            nodes: None,
        }
    }
}

setters!(WorkloadSpec {
    set with_growth_percent_per_year => growth_percent_per_year: f64,
    set with_horizon_years => horizon_years: u32,
    some with_write_rate_per_second => write_rate_per_second: ByteSize,
    set with_survival => survival: SurvivalGoal,
    some with_vcpu => vcpu: Cpu,
    some with_memory => memory: ByteSize,
    some with_nodes => nodes: u32,
});

/// A share of the memory limit given as a percentage or as a size (`25%`, `8GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryShare {
    /// Percent of the memory limit.
    Percent(u32),
    /// An absolute size.
    Size(ByteSize),
}

impl MemoryShare {
    /// The size this share amounts to for a `memory` limit (whole MiB).
    pub fn of(self, memory: ByteSize) -> ByteSize {
        match self {
            MemoryShare::Percent(p) => crate::rules::percent_of(memory, u64::from(p)),
            MemoryShare::Size(size) => size,
        }
    }
}

impl fmt::Display for MemoryShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryShare::Percent(p) => write!(f, "{p}%"),
            MemoryShare::Size(size) => write!(f, "{size}"),
        }
    }
}

impl FromStr for MemoryShare {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(percent) = text.strip_suffix('%') {
            return match percent.trim().parse::<u32>() {
                Ok(p) if (1..=100).contains(&p) => Ok(MemoryShare::Percent(p)),
                _ => Err(QuantityError {
                    kind: "memory",
                    value: s.to_owned(),
                    reason: "a share is a whole percentage from 1% to 100%".to_owned(),
                    examples: "25%, 8GiB or 8192Mi",
                }),
            };
        }
        text.parse().map(MemoryShare::Size)
    }
}

/// Knobs of the calculator. `Default` gives the documented policy; change it with the
/// `with_*` setters.
///
/// ```
/// use thinledger_sizing::{MemoryShare, SizingOptions};
///
/// let options = SizingOptions::default()
///     .with_storage_class("io2")
///     .with_cache(MemoryShare::Percent(30));
/// assert_eq!(options.disk_utilisation_percent, 60);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SizingOptions {
    /// Regions and zones; by default a documented placeholder locality per provider
    /// ([`crate::default_locality`]).
    pub locality: Option<Locality>,
    /// A ledger over several sites, one locality each (e.g. AWS `us-east-1`, Azure `eastus`
    /// and an on-prem data centre, for survival goal `provider`), in order: the nodes spread
    /// as evenly as possible over them (the first taking the remainder), then over each one's
    /// zones, and the quorum rule judges the layout per provider, region or zone
    /// (`thinledger_topology::quorum::plan_over`). The first site is on the plan's provider
    /// (its disks and instance types are the ones sized). Empty: one site, [`Self::locality`].
    pub sites: Vec<Locality>,
    /// Storage class for data volumes; by default the provider's first class (switching AWS
    /// gp3 to io2 only when gp3 cannot deliver the performance).
    pub storage_class: Option<String>,
    /// Disk per node instead of the computed one (still checked against the ceilings).
    pub disk: Option<ByteSize>,
    /// `--cache` instead of 25% of the memory limit.
    pub cache: Option<MemoryShare>,
    /// `--max-sql-memory` instead of 25% of the memory limit.
    pub max_sql_memory: Option<MemoryShare>,
    /// Fullest a disk may be at the horizon, percent (see
    /// [`DEFAULT_DISK_UTILISATION_PERCENT`] for why 60).
    pub disk_utilisation_percent: u32,
    /// Disk bytes per logical byte written (see [`DEFAULT_WRITE_AMPLIFICATION`]).
    pub write_amplification: u32,
    /// CPU and memory the node's daemonsets use besides kubelet and system reserve.
    pub daemonsets: DaemonsetOverhead,
    /// Redpanda's knobs.
    pub redpanda: RedpandaOptions,
}

impl Default for SizingOptions {
    fn default() -> Self {
        SizingOptions {
            locality: None,
            sites: Vec::new(),
            storage_class: None,
            disk: None,
            cache: None,
            max_sql_memory: None,
            disk_utilisation_percent: DEFAULT_DISK_UTILISATION_PERCENT,
            write_amplification: DEFAULT_WRITE_AMPLIFICATION,
            daemonsets: DaemonsetOverhead::default(),
            redpanda: RedpandaOptions::default(),
        }
    }
}

setters!(SizingOptions {
    some with_locality => locality: Locality,
    set with_sites => sites: Vec<Locality>,
    into with_storage_class => storage_class: String,
    some with_disk => disk: ByteSize,
    some with_cache => cache: MemoryShare,
    some with_max_sql_memory => max_sql_memory: MemoryShare,
    set with_disk_utilisation_percent => disk_utilisation_percent: u32,
    set with_write_amplification => write_amplification: u32,
    set with_daemonsets => daemonsets: DaemonsetOverhead,
    set with_redpanda => redpanda: RedpandaOptions,
});

impl SizingOptions {}

/// Per-node CPU and memory taken by daemonsets (CNI, kube-proxy, CSI node plugin, log shipper,
/// node exporter). The default, 500m and 1 GiB, covers a typical managed-cluster set with
/// margin; measure yours (`kubectl top pod -A` on one node) and override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DaemonsetOverhead {
    /// CPU requested by daemonsets on each node.
    pub cpu: Cpu,
    /// Memory requested by daemonsets on each node.
    pub memory: ByteSize,
}

impl DaemonsetOverhead {
    /// Daemonsets taking `cpu` and `memory` on each node.
    pub fn new(cpu: Cpu, memory: ByteSize) -> Self {
        DaemonsetOverhead { cpu, memory }
    }
}

impl Default for DaemonsetOverhead {
    fn default() -> Self {
        DaemonsetOverhead {
            cpu: Cpu(500),
            memory: ByteSize::gib(1),
        }
    }
}

/// Redpanda's knobs; unset fields follow the tier. Change them with the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RedpandaOptions {
    /// Brokers (odd, at least 3, spread as evenly as possible over their region's zones);
    /// default 3.
    pub brokers: Option<u32>,
    /// The region the brokers run in, one of the locality's; default the first.
    pub region: Option<String>,
    /// Cores per broker; default 4 in production, 2 in staging, 1 in dev.
    pub cores: Option<u32>,
    /// Memory per broker; default 4 GiB per core (2 GiB in dev).
    pub memory: Option<ByteSize>,
    /// Bytes per second the event stream takes in; defaults to the workload's write rate
    /// (the ledger publishes an event per write).
    pub ingest_per_second: Option<ByteSize>,
    /// Hours a broker retains events (default one week).
    pub retention_hours: u32,
    /// Disk per broker instead of the computed one.
    pub disk: Option<ByteSize>,
}

impl Default for RedpandaOptions {
    fn default() -> Self {
        RedpandaOptions {
            brokers: None,
            region: None,
            cores: None,
            memory: None,
            ingest_per_second: None,
            retention_hours: DEFAULT_REDPANDA_RETENTION_HOURS,
            disk: None,
        }
    }
}

setters!(RedpandaOptions {
    some with_brokers => brokers: u32,
    into with_region => region: String,
    some with_cores => cores: u32,
    some with_memory => memory: ByteSize,
    some with_ingest_per_second => ingest_per_second: ByteSize,
    set with_retention_hours => retention_hours: u32,
    some with_disk => disk: ByteSize,
});

impl RedpandaOptions {}
