//! The quorum rule: how many nodes, how they spread over failure domains, and whether losing
//! one failure domain of the survival goal keeps a majority of every range.
//!
//! CockroachDB ranges and Redpanda partitions are Raft groups: they keep working while a
//! majority of their replicas is up. The rule, used by sizing, tenant validation and (as the
//! same figures, [`RULES`]) the Rego guardrails:
//!
//! 1. Node (and broker) counts are odd and at least 3 ([`check_count`]): an even count
//!    tolerates no more failures than the odd count below it.
//! 2. Nodes spread as evenly as possible over the failure domains of the survival goal
//!    (zones for `zone`, regions for `region`): counts differ by at most one ([`spread`]).
//!    A ledger over several sites (one per provider for `provider`) spreads them over the
//!    sites, then over each site's zones ([`spread_over`], [`plan_over`]); one locality, a
//!    single provider, cannot survive the loss of its provider.
//! 3. Replicas spread over the most diverse localities first (CockroachDB's allocator;
//!    Redpanda's rack awareness): replication factor 3 for zone survival, 5 for region
//!    survival. A layout is refused when losing one failure domain could lose a majority of a
//!    range's replicas, naming the domain and the fix ([`check_placements`] for a layout given
//!    domain by domain, e.g. one per provider).
//! 4. An uneven spread (5 nodes over 3 zones: 2/2/1) keeps quorum: every range still keeps one
//!    replica per zone. It costs capacity, reported as advice: the node of the smaller zone
//!    stores a replica of every range, so disks are sized for it
//!    ([`QuorumPlan::fullest_node`]).
//!
//! ```
//! use thinledger_topology::{Locality, Provider, RegionSpec, SurvivalGoal, quorum};
//!
//! let zones = Locality::new(Provider::Aws, vec![RegionSpec::new("us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"])])?;
//! let plan = quorum::plan("nodes", 5, &zones, SurvivalGoal::Zone)?;
//! let spread: Vec<u32> = plan.placements.iter().map(|p| p.nodes).collect();
//! assert_eq!(spread, [2, 2, 1]);
//! assert!(plan.failure_domains.iter().all(|d| d.replicas == 1));
//! assert_eq!(plan.fullest_node.percent(), 100); // us-east-1c's node holds every range
//! assert!(plan.advice[0].contains("uneven"));
//!
//! let err = quorum::plan("nodes", 4, &zones, SurvivalGoal::Zone).unwrap_err();
//! assert_eq!(err.to_string(), "nodes = 4: counts must be odd: 4 tolerates no more failures than 3 and can split a vote in half. Fix: use 3 or 5");
//! # Ok::<(), thinledger_topology::ModelError>(())
//! ```

use crate::error::ModelError;
use crate::locality::{Locality, SurvivalGoal};
use crate::placement::{DomainKind, FailureDomain, Placement, QuorumPlan};
use crate::provider::Provider;
use crate::spread::{Tree, even};

/// Smallest count that survives the loss of one node.
pub const MIN_NODES: u32 = 3;
/// Count recommended when a tenant spans several regions.
pub const RECOMMENDED_MULTI_REGION_NODES: u32 = 5;
/// Fewest failure domains (zones, or regions for region survival) a survival goal needs: with
/// fewer, one of them holds a majority of some range's replicas.
pub const MIN_FAILURE_DOMAINS: usize = 3;

/// The rule's figures, as the Rego guardrails (`thinledger.topology.quorum_rules`) hold them;
/// a test keeps the two equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rules {
    /// [`MIN_NODES`].
    pub min_nodes: u32,
    /// [`MIN_FAILURE_DOMAINS`].
    pub min_failure_domains: usize,
    /// Replication factor of zone survival (and of Redpanda's topics).
    pub zone_replication_factor: u32,
    /// Replication factor of region survival.
    pub region_replication_factor: u32,
}

/// The figures of the rule.
pub const RULES: Rules = Rules {
    min_nodes: MIN_NODES,
    min_failure_domains: MIN_FAILURE_DOMAINS,
    zone_replication_factor: 3,
    region_replication_factor: 5,
};

/// Checks that `count` keeps a quorum: odd and at least 3. `field` names the input in errors.
pub fn check_count(field: &str, count: u32) -> Result<(), ModelError> {
    if count < MIN_NODES {
        return Err(ModelError::Quorum {
            field: field.to_owned(),
            value: count,
            rule: format!(
                "at least {MIN_NODES} are needed to keep a Raft majority through the loss of one"
            ),
            fix: format!("use {MIN_NODES} (or 5 to survive two failures)"),
        });
    }
    if count.is_multiple_of(2) {
        return Err(ModelError::Quorum {
            field: field.to_owned(),
            value: count,
            rule: format!(
                "counts must be odd: {count} tolerates no more failures than {} and can split a vote in half",
                count - 1
            ),
            fix: format!("use {} or {}", count - 1, count + 1),
        });
    }
    Ok(())
}

/// Checks `nodes` against `locality` and `goal`, spreads them ([`spread`]) and reports what
/// losing each failure domain leaves.
///
/// Refused: a count [`check_count`] refuses; zone survival on a provider with zones over fewer
/// than 3 zones; region survival over fewer than 3 regions or with fewer nodes than its 5
/// replicas; a spread where losing one failure domain loses a majority of a range (on-prem
/// zones, e.g. two racks). An uneven spread is accepted with its capacity cost as advice;
/// several regions with fewer than 5 nodes are advised against.
pub fn plan(
    field: &str,
    nodes: u32,
    locality: &Locality,
    goal: SurvivalGoal,
) -> Result<QuorumPlan, ModelError> {
    let (placements, tree, domains) = judge(field, nodes, locality, goal, Members::Nodes)?;
    let mut plan = explain(nodes, goal, placements, &tree, domains);
    let regions = locality.regions().len();
    if regions > 1 && nodes < RECOMMENDED_MULTI_REGION_NODES {
        plan.advice.push(format!(
            "{nodes} nodes across {regions} regions: {RECOMMENDED_MULTI_REGION_NODES} or more are recommended for multi-region tenants"
        ));
    }
    Ok(plan)
}

/// [`plan`] for Redpanda's brokers in one region: zone survival (3 replicas per partition),
/// its refusals worded for brokers and partitions.
pub fn broker_plan(
    field: &str,
    brokers: u32,
    locality: &Locality,
) -> Result<QuorumPlan, ModelError> {
    let goal = SurvivalGoal::Zone;
    let (placements, tree, domains) = judge(field, brokers, locality, goal, Members::Brokers)?;
    Ok(explain(brokers, goal, placements, &tree, domains))
}

/// Checks a layout given placement by placement (e.g. the nodes each site of a multi-site
/// tenant declares, [`Placement::on`] its provider): the count rule on the total, at least as
/// many members as replicas, and no failure domain of `kind` holding a majority of a group's
/// `replication_factor` replicas. Placements without a provider are on `provider`. `members`
/// words the refusals: CockroachDB's nodes and ranges, or Redpanda's brokers and partitions
/// (`losing zone us-east-1a (2 of 3 brokers) would lose 2 of the 3 replicas of some
/// partitions`).
///
/// ```
/// use thinledger_topology::{DomainKind, Placement, Provider, quorum::{self, Members}};
///
/// let zone = |z: &str, n| Placement::new("us-east-1", Some(z.into()), n);
/// let even = vec![zone("us-east-1a", 1), zone("us-east-1b", 1), zone("us-east-1c", 1)];
/// let plan = quorum::check_placements("brokers", Members::Brokers, Provider::Aws, even, DomainKind::Zone, 3)?;
/// assert!(plan.failure_domains.iter().all(|d| d.replicas == 1));
///
/// let two_zones = vec![zone("us-east-1a", 2), zone("us-east-1b", 1)];
/// let err = quorum::check_placements("brokers", Members::Brokers, Provider::Aws, two_zones, DomainKind::Zone, 3).unwrap_err();
/// assert!(err.to_string().contains("losing zone us-east-1a (2 of 3 brokers) would lose 2 of the 3 replicas of some partitions"));
/// # Ok::<(), thinledger_topology::ModelError>(())
/// ```
pub fn check_placements(
    field: &str,
    members: Members,
    provider: Provider,
    placements: Vec<Placement>,
    kind: DomainKind,
    replication_factor: u32,
) -> Result<QuorumPlan, ModelError> {
    judge_placements(
        field,
        None,
        members,
        provider,
        placements,
        kind,
        replication_factor,
    )
}

/// Whose layout a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// thinledger's own even spread (the members cannot move between domains).
    Spread(Members),
    /// A layout given domain by domain (its members can move), of these members.
    Given(Members),
}

/// What the members of a layout are ([`check_placements`]), which words its refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Members {
    /// CockroachDB nodes, holding replicas of ranges.
    Nodes,
    /// Redpanda brokers, holding replicas of partitions.
    Brokers,
}

impl Members {
    /// `node`/`nodes` (or brokers) for a count of `n`.
    fn noun(self, n: u32) -> &'static str {
        match (self, n == 1) {
            (Members::Nodes, true) => "node",
            (Members::Nodes, false) => "nodes",
            (Members::Brokers, true) => "broker",
            (Members::Brokers, false) => "brokers",
        }
    }

    /// What each group of replicas is.
    fn groups(self) -> &'static str {
        match self {
            Members::Nodes => "ranges",
            Members::Brokers => "partitions",
        }
    }
}

/// [`check_placements`]; with `domains_field`, the spread is thinledger's own (nodes cannot
/// move between domains), so a lost majority is reported on that field with the number of
/// domains holding nodes, as [`plan`] reports it.
fn judge_placements(
    field: &str,
    domains_field: Option<&str>,
    members: Members,
    provider: Provider,
    placements: Vec<Placement>,
    kind: DomainKind,
    replication_factor: u32,
) -> Result<QuorumPlan, ModelError> {
    let nodes = placements.iter().map(|p| p.nodes).sum();
    check_count(field, nodes)?;
    if nodes < replication_factor {
        return Err(too_few_for_replicas(field, nodes, replication_factor));
    }
    let tree = Tree::new(provider.as_str(), &placements);
    let domains = failure_domains_of(&tree, kind, replication_factor);
    if let Some(lost) = losing_majority(&domains, replication_factor) {
        let (field, value, given) = match domains_field {
            None => (field, lost.nodes, true),
            Some(f) => {
                let holding = domains.iter().filter(|d| d.nodes > 0).count();
                (f, u32::try_from(holding).unwrap_or(u32::MAX), false)
            }
        };
        return Err(majority_lost(
            field,
            value,
            lost,
            &domains,
            nodes,
            replication_factor,
            if given {
                Layout::Given(members)
            } else {
                Layout::Spread(members)
            },
        ));
    }
    Ok(explain_with(
        nodes,
        replication_factor,
        kind,
        placements,
        &tree,
        domains,
    ))
}

/// The nodes of one site (one Kubernetes cluster of one provider and region) spread as evenly
/// as possible over its zones (a site without zones is one place, its hosts its failure
/// domains), on its provider: what each site of a multi-site tenant places.
pub fn site_placements(nodes: u32, site: &Locality) -> Vec<Placement> {
    spread(nodes, site, SurvivalGoal::Zone)
        .into_iter()
        .map(|p| p.on(site.provider()))
        .collect()
}

/// `nodes` spread over `sites` (one per provider, say), in the order given: as evenly as
/// possible over the sites, the first taking the remainder, then within each
/// ([`site_placements`]).
pub fn spread_over(nodes: u32, sites: &[Locality]) -> Vec<Placement> {
    sites
        .iter()
        .zip(even(nodes, sites.len()))
        .flat_map(|(site, n)| site_placements(n, site))
        .collect()
}

/// Checks `nodes` spread over several sites ([`spread_over`]; e.g. AWS, Azure and an on-prem
/// data centre, one locality each) for `goal`, as [`check_placements`] judges the sites of a
/// tenant file: the count rule, at least as many nodes as replicas, and no failure domain of
/// the goal (a provider, for survival goal provider) holding a majority of a range's replicas.
/// A lost majority is reported on field `sites` (value: the sites holding nodes), naming the
/// domain; e.g. 5 nodes over two providers lose 3 of 5 replicas with the first.
///
/// ```
/// use thinledger_topology::{Locality, Provider, RegionSpec, SurvivalGoal, quorum};
///
/// let site = |p, r: &str, zones: &[&str]| Locality::new(p, vec![RegionSpec::new(r, zones.iter().copied())]);
/// let aws = site(Provider::Aws, "us-east-1", &["us-east-1a", "us-east-1b", "us-east-1c"])?;
/// let azure = site(Provider::Azure, "eastus", &["1", "2", "3"])?;
/// let onprem = site(Provider::OnPrem, "dc-frankfurt", &[])?;
/// let plan = quorum::plan_over("nodes", 5, &[aws.clone(), azure.clone(), onprem], SurvivalGoal::Provider)?;
/// let per_provider: Vec<(&str, u32)> = plan.failure_domains.iter().map(|d| (d.name.as_str(), d.replicas)).collect();
/// assert_eq!(per_provider, [("aws", 2), ("azure", 2), ("onprem", 1)]);
///
/// let err = quorum::plan_over("nodes", 5, &[aws, azure], SurvivalGoal::Provider).unwrap_err();
/// assert!(err.to_string().contains("losing provider aws (3 of 5 nodes) would lose 3 of the 5 replicas"));
/// # Ok::<(), thinledger_topology::ModelError>(())
/// ```
pub fn plan_over(
    field: &str,
    nodes: u32,
    sites: &[Locality],
    goal: SurvivalGoal,
) -> Result<QuorumPlan, ModelError> {
    let Some(first) = sites.first() else {
        return Err(ModelError::Quorum {
            field: "sites".to_owned(),
            value: 0,
            rule: "nodes need at least one site".to_owned(),
            fix: "give the sites' localities".to_owned(),
        });
    };
    judge_placements(
        field,
        Some("sites"),
        Members::Nodes,
        first.provider(),
        spread_over(nodes, sites),
        goal.domain_kind(),
        goal.replication_factor(),
    )
}

/// Every count of at least `at_least`, up to [`bounds::NODES`](crate::bounds::NODES), that
/// [`plan_over`] accepts over `sites` for `goal`, ascending.
pub fn valid_counts_over<'a>(
    at_least: u32,
    sites: &'a [Locality],
    goal: SurvivalGoal,
) -> impl Iterator<Item = u32> + 'a {
    let floor = at_least.max(MIN_NODES);
    let first = floor + u32::from(floor.is_multiple_of(2));
    (first..=crate::bounds::NODES.max)
        .step_by(2)
        .filter(move |&n| plan_over("nodes", n, sites, goal).is_ok())
}

/// The spread of `nodes` for `goal`: as evenly as possible over the goal's failure domains in
/// the order listed (the first take the remainder; counts differ by at most one), then as
/// evenly as possible over the zones inside each. Zone survival spreads over every listed
/// zone (a region without zones counts as one place, its hosts being its failure domains);
/// region survival over the regions first.
pub fn spread(nodes: u32, locality: &Locality, goal: SurvivalGoal) -> Vec<Placement> {
    let mut out = Vec::new();
    match goal.domain_kind() {
        DomainKind::Region | DomainKind::Provider => {
            let per_region = even(nodes, locality.regions().len());
            for (region, n) in locality.regions().iter().zip(per_region) {
                if region.zones.is_empty() {
                    out.push(Placement::new(region.name.clone(), None, n));
                }
                for (zone, z) in region.zones.iter().zip(even(n, region.zones.len())) {
                    out.push(Placement::new(region.name.clone(), Some(zone.clone()), z));
                }
            }
        }
        DomainKind::Zone | DomainKind::Host => {
            let places: Vec<(&str, Option<&String>)> = locality
                .regions()
                .iter()
                .flat_map(|r| {
                    let zones: Vec<Option<&String>> = if r.zones.is_empty() {
                        vec![None]
                    } else {
                        r.zones.iter().map(Some).collect()
                    };
                    zones.into_iter().map(move |z| (r.name.as_str(), z))
                })
                .collect();
            for ((region, zone), n) in places.iter().zip(even(nodes, places.len())) {
                out.push(Placement::new(*region, zone.cloned(), n));
            }
        }
    }
    out
}

/// Places nodes spread over: each listed zone, and each region that lists none (on-prem data
/// centres, whose hosts are the failure domain within them).
pub fn failure_domains(locality: &Locality) -> u32 {
    let domains: usize = locality
        .regions()
        .iter()
        .map(|r| r.zones.len().max(1))
        .sum();
    u32::try_from(domains).unwrap_or(u32::MAX)
}

/// The smallest count of at least `at_least` that [`plan`] accepts over `locality` for
/// `goal`; `None` when there is none up to [`bounds::NODES`](crate::bounds::NODES) (e.g. two
/// zones cannot survive a zone, whatever the count).
pub fn smallest_count(at_least: u32, locality: &Locality, goal: SurvivalGoal) -> Option<u32> {
    valid_counts(at_least, locality, goal).next()
}

/// Every count of at least `at_least`, up to [`bounds::NODES`](crate::bounds::NODES), that
/// [`plan`] accepts over `locality` for `goal`, ascending: odd, at least 3 (5 for region
/// survival), and keeping a majority through the loss of any failure domain.
pub fn valid_counts(
    at_least: u32,
    locality: &Locality,
    goal: SurvivalGoal,
) -> impl Iterator<Item = u32> + '_ {
    let floor = at_least.max(MIN_NODES);
    let first = floor + u32::from(floor.is_multiple_of(2));
    (first..=crate::bounds::NODES.max)
        .step_by(2)
        .filter(move |&n| judge("nodes", n, locality, goal, Members::Nodes).is_ok())
}

/// The count, spread and failure-domain rules, without the capacity estimate.
fn judge(
    field: &str,
    nodes: u32,
    locality: &Locality,
    goal: SurvivalGoal,
    members: Members,
) -> Result<(Vec<Placement>, Tree, Vec<FailureDomain>), ModelError> {
    check_count(field, nodes)?;
    let rf = goal.replication_factor();
    let kind = goal.domain_kind();
    if kind == DomainKind::Provider {
        // One locality is one provider: losing it loses every replica.
        return Err(ModelError::Quorum {
            field: "providers".to_owned(),
            value: 1,
            rule: format!(
                "surviving a provider outage needs nodes on at least {MIN_FAILURE_DOMAINS} providers so a majority of {rf} replicas remains, and these nodes are all on {}",
                locality.provider()
            ),
            fix: "spread the nodes over three providers (a tenant file's sites; ledger-size --providers), or choose survival goal region".to_owned(),
        });
    }
    let (domains_field, listed) = match kind {
        DomainKind::Zone | DomainKind::Host => ("zones", locality.zone_count()),
        _ => ("regions", locality.regions().len()),
    };
    let needs_listing = match kind {
        DomainKind::Zone | DomainKind::Host => locality.provider().has_zones(),
        _ => true,
    };
    if needs_listing && listed < MIN_FAILURE_DOMAINS {
        let (rule, fix) = if kind == DomainKind::Region {
            (
                format!(
                    "surviving a region needs at least {MIN_FAILURE_DOMAINS} regions so a majority of 5 replicas remains"
                ),
                "add regions, or choose survival goal zone".to_owned(),
            )
        } else {
            (
                format!(
                    "surviving a zone needs nodes in at least {MIN_FAILURE_DOMAINS} zones so a majority of 3 replicas remains"
                ),
                format!("list {MIN_FAILURE_DOMAINS} zones of the region"),
            )
        };
        return Err(ModelError::Quorum {
            field: domains_field.to_owned(),
            value: u32::try_from(listed).unwrap_or(u32::MAX),
            rule,
            fix,
        });
    }
    if nodes < rf {
        return Err(too_few_for_replicas(field, nodes, rf));
    }
    let placements = spread(nodes, locality, goal);
    let tree = Tree::new(locality.provider().as_str(), &placements);
    let domains = failure_domains_of(&tree, kind, rf);
    if let Some(lost) = losing_majority(&domains, rf) {
        let holding = domains.iter().filter(|d| d.nodes > 0).count();
        return Err(majority_lost(
            domains_field,
            u32::try_from(holding).unwrap_or(u32::MAX),
            lost,
            &domains,
            nodes,
            rf,
            Layout::Spread(members),
        ));
    }
    Ok((placements, tree, domains))
}

fn too_few_for_replicas(field: &str, nodes: u32, rf: u32) -> ModelError {
    ModelError::Quorum {
        field: field.to_owned(),
        value: nodes,
        rule: format!("the survival goal keeps {rf} replicas of every range, each on its own node"),
        fix: format!("use at least {rf} nodes"),
    }
}

/// The failure domains of `kind` in `tree`, with the most replicas of one range each holds.
/// Leaves coarser than `kind` (a data centre without zones, under zone survival) fail host
/// by host: each host holds at most one replica.
fn failure_domains_of(tree: &Tree, kind: DomainKind, rf: u32) -> Vec<FailureDomain> {
    let depth = match kind {
        DomainKind::Provider => 1,
        DomainKind::Region => 2,
        DomainKind::Zone | DomainKind::Host => 3,
    };
    let mut out = Vec::new();
    for (g, path) in tree.groups.iter().enumerate() {
        if path.len() == depth {
            out.push(FailureDomain {
                kind,
                name: path[depth - 1].clone(),
                nodes: tree.nodes_in(g),
                replicas: tree.most_in(g, rf),
            });
        }
    }
    for (l, path) in tree.paths.iter().enumerate() {
        if path.len() < depth {
            out.push(FailureDomain {
                kind: DomainKind::Host,
                name: path[path.len() - 1].clone(),
                nodes: tree.nodes[l],
                replicas: tree.nodes[l].min(1),
            });
        }
    }
    out
}

/// The domain whose loss could take a majority of a range's `rf` replicas: the one holding
/// the most, when that is more than the `(rf - 1) / 2` a range can lose.
fn losing_majority(domains: &[FailureDomain], rf: u32) -> Option<&FailureDomain> {
    // The first of those holding the most (the Rego guardrails pick the same one).
    domains
        .iter()
        .filter(|d| 2 * d.replicas >= rf)
        .fold(None, |most: Option<&FailureDomain>, d| match most {
            Some(m) if m.replicas >= d.replicas => Some(m),
            _ => Some(d),
        })
}

fn majority_lost(
    field: &str,
    value: u32,
    lost: &FailureDomain,
    domains: &[FailureDomain],
    nodes: u32,
    rf: u32,
    layout: Layout,
) -> ModelError {
    let (given, members) = match layout {
        Layout::Spread(members) => (false, members),
        Layout::Given(members) => (true, members),
    };
    let noun = members.noun(nodes);
    let kind = lost.kind;
    // The fewest domains that keep each below a majority: ⌈rf ÷ ((rf - 1) ÷ 2)⌉.
    let needed = rf.div_ceil(((rf - 1) / 2).max(1));
    let holding = u32::try_from(domains.iter().filter(|d| d.nodes > 0).count()).unwrap_or(0);
    let fix = if holding < needed {
        format!("spread the {noun} over at least {needed} {kind}s")
    } else if !given && kind == DomainKind::Region {
        // Replicas of the other regions would share a zone as often as three share this one.
        "list at least 2 zones in every region (so its replicas need not share one), or add a region"
            .to_owned()
    } else if !given {
        format!("spread the {noun} over more {kind}s")
    } else {
        let counts = even(nodes, domains.len());
        format!(
            "move {noun} out of {kind} {}: spread the {nodes} as evenly as possible over the {} {kind}s ({})",
            lost.name,
            domains.len(),
            slashed(&counts)
        )
    };
    ModelError::Quorum {
        field: field.to_owned(),
        value,
        rule: format!(
            "losing {kind} {} ({} of {nodes} {noun}) would lose {} of the {rf} replicas of some {}, a majority, and they would stop",
            lost.name,
            lost.nodes,
            lost.replicas,
            members.groups()
        ),
        fix,
    }
}

/// What losing each failure domain leaves, as plans print it, e.g. `zone us-east-1a (2 nodes):
/// 1 of 3 replicas lost, 2 left; …`.
pub fn losses(domains: &[FailureDomain], replication_factor: u32) -> String {
    losses_of(domains, replication_factor, Members::Nodes)
}

/// [`losses`] of Redpanda's brokers, e.g. `zone us-east-1a (1 broker): 1 of 3 replicas lost,
/// 2 left; …`.
pub fn broker_losses(domains: &[FailureDomain], replication_factor: u32) -> String {
    losses_of(domains, replication_factor, Members::Brokers)
}

fn losses_of(domains: &[FailureDomain], replication_factor: u32, members: Members) -> String {
    let rf = replication_factor;
    domains
        .iter()
        .map(|d| {
            let nodes = members.noun(d.nodes);
            let what = if d.kind == DomainKind::Host {
                format!("a host of {}", d.name)
            } else {
                format!("{} {}", d.kind, d.name)
            };
            format!(
                "{what} ({} {nodes}): {} of {rf} replicas lost, {} left",
                d.nodes,
                d.replicas,
                rf.saturating_sub(d.replicas)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn slashed(counts: &[u32]) -> String {
    counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn explain(
    nodes: u32,
    goal: SurvivalGoal,
    placements: Vec<Placement>,
    tree: &Tree,
    domains: Vec<FailureDomain>,
) -> QuorumPlan {
    explain_with(
        nodes,
        goal.replication_factor(),
        goal.domain_kind(),
        placements,
        tree,
        domains,
    )
}

/// The plan, with the capacity cost of an uneven spread as advice.
fn explain_with(
    nodes: u32,
    rf: u32,
    kind: DomainKind,
    placements: Vec<Placement>,
    tree: &Tree,
    domains: Vec<FailureDomain>,
) -> QuorumPlan {
    let (fullest, leaf) = tree.fullest_node(rf);
    let mut advice = Vec::new();
    if let Some(leaf) = leaf {
        let even_share = crate::placement::NodeShare::new(u64::from(rf), u64::from(nodes));
        let counts: Vec<u32> = domains.iter().map(|d| d.nodes).collect();
        let most = domains.iter().map(|d| d.replicas).max().unwrap_or(0);
        // Evenly loaded nodes that would store what this cluster can: rf ÷ fullest share.
        let equivalent =
            u128::from(rf) * u128::from(fullest.ranges) * 10 / u128::from(fullest.replicas.max(1));
        let equivalent = if equivalent % 10 == 0 {
            format!("{}", equivalent / 10)
        } else {
            format!("{}.{}", equivalent / 10, equivalent % 10)
        };
        let domains_count = domains.len();
        // The next odd multiple of an odd number of domains spreads evenly.
        let evenly = u32::try_from(domains_count)
            .ok()
            .filter(|d| d % 2 == 1)
            .and_then(|d| {
                let m = nodes.div_ceil(d).checked_mul(d)?;
                if m % 2 == 0 {
                    m.checked_add(d)
                } else {
                    Some(m)
                }
            })
            .map(|m| format!("; {m} nodes would spread evenly"))
            .unwrap_or_default();
        advice.push(format!(
            "{nodes} nodes spread unevenly over {domains_count} {kind}s ({}): losing any {kind} still leaves a majority (at most {most} of {rf} replicas of a range per {kind}), but the nodes in {} store {}% of the data each where an even spread stores {}%: disks are sized for them, and the cluster stores what {equivalent} evenly loaded nodes would{evenly}",
            slashed(&counts),
            tree.paths[leaf].last().map_or("", String::as_str),
            fullest.percent(),
            even_share.percent(),
        ));
    }
    QuorumPlan {
        nodes,
        replication_factor: rf,
        placements,
        failure_domains: domains,
        fullest_node: fullest,
        advice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locality::RegionSpec;
    use crate::placement::NodeShare;
    use rstest::rstest;

    fn aws(zones: &[&str]) -> Locality {
        Locality::new(
            Provider::Aws,
            vec![RegionSpec::new("us-east-1", zones.iter().copied())],
        )
        .unwrap()
    }

    const ABC: &[&str] = &["us-east-1a", "us-east-1b", "us-east-1c"];

    fn counts(plan: &QuorumPlan) -> Vec<u32> {
        plan.placements.iter().map(|p| p.nodes).collect()
    }

    #[rstest]
    #[case(1, false)]
    #[case(2, false)]
    #[case(3, true)]
    #[case(4, false)]
    #[case(5, true)]
    #[case(6, false)]
    #[case(7, true)]
    fn counts_must_be_odd_and_at_least_three(#[case] n: u32, #[case] ok: bool) {
        assert_eq!(check_count("nodes", n).is_ok(), ok, "{n}");
    }

    #[test]
    fn even_count_error_suggests_both_neighbours() {
        let err = check_count("nodes", 4).unwrap_err().to_string();
        assert!(err.starts_with("nodes = 4"), "{err}");
        assert!(err.contains("use 3 or 5"), "{err}");
    }

    /// The verdict table: `regions` is `region:zone,zone;region:…` (a region without zones:
    /// just its name). `tests/policy/quorum.rs` in thinledger-policy checks that the Rego
    /// guardrails reach the verdicts of tenant validation on tenant files of the same layouts.
    #[rstest]
    #[case::three_over_three_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c", SurvivalGoal::Zone, 3, Ok(&[1, 1, 1][..]))]
    #[case::five_over_three_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c", SurvivalGoal::Zone, 5, Ok(&[2, 2, 1][..]))]
    #[case::seven_over_three_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c", SurvivalGoal::Zone, 7, Ok(&[3, 2, 2][..]))]
    #[case::nine_over_three_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c", SurvivalGoal::Zone, 9, Ok(&[3, 3, 3][..]))]
    #[case::four_is_even(
        Provider::Aws,
        "us-east-1:us-east-1a,us-east-1b,us-east-1c",
        SurvivalGoal::Zone,
        4,
        Err("nodes")
    )]
    #[case::one_is_too_few(
        Provider::Aws,
        "us-east-1:us-east-1a,us-east-1b,us-east-1c",
        SurvivalGoal::Zone,
        1,
        Err("nodes")
    )]
    #[case::two_zones(
        Provider::Aws,
        "us-east-1:us-east-1a,us-east-1b",
        SurvivalGoal::Zone,
        3,
        Err("zones")
    )]
    #[case::three_over_four_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c,us-east-1d", SurvivalGoal::Zone, 3, Ok(&[1, 1, 1, 0][..]))]
    #[case::five_over_four_zones(Provider::Aws, "us-east-1:us-east-1a,us-east-1b,us-east-1c,us-east-1d", SurvivalGoal::Zone, 5, Ok(&[2, 1, 1, 1][..]))]
    #[case::zones_of_two_regions(Provider::Aws, "us-east-1:us-east-1a,us-east-1b;us-west-2:us-west-2a", SurvivalGoal::Zone, 3, Ok(&[1, 1, 1][..]))]
    #[case::five_over_three_regions(Provider::Gcp, "europe-west1:europe-west1-b,europe-west1-c,europe-west1-d;europe-west3:europe-west3-a,europe-west3-b,europe-west3-c;europe-west4:europe-west4-a,europe-west4-b,europe-west4-c", SurvivalGoal::Region, 5, Ok(&[1, 1, 0, 1, 1, 0, 1, 0, 0][..]))]
    #[case::region_needs_five_nodes(
        Provider::Gcp,
        "europe-west1:europe-west1-b;europe-west3:europe-west3-a;europe-west4:europe-west4-a",
        SurvivalGoal::Region,
        3,
        Err("nodes")
    )]
    #[case::region_needs_three_regions(
        Provider::Gcp,
        "europe-west1:europe-west1-b;europe-west3:europe-west3-a",
        SurvivalGoal::Region,
        5,
        Err("regions")
    )]
    #[case::regions_of_one_zone_beside_one_of_three(
        Provider::Gcp,
        "europe-west1:europe-west1-b,europe-west1-c,europe-west1-d;europe-west3:europe-west3-a;europe-west4:europe-west4-a",
        SurvivalGoal::Region,
        7,
        Err("regions")
    )]
    #[case::onprem_hosts(Provider::OnPrem, "dc-1", SurvivalGoal::Zone, 3, Ok(&[3][..]))]
    #[case::onprem_data_centres(Provider::OnPrem, "dc-1;dc-2;dc-3", SurvivalGoal::Region, 5, Ok(&[2, 2, 1][..]))]
    #[case::onprem_two_racks(
        Provider::OnPrem,
        "dc-1:rack-a,rack-b",
        SurvivalGoal::Zone,
        5,
        Err("zones")
    )]
    #[case::onprem_three_racks(Provider::OnPrem, "dc-1:rack-a,rack-b,rack-c", SurvivalGoal::Zone, 5, Ok(&[2, 2, 1][..]))]
    #[case::one_provider_cannot_survive_itself(
        Provider::Aws,
        "us-east-1:us-east-1a,us-east-1b,us-east-1c;us-east-2:us-east-2a;us-west-2:us-west-2a",
        SurvivalGoal::Provider,
        5,
        Err("providers")
    )]
    fn the_quorum_rule(
        #[case] provider: Provider,
        #[case] regions: &str,
        #[case] goal: SurvivalGoal,
        #[case] nodes: u32,
        #[case] expected: Result<&[u32], &str>,
    ) {
        let locality = Locality::new(
            provider,
            regions
                .split(';')
                .map(|r| match r.split_once(':') {
                    Some((name, zones)) => RegionSpec::new(name, zones.split(',')),
                    None => RegionSpec::new(r, Vec::<String>::new()),
                })
                .collect(),
        )
        .unwrap();
        match (plan("nodes", nodes, &locality, goal), expected) {
            (Ok(plan), Ok(spread)) => {
                assert_eq!(counts(&plan), spread);
                assert_eq!(plan.replication_factor, goal.replication_factor());
                let most = plan.failure_domains.iter().map(|d| d.replicas).max();
                assert!(most.unwrap() * 2 < plan.replication_factor, "{plan:?}");
            }
            (Err(ModelError::Quorum { field, fix, .. }), Err(want)) => {
                assert_eq!(field, want);
                assert!(!fix.is_empty());
            }
            (got, want) => panic!("{got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn an_uneven_spread_is_a_note_with_its_capacity_cost() {
        let five = plan("nodes", 5, &aws(ABC), SurvivalGoal::Zone).unwrap();
        assert_eq!(five.fullest_node, NodeShare::new(1, 1));
        assert!(!five.is_even());
        let note = &five.advice[0];
        for part in [
            "5 nodes spread unevenly over 3 zones (2/2/1)",
            "at most 1 of 3 replicas",
            "the nodes in us-east-1c store 100% of the data each where an even spread stores 60%",
            "what 3 evenly loaded nodes would",
            "9 nodes would spread evenly",
        ] {
            assert!(note.contains(part), "{part:?} missing: {note}");
        }
        let seven = plan("nodes", 7, &aws(ABC), SurvivalGoal::Zone).unwrap();
        assert_eq!(seven.fullest_node, NodeShare::new(1, 2));
        assert!(seven.advice[0].contains("what 6 evenly loaded nodes would"));
        let nine = plan("nodes", 9, &aws(ABC), SurvivalGoal::Zone).unwrap();
        assert!(nine.is_even() && nine.advice.is_empty());
        assert_eq!(nine.fullest_node, NodeShare::new(1, 3));
    }

    #[test]
    fn the_refusal_names_the_domain_and_the_fix() {
        let racks = Locality::new(
            Provider::OnPrem,
            vec![RegionSpec::new("dc-1", ["rack-a", "rack-b"])],
        )
        .unwrap();
        let err = plan("nodes", 5, &racks, SurvivalGoal::Zone)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "zones = 2: losing zone rack-a (3 of 5 nodes) would lose 2 of the 3 replicas of some ranges, a majority, and they would stop. Fix: spread the nodes over at least 3 zones"
        );
    }

    #[test]
    fn a_layout_over_providers_is_judged_provider_by_provider() {
        let layout = |counts: [u32; 3]| {
            vec![
                Placement::new("us-east-1", Some("us-east-1a".into()), counts[0]).on(Provider::Aws),
                Placement::new("eastus", Some("eastus-1".into()), counts[1]).on(Provider::Azure),
                Placement::new("dc-1", None, counts[2]).on(Provider::OnPrem),
            ]
        };
        let ok = check_placements(
            "nodes",
            Members::Nodes,
            Provider::Aws,
            layout([2, 2, 1]),
            DomainKind::Provider,
            5,
        )
        .unwrap();
        let names: Vec<(&str, u32)> = ok
            .failure_domains
            .iter()
            .map(|d| (d.name.as_str(), d.replicas))
            .collect();
        assert_eq!(names, [("aws", 2), ("azure", 2), ("onprem", 1)]);
        let err = check_placements(
            "nodes",
            Members::Nodes,
            Provider::Aws,
            layout([3, 1, 1]),
            DomainKind::Provider,
            5,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("losing provider aws (3 of 5 nodes) would lose 3 of the 5 replicas"),
            "{err}"
        );
        assert!(err.contains("Fix: move nodes out of provider aws: spread the 5 as evenly as possible over the 3 providers (2/2/1)"), "{err}");
    }

    fn site(provider: Provider, region: &str, zones: &[&str]) -> Locality {
        Locality::new(
            provider,
            vec![RegionSpec::new(region, zones.iter().copied())],
        )
        .unwrap()
    }

    /// Sites as `provider:region:zone,zone;…` (no zones: `onprem:dc-1:`).
    fn sites(text: &str) -> Vec<Locality> {
        text.split(';')
            .map(|s| {
                let mut parts = s.split(':');
                let provider: Provider = parts.next().unwrap().parse().unwrap();
                let region = parts.next().unwrap();
                let zones: Vec<&str> = parts
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter(|z| !z.is_empty())
                    .collect();
                site(provider, region, &zones)
            })
            .collect()
    }

    /// Each failure domain holding nodes: (name, nodes, most replicas of a range); or the
    /// refused field and words of the rule or fix.
    type Verdict<'a> = Result<&'a [(&'a str, u32, u32)], (&'a str, &'a str)>;

    const THREE_PROVIDERS: &str =
        "aws:us-east-1:us-east-1a,us-east-1b,us-east-1c;azure:eastus:1,2,3;onprem:dc-frankfurt:";

    /// Nodes spread over several providers: the verdicts tenant validation reaches on sites of
    /// the same counts (`Site::placements` is [`site_placements`]).
    #[rstest]
    #[case::five_over_three_providers(THREE_PROVIDERS, SurvivalGoal::Provider, 5, Ok(&[("aws", 2, 2), ("azure", 2, 2), ("onprem", 1, 1)][..]))]
    #[case::seven_over_three_providers(THREE_PROVIDERS, SurvivalGoal::Provider, 7, Ok(&[("aws", 3, 2), ("azure", 2, 2), ("onprem", 2, 2)][..]))]
    #[case::three_is_fewer_than_five_replicas(THREE_PROVIDERS, SurvivalGoal::Provider, 3, Err(("nodes", "at least 5 nodes")))]
    #[case::even(THREE_PROVIDERS, SurvivalGoal::Provider, 6, Err(("nodes", "use 5 or 7")))]
    #[case::two_providers(
        "aws:us-east-1:us-east-1a,us-east-1b,us-east-1c;azure:eastus:1,2,3",
        SurvivalGoal::Provider,
        5,
        Err(("sites", "losing provider aws (3 of 5 nodes) would lose 3 of the 5 replicas"))
    )]
    #[case::zones_of_three_providers(THREE_PROVIDERS, SurvivalGoal::Zone, 3, Ok(&[("us-east-1a", 1, 1), ("eastus-1", 1, 1), ("dc-frankfurt", 1, 1)][..]))]
    fn layouts_over_providers(
        #[case] text: &str,
        #[case] goal: SurvivalGoal,
        #[case] nodes: u32,
        #[case] expected: Verdict<'_>,
    ) {
        let sites = sites(text);
        match (plan_over("nodes", nodes, &sites, goal), expected) {
            (Ok(plan), Ok(domains)) => {
                let got: Vec<(&str, u32, u32)> = plan
                    .failure_domains
                    .iter()
                    .filter(|d| d.nodes > 0)
                    .map(|d| (d.name.as_str(), d.nodes, d.replicas))
                    .collect();
                assert_eq!(got, domains);
                assert_eq!(
                    valid_counts_over(nodes, &sites, goal).next(),
                    Some(nodes),
                    "{nodes} is a valid count"
                );
            }
            (
                Err(ModelError::Quorum {
                    field, rule, fix, ..
                }),
                Err((want, says)),
            ) => {
                assert_eq!(field, want);
                assert!(
                    format!("{rule} {fix}").contains(says),
                    "{says:?} in {rule} / {fix}"
                );
            }
            (got, want) => panic!("{got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn a_site_places_its_nodes_over_its_zones_on_its_provider() {
        let azure = site(Provider::Azure, "eastus", &["1", "2", "3"]);
        let placed = site_placements(2, &azure);
        assert_eq!(
            placed,
            vec![
                Placement::new("eastus", Some("eastus-1".into()), 1).on(Provider::Azure),
                Placement::new("eastus", Some("eastus-2".into()), 1).on(Provider::Azure),
                Placement::new("eastus", Some("eastus-3".into()), 0).on(Provider::Azure),
            ]
        );
    }

    #[rstest]
    #[case(ABC, SurvivalGoal::Zone, 1, Some(3))]
    #[case(ABC, SurvivalGoal::Zone, 4, Some(5))]
    #[case(ABC, SurvivalGoal::Zone, 9, Some(9))]
    #[case(ABC, SurvivalGoal::Zone, 10, Some(11))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"], SurvivalGoal::Zone, 3, Some(3))]
    #[case(&["us-east-1a", "us-east-1b"], SurvivalGoal::Zone, 3, None)]
    #[case(ABC, SurvivalGoal::Zone, 1000, None)]
    fn smallest_count_is_odd_and_keeps_a_majority(
        #[case] zones: &[&str],
        #[case] goal: SurvivalGoal,
        #[case] at_least: u32,
        #[case] expected: Option<u32>,
    ) {
        let loc = aws(zones);
        assert_eq!(smallest_count(at_least, &loc, goal), expected);
        if let Some(n) = expected {
            plan("nodes", n, &loc, goal).unwrap();
        }
    }

    #[test]
    fn valid_counts_are_the_odd_counts_up_to_the_bound() {
        let loc = aws(ABC);
        let counts: Vec<u32> = valid_counts(3, &loc, SurvivalGoal::Zone).take(4).collect();
        assert_eq!(counts, [3, 5, 7, 9]);
        // The bound ends the counts: none above it, never a wrapped small one.
        assert_eq!(
            valid_counts(998, &loc, SurvivalGoal::Zone).collect::<Vec<_>>(),
            [999]
        );
        assert_eq!(
            valid_counts(u32::MAX - 1, &loc, SurvivalGoal::Zone).next(),
            None
        );
    }

    #[test]
    fn zone_survival_needs_three_zones() {
        let err = plan(
            "nodes",
            3,
            &aws(&["us-east-1a", "us-east-1b"]),
            SurvivalGoal::Zone,
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least 3 zones"), "{err}");
    }

    #[test]
    fn onprem_spreads_over_hosts_not_zones() {
        let loc = Locality::new(
            Provider::OnPrem,
            vec![RegionSpec::new("dc-1", Vec::<String>::new())],
        )
        .unwrap();
        let plan = plan("nodes", 3, &loc, SurvivalGoal::Zone).unwrap();
        assert_eq!(plan.placements, vec![Placement::new("dc-1", None, 3)]);
        assert_eq!(plan.failure_domains[0].kind, DomainKind::Host);
        assert_eq!(plan.failure_domains[0].replicas, 1);
    }

    #[test]
    fn region_survival_spreads_over_regions_then_zones() {
        let regions = |n: usize| {
            let names = ["europe-west1", "europe-west3", "europe-west4"];
            Locality::new(
                Provider::Gcp,
                names[..n]
                    .iter()
                    .map(|r| {
                        RegionSpec::new(*r, [format!("{r}-b"), format!("{r}-c"), format!("{r}-d")])
                    })
                    .collect(),
            )
            .unwrap()
        };
        assert!(plan("nodes", 5, &regions(2), SurvivalGoal::Region).is_err());
        assert!(plan("nodes", 3, &regions(3), SurvivalGoal::Region).is_err());
        let five = plan("nodes", 5, &regions(3), SurvivalGoal::Region).unwrap();
        let per_region: Vec<(&str, u32, u32)> = five
            .failure_domains
            .iter()
            .map(|d| (d.name.as_str(), d.nodes, d.replicas))
            .collect();
        assert_eq!(
            per_region,
            [
                ("europe-west1", 2, 2),
                ("europe-west3", 2, 2),
                ("europe-west4", 1, 1)
            ]
        );
        // Five replicas on five nodes: every node stores every range, an even load.
        assert!(five.is_even() && five.advice.is_empty(), "{five:?}");
        let nine = plan("nodes", 9, &regions(3), SurvivalGoal::Region).unwrap();
        assert_eq!(nine.replication_factor, 5);
        assert_eq!(counts(&nine), [1; 9]);
        assert_eq!(nine.fullest_node, NodeShare::new(5, 9));
    }

    #[test]
    fn multi_region_with_three_nodes_is_advised_against() {
        let loc = Locality::new(
            Provider::Aws,
            vec![
                RegionSpec::new("us-east-1", ["us-east-1a", "us-east-1b"]),
                RegionSpec::new("us-west-2", ["us-west-2a"]),
            ],
        )
        .unwrap();
        let plan = plan("nodes", 3, &loc, SurvivalGoal::Zone).unwrap();
        assert_eq!(plan.advice.len(), 1);
        assert!(plan.advice[0].contains("5 or more"));
    }
}
