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

/// Prints an error and its whole chain of causes to stderr, as `error: …` / `  caused by: …`.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}
