//! Where a tenant's nodes are: cloud, regions and zones, validated per provider.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, ParseError};
use crate::identity::validate_dns_subdomain;
use crate::placement::DomainKind;
use crate::provider::Provider;

/// One region of a tenant and the zones its nodes may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// The provider's region name, e.g. `us-east-1`, `westeurope`, `europe-west1`.
    pub name: String,
    /// Zones as nodes are labelled (`topology.kubernetes.io/zone`), e.g. `us-east-1a`,
    /// `westeurope-1` (Azure's bare `1` is accepted and normalised), `europe-west1-b`.
    /// Empty on-prem, where the host is the failure domain.
    #[serde(default)]
    pub zones: Vec<String>,
}

impl RegionSpec {
    /// A region with its zones.
    pub fn new(
        name: impl Into<String>,
        zones: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        RegionSpec {
            name: name.into(),
            zones: zones.into_iter().map(Into::into).collect(),
        }
    }
}

/// A tenant's placement: provider plus one or more regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Locality {
    provider: Provider,
    regions: Vec<RegionSpec>,
}

impl Locality {
    /// Validates and normalises regions and zones for `provider`.
    ///
    /// Rules: at least one region, no region twice, names in the provider's format, every
    /// zone inside its region (AWS `us-east-1a` in `us-east-1`; GCP `europe-west1-b` in
    /// `europe-west1`; Azure `1`..`3` or `westeurope-1`), no zone twice.
    pub fn new(provider: Provider, regions: Vec<RegionSpec>) -> Result<Self, ModelError> {
        if regions.is_empty() {
            return Err(locality_error(
                "regions",
                "",
                "a tenant runs in at least one region",
                "add a region, e.g. regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]",
            ));
        }
        let mut normalised = Vec::with_capacity(regions.len());
        for (i, region) in regions.into_iter().enumerate() {
            validate_region(provider, &format!("regions[{i}].name"), &region.name)?;
            if normalised
                .iter()
                .any(|r: &RegionSpec| r.name == region.name)
            {
                return Err(locality_error(
                    &format!("regions[{i}].name"),
                    &region.name,
                    "each region is listed once",
                    "merge the two entries' zones into one region",
                ));
            }
            let mut zones: Vec<String> = Vec::with_capacity(region.zones.len());
            for (j, zone) in region.zones.iter().enumerate() {
                let field = format!("regions[{i}].zones[{j}]");
                let zone = normalise_zone(provider, &field, &region.name, zone)?;
                if zones.contains(&zone) {
                    return Err(locality_error(
                        &field,
                        &zone,
                        "each zone is listed once",
                        "remove the duplicate",
                    ));
                }
                zones.push(zone);
            }
            normalised.push(RegionSpec {
                name: region.name,
                zones,
            });
        }
        Ok(Locality {
            provider,
            regions: normalised,
        })
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The regions, normalised.
    pub fn regions(&self) -> &[RegionSpec] {
        &self.regions
    }

    /// Every zone of every region, in declaration order.
    pub fn zones(&self) -> impl Iterator<Item = (&str, &str)> {
        self.regions
            .iter()
            .flat_map(|r| r.zones.iter().map(move |z| (r.name.as_str(), z.as_str())))
    }

    /// Number of failure domains the tenant spreads over: zones where the provider has them,
    /// otherwise regions.
    pub fn zone_count(&self) -> usize {
        self.regions.iter().map(|r| r.zones.len()).sum()
    }

    /// CockroachDB's `--locality` value for a node in `region`/`zone`.
    pub fn locality_flag(&self, region: &str, zone: Option<&str>) -> String {
        let mut out = format!("cloud={},region={region}", self.provider);
        if let Some(zone) = zone {
            out.push_str(",zone=");
            out.push_str(zone);
        }
        out
    }
}

/// What a tenant must keep running through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SurvivalGoal {
    /// The loss of one availability zone (or one host on-prem): replication factor 3.
    #[default]
    Zone,
    /// The loss of a whole region: at least 3 regions and replication factor 5.
    Region,
    /// The loss of a whole cloud provider (or the on-prem estate): sites on at least 3
    /// providers, one CockroachDB region each, and replication factor 5. Only a multi-site
    /// tenant (`sites:`) can declare it.
    Provider,
}

impl SurvivalGoal {
    /// Every goal.
    pub const ALL: [SurvivalGoal; 3] = [
        SurvivalGoal::Zone,
        SurvivalGoal::Region,
        SurvivalGoal::Provider,
    ];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            SurvivalGoal::Zone => "zone",
            SurvivalGoal::Region => "region",
            SurvivalGoal::Provider => "provider",
        }
    }

    /// The replication factor that survives this failure with a majority left.
    pub fn replication_factor(self) -> u32 {
        match self {
            SurvivalGoal::Zone => crate::quorum::RULES.zone_replication_factor,
            SurvivalGoal::Region | SurvivalGoal::Provider => {
                crate::quorum::RULES.region_replication_factor
            }
        }
    }

    /// What fails as one under this goal: a zone, or a region.
    pub fn domain_kind(self) -> DomainKind {
        match self {
            SurvivalGoal::Zone => DomainKind::Zone,
            SurvivalGoal::Region => DomainKind::Region,
            SurvivalGoal::Provider => DomainKind::Provider,
        }
    }
}

crate::error::display_as_str!(SurvivalGoal);

impl FromStr for SurvivalGoal {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zone" => Ok(SurvivalGoal::Zone),
            "region" => Ok(SurvivalGoal::Region),
            "provider" => Ok(SurvivalGoal::Provider),
            _ => Err(ParseError::unknown(
                "survival goal",
                s,
                &SurvivalGoal::ALL,
                SurvivalGoal::as_str,
            )),
        }
    }
}

pub(crate) fn locality_error(field: &str, value: &str, rule: &str, fix: &str) -> ModelError {
    ModelError::Locality {
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.to_owned(),
        fix: fix.to_owned(),
    }
}

fn is_lower_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn validate_region(provider: Provider, field: &str, name: &str) -> Result<(), ModelError> {
    let (ok, example) = match provider {
        // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-3
        Provider::Aws => {
            let parts: Vec<&str> = name.split('-').collect();
            let ok = (3..=4).contains(&parts.len())
                && parts.iter().all(|p| is_lower_alnum(p))
                && parts
                    .last()
                    .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
                && parts[0].len() == 2;
            (ok, "us-east-1")
        }
        // westeurope, eastus2, switzerlandnorth
        Provider::Azure => (is_lower_alnum(name) && name.len() <= 32, "westeurope"),
        // europe-west1, us-central1, northamerica-northeast2
        Provider::Gcp => {
            let parts: Vec<&str> = name.split('-').collect();
            let ok = parts.len() == 2
                && parts.iter().all(|p| is_lower_alnum(p))
                && parts[1].bytes().last().is_some_and(|b| b.is_ascii_digit());
            (ok, "europe-west1")
        }
        Provider::OnPrem => {
            return validate_dns_subdomain(field, name).map_err(|_| {
                locality_error(
                    field,
                    name,
                    "an on-prem region is a DNS label (lowercase letters, digits, '-')",
                    "e.g. dc-frankfurt",
                )
            });
        }
    };
    if ok {
        Ok(())
    } else {
        Err(locality_error(
            field,
            name,
            &format!("not a {} region name", provider.kubernetes_service()),
            &format!("use the provider's region id, e.g. {example}"),
        ))
    }
}

fn normalise_zone(
    provider: Provider,
    field: &str,
    region: &str,
    zone: &str,
) -> Result<String, ModelError> {
    let bad = |rule: String, example: String| {
        Err(locality_error(
            field,
            zone,
            &rule,
            &format!("use e.g. {example}"),
        ))
    };
    match provider {
        Provider::Aws | Provider::Gcp => {
            let (separator, rule, example) = if provider == Provider::Aws {
                ("", "an AWS zone is its region plus a letter", "a")
            } else {
                ("-", "a GCP zone is its region, '-' and a letter", "b")
            };
            let suffix = zone
                .strip_prefix(region)
                .and_then(|s| s.strip_prefix(separator))
                .unwrap_or("");
            if suffix.len() == 1 && suffix.bytes().all(|b| b.is_ascii_lowercase()) {
                Ok(zone.to_owned())
            } else {
                bad(rule.to_owned(), provider.zone_name(region, example))
            }
        }
        Provider::Azure => {
            // Nodes carry `topology.kubernetes.io/zone=<region>-<n>`; users often write `<n>`.
            let number = zone
                .strip_prefix(region)
                .and_then(|s| s.strip_prefix('-'))
                .unwrap_or(zone);
            if matches!(number, "1" | "2" | "3") {
                Ok(provider.zone_name(region, number))
            } else {
                bad(
                    format!("Azure zones are 1, 2 or 3 (node label {region}-<n>)"),
                    provider.zone_name(region, "1"),
                )
            }
        }
        Provider::OnPrem => {
            validate_dns_subdomain(field, zone).map_err(|_| {
                locality_error(
                    field,
                    zone,
                    "an on-prem zone (room, rack) is a DNS label",
                    "e.g. rack-a",
                )
            })?;
            Ok(zone.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Provider::Aws, "us-east-1", &["us-east-1a", "us-east-1b", "us-east-1c"])]
    #[case(Provider::Aws, "us-gov-west-1", &["us-gov-west-1a"])]
    #[case(Provider::Gcp, "europe-west1", &["europe-west1-b", "europe-west1-c", "europe-west1-d"])]
    #[case(Provider::Azure, "westeurope", &["westeurope-1", "westeurope-2", "westeurope-3"])]
    #[case(Provider::OnPrem, "dc-frankfurt", &[])]
    fn valid_localities(#[case] provider: Provider, #[case] region: &str, #[case] zones: &[&str]) {
        let loc = Locality::new(
            provider,
            vec![RegionSpec::new(region, zones.iter().copied())],
        )
        .unwrap();
        assert_eq!(loc.zone_count(), zones.len());
    }

    #[rstest]
    #[case(Provider::Aws, "us-east-1", "us-west-2a", "regions[0].zones[0]")]
    #[case(Provider::Aws, "useast1", "useast1a", "regions[0].name")]
    #[case(Provider::Gcp, "europe-west1", "europe-west1b", "regions[0].zones[0]")]
    #[case(Provider::Azure, "westeurope", "4", "regions[0].zones[0]")]
    #[case(Provider::Azure, "West Europe", "1", "regions[0].name")]
    fn invalid_localities_name_the_field(
        #[case] provider: Provider,
        #[case] region: &str,
        #[case] zone: &str,
        #[case] field: &str,
    ) {
        let err = Locality::new(provider, vec![RegionSpec::new(region, [zone])])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(field), "{err}");
        assert!(err.contains("Fix:"), "{err}");
    }

    #[test]
    fn azure_bare_zone_numbers_are_normalised_to_node_labels() {
        let loc = Locality::new(
            Provider::Azure,
            vec![RegionSpec::new("eastus2", ["1", "2", "eastus2-3"])],
        )
        .unwrap();
        let zones: Vec<_> = loc.zones().map(|(_, z)| z).collect();
        assert_eq!(zones, ["eastus2-1", "eastus2-2", "eastus2-3"]);
    }

    #[test]
    fn duplicate_zone_and_region_are_refused() {
        assert!(
            Locality::new(
                Provider::Aws,
                vec![RegionSpec::new("us-east-1", ["us-east-1a", "us-east-1a"])]
            )
            .is_err()
        );
        let r = RegionSpec::new("us-east-1", ["us-east-1a"]);
        assert!(Locality::new(Provider::Aws, vec![r.clone(), r]).is_err());
        assert!(Locality::new(Provider::Aws, vec![]).is_err());
    }

    #[test]
    fn locality_flag_names_cloud_region_and_zone() {
        let loc = Locality::new(
            Provider::Gcp,
            vec![RegionSpec::new("europe-west1", ["europe-west1-b"])],
        )
        .unwrap();
        assert_eq!(
            loc.locality_flag("europe-west1", Some("europe-west1-b")),
            "cloud=gcp,region=europe-west1,zone=europe-west1-b"
        );
    }

    #[test]
    fn survival_goal_parses_and_sets_replication() {
        assert_eq!(
            "REGION"
                .parse::<SurvivalGoal>()
                .unwrap()
                .replication_factor(),
            5
        );
        let err = "planet".parse::<SurvivalGoal>().unwrap_err().to_string();
        assert!(err.contains("zone, region, provider"), "{err}");
    }
}
