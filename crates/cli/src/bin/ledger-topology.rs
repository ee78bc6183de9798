//! `ledger-topology`: render a tenant file into hardened Kubernetes objects, or check it.
//!
//! The binary composes two libraries: `thinledger_sizing` turns the tenant's node shape or
//! workload into per-node resources and flags, and `thinledger_topology::render` turns the
//! tenant plus those resources into typed Kubernetes objects. `--resources tenant` skips the
//! calculator and takes the per-node resources written in the tenant file (with the runbook's
//! fixed ratios for `--cache`, `--max-sql-memory` and Redpanda's flags).
//!
//! Exit codes: 0 success; 1 `validate` found problems; 2 bad input (unreadable or malformed
//! file, a quantity above its bound, a rule broken while rendering, bad flags).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use thinledger_cli::{
    EXIT_BAD_INPUT, EXIT_FAILED, OutputFormat, is_broken_pipe, print_error, write_structured,
};
use thinledger_sizing::{
    NodeShapeSpec, RedpandaOptions, SizingOptions, SizingPlan, SizingSpec, WorkloadSpec,
};
use thinledger_topology::render::{
    CockroachMode, CockroachResources, RedpandaResources, RenderOptions, Rendering, ResourcePlan,
    check_crdb_cluster, render,
};
use thinledger_topology::tenant::Problem;
use thinledger_topology::{Tenant, TenantError};

const EXAMPLES: &str = "\
Examples:
  ledger-topology render examples/tenants/aws.yaml > acme.yaml
  ledger-topology render examples/tenants/azure.yaml --cockroach-mode operator --out manifests/
  ledger-topology render tenant.yaml --region us-west-2 --output json
  ledger-topology validate examples/tenants/onprem.yaml --output json

Manifests reference Secrets the platform creates: cockroachdb-node and cockroachdb-root
(kubernetes.io/tls with ca.crt) for CockroachDB, redpanda-tls for Redpanda.";

#[derive(Debug, Parser)]
#[command(
    name = "ledger-topology",
    version,
    about = "Render a thin-ledger tenant file into hardened Kubernetes objects, or check it",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render TENANT into Kubernetes objects: multi-document YAML on stdout, or one file per
    /// object in --out DIR.
    Render(RenderArgs),
    /// Check TENANT (tenant rules, sizing, rendering) and print the findings only.
    Validate(ValidateArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// A StatefulSet with its Services, PodDisruptionBudget and init Job.
    Statefulset,
    /// A CrdbCluster for the CockroachDB operator.
    Operator,
}

impl From<ModeArg> for CockroachMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Statefulset => CockroachMode::StatefulSet,
            ModeArg::Operator => CockroachMode::Operator,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ResourcesArg {
    /// Run the sizing calculator on the tenant's node shape or workload.
    Sizing,
    /// Take the per-node resources written in the tenant file.
    Tenant,
}

#[derive(Debug, Args)]
struct Common {
    /// The tenant file (YAML).
    tenant: PathBuf,
    /// How CockroachDB is deployed.
    #[arg(
        long,
        value_enum,
        default_value = "statefulset",
        env = "THINLEDGER_COCKROACH_MODE"
    )]
    cockroach_mode: ModeArg,
    /// The region (cluster) to render; required for multi-region tenants.
    #[arg(long)]
    region: Option<String>,
    /// Where per-node resources come from.
    #[arg(long, value_enum, default_value = "sizing")]
    resources: ResourcesArg,
}

#[derive(Debug, Args)]
struct RenderArgs {
    #[command(flatten)]
    common: Common,
    /// Write one file per object (NN-kind-name.yaml) into this directory instead of stdout.
    /// Files of an earlier rendering that no longer apply are removed.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// yaml: multi-document YAML; json: a v1 List; table: the objects, one per line.
    #[arg(long, value_enum, default_value = "yaml")]
    output: OutputFormat,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    common: Common,
    /// How to print the findings.
    #[arg(long, value_enum, default_value = "table")]
    output: OutputFormat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Render(args) => run_render(args).map(|()| 0),
        Command::Validate(args) => run_validate(args),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            print_error(&err);
            ExitCode::from(u8::try_from(EXIT_BAD_INPUT).unwrap_or(2))
        }
    }
}

fn read_tenant(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read tenant file {}", path.display()))
}

/// Everything derived from a tenant file on the way to its objects.
struct Derived {
    tenant: Tenant,
    plan: ResourcePlan,
    notes: Vec<String>,
    warnings: Vec<String>,
}

fn derive(text: &str, common: &Common) -> Result<Derived, Failure> {
    let tenant = Tenant::from_yaml(text).map_err(Failure::Tenant)?;
    let mut notes: Vec<String> = tenant.advice().to_vec();
    let mut warnings = Vec::new();
    let plan = match common.resources {
        ResourcesArg::Tenant => {
            ResourcePlan::from_tenant(&tenant).map_err(|e| Failure::Other(anyhow::Error::new(e)))?
        }
        ResourcesArg::Sizing => {
            let sized = size(&tenant).map_err(Failure::Other)?;
            notes.extend(sized.advice.iter().cloned());
            warnings.extend(sized.warnings.iter().cloned());
            resource_plan(&tenant, &sized).map_err(Failure::Other)?
        }
    };
    dedup(&mut notes);
    dedup(&mut warnings);
    Ok(Derived {
        tenant,
        plan,
        notes,
        warnings,
    })
}

/// Drops repeated messages, keeping the first of each.
fn dedup(messages: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    messages.retain(|m| seen.insert(m.clone()));
}

enum Failure {
    Tenant(TenantError),
    Other(anyhow::Error),
}

/// Runs the calculator on the tenant's shape or workload, with its locality, storage class
/// and Redpanda settings. The calculator applies the model's quorum rules, so the node count
/// it returns (given or computed) is one the tenant's zones split evenly.
fn size(tenant: &Tenant) -> anyhow::Result<SizingPlan> {
    let spec = tenant.spec();
    let crdb = &spec.cockroachdb;
    let nodes = crdb.nodes;
    let sizing_spec = match (&crdb.workload, &crdb.resources) {
        (Some(w), resources) => {
            let mut ws = WorkloadSpec::new(w.data);
            ws.growth_percent_per_year = w.growth_percent_per_year;
            if let Some(h) = w.horizon_years {
                ws.horizon_years = h;
            }
            ws.write_rate_per_second = w.write_rate_per_second;
            ws.survival = spec.survival;
            ws.vcpu = resources.map(|r| r.cpu);
            ws.memory = resources.map(|r| r.memory);
            ws.nodes = nodes;
            SizingSpec::Workload(ws)
        }
        (None, Some(r)) => {
            let mut shape = NodeShapeSpec::new(r.cpu, r.memory);
            shape.nodes = nodes;
            shape.survival = spec.survival;
            SizingSpec::NodeShape(shape)
        }
        (None, None) => bail!(
            "cockroachdb.resources: the sizing calculator needs a node shape or a workload. \
                 Fix: add resources: {{cpu: 8, memory: 32Gi}} or workload: {{data: 2TiB}} under cockroachdb"
        ),
    };
    let mut options = SizingOptions {
        locality: Some(tenant.locality().clone()),
        storage_class: Some(tenant.storage().class_name.to_owned()),
        disk: crdb.resources.and_then(|r| r.disk),
        ..SizingOptions::default()
    };
    let rp = spec.redpanda.resources;
    options.redpanda = RedpandaOptions {
        brokers: Some(spec.redpanda.brokers),
        region: Some(tenant.redpanda_region().to_owned()),
        cores: rp.and_then(|r| r.cpu.whole_cores()),
        memory: rp.map(|r| r.memory),
        disk: rp.and_then(|r| r.disk),
        ..RedpandaOptions::default()
    };
    let sized = thinledger_sizing::plan(spec.provider, spec.tier, &sizing_spec, &options)
        .with_context(|| {
            format!(
                "the sizing calculator refused tenant {} ({} {}); check cockroachdb.resources, cockroachdb.workload and redpanda.resources",
                spec.tenant, spec.provider, spec.tier
            )
        })?;
    if sized.cockroachdb.disk.storage_class != tenant.storage().class_name {
        bail!(
            "storage.class = {:?}: the sizing calculator needs {:?} to deliver the required IOPS and throughput. Fix: set storage.class: {}",
            tenant.storage().class_name,
            sized.cockroachdb.disk.storage_class,
            sized.cockroachdb.disk.storage_class
        );
    }
    Ok(sized)
}

/// Maps the sizing plan onto the renderer's inputs.
fn resource_plan(tenant: &Tenant, sized: &SizingPlan) -> anyhow::Result<ResourcePlan> {
    let c = &sized.cockroachdb;
    let r = &sized.redpanda;
    if r.brokers != tenant.spec().redpanda.brokers {
        bail!(
            "redpanda.brokers = {}: the sizing calculator chose {} brokers. Fix: set redpanda.brokers: {}",
            tenant.spec().redpanda.brokers,
            r.brokers,
            r.brokers
        );
    }
    Ok(ResourcePlan {
        cockroach: CockroachResources {
            nodes: c.nodes,
            cpu: c.resources.limits.cpu,
            memory: c.resources.limits.memory,
            cache: c.cache,
            max_sql_memory: c.max_sql_memory,
            disk: c.disk.size,
        },
        redpanda: RedpandaResources {
            brokers: r.brokers,
            cpu: r.resources.limits.cpu,
            memory: r.resources.limits.memory,
            smp: r.cores,
            seastar_memory: r.memory,
            reserve_memory: r.reserve_memory,
            disk: r.disk.size,
        },
        volume_parameters: c.disk.class_parameters.clone(),
    })
}

fn render_options(common: &Common) -> RenderOptions {
    let options = RenderOptions::new(common.cockroach_mode.into());
    match &common.region {
        Some(r) => options.with_region(r.clone()),
        None => options,
    }
}

fn run_render(args: &RenderArgs) -> anyhow::Result<()> {
    let path = &args.common.tenant;
    let text = read_tenant(path)?;
    let derived = derive(&text, &args.common).map_err(|f| match f {
        Failure::Tenant(e) => {
            anyhow::Error::new(e).context(format!("tenant file {} is not valid", path.display()))
        }
        Failure::Other(e) => e.context(format!("cannot render {}", path.display())),
    })?;
    let rendering = render(
        &derived.tenant,
        &derived.plan,
        &render_options(&args.common),
    )
    .with_context(|| format!("cannot render {}", path.display()))?;
    let mut stderr = std::io::stderr().lock();
    for w in &derived.warnings {
        writeln!(stderr, "warning: {w}")?;
    }
    for n in &derived.notes {
        writeln!(stderr, "note: {n}")?;
    }
    match &args.out {
        Some(dir) => {
            let written = write_files(dir, &rendering)?;
            writeln!(
                stderr,
                "wrote {written} objects to {} (apply with: kubectl apply -f {})",
                dir.display(),
                dir.display()
            )?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match args.output {
                OutputFormat::Yaml => stdout.write_all(rendering.to_yaml()?.as_bytes())?,
                OutputFormat::Json => {
                    let list = serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "items": rendering.objects,
                    });
                    write_structured(&mut stdout, OutputFormat::Json, &list)?;
                }
                OutputFormat::Table => stdout.write_all(object_table(&rendering).as_bytes())?,
            }
            stdout.flush()?;
        }
    }
    Ok(())
}

fn object_table(rendering: &Rendering) -> String {
    let rows: Vec<(String, String, String)> = rendering
        .objects
        .iter()
        .map(|o| {
            (
                o.kind().to_owned(),
                o.metadata()
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                o.name().to_owned(),
            )
        })
        .collect();
    let kind_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    let ns_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(9).max(9);
    let mut out = format!("{:kind_w$}  {:ns_w$}  NAME\n", "KIND", "NAMESPACE");
    for (kind, ns, name) in rows {
        out.push_str(&format!("{kind:kind_w$}  {ns:ns_w$}  {name}\n"));
    }
    out
}

/// Writes one file per object, removing files of an earlier rendering (`NN-*.yaml`) first so
/// objects that no longer exist do not linger. Other files are left alone.
fn write_files(dir: &Path, rendering: &Rendering) -> anyhow::Result<usize> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let rendered = name.len() > 3
            && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[2] == b'-'
            && name.ends_with(".yaml");
        if rendered && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    let files = rendering.files()?;
    for (name, yaml) in &files {
        let path = dir.join(name);
        fs::write(&path, yaml).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.len())
}

#[derive(Debug, Serialize)]
struct Finding {
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    message: String,
}

#[derive(Debug, Serialize)]
struct Report {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    cockroach_mode: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<usize>,
    findings: Vec<Finding>,
}

fn problem_finding(p: &Problem) -> Finding {
    let mut message = if p.value.is_empty() {
        format!("{}: {}", p.field, p.rule)
    } else {
        format!("{} = {:?}: {}", p.field, p.value, p.rule)
    };
    if !p.fix.is_empty() {
        message.push_str(&format!(". Fix: {}", p.fix));
    }
    Finding {
        severity: "error",
        field: Some(p.field.clone()),
        line: p.line,
        message,
    }
}

fn chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn run_validate(args: &ValidateArgs) -> anyhow::Result<i32> {
    let path = &args.common.tenant;
    let text = read_tenant(path)?;
    let mut report = Report {
        file: path.display().to_string(),
        tenant: None,
        cockroach_mode: CockroachMode::from(args.common.cockroach_mode).to_string(),
        ok: false,
        objects: None,
        findings: Vec::new(),
    };
    let mut bad_input = false;
    match derive(&text, &args.common) {
        Err(Failure::Tenant(TenantError::Syntax {
            message,
            line,
            column,
        })) => {
            bad_input = true;
            report.findings.push(Finding {
                severity: "error",
                field: None,
                line,
                message: match column {
                    Some(c) => format!("{message} (column {c})"),
                    None => message,
                },
            });
        }
        Err(Failure::Tenant(err)) => {
            // A quantity beyond its bound is bad input (exit 2), like a syntax error.
            bad_input = matches!(err, TenantError::OutOfBounds(_));
            report
                .findings
                .extend(err.problems().iter().map(problem_finding));
        }
        Err(Failure::Other(err)) => report.findings.push(Finding {
            severity: "error",
            field: None,
            line: None,
            message: chain(&err),
        }),
        Ok(derived) => {
            report.tenant = Some(derived.tenant.id().to_owned());
            for w in derived.warnings {
                report.findings.push(Finding {
                    severity: "warning",
                    field: None,
                    line: None,
                    message: w,
                });
            }
            for n in derived.notes {
                report.findings.push(Finding {
                    severity: "advice",
                    field: None,
                    line: None,
                    message: n,
                });
            }
            match render(
                &derived.tenant,
                &derived.plan,
                &render_options(&args.common),
            ) {
                Ok(rendering) => {
                    report.objects = Some(rendering.objects.len());
                    for object in &rendering.objects {
                        if object.kind() == "CrdbCluster" {
                            for problem in check_crdb_cluster(&object.to_json()?) {
                                report.findings.push(Finding {
                                    severity: "error",
                                    field: None,
                                    line: None,
                                    message: format!("CrdbCluster {}: {problem}", object.name()),
                                });
                            }
                        }
                    }
                }
                Err(err) => report.findings.push(Finding {
                    severity: "error",
                    field: None,
                    line: None,
                    message: err.to_string(),
                }),
            }
        }
    }
    report.ok = !report.findings.iter().any(|f| f.severity == "error");
    let verdict = if bad_input {
        EXIT_BAD_INPUT
    } else if report.ok {
        0
    } else {
        EXIT_FAILED
    };
    let write = || -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match args.output {
            OutputFormat::Table => stdout.write_all(findings_table(&report).as_bytes())?,
            format => write_structured(&mut stdout, format, &report)?,
        }
        stdout.flush()?;
        Ok(())
    };
    match write() {
        // A reader that stops early (`| head`) must not turn refused findings into a pass.
        Err(err) if is_broken_pipe(&err) => Ok(verdict),
        other => other.map(|()| verdict),
    }
}

fn findings_table(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let place = match (f.line, &f.field) {
            (Some(l), _) => format!("{}:{l}: ", report.file),
            (None, _) => format!("{}: ", report.file),
        };
        out.push_str(&format!("{:<7} {place}{}\n", f.severity, f.message));
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .count();
    if report.ok {
        out.push_str(&format!(
            "ok      {}: renders {} objects ({} mode)\n",
            report.file,
            report.objects.unwrap_or(0),
            report.cockroach_mode
        ));
    } else {
        out.push_str(&format!(
            "failed  {}: {errors} error{}\n",
            report.file,
            if errors == 1 { "" } else { "s" }
        ));
    }
    out
}
