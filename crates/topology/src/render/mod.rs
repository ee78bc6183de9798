//! Kubernetes rendering: a checked [`Tenant`] plus per-node resources become typed
//! `k8s-openapi` objects, serialised to YAML only at the edge ([`Rendering::to_yaml`]).
//!
//! Rendering does not size anything: the caller (the `ledger-topology` CLI composes it with the
//! sizing calculator) passes a [`ResourcePlan`] with node counts, CPU, memory, CockroachDB's
//! `--cache`/`--max-sql-memory`, Redpanda's `--smp`/`--memory`/`--reserve-memory`, disk sizes and
//! per-volume storage parameters. The renderer re-checks only the invariants the manifests rely
//! on (odd counts spread evenly, whole CPUs, the memory budget) and refuses otherwise.
//!
//! # What is rendered, per region
//!
//! Namespace (Pod Security `restricted` enforced), ServiceAccounts (the provider's identity
//! binding on the ones that reach object storage), a node-reader ClusterRole where zones are
//! read from nodes, the StorageClass where the platform owns it, CockroachDB (a StatefulSet with
//! headless and public Services, a PodDisruptionBudget and the cluster-init Job — or, in
//! [`CockroachMode::Operator`], a `CrdbCluster`), Redpanda (ConfigMap, Services,
//! StatefulSet, PodDisruptionBudget, topic Job) in its region, the TLS [`certs`] (cert-manager
//! Issuers and Certificates for the Secrets the pods mount), NetworkPolicies that deny
//! everything except the ports each component needs, and [`monitoring`]: PodMonitors,
//! PrometheusRule alerts with the tenant's thresholds and Grafana dashboard ConfigMaps.
//!
//! Every object can be applied again after any tenant change: the one-shot Jobs are named by
//! what they do and a hash of their inputs (`cockroachdb-init-<hash>`, found with
//! [`Rendering::job`]), finish with a TTL and run idempotent scripts.
//!
//! # Locality from the node a pod lands on
//!
//! A pod cannot know its zone before it is scheduled, and the downward API does not expose
//! node labels. Each CockroachDB pod therefore runs an init container that reads its Node's
//! `topology.kubernetes.io/zone` label through the Kubernetes API (a ClusterRole that may only
//! `get` nodes, and a short-lived token mounted into that init container alone), checks that
//! the zone is one of the tenant's, and writes `cloud=…,region=…,zone=…` to a shared in-memory
//! volume; the database container starts with `--locality="$(cat …)"`. If the label is
//! missing or foreign, the init container fails and the pod does not start with a wrong
//! locality. Redpanda brokers get `redpanda.rack` the same way. In operator mode the operator
//! offers no init containers, so the same lookup runs inside the start command
//! (`--locality="$(…)"`); an empty answer makes CockroachDB refuse to start.
//!
//! # Sites: one ledger over several providers
//!
//! Each site is rendered from the tenant as that site sees it
//! ([`Tenant::for_site`](crate::Tenant::for_site)): its provider's storage class, identity
//! binding and zones, `--locality=cloud=<provider>,region=<region>,zone=<zone>` (on-prem:
//! `cloud=onprem`, the data centre and the rack), `--advertise-addr` and `--join` from the
//! addresses each site declares, a PodDisruptionBudget of its own and NetworkPolicies admitting
//! the other sites' ranges on CockroachDB's ports. The first site runs `cockroach init` and the
//! replication step. Surviving a provider (RF 5 over three providers) uses CockroachDB's
//! multi-region SQL with one region per provider — `SET PRIMARY REGION`, `ADD REGION`,
//! `SURVIVE REGION FAILURE` on each of `cockroachdb.databases` — because that is what
//! CockroachDB documents for surviving the loss of a whole region (five voting replicas, at
//! most two per region, at least three regions), and a provider is then exactly one region;
//! replication zones with per-`cloud` constraints set by hand are what its docs advise
//! against (they place replicas by count, not by region, and block `SET PRIMARY REGION`
//! later). The init Job waits for every region's nodes (`SHOW REGIONS FROM CLUSTER`) first.
//!
//! # CPU limits
//!
//! Pods are Guaranteed QoS (requests equal limits, whole CPUs). CockroachDB's Kubernetes notes
//! warn against CPU limits unless the kubelet runs the static CPU manager policy; with it,
//! whole-CPU Guaranteed pods get exclusive cores. Run ledger node pools with
//! `--cpu-manager-policy=static`. The rendered pods say so in an annotation.
//!
//! # Public surface
//! - [`render`]: a [`Tenant`] and a [`ResourcePlan`] ([`CockroachResources`],
//!   [`RedpandaResources`]) with [`RenderOptions`] ([`CockroachMode`]) to a [`Rendering`] of
//!   [`Manifest`]s; [`RenderError`].
//! - The operator's `CrdbCluster`: [`CrdbCluster`], [`CrdbClusterSpec`] and its parts,
//!   [`CrdbClusterFragment`] (the keys sizing decides), [`check_crdb_cluster`],
//!   [`CRDB_API_VERSION`], [`REQUIRED_FEATURE_GATES`].
//! - [`certs`]: cert-manager's kinds ([`certs::Issuer`], [`certs::Certificate`]), the
//!   certificates' names, DNS names and renewal windows.
//! - Upgrades: a major CockroachDB upgrade (`cockroachdb.upgrade_from`) renders the
//!   `cockroachdb-upgrade-<hash>` Job ([`Rendering::job`]) that preserves the downgrade option;
//!   CockroachDB pods drain in a preStop hook ([`DRAIN_WAIT_SECONDS`] within
//!   [`TERMINATION_GRACE_SECONDS`]). docs/runbooks/upgrade.md has the order.
//! - [`monitoring`]: the Prometheus Operator kinds ([`monitoring::PodMonitor`],
//!   [`monitoring::PrometheusRule`]), the metric catalog and alert severities.
//! - A tenant with sites: [`render_sites`] (one [`SiteRendering`] per site, each for its own
//!   Kubernetes cluster), [`render_site`] (one site, e.g. with resources sized for its
//!   provider), [`sites_to_yaml`] (every site in one stream, introduced by the site's name);
//!   [`render`] refuses such a tenant (see "Sites" above).
//! - `--out DIR`: [`Rendering::out_dir_plan`] gives an [`OutDirPlan`] (files to write with a
//!   [`KUSTOMIZATION_FILE`], files of an earlier rendering to remove).
//! - [`kit`]: the rendering kit every thinledger renderer shares.
//! - [`federated`]: a workload identity's token and variables for pods in a site outside the
//!   identity's cloud ([`federated::federated_token`], keyed by the identity binding and the
//!   site's provider): CockroachDB's nodes (the backup identity) and Redpanda's brokers
//!   (tiered storage) get them in such sites.
//!
//! ```
//! use thinledger_topology::render::{render, CockroachMode, RenderOptions, ResourcePlan};
//! use thinledger_topology::Tenant;
//!
//! let tenant = Tenant::from_yaml(include_str!("../../../../examples/tenants/aws.yaml"))?;
//! let plan = ResourcePlan::from_tenant(&tenant)?;
//! let rendering = render(&tenant, &plan, &RenderOptions::new(CockroachMode::StatefulSet))?;
//! let yaml = rendering.to_yaml()?;
//! assert!(yaml.contains("kind: StatefulSet"));
//! assert!(yaml.contains("--locality="));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod certs;
mod cockroach;
mod common;
pub mod federated;
mod job;
pub mod kit;
mod manifest;
pub mod monitoring;
mod network;
mod operator;
mod outdir;
mod platform;
mod redpanda;
mod scripts;
mod sites;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::ParseError;
use crate::quantity::{ByteSize, Cpu};
use crate::tenant::Tenant;

pub use cockroach::{DRAIN_WAIT_SECONDS, TERMINATION_GRACE_SECONDS};
pub use manifest::{Manifest, Rendering};
pub use operator::{
    CRDB_API_VERSION, CrdbCluster, CrdbClusterFragment, CrdbClusterSpec, CrdbDataStore, CrdbImage,
    CrdbVolumeClaim, REQUIRED_FEATURE_GATES, check_crdb_cluster,
};
pub use outdir::{KUSTOMIZATION_FILE, OutDirPlan};
pub use sites::{SiteRendering, render_site, render_sites, sites_to_yaml};

/// How CockroachDB is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CockroachMode {
    /// A StatefulSet and its Services, PodDisruptionBudget and init Job, rendered here.
    #[default]
    StatefulSet,
    /// A `crdb.cockroachlabs.com/v1alpha1` `CrdbCluster` for the public CockroachDB operator.
    Operator,
}

impl CockroachMode {
    /// Name as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            CockroachMode::StatefulSet => "statefulset",
            CockroachMode::Operator => "operator",
        }
    }
}

crate::error::display_as_str!(CockroachMode);

impl FromStr for CockroachMode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "statefulset" | "sts" => Ok(CockroachMode::StatefulSet),
            "operator" => Ok(CockroachMode::Operator),
            _ => Err(ParseError::unknown(
                "cockroach mode",
                s,
                &[CockroachMode::Operator, CockroachMode::StatefulSet],
                CockroachMode::as_str,
            )),
        }
    }
}

/// Rendering knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// StatefulSet (default) or operator.
    pub cockroach_mode: CockroachMode,
    /// The region to render (each region is its own cluster). Required for multi-region
    /// tenants; defaults to the only region.
    pub region: Option<String>,
}

impl RenderOptions {
    /// Options for `mode`, other knobs at their defaults.
    pub fn new(mode: CockroachMode) -> Self {
        RenderOptions {
            cockroach_mode: mode,
            region: None,
        }
    }

    /// Sets how CockroachDB is deployed.
    pub fn with_cockroach_mode(mut self, mode: CockroachMode) -> Self {
        self.cockroach_mode = mode;
        self
    }

    /// Selects the region to render.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
}

/// Per-node CockroachDB resources and flags. Built from `Default` (all zero, which
/// [`render`] refuses) with the `with_*` setters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CockroachResources {
    /// Total nodes over all regions.
    pub nodes: u32,
    /// CPUs per node (requests = limits, whole CPUs).
    pub cpu: Cpu,
    /// Memory per node (requests = limits).
    pub memory: ByteSize,
    /// `--cache`.
    pub cache: ByteSize,
    /// `--max-sql-memory`.
    pub max_sql_memory: ByteSize,
    /// Data volume per node.
    pub disk: ByteSize,
}

/// Per-broker Redpanda resources and flags. Built from `Default` (all zero, which [`render`]
/// refuses) with the `with_*` setters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RedpandaResources {
    /// Brokers.
    pub brokers: u32,
    /// CPUs per broker (requests = limits, whole CPUs).
    pub cpu: Cpu,
    /// Memory per broker (requests = limits).
    pub memory: ByteSize,
    /// `--smp`: Seastar shards, one per CPU.
    pub smp: u32,
    /// `--memory`: what Seastar may allocate (about 90% of the container's memory).
    pub seastar_memory: ByteSize,
    /// `--reserve-memory` (0: the container's limit already leaves the rest).
    pub reserve_memory: ByteSize,
    /// Data volume per broker.
    pub disk: ByteSize,
}

/// The computed resources a rendering needs: from the sizing plan
/// (`thinledger_sizing::resource_plan`), from the tenant file
/// ([`ResourcePlan::from_tenant`]), or built with [`ResourcePlan::new`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ResourcePlan {
    /// CockroachDB.
    pub cockroach: CockroachResources,
    /// Redpanda.
    pub redpanda: RedpandaResources,
    /// Extra StorageClass parameters for the tenant's volumes (e.g. gp3 `iops`,
    /// `throughput`), added to the storage profile's own.
    pub volume_parameters: BTreeMap<String, String>,
}

/// `with_*` setters for plain-data structs whose fields are all required.
macro_rules! setters {
    ($ty:ident { $($setter:ident => $field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
                pub fn $setter(mut self, $field: $t) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }
    };
}

setters!(CockroachResources {
    with_nodes => nodes: u32,
    with_cpu => cpu: Cpu,
    with_memory => memory: ByteSize,
    with_cache => cache: ByteSize,
    with_max_sql_memory => max_sql_memory: ByteSize,
    with_disk => disk: ByteSize,
});

setters!(RedpandaResources {
    with_brokers => brokers: u32,
    with_cpu => cpu: Cpu,
    with_memory => memory: ByteSize,
    with_smp => smp: u32,
    with_seastar_memory => seastar_memory: ByteSize,
    with_reserve_memory => reserve_memory: ByteSize,
    with_disk => disk: ByteSize,
});

impl ResourcePlan {
    /// A plan of these resources, with no extra StorageClass parameters.
    pub fn new(cockroach: CockroachResources, redpanda: RedpandaResources) -> Self {
        ResourcePlan {
            cockroach,
            redpanda,
            volume_parameters: BTreeMap::new(),
        }
    }

    /// Sets [`volume_parameters`](Self::volume_parameters).
    pub fn with_volume_parameters(mut self, parameters: BTreeMap<String, String>) -> Self {
        self.volume_parameters = parameters;
        self
    }

    /// A plan from the per-node resources written in the tenant file, for callers without
    /// the sizing calculator. Uses the runbook's fixed ratios: `--cache` and
    /// `--max-sql-memory` at 25% of memory, `--smp` = CPUs, `--memory` at 90% with
    /// `--reserve-memory 0`. Fails when the file leaves counts or resources to sizing.
    pub fn from_tenant(tenant: &Tenant) -> Result<Self, RenderError> {
        let spec = tenant.spec();
        let missing = |field: &str, fix: &str| RenderError::Input {
            field: field.to_owned(),
            value: String::new(),
            rule: "rendering without the sizing calculator needs it in the tenant file".to_owned(),
            fix: fix.to_owned(),
        };
        let nodes = spec
            .cockroachdb
            .nodes
            .ok_or_else(|| missing("cockroachdb.nodes", "add nodes: 3"))?;
        // A component's resources and disk from the file, or the field to add with an example
        // `(cpu, memory, disk)`.
        let shape = |component: &str,
                     resources: Option<crate::tenant::NodeResources>,
                     example: (&str, &str, &str)| {
            let (cpu, memory, disk) = example;
            let r = resources.ok_or_else(|| {
                missing(
                    &format!("{component}.resources"),
                    &format!("add resources: {{cpu: {cpu}, memory: {memory}, disk: {disk}}}"),
                )
            })?;
            let d = r.disk.ok_or_else(|| {
                missing(
                    &format!("{component}.resources.disk"),
                    &format!("add disk: {disk} to resources"),
                )
            })?;
            Ok::<_, RenderError>((r, d))
        };
        let (crdb, crdb_disk) = shape(
            "cockroachdb",
            spec.cockroachdb.resources,
            ("8", "32Gi", "1Ti"),
        )?;
        let (rp, rp_disk) = shape("redpanda", spec.redpanda.resources, ("4", "16Gi", "500Gi"))?;
        let quarter = ByteSize(crdb.memory.bytes() / 4);
        let mib = ByteSize::MIB;
        Ok(ResourcePlan {
            cockroach: CockroachResources {
                nodes,
                cpu: crdb.cpu,
                memory: crdb.memory,
                cache: ByteSize(quarter.bytes() / mib * mib),
                max_sql_memory: ByteSize(quarter.bytes() / mib * mib),
                disk: crdb_disk,
            },
            redpanda: RedpandaResources {
                brokers: spec.redpanda.brokers,
                cpu: rp.cpu,
                memory: rp.memory,
                smp: rp.cpu.whole_cores().unwrap_or(0),
                seastar_memory: ByteSize(rp.memory.bytes() / 10 * 9 / mib * mib),
                reserve_memory: ByteSize(0),
                disk: rp_disk,
            },
            volume_parameters: BTreeMap::new(),
        })
    }
}

/// Why a tenant could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// An input breaks a rule the manifests rely on.
    #[error("{field} = {value:?}: {rule}. Fix: {fix}")]
    Input {
        /// The input, as a tenant-file path or a resource-plan field.
        field: String,
        /// The rejected value.
        value: String,
        /// The rule.
        rule: String,
        /// What to change.
        fix: String,
    },
    /// `--out DIR` would overwrite or depend on a file it did not write.
    #[error("{file}: {rule}. Fix: {fix}")]
    OutDir {
        /// The file in the directory.
        file: String,
        /// Why it is refused.
        rule: String,
        /// What to do.
        fix: String,
    },
    /// Serialising to YAML failed (a bug: every object is plain data).
    #[error("could not write {kind} {name} as YAML: {message}")]
    Yaml {
        /// Object kind.
        kind: String,
        /// Object name.
        name: String,
        /// What the serialiser said.
        message: String,
    },
}

pub(crate) fn input_error(
    field: &str,
    value: impl fmt::Display,
    rule: impl Into<String>,
    fix: impl Into<String>,
) -> RenderError {
    RenderError::Input {
        field: field.to_owned(),
        value: value.to_string(),
        rule: rule.into(),
        fix: fix.into(),
    }
}

/// Renders one region of `tenant` with `plan`'s resources.
pub fn render(
    tenant: &Tenant,
    plan: &ResourcePlan,
    options: &RenderOptions,
) -> Result<Rendering, RenderError> {
    if tenant.is_multi_site() {
        return Err(input_error(
            "sites",
            tenant.sites().len(),
            "a tenant with sites is rendered site by site, each for its own Kubernetes cluster",
            "use render_sites (ledger-topology render renders every site)",
        ));
    }
    let ctx = common::Context::new(tenant, plan, options)?;
    let mut out = Vec::new();
    out.push(platform::namespace(&ctx));
    out.extend(platform::service_accounts(&ctx));
    out.extend(platform::node_reader_rbac(&ctx));
    if let Some(sc) = platform::storage_class(&ctx) {
        out.push(sc);
    }
    // Before the pods that mount the Secrets cert-manager writes.
    out.extend(certs::objects(&ctx));
    match options.cockroach_mode {
        CockroachMode::StatefulSet => out.extend(cockroach::objects(&ctx)),
        CockroachMode::Operator => {
            out.push(operator::crdb_cluster(&ctx));
            out.extend(cockroach::replication_job(&ctx));
        }
    }
    out.extend(cockroach::upgrade_job(&ctx));
    if ctx.renders_redpanda() {
        out.extend(redpanda::objects(&ctx));
    }
    out.extend(network::policies(&ctx));
    out.extend(monitoring::objects(&ctx));
    Ok(Rendering::new(out))
}

#[cfg(test)]
mod tests;
