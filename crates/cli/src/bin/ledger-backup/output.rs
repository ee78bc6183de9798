//! Printing: data as a table or `--output json|yaml`, human sizes, the progress ticker and a
//! backup's progress display.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use thinledger_backup::{BackupProgress, BackupStatus};
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

/// `seconds` as `1:02:03` or `2:03`, as restic shows an ETA.
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A backup's progress, rendered from the library's [`BackupStatus`]: on a terminal a bar
/// (files and bytes of the total, percentage, ETA, the file being read); with `--output json`
/// restic's status lines on stdout; otherwise a structured log line every 10 s.
pub struct BackupDisplay {
    progress: Arc<BackupProgress>,
    json: bool,
    handle: tokio::task::JoinHandle<()>,
    bar: Option<indicatif::ProgressBar>,
}

/// How often `--output json` writes a status line.
const JSON_STATUS_INTERVAL: Duration = Duration::from_secs(1);
/// How often the terminal bar is redrawn.
const BAR_INTERVAL: Duration = Duration::from_millis(200);
/// How often a progress log line is written when stderr is not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The update interval: `THINLEDGER_PROGRESS_FPS` (updates per second, as restic's
/// `RESTIC_PROGRESS_FPS`) when set to a positive number, else `default`.
fn interval(default: Duration) -> Duration {
    std::env::var("THINLEDGER_PROGRESS_FPS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|fps| fps.is_finite() && *fps > 0.0)
        .map_or(default, |fps| {
            Duration::from_secs_f64((1.0 / fps).max(0.001))
        })
}

/// One JSON line as restic writes them: `{"message_type":"status",…}`.
#[derive(Serialize)]
struct Message<'a, T: Serialize> {
    message_type: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// Writes one `{"message_type":…}` line to stdout (a whole line at once: no await inside).
pub fn print_json_line<T: Serialize>(message_type: &'static str, body: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &Message { message_type, body })?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

impl BackupDisplay {
    /// Starts showing `progress` unless `quiet`.
    pub fn start(g: &Globals, progress: &Arc<BackupProgress>) -> Option<BackupDisplay> {
        if g.quiet {
            return None;
        }
        let json = g.output == OutputFormat::Json;
        let p = Arc::clone(progress);
        if json {
            let every = interval(JSON_STATUS_INTERVAL);
            let handle = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if print_json_line("status", &p.status()).is_err() {
                        return; // stdout closed: the summary will say so
                    }
                }
            });
            return Some(BackupDisplay {
                progress: Arc::clone(progress),
                json,
                handle,
                bar: None,
            });
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:20} {prefix} {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let b = bar.clone();
            let every = interval(BAR_INTERVAL);
            let handle = tokio::spawn(async move {
                loop {
                    let s = p.status();
                    b.set_length(1000);
                    b.set_position((s.percent_done * 1000.0) as u64);
                    b.set_prefix(status_line(&s));
                    b.set_message(tail(s.current_files.first().map_or("", String::as_str)));
                    tokio::time::sleep(every).await;
                }
            });
            Some(BackupDisplay {
                progress: Arc::clone(progress),
                json,
                handle,
                bar: Some(bar),
            })
        } else {
            let every = interval(LOG_INTERVAL);
            let handle = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let s = p.status();
                    tracing::info!(
                        target: "progress",
                        percent_done = s.percent_done,
                        files_done = s.files_done,
                        total_files = s.total_files,
                        bytes_done = s.bytes_done,
                        total_bytes = s.total_bytes,
                        seconds_remaining = s.seconds_remaining,
                        error_count = s.error_count,
                        current_file = s.current_files.first().map(String::as_str),
                        "{}",
                        status_line(&s)
                    );
                }
            });
            Some(BackupDisplay {
                progress: Arc::clone(progress),
                json,
                handle,
                bar: None,
            })
        }
    }

    /// Stops the display; with `--output json` the last status line (the totals are final
    /// once the backup has finished) precedes the summary.
    pub async fn stop(self, finished: bool) {
        self.handle.abort();
        let _ = self.handle.await;
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        if self.json && finished {
            let _ = print_json_line("status", &self.progress.status());
        }
    }
}

/// The end of a long path (its file name matters most): `…/exports/ledger-0007.sql`.
fn tail(path: &str) -> String {
    const KEEP: usize = 48;
    let chars = path.chars().count();
    if chars <= KEEP {
        return path.to_owned();
    }
    let rest: String = path.chars().skip(chars - KEEP).collect();
    format!("…{rest}")
}

/// `42.0%  1234 / 5000 files  1.2 GiB / 3.4 GiB  ETA 0:12` (while the scan runs, totals are
/// marked as lower bounds and there is no ETA; without totals, e.g. standard input, only
/// what is done and the rate).
pub fn status_line(s: &BackupStatus) -> String {
    let mut line = if s.total_files == 0 && s.total_bytes == 0 {
        let rate = s.bytes_done / s.seconds_elapsed.max(1);
        format!(
            "{} files, {} ({}/s)",
            s.files_done,
            human_bytes(s.bytes_done),
            human_bytes(rate)
        )
    } else {
        let more = if s.scan_finished { "" } else { "+" };
        format!(
            "{:.1}%  {} / {}{more} files  {} / {}{more}",
            s.percent_done * 100.0,
            s.files_done,
            s.total_files,
            human_bytes(s.bytes_done),
            human_bytes(s.total_bytes),
        )
    };
    if let Some(eta) = s.seconds_remaining {
        line.push_str(&format!("  ETA {}", clock(eta)));
    }
    if s.error_count > 0 {
        line.push_str(&format!("  {} skipped", s.error_count));
    }
    line
}
