//! Comparing a restored tree with its original.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Every file, folder and link under `dir` (not `dir` itself), depth first, without following
/// links.
pub fn entries_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(entries_under(&p));
        }
    }
    out
}

/// The files (and links) under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    entries_under(dir)
        .into_iter()
        .filter(|p| !std::fs::symlink_metadata(p).unwrap().is_dir())
        .collect()
}

/// The first entry `read_dir` gives for `dir` (e.g. a repository's only key file).
pub fn first_entry(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .next()
        .unwrap_or_else(|| panic!("{} is empty", dir.display()))
        .unwrap()
        .path()
}

/// Which metadata [`assert_same_tree`] compares besides types, names, bytes, permission
/// bits and symlink targets (always compared).
#[derive(Debug, Clone, Copy)]
pub struct Compare {
    /// Modification times of directories (files' are always compared).
    pub dir_mtimes: bool,
}

impl Default for Compare {
    fn default() -> Self {
        Compare { dir_mtimes: true }
    }
}

/// Asserts that `restored` holds what `original` holds: entry types and names, file
/// bytes, permission bits (`0o7777`), file modification times (to the nanosecond),
/// directory modification times (unless `compare` leaves them out) and symlink targets.
/// Returns the number of entries compared, `original` included; panics when it is none.
pub fn assert_same_tree(original: &Path, restored: &Path, compare: Compare) -> usize {
    let count = same(original, restored, compare);
    assert!(count > 0, "nothing compared under {}", original.display());
    count
}

fn same(a: &Path, b: &Path, compare: Compare) -> usize {
    let ma = std::fs::symlink_metadata(a).unwrap();
    let mb = std::fs::symlink_metadata(b)
        .unwrap_or_else(|e| panic!("{} missing after restore: {e}", b.display()));
    assert_eq!(ma.file_type(), mb.file_type(), "type of {}", b.display());
    if ma.file_type().is_symlink() {
        assert_eq!(
            std::fs::read_link(a).unwrap(),
            std::fs::read_link(b).unwrap(),
            "link {}",
            b.display()
        );
        return 1;
    }
    assert_eq!(
        ma.mode() & 0o7777,
        mb.mode() & 0o7777,
        "mode of {}",
        b.display()
    );
    if ma.is_file() || compare.dir_mtimes {
        assert_eq!(
            (ma.mtime(), ma.mtime_nsec()),
            (mb.mtime(), mb.mtime_nsec()),
            "mtime of {}",
            b.display()
        );
    }
    if ma.is_file() {
        let (da, db) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        assert!(
            da == db,
            "content of {} differs ({} vs {} bytes)",
            b.display(),
            da.len(),
            db.len()
        );
        return 1;
    }
    if !ma.is_dir() {
        return 1;
    }
    let names = |p: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let (na, nb) = (names(a), names(b));
    assert_eq!(na, nb, "entries of {}", b.display());
    1 + na
        .iter()
        .map(|n| same(&a.join(n), &b.join(n), compare))
        .sum::<usize>()
}
