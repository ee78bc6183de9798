//! Fitting a pod onto a Kubernetes node: what the node keeps for itself, and which instance
//! type leaves enough for the pod.

use thinledger_topology::{ByteSize, Cpu, InstanceFamily, InstanceType};

use crate::plan::{InstanceChoice, NodeFit, SystemReserve};
use crate::rules::EVICTION_MEMORY;
use crate::spec::DaemonsetOverhead;

/// kube-reserved CPU for a node of `vcpu` cores, rounded up to a millicore.
pub fn kube_reserved_cpu(vcpu: u32) -> Cpu {
    // In tenths of a millicore: 600 = 6% of a core. Closed form, so the cost does not grow
    // with the core count: 600 + 100 + 50 + 50 for the first four, 25 for each further one.
    let tenths: u64 = match u64::from(vcpu) {
        0 => 0,
        1 => 600,
        2 => 700,
        3 => 750,
        n => 800 + 25 * (n - 4),
    };
    Cpu(u32::try_from(tenths.div_ceil(10)).unwrap_or(u32::MAX))
}

/// The smallest `n` in `lo..=hi` for which `holds(n)`, where `holds` is monotone (false up to
/// some point, true from there on): a binary search, so the work is logarithmic in the range,
/// not proportional to the values searched.
fn smallest(lo: u64, hi: u64, holds: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !holds(hi) {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// kube-reserved memory for a node of `memory`, rounded up to a MiB.
pub fn kube_reserved_memory(memory: ByteSize) -> ByteSize {
    const GIB: u128 = ByteSize::GIB as u128;
    // (band size, percent reserved); the last band is unbounded.
    let bands: [(u128, u128); 5] = [
        (4 * GIB, 25),
        (4 * GIB, 20),
        (8 * GIB, 10),
        (112 * GIB, 6),
        (u128::MAX, 2),
    ];
    let mut left = u128::from(memory.bytes());
    let mut reserved_x100 = 0u128;
    for (band, percent) in bands {
        let take = left.min(band);
        reserved_x100 += take * percent;
        left -= take;
        if left == 0 {
            break;
        }
    }
    let mib = (reserved_x100 / 100).div_ceil(u128::from(ByteSize::MIB));
    ByteSize::mib(u64::try_from(mib).unwrap_or(u64::MAX))
}

/// The reserve of a node of `vcpu` cores and `memory`.
///
/// Reserve model (the same for every provider, so a plan does not change with the bootstrap
/// script's version): kube-reserved CPU is 6% of the first core, 1% of the second, 0.5% of the
/// third and fourth and 0.25% of every further core; kube-reserved memory is 25% of the first
/// 4 GiB, 20% of the next 4 GiB, 10% of the next 8 GiB, 6% of the next 112 GiB and 2% of the
/// rest; plus a 100 MiB hard eviction threshold and the daemonsets' requests. These are the
/// tiers GKE publishes and AKS uses; for ledger-sized nodes they reserve more than EKS's
/// max-pods based formula, so a pod that fits here fits on all three.
pub fn system_reserve(vcpu: u32, memory: ByteSize, daemonsets: DaemonsetOverhead) -> SystemReserve {
    SystemReserve {
        kube_reserved_cpu: kube_reserved_cpu(vcpu),
        kube_reserved_memory: kube_reserved_memory(memory),
        eviction_memory: EVICTION_MEMORY,
        daemonset_cpu: daemonsets.cpu,
        daemonset_memory: daemonsets.memory,
    }
}

/// CPU and memory left for pods on a node of `vcpu` cores and `memory`.
pub fn allocatable(vcpu: u32, memory: ByteSize, daemonsets: DaemonsetOverhead) -> (Cpu, ByteSize) {
    let reserve = system_reserve(vcpu, memory, daemonsets);
    let cpu = (vcpu.saturating_mul(1000))
        .saturating_sub(reserve.kube_reserved_cpu.millis())
        .saturating_sub(reserve.daemonset_cpu.millis());
    let mem = memory
        .bytes()
        .saturating_sub(reserve.kube_reserved_memory.bytes())
        .saturating_sub(reserve.eviction_memory.bytes())
        .saturating_sub(reserve.daemonset_memory.bytes());
    (Cpu(cpu), ByteSize(mem))
}

fn fits(size: &InstanceType, cpu: Cpu, memory: ByteSize, daemonsets: DaemonsetOverhead) -> bool {
    let (alloc_cpu, alloc_mem) = allocatable(
        size.vcpu,
        ByteSize::gib(u64::from(size.memory_gib)),
        daemonsets,
    );
    alloc_cpu >= cpu && alloc_mem >= memory
}

/// Fits a pod of `cpu` and `memory` onto the smallest instance of `families` (fewest vCPU,
/// then least memory, then the families' order). `None` for the instance when no size fits or
/// there are no families (on-prem); the minimum node capacity is always computed.
pub fn fit_node(
    families: &'static [InstanceFamily],
    cpu: Cpu,
    memory: ByteSize,
    daemonsets: DaemonsetOverhead,
) -> NodeFit {
    let instance = families
        .iter()
        .flat_map(|family| family.sizes.iter().map(move |size| (family, size)))
        .filter(|(_, size)| fits(size, cpu, memory, daemonsets))
        .min_by_key(|(_, size)| (size.vcpu, size.memory_gib))
        .map(|(family, size)| {
            let memory = ByteSize::gib(u64::from(size.memory_gib));
            let (allocatable_cpu, allocatable_memory) = allocatable(size.vcpu, memory, daemonsets);
            InstanceChoice {
                name: size.name.to_owned(),
                family: family.name.to_owned(),
                vcpu: size.vcpu,
                memory,
                allocatable_cpu,
                allocatable_memory,
            }
        });

    // Smallest whole-vCPU, whole-GiB node that holds the pod. What a node leaves for pods
    // grows with its size (the reserve takes at most 6% of a core and 25% of a GiB), so
    // binary searches find it in a few dozen steps whatever the pod's size.
    let pod_cores = cpu.millis().div_ceil(1000);
    let max_vcpu = u32::MAX / 1000;
    let minimum_vcpu = smallest(u64::from(pod_cores), u64::from(max_vcpu), |v| {
        let v = u32::try_from(v).unwrap_or(u32::MAX);
        allocatable(v, ByteSize::tib(64), daemonsets).0 >= cpu
    })
    .and_then(|v| u32::try_from(v).ok())
    .unwrap_or(u32::MAX);
    let pod_gib = memory.bytes().div_ceil(ByteSize::GIB);
    let max_gib = u64::MAX / ByteSize::GIB;
    let minimum_memory_gib = smallest(pod_gib, max_gib, |g| {
        allocatable(minimum_vcpu, ByteSize::gib(g), daemonsets).1 >= memory
    })
    .unwrap_or(max_gib);
    let minimum_memory = ByteSize::gib(minimum_memory_gib);

    let reserve = match &instance {
        Some(choice) => system_reserve(choice.vcpu, choice.memory, daemonsets),
        None => system_reserve(minimum_vcpu, minimum_memory, daemonsets),
    };
    NodeFit {
        instance,
        minimum_vcpu,
        minimum_memory,
        reserve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use thinledger_topology::Provider;

    #[rstest]
    #[case(1, 60)]
    #[case(2, 70)]
    #[case(4, 80)]
    #[case(8, 90)]
    #[case(16, 110)]
    #[case(64, 230)]
    fn kube_reserved_cpu_follows_the_tiers(#[case] vcpu: u32, #[case] millis: u32) {
        assert_eq!(kube_reserved_cpu(vcpu), Cpu(millis));
    }

    /// The closed form equals the per-core tiers summed.
    #[test]
    fn kube_reserved_cpu_closed_form_matches_the_tiers() {
        for vcpu in 0..=300u32 {
            let tenths: u64 = (1..=u64::from(vcpu))
                .map(|core| match core {
                    1 => 600,
                    2 => 100,
                    3 | 4 => 50,
                    _ => 25,
                })
                .sum();
            assert_eq!(
                kube_reserved_cpu(vcpu),
                Cpu(tenths.div_ceil(10) as u32),
                "{vcpu}"
            );
        }
    }

    /// The largest values a type can hold return at once (the searches are binary, the
    /// reserve a closed form), and the minimum node found is minimal.
    #[rstest]
    #[case(Cpu(u32::MAX), ByteSize(u64::MAX))]
    #[case(Cpu::cores(4_000_000), ByteSize::gib(16383 << 20))]
    #[case(Cpu::cores(1024), ByteSize::tib(64))]
    #[case(Cpu::cores(3), ByteSize::gib(7))]
    fn huge_pods_are_fitted_without_a_linear_search(#[case] cpu: Cpu, #[case] memory: ByteSize) {
        let started = std::time::Instant::now();
        let fit = fit_node(
            Provider::OnPrem.instance_families(),
            cpu,
            memory,
            DaemonsetOverhead::default(),
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let ds = DaemonsetOverhead::default();
        if fit.minimum_vcpu < u32::MAX {
            assert!(allocatable(fit.minimum_vcpu, ByteSize::tib(64), ds).0 >= cpu);
            assert!(allocatable(fit.minimum_vcpu - 1, ByteSize::tib(64), ds).0 < cpu);
        }
        let (_, mem) = allocatable(fit.minimum_vcpu, fit.minimum_memory, ds);
        if mem >= memory {
            let smaller = ByteSize(fit.minimum_memory.bytes() - ByteSize::GIB);
            assert!(allocatable(fit.minimum_vcpu, smaller, ds).1 < memory);
        }
    }

    #[rstest]
    // 25% of 4 GiB
    #[case(4, 1024)]
    // + 20% of 4 GiB (819.2 MiB)
    #[case(8, 1844)]
    // + 10% of 8 GiB
    #[case(16, 2663)]
    // + 6% of 16 GiB
    #[case(32, 3646)]
    // + 6% of 112 GiB + 2% of 128 GiB
    #[case(256, 12166)]
    fn kube_reserved_memory_follows_the_tiers(#[case] gib: u64, #[case] mib: u64) {
        assert_eq!(kube_reserved_memory(ByteSize::gib(gib)), ByteSize::mib(mib));
    }

    #[rstest]
    // A Guaranteed pod of N whole CPUs never fits an N-vCPU machine: the reserve comes first.
    #[case(Provider::Aws, 8, 32, "m6i.4xlarge")]
    #[case(Provider::Aws, 4, 16, "m6i.2xlarge")]
    #[case(Provider::Aws, 8, 64, "r6i.4xlarge")]
    #[case(Provider::Azure, 8, 32, "Standard_D16s_v5")]
    #[case(Provider::Gcp, 8, 32, "n2-standard-16")]
    #[case(Provider::Gcp, 16, 64, "n2-standard-32")]
    fn smallest_instance_that_holds_pod_and_reserve(
        #[case] provider: Provider,
        #[case] vcpu: u32,
        #[case] gib: u64,
        #[case] expected: &str,
    ) {
        let fit = fit_node(
            provider.instance_families(),
            Cpu::cores(vcpu),
            ByteSize::gib(gib),
            DaemonsetOverhead::default(),
        );
        let instance = fit.instance.unwrap();
        assert_eq!(instance.name, expected);
        assert!(instance.allocatable_cpu >= Cpu::cores(vcpu));
        assert!(instance.allocatable_memory >= ByteSize::gib(gib));
    }

    #[test]
    fn onprem_states_the_minimum_node_instead_of_an_instance() {
        let fit = fit_node(
            Provider::OnPrem.instance_families(),
            Cpu::cores(8),
            ByteSize::gib(32),
            DaemonsetOverhead::default(),
        );
        assert!(fit.instance.is_none());
        assert_eq!(fit.minimum_vcpu, 9);
        let (cpu, mem) = allocatable(
            fit.minimum_vcpu,
            fit.minimum_memory,
            DaemonsetOverhead::default(),
        );
        assert!(cpu >= Cpu::cores(8) && mem >= ByteSize::gib(32));
        let (_, smaller) = allocatable(
            fit.minimum_vcpu,
            ByteSize(fit.minimum_memory.bytes() - ByteSize::GIB),
            DaemonsetOverhead::default(),
        );
        assert!(smaller < ByteSize::gib(32), "minimum is not minimal");
    }

    #[test]
    fn nothing_fits_a_pod_bigger_than_the_largest_size() {
        let fit = fit_node(
            Provider::Aws.instance_families(),
            Cpu::cores(128),
            ByteSize::gib(512),
            DaemonsetOverhead::default(),
        );
        assert!(fit.instance.is_none());
    }
}
