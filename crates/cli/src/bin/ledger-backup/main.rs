//! `ledger-backup`: encrypted, deduplicated backups in restic's repository format (v2) on a
//! local folder, S3/MinIO, Azure Blob or Google Cloud Storage.
//!
//! Layout: this file holds the flags, the command list and the dispatch; `context` opens
//! repositories and maps errors to exit codes; `output` prints; each command group has its
//! own module. A new command group (e.g. `wal`, `pg`, `cockroach`, `schedule`) is one module
//! file, one `Command` variant and one dispatch line below.

mod backup;
mod bucket;
mod cockroach;
mod context;
mod copy;
mod examples;
mod maintenance;
mod malloc;
mod output;
mod pg;
mod schedule;
mod snapshots;
mod wal;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use thinledger_cli::{
    EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_NO_REPOSITORY, EXIT_OK,
    EXIT_WRONG_PASSWORD, GlobalArgs, OutputArgs, OutputFormat, ToolCommand, exit_codes_help,
    exit_status_or, print_error,
};

use crate::context::Globals;

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
  ledger-backup copy --to 'az://backups/ledger-a?account=ledgerdr'
  ledger-backup completion zsh > \"${fpath[1]}/_ledger-backup\"

The repository is restic's format v2: `restic -r URL check --read-data` and `restic restore`
work on it with the same password. A failed check or job (or files skipped by a backup)
exits 1; exit codes 10-12 are restic's.";

#[derive(Debug, Parser)]
#[command(
    name = "ledger-backup",
    about = "Encrypted, deduplicated backups to object storage (restic repository format v2)",
    after_help = format!("{EXAMPLES}\n\n{}", exit_codes_help(&[
        EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NO_REPOSITORY, EXIT_LOCKED,
        EXIT_WRONG_PASSWORD, EXIT_INTERRUPTED,
    ]))
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(flatten)]
    conventions: GlobalArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Log lines as JSON (default when stderr is not a terminal) or text.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "THINLEDGER_LOG_FORMAT",
        help_heading = "Global options"
    )]
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
    Init(maintenance::InitArgs),
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
    /// The repository's bucket against a bank's rules: check, plan and apply the fixes.
    #[command(subcommand)]
    Bucket(bucket::BucketCommand),
    /// Scheduled backups: the daemon, one job now, or Kubernetes CronJobs.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    #[command(flatten)]
    Tool(ToolCommand),
}

/// Blocking threads of `restore`'s runtime (see `main`).
const RESTORE_BLOCKING_THREADS: usize = 4;

/// How long an interrupted command gets to remove its lock files (their removal is spawned
/// when the command's future is dropped; a local delete takes well under this).
const INTERRUPT_GRACE: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let mut cli: Cli = thinledger_cli::parse(examples::EXAMPLES);
    if let Command::Tool(tool) = &cli.command {
        return exit_status_or(
            tool.run(thinledger_cli::command::<Cli>(examples::EXAMPLES)),
            EXIT_FAILED,
        );
    }
    cli.globals.output = cli.output.format_or(OutputFormat::Table);
    cli.globals.quiet = cli.conventions.quiet;
    init_logging(&cli);
    if matches!(cli.command, Command::Backup(_)) {
        // Before any thread starts: see the module's docs (peak memory).
        malloc::tune_for_backup();
    }
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
    // The scheduler stops on SIGINT itself (finishing or cancelling its jobs); every other
    // command stops where it is, releases its locks and exits 130, as restic does.
    let interruptible = !matches!(cli.command, Command::Schedule(_));
    let (result, interrupted) = rt.block_on(async move {
        if !interruptible {
            return (run(cli).await.map(i32::from), false);
        }
        tokio::select! {
            result = run(cli) => (result.map(i32::from), false),
            Ok(()) = tokio::signal::ctrl_c() => {
                // `run`'s future is dropped here: its locks spawn their removal.
                tokio::time::sleep(INTERRUPT_GRACE).await;
                eprintln!("interrupted");
                (Ok(EXIT_INTERRUPTED), true)
            }
        }
    });
    if interrupted {
        // A blocking read (of stdin, say) may still be running: do not wait for it.
        rt.shutdown_background();
    }
    // A closed pipe (`| head`) is the reader's choice, not an error; an error of no known
    // class is a job that failed.
    exit_status_or(result, EXIT_FAILED)
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
        Command::Init(a) => maintenance::init(g, a).await,
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
        Command::Bucket(c) => bucket::run(g, c).await,
        Command::Unlock(a) => maintenance::unlock(g, a).await,
        Command::Wal(c) => wal::run(g, c).await,
        Command::Pg(c) => pg::run(g, c).await,
        Command::Cockroach(c) => cockroach::run(g, c).await,
        // handled in `main`, before a runtime exists
        Command::Tool(_) => Ok(EXIT_OK as u8),
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
    let default = match cli.conventions.verbose {
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
        .with_ansi(cli.conventions.color.for_stderr())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}
