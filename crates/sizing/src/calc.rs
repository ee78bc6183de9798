//! The calculator: from a spec, a provider and a tier to a [`SizingPlan`].

use std::collections::BTreeMap;

use thinledger_topology::{
    ByteSize, Cpu, DiskPerformance, Locality, NodeShare, Provider, QuorumPlan, StorageProfile,
    SurvivalGoal, Tier, quorum,
};

use crate::disk::{self, DiskChoice, DiskNeed};
use crate::error::SizingError;
use crate::node;
use crate::plan::{
    CockroachPlan, DiskPlan, Forecast, NodeFit, PodResources, RedpandaDisk, RedpandaPlan, RuleLog,
    SizingMode, SizingPlan,
};
use crate::rules::{
    self, CRDB_CHECKLIST, CRDB_KUBERNETES, KUBERNETES_DOCS, NODE_RESERVE, QUORUM_RULES,
    REDPANDA_REQUIREMENTS, THINLEDGER_POLICY, percent_of,
};
use crate::spec::{SizingOptions, SizingSpec};
use crate::tier::TierRules;

/// Largest node count the workload search considers.
const MAX_NODES: u32 = thinledger_topology::bounds::NODES.max;

/// Where the nodes go: the regions and zones of the plan's provider, or several sites
/// ([`SizingOptions::sites`]), e.g. one per provider.
enum Layout {
    One(Locality),
    Sites(Vec<Locality>),
}

impl Layout {
    /// The quorum rule's verdict on `n` nodes for `goal`.
    fn plan(
        &self,
        n: u32,
        goal: SurvivalGoal,
    ) -> Result<QuorumPlan, thinledger_topology::ModelError> {
        match self {
            Layout::One(locality) => quorum::plan("nodes", n, locality, goal),
            Layout::Sites(sites) => quorum::plan_over("nodes", n, sites, goal),
        }
    }

    /// The first locality: the plan's provider's, where Redpanda runs.
    fn first(&self) -> &Locality {
        match self {
            Layout::One(locality) => locality,
            // Checked non-empty when the layout is made.
            Layout::Sites(sites) => &sites[0],
        }
    }

    /// Node counts the quorum rule accepts for `goal`, from `from` up to [`MAX_NODES`].
    fn counts(&self, from: u32, goal: SurvivalGoal) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            Layout::One(locality) => {
                Box::new(quorum::valid_counts(from, locality, goal).take_while(|&n| n <= MAX_NODES))
            }
            Layout::Sites(sites) => Box::new(
                quorum::valid_counts_over(from, sites, goal).take_while(|&n| n <= MAX_NODES),
            ),
        }
    }
}

/// Node counts the quorum rule accepts over `layout` for `goal`, from `from` up to
/// [`MAX_NODES`].
fn node_counts(from: u32, layout: &Layout, goal: SurvivalGoal) -> impl Iterator<Item = u32> + '_ {
    layout.counts(from, goal)
}

/// The share of the data the fullest of `n` nodes stores: `rf ÷ n` spread evenly, more on
/// the nodes of a smaller failure domain ([`QuorumPlan::fullest_node`]).
fn fullest_share(n: u32, rf: u32, layout: &Layout, goal: SurvivalGoal) -> NodeShare {
    layout
        .plan(n, goal)
        .map(|p| p.fullest_node)
        .unwrap_or_else(|_| NodeShare::new(u64::from(rf), u64::from(n.max(1))))
}

/// Sizes CockroachDB and Redpanda for `provider` and `tier` from `spec`.
///
/// Refuses (never silently adjusts) what breaks a rule: see [`SizingError`]. Every quantity
/// is first checked against its bound (`thinledger_topology::bounds`), so the work done is
/// bounded whatever the input. The plan lists every rule applied with its source, in the
/// order applied.
pub fn plan(
    provider: Provider,
    tier: Tier,
    spec: &SizingSpec,
    options: &SizingOptions,
) -> Result<SizingPlan, SizingError> {
    crate::limits::check(spec, options)?;
    Calculator::new(provider, tier, options)?.run(spec)
}

/// The resolved per-node shape and data of a request.
struct Shape {
    mode: SizingMode,
    vcpu: u32,
    memory: ByteSize,
    nodes: Option<u32>,
    survival: SurvivalGoal,
    forecast: Option<Forecast>,
    vcpu_was_given: bool,
}

struct Calculator<'a> {
    provider: Provider,
    tier: Tier,
    tier_rules: TierRules,
    options: &'a SizingOptions,
    log: RuleLog,
    advice: Vec<String>,
    warnings: Vec<String>,
}

impl<'a> Calculator<'a> {
    fn new(
        provider: Provider,
        tier: Tier,
        options: &'a SizingOptions,
    ) -> Result<Self, SizingError> {
        if !(10..=90).contains(&options.disk_utilisation_percent) {
            return Err(SizingError::invalid(
                "disk_utilisation_percent",
                options.disk_utilisation_percent,
                "the planned disk fill must be between 10% and 90%",
                format!(
                    "use {} (the default) unless you have measured reasons",
                    rules::DEFAULT_DISK_UTILISATION_PERCENT
                ),
            ));
        }
        if !(1..=20).contains(&options.write_amplification) {
            return Err(SizingError::invalid(
                "write_amplification",
                options.write_amplification,
                "write amplification must be between 1 and 20",
                format!("use {}", rules::DEFAULT_WRITE_AMPLIFICATION),
            ));
        }
        Ok(Calculator {
            provider,
            tier,
            tier_rules: TierRules::of(tier),
            options,
            log: RuleLog::default(),
            advice: Vec::new(),
            warnings: Vec::new(),
        })
    }

    fn run(mut self, spec: &SizingSpec) -> Result<SizingPlan, SizingError> {
        let shape = self.resolve_shape(spec)?;
        let layout = self.layout(shape.survival)?;
        let cockroachdb = self.cockroach(&shape, &layout)?;
        let redpanda = self.redpanda(&shape, layout.first(), &cockroachdb.disk)?;
        Ok(SizingPlan {
            provider: self.provider,
            tier: self.tier,
            survival: shape.survival,
            mode: shape.mode,
            forecast: shape.forecast,
            cockroachdb,
            redpanda,
            rules: self.log.0,
            advice: self.advice,
            warnings: self.warnings,
        })
    }

    fn resolve_shape(&mut self, spec: &SizingSpec) -> Result<Shape, SizingError> {
        let shape = match spec {
            SizingSpec::NodeShape(s) => Shape {
                mode: SizingMode::NodeShape,
                vcpu: whole_cpus("vcpu", s.vcpu)?,
                memory: s.memory,
                nodes: s.nodes,
                survival: s.survival,
                forecast: s.data.map(|data| Forecast {
                    data,
                    growth_percent_per_year: 0.0,
                    horizon_years: 0,
                    data_at_horizon: data,
                    write_rate_per_second: None,
                }),
                vcpu_was_given: true,
            },
            SizingSpec::Workload(w) => {
                if w.data.bytes() == 0 {
                    return Err(SizingError::invalid(
                        "data",
                        w.data,
                        "the logical data size must be more than zero",
                        "pass the data the ledger holds today, e.g. --data 500GiB",
                    ));
                }
                let growth = w.growth_percent_per_year;
                if !growth.is_finite() || !(0.0..=1000.0).contains(&growth) {
                    return Err(SizingError::invalid(
                        "growth",
                        format!("{growth}%"),
                        "yearly growth must be between 0% and 1000%",
                        "pass the expected yearly growth, e.g. --growth 40%",
                    ));
                }
                // The horizon's bound (30 years) was checked with every quantity's.
                let vcpu = match w.vcpu {
                    Some(cpu) => whole_cpus("vcpu", cpu)?,
                    None => self.tier_rules.default_vcpu,
                };
                let memory = w.memory.unwrap_or(ByteSize::gib(
                    self.tier_rules.default_gib_per_vcpu * u64::from(vcpu),
                ));
                let factor =
                    (1.0 + growth / 100.0).powi(i32::try_from(w.horizon_years).unwrap_or(30));
                let at_horizon = (w.data.bytes() as f64 * factor).ceil();
                if at_horizon >= u64::MAX as f64 {
                    return Err(SizingError::invalid(
                        "data",
                        w.data,
                        "the data at the horizon overflows",
                        "check --data, --growth and --horizon",
                    ));
                }
                let data_at_horizon = ByteSize(at_horizon as u64);
                self.log.add(
                    "workload.data-at-horizon",
                    "data at the horizon = data × (1 + yearly growth)^years, compounded",
                    format!(
                        "{} × (1 + {growth}%)^{} = {}",
                        w.data.to_iec(),
                        w.horizon_years,
                        data_at_horizon.to_gib_text()
                    ),
                    THINLEDGER_POLICY,
                );
                Shape {
                    mode: SizingMode::Workload,
                    vcpu,
                    memory,
                    nodes: w.nodes,
                    survival: w.survival,
                    forecast: Some(Forecast {
                        data: w.data,
                        growth_percent_per_year: growth,
                        horizon_years: w.horizon_years,
                        data_at_horizon,
                        write_rate_per_second: w.write_rate_per_second,
                    }),
                    vcpu_was_given: w.vcpu.is_some(),
                }
            }
        };
        self.check_shape(&shape)?;
        Ok(shape)
    }

    fn check_shape(&mut self, shape: &Shape) -> Result<(), SizingError> {
        let r = self.tier_rules;
        if shape.vcpu < r.min_vcpu {
            let fix = if self.tier.is_production() {
                format!(
                    "use --vcpu {} or more ({} recommended); a smaller ledger belongs in --tier staging or dev",
                    r.min_vcpu,
                    rules::RECOMMENDED_VCPU
                )
            } else {
                format!("use --vcpu {} or more", r.min_vcpu)
            };
            return Err(SizingError::VcpuBelowMinimum {
                tier: self.tier,
                vcpu: shape.vcpu,
                minimum: r.min_vcpu,
                reference: if self.tier.is_production() {
                    CRDB_CHECKLIST
                } else {
                    THINLEDGER_POLICY
                },
                fix,
            });
        }
        self.log.add(
            "tier.min-vcpu",
            format!(
                "{} CockroachDB nodes have at least {} vCPU ({} recommended, {} the most tested)",
                self.tier,
                r.min_vcpu,
                rules::RECOMMENDED_VCPU,
                rules::MAX_TESTED_VCPU
            ),
            format!("{} vCPU per node", shape.vcpu),
            if self.tier.is_production() {
                CRDB_CHECKLIST
            } else {
                THINLEDGER_POLICY
            },
        );
        if self.tier.is_production() && shape.vcpu < rules::RECOMMENDED_VCPU {
            self.advice.push(format!(
                "{} vCPU per node meets the production minimum; {} are recommended for headroom \
                 during node failures and compactions",
                shape.vcpu,
                rules::RECOMMENDED_VCPU
            ));
        }
        if shape.vcpu > rules::MAX_TESTED_VCPU {
            self.advice.push(format!(
                "{} vCPU per node is beyond the {} Cockroach Labs tests; prefer more, smaller nodes",
                shape.vcpu,
                rules::MAX_TESTED_VCPU
            ));
        }
        let min_memory = ByteSize::gib(r.min_gib_per_vcpu * u64::from(shape.vcpu));
        if shape.memory < min_memory {
            return Err(SizingError::MemoryPerVcpuTooLow {
                tier: self.tier,
                memory: shape.memory,
                vcpu: shape.vcpu,
                minimum_gib_per_vcpu: r.min_gib_per_vcpu,
                reference: CRDB_CHECKLIST,
            });
        }
        self.log.add(
            "tier.memory-per-vcpu",
            format!(
                "at least {} GiB of memory per vCPU in {} (4 GiB in production and staging; \
                 2 GiB is allowed in dev only)",
                r.min_gib_per_vcpu, self.tier
            ),
            format!(
                "{} for {} vCPU ({:.1} GiB per vCPU)",
                shape.memory.to_iec(),
                shape.vcpu,
                shape.memory.as_gib_f64() / f64::from(shape.vcpu)
            ),
            CRDB_CHECKLIST,
        );
        Ok(())
    }

    fn layout(&mut self, survival: SurvivalGoal) -> Result<Layout, SizingError> {
        let sites = &self.options.sites;
        if let Some(first) = sites.first() {
            if first.provider() != self.provider {
                return Err(SizingError::invalid(
                    "sites",
                    first.provider(),
                    format!(
                        "the first site is on the plan's provider ({}): its disks and instance types are the ones sized",
                        self.provider
                    ),
                    format!("list a {} site first", self.provider),
                ));
            }
            let listed: Vec<String> = sites
                .iter()
                .flat_map(|site| {
                    site.regions().iter().map(move |r| {
                        let zones = if r.zones.is_empty() {
                            "its hosts".to_owned()
                        } else {
                            r.zones.join(", ")
                        };
                        format!("{} {} ({zones})", site.provider(), r.name)
                    })
                })
                .collect();
            self.advice.push(format!(
                "the nodes spread over {} sites in this order, as evenly as possible, then over each site's zones: {}; the disks and instance types sized are {}'s",
                sites.len(),
                listed.join("; "),
                self.provider
            ));
            return Ok(Layout::Sites(sites.clone()));
        }
        self.locality(survival).map(Layout::One)
    }

    fn locality(&mut self, survival: SurvivalGoal) -> Result<Locality, SizingError> {
        match &self.options.locality {
            Some(locality) => {
                if locality.provider() != self.provider {
                    return Err(SizingError::invalid(
                        "locality",
                        locality.provider(),
                        format!(
                            "the locality belongs to provider {}, the plan to {}",
                            locality.provider(),
                            self.provider
                        ),
                        "pass regions and zones of the provider being sized",
                    ));
                }
                Ok(locality.clone())
            }
            None => {
                let locality = crate::default_locality(self.provider, survival)?;
                let names: Vec<&str> = locality.regions().iter().map(|r| r.name.as_str()).collect();
                self.advice.push(format!(
                    "no regions or zones given: placements use the placeholder {} locality {}; \
                     pass the tenant's own (--regions/--zones)",
                    self.provider,
                    names.join(", ")
                ));
                Ok(locality)
            }
        }
    }

    fn storage_profile(&self) -> Result<&'static StorageProfile, SizingError> {
        match &self.options.storage_class {
            Some(name) => Ok(self.provider.storage_profile(name)?),
            None => Ok(self.provider.default_storage()),
        }
    }

    fn cockroach(
        &mut self,
        shape: &Shape,
        locality: &Layout,
    ) -> Result<CockroachPlan, SizingError> {
        let rf = shape.survival.replication_factor();
        let min_nodes = quorum::MIN_NODES.max(rf);
        let profile = self.storage_profile()?;
        let max_gib = (rules::MAX_STORAGE_GIB_PER_VCPU * u64::from(shape.vcpu))
            .min(rules::MAX_STORAGE_GIB_PER_NODE)
            .min(profile.max_size_gib);
        let util = u64::from(self.options.disk_utilisation_percent);
        let data_at_horizon = shape.forecast.as_ref().map(|f| f.data_at_horizon);
        let survival = shape.survival;
        // Disk the fullest node needs at `n` nodes, GiB, and the data it holds.
        let capacity_at = |n: u32| -> (u64, Option<ByteSize>) {
            match data_at_horizon {
                Some(data) => {
                    let share = fullest_share(n, rf, locality, survival);
                    let per_node = share.of(u128::from(data.bytes()));
                    let disk = (per_node * 100).div_ceil(u128::from(util));
                    let gib =
                        u64::try_from(disk.div_ceil(u128::from(ByteSize::GIB))).unwrap_or(u64::MAX);
                    (
                        gib,
                        Some(ByteSize(u64::try_from(per_node).unwrap_or(u64::MAX))),
                    )
                }
                None => (
                    rules::DEFAULT_DISK_GIB_PER_VCPU * u64::from(shape.vcpu),
                    None,
                ),
            }
        };

        // Node count: given, or the fewest the survival goal allows, or (workload) the fewest
        // odd count whose disks fit under the ceilings.
        let nodes = match (shape.nodes, shape.mode) {
            (Some(n), _) => n,
            (None, SizingMode::Workload) => node_counts(min_nodes, locality, survival)
                .find(|&n| capacity_at(n).0 <= max_gib)
                .ok_or_else(|| {
                    SizingError::invalid(
                        "data",
                        data_at_horizon
                            .map(ByteSize::to_gib_text)
                            .unwrap_or_default(),
                        format!(
                            "the data does not fit {MAX_NODES} nodes of {} vCPU",
                            shape.vcpu
                        ),
                        "use bigger nodes (--vcpu) or split the ledger",
                    )
                })?,
            // With no count the quorum rule accepts, `quorum::plan` below explains why.
            (None, SizingMode::NodeShape) => node_counts(min_nodes, locality, survival)
                .next()
                .unwrap_or(min_nodes),
        };
        if shape.mode == SizingMode::Workload && shape.nodes.is_none() && !shape.vcpu_was_given {
            self.advise_bigger_nodes(
                shape.vcpu,
                nodes,
                &|| {
                    node_counts(min_nodes, locality, survival)
                        .take_while(|&n| n < nodes)
                        .collect()
                },
                profile,
                &capacity_at,
            );
        }
        let quorum_plan = locality.plan(nodes, shape.survival)?;
        self.record_quorum(&quorum_plan, shape.survival, shape.nodes.is_some());

        // Capacity.
        let (computed_gib, data_per_node) = capacity_at(nodes);
        let capacity_gib = match self.options.disk {
            Some(disk) => {
                let gib = disk.bytes().div_ceil(ByteSize::GIB);
                if data_per_node.is_some() && gib < computed_gib {
                    return Err(SizingError::invalid(
                        "disk",
                        disk.to_iec(),
                        format!(
                            "the data needs {computed_gib} GiB per node at {}% fill",
                            self.options.disk_utilisation_percent
                        ),
                        format!("use --disk {computed_gib}GiB or more, or leave --disk out"),
                    ));
                }
                gib
            }
            None => computed_gib,
        };
        let max_size = ByteSize::gib(max_gib);
        if capacity_gib > max_gib {
            let fits_at =
                node_counts(nodes, locality, survival).find(|&n| capacity_at(n).0 <= max_gib);
            return Err(self.disk_refusal(shape, nodes, capacity_gib, max_gib, profile, fits_at));
        }
        self.record_capacity(shape, &quorum_plan, capacity_gib, max_gib, data_per_node);

        // Performance.
        let write_mbps = shape
            .forecast
            .as_ref()
            .and_then(|f| f.write_rate_per_second)
            .map(|rate| {
                // The fullest node takes its share of every write.
                let bytes = quorum_plan
                    .fullest_node
                    .of(u128::from(rate.bytes()) * u128::from(self.options.write_amplification));
                u64::try_from(bytes.div_ceil(1_000_000)).unwrap_or(u64::MAX)
            });
        let vcpu = u64::from(shape.vcpu);
        let need = DiskNeed {
            capacity_gib,
            max_gib,
            iops: rules::IOPS_PER_VCPU * vcpu,
            mbps: (rules::MBPS_PER_VCPU * vcpu).max(write_mbps.unwrap_or(0)),
        };
        self.log.add(
            "disk.performance",
            format!(
                "each node's disk sustains {} IOPS and {} MB/s per vCPU",
                rules::IOPS_PER_VCPU,
                rules::MBPS_PER_VCPU
            ),
            format!(
                "{} IOPS and {} MB/s",
                need.iops,
                rules::MBPS_PER_VCPU * vcpu
            ),
            CRDB_CHECKLIST,
        );
        if let Some(write_mbps) = write_mbps {
            self.log.add(
                "disk.write-rate",
                format!(
                    "disk throughput also covers the write rate: rate × replication factor × {} \
                     (write amplification: Raft log, WAL and flush, compactions) ÷ nodes (the \
                     fullest node's share of the replicas when the spread is uneven)",
                    self.options.write_amplification
                ),
                format!(
                    "{write_mbps} MB/s per node; the disk must deliver {} MB/s",
                    need.mbps
                ),
                THINLEDGER_POLICY,
            );
        }
        let (profile, choice) = self.map_disk(profile, &need);
        let mut class_parameters: BTreeMap<String, String> = profile
            .parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        class_parameters.extend(choice.extra_parameters.clone());
        let disk = DiskPlan {
            storage_class: profile.class_name.to_owned(),
            provisioner: profile.provisioner.to_owned(),
            size: ByteSize::gib(choice.size_gib),
            data_per_node,
            target_utilisation_percent: self.options.disk_utilisation_percent,
            max_size,
            required_iops: need.iops,
            required_mbps: need.mbps,
            provisioned_iops: choice.provisioned_iops,
            provisioned_mbps: choice.provisioned_mbps,
            delivered_iops: choice.delivered_iops,
            delivered_mbps: choice.delivered_mbps,
            performance_tier: choice.performance_tier.map(str::to_owned),
            class_parameters,
            verify: choice.verify.clone(),
        };

        // Memory flags.
        let (cache, max_sql_memory) = self.memory_flags(shape.memory)?;

        // Guaranteed QoS and the node.
        let cpu = Cpu::cores(shape.vcpu);
        let resources = PodResources::guaranteed(cpu, shape.memory);
        self.record_qos("CockroachDB", cpu, shape.memory);
        let node = self.fit_node("cockroachdb", cpu, shape.memory, shape.vcpu_was_given)?;

        Ok(CockroachPlan {
            nodes,
            replication_factor: rf,
            placements: quorum_plan.placements,
            failure_domains: quorum_plan.failure_domains,
            resources,
            cache,
            max_sql_memory,
            flags: vec![
                format!("--cache={}", cache.to_iec()),
                format!("--max-sql-memory={}", max_sql_memory.to_iec()),
            ],
            disk,
            node,
        })
    }

    /// Many small nodes: say how many bigger ones would hold the same data.
    fn advise_bigger_nodes(
        &mut self,
        vcpu: u32,
        nodes: u32,
        // The node counts the quorum rule accepts, from the fewest the survival goal allows.
        counts: &dyn Fn() -> Vec<u32>,
        profile: &StorageProfile,
        capacity_at: &dyn Fn(u32) -> (u64, Option<ByteSize>),
    ) {
        const MANY_NODES: u32 = 9;
        if nodes <= MANY_NODES {
            return;
        }
        let options: Vec<String> = [16u32, 32]
            .into_iter()
            .filter(|&v| v > vcpu)
            .filter_map(|v| {
                let max_gib = (rules::MAX_STORAGE_GIB_PER_VCPU * u64::from(v))
                    .min(rules::MAX_STORAGE_GIB_PER_NODE)
                    .min(profile.max_size_gib);
                counts()
                    .into_iter()
                    .find(|&n| capacity_at(n).0 <= max_gib)
                    .filter(|&n| n < nodes)
                    .map(|n| format!("--vcpu {v} needs {n}"))
            })
            .collect();
        if !options.is_empty() {
            self.advice.push(format!(
                "{nodes} nodes of {vcpu} vCPU hold the data within 320 GiB per vCPU; bigger nodes \
                 need fewer ({}), at the cost of more data to re-replicate when one fails",
                options.join(", ")
            ));
        }
    }

    fn record_quorum(&mut self, quorum_plan: &QuorumPlan, survival: SurvivalGoal, given: bool) {
        let nodes = quorum_plan.nodes;
        self.log.add(
            "quorum.nodes",
            "node counts are odd and at least 3 (a Raft majority survives one loss; an even count \
             tolerates no more failures than the odd count below it)",
            if given {
                format!("{nodes} nodes (given)")
            } else {
                format!("{nodes} nodes")
            },
            QUORUM_RULES,
        );
        self.log.add(
            "quorum.replication-factor",
            "survive a zone with replication factor 3; survive a region with 5 replicas across \
             at least 3 regions",
            format!(
                "survival goal {survival}: replication factor {}",
                quorum_plan.replication_factor
            ),
            CRDB_CHECKLIST,
        );
        let spread: Vec<String> = quorum_plan
            .placements
            .iter()
            .map(|p| match p.provider {
                Some(provider) => format!("{provider} {}: {}", p.name(), p.nodes),
                None => format!("{}: {}", p.name(), p.nodes),
            })
            .collect();
        self.log.add(
            "quorum.spread",
            "nodes spread as evenly as possible over at least 3 zones (3 regions for region \
             survival): counts differ by at most one; an on-prem data centre's hosts are its \
             failure domains",
            spread.join(", "),
            QUORUM_RULES,
        );
        self.log.add(
            "quorum.failure-domains",
            "replicas spread over the most diverse localities first (CockroachDB's allocator), so \
             losing any one failure domain of the survival goal leaves a majority of every range; \
             an uneven spread keeps quorum and costs capacity on the smaller domain's nodes",
            quorum::losses(&quorum_plan.failure_domains, quorum_plan.replication_factor),
            QUORUM_RULES,
        );
        self.advice.extend(quorum_plan.advice.iter().cloned());
    }

    fn record_capacity(
        &mut self,
        shape: &Shape,
        quorum_plan: &QuorumPlan,
        capacity_gib: u64,
        max_gib: u64,
        data_per_node: Option<ByteSize>,
    ) {
        let util = self.options.disk_utilisation_percent;
        let (nodes, rf) = (quorum_plan.nodes, quorum_plan.replication_factor);
        let share = if quorum_plan.is_even() {
            format!("{rf} ÷ {nodes}")
        } else {
            let s = quorum_plan.fullest_node;
            format!("{} ÷ {} (the fullest node's share)", s.replicas, s.ranges)
        };
        let result = match (data_per_node, self.options.disk) {
            (_, Some(_)) => format!("{capacity_gib} GiB per node (given)"),
            (Some(per_node), None) => format!(
                "{} × {share} = {} per node; ÷ {util}% = {capacity_gib} GiB",
                shape
                    .forecast
                    .as_ref()
                    .map(|f| f.data_at_horizon.to_gib_text())
                    .unwrap_or_default(),
                per_node.to_gib_text()
            ),
            (None, None) => format!(
                "no data size given: {} GiB per vCPU = {capacity_gib} GiB",
                rules::DEFAULT_DISK_GIB_PER_VCPU
            ),
        };
        self.log.add(
            "disk.capacity",
            format!(
                "disk per node = data at the horizon × replication factor ÷ nodes (for an uneven \
                 spread, × the fullest node's share of the replicas), planned to be at most {util}% \
                 full (headroom for compactions, re-replicating a failed node's ranges, and growth \
                 beyond the forecast)"
            ),
            result,
            THINLEDGER_POLICY,
        );
        self.log.add(
            "disk.ceiling",
            format!(
                "at most {} GiB of storage per vCPU and {} TiB per node",
                rules::MAX_STORAGE_GIB_PER_VCPU,
                rules::MAX_STORAGE_GIB_PER_NODE / 1024
            ),
            format!(
                "{capacity_gib} GiB ≤ {max_gib} GiB allowed for {} vCPU",
                shape.vcpu
            ),
            CRDB_CHECKLIST,
        );
    }

    fn disk_refusal(
        &self,
        shape: &Shape,
        nodes: u32,
        capacity_gib: u64,
        max_gib: u64,
        profile: &StorageProfile,
        // The fewest nodes, from `nodes` up, whose disks fit under the ceiling.
        fits_at: Option<u32>,
    ) -> SizingError {
        let per_vcpu = rules::MAX_STORAGE_GIB_PER_VCPU * u64::from(shape.vcpu);
        let rule = if max_gib == rules::MAX_STORAGE_GIB_PER_NODE {
            "more than 10 TiB per node".to_owned()
        } else if max_gib == per_vcpu {
            format!(
                "more than {} GiB per vCPU ({} vCPU allow {per_vcpu} GiB)",
                rules::MAX_STORAGE_GIB_PER_VCPU,
                shape.vcpu
            )
        } else {
            format!(
                "larger than the {} GiB a {} volume can be",
                profile.max_size_gib, profile.class_name
            )
        };
        let suggested_nodes = if self.options.disk.is_some() {
            None
        } else {
            fits_at
        };
        let mut fix = match (suggested_nodes, self.options.disk) {
            (_, Some(_)) => format!("use --disk {max_gib}GiB or less"),
            (Some(n), None) => format!("spread the data over more nodes: --nodes {n}"),
            (None, None) => "split the ledger".to_owned(),
        };
        if max_gib == per_vcpu && per_vcpu < rules::MAX_STORAGE_GIB_PER_NODE {
            let vcpu_needed = capacity_gib.div_ceil(rules::MAX_STORAGE_GIB_PER_VCPU);
            if capacity_gib <= rules::MAX_STORAGE_GIB_PER_NODE.min(profile.max_size_gib) {
                fix.push_str(&format!(", or give each node {vcpu_needed} vCPU or more"));
            }
        }
        SizingError::DiskPerNodeTooLarge {
            nodes,
            needed: ByteSize::gib(capacity_gib),
            limit: ByteSize::gib(max_gib),
            rule,
            suggested_nodes,
            reference: CRDB_CHECKLIST,
            fix,
        }
    }

    /// Maps the need onto the chosen class; on AWS, when the default class cannot deliver and
    /// the user did not pick a class, moves to the class that can (gp3 to io2).
    fn map_disk(
        &mut self,
        profile: &'static StorageProfile,
        need: &DiskNeed,
    ) -> (&'static StorageProfile, DiskChoice) {
        let mut profile = profile;
        let mut choice = disk::map(profile, need);
        if choice.shortfall.is_some() && self.options.storage_class.is_none() {
            let better = self
                .provider
                .storage_profiles()
                .iter()
                .filter(|p| matches!(p.performance, DiskPerformance::ProvisionedIops { .. }))
                .map(|p| (p, disk::map(p, need)))
                .find(|(_, c)| c.shortfall.is_none());
            if let Some((p, c)) = better {
                self.log.add(
                    "disk.class-upgrade",
                    format!(
                        "use {} when {} cannot reach the required performance",
                        p.class_name, profile.class_name
                    ),
                    format!(
                        "{} → {}: {} IOPS / {} MB/s needed",
                        profile.class_name, p.class_name, need.iops, need.mbps
                    ),
                    p.source,
                );
                profile = p;
                choice = c;
            }
        }
        self.log.add(
            "disk.mapping",
            choice.explanation.clone(),
            mapping_result(&choice),
            profile.source,
        );
        if let Some(shortfall) = &choice.shortfall {
            self.warnings.push(shortfall.clone());
        }
        if let Some(verify) = &choice.verify {
            self.warnings.push(verify.clone());
        }
        (profile, choice)
    }

    fn memory_flags(&mut self, memory: ByteSize) -> Result<(ByteSize, ByteSize), SizingError> {
        let default_share = crate::spec::MemoryShare::Percent(
            u32::try_from(rules::MEMORY_FLAG_PERCENT).unwrap_or(25),
        );
        let cache = self.options.cache.unwrap_or(default_share).of(memory);
        let sql = self
            .options
            .max_sql_memory
            .unwrap_or(default_share)
            .of(memory);
        let budget = percent_of(memory, rules::MEMORY_FLAG_BUDGET_PERCENT);
        let used = u128::from(sql.bytes()) * 2 + u128::from(cache.bytes());
        if used > u128::from(budget.bytes()) {
            let quarter = percent_of(memory, rules::MEMORY_FLAG_PERCENT);
            let max_sql = ByteSize(budget.bytes().saturating_sub(cache.bytes()) / 2);
            let fix = format!(
                "keep 2 × max-sql-memory + cache ≤ {}: with --cache {} use --max-sql-memory {} or \
                 less, or leave both at 25% ({})",
                budget.to_iec(),
                cache.to_iec(),
                percent_of(max_sql, 100).to_iec(),
                quarter.to_iec()
            );
            return Err(SizingError::MemoryFlagsOverBudget {
                cache,
                max_sql_memory: sql,
                memory,
                budget,
                reference: CRDB_CHECKLIST,
                fix,
            });
        }
        let share = |given: Option<crate::spec::MemoryShare>| match given {
            Some(s) => format!("{s} (override)"),
            None => "25%".to_owned(),
        };
        self.log.add(
            "crdb.cache",
            "--cache = 25% of the container's memory limit (CockroachDB does not detect the pod's limit by itself)",
            format!("{} of {} = {}", share(self.options.cache), memory.to_iec(), cache.to_iec()),
            CRDB_CHECKLIST,
        );
        self.log.add(
            "crdb.max-sql-memory",
            "--max-sql-memory = 25% of the container's memory limit",
            format!(
                "{} of {} = {}",
                share(self.options.max_sql_memory),
                memory.to_iec(),
                sql.to_iec()
            ),
            CRDB_CHECKLIST,
        );
        self.log.add(
            "crdb.memory-budget",
            "2 × --max-sql-memory + --cache ≤ 80% of the memory limit, for any override",
            format!(
                "{} ≤ {}",
                ByteSize::to_gib_text(ByteSize(u64::try_from(used).unwrap_or(u64::MAX))),
                budget.to_gib_text()
            ),
            CRDB_CHECKLIST,
        );
        Ok((cache, sql))
    }

    fn record_qos(&mut self, what: &str, cpu: Cpu, memory: ByteSize) {
        let id = if what == "Redpanda" {
            "redpanda.qos"
        } else {
            "qos.guaranteed"
        };
        self.log.add(
            id,
            format!(
                "{what} containers set requests = limits for CPU and memory, in whole CPUs: \
                 Guaranteed QoS, evicted last"
            ),
            format!("requests = limits = {cpu} CPU, {memory}"),
            KUBERNETES_DOCS,
        );
        if what != "Redpanda" {
            self.log.add(
                "qos.static-cpu-manager",
                "CPU limits are safe only where the kubelet runs the static CPU manager policy \
                 (--cpu-manager-policy=static, which needs a non-zero CPU reservation): a \
                 Guaranteed pod with whole CPUs then gets dedicated cores. Under the default \
                 policy a CPU limit is a CFS quota that throttles CockroachDB in bursts; there, \
                 remove the CPU limit rather than keep it",
                "the ledger's node pools must run the static CPU manager policy",
                CRDB_KUBERNETES,
            );
        }
    }

    fn fit_node(
        &mut self,
        workload: &'static str,
        cpu: Cpu,
        memory: ByteSize,
        vcpu_was_given: bool,
    ) -> Result<NodeFit, SizingError> {
        let families = self.provider.instance_families();
        let daemonsets = self.options.daemonsets;
        let fit = node::fit_node(families, cpu, memory, daemonsets);
        let id_reserve = if workload == "redpanda" {
            "redpanda.node-reserve"
        } else {
            "node.reserve"
        };
        let id_instance = if workload == "redpanda" {
            "redpanda.instance"
        } else {
            "node.instance"
        };
        let reserve = fit.reserve;
        self.log.add(
            id_reserve,
            format!(
                "a node keeps kube-reserved CPU/memory (tiered formula), a {} eviction threshold \
                 and the daemonsets' {} CPU / {} for itself; the pod must fit what is left",
                rules::EVICTION_MEMORY,
                daemonsets.cpu,
                daemonsets.memory
            ),
            format!(
                "reserve {} CPU and {} on the chosen node",
                Cpu(reserve.kube_reserved_cpu.millis() + reserve.daemonset_cpu.millis()),
                ByteSize::to_gib_text(ByteSize(
                    reserve.kube_reserved_memory.bytes()
                        + reserve.eviction_memory.bytes()
                        + reserve.daemonset_memory.bytes()
                ))
            ),
            NODE_RESERVE,
        );
        if families.is_empty() {
            self.log.add(
                id_instance,
                "on-prem hardware is the bank's: the plan states the smallest node that holds the pod",
                format!(
                    "nodes of at least {} vCPU and {}",
                    fit.minimum_vcpu,
                    fit.minimum_memory.to_iec()
                ),
                NODE_RESERVE,
            );
            return Ok(fit);
        }
        let Some(instance) = &fit.instance else {
            let largest = families
                .iter()
                .filter_map(|f| f.sizes.last())
                .max_by_key(|s| (s.vcpu, s.memory_gib))
                .map(|s| format!("{} ({} vCPU, {} GiB)", s.name, s.vcpu, s.memory_gib))
                .unwrap_or_default();
            return Err(SizingError::NoInstanceFits {
                workload,
                provider: self.provider,
                cpu,
                memory,
                families: families
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                largest,
            });
        };
        let names: Vec<&str> = families.iter().map(|f| f.name).collect();
        self.log.add(
            id_instance,
            format!(
                "the smallest approved instance ({}; never burstable) whose allocatable CPU and \
                 memory hold the pod; a Guaranteed pod of N whole CPUs needs more than N vCPU",
                names.join(", ")
            ),
            format!(
                "{} ({} vCPU, {}): allocatable {} CPU, {}",
                instance.name,
                instance.vcpu,
                instance.memory.to_iec(),
                instance.allocatable_cpu,
                instance.allocatable_memory.to_gib_text()
            ),
            THINLEDGER_POLICY,
        );
        let pod_cores = cpu.millis() / 1000;
        if workload == "cockroachdb" && instance.vcpu >= pod_cores * 2 - pod_cores / 2 {
            let spare_cores = instance.allocatable_cpu.millis() / 1000;
            let spare_gib = instance.allocatable_memory.bytes() / ByteSize::GIB;
            let hint = if vcpu_was_given {
                "--vcpu/--memory"
            } else {
                "--vcpu"
            };
            self.advice.push(format!(
                "{} holds a pod of up to {spare_cores} vCPU / {spare_gib} GiB, and database pods do \
                 not share nodes: a bigger pod ({hint}) costs no more per node",
                instance.name
            ));
        }
        Ok(fit)
    }

    /// The one region of `locality` Redpanda runs in: [`RedpandaOptions::region`] or the first.
    fn redpanda_region(&self, locality: &Locality) -> Result<Locality, SizingError> {
        let regions = locality.regions();
        let region = match &self.options.redpanda.region {
            None => regions.first(),
            Some(name) => regions.iter().find(|r| &r.name == name),
        };
        let Some(region) = region else {
            let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
            return Err(SizingError::invalid(
                "redpanda.region",
                self.options.redpanda.region.clone().unwrap_or_default(),
                "Redpanda runs in one of the ledger's regions",
                format!("use one of {}", names.join(", ")),
            ));
        };
        Ok(Locality::new(locality.provider(), vec![region.clone()])?)
    }

    fn redpanda(
        &mut self,
        shape: &Shape,
        locality: &Locality,
        crdb_disk: &DiskPlan,
    ) -> Result<RedpandaPlan, SizingError> {
        let o = &self.options.redpanda;
        let r = self.tier_rules;
        let brokers = o.brokers.unwrap_or(quorum::MIN_NODES);
        // Redpanda runs in one region (its Raft groups would pay cross-region latency on every
        // write), as the tenant file places it; topics keep 3 replicas and rack awareness
        // spreads them over that region's zones.
        let region = self.redpanda_region(locality)?;
        let placement = quorum::broker_plan("redpanda.brokers", brokers, &region)?;
        self.log.add(
            "redpanda.brokers",
            "brokers are odd and at least 3, one per node, spread as evenly as possible over \
             zones (rack awareness from the zone label); ledger topics keep 3 replicas, one per \
             rack, so losing a zone leaves 2 of 3",
            format!(
                "{brokers} brokers, replication factor {}; {}",
                rules::REDPANDA_REPLICATION_FACTOR,
                quorum::broker_losses(&placement.failure_domains, placement.replication_factor)
            ),
            REDPANDA_REQUIREMENTS,
        );
        self.advice.extend(
            placement
                .advice
                .iter()
                .map(|a| format!("Redpanda: {}", a.replace(" nodes", " brokers"))),
        );

        let cores = o.cores.unwrap_or(r.redpanda_min_cores);
        if cores < r.redpanda_min_cores || (r.redpanda_even_cores && cores % 2 == 1) {
            let even = if r.redpanda_even_cores {
                "an even number of "
            } else {
                ""
            };
            let suggestion = if cores < r.redpanda_min_cores {
                r.redpanda_min_cores
            } else {
                cores + 1
            };
            return Err(SizingError::RedpandaCores {
                cores,
                rule: format!(
                    "{} brokers need {even}at least {} cores (one Seastar shard per core; even \
                     counts keep shards on whole physical cores)",
                    self.tier, r.redpanda_min_cores
                ),
                reference: REDPANDA_REQUIREMENTS,
                fix: format!("use --redpanda-cores {suggestion}"),
            });
        }
        let memory = o.memory.unwrap_or(ByteSize::gib(
            r.redpanda_default_gib_per_core * u64::from(cores),
        ));
        if memory < ByteSize::gib(rules::REDPANDA_MIN_GIB_PER_CORE * u64::from(cores)) {
            return Err(SizingError::RedpandaMemoryPerCore {
                memory,
                cores,
                reference: REDPANDA_REQUIREMENTS,
            });
        }
        self.log.add(
            "redpanda.cores",
            format!(
                "{} brokers have at least {} cores{} and at least {} GiB of memory per core",
                self.tier,
                r.redpanda_min_cores,
                if r.redpanda_even_cores {
                    ", an even number"
                } else {
                    ""
                },
                rules::REDPANDA_MIN_GIB_PER_CORE
            ),
            format!("{cores} cores, {}", memory.to_iec()),
            REDPANDA_REQUIREMENTS,
        );
        let rp_memory = percent_of(memory, rules::REDPANDA_MEMORY_PERCENT);
        let flags = vec![
            format!("--smp={cores}"),
            format!("--memory={}M", rp_memory.bytes() / ByteSize::MIB),
            "--reserve-memory=0M".to_owned(),
        ];
        self.log.add(
            "redpanda.flags",
            "--smp = whole cores; --memory ≈ 90% of the memory request (the rest for the \
             container's non-Seastar allocations); --reserve-memory 0 (the container limit already \
             bounds Redpanda)",
            flags.join(" "),
            REDPANDA_REQUIREMENTS,
        );
        let cpu = Cpu::cores(cores);
        self.record_qos("Redpanda", cpu, memory);

        let ingest = o.ingest_per_second.or_else(|| {
            shape
                .forecast
                .as_ref()
                .and_then(|f| f.write_rate_per_second)
        });
        let size = match (o.disk, ingest) {
            (Some(disk), _) => {
                self.log.add(
                    "redpanda.disk",
                    "broker volume as given",
                    disk.to_iec(),
                    THINLEDGER_POLICY,
                );
                ByteSize::gib(disk.bytes().div_ceil(ByteSize::GIB))
            }
            (None, Some(rate)) => {
                // The fullest broker's share of the partitions' replicas (3 ÷ brokers when
                // they spread evenly over the zones).
                let stored = placement
                    .fullest_node
                    .of(u128::from(rate.bytes()) * u128::from(o.retention_hours) * 3600);
                let with_headroom =
                    (stored * 100).div_ceil(u128::from(self.options.disk_utilisation_percent));
                let gib = u64::try_from(with_headroom.div_ceil(u128::from(ByteSize::GIB)))
                    .unwrap_or(u64::MAX)
                    .max(rules::DEFAULT_REDPANDA_DISK_GIB / 4);
                self.log.add(
                    "redpanda.disk",
                    format!(
                        "broker volume = ingest × retention × {} replicas ÷ brokers, at most {}% full",
                        rules::REDPANDA_REPLICATION_FACTOR,
                        self.options.disk_utilisation_percent
                    ),
                    format!(
                        "{}/s × {} h × {} → {gib} GiB",
                        rate.to_iec(),
                        o.retention_hours,
                        if placement.is_even() {
                            format!("3 ÷ {brokers}")
                        } else {
                            let s = placement.fullest_node;
                            format!("{} ÷ {} (the fullest broker's share)", s.replicas, s.ranges)
                        }
                    ),
                    THINLEDGER_POLICY,
                );
                ByteSize::gib(gib)
            }
            (None, None) => {
                self.log.add(
                    "redpanda.disk",
                    "without an ingest rate, brokers get a fixed volume; pass --write-rate or \
                     --redpanda-ingest to size from retention",
                    format!("{} GiB", rules::DEFAULT_REDPANDA_DISK_GIB),
                    THINLEDGER_POLICY,
                );
                ByteSize::gib(rules::DEFAULT_REDPANDA_DISK_GIB)
            }
        };
        let profile = self.provider.storage_profile(&crdb_disk.storage_class)?;
        if size.bytes() / ByteSize::GIB > profile.max_size_gib {
            return Err(SizingError::invalid(
                "redpanda disk",
                size.to_iec(),
                format!(
                    "a {} volume holds at most {} GiB",
                    profile.class_name, profile.max_size_gib
                ),
                "add brokers (--redpanda-brokers), shorten retention, or use tiered storage",
            ));
        }
        let node = self.fit_node("redpanda", cpu, memory, true)?;
        Ok(RedpandaPlan {
            brokers,
            replication_factor: rules::REDPANDA_REPLICATION_FACTOR,
            placements: placement.placements,
            failure_domains: placement.failure_domains,
            cores,
            resources: PodResources::guaranteed(cpu, memory),
            memory: rp_memory,
            reserve_memory: ByteSize(0),
            flags,
            disk: RedpandaDisk {
                storage_class: crdb_disk.storage_class.clone(),
                size,
                retention_hours: o.retention_hours,
                ingest_per_second: ingest,
            },
            node,
        })
    }
}

fn whole_cpus(field: &'static str, cpu: Cpu) -> Result<u32, SizingError> {
    if cpu.millis() == 0 {
        return Err(SizingError::invalid(
            field,
            cpu,
            "a node needs at least one CPU",
            "give whole CPUs, e.g. --vcpu 8",
        ));
    }
    cpu.whole_cores()
        .filter(|&n| n > 0)
        .ok_or(SizingError::FractionalCpu {
            field,
            value: cpu,
            below: cpu.millis() / 1000,
            above: cpu.millis() / 1000 + 1,
            reference: KUBERNETES_DOCS,
        })
}

fn mapping_result(choice: &DiskChoice) -> String {
    let mut parts = vec![format!("{} GiB", choice.size_gib)];
    if let Some(tier) = choice.performance_tier {
        parts.push(format!("tier {tier}"));
    }
    match (choice.delivered_iops, choice.delivered_mbps) {
        (Some(iops), Some(mbps)) => parts.push(format!("delivers {iops} IOPS / {mbps} MB/s")),
        _ => parts.push("performance to be verified on the hardware".to_owned()),
    }
    parts.join(", ")
}
