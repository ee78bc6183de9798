//! A locality from flat lists of region and zone names (as `ledger-size --regions --zones`
//! takes them).
//!
//! Zones go to the region they name (`eu-west-1a` → `eu-west-1`), to the only region when there
//! is one, or to the region written before a slash (`dc-1/rack-a`); Azure's bare `1`, `2`, `3`
//! apply to every region. Without zones, each region gets [`Provider::default_zones`]: AWS
//! zones a, b, c and Azure 1, 2, 3; GCP zone letters differ per region, so GCP needs zones;
//! on-prem regions have no zones (the host is the failure domain).

use crate::error::ModelError;
use crate::locality::{Locality, RegionSpec, locality_error};
use crate::provider::Provider;

impl Locality {
    /// The locality of `regions` with `zones` assigned to them (see the module docs), then
    /// validated and normalised as by [`Locality::new`].
    ///
    /// ```
    /// use thinledger_topology::{Locality, Provider};
    ///
    /// let two = Locality::from_names(Provider::Aws, &["us-east-1", "us-east-2"], &["us-east-1a", "us-east-2a"])?;
    /// assert_eq!(two.regions()[1].zones, ["us-east-2a"]);
    /// let azure = Locality::from_names(Provider::Azure, &["westeurope"], &[] as &[&str])?;
    /// assert_eq!(azure.regions()[0].zones, ["westeurope-1", "westeurope-2", "westeurope-3"]);
    /// # Ok::<(), thinledger_topology::ModelError>(())
    /// ```
    pub fn from_names(
        provider: Provider,
        regions: &[impl AsRef<str>],
        zones: &[impl AsRef<str>],
    ) -> Result<Locality, ModelError> {
        let mut specs: Vec<RegionSpec> = regions
            .iter()
            .map(|r| RegionSpec::new(r.as_ref().trim(), Vec::<String>::new()))
            .collect();
        if zones.is_empty() {
            for (i, spec) in specs.iter_mut().enumerate() {
                spec.zones = provider.default_zones(&spec.name).ok_or_else(|| {
                    let example: Vec<String> = ["b", "c", "d"]
                        .iter()
                        .map(|z| provider.zone_name(&spec.name, z))
                        .collect();
                    // Only GCP has no default zones.
                    locality_error(
                        &format!("regions[{i}]"),
                        &spec.name,
                        "GCP zone letters differ per region, so the region's zones must be listed",
                        &format!("list its zones, e.g. {}", example.join(",")),
                    )
                })?;
            }
        } else {
            let names: Vec<&str> = regions.iter().map(|r| r.as_ref().trim()).collect();
            for zone in zones {
                let zone = zone.as_ref().trim();
                if let Some((region, name)) = zone.split_once('/') {
                    match specs.iter_mut().find(|s| s.name == region) {
                        Some(spec) => spec.zones.push(name.to_owned()),
                        None => {
                            return Err(locality_error(
                                "zones",
                                zone,
                                &format!(
                                    "the zone names region {region:?}, which is not in the regions"
                                ),
                                &format!("add {region} to the regions or fix the zone"),
                            ));
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
                        None => {
                            return Err(locality_error(
                                "zones",
                                zone,
                                &format!(
                                    "the zone belongs to none of the regions {}",
                                    names.join(", ")
                                ),
                                "write it as region/zone",
                            ));
                        }
                    }
                }
            }
        }
        Locality::new(provider, specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn zones_go_to_their_regions() {
        let locality = Locality::from_names(
            Provider::Aws,
            &strings(&["us-east-1", "us-east-2"]),
            &strings(&["us-east-1a", "us-east-1b", "us-east-2a"]),
        )
        .unwrap();
        assert_eq!(locality.regions()[0].zones, ["us-east-1a", "us-east-1b"]);
        assert_eq!(locality.regions()[1].zones, ["us-east-2a"]);
    }

    #[test]
    fn defaults_and_refusals() {
        let aws =
            Locality::from_names(Provider::Aws, &strings(&["eu-west-1"]), &[] as &[&str]).unwrap();
        assert_eq!(aws.zone_count(), 3);
        let azure = Locality::from_names(
            Provider::Azure,
            &strings(&["westeurope", "northeurope"]),
            &strings(&["1", "2", "3"]),
        )
        .unwrap();
        assert_eq!(
            azure.regions()[1].zones,
            ["northeurope-1", "northeurope-2", "northeurope-3"]
        );
        let gcp = Locality::from_names(Provider::Gcp, &strings(&["europe-west1"]), &[] as &[&str])
            .unwrap_err();
        assert!(
            gcp.to_string()
                .contains("e.g. europe-west1-b,europe-west1-c"),
            "{gcp}"
        );
        let stray = Locality::from_names(
            Provider::Aws,
            &strings(&["us-east-1", "us-west-2"]),
            &strings(&["eu-west-1a"]),
        )
        .unwrap_err();
        assert!(stray.to_string().contains("region/zone"), "{stray}");
        let foreign = Locality::from_names(
            Provider::Aws,
            &strings(&["us-east-1"]),
            &strings(&["us-west-1/a"]),
        )
        .unwrap_err();
        assert!(foreign.to_string().contains("\"us-west-1\""), "{foreign}");
        assert!(Locality::from_names(Provider::Aws, &[] as &[&str], &[] as &[&str]).is_err());
    }
}
