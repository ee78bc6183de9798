//! Upper bounds on every quantity a tenant file or the sizing calculator accepts.
//!
//! A value far beyond any real machine, volume or cluster is a typo (`16383Pi` for `16Gi`) or
//! hostile input. Each bound sits well above the largest real case, so no real plan meets it,
//! and is checked before any arithmetic or search, so work stays bounded whatever the input:
//! the calculator's searches then run over small ranges, and products of quantities fit in
//! 64 bits.
//!
//! | quantity | bound | why |
//! |---|---|---|
//! | vCPU per node, Redpanda cores | [`NODE_VCPU`] 1024 | the largest cloud machines have under 1000 vCPU |
//! | memory per node or broker | [`NODE_MEMORY`] 64 TiB | the largest cloud machines have 32 TiB |
//! | disk per node or broker | [`VOLUME`] 1 PiB | the largest cloud volumes hold 64 TiB |
//! | logical data | [`DATA`] 16 PiB | 999 nodes of 10 TiB hold about 3.3 PiB at replication factor 3 |
//! | write rate, ingest per second | [`WRITE_RATE`] 1 TiB/s | beyond what 999 nodes' disks absorb |
//! | CockroachDB nodes, Redpanda brokers | [`NODES`] 999 | a ledger is a few to a few dozen nodes |
//! | partitions per topic | [`PARTITIONS`] 100000 | Redpanda plans about 1000 partitions per core |
//! | Redpanda retention | [`RETENTION_HOURS`] 87600 h (10 years) | broker disks keep days to weeks |
//! | planning horizon | [`HORIZON_YEARS`] 30 | beyond any hardware's life |
//!
//! ```
//! use thinledger_topology::{ByteSize, bounds};
//!
//! assert!(bounds::NODE_MEMORY.check("memory", ByteSize::gib(32)).is_ok());
//! let err = bounds::NODE_MEMORY.check("memory", "16383Pi".parse()?).unwrap_err();
//! assert!(err.to_string().contains("memory = 16383Pi"));
//! assert!(err.to_string().contains("64Ti"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::limit::Limit;
use crate::quantity::{ByteSize, Cpu};

/// vCPU per CockroachDB node, cores per Redpanda broker, CPU of the node's daemonsets.
pub const NODE_VCPU: Limit<Cpu> = Limit {
    max: Cpu::cores(1024),
    reason: "the largest cloud machines have under 1000 vCPU",
    hint: "a bigger ledger needs more nodes, not bigger ones",
};

/// Memory per CockroachDB node or Redpanda broker (and any share of it).
pub const NODE_MEMORY: Limit<ByteSize> = Limit {
    max: ByteSize::tib(64),
    reason: "the largest cloud machines have 32 TiB",
    hint: "check the unit (Gi, not Pi)",
};

/// Disk per CockroachDB node or Redpanda broker.
pub const VOLUME: Limit<ByteSize> = Limit {
    max: ByteSize::tib(1024),
    reason: "the largest cloud block volumes hold 64 TiB and a CockroachDB node at most 10 TiB",
    hint: "check the unit (Ti, not Pi)",
};

/// Logical data a ledger holds, today or at the horizon.
pub const DATA: Limit<ByteSize> = Limit {
    max: ByteSize::tib(16 * 1024),
    reason: "999 nodes of 10 TiB hold about 3.3 PiB at replication factor 3",
    hint: "check the unit, or split the data over several ledgers",
};

/// Logical writes (or Redpanda ingest) per second.
pub const WRITE_RATE: Limit<ByteSize> = Limit {
    max: ByteSize::tib(1),
    reason: "more than the disks of 999 nodes absorb",
    hint: "check the unit (MiB/s, not TiB/s)",
};

/// CockroachDB nodes and Redpanda brokers.
pub const NODES: Limit<u32> = Limit {
    max: 999,
    reason: "a ledger runs a few to a few dozen nodes",
    hint: "split a larger ledger",
};

/// Partitions of one Redpanda topic.
pub const PARTITIONS: Limit<u32> = Limit {
    max: 100_000,
    reason: "Redpanda plans about 1000 partitions per core",
    hint: "the ledger's topics need tens of partitions",
};

/// Hours a Redpanda broker keeps events.
pub const RETENTION_HOURS: Limit<u32> = Limit {
    max: 87_600,
    reason: "10 years; broker disks keep days to weeks of events",
    hint: "keep history in the ledger or in tiered storage, e.g. 168h",
};

/// Years a plan's disks must last.
pub const HORIZON_YEARS: Limit<u32> = Limit {
    max: 30,
    reason: "no hardware lasts longer",
    hint: "plan for the hardware's life, e.g. 3",
};

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(NODE_MEMORY, "64Ti", true)]
    #[case(NODE_MEMORY, "65Ti", false)]
    #[case(NODE_MEMORY, "16383Pi", false)]
    #[case(NODE_MEMORY, "18446744073709551615", false)]
    #[case(VOLUME, "1024Ti", true)]
    #[case(VOLUME, "2Pi", false)]
    #[case(DATA, "16Pi", true)]
    #[case(DATA, "17Pi", false)]
    #[case(WRITE_RATE, "1Ti", true)]
    #[case(WRITE_RATE, "2Ti", false)]
    fn byte_bounds(#[case] limit: Limit<ByteSize>, #[case] value: &str, #[case] ok: bool) {
        let value: ByteSize = value.parse().unwrap();
        assert_eq!(limit.check("f", value).is_ok(), ok, "{value}");
    }

    #[rstest]
    #[case(NODES, 999, true)]
    #[case(NODES, 1001, false)]
    #[case(NODES, u32::MAX, false)]
    #[case(PARTITIONS, 100_000, true)]
    #[case(PARTITIONS, 100_001, false)]
    #[case(RETENTION_HOURS, 168, true)]
    #[case(RETENTION_HOURS, u32::MAX, false)]
    #[case(HORIZON_YEARS, 31, false)]
    fn count_bounds(#[case] limit: Limit<u32>, #[case] value: u32, #[case] ok: bool) {
        assert_eq!(limit.check("f", value).is_ok(), ok, "{value}");
    }

    #[test]
    fn cpu_bound_and_its_message() {
        assert!(NODE_VCPU.check("vcpu", Cpu::cores(1024)).is_ok());
        let err = NODE_VCPU
            .check("vcpu", "4000000".parse().unwrap())
            .unwrap_err()
            .to_string();
        for part in ["vcpu = 4000000", "more than 1024", "Fix: use at most 1024"] {
            assert!(err.contains(part), "{part:?} missing: {err}");
        }
    }
}
