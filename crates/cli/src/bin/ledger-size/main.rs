//! `ledger-size`: the sizing calculator.
//!
//! Parses flags, calls `thinledger_sizing::plan`, and prints the plan as a table, as JSON (the
//! whole plan) or as a paste-ready YAML fragment (`--fragment`). Refusals and bad input exit 2
//! with the whole error chain on stderr.

mod args;
mod table;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use thinledger_cli::{EXIT_OK, OutputFormat, exit_status, write_structured};
use thinledger_sizing::SizingPlan;

use crate::args::{Args, Fragment};

fn main() -> ExitCode {
    let args = Args::parse();
    exit_status(run(&args).map(|()| EXIT_OK))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let spec = args.spec()?;
    let options = args.options()?;
    let plan =
        thinledger_sizing::plan(args.provider, args.tier, &spec, &options).with_context(|| {
            format!(
                "cannot size the ledger for provider {}, tier {}",
                args.provider, args.tier
            )
        })?;
    let mut stdout = std::io::stdout().lock();
    match args.output {
        OutputFormat::Table => stdout.write_all(table::render(&plan).as_bytes())?,
        OutputFormat::Json => write_structured(&mut stdout, OutputFormat::Json, &plan)?,
        OutputFormat::Yaml => write_fragment(&mut stdout, &plan, args.fragment)?,
    }
    stdout.flush()?;
    Ok(())
}

fn write_fragment(
    out: &mut dyn Write,
    plan: &SizingPlan,
    fragment: Fragment,
) -> anyhow::Result<()> {
    let c = &plan.cockroachdb;
    let summary = format!(
        "# ledger-size: {} {}, {} CockroachDB nodes of {} CPU / {}, {} Redpanda brokers of {} cores",
        plan.provider,
        plan.tier,
        c.nodes,
        c.resources.limits.cpu,
        c.resources.limits.memory,
        plan.redpanda.brokers,
        plan.redpanda.cores
    );
    let (what, merge_into) = match fragment {
        Fragment::Helm => (
            "cockroachdb Helm chart values",
            "merge into your values file",
        ),
        Fragment::CrdbCluster => (
            "CrdbCluster (crdb.cockroachlabs.com/v1alpha1)",
            "merge into the resource",
        ),
        Fragment::Redpanda => ("redpanda Helm chart values", "merge into your values file"),
        Fragment::Plan => (
            "the whole sizing plan",
            "rules, advice and warnings included",
        ),
    };
    writeln!(out, "{summary}")?;
    writeln!(out, "# {what}: {merge_into}")?;
    if fragment != Fragment::Plan && !c.disk.class_parameters.is_empty() {
        let params: Vec<String> = c
            .disk
            .class_parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "# StorageClass {} needs parameters: {}",
            c.disk.storage_class,
            params.join(" ")
        )?;
    }
    for warning in &plan.warnings {
        writeln!(out, "# WARNING: {warning}")?;
    }
    match fragment {
        Fragment::Helm => write_structured(out, OutputFormat::Yaml, &plan.cockroach_helm_values()),
        Fragment::CrdbCluster => {
            write_structured(out, OutputFormat::Yaml, &plan.crdb_cluster_spec())
        }
        Fragment::Redpanda => {
            write_structured(out, OutputFormat::Yaml, &plan.redpanda_helm_values())
        }
        Fragment::Plan => write_structured(out, OutputFormat::Yaml, plan),
    }
}
