//! `ledger-backup wal push` as PostgreSQL's archive_command runs it, without a server: a file
//! under a segment's name that is not a whole segment, and `--async` for a file PostgreSQL
//! has not marked `.ready`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{described, ledger_backup};

const MARKER: &str = "PASSWORD-COMMAND-MARKER-91c2";

struct Archive {
    tmp: tempfile::TempDir,
}

impl Archive {
    /// A repository whose password comes from a command (as the async worker must get it).
    fn new() -> Archive {
        let archive = Archive {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::write(archive.path("password"), "wal test password\n").unwrap();
        std::fs::create_dir(archive.path("pg_wal")).unwrap();
        let o = archive.ledger(&["init"]);
        assert!(o.status.success(), "{}", described(&o));
        archive
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn ledger(&self, args: &[&str]) -> Output {
        let password = self.path("password");
        ledger_backup()
            .arg("-r")
            .arg(self.path("repo"))
            .arg("--password-command")
            .arg(format!("cat '{}' # {MARKER}", password.display()))
            .args(args)
            .env("XDG_CACHE_HOME", self.path("cache"))
            .output()
            .unwrap()
    }

    fn segment(&self, name: &str, len: usize) -> PathBuf {
        let p = self.path("pg_wal").join(name);
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        std::fs::write(&p, data).unwrap();
        p
    }
}

/// A 0-byte (or truncated) file under a segment's name is refused, naming the file, with
/// and without --async; nothing is archived.
#[test]
fn a_segment_that_is_not_whole_is_refused() {
    let a = Archive::new();
    for (name, len) in [
        ("000000010000000000000001", 0),
        ("000000010000000000000002", 1000),
    ] {
        let seg = a.segment(name, len);
        let o = a.ledger(&["wal", "push", seg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", described(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&seg.display().to_string()), "{err}");
        assert!(err.contains("not a whole segment"), "{err}");
        let o = a.ledger(&[
            "wal",
            "push",
            "--async",
            "--spool",
            a.path("spool").to_str().unwrap(),
            "--timeout",
            "30",
            seg.to_str().unwrap(),
        ]);
        assert_ne!(o.status.code(), Some(0), "{}", described(&o));
        assert!(
            described(&o).contains("not a whole segment"),
            "{}",
            described(&o)
        );
    }
    let o = a.ledger(&["wal", "list"]);
    assert!(o.status.success(), "{}", described(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no WAL archived"),
        "{}",
        described(&o)
    );
    wait_for_worker(&a.path("spool"));
}

/// `wal push --async` of a file without a `.ready` marker (no archive_status at all) returns
/// as soon as the worker stored it, not after the timeout; the worker gets the password
/// command through its environment, not its command line.
#[test]
fn async_push_without_ready_files_returns_promptly() {
    let a = Archive::new();
    let seg = a.segment("000000010000000000000001", 1 << 20);
    let spool = a.path("spool");
    let started = Instant::now();
    let o = a.ledger(&[
        "wal",
        "push",
        "--async",
        "--spool",
        spool.to_str().unwrap(),
        "--timeout",
        "60",
        seg.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    assert!(o.status.success(), "{}", described(&o));
    assert!(took < Duration::from_secs(20), "the push took {took:?}");
    // The worker idles a few seconds before it exits: it is still there to look at.
    if let Ok(pid) = std::fs::read_to_string(spool.join("worker.pid")) {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(MARKER),
            "the password command is on the worker's command line"
        );
    }
    let o = a.ledger(&["wal", "list"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("000000010000000000000001"),
        "{}",
        described(&o)
    );
    wait_for_worker(&spool);
}

/// Lets the background worker exit before the temporary directory goes.
fn wait_for_worker(spool: &Path) {
    let until = Instant::now() + Duration::from_secs(20);
    while spool.join("worker.pid").exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}
