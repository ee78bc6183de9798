//! `ledger-backup wal …`: PostgreSQL WAL archiving (archive_command / restore_command).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use thinledger_backup::Repository;
use thinledger_backup::pitr::wal::{
    self, AsyncPushOptions, Catalog, FetchOptions, PushOptions, PushOutcome,
};
use thinledger_backup::pitr::{ArchiveCommand, PitrError};
use thinledger_cli::EXIT_OK;

use crate::context::{Globals, bad};
use crate::output::print_data;

/// Which archive: shared by `wal` and `pg` commands.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Name of the PostgreSQL cluster whose archive this is (several share a repository).
    #[arg(long, env = "THINLEDGER_PG_CLUSTER", default_value = "main")]
    pub cluster: String,
    /// Local cache of the archive's catalog (encrypted). Default: $XDG_CACHE_HOME/thinledger
    /// or ~/.cache/thinledger.
    #[arg(long, env = "THINLEDGER_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not use the local catalog cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl ArchiveArgs {
    fn cache(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|d| d.join("thinledger"))
        })
    }

    /// Opens the repository and the catalog of this archive.
    pub async fn open(&self, g: &Globals) -> anyhow::Result<(Arc<Repository>, Catalog)> {
        let repo = g.open().await?;
        let catalog = Catalog::load(&repo, &self.cluster, self.cache().as_deref())
            .await
            .map_err(pitr_err)?;
        Ok((repo, catalog))
    }
}

/// Maps a PITR error so the exit code is right: bad input 2, everything else 1.
pub fn pitr_err(e: PitrError) -> anyhow::Error {
    match e {
        e if e.is_input_error() => bad(e.to_string()),
        PitrError::Engine(inner) => anyhow::Error::new(inner),
        other => anyhow::Error::new(other),
    }
}

/// How another process (the async worker, PostgreSQL's restore_command) reaches the same
/// archive with the same repository and password flags.
pub fn archive_command(g: &Globals, archive: &ArchiveArgs) -> anyhow::Result<ArchiveCommand> {
    Ok(
        ArchiveCommand::new(std::env::current_exe()?, g.repo_url()?, &archive.cluster)
            .with_password(g.password_flag_source())
            .with_cache_dir(archive.cache_dir.clone())
            .with_no_cache(archive.no_cache),
    )
}

/// WAL archive commands.
#[derive(Debug, Subcommand)]
pub enum WalCommand {
    /// Archive a WAL file (archive_command = 'ledger-backup wal push %p'). Exits 0 only once
    /// the file is durably stored; an identical file again succeeds; a different file under
    /// an archived name fails and nothing is overwritten.
    Push(PushArgs),
    /// Restore an archived WAL file (restore_command = 'ledger-backup wal fetch %f %p').
    /// A file not in the archive exits 1 at once.
    Fetch(FetchArgs),
    /// The recoverable window (earliest and latest restorable time) per timeline.
    List(ListArgs),
    /// The asynchronous archiver's worker (started by `wal push --async`).
    #[command(hide = true)]
    PushWorker(WorkerArgs),
}

/// `wal push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The WAL file (PostgreSQL's %p, relative to the data directory).
    pub path: PathBuf,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Push through a background worker that uploads every ready file in parallel batches.
    /// Still exits 0 only once this file is durably stored.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// Spool directory for --async (local, one per cluster).
    #[arg(long, value_name = "DIR", required_if_eq("asynchronous", "true"))]
    pub spool: Option<PathBuf>,
    /// Seconds --async waits for the worker before failing (PostgreSQL retries).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// `wal fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The archived file's name (PostgreSQL's %f).
    pub name: String,
    /// Where to write it (PostgreSQL's %p).
    pub dest: PathBuf,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Prefetch spool: looked in first, and filled with the segments after a fetched one.
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Segments prefetched after each fetch from the repository (with --spool).
    #[arg(long, default_value_t = 16)]
    pub prefetch: usize,
    /// Seconds the spool's record of the archive's contents answers "not in the archive"
    /// without opening the repository (with --spool; 0: always ask the repository).
    #[arg(long, value_name = "SECONDS", default_value_t = wal::DEFAULT_LISTING_TTL.as_secs())]
    pub listing_ttl: u64,
}

/// `wal list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `wal push-worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// PostgreSQL's pg_wal directory.
    #[arg(long, value_name = "DIR")]
    pub wal_dir: PathBuf,
    /// The spool directory.
    #[arg(long, value_name = "DIR")]
    pub spool: PathBuf,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Runs a `wal` command.
pub async fn run(g: &Globals, c: &WalCommand) -> anyhow::Result<u8> {
    match c {
        WalCommand::Push(a) if a.asynchronous => push_async(g, a).await,
        WalCommand::Push(a) => push(g, a).await,
        WalCommand::Fetch(a) => fetch(g, a).await,
        WalCommand::List(a) => list(g, a).await,
        WalCommand::PushWorker(a) => worker(g, a).await,
    }
}

async fn push(g: &Globals, a: &PushArgs) -> anyhow::Result<u8> {
    let (repo, mut catalog) = a.archive.open(g).await?;
    let results = wal::push_batch(
        &repo,
        &mut catalog,
        std::slice::from_ref(&a.path),
        &PushOptions::default(),
    )
    .await
    .map_err(pitr_err)?;
    catalog.persist(&repo).await;
    for r in results {
        let outcome = r.outcome.map_err(pitr_err)?;
        let what = match outcome {
            PushOutcome::Stored => "archived",
            PushOutcome::AlreadyArchived => "already archived (identical)",
            _ => "done",
        };
        tracing::info!(name = %r.name, "{what}");
    }
    Ok(EXIT_OK as u8)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

async fn push_async(g: &Globals, a: &PushArgs) -> anyhow::Result<u8> {
    let spool = absolute(
        a.spool
            .as_ref()
            .ok_or_else(|| bad("--async needs --spool DIR"))?,
    );
    let path = absolute(&a.path);
    let wal_dir = path
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| bad(format!("{}: not a file in pg_wal", a.path.display())))?;
    let command = archive_command(g, &a.archive)?;
    let opts = AsyncPushOptions::default().with_timeout(Duration::from_secs(a.timeout.max(1)));
    let start = || command.start_worker(&wal_dir, &spool);
    wal::push_async(&path, &spool, &opts, &start)
        .await
        .map_err(pitr_err)?;
    Ok(EXIT_OK as u8)
}

async fn worker(g: &Globals, a: &WorkerArgs) -> anyhow::Result<u8> {
    let (repo, mut catalog) = a.archive.open(g).await?;
    let s = wal::run_worker(
        &repo,
        &mut catalog,
        &a.wal_dir,
        &a.spool,
        &AsyncPushOptions::default(),
        &PushOptions::default(),
    )
    .await
    .map_err(pitr_err)?;
    tracing::info!(
        batches = s.batches,
        stored = s.stored,
        already = s.already_archived,
        failed = s.failed,
        "worker done"
    );
    Ok(EXIT_OK as u8)
}

async fn fetch(g: &Globals, a: &FetchArgs) -> anyhow::Result<u8> {
    // A prefetched file, or one a fresh listing says is not archived, needs neither the
    // repository nor its password (no key derivation).
    if let Some(spool) = &a.spool {
        let ttl = Duration::from_secs(a.listing_ttl);
        let cluster = &a.archive.cluster;
        if wal::fetch_without_repository(spool, cluster, &a.name, &a.dest, ttl)
            .await
            .map_err(pitr_err)?
        {
            return Ok(EXIT_OK as u8);
        }
    }
    let (repo, mut catalog) = a.archive.open(g).await?;
    let mut opts = FetchOptions::default().with_prefetch(a.prefetch);
    if let Some(spool) = &a.spool {
        opts = opts.with_spool(spool);
    }
    wal::fetch(&repo, &mut catalog, &a.name, &a.dest, &opts)
        .await
        .map_err(pitr_err)?;
    Ok(EXIT_OK as u8)
}

async fn list(g: &Globals, a: &ListArgs) -> anyhow::Result<u8> {
    let (repo, catalog) = a.archive.open(g).await?;
    let w = wal::windows(&repo, &catalog).await.map_err(pitr_err)?;
    let fmt = |t: Option<&wal::TimelineWindow>, latest: bool| {
        t.and_then(|t| if latest { t.latest } else { t.earliest })
            .map_or_else(|| "-".to_string(), |t| t.to_rfc3339())
    };
    print_data(g, &w, |out: &mut dyn Write| {
        writeln!(
            out,
            "{:<9} {:>8} {:<26} {:<26} {:>7}  {:<34} {:<34} gap",
            "timeline", "segments", "first", "last", "backups", "earliest", "latest"
        )?;
        for t in &w {
            writeln!(
                out,
                "{:<9} {:>8} {:<26} {:<26} {:>7}  {:<34} {:<34} {}",
                t.timeline,
                t.segments,
                t.first_segment.as_deref().unwrap_or("-"),
                t.last_segment.as_deref().unwrap_or("-"),
                t.base_backups,
                fmt(Some(t), false),
                fmt(Some(t), true),
                t.gap_at.as_deref().unwrap_or("-")
            )?;
        }
        if w.is_empty() {
            writeln!(out, "no WAL archived for cluster `{}`", catalog.cluster())?;
        }
        Ok(())
    })?;
    Ok(EXIT_OK as u8)
}
