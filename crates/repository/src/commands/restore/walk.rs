//! Walking a snapshot's trees into the target: directories are created (confined, `0700`) on
//! the way, files are planned into batches that [`super::write`] fills, fifos and device nodes
//! are made at once; symbolic links and the directories' own metadata come last, in one pass
//! over the directories, deepest first.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustix::fs::FileType;

use super::confined::{self, Dir, Existing};
use super::write::{Batch, FileJob, Target};
use super::{
    BATCH_BLOBS, DamagedFile, EntryError, Overwrite, RestoreOptions, RestoreProgress,
    RestoreSummary, node_name,
};
use crate::repo::Repository;
use crate::repo::id::Id;
use crate::repo::pack::BlobType;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeType};
use crate::{Error, Result};

/// Directories whose files one batch may hold (each keeps its directory open until the batch
/// is written), so that a tree of many small directories stays far from the descriptor limit.
const BATCH_DIRS: usize = 256;

/// A directory the walk created or entered, in the order visited (parents before children,
/// each subtree contiguous), so that the last pass can reopen them without holding every one.
struct DirRecord {
    depth: usize,
    name: OsString,
    /// The snapshot's node: its metadata is set last. `None` for a target restored into.
    node: Option<Node>,
    /// Links to create in it once everything else is in place.
    symlinks: Vec<Node>,
}

impl DirRecord {
    /// The record of the directory restored into (`node`: the snapshot's, when a directory
    /// of the snapshot is restored there).
    fn root(node: Option<Node>) -> Self {
        DirRecord {
            depth: 0,
            name: OsString::new(),
            node,
            symlinks: Vec::new(),
        }
    }
}

/// What the walk has planned so far: the directories visited, those still to walk, and the
/// files of the batch being filled.
#[derive(Default)]
struct Walk {
    records: Vec<DirRecord>,
    stack: Vec<Pending>,
    batch: Batch,
}

/// A directory waiting to be created and walked.
struct Pending {
    parent: Arc<Dir>,
    depth: usize,
    node: Node,
}

pub(super) struct Restorer {
    pub(super) repo: Arc<Repository>,
    pub(super) opts: RestoreOptions,
    pub(super) progress: Arc<RestoreProgress>,
    summary: Mutex<RestoreSummary>,
    /// Restoring as root: owners are set.
    is_root: bool,
    /// The first error that ends the restore (a full disk).
    fatal: Mutex<Option<Error>>,
    /// Descriptors held by partly written files (see [`super::write`]).
    pub(super) open_files: AtomicUsize,
    pub(super) snapshot: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `(seconds, nanoseconds)` of a node's time.
fn secs(t: Option<chrono::DateTime<chrono::FixedOffset>>) -> Option<(i64, i64)> {
    t.map(|t| (t.timestamp(), i64::from(t.timestamp_subsec_nanos())))
}

impl Restorer {
    pub(super) fn new(
        repo: Arc<Repository>,
        opts: RestoreOptions,
        snapshot: Id,
        is_root: bool,
    ) -> Restorer {
        Restorer {
            repo,
            progress: opts.progress.clone().unwrap_or_default(),
            opts,
            summary: Mutex::new(RestoreSummary {
                snapshot_id: snapshot,
                ..RestoreSummary::default()
            }),
            is_root,
            fatal: Mutex::new(None),
            open_files: AtomicUsize::new(0),
            snapshot: snapshot.short(),
        }
    }

    pub(super) fn take_summary(&self) -> RestoreSummary {
        std::mem::take(&mut lock(&self.summary))
    }

    pub(super) fn warn(&self, msg: String) {
        tracing::warn!("{msg}");
        lock(&self.summary).warnings.push(msg);
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut RestoreSummary)) {
        f(&mut lock(&self.summary));
    }

    /// Lists a damaged file.
    pub(super) fn damaged(&self, path: PathBuf, reason: String) {
        tracing::warn!(snapshot = %self.snapshot, path = %path.display(), "damaged: {reason}");
        lock(&self.summary)
            .damaged
            .push(DamagedFile { path, reason });
    }

    /// Lists an entry that was not restored.
    pub(super) fn entry_error(&self, path: PathBuf, reason: String) {
        tracing::warn!(snapshot = %self.snapshot, path = %path.display(), "not restored: {reason}");
        lock(&self.summary).errors.push(EntryError { path, reason });
    }

    /// An operation on `path` failed: the entry is listed, or (a full disk) the restore ends.
    pub(super) fn failed(&self, op: &'static str, path: PathBuf, e: std::io::Error) -> Result<()> {
        if confined::is_fatal(&e) {
            return Err(Error::io(op, path, e));
        }
        self.entry_error(path, format!("{op}: {e}"));
        Ok(())
    }

    /// Ends the restore with `err` (the first one wins).
    pub(super) fn set_fatal(&self, err: Error) {
        let mut f = lock(&self.fatal);
        if f.is_none() {
            *f = Some(err);
        }
    }

    /// The error that ended the restore, if one did.
    pub(super) fn take_fatal(&self) -> Option<Error> {
        lock(&self.fatal).take()
    }

    pub(super) fn is_failed(&self) -> bool {
        lock(&self.fatal).is_some()
    }

    /// Owner to set (only as root), mode, times of `node`.
    pub(super) fn owner_of(&self, node: &Node) -> Option<(u32, u32)> {
        self.is_root.then_some((node.uid, node.gid))
    }

    pub(super) fn times_of(node: &Node) -> Option<rustix::fs::Timestamps> {
        confined::timestamps(secs(node.mtime), secs(node.atime))
    }

    /// Reports metadata that could not be set.
    pub(super) fn metadata_warnings(
        &self,
        path: &Path,
        failed: Vec<(&'static str, std::io::Error)>,
    ) {
        for (op, e) in failed {
            self.warn(format!("{}: {op}: {e}", path.display()));
        }
    }

    /// Whether an existing entry is left alone under the overwrite mode (`Some(keep_data)`
    /// when it is: with [`Overwrite::IfChanged`] an up-to-date file still gets metadata).
    fn keeps(&self, ex: &Existing, node: &Node, same: impl FnOnce() -> bool) -> bool {
        match self.opts.overwrite {
            Overwrite::Never => true,
            Overwrite::IfNewer => secs(node.mtime).is_none_or(|m| m <= ex.mtime),
            Overwrite::IfChanged => same(),
            Overwrite::Always => false,
        }
    }

    /// Restores from the root directory `root`: the whole snapshot (`start` `None`), a
    /// directory of it, or one entry.
    pub(super) async fn run(
        self: &Arc<Self>,
        root: Arc<Dir>,
        snap: &SnapshotEntry,
        start: Option<Node>,
    ) -> Result<()> {
        let mut walk = Walk::default();
        match start {
            None => {
                walk.records.push(DirRecord::root(None));
                self.visit(snap.snapshot.tree, &root, 0, &mut walk).await?;
            }
            Some(node) if node.node_type == NodeType::Dir => {
                let sub = node
                    .subtree
                    .ok_or_else(|| Error::corrupt("tree", "directory without subtree"))?;
                walk.records.push(DirRecord::root(Some(node)));
                self.visit(sub, &root, 0, &mut walk).await?;
            }
            Some(node) => {
                walk.records.push(DirRecord::root(None));
                let single = crate::repo::tree::Tree {
                    nodes: vec![node.clone()],
                };
                if let Some(p) = single.name_problems().first() {
                    return Err(Error::corrupt(
                        format!("snapshot {}", self.snapshot),
                        p.to_string(),
                    ));
                }
                self.restore_node(node, &root, 0, &mut walk).await?;
            }
        }
        // Depth-first with an explicit stack, so deep trees do not recurse.
        while let Some(p) = walk.stack.pop() {
            let name = node_name(&p.node).to_os_string();
            let path = p.parent.join(&name);
            let dir = match p.parent.make_dir(&name) {
                Ok((dir, _)) => Arc::new(dir),
                Err(e) => {
                    self.failed("creating directory", path, e)?;
                    continue;
                }
            };
            self.count(|s| s.dirs += 1);
            let subtree = p.node.subtree;
            walk.records.push(DirRecord {
                depth: p.depth,
                name,
                node: Some(p.node),
                symlinks: Vec::new(),
            });
            if let Some(sub) = subtree {
                self.visit(sub, &dir, p.depth, &mut walk).await?;
            }
        }
        self.run_batch(std::mem::take(&mut walk.batch)).await?;
        self.finish_dirs(&root, &walk.records);
        Ok(())
    }

    /// Plans the entries of tree `tree_id` (the content of `dir`, at `depth`).
    async fn visit(
        self: &Arc<Self>,
        tree_id: Id,
        dir: &Arc<Dir>,
        depth: usize,
        walk: &mut Walk,
    ) -> Result<()> {
        let tree = match self.repo.load_tree(&tree_id).await {
            Ok(t) => t,
            Err(e) => {
                self.entry_error(
                    dir.path().to_path_buf(),
                    format!("its listing (tree {}) cannot be read: {e}", tree_id.short()),
                );
                return Ok(());
            }
        };
        let problems = tree.name_problems();
        let refused: HashSet<&[u8]> = problems.iter().map(|p| p.name.as_bytes()).collect();
        for p in &problems {
            let shown = dir.path().join(p.name.escaped().replace('/', "\u{2215}"));
            self.entry_error(shown, format!("snapshot {}: {p}", self.snapshot));
        }
        for node in tree.nodes {
            if refused.contains(node.name.as_bytes()) {
                continue;
            }
            self.restore_node(node, dir, depth, walk).await?;
        }
        Ok(())
    }

    async fn restore_node(
        self: &Arc<Self>,
        node: Node,
        dir: &Arc<Dir>,
        depth: usize,
        walk: &mut Walk,
    ) -> Result<()> {
        match node.node_type {
            NodeType::Dir => walk.stack.push(Pending {
                parent: Arc::clone(dir),
                depth: depth + 1,
                node,
            }),
            NodeType::Symlink => {
                // The record of the directory being visited is the last one.
                if let Some(r) = walk.records.last_mut() {
                    r.symlinks.push(node);
                }
            }
            NodeType::File => {
                let batch = &mut walk.batch;
                self.plan_file(node, dir, batch)?;
                if batch.blobs >= BATCH_BLOBS
                    || batch.files.len() >= BATCH_BLOBS
                    || batch.dirs >= BATCH_DIRS
                {
                    self.run_batch(std::mem::take(batch)).await?;
                }
            }
            NodeType::Fifo | NodeType::Dev | NodeType::Chardev => self.make_special(&node, dir)?,
            other => self.warn(format!(
                "{}: {other:?} nodes are not restored (restic does not restore sockets either)",
                dir.join(node_name(&node)).display()
            )),
        }
        Ok(())
    }

    /// Looks up a file's blobs and adds it to the batch, or settles it at once: left alone
    /// (overwrite mode), damaged (a blob not in the index), empty, or in the way.
    fn plan_file(&self, node: Node, dir: &Arc<Dir>, batch: &mut Batch) -> Result<()> {
        let name = node_name(&node);
        let path = dir.join(name);
        let content = node.content.clone().unwrap_or_default();
        let mut offsets = Vec::with_capacity(content.len());
        let mut size = 0u64;
        for id in &content {
            let Some(loc) = self.repo.locate(id, BlobType::Data) else {
                self.damaged(
                    path,
                    format!(
                        "snapshot {}: data blob {} (at byte {size}) is not in the repository's index",
                        self.snapshot,
                        id.short()
                    ),
                );
                return Ok(());
            };
            offsets.push((loc, size));
            size += loc.plain_size();
        }
        // With `always` whatever is there is replaced by the rename (which never replaces a
        // directory), so there is nothing to look at first.
        let existing = match self.opts.overwrite {
            Overwrite::Always => None,
            _ => match dir.stat(name) {
                Ok(e) => e,
                Err(e) => return self.failed("inspecting", path, e),
            },
        };
        if let Some(ex) = &existing {
            if ex.kind == FileType::Directory {
                self.entry_error(
                    path,
                    "a directory is in the way of a file of the snapshot (left alone)".into(),
                );
                return Ok(());
            }
            let same = || {
                ex.kind == FileType::RegularFile
                    && ex.size == size
                    && secs(node.mtime).is_some_and(|m| m == ex.mtime)
            };
            if self.keeps(ex, &node, same) {
                if self.opts.overwrite == Overwrite::IfChanged {
                    self.set_existing_file_metadata(dir, &node, &path);
                }
                self.count(|s| s.files_skipped += 1);
                return Ok(());
            }
        }
        self.progress
            .bytes_planned
            .fetch_add(size, Ordering::Relaxed);
        let job = FileJob::new(
            Arc::clone(dir),
            node,
            size,
            self.opts.overwrite == Overwrite::Never,
            content.len(),
        );
        if content.is_empty() {
            return self.finish_empty(job);
        }
        let idx = batch.files.len();
        if batch.last_dir.as_ref().is_none_or(|d| !Arc::ptr_eq(d, dir)) {
            batch.dirs += 1;
            batch.last_dir = Some(Arc::clone(dir));
        }
        for (id, (loc, offset)) in content.iter().zip(offsets) {
            batch
                .packs
                .entry(loc.pack)
                .or_default()
                .entry(loc.offset)
                .or_insert_with(|| super::write::PlannedBlob {
                    id: *id,
                    loc,
                    targets: Vec::new(),
                })
                .targets
                .push(Target { file: idx, offset });
            batch.blobs += 1;
        }
        batch.files.push(job);
        Ok(())
    }

    /// An existing up-to-date file (`--overwrite if-changed`) gets the snapshot's metadata.
    fn set_existing_file_metadata(&self, dir: &Dir, node: &Node, path: &Path) {
        match dir.open_existing_file(node_name(node)) {
            Ok(f) => {
                let failed = confined::set_metadata_fd(
                    std::os::fd::AsFd::as_fd(&f),
                    self.owner_of(node),
                    Some(node.unix_permissions()),
                    Self::times_of(node),
                );
                self.metadata_warnings(path, failed);
            }
            Err(e) => self.warn(format!("{}: setting metadata: {e}", path.display())),
        }
    }

    /// Creates a fifo or device node like the one backed up (replacing what is there, per
    /// the overwrite mode; never a directory).
    fn make_special(&self, node: &Node, dir: &Dir) -> Result<()> {
        let name = node_name(node);
        let path = dir.join(name);
        let kind = match node.node_type {
            NodeType::Fifo => FileType::Fifo,
            NodeType::Dev => FileType::BlockDevice,
            _ => FileType::CharacterDevice,
        };
        match dir.stat(name) {
            Ok(None) => {}
            Ok(Some(ex)) if ex.kind == FileType::Directory => {
                self.entry_error(
                    path,
                    format!(
                        "a directory is in the way of a {:?} node (left alone)",
                        node.node_type
                    ),
                );
                return Ok(());
            }
            Ok(Some(ex)) => {
                if self.keeps(&ex, node, || ex.kind == kind) {
                    self.count(|s| s.files_skipped += 1);
                    return Ok(());
                }
                if let Err(e) = dir.remove(name) {
                    return self.failed("replacing", path, e);
                }
            }
            Err(e) => return self.failed("inspecting", path, e),
        }
        let mode = node.unix_permissions();
        if let Err(e) = dir.mknod(name, kind, confined::file_creation_mode(mode), node.device) {
            // Device nodes need privileges a restore may not have: say so, go on.
            self.warn(format!(
                "{}: creating the {:?} node: {e}",
                path.display(),
                node.node_type
            ));
            return Ok(());
        }
        if let Err(e) = dir.set_times_and_owner_at(name, self.owner_of(node), None) {
            self.warn(format!("{}: setting owner: {e}", path.display()));
        }
        if let Err(e) = dir.chmod_special_at(name, mode) {
            self.warn(format!("{}: setting permissions: {e}", path.display()));
        }
        if let Err(e) = dir.set_times_and_owner_at(name, None, Self::times_of(node)) {
            self.warn(format!("{}: setting times: {e}", path.display()));
        }
        self.count(|s| s.specials += 1);
        Ok(())
    }

    /// Creates the symbolic link `node` in `dir` (under a temporary name, renamed into place,
    /// so that whatever it replaces is replaced in one step).
    fn make_symlink(&self, node: &Node, dir: &Dir) {
        let name = node_name(node);
        let path = dir.join(name);
        let target = node.linktarget.as_os_str();
        // Usually nothing is there yet (a fresh target): the link is made under its name at
        // once (`symlinkat` never replaces anything, and a link is complete when it exists).
        // Only an existing entry goes through the checks and the rename below.
        match dir.symlink(target, name) {
            Ok(()) => {
                self.link_made(node, dir, &path);
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                let _ = self.failed("creating symlink", path, e);
                return;
            }
        }
        match dir.stat(name) {
            Ok(None) => {}
            Ok(Some(ex)) if ex.kind == FileType::Directory => {
                self.entry_error(
                    path,
                    "a directory is in the way of a symbolic link of the snapshot (left alone)"
                        .into(),
                );
                return;
            }
            Ok(Some(ex)) => {
                let same = || {
                    ex.kind == FileType::Symlink
                        && dir.read_link(name).is_ok_and(|t| t.as_os_str() == target)
                };
                if self.keeps(&ex, node, same) {
                    if self.opts.overwrite == Overwrite::IfChanged
                        && let Err(e) = dir.set_times_and_owner_at(
                            name,
                            self.owner_of(node),
                            Self::times_of(node),
                        )
                    {
                        self.warn(format!("{}: setting metadata: {e}", path.display()));
                    }
                    self.count(|s| s.files_skipped += 1);
                    return;
                }
            }
            Err(e) => {
                let _ = self.failed("inspecting", path, e);
                return;
            }
        }
        let tmp = confined::temp_name(name);
        let made = dir.symlink(target, &tmp).and_then(|()| {
            dir.rename_into_place(&tmp, name, self.opts.overwrite == Overwrite::Never)
                .inspect_err(|_| {
                    let _ = dir.remove(&tmp);
                })
        });
        if let Err(e) = made {
            let _ = self.failed("creating symlink", path, e);
            return;
        }
        self.link_made(node, dir, &path);
    }

    /// A link of the snapshot is in place: its owner and times, and the count.
    fn link_made(&self, node: &Node, dir: &Dir, path: &Path) {
        let name = node_name(node);
        if let Err(e) = dir.set_times_and_owner_at(name, self.owner_of(node), Self::times_of(node))
        {
            self.warn(format!("{}: setting metadata: {e}", path.display()));
        }
        self.count(|s| s.symlinks += 1);
    }

    /// The last pass: each directory reopened (no link followed), its links created, then
    /// (children first) its mode, owner and times set.
    fn finish_dirs(&self, root: &Arc<Dir>, records: &[DirRecord]) {
        let mut open: Vec<(Option<Arc<Dir>>, &DirRecord)> = Vec::new();
        for rec in records {
            while open.len() > rec.depth {
                if let Some((dir, r)) = open.pop() {
                    self.finish_dir(dir.as_deref(), r);
                }
            }
            let dir = if rec.depth == 0 {
                Some(Arc::clone(root))
            } else {
                match open.last() {
                    Some((Some(parent), _)) => match parent.open_dir(&rec.name) {
                        Ok(d) => Some(Arc::new(d)),
                        Err(e) => {
                            self.warn(format!(
                                "{}: reopening to set its metadata: {e}",
                                parent.join(&rec.name).display()
                            ));
                            None
                        }
                    },
                    _ => None,
                }
            };
            if let Some(d) = &dir {
                for l in &rec.symlinks {
                    self.make_symlink(l, d);
                }
            }
            open.push((dir, rec));
        }
        while let Some((dir, r)) = open.pop() {
            self.finish_dir(dir.as_deref(), r);
        }
    }

    fn finish_dir(&self, dir: Option<&Dir>, rec: &DirRecord) {
        let (Some(dir), Some(node)) = (dir, &rec.node) else {
            return;
        };
        let failed = confined::set_metadata_fd(
            std::os::fd::AsFd::as_fd(dir),
            self.owner_of(node),
            Some(node.unix_permissions()),
            Self::times_of(node),
        );
        self.metadata_warnings(dir.path(), failed);
    }
}
