//! Restore and dump: read trees, fetch each pack's needed blobs with ranged reads, write them
//! into place, then set modes, owners and times. `dump` (its own module) streams one file, or
//! a directory as a tar, to a writer.
//!
//! **Confined.** Every entry is created relative to an open descriptor of its directory and no
//! path component is ever resolved through a symbolic link (the `confined` module): not one the
//! snapshot holds, not one that was already in the target. Symbolic links are created last.
//! A tree with two entries of one name (or a name that is not a single path component) is
//! refused for those entries (see [`Tree::name_problems`]); something other than a directory
//! where the snapshot has a directory is an error for that entry, never written through.
//!
//! **Honest.** A file is written under a temporary name (owner-only, `0600` or tighter) and
//! renamed over its final name only once all its data was read and checked, so an existing
//! file is never truncated first. A file whose data is missing or damaged (a deleted pack, a
//! blob failing its MAC or hash) is removed and listed in [`RestoreSummary::damaged`] with
//! the reason; the restore goes on with every other file. Directories are created `0700` and
//! get their own mode (and times) once their content is in place.
//!
//! Memory is bounded: files are planned in batches (at most [`BATCH_BLOBS`] blobs), and each
//! pack read holds one range of at most a pack's size.

pub mod confined;
mod dump;
mod tar;
mod walk;
mod write;

pub use dump::dump;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde::{Serialize, Serializer};

use crate::repo::Repository;
use crate::repo::host::Identity;
use crate::repo::id::Id;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeType, Tree};
use crate::{Error, Result};

/// Blobs planned before a batch is fetched and written.
pub const BATCH_BLOBS: usize = 50_000;

/// What a restore does with an entry that already exists in the target (restic 0.17's
/// `--overwrite`). Whatever the mode, an existing file is replaced only by renaming its
/// complete new content over it, and nothing is ever written through a symbolic link: an
/// existing link is replaced by the entry itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Overwrite {
    /// Replace every existing file, link and node with the snapshot's (restic's default).
    /// restic first compares the existing content and downloads only differing parts; this
    /// engine rewrites the whole file.
    #[default]
    Always,
    /// An existing regular file with the snapshot's size and modification time (to the
    /// nanosecond) is taken as up to date: its content is kept and its metadata (mode, owner,
    /// times) set. An existing link with the same target is kept likewise. Everything else as
    /// [`Overwrite::Always`].
    IfChanged,
    /// Replace an existing entry only if the snapshot's modification time is newer than its
    /// own; an entry left alone keeps its metadata too.
    IfNewer,
    /// Leave every existing entry (content and metadata) as it is. Existing directories are
    /// still used to restore into.
    Never,
}

impl Overwrite {
    /// The mode's name as the `--overwrite` flag takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Overwrite::Always => "always",
            Overwrite::IfChanged => "if-changed",
            Overwrite::IfNewer => "if-newer",
            Overwrite::Never => "never",
        }
    }
}

impl std::str::FromStr for Overwrite {
    type Err = Error;

    fn from_str(s: &str) -> Result<Overwrite> {
        match s {
            "always" => Ok(Overwrite::Always),
            "if-changed" => Ok(Overwrite::IfChanged),
            "if-newer" => Ok(Overwrite::IfNewer),
            "never" => Ok(Overwrite::Never),
            other => Err(Error::InvalidInput {
                field: "overwrite",
                value: other.to_string(),
                rule: "give always, if-changed, if-newer or never".into(),
            }),
        }
    }
}

/// Knobs of a restore: `RestoreOptions::default()` and the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Packs read at once.
    pub concurrency: usize,
    /// What happens to entries already in the target.
    pub overwrite: Overwrite,
    /// Live counters.
    pub progress: Option<Arc<RestoreProgress>>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            concurrency: 4,
            overwrite: Overwrite::default(),
            progress: None,
        }
    }
}

impl RestoreOptions {
    /// Sets `concurrency`: packs read at once.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets `overwrite`: what happens to entries already in the target.
    #[must_use]
    pub fn with_overwrite(mut self, overwrite: Overwrite) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Sets `progress`: live counters for a progress display.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<RestoreProgress>) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// Live counters of a restore.
#[derive(Debug, Default)]
pub struct RestoreProgress {
    /// Files completed.
    pub files: AtomicU64,
    /// Bytes written.
    pub bytes: AtomicU64,
    /// Total bytes of files planned so far.
    pub bytes_planned: AtomicU64,
}

/// A file of the snapshot that was not restored because its data is missing or damaged. It is
/// not in the target (nothing half-written is left under its name); a file that was there
/// before is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagedFile {
    /// Where the file would have been restored.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    /// What is missing or damaged (the blob, its pack and the error).
    pub reason: String,
}

/// An entry of the snapshot that was not restored for a reason other than its data: a tree
/// with duplicate or unsafe names, something in the way in the target (a link or file where a
/// directory belongs, a directory where a file belongs), a tree that cannot be read, or a
/// failed operation in the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryError {
    /// Where the entry would have been restored.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    /// Why it was not.
    pub reason: String,
}

fn lossy_path<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// What a restore did. A restore returns a summary even when some entries failed: check
/// [`RestoreSummary::is_complete`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreSummary {
    /// The snapshot restored.
    pub snapshot_id: Id,
    /// Files restored completely (content checked, renamed into place).
    pub files: u64,
    /// Existing files left as they were by [`RestoreOptions::overwrite`] (with
    /// [`Overwrite::IfChanged`] their metadata was set).
    pub files_skipped: u64,
    /// Directories restored.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Fifos and device nodes created.
    pub specials: u64,
    /// Bytes of the files restored.
    pub bytes: u64,
    /// Files with missing or damaged data: removed, not restored.
    pub damaged: Vec<DamagedFile>,
    /// Entries not restored for other reasons.
    pub errors: Vec<EntryError>,
    /// Entries not restored (sockets, device nodes without the privilege to create them) or
    /// whose metadata could not be set.
    pub warnings: Vec<String>,
    /// Seconds taken.
    pub duration_secs: f64,
}

impl RestoreSummary {
    /// Whether every entry of the snapshot was restored: no damaged file, no entry error.
    pub fn is_complete(&self) -> bool {
        self.damaged.is_empty() && self.errors.is_empty()
    }
}

/// The name of a node as the file system takes it: its exact bytes.
pub(crate) fn node_name(node: &Node) -> &std::ffi::OsStr {
    node.name.as_os_str()
}

/// Resolves `SUBPATH` inside a snapshot: `None` for the root. A component that names several
/// entries of one tree is refused.
pub async fn resolve_path(
    repo: &Repository,
    snap: &SnapshotEntry,
    subpath: &str,
) -> Result<Option<Node>> {
    let mut tree_id = snap.snapshot.tree;
    let mut node: Option<Node> = None;
    let not_found = || Error::PathNotFound {
        snapshot: snap.id.short(),
        path: subpath.to_string(),
    };
    for comp in subpath.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if let Some(n) = &node {
            tree_id = match (n.node_type, n.subtree) {
                (NodeType::Dir, Some(t)) => t,
                _ => return Err(not_found()),
            };
        }
        let tree: Tree = repo.load_tree(&tree_id).await?;
        let mut hits = tree.nodes.into_iter().filter(|n| n.name == comp);
        let first = hits.next().ok_or_else(not_found)?;
        if hits.next().is_some() {
            return Err(Error::corrupt(
                format!("snapshot {} at {subpath}", snap.id.short()),
                format!(
                    "several entries are named {comp:?} in one directory (a crafted or damaged tree); nothing is read from it"
                ),
            ));
        }
        node = Some(first);
    }
    Ok(node)
}

/// Restores a snapshot (or a path inside it) into `target`: a directory's contents go
/// into `target`, a single file into `target/NAME`. Takes a shared lock.
///
/// Returns `Ok` with a summary that may list damaged files and entry errors (see the module
/// documentation); `Err` only when the restore could not go on at all (no such snapshot, the
/// target cannot be created, a full disk).
pub async fn restore(
    repo: &Arc<Repository>,
    snapshot: &str,
    subpath: &str,
    target: &Path,
    opts: &RestoreOptions,
) -> Result<RestoreSummary> {
    // A shared lock, so that a prune elsewhere cannot remove packs while they are read.
    repo.locked(false, async {
        let started = Instant::now();
        let snap = repo.find_snapshot(snapshot).await?;
        repo.load_index().await?;
        let start = resolve_path(repo, &snap, subpath).await?;
        let root = confined::Dir::open_root(target)
            .map_err(|e| Error::io("creating the restore target", target, e))?;
        let r = Arc::new(walk::Restorer::new(
            Arc::clone(repo),
            opts.clone(),
            snap.id,
            Identity::current().uid == 0,
        ));
        r.run(Arc::new(root), &snap, start).await?;
        let mut summary = r.take_summary();
        summary.duration_secs = started.elapsed().as_secs_f64();
        Ok(summary)
    })
    .await
}
