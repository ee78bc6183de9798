//! `ledger-topology rollout plan|check`: parsing and printing around
//! `thinledger_topology::rollout::{plan, check}`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use thinledger_cli::{EXIT_FAILED, OutputFormat, bad, verdict_after, write_structured};
use thinledger_policy::{InputSet, PolicySet, Severity};
use thinledger_sizing::{ResourceSource, render_tenant};
use thinledger_topology::render::{RenderOptions, Rendering};
use thinledger_topology::rollout::{
    self, BakeTimes, CheckOptions, Component, Fleet, GuardrailFinding, GuardrailSeverity, Inspect,
    InspectError, RolloutOptions, RolloutStatus,
};

use super::{ModeArg, ResourcesArg};

pub const ROLLOUT_EXAMPLES: &str = "\
Examples:
  ledger-topology rollout plan examples/fleet --to-version v25.3.1
  ledger-topology rollout check --base base/live --head live";

const PLAN_EXAMPLES: &str = "\
Examples:
  ledger-topology rollout plan examples/fleet --to-version v25.3.1
  ledger-topology rollout plan examples/fleet --to-version v25.3.1 --output json
  ledger-topology rollout plan live/ --to-version v25.3.1 --status status.yaml --batch 2
  ledger-topology rollout plan live/ --to-version v25.2.1 --component redpanda --bake ring-0-canary=48h

A wave starts when every tenant of the wave before it runs the target and has baked for that
ring's bake time (default ring-0-canary=24h, ring-1-early=72h, ring-2-prod=24h between
production batches), read from --status (the file the pipeline writes: updated_at and
tenants.<tenant>-<environment>.<component>.{version, since}); a guardrail denial blocks its
wave. Downgrades and skipped release series are refused (exit 2).";

const CHECK_EXAMPLES: &str = "\
Examples:
  git worktree add ../base origin/main
  ledger-topology rollout check --base ../base/live --head live
  ledger-topology rollout check --base ../base/live --head live --status status.yaml --output json

Refuses (exit 1) a change that moves a tenant to a version a tenant of an earlier ring does
not run yet (per the base fleet, or per --status, which also requires the bake time), a
downgrade, or a skipped release series. See examples/ci/ for a pull-request workflow.";

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Plan waves ring-0-canary -> ring-1-early -> ring-2-prod that move a fleet to a
    /// release: per tenant the version change, the rendered diff and the guardrail verdict,
    /// and what blocks each wave.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// The CI gate: refuse a change (BASE -> HEAD fleet) that moves a later ring to a
    /// version an earlier ring does not run (and, with --status, has not baked).
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComponentArg {
    /// CockroachDB (cockroachdb.version).
    Cockroachdb,
    /// Redpanda (redpanda.version).
    Redpanda,
}

impl From<ComponentArg> for Component {
    fn from(c: ComponentArg) -> Self {
        match c {
            ComponentArg::Cockroachdb => Component::Cockroachdb,
            ComponentArg::Redpanda => Component::Redpanda,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The fleet: a folder of tenant files, or a live/ tree of ring-*/ folders.
    #[arg(value_name = "DIR")]
    fleet: PathBuf,
    /// The target release tag.
    #[arg(long, value_name = "VERSION")]
    to_version: String,
    /// The component to move.
    #[arg(long, value_enum, default_value = "cockroachdb")]
    component: ComponentArg,
    /// The status file the pipeline writes (YAML or JSON): what each tenant runs, since when.
    #[arg(long, value_name = "FILE")]
    status: Option<PathBuf>,
    /// A ring's bake time, RING=DURATION (e.g. ring-0-canary=48h, ring-1-early=3d); repeat.
    #[arg(long, value_name = "RING=DURATION")]
    bake: Vec<String>,
    /// Production tenants per wave.
    #[arg(long, value_name = "N", default_value_t = 1)]
    batch: usize,
    /// How CockroachDB is deployed.
    #[arg(
        long,
        value_enum,
        default_value = "statefulset",
        env = "THINLEDGER_COCKROACH_MODE"
    )]
    cockroach_mode: ModeArg,
    /// Where per-node resources come from.
    #[arg(long, value_enum, default_value = "sizing")]
    resources: ResourcesArg,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The fleet before the change (e.g. the target branch, checked out elsewhere).
    #[arg(long, value_name = "BASE_DIR")]
    base: PathBuf,
    /// The fleet after the change.
    #[arg(long, value_name = "HEAD_DIR")]
    head: PathBuf,
    /// The status file the pipeline writes: earlier rings must also have baked.
    #[arg(long, value_name = "FILE")]
    status: Option<PathBuf>,
    /// A ring's bake time, RING=DURATION; repeat.
    #[arg(long, value_name = "RING=DURATION")]
    bake: Vec<String>,
}

pub fn run(command: &RolloutCommand, output: OutputFormat) -> anyhow::Result<i32> {
    match command {
        RolloutCommand::Plan(args) => run_plan(args, output).map(|()| 0),
        RolloutCommand::Check(args) => run_check(args, output),
    }
}

fn read_fleet(dir: &Path) -> anyhow::Result<Fleet> {
    Fleet::read(dir).with_context(|| format!("cannot read the fleet in {}", dir.display()))
}

fn read_status(path: Option<&PathBuf>) -> anyhow::Result<Option<RolloutStatus>> {
    let Some(path) = path else { return Ok(None) };
    let text = thinledger_cli::read_input_file(path, "status file")?;
    let status = RolloutStatus::from_yaml(&text)
        .map_err(|e| bad(format!("status file {}: {e}", path.display())))?;
    Ok(Some(status))
}

fn bake_times(settings: &[String]) -> anyhow::Result<BakeTimes> {
    settings.iter().try_fold(BakeTimes::default(), |bake, s| {
        bake.with_setting(s)
            .map_err(|e| bad(format!("--bake: {e}")))
    })
}

fn run_plan(args: &PlanArgs, output: OutputFormat) -> anyhow::Result<()> {
    let fleet = read_fleet(&args.fleet)?;
    let mut options = RolloutOptions::default()
        .with_component(args.component.into())
        .with_bake(bake_times(&args.bake)?)
        .with_batch(args.batch)
        .with_render_options(RenderOptions::new(args.cockroach_mode.into()));
    if let Some(status) = read_status(args.status.as_ref())? {
        options = options.with_status(status);
    }
    let inspector = Guardrails {
        source: args.resources.into(),
        policies: PolicySet::builtin().context("cannot load the built-in guardrails")?,
    };
    let plan = rollout::plan(&fleet, &args.to_version, &options, &inspector)
        .with_context(|| format!("cannot plan the rollout to {}", args.to_version))?;
    let mut stdout = std::io::stdout().lock();
    match output {
        OutputFormat::Table => stdout.write_all(plan.to_table().as_bytes())?,
        format => write_structured(&mut stdout, format, &plan)?,
    }
    stdout.flush()?;
    Ok(())
}

fn run_check(args: &CheckArgs, output: OutputFormat) -> anyhow::Result<i32> {
    let base = read_fleet(&args.base)?;
    let head = read_fleet(&args.head)?;
    let mut options = CheckOptions::default().with_bake(bake_times(&args.bake)?);
    if let Some(status) = read_status(args.status.as_ref())? {
        options = options.with_status(status);
    }
    let result = rollout::check(&base, &head, &options);
    let write = || -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match output {
            OutputFormat::Table => stdout.write_all(result.to_table().as_bytes())?,
            format => write_structured(&mut stdout, format, &result)?,
        }
        stdout.flush()?;
        Ok(())
    };
    verdict_after(write(), if result.passed { 0 } else { EXIT_FAILED })
}

/// What `ledger-topology render` renders (tenant → sizing → objects), judged by
/// `ledger-policy`'s built-in guardrails over the tenant file and its objects.
struct Guardrails {
    source: ResourceSource,
    policies: PolicySet,
}

impl std::fmt::Debug for Guardrails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guardrails")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Inspect for Guardrails {
    fn render(
        &self,
        tenant_yaml: &str,
        options: &RenderOptions,
    ) -> Result<Rendering, InspectError> {
        Ok(render_tenant(tenant_yaml, self.source, options)?.1)
    }

    fn guardrails(
        &self,
        tenant_yaml: &str,
        renderings: &[Rendering],
    ) -> Result<Vec<GuardrailFinding>, InspectError> {
        let mut inputs = InputSet::new();
        inputs.add_yaml("tenant.yaml", tenant_yaml)?;
        for (i, rendering) in renderings.iter().enumerate() {
            let documents = rendering
                .objects
                .iter()
                .map(|o| o.to_json())
                .collect::<Result<Vec<_>, _>>()?;
            inputs.add_documents(format!("rendering-{}", i + 1), documents)?;
        }
        let report = self.policies.evaluate(&inputs)?;
        Ok(report
            .findings
            .into_iter()
            .map(|f| {
                let severity = if f.severity == Severity::Deny {
                    GuardrailSeverity::Deny
                } else {
                    GuardrailSeverity::Warn
                };
                let message = match f.remediation.as_str() {
                    "" => f.message,
                    fix => format!("{} Fix: {fix}", f.message),
                };
                GuardrailFinding::new(severity, f.rule, f.resource, message)
            })
            .collect())
    }
}
