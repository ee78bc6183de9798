//! Tenant → sizing → the renderer's inputs.
//!
//! switch to the library composition: today this composition lives in the `ledger-topology`
//! binary (`size()` and `resource_plan()` in crates/cli/src/bin/ledger-topology.rs) and is
//! restated here step by step; once a library offers it (issue 13, "Library-first"), replace
//! this module's body with that one call and keep the tests that use it as they are.

use thinledger_sizing::{
    NodeShapeSpec, RedpandaOptions, SizingOptions, SizingPlan, SizingSpec, WorkloadSpec,
};
use thinledger_topology::Tenant;
use thinledger_topology::render::{CockroachResources, RedpandaResources, ResourcePlan};

/// The sizing calculator's plan for the tenant and the renderer's per-node resources from it.
pub fn size_and_plan(tenant: &Tenant) -> (SizingPlan, ResourcePlan) {
    // switch to the library composition (see the module docs)
    let spec = tenant.spec();
    let crdb = &spec.cockroachdb;
    let sizing_spec = match (&crdb.workload, &crdb.resources) {
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
            ws.nodes = crdb.nodes;
            SizingSpec::Workload(ws)
        }
        (None, Some(r)) => {
            let mut shape = NodeShapeSpec::new(r.cpu, r.memory);
            shape.nodes = crdb.nodes;
            shape.survival = spec.survival;
            SizingSpec::NodeShape(shape)
        }
        (None, None) => panic!("{}: no node shape and no workload", spec.tenant),
    };
    let mut options = SizingOptions {
        locality: Some(tenant.locality().clone()),
        storage_class: Some(tenant.storage().class_name.to_owned()),
        disk: crdb.resources.and_then(|r| r.disk),
        ..SizingOptions::default()
    };
    let rp = spec.redpanda.resources;
    options.redpanda = RedpandaOptions {
        brokers: Some(spec.redpanda.brokers),
        region: Some(tenant.redpanda_region().to_owned()),
        cores: rp.and_then(|r| r.cpu.whole_cores()),
        memory: rp.map(|r| r.memory),
        disk: rp.and_then(|r| r.disk),
        ..RedpandaOptions::default()
    };
    let sized = thinledger_sizing::plan(spec.provider, spec.tier, &sizing_spec, &options)
        .unwrap_or_else(|e| panic!("{}: the calculator refused: {e}", spec.tenant));
    // The consistency checks the CLI makes: the tenant's storage class and broker count are
    // the ones the calculator needs.
    assert_eq!(
        sized.cockroachdb.disk.storage_class,
        tenant.storage().class_name,
        "{}: storage class",
        spec.tenant
    );
    assert_eq!(
        sized.redpanda.brokers, spec.redpanda.brokers,
        "{}: brokers",
        spec.tenant
    );
    let (c, r) = (&sized.cockroachdb, &sized.redpanda);
    let plan = ResourcePlan {
        cockroach: CockroachResources {
            nodes: c.nodes,
            cpu: c.resources.limits.cpu,
            memory: c.resources.limits.memory,
            cache: c.cache,
            max_sql_memory: c.max_sql_memory,
            disk: c.disk.size,
        },
        redpanda: RedpandaResources {
            brokers: r.brokers,
            cpu: r.resources.limits.cpu,
            memory: r.resources.limits.memory,
            smp: r.cores,
            seastar_memory: r.memory,
            reserve_memory: r.reserve_memory,
            disk: r.disk.size,
        },
        volume_parameters: c.disk.class_parameters.clone(),
    };
    (sized, plan)
}
