//! The four places a thin ledger runs, and what each one implies.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::instance::{self, InstanceFamily};
use crate::storage::{self, StorageProfile};

/// Label every cloud provider's nodes carry for their availability zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// Label every node carries for its host name; on-prem uses it as the failure domain.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// Label every cloud provider's nodes carry for their region.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";

/// Where a tenant's ledger runs.
///
/// Parses from `aws`, `azure`, `gcp` and `onprem` (plus the aliases `eks`, `aks`, `gke`,
/// `on-prem`), case-insensitively; anything else is an error listing the valid values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// Amazon Web Services, Kubernetes on EKS.
    Aws,
    /// Microsoft Azure, Kubernetes on AKS.
    Azure,
    /// Google Cloud, Kubernetes on GKE.
    Gcp,
    /// A bank's own data centre; object storage is S3-compatible (MinIO).
    #[serde(rename = "onprem", alias = "on-prem")]
    OnPrem,
}

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 4] = [
        Provider::Aws,
        Provider::Azure,
        Provider::Gcp,
        Provider::OnPrem,
    ];

    /// The canonical name, as accepted by [`FromStr`] and used in `--locality=cloud=…`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
            Provider::OnPrem => "onprem",
        }
    }

    /// The managed Kubernetes offering, for messages.
    pub fn kubernetes_service(self) -> &'static str {
        match self {
            Provider::Aws => "EKS",
            Provider::Azure => "AKS",
            Provider::Gcp => "GKE",
            Provider::OnPrem => "self-managed Kubernetes",
        }
    }

    /// Whether the provider has availability zones that nodes are labelled with.
    ///
    /// On-prem clusters are modelled without zones: the failure domain is the host, so the
    /// zone-spread rule does not apply there (anti-affinity on the host name still does).
    pub fn has_zones(self) -> bool {
        !matches!(self, Provider::OnPrem)
    }

    /// The node label that pods spread over and that marks a failure domain.
    pub fn topology_key(self) -> &'static str {
        if self.has_zones() {
            ZONE_LABEL
        } else {
            HOSTNAME_LABEL
        }
    }

    /// Storage profiles offered for ledger data; the first is the default.
    pub fn storage_profiles(self) -> &'static [StorageProfile] {
        storage::profiles(self)
    }

    /// The profile used when a tenant names none.
    pub fn default_storage(self) -> &'static StorageProfile {
        &storage::profiles(self)[0]
    }

    /// Looks up a storage profile by its class name, e.g. `gp3` or `managed-csi-premium-zrs`.
    pub fn storage_profile(self, class_name: &str) -> Result<&'static StorageProfile, ParseError> {
        let profiles = storage::profiles(self);
        profiles
            .iter()
            .find(|p| p.class_name == class_name)
            .ok_or_else(|| ParseError {
                what: "storage class",
                value: class_name.to_owned(),
                valid: profiles.iter().map(|p| p.class_name.to_owned()).collect(),
                context: Some(format!("for provider {self}")),
            })
    }

    /// The name nodes carry in `topology.kubernetes.io/zone` for zone `zone` of `region`: the
    /// one place each provider's zone naming lives.
    ///
    /// `zone` is the provider's short zone id: AWS's letter (`us-east-1` + `a` →
    /// `us-east-1a`), GCP's letter (`europe-west1` + `b` → `europe-west1-b`), Azure's number
    /// (`westeurope` + `1` → `westeurope-1`); on-prem zones (rooms, racks) are taken as written.
    ///
    /// ```
    /// use thinledger_topology::Provider;
    ///
    /// assert_eq!(Provider::Aws.zone_name("us-east-1", "a"), "us-east-1a");
    /// assert_eq!(Provider::Gcp.zone_name("europe-west1", "b"), "europe-west1-b");
    /// assert_eq!(Provider::Azure.zone_name("westeurope", "1"), "westeurope-1");
    /// assert_eq!(Provider::OnPrem.zone_name("dc-1", "rack-a"), "rack-a");
    /// ```
    pub fn zone_name(self, region: &str, zone: &str) -> String {
        match self {
            Provider::Aws => format!("{region}{zone}"),
            Provider::Azure | Provider::Gcp => format!("{region}-{zone}"),
            Provider::OnPrem => zone.to_owned(),
        }
    }

    /// The zones a region has when none are listed, as node labels ([`Provider::zone_name`]):
    /// AWS `a`, `b`, `c`; Azure `1`, `2`, `3`; none on-prem (the host is the failure domain).
    /// `None` for GCP, whose zone letters differ per region (`us-east1` has no zone `a`).
    pub fn default_zones(self, region: &str) -> Option<Vec<String>> {
        let short: &[&str] = match self {
            Provider::Aws => &["a", "b", "c"],
            Provider::Azure => &["1", "2", "3"],
            Provider::Gcp => return None,
            Provider::OnPrem => &[],
        };
        Some(short.iter().map(|z| self.zone_name(region, z)).collect())
    }

    /// Instance families approved for ledger nodes (no burstable types). Empty on-prem, where
    /// the hardware is whatever the bank racks.
    pub fn instance_families(self) -> &'static [InstanceFamily] {
        instance::families(self)
    }
}

crate::error::display_as_str!(Provider);

impl FromStr for Provider {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aws" | "eks" => Ok(Provider::Aws),
            "azure" | "aks" => Ok(Provider::Azure),
            "gcp" | "gke" | "google" => Ok(Provider::Gcp),
            "onprem" | "on-prem" | "on_prem" => Ok(Provider::OnPrem),
            _ => Err(ParseError::unknown(
                "provider",
                s,
                &Provider::ALL,
                Provider::as_str,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("aws", Provider::Aws)]
    #[case("EKS", Provider::Aws)]
    #[case("azure", Provider::Azure)]
    #[case("aks", Provider::Azure)]
    #[case("gcp", Provider::Gcp)]
    #[case(" GKE ", Provider::Gcp)]
    #[case("onprem", Provider::OnPrem)]
    #[case("on-prem", Provider::OnPrem)]
    fn parses_names_and_aliases(#[case] input: &str, #[case] expected: Provider) {
        assert_eq!(input.parse::<Provider>().unwrap(), expected);
    }

    #[test]
    fn unknown_provider_lists_valid_values() {
        let err = "digitalocean".parse::<Provider>().unwrap_err().to_string();
        assert!(err.contains("digitalocean"), "{err}");
        assert!(err.contains("aws, azure, gcp, onprem"), "{err}");
    }

    #[rstest]
    #[case(Provider::Aws, ZONE_LABEL)]
    #[case(Provider::Azure, ZONE_LABEL)]
    #[case(Provider::Gcp, ZONE_LABEL)]
    #[case(Provider::OnPrem, HOSTNAME_LABEL)]
    fn topology_key_per_provider(#[case] provider: Provider, #[case] key: &str) {
        assert_eq!(provider.topology_key(), key);
    }

    #[rstest]
    #[case(Provider::Aws, "gp3")]
    #[case(Provider::Azure, "managed-csi-premium")]
    #[case(Provider::Gcp, "premium-rwo")]
    #[case(Provider::OnPrem, "local-path")]
    fn default_storage_class(#[case] provider: Provider, #[case] class: &str) {
        assert_eq!(provider.default_storage().class_name, class);
    }

    #[test]
    fn unknown_storage_class_lists_the_providers_classes() {
        let err = Provider::Aws
            .storage_profile("gp2")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gp2") && err.contains("gp3, io2") && err.contains("aws"),
            "{err}"
        );
    }

    #[rstest]
    #[case(Provider::Aws, "us-east-1", &["us-east-1a", "us-east-1b", "us-east-1c"])]
    #[case(Provider::Azure, "westeurope", &["westeurope-1", "westeurope-2", "westeurope-3"])]
    #[case(Provider::OnPrem, "dc-1", &[])]
    fn default_zones_are_node_labels(
        #[case] provider: Provider,
        #[case] region: &str,
        #[case] zones: &[&str],
    ) {
        assert_eq!(provider.default_zones(region).unwrap(), zones);
    }

    #[test]
    fn gcp_has_no_default_zones() {
        assert!(Provider::Gcp.default_zones("europe-west1").is_none());
    }

    #[test]
    fn serde_round_trip_uses_canonical_names() {
        for p in Provider::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Provider>(&json).unwrap(), p);
        }
    }
}
