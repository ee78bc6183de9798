//! Redpanda rack awareness: which failure domain a broker's `redpanda.rack` names
//! ([`rack_of`]), the racks a broker layout forms ([`racks`]), and a model of how Redpanda
//! spreads each partition's replicas over them ([`assign_replicas`]) to check that losing any
//! one rack leaves every partition a majority ([`check_rack_loss`]).
//!
//! With `enable_rack_awareness`, Redpanda places a partition's replicas on as many distinct
//! racks as it can (its documented behaviour): with at least as many racks as replicas, each
//! replica sits on its own rack, so replication factor 3 over 3 racks survives the loss of any
//! one rack with 2 of 3 replicas.
//!
//! ```
//! use thinledger_topology::rack::{self, RackKey};
//! use thinledger_topology::Placement;
//!
//! let brokers: Vec<Placement> = ["us-east-1a", "us-east-1b", "us-east-1c"]
//!     .iter()
//!     .map(|z| Placement::new("us-east-1", Some((*z).to_owned()), 1))
//!     .collect();
//! assert_eq!(rack::rack_of(&brokers), RackKey::Zone);
//! let racks = rack::racks(&brokers);
//! assert_eq!(racks.len(), 3);
//! assert!(rack::check_rack_loss(&racks, 3, 12).is_ok());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::placement::Placement;

/// What a broker's `redpanda.rack` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RackKey {
    /// The broker's host (no zones: on-prem without racks). Known only when the pod runs.
    Host,
    /// The zone of the broker's Node (read from its `topology.kubernetes.io/zone` label).
    Zone,
    /// The broker's region (brokers stretched over three or more regions).
    Region,
    /// The broker's provider (brokers stretched over three or more providers).
    Provider,
}

impl RackKey {
    /// Name, as written in annotations and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            RackKey::Host => "host",
            RackKey::Zone => "zone",
            RackKey::Region => "region",
            RackKey::Provider => "provider",
        }
    }

    /// The rack of brokers at `placement`, when rendering can know it (a zone is read from the
    /// Node when the pod starts, a host is the Node itself; both give `None`).
    pub fn rack(self, placement: &Placement) -> Option<String> {
        match self {
            RackKey::Host | RackKey::Zone => None,
            RackKey::Region => Some(placement.region.clone()),
            RackKey::Provider => placement.provider.map(|p| p.to_string()),
        }
    }
}

crate::error::display_as_str!(RackKey);

/// The rack key for brokers placed as `placements`: the widest failure domain the brokers
/// span at least three of (provider, then region), so that replication factor 3 puts each
/// replica in its own; otherwise the zone, or the host where there are no zones. Brokers in
/// two regions are racked by zone: two regions cannot hold a majority of 3 replicas apart.
///
/// The one rule for every layout: a tenant of one region, and a tenant with sites, whose
/// brokers' placements carry each site's provider ([`Placement::on`]), so Redpanda stretched
/// over AWS, Azure and an on-prem data centre is racked by provider whatever each site's zones.
pub fn rack_of(placements: &[Placement]) -> RackKey {
    let distinct = |f: &dyn Fn(&Placement) -> Option<String>| -> usize {
        placements
            .iter()
            .filter(|p| p.nodes > 0)
            .filter_map(f)
            .collect::<BTreeSet<_>>()
            .len()
    };
    if distinct(&|p| p.provider.map(|x| x.to_string())) >= 3 {
        RackKey::Provider
    } else if distinct(&|p| Some(p.region.clone())) >= 3 {
        RackKey::Region
    } else if distinct(&|p| p.zone.clone()) >= 1 {
        RackKey::Zone
    } else {
        RackKey::Host
    }
}

/// One rack and its brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rack {
    /// Its name (`host-N` for host racks, which are named by the Node only at run time).
    pub name: String,
    /// Brokers in it.
    pub brokers: u32,
}

/// The racks `placements` form under [`rack_of`].
pub fn racks(placements: &[Placement]) -> Vec<Rack> {
    let key = rack_of(placements);
    let mut by_name: BTreeMap<String, u32> = BTreeMap::new();
    let mut hosts = 0;
    for p in placements.iter().filter(|p| p.nodes > 0) {
        let name = match key {
            RackKey::Host => {
                // Pods spread one per host: each broker is its own rack.
                for _ in 0..p.nodes {
                    by_name.insert(format!("host-{hosts}"), 1);
                    hosts += 1;
                }
                continue;
            }
            RackKey::Zone => p.zone.clone().unwrap_or_else(|| p.region.clone()),
            RackKey::Region | RackKey::Provider => key.rack(p).unwrap_or_default(),
        };
        *by_name.entry(name).or_default() += p.nodes;
    }
    by_name
        .into_iter()
        .map(|(name, brokers)| Rack { name, brokers })
        .collect()
}

/// Rack indexes of each of `partitions` partitions' `replication` replicas, as rack-aware
/// placement spreads them: distinct racks first (rotating the first rack per partition so
/// leaders and load spread), wrapping only when there are fewer racks than replicas, and never
/// more replicas on a rack than it has brokers.
pub fn assign_replicas(racks: &[Rack], replication: u32, partitions: u32) -> Vec<Vec<usize>> {
    let n = racks.len();
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    for p in 0..partitions as usize {
        let mut used = vec![0u32; n];
        let mut replicas = Vec::new();
        let mut i = 0;
        // Each round visits every rack once; a round adds at most one replica per rack.
        while replicas.len() < replication as usize && i < n * replication as usize {
            let r = (p + i) % n;
            if used[r] < racks[r].brokers && used[r] == (i / n) as u32 {
                used[r] += 1;
                replicas.push(r);
            }
            i += 1;
        }
        out.push(replicas);
    }
    out
}

/// Checks that losing any one rack leaves every partition a majority of its `replication`
/// replicas (placed by [`assign_replicas`]); the error names the rack, the partition and the
/// replicas left.
pub fn check_rack_loss(racks: &[Rack], replication: u32, partitions: u32) -> Result<(), String> {
    let majority = replication / 2 + 1;
    let assignment = assign_replicas(racks, replication, partitions);
    for (lost, rack) in racks.iter().enumerate() {
        for (p, replicas) in assignment.iter().enumerate() {
            if replicas.len() < replication as usize {
                return Err(format!(
                    "partition {p} has {} of {replication} replicas: the {} brokers cannot hold them",
                    replicas.len(),
                    racks.iter().map(|r| r.brokers).sum::<u32>()
                ));
            }
            let left = replicas.iter().filter(|r| **r != lost).count() as u32;
            if left < majority {
                return Err(format!(
                    "losing rack {} leaves partition {p} {left} of {replication} replicas, less than the majority of {majority}; spread the brokers over at least {replication} racks",
                    rack.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use rstest::rstest;

    fn zones(counts: &[u32]) -> Vec<Placement> {
        counts
            .iter()
            .enumerate()
            .map(|(i, n)| Placement::new("r", Some(format!("z{i}")), *n))
            .collect()
    }

    #[rstest]
    #[case::three_zones(zones(&[1, 1, 1]), RackKey::Zone, 3)]
    #[case::five_over_three(zones(&[2, 2, 1]), RackKey::Zone, 3)]
    #[case::hosts(vec![Placement::new("dc", None, 3)], RackKey::Host, 3)]
    #[case::two_regions(
        vec![
            Placement::new("a", Some("a1".into()), 2),
            Placement::new("b", Some("b1".into()), 1),
        ],
        RackKey::Zone,
        2
    )]
    #[case::three_regions(
        vec![
            Placement::new("a", Some("a1".into()), 1),
            Placement::new("b", Some("b1".into()), 1),
            Placement::new("c", Some("c1".into()), 1),
        ],
        RackKey::Region,
        3
    )]
    #[case::three_providers(
        vec![
            Placement::new("us-east-1", Some("us-east-1a".into()), 1).on(Provider::Aws),
            Placement::new("eastus", Some("eastus-1".into()), 1).on(Provider::Azure),
            Placement::new("dc-frankfurt", None, 1).on(Provider::OnPrem),
        ],
        RackKey::Provider,
        3
    )]
    fn racks_follow_the_widest_domain_with_three(
        #[case] placements: Vec<Placement>,
        #[case] key: RackKey,
        #[case] count: usize,
    ) {
        assert_eq!(rack_of(&placements), key);
        assert_eq!(racks(&placements).len(), count);
    }

    /// The model test: with replication 3 over three or more racks, removing any one rack keeps
    /// a majority of every partition's replicas; over two racks it cannot.
    #[rstest]
    #[case(zones(&[1, 1, 1]))]
    #[case(zones(&[2, 2, 1]))]
    #[case(zones(&[3, 2, 2]))]
    #[case(zones(&[3, 3, 3]))]
    #[case(vec![Placement::new("dc", None, 5)])]
    #[case(stretched())]
    fn losing_any_rack_keeps_every_partition_a_majority(#[case] placements: Vec<Placement>) {
        let racks = racks(&placements);
        let assignment = assign_replicas(&racks, 3, 24);
        for replicas in &assignment {
            let distinct: BTreeSet<_> = replicas.iter().collect();
            assert_eq!(distinct.len(), 3, "{replicas:?}: one replica per rack");
        }
        check_rack_loss(&racks, 3, 24).unwrap();
    }

    /// Five brokers stretched over three providers' sites (2/2/1), each site's share over its
    /// own zones.
    fn stretched() -> Vec<Placement> {
        vec![
            Placement::new("us-east-1", Some("us-east-1a".into()), 1).on(Provider::Aws),
            Placement::new("us-east-1", Some("us-east-1b".into()), 1).on(Provider::Aws),
            Placement::new("eastus", Some("eastus-1".into()), 1).on(Provider::Azure),
            Placement::new("eastus", Some("eastus-2".into()), 1).on(Provider::Azure),
            Placement::new("dc-frankfurt", Some("rack-a".into()), 1).on(Provider::OnPrem),
        ]
    }

    #[test]
    fn stretched_brokers_are_racked_by_provider() {
        let placements = stretched();
        assert_eq!(rack_of(&placements), RackKey::Provider);
        let racks = racks(&placements);
        let named: Vec<(&str, u32)> = racks.iter().map(|r| (r.name.as_str(), r.brokers)).collect();
        assert_eq!(named, [("aws", 2), ("azure", 2), ("onprem", 1)]);
    }

    #[test]
    fn two_racks_lose_a_majority_and_say_which() {
        let racks = racks(&[
            Placement::new("a", Some("a1".into()), 2),
            Placement::new("b", Some("b1".into()), 1),
        ]);
        let err = check_rack_loss(&racks, 3, 6).unwrap_err();
        assert!(err.contains("losing rack a1"), "{err}");
    }

    #[test]
    fn too_few_brokers_for_the_replicas_is_reported() {
        let racks = racks(&zones(&[1, 1]));
        let err = check_rack_loss(&racks, 3, 1).unwrap_err();
        assert!(err.contains("cannot hold them"), "{err}");
    }
}
