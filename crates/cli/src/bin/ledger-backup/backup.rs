//! `backup`: files and directories, or standard input, into a new snapshot.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use thinledger_backup::{
    BackupOptions, BackupProgress, BackupSummary, Compression, FilesFrom, ParentSelection,
    SaverOptions,
};
use thinledger_cli::{EXIT_FAILED, EXIT_OK, OutputFormat, bad};

use crate::context::Globals;
use crate::output::{BackupDisplay, human_bytes, print_data, print_json_line};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Files and directories to back up.
    #[arg(
        value_name = "PATH",
        required_unless_present_any = ["stdin", "files_from", "files_from_verbatim"],
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
    #[command(flatten)]
    select: SelectArgs,
}

/// What is backed up, with restic's flags and semantics.
#[derive(Debug, Args)]
#[command(next_help_heading = "Selection (as restic)")]
struct SelectArgs {
    /// Leave out what matches PATTERN (repeatable): `*.tmp` at any depth, `/srv/cache` from
    /// the root, `**` across directories, `!pattern` takes back an earlier match. Quote it.
    #[arg(long, short = 'e', value_name = "PATTERN")]
    exclude: Vec<String>,
    /// As --exclude, ignoring case (repeatable).
    #[arg(long, value_name = "PATTERN")]
    iexclude: Vec<String>,
    /// Read --exclude patterns from FILE, one per line: `#` comments and blank lines are
    /// skipped, `$VAR`/`${VAR}` expanded (`$$` is a literal `$`) (repeatable).
    #[arg(long, value_name = "FILE")]
    exclude_file: Vec<PathBuf>,
    /// As --exclude-file, ignoring case (repeatable).
    #[arg(long, value_name = "FILE")]
    iexclude_file: Vec<PathBuf>,
    /// Leave out what directories tagged with a valid CACHEDIR.TAG hold (the tag file stays).
    #[arg(long)]
    exclude_caches: bool,
    /// Also back up the paths listed in FILE (`-`: standard input), one per line: `#`
    /// comments and blank lines skipped, globs expanded (repeatable).
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    files_from: Vec<PathBuf>,
    /// As --files-from, but each non-empty line is a path exactly as written: no comments,
    /// no globs, no trimming (repeatable).
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    files_from_verbatim: Vec<PathBuf>,
}

impl SelectArgs {
    /// The paths to back up: the lists' paths, then the command line's (as restic orders them).
    fn paths(&self, args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (files, mode) in [
            (&self.files_from, FilesFrom::Globbed),
            (&self.files_from_verbatim, FilesFrom::Verbatim),
        ] {
            for f in files {
                let flag = match mode {
                    FilesFrom::Verbatim => "--files-from-verbatim",
                    _ => "--files-from",
                };
                let read = if f.as_os_str() == "-" {
                    let mut data = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut data)
                        .map_err(|e| bad(format!("{flag} -: reading standard input: {e}")))?;
                    thinledger_backup::parse_files_from(&data, mode)
                } else {
                    thinledger_backup::read_files_from(f, mode)
                };
                out.extend(read.map_err(|e| bad(format!("{flag}: {e}")))?);
            }
        }
        out.extend(args.iter().cloned());
        Ok(out)
    }

    /// The pattern lists: the flags' patterns, then the files' (as restic appends them).
    fn apply(&self, opts: BackupOptions) -> anyhow::Result<BackupOptions> {
        let mut excludes = self.exclude.clone();
        for f in &self.exclude_file {
            excludes.extend(
                thinledger_backup::read_exclude_file(f)
                    .map_err(|e| bad(format!("--exclude-file: {e}")))?,
            );
        }
        let mut iexcludes = self.iexclude.clone();
        for f in &self.iexclude_file {
            iexcludes.extend(
                thinledger_backup::read_exclude_file(f)
                    .map_err(|e| bad(format!("--iexclude-file: {e}")))?,
            );
        }
        Ok(opts
            .with_excludes(excludes)
            .with_iexcludes(iexcludes)
            .with_exclude_caches(self.exclude_caches))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressionArg {
    Off,
    Fast,
    Auto,
    Max,
}

pub async fn run(g: &Globals, a: &BackupArgs) -> anyhow::Result<u8> {
    // Lists and patterns are read before the repository is opened: a typo fails fast.
    let paths = if a.stdin {
        Vec::new()
    } else {
        a.select.paths(&a.paths)?
    };
    let select_opts = a.select.apply(BackupOptions::default())?;
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
    let opts = select_opts
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
        thinledger_backup::backup_paths(&repo, &paths, &opts).await
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
