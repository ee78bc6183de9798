//! A tenant file sized: the tenant → sizing → rendering composition that `ledger-topology`
//! runs, as library calls any tool can make.
//!
//! [`size_tenant`] turns a checked [`Tenant`] into the calculator's inputs (its node shape or
//! workload, locality, storage class and Redpanda settings), runs [`crate::plan`], and checks
//! that the plan agrees with the file (the storage class it needs is the one the file names).
//! With the `render` cargo feature, `plan_tenant` goes on to the renderer's
//! `thinledger_topology::render::ResourcePlan` (checking the broker count), `render_tenant` to
//! the rendered objects, and `check_tenant` runs the whole way to the rendered objects and returns findings instead of
//! stopping at the first refusal (what `ledger-topology validate` prints).
//!
//! ```
//! use thinledger_sizing::size_tenant;
//! use thinledger_topology::Tenant;
//!
//! let tenant = Tenant::from_yaml(include_str!("../../../../examples/tenants/aws.yaml"))?;
//! let sized = size_tenant(&tenant)?;
//! assert_eq!(sized.cockroachdb.nodes, 3);
//! assert_eq!(sized.cockroachdb.disk.storage_class, "gp3");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "render")]
mod check;
#[cfg(feature = "render")]
mod compose;
mod error;

#[cfg(feature = "render")]
pub use check::{Finding, FindingSeverity, TenantCheck, check_tenant};
#[cfg(feature = "render")]
pub use compose::{
    ResourceSource, SitePlan, TenantPlan, plan_tenant, render_tenant, render_tenant_sites,
    resource_plan,
};
pub use error::TenantPlanError;

use thinledger_topology::Tenant;

use crate::plan::SizingPlan;
use crate::spec::{NodeShapeSpec, RedpandaOptions, SizingOptions, SizingSpec, WorkloadSpec};

/// The calculator's input for `tenant`: its workload (with the node shape, if given, as the
/// per-node vCPU and memory) or else its node shape, with the tenant's node count and
/// survival goal.
pub fn tenant_sizing_spec(tenant: &Tenant) -> Result<SizingSpec, TenantPlanError> {
    let spec = tenant.spec();
    let crdb = &spec.cockroachdb;
    let nodes = crdb.nodes;
    match (&crdb.workload, &crdb.resources) {
        (Some(w), resources) => {
            let mut ws = WorkloadSpec::new(w.data);
            ws.growth_percent_per_year = w.growth_percent_per_year;
            if let Some(h) = w.horizon_years {
                ws.horizon_years = h;
            }
            ws.write_rate_per_second = w.write_rate_per_second;
            ws.survival = spec.survival;
            ws.vcpu = resources.map(|r| r.cpu);
            ws.memory = resources.map(|r| r.memory);
            ws.nodes = nodes;
            Ok(SizingSpec::Workload(ws))
        }
        (None, Some(r)) => {
            let mut shape = NodeShapeSpec::new(r.cpu, r.memory);
            shape.nodes = nodes;
            shape.survival = spec.survival;
            Ok(SizingSpec::NodeShape(shape))
        }
        (None, None) => Err(TenantPlanError::NothingToSize),
    }
}

/// The calculator's options for `tenant`: its locality, storage class, disk sizes and
/// Redpanda's brokers, region, cores and memory.
pub fn tenant_sizing_options(tenant: &Tenant) -> SizingOptions {
    let spec = tenant.spec();
    let rp = spec.redpanda.resources;
    let redpanda = RedpandaOptions {
        brokers: Some(spec.redpanda.brokers),
        region: Some(tenant.redpanda_region().to_owned()),
        cores: rp.and_then(|r| r.cpu.whole_cores()),
        memory: rp.map(|r| r.memory),
        disk: rp.and_then(|r| r.disk),
        ..RedpandaOptions::default()
    };
    SizingOptions {
        locality: Some(tenant.locality().clone()),
        storage_class: Some(tenant.storage().class_name.to_owned()),
        disk: spec.cockroachdb.resources.and_then(|r| r.disk),
        redpanda,
        ..SizingOptions::default()
    }
}

/// Runs the calculator on the tenant's shape or workload, with its locality, storage class
/// and Redpanda settings. The calculator applies the model's quorum rule, so the node count
/// it returns (given or computed) keeps a majority through the loss of any of the tenant's
/// failure domains.
///
/// Fails when the file gives neither a node shape nor a workload, when the calculator
/// refuses, or when the plan needs another storage class than the file names.
pub fn size_tenant(tenant: &Tenant) -> Result<SizingPlan, TenantPlanError> {
    let spec = tenant.spec();
    let sizing_spec = tenant_sizing_spec(tenant)?;
    let options = tenant_sizing_options(tenant);
    let sized =
        crate::calc::plan(spec.provider, spec.tier, &sizing_spec, &options).map_err(|source| {
            TenantPlanError::Sizing {
                tenant: spec.tenant.clone(),
                provider: spec.provider,
                tier: spec.tier,
                source: Box::new(source),
            }
        })?;
    // The calculator keeps a class it is given (and warns when it falls short), so this
    // guards the contract rather than a case the calculator produces today.
    let declared = tenant.storage().class_name;
    if sized.cockroachdb.disk.storage_class != declared {
        return Err(TenantPlanError::StorageClass {
            declared: declared.to_owned(),
            required: sized.cockroachdb.disk.storage_class.clone(),
        });
    }
    Ok(sized)
}

#[cfg(test)]
mod tests;
