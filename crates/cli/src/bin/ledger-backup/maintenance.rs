//! Repository upkeep: `init`, `check`, `forget`, `prune`, `repair`, `unlock`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use clap::Args;
use thinledger_backup::store::{OBJECT_LOCK_POLICY, ObjectLockMode, ObjectLockOptions};
use thinledger_backup::{
    CheckOptions, ForgetOptions, InitOptions, KeepPolicy, PruneOptions, ReadData,
    RepairIndexOptions, RepairSnapshotsOptions, Repository,
};
use thinledger_cli::{EXIT_FAILED, EXIT_OK};

use crate::context::{Globals, read_password, store_for, store_with_lock};
use crate::output::{Ticker, human_bytes, print_data};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read and verify every pack.
    #[arg(long, conflicts_with = "read_data_subset")]
    read_data: bool,
    /// Read and verify a random share of the packs, e.g. `10%`.
    #[arg(long, value_name = "N%")]
    read_data_subset: Option<String>,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
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
pub struct PruneArgs {
    /// Print the plan only.
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Unused space tolerated in partly used packs, in percent of the repository.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    max_unused: f64,
}

/// `repair index` / `repair snapshots`.
#[derive(Debug, clap::Subcommand)]
pub enum RepairCommand {
    /// Rebuild the index from the packs: drop entries of missing packs, add packs no index
    /// describes, replace damaged index files (restic's `repair index`).
    Index(RepairIndexArgs),
    /// Rewrite snapshots that need blobs the index lacks: files keep the data that exists,
    /// unreadable directories become empty; tagged `repaired` (restic 0.16's `repair snapshots`).
    /// Run `repair index` first.
    Snapshots(RepairSnapshotsArgs),
}

#[derive(Debug, Args)]
pub struct RepairIndexArgs {
    /// Print what would change; write nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RepairSnapshotsArgs {
    /// Print what would change; write nothing (as restic, the default is to apply).
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Remove the damaged originals once their repaired snapshots are stored.
    #[arg(long)]
    forget: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Also remove locks that look alive.
    #[arg(long)]
    remove_all: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Chunk files as the repository at --from-repo does, so that `copy` between the two
    /// and backups into either deduplicate (restic's flag).
    #[arg(long, requires = "from_repo")]
    copy_chunker_params: bool,
    /// The repository whose chunker parameters to copy.
    #[arg(long, value_name = "URL", requires = "copy_chunker_params")]
    from_repo: Option<String>,
    /// Password file of --from-repo (default: this repository's password).
    #[arg(long, value_name = "FILE", conflicts_with = "from_password_command")]
    from_password_file: Option<PathBuf>,
    /// Command printing the password of --from-repo.
    #[arg(long, value_name = "CMD")]
    from_password_command: Option<String>,
    /// Make the repository immutable (S3 Object Lock, the bucket must have it enabled; Azure
    /// immutability policies, the container must have version-level immutability support; GCS
    /// Object Retention Lock, the bucket must have it enabled): every object written from now
    /// on, lock files excepted, is retained for --retain.
    #[arg(long, value_name = "MODE", requires = "retain")]
    object_lock: Option<LockMode>,
    /// How long each object is retained after its upload, e.g. 30d (with --object-lock).
    #[arg(long, value_name = "DURATION", requires = "object_lock", value_parser = crate::context::parse_duration)]
    retain: Option<std::time::Duration>,
}

/// `--object-lock` modes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LockMode {
    /// Deletable before the date only by identities with s3:BypassGovernanceRetention (Azure:
    /// an unlocked policy, which the account's owner may shorten; GCS: retention mode Unlocked,
    /// storage.objects.overrideUnlockedRetention).
    Governance,
    /// Deletable by nobody before the date (Azure: a locked policy; GCS: retention mode Locked).
    Compliance,
}

pub async fn init(g: &Globals, a: &InitArgs) -> anyhow::Result<u8> {
    let url = g.repo_url()?;
    let password = g.new_password()?;
    let mut options = InitOptions::default();
    if let Some(from) = a.from_repo.as_deref().filter(|_| a.copy_chunker_params) {
        let from_password = if a.from_password_file.is_some() || a.from_password_command.is_some() {
            read_password(
                a.from_password_file.as_ref(),
                a.from_password_command.as_deref(),
                "--from-repo",
            )?
        } else {
            password.clone()
        };
        let (store, shown) = store_for(from).await.context("--from-repo")?;
        let src = Repository::open(store.object_store(), shown.clone(), &from_password)
            .await
            .with_context(|| format!("--from-repo {shown}"))?;
        options = options.with_chunker_params(src.config().chunker_params());
    }
    let lock = a.object_lock.zip(a.retain).map(|(mode, retain)| {
        let mode = match mode {
            LockMode::Governance => ObjectLockMode::Governance,
            LockMode::Compliance => ObjectLockMode::Compliance,
        };
        ObjectLockOptions::new(mode, retain)
    });
    let (store, shown) = match lock {
        Some(lock) => {
            let store = store_with_lock(&url, Some(lock))?;
            let shown = store.display_url().to_string();
            (store, shown)
        }
        None => store_for(&url).await?,
    };
    let repo = Repository::init(store.object_store(), shown.clone(), &password, &options).await?;
    if let Some(lock) = lock {
        lock.record(store.object_store().as_ref())
            .await
            .with_context(|| {
                format!("the repository was created, but recording its object-lock policy ({OBJECT_LOCK_POLICY}) failed; later commands will not retain what they write until it is recorded")
            })?;
    }
    let mut value = serde_json::json!({
        "id": repo.config().id.to_hex(),
        "version": repo.config().version,
        "location": shown,
    });
    if let Some(l) = lock {
        value["object_lock"] = serde_json::json!({
            "mode": l.mode.as_str(),
            "retain_seconds": l.retain.as_secs(),
        });
    }
    print_data(g, &value, |out| {
        writeln!(
            out,
            "created repository {} (format version 2) at {shown}",
            repo.config().id.short()
        )?;
        if let Some(l) = lock {
            writeln!(
                out,
                "object lock: {} retention of {}s on every object written (lock files excepted)",
                l.mode.as_str(),
                l.retain.as_secs()
            )?;
        }
        writeln!(
            out,
            "Keep the password safe: without it the data cannot be read."
        )
    })?;
    Ok(EXIT_OK as u8)
}

pub async fn check(g: &Globals, a: &CheckArgs) -> anyhow::Result<u8> {
    let read_data = match (&a.read_data_subset, a.read_data) {
        (Some(p), _) => p.parse::<ReadData>()?,
        (None, true) => ReadData::All,
        (None, false) => ReadData::None,
    };
    let repo = g.open().await?;
    let ticker = Ticker::start(g.quiet, || "checking".to_string());
    let res =
        thinledger_backup::check(&repo, &CheckOptions::default().with_read_data(read_data)).await;
    if let Some(t) = ticker {
        t.stop();
    }
    let r = res?;
    print_data(g, &r, |out| {
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
        if !r.temporary_files.is_empty() {
            let total: u64 = r.temporary_files.iter().map(|t| t.size).sum();
            writeln!(
                out,
                "{} temporary upload file(s), {} in all, left by interrupted writes (`prune` removes those untouched for 30 minutes):",
                r.temporary_files.len(),
                human_bytes(total)
            )?;
            for t in &r.temporary_files {
                writeln!(out, "  {} ({})", t.path, human_bytes(t.size))?;
            }
        }
        if !r.unknown_files.is_empty() {
            writeln!(
                out,
                "{} file(s) that are not part of a repository (left alone):",
                r.unknown_files.len()
            )?;
            for t in &r.unknown_files {
                writeln!(out, "  {} ({})", t.path, human_bytes(t.size))?;
            }
        }
        if !r.loose_modes.is_empty() {
            writeln!(
                out,
                "{} file(s) or folder(s) other users may access (repository files are 0400, folders 0700); tighten them with `chmod -R go-rwx` on the repository folder:",
                r.loose_modes.len()
            )?;
            for m in r.loose_modes.iter().take(20) {
                writeln!(out, "  {} (mode {:04o})", m.path, m.mode)?;
            }
            if r.loose_modes.len() > 20 {
                writeln!(out, "  … and {} more", r.loose_modes.len() - 20)?;
            }
        }
        for e in &r.errors {
            writeln!(out, "error: {e}")?;
        }
        for f in &r.retention_findings {
            writeln!(out, "retention: {f}")?;
        }
        if r.is_ok() {
            writeln!(out, "no errors were found")
        } else if r.retention_findings.is_empty() {
            writeln!(out, "{} error(s) found", r.errors.len())
        } else {
            writeln!(
                out,
                "{} error(s) and {} object(s) retained for less than the repository's object-lock policy found",
                r.errors.len(),
                r.retention_findings.len()
            )
        }
    })?;
    Ok(if r.is_ok() {
        EXIT_OK as u8
    } else {
        EXIT_FAILED as u8
    })
}

pub async fn forget(g: &Globals, a: &ForgetArgs) -> anyhow::Result<u8> {
    let policy = KeepPolicy::default()
        .with_last(a.keep_last)
        .with_hourly(a.keep_hourly)
        .with_daily(a.keep_daily)
        .with_weekly(a.keep_weekly)
        .with_monthly(a.keep_monthly)
        .with_yearly(a.keep_yearly);
    let mut opts = ForgetOptions::default()
        .with_policy(policy)
        .with_dry_run(a.dry_run);
    if a.prune {
        opts = opts.with_prune(PruneOptions::default());
    }
    let repo = g.open().await?;
    let report = thinledger_backup::forget(&repo, &opts).await?;
    print_data(g, &report, |out| {
        for grp in &report.plan.groups {
            writeln!(out, "host {} paths {}:", grp.hostname, grp.paths.join(" "))?;
            for k in &grp.keep {
                writeln!(
                    out,
                    "  keep   {} {} ({})",
                    k.snapshot.id.short(),
                    k.snapshot.snapshot.time.format("%Y-%m-%d %H:%M:%S"),
                    k.reasons.join(", ")
                )?;
            }
            for r in &grp.remove {
                writeln!(
                    out,
                    "  remove {} {}",
                    r.id.short(),
                    r.snapshot.time.format("%Y-%m-%d %H:%M:%S")
                )?;
            }
        }
        if report.dry_run {
            writeln!(out, "dry run: nothing removed")?;
        } else {
            writeln!(out, "removed {} snapshot(s)", report.removed)?;
        }
        print_retained(out, &report.retained)?;
        if let Some(p) = &report.prune {
            print_prune(out, p, report.dry_run)?;
        }
        Ok(())
    })?;
    Ok(EXIT_OK as u8)
}

fn print_prune(
    out: &mut dyn Write,
    p: &thinledger_backup::PrunePlan,
    dry_run: bool,
) -> std::io::Result<()> {
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
    )?;
    if !p.temporary_files.is_empty() {
        writeln!(
            out,
            "{} temporary upload file(s) {}, {}",
            p.temporary_files.len(),
            if dry_run { "to remove" } else { "removed" },
            human_bytes(p.temporary_files.iter().map(|t| t.size).sum())
        )?;
    }
    if !p.temporary_files_kept.is_empty() {
        writeln!(
            out,
            "{} temporary upload file(s) kept: touched less than 30 minutes ago",
            p.temporary_files_kept.len()
        )?;
    }
    print_retained(out, &p.retained)
}

/// Objects an immutable repository keeps until their retention passes.
fn print_retained(
    out: &mut dyn Write,
    retained: &[thinledger_backup::RetainedObject],
) -> std::io::Result<()> {
    if retained.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{} object(s) kept under retention (a later run after the date removes them):",
        retained.len()
    )?;
    for r in retained {
        match &r.retained_until {
            Some(until) => writeln!(
                out,
                "  {} {} retained until {}",
                r.kind,
                r.id.short(),
                until.format("%Y-%m-%d %H:%M:%S UTC")
            )?,
            None => writeln!(out, "  {} {} {}", r.kind, r.id.short(), r.reason)?,
        }
    }
    Ok(())
}

pub async fn prune(g: &Globals, a: &PruneArgs) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    let p = thinledger_backup::prune(
        &repo,
        &PruneOptions::default()
            .with_dry_run(a.dry_run)
            .with_max_unused_percent(a.max_unused),
    )
    .await?;
    print_data(g, &p, |out| print_prune(out, &p, a.dry_run))?;
    Ok(EXIT_OK as u8)
}

pub async fn unlock(g: &Globals, a: &UnlockArgs) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    let removed = repo.unlock(a.remove_all).await?;
    let ids: Vec<String> = removed.iter().map(|i| i.to_hex()).collect();
    print_data(g, &serde_json::json!({ "removed": ids }), |out| {
        writeln!(out, "removed {} lock(s)", removed.len())
    })?;
    Ok(EXIT_OK as u8)
}

pub async fn repair(g: &Globals, c: &RepairCommand) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    match c {
        RepairCommand::Index(a) => {
            let r = thinledger_backup::repair_index(
                &repo,
                &RepairIndexOptions::default().with_dry_run(a.dry_run),
            )
            .await?;
            print_data(g, &r, |out| {
                for id in &r.packs_missing {
                    writeln!(
                        out,
                        "pack {} is missing: its entries are dropped",
                        id.short()
                    )?;
                }
                for (id, e) in &r.packs_unreadable {
                    writeln!(
                        out,
                        "pack {}: header unreadable, not indexed: {e}",
                        id.short()
                    )?;
                }
                for id in &r.index_files_damaged {
                    writeln!(out, "index {} is damaged: replaced", id.short())?;
                }
                writeln!(
                    out,
                    "{}: {} packs, {} blobs ({} packs read from their headers); {} index file(s) replaced",
                    if r.applied {
                        "index rebuilt"
                    } else {
                        "dry run, nothing written"
                    },
                    r.packs,
                    r.blobs,
                    r.packs_read.len(),
                    r.index_files_replaced
                )?;
                if !r.packs_missing.is_empty() {
                    writeln!(
                        out,
                        "snapshots may now need blobs that are gone: run `check`, then `repair snapshots`; `backup` stores missing data again"
                    )?;
                }
                print_retained(out, &r.index_files_retained)
            })?;
        }
        RepairCommand::Snapshots(a) => {
            let r = thinledger_backup::repair_snapshots(
                &repo,
                &RepairSnapshotsOptions::default()
                    .with_dry_run(a.dry_run)
                    .with_forget(a.forget),
            )
            .await?;
            print_data(g, &r, |out| {
                for s in &r.repaired {
                    writeln!(out, "snapshot {}:", s.original.short())?;
                    for f in &s.files_truncated {
                        writeln!(out, "  file {f}: missing data removed")?;
                    }
                    for d in &s.dirs_emptied {
                        writeln!(out, "  directory {d}: unreadable, replaced by an empty one")?;
                    }
                    if s.root_unreadable {
                        writeln!(out, "  root tree unreadable: cannot be repaired")?;
                    }
                    match (&s.repaired, s.forgotten) {
                        (Some(id), true) => {
                            writeln!(out, "  saved as {}, original removed", id.short())?
                        }
                        (Some(id), false) => writeln!(out, "  saved as {}", id.short())?,
                        (None, true) => writeln!(out, "  removed")?,
                        (None, false) => {}
                    }
                }
                print_retained(out, &r.retained)?;
                if r.repaired.is_empty() {
                    writeln!(
                        out,
                        "{} snapshot(s) checked, none needs repair",
                        r.snapshots
                    )
                } else if r.applied {
                    writeln!(
                        out,
                        "{} of {} snapshot(s) repaired",
                        r.repaired.len(),
                        r.snapshots
                    )
                } else {
                    writeln!(
                        out,
                        "dry run: {} of {} snapshot(s) would be repaired",
                        r.repaired.len(),
                        r.snapshots
                    )
                }
            })?;
        }
    }
    Ok(EXIT_OK as u8)
}
