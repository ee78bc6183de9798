//! `ledger-policy`: guardrail checks of Terraform plans, Kubernetes manifests and tenant files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use thinledger_cli::{
    EXIT_FAILED, EXIT_OK, GlobalArgs, OutputArgs, OutputFormat, ToolCommand, exit_status,
    verdict_after, write_structured,
};
use thinledger_policy::{BUILTIN_POLICIES, InputSet, PolicyError, PolicySet, Report, ReportFormat};

const EXAMPLES: &str = "\
Examples:
  terraform show -json tfplan > plan.json
  ledger-policy check plan.json
  ledger-policy check deploy/ tenant.yaml --output sarif > policy.sarif
  ledger-policy check deploy/ tenant.yaml --output github   # annotations in a GitHub Actions job
  ledger-policy check plan.json --policy ./our-policies --strict
  ledger-policy policies --write ./policy   # then: conftest test --combine --all-namespaces -p ./policy FILES
  ledger-policy input plan.json deploy/ > input.json   # then: opa eval -d ./policy -i input.json 'data.thinledger[_].deny'
  ledger-policy completion bash > ~/.local/share/bash-completion/completions/ledger-policy

Exit status: 0 nothing denied, 1 something denied (or warned, with --strict), 2 unreadable,
malformed or unrecognised input (anything but Terraform plans, Kubernetes objects and tenant
files), or a bad policy.";

const CHECK_EXAMPLES: &str = "\
Examples:
  terraform show -json tfplan > plan.json && ledger-policy check plan.json
  ledger-topology render tenant.yaml --out deploy/ && ledger-policy check deploy/ tenant.yaml
  ledger-policy check plan.json --output json
  ledger-policy check deploy/ --output sarif > policy.sarif
  ledger-policy check plan.json --policy ./our-policies --no-builtin --strict";

const INPUT_EXAMPLES: &str = "\
Examples:
  ledger-policy input plan.json > input.json
  ledger-policy policies --write ./policy && ledger-policy input deploy/ tenant.yaml > input.json
  opa eval -d ./policy -i input.json 'data.thinledger[_].deny'";

const POLICIES_EXAMPLES: &str = "\
Examples:
  ledger-policy policies
  ledger-policy policies --output json
  ledger-policy policies --write ./policy && conftest test --combine --all-namespaces -p ./policy deploy/";

#[derive(Debug, Parser)]
#[command(
    name = "ledger-policy",
    about = "Guardrail checks of Terraform plans, Kubernetes manifests and tenant files (Rego, evaluated in-process)",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate every policy against all inputs together and print the findings.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Print the document the policies see (JSON), for `opa eval -i`: the same input `check`
    /// evaluates.
    #[command(after_help = INPUT_EXAMPLES)]
    Input {
        /// The inputs, as for `check`.
        #[arg(required = true, value_name = "FILE|DIR")]
        inputs: Vec<PathBuf>,
    },
    /// List the built-in policy files, or write them to a directory for OPA or conftest.
    #[command(after_help = POLICIES_EXAMPLES)]
    Policies {
        /// Directory to write the built-in .rego files into (created if missing).
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    #[command(flatten)]
    Tool(ToolCommand),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Terraform plan JSON (`terraform show -json`), Kubernetes YAML (multi-document), tenant
    /// files, or directories holding them (searched for .json, .yaml, .yml; links followed
    /// only within them; regular files of at most 256 MiB).
    #[arg(required = true, value_name = "FILE|DIR")]
    inputs: Vec<PathBuf>,
    /// Extra Rego policies: a .rego file or a directory of them (repeatable).
    #[arg(long = "policy", value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// Evaluate only the --policy files, not the built-in guardrails.
    #[arg(long)]
    no_builtin: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table, env = "THINLEDGER_OUTPUT")]
    output: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    strict: bool,
}

/// The shared formats, and what CI systems read: SARIF, JUnit XML, GitHub annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable findings.
    Table,
    /// One JSON document.
    Json,
    /// The JSON document as YAML.
    Yaml,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// GitHub Actions annotations (::error / ::warning lines).
    Github,
}

impl From<Format> for ReportFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Table => ReportFormat::Table,
            Format::Json => ReportFormat::Json,
            Format::Yaml => ReportFormat::Yaml,
            Format::Sarif => ReportFormat::Sarif,
            Format::Junit => ReportFormat::Junit,
            Format::Github => ReportFormat::Github,
        }
    }
}

fn main() -> ExitCode {
    let cli: Cli = thinledger_cli::parse(&[]);
    let result = match cli.command {
        Command::Check(args) => check(&args),
        Command::Input { inputs } => input(&inputs),
        Command::Policies { write, output } => {
            policies(write, output.format_or(OutputFormat::Table))
        }
        Command::Tool(tool) => tool.run(thinledger_cli::command::<Cli>(&[])),
    };
    // `policies | head` is the reader's choice, not an error; `check` keeps its verdict.
    exit_status(result)
}

fn check(args: &CheckArgs) -> anyhow::Result<i32> {
    let mut set = if args.no_builtin {
        PolicySet::empty()
    } else {
        PolicySet::builtin().context("loading the built-in policies")?
    };
    for path in &args.policies {
        set.add_path(path)
            .with_context(|| format!("loading policies from {}", path.display()))?;
    }
    if set.sources().is_empty() {
        anyhow::bail!("no policies to evaluate: drop --no-builtin or pass --policy DIR");
    }
    let inputs = InputSet::load(&args.inputs).map_err(input_error)?;
    let report = set.evaluate(&inputs)?;
    let verdict = if report.fails(args.strict) {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    verdict_after(write_report(args, &report), verdict)
}

fn write_report(args: &CheckArgs, report: &Report) -> anyhow::Result<()> {
    let text = report.render(args.output.into(), args.strict)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn input_error(err: PolicyError) -> anyhow::Error {
    anyhow::Error::new(err).context("reading the inputs")
}

/// The document the policies see, for `opa eval -i` (the same input `check` evaluates).
fn input(paths: &[PathBuf]) -> anyhow::Result<i32> {
    let inputs = InputSet::load(paths).map_err(input_error)?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &inputs.to_rego_input())?;
    writeln!(out)?;
    Ok(EXIT_OK)
}

/// One built-in policy file as `policies --output json|yaml` lists it.
#[derive(Debug, Serialize)]
struct PolicyFile {
    /// Its name among the built-in policies (`thinledger/….rego`).
    name: &'static str,
    /// Where `--write` put it.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
}

fn policies(write: Option<PathBuf>, output: OutputFormat) -> anyhow::Result<i32> {
    let mut files = Vec::new();
    for (name, source) in BUILTIN_POLICIES {
        let path = match &write {
            Some(dir) => {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, source)
                    .with_context(|| format!("writing {}", path.display()))?;
                Some(path)
            }
            None => None,
        };
        files.push(PolicyFile { name, path });
    }
    let mut out = std::io::stdout().lock();
    match output {
        OutputFormat::Table => {
            for file in &files {
                match &file.path {
                    Some(path) => writeln!(out, "{}", path.display())?,
                    None => writeln!(out, "{}", file.name)?,
                }
            }
        }
        format => write_structured(&mut out, format, &files)?,
    }
    Ok(EXIT_OK)
}
