//! Every quantity of a sizing request checked against its bound
//! (`thinledger_topology::bounds`) before the calculator applies a rule or searches.
//!
//! Fields are named as `ledger-size` spells its flags (`memory`, `redpanda-cores`), which are
//! also the spec's field names with `-` for `_`.

use thinledger_topology::bounds::{
    DATA, HORIZON_YEARS, NODE_MEMORY, NODE_VCPU, NODES, RETENTION_HOURS, VOLUME, WRITE_RATE,
};
use thinledger_topology::{BoundError, Limit};

use crate::spec::{MemoryShare, SizingOptions, SizingSpec};

/// Refuses the first quantity of `spec` or `options` above its bound.
pub(crate) fn check(spec: &SizingSpec, options: &SizingOptions) -> Result<(), BoundError> {
    match spec {
        SizingSpec::NodeShape(s) => {
            NODE_VCPU.check("vcpu", s.vcpu)?;
            NODE_MEMORY.check("memory", s.memory)?;
            if let Some(nodes) = s.nodes {
                NODES.check("nodes", nodes)?;
            }
            if let Some(data) = s.data {
                DATA.check("data", data)?;
            }
        }
        SizingSpec::Workload(w) => {
            DATA.check("data", w.data)?;
            HORIZON_YEARS.check("horizon", w.horizon_years)?;
            if let Some(rate) = w.write_rate_per_second {
                WRITE_RATE.check("write-rate", rate)?;
            }
            if let Some(vcpu) = w.vcpu {
                NODE_VCPU.check("vcpu", vcpu)?;
            }
            if let Some(memory) = w.memory {
                NODE_MEMORY.check("memory", memory)?;
            }
            if let Some(nodes) = w.nodes {
                NODES.check("nodes", nodes)?;
            }
        }
    }
    if let Some(disk) = options.disk {
        VOLUME.check("disk", disk)?;
    }
    for (field, share) in [
        ("cache", options.cache),
        ("max-sql-memory", options.max_sql_memory),
    ] {
        if let Some(MemoryShare::Size(size)) = share {
            NODE_MEMORY.check(field, size)?;
        }
    }
    NODE_VCPU.check("daemonset-cpu", options.daemonsets.cpu)?;
    NODE_MEMORY.check("daemonset-memory", options.daemonsets.memory)?;
    let rp = &options.redpanda;
    if let Some(brokers) = rp.brokers {
        NODES.check("redpanda-brokers", brokers)?;
    }
    if let Some(cores) = rp.cores {
        // In whole cores, so the error shows the value as given.
        let limit = Limit {
            max: NODE_VCPU.max.millis() / 1000,
            reason: NODE_VCPU.reason,
            hint: NODE_VCPU.hint,
        };
        limit.check("redpanda-cores", cores)?;
    }
    if let Some(memory) = rp.memory {
        NODE_MEMORY.check("redpanda-memory", memory)?;
    }
    if let Some(rate) = rp.ingest_per_second {
        WRITE_RATE.check("redpanda-ingest", rate)?;
    }
    RETENTION_HOURS.check("redpanda-retention", rp.retention_hours)?;
    if let Some(disk) = rp.disk {
        VOLUME.check("redpanda-disk", disk)?;
    }
    Ok(())
}
