//! Exit codes: one documented number per failure class, the same in all four tools, and the
//! mapping from the libraries' typed errors to them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a check failed or found something denied; a job did not complete |
//! | 2 | bad input: usage, flags, unreadable or malformed files, a refused value |
//! | 10 | no repository at the URL (restic's code) |
//! | 11 | the repository is locked by another process (restic's code) |
//! | 12 | wrong password (restic's code) |
//! | 130 | interrupted (Ctrl-C) |

use std::io::Write;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code when a check failed (something denied) or a job did not complete.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for input the tool cannot use (usage, bad flags, unreadable or malformed files).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code when there is no repository at the URL (restic ≥ 0.17 uses the same).
pub const EXIT_NO_REPOSITORY: i32 = 10;
/// Exit code when another process holds a conflicting repository lock (restic: 11).
pub const EXIT_LOCKED: i32 = 11;
/// Exit code when no key of the repository opens with the password (restic: 12).
pub const EXIT_WRONG_PASSWORD: i32 = 12;
/// Exit code after Ctrl-C (SIGINT): 128 + 2, what a shell reports for a process the signal
/// stopped.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Every exit code with its meaning, for help texts and the README's table.
pub const EXIT_CODES: &[(i32, &str)] = &[
    (EXIT_OK, "success"),
    (
        EXIT_FAILED,
        "a check failed or denied something, or a job did not complete",
    ),
    (
        EXIT_BAD_INPUT,
        "bad input: usage, flags, unreadable or malformed files, a refused value",
    ),
    (EXIT_NO_REPOSITORY, "no repository at the URL"),
    (EXIT_LOCKED, "the repository is locked by another process"),
    (EXIT_WRONG_PASSWORD, "wrong repository password"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
];

/// The "Exit status:" paragraph of a tool's `--help`, for the codes it can return.
pub fn exit_codes_help(codes: &[i32]) -> String {
    let mut text = String::from("Exit status:");
    for (code, meaning) in EXIT_CODES.iter().filter(|(c, _)| codes.contains(c)) {
        text.push_str(&format!("\n  {code:>3}  {meaning}"));
    }
    text
}

/// Input the tool cannot use (exit 2): the message names the flag and the fix.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// A [`BadInput`] error (exit 2).
pub fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// The failure class of `err`, if its chain of causes holds one: the outermost typed cause
/// decides (a [`BadInput`], a usage error, or — with the `backup` feature — a repository
/// error such as a missing repository, a held lock or a wrong password). `None` when nothing
/// in the chain says; each tool then picks its own default.
pub fn exit_code_for(err: &anyhow::Error) -> Option<i32> {
    err.chain().find_map(classify)
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<i32> {
    if cause.is::<BadInput>() || cause.is::<clap::Error>() {
        return Some(EXIT_BAD_INPUT);
    }
    #[cfg(feature = "backup")]
    if let Some(e) = cause.downcast_ref::<thinledger_backup::Error>() {
        use thinledger_backup::Error as E;
        return match e {
            E::NoRepository { .. } => Some(EXIT_NO_REPOSITORY),
            E::Locked { .. } => Some(EXIT_LOCKED),
            E::WrongPassword { .. } => Some(EXIT_WRONG_PASSWORD),
            E::InvalidInput { .. }
            | E::Pattern(_)
            | E::AlreadyInitialized { .. }
            | E::SnapshotNotFound { .. }
            | E::PathNotFound { .. } => Some(EXIT_BAD_INPUT),
            _ => None,
        };
    }
    None
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
/// ([`print_error`]) and its class ([`exit_code_for`]), [`EXIT_BAD_INPUT`] if it has none.
pub fn exit_status(result: anyhow::Result<i32>) -> std::process::ExitCode {
    exit_status_or(result, EXIT_BAD_INPUT)
}

/// [`exit_status`] with `fallback` for an error of no known class (ledger-backup: a job
/// that failed, [`EXIT_FAILED`]).
pub fn exit_status_or(result: anyhow::Result<i32>, fallback: i32) -> std::process::ExitCode {
    match result {
        Ok(code) => to_exit_code(code),
        Err(err) if is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            print_error(&err);
            to_exit_code(exit_code_for(&err).unwrap_or(fallback))
        }
    }
}

/// `code` as a process exit status (an out-of-range code is a failure, 1).
pub fn to_exit_code(code: i32) -> std::process::ExitCode {
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented_once() {
        let mut codes: Vec<i32> = EXIT_CODES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
    }

    #[test]
    fn the_outermost_typed_cause_decides() {
        let err = bad("--flag: nope").context("while doing a thing");
        assert_eq!(exit_code_for(&err), Some(EXIT_BAD_INPUT));
        assert_eq!(exit_code_for(&anyhow::anyhow!("plain")), None);
    }

    #[cfg(feature = "backup")]
    #[rstest::rstest]
    #[case(thinledger_backup::Error::NoRepository { location: "/r".into() }, EXIT_NO_REPOSITORY)]
    #[case(thinledger_backup::Error::Locked { holder: "pid 1".into() }, EXIT_LOCKED)]
    #[case(thinledger_backup::Error::WrongPassword { keys: 1 }, EXIT_WRONG_PASSWORD)]
    #[case(thinledger_backup::Error::corrupt("pack 1", "bad MAC"), EXIT_FAILED)]
    fn repository_errors_map_to_restics_codes(
        #[case] err: thinledger_backup::Error,
        #[case] code: i32,
    ) {
        // wrapped in context and in another error's source: the chain is walked
        let err = anyhow::Error::new(Wrapper(err)).context("opening the repository");
        assert_eq!(exit_code_for(&err).unwrap_or(EXIT_FAILED), code);
    }

    /// A library error that keeps the repository's error as its source.
    #[cfg(feature = "backup")]
    #[derive(Debug)]
    struct Wrapper(thinledger_backup::Error);

    #[cfg(feature = "backup")]
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a library step failed")
        }
    }

    #[cfg(feature = "backup")]
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
