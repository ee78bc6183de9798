//! `ledger-size`: the sizing calculator.
//!
//! Parses flags, calls `thinledger_sizing::plan`, and prints the plan as a table, JSON or YAML
//! (`--output`), or a paste-ready fragment of it (`--fragment`). Refusals and bad input exit 2
//! with the whole error chain on stderr.

mod args;
mod table;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use thinledger_cli::{EXIT_OK, OutputFormat, exit_status, write_structured};
use thinledger_sizing::SizingPlan;

use crate::args::{Args, Fragment};

fn main() -> ExitCode {
    let args: Args = thinledger_cli::parse(&[]);
    let result = match &args.tool {
        Some(tool) => tool.run(thinledger_cli::command::<Args>(&[])),
        None => run(&args).map(|()| EXIT_OK),
    };
    exit_status(result)
}

fn run(args: &Args) -> anyhow::Result<()> {
    let provider = args.provider()?;
    let spec = args.spec()?;
    let options = args.options()?;
    let plan =
        thinledger_sizing::plan(provider, args.tier, &spec, &options).with_context(|| {
            format!(
                "cannot size the ledger for provider {provider}, tier {}",
                args.tier
            )
        })?;
    let mut stdout = std::io::stdout().lock();
    match (args.output.format_or(OutputFormat::Table), args.fragment) {
        (OutputFormat::Table, None) => stdout.write_all(table::render(&plan).as_bytes())?,
        (format, None) => write_structured(&mut stdout, format, &plan)?,
        (OutputFormat::Json, Some(fragment)) => {
            write_fragment_data(&mut stdout, OutputFormat::Json, &plan, fragment)?
        }
        (_, Some(fragment)) => write_fragment(&mut stdout, &plan, fragment)?,
    }
    stdout.flush()?;
    Ok(())
}

/// The fragment's keys in `format` (JSON or YAML): the same data in each.
fn write_fragment_data(
    out: &mut dyn Write,
    format: OutputFormat,
    plan: &SizingPlan,
    fragment: Fragment,
) -> anyhow::Result<()> {
    match fragment {
        Fragment::Helm => write_structured(out, format, &plan.cockroach_helm_values()),
        Fragment::CrdbCluster => write_structured(out, format, &plan.crdb_cluster_spec()),
        Fragment::Redpanda => write_structured(out, format, &plan.redpanda_helm_values()),
    }
}

/// The fragment as YAML, after comments that say what it is and what it needs.
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
    };
    writeln!(out, "{summary}")?;
    writeln!(out, "# {what}: {merge_into}")?;
    if !c.disk.class_parameters.is_empty() {
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
    write_fragment_data(out, OutputFormat::Yaml, plan, fragment)
}
