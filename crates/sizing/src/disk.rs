//! Mapping a node's disk requirement (capacity, IOPS, throughput) onto a provider's storage
//! class: provision IOPS/throughput where the class allows it, size the volume up where
//! performance follows size, and state the requirement where it depends on hardware.

use std::collections::BTreeMap;

use thinledger_topology::{DiskPerformance, StorageProfile};

use crate::rules::LARGE_IO_KIB;

/// What a node's volume must provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskNeed {
    /// Capacity, GiB.
    pub capacity_gib: u64,
    /// Largest size allowed, GiB.
    pub max_gib: u64,
    /// IOPS.
    pub iops: u64,
    /// Throughput, MB/s.
    pub mbps: u64,
}

impl DiskNeed {
    /// A volume of `wanted` GiB held to the need: at least the capacity, at most the ceiling
    /// (unless the capacity itself is above it, which the caller reports).
    fn size_within(&self, wanted: u64) -> u64 {
        wanted
            .max(self.capacity_gib)
            .min(self.max_gib.max(self.capacity_gib))
    }
}

/// A volume on one storage class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiskChoice {
    pub size_gib: u64,
    pub provisioned_iops: Option<u64>,
    pub provisioned_mbps: Option<u64>,
    pub delivered_iops: Option<u64>,
    pub delivered_mbps: Option<u64>,
    pub performance_tier: Option<&'static str>,
    /// Parameters to add to the class's own (per-volume IOPS/throughput).
    pub extra_parameters: BTreeMap<String, String>,
    /// How the class was mapped, in words, for the rules.
    pub explanation: String,
    /// What the class cannot deliver, if anything.
    pub shortfall: Option<String>,
    /// A requirement to verify by hand (hardware-dependent classes).
    pub verify: Option<String>,
}

impl DiskChoice {
    fn new(size_gib: u64, explanation: String) -> Self {
        DiskChoice {
            size_gib,
            provisioned_iops: None,
            provisioned_mbps: None,
            delivered_iops: None,
            delivered_mbps: None,
            performance_tier: None,
            extra_parameters: BTreeMap::new(),
            explanation,
            shortfall: None,
            verify: None,
        }
    }

    /// Provisions `iops` on the volume (the StorageClass parameter `iops`); it delivers them
    /// up to the class's IOPS per GiB of its size.
    fn provision_iops(&mut self, iops: u64, max_iops_per_gib: u64) {
        self.provisioned_iops = Some(iops);
        self.delivered_iops = Some(iops.min(self.size_gib * max_iops_per_gib));
        self.extra_parameters
            .insert("iops".to_owned(), iops.to_string());
    }

    fn check_delivery(&mut self, class: &str, need: &DiskNeed) {
        let (Some(iops), Some(mbps)) = (self.delivered_iops, self.delivered_mbps) else {
            return;
        };
        if iops < need.iops || mbps < need.mbps {
            self.shortfall = Some(format!(
                "{class} delivers {iops} IOPS / {mbps} MB/s per volume within {} GiB, short of the \
                 {} IOPS / {} MB/s needed; expect I/O-bound latency under load, or choose a \
                 faster class (AWS io2, Azure Premium SSD v2/Ultra, GCP Hyperdisk) or smaller nodes",
                self.size_gib, need.iops, need.mbps
            ));
        }
    }
}

/// Maps `need` onto `profile`.
pub(crate) fn map(profile: &StorageProfile, need: &DiskNeed) -> DiskChoice {
    let class = profile.class_name;
    let mut choice = match profile.performance {
        DiskPerformance::Provisioned {
            baseline_iops,
            baseline_mbps,
            max_iops,
            max_mbps,
            max_iops_per_gib,
            max_mbps_per_kiops,
        } => {
            // Throughput may be at most max_mbps_per_kiops MB/s per 1000 IOPS, so enough
            // throughput can require more IOPS; IOPS may be at most max_iops_per_gib per GiB,
            // so enough IOPS can require a bigger volume.
            let iops_for_mbps = (need.mbps * 1000).div_ceil(max_mbps_per_kiops.max(1));
            let iops = need
                .iops
                .max(iops_for_mbps)
                .max(baseline_iops)
                .min(max_iops);
            let mbps = need.mbps.max(baseline_mbps).min(max_mbps);
            let size = need.size_within(iops.div_ceil(max_iops_per_gib.max(1)));
            let mut c = DiskChoice::new(
                size,
                format!(
                    "{class}: {baseline_iops} IOPS / {baseline_mbps} MB/s included; provision \
                     {iops} IOPS and {mbps} MB/s (StorageClass parameters iops/throughput)"
                ),
            );
            c.provision_iops(iops, max_iops_per_gib);
            c.provisioned_mbps = Some(mbps);
            c.delivered_mbps = Some(mbps);
            c.extra_parameters
                .insert("throughput".to_owned(), mbps.to_string());
            c
        }
        DiskPerformance::ProvisionedIops {
            max_iops,
            max_mbps,
            max_iops_per_gib,
        } => {
            // Throughput is IOPS × I/O size; at the large I/O sizes of WAL writes and
            // compactions each IOPS carries LARGE_IO_KIB.
            let iops_for_mbps = (need.mbps * 1000).div_ceil(LARGE_IO_KIB);
            let iops = need.iops.max(iops_for_mbps).min(max_iops);
            let size = need.size_within(iops.div_ceil(max_iops_per_gib.max(1)));
            let mut c = DiskChoice::new(
                size,
                format!(
                    "{class}: provision {iops} IOPS (StorageClass parameter iops); throughput is \
                     IOPS × I/O size up to {max_mbps} MB/s, assuming {LARGE_IO_KIB} KiB I/O"
                ),
            );
            c.provision_iops(iops, max_iops_per_gib);
            c.delivered_mbps = Some((iops * LARGE_IO_KIB / 1000).min(max_mbps));
            c
        }
        DiskPerformance::SizeTiered { tiers } => {
            // A volume gets the performance of the smallest tier at least its size, so a
            // tier T is reached by any size in (previous tier, T]; prefer T's full size (billed
            // anyway) unless the ceiling forbids it.
            let reachable: Vec<(usize, u64)> = tiers
                .iter()
                .enumerate()
                .filter_map(|(i, tier)| {
                    let floor = if i == 0 { 1 } else { tiers[i - 1].size_gib + 1 };
                    let size = tier.size_gib.min(need.max_gib).max(need.capacity_gib);
                    (size >= floor && size <= tier.size_gib).then_some((i, size))
                })
                .collect();
            let delivering = reachable
                .iter()
                .find(|(i, _)| tiers[*i].iops >= need.iops && tiers[*i].mbps >= need.mbps)
                .or(reachable.last())
                .copied();
            match delivering {
                Some((i, size)) => {
                    let tier = tiers[i];
                    let mut c = DiskChoice::new(
                        size,
                        format!(
                            "{class}: performance is set by size tier; {} ({} IOPS, {} MB/s) is \
                             the smallest tier that delivers, reached at {size} GiB",
                            tier.name, tier.iops, tier.mbps
                        ),
                    );
                    c.performance_tier = Some(tier.name);
                    c.delivered_iops = Some(tier.iops);
                    c.delivered_mbps = Some(tier.mbps);
                    c
                }
                None => {
                    let mut c = DiskChoice::new(
                        need.capacity_gib,
                        format!("{class}: no size tier holds {} GiB", need.capacity_gib),
                    );
                    c.shortfall = Some(format!(
                        "{class} has no size tier for {} GiB",
                        need.capacity_gib
                    ));
                    c
                }
            }
        }
        DiskPerformance::PerGib {
            iops_per_gib,
            kbps_per_gib,
            max_iops,
            max_mbps,
        } => {
            let for_iops = need.iops.div_ceil(iops_per_gib.max(1));
            let for_mbps = (need.mbps * 1000).div_ceil(kbps_per_gib.max(1));
            let wanted = need.capacity_gib.max(for_iops).max(for_mbps);
            let size = need.size_within(wanted);
            let mut c = DiskChoice::new(
                size,
                format!(
                    "{class}: performance grows with size ({iops_per_gib} IOPS and {} MB/s per \
                     GiB); {wanted} GiB delivers {} IOPS / {} MB/s",
                    kbps_per_gib as f64 / 1000.0,
                    need.iops,
                    need.mbps
                ),
            );
            c.delivered_iops = Some((size * iops_per_gib).min(max_iops));
            c.delivered_mbps = Some((size * kbps_per_gib / 1000).min(max_mbps));
            c
        }
        // Hardware-dependent classes, and any model added to the provider crate later.
        _ => {
            let mut c = DiskChoice::new(
                need.capacity_gib,
                format!("{class}: performance depends on the hardware behind the class"),
            );
            c.verify = Some(format!(
                "verify that each {class} volume sustains at least {} IOPS and {} MB/s of mixed \
                 4 KiB random and large sequential writes (e.g. with fio on a node of this \
                 shape) before going live",
                need.iops, need.mbps
            ));
            c
        }
    };
    choice.check_delivery(class, need);
    choice
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use thinledger_topology::Provider;

    fn need(capacity_gib: u64, vcpu: u64) -> DiskNeed {
        DiskNeed {
            capacity_gib,
            max_gib: (320 * vcpu).min(10 * 1024),
            iops: 500 * vcpu,
            mbps: 30 * vcpu,
        }
    }

    fn profile(provider: Provider, class: &str) -> &'static StorageProfile {
        provider.storage_profile(class).unwrap()
    }

    #[rstest]
    // 4 vCPU need 2000 IOPS / 120 MB/s: gp3's included 3000 / 125 suffice.
    #[case(4, 500, 3000, 125)]
    // 8 vCPU: 4000 IOPS, 240 MB/s (240 MB/s needs at least 960 IOPS; 4000 > that).
    #[case(8, 1200, 4000, 240)]
    // 16 vCPU: 8000 IOPS, 480 MB/s.
    #[case(16, 1200, 8000, 480)]
    fn gp3_provisions_iops_and_throughput(
        #[case] vcpu: u64,
        #[case] capacity: u64,
        #[case] iops: u64,
        #[case] mbps: u64,
    ) {
        let c = map(profile(Provider::Aws, "gp3"), &need(capacity, vcpu));
        assert_eq!(c.provisioned_iops, Some(iops));
        assert_eq!(c.provisioned_mbps, Some(mbps));
        assert_eq!(c.extra_parameters["iops"], iops.to_string());
        assert_eq!(c.extra_parameters["throughput"], mbps.to_string());
        assert_eq!(c.size_gib, capacity);
        assert!(c.shortfall.is_none());
    }

    #[test]
    fn io2_serves_iops_beyond_gp3s_cap() {
        // 33 vCPU: 16500 IOPS (gp3 stops at 16000) and 990 MB/s (io2 stops at 1000).
        let n = need(4000, 33);
        let gp3 = map(profile(Provider::Aws, "gp3"), &n);
        assert!(gp3.shortfall.is_some());
        let io2 = map(profile(Provider::Aws, "io2"), &n);
        assert!(io2.shortfall.is_none(), "{:?}", io2.shortfall);
        assert_eq!(io2.provisioned_iops, Some(16_500));
        assert_eq!(io2.extra_parameters["iops"], "16500");
    }

    #[rstest]
    // 4 vCPU: 2000 IOPS / 120 MB/s -> P20 (2300 / 150), 512 GiB.
    #[case(4, 100, "P20", 512)]
    // 8 vCPU: 4000 IOPS / 240 MB/s -> P40 (7500 / 250), 2048 GiB.
    #[case(8, 100, "P40", 2048)]
    // 16 vCPU: 8000 / 480 -> P60 (16000 / 500); its 8192 GiB exceed 320×16 = 5120, but
    // 5120 GiB is still in P60's size range (4097..=8192).
    #[case(16, 100, "P60", 5120)]
    // Capacity above the delivering tier's size moves to the tier that holds it.
    #[case(8, 2100, "P50", 2560)]
    fn azure_sizes_up_to_the_tier_that_delivers(
        #[case] vcpu: u64,
        #[case] capacity: u64,
        #[case] tier: &str,
        #[case] size: u64,
    ) {
        let c = map(
            profile(Provider::Azure, "managed-csi-premium"),
            &need(capacity, vcpu),
        );
        assert_eq!(c.performance_tier, Some(tier));
        assert_eq!(c.size_gib, size);
        assert!(c.shortfall.is_none(), "{:?}", c.shortfall);
    }

    #[rstest]
    // 8 vCPU: 240 MB/s at 0.48 MB/s per GiB needs 500 GiB.
    #[case(8, 100, 500)]
    #[case(8, 900, 900)]
    // 4 vCPU: 120 MB/s -> 250 GiB.
    #[case(4, 10, 250)]
    fn gcp_pd_ssd_sizes_up_for_throughput(
        #[case] vcpu: u64,
        #[case] capacity: u64,
        #[case] size: u64,
    ) {
        let c = map(profile(Provider::Gcp, "premium-rwo"), &need(capacity, vcpu));
        assert_eq!(c.size_gib, size);
        assert!(c.delivered_iops.unwrap() >= 500 * vcpu);
        assert!(c.delivered_mbps.unwrap() >= 30 * vcpu);
    }

    #[test]
    fn onprem_states_the_requirement_to_verify() {
        let c = map(profile(Provider::OnPrem, "csi-ceph"), &need(800, 8));
        assert_eq!(c.size_gib, 800);
        assert!(c.delivered_iops.is_none());
        let verify = c.verify.unwrap();
        assert!(
            verify.contains("4000 IOPS") && verify.contains("240 MB/s"),
            "{verify}"
        );
    }
}
