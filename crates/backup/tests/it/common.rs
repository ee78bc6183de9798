//! Helpers of the backup crate's integration tests: repositories in temporary folders, test
//! data, a fault-injecting store. Those other test binaries need too (restic, tree comparison,
//! noise) come from `thinledger_tests`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use thinledger_backup::raw::BlobSaver;
use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{
    BackupOptions, BackupSummary, BlobType, CheckOptions, CheckReport, Id, InitOptions, KdfParams,
    Password, ReadData, Repository, RestoreOptions, RestoreSummary, Snapshot, Tree, backup_paths,
    check, restore,
};
pub use thinledger_tests::data::noise;
pub use thinledger_tests::restic::find as restic;
use thinledger_tests::tree;
pub use thinledger_tests::tree::{entries_under, files_under, first_entry};

pub const PASSWORD: &str = "test password, not a secret";

pub fn password() -> Password {
    Password::new(PASSWORD)
}

/// Cheap scrypt for tests (restic reads whatever a key file states).
pub fn init_options() -> InitOptions {
    InitOptions::default().with_kdf(KdfParams {
        n: 1024,
        r: 8,
        p: 1,
    })
}

pub fn local_store(dir: &Path) -> Arc<dyn ObjectStore> {
    StoreBuilder::new(dir.to_string_lossy())
        .build()
        .expect("local store")
        .object_store()
}

pub async fn init_local(dir: &Path) -> Arc<Repository> {
    let repo = Repository::init(
        local_store(dir),
        dir.display().to_string(),
        &password(),
        &init_options(),
    )
    .await
    .expect("init");
    Arc::new(repo)
}

pub async fn open_local(dir: &Path) -> Arc<Repository> {
    Arc::new(
        Repository::open(local_store(dir), dir.display().to_string(), &password())
            .await
            .expect("open"),
    )
}

/// A temporary folder with a source tree ([`make_tree`]) in `src` and room for a
/// repository at `dir`; `tmp` is removed when dropped.
pub struct Setup {
    pub tmp: tempfile::TempDir,
    pub src: PathBuf,
    pub dir: PathBuf,
}

impl Setup {
    /// The source tree, no repository yet.
    pub fn without_repo() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let dir = tmp.path().join("repo");
        Setup { tmp, src, dir }
    }

    /// The source tree and a new repository in `dir`.
    pub async fn with_repo() -> (Self, Arc<Repository>) {
        let setup = Setup::without_repo();
        let repo = init_local(&setup.dir).await;
        (setup, repo)
    }

    /// `name` in the temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Backs `src` up into `repo`.
    pub async fn backup(&self, repo: &Arc<Repository>, options: &BackupOptions) -> BackupSummary {
        backup_paths(repo, std::slice::from_ref(&self.src), options)
            .await
            .unwrap()
    }

    /// Restores `snapshot` into `name` in the temporary folder with our restore and asserts
    /// that it holds `src` again.
    pub async fn restore_same(
        &self,
        repo: &Arc<Repository>,
        snapshot: &str,
        name: &str,
    ) -> RestoreSummary {
        let target = self.path(name);
        let summary = restore(repo, snapshot, "", &target, &RestoreOptions::default())
            .await
            .unwrap();
        assert_same_tree(&self.src, &under(&target, &self.src));
        summary
    }
}

/// `check --read-data`: structure and every pack's bytes.
pub async fn check_all(repo: &Arc<Repository>) -> CheckReport {
    let options = CheckOptions::default().with_read_data(ReadData::All);
    check(repo, &options).await.unwrap()
}

/// Asserts that `restic check --read-data` finds no error in the repository at `dir`.
pub fn assert_restic_checks(restic: &Path, dir: &Path) {
    let (ok, out, err) = run_restic(restic, dir, &["check", "--read-data"]);
    assert!(ok && out.contains("no errors were found"), "{out}\n{err}");
}

/// [`assert_restic_checks`] when restic is installed.
pub fn assert_restic_checks_if_installed(dir: &Path) {
    if let Some(restic) = restic() {
        assert_restic_checks(&restic, dir);
    }
}

/// restic makes a repository at `dir` and backs `src` up into it.
pub fn restic_init_and_backup(restic: &Path, dir: &Path, src: &Path) {
    let (ok, _, err) = run_restic(restic, dir, &["init"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run_restic(restic, dir, &["backup", src.to_str().unwrap()]);
    assert!(ok, "{err}");
}

/// Removes one pack of file data from the local repository at `dir`, behind the engine's
/// back; returns its id.
pub async fn lose_a_data_pack(repo: &Repository, dir: &Path) -> Id {
    repo.load_index().await.unwrap();
    let lost = repo
        .with_index(|i| {
            i.iter()
                .find(|(k, _)| k.ty == BlobType::Data)
                .map(|(_, l)| l.pack)
        })
        .unwrap();
    let hex = lost.to_hex();
    std::fs::remove_file(dir.join("data").join(&hex[..2]).join(&hex)).unwrap();
    lost
}

/// Saves `tree` as a tree blob, as the engine writes one; returns its id.
pub async fn save_tree(saver: &Arc<BlobSaver>, tree: &Tree) -> Id {
    let mut json = serde_json::to_vec(tree).unwrap();
    json.push(b'\n');
    let id = Id::hash(&json);
    saver
        .save(BlobType::Tree, id, Bytes::from(json))
        .await
        .unwrap();
    id
}

/// Saves a snapshot of the crafted tree `root` (path `/crafted`, host `test`, taken at
/// `time`, RFC 3339); returns its id.
pub async fn save_crafted_snapshot(repo: &Repository, root: Id, time: &str) -> Id {
    let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
        "time": time,
        "tree": root.to_hex(),
        "paths": ["/crafted"],
        "hostname": "test",
    }))
    .unwrap();
    repo.save_snapshot(&snapshot).await.unwrap()
}

/// Flips the bits of `mask` in the middle byte of the repository file at `path` (made
/// writable first: repository files are read-only, 0400, as restic makes them).
pub fn flip_middle_byte(path: &Path, mask: u8) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= mask;
    std::fs::write(path, bytes).unwrap();
}

/// Compressible text.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "ledger", "balance", "debit", "credit", "account", "posting", "journal", "txn",
    ];
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(words[(x >> 60) as usize % words.len()].as_bytes());
        out.extend_from_slice(format!(" {} ", (x >> 20) % 100000).as_bytes());
        if (x >> 33).is_multiple_of(7) {
            out.push(b'\n');
        }
    }
    out.truncate(len);
    out
}

/// A small tree with the shapes a backup must keep: empty, small, chunked and compressible
/// files, nested and empty directories, a symlink, odd modes, a non-ASCII name.
pub fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(root.join("hello.txt"), b"hello, ledger\n").unwrap();
    std::fs::write(root.join("sub/big.bin"), noise(6 * 1024 * 1024 + 123, 1)).unwrap();
    std::fs::write(root.join("sub/deeper/log.txt"), text(3 * 1024 * 1024, 2)).unwrap();
    std::fs::write(root.join("sub/dup.bin"), noise(6 * 1024 * 1024 + 123, 1)).unwrap();
    std::fs::write(root.join("grüße.txt"), "unicode name\n").unwrap();
    for i in 0..50 {
        std::fs::write(
            root.join(format!("sub/small-{i:03}")),
            text(100 + i * 37, i as u64),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink("hello.txt", root.join("link")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    std::fs::set_permissions(
        root.join("hello.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("sub/deeper"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    let script = root.join("run.sh");
    std::fs::write(&script, b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Fixed times (including nanoseconds) make restored times easy to compare.
    let t = filetime::FileTime::from_unix_time(1_700_000_000, 123_456_789);
    filetime::set_file_mtime(root.join("sub/big.bin"), t).unwrap();
}

/// Asserts `restored` holds the same entries as `original`: types, bytes, permissions,
/// mtimes (files and directories) and symlink targets.
pub fn assert_same_tree(original: &Path, restored: &Path) {
    tree::assert_same_tree(original, restored, tree::Compare::default());
}

/// Runs restic against a repository; returns (success, stdout, stderr).
pub fn run_restic(restic: &Path, repo: &Path, args: &[&str]) -> (bool, String, String) {
    let out = thinledger_tests::restic::run(restic, repo, PASSWORD, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `dir` with its leading `/` removed, joined to `base` (where restic restores absolute paths).
pub fn under(base: &Path, abs: &Path) -> PathBuf {
    base.join(abs.strip_prefix("/").unwrap())
}

/// Passes everything through, but fails every write after the first `allowed` ones — like a
/// network or process failure in the middle of a backup.
#[derive(Debug)]
pub struct FailAfterPuts {
    pub inner: Arc<dyn ObjectStore>,
    /// Writes under this prefix that succeed; the later ones fail.
    pub allowed: AtomicUsize,
    /// Only writes under this prefix count and fail (`""`: every write).
    pub prefix: &'static str,
}

impl FailAfterPuts {
    /// The local repository in `dir`, opened through a store whose writes under `prefix`
    /// fail after the first `allowed`.
    pub async fn open(dir: &Path, allowed: usize, prefix: &'static str) -> Arc<Repository> {
        let failing: Arc<dyn ObjectStore> = Arc::new(FailAfterPuts {
            inner: local_store(dir),
            allowed: AtomicUsize::new(allowed),
            prefix,
        });
        Arc::new(
            Repository::open(failing, "failing", &password())
                .await
                .unwrap(),
        )
    }
}

impl std::fmt::Display for FailAfterPuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailAfterPuts({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for FailAfterPuts {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let ok = !location.as_ref().starts_with(self.prefix)
            || self
                .allowed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if !ok {
            return Err(object_store::Error::Generic {
                store: "fault-injection",
                source: format!("injected failure writing {location}").into(),
            });
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &StorePath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&StorePath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&StorePath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
