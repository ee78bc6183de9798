//! Point-in-time recovery end to end against a real PostgreSQL (Debian's, binaries from
//! THINLEDGER_TEST_POSTGRES_BIN, which scripts/services/postgres.sh exports): the server's
//! archive_command is this crate's `ledger-backup wal push --async`, a base backup is taken
//! with `pg base-backup`, rows are committed at known times, and `pg restore --to-time` into
//! a new data directory must give back exactly the rows committed before the target once that
//! server has recovered. Also: identical and conflicting pushes, and an archive worker killed
//! in the middle of a push (PostgreSQL retries; nothing is lost).
//!
//! Servers run as the `postgres` user when the tests run as root (initdb refuses root).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{described, ledger_backup_bin};

const PASSWORD: &str = "pitr test password, not a secret";

fn pg_bin() -> Option<PathBuf> {
    thinledger_tests::services::var("THINLEDGER_TEST_POSTGRES_BIN").map(PathBuf::from)
}

/// The uid/gid PostgreSQL runs as: `postgres` when we are root, else ourselves.
fn server_user() -> Option<(u32, u32)> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if !root {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let o = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    };
    Some((id("-u"), id("-g")))
}

struct Pitr {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    pg: PathBuf,
    user: Option<(u32, u32)>,
    servers: Vec<PathBuf>,
}

impl Drop for Pitr {
    fn drop(&mut self) {
        for d in self.servers.clone() {
            let _ = self
                .as_server(Command::new(self.pg.join("pg_ctl")))
                .args(["-D"])
                .arg(&d)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pitr {
    fn new(pg: PathBuf) -> Pitr {
        let base = std::env::var_os("THINLEDGER_TEST_DIR").map(PathBuf::from);
        let tmp = match base {
            Some(b) => tempfile::tempdir_in(b).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let dir = tmp.path().to_path_buf();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let user = server_user();
        let p = Pitr {
            _tmp: tmp,
            dir,
            pg,
            user,
            servers: Vec::new(),
        };
        std::fs::write(p.path("password"), format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(p.path("password"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        p.give(&p.path("password"));
        p.give(&p.dir);
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn give(&self, p: &Path) {
        if let Some((u, g)) = self.user {
            std::os::unix::fs::chown(p, Some(u), Some(g)).unwrap();
        }
    }

    fn as_server(&self, mut c: Command) -> Command {
        if let Some((u, g)) = self.user {
            c.uid(u).gid(g);
        }
        c.env("HOME", &self.dir).stdin(Stdio::null());
        c
    }

    /// The global flags reaching the test repository.
    fn repo_args(&self) -> Vec<String> {
        vec![
            "--repo".into(),
            self.path("repo").display().to_string(),
            "--password-file".into(),
            self.path("password").display().to_string(),
        ]
    }

    fn ledger(&self, args: &[&str]) -> Output {
        let mut c = self.as_server(Command::new(ledger_backup_bin()));
        c.args(self.repo_args())
            .args(args)
            .env_remove("THINLEDGER_REPOSITORY")
            .env_remove("THINLEDGER_PASSWORD_FILE")
            .env_remove("THINLEDGER_PASSWORD_COMMAND")
            .env("THINLEDGER_CACHE_DIR", self.path("cache"))
            .env("THINLEDGER_LOG", "warn");
        c.output().unwrap()
    }

    fn ledger_ok(&self, args: &[&str]) -> String {
        let o = self.ledger(args);
        assert!(
            o.status.success(),
            "ledger-backup {args:?}: {}",
            described(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn start(&mut self, data: &Path, port: u16) {
        let o = self
            .as_server(Command::new(self.pg.join("pg_ctl")))
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(data.with_extension("log"))
            .args(["-w", "-t", "120", "-o"])
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {}",
                self.dir.display()
            ))
            .arg("start")
            .output()
            .unwrap();
        let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
        assert!(o.status.success(), "pg_ctl start: {}\n{log}", described(&o));
        self.servers.push(data.to_path_buf());
    }

    fn stop(&mut self, data: &Path) {
        let o = self
            .as_server(Command::new(self.pg.join("pg_ctl")))
            .arg("-D")
            .arg(data)
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .unwrap();
        assert!(o.status.success(), "pg_ctl stop: {}", described(&o));
        self.servers.retain(|d| d != data);
    }

    fn sql(&self, port: u16, q: &str) -> String {
        let o = self
            .as_server(Command::new(self.pg.join("psql")))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", q])
            .output()
            .unwrap();
        assert!(o.status.success(), "psql {q}: {}", described(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn wait_archived(&self, port: u16, segment: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let last = self.sql(
                port,
                "select coalesce(last_archived_wal, '') from pg_stat_archiver",
            );
            if last.len() >= 24 && last[..24] >= *segment {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "segment {segment} not archived in time (last {last}); server log:\n{}",
                std::fs::read_to_string(self.path("primary.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Restores to `to` (`--to-time T` or `--to-latest`), starts the server, returns the rows.
    fn restore_rows(&mut self, name: &str, to: &[&str]) -> Vec<i64> {
        let target = self.path(name);
        let mut args = vec!["pg", "restore", "--target"];
        let t = target.display().to_string();
        args.push(&t);
        args.extend_from_slice(to);
        self.ledger_ok(&args);
        let conf = target.join("postgresql.auto.conf");
        let mut c = std::fs::read_to_string(&conf).unwrap();
        assert!(c.contains("restore_command = '"), "{c}");
        assert!(c.contains("recovery_target_action = 'promote'"), "{c}");
        assert!(target.join("recovery.signal").exists());
        // The restored copy must not archive into the primary's archive from a second timeline.
        c.push_str("archive_mode = off\n");
        std::fs::write(&conf, c).unwrap();
        let port = free_port();
        self.start(&target, port);
        // Wait for promotion (the end of recovery).
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.sql(port, "select pg_is_in_recovery()") == "t" {
            assert!(Instant::now() < deadline, "recovery did not finish");
            std::thread::sleep(Duration::from_millis(200));
        }
        let rows = self
            .sql(
                port,
                "select coalesce(string_agg(id::text, ',' order by id), '') from ledger",
            )
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        self.stop(&target);
        rows
    }
}

#[test]
fn restore_to_a_time_between_two_commits_gives_exactly_the_rows_before_it() {
    let Some(pg) = pg_bin() else { return };
    let mut t = Pitr::new(pg);
    t.ledger_ok(&["init"]);
    let data = t.path("primary");
    let o = t
        .as_server(Command::new(t.pg.join("initdb")))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
        .output()
        .unwrap();
    assert!(o.status.success(), "initdb: {}", described(&o));

    // archive_command: the real binary, asynchronous, through a wrapper that kills the
    // archive worker in the middle of its first push.
    let spool = t.path("spool");
    let push = {
        let mut w: Vec<String> = vec![ledger_backup_bin().display().to_string()];
        w.extend(t.repo_args());
        w.extend(["wal", "push", "--async", "--spool"].map(String::from));
        w.push(spool.display().to_string());
        w.extend(["--cache-dir".into(), t.path("cache").display().to_string()]);
        w.join(" ")
    };
    let wrapper = t.path("archive.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             # First call: kill the worker while it pushes; PostgreSQL must retry.\n\
             if [ ! -e {dir}/killed-once ]; then\n\
               touch {dir}/killed-once\n\
               {push} \"$1\" & waiter=$!\n\
               for i in $(seq 1 100); do [ -s {spool}/worker.pid ] && break; sleep 0.05; done\n\
               sleep 0.3\n\
               kill -9 $(cat {spool}/worker.pid) $waiter 2>/dev/null\n\
               echo killed > {dir}/killed-once\n\
               exit 1\n\
             fi\n\
             exec {push} \"$1\"\n",
            dir = t.dir.display(),
            spool = spool.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    use std::io::Write;
    writeln!(
        conf,
        "archive_mode = on\narchive_command = '{} %p'\nwal_level = replica\nfsync = off\narchive_timeout = 0",
        wrapper.display()
    )
    .unwrap();
    let port = free_port();
    t.start(&data, port);

    t.sql(
        port,
        "create table ledger (id bigint primary key, note text not null)",
    );
    let first = t.sql(port, "select pg_walfile_name(pg_switch_wal())");
    t.wait_archived(port, &first);
    assert_eq!(
        std::fs::read_to_string(t.path("killed-once"))
            .unwrap()
            .trim(),
        "killed",
        "the first archive attempt should have been killed"
    );

    let out = t.ledger_ok(&[
        "pg",
        "base-backup",
        "--pg-bin",
        &t.pg.display().to_string(),
        "-d",
        &format!("host=127.0.0.1 port={port} user=postgres"),
        "--output",
        "json",
    ]);
    let backup: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(backup["backup"]["timeline"], 1, "{out}");
    assert!(
        backup["backup"]["start_lsn"]
            .as_str()
            .unwrap()
            .contains('/')
    );

    // Rows at known times; the targets fall strictly between commits.
    t.sql(port, "insert into ledger values (1, 'before both targets')");
    std::thread::sleep(Duration::from_millis(1100));
    let t1 = t.sql(port, "select clock_timestamp()::text");
    std::thread::sleep(Duration::from_millis(1100));
    t.sql(port, "insert into ledger values (2, 'between the targets')");
    t.sql(port, "insert into ledger values (3, 'also between')");
    std::thread::sleep(Duration::from_millis(1100));
    let t2 = t.sql(port, "select clock_timestamp()::text");
    std::thread::sleep(Duration::from_millis(1100));
    t.sql(port, "insert into ledger values (4, 'after both targets')");
    let last = t.sql(port, "select pg_walfile_name(pg_switch_wal())");
    t.wait_archived(port, &last);

    // The window covers both targets.
    let list: serde_json::Value =
        serde_json::from_str(&t.ledger_ok(&["wal", "list", "--output", "json"])).unwrap();
    let tl1 = &list.as_array().unwrap()[0];
    assert_eq!(tl1["timeline"], 1, "{list}");
    assert!(tl1["gap_at"].is_null(), "{list}");
    assert_eq!(tl1["base_backups"], 1, "{list}");

    assert_eq!(t.restore_rows("at-t1", &["--to-time", &t1]), vec![1]);
    assert_eq!(t.restore_rows("at-t2", &["--to-time", &t2]), vec![1, 2, 3]);
    assert_eq!(t.restore_rows("latest", &["--to-latest"]), vec![1, 2, 3, 4]);

    // A time before the base backup ended has no base backup: a clear refusal.
    let o = t.ledger(&[
        "pg",
        "restore",
        "--target",
        &t.path("too-early").display().to_string(),
        "--to-time",
        "2001-01-01 00:00:00",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", described(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no base backup"),
        "{}",
        described(&o)
    );

    // Identical segment pushed again (synchronously): success. A different one under the
    // same name: loud failure, and the archived one is intact.
    let seg = t.path("copy").join(&first);
    std::fs::create_dir_all(seg.parent().unwrap()).unwrap();
    t.give(seg.parent().unwrap());
    let fetched = t.path("fetched");
    t.ledger_ok(&["wal", "fetch", &first, &fetched.display().to_string()]);
    let original = std::fs::read(&fetched).unwrap();
    assert_eq!(original.len(), 16 * 1024 * 1024);
    std::fs::write(&seg, &original).unwrap();
    t.ledger_ok(&["wal", "push", &seg.display().to_string()]);
    let mut changed = original.clone();
    changed[4096] ^= 0xFF;
    std::fs::write(&seg, &changed).unwrap();
    let o = t.ledger(&["wal", "push", &seg.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", described(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already archived with different content"),
        "{}",
        described(&o)
    );
    std::fs::remove_file(&fetched).unwrap();
    t.ledger_ok(&["wal", "fetch", &first, &fetched.display().to_string()]);
    assert!(
        std::fs::read(&fetched).unwrap() == original,
        "the archived segment changed"
    );

    // A missing segment: exit 1 quickly (the end of the archive for PostgreSQL).
    let started = Instant::now();
    let o = t.ledger(&[
        "wal",
        "fetch",
        "0000000100000000000000FF",
        &t.path("nope").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", described(&o));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!t.path("nope").exists());
    // A name that is not a WAL file name: bad input.
    let o = t.ledger(&[
        "wal",
        "fetch",
        "../../etc/passwd",
        &t.path("nope").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));

    // Everything the archive holds reads back and verifies.
    t.ledger_ok(&["check", "--read-data"]);
    t.stop(&data);
}
