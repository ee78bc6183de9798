//! Instance families approved for ledger nodes: general-purpose and memory-optimised, never
//! burstable (CPU credits run out exactly when a ledger is busiest).

use serde::Serialize;

use crate::provider::Provider;

/// One machine size of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstanceType {
    /// The provider's name for the size, e.g. `m6i.2xlarge`.
    pub name: &'static str,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in GiB.
    pub memory_gib: u32,
}

/// A family of machine sizes sharing one CPU generation and memory ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstanceFamily {
    /// Family name, e.g. `m6i`.
    pub name: &'static str,
    /// What the family is for, e.g. `general purpose, 4 GiB/vCPU`.
    pub purpose: &'static str,
    /// Sizes in increasing order.
    pub sizes: &'static [InstanceType],
}

macro_rules! sizes {
    ($($name:literal => $vcpu:literal, $mem:literal;)*) => {
        &[$(InstanceType { name: $name, vcpu: $vcpu, memory_gib: $mem }),*]
    };
}

const AWS: &[InstanceFamily] = &[
    InstanceFamily {
        name: "m6i",
        purpose: "general purpose, 4 GiB/vCPU",
        sizes: sizes! {
            "m6i.large" => 2, 8; "m6i.xlarge" => 4, 16; "m6i.2xlarge" => 8, 32;
            "m6i.4xlarge" => 16, 64; "m6i.8xlarge" => 32, 128; "m6i.12xlarge" => 48, 192;
            "m6i.16xlarge" => 64, 256; "m6i.24xlarge" => 96, 384; "m6i.32xlarge" => 128, 512;
        },
    },
    InstanceFamily {
        name: "r6i",
        purpose: "memory optimised, 8 GiB/vCPU",
        sizes: sizes! {
            "r6i.large" => 2, 16; "r6i.xlarge" => 4, 32; "r6i.2xlarge" => 8, 64;
            "r6i.4xlarge" => 16, 128; "r6i.8xlarge" => 32, 256; "r6i.12xlarge" => 48, 384;
            "r6i.16xlarge" => 64, 512; "r6i.24xlarge" => 96, 768; "r6i.32xlarge" => 128, 1024;
        },
    },
];

const AZURE: &[InstanceFamily] = &[
    InstanceFamily {
        name: "Dsv5",
        purpose: "general purpose, 4 GiB/vCPU",
        sizes: sizes! {
            "Standard_D2s_v5" => 2, 8; "Standard_D4s_v5" => 4, 16; "Standard_D8s_v5" => 8, 32;
            "Standard_D16s_v5" => 16, 64; "Standard_D32s_v5" => 32, 128;
            "Standard_D48s_v5" => 48, 192; "Standard_D64s_v5" => 64, 256;
            "Standard_D96s_v5" => 96, 384;
        },
    },
    InstanceFamily {
        name: "Ev5",
        purpose: "memory optimised, 8 GiB/vCPU",
        sizes: sizes! {
            "Standard_E2s_v5" => 2, 16; "Standard_E4s_v5" => 4, 32; "Standard_E8s_v5" => 8, 64;
            "Standard_E16s_v5" => 16, 128; "Standard_E20s_v5" => 20, 160;
            "Standard_E32s_v5" => 32, 256; "Standard_E48s_v5" => 48, 384;
            "Standard_E64s_v5" => 64, 512; "Standard_E96s_v5" => 96, 672;
        },
    },
];

const GCP: &[InstanceFamily] = &[
    InstanceFamily {
        name: "n2-standard",
        purpose: "general purpose (Intel), 4 GiB/vCPU",
        sizes: sizes! {
            "n2-standard-2" => 2, 8; "n2-standard-4" => 4, 16; "n2-standard-8" => 8, 32;
            "n2-standard-16" => 16, 64; "n2-standard-32" => 32, 128; "n2-standard-48" => 48, 192;
            "n2-standard-64" => 64, 256; "n2-standard-80" => 80, 320; "n2-standard-96" => 96, 384;
            "n2-standard-128" => 128, 512;
        },
    },
    InstanceFamily {
        name: "n2d-standard",
        purpose: "general purpose (AMD), 4 GiB/vCPU",
        sizes: sizes! {
            "n2d-standard-2" => 2, 8; "n2d-standard-4" => 4, 16; "n2d-standard-8" => 8, 32;
            "n2d-standard-16" => 16, 64; "n2d-standard-32" => 32, 128;
            "n2d-standard-48" => 48, 192; "n2d-standard-64" => 64, 256;
            "n2d-standard-80" => 80, 320; "n2d-standard-96" => 96, 384;
            "n2d-standard-128" => 128, 512; "n2d-standard-224" => 224, 896;
        },
    },
    InstanceFamily {
        name: "t2d-standard",
        purpose: "scale-out (AMD, one thread per core), 4 GiB/vCPU",
        sizes: sizes! {
            "t2d-standard-1" => 1, 4; "t2d-standard-2" => 2, 8; "t2d-standard-4" => 4, 16;
            "t2d-standard-8" => 8, 32; "t2d-standard-16" => 16, 64; "t2d-standard-32" => 32, 128;
            "t2d-standard-48" => 48, 192; "t2d-standard-60" => 60, 240;
        },
    },
];

pub(crate) fn families(provider: Provider) -> &'static [InstanceFamily] {
    match provider {
        Provider::Aws => AWS,
        Provider::Azure => AZURE,
        Provider::Gcp => GCP,
        Provider::OnPrem => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_sorted_and_named_after_their_family() {
        for provider in Provider::ALL {
            for family in provider.instance_families() {
                for pair in family.sizes.windows(2) {
                    assert!(pair[0].vcpu < pair[1].vcpu, "{}", family.name);
                }
                for size in family.sizes {
                    let stem = family
                        .name
                        .trim_end_matches("-standard")
                        .to_ascii_lowercase();
                    let stem = stem.trim_end_matches("sv5").trim_end_matches("v5");
                    assert!(
                        size.name.to_ascii_lowercase().contains(stem),
                        "{} not in family {}",
                        size.name,
                        family.name
                    );
                }
            }
        }
    }

    #[test]
    fn clouds_offer_families_and_onprem_does_not() {
        for provider in [Provider::Aws, Provider::Azure, Provider::Gcp] {
            assert!(!provider.instance_families().is_empty());
        }
        assert!(Provider::OnPrem.instance_families().is_empty());
    }
}
