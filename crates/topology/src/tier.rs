//! Deployment tiers: how strict the rules are.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// The tier a ledger runs in. Production rules (≥4 vCPU, 4 GiB/vCPU, Guaranteed QoS) apply to
/// `prod`; `staging` mirrors production's shape at smaller scale; `dev` relaxes memory ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Tier {
    /// Developer and CI environments.
    Dev,
    /// Pre-production.
    Staging,
    /// Production: every rule at full strength.
    #[serde(alias = "production")]
    Prod,
}

impl Tier {
    /// Every tier.
    pub const ALL: [Tier; 3] = [Tier::Dev, Tier::Staging, Tier::Prod];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Dev => "dev",
            Tier::Staging => "staging",
            Tier::Prod => "prod",
        }
    }

    /// The recovery point objective a tenant of this tier gets unless its file sets
    /// `backup.rpo`: an hour in production, four hours in staging, a day in dev.
    pub fn default_rpo_seconds(self) -> u64 {
        match self {
            Tier::Prod => 3_600,
            Tier::Staging => 4 * 3_600,
            Tier::Dev => 86_400,
        }
    }

    /// Whether production rules apply.
    pub fn is_production(self) -> bool {
        self == Tier::Prod
    }
}

crate::error::display_as_str!(Tier);

impl FromStr for Tier {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(Tier::Dev),
            "staging" | "stage" => Ok(Tier::Staging),
            "prod" | "production" => Ok(Tier::Prod),
            _ => Err(ParseError::unknown("tier", s, &Tier::ALL, Tier::as_str)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lists_valid_values() {
        assert_eq!("Production".parse::<Tier>().unwrap(), Tier::Prod);
        assert!(Tier::Prod.is_production() && !Tier::Staging.is_production());
        let err = "qa".parse::<Tier>().unwrap_err().to_string();
        assert!(err.contains("dev, staging, prod"), "{err}");
    }
}
