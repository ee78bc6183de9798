//! Size a production ledger two ways with the public API: check a node shape, then derive
//! nodes and disks from a workload for every provider, and show a refusal.
//!
//! Run with `cargo run -p thinledger-examples --example size_a_node`.

use thinledger_sizing::{NodeShapeSpec, SizingError, SizingOptions, WorkloadSpec, plan};
use thinledger_topology::{ByteSize, Cpu, Provider, SurvivalGoal, Tier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = SizingOptions::default();

    // 1. A node shape: 8 vCPU and 32 GiB per node on AWS.
    let shape = NodeShapeSpec::new(Cpu::cores(8), ByteSize::gib(32));
    let sized = plan(Provider::Aws, Tier::Prod, &shape.into(), &options)?;
    let crdb = &sized.cockroachdb;
    println!(
        "aws 8 vCPU / 32 GiB: {} nodes, {}, disk {} {}, instance {}",
        crdb.nodes,
        crdb.flags.join(" "),
        crdb.disk.size,
        crdb.disk.storage_class,
        crdb.node.instance.as_ref().map_or("-", |i| i.name.as_str()),
    );
    assert_eq!(crdb.cache, ByteSize::gib(8));
    assert_eq!(crdb.resources.requests, crdb.resources.limits);

    // 2. A workload on every provider: 6 TiB growing 40% a year, surviving a region.
    let mut workload = WorkloadSpec::new(ByteSize::tib(6));
    workload.growth_percent_per_year = 40.0;
    workload.survival = SurvivalGoal::Region;
    workload.vcpu = Some(Cpu::cores(32));
    for provider in Provider::ALL {
        let sized = plan(provider, Tier::Prod, &workload.clone().into(), &options)?;
        let crdb = &sized.cockroachdb;
        let vcpu = u64::from(crdb.resources.vcpu());
        assert!(crdb.nodes >= 5 && crdb.nodes % 2 == 1);
        assert!(crdb.disk.size <= ByteSize::gib(320 * vcpu) && crdb.disk.size <= ByteSize::tib(10));
        println!(
            "{:>6}: {} nodes × {vcpu} vCPU, RF {}, disk {} {} ({} warnings)",
            provider.as_str(),
            crdb.nodes,
            crdb.replication_factor,
            crdb.disk.size,
            crdb.disk.storage_class,
            sized.warnings.len(),
        );
    }

    // 3. A refusal explains itself instead of adjusting silently.
    let small = NodeShapeSpec::new(Cpu::cores(2), ByteSize::gib(8));
    match plan(Provider::Gcp, Tier::Prod, &small.into(), &options) {
        Err(err @ SizingError::VcpuBelowMinimum { .. }) => println!("refused: {err}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    Ok(())
}
