//! Helpers of the `ledger-backup` modules of this test binary (`backup`, `bad_input`, `pitr`,
//! `wal_push`): the binary with a clean environment, and a process's output for a message.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The `ledger-backup` binary cargo built for these tests.
pub fn ledger_backup_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledger-backup"))
}

/// The `THINLEDGER_*` variables `ledger-backup` reads: a test sets what it means to.
pub const SETTINGS: &[&str] = &[
    "THINLEDGER_REPOSITORY",
    "THINLEDGER_PASSWORD_FILE",
    "THINLEDGER_PASSWORD_COMMAND",
    "THINLEDGER_COCKROACH_URL",
    "THINLEDGER_LOG",
    "THINLEDGER_LOG_FORMAT",
    "THINLEDGER_OUTPUT",
    "THINLEDGER_VERBOSE",
    "THINLEDGER_QUIET",
    "THINLEDGER_COLOR",
    "THINLEDGER_RETRY_LOCK",
    "THINLEDGER_NO_LOCK",
    "THINLEDGER_PROGRESS_FPS",
    "THINLEDGER_BUCKET_KMS_KEY",
];

/// `ledger-backup` without the settings it would read from this process's environment
/// ([`SETTINGS`]: repository, password source, CockroachDB URL, log filter, global flags) and
/// with no stdin: a test sets what it means to.
pub fn ledger_backup() -> Command {
    let mut c = Command::new(ledger_backup_bin());
    for var in SETTINGS {
        c.env_remove(var);
    }
    c.stdin(Stdio::null());
    c
}

/// A finished process's status, stdout and stderr, for an assertion's message.
pub fn described(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
