//! A checked node count and how it spreads over regions and zones: what
//! [`quorum::plan`](crate::quorum::plan) returns.

use serde::{Deserialize, Serialize};

/// How many nodes go to one region (and zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
