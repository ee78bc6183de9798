//! `ledger-backup schedule`: the backup daemon, one job now (what a CronJob pod runs), and the
//! schedule rendered as Kubernetes objects.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use thinledger_backup::schedule::{RunOutcome, Schedule, render, shutdown_signal};
use thinledger_backup::store::EnvVars;
use thinledger_cli::{EXIT_FAILED, EXIT_OK, OutputFormat, write_structured};

use crate::context::{Globals, bad};
use crate::output::print_data;

/// Scheduled backups.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Run every job of CONFIG on its schedule until SIGTERM/SIGINT (metrics on `metrics.listen`).
    Run {
        /// The schedule file (YAML; see examples/schedules/).
        config: PathBuf,
    },
    /// Run one job of CONFIG now: what each rendered CronJob's pod runs.
    Once {
        /// The schedule file.
        config: PathBuf,
        /// The job's name.
        #[arg(long)]
        job: String,
        /// Retry in-process with the job's backoff (CronJobs leave retries to backoffLimit).
        #[arg(long)]
        retries: bool,
    },
    /// Print the schedule as Kubernetes objects: ServiceAccount, ConfigMap and one CronJob per job.
    Render {
        /// The schedule file.
        config: PathBuf,
    },
}

/// Resolves when the process is asked to stop; never, if signals cannot be watched (logged).
async fn stop_requested() {
    if let Err(e) = shutdown_signal().await {
        tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT; stop with SIGKILL");
        std::future::pending::<()>().await;
    }
}

fn load(config: &Path) -> anyhow::Result<Schedule> {
    Schedule::from_file(config).map_err(|e| bad(format!("{}: {e}", config.display())))
}

/// Runs a `schedule` subcommand; the result is the exit code.
pub async fn run(g: &Globals, command: &ScheduleCommand) -> anyhow::Result<u8> {
    let code = match command {
        ScheduleCommand::Run { config } => {
            let scheduler = load(config)?
                .scheduler(&EnvVars::from_process())
                .map_err(|e| bad(e.to_string()))?;
            let report = scheduler.run(stop_requested()).await?;
            tracing::info!(
                runs = report.runs,
                crashed = report.crashed.len(),
                "scheduler stopped"
            );
            if report.crashed.is_empty() {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        ScheduleCommand::Once {
            config,
            job,
            retries,
        } => {
            let scheduler = load(config)?
                .scheduler(&EnvVars::from_process())
                .map_err(|e| bad(e.to_string()))?;
            let report = scheduler
                .run_once(job, *retries, stop_requested())
                .await
                .map_err(|e| bad(e.to_string()))?;
            print_data(g, &report, |out| {
                writeln!(
                    out,
                    "{}: {:?} after {} attempt(s)",
                    report.job, report.outcome, report.attempts
                )?;
                for e in &report.errors {
                    writeln!(out, "  {e}")?;
                }
                Ok(())
            })?;
            if report.outcome == RunOutcome::Succeeded {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        ScheduleCommand::Render { config } => {
            let schedule = load(config)?;
            let tenants = schedule
                .read_tenant_files()
                .map_err(|e| bad(e.to_string()))?;
            let rendering = render::render(&schedule, &tenants).map_err(|e| bad(e.to_string()))?;
            let mut out = std::io::stdout().lock();
            match g.output {
                OutputFormat::Json => write_structured(&mut out, OutputFormat::Json, &rendering)?,
                OutputFormat::Table | OutputFormat::Yaml => {
                    out.write_all(rendering.to_yaml()?.as_bytes())?
                }
            }
            out.flush()?;
            EXIT_OK
        }
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
