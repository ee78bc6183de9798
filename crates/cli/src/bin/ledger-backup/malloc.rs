//! `backup` runs with glibc's mmap threshold fixed at 1 MiB.
//!
//! glibc serves an allocation above its mmap threshold (128 KiB at start) with a mapping of its
//! own, returned to the system when freed, but the first free of such a buffer raises the
//! threshold to that buffer's size (and the trim threshold to twice that). A backup's zstd
//! contexts resize their workspaces (about 1.4 MiB) as blob sizes vary, which raises it; from
//! then on buffers of megabytes come from up to 8 heaps per core that keep freed memory. On a
//! real tree of 66,600 files that is ~40 MiB of peak memory (bench/RESULTS.md, "Fourth round").
//! A fixed threshold turns the dynamic one off. Setting it needs `mallopt` (unsafe code, which
//! the workspace forbids), so `backup` re-executes itself once with the documented tunable in
//! `GLIBC_TUNABLES` instead. Processes it starts (a password command) inherit the variable.
//! Set `THINLEDGER_MALLOC_DEFAULTS` (to anything) to keep glibc's defaults.

/// The tunable: glibc's own `M_MMAP_THRESHOLD`, which also keeps `M_TRIM_THRESHOLD` at 128 KiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TUNABLE: &str = "glibc.malloc.mmap_threshold=1048576";

/// Opting out.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const OPT_OUT: &str = "THINLEDGER_MALLOC_DEFAULTS";

/// Re-executes this process with [`TUNABLE`] added to `GLIBC_TUNABLES`, unless it is there
/// already (then this is the re-executed process, or the user chose a threshold), the user
/// opted out, or this is not a glibc build. Returns only if it did not re-execute (or the
/// `exec` failed: the backup then runs with glibc's defaults).
pub(crate) fn tune_for_backup() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(OPT_OUT).is_some() {
            return;
        }
        let current = std::env::var_os("GLIBC_TUNABLES").unwrap_or_default();
        let current = current.to_string_lossy();
        if current.contains("glibc.malloc.mmap_threshold") {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let value = if current.is_empty() {
            TUNABLE.to_string()
        } else {
            format!("{current}:{TUNABLE}")
        };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            cmd.arg0(arg0);
        }
        let err = cmd.args(args).env("GLIBC_TUNABLES", value).exec();
        tracing::debug!(error = %err, "re-executing with a fixed mmap threshold failed; glibc's defaults apply");
    }
}
