//! Quorum rules: how many nodes, and how they spread over failure domains.
//!
//! CockroachDB ranges and Redpanda partitions are Raft groups: they keep working while a
//! majority of their replicas is up. Odd counts add a failure tolerated per two nodes; an even
//! count costs a node and tolerates no more failures than the odd count below it.

use crate::error::ModelError;
use crate::locality::{Locality, SurvivalGoal};
use crate::placement::{Placement, QuorumPlan};

/// Smallest count that survives the loss of one node.
pub const MIN_NODES: u32 = 3;
/// Count recommended when a tenant spans several regions.
pub const RECOMMENDED_MULTI_REGION_NODES: u32 = 5;
/// Fewest zones (or regions, for region survival) an even spread needs.
pub const MIN_FAILURE_DOMAINS: usize = 3;

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
                "counts must be odd: {count} tolerates no more failures than {} and can split evenly",
                count - 1
            ),
            fix: format!("use {} or {}", count - 1, count + 1),
        });
    }
    Ok(())
}

/// Checks `nodes` against `locality` and `goal` and spreads them evenly.
///
/// Rules: [`check_count`]; zone survival on a provider with zones needs at least 3 zones;
/// region survival needs at least 3 regions and at least as many nodes as its replication
/// factor (5); every failure domain holds the same number of nodes ([`failure_domains`]);
/// several regions with fewer than 5 nodes is allowed but advised against.
pub fn plan(
    field: &str,
    nodes: u32,
    locality: &Locality,
    goal: SurvivalGoal,
) -> Result<QuorumPlan, ModelError> {
    check_count(field, nodes)?;
    let rf = goal.replication_factor();
    let regions = locality.regions();
    let mut advice = Vec::new();
    match goal {
        SurvivalGoal::Region => {
            if regions.len() < MIN_FAILURE_DOMAINS {
                return Err(ModelError::Quorum {
                    field: "regions".to_owned(),
                    value: u32::try_from(regions.len()).unwrap_or(u32::MAX),
                    rule: format!(
                        "surviving a region needs at least {MIN_FAILURE_DOMAINS} regions so a majority remains"
                    ),
                    fix: "add regions, or choose survival goal zone".to_owned(),
                });
            }
            if nodes < rf {
                return Err(ModelError::Quorum {
                    field: field.to_owned(),
                    value: nodes,
                    rule: format!("region survival keeps {rf} replicas, each on its own node"),
                    fix: format!("use at least {rf} nodes"),
                });
            }
        }
        SurvivalGoal::Zone => {
            if locality.provider().has_zones() && locality.zone_count() < MIN_FAILURE_DOMAINS {
                return Err(ModelError::Quorum {
                    field: "zones".to_owned(),
                    value: u32::try_from(locality.zone_count()).unwrap_or(u32::MAX),
                    rule: format!(
                        "surviving a zone needs nodes spread evenly over at least {MIN_FAILURE_DOMAINS} zones"
                    ),
                    fix: format!("list {MIN_FAILURE_DOMAINS} zones of the region"),
                });
            }
        }
    }
    check_even_spread(field, nodes, MIN_NODES.max(rf), locality)?;
    if regions.len() > 1 && nodes < RECOMMENDED_MULTI_REGION_NODES {
        advice.push(format!(
            "{nodes} nodes across {} regions: {RECOMMENDED_MULTI_REGION_NODES} or more are recommended for multi-region tenants",
            regions.len()
        ));
    }
    Ok(QuorumPlan {
        nodes,
        replication_factor: rf,
        placements: spread(nodes, locality),
        advice,
    })
}

/// Failure domains a tenant's nodes spread over: each listed zone, and each region that
/// lists none (on-prem data centres, whose hosts are the failure domain within them).
pub fn failure_domains(locality: &Locality) -> u32 {
    let domains: usize = locality
        .regions()
        .iter()
        .map(|r| r.zones.len().max(1))
        .sum();
    u32::try_from(domains).unwrap_or(u32::MAX)
}

/// The smallest count of at least `at_least` that [`plan`]'s count and spread rules accept
/// over `locality`: odd, at least 3, and the same number in every failure domain. `None`
/// when no odd count splits evenly (an even number of failure domains).
pub fn smallest_count(at_least: u32, locality: &Locality) -> Option<u32> {
    valid_counts(at_least, locality).next()
}

/// Every count of at least `at_least` that [`plan`]'s count and spread rules accept over
/// `locality`, ascending: odd multiples of the failure domains, from 3 up.
pub fn valid_counts(at_least: u32, locality: &Locality) -> impl Iterator<Item = u32> {
    let domains = failure_domains(locality).max(1);
    // An odd multiple of an even number does not exist.
    let step = if domains.is_multiple_of(2) {
        None
    } else {
        domains.checked_mul(2)
    };
    let floor = at_least.max(MIN_NODES);
    // Checked: a count near u32::MAX has no valid count above it (none, not a wrapped one).
    let first = floor
        .div_ceil(domains)
        .checked_mul(domains)
        .and_then(|first| {
            if first.is_multiple_of(2) {
                first.checked_add(domains)
            } else {
                Some(first)
            }
        });
    let first = step.and(first);
    std::iter::successors(first, move |n| step.and_then(|s| n.checked_add(s)))
}

/// Equal counts per failure domain: losing any zone then loses the same share of replicas
/// and of capacity, and the survivors take the same extra load.
/// `min` is the fewest the survival goal allows, so that the counts suggested are valid.
fn check_even_spread(
    field: &str,
    count: u32,
    min: u32,
    locality: &Locality,
) -> Result<(), ModelError> {
    let domains = failure_domains(locality);
    if domains <= 1 || count.is_multiple_of(domains) {
        return Ok(());
    }
    let what = field.rsplit('.').next().unwrap_or(field);
    let (kind, one) = if locality.zone_count() > 0 {
        ("zones", "zone")
    } else {
        ("regions", "region")
    };
    let fix = if domains.is_multiple_of(2) {
        format!("an odd count cannot split evenly over {domains} {kind}: use 3 or 5 {kind}")
    } else {
        let below = (count / domains) * domains;
        let lower = (below >= min && !below.is_multiple_of(2)).then_some(below);
        let upper = smallest_count(count.max(min), locality).unwrap_or(count);
        match lower {
            Some(l) => format!("use {l} or {upper} {what}"),
            None => format!("use {upper} {what}"),
        }
    };
    Err(ModelError::Quorum {
        field: field.to_owned(),
        value: count,
        rule: format!(
            "{count} {what} do not split evenly over {domains} {kind}; every {one} must hold the same number"
        ),
        fix,
    })
}

/// The same number of nodes in every failure domain ([`check_even_spread`] holds).
fn spread(nodes: u32, locality: &Locality) -> Vec<Placement> {
    let per_domain = nodes / failure_domains(locality).max(1);
    let mut out = Vec::new();
    for region in locality.regions() {
        if region.zones.is_empty() {
            out.push(Placement {
                region: region.name.clone(),
                zone: None,
                nodes: per_domain,
            });
        }
        for zone in &region.zones {
            out.push(Placement {
                region: region.name.clone(),
                zone: Some(zone.clone()),
                nodes: per_domain,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locality::RegionSpec;
    use crate::provider::Provider;
    use rstest::rstest;

    fn aws(zones: &[&str]) -> Locality {
        Locality::new(
            Provider::Aws,
            vec![RegionSpec::new("us-east-1", zones.iter().copied())],
        )
        .unwrap()
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

    #[rstest]
    #[case(3, &[1, 1, 1])]
    #[case(9, &[3, 3, 3])]
    #[case(15, &[5, 5, 5])]
    fn spread_evenly_over_three_zones(#[case] n: u32, #[case] expected: &[u32]) {
        let plan = plan(
            "nodes",
            n,
            &aws(&["us-east-1a", "us-east-1b", "us-east-1c"]),
            SurvivalGoal::Zone,
        )
        .unwrap();
        let counts: Vec<u32> = plan.placements.iter().map(|p| p.nodes).collect();
        assert_eq!(counts, expected);
        assert_eq!(plan.replication_factor, 3);
    }

    #[rstest]
    #[case(5, "use 3 or 9 nodes")]
    #[case(7, "use 9 nodes")]
    #[case(11, "use 9 or 15 nodes")]
    fn uneven_spread_is_refused_with_the_neighbours(#[case] n: u32, #[case] fix: &str) {
        let err = plan(
            "nodes",
            n,
            &aws(&["us-east-1a", "us-east-1b", "us-east-1c"]),
            SurvivalGoal::Zone,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("every zone must hold the same number"),
            "{err}"
        );
        assert!(err.contains(fix), "{err}");
    }

    #[rstest]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c"], 1, Some(3))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c"], 4, Some(9))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c"], 9, Some(9))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c"], 10, Some(15))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e"], 3, Some(5))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e"], 6, Some(15))]
    #[case(&["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"], 3, None)]
    fn smallest_count_is_odd_and_even_per_zone(
        #[case] zones: &[&str],
        #[case] at_least: u32,
        #[case] expected: Option<u32>,
    ) {
        let loc = aws(zones);
        assert_eq!(smallest_count(at_least, &loc), expected);
        if let Some(n) = expected {
            plan("nodes", n, &loc, SurvivalGoal::Zone).unwrap();
        }
    }

    #[test]
    fn valid_counts_step_by_odd_multiples() {
        let loc = aws(&["us-east-1a", "us-east-1b", "us-east-1c"]);
        let counts: Vec<u32> = valid_counts(3, &loc).take(4).collect();
        assert_eq!(counts, [3, 9, 15, 21]);
        // Near the top of u32: the counts that exist, then none, never a wrapped small one.
        assert_eq!(
            valid_counts(u32::MAX - 1, &loc).collect::<Vec<_>>(),
            [u32::MAX]
        );
        let seven = aws(&[
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
            "us-east-1d",
            "us-east-1e",
            "us-east-1f",
            "us-east-1g",
        ]);
        assert_eq!(valid_counts(u32::MAX - 1, &seven).next(), None);
    }

    #[test]
    fn onprem_data_centres_each_hold_the_same_number() {
        let loc = Locality::new(
            Provider::OnPrem,
            ["dc-1", "dc-2", "dc-3"]
                .iter()
                .map(|dc| RegionSpec::new(*dc, Vec::<String>::new()))
                .collect(),
        )
        .unwrap();
        let err = plan("nodes", 5, &loc, SurvivalGoal::Region)
            .unwrap_err()
            .to_string();
        assert!(err.contains("over 3 regions"), "{err}");
        let ok = plan("nodes", 9, &loc, SurvivalGoal::Region).unwrap();
        assert!(
            ok.placements
                .iter()
                .all(|p| p.nodes == 3 && p.zone.is_none())
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
        assert_eq!(
            plan.placements,
            vec![Placement {
                region: "dc-1".into(),
                zone: None,
                nodes: 3
            }]
        );
    }

    #[test]
    fn region_survival_needs_three_regions_and_five_nodes() {
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
        let ok = plan("nodes", 9, &regions(3), SurvivalGoal::Region).unwrap();
        assert_eq!(ok.replication_factor, 5);
        assert_eq!(ok.placements.iter().map(|p| p.nodes).sum::<u32>(), 9);
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
