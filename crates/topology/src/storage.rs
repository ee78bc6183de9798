//! Storage classes for ledger data on each provider, and how their performance scales.
//!
//! Every profile retains its volumes (`reclaimPolicy: Retain`), binds only once a pod is
//! scheduled (`WaitForFirstConsumer`, so a volume is created in the zone its pod landed in)
//! and allows expansion: ledger data must never be deleted as a side effect of deleting a claim.

use serde::Serialize;

use crate::provider::Provider;

/// A StorageClass the platform offers for ledger data on one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StorageProfile {
    /// `storageClassName` used in PVC templates.
    pub class_name: &'static str,
    /// CSI provisioner that serves the class.
    pub provisioner: &'static str,
    /// StorageClass `parameters` (besides per-volume IOPS/throughput, which sizing computes).
    pub parameters: &'static [(&'static str, &'static str)],
    /// Whether a volume survives the loss of one zone (Azure ZRS).
    pub zone_redundant: bool,
    /// How IOPS and throughput follow from the volume size and provisioned figures.
    pub performance: DiskPerformance,
    /// Largest volume the class can provision, in GiB.
    pub max_size_gib: u64,
    /// Where the figures come from.
    pub source: &'static str,
}

impl StorageProfile {
    /// `reclaimPolicy` of the class: always `Retain` for ledger data.
    pub const RECLAIM_POLICY: &'static str = "Retain";
    /// `volumeBindingMode` of the class.
    pub const VOLUME_BINDING_MODE: &'static str = "WaitForFirstConsumer";
}

/// One size step of a disk whose performance is fixed by its size (Azure Premium SSD tiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DiskTier {
    /// Tier name, e.g. `P30`.
    pub name: &'static str,
    /// Provisioned size of the tier, in GiB.
    pub size_gib: u64,
    /// Baseline IOPS of the tier.
    pub iops: u64,
    /// Baseline throughput of the tier, in MB/s.
    pub mbps: u64,
}

/// How a disk's performance is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiskPerformance {
    /// A baseline that comes free, with IOPS and throughput provisioned independently of size
    /// up to fixed caps (AWS gp3).
    Provisioned {
        /// IOPS included at any size.
        baseline_iops: u64,
        /// Throughput included at any size, MB/s.
        baseline_mbps: u64,
        /// Highest IOPS that can be provisioned.
        max_iops: u64,
        /// Highest throughput that can be provisioned, MB/s.
        max_mbps: u64,
        /// IOPS allowed per GiB of volume size.
        max_iops_per_gib: u64,
        /// Throughput allowed per provisioned IOPS, in MB/s per 1000 IOPS.
        max_mbps_per_kiops: u64,
    },
    /// IOPS provisioned up to a per-GiB ratio; throughput follows from the IOPS (AWS io2).
    ProvisionedIops {
        /// Highest IOPS that can be provisioned.
        max_iops: u64,
        /// Highest throughput, MB/s.
        max_mbps: u64,
        /// IOPS allowed per GiB of volume size.
        max_iops_per_gib: u64,
    },
    /// Performance fixed by the size tier the volume falls into (Azure Premium SSD).
    SizeTiered {
        /// Tiers in increasing size.
        tiers: &'static [DiskTier],
    },
    /// Performance that grows linearly with size up to caps (GCP pd-ssd).
    PerGib {
        /// IOPS per GiB.
        iops_per_gib: u64,
        /// Throughput per GiB, in KB/s (pd-ssd gives 0.48 MB/s per GiB).
        kbps_per_gib: u64,
        /// Per-volume IOPS cap.
        max_iops: u64,
        /// Per-volume throughput cap, MB/s.
        max_mbps: u64,
    },
    /// Local or Ceph disks whose performance depends on the hardware; sizing states the
    /// requirement for the platform team to verify instead of computing it.
    HardwareDependent,
}

const AZURE_PREMIUM_TIERS: &[DiskTier] = &[
    DiskTier {
        name: "P10",
        size_gib: 128,
        iops: 500,
        mbps: 100,
    },
    DiskTier {
        name: "P15",
        size_gib: 256,
        iops: 1_100,
        mbps: 125,
    },
    DiskTier {
        name: "P20",
        size_gib: 512,
        iops: 2_300,
        mbps: 150,
    },
    DiskTier {
        name: "P30",
        size_gib: 1_024,
        iops: 5_000,
        mbps: 200,
    },
    DiskTier {
        name: "P40",
        size_gib: 2_048,
        iops: 7_500,
        mbps: 250,
    },
    DiskTier {
        name: "P50",
        size_gib: 4_096,
        iops: 7_500,
        mbps: 250,
    },
    DiskTier {
        name: "P60",
        size_gib: 8_192,
        iops: 16_000,
        mbps: 500,
    },
    DiskTier {
        name: "P70",
        size_gib: 16_384,
        iops: 18_000,
        mbps: 750,
    },
    DiskTier {
        name: "P80",
        size_gib: 32_767,
        iops: 20_000,
        mbps: 900,
    },
];

const AWS: &[StorageProfile] = &[
    StorageProfile {
        class_name: "gp3",
        provisioner: "ebs.csi.aws.com",
        parameters: &[("type", "gp3"), ("encrypted", "true"), ("fsType", "ext4")],
        zone_redundant: false,
        performance: DiskPerformance::Provisioned {
            baseline_iops: 3_000,
            baseline_mbps: 125,
            max_iops: 16_000,
            max_mbps: 1_000,
            max_iops_per_gib: 500,
            max_mbps_per_kiops: 250,
        },
        max_size_gib: 16_384,
        source: "AWS EBS volume types: gp3 (3,000 IOPS and 125 MB/s included; up to 16,000 IOPS, 1,000 MB/s, 500 IOPS/GiB, 0.25 MB/s per IOPS)",
    },
    StorageProfile {
        class_name: "io2",
        provisioner: "ebs.csi.aws.com",
        parameters: &[("type", "io2"), ("encrypted", "true"), ("fsType", "ext4")],
        zone_redundant: false,
        performance: DiskPerformance::ProvisionedIops {
            max_iops: 64_000,
            max_mbps: 1_000,
            max_iops_per_gib: 500,
        },
        max_size_gib: 16_384,
        source: "AWS EBS volume types: io2 (up to 64,000 IOPS and 1,000 MB/s, 500 IOPS/GiB)",
    },
];

const AZURE: &[StorageProfile] = &[
    StorageProfile {
        class_name: "managed-csi-premium",
        provisioner: "disk.csi.azure.com",
        parameters: &[("skuName", "Premium_LRS"), ("cachingMode", "None")],
        zone_redundant: false,
        performance: DiskPerformance::SizeTiered {
            tiers: AZURE_PREMIUM_TIERS,
        },
        max_size_gib: 32_767,
        source: "Azure managed disks: Premium SSD size tiers P10–P80",
    },
    StorageProfile {
        class_name: "managed-csi-premium-zrs",
        provisioner: "disk.csi.azure.com",
        parameters: &[("skuName", "Premium_ZRS"), ("cachingMode", "None")],
        zone_redundant: true,
        performance: DiskPerformance::SizeTiered {
            tiers: AZURE_PREMIUM_TIERS,
        },
        max_size_gib: 32_767,
        source: "Azure managed disks: zone-redundant Premium SSD (same tiers as Premium_LRS)",
    },
];

const GCP: &[StorageProfile] = &[StorageProfile {
    class_name: "premium-rwo",
    provisioner: "pd.csi.storage.gke.io",
    parameters: &[("type", "pd-ssd")],
    zone_redundant: false,
    performance: DiskPerformance::PerGib {
        iops_per_gib: 30,
        kbps_per_gib: 480,
        max_iops: 100_000,
        max_mbps: 1_200,
    },
    max_size_gib: 65_536,
    source: "GCP persistent disk performance: pd-ssd 30 IOPS and 0.48 MB/s per GiB (per-VM caps depend on vCPUs)",
}];

const ONPREM: &[StorageProfile] = &[
    StorageProfile {
        class_name: "local-path",
        provisioner: "rancher.io/local-path",
        parameters: &[],
        zone_redundant: false,
        performance: DiskPerformance::HardwareDependent,
        max_size_gib: u64::MAX,
        source: "local-path-provisioner: a directory on the node's own disk",
    },
    StorageProfile {
        class_name: "csi-ceph",
        provisioner: "rbd.csi.ceph.com",
        parameters: &[
            ("imageFeatures", "layering"),
            ("csi.storage.k8s.io/fstype", "ext4"),
        ],
        zone_redundant: false,
        performance: DiskPerformance::HardwareDependent,
        max_size_gib: u64::MAX,
        source: "Ceph CSI RBD: block images on the bank's Ceph cluster",
    },
];

pub(crate) fn profiles(provider: Provider) -> &'static [StorageProfile] {
    match provider {
        Provider::Aws => AWS,
        Provider::Azure => AZURE,
        Provider::Gcp => GCP,
        Provider::OnPrem => ONPREM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_a_default_profile_with_a_csi_provisioner() {
        for p in Provider::ALL {
            let profiles = p.storage_profiles();
            assert!(!profiles.is_empty(), "{p}");
            for profile in profiles {
                assert!(profile.provisioner.contains('.'), "{}", profile.provisioner);
            }
        }
    }

    #[test]
    fn azure_tiers_grow_monotonically() {
        for pair in AZURE_PREMIUM_TIERS.windows(2) {
            assert!(pair[0].size_gib < pair[1].size_gib);
            assert!(pair[0].iops <= pair[1].iops);
            assert!(pair[0].mbps <= pair[1].mbps);
        }
    }

    #[test]
    fn zone_redundant_premium_is_offered_on_azure() {
        let zrs = Provider::Azure
            .storage_profile("managed-csi-premium-zrs")
            .unwrap();
        assert!(zrs.zone_redundant);
        assert!(zrs.parameters.contains(&("skuName", "Premium_ZRS")));
    }
}
