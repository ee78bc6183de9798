//! The example files in the repository's `examples/` folder, which the tests use as
//! inputs (and so keep working).

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub fn workspace_root() -> PathBuf {
    // This package lives in `<root>/tests`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

/// `examples/tenants/<name>.yaml` (`name` is `aws`, `azure`, `gcp` or `onprem`).
pub fn tenant(name: &str) -> PathBuf {
    workspace_root()
        .join("examples/tenants")
        .join(format!("{name}.yaml"))
}

/// The text of `examples/tenants/<name>.yaml`.
pub fn tenant_text(name: &str) -> String {
    let path = tenant(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `examples/schedules/<file>` (`file` with its extension, e.g. `ledger.yaml`).
pub fn schedule(file: &str) -> PathBuf {
    workspace_root().join("examples/schedules").join(file)
}

/// The example tenant `name` with the first `from` replaced by `to`, written to
/// `tenant.yaml` in a new temporary folder (deleted when the returned guard drops).
/// Panics when the example does not contain `from`, so an edit never silently misses.
pub fn edited_tenant(name: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = tenant_text(name);
    assert!(text.contains(from), "{from:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.yaml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    (dir, path)
}

/// A file under the policy crate's fixtures, `crates/policy/tests/fixtures/<rel>`.
pub fn policy_fixture(rel: &str) -> PathBuf {
    workspace_root()
        .join("crates/policy/tests/fixtures")
        .join(rel)
}

/// A folder `sub` in `dir` holding a copy of the policy fixture `rel` as `plan.json` and a
/// link `loop` back up to `dir`: a tree a reader must walk once, not forever. Returns `sub`.
pub fn policy_fixture_in_a_symlink_loop(dir: &Path, rel: &str) -> PathBuf {
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(policy_fixture(rel), sub.join("plan.json")).unwrap();
    std::os::unix::fs::symlink("..", sub.join("loop")).unwrap();
    sub
}
