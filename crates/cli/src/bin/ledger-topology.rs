//! `ledger-topology`: render a tenant file into hardened Kubernetes objects, check it, or
//! write its least-privilege access documents.
//!
//! Parsing, one library call and printing: `render` is `thinledger_sizing::render_tenant`
//! (tenant file → sizing calculator → typed Kubernetes objects), `validate` is
//! `thinledger_sizing::check_tenant` (the same way, as findings), `iam` is
//! `thinledger_topology::iam::plan_yaml` (the backup and tiered-storage identities' access, as JSON documents or
//! Terraform). `--resources tenant`
//! skips the calculator and takes the per-node resources written in the tenant file (with the
//! runbook's fixed ratios for `--cache`, `--max-sql-memory` and Redpanda's flags).
//!
//! Exit codes (thinledger_cli's table): 0 success; 1 `validate` found problems; 2 bad input
//! (unreadable or malformed file, a quantity above its bound, a rule broken while rendering,
//! bad flags).

// `rollout plan|check`, in a file of its own.
#[path = "ledger-topology/rollout.rs"]
mod rollout;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use thinledger_cli::{
    EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, GlobalArgs, OutputFormat, ToolCommand, bad,
    exit_codes_help, exit_status, verdict_after, write_structured,
};
use thinledger_sizing::{
    Finding, FindingSeverity, ResourceSource, TenantPlanError, check_tenant, render_tenant_sites,
};
use thinledger_topology::error_chain;
use thinledger_topology::iam::{self, IamOptions, IamPlan};
use thinledger_topology::render::{
    CockroachMode, KUSTOMIZATION_FILE, RenderOptions, Rendering, SiteRendering, sites_to_yaml,
};

const EXAMPLES: &str = "\
Examples:
  ledger-topology render examples/tenants/aws.yaml > acme.yaml
  ledger-topology render examples/tenants/azure.yaml --cockroach-mode operator --out manifests/
  ledger-topology render tenant.yaml --region us-west-2 --output json
  ledger-topology validate examples/tenants/onprem.yaml --output json
  ledger-topology iam examples/tenants/aws.yaml --output terraform > backup-iam.tf
  ledger-topology rollout plan examples/fleet --to-version v25.3.1
  ledger-topology completion bash > ~/.local/share/bash-completion/completions/ledger-topology

The TLS Secrets cockroachdb-node, cockroachdb-root and redpanda-tls are cert-manager
Certificates (a CA of the tenant's own, or certificates.issuer_ref; certificates.provided: true
renders none and the platform creates them): docs/certificates.md. The monitoring objects
(PodMonitor, PrometheusRule) need the Prometheus Operator's CRDs; alert runbooks are in
docs/runbooks/alerts.md. Major CockroachDB upgrades: docs/runbooks/upgrade.md.";

const RENDER_EXAMPLES: &str = "\
Examples:
  ledger-topology render examples/tenants/aws.yaml > acme.yaml
  ledger-topology render examples/tenants/aws.yaml | kubectl apply --dry-run=server -f -
  ledger-topology render examples/tenants/azure.yaml --cockroach-mode operator --out manifests/
  kubectl apply -k manifests/                                          # its kustomization.yaml
  ledger-topology render examples/tenants/multi-cloud.yaml --out sites/ # sites/<site>/ per site
  ledger-topology render tenant.yaml --region us-west-2 --output json   # a v1 List
  ledger-topology render tenant.yaml --output table                     # KIND NAMESPACE NAME";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  ledger-topology validate examples/tenants/onprem.yaml
  ledger-topology validate tenant.yaml --resources tenant --output json
  ledger-topology validate tenant.yaml --region eu-west-1 --output yaml";

#[derive(Debug, Parser)]
#[command(
    name = "ledger-topology",
    about = "Render a thin-ledger tenant file into hardened Kubernetes objects, or check it",
    after_help = format!("{EXAMPLES}\n\n{}", exit_codes_help(&[EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT]))
)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(flatten)]
    output: TopologyOutputArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render TENANT into Kubernetes objects: multi-document YAML on stdout, or one file per
    /// object in --out DIR.
    #[command(after_help = RENDER_EXAMPLES)]
    Render(RenderArgs),
    /// Check TENANT (tenant rules, sizing, rendering) and print the findings only.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Write the least-privilege access of TENANT's backup identity: the role, policy,
    /// assignment and binding documents its provider needs (--output json|yaml), or the same
    /// as Terraform (--output terraform).
    #[command(after_help = IAM_EXAMPLES)]
    Iam(IamArgs),
    /// Ring rollouts: plan waves canary -> early -> prod, or gate a change in CI.
    #[command(subcommand, after_help = rollout::ROLLOUT_EXAMPLES)]
    Rollout(rollout::RolloutCommand),
    #[command(flatten)]
    Tool(ToolCommand),
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

impl From<ResourcesArg> for ResourceSource {
    fn from(r: ResourcesArg) -> Self {
        match r {
            ResourcesArg::Sizing => ResourceSource::Sizing,
            ResourcesArg::Tenant => ResourceSource::Tenant,
        }
    }
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
    /// Write one file per object (NN-kind-name.yaml) and a kustomization.yaml listing them
    /// into this directory instead of stdout; a tenant with sites gets one folder per site
    /// (`DIR/<site>/`, each applied to its own cluster). Files an earlier run listed there that no longer
    /// apply are removed; files it did not write are never overwritten or removed. (--output yaml: on
    /// stdout, multi-document YAML, the default; json: a v1 List; table: the objects, one per
    /// line.)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let cli: Cli = thinledger_cli::parse(&[]);
    let result = match &cli.command {
        Command::Render(args) => cli
            .output
            .data_format(OutputFormat::Yaml)
            .and_then(|output| run_render(args, output, &cli.globals))
            .map(|()| 0),
        Command::Validate(args) => cli
            .output
            .data_format(OutputFormat::Table)
            .and_then(|output| run_validate(args, output)),
        Command::Iam(args) => run_iam(
            args,
            cli.output.output.unwrap_or(Format::Table),
            &cli.globals,
        ),
        Command::Rollout(command) => cli
            .output
            .data_format(OutputFormat::Table)
            .and_then(|output| rollout::run(command, output)),
        Command::Tool(tool) => tool.run(thinledger_cli::command::<Cli>(&[])),
    };
    exit_status(result)
}

fn read_tenant(path: &Path) -> anyhow::Result<String> {
    thinledger_cli::read_input_file(path, "tenant file")
        .with_context(|| format!("cannot read tenant file {}", path.display()))
}

fn render_options(common: &Common) -> RenderOptions {
    let options = RenderOptions::new(common.cockroach_mode.into());
    match &common.region {
        Some(r) => options.with_region(r.clone()),
        None => options,
    }
}

fn run_render(args: &RenderArgs, output: OutputFormat, globals: &GlobalArgs) -> anyhow::Result<()> {
    let path = &args.common.tenant;
    let text = read_tenant(path)?;
    let (plan, sites) = render_tenant_sites(
        &text,
        args.common.resources.into(),
        &render_options(&args.common),
    )
    .map_err(|e| {
        let context = match e {
            TenantPlanError::Tenant(_) => format!("tenant file {} is not valid", path.display()),
            _ => format!("cannot render {}", path.display()),
        };
        anyhow::Error::new(e).context(context)
    })?;
    let mut stderr = std::io::stderr().lock();
    for w in &plan.warnings {
        writeln!(stderr, "warning: {w}")?;
    }
    if !globals.quiet {
        for n in &plan.notes {
            writeln!(stderr, "note: {n}")?;
        }
    }
    if plan.tenant.is_multi_site() {
        return print_sites(args, output, globals, &sites);
    }
    let Some(SiteRendering { rendering, .. }) = sites.into_iter().next() else {
        anyhow::bail!("the rendering of {} is empty", path.display());
    };
    match &args.out {
        Some(dir) => {
            let (written, removed) = write_files(dir, &rendering)?;
            if !globals.quiet {
                let removed = match removed {
                    0 => String::new(),
                    n => format!("; removed {n} files of an earlier rendering"),
                };
                writeln!(
                    stderr,
                    "wrote {written} objects and {KUSTOMIZATION_FILE} to {}{removed} (apply with: kubectl apply -k {})",
                    dir.display(),
                    dir.display()
                )?;
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match output {
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

/// A tenant with sites: `--out DIR` writes `DIR/<site>/` per site (each with its
/// kustomization.yaml); stdout gets every site's documents, introduced by the site's name.
fn print_sites(
    args: &RenderArgs,
    output: OutputFormat,
    globals: &GlobalArgs,
    sites: &[SiteRendering],
) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr().lock();
    match &args.out {
        Some(dir) => {
            for site in sites {
                let sub = dir.join(&site.site);
                let (written, removed) = write_files(&sub, &site.rendering)?;
                if !globals.quiet {
                    let removed = match removed {
                        0 => String::new(),
                        n => format!("; removed {n} files of an earlier rendering"),
                    };
                    writeln!(
                        stderr,
                        "site {}: wrote {written} objects and {KUSTOMIZATION_FILE} to {}{removed} (apply to cluster {} with: kubectl apply -k {})",
                        site.site,
                        sub.display(),
                        site.cluster,
                        sub.display()
                    )?;
                }
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match output {
                OutputFormat::Yaml => stdout.write_all(sites_to_yaml(sites)?.as_bytes())?,
                OutputFormat::Json => {
                    let list = serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "items": sites.iter().flat_map(|s| &s.rendering.objects).collect::<Vec<_>>(),
                    });
                    write_structured(&mut stdout, OutputFormat::Json, &list)?;
                }
                OutputFormat::Table => {
                    for site in sites {
                        writeln!(stdout, "# site {} (cluster {})", site.site, site.cluster)?;
                        stdout.write_all(object_table(&site.rendering).as_bytes())?;
                    }
                }
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

/// Writes one file per object and a kustomization.yaml listing them, and removes the files
/// of an earlier rendering that this one no longer has ([`Rendering::out_dir_plan`] decides;
/// files it did not write are never touched).
fn write_files(dir: &Path, rendering: &Rendering) -> anyhow::Result<(usize, usize)> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut existing = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        existing.push(entry?.file_name().to_string_lossy().into_owned());
    }
    let list = dir.join(KUSTOMIZATION_FILE);
    let previous = match fs::read_to_string(&list) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", list.display())),
    };
    let plan = rendering
        .out_dir_plan(&existing, previous.as_deref())
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    for (name, yaml) in &plan.write {
        let path = dir.join(name);
        fs::write(&path, yaml).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for name in &plan.remove {
        let path = dir.join(name);
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok((plan.objects(), plan.remove.len()))
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

fn run_validate(args: &ValidateArgs, output: OutputFormat) -> anyhow::Result<i32> {
    let path = &args.common.tenant;
    let text = read_tenant(path)?;
    let options = render_options(&args.common);
    let check = check_tenant(&text, args.common.resources.into(), &options);
    let ok = check.ok();
    let failure = check
        .failure
        .as_ref()
        .map(|e| Finding::error(error_chain(e)));
    let report = Report {
        file: path.display().to_string(),
        tenant: check.tenant,
        cockroach_mode: options.cockroach_mode.to_string(),
        ok,
        objects: check.objects,
        findings: failure.into_iter().chain(check.findings).collect(),
    };
    let verdict = if check.bad_input {
        EXIT_BAD_INPUT
    } else if report.ok {
        0
    } else {
        EXIT_FAILED
    };
    let write = || -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match output {
            OutputFormat::Table => stdout.write_all(findings_table(&report).as_bytes())?,
            format => write_structured(&mut stdout, format, &report)?,
        }
        stdout.flush()?;
        Ok(())
    };
    verdict_after(write(), verdict)
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
        .filter(|f| f.severity == FindingSeverity::Error)
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

/// `--output`: the formats every tool shares, and Terraform for `iam`.
#[derive(Debug, Clone, Default, Args)]
struct TopologyOutputArgs {
    /// How data is printed: table, json or yaml (the same data in each); `iam` also writes
    /// terraform [default: table; `render`: yaml].
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        env = "THINLEDGER_OUTPUT",
        value_name = "FORMAT",
        help_heading = "Global options"
    )]
    output: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable text.
    Table,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
    /// Terraform (`iam` only).
    Terraform,
}

impl TopologyOutputArgs {
    /// The shared format asked for, or the command's default; Terraform is `iam`'s alone.
    fn data_format(&self, default: OutputFormat) -> anyhow::Result<OutputFormat> {
        Ok(match self.output {
            None => default,
            Some(Format::Table) => OutputFormat::Table,
            Some(Format::Json) => OutputFormat::Json,
            Some(Format::Yaml) => OutputFormat::Yaml,
            Some(Format::Terraform) => {
                return Err(bad(
                    "--output terraform is for `ledger-topology iam`; use table, json or yaml here",
                ));
            }
        })
    }
}

const IAM_EXAMPLES: &str = "\
Examples:
  ledger-topology iam examples/tenants/aws.yaml                       # each document, described
  ledger-topology iam examples/tenants/aws.yaml --output json         # the plan: documents and notes
  ledger-topology iam examples/tenants/gcp.yaml --output terraform > backup-iam.tf
  ledger-topology iam examples/tenants/{aws,azure,gcp}.yaml --output json   # a list of plans
  ledger-topology iam tenant.yaml --cockroach-mode operator           # trusts cockroachdb-sa
  ledger-topology iam tenant.yaml --no-cockroach                      # backup jobs only

Inputs come from the tenant's backup section: bucket, prefix, encryption, object_lock, identity,
and backup.iam (oidc_issuers per region or site, Azure subscription_id/resource_group/
identity_name, GKE cluster_project); and, with Redpanda's tiered storage on, from
redpanda.tiered_storage: its own bucket and identity (never the backups'), kms_key_id, iam.
A tenant with sites grants every site's cluster. A missing input is refused, naming the
field; nothing is widened.";

#[derive(Debug, Args)]
struct IamArgs {
    /// The tenant files (YAML). With several, JSON and YAML print a list of plans, and the
    /// Terraform and table outputs follow one another.
    #[arg(required = true, value_name = "TENANT")]
    tenants: Vec<PathBuf>,
    /// How CockroachDB is deployed (its pods' service account is trusted for native BACKUP).
    #[arg(
        long,
        value_enum,
        default_value = "statefulset",
        env = "THINLEDGER_COCKROACH_MODE"
    )]
    cockroach_mode: ModeArg,
    /// Leave CockroachDB's nodes out: only the backup jobs use the identity.
    #[arg(long)]
    no_cockroach: bool,
    /// Where CockroachDB's native backups go in the bucket [default: cockroach/TENANT-ENV].
    #[arg(long, value_name = "PATH", conflicts_with = "no_cockroach")]
    cockroach_path: Option<String>,
}

fn run_iam(args: &IamArgs, output: Format, globals: &GlobalArgs) -> anyhow::Result<i32> {
    let account = match args.cockroach_mode {
        _ if args.no_cockroach => None,
        ModeArg::Statefulset => Some(iam::COCKROACH_SERVICE_ACCOUNT),
        ModeArg::Operator => Some(iam::COCKROACH_OPERATOR_SERVICE_ACCOUNT),
    };
    let mut options =
        IamOptions::default().with_cockroach_service_account(account.map(str::to_owned));
    if let Some(p) = &args.cockroach_path {
        options = options.with_cockroach_path(p.clone());
    }
    // Every file is planned before anything is printed: all or nothing.
    let mut plans = Vec::new();
    for path in &args.tenants {
        let text = read_tenant(path)?;
        let plan = iam::plan_yaml(&text, &options).map_err(|e| {
            let context = if matches!(e, iam::IamError::Tenant(_)) {
                format!("tenant file {} is not valid", path.display())
            } else {
                format!("cannot write the access documents of {}", path.display())
            };
            anyhow::Error::new(e).context(context)
        })?;
        plans.push(plan);
    }
    if !globals.quiet {
        let mut stderr = std::io::stderr().lock();
        for plan in &plans {
            for n in &plan.notes {
                writeln!(stderr, "note: {}-{}: {n}", plan.tenant, plan.environment)?;
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    let texts = |each: &dyn Fn(&IamPlan) -> anyhow::Result<String>| -> anyhow::Result<String> {
        Ok(plans
            .iter()
            .map(each)
            .collect::<anyhow::Result<Vec<_>>>()?
            .join("\n"))
    };
    match (output, plans.as_slice()) {
        (Format::Table, _) => stdout.write_all(texts(&iam_table)?.as_bytes())?,
        (Format::Terraform, _) => {
            stdout.write_all(texts(&|p| Ok(p.terraform().to_owned()))?.as_bytes())?;
        }
        (Format::Json | Format::Yaml, [plan]) => {
            write_structured(&mut stdout, shared_format(output), plan)?;
        }
        (Format::Json | Format::Yaml, several) => {
            write_structured(&mut stdout, shared_format(output), &several)?;
        }
    }
    stdout.flush()?;
    Ok(0)
}

fn shared_format(format: Format) -> OutputFormat {
    match format {
        Format::Json => OutputFormat::Json,
        Format::Yaml => OutputFormat::Yaml,
        Format::Table | Format::Terraform => OutputFormat::Table,
    }
}

/// Each grant in a line (who may touch what, from where), then each document under a line
/// saying what it is and grants.
fn iam_table(plan: &IamPlan) -> anyhow::Result<String> {
    let mut out = format!(
        "{} {} on {}: bucket {}, namespace {}\n",
        plan.tenant, plan.environment, plan.provider, plan.bucket, plan.namespace
    );
    for g in &plan.grants {
        let grant = serde_json::to_value(g.grant)?;
        let scope = if g.prefixes.is_empty() {
            g.bucket.clone()
        } else {
            g.prefixes
                .iter()
                .map(|p| format!("{}/{p}/", g.bucket))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "  {}: {} ({}) on {scope}, for {} from {}\n",
            grant.as_str().unwrap_or_default(),
            g.identity,
            g.identity_field,
            g.service_accounts.join(", "),
            g.clusters.join(", "),
        ));
    }
    for d in &plan.documents {
        let kind = serde_json::to_value(d.kind)?;
        out.push_str(&format!(
            "\n# {} {}: {}\n{}\n",
            kind.as_str().unwrap_or_default(),
            d.name,
            d.description,
            serde_json::to_string_pretty(&d.document)?
        ));
    }
    Ok(out)
}
