//! Helpers of the `ledger-backup` modules of this test binary (`backup`, `bad_input`, `pitr`,
//! `wal_push`): the binary with a clean environment, and a process's output for a message.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The `ledger-backup` binary cargo built for these tests.
pub fn ledger_backup_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledger-backup"))
}

/// `ledger-backup` without the settings it would read from this process's environment
/// (repository, password source, CockroachDB URL, log filter) and with no stdin: a test sets
/// what it means to.
pub fn ledger_backup() -> Command {
    let mut c = Command::new(ledger_backup_bin());
    for var in [
        "THINLEDGER_REPOSITORY",
        "THINLEDGER_PASSWORD_FILE",
        "THINLEDGER_PASSWORD_COMMAND",
        "THINLEDGER_COCKROACH_URL",
        "THINLEDGER_LOG",
    ] {
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
