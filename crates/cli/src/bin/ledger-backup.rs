//! `ledger-backup`: encrypted, deduplicated backups in restic's repository format (v2) on a
//! local folder, S3/MinIO, Azure Blob or Google Cloud Storage.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{
    BackupOptions, BackupProgress, BackupSummary, CheckOptions, Compression, Error as EngineError,
    InitOptions, KeepPolicy, ParentSelection, Password, PruneOptions, ReadData, Repository,
    RestoreOptions, RestoreProgress, SnapshotEntry,
};
use thinledger_cli::{
    EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, OutputFormat, print_error, write_structured,
};

const EXAMPLES: &str = "\
Examples:
  export THINLEDGER_REPOSITORY=s3://ledger-backups/eu-west-1/ledger-a
  export THINLEDGER_PASSWORD_FILE=/run/secrets/backup-password
  ledger-backup init
  ledger-backup backup /var/lib/exports
  pg_dump ledger | ledger-backup backup --stdin --stdin-filename ledger.sql
  ledger-backup snapshots --output json
  ledger-backup restore latest:/var/lib/exports --target /restore
  ledger-backup dump latest /ledger.sql > ledger.sql
  ledger-backup check --read-data-subset 10%
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
    /// Repository URL: a folder, file://, s3://, az:// or gs://.
    #[arg(
        long,
        short = 'r',
        global = true,
        env = "THINLEDGER_REPOSITORY",
        value_name = "URL"
    )]
    repo: Option<String>,
    /// File holding the repository password (trailing newline ignored).
    #[arg(
        long,
        global = true,
        env = "THINLEDGER_PASSWORD_FILE",
        value_name = "FILE",
        conflicts_with = "password_command"
    )]
    password_file: Option<PathBuf>,
    /// Command that prints the repository password (run with `sh -c`).
    #[arg(
        long,
        global = true,
        env = "THINLEDGER_PASSWORD_COMMAND",
        value_name = "CMD"
    )]
    password_command: Option<String>,
    /// How data is printed.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// More log output (-v info, -vv debug). Logs go to stderr.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log lines as JSON (default when stderr is not a terminal) or text.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    /// No progress display.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
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
    Backup(BackupArgs),
    /// List snapshots.
    Snapshots,
    /// Restore a snapshot, or a path in it, into a directory.
    Restore {
        /// `SNAPSHOT` or `SNAPSHOT:SUBPATH` (SNAPSHOT: `latest`, an id or an id prefix).
        snapshot: String,
        /// Directory to restore into (created if missing).
        #[arg(long, short = 't', value_name = "DIR")]
        target: PathBuf,
    },
    /// Write one file of a snapshot to standard output.
    Dump {
        /// `latest`, an id or an id prefix.
        snapshot: String,
        /// The file's path in the snapshot (e.g. /ledger.sql).
        path: String,
    },
    /// Verify the repository: structure, and optionally the data itself.
    Check(CheckArgs),
    /// Remove snapshots by a retention policy (prints the plan first).
    Forget(ForgetArgs),
    /// Delete data no snapshot needs (prints the plan first).
    Prune(PruneArgs),
    /// Copy snapshots to another repository (e.g. another cloud).
    Copy(CopyArgs),
    /// Remove stale locks (or all locks with --remove-all).
    Unlock {
        /// Also remove locks that look alive.
        #[arg(long)]
        remove_all: bool,
    },
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// Files and directories to back up.
    #[arg(
        value_name = "PATH",
        required_unless_present = "stdin",
        conflicts_with = "stdin"
    )]
    paths: Vec<PathBuf>,
    /// Back up standard input as one file.
    #[arg(long, requires = "stdin_filename")]
    stdin: bool,
    /// Name of the file standard input is stored as.
    #[arg(long, value_name = "NAME")]
    stdin_filename: Option<String>,
    /// Tag for the snapshot (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Host name to record (default: this machine's).
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// Compare with this snapshot instead of the latest one of the same host and paths.
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "force")]
    parent: Option<String>,
    /// Read every file, even unchanged ones.
    #[arg(long)]
    force: bool,
    /// Compression of file data.
    #[arg(long, value_enum, default_value_t = CompressionArg::Auto)]
    compression: CompressionArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressionArg {
    Off,
    Fast,
    Auto,
    Max,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Read and verify every pack.
    #[arg(long, conflicts_with = "read_data_subset")]
    read_data: bool,
    /// Read and verify a random share of the packs, e.g. `10%`.
    #[arg(long, value_name = "N%")]
    read_data_subset: Option<String>,
}

#[derive(Debug, Args)]
struct ForgetArgs {
    /// Keep the N newest snapshots.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_last: u32,
    /// Keep the newest snapshot of each of the last N hours.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_hourly: u32,
    /// Keep the newest snapshot of each of the last N days.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_daily: u32,
    /// Keep the newest snapshot of each of the last N weeks.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_weekly: u32,
    /// Keep the newest snapshot of each of the last N months.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_monthly: u32,
    /// Keep the newest snapshot of each of the last N years.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_yearly: u32,
    /// Run prune afterwards.
    #[arg(long)]
    prune: bool,
    /// Print the plan only.
    #[arg(long, short = 'n')]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// Print the plan only.
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Unused space tolerated in partly used packs, in percent of the repository.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    max_unused: f64,
}

#[derive(Debug, Args)]
struct CopyArgs {
    /// Destination repository URL (must exist: run `init` there first).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Password file of the destination (default: the source's password).
    #[arg(long, value_name = "FILE", conflicts_with = "to_password_command")]
    to_password_file: Option<PathBuf>,
    /// Command printing the destination's password.
    #[arg(long, value_name = "CMD")]
    to_password_command: Option<String>,
    /// Snapshots to copy (default: all the destination lacks).
    #[arg(value_name = "SNAPSHOT")]
    snapshots: Vec<String>,
}

/// Errors that mean "bad input" (exit 2) rather than "the job failed" (exit 1).
fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<BadInput>().is_some() {
        return EXIT_BAD_INPUT as u8;
    }
    match err.downcast_ref::<EngineError>() {
        Some(
            EngineError::InvalidInput { .. }
            | EngineError::WrongPassword { .. }
            | EngineError::NoRepository { .. }
            | EngineError::AlreadyInitialized { .. }
            | EngineError::SnapshotNotFound { .. }
            | EngineError::PathNotFound { .. },
        ) => EXIT_BAD_INPUT as u8,
        _ => EXIT_FAILED as u8,
    }
}

/// Input the tool cannot use (exit 2): the message names the flag and the fix.
#[derive(Debug)]
struct BadInput(String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            print_error(&anyhow::Error::new(e).context("starting the async runtime"));
            return ExitCode::from(EXIT_FAILED as u8);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            print_error(&e);
            ExitCode::from(exit_code_for(&e))
        }
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

fn read_password(
    file: Option<&PathBuf>,
    command: Option<&str>,
    what: &str,
) -> anyhow::Result<Password> {
    let raw = match (file, command) {
        (Some(f), _) => std::fs::read_to_string(f)
            .map_err(|e| bad(format!("--password-file {}: cannot read it ({e}); give a readable file holding the {what} password", f.display())))?,
        (None, Some(cmd)) => {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| bad(format!("--password-command: cannot run it ({e})")))?;
            if !out.status.success() {
                return Err(bad(format!("--password-command `{cmd}` failed ({}); fix the command", out.status)));
            }
            String::from_utf8(out.stdout).map_err(|_| bad("--password-command printed something that is not UTF-8"))?
        }
        (None, None) => {
            return Err(bad(format!(
                "no {what} password: give --password-file FILE or --password-command CMD (or set THINLEDGER_PASSWORD_FILE)"
            )));
        }
    };
    let pw = raw.strip_suffix('\n').unwrap_or(&raw);
    let pw = pw.strip_suffix('\r').unwrap_or(pw);
    if pw.is_empty() {
        return Err(bad(format!(
            "the {what} password is empty; put the password in the file or command output"
        )));
    }
    Ok(Password::new(pw))
}

async fn store_for(url: &str) -> anyhow::Result<(thinledger_backup::store::Store, String)> {
    let store = StoreBuilder::from_env(url)
        .build()
        .map_err(|e| bad(format!("--repo: {e}")))?;
    let shown = store.display_url().to_string();
    Ok((store, shown))
}

fn repo_url(cli: &Cli) -> anyhow::Result<String> {
    cli.repo
        .clone()
        .ok_or_else(|| bad("no repository: give --repo URL or set THINLEDGER_REPOSITORY"))
}

async fn open(cli: &Cli) -> anyhow::Result<Arc<Repository>> {
    let url = repo_url(cli)?;
    let password = read_password(
        cli.password_file.as_ref(),
        cli.password_command.as_deref(),
        "repository",
    )?;
    let (store, shown) = store_for(&url).await?;
    let repo = Repository::open(store.object_store(), shown, &password).await?;
    Ok(Arc::new(repo))
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn print_data<T: Serialize>(
    cli: &Cli,
    value: &T,
    table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cli.output {
        OutputFormat::Table => table(&mut out)?,
        other => write_structured(&mut out, other, value)?,
    }
    out.flush()?;
    Ok(())
}

/// A progress display: an indicatif line on a terminal, a log line every 10 s otherwise.
struct Ticker {
    handle: tokio::task::JoinHandle<()>,
    bar: Option<indicatif::ProgressBar>,
}

impl Ticker {
    fn start(quiet: bool, render: impl Fn() -> String + Send + 'static) -> Option<Ticker> {
        if quiet {
            return None;
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let b = bar.clone();
            let handle = tokio::spawn(async move {
                loop {
                    b.set_message(render());
                    b.tick();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            Some(Ticker {
                handle,
                bar: Some(bar),
            })
        } else {
            let handle = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    tracing::info!(target: "progress", "{}", render());
                }
            });
            Some(Ticker { handle, bar: None })
        }
    }

    fn stop(self) {
        self.handle.abort();
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Init => cmd_init(&cli).await,
        Command::Backup(a) => cmd_backup(&cli, a).await,
        Command::Snapshots => cmd_snapshots(&cli).await,
        Command::Restore { snapshot, target } => cmd_restore(&cli, snapshot, target).await,
        Command::Dump { snapshot, path } => {
            let repo = open(&cli).await?;
            let mut out = tokio::io::stdout();
            thinledger_backup::dump(&repo, snapshot, path, &mut out).await?;
            Ok(EXIT_OK as u8)
        }
        Command::Check(a) => cmd_check(&cli, a).await,
        Command::Forget(a) => cmd_forget(&cli, a).await,
        Command::Prune(a) => cmd_prune(&cli, a).await,
        Command::Copy(a) => cmd_copy(&cli, a).await,
        Command::Unlock { remove_all } => {
            let repo = open(&cli).await?;
            let removed = repo.unlock(*remove_all).await?;
            let ids: Vec<String> = removed.iter().map(|i| i.to_hex()).collect();
            print_data(&cli, &serde_json::json!({ "removed": ids }), |out| {
                writeln!(out, "removed {} lock(s)", removed.len())
            })?;
            Ok(EXIT_OK as u8)
        }
    }
}

async fn cmd_init(cli: &Cli) -> anyhow::Result<u8> {
    let url = repo_url(cli)?;
    let password = read_password(
        cli.password_file.as_ref(),
        cli.password_command.as_deref(),
        "repository",
    )?;
    let (store, shown) = store_for(&url).await?;
    let repo = Repository::init(
        store.object_store(),
        shown.clone(),
        &password,
        &InitOptions::default(),
    )
    .await?;
    let value = serde_json::json!({
        "id": repo.config().id.to_hex(),
        "version": repo.config().version,
        "location": shown,
    });
    print_data(cli, &value, |out| {
        writeln!(
            out,
            "created repository {} (format version 2) at {shown}",
            repo.config().id.short()
        )?;
        writeln!(
            out,
            "Keep the password safe: without it the data cannot be read."
        )
    })?;
    Ok(EXIT_OK as u8)
}

async fn cmd_backup(cli: &Cli, a: &BackupArgs) -> anyhow::Result<u8> {
    let repo = open(cli).await?;
    let progress = Arc::new(BackupProgress::default());
    let saver = thinledger_backup::SaverOptions {
        compression: match a.compression {
            CompressionArg::Off => Compression::Off,
            CompressionArg::Fast => Compression::Fast,
            CompressionArg::Auto => Compression::Auto,
            CompressionArg::Max => Compression::Max,
        },
        ..thinledger_backup::SaverOptions::default()
    };
    let opts = BackupOptions {
        tags: a.tags.clone(),
        hostname: a.host.clone(),
        parent: match (&a.parent, a.force) {
            (_, true) => ParentSelection::None,
            (Some(p), _) => ParentSelection::Snapshot(p.clone()),
            (None, false) => ParentSelection::Auto,
        },
        saver,
        progress: Some(Arc::clone(&progress)),
        ..BackupOptions::default()
    };
    let p = Arc::clone(&progress);
    let started = std::time::Instant::now();
    let ticker = Ticker::start(cli.quiet, move || {
        let bytes = p.bytes.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{} files, {} dirs, {} ({}/s){}",
            p.files.load(Ordering::Relaxed),
            p.dirs.load(Ordering::Relaxed),
            human_bytes(bytes),
            human_bytes((bytes as f64 / secs) as u64),
            match p.errors.load(Ordering::Relaxed) {
                0 => String::new(),
                n => format!(", {n} skipped"),
            }
        )
    });
    let res = if a.stdin {
        let name = a.stdin_filename.clone().unwrap_or_default();
        thinledger_backup::backup_reader(&repo, std::io::stdin(), &name, &opts).await
    } else {
        thinledger_backup::backup_paths(&repo, &a.paths, &opts).await
    };
    if let Some(t) = ticker {
        t.stop();
    }
    let summary = res?;
    print_data(cli, &summary, |out| print_backup(out, &summary))?;
    if summary.errors.is_empty() {
        Ok(EXIT_OK as u8)
    } else {
        eprintln!(
            "warning: {} entr{} could not be read and {} not in snapshot {}",
            summary.errors.len(),
            if summary.errors.len() == 1 {
                "y"
            } else {
                "ies"
            },
            if summary.errors.len() == 1 {
                "is"
            } else {
                "are"
            },
            summary.snapshot_id.short()
        );
        Ok(EXIT_FAILED as u8)
    }
}

fn print_backup(out: &mut dyn Write, s: &BackupSummary) -> std::io::Result<()> {
    match s.parent {
        Some(p) => writeln!(
            out,
            "snapshot {} saved (parent {})",
            s.snapshot_id.short(),
            p.short()
        )?,
        None => writeln!(out, "snapshot {} saved", s.snapshot_id.short())?,
    }
    writeln!(
        out,
        "files:  {} new, {} changed, {} unmodified",
        s.files_new, s.files_changed, s.files_unmodified
    )?;
    writeln!(out, "dirs:   {}", s.dirs)?;
    writeln!(
        out,
        "data:   {} in snapshot, {} read, {} added ({} stored)",
        human_bytes(s.bytes_total),
        human_bytes(s.bytes_read),
        human_bytes(s.bytes_added),
        human_bytes(s.bytes_stored)
    )?;
    writeln!(out, "time:   {:.1} s", s.duration_secs)?;
    for e in &s.errors {
        writeln!(out, "skipped: {e}")?;
    }
    Ok(())
}

async fn cmd_snapshots(cli: &Cli) -> anyhow::Result<u8> {
    let repo = open(cli).await?;
    let snaps = repo.snapshots().await?;
    print_data(cli, &snaps, |out| print_snapshots(out, &snaps))?;
    Ok(EXIT_OK as u8)
}

fn print_snapshots(out: &mut dyn Write, snaps: &[SnapshotEntry]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<10} {:<20} {:<16} {:<12} Paths",
        "ID", "Time", "Host", "Tags"
    )?;
    for s in snaps {
        writeln!(
            out,
            "{:<10} {:<20} {:<16} {:<12} {}",
            s.id.short(),
            s.snapshot.time.format("%Y-%m-%d %H:%M:%S"),
            s.snapshot.hostname,
            s.snapshot.tags.join(","),
            s.snapshot.paths.join(" ")
        )?;
    }
    writeln!(out, "{} snapshot(s)", snaps.len())
}

async fn cmd_restore(cli: &Cli, spec: &str, target: &std::path::Path) -> anyhow::Result<u8> {
    let repo = open(cli).await?;
    let (snapshot, sub) = spec.split_once(':').unwrap_or((spec, ""));
    let progress = Arc::new(RestoreProgress::default());
    let p = Arc::clone(&progress);
    let ticker = Ticker::start(cli.quiet, move || {
        format!(
            "{} files, {} of {} written",
            p.files.load(Ordering::Relaxed),
            human_bytes(p.bytes.load(Ordering::Relaxed)),
            human_bytes(p.bytes_planned.load(Ordering::Relaxed))
        )
    });
    let opts = RestoreOptions {
        progress: Some(progress),
        ..RestoreOptions::default()
    };
    let res = thinledger_backup::restore(&repo, snapshot, sub, target, &opts).await;
    if let Some(t) = ticker {
        t.stop();
    }
    let s = res?;
    print_data(cli, &s, |out| {
        writeln!(
            out,
            "restored snapshot {} into {}: {} files, {} dirs, {} symlinks, {} in {:.1} s",
            s.snapshot_id.short(),
            target.display(),
            s.files,
            s.dirs,
            s.symlinks,
            human_bytes(s.bytes),
            s.duration_secs
        )?;
        for w in &s.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    })?;
    Ok(if s.warnings.is_empty() {
        EXIT_OK as u8
    } else {
        EXIT_FAILED as u8
    })
}

async fn cmd_check(cli: &Cli, a: &CheckArgs) -> anyhow::Result<u8> {
    let read_data = match (&a.read_data_subset, a.read_data) {
        (Some(p), _) => {
            let n: f64 = p.trim_end_matches('%').parse().map_err(|_| {
                bad(format!(
                    "--read-data-subset `{p}`: give a percentage such as `10%`"
                ))
            })?;
            ReadData::Percent(n)
        }
        (None, true) => ReadData::All,
        (None, false) => ReadData::None,
    };
    let repo = open(cli).await?;
    let ticker = Ticker::start(cli.quiet, || "checking".to_string());
    let res = thinledger_backup::check(
        &repo,
        &CheckOptions {
            read_data,
            ..CheckOptions::default()
        },
    )
    .await;
    if let Some(t) = ticker {
        t.stop();
    }
    let r = res?;
    print_data(cli, &r, |out| {
        writeln!(
            out,
            "{} snapshots, {} trees, {} packs ({} read), {} blobs",
            r.snapshots, r.trees, r.packs, r.packs_read, r.blobs
        )?;
        if !r.unreferenced_packs.is_empty() {
            writeln!(
                out,
                "{} pack(s) not in any index (left by an interrupted backup; `prune` removes them)",
                r.unreferenced_packs.len()
            )?;
        }
        for e in &r.errors {
            writeln!(out, "error: {e}")?;
        }
        if r.is_ok() {
            writeln!(out, "no errors were found")
        } else {
            writeln!(out, "{} error(s) found", r.errors.len())
        }
    })?;
    Ok(if r.is_ok() {
        EXIT_OK as u8
    } else {
        EXIT_FAILED as u8
    })
}

async fn cmd_forget(cli: &Cli, a: &ForgetArgs) -> anyhow::Result<u8> {
    let policy = KeepPolicy {
        last: a.keep_last,
        hourly: a.keep_hourly,
        daily: a.keep_daily,
        weekly: a.keep_weekly,
        monthly: a.keep_monthly,
        yearly: a.keep_yearly,
    };
    if policy.is_empty() {
        bail!(BadInput(
            "forget needs a policy: give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly".into()
        ));
    }
    let repo = open(cli).await?;
    let snaps = repo.snapshots().await?;
    let plan = thinledger_backup::plan_forget(&snaps, policy)?;
    let removed = if a.dry_run {
        0
    } else {
        thinledger_backup::apply_forget(&repo, &plan).await?
    };
    let prune = if a.prune {
        Some(
            thinledger_backup::prune(
                &repo,
                &PruneOptions {
                    dry_run: a.dry_run,
                    ..PruneOptions::default()
                },
            )
            .await?,
        )
    } else {
        None
    };
    let value = serde_json::json!({ "plan": plan, "dry_run": a.dry_run, "removed": removed, "prune": prune });
    print_data(cli, &value, |out| {
        for g in &plan.groups {
            writeln!(out, "host {} paths {}:", g.hostname, g.paths.join(" "))?;
            for k in &g.keep {
                writeln!(
                    out,
                    "  keep   {} {} ({})",
                    k.snapshot.id.short(),
                    k.snapshot.snapshot.time.format("%Y-%m-%d %H:%M:%S"),
                    k.reasons.join(", ")
                )?;
            }
            for r in &g.remove {
                writeln!(
                    out,
                    "  remove {} {}",
                    r.id.short(),
                    r.snapshot.time.format("%Y-%m-%d %H:%M:%S")
                )?;
            }
        }
        if a.dry_run {
            writeln!(out, "dry run: nothing removed")?;
        } else {
            writeln!(out, "removed {removed} snapshot(s)")?;
        }
        if let Some(p) = &prune {
            print_prune(out, p)?;
        }
        Ok(())
    })?;
    Ok(EXIT_OK as u8)
}

fn print_prune(out: &mut dyn Write, p: &thinledger_backup::PrunePlan) -> std::io::Result<()> {
    writeln!(
        out,
        "prune{}: {} of {} packs unused, {} to repack, {} unreferenced; up to {} freed, {} unused kept",
        if p.applied { "" } else { " (plan)" },
        p.packs_to_delete.len(),
        p.packs,
        p.packs_to_repack.len(),
        p.unreferenced_packs.len(),
        human_bytes(p.bytes_freed_at_most),
        human_bytes(p.bytes_unused_kept)
    )
}

async fn cmd_prune(cli: &Cli, a: &PruneArgs) -> anyhow::Result<u8> {
    if !(0.0..=100.0).contains(&a.max_unused) {
        bail!(BadInput(format!(
            "--max-unused {}: give a percentage from 0 to 100",
            a.max_unused
        )));
    }
    let repo = open(cli).await?;
    let p = thinledger_backup::prune(
        &repo,
        &PruneOptions {
            dry_run: a.dry_run,
            max_unused_percent: a.max_unused,
        },
    )
    .await?;
    print_data(cli, &p, |out| print_prune(out, &p))?;
    Ok(EXIT_OK as u8)
}

async fn cmd_copy(cli: &Cli, a: &CopyArgs) -> anyhow::Result<u8> {
    let src = open(cli).await?;
    let dst_password = if a.to_password_file.is_some() || a.to_password_command.is_some() {
        read_password(
            a.to_password_file.as_ref(),
            a.to_password_command.as_deref(),
            "destination",
        )?
    } else {
        read_password(
            cli.password_file.as_ref(),
            cli.password_command.as_deref(),
            "repository",
        )?
    };
    let (store, shown) = store_for(&a.to).await.context("--to")?;
    let dst = Arc::new(Repository::open(store.object_store(), shown.clone(), &dst_password).await?);
    let s = thinledger_backup::copy(&src, &dst, &a.snapshots).await?;
    print_data(cli, &s, |out| {
        for (from, to) in &s.copied {
            writeln!(out, "copied {} -> {} in {shown}", from.short(), to.short())?;
        }
        writeln!(
            out,
            "{} copied, {} already there; {} blobs, {} transferred",
            s.copied.len(),
            s.skipped.len(),
            s.blobs,
            human_bytes(s.bytes)
        )
    })?;
    Ok(EXIT_OK as u8)
}
