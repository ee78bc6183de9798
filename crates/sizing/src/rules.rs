//! The figures sizing applies, where they come from, and the record of each rule applied.
//!
//! Published figures (CockroachDB's production checklist, Redpanda's requirements, the
//! providers' disk documentation) are constants here with their source. Choices this crate
//! makes where the sources are silent (disk headroom, daemonset overhead, staging's rules) are
//! marked [`THINLEDGER_POLICY`] so a reader can tell a vendor rule from a house decision.

use thinledger_topology::ByteSize;

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

/// Hard eviction threshold kept free on every node ([`NODE_RESERVE`]).
pub const EVICTION_MEMORY: ByteSize = ByteSize::mib(100);

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

/// `percent`% of `size`, rounded down to a whole MiB.
pub(crate) fn percent_of(size: ByteSize, percent: u64) -> ByteSize {
    let bytes = u128::from(size.bytes()) * u128::from(percent) / 100;
    let mib = u64::try_from(bytes / u128::from(ByteSize::MIB)).unwrap_or(u64::MAX);
    ByteSize::mib(mib)
}
