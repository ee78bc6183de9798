//! Reading snapshots: `snapshots`, `ls`, `restore`, `dump`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clap::{Args, ValueEnum};
use thinledger_backup::{
    LsEntry, NodeType, Overwrite, Repository, RestoreOptions, RestoreProgress, SnapshotEntry,
    SnapshotFilter,
};
use thinledger_cli::{EXIT_FAILED, EXIT_OK, OutputFormat, write_structured};

use crate::context::{Globals, bad};
use crate::output::{Ticker, human_bytes, print_data};

/// Which snapshots are listed, and which one `latest` means (as restic's flags).
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only snapshots made on this host (repeatable: any of them).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Only snapshots whose paths include this one (repeatable: all of them).
    #[arg(long = "path", value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Only snapshots with these tags: `a,b` needs both; repeat the flag for either list.
    #[arg(long = "tag", value_name = "TAG[,TAG…]")]
    tags: Vec<String>,
}

impl FilterArgs {
    fn filter(&self) -> anyhow::Result<SnapshotFilter> {
        let mut filter = SnapshotFilter::default();
        for p in &self.paths {
            filter = filter.with_path(p).map_err(|e| {
                bad(format!(
                    "--path {}: {e}; give an absolute path",
                    p.display()
                ))
            })?;
        }
        for list in &self.tags {
            let l: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            if l.is_empty() {
                return Err(bad(format!(
                    "--tag `{list}`: give a tag, or several separated by commas"
                )));
            }
            filter = filter.with_tags(l);
        }
        for host in &self.hosts {
            filter = filter.with_host(host);
        }
        Ok(filter)
    }
}

/// The snapshot `query` names, with `latest` limited by the filter.
async fn pick(repo: &Repository, query: &str, f: &FilterArgs) -> anyhow::Result<SnapshotEntry> {
    Ok(repo.find_snapshot_matching(query, &f.filter()?).await?)
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// `SNAPSHOT` or `SNAPSHOT:PATH` (SNAPSHOT: `latest`, an id or an id prefix).
    snapshot: String,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// `SNAPSHOT` or `SNAPSHOT:SUBPATH` (SNAPSHOT: `latest`, an id or an id prefix).
    snapshot: String,
    /// Directory to restore into (created if missing).
    #[arg(long, short = 't', value_name = "DIR")]
    target: PathBuf,
    /// What to do with files already in the target (as restic 0.17): `always` replaces them;
    /// `if-changed` keeps a file whose size and modification time match the snapshot's (and
    /// sets its metadata); `if-newer` replaces only files older than the snapshot's; `never`
    /// keeps every existing file. A file is replaced by renaming its complete new content over
    /// it, never through a symbolic link.
    #[arg(long, value_enum, default_value_t = OverwriteArg::Always, value_name = "MODE")]
    overwrite: OverwriteArg,
    #[command(flatten)]
    filter: FilterArgs,
}

/// `--overwrite` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OverwriteArg {
    Always,
    IfChanged,
    IfNewer,
    Never,
}

impl From<OverwriteArg> for Overwrite {
    fn from(a: OverwriteArg) -> Overwrite {
        match a {
            OverwriteArg::Always => Overwrite::Always,
            OverwriteArg::IfChanged => Overwrite::IfChanged,
            OverwriteArg::IfNewer => Overwrite::IfNewer,
            OverwriteArg::Never => Overwrite::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ArchiveArg {
    Tar,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// `latest`, an id or an id prefix.
    snapshot: String,
    /// The path in the snapshot: a file is written as it is (e.g. /ledger.sql), a directory
    /// as a tar archive (`/` for the whole snapshot), as `restic dump` does.
    path: String,
    /// The archive format for a directory (only tar so far).
    #[arg(long, value_enum, default_value = "tar")]
    archive: ArchiveArg,
    #[command(flatten)]
    filter: FilterArgs,
}

pub async fn list(g: &Globals, a: &SnapshotsArgs) -> anyhow::Result<u8> {
    let filter = a.filter.filter()?;
    let repo = g.open().await?;
    let snaps = repo.snapshots_matching(&filter).await?;
    print_data(g, &snaps, |out| print_snapshots(out, &snaps))?;
    Ok(EXIT_OK as u8)
}

pub async fn ls(g: &Globals, a: &LsArgs) -> anyhow::Result<u8> {
    let (query, sub) = a.snapshot.split_once(':').unwrap_or((&a.snapshot, ""));
    let repo = g.open().await?;
    let snap = pick(&repo, query, &a.filter).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match g.output {
        OutputFormat::Table => {
            thinledger_backup::ls(&repo, &snap, sub, |e| {
                write_ls_line(&mut out, &e).map_err(output_error)
            })
            .await?;
        }
        OutputFormat::Json => {
            // Streamed, one entry per line inside the array, so memory stays flat. The head
            // is written with the first entry, so a path that is not there prints no JSON.
            let head = format!("{{\"snapshot\": \"{}\", \"entries\": [", snap.id.to_hex());
            let mut first = true;
            thinledger_backup::ls(&repo, &snap, sub, |e| {
                let sep = if first {
                    format!("{head}\n  ")
                } else {
                    ",\n  ".to_string()
                };
                first = false;
                out.write_all(sep.as_bytes())
                    .and_then(|()| {
                        serde_json::to_writer(&mut out, &e).map_err(std::io::Error::other)
                    })
                    .map_err(output_error)
            })
            .await?;
            if first {
                out.write_all(head.as_bytes())?;
            }
            writeln!(out, "\n]}}")?;
        }
        other => {
            let mut entries = Vec::new();
            thinledger_backup::ls(&repo, &snap, sub, |e| {
                entries.push(e);
                Ok(())
            })
            .await?;
            let doc = serde_json::json!({ "snapshot": snap.id.to_hex(), "entries": entries });
            write_structured(&mut out, other, &doc)?;
        }
    }
    out.flush()?;
    Ok(EXIT_OK as u8)
}

fn output_error(source: std::io::Error) -> thinledger_backup::Error {
    thinledger_backup::Error::Io {
        op: "writing the listing to",
        path: PathBuf::from("standard output"),
        source,
    }
}

fn write_ls_line(out: &mut dyn Write, e: &LsEntry) -> std::io::Result<()> {
    let owner = |name: &str, id: u32| {
        if name.is_empty() {
            id.to_string()
        } else {
            name.to_string()
        }
    };
    write!(
        out,
        "{} {:<8} {:<8} {:>12} {} {}",
        e.mode_string(),
        owner(&e.user, e.uid),
        owner(&e.group, e.gid),
        e.size,
        e.mtime
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".repeat(19)),
        e.display_path()
    )?;
    if e.node_type == NodeType::Symlink {
        write!(out, " -> {}", e.display_link_target())?;
    }
    writeln!(out)
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

pub async fn restore(g: &Globals, a: &RestoreArgs) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    let target = &a.target;
    let spec = a.snapshot.as_str();
    let (query, sub) = spec.split_once(':').unwrap_or((spec, ""));
    let snapshot = pick(&repo, query, &a.filter).await?.id.to_hex();
    let snapshot = snapshot.as_str();
    let progress = Arc::new(RestoreProgress::default());
    let p = Arc::clone(&progress);
    let ticker = Ticker::start(g.quiet, move || {
        format!(
            "{} files, {} of {} written",
            p.files.load(Ordering::Relaxed),
            human_bytes(p.bytes.load(Ordering::Relaxed)),
            human_bytes(p.bytes_planned.load(Ordering::Relaxed))
        )
    });
    let opts = RestoreOptions::default()
        .with_progress(progress)
        .with_overwrite(a.overwrite.into());
    let res = thinledger_backup::restore(&repo, snapshot, sub, target, &opts).await;
    if let Some(t) = ticker {
        t.stop();
    }
    let s = res?;
    print_data(g, &s, |out| {
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
        if s.files_skipped > 0 {
            writeln!(
                out,
                "{} existing files left as they were (--overwrite {})",
                s.files_skipped,
                Overwrite::from(a.overwrite).as_str()
            )?;
        }
        for w in &s.warnings {
            writeln!(out, "warning: {w}")?;
        }
        if !s.is_complete() {
            writeln!(
                out,
                "{} files restored, {} damaged, {} other entries not restored",
                s.files,
                s.damaged.len(),
                s.errors.len()
            )?;
            for d in &s.damaged {
                writeln!(out, "damaged: {}: {}", d.path.display(), d.reason)?;
            }
            for e in &s.errors {
                writeln!(out, "not restored: {}: {}", e.path.display(), e.reason)?;
            }
        }
        Ok(())
    })?;
    if !s.is_complete() {
        eprintln!(
            "error: the restore of snapshot {} is incomplete: {} files damaged (removed, not restored), {} other entries not restored; every other file is restored",
            s.snapshot_id.short(),
            s.damaged.len(),
            s.errors.len()
        );
    }
    Ok(if s.warnings.is_empty() && s.is_complete() {
        EXIT_OK as u8
    } else {
        EXIT_FAILED as u8
    })
}

pub async fn dump(g: &Globals, a: &DumpArgs) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    let snapshot = pick(&repo, &a.snapshot, &a.filter).await?.id.to_hex();
    // The only format so far; a directory is always written as a tar.
    let ArchiveArg::Tar = a.archive;
    let mut out = tokio::io::stdout();
    thinledger_backup::dump(&repo, &snapshot, &a.path, &mut out).await?;
    Ok(EXIT_OK as u8)
}
