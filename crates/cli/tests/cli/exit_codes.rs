//! Exit codes per failure class (thinledger_cli's table, restic's numbers where restic has
//! one), against a local folder repository: a missing repository exits 10, a held lock 11,
//! a wrong password 12, Ctrl-C 130 (and the interrupted command's lock is gone).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{described, ledger_backup};

struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    /// An initialised repository with a password file.
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("password"), "exit codes\n").unwrap();
        let repo = Repo { tmp };
        let o = repo.ledger(&["init"]).output().unwrap();
        assert!(o.status.success(), "{}", described(&o));
        repo
    }

    fn path(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// `ledger-backup -r REPO ARGS…` with the right password.
    fn ledger(&self, args: &[&str]) -> Command {
        let mut c = ledger_backup();
        c.arg("-r")
            .arg(self.path())
            .arg("--password-file")
            .arg(self.tmp.path().join("password"))
            .args(args);
        c
    }

    fn locks(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.path().join("locks")) {
            Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A `backup --stdin` that holds its (shared) lock until its stdin closes.
    fn holder(&self) -> Child {
        let child = self
            .ledger(&[
                "backup",
                "--stdin",
                "--stdin-filename",
                "dump.sql",
                "--quiet",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while self.locks().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the backup took no lock"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_missing_repository_exits_10() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ledger_backup()
        .args(["-r", tmp.path().join("nothing-here").to_str().unwrap()])
        .args(["--password-command", "echo pw", "snapshots"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(10), "{}", described(&o));
    assert!(stderr(&o).contains("no repository at"), "{}", described(&o));
}

#[test]
fn a_wrong_password_exits_12() {
    let repo = Repo::new();
    let o = ledger_backup()
        .arg("-r")
        .arg(repo.path())
        .args(["--password-command", "echo not-it", "snapshots"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(12), "{}", described(&o));
    assert!(stderr(&o).contains("wrong password"), "{}", described(&o));
}

#[test]
fn a_held_lock_exits_11_and_ctrl_c_exits_130_releasing_its_lock() {
    let repo = Repo::new();
    let mut holder = repo.holder();

    // prune needs an exclusive lock: the backup's shared one is in the way
    let o = repo.ledger(&["prune"]).output().unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", described(&o));
    assert!(stderr(&o).contains("locked"), "{}", described(&o));
    // still 11 after waiting for it a little (--retry-lock, here from its variable)
    let o = repo
        .ledger(&["prune"])
        .env("THINLEDGER_RETRY_LOCK", "1s")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", described(&o));

    // Ctrl-C: the backup stops, removes its lock and exits 130
    holder
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"partial")
        .unwrap();
    let status = Command::new("kill")
        .args(["-INT", &holder.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = holder.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", described(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", described(&o));
    assert_eq!(repo.locks(), Vec::<PathBuf>::new());
    // and the repository is usable at once
    let o = repo.ledger(&["prune"]).output().unwrap();
    assert!(o.status.success(), "{}", described(&o));
}

/// The codes and meanings `--help` documents are the ones the tool uses.
#[test]
fn help_documents_the_exit_codes() {
    let o = ledger_backup().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for line in [
        "    0  success",
        "    2  bad input",
        "   10  no repository at the URL",
        "   11  the repository is locked by another process",
        "   12  wrong repository password",
        "  130  interrupted (Ctrl-C)",
    ] {
        assert!(help.contains(line), "{line:?} not in:\n{help}");
    }
}
