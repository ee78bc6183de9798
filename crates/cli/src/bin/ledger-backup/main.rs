//! `ledger-backup`: encrypted, deduplicated backups in restic's repository format (v2) on a
//! local folder, S3/MinIO, Azure Blob or Google Cloud Storage.
//!
//! Layout: this file holds the flags, the command list and the dispatch; `context` opens
//! repositories and maps errors to exit codes; `output` prints; each command group has its
//! own module. A new command group (e.g. `wal`, `pg`, `cockroach`, `schedule`) is one module
//! file, one `Command` variant and one dispatch line below.

mod backup;
mod cockroach;
mod context;
mod copy;
mod maintenance;
mod output;
mod pg;
mod schedule;
mod snapshots;
mod wal;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use thinledger_cli::EXIT_FAILED;

use crate::context::Globals;
use thinledger_cli::{is_broken_pipe, print_error};

const EXAMPLES: &str = "\
Examples:
  export THINLEDGER_REPOSITORY=s3://ledger-backups/eu-west-1/ledger-a
  export THINLEDGER_PASSWORD_FILE=/run/secrets/backup-password
  ledger-backup init
  ledger-backup backup /var/lib/exports
  pg_dump ledger | ledger-backup backup --stdin --stdin-filename ledger.sql
  ledger-backup snapshots --host ledger-a --tag daily --output json
  ledger-backup ls latest:/var/lib/exports
  ledger-backup restore latest:/var/lib/exports --target /restore
  ledger-backup dump latest /ledger.sql > ledger.sql
  ledger-backup check --read-data-subset 10%
  ledger-backup repair index && ledger-backup repair snapshots --forget
  ledger-backup --no-lock restore latest --target /restore   # read-only access
  ledger-backup forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --prune --dry-run
  ledger-backup copy --to az://backups/ledger-a?account=ledgerdr

The repository is restic's format v2: `restic -r URL check --read-data` and `restic restore`
work on it with the same password.

Exit status: 0 success, 1 a failed check or job (or files skipped by a backup), 2 bad input
(flags, password, missing repository or snapshot).";

#[derive(Debug, Parser)]
#[command(
    name = "ledger-backup",
    version,
    about = "Encrypted, deduplicated backups to object storage (restic repository format v2)",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    /// More log output (-v info, -vv debug). Logs go to stderr.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log lines as JSON (default when stderr is not a terminal) or text.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a repository (format version 2) at --repo.
    Init,
    /// Back up files and directories, or standard input, into a new snapshot.
    Backup(backup::BackupArgs),
    /// List snapshots.
    Snapshots(snapshots::SnapshotsArgs),
    /// List the files and directories in a snapshot, or under a path in it.
    Ls(snapshots::LsArgs),
    /// Restore a snapshot, or a path in it, into a directory.
    Restore(snapshots::RestoreArgs),
    /// Write one file of a snapshot to standard output.
    Dump(snapshots::DumpArgs),
    /// Verify the repository: structure, and optionally the data itself.
    Check(maintenance::CheckArgs),
    /// Remove snapshots by a retention policy (prints the plan first).
    Forget(maintenance::ForgetArgs),
    /// Delete data no snapshot needs (prints the plan first).
    Prune(maintenance::PruneArgs),
    /// Repair a damaged repository: `repair index`, then `repair snapshots`.
    #[command(subcommand)]
    Repair(maintenance::RepairCommand),
    /// Copy snapshots to another repository (e.g. another cloud).
    Copy(copy::CopyArgs),
    /// Remove stale locks (or all locks with --remove-all).
    Unlock(maintenance::UnlockArgs),
    /// PostgreSQL WAL archive: push (archive_command), fetch (restore_command), list.
    #[command(subcommand)]
    Wal(wal::WalCommand),
    /// PostgreSQL base backups, point-in-time restore and retention.
    #[command(subcommand)]
    Pg(pg::PgCommand),
    /// CockroachDB native backups of a tenant: backup, schedule, list, verify, restore.
    Cockroach(cockroach::CockroachCommand),
    /// Scheduled backups: the daemon, one job now, or Kubernetes CronJobs.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
}

/// Blocking threads of `restore`'s runtime (see `main`).
const RESTORE_BLOCKING_THREADS: usize = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, Command::Restore(_)) {
        // A restore's blocking work (ranged pack reads, decoding, positioned writes) is
        // bounded by its concurrency anyway. More threads only mean more glibc heaps, each
        // keeping multi-megabyte buffers: peak memory fell from ~160 to ~100 MiB with 4.
        builder.max_blocking_threads(RESTORE_BLOCKING_THREADS);
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            print_error(&anyhow::Error::new(e).context("starting the async runtime"));
            return ExitCode::from(EXIT_FAILED as u8);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(context::exit_code_for(&e))
        }
    }
}

/// Runs one command; the result is the process exit code.
async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = &cli.globals;
    if g.no_lock && !reads_only(&cli.command) {
        return Err(context::bad(
            "--no-lock: only commands that read the repository accept it (snapshots, ls, restore, dump, check, wal fetch, wal list, pg list, pg restore); run this one without --no-lock",
        ));
    }
    match &cli.command {
        Command::Init => maintenance::init(g).await,
        Command::Backup(a) => backup::run(g, a).await,
        Command::Snapshots(a) => snapshots::list(g, a).await,
        Command::Ls(a) => snapshots::ls(g, a).await,
        Command::Restore(a) => snapshots::restore(g, a).await,
        Command::Dump(a) => snapshots::dump(g, a).await,
        Command::Check(a) => maintenance::check(g, a).await,
        Command::Forget(a) => maintenance::forget(g, a).await,
        Command::Prune(a) => maintenance::prune(g, a).await,
        Command::Repair(c) => maintenance::repair(g, c).await,
        Command::Copy(a) => copy::run(g, a).await,
        Command::Schedule(c) => schedule::run(g, c).await,
        Command::Unlock(a) => maintenance::unlock(g, a).await,
        Command::Wal(c) => wal::run(g, c).await,
        Command::Pg(c) => pg::run(g, c).await,
        Command::Cockroach(c) => cockroach::run(g, c).await,
        // Further command groups: one dispatch line each, e.g.
        // `Command::Wal(c) => wal::run(g, c).await,`
    }
}

/// Whether a command only reads the repository, so that `--no-lock` is safe for it.
fn reads_only(command: &Command) -> bool {
    match command {
        Command::Snapshots(_)
        | Command::Ls(_)
        | Command::Restore(_)
        | Command::Dump(_)
        | Command::Check(_) => true,
        Command::Wal(c) => matches!(c, wal::WalCommand::Fetch(_) | wal::WalCommand::List(_)),
        Command::Pg(c) => matches!(c, pg::PgCommand::List(_) | pg::PgCommand::Restore(_)),
        _ => false,
    }
}

fn init_logging(cli: &Cli) {
    let default = match cli.verbose {
        0 => "warn,progress=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("THINLEDGER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = match cli.log_format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Text) => false,
        None => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}
