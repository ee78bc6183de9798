//! `backup`: files and directories, or standard input, into a new snapshot.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use thinledger_backup::{
    BackupOptions, BackupProgress, BackupSummary, Compression, ParentSelection, SaverOptions,
};
use thinledger_cli::{EXIT_FAILED, EXIT_OK, OutputFormat};

use crate::context::Globals;
use crate::output::{BackupDisplay, human_bytes, print_data, print_json_line};

#[derive(Debug, Args)]
pub struct BackupArgs {
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
    /// Tags for the snapshot: `a,b` adds both (repeatable).
    #[arg(long = "tag", value_name = "TAG[,TAG…]", value_delimiter = ',')]
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

pub async fn run(g: &Globals, a: &BackupArgs) -> anyhow::Result<u8> {
    let repo = g.open().await?;
    let progress = Arc::new(BackupProgress::default());
    let compression = match a.compression {
        CompressionArg::Off => Compression::Off,
        CompressionArg::Fast => Compression::Fast,
        CompressionArg::Auto => Compression::Auto,
        CompressionArg::Max => Compression::Max,
    };
    let parent = match (&a.parent, a.force) {
        (_, true) => ParentSelection::None,
        (Some(p), _) => ParentSelection::Snapshot(p.clone()),
        (None, false) => ParentSelection::Auto,
    };
    let opts = BackupOptions::default()
        .with_tags(a.tags.iter())
        .with_hostname(a.host.clone())
        .with_parent(parent)
        .with_saver(SaverOptions::default().with_compression(compression));
    // Quiet: no display, so no progress (and no scan for its totals).
    let opts = if g.quiet {
        opts
    } else {
        opts.with_progress(Arc::clone(&progress))
    };
    let display = BackupDisplay::start(g, &progress);
    let res = if a.stdin {
        let name = a.stdin_filename.clone().unwrap_or_default();
        thinledger_backup::backup_reader(&repo, tokio::io::stdin(), &name, &opts).await
    } else {
        thinledger_backup::backup_paths(&repo, &a.paths, &opts).await
    };
    if let Some(d) = display {
        d.stop(res.is_ok()).await;
    }
    let summary = res?;
    if g.output == OutputFormat::Json {
        // After the status lines: one `{"message_type":"summary",…}` line, as restic's --json.
        print_json_line("summary", &summary)?;
    } else {
        print_data(g, &summary, |out| print_backup(out, &summary))?;
    }
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
