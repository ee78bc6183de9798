//! Debian's restic (0.14), the oracle for the repository format: what thinledger writes
//! must pass `restic check --read-data` and restore with `restic restore`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// restic from `THINLEDGER_TEST_RESTIC` or `PATH`; `None` (skipped, see
/// [`crate::services::missing`]) when it is in neither.
pub fn find() -> Option<PathBuf> {
    let found = std::env::var_os("THINLEDGER_TEST_RESTIC")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("restic"))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        crate::services::missing(
            "restic is missing (set THINLEDGER_TEST_RESTIC or install restic; scripts/test.sh does)",
        );
    }
    found
}

/// `restic -r REPO ARGS…` with `password` and a cache folder beside the repository, and
/// no ambient `RESTIC_REPOSITORY`.
pub fn command(restic: &Path, repo: &Path, password: &str, args: &[&str]) -> Command {
    let mut c = Command::new(restic);
    c.arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", password)
        .env("RESTIC_CACHE_DIR", repo.with_extension("restic-cache"))
        .env_remove("RESTIC_REPOSITORY");
    c
}

/// Runs [`command`] to its end.
pub fn run(restic: &Path, repo: &Path, password: &str, args: &[&str]) -> Output {
    command(restic, repo, password, args)
        .output()
        .expect("running restic")
}
