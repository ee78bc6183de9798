//! Sizing for the thin ledger: from a node shape or a workload, a provider and a tier, to
//! CockroachDB and Redpanda resources, flags, disks and instance types — with every rule
//! applied and its source recorded in the plan, and unsafe sizes refused with the fix.
//!
//! Two ways in:
//! - [`NodeShapeSpec`]: "I want 8 vCPU and 32 GiB per node" — checked and completed.
//! - [`WorkloadSpec`]: "6 TiB growing 40% a year, surviving a region" — node count, disks and
//!   performance derived (the fewest odd node count whose disks fit 320 GiB/vCPU and 10 TiB).
//!
//! What a plan contains, and the rules behind it (all listed in [`SizingPlan::rules`]):
//! - CockroachDB: node count and spread by `thinledger_topology::quorum` (odd, ≥ 3, as even
//!   as possible over the zones, or ≥ 3 regions for region survival; replication factor 3, or
//!   5 for region survival; what losing each zone or region leaves is in the plan), requests =
//!   limits in whole CPUs (Guaranteed QoS — CPU limits are only safe under the kubelet's static
//!   CPU manager policy, which the plan states as a condition), `--cache` and
//!   `--max-sql-memory` at 25% of the memory limit (overrides allowed while
//!   `2 × max-sql-memory + cache ≤ 80%`), a disk sized from data × replication factor ÷ nodes
//!   (the fullest node's share when the spread is uneven) at most 60% full
//!   ([`rules::DEFAULT_DISK_UTILISATION_PERCENT`] says why), within 320 GiB/vCPU and
//!   10 TiB/node, delivering 500 IOPS and 30 MB/s per vCPU on the provider's class (gp3
//!   provisioned IOPS/throughput, io2 when gp3 cannot; Azure Premium SSD sized up to the tier
//!   that delivers; GCP pd-ssd sized up; on-prem a requirement to verify), and the smallest
//!   approved instance type that holds the pod plus the node's reserve ([`system_reserve`]).
//! - Redpanda: brokers (odd, ≥ 3), cores (even and ≥ 4 in production), ≥ 2 GiB per core,
//!   `--smp`, `--memory` ≈ 90% of the request, `--reserve-memory 0`, a disk from ingest ×
//!   retention.
//!
//! Tiers: `prod` applies every rule; `staging` allows 2-vCPU nodes but keeps production's
//! 4 GiB per vCPU; only `dev` may use 2 GiB per vCPU ([`TierRules`]).
//!
//! The library is pure: it returns values and never prints or reads the environment.
//!
//! # Public surface
//! - The calculator: [`plan`] from a [`SizingSpec`] ([`NodeShapeSpec`] or [`WorkloadSpec`])
//!   and [`SizingOptions`] (with [`RedpandaOptions`], [`DaemonsetOverhead`], [`MemoryShare`])
//!   to a [`SizingPlan`]; [`default_locality`] is the placeholder locality it uses, and
//!   [`default_sites`] a placeholder site per provider for a ledger over several providers
//!   ([`SizingOptions::sites`], survival goal `provider`: the nodes spread over the providers
//!   and judged per provider by `thinledger_topology::quorum::plan_over`). Options
//!   and specs start from `Default`/`new` and change with `with_*` setters.
//! - The plan: [`SizingPlan`] and its parts ([`CockroachPlan`], [`RedpandaPlan`],
//!   [`DiskPlan`], [`NodeFit`]…), serialisable and deserialisable: the JSON `ledger-size
//!   --output json` prints reads back into an equal plan. Paste-ready fragments:
//!   [`SizingPlan::cockroach_helm_values`], `SizingPlan::crdb_cluster_spec` (feature
//!   `render`: topology's `CrdbClusterSpec` cut to the keys sizing decides),
//!   [`SizingPlan::redpanda_helm_values`].
//! - A tenant file sized: [`size_tenant`] (from [`tenant_sizing_spec`] and
//!   [`tenant_sizing_options`]) and, with the `render` cargo feature, the whole tenant →
//!   sizing → rendering composition `ledger-topology` runs: `plan_tenant` (a `TenantPlan` from
//!   a `ResourceSource`; a tenant with sites sized site by site, `SitePlan`, and rendered with
//!   `TenantPlan::render_sites`), `resource_plan`, `render_tenant`, and `check_tenant` (a `TenantCheck`
//!   of `Finding`s with a `FindingSeverity`); errors are [`TenantPlanError`].
//! - Fitting a pod onto a node: [`fit_node`], [`allocatable`], [`system_reserve`],
//!   [`kube_reserved_cpu`], [`kube_reserved_memory`]; a tier's demands: [`TierRules`].
//! - The namespace [`rules`]: the figures sizing applies, as constants with their sources.
//! - Errors: [`SizingError`] (names the input, the rule with its source, and the fix).
//!
//! ```
//! use thinledger_sizing::{NodeShapeSpec, SizingOptions, SizingSpec, plan};
//! use thinledger_topology::{ByteSize, Cpu, Provider, Tier};
//!
//! let shape = NodeShapeSpec::new(Cpu::cores(8), ByteSize::gib(32));
//! let sized = plan(Provider::Aws, Tier::Prod, &SizingSpec::NodeShape(shape), &SizingOptions::default())?;
//! assert_eq!(sized.cockroachdb.cache, ByteSize::gib(8));
//! assert_eq!(sized.cockroachdb.resources.requests, sized.cockroachdb.resources.limits);
//! assert!(sized.cockroachdb.node.instance.as_ref().is_some_and(|i| i.family == "m6i"));
//! assert!(sized.rules.iter().any(|r| r.id == "crdb.cache"));
//!
//! // Production below 4 vCPU is refused, naming the rule and the fix.
//! let small = NodeShapeSpec::new(Cpu::cores(2), ByteSize::gib(8));
//! let err = plan(Provider::Aws, Tier::Prod, &small.into(), &SizingOptions::default()).unwrap_err();
//! assert!(err.to_string().contains("at least 4 vCPU"));
//! # Ok::<(), thinledger_sizing::SizingError>(())
//! ```

mod calc;
mod disk;
mod error;
mod fragment;
mod limits;
mod locality;
mod node;
mod plan;
pub mod rules;
mod spec;
mod tenant;
mod tier;

pub use calc::plan;
pub use error::SizingError;
pub use fragment::{
    CockroachHelmValues, HelmConf, HelmPersistentVolume, HelmStatefulSet, HelmStorage,
    PodResourcesYaml, RedpandaContainerMemory, RedpandaCpu, RedpandaHelmValues, RedpandaMemory,
    RedpandaProcessMemory, RedpandaResources, RedpandaStatefulSet, ResourceYaml,
};
pub use locality::{default_locality, default_sites};
pub use node::{allocatable, fit_node, kube_reserved_cpu, kube_reserved_memory, system_reserve};
pub use plan::{
    AppliedRule, CockroachPlan, DiskPlan, Forecast, InstanceChoice, NodeFit, PodResources,
    QosClass, RedpandaDisk, RedpandaPlan, ResourceList, SizingMode, SizingPlan, SystemReserve,
};
pub use spec::{
    DaemonsetOverhead, MemoryShare, NodeShapeSpec, RedpandaOptions, SizingOptions, SizingSpec,
    WorkloadSpec,
};
#[cfg(feature = "render")]
pub use tenant::{
    Finding, FindingSeverity, ResourceSource, SitePlan, TenantCheck, TenantPlan, check_tenant,
    plan_tenant, render_tenant, render_tenant_sites, resource_plan,
};
pub use tenant::{TenantPlanError, size_tenant, tenant_sizing_options, tenant_sizing_spec};
pub use tier::TierRules;

#[cfg(test)]
mod tests;
