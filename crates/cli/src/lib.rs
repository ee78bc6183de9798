//! Shared plumbing of the thin binaries: output formats and exit codes.
//!
//! The binaries themselves live in `src/bin/`; each parses flags, calls a library crate and
//! prints. Nothing here is meant for other crates.

use std::fmt;
use std::io::Write;

use serde::Serialize;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code when a check failed or a job did not complete.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for input the tool cannot use (bad flags, unreadable or malformed files).
pub const EXIT_BAD_INPUT: i32 = 2;

/// How a command prints its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
        })
    }
}

/// Writes `value` as pretty JSON or YAML. Table output is each tool's own.
pub fn write_structured<T: Serialize>(
    out: &mut dyn Write,
    format: OutputFormat,
    value: &T,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)?;
        }
        OutputFormat::Yaml => out.write_all(serde_yaml_ng::to_string(value)?.as_bytes())?,
        OutputFormat::Table => anyhow::bail!("table output is written by each tool itself"),
    }
    Ok(())
}

/// Prints an error and its whole chain of causes to stderr, as `error: …` / `  caused by: …`,
/// leaving out a cause whose text an earlier line already contains (store errors quote
/// their sources).
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let mut texts = thinledger_topology::error_causes(err.as_ref()).into_iter();
    let _ = writeln!(stderr, "error: {}", texts.next().unwrap_or_default());
    for text in texts {
        let _ = writeln!(stderr, "  caused by: {text}");
    }
}

/// The process exit status of a command's `result`: its own code on success; success when
/// only the reader closed the pipe (`… | head`); otherwise the error's chain on stderr
/// ([`print_error`]) and [`EXIT_BAD_INPUT`].
pub fn exit_status(result: anyhow::Result<i32>) -> std::process::ExitCode {
    match result {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) if is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            print_error(&err);
            std::process::ExitCode::from(u8::try_from(EXIT_BAD_INPUT).unwrap_or(2))
        }
    }
}

/// A check's exit code once its report is written: `verdict`, even when the reader stopped
/// early (`… | head`), so a closed pipe never turns a failed check into a pass; any other
/// write error is the error.
pub fn verdict_after(written: anyhow::Result<()>, verdict: i32) -> anyhow::Result<i32> {
    match written {
        Err(err) if !is_broken_pipe(&err) => Err(err),
        _ => Ok(verdict),
    }
}

/// Whether `err` comes from writing to a closed pipe (`… | head`): the reader's choice, not
/// a failure, so the tools stop quietly with success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
