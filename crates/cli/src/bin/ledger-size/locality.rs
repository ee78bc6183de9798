//! `--regions` and `--zones` into a validated locality.
//!
//! Zones go to the region they name (`eu-west-1a` → `eu-west-1`), to the only region when there
//! is one, or to the region written before a slash (`dc-1/rack-a`); Azure's bare `1`, `2`, `3`
//! apply to every region. Without `--zones`, AWS regions get zones a, b, c and Azure regions
//! 1, 2, 3; GCP zone letters differ per region, so GCP needs `--zones`; on-prem regions have
//! no zones (the host is the failure domain).

use anyhow::bail;
use thinledger_topology::{Locality, Provider, RegionSpec};

/// The locality the flags describe, or `None` to let sizing use its placeholder.
pub fn from_flags(
    provider: Provider,
    regions: &[String],
    zones: &[String],
) -> anyhow::Result<Option<Locality>> {
    if regions.is_empty() {
        return Ok(None);
    }
    let mut specs: Vec<RegionSpec> = regions
        .iter()
        .map(|r| RegionSpec::new(r.trim(), Vec::<String>::new()))
        .collect();
    if zones.is_empty() {
        for spec in &mut specs {
            spec.zones = match provider {
                Provider::Aws => ["a", "b", "c"]
                    .iter()
                    .map(|z| format!("{}{z}", spec.name))
                    .collect(),
                Provider::Azure => ["1", "2", "3"].iter().map(|z| (*z).to_owned()).collect(),
                Provider::Gcp => bail!(
                    "GCP zone letters differ per region; list the zones, e.g. --zones {0}-b,{0}-c,{0}-d",
                    spec.name
                ),
                _ => Vec::new(),
            };
        }
    } else {
        for zone in zones {
            let zone = zone.trim();
            if let Some((region, name)) = zone.split_once('/') {
                match specs.iter_mut().find(|s| s.name == region) {
                    Some(spec) => spec.zones.push(name.to_owned()),
                    None => {
                        bail!("zone {zone:?} names region {region:?}, which is not in --regions")
                    }
                }
            } else if provider == Provider::Azure && matches!(zone, "1" | "2" | "3") {
                for spec in &mut specs {
                    spec.zones.push(zone.to_owned());
                }
            } else if specs.len() == 1 {
                specs[0].zones.push(zone.to_owned());
            } else {
                let owner = specs
                    .iter_mut()
                    .filter(|s| zone.starts_with(s.name.as_str()))
                    .max_by_key(|s| s.name.len());
                match owner {
                    Some(spec) => spec.zones.push(zone.to_owned()),
                    None => bail!(
                        "zone {zone:?} belongs to none of the regions {}; write it as region/zone",
                        regions.join(", ")
                    ),
                }
            }
        }
    }
    Ok(Some(Locality::new(provider, specs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn zones_go_to_their_regions() {
        let locality = from_flags(
            Provider::Aws,
            &strings(&["us-east-1", "us-east-2"]),
            &strings(&["us-east-1a", "us-east-1b", "us-east-2a"]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(locality.regions()[0].zones, ["us-east-1a", "us-east-1b"]);
        assert_eq!(locality.regions()[1].zones, ["us-east-2a"]);
    }

    #[test]
    fn defaults_and_refusals() {
        let aws = from_flags(Provider::Aws, &strings(&["eu-west-1"]), &[])
            .unwrap()
            .unwrap();
        assert_eq!(aws.zone_count(), 3);
        let azure = from_flags(
            Provider::Azure,
            &strings(&["westeurope", "northeurope"]),
            &strings(&["1", "2", "3"]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            azure.regions()[1].zones,
            ["northeurope-1", "northeurope-2", "northeurope-3"]
        );
        let gcp = from_flags(Provider::Gcp, &strings(&["europe-west1"]), &[]).unwrap_err();
        assert!(gcp.to_string().contains("--zones europe-west1-b"), "{gcp}");
        let stray = from_flags(
            Provider::Aws,
            &strings(&["us-east-1", "us-west-2"]),
            &strings(&["eu-west-1a"]),
        )
        .unwrap_err();
        assert!(stray.to_string().contains("region/zone"), "{stray}");
        assert!(from_flags(Provider::Aws, &[], &[]).unwrap().is_none());
    }
}
