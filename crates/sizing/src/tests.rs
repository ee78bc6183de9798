//! Rule and refusal tables for the calculator.

use rstest::rstest;
use thinledger_topology::{ByteSize, Cpu, Locality, Provider, RegionSpec, SurvivalGoal, Tier};

use crate::*;

fn shape(vcpu: u32, gib: u64) -> NodeShapeSpec {
    NodeShapeSpec::new(Cpu::cores(vcpu), ByteSize::gib(gib))
}

fn size(
    provider: Provider,
    tier: Tier,
    spec: impl Into<SizingSpec>,
) -> Result<SizingPlan, SizingError> {
    plan(provider, tier, &spec.into(), &SizingOptions::default())
}

fn size_with(
    provider: Provider,
    tier: Tier,
    spec: impl Into<SizingSpec>,
    options: &SizingOptions,
) -> Result<SizingPlan, SizingError> {
    plan(provider, tier, &spec.into(), options)
}

fn rule<'p>(plan: &'p SizingPlan, id: &str) -> &'p AppliedRule {
    plan.rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} not applied: {:?}", plan.rules))
}

#[rstest]
#[case(Tier::Prod, 2, false)]
#[case(Tier::Prod, 3, false)]
#[case(Tier::Prod, 4, true)]
#[case(Tier::Prod, 8, true)]
#[case(Tier::Staging, 1, false)]
#[case(Tier::Staging, 2, true)]
#[case(Tier::Dev, 1, true)]
fn vcpu_minimum_per_tier(#[case] tier: Tier, #[case] vcpu: u32, #[case] ok: bool) {
    let result = size(Provider::Aws, tier, shape(vcpu, 4 * u64::from(vcpu)));
    match (ok, result) {
        (true, Ok(plan)) => assert!(
            rule(&plan, "tier.min-vcpu")
                .result
                .contains(&format!("{vcpu} vCPU"))
        ),
        (false, Err(SizingError::VcpuBelowMinimum { minimum, .. })) => {
            assert_eq!(minimum, TierRules::of(tier).min_vcpu)
        }
        (_, other) => panic!("{tier} {vcpu} vCPU: {other:?}"),
    }
}

#[test]
fn production_below_four_vcpu_names_the_rule_source_and_fix() {
    let err = size(Provider::Aws, Tier::Prod, shape(2, 8))
        .unwrap_err()
        .to_string();
    for part in [
        "vcpu = 2",
        "at least 4 vCPU",
        "CockroachDB production checklist",
        "--vcpu 4",
    ] {
        assert!(err.contains(part), "{part:?} missing from {err}");
    }
}

#[rstest]
#[case(Tier::Prod, 8, 31, false)]
#[case(Tier::Prod, 8, 32, true)]
#[case(Tier::Prod, 8, 16, false)]
#[case(Tier::Staging, 4, 8, false)]
#[case(Tier::Staging, 4, 16, true)]
#[case(Tier::Dev, 4, 8, true)]
#[case(Tier::Dev, 4, 7, false)]
fn memory_per_vcpu_per_tier(
    #[case] tier: Tier,
    #[case] vcpu: u32,
    #[case] gib: u64,
    #[case] ok: bool,
) {
    let result = size(Provider::Gcp, tier, shape(vcpu, gib));
    match (ok, &result) {
        (true, Ok(_)) => {}
        (false, Err(e @ SizingError::MemoryPerVcpuTooLow { .. })) => {
            let text = e.to_string();
            let needed = TierRules::of(tier).min_gib_per_vcpu * u64::from(vcpu);
            assert!(text.contains(&format!("--memory {needed}GiB")), "{text}");
            if tier != Tier::Dev {
                assert!(text.contains("dev only"), "{text}");
            }
        }
        _ => panic!("{tier} {vcpu}/{gib}: {result:?}"),
    }
}

#[test]
fn fractional_cpus_are_refused_with_both_neighbours() {
    let spec = NodeShapeSpec::new(Cpu(4500), ByteSize::gib(32));
    let err = size(Provider::Aws, Tier::Prod, spec).unwrap_err();
    assert!(
        matches!(
            err,
            SizingError::FractionalCpu {
                below: 4,
                above: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("use 4 or 5"), "{err}");
}

#[rstest]
#[case(SurvivalGoal::Zone, 2, Some("at least 3"))]
#[case(SurvivalGoal::Zone, 3, None)]
#[case(SurvivalGoal::Zone, 4, Some("use 3 or 5"))]
#[case(SurvivalGoal::Zone, 5, None)]
#[case(SurvivalGoal::Zone, 6, Some("use 5 or 7"))]
#[case(SurvivalGoal::Zone, 7, None)]
#[case(SurvivalGoal::Zone, 9, None)]
#[case(SurvivalGoal::Region, 3, Some("at least 5"))]
#[case(SurvivalGoal::Region, 5, None)]
#[case(SurvivalGoal::Region, 9, None)]
fn node_counts_follow_quorum_rules(
    #[case] goal: SurvivalGoal,
    #[case] nodes: u32,
    #[case] refusal: Option<&str>,
) {
    let mut spec = shape(8, 32);
    spec.nodes = Some(nodes);
    spec.survival = goal;
    match (size(Provider::Aws, Tier::Prod, spec), refusal) {
        (Ok(plan), None) => {
            assert_eq!(plan.cockroachdb.nodes, nodes);
            assert_eq!(
                plan.cockroachdb.replication_factor,
                goal.replication_factor()
            );
            let placed: u32 = plan.cockroachdb.placements.iter().map(|p| p.nodes).sum();
            assert_eq!(placed, nodes);
            // Losing any failure domain of the goal leaves a majority of every range.
            let rf = plan.cockroachdb.replication_factor;
            assert!(
                plan.cockroachdb
                    .failure_domains
                    .iter()
                    .all(|d| 2 * d.replicas < rf),
                "{:?}",
                plan.cockroachdb.failure_domains
            );
        }
        (Err(err @ SizingError::Topology(_)), Some(text)) => {
            assert!(err.to_string().contains(text), "{err}")
        }
        (other, _) => panic!("{nodes} nodes: {other:?}"),
    }
}

#[rstest]
#[case(32, "8GiB")]
#[case(16, "4GiB")]
#[case(64, "16GiB")]
fn cache_and_sql_memory_are_a_quarter_of_the_limit(#[case] gib: u64, #[case] flag: &str) {
    let plan = size(Provider::Aws, Tier::Prod, shape(8, gib.max(32))).unwrap();
    let plan = if gib < 32 {
        size(Provider::Aws, Tier::Prod, shape(4, gib)).unwrap()
    } else {
        plan
    };
    assert_eq!(plan.cockroachdb.cache, ByteSize::gib(gib / 4));
    assert_eq!(plan.cockroachdb.max_sql_memory, ByteSize::gib(gib / 4));
    assert_eq!(
        plan.cockroachdb.flags,
        [
            format!("--cache={flag}"),
            format!("--max-sql-memory={flag}")
        ]
    );
}

#[test]
fn a_quarter_of_an_uneven_limit_is_written_in_mib() {
    let plan = size(Provider::Aws, Tier::Prod, shape(4, 30)).unwrap();
    assert_eq!(plan.cockroachdb.cache, ByteSize::mib(7680));
    assert_eq!(plan.cockroachdb.flags[0], "--cache=7680MiB");
}

#[rstest]
#[case("25%", "25%", true)]
// 2 × 20% + 40% = 80%: exactly the budget.
#[case("40%", "20%", true)]
// 2 × 30% + 30% = 90%.
#[case("30%", "30%", false)]
// 2 × 12 + 8 = 32 GiB > 25.6 GiB.
#[case("8GiB", "12GiB", false)]
#[case("6GiB", "9GiB", true)]
fn memory_flag_overrides_keep_the_80_percent_budget(
    #[case] cache: &str,
    #[case] sql: &str,
    #[case] ok: bool,
) {
    let options = SizingOptions {
        cache: Some(cache.parse().unwrap()),
        max_sql_memory: Some(sql.parse().unwrap()),
        ..SizingOptions::default()
    };
    match (
        size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options),
        ok,
    ) {
        (Ok(plan), true) => {
            assert!(rule(&plan, "crdb.cache").result.contains("override"));
            let used = 2 * plan.cockroachdb.max_sql_memory.bytes() + plan.cockroachdb.cache.bytes();
            assert!(used * 10 <= ByteSize::gib(32).bytes() * 8);
        }
        (Err(err @ SizingError::MemoryFlagsOverBudget { .. }), false) => {
            let text = err.to_string();
            assert!(text.contains("80%") && text.contains("Fix: keep"), "{text}");
        }
        (other, _) => panic!("{cache}/{sql}: {other:?}"),
    }
}

#[rstest]
// 20 TiB × 3 ÷ 3 ÷ 60% = 33.3 TiB per node > 10 TiB. Over 3 zones each range keeps one replica
// per zone, so the fullest node stores 1 ÷ (nodes in the smallest zone) of the data: 9 and 11
// nodes (smallest zone 3) store 11.1 TiB ÷ 60%; 13 (5/4/4) store a quarter, 8.3 TiB.
#[case(32, 128, 20, "more than 10 TiB per node", 13)]
// 2 TiB × 3 ÷ 3 ÷ 60% = 3414 GiB > 320 × 8 = 2560; 5 nodes (2/2/1) still put every range on
// the third zone's node; 7 (3/2/2) store half each: 1707 GiB.
#[case(8, 32, 2, "more than 320 GiB per vCPU", 7)]
fn disks_beyond_the_ceilings_are_refused_with_a_node_count_that_fits(
    #[case] vcpu: u32,
    #[case] gib: u64,
    #[case] data_tib: u64,
    #[case] rule_text: &str,
    #[case] nodes: u32,
) {
    let mut spec = shape(vcpu, gib);
    spec.data = Some(ByteSize::tib(data_tib));
    let err = size(Provider::Aws, Tier::Prod, spec.clone()).unwrap_err();
    let SizingError::DiskPerNodeTooLarge {
        suggested_nodes, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*suggested_nodes, Some(nodes));
    let text = err.to_string();
    assert!(
        text.contains(rule_text) && text.contains(&format!("--nodes {nodes}")),
        "{text}"
    );
    // The suggestion works.
    spec.nodes = Some(nodes);
    let plan = size(Provider::Aws, Tier::Prod, spec).unwrap();
    assert!(plan.cockroachdb.disk.size <= plan.cockroachdb.disk.max_size);
}

#[test]
fn a_per_vcpu_refusal_also_suggests_bigger_nodes() {
    let mut spec = shape(8, 32);
    spec.data = Some(ByteSize::tib(2));
    let text = size(Provider::Aws, Tier::Prod, spec)
        .unwrap_err()
        .to_string();
    // 3414 GiB ÷ 320 GiB per vCPU → 11 vCPU.
    assert!(text.contains("11 vCPU or more"), "{text}");
}

fn every_provider_locality(provider: Provider, goal: SurvivalGoal) -> Locality {
    default_locality(provider, goal).unwrap()
}

#[test]
fn an_uneven_spread_sizes_disks_for_the_fullest_node() {
    let sized = |nodes: u32| {
        let mut spec = shape(8, 32);
        spec.nodes = Some(nodes);
        spec.data = Some(ByteSize::gib(600));
        size(Provider::Aws, Tier::Prod, spec).unwrap()
    };
    let data = |plan: &SizingPlan| plan.cockroachdb.disk.data_per_node.unwrap();
    // 3 nodes: every node stores every range.
    assert_eq!(data(&sized(3)), ByteSize::gib(600));
    // 5 nodes spread 2/2/1: the third zone's node still stores every range.
    let five = sized(5);
    assert_eq!(data(&five), ByteSize::gib(600));
    assert!(
        five.advice
            .iter()
            .any(|a| a.contains("store 100% of the data each where an even spread stores 60%")),
        "{:?}",
        five.advice
    );
    assert!(
        rule(&five, "disk.capacity")
            .result
            .contains("× 1 ÷ 1 (the fullest node's share)"),
        "{:?}",
        rule(&five, "disk.capacity")
    );
    // 7 nodes spread 3/2/2: half; 9 spread 3/3/3: a third, as 3 ÷ 9.
    assert_eq!(data(&sized(7)), ByteSize::gib(300));
    let nine = sized(9);
    assert_eq!(data(&nine), ByteSize::gib(200));
    assert!(rule(&nine, "disk.capacity").result.contains("× 3 ÷ 9 ="));
}

#[rstest]
fn workload_mode_gives_odd_evenly_spread_counts_and_disks_within_the_ceilings(
    #[values(Provider::Aws, Provider::Azure, Provider::Gcp, Provider::OnPrem)] provider: Provider,
    #[values(SurvivalGoal::Zone, SurvivalGoal::Region)] goal: SurvivalGoal,
    #[values(50, 2_000, 6_144, 40_000)] data_gib: u64,
    #[values(Tier::Prod, Tier::Staging)] tier: Tier,
) {
    let mut spec = WorkloadSpec::new(ByteSize::gib(data_gib));
    spec.growth_percent_per_year = 40.0;
    spec.survival = goal;
    let options = SizingOptions {
        locality: Some(every_provider_locality(provider, goal)),
        ..SizingOptions::default()
    };
    let plan = size_with(provider, tier, spec, &options).unwrap();
    let c = &plan.cockroachdb;
    assert!(c.nodes >= 3 && c.nodes % 2 == 1, "{} nodes", c.nodes);
    assert!(c.nodes >= goal.replication_factor());
    let vcpu = u64::from(c.resources.vcpu());
    let disk_gib = c.disk.size.bytes().div_ceil(ByteSize::GIB);
    assert!(disk_gib <= 320 * vcpu, "{disk_gib} GiB for {vcpu} vCPU");
    assert!(disk_gib <= 10 * 1024, "{disk_gib} GiB per node");
    // The data fits at the planned fill.
    let stored = c.disk.data_per_node.unwrap().bytes();
    assert!(stored * 100 <= c.disk.size.bytes() * u64::from(c.disk.target_utilisation_percent));
    // The goal's failure domains hold counts that differ by at most one, and none holds a
    // majority of a range.
    let counts: Vec<u32> = c.failure_domains.iter().map(|d| d.nodes).collect();
    let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(most - least <= 1 || counts.len() == 1, "{counts:?}");
    assert!(
        c.failure_domains
            .iter()
            .all(|d| 2 * d.replicas < c.replication_factor)
    );
    assert_eq!(c.placements.iter().map(|p| p.nodes).sum::<u32>(), c.nodes);
    // And the next smaller odd count would not have fitted (the count is the fewest).
    let fewer = c.nodes - 2;
    if fewer >= 3.max(goal.replication_factor()) {
        let locality = every_provider_locality(provider, goal);
        let share = thinledger_topology::quorum::plan("nodes", fewer, &locality, goal)
            .unwrap()
            .fullest_node;
        let data = u128::from(plan.forecast.as_ref().unwrap().data_at_horizon.bytes());
        let at_fewer = share.of(data) * 100 / 60;
        assert!(
            at_fewer > u128::from(c.disk.max_size.bytes()),
            "{fewer} nodes would have fitted"
        );
    }
}

#[rstest]
#[case(Provider::Aws, &["m6i", "r6i"])]
#[case(Provider::Azure, &["Dsv5", "Ev5"])]
#[case(Provider::Gcp, &["n2-standard", "n2d-standard", "t2d-standard"])]
fn instance_types_come_from_the_providers_families(
    #[case] provider: Provider,
    #[case] families: &[&str],
) {
    for (vcpu, gib) in [(4, 16), (8, 32), (8, 64), (16, 64), (32, 256)] {
        let plan = size(provider, Tier::Prod, shape(vcpu, gib)).unwrap();
        for fit in [&plan.cockroachdb.node, &plan.redpanda.node] {
            let instance = fit.instance.as_ref().unwrap();
            assert!(
                families.contains(&instance.family.as_str()),
                "{}",
                instance.family
            );
            assert!(instance.vcpu >= fit.minimum_vcpu);
        }
        let node = plan.cockroachdb.node.instance.as_ref().unwrap();
        assert!(node.allocatable_cpu >= Cpu::cores(vcpu));
        assert!(node.allocatable_memory >= ByteSize::gib(gib));
    }
}

#[test]
fn onprem_states_node_and_disk_requirements() {
    let plan = size(Provider::OnPrem, Tier::Prod, shape(8, 32)).unwrap();
    let c = &plan.cockroachdb;
    assert!(c.node.instance.is_none());
    assert_eq!(c.node.minimum_vcpu, 9);
    assert!(c.disk.verify.as_ref().unwrap().contains("4000 IOPS"));
    assert!(plan.warnings.iter().any(|w| w.contains("fio")));
}

#[rstest]
#[case(Provider::Aws, "gp3", Some(4000), None)]
#[case(Provider::Azure, "managed-csi-premium", None, Some("P40"))]
#[case(Provider::Gcp, "premium-rwo", None, None)]
fn disks_map_onto_the_providers_class(
    #[case] provider: Provider,
    #[case] class: &str,
    #[case] provisioned_iops: Option<u64>,
    #[case] tier: Option<&str>,
) {
    let plan = size(provider, Tier::Prod, shape(8, 32)).unwrap();
    let disk = &plan.cockroachdb.disk;
    assert_eq!(disk.storage_class, class);
    assert_eq!(disk.provisioned_iops, provisioned_iops);
    assert_eq!(disk.performance_tier.as_deref(), tier);
    assert_eq!((disk.required_iops, disk.required_mbps), (4000, 240));
    assert!(disk.delivered_iops.unwrap() >= 4000 && disk.delivered_mbps.unwrap() >= 240);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn aws_moves_from_gp3_to_io2_when_gp3_cannot_deliver() {
    let plan = size(Provider::Aws, Tier::Prod, shape(33, 132)).unwrap();
    let disk = &plan.cockroachdb.disk;
    assert_eq!(disk.storage_class, "io2");
    assert_eq!(disk.class_parameters["type"], "io2");
    assert_eq!(disk.class_parameters["iops"], "16500");
    assert!(
        rule(&plan, "disk.class-upgrade")
            .result
            .contains("gp3 → io2")
    );
    // An explicit class is kept, with a warning instead.
    let options = SizingOptions {
        storage_class: Some("gp3".into()),
        ..SizingOptions::default()
    };
    let plan = size_with(Provider::Aws, Tier::Prod, shape(33, 132), &options).unwrap();
    assert_eq!(plan.cockroachdb.disk.storage_class, "gp3");
    assert!(
        plan.warnings.iter().any(|w| w.contains("short of")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn unknown_storage_class_lists_the_providers_classes() {
    let options = SizingOptions {
        storage_class: Some("gp2".into()),
        ..SizingOptions::default()
    };
    let err = size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options).unwrap_err();
    assert!(err.to_string().contains("gp3, io2"), "{err}");
}

#[test]
fn a_high_write_rate_raises_disk_throughput() {
    let mut spec = WorkloadSpec::new(ByteSize::tib(1));
    // 100 MB/s × 3 replicas × 3 amplification ÷ 3 nodes = 300 MB/s > 8 × 30.
    spec.write_rate_per_second = Some(ByteSize(100_000_000));
    // The event stream takes the same rate: a day's retention keeps brokers' disks in bounds.
    let mut options = SizingOptions::default();
    options.redpanda.retention_hours = 24;
    let plan = size_with(Provider::Aws, Tier::Prod, spec, &options).unwrap();
    assert_eq!(plan.cockroachdb.nodes, 3);
    assert_eq!(plan.cockroachdb.disk.required_mbps, 300);
    assert_eq!(plan.cockroachdb.disk.provisioned_mbps, Some(300));
    assert!(rule(&plan, "disk.write-rate").result.contains("300 MB/s"));
}

#[rstest]
#[case(Tier::Prod, 4, true)]
#[case(Tier::Prod, 6, true)]
#[case(Tier::Prod, 5, false)]
#[case(Tier::Prod, 2, false)]
#[case(Tier::Staging, 2, true)]
#[case(Tier::Staging, 3, false)]
#[case(Tier::Dev, 1, true)]
#[case(Tier::Dev, 3, true)]
fn redpanda_cores_per_tier(#[case] tier: Tier, #[case] cores: u32, #[case] ok: bool) {
    let mut options = SizingOptions::default();
    options.redpanda.cores = Some(cores);
    match (size_with(Provider::Aws, tier, shape(4, 16), &options), ok) {
        (Ok(plan), true) => {
            assert_eq!(plan.redpanda.cores, cores);
            assert_eq!(plan.redpanda.flags[0], format!("--smp={cores}"));
        }
        (Err(err @ SizingError::RedpandaCores { .. }), false) => {
            assert!(err.to_string().contains("--redpanda-cores"), "{err}")
        }
        (other, _) => panic!("{tier} {cores} cores: {other:?}"),
    }
}

#[rstest]
#[case(4, 16, "--memory=14745M")]
#[case(4, 8, "--memory=7372M")]
#[case(8, 32, "--memory=29491M")]
fn redpanda_memory_flag_is_ninety_percent_of_the_request(
    #[case] cores: u32,
    #[case] gib: u64,
    #[case] flag: &str,
) {
    let mut options = SizingOptions::default();
    options.redpanda.cores = Some(cores);
    options.redpanda.memory = Some(ByteSize::gib(gib));
    let plan = size_with(Provider::Gcp, Tier::Prod, shape(8, 32), &options).unwrap();
    let r = &plan.redpanda;
    assert_eq!(
        r.flags,
        [
            format!("--smp={cores}"),
            flag.to_owned(),
            "--reserve-memory=0M".to_owned()
        ]
    );
    assert_eq!(r.resources.requests, r.resources.limits);
    assert_eq!(r.reserve_memory, ByteSize(0));
}

#[test]
fn redpanda_below_two_gib_per_core_is_refused() {
    let mut options = SizingOptions::default();
    options.redpanda.memory = Some(ByteSize::gib(7));
    let err = size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options).unwrap_err();
    assert!(
        matches!(err, SizingError::RedpandaMemoryPerCore { cores: 4, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--redpanda-memory 8GiB"), "{err}");
}

#[test]
fn redpanda_disk_follows_ingest_and_retention() {
    let mut options = SizingOptions::default();
    // 10 MB/s for 168 h × 3 replicas ÷ 3 brokers = 6.048 TB = 5632.7 GiB; ÷ 60% → 9388 GiB.
    options.redpanda.ingest_per_second = Some(ByteSize(10_000_000));
    let plan = size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options).unwrap();
    assert_eq!(plan.redpanda.disk.size, ByteSize::gib(9388));
    assert_eq!(
        plan.redpanda.disk.storage_class,
        plan.cockroachdb.disk.storage_class
    );
}

#[test]
fn redpanda_broker_counts_follow_quorum_rules() {
    let mut options = SizingOptions::default();
    options.redpanda.brokers = Some(4);
    let err = size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options).unwrap_err();
    assert!(err.to_string().contains("redpanda.brokers = 4"), "{err}");
}

#[test]
fn every_rule_names_its_source_and_result() {
    let mut spec = WorkloadSpec::new(ByteSize::tib(6));
    spec.growth_percent_per_year = 40.0;
    spec.survival = SurvivalGoal::Region;
    spec.write_rate_per_second = Some(ByteSize::mib(20));
    let plan = size(Provider::Gcp, Tier::Prod, spec).unwrap();
    for r in &plan.rules {
        assert!(
            !r.rule.is_empty() && !r.result.is_empty() && !r.source.is_empty(),
            "{r:?}"
        );
    }
    for id in [
        "workload.data-at-horizon",
        "tier.min-vcpu",
        "tier.memory-per-vcpu",
        "quorum.nodes",
        "quorum.replication-factor",
        "disk.capacity",
        "disk.ceiling",
        "disk.performance",
        "disk.mapping",
        "crdb.cache",
        "crdb.max-sql-memory",
        "crdb.memory-budget",
        "qos.guaranteed",
        "qos.static-cpu-manager",
        "node.reserve",
        "node.instance",
        "redpanda.brokers",
        "redpanda.cores",
        "redpanda.flags",
        "redpanda.disk",
    ] {
        rule(&plan, id);
    }
    assert_eq!(plan.cockroachdb.replication_factor, 5);
    assert!(
        rule(&plan, "qos.static-cpu-manager")
            .rule
            .contains("--cpu-manager-policy=static")
    );
}

#[test]
fn workload_inputs_are_checked() {
    let mut spec = WorkloadSpec::new(ByteSize(0));
    let err = size(Provider::Aws, Tier::Prod, spec.clone()).unwrap_err();
    assert!(err.to_string().starts_with("data = 0"), "{err}");
    spec.data = ByteSize::gib(10);
    spec.growth_percent_per_year = -5.0;
    assert!(
        size(Provider::Aws, Tier::Prod, spec.clone())
            .unwrap_err()
            .to_string()
            .contains("growth")
    );
    spec.growth_percent_per_year = 10.0;
    spec.horizon_years = 99;
    assert!(
        size(Provider::Aws, Tier::Prod, spec)
            .unwrap_err()
            .to_string()
            .contains("horizon")
    );
}

#[test]
fn a_locality_of_another_provider_is_refused() {
    let options = SizingOptions {
        locality: Some(
            Locality::new(
                Provider::Gcp,
                vec![RegionSpec::new(
                    "europe-west1",
                    ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
                )],
            )
            .unwrap(),
        ),
        ..SizingOptions::default()
    };
    let err = size_with(Provider::Aws, Tier::Prod, shape(8, 32), &options).unwrap_err();
    assert!(err.to_string().contains("provider gcp"), "{err}");
}

#[rstest]
#[case("25%", MemoryShare::Percent(25))]
#[case("8GiB", MemoryShare::Size(ByteSize::gib(8)))]
#[case("8192Mi", MemoryShare::Size(ByteSize::gib(8)))]
fn memory_shares_parse(#[case] text: &str, #[case] share: MemoryShare) {
    assert_eq!(text.parse::<MemoryShare>().unwrap(), share);
}

#[rstest]
#[case("0%")]
#[case("101%")]
#[case("lots")]
fn malformed_memory_shares_are_named(#[case] text: &str) {
    let err = text.parse::<MemoryShare>().unwrap_err().to_string();
    assert!(err.contains(&format!("{text:?}")), "{err}");
}

#[test]
#[cfg(feature = "render")]
fn fragments_carry_the_plans_figures() {
    let plan = size(Provider::Aws, Tier::Prod, shape(8, 32)).unwrap();
    insta::assert_json_snapshot!(
        "aws_8x32_fragments",
        (
            plan.cockroach_helm_values(),
            plan.crdb_cluster_spec(),
            plan.redpanda_helm_values(),
        )
    );
}

/// Every quantity above its bound is refused before any rule or search, naming the field,
/// the value and the bound; the largest accepted values plan (or are refused by a rule) at
/// once.
#[rstest]
#[case::memory(|s: &mut SizingSpec, _: &mut SizingOptions| if let SizingSpec::NodeShape(n) = s { n.memory = ByteSize(u64::MAX) }, "memory = 18446744073709551615")]
#[case::memory_pi(|s: &mut SizingSpec, _: &mut SizingOptions| if let SizingSpec::NodeShape(n) = s { n.memory = "16383Pi".parse().unwrap() }, "memory = 16383Pi")]
#[case::vcpu(|s: &mut SizingSpec, _: &mut SizingOptions| if let SizingSpec::NodeShape(n) = s { n.vcpu = Cpu::cores(4_000_000) }, "vcpu = 4000000")]
#[case::nodes(|s: &mut SizingSpec, _: &mut SizingOptions| if let SizingSpec::NodeShape(n) = s { n.nodes = Some(u32::MAX) }, "nodes = 4294967295")]
#[case::disk(|_: &mut SizingSpec, o: &mut SizingOptions| o.disk = Some(ByteSize(u64::MAX)), "disk = ")]
#[case::cache(|_: &mut SizingSpec, o: &mut SizingOptions| o.cache = Some(MemoryShare::Size(ByteSize(u64::MAX))), "cache = ")]
#[case::daemonset_memory(|_: &mut SizingSpec, o: &mut SizingOptions| o.daemonsets.memory = "16383Pi".parse().unwrap(), "daemonset-memory = 16383Pi")]
#[case::daemonset_cpu(|_: &mut SizingSpec, o: &mut SizingOptions| o.daemonsets.cpu = Cpu(u32::MAX), "daemonset-cpu = ")]
#[case::redpanda_cores(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.cores = Some(4_000_000), "redpanda-cores = 4000000")]
#[case::redpanda_brokers(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.brokers = Some(u32::MAX), "redpanda-brokers = ")]
#[case::redpanda_memory(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.memory = Some(ByteSize(u64::MAX)), "redpanda-memory = ")]
#[case::redpanda_ingest(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.ingest_per_second = Some(ByteSize(u64::MAX)), "redpanda-ingest = ")]
#[case::redpanda_retention(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.retention_hours = u32::MAX, "redpanda-retention = ")]
#[case::redpanda_disk(|_: &mut SizingSpec, o: &mut SizingOptions| o.redpanda.disk = Some(ByteSize(u64::MAX)), "redpanda-disk = ")]
#[case::data(|s: &mut SizingSpec, _: &mut SizingOptions| *s = WorkloadSpec::new(ByteSize(u64::MAX)).into(), "data = ")]
#[case::write_rate(|s: &mut SizingSpec, _: &mut SizingOptions| { let mut w = WorkloadSpec::new(ByteSize::tib(1)); w.write_rate_per_second = Some("16383Pi".parse().unwrap()); *s = w.into() }, "write-rate = 16383Pi")]
#[case::workload_memory(|s: &mut SizingSpec, _: &mut SizingOptions| { let mut w = WorkloadSpec::new(ByteSize::tib(1)); w.memory = Some(ByteSize(u64::MAX)); *s = w.into() }, "memory = ")]
fn quantities_above_their_bound_are_refused_before_any_search(
    #[case] edit: fn(&mut SizingSpec, &mut SizingOptions),
    #[case] start: &str,
) {
    let mut spec: SizingSpec = shape(8, 32).into();
    let mut options = SizingOptions::default();
    edit(&mut spec, &mut options);
    let started = std::time::Instant::now();
    let err = plan(Provider::Aws, Tier::Prod, &spec, &options).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(matches!(err, SizingError::OutOfBounds(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with(start), "{text}");
    assert!(text.contains("the most thinledger accepts"), "{text}");
    assert!(text.contains("Fix: use at most"), "{text}");
}

/// The largest accepted values are planned or refused by a rule quickly, on every provider.
#[rstest]
fn the_largest_accepted_values_are_quick(
    #[values(Provider::Aws, Provider::Azure, Provider::Gcp, Provider::OnPrem)] provider: Provider,
) {
    use thinledger_topology::bounds;
    let started = std::time::Instant::now();
    let mut shape = NodeShapeSpec::new(bounds::NODE_VCPU.max, bounds::NODE_MEMORY.max);
    shape.nodes = Some(bounds::NODES.max);
    shape.data = Some(bounds::DATA.max);
    let _ = size(provider, Tier::Prod, shape);
    let mut w = WorkloadSpec::new(bounds::DATA.max);
    w.growth_percent_per_year = 1000.0;
    w.horizon_years = bounds::HORIZON_YEARS.max;
    w.write_rate_per_second = Some(bounds::WRITE_RATE.max);
    let options = SizingOptions {
        redpanda: RedpandaOptions {
            cores: Some(1024),
            memory: Some(bounds::NODE_MEMORY.max),
            retention_hours: bounds::RETENTION_HOURS.max,
            ..RedpandaOptions::default()
        },
        daemonsets: DaemonsetOverhead {
            cpu: bounds::NODE_VCPU.max,
            memory: bounds::NODE_MEMORY.max,
        },
        ..SizingOptions::default()
    };
    let _ = size_with(provider, Tier::Prod, w, &options);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

/// What `ledger-size -o json` (and `--fragment plan`) prints reads back into the same plan.
#[rstest]
fn plans_round_trip_through_serde(
    #[values(Provider::Aws, Provider::Azure, Provider::Gcp, Provider::OnPrem)] provider: Provider,
    #[values(false, true)] workload: bool,
) {
    let spec: SizingSpec = if workload {
        let mut w = WorkloadSpec::new(ByteSize::tib(6));
        w.growth_percent_per_year = 40.0;
        w.write_rate_per_second = Some(ByteSize::mib(2));
        w.survival = SurvivalGoal::Region;
        w.into()
    } else {
        let mut s = shape(8, 32);
        s.data = Some(ByteSize::gib(700));
        s.into()
    };
    let sized = size(provider, Tier::Prod, spec).unwrap();
    let json = serde_json::to_string_pretty(&sized).unwrap();
    let back: SizingPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sized);
    let yaml = serde_yaml_ng::to_string(&sized).unwrap();
    let back: SizingPlan = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(back, sized);
}

/// Survival goal provider: the nodes spread over the sites of the multi-cloud example (AWS,
/// Azure, on-prem), judged per provider. The calculator's verdict on each count is tenant
/// validation's on the same file with the sites holding that spread (one quorum rule,
/// `thinledger_topology::quorum`).
#[rstest]
fn a_ledger_over_providers_gets_tenant_validations_verdicts(
    #[values(3, 4, 5, 6, 7, 9)] nodes: u32,
    #[values(2, 3)] providers: usize,
) {
    let yaml = include_str!("../../../examples/tenants/multi-cloud.yaml");
    let tenant = thinledger_topology::Tenant::from_yaml(yaml).unwrap();
    let sites: Vec<Locality> = tenant.sites()[..providers]
        .iter()
        .map(|s| s.locality().clone())
        .collect();
    let mut spec = shape(8, 32);
    spec.nodes = Some(nodes);
    spec.survival = SurvivalGoal::Provider;
    let sized = size_with(
        Provider::Aws,
        Tier::Prod,
        spec,
        &SizingOptions::default().with_sites(sites),
    );

    // The same spread, declared site by site: as even as possible, the first taking more.
    let per_site: Vec<u32> = (0..providers)
        .map(|i| {
            let n = u32::try_from(providers).unwrap();
            nodes / n + u32::from(u32::try_from(i).unwrap() < nodes % n)
        })
        .collect();
    let mut text = yaml.to_owned();
    for (i, declared) in ["    nodes: 2\n", "    nodes: 2\n", "    nodes: 1\n"]
        .iter()
        .enumerate()
    {
        let at = text.find(declared).unwrap();
        let with = match per_site.get(i) {
            Some(n) => format!("    nodes: {n}\n"),
            None => "    nodes: 0\n".to_owned(),
        };
        text.replace_range(at..at + declared.len(), &with.replace("nodes:", "nodes="));
    }
    // A name per node whatever the count (the example lists one address for its one node).
    let text = text.replace("    nodes= ", "    nodes: ").replace(
        "advertise: {addresses: [192.168.40.10], brokers: [192.168.40.20]}",
        "advertise: {dns_suffix: fra.onprem.ledger.acme.internal}",
    );
    // Two providers: the third site is left out.
    let text = if providers == 2 {
        let start = text.find("  - name: onprem-fra").unwrap();
        let end = text.find("cockroachdb:\n").unwrap();
        format!("{}{}", &text[..start], &text[end..])
    } else {
        text
    };
    let validated = thinledger_topology::Tenant::from_yaml(&text);
    assert_eq!(
        sized.is_ok(),
        validated.is_ok(),
        "{nodes} nodes over {providers} providers: sizing {:?}, tenant validation {:?}",
        sized.as_ref().map(|p| p.cockroachdb.nodes),
        validated.as_ref().map(|t| t.spec().cockroachdb.nodes)
    );
    if let Ok(plan) = sized {
        let providers: Vec<&str> = plan
            .cockroachdb
            .failure_domains
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(providers, ["aws", "azure", "onprem"]);
        assert!(
            plan.advice
                .iter()
                .any(|a| a.contains("spread over 3 sites")),
            "{:?}",
            plan.advice
        );
    }
}
