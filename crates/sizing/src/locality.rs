//! Placeholder localities used when a plan is asked for without regions and zones.
//!
//! Sizing needs a locality only to spread nodes over failure domains; these defaults let a
//! calculation run from nothing but a provider. They are common regions with three zones each
//! (three regions for region survival); the plan records that they are placeholders, and a real
//! tenant passes its own.

use thinledger_topology::{Locality, Provider, RegionSpec, SurvivalGoal};

use crate::error::SizingError;

const AWS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];
const AZURE: [&str; 3] = ["eastus", "centralus", "westus2"];
const GCP: [&str; 3] = ["us-central1", "us-east1", "us-west1"];
// On-prem the failure domain is the host: regions are data centres without zones.
const ONPREM: [&str; 3] = ["dc-1", "dc-2", "dc-3"];

fn zones(provider: Provider, region: &str) -> Vec<String> {
    match provider {
        // GCP has no default zones (letters differ per region); these regions' are known.
        Provider::Gcp => {
            // us-east1 has no zone a.
            let letters = if region == "us-east1" {
                ["b", "c", "d"]
            } else {
                ["a", "b", "c"]
            };
            letters
                .iter()
                .map(|z| provider.zone_name(region, z))
                .collect()
        }
        _ => provider.default_zones(region).unwrap_or_default(),
    }
}

fn regions(provider: Provider, goal: SurvivalGoal) -> Vec<RegionSpec> {
    let names = match provider {
        Provider::Aws => AWS,
        Provider::Azure => AZURE,
        Provider::Gcp => GCP,
        _ => ONPREM,
    };
    let count = match goal {
        SurvivalGoal::Region => 3,
        _ => 1,
    };
    names[..count]
        .iter()
        .map(|name| RegionSpec {
            name: (*name).to_owned(),
            zones: zones(provider, name),
        })
        .collect()
}

/// The placeholder locality for `provider` and `goal`: one region with three zones for zone
/// survival, three such regions for region survival (on-prem: data centres `dc-1`..`dc-3`).
pub fn default_locality(provider: Provider, goal: SurvivalGoal) -> Result<Locality, SizingError> {
    Ok(Locality::new(provider, regions(provider, goal))?)
}

/// One placeholder site per provider, in order ([`default_locality`] of each, for zone
/// survival within the site): the layout `ledger-size --providers` sizes when no tenant file
/// gives the sites' regions and zones. A provider listed twice is refused.
pub fn default_sites(providers: &[Provider]) -> Result<Vec<Locality>, SizingError> {
    let mut out: Vec<Locality> = Vec::with_capacity(providers.len());
    for (i, &provider) in providers.iter().enumerate() {
        if providers[..i].contains(&provider) {
            return Err(SizingError::invalid(
                "providers",
                provider,
                "each provider is one site of the layout, listed once",
                "remove the duplicate",
            ));
        }
        out.push(default_locality(provider, SurvivalGoal::Zone)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    fn defaults_are_valid_and_satisfy_the_goal(
        #[values(Provider::Aws, Provider::Azure, Provider::Gcp, Provider::OnPrem)]
        provider: Provider,
        #[values(SurvivalGoal::Zone, SurvivalGoal::Region)] goal: SurvivalGoal,
    ) {
        let locality = default_locality(provider, goal).unwrap();
        let nodes =
            thinledger_topology::quorum::smallest_count(goal.replication_factor(), &locality, goal)
                .unwrap();
        thinledger_topology::quorum::plan("nodes", nodes, &locality, goal).unwrap();
    }
}
