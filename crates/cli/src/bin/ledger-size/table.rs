//! The human-readable rendering of a plan.

use std::fmt::Write as _;

use thinledger_sizing::{NodeFit, SizingMode, SizingPlan};
use thinledger_topology::{Placement, quorum};

const LABEL: usize = 18;

fn row(out: &mut String, label: &str, value: impl AsRef<str>) {
    let _ = writeln!(out, "  {label:<LABEL$}{}", value.as_ref());
}

fn placements(list: &[Placement]) -> String {
    list.iter()
        .map(|p| match p.provider {
            Some(provider) => format!("{provider} {}: {}", p.name(), p.nodes),
            None => format!("{}: {}", p.name(), p.nodes),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn node(out: &mut String, fit: &NodeFit) {
    match &fit.instance {
        Some(i) => row(
            out,
            "instance type",
            format!(
                "{} ({} vCPU, {}; allocatable {} CPU, {})",
                i.name,
                i.vcpu,
                i.memory.to_iec(),
                i.allocatable_cpu,
                i.allocatable_memory.to_gib_text()
            ),
        ),
        None => row(
            out,
            "node",
            format!(
                "at least {} vCPU and {} per node (hardware is yours: no instance families)",
                fit.minimum_vcpu,
                fit.minimum_memory.to_iec()
            ),
        ),
    }
}

/// Renders `plan` as text.
pub fn render(plan: &SizingPlan) -> String {
    let mut out = String::new();
    let mode = match plan.mode {
        SizingMode::NodeShape => "node shape",
        SizingMode::Workload => "workload",
    };
    let _ = writeln!(
        out,
        "Ledger sizing: {} {}, {mode}, survive {}",
        plan.provider, plan.tier, plan.survival
    );
    if let Some(f) = plan
        .forecast
        .as_ref()
        .filter(|_| plan.mode == SizingMode::Workload)
    {
        let mut line = format!(
            "  data {} today, {}%/year for {} years → {} at the horizon",
            f.data.to_gib_text(),
            f.growth_percent_per_year,
            f.horizon_years,
            f.data_at_horizon.to_gib_text()
        );
        if let Some(rate) = f.write_rate_per_second {
            let _ = write!(line, "; writes {}/s", rate.to_iec());
        }
        let _ = writeln!(out, "{line}");
    }

    let c = &plan.cockroachdb;
    let _ = writeln!(out, "\nCockroachDB");
    row(
        &mut out,
        "nodes",
        format!("{} (replication factor {})", c.nodes, c.replication_factor),
    );
    row(&mut out, "placement", placements(&c.placements));
    row(
        &mut out,
        "if one fails",
        quorum::losses(&c.failure_domains, c.replication_factor),
    );
    row(
        &mut out,
        "cpu",
        format!(
            "{} per node (requests = limits, {} QoS)",
            c.resources.limits.cpu, c.resources.qos_class
        ),
    );
    row(
        &mut out,
        "memory",
        format!("{} per node (requests = limits)", c.resources.limits.memory),
    );
    row(&mut out, "flags", c.flags.join(" "));
    let d = &c.disk;
    let mut disk = format!("{} {} per node", d.size, d.storage_class);
    if let Some(tier) = &d.performance_tier {
        let _ = write!(disk, " (tier {tier})");
    }
    if let Some(per_node) = d.data_per_node {
        let _ = write!(
            disk,
            "; holds {} at the horizon, ≤ {}% full",
            per_node.to_gib_text(),
            d.target_utilisation_percent
        );
    }
    row(&mut out, "disk", disk);
    let delivered = match (d.delivered_iops, d.delivered_mbps) {
        (Some(iops), Some(mbps)) => format!("delivers {iops} IOPS / {mbps} MB/s"),
        _ => "to be verified on the hardware".to_owned(),
    };
    row(
        &mut out,
        "disk performance",
        format!(
            "needs {} IOPS / {} MB/s; {delivered}",
            d.required_iops, d.required_mbps
        ),
    );
    let params: Vec<String> = d
        .class_parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    row(
        &mut out,
        "storage class",
        format!(
            "{} ({}) {}",
            d.storage_class,
            d.provisioner,
            params.join(" ")
        ),
    );
    node(&mut out, &c.node);

    let r = &plan.redpanda;
    let _ = writeln!(out, "\nRedpanda");
    row(
        &mut out,
        "brokers",
        format!(
            "{} (topic replication factor {})",
            r.brokers, r.replication_factor
        ),
    );
    row(&mut out, "placement", placements(&r.placements));
    row(
        &mut out,
        "if one fails",
        quorum::broker_losses(&r.failure_domains, r.replication_factor),
    );
    row(
        &mut out,
        "cpu",
        format!("{} cores per broker (requests = limits)", r.cores),
    );
    row(
        &mut out,
        "memory",
        format!(
            "{} per broker (requests = limits)",
            r.resources.limits.memory
        ),
    );
    row(&mut out, "flags", r.flags.join(" "));
    let mut disk = format!(
        "{} {} per broker, {} h retention",
        r.disk.size, r.disk.storage_class, r.disk.retention_hours
    );
    if let Some(rate) = r.disk.ingest_per_second {
        let _ = write!(disk, " at {}/s", rate.to_iec());
    }
    row(&mut out, "disk", disk);
    node(&mut out, &r.node);

    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings");
        for w in &plan.warnings {
            let _ = writeln!(out, "  ! {w}");
        }
    }
    if !plan.advice.is_empty() {
        let _ = writeln!(out, "\nAdvice");
        for a in &plan.advice {
            let _ = writeln!(out, "  - {a}");
        }
    }
    let _ = writeln!(out, "\nRules applied");
    for rule in &plan.rules {
        let _ = writeln!(out, "  {}: {}", rule.id, rule.rule);
        let _ = writeln!(out, "      → {}  [{}]", rule.result, rule.source);
    }
    out
}
