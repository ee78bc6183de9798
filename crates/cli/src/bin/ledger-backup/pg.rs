//! `ledger-backup pg …`: PostgreSQL base backups, point-in-time restores and retention.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use thinledger_backup::pitr::ArchiveCommand;
use thinledger_backup::pitr::pg::{self, BaseBackupOptions, PgRestoreOptions, RecoveryTarget};
use thinledger_backup::pitr::wal::{self, CatalogBackup};
use thinledger_backup::{KeepPolicy, PruneOptions};
use thinledger_cli::EXIT_OK;

use crate::context::Globals;
use crate::output::{human_bytes, print_data};
use crate::wal::{ArchiveArgs, archive_command, pitr_err};

/// PostgreSQL commands.
#[derive(Debug, Subcommand)]
pub enum PgCommand {
    /// Take a base backup of a running server with pg_basebackup (WAL comes from the archive).
    BaseBackup(BaseBackupArgs),
    /// List base backups.
    List(ListArgs),
    /// Restore to a point in time into a new data directory, with the recovery settings
    /// written; start PostgreSQL on it to recover.
    Restore(RestoreArgs),
    /// Retention: keep base backups by policy and the WAL they need; remove the rest.
    Forget(ForgetArgs),
}

/// `pg base-backup`.
#[derive(Debug, Args)]
pub struct BaseBackupArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// libpq connection string for pg_basebackup (default: the PG* environment variables).
    #[arg(long, short = 'd', value_name = "CONNINFO", default_value = "")]
    pub dbname: String,
    /// Directory holding pg_basebackup (default: found in PATH).
    #[arg(long, value_name = "DIR", env = "THINLEDGER_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
    /// Backup label (default: CLUSTER-TIMESTAMP).
    #[arg(long)]
    pub label: Option<String>,
    /// Wait for a spread checkpoint instead of asking for an immediate one.
    #[arg(long)]
    pub spread_checkpoint: bool,
}

/// `pg list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `pg restore`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["to_time", "to_latest"])))]
pub struct RestoreArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// New data directory (missing or empty).
    #[arg(long, short = 't', value_name = "DIR")]
    pub target: PathBuf,
    /// Recover up to this time (e.g. `2026-05-13 10:15:00+02`; no offset means UTC).
    #[arg(long, value_name = "TIMESTAMP")]
    pub to_time: Option<String>,
    /// Recover everything archived.
    #[arg(long)]
    pub to_latest: bool,
    /// Prefetch spool for the restored server's restore_command (default: TARGET/thinledger-prefetch,
    /// removed when recovery ends).
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
}

/// `pg forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Keep the N newest base backups.
    #[arg(long, default_value_t = 0)]
    pub keep_last: u32,
    /// Keep the newest base backup of each of the last N days.
    #[arg(long, default_value_t = 0)]
    pub keep_daily: u32,
    /// Keep the newest base backup of each of the last N weeks.
    #[arg(long, default_value_t = 0)]
    pub keep_weekly: u32,
    /// Keep the newest base backup of each of the last N months.
    #[arg(long, default_value_t = 0)]
    pub keep_monthly: u32,
    /// Print the plan only.
    #[arg(long)]
    pub dry_run: bool,
    /// Then delete the data no snapshot needs any more.
    #[arg(long)]
    pub prune: bool,
}

/// Runs a `pg` command.
pub async fn run(g: &Globals, c: &PgCommand) -> anyhow::Result<u8> {
    match c {
        PgCommand::BaseBackup(a) => base_backup(g, a).await,
        PgCommand::List(a) => list(g, a).await,
        PgCommand::Restore(a) => restore(g, a).await,
        PgCommand::Forget(a) => forget(g, a).await,
    }
}

fn print_backups(out: &mut dyn Write, list: &[CatalogBackup]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<10} {:<32} {:>3} {:<12} {:<12} {:<26} {:>10}",
        "snapshot", "label", "tli", "start lsn", "stop lsn", "stop time", "size"
    )?;
    for b in list {
        writeln!(
            out,
            "{:<10} {:<32} {:>3} {:<12} {:<12} {:<26} {:>10}",
            b.snapshot.short(),
            b.backup.label,
            b.backup.timeline,
            b.backup.start_lsn.to_string(),
            b.backup.stop_lsn.to_string(),
            b.backup
                .stop_time
                .format("%Y-%m-%d %H:%M:%S%:z")
                .to_string(),
            human_bytes(b.backup.size)
        )?;
    }
    Ok(())
}

async fn base_backup(g: &Globals, a: &BaseBackupArgs) -> anyhow::Result<u8> {
    let (repo, mut catalog) = a.archive.open(g).await?;
    let mut opts = BaseBackupOptions::default()
        .with_connection(&a.dbname)
        .with_fast_checkpoint(!a.spread_checkpoint);
    if let Some(bin) = &a.pg_bin {
        opts = opts.with_pg_basebackup(bin.join("pg_basebackup"));
    }
    if let Some(label) = &a.label {
        opts = opts.with_label(label);
    }
    let s = pg::base_backup(&repo, &mut catalog, &opts)
        .await
        .map_err(pitr_err)?;
    print_data(g, &s, |out: &mut dyn Write| {
        print_backups(out, std::slice::from_ref(&s.backup))?;
        writeln!(out, "took {:.1} s", s.duration_secs)
    })?;
    Ok(EXIT_OK as u8)
}

async fn list(g: &Globals, a: &ListArgs) -> anyhow::Result<u8> {
    let (_repo, catalog) = a.archive.open(g).await?;
    let list = catalog.backups().to_vec();
    print_data(g, &list, |out: &mut dyn Write| print_backups(out, &list))?;
    Ok(EXIT_OK as u8)
}

async fn restore(g: &Globals, a: &RestoreArgs) -> anyhow::Result<u8> {
    let to = match &a.to_time {
        Some(t) => RecoveryTarget::parse_time(t).map_err(pitr_err)?,
        None => RecoveryTarget::Latest,
    };
    let (repo, catalog) = a.archive.open(g).await?;
    let target = std::path::absolute(&a.target).unwrap_or_else(|_| a.target.clone());
    let spool = a
        .spool
        .clone()
        .unwrap_or_else(|| target.join("thinledger-prefetch"));
    let command = archive_command(g, &a.archive)?;
    let opts = PgRestoreOptions::default()
        .with_to(to)
        .with_recovery_end_command(ArchiveCommand::recovery_end_command(&spool))
        .with_prefetch_spool(&spool);
    let s = pg::restore(
        &repo,
        &catalog,
        &target,
        &command.restore_command(&spool),
        &opts,
    )
    .await
    .map_err(pitr_err)?;
    print_data(g, &s, |out: &mut dyn Write| {
        writeln!(
            out,
            "restored base backup {} ({}, {}) into {} in {:.1} s",
            s.backup.backup.label,
            s.backup.snapshot.short(),
            human_bytes(s.bytes),
            s.target_dir.display(),
            s.duration_secs
        )?;
        match &s.to {
            RecoveryTarget::Time(t) => writeln!(
                out,
                "recovery stops before the first commit after {}",
                t.to_rfc3339()
            )?,
            _ => writeln!(out, "recovery replays every archived WAL file")?,
        }
        writeln!(
            out,
            "start PostgreSQL on {} to recover (it promotes when done)",
            s.target_dir.display()
        )
    })?;
    Ok(EXIT_OK as u8)
}

async fn forget(g: &Globals, a: &ForgetArgs) -> anyhow::Result<u8> {
    let policy = KeepPolicy::default()
        .with_last(a.keep_last)
        .with_daily(a.keep_daily)
        .with_weekly(a.keep_weekly)
        .with_monthly(a.keep_monthly);
    let (repo, catalog) = a.archive.open(g).await?;
    let plan = wal::plan_retention(&catalog, policy).map_err(pitr_err)?;
    let mut removed = 0;
    let retained = if a.dry_run {
        wal::retained_removals(&repo, &plan)
            .await
            .map_err(pitr_err)?
    } else {
        let applied = wal::apply_retention(&repo, &plan).await.map_err(pitr_err)?;
        removed = applied.removed;
        if a.prune && removed > 0 {
            thinledger_backup::prune(&repo, &PruneOptions::default()).await?;
        }
        applied.retained
    };
    /// The plan's keys as before, plus what was removed and what stays under retention.
    #[derive(serde::Serialize)]
    struct Report<'a> {
        #[serde(flatten)]
        plan: &'a wal::RetentionPlan,
        removed: usize,
        retained: &'a [wal::RetainedSnapshot],
    }
    let report = Report {
        plan: &plan,
        removed,
        retained: &retained,
    };
    print_data(g, &report, |out: &mut dyn Write| {
        writeln!(
            out,
            "keep {} base backup(s): {}",
            plan.keep_backups.len(),
            plan.keep_backups.join(", ")
        )?;
        for (label, id) in &plan.remove_backups {
            writeln!(out, "remove base backup {label} ({})", id.short())?;
        }
        writeln!(
            out,
            "oldest WAL needed: {}; remove {} WAL batch snapshot(s) holding {} file(s)",
            plan.oldest_needed.as_deref().unwrap_or("-"),
            plan.remove_wal_snapshots.len(),
            plan.wal_files_removed
        )?;
        for r in &retained {
            let until = r
                .retained_until
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "kept    {} ({}): retained until {until}; a later `pg forget` removes it",
                r.holds,
                r.snapshot.short()
            )?;
        }
        if a.dry_run {
            writeln!(out, "dry run: nothing removed")
        } else {
            writeln!(out, "removed {removed} snapshot(s)")
        }
    })?;
    Ok(EXIT_OK as u8)
}
