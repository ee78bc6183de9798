//! Where nodes go and where the replicas of one range (or partition) go: the model the quorum
//! rule is checked against.
//!
//! Nodes spread as evenly as possible over the failure domains of the survival goal (counts
//! differ by at most one), then as evenly as possible over the finer domains inside each.
//!
//! Replicas follow CockroachDB's allocator: it places the replicas of a range on distinct
//! nodes and maximises the sum of their pairwise locality diversity (two replicas in different
//! regions are more diverse than two in different zones of one region), then balances ranges
//! over the nodes. Maximising diversity is minimising, over every locality prefix (provider,
//! region, zone), the number of replica pairs that share it; that objective is a sum of convex
//! functions over a tree, so adding replicas one at a time where they add the fewest shared
//! pairs is optimal, and breaking ties in favour of one domain gives the most replicas any
//! most-diverse placement puts there. Redpanda's rack awareness (partitions of replication
//! factor 3 over the racks of one region) is the one-tier case of the same model.

use crate::placement::{NodeShare, Placement};

/// How many ranges the balancing estimate places: divisible by every node count up to 8, so
/// an even spread comes out exact.
const RANGES: u64 = 840;

/// A load compared as a fraction (cross-multiplied, not reduced: a cheap sort key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Load(u64, u64);

impl Ord for Load {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.0) * u128::from(other.1)).cmp(&(u128::from(other.0) * u128::from(self.1)))
    }
}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `total` over `slots` as evenly as possible, the first slots taking the remainder.
pub(crate) fn even(total: u32, slots: usize) -> Vec<u32> {
    let Ok(n) = u32::try_from(slots) else {
        return Vec::new();
    };
    if n == 0 {
        return Vec::new();
    }
    let (base, extra) = (total / n, total % n);
    (0..n).map(|i| base + u32::from(i < extra)).collect()
}

/// The placements (one per listed zone, or per region without zones) and how they nest.
pub(crate) struct Tree {
    /// Each leaf's path, coarsest first: provider, region, zone (when listed).
    pub paths: Vec<Vec<String>>,
    /// Nodes per leaf.
    pub nodes: Vec<u32>,
    /// Each leaf's groups (indices into `groups`), coarsest first; the last is the leaf's own.
    ancestors: Vec<Vec<usize>>,
    /// Every locality prefix: provider, provider/region, provider/region/zone.
    pub groups: Vec<Vec<String>>,
}

impl Tree {
    /// The tree of `placements`, each under `provider` unless it names its own.
    pub fn new(provider: &str, placements: &[Placement]) -> Tree {
        let paths: Vec<Vec<String>> = placements
            .iter()
            .map(|p| {
                let mut path = vec![
                    p.provider.map_or(provider, |p| p.as_str()).to_owned(),
                    p.region.clone(),
                ];
                path.extend(p.zone.clone());
                path
            })
            .collect();
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut ancestors = Vec::with_capacity(paths.len());
        for path in &paths {
            let mut chain = Vec::with_capacity(path.len());
            for depth in 1..=path.len() {
                let prefix = &path[..depth];
                let id = match groups.iter().position(|g| g.as_slice() == prefix) {
                    Some(id) => id,
                    None => {
                        groups.push(prefix.to_vec());
                        groups.len() - 1
                    }
                };
                chain.push(id);
            }
            ancestors.push(chain);
        }
        Tree {
            paths,
            nodes: placements.iter().map(|p| p.nodes).collect(),
            ancestors,
            groups,
        }
    }

    /// Total nodes.
    pub fn total(&self) -> u32 {
        self.nodes.iter().sum()
    }

    /// Whether leaf `leaf` lies in group `group`.
    pub fn contains(&self, group: usize, leaf: usize) -> bool {
        self.ancestors[leaf].contains(&group)
    }

    /// Nodes under `group`.
    pub fn nodes_in(&self, group: usize) -> u32 {
        (0..self.paths.len())
            .filter(|&l| self.contains(group, l))
            .map(|l| self.nodes[l])
            .sum()
    }

    /// Replicas under `group` when each leaf holds `per_leaf`.
    pub fn replicas_in(&self, group: usize, per_leaf: &[u32]) -> u32 {
        (0..self.paths.len())
            .filter(|&l| self.contains(group, l))
            .map(|l| per_leaf[l])
            .sum()
    }

    /// One range's `rf` replicas placed most diversely (see the module docs), one per node;
    /// ties go to the leaf `prefer` ranks lowest, then to the first. Fewer than `rf` when
    /// there are fewer nodes.
    fn place<K: Ord>(&self, rf: u32, mut prefer: impl FnMut(usize, &[u32]) -> K) -> Vec<u32> {
        let mut per_leaf = vec![0u32; self.paths.len()];
        let mut per_group = vec![0u32; self.groups.len()];
        for _ in 0..rf {
            let best = (0..self.paths.len())
                .filter(|&l| per_leaf[l] < self.nodes[l])
                .min_by_key(|&l| {
                    let shared: u32 = self.ancestors[l].iter().map(|&g| per_group[g]).sum();
                    (shared, prefer(l, &per_leaf), l)
                });
            let Some(leaf) = best else { break };
            per_leaf[leaf] += 1;
            for &g in &self.ancestors[leaf] {
                per_group[g] += 1;
            }
        }
        per_leaf
    }

    /// The most replicas of one range any most-diverse placement puts under `group`.
    pub fn most_in(&self, group: usize, rf: u32) -> u32 {
        let per_leaf = self.place(rf, |l, _| !self.contains(group, l));
        self.replicas_in(group, &per_leaf)
    }

    /// The fewest replicas of one range any most-diverse placement puts under `group`.
    pub fn fewest_in(&self, group: usize, rf: u32) -> u32 {
        let per_leaf = self.place(rf, |l, _| self.contains(group, l));
        self.replicas_in(group, &per_leaf)
    }

    /// The share of the data the fullest node stores once the allocator has balanced ranges
    /// over the nodes within the most diverse placements, and the leaf that node is in (none
    /// when every node stores the same share).
    ///
    /// `rf ÷ nodes` when that balance exists (every group's proportional share of the replicas
    /// lies between the fewest and the most it can hold); exact when every range puts the same
    /// number of replicas in each place (three zones: one each); otherwise estimated by placing
    /// [`RANGES`] ranges one after another, each on the least-loaded nodes among its most
    /// diverse placements, as the allocator's rebalancing does.
    pub fn fullest_node(&self, rf: u32) -> (NodeShare, Option<usize>) {
        let total = u64::from(self.total());
        let rf = rf.min(self.total());
        if total == 0 || rf == 0 {
            return (NodeShare::new(0, 1), None);
        }
        let even = NodeShare::new(u64::from(rf), total);
        let balanced = (0..self.groups.len()).all(|g| {
            // lo ≤ rf × n_g ÷ total ≤ hi, multiplied out.
            let proportional = u64::from(rf) * u64::from(self.nodes_in(g));
            u64::from(self.fewest_in(g, rf)) * total <= proportional
                && proportional <= u64::from(self.most_in(g, rf)) * total
        });
        if balanced {
            return (even, None);
        }
        let fullest_of = |shares: Vec<(NodeShare, usize)>| match shares
            .into_iter()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        {
            Some((share, leaf)) if share > even => (share, Some(leaf)),
            _ => (even, None),
        };
        let leaves_with_nodes = || (0..self.paths.len()).filter(|&l| self.nodes[l] > 0);
        let fixed: Option<Vec<(NodeShare, usize)>> = leaves_with_nodes()
            .map(|l| {
                let own = *self.ancestors[l].last()?;
                let (lo, hi) = (self.fewest_in(own, rf), self.most_in(own, rf));
                (lo == hi).then(|| (NodeShare::new(u64::from(lo), u64::from(self.nodes[l])), l))
            })
            .collect();
        if let Some(shares) = fixed {
            return fullest_of(shares);
        }
        let mut placed = vec![0u64; self.paths.len()];
        for _ in 0..RANGES {
            // Ties go to the leaf whose nodes would be least loaded after one more replica.
            let per_leaf = self.place(rf, |l, current| {
                Load(
                    placed[l] + u64::from(current[l]) + 1,
                    u64::from(self.nodes[l]).max(1),
                )
            });
            for (p, n) in placed.iter_mut().zip(per_leaf) {
                *p += u64::from(n);
            }
        }
        fullest_of(
            leaves_with_nodes()
                .map(|l| {
                    (
                        NodeShare::new(placed[l], u64::from(self.nodes[l]) * RANGES),
                        l,
                    )
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn tree(leaves: &[(&str, Option<&str>, u32)]) -> Tree {
        let placements: Vec<Placement> = leaves
            .iter()
            .map(|(region, zone, nodes)| Placement::new(*region, zone.map(str::to_owned), *nodes))
            .collect();
        Tree::new("aws", &placements)
    }

    #[rstest]
    #[case(5, 3, &[2, 2, 1])]
    #[case(7, 3, &[3, 2, 2])]
    #[case(9, 3, &[3, 3, 3])]
    #[case(3, 4, &[1, 1, 1, 0])]
    #[case(0, 2, &[0, 0])]
    fn even_counts_differ_by_at_most_one(
        #[case] total: u32,
        #[case] slots: usize,
        #[case] expected: &[u32],
    ) {
        assert_eq!(even(total, slots), expected);
    }

    #[test]
    fn three_replicas_take_one_zone_each_whatever_the_node_counts() {
        let t = tree(&[
            ("r", Some("a"), 2),
            ("r", Some("b"), 2),
            ("r", Some("c"), 1),
        ]);
        for zone in 0..3 {
            let g = t.ancestors[zone][2];
            assert_eq!(t.most_in(g, 3), 1);
            assert_eq!(t.fewest_in(g, 3), 1);
        }
        // The single node in zone c stores every range; the others half each.
        assert_eq!(t.fullest_node(3), (NodeShare::new(1, 1), Some(2)));
    }

    #[test]
    fn regions_come_before_zones() {
        // Region x has one zone with 3 nodes, region y two zones of one node: the third
        // replica goes to y's second zone (more diverse), never a second one into x.
        let t = tree(&[
            ("x", Some("x1"), 3),
            ("y", Some("y1"), 1),
            ("y", Some("y2"), 1),
        ]);
        let x = t.ancestors[0][1];
        assert_eq!(t.most_in(x, 3), 1);
    }

    #[test]
    fn five_replicas_over_three_regions_are_two_two_one() {
        let t = tree(&[("x", None, 3), ("y", None, 3), ("z", None, 3)]);
        for leaf in 0..3 {
            let g = t.ancestors[leaf][1];
            assert_eq!(t.most_in(g, 5), 2);
            assert_eq!(t.fewest_in(g, 5), 1);
        }
        assert_eq!(t.fullest_node(5), (NodeShare::new(5, 9), None));
    }

    #[test]
    fn an_uneven_spread_loads_the_smaller_domain() {
        // 7 nodes over regions of 3, 2 and 2 nodes, 5 replicas: every region holds 1 or 2 of
        // each range; balanced, the 3-node region holds 2 of every range (2/3 per node) and
        // the others 1.5 (3/4 per node).
        let t = tree(&[("x", None, 3), ("y", None, 2), ("z", None, 2)]);
        let (share, _) = t.fullest_node(5);
        assert!(share.percent() >= 75 && share.percent() <= 80, "{share:?}");
    }
}
