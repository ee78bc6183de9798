//! Tenant → sizing → the renderer's inputs, through the library composition
//! (`thinledger_sizing::plan_tenant`), exactly as `ledger-topology render --resources sizing` does.

use thinledger_sizing::{SizingPlan, resource_plan, size_tenant};
use thinledger_topology::Tenant;
use thinledger_topology::render::ResourcePlan;

/// The sizing calculator's plan for the tenant and the renderer's per-node resources from it.
pub fn size_and_plan(tenant: &Tenant) -> (SizingPlan, ResourcePlan) {
    let name = &tenant.spec().tenant;
    let sized = size_tenant(tenant).unwrap_or_else(|e| panic!("{name}: sizing: {e}"));
    let plan = resource_plan(tenant, &sized).unwrap_or_else(|e| panic!("{name}: resources: {e}"));
    (sized, plan)
}
