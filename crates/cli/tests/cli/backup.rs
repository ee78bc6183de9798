//! `ledger-backup` as a process: killed in the middle of a backup, and its error paths (wrong
//! password, missing repository, permission denied, full disk), each with its exit code.
//!
//! How the hard cases are made real, also when the tests run as root (where permission bits
//! do not stop anyone):
//! - **Permission denied**: as root, the binary runs as uid/gid 65534 (`nobody`), so a
//!   read-only folder and a root-only file stop it; as any other user, mode bits do that alone.
//! - **Full disk**: the repository (or restore target) is a small tmpfs mounted in a private
//!   mount namespace (`unshare --user --map-root-user --mount`), so the kernel answers ENOSPC;
//!   no privileges on the host are needed. Where user namespaces are disabled the test says so
//!   and skips that part. Writing to `/dev/full` (ENOSPC on every write) covers `dump`.
//!
//! restic (Debian's 0.14) cross-checks the repository; with THINLEDGER_REQUIRE_SERVICES=1 it
//! must be installed (scripts/services/restic.sh installs it).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use thinledger_tests::data::noise;
use thinledger_tests::restic::find as restic;
use thinledger_tests::tree;

use crate::common::{ledger_backup, ledger_backup_bin};

const PASSWORD: &str = "cli test password, not a secret";
const NOBODY: u32 = 65534;

/// A temporary folder others can enter (the permission tests run the binary as `nobody`),
/// with a password file.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pw = tmp.path().join("password");
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        Fixture { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `ledger-backup -r REPO ARGS…` with the fixture's password and no ambient settings.
    fn cmd(&self, repo: &Path, args: &[&str]) -> Command {
        let mut c = ledger_backup();
        c.arg("-r")
            .arg(repo)
            .args(args)
            .env("THINLEDGER_PASSWORD_FILE", self.path("password"));
        c
    }

    fn run(&self, repo: &Path, args: &[&str]) -> Output {
        self.cmd(repo, args).output().unwrap()
    }

    fn init(&self, repo: &Path) {
        let out = self.run(repo, &["init"]);
        assert_ok(&out, "init");
    }

    /// A new repository at `repo` in the fixture, holding one backup of `src`.
    fn backed_up(&self, src: &Path) -> PathBuf {
        let repo = self.path("repo");
        self.init(&repo);
        assert_ok(
            &self.run(&repo, &["backup", "--quiet", src.to_str().unwrap()]),
            "backup",
        );
        repo
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_ok(out: &Output, what: &str) {
    let (o, e) = text(out);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{o}\n{e}",
        out.status
    );
}

/// Asserts the exit code and returns stderr.
fn assert_code(out: &Output, code: i32, what: &str) -> String {
    let (o, e) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit status {}\nstdout:\n{o}\nstderr:\n{e}",
        out.status
    );
    e
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs the command as `nobody` when we are root, so permission bits apply.
fn as_unprivileged(c: &mut Command) -> &mut Command {
    if is_root() {
        c.uid(NOBODY).gid(NOBODY);
    }
    c
}

/// Hands a folder to the user `as_unprivileged` runs as.
fn give_to_unprivileged(p: &Path) {
    if is_root() {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

/// Compressible lines.
fn lines(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = seed;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{i:08} posting account={} amount={}\n",
                i % 977,
                i * 31 % 100_003
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// About 70 MiB: incompressible files, compressible text, a thousand small files, a symlink.
fn make_data_set(root: &Path) {
    std::fs::create_dir_all(root.join("blobs")).unwrap();
    std::fs::create_dir_all(root.join("ledger/2026")).unwrap();
    for i in 0..6u64 {
        std::fs::write(
            root.join(format!("blobs/b{i}.bin")),
            noise(10 * 1024 * 1024 + i as usize * 4099, i),
        )
        .unwrap();
    }
    for i in 0..2u64 {
        std::fs::write(
            root.join(format!("ledger/journal-{i}.log")),
            lines(4 * 1024 * 1024, i * 1_000_000),
        )
        .unwrap();
    }
    for i in 0..1000u64 {
        std::fs::write(
            root.join(format!("ledger/2026/entry-{i:04}.json")),
            format!("{{\"id\":{i},\"amount\":{}}}\n", i * 7919 % 10_007),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink("ledger/journal-0.log", root.join("current.log")).unwrap();
    std::fs::set_permissions(
        root.join("ledger/journal-1.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

/// Asserts `b` holds what `a` holds: types, bytes, modes, file mtimes, symlink targets.
fn assert_same_tree(a: &Path, b: &Path) -> usize {
    tree::assert_same_tree(a, b, tree::Compare { dir_mtimes: false })
}

/// Pack files (named by 64 hex digits) under `repo/data`.
fn packs(repo: &Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(repo.join("data")) else {
        return 0;
    };
    dirs.flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flatten()
        .flatten()
        .filter(|f| {
            let n = f.file_name();
            let n = n.to_string_lossy();
            n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .count()
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn run_restic(restic: &Path, repo: &Path, args: &[&str]) -> Output {
    thinledger_tests::restic::run(restic, repo, PASSWORD, args)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// Each line of stdout as JSON (`backup --output json`: status lines, then the summary).
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn backup_output_json_writes_status_lines_rising_to_100_percent_then_the_summary() {
    let f = Fixture::new();
    let src = f.path("src");
    // Enough to take a few status intervals: 40 files of 1 MiB of noise, and small ones.
    for i in 0..40u64 {
        let dir = src.join(format!("d{}", i % 4));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("big{i}")), noise(1024 * 1024, i)).unwrap();
        std::fs::write(dir.join(format!("small{i}")), format!("{i}")).unwrap();
    }
    let repo = f.path("repo");
    f.init(&repo);
    let out = f
        .cmd(
            &repo,
            &["backup", "--output", "json", src.to_str().unwrap()],
        )
        .env("THINLEDGER_PROGRESS_FPS", "50")
        .output()
        .unwrap();
    assert_ok(&out, "backup --output json");
    let lines = json_lines(&out);
    let (summary, statuses) = lines.split_last().unwrap();
    assert_eq!(summary["message_type"], "summary", "{summary}");
    assert_eq!(summary["files_new"], 80, "{summary}");
    assert!(summary["snapshot_id"].is_string(), "{summary}");
    assert!(!statuses.is_empty());
    let mut last = 0.0;
    for s in statuses {
        assert_eq!(s["message_type"], "status", "{s}");
        let p = s["percent_done"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&p) && p >= last,
            "{p} after {last}: {s}"
        );
        last = p;
        for k in [
            "total_files",
            "files_done",
            "total_bytes",
            "bytes_done",
            "seconds_elapsed",
        ] {
            assert!(s[k].is_u64(), "{k} in {s}");
        }
        assert!(s["current_files"].is_array(), "{s}");
    }
    let end = statuses.last().unwrap();
    assert_eq!(end["percent_done"], 1.0, "{end}");
    assert_eq!(end["files_done"], 80, "{end}");
    assert_eq!(end["total_files"], 80, "{end}");
    assert_eq!(end["total_bytes"], end["bytes_done"], "{end}");
    assert_eq!(end["seconds_remaining"], 0, "{end}");
    // Before the end, the scan gave a total ahead of what was done.
    if let Some(mid) = statuses
        .iter()
        .find(|s| s["percent_done"].as_f64().unwrap() < 1.0)
    {
        assert!(mid["total_bytes"].as_u64().unwrap() >= mid["bytes_done"].as_u64().unwrap());
    }

    // --quiet: only the summary.
    let out = f.run(
        &repo,
        &[
            "backup",
            "--quiet",
            "--output",
            "json",
            src.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "backup --quiet --output json");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["message_type"], "summary");
    assert_eq!(lines[0]["files_unmodified"], 80);
}

#[test]
fn a_backup_killed_midway_leaves_a_consistent_repository() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data_set(&data);
    let repo = f.path("repo");
    f.init(&repo);

    // Start a backup; SIGKILL it as soon as its first pack is in the repository.
    let mut child = f
        .cmd(&repo, &["backup", "--quiet", data.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while packs(&repo) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before its first pack landed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no pack after 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the backup was not killed: {status}"
    );
    assert_eq!(
        entries(&repo.join("snapshots")),
        0,
        "a snapshot was written"
    );
    assert_eq!(entries(&repo.join("locks")), 1, "the killed backup's lock");

    // No snapshot, nothing damaged: our check reads every pack and finds no error.
    let out = f.run(&repo, &["snapshots", "--output", "json"]);
    assert_ok(&out, "snapshots");
    assert_eq!(json(&out).as_array().unwrap().len(), 0);
    let out = f.run(&repo, &["check", "--read-data", "--output", "json"]);
    assert_ok(&out, "check after the kill");
    let report = json(&out);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report}");
    // What the killed backup uploaded is there, in no index yet: reported, not an error.
    assert!(
        !report["unreferenced_packs"].as_array().unwrap().is_empty(),
        "{report}"
    );

    let restic = restic();
    if let Some(restic) = &restic {
        // restic 0.14 does not take a lock over a stale one; its `unlock` recognises ours as
        // stale (same host, process gone) and removes it. Then it checks every byte.
        let out = run_restic(restic, &repo, &["unlock"]);
        assert_ok(&out, "restic unlock");
        assert_eq!(
            entries(&repo.join("locks")),
            0,
            "restic left our stale lock"
        );
        let out = run_restic(restic, &repo, &["check", "--read-data"]);
        let (o, e) = text(&out);
        assert!(
            out.status.success() && o.contains("no errors were found"),
            "restic check after the kill:\n{o}\n{e}"
        );
    }

    // The next backup succeeds (past a stale lock, when restic did not remove it).
    let out = f.run(
        &repo,
        &[
            "backup",
            "--quiet",
            "--output",
            "json",
            data.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "backup after the kill");
    let summary = json(&out);
    assert!(summary["files_new"].as_u64().unwrap() == 1008, "{summary}");
    let out = f.run(&repo, &["check", "--read-data", "--output", "json"]);
    assert_ok(&out, "check after the second backup");
    if let Some(restic) = &restic {
        let out = run_restic(restic, &repo, &["check", "--read-data"]);
        let (o, e) = text(&out);
        assert!(
            out.status.success() && o.contains("no errors were found"),
            "restic check after the second backup:\n{o}\n{e}"
        );
    }

    // Byte-identical restore; prune then removes what the killed backup left.
    let target = f.path("restored");
    let out = f.run(
        &repo,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert_ok(&out, "restore");
    let restored = target.join(data.strip_prefix("/").unwrap());
    assert!(assert_same_tree(&data, &restored) > 1000);
    let out = f.run(&repo, &["prune", "--output", "json"]);
    assert_ok(&out, "prune");
    let out = f.run(&repo, &["check", "--output", "json"]);
    assert_ok(&out, "check after prune");
    let report = json(&out);
    assert_eq!(
        report["unreferenced_packs"].as_array().unwrap().len(),
        0,
        "{report}"
    );
}

#[test]
fn wrong_password_exits_12_and_does_not_echo_the_password() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.init(&repo);
    let wrong = f.path("wrong");
    std::fs::write(&wrong, "Tr0ub4dor&3 is not it\n").unwrap();
    let out = f
        .cmd(&repo, &["snapshots"])
        .env("THINLEDGER_PASSWORD_FILE", &wrong)
        .output()
        .unwrap();
    let err = assert_code(&out, 12, "wrong password");
    assert!(
        err.contains("wrong password") && err.contains("check the password file or command"),
        "{err}"
    );
    assert!(
        !err.contains("Tr0ub4dor") && !err.contains(PASSWORD),
        "{err}"
    );

    // No password at all names both ways to give one.
    let out = f
        .cmd(&repo, &["snapshots"])
        .env_remove("THINLEDGER_PASSWORD_FILE")
        .output()
        .unwrap();
    let err = assert_code(&out, 2, "no password");
    assert!(
        err.contains("--password-file") && err.contains("--password-command"),
        "{err}"
    );
}

#[test]
fn missing_repository_exits_10_naming_the_location_and_init() {
    let f = Fixture::new();
    let nowhere = f.path("no-repo-here");
    let out = f.run(&nowhere, &["snapshots"]);
    let err = assert_code(&out, 10, "missing repository");
    assert!(
        err.contains(&format!("no repository at file://{}", nowhere.display()))
            && err.contains("run `init`"),
        "{err}"
    );
    // No --repo at all.
    let out = Command::new(ledger_backup_bin())
        .arg("snapshots")
        .env_remove("THINLEDGER_REPOSITORY")
        .env("THINLEDGER_PASSWORD_FILE", f.path("password"))
        .output()
        .unwrap();
    let err = assert_code(&out, 2, "no --repo");
    assert!(
        err.contains("give --repo URL or set THINLEDGER_REPOSITORY"),
        "{err}"
    );
    // An unknown snapshot in a real repository.
    let repo = f.path("repo");
    f.init(&repo);
    let out = f.run(&repo, &["restore", "abcdef12", "--target", "/nonexistent"]);
    let err = assert_code(&out, 2, "unknown snapshot");
    assert!(err.contains("snapshot `abcdef12` not found"), "{err}");
}

#[test]
fn permission_denied_names_the_path_and_the_fix() {
    let f = Fixture::new();
    // A folder the (unprivileged) user may not write: init fails there, exit 1.
    let ro = f.path("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let repo_in_ro = ro.join("repo");
    let out = as_unprivileged(&mut f.cmd(&repo_in_ro, &["init"]))
        .output()
        .unwrap();
    let err = assert_code(&out, 1, "init in a read-only folder");
    assert!(
        err.contains(&repo_in_ro.display().to_string())
            && err.contains("Permission denied")
            && err.contains("run as a user that may read and write the repository folder"),
        "{err}"
    );
    assert!(!repo_in_ro.exists());

    // A source file the user may not read: it is skipped and named, the rest is saved, exit 1.
    let work = f.path("work");
    std::fs::create_dir(&work).unwrap();
    give_to_unprivileged(&work);
    let repo = work.join("repo");
    let out = as_unprivileged(&mut f.cmd(&repo, &["init"]))
        .output()
        .unwrap();
    assert_ok(&out, "init as the unprivileged user");
    let src = f.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("open.txt"), "anyone may read this\n").unwrap();
    let secret = src.join("secret.txt");
    std::fs::write(&secret, "root only\n").unwrap();
    let mode = if is_root() { 0o600 } else { 0o000 };
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).unwrap();
    let out = as_unprivileged(&mut f.cmd(&repo, &["backup", "--quiet", src.to_str().unwrap()]))
        .output()
        .unwrap();
    let err = assert_code(&out, 1, "backup with an unreadable file");
    let (stdout, _) = text(&out);
    assert!(
        err.contains("1 entry could not be read and is not in snapshot"),
        "{err}"
    );
    assert!(
        stdout.contains(&secret.display().to_string()) && stdout.contains("ermission denied"),
        "{stdout}"
    );
    let out = as_unprivileged(&mut f.cmd(&repo, &["snapshots", "--output", "json"]))
        .output()
        .unwrap();
    assert_ok(&out, "snapshots");
    assert_eq!(json(&out).as_array().unwrap().len(), 1);

    // A restore target the user may not create, exit 1.
    let target = ro.join("restore");
    let out = as_unprivileged(&mut f.cmd(
        &repo,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    ))
    .output()
    .unwrap();
    let err = assert_code(&out, 1, "restore into a read-only folder");
    assert!(
        err.contains(&target.display().to_string())
            && err.contains("run as a user that may access it"),
        "{err}"
    );
}

/// Whether this kernel lets us mount a tmpfs in a private user and mount namespace.
fn private_tmpfs_available() -> bool {
    let ok = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m thinledger-probe /mnt",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "skipping the tmpfs full-disk cases: `unshare --user --mount` is not allowed here (user namespaces disabled)"
        );
    }
    ok
}

/// Runs `script` with `sh` after mounting a tmpfs of `size` on `dir`, in a private namespace;
/// `$BIN` is ledger-backup. The script prints `exit=N` lines for the commands it checks.
fn in_small_tmpfs(f: &Fixture, dir: &Path, size: &str, script: &str) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!(
            "set -u; mount -t tmpfs -o size={size} thinledger-full \"$DIR\" || exit 99; {script}"
        ))
        .env("DIR", dir)
        .env("BIN", ledger_backup_bin())
        .env("THINLEDGER_PASSWORD_FILE", f.path("password"))
        .env_remove("THINLEDGER_REPOSITORY")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(99), "mounting the tmpfs failed");
    text(&out)
}

#[test]
fn a_full_disk_fails_the_job_with_a_clear_error_and_a_consistent_repository() {
    let f = Fixture::new();
    let src = f.path("src");
    std::fs::create_dir(&src).unwrap();
    for i in 0..3u64 {
        std::fs::write(src.join(format!("f{i}.bin")), noise(4 * 1024 * 1024, i)).unwrap();
    }

    // dump to a device that is always full.
    let repo = f.backed_up(&src);
    let dev_full = std::fs::File::create("/dev/full").unwrap();
    let file = format!("{}/f0.bin", src.display());
    let out = f
        .cmd(&repo, &["dump", "latest", &file])
        .stdout(dev_full)
        .output()
        .unwrap();
    let err = assert_code(&out, 1, "dump to /dev/full");
    assert!(
        err.contains("No space left on device") && err.contains("the disk is full"),
        "{err}"
    );

    if !private_tmpfs_available() {
        return;
    }
    // A repository on a 6 MiB disk: init fits, a 12 MiB backup does not. The job fails with
    // exit 1 naming the repository and the fix, and the repository stays consistent.
    let small = f.path("small-disk");
    let (stdout, stderr) = in_small_tmpfs(
        &f,
        &small,
        "6m",
        &format!(
            "\"$BIN\" -r \"$DIR/repo\" init >/dev/null || exit 98
             \"$BIN\" -r \"$DIR/repo\" backup --quiet --compression off '{}'; echo \"backup-exit=$?\"
             \"$BIN\" -r \"$DIR/repo\" check --read-data --output json; echo \"check-exit=$?\"",
            src.display()
        ),
    );
    assert!(stdout.contains("backup-exit=1"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("`file://{}/repo/", small.display()))
            && stderr.contains("No space left on device")
            && stderr.contains("the disk holding the repository is full: free space"),
        "{stderr}"
    );
    assert!(stdout.contains("check-exit=0"), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"errors\": []"), "{stdout}");

    // A restore into a 2 MiB disk: exit 1, naming the file and the fix.
    let target = f.path("small-target");
    let (stdout, stderr) = in_small_tmpfs(
        &f,
        &target,
        "2m",
        &format!(
            "\"$BIN\" -r '{}' restore latest --quiet --target \"$DIR\"; echo \"restore-exit=$?\"",
            repo.display()
        ),
    );
    assert!(stdout.contains("restore-exit=1"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("No space left on device")
            && stderr.contains("the disk is full: free space or choose another target")
            && stderr.contains(&target.display().to_string()),
        "{stderr}"
    );
}

/// A small tree for the listing tests.
fn small_tree(root: &Path) {
    std::fs::create_dir_all(root.join("db/wal")).unwrap();
    std::fs::write(root.join("db/base.tar"), noise(300_000, 7)).unwrap();
    std::fs::write(
        root.join("db/wal/000000010000000000000001"),
        lines(70_000, 1),
    )
    .unwrap();
    std::fs::write(root.join("notes.txt"), "hello\n").unwrap();
    std::fs::write(root.join("empty"), "").unwrap();
    std::os::unix::fs::symlink("db/base.tar", root.join("base-link")).unwrap();
    std::fs::set_permissions(
        root.join("notes.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
}

#[test]
fn ls_lists_a_snapshot_like_restic_does() {
    let f = Fixture::new();
    let data = f.path("data");
    small_tree(&data);
    let repo = f.backed_up(&data);

    let out = f.run(&repo, &["ls", "latest", "--output", "json"]);
    assert_ok(&out, "ls --output json");
    let doc = json(&out);
    let entries = doc["entries"].as_array().unwrap();
    let ours: Vec<(String, String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["type"].as_str().unwrap().to_string(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let base = format!("{}/db/base.tar", data.display());
    assert!(
        ours.contains(&(base.clone(), "file".into(), 300_000)),
        "{ours:?}"
    );
    let notes = entries
        .iter()
        .find(|e| e["path"] == format!("{}/notes.txt", data.display()))
        .unwrap();
    assert_eq!(notes["mode"], 0o640);
    let link = entries.iter().find(|e| e["type"] == "symlink").unwrap();
    assert_eq!(link["link_target"], "db/base.tar");
    // Parents come before their children.
    for (i, (p, _, _)) in ours.iter().enumerate() {
        if let Some((parent, _)) = p.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
            assert!(
                ours[..i].iter().any(|(q, t, _)| q == parent && t == "dir"),
                "{p} listed before its directory"
            );
        }
    }

    // restic's own listing of the same snapshot has the same entries, types and sizes.
    if let Some(restic) = restic() {
        let out = run_restic(&restic, &repo, &["ls", "--json", "latest"]);
        assert_ok(&out, "restic ls");
        let mut theirs: Vec<(String, String, u64)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["struct_type"] == "node")
            .map(|v| {
                (
                    v["path"].as_str().unwrap().to_string(),
                    v["type"].as_str().unwrap().to_string(),
                    v["size"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        let mut sorted = ours.clone();
        sorted.sort();
        theirs.sort();
        assert_eq!(sorted, theirs);
    }

    // A path inside: that directory and what is under it; a file: just the file.
    let sub = format!("latest:{}/db", data.display());
    let out = f.run(&repo, &["ls", &sub]);
    assert_ok(&out, "ls SNAPSHOT:PATH");
    let (table, _) = text(&out);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(
        rows[0].starts_with("drwx") && rows[0].ends_with("/db"),
        "{table}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains(" 300000 ") && r.ends_with("/db/base.tar")),
        "{table}"
    );
    let out = f.run(
        &repo,
        &["ls", &format!("latest:{base}"), "--output", "json"],
    );
    assert_ok(&out, "ls of one file");
    assert_eq!(json(&out)["entries"].as_array().unwrap().len(), 1);

    // A path that is not there: exit 2, nothing on stdout.
    let out = f.run(&repo, &["ls", "latest:/not/there", "--output", "json"]);
    let err = assert_code(&out, 2, "ls of a missing path");
    assert!(
        err.contains("path `/not/there` is not in snapshot"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn ls_shows_odd_names_escaped_one_per_line_and_json_keeps_their_bytes() {
    use base64::Engine;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    let data = f.path("odd");
    std::fs::create_dir(&data).unwrap();
    for name in [
        &b"caf\xe9.txt"[..],
        b"\xff\xfd",
        b"\xff\xfe",
        b"nl\nx",
        b"a\\b",
    ] {
        std::fs::write(data.join(OsStr::from_bytes(name)), name).unwrap();
    }
    std::os::unix::fs::symlink(OsStr::from_bytes(b"t\xff"), data.join("link")).unwrap();
    let repo = f.backed_up(&data);

    let out = f.run(&repo, &["ls", &format!("latest:{}", data.display())]);
    assert_ok(&out, "ls");
    let (table, _) = text(&out);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 7, "{table}");
    for shown in [
        r"/caf\xe9.txt",
        r"/\xff\xfd",
        r"/\xff\xfe",
        r"/nl\nx",
        r"/a\\b",
        r"/link -> t\xff",
    ] {
        assert!(
            rows.iter().any(|r| r.ends_with(shown)),
            "{shown} not in\n{table}"
        );
    }

    let out = f.run(
        &repo,
        &[
            "ls",
            &format!("latest:{}", data.display()),
            "--output",
            "json",
        ],
    );
    assert_ok(&out, "ls --output json");
    let doc = json(&out);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw_names: Vec<Vec<u8>> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["path_raw"].as_str() {
            Some(raw) => b64.decode(raw).unwrap(),
            None => e["path"].as_str().unwrap().as_bytes().to_vec(),
        })
        .filter_map(|p| p.rsplit(|b| *b == b'/').next().map(<[u8]>::to_vec))
        .collect();
    raw_names.sort();
    let want: Vec<&[u8]> = vec![
        b"a\\b",
        b"caf\xe9.txt",
        b"link",
        b"nl\nx",
        b"odd",
        b"\xff\xfd",
        b"\xff\xfe",
    ];
    assert_eq!(raw_names, want);
    let link = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "symlink")
        .unwrap();
    assert_eq!(link["link_target"], "t\u{fffd}");
    assert_eq!(
        b64.decode(link["link_target_raw"].as_str().unwrap())
            .unwrap(),
        b"t\xff"
    );
}

#[test]
fn host_path_and_tag_filters_choose_latest_and_the_listing() {
    let f = Fixture::new();
    let a = f.path("a");
    let b = f.path("b");
    small_tree(&a);
    std::fs::create_dir(&b).unwrap();
    std::fs::write(b.join("only-in-b"), "b\n").unwrap();
    let repo = f.path("repo");
    f.init(&repo);
    let backup = |dir: &Path, host: &str, tags: &str| {
        let out = f.run(
            &repo,
            &[
                "backup",
                "--quiet",
                "--host",
                host,
                "--tag",
                tags,
                "--output",
                "json",
                dir.to_str().unwrap(),
            ],
        );
        assert_ok(&out, "backup");
        json(&out)["snapshot_id"].as_str().unwrap().to_string()
    };
    let a_daily = backup(&a, "ledger-a", "daily,db");
    let b_weekly = backup(&b, "ledger-b", "weekly");
    let a_weekly = backup(&a, "ledger-a", "weekly");

    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["snapshots", "--output", "json"];
        all.extend_from_slice(args);
        let out = f.run(&repo, &all);
        assert_ok(&out, "snapshots");
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&[]),
        vec![a_daily.clone(), b_weekly.clone(), a_weekly.clone()]
    );
    assert_eq!(ids(&["--host", "ledger-b"]), vec![b_weekly.clone()]);
    assert_eq!(
        ids(&["--host", "ledger-b", "--host", "ledger-a"]).len(),
        3,
        "hosts are alternatives"
    );
    // `a,b` needs both tags; two --tag flags are alternatives. Backup split `daily,db` into two.
    assert_eq!(ids(&["--tag", "db,daily"]), vec![a_daily.clone()]);
    assert_eq!(ids(&["--tag", "db,weekly"]), Vec::<String>::new());
    assert_eq!(ids(&["--tag", "db", "--tag", "weekly"]).len(), 3);
    assert_eq!(
        ids(&["--path", b.to_str().unwrap()]),
        vec![b_weekly.clone()]
    );
    // A relative --path is made absolute like backup's paths.
    let rel = f
        .cmd(
            &repo,
            &["snapshots", "--output", "json", "--path", "./b/../b"],
        )
        .current_dir(f.path(""))
        .output()
        .unwrap();
    assert_ok(&rel, "snapshots --path relative");
    assert_eq!(json(&rel).as_array().unwrap().len(), 1);

    // `latest` honours the filters in ls, dump and restore.
    let latest_id = |args: &[&str]| {
        let mut all = vec!["ls", "latest", "--output", "json"];
        all.extend_from_slice(args);
        let out = f.run(&repo, &all);
        assert_ok(&out, "ls latest");
        json(&out)["snapshot"].as_str().unwrap().to_string()
    };
    assert_eq!(latest_id(&[]), a_weekly);
    assert_eq!(latest_id(&["--host", "ledger-b"]), b_weekly);
    assert_eq!(latest_id(&["--tag", "daily"]), a_daily);
    let out = f.run(
        &repo,
        &[
            "dump",
            "latest",
            "--host",
            "ledger-b",
            &format!("{}/only-in-b", b.display()),
        ],
    );
    assert_ok(&out, "dump latest --host");
    assert_eq!(out.stdout, b"b\n");
    let target = f.path("restored-b");
    let out = f.run(
        &repo,
        &[
            "restore",
            "latest",
            "--path",
            b.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "restore latest --path");
    assert!(
        target
            .join(b.strip_prefix("/").unwrap())
            .join("only-in-b")
            .is_file()
    );
    assert!(!target.join(a.strip_prefix("/").unwrap()).exists());

    // Nothing matches: exit 2 naming the filter.
    let out = f.run(&repo, &["ls", "latest", "--host", "ledger-z"]);
    let err = assert_code(&out, 2, "latest with no match");
    assert!(
        err.contains("no snapshot with host ledger-z") && err.contains("`snapshots`"),
        "{err}"
    );
    let out = f.run(&repo, &["snapshots", "--tag", ","]);
    let err = assert_code(&out, 2, "empty tag list");
    assert!(err.contains("--tag `,`"), "{err}");
}

/// Relative paths land in the tree where restic puts them: cleaned, leading `..` dropped, and
/// `.` as its contents at the root; the snapshot's `paths` are absolute.
#[test]
fn relative_paths_are_placed_like_restic_places_them() {
    let fx = Fixture::new();
    let work = fx.path("work");
    std::fs::create_dir_all(work.join("a/sub")).unwrap();
    std::fs::write(work.join("a/sub/f"), b"inner\n").unwrap();
    std::fs::write(work.join("top"), b"top\n").unwrap();
    let cases: [(&str, &[&str], &[&str]); 3] = [
        ("", &["a"], &["a/sub/f"]),
        ("a", &["."], &["sub/f"]),
        ("a/sub", &["../../top", "../sub"], &["sub/f", "top"]),
    ];
    let restic = restic();
    for (i, (cwd, args, files)) in cases.iter().enumerate() {
        let repo = fx.path(&format!("repo-{i}"));
        fx.init(&repo);
        let dir = work.join(cwd);
        let mut backup = vec!["backup"];
        backup.extend_from_slice(args);
        let out = fx.cmd(&repo, &backup).current_dir(&dir).output().unwrap();
        assert_ok(&out, &format!("backup {args:?} in {cwd:?}"));

        // Restored, exactly these files appear under the target.
        let target = fx.path(&format!("restored-{i}"));
        let out = fx.run(
            &repo,
            &["restore", "latest", "--target", target.to_str().unwrap()],
        );
        assert_ok(&out, "restore");
        let mut got: Vec<String> = tree::files_under(&target)
            .into_iter()
            .map(|p| p.strip_prefix(&target).unwrap().display().to_string())
            .collect();
        got.sort();
        assert_eq!(got, *files, "backup {args:?} in {cwd:?}");

        // The snapshot's paths are absolute.
        let out = fx.run(&repo, &["snapshots", "--output", "json"]);
        assert_ok(&out, "snapshots");
        let v = json(&out);
        let paths = v[0]["paths"].as_array().unwrap();
        assert!(
            paths
                .iter()
                .all(|p| Path::new(p.as_str().unwrap()).is_absolute()),
            "{v}"
        );

        // restic, run the same way, lists the same tree.
        if let Some(restic) = &restic {
            let theirs = fx.path(&format!("restic-{i}"));
            let out = run_restic(restic, &theirs, &["init"]);
            assert_ok(&out, "restic init");
            let mut c = thinledger_tests::restic::command(restic, &theirs, PASSWORD, &backup);
            c.current_dir(&dir);
            assert_ok(&c.output().unwrap(), "restic backup");
            let listing = |repo: &Path| {
                let out = run_restic(restic, repo, &["-q", "ls", "latest"]);
                assert_ok(&out, "restic ls");
                text(&out).0
            };
            assert_eq!(
                listing(&repo),
                listing(&theirs),
                "backup {args:?} in {cwd:?}"
            );
        }
    }
}

/// Changes the mode of everything under `p` (chmod -R), without following symlinks.
fn chmod_tree(p: &Path, dirs: u32, files: u32) {
    let m = std::fs::symlink_metadata(p).unwrap();
    if m.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            chmod_tree(&e.unwrap().path(), dirs, files);
        }
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(dirs)).unwrap();
    } else if m.is_file() {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(files)).unwrap();
    }
}

fn chown_tree(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
    if std::fs::symlink_metadata(p).unwrap().is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn repository_files_are_private_and_no_lock_reads_a_read_only_repository() {
    let f = Fixture::new();
    let src = f.path("src");
    small_tree(&src);
    let repo = f.backed_up(&src);
    // Keys and every other file 0400, every folder 0700: no other user reads a key file.
    let key = tree::first_entry(&repo.join("keys"));
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o400);
    for d in ["", "keys", "data", "index", "snapshots"] {
        assert_eq!(
            std::fs::metadata(repo.join(d)).unwrap().mode() & 0o777,
            0o700,
            "{d}"
        );
    }

    // The repository belongs to the user who runs the commands, and nobody may write it.
    if is_root() {
        chown_tree(&repo, NOBODY);
    }
    chmod_tree(&repo, 0o500, 0o400);
    let target = f.path("target");
    std::fs::create_dir(&target).unwrap();
    give_to_unprivileged(&target);

    // Without --no-lock a read still needs to write its lock.
    let out = as_unprivileged(&mut f.cmd(&repo, &["check"]))
        .output()
        .unwrap();
    let err = assert_code(&out, 1, "check of a read-only repository with a lock");
    assert!(
        err.contains("ermission denied") && err.contains("locks"),
        "{err}"
    );

    let out = as_unprivileged(&mut f.cmd(&repo, &["--no-lock", "check", "--read-data"]))
        .output()
        .unwrap();
    assert_ok(&out, "check --no-lock");
    let out = as_unprivileged(&mut f.cmd(
        &repo,
        &[
            "--no-lock",
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
        ],
    ))
    .output()
    .unwrap();
    assert_ok(&out, "restore --no-lock");
    let restored = target.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::read(restored.join("notes.txt")).unwrap(),
        std::fs::read(src.join("notes.txt")).unwrap()
    );
    assert_eq!(entries(&repo.join("locks")), 0);

    // Commands that write refuse --no-lock, exit 2, before touching anything.
    for args in [
        &["--no-lock", "prune"][..],
        &["--no-lock", "backup", "/etc/hostname"],
    ] {
        let out = as_unprivileged(&mut f.cmd(&repo, args)).output().unwrap();
        let err = assert_code(&out, 2, &args.join(" "));
        assert!(err.contains("--no-lock"), "{err}");
    }
    chmod_tree(&repo, 0o700, 0o400);
}

#[test]
fn check_reports_temporary_files_prune_removes_them_and_repair_recovers_a_lost_pack() {
    let f = Fixture::new();
    let src = f.path("src");
    small_tree(&src);
    let repo = f.backed_up(&src);

    // A temporary upload file, as a kill during an upload leaves it.
    let temp = repo.join("data/00").join(format!("{}#1", "0".repeat(64)));
    std::fs::create_dir_all(temp.parent().unwrap()).unwrap();
    std::fs::write(&temp, noise(1024 * 1024, 3)).unwrap();
    let out = f.run(&repo, &["check"]);
    assert_ok(&out, "check with a temporary file");
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("1 temporary upload file(s), 1.0 MiB")
            && stdout.contains(&format!("data/00/{}#1", "0".repeat(64))),
        "{stdout}"
    );
    let out = f.run(&repo, &["check", "--output", "json"]);
    assert_eq!(json(&out)["temporary_files"][0]["size"], 1024 * 1024);
    // Too young for prune; then old enough.
    assert_ok(&f.run(&repo, &["prune"]), "prune");
    assert!(temp.exists());
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let out = f.run(&repo, &["prune"]);
    assert_ok(&out, "prune");
    assert!(
        text(&out).0.contains("1 temporary upload file(s) removed"),
        "{}",
        text(&out).0
    );
    assert!(!temp.exists());

    // Lose a pack: check fails, repair index + repair snapshots make it pass (restic agrees),
    // and the next backup stores the lost data again.
    let mut all = Vec::new();
    for d in std::fs::read_dir(repo.join("data")).unwrap() {
        for p in std::fs::read_dir(d.unwrap().path()).unwrap() {
            all.push(p.unwrap().path());
        }
    }
    all.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    std::fs::remove_file(all.last().unwrap()).unwrap();
    assert_code(&f.run(&repo, &["check"]), 1, "check with a lost pack");
    assert_ok(&f.run(&repo, &["repair", "index"]), "repair index");
    let out = f.run(&repo, &["repair", "snapshots", "--dry-run"]);
    assert_ok(&out, "repair snapshots --dry-run");
    assert!(
        text(&out)
            .0
            .contains("dry run: 1 of 1 snapshot(s) would be repaired"),
        "{}",
        text(&out).0
    );
    let out = f.run(&repo, &["repair", "snapshots", "--forget"]);
    assert_ok(&out, "repair snapshots --forget");
    assert_ok(
        &f.run(&repo, &["check", "--read-data"]),
        "check after repair",
    );
    if let Some(restic) = restic() {
        let out = run_restic(&restic, &repo, &["check", "--read-data"]);
        assert!(out.status.success(), "restic check: {:?}", text(&out));
    }
    let out = f.run(
        &repo,
        &["backup", "--output", "json", src.to_str().unwrap()],
    );
    assert_ok(&out, "backup after repair");
    assert!(
        json_lines(&out).last().unwrap()["data_blobs_added"]
            .as_u64()
            .unwrap()
            > 0,
        "{}",
        text(&out).0
    );
}

/// The largest pack file of a repository (the one holding file data).
fn largest_pack(repo: &Path) -> PathBuf {
    let mut packs: Vec<(u64, PathBuf)> = std::fs::read_dir(repo.join("data"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|f| (f.metadata().unwrap().len(), f.path()))
        .collect();
    packs.sort();
    packs.pop().unwrap().1
}

#[test]
fn a_damaged_repository_restores_the_rest_and_exits_1_naming_each_damaged_file() {
    let f = Fixture::new();
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    let names = ["a.bin", "b.bin", "c.bin"];
    for (i, n) in names.iter().enumerate() {
        std::fs::write(data.join(n), noise(200 * 1024, i as u64 + 7)).unwrap();
    }
    let repo = f.path("repo");
    f.init(&repo);
    assert_ok(&f.run(&repo, &["backup", data.to_str().unwrap()]), "backup");
    // A bit flip in the first blob of the data pack: one file's data fails its MAC.
    let pack = largest_pack(&repo);
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();

    let target = f.path("restored");
    let out = f.run(
        &repo,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    let err = assert_code(&out, 1, "restore of a damaged repository");
    let (stdout, _) = text(&out);
    assert!(stdout.contains("2 files restored, 1 damaged"), "{stdout}");
    let restored = target.join(data.strip_prefix("/").unwrap());
    let damaged: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| stdout.contains(&format!("damaged: {}: ", restored.join(n).display())))
        .collect();
    assert_eq!(damaged.len(), 1, "{stdout}");
    assert!(stdout.contains("snapshot "), "{stdout}");
    assert!(err.contains("1 files damaged"), "{err}");
    for n in names {
        if n == damaged[0] {
            assert!(!restored.join(n).exists(), "{n} left looking whole");
        } else {
            assert_eq!(
                std::fs::read(restored.join(n)).unwrap(),
                std::fs::read(data.join(n)).unwrap()
            );
        }
    }

    // --output json carries the same list.
    let out = f.run(
        &repo,
        &[
            "restore",
            "latest",
            "--overwrite",
            "if-changed",
            "--output",
            "json",
            "--target",
            f.path("restored-json").to_str().unwrap(),
        ],
    );
    assert_code(&out, 1, "restore --output json");
    let v = json(&out);
    assert_eq!(v["damaged"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["files"], 2, "{v}");
}

#[test]
fn without_a_password_source_off_a_terminal_the_error_names_the_flags_and_variables() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.init(&repo);
    // stdin is /dev/null (ledger_backup()): no prompt, the error at once.
    let out = ledger_backup()
        .arg("-r")
        .arg(&repo)
        .arg("snapshots")
        .output()
        .unwrap();
    let err = assert_code(&out, 2, "snapshots without a password");
    for name in [
        "--password-file",
        "--password-command",
        "THINLEDGER_PASSWORD_FILE",
        "THINLEDGER_PASSWORD_COMMAND",
    ] {
        assert!(err.contains(name), "{name} missing: {err}");
    }
}

/// Runs `ledger-backup -r REPO ARGS` on a pseudo-terminal made by script(1), typing `typed`
/// (one line each, after a pause, as a person would); the terminal's output and exit code.
fn on_a_terminal(repo: &Path, args: &str, typed: &[&str]) -> (String, Option<i32>) {
    use std::io::Write as _;
    let shell = format!(
        "'{}' -r '{}' {args}",
        ledger_backup_bin().display(),
        repo.display()
    );
    let mut c = Command::new("script");
    c.args(["-qec", &shell, "/dev/null"]);
    for var in crate::common::SETTINGS {
        c.env_remove(var);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for t in typed {
        std::thread::sleep(Duration::from_millis(800));
        // The child may have exited already (a refused first entry).
        let _ = stdin.write_all(format!("{t}\n").as_bytes());
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn on_a_terminal_init_asks_twice_and_other_commands_once() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) (util-linux) is not installed");
        return;
    }
    let f = Fixture::new();
    let repo = f.path("repo");
    let (out, code) = on_a_terminal(&repo, "init", &["first", "second"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("enter a new repository password"), "{out}");
    assert!(out.contains("enter the repository password again"), "{out}");
    assert!(out.contains("do not match"), "{out}");
    assert!(
        !repo.join("config").exists(),
        "a repository was made: {out}"
    );

    let (out, code) = on_a_terminal(&repo, "init", &[PASSWORD, PASSWORD]);
    assert_eq!(code, Some(0), "{out}");
    // The password file holds the same password: what was typed is what protects the keys.
    assert_ok(
        &f.run(&repo, &["snapshots"]),
        "snapshots with the typed password",
    );

    let (out, code) = on_a_terminal(&repo, "snapshots", &[PASSWORD]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("enter repository password"), "{out}");
    assert!(!out.contains("again"), "asked twice: {out}");
    let (out, code) = on_a_terminal(&repo, "snapshots", &["not it"]);
    assert_eq!(code, Some(12), "{out}");
    assert!(out.contains("terminal prompt"), "{out}");
}

/// A tree for the selection flags: `*.tmp` files at several depths (and a directory and a
/// symlink named so), a valid and an invalid cache tag, a directory matching a pattern,
/// names with spaces, a file the list does not name.
fn selection_tree(root: &Path) {
    for (file, body) in [
        ("a.txt", "a"),
        ("a.tmp", "tmp"),
        ("with space.txt", "s"),
        ("with space.tmp", "s"),
        ("dir.tmp/inner.txt", "inside a directory named *.tmp"),
        ("sub/b.txt", "b"),
        ("sub/b.tmp", "b"),
        ("sub/keep.TMP", "upper case: --exclude is case-sensitive"),
        ("sub/deeper/c.tmp", "c"),
        ("sub/deeper/c.dat", "c"),
        ("sub/deeper/d.txt", "d"),
        (
            "cache/CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n",
        ),
        ("cache/blob", "cached"),
        ("cache/inner/x", "cached"),
        ("badcache/CACHEDIR.TAG", "Signature: not the standard one\n"),
        ("badcache/blob", "kept"),
        ("build/out.o", "excluded by name"),
        ("dir with space/f.tmp", "f"),
        ("dir with space/keep me.txt", "k"),
        ("logs/app.LOG", "--iexclude *.log"),
        ("logs/readme.md", "r"),
        ("other/not-listed.txt", "o"),
    ] {
        let p = root.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    std::os::unix::fs::symlink("../a.txt", root.join("sub/link.tmp")).unwrap();
}

/// `restic ls --json latest` as a sorted list of (path, type).
fn restic_listing(restic: &Path, repo: &Path) -> Vec<(String, String)> {
    let out = run_restic(restic, repo, &["ls", "--json", "latest"]);
    assert_ok(&out, "restic ls");
    let mut v: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["struct_type"] == "node")
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_string(),
                v["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn exclude_and_files_from_back_up_exactly_what_restic_does() {
    let f = Fixture::new();
    let data = f.path("data");
    selection_tree(&data);
    let d = data.display();
    let list = f.path("list.txt");
    std::fs::write(
        &list,
        format!(
            "# what to back up\n\n{d}/sub\n{d}/*.t*\n  {d}/cache  \n{d}/badcache\n{d}/build\n\
             {d}/dir with space\n{d}/logs\n{d}/nothing-matches-*\n"
        ),
    )
    .unwrap();
    let excludes = f.path("excludes.txt");
    std::fs::write(&excludes, "# patterns\n\nbuild\n$SELECTION_TEST_PATTERN\n").unwrap();
    let list_s = list.to_str().unwrap();
    let excludes_s = excludes.to_str().unwrap();
    let flags = [
        "--exclude",
        "*.tmp",
        "--exclude-caches",
        "--iexclude",
        "*.log",
        "--exclude-file",
        excludes_s,
        "--files-from",
        list_s,
    ];

    let ours = f.path("ours");
    f.init(&ours);
    let out = f
        .cmd(&ours, &[&["backup", "--quiet"][..], &flags[..]].concat())
        .env("SELECTION_TEST_PATTERN", "*.dat")
        .output()
        .unwrap();
    assert_ok(&out, "ledger-backup backup with selection flags");

    let out = f.run(&ours, &["ls", "latest", "--output", "json"]);
    assert_ok(&out, "ls");
    let prefix = format!("{d}/");
    let mut got: Vec<String> = json(&out)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str()?.strip_prefix(&prefix).map(String::from))
        .collect();
    got.sort();
    let want = [
        "a.txt",
        "badcache",
        "badcache/CACHEDIR.TAG",
        "badcache/blob",
        "cache",
        "cache/CACHEDIR.TAG",
        "dir with space",
        "dir with space/keep me.txt",
        "logs",
        "logs/readme.md",
        "sub",
        "sub/b.txt",
        "sub/deeper",
        "sub/deeper/d.txt",
        "sub/keep.TMP",
        "with space.txt",
    ];
    assert_eq!(got, want);

    // restic with the same flags on the same tree; both repositories listed by restic.
    let Some(restic) = restic() else { return };
    let theirs = f.path("theirs");
    assert_ok(&run_restic(&restic, &theirs, &["init"]), "restic init");
    let out = thinledger_tests::restic::command(
        &restic,
        &theirs,
        PASSWORD,
        &[&["backup"][..], &flags[..]].concat(),
    )
    .env("SELECTION_TEST_PATTERN", "*.dat")
    .output()
    .unwrap();
    assert_ok(&out, "restic backup with selection flags");
    assert_eq!(
        restic_listing(&restic, &ours),
        restic_listing(&restic, &theirs)
    );
}

#[test]
fn a_bad_pattern_exits_2_naming_it_and_the_fix() {
    let f = Fixture::new();
    let data = f.path("data");
    selection_tree(&data);
    let repo = f.path("repo");
    f.init(&repo);
    let out = f.run(
        &repo,
        &["backup", data.to_str().unwrap(), "--exclude", "*.[ch"],
    );
    let err = assert_code(&out, 2, "backup --exclude with a bad pattern");
    assert!(err.contains("invalid pattern `*.[ch`"), "{err}");
    assert!(err.contains("close each class"), "{err}");

    let out = f.run(
        &repo,
        &[
            "backup",
            "--files-from",
            f.path("missing.txt").to_str().unwrap(),
        ],
    );
    let err = assert_code(&out, 2, "backup --files-from of a missing list");
    assert!(
        err.contains("--files-from") && err.contains("missing.txt"),
        "{err}"
    );
    // Nothing was backed up by either.
    let out = f.run(&repo, &["snapshots", "--output", "json"]);
    assert_ok(&out, "snapshots");
    assert_eq!(
        json(&out).as_array().map(Vec::len),
        Some(0),
        "{:?}",
        json(&out)
    );
}

/// `copy --to` a place with no repository names the command that makes one; that command
/// (`init --copy-chunker-params --from-repo`) makes a target the copy and later backups
/// deduplicate with; `dump` of a directory writes a tar.
#[test]
fn copy_needs_an_initialised_target_that_init_copy_chunker_params_makes() {
    let f = Fixture::new();
    let src = f.path("data");
    make_data_set(&src);
    let repo = f.backed_up(&src);
    let dst = f.path("dst");
    let to = dst.to_str().unwrap();

    let out = f.run(&repo, &["copy", "--to", to]);
    let err = assert_code(&out, 10, "copy to nowhere");
    assert!(
        err.contains("init --copy-chunker-params --from-repo") && err.contains(to),
        "{err}"
    );
    assert!(!dst.exists(), "a failed copy must not create the target");

    // --from-repo is the source, with this repository's password (the default).
    let from = repo.to_str().unwrap();
    let out = f.run(
        &dst,
        &["init", "--copy-chunker-params", "--from-repo", from],
    );
    assert_ok(&out, "init --copy-chunker-params");
    // --from-repo alone is refused (restic needs both too).
    let out = f.run(&f.path("x"), &["init", "--from-repo", from]);
    assert_code(&out, 2, "--from-repo without --copy-chunker-params");

    assert_ok(&f.run(&repo, &["copy", "--to", to]), "copy");
    let before = packs(&dst);
    let out = f.run(&dst, &["backup", "--output", "json", src.to_str().unwrap()]);
    assert_ok(&out, "backup into the copy");
    assert_eq!(
        json_lines(&out).last().unwrap()["data_blobs_added"],
        0,
        "{}",
        text(&out).0
    );
    assert!(packs(&dst) <= before + 1, "only a tree pack may be added");

    // dump of a directory: a tar with the snapshot's paths.
    let out = f.run(&dst, &["dump", "latest", src.to_str().unwrap()]);
    assert_ok(&out, "dump of a directory");
    let tar_file = f.path("dump.tar");
    std::fs::write(&tar_file, &out.stdout).unwrap();
    let list = Command::new("tar")
        .arg("-tf")
        .arg(&tar_file)
        .output()
        .unwrap();
    assert_ok(&list, "tar -tf");
    let names = String::from_utf8(list.stdout).unwrap();
    let prefix = src.strip_prefix("/").unwrap().display().to_string();
    assert!(!names.is_empty());
    assert!(
        names.lines().all(|l| l.starts_with(&format!("{prefix}/"))),
        "{names}"
    );
}

/// `backup` re-executes itself once with glibc's mmap threshold fixed (peak memory; the
/// binary's `malloc` module), before it reads the password: the password command, which
/// inherits the environment, sees the tunable and runs once. The user's own threshold wins,
/// `THINLEDGER_MALLOC_DEFAULTS` opts out, and other commands are left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn backup_runs_with_a_fixed_mmap_threshold_unless_told_otherwise() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.init(&repo);
    let src = f.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a"), b"some data").unwrap();
    let seen = f.path("seen");
    // Appends what the password command saw ("-" when unset), then prints the password.
    let command = format!(
        "sh -c 'echo \"${{GLIBC_TUNABLES:--}}\" >> {}; cat {}'",
        seen.display(),
        f.path("password").display()
    );
    let run = |args: &[&str], env: &[(&str, &str)]| -> Vec<String> {
        let _ = std::fs::remove_file(&seen);
        let mut c = ledger_backup();
        c.arg("-r")
            .arg(&repo)
            .args(["--password-command", &command])
            .args(args)
            .env_remove("GLIBC_TUNABLES")
            .env_remove("THINLEDGER_MALLOC_DEFAULTS");
        for (k, v) in env {
            c.env(k, v);
        }
        assert_ok(&c.output().unwrap(), &format!("{args:?} {env:?}"));
        std::fs::read_to_string(&seen)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let backup = ["backup", "--quiet", src.to_str().unwrap()];
    assert_eq!(
        run(&backup, &[]),
        ["glibc.malloc.mmap_threshold=1048576"],
        "re-executed once, with the tunable"
    );
    assert_eq!(
        run(&backup, &[("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")]),
        ["glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576"],
        "the user's other tunables are kept"
    );
    assert_eq!(
        run(
            &backup,
            &[("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")]
        ),
        ["glibc.malloc.mmap_threshold=65536"],
        "the user's own threshold wins"
    );
    assert_eq!(
        run(&backup, &[("THINLEDGER_MALLOC_DEFAULTS", "1")]),
        ["-"],
        "opted out"
    );
    assert_eq!(run(&["snapshots"], &[]), ["-"], "other commands untouched");
}
