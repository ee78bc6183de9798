//! What each tier demands of a sizing.

use serde::Serialize;
use thinledger_topology::Tier;

use crate::rules::{PROD_MIN_VCPU, RECOMMENDED_VCPU};

/// What a tier demands. `staging` keeps production's memory ratio (so caches and SQL memory
/// behave as in production and memory problems show up before release) but allows smaller
/// nodes; only `dev` may run at 2 GiB per vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierRules {
    /// Fewest vCPU per CockroachDB node.
    pub min_vcpu: u32,
    /// vCPU per node used when a workload is sized without `--vcpu`.
    pub default_vcpu: u32,
    /// Least memory per vCPU, GiB.
    pub min_gib_per_vcpu: u64,
    /// Memory per vCPU used when no memory is given, GiB.
    pub default_gib_per_vcpu: u64,
    /// Fewest Redpanda cores per broker.
    pub redpanda_min_cores: u32,
    /// Whether Redpanda cores must be even.
    pub redpanda_even_cores: bool,
    /// Redpanda memory per core when no memory is given, GiB.
    pub redpanda_default_gib_per_core: u64,
}

impl TierRules {
    /// The rules of `tier`.
    pub fn of(tier: Tier) -> TierRules {
        match tier {
            Tier::Prod => TierRules {
                min_vcpu: PROD_MIN_VCPU,
                default_vcpu: RECOMMENDED_VCPU,
                min_gib_per_vcpu: 4,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 4,
                redpanda_even_cores: true,
                redpanda_default_gib_per_core: 4,
            },
            Tier::Staging => TierRules {
                min_vcpu: 2,
                default_vcpu: 4,
                min_gib_per_vcpu: 4,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 2,
                redpanda_even_cores: true,
                redpanda_default_gib_per_core: 4,
            },
            Tier::Dev => TierRules {
                min_vcpu: 1,
                default_vcpu: 2,
                min_gib_per_vcpu: 2,
                default_gib_per_vcpu: 4,
                redpanda_min_cores: 1,
                redpanda_even_cores: false,
                redpanda_default_gib_per_core: 2,
            },
            // Tier is non-exhaustive: a tier added later gets production's rules until it is
            // given its own.
            _ => TierRules::of(Tier::Prod),
        }
    }
}
