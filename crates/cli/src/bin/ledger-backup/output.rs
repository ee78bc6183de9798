//! Printing: data as a table or `--output json|yaml`, human sizes, and the progress ticker.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;
use thinledger_cli::{OutputFormat, write_structured};

use crate::context::Globals;

/// `n` bytes as `12.3 MiB`.
pub fn human_bytes(n: u64) -> String {
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

/// Prints `value` in the chosen `--output` format; `table` writes the human form.
pub fn print_data<T: Serialize>(
    g: &Globals,
    value: &T,
    table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match g.output {
        OutputFormat::Table => table(&mut out)?,
        other => write_structured(&mut out, other, value)?,
    }
    out.flush()?;
    Ok(())
}

/// A progress display: an indicatif line on a terminal, a log line every 10 s otherwise.
pub struct Ticker {
    handle: tokio::task::JoinHandle<()>,
    bar: Option<indicatif::ProgressBar>,
}

impl Ticker {
    /// Starts the display unless `quiet`; `render` gives the current line.
    pub fn start(quiet: bool, render: impl Fn() -> String + Send + 'static) -> Option<Ticker> {
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

    /// Stops the display and clears the bar.
    pub fn stop(self) {
        self.handle.abort();
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
