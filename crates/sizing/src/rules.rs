//! The figures sizing applies, where they come from, and the record of each rule applied.
//!
//! Published figures (CockroachDB's production checklist, Redpanda's requirements, the
//! providers' disk documentation) are constants here with their source. Choices this crate
//! makes where the sources are silent (disk headroom, daemonset overhead, staging's rules) are
//! marked [`THINLEDGER_POLICY`] so a reader can tell a vendor rule from a house decision.

use serde::{Deserialize, Serialize};
use thinledger_topology::{ByteSize, Tier};

/// CockroachDB's production checklist (hardware, memory flags, storage).
pub const CRDB_CHECKLIST: &str = "CockroachDB production checklist";
/// CockroachDB's guidance on running in Kubernetes (resource requests, CPU limits).
pub const CRDB_KUBERNETES: &str = "CockroachDB Kubernetes performance guide";
/// Kubernetes documentation on QoS classes and the kubelet's CPU manager.
pub const KUBERNETES_DOCS: &str =
    "Kubernetes docs: Pod QoS classes; CPU management policies (static policy)";
/// Raft quorum rules as modelled by thinledger-topology.
pub const QUORUM_RULES: &str = "Raft quorum rules (thinledger-topology::quorum)";
/// Redpanda's production requirements.
pub const REDPANDA_REQUIREMENTS: &str = "Redpanda production requirements";
/// Node allocatable: the tiered kube-reserved formula GKE publishes (AKS uses the same tiers).
pub const NODE_RESERVE: &str =
    "GKE node allocatable: tiered kube-reserved CPU/memory plus 100 MiB eviction threshold";
/// Decisions of this crate where the sources leave a choice; documented at each constant.
pub const THINLEDGER_POLICY: &str = "thinledger sizing policy";

/// Production needs at least this many vCPU per CockroachDB node.
pub const PROD_MIN_VCPU: u32 = 4;
/// Recommended vCPU per CockroachDB node in production.
pub const RECOMMENDED_VCPU: u32 = 8;
/// Largest node size Cockroach Labs tests; above it the plan advises, not refuses.
pub const MAX_TESTED_VCPU: u32 = 64;
/// Storage per vCPU a node may hold at most.
pub const MAX_STORAGE_GIB_PER_VCPU: u64 = 320;
/// Storage per node at most (10 TiB).
pub const MAX_STORAGE_GIB_PER_NODE: u64 = 10 * 1024;
/// Disk IOPS needed per vCPU.
pub const IOPS_PER_VCPU: u64 = 500;
/// Disk throughput needed per vCPU, MB/s.
pub const MBPS_PER_VCPU: u64 = 30;
/// `--cache` and `--max-sql-memory` default share of the memory limit, percent.
pub const MEMORY_FLAG_PERCENT: u64 = 25;
/// `2 × --max-sql-memory + --cache` may use at most this share of the memory limit, percent.
pub const MEMORY_FLAG_BUDGET_PERCENT: u64 = 80;

/// Fullest a data disk is planned to be at the end of the horizon, percent.
///
/// Why 60: the remaining 40% absorbs Pebble compactions (which briefly need room for the
/// rewritten files), the replicas of a failed node re-replicated onto the survivors, and data
/// that grows faster than forecast; CockroachDB stops rebalancing onto nearly full stores and
/// a full store stops the node. Overridable per plan.
pub const DEFAULT_DISK_UTILISATION_PERCENT: u32 = 60;
/// Disk per vCPU when a node shape is given without a data size (GiB): well inside the
/// checklist's 320 GiB/vCPU ceiling, so a cluster can grow before it must add nodes.
pub const DEFAULT_DISK_GIB_PER_VCPU: u64 = 150;
/// Bytes written to disk per logical byte written, used to turn a write rate into disk
/// throughput: the Raft log entry, the applied write (WAL and memtable flush) and compaction
/// rewrites. A planning assumption, not a vendor figure; measure a running cluster.
pub const DEFAULT_WRITE_AMPLIFICATION: u32 = 3;
/// I/O size assumed when provisioned IOPS bound throughput (io2): CockroachDB's large
/// sequential writes (WAL, flushes, compactions) are issued in large blocks.
pub const LARGE_IO_KIB: u64 = 256;

/// Redpanda: at least this much memory per core in every tier.
pub const REDPANDA_MIN_GIB_PER_CORE: u64 = 2;
/// Redpanda `--memory` as a share of the container's memory request, percent.
pub const REDPANDA_MEMORY_PERCENT: u64 = 90;
/// Replication factor of the ledger's Redpanda topics.
pub const REDPANDA_REPLICATION_FACTOR: u32 = 3;
/// Hours of events a broker keeps when no retention is given (one week).
pub const DEFAULT_REDPANDA_RETENTION_HOURS: u32 = 168;
/// Redpanda volume size when no ingest rate is known (GiB).
pub const DEFAULT_REDPANDA_DISK_GIB: u64 = 128;

/// What a tier demands. `staging` keeps production's memory ratio (so caches and SQL memory
/// behave as in production and memory problems show up before release) but allows smaller
/// nodes; only `dev` may run at 2 GiB per vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierRules {
    /// Fewest vCPU per CockroachDB node.
    pub min_vcpu: u32,
    /// vCPU per node used when a workload is sized without `--vcpu`.
    pub default_vcpu: u32,
    /// Least memory per vCPU, GiB.
    pub min_gib_per_vcpu: u64,
    /// Memory per vCPU used when no memory is given, GiB.
    pub default_gib_per_vcpu: u64,
    /// Fewest Redpanda cores per broker.
    pub redpanda_min_cores: u32,
    /// Whether Redpanda cores must be even.
    pub redpanda_even_cores: bool,
    /// Redpanda memory per core when no memory is given, GiB.
    pub redpanda_default_gib_per_core: u64,
}

impl TierRules {
    /// The rules of `tier`.
    pub fn of(tier: Tier) -> TierRules {
        match tier {
            Tier::Prod => TierRules {
                min_vcpu: PROD_MIN_VCPU,
                default_vcpu: RECOMMENDED_VCPU,
                min_gib_per_vcpu: 4,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 4,
                redpanda_even_cores: true,
                redpanda_default_gib_per_core: 4,
            },
            Tier::Staging => TierRules {
                min_vcpu: 2,
                default_vcpu: 4,
                min_gib_per_vcpu: 4,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 2,
                redpanda_even_cores: true,
                redpanda_default_gib_per_core: 4,
            },
            Tier::Dev => TierRules {
                min_vcpu: 1,
                default_vcpu: 2,
                min_gib_per_vcpu: 2,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 1,
                redpanda_even_cores: false,
                redpanda_default_gib_per_core: 2,
            },
            // Tier is non-exhaustive: a tier added later gets production's rules until it is
            // given its own.
            _ => TierRules::of(Tier::Prod),
        }
    }
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

/// Renders a size the way CockroachDB's and the runbooks' flags are written: whole GiB as
/// `8GiB`, otherwise whole MiB (`8704MiB`).
pub fn human_size(size: ByteSize) -> String {
    let bytes = size.bytes();
    if bytes >= ByteSize::GIB && bytes.is_multiple_of(ByteSize::GIB) {
        format!("{}GiB", bytes / ByteSize::GIB)
    } else {
        format!("{}MiB", bytes / ByteSize::MIB)
    }
}

/// `percent`% of `size`, rounded down to a whole MiB.
pub(crate) fn percent_of(size: ByteSize, percent: u64) -> ByteSize {
    let bytes = u128::from(size.bytes()) * u128::from(percent) / 100;
    let mib = u64::try_from(bytes / u128::from(ByteSize::MIB)).unwrap_or(u64::MAX);
    ByteSize::mib(mib)
}
