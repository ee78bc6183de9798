//! Quorum rules: how many nodes, and how they spread over failure domains.
//!
//! CockroachDB ranges and Redpanda partitions are Raft groups: they keep working while a
//! majority of their replicas is up. Odd counts add a failure tolerated per two nodes; an even
//! count costs a node and tolerates no more failures than the odd count below it.

use serde::Serialize;

use crate::error::ModelError;
use crate::locality::{Locality, SurvivalGoal};

/// Smallest count that survives the loss of one node.
pub const MIN_NODES: u32 = 3;
/// Count recommended when a tenant spans several regions.
pub const RECOMMENDED_MULTI_REGION_NODES: u32 = 5;
/// Fewest zones (or regions, for region survival) an even spread needs.
pub const MIN_FAILURE_DOMAINS: usize = 3;

/// How many nodes go to one region (and zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Region name.
    pub region: String,
    /// Zone name, absent on-prem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Nodes placed there.
    pub nodes: u32,
}

/// A checked node count and its spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuorumPlan {
    /// Total nodes (or brokers).
    pub nodes: u32,
    /// Replicas per range, from the survival goal.
    pub replication_factor: u32,
    /// The even spread over regions and zones.
    pub placements: Vec<Placement>,
    /// Recommendations that are not refusals.
    pub advice: Vec<String>,
}

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
/// factor (5); several regions with fewer than 5 nodes is allowed but advised against.
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

/// Round-robin over regions, then over each region's zones: counts differ by at most one.
fn spread(nodes: u32, locality: &Locality) -> Vec<Placement> {
    let regions = locality.regions();
    let per_region = split_evenly(nodes, regions.len());
    let mut out = Vec::new();
    for (region, count) in regions.iter().zip(per_region) {
        if region.zones.is_empty() {
            if count > 0 {
                out.push(Placement {
                    region: region.name.clone(),
                    zone: None,
                    nodes: count,
                });
            }
            continue;
        }
        for (zone, zone_count) in region
            .zones
            .iter()
            .zip(split_evenly(count, region.zones.len()))
        {
            if zone_count > 0 {
                out.push(Placement {
                    region: region.name.clone(),
                    zone: Some(zone.clone()),
                    nodes: zone_count,
                });
            }
        }
    }
    out
}

fn split_evenly(total: u32, buckets: usize) -> Vec<u32> {
    let Ok(n) = u32::try_from(buckets) else {
        return Vec::new();
    };
    if n == 0 {
        return Vec::new();
    }
    (0..n)
        .map(|i| total / n + u32::from(i < total % n))
        .collect()
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
    #[case(5, &[2, 2, 1])]
    #[case(7, &[3, 2, 2])]
    #[case(9, &[3, 3, 3])]
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
                    .map(|r| RegionSpec::new(*r, [format!("{r}-b"), format!("{r}-c")]))
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
