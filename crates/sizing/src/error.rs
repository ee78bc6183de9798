//! Refusals: each names the input, the rule it breaks (with its source) and the fix.

use thinledger_topology::{BoundError, ByteSize, Cpu, ModelError, ParseError, Provider, Tier};

/// Why a sizing was refused. Nothing is silently adjusted: every variant says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SizingError {
    /// Fewer vCPU per node than the tier allows (production: 4).
    #[error(
        "vcpu = {vcpu}: {tier} CockroachDB nodes need at least {minimum} vCPU; below that, \
         background work (compactions, Raft, GC) starves foreground queries ({reference}). \
         Fix: {fix}"
    )]
    VcpuBelowMinimum {
        /// The tier whose rule applies.
        tier: Tier,
        /// The requested vCPU.
        vcpu: u32,
        /// The tier's minimum.
        minimum: u32,
        /// Source of the rule.
        reference: &'static str,
        /// What to change.
        fix: String,
    },
    /// A CPU quantity that is not a whole number of CPUs.
    #[error(
        "{field} = {value}: Guaranteed QoS pods get exclusive cores from the static CPU manager \
         only for whole CPUs ({reference}). Fix: use {choices}",
        choices = if *below == 0 { above.to_string() } else { format!("{below} or {above}") }
    )]
    FractionalCpu {
        /// The offending input.
        field: &'static str,
        /// The rejected quantity.
        value: Cpu,
        /// The whole number below (0 when the value is below one CPU).
        below: u32,
        /// The whole number above.
        above: u32,
        /// Source of the rule.
        reference: &'static str,
    },
    /// Less memory per vCPU than the tier allows.
    #[error(
        "memory = {memory}: {tier} nodes need at least {minimum_gib_per_vcpu} GiB per vCPU \
         ({vcpu} vCPU need {needed}); less starves the block cache and SQL memory ({reference}). \
         Fix: use --memory {needed} or more{dev_hint}",
        needed = ByteSize::gib(*minimum_gib_per_vcpu * u64::from(*vcpu)).to_iec(),
        dev_hint = if *tier == Tier::Dev { "" } else { " (2 GiB per vCPU is allowed in dev only)" }
    )]
    MemoryPerVcpuTooLow {
        /// The tier whose rule applies.
        tier: Tier,
        /// The requested memory.
        memory: ByteSize,
        /// The requested vCPU.
        vcpu: u32,
        /// The tier's minimum GiB per vCPU.
        minimum_gib_per_vcpu: u64,
        /// Source of the rule.
        reference: &'static str,
    },
    /// A node count, zone list or region list that cannot keep a quorum (even counts, fewer
    /// than 3, too few zones or regions for the survival goal) or that is malformed.
    #[error(transparent)]
    Topology(#[from] ModelError),
    /// A storage class the provider does not offer.
    #[error(transparent)]
    UnknownStorageClass(#[from] ParseError),
    /// The data a node must hold does not fit the per-vCPU or per-node storage ceiling.
    #[error(
        "disk per node = {needed} at {nodes} nodes: {rule} ({reference}). Fix: {fix}",
        needed = needed.to_iec()
    )]
    DiskPerNodeTooLarge {
        /// Node count the data was spread over.
        nodes: u32,
        /// Disk each node would need.
        needed: ByteSize,
        /// The ceiling that was exceeded.
        limit: ByteSize,
        /// The rule, in words (which ceiling binds).
        rule: String,
        /// Smallest odd node count that fits, if any.
        suggested_nodes: Option<u32>,
        /// Source of the rule.
        reference: &'static str,
        /// What to change.
        fix: String,
    },
    /// `--cache`/`--max-sql-memory` overrides that leave too little memory for everything else.
    #[error(
        "cache = {cache}, max-sql-memory = {sql}: 2 × max-sql-memory + cache = {used} exceeds \
         80% of the {memory} memory limit ({budget}); the rest is needed by the Go runtime and \
         other allocations, or the pod is OOM-killed ({reference}). Fix: {fix}",
        cache = cache.to_iec(),
        sql = max_sql_memory.to_iec(),
        memory = memory.to_iec(),
        budget = budget.to_iec(),
        used = ByteSize(max_sql_memory.bytes().saturating_mul(2).saturating_add(cache.bytes())).to_iec()
    )]
    MemoryFlagsOverBudget {
        /// Requested `--cache`.
        cache: ByteSize,
        /// Requested `--max-sql-memory`.
        max_sql_memory: ByteSize,
        /// The memory limit.
        memory: ByteSize,
        /// 80% of the memory limit.
        budget: ByteSize,
        /// Source of the rule.
        reference: &'static str,
        /// What to change.
        fix: String,
    },
    /// Redpanda cores below the tier's minimum, or odd where even cores are required.
    #[error("redpanda cores = {cores}: {rule} ({reference}). Fix: {fix}")]
    RedpandaCores {
        /// The requested cores.
        cores: u32,
        /// The rule, in words.
        rule: String,
        /// Source of the rule.
        reference: &'static str,
        /// What to change.
        fix: String,
    },
    /// Redpanda memory below 2 GiB per core.
    #[error(
        "redpanda memory = {memory}: Redpanda needs at least 2 GiB per core ({cores} cores need \
         {needed}) ({reference}). Fix: use --redpanda-memory {needed} or more, or fewer cores",
        memory = memory.to_iec(),
        needed = ByteSize::gib(2 * u64::from(*cores)).to_iec()
    )]
    RedpandaMemoryPerCore {
        /// The requested memory.
        memory: ByteSize,
        /// The requested cores.
        cores: u32,
        /// Source of the rule.
        reference: &'static str,
    },
    /// No approved instance type of the provider holds the pod plus the node's reserve.
    #[error(
        "{workload} pod of {cpu} vCPU / {memory} does not fit any {provider} instance of \
         families {families} once the node's system reserve is subtracted (largest: {largest}). \
         Fix: use fewer vCPU or less memory per node and more nodes",
        memory = memory.to_iec()
    )]
    NoInstanceFits {
        /// `cockroachdb` or `redpanda`.
        workload: &'static str,
        /// The provider.
        provider: Provider,
        /// The pod's CPU.
        cpu: Cpu,
        /// The pod's memory.
        memory: ByteSize,
        /// The families searched.
        families: String,
        /// The largest size on offer.
        largest: String,
    },
    /// A quantity above its documented bound (`thinledger_topology::bounds`): refused before
    /// any rule is applied or any search runs.
    #[error(transparent)]
    OutOfBounds(#[from] BoundError),
    /// Any other input outside what the calculator accepts.
    #[error("{field} = {value}: {rule}. Fix: {fix}")]
    InvalidInput {
        /// The offending input.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The rule, in words.
        rule: String,
        /// What to change.
        fix: String,
    },
}

impl SizingError {
    pub(crate) fn invalid(
        field: &'static str,
        value: impl ToString,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> SizingError {
        SizingError::InvalidInput {
            field,
            value: value.to_string(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }
}
