//! `--output table|json|yaml`: the format every command that prints data accepts.

use std::fmt;
use std::io::Write;

use serde::Serialize;

/// How a command prints its data: the same data in each format.
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
