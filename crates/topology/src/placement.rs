//! A checked node count, how it spreads over providers, regions and zones, and what losing
//! each failure domain costs: what [`quorum::plan`](crate::quorum::plan) returns.

use serde::{Deserialize, Serialize};

use crate::provider::Provider;

/// How many nodes go to one region (and zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Placement {
    /// The provider, when a layout spans several; absent: the tenant's one provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Region name.
    pub region: String,
    /// Zone name, absent on-prem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Nodes placed there.
    pub nodes: u32,
}

impl Placement {
    /// `nodes` in `region` (and `zone`), of the tenant's provider.
    pub fn new(region: impl Into<String>, zone: Option<String>, nodes: u32) -> Self {
        Placement {
            provider: None,
            region: region.into(),
            zone,
            nodes,
        }
    }

    /// The same placement on `provider` (a layout over several providers).
    pub fn on(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Where it is, as the plan prints it: the zone, or the region when it has none.
    pub fn name(&self) -> &str {
        self.zone.as_deref().unwrap_or(&self.region)
    }
}

/// What a failure domain is: the locality tier that fails as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DomainKind {
    /// A whole cloud provider (or the on-prem estate).
    Provider,
    /// A region (on-prem: a data centre).
    Region,
    /// An availability zone (on-prem: a room or rack the tenant lists).
    Zone,
    /// One host: the failure domain inside an on-prem data centre that lists no zones.
    Host,
}

impl DomainKind {
    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainKind::Provider => "provider",
            DomainKind::Region => "region",
            DomainKind::Zone => "zone",
            DomainKind::Host => "host",
        }
    }
}

crate::error::display_as_str!(DomainKind);

/// One failure domain of the survival goal and what losing it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailureDomain {
    /// What fails as one.
    pub kind: DomainKind,
    /// Its name: the zone, region or provider; for hosts, the data centre they are in.
    pub name: String,
    /// Nodes in it (for hosts: the data centre's nodes, one per host).
    pub nodes: u32,
    /// The most replicas of one range (or partition) it holds, as replicas spread over the
    /// most diverse localities first; losing it leaves the rest.
    pub replicas: u32,
}

/// The share of the data one node stores: a replica of `replicas` out of every `ranges`
/// ranges (kept as a reduced fraction, so equal shares compare equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeShare {
    /// Replicas the node holds…
    pub replicas: u64,
    /// …per this many ranges.
    pub ranges: u64,
}

impl NodeShare {
    /// `replicas` per `ranges`, reduced.
    pub fn new(replicas: u64, ranges: u64) -> Self {
        let g = gcd(replicas, ranges).max(1);
        NodeShare {
            replicas: replicas / g,
            ranges: ranges / g,
        }
    }

    /// Percent of the data, rounded to the nearest whole.
    pub fn percent(self) -> u64 {
        (u128::from(self.replicas) * 100 + u128::from(self.ranges) / 2)
            .checked_div(u128::from(self.ranges))
            .and_then(|p| u64::try_from(p).ok())
            .unwrap_or(u64::MAX)
    }

    /// This share of `bytes`, rounded up.
    pub fn of(self, bytes: u128) -> u128 {
        (bytes * u128::from(self.replicas)).div_ceil(u128::from(self.ranges.max(1)))
    }
}

/// Compared as fractions, exactly.
impl Ord for NodeShare {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.replicas) * u128::from(other.ranges))
            .cmp(&(u128::from(other.replicas) * u128::from(self.ranges)))
    }
}

impl PartialOrd for NodeShare {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A checked node count, its spread and what the loss of each failure domain leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuorumPlan {
    /// Total nodes (or brokers).
    pub nodes: u32,
    /// Replicas per range, from the survival goal.
    pub replication_factor: u32,
    /// The spread over regions and zones: as even as possible over the survival goal's
    /// failure domains (counts differ by at most one), then over the zones inside each.
    pub placements: Vec<Placement>,
    /// The survival goal's failure domains, each holding fewer than a majority of the
    /// replicas of any range.
    pub failure_domains: Vec<FailureDomain>,
    /// The share of the data the fullest node stores (`replication_factor ÷ nodes` when the
    /// spread is even; more on the nodes of a smaller domain when it is not). Disks are sized
    /// for this node.
    pub fullest_node: NodeShare,
    /// Recommendations that are not refusals, including the capacity cost of an uneven spread.
    pub advice: Vec<String>,
}

impl QuorumPlan {
    /// Whether every node stores the same share of the data.
    pub fn is_even(&self) -> bool {
        self.fullest_node
            == NodeShare::new(
                u64::from(self.replication_factor.min(self.nodes)),
                u64::from(self.nodes),
            )
    }
}
