//! `ledger-backup` refusing bad input without repeating secrets: `--help` with secrets in the
//! environment, a failing password command, a store URL carrying a signature, and a
//! repository path that is a regular file.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{described, ledger_backup};

const MARKER: &str = "SECRET-MARKER-7f3a";

/// `ledger-backup ARGS…` without ambient settings.
fn ledger(args: &[&str]) -> Command {
    let mut c = ledger_backup();
    c.args(args);
    c
}

/// Every secret-ish variable set to a marker: no `--help` prints it.
#[rstest::rstest]
#[case(&["--help"])]
#[case(&["snapshots", "--help"])]
#[case(&["backup", "--help"])]
#[case(&["copy", "--help"])]
#[case(&["wal", "push", "--help"])]
#[case(&["pg", "restore", "--help"])]
#[case(&["cockroach", "backup", "--help"])]
fn help_never_prints_secret_environment_values(#[case] args: &[&str]) {
    let o = ledger(args)
        .env("THINLEDGER_PASSWORD_COMMAND", format!("echo {MARKER}"))
        .env("THINLEDGER_PASSWORD_FILE", format!("/run/{MARKER}"))
        .env(
            "THINLEDGER_REPOSITORY",
            format!("s3://b/p?endpoint={MARKER}"),
        )
        .env(
            "THINLEDGER_COCKROACH_URL",
            format!("postgresql://u:{MARKER}@h:26257/db"),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", described(&o));
    assert!(!described(&o).contains(MARKER), "{}", described(&o));
}

/// A failing password command is named, with its exit status, never by its text; its own
/// messages reach stderr as it wrote them.
#[test]
fn a_failing_password_command_is_not_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let command = format!("true {MARKER}; echo 'vault: sealed' >&2; exit 3");
    for how in ["flag", "env"] {
        let mut c = ledger(&["-r", repo.to_str().unwrap(), "snapshots"]);
        match how {
            "flag" => c.args(["--password-command", &command]),
            _ => c.env("THINLEDGER_PASSWORD_COMMAND", &command),
        };
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", described(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains(MARKER), "{how}: {err}");
        assert!(
            err.contains("password command failed (exit 3"),
            "{how}: {err}"
        );
        assert!(err.contains("vault: sealed"), "{how}: {err}");
    }
}

/// A wrong password from a password command: exit 12 (restic's), and the error says where the
/// password came from, not the command.
#[test]
fn a_wrong_password_from_a_command_does_not_repeat_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let repo_arg = repo.to_str().unwrap();
    let init = ledger(&["-r", repo_arg, "--password-command", "echo right", "init"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", described(&init));
    let o = ledger(&[
        "-r",
        repo_arg,
        "--password-command",
        &format!("echo wrong # {MARKER}"),
        "snapshots",
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(12), "{}", described(&o));
    assert!(!described(&o).contains(MARKER), "{}", described(&o));
    assert!(
        described(&o).contains("--password-command"),
        "{}",
        described(&o)
    );
}

/// Unknown URL options (a pre-signed URL's signature) are named, never echoed.
#[rstest::rstest]
#[case("s3://ledger/a?x-amz-signature=", "url.query.x-amz-signature")]
#[case("az://ledger/a?sig=", "url.query.sig")]
#[case("file:///srv/repo?x-amz-signature=", "x-amz-signature")]
fn unknown_url_options_are_named_without_their_value(#[case] url: &str, #[case] named: &str) {
    let o = ledger(&[
        "-r",
        &format!("{url}{MARKER}"),
        "--password-command",
        "echo pw",
        "snapshots",
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    assert!(!described(&o).contains(MARKER), "{}", described(&o));
    assert!(described(&o).contains(named), "{}", described(&o));
}

/// A repository path that is a regular file (or lies under one): exit 2 naming the path,
/// the rule and the fix, for reading and for `init`.
#[rstest::rstest]
#[case("snapshots", "")]
#[case("init", "")]
#[case("snapshots", "sub/repo")]
fn a_repository_path_that_is_a_file_is_bad_input(#[case] command: &str, #[case] below: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-repo");
    std::fs::write(&file, b"some file").unwrap();
    let repo: PathBuf = if below.is_empty() {
        file.clone()
    } else {
        file.join(below)
    };
    let o = ledger(&[
        "-r",
        repo.to_str().unwrap(),
        "--password-command",
        "echo pw",
        command,
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&repo.display().to_string()), "{err}");
    assert!(err.contains("a repository is a directory"), "{err}");
    assert!(err.contains("regular file"), "{err}");
    assert!(err.contains("fix:"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"some file");
}

/// Percentages out of range, or not numbers, are refused by the engine's rules with exit 2,
/// naming the flag: the CLI keeps no rule of its own.
#[rstest::rstest]
#[case(&["check", "--read-data-subset", "0%"], "read-data-subset")]
#[case(&["check", "--read-data-subset", "ten%"], "read-data-subset")]
#[case(&["check", "--read-data-subset", "100.5"], "read-data-subset")]
#[case(&["prune", "--max-unused", "150"], "max-unused")]
fn percentages_are_checked_by_the_engine(#[case] args: &[&str], #[case] named: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let password = tmp.path().join("password");
    std::fs::write(&password, "correct horse").unwrap();
    let global = [
        "-r",
        repo.to_str().unwrap(),
        "--password-file",
        password.to_str().unwrap(),
    ];
    let o = ledger(&[&global[..], &["init"]].concat()).output().unwrap();
    assert!(o.status.success(), "{}", described(&o));
    let o = ledger(&[&global[..], args].concat()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    assert!(described(&o).contains(named), "{}", described(&o));
}
