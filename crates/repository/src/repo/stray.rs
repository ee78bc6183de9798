//! What a repository's storage holds besides repository files: temporary upload files left by
//! a killed process, unknown files, and (local folders) modes looser than 0700/0400.
//!
//! Object-store listings hide `name#N` temporaries of a local folder, so those are found by
//! walking the folder itself ([`Repository::with_local_root`]). The walk goes no deeper than
//! the layout (`data/ab/<id>`), so a symlink loop cannot make it run away.

use std::path::{Path as FsPath, PathBuf};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use serde::Serialize;

use super::Repository;
use super::id::Id;
use crate::{Error, Result};
use thinledger_store::{DIR_MODE, FILE_MODE};

/// How long a temporary upload file must have been left untouched before `prune` removes it.
///
/// Prune holds the exclusive lock, so no live writer should exist; but a writer whose lock
/// went stale (no refresh for [`super::lock::STALE_AFTER`]) is not stopped by that. A live
/// writer writes its temporary file in one go and renames or links it within seconds, so one
/// untouched for as long as a lock takes to go stale is dead by the same rule prune already
/// applies to locks.
pub const TEMPORARY_FILE_MARGIN: Duration = super::lock::STALE_AFTER;

/// A file that is not a repository file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrayFile {
    /// Path inside the repository (`data/ab/ab12…#1`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Seconds since it was last modified, where the store says.
    pub age_secs: Option<u64>,
}

/// A local file or directory that others may read (or write).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LooseMode {
    /// Path inside the repository (`.` for the folder itself).
    pub path: String,
    /// Its permission bits.
    pub mode: u32,
    /// The bits a repository file or directory gets (0400 or 0700).
    pub expected: u32,
}

/// The result of [`Repository::scan_strays`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct StrayScan {
    /// Temporary upload files (`name#N`) left by interrupted writes.
    pub temporary: Vec<StrayFile>,
    /// Anything else that is not part of the repository's layout.
    pub unknown: Vec<StrayFile>,
    /// Local files and directories with looser modes than the repository's.
    pub loose_modes: Vec<LooseMode>,
}

/// Whether `path` (relative, `/`-separated) is where the repository keeps one of its files.
pub(crate) fn is_layout_path(path: &str) -> bool {
    let is_id = |s: &str| s.parse::<Id>().is_ok();
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["config"] => true,
        ["keys" | "snapshots" | "index" | "locks", name] => is_id(name),
        ["data", dir, name] => is_id(name) && dir.len() == 2 && name.starts_with(dir),
        _ => false,
    }
}

/// Whether a file name is a local store's temporary upload name (`<name>#<digits>`).
pub(crate) fn is_temporary_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((base, n)) => {
            !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl Repository {
    /// The local folder of this repository, so that [`crate::check()`] can report temporary
    /// upload files and loose modes and [`crate::prune()`] can remove the temporaries (object
    /// listings hide them). Unset, only what the store lists is examined.
    #[must_use]
    pub fn with_local_root(mut self, root: impl Into<PathBuf>) -> Repository {
        self.local_root = Some(root.into());
        self
    }

    /// The folder given with [`Repository::with_local_root`].
    pub fn local_root(&self) -> Option<&FsPath> {
        self.local_root.as_deref()
    }

    /// Finds what the storage holds besides repository files. Reads only.
    pub async fn scan_strays(&self) -> Result<StrayScan> {
        if let Some(root) = self.local_root.clone() {
            // The folder shows everything the listing would, and the temporaries it hides.
            let mut scan = tokio::task::spawn_blocking(move || walk_local(&root))
                .await
                .map_err(Error::task)??;
            scan.temporary.sort_by(|a, b| a.path.cmp(&b.path));
            scan.unknown.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(scan);
        }
        let mut scan = StrayScan::default();
        let now = chrono::Utc::now();
        let listed: Vec<object_store::ObjectMeta> = self
            .backend
            .store()
            .list(None)
            .try_collect()
            .await
            .map_err(|e| Error::Store {
                op: "list",
                path: self.location().to_string(),
                source: e,
            })?;
        for m in listed {
            let path = m.location.to_string();
            if is_layout_path(&path) {
                continue;
            }
            let age_secs = now
                .signed_duration_since(m.last_modified)
                .to_std()
                .ok()
                .map(|d| d.as_secs());
            let file = StrayFile {
                path: path.clone(),
                size: m.size,
                age_secs,
            };
            if m.location.filename().is_some_and(is_temporary_name) {
                scan.temporary.push(file);
            } else {
                scan.unknown.push(file);
            }
        }
        scan.temporary.sort_by(|a, b| a.path.cmp(&b.path));
        scan.unknown.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(scan)
    }

    /// Deletes temporary upload files untouched for at least `margin` (local folders only;
    /// other stores have none). Returns the ones deleted and the ones kept as too young.
    pub(crate) async fn remove_temporaries(
        &self,
        temporaries: &[StrayFile],
        margin: Duration,
    ) -> Result<(Vec<StrayFile>, Vec<StrayFile>)> {
        let Some(root) = self.local_root.clone() else {
            return Ok((Vec::new(), temporaries.to_vec()));
        };
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for t in temporaries {
            let old_enough = t.age_secs.is_some_and(|a| a >= margin.as_secs());
            if !old_enough {
                kept.push(t.clone());
                continue;
            }
            let file = root.join(&t.path);
            match std::fs::remove_file(&file) {
                Ok(()) => removed.push(t.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("removing a temporary upload file", file, e)),
            }
        }
        Ok((removed, kept))
    }
}

/// Walks a local repository folder down to the layout's depth.
fn walk_local(root: &FsPath) -> Result<StrayScan> {
    let mut scan = StrayScan::default();
    let now = SystemTime::now();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), ".".into(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let meta = std::fs::metadata(&dir).map_err(|e| Error::io("reading", &dir, e))?;
        note_mode(&mut scan, &rel, &meta, DIR_MODE);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("listing", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if depth == 0 {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let path = entry.path();
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                // A dangling symlink, or a file that just went away.
                Err(_) => {
                    scan.unknown.push(StrayFile {
                        path: child_rel,
                        size: 0,
                        age_secs: None,
                    });
                    continue;
                }
            };
            if meta.is_dir() {
                let expected_dir = matches!(
                    (depth, name.as_str()),
                    (0, "keys" | "snapshots" | "index" | "locks" | "data")
                ) || (depth == 1 && rel == "data" && name.len() == 2);
                if expected_dir {
                    stack.push((path, child_rel, depth + 1));
                } else {
                    let size = dir_size(&path);
                    scan.unknown.push(StrayFile {
                        path: format!("{child_rel}/"),
                        size,
                        age_secs: None,
                    });
                }
                continue;
            }
            let age_secs = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .map(|d| d.as_secs());
            let file = StrayFile {
                path: child_rel.clone(),
                size: meta.len(),
                age_secs,
            };
            if is_temporary_name(&name) {
                scan.temporary.push(file);
            } else if is_layout_path(&child_rel) {
                note_mode(&mut scan, &child_rel, &meta, FILE_MODE);
            } else {
                scan.unknown.push(file);
            }
        }
    }
    Ok(scan)
}

/// Records `meta`'s mode if group or others have any access.
fn note_mode(scan: &mut StrayScan, rel: &str, meta: &std::fs::Metadata, expected: u32) {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        scan.loose_modes.push(LooseMode {
            path: rel.to_string(),
            mode,
            expected,
        });
    }
}

/// Bytes below an unknown directory, a bounded walk (it is only reported).
fn dir_size(dir: &FsPath) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                if depth < 8 {
                    stack.push((e.path(), depth + 1));
                }
            } else {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_temporary_names() {
        let id = "ab".to_string() + &"0".repeat(62);
        assert!(is_layout_path("config"));
        assert!(is_layout_path(&format!("keys/{id}")));
        assert!(is_layout_path(&format!("data/ab/{id}")));
        assert!(!is_layout_path(&format!("data/cd/{id}")));
        assert!(!is_layout_path(&format!("data/ab/{id}#1")));
        assert!(!is_layout_path("notes.txt"));
        assert!(is_temporary_name(&format!("{id}#1")));
        assert!(is_temporary_name("config#12"));
        assert!(!is_temporary_name("config#"));
        assert!(!is_temporary_name("#1"));
        assert!(!is_temporary_name("a#b"));
    }
}
