//! What this crate's renderers share: the checked inputs of one region, names, ports and
//! selectors. The generic builders (labels, quantities, security contexts) are in
//! [`super::kit`].

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::kit::{labels, object_meta};
use super::{CockroachMode, RenderError, RenderOptions, ResourcePlan, input_error};
use crate::placement::QuorumPlan;
use crate::provider::Provider;
use crate::quantity::{ByteSize, Cpu};
use crate::tenant::{Site, Tenant};

/// Label clients put on their pods to reach CockroachDB SQL and the Kafka API.
pub const CLIENT_LABEL: &str = "thinledger.io/ledger-client";
/// Label of the rendered Jobs' pods (admitted to the databases by the network policy).
pub const JOB_LABEL: &str = "thinledger.io/ledger-job";
/// Label of every object of a multi-site tenant's rendering: the site it belongs to.
pub const SITE_LABEL: &str = "thinledger.io/site";
/// Annotation prefix for rendered explanations.
pub const DOC_PREFIX: &str = "thinledger.io/";

pub const CRDB_NAME: &str = "cockroachdb";
pub const CRDB_PUBLIC: &str = "cockroachdb-public";
pub const CRDB_GRPC_PORT: i32 = 26_258;
pub const CRDB_SQL_PORT: i32 = 26_257;
pub const CRDB_HTTP_PORT: i32 = 8_080;
pub const CRDB_NODE_SECRET: &str = "cockroachdb-node";
pub const CRDB_ROOT_SECRET: &str = "cockroachdb-root";

pub const RP_NAME: &str = "redpanda";
pub const RP_KAFKA_PORT: i32 = 9_092;
pub const RP_RPC_PORT: i32 = 33_145;
pub const RP_ADMIN_PORT: i32 = 9_644;
pub const RP_TLS_SECRET: &str = "redpanda-tls";
/// The topic Job's client certificate (Kafka and admin API), issued for client auth only.
pub const RP_TOPICS_CLIENT_SECRET: &str = "redpanda-topics-client";
/// Prometheus' client certificate for Redpanda's admin API (`/public_metrics`).
pub const RP_METRICS_CLIENT_SECRET: &str = "redpanda-metrics-client";

pub const JOBS_SA: &str = "ledger-jobs";
pub const BACKUP_SA: &str = "ledger-backup";

/// The checked inputs for one region.
#[derive(Debug)]
pub struct Context<'a> {
    pub tenant: &'a Tenant,
    pub plan: &'a ResourcePlan,
    pub mode: CockroachMode,
    pub namespace: String,
    pub region: String,
    /// Zones of the rendered region (empty on-prem without racks).
    pub zones: Vec<String>,
    /// CockroachDB nodes in the rendered region.
    pub crdb_replicas: u32,
    /// Nodes per region, in the tenant's region order.
    pub crdb_per_region: Vec<(String, u32)>,
    /// Whether this region hosts the first node (and so the cluster-init Job).
    pub first_region: bool,
}

impl<'a> Context<'a> {
    pub fn new(
        tenant: &'a Tenant,
        plan: &'a ResourcePlan,
        options: &RenderOptions,
    ) -> Result<Self, RenderError> {
        let regions = tenant.locality().regions();
        let region = match &options.region {
            Some(r) => {
                if !regions.iter().any(|x| &x.name == r) {
                    return Err(input_error(
                        "--region",
                        r,
                        "the region to render must be one of the tenant's",
                        format!(
                            "use one of {}",
                            regions
                                .iter()
                                .map(|x| x.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                r.clone()
            }
            None if regions.len() == 1 => regions[0].name.clone(),
            None => {
                return Err(input_error(
                    "--region",
                    "",
                    "a multi-region tenant is rendered one region (one cluster) at a time",
                    format!(
                        "pass --region with one of {}",
                        regions
                            .iter()
                            .map(|x| x.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        };
        if tenant.site_view().is_some() && options.cockroach_mode == CockroachMode::Operator {
            return Err(input_error(
                "--cockroach-mode",
                CockroachMode::Operator,
                "the operator manages one Kubernetes cluster; a tenant with sites stretches CockroachDB over several",
                "render the sites with --cockroach-mode statefulset",
            ));
        }
        check_plan(tenant, plan)?;
        let quorum = tenant
            .cockroach_quorum_for(plan.cockroach.nodes)
            .map_err(|e| {
                input_error(
                    "cockroachdb.nodes",
                    plan.cockroach.nodes,
                    e.to_string(),
                    "choose a node count that passes the tenant's quorum rules",
                )
            })?;
        let crdb_per_region = per_region(&quorum, regions.iter().map(|r| r.name.as_str()));
        let crdb_replicas = crdb_per_region
            .iter()
            .find(|(r, _)| *r == region)
            .map_or(0, |(_, n)| *n);
        let zones = regions
            .iter()
            .find(|r| r.name == region)
            .map(|r| r.zones.clone())
            .unwrap_or_default();
        Ok(Context {
            tenant,
            plan,
            mode: options.cockroach_mode,
            namespace: tenant.namespace(),
            first_region: regions.first().is_some_and(|r| r.name == region)
                && tenant.site_view().is_none_or(|v| v.index == 0),
            region,
            zones,
            crdb_replicas,
            crdb_per_region,
        })
    }

    pub fn provider(&self) -> Provider {
        self.tenant.provider()
    }

    pub fn renders_redpanda(&self) -> bool {
        match self.site() {
            // Stretched over the sites: every site with a share of the brokers.
            Some(site) => site.brokers() > 0,
            None => self.tenant.redpanda_region() == self.region,
        }
    }

    /// Whether this rendering holds the Redpanda cluster's one-off Jobs (topics, changefeeds):
    /// Redpanda's region, or the first site of a tenant with sites.
    pub fn redpanda_jobs_here(&self) -> bool {
        self.renders_redpanda() && self.tenant.site_view().is_none_or(|v| v.index == 0)
    }

    /// The site rendered, on the view of one site of a multi-site tenant.
    pub fn site(&self) -> Option<&Site> {
        self.tenant.viewed_site()
    }

    /// Whether pods read their zone from their Node (the region has zones).
    pub fn reads_node_zone(&self) -> bool {
        !self.zones.is_empty()
    }

    /// Fully qualified DNS suffix of a Service in this namespace, in `region`'s cluster.
    pub fn service_domain(&self, service: &str, region: &str) -> String {
        format!(
            "{service}.{}.svc.{}",
            self.namespace,
            self.tenant.cluster_domain(region)
        )
    }

    /// Image reference, with the tenant's registry mirror if any.
    pub fn image(&self, repository: &str, tag: &str) -> String {
        match &self.tenant.spec().images.registry {
            Some(registry) => format!("{registry}/{repository}:{tag}"),
            None => format!("{repository}:{tag}"),
        }
    }

    pub fn cockroach_image(&self) -> String {
        self.image(
            "cockroachdb/cockroach",
            &self.tenant.spec().cockroachdb.version,
        )
    }

    pub fn redpanda_image(&self) -> String {
        self.image(
            "redpandadata/redpanda",
            &self.tenant.spec().redpanda.version,
        )
    }

    /// Labels every rendered object carries.
    pub fn common_labels(&self) -> BTreeMap<String, String> {
        let spec = self.tenant.spec();
        let mut l = labels(&[
            ("app.kubernetes.io/part-of", "thinledger"),
            ("app.kubernetes.io/managed-by", "ledger-topology"),
            ("thinledger.io/tenant", &spec.tenant),
            ("thinledger.io/environment", &spec.environment),
            ("thinledger.io/ring", spec.ring.as_str()),
        ]);
        if let Some(site) = self.site() {
            l.insert(SITE_LABEL.to_owned(), site.name().to_owned());
        }
        l
    }

    /// Metadata of a namespaced object.
    pub fn meta(&self, name: &str, extra: &BTreeMap<String, String>) -> ObjectMeta {
        let mut l = self.common_labels();
        l.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        object_meta(name, &self.namespace, l)
    }

    /// Image pull secrets, if the tenant names one.
    pub fn pull_secrets(&self) -> Option<Vec<k8s_openapi::api::core::v1::LocalObjectReference>> {
        self.tenant
            .spec()
            .images
            .pull_secret
            .as_ref()
            .map(|s| vec![k8s_openapi::api::core::v1::LocalObjectReference { name: s.clone() }])
    }
}

fn per_region<'r>(
    quorum: &QuorumPlan,
    regions: impl Iterator<Item = &'r str>,
) -> Vec<(String, u32)> {
    regions
        .map(|r| {
            let n = quorum
                .placements
                .iter()
                .filter(|p| p.region == r)
                .map(|p| p.nodes)
                .sum();
            (r.to_owned(), n)
        })
        .collect()
}

/// The invariants the manifests rely on, re-checked whatever produced the plan.
fn check_plan(tenant: &Tenant, plan: &ResourcePlan) -> Result<(), RenderError> {
    let c = &plan.cockroach;
    whole_cpus("cockroach.cpu", c.cpu)?;
    let budget = c.cache.bytes() + 2 * c.max_sql_memory.bytes();
    if budget > c.memory.bytes() / 10 * 8 {
        return Err(input_error(
            "cockroach.cache",
            format!(
                "cache {} + 2 x max-sql-memory {}",
                c.cache, c.max_sql_memory
            ),
            format!(
                "2 x --max-sql-memory + --cache must stay within 80% of the memory limit {}",
                c.memory
            ),
            "use 25% of the memory limit for each",
        ));
    }
    if c.cache.bytes() == 0 || c.max_sql_memory.bytes() == 0 || c.disk.bytes() == 0 {
        return Err(input_error(
            "cockroach",
            "0",
            "cache, max-sql-memory and disk must be positive",
            "take them from the sizing plan",
        ));
    }
    let r = &plan.redpanda;
    let cores = whole_cpus("redpanda.cpu", r.cpu)?;
    if r.smp == 0 || r.smp != cores {
        return Err(input_error(
            "redpanda.smp",
            r.smp,
            format!("--smp runs one shard per CPU, so it equals the {cores} whole CPUs"),
            format!("use --smp {cores}"),
        ));
    }
    if r.seastar_memory.bytes() + r.reserve_memory.bytes() > r.memory.bytes()
        || r.seastar_memory.bytes() == 0
    {
        return Err(input_error(
            "redpanda.seastar_memory",
            r.seastar_memory,
            format!(
                "--memory plus --reserve-memory must fit in the container's {}",
                r.memory
            ),
            "use about 90% of the memory request for --memory and 0 for --reserve-memory",
        ));
    }
    if r.brokers != tenant.redpanda_quorum().nodes {
        return Err(input_error(
            "redpanda.brokers",
            r.brokers,
            format!(
                "the plan's broker count must match the tenant file's {}",
                tenant.redpanda_quorum().nodes
            ),
            "size Redpanda for the tenant's broker count",
        ));
    }
    if r.disk.bytes() == 0 {
        return Err(input_error(
            "redpanda.disk",
            "0",
            "a broker needs a data volume",
            "take the disk size from the sizing plan",
        ));
    }
    for (key, value) in &plan.volume_parameters {
        if key.is_empty() || value.is_empty() {
            return Err(input_error(
                "volume_parameters",
                format!("{key}={value}"),
                "StorageClass parameters have a name and a value",
                "drop the empty entry",
            ));
        }
    }
    Ok(())
}

fn whole_cpus(field: &str, cpu: Cpu) -> Result<u32, RenderError> {
    match cpu.whole_cores() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(input_error(
            field,
            cpu,
            "Guaranteed pods under the static CPU manager need whole CPUs",
            "round to a whole number of CPUs",
        )),
    }
}

/// Selector labels of CockroachDB pods (the same the operator uses, so policies match both).
pub fn crdb_selector() -> BTreeMap<String, String> {
    labels(&[
        ("app.kubernetes.io/name", CRDB_NAME),
        ("app.kubernetes.io/instance", CRDB_NAME),
        ("app.kubernetes.io/component", "database"),
    ])
}

/// Selector labels of Redpanda pods.
pub fn redpanda_selector() -> BTreeMap<String, String> {
    labels(&[
        ("app.kubernetes.io/name", RP_NAME),
        ("app.kubernetes.io/instance", RP_NAME),
        ("app.kubernetes.io/component", "broker"),
    ])
}

/// `14745M` (MiB, as Seastar reads it) for Redpanda's memory flags.
pub fn seastar_size_flag(size: ByteSize) -> String {
    format!("{}M", size.bytes() / ByteSize::MIB)
}

/// The `purpose` annotation: why a rendered object exists.
pub fn purpose(why: &str) -> BTreeMap<String, String> {
    [(format!("{DOC_PREFIX}purpose"), why.to_owned())]
        .into_iter()
        .collect()
}

/// Annotation explaining the CPU-limit condition.
pub fn cpu_manager_note() -> (String, String) {
    (
        format!("{DOC_PREFIX}cpu-limits"),
        "Guaranteed QoS with whole CPUs: run this node pool with the kubelet's static CPU manager policy (--cpu-manager-policy=static) so limits pin exclusive cores instead of throttling".to_owned(),
    )
}

/// Ten hex digits of a 64-bit FNV-1a hash of `bytes`: stable across runs, platforms and Rust
/// releases (unlike `std`'s hashers), for names that must change exactly when their inputs
/// do. Not a cryptographic hash, nor does it need to be: it only tells renderings apart.
pub fn short_hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:010x}", hash >> 24)
}
