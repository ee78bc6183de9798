//! Why a tenant file could not be sized or rendered.

use thinledger_topology::{Provider, TenantError, Tier};

use crate::error::SizingError;

/// Why a tenant could not be sized (or, with the `render` feature, rendered). Each refusal
/// names the tenant-file field, the value, the rule and the fix; wrapped errors carry their own.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantPlanError {
    /// The tenant file is malformed or breaks a tenant rule (with every problem found).
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// `cockroachdb` has neither `resources` nor `workload`, so there is nothing to size.
    #[error(
        "cockroachdb.resources: the sizing calculator needs a node shape or a workload. \
         Fix: add resources: {{cpu: 8, memory: 32Gi}} or workload: {{data: 2TiB}} under cockroachdb"
    )]
    NothingToSize,
    /// The calculator refused the tenant's shape or workload (the source names the rule).
    #[error(
        "the sizing calculator refused tenant {tenant} ({provider} {tier}); check cockroachdb.resources, cockroachdb.workload and redpanda.resources"
    )]
    Sizing {
        /// The tenant id.
        tenant: String,
        /// Its provider.
        provider: Provider,
        /// Its tier.
        tier: Tier,
        /// The calculator's refusal.
        #[source]
        source: Box<SizingError>,
    },
    /// `storage.class` cannot deliver the IOPS and throughput the nodes need.
    #[error(
        "storage.class = {declared:?}: the sizing calculator needs {required:?} to deliver the required IOPS and throughput. Fix: set storage.class: {required}"
    )]
    StorageClass {
        /// The class the tenant file names.
        declared: String,
        /// The class the plan needs.
        required: String,
    },
    /// `redpanda.brokers` differs from the broker count the calculator chose.
    #[error(
        "redpanda.brokers = {declared}: the sizing calculator chose {sized} brokers. Fix: set redpanda.brokers: {sized}"
    )]
    Brokers {
        /// The tenant file's count.
        declared: u32,
        /// The calculator's count.
        sized: u32,
    },
    /// The per-node resources could not be taken from the file, or rendering refused the
    /// inputs (the source says which field and why).
    #[cfg(feature = "render")]
    #[error(transparent)]
    Render(#[from] thinledger_topology::render::RenderError),
}

impl TenantPlanError {
    /// The tenant-file field to change, where one field is at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            TenantPlanError::NothingToSize => Some("cockroachdb.resources"),
            TenantPlanError::StorageClass { .. } => Some("storage.class"),
            TenantPlanError::Brokers { .. } => Some("redpanda.brokers"),
            _ => None,
        }
    }
}
