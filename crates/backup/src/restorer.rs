//! Restore and dump: read trees, fetch each pack's needed blobs with ranged reads, write them
//! into place, then set modes, owners and times.
//!
//! Memory is bounded: files are planned in batches (at most [`BATCH_BLOBS`] blobs), and each
//! pack read holds one range of at most a pack's size.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::host::Identity;
use crate::repo::id::Id;
use crate::repo::index::BlobLocation;
use crate::repo::pack::BlobType;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeName, NodeType, Tree};
use crate::{Error, Result};

/// Blobs planned before a batch is fetched and written.
pub const BATCH_BLOBS: usize = 50_000;
/// Blobs in one pack that are this close together are fetched with one ranged read.
const MERGE_GAP: u64 = 256 * 1024;
/// Largest single ranged read.
const MAX_RANGE: u64 = 8 * 1024 * 1024;

/// Knobs of a restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Packs read at once.
    pub concurrency: usize,
    /// Live counters.
    pub progress: Option<Arc<RestoreProgress>>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            concurrency: 4,
            progress: None,
        }
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

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreSummary {
    /// The snapshot restored.
    pub snapshot_id: Id,
    /// Files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Fifos and device nodes created.
    pub specials: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries not restored (sockets, device nodes without the privilege to create them) or
    /// whose metadata could not be set.
    pub warnings: Vec<String>,
    /// Seconds taken.
    pub duration_secs: f64,
}

fn check_name(name: &NodeName) -> Result<()> {
    if !name.is_plain() {
        return Err(Error::corrupt(
            "tree",
            format!("unsafe entry name {name:?}"),
        ));
    }
    Ok(())
}

/// Resolves `SUBPATH` inside a snapshot: `None` for the root.
pub async fn resolve_path(
    repo: &Repository,
    snap: &SnapshotEntry,
    subpath: &str,
) -> Result<Option<Node>> {
    let mut tree_id = snap.snapshot.tree;
    let mut node: Option<Node> = None;
    for comp in subpath.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if let Some(n) = &node {
            tree_id = match (n.node_type, n.subtree) {
                (NodeType::Dir, Some(t)) => t,
                _ => {
                    return Err(Error::PathNotFound {
                        snapshot: snap.id.short(),
                        path: subpath.to_string(),
                    });
                }
            };
        }
        let tree = repo.load_tree(&tree_id).await?;
        node = Some(
            tree.find(comp)
                .cloned()
                .ok_or_else(|| Error::PathNotFound {
                    snapshot: snap.id.short(),
                    path: subpath.to_string(),
                })?,
        );
    }
    Ok(node)
}

struct FileJob {
    path: PathBuf,
    node: Node,
}

struct Target {
    file: usize,
    offset: u64,
}

struct PlannedBlob {
    id: Id,
    loc: BlobLocation,
    targets: Vec<Target>,
}

#[derive(Default)]
struct Batch {
    files: Vec<FileJob>,
    packs: HashMap<Id, BTreeMap<u32, PlannedBlob>>,
    blobs: usize,
}

struct Restorer {
    repo: Arc<Repository>,
    opts: RestoreOptions,
    progress: Arc<RestoreProgress>,
    summary: std::sync::Mutex<RestoreSummary>,
    is_root: bool,
}

/// Creates a fifo or device node like the one backed up (replacing whatever is at `path`).
fn make_special(node: &Node, path: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    let kind = match node.node_type {
        NodeType::Fifo => FileType::Fifo,
        NodeType::Dev => FileType::BlockDevice,
        _ => FileType::CharacterDevice,
    };
    if std::fs::symlink_metadata(path).is_ok() {
        std::fs::remove_file(path)?;
    }
    let mode = Mode::from_raw_mode(node.unix_permissions());
    mknodat(CWD, path, kind, mode, node.device).map_err(std::io::Error::from)
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(op, path, e)
}

impl Restorer {
    fn warn(&self, msg: String) {
        tracing::warn!("{msg}");
        if let Ok(mut s) = self.summary.lock() {
            s.warnings.push(msg);
        }
    }

    fn count(&self, f: impl FnOnce(&mut RestoreSummary)) {
        if let Ok(mut s) = self.summary.lock() {
            f(&mut s);
        }
    }

    /// Sets owner (as root), permissions and times.
    fn apply_metadata(&self, path: &Path, node: &Node) {
        let symlink = node.node_type == NodeType::Symlink;
        if self.is_root
            && let Err(e) = std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))
        {
            self.warn(format!("{}: setting owner: {e}", path.display()));
        }
        if !symlink
            && let Err(e) = std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(node.unix_permissions()),
            )
        {
            self.warn(format!("{}: setting permissions: {e}", path.display()));
        }
        let ft = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
            t.map(|t| filetime::FileTime::from_unix_time(t.timestamp(), t.timestamp_subsec_nanos()))
        };
        if let Some(m) = ft(node.mtime) {
            let a = ft(node.atime).unwrap_or(m);
            if let Err(e) = filetime::set_symlink_file_times(path, a, m) {
                self.warn(format!("{}: setting times: {e}", path.display()));
            }
        }
    }

    async fn run_batch(&self, batch: Batch) -> Result<()> {
        let Batch { files, packs, .. } = batch;
        let files = Arc::new(files);
        futures::stream::iter(packs)
            .map(|(pack, blobs)| {
                let files = Arc::clone(&files);
                async move { self.restore_pack(pack, blobs, files).await }
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .try_collect::<()>()
            .await?;
        for f in files.iter() {
            self.apply_metadata(&f.path, &f.node);
            self.progress.files.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn restore_pack(
        &self,
        pack: Id,
        blobs: BTreeMap<u32, PlannedBlob>,
        files: Arc<Vec<FileJob>>,
    ) -> Result<()> {
        // Group neighbouring blobs into ranged reads.
        let mut groups: Vec<Vec<PlannedBlob>> = Vec::new();
        let mut cur_end = 0u64;
        let mut cur_start = 0u64;
        for (_, b) in blobs {
            let start = u64::from(b.loc.offset);
            let end = start + u64::from(b.loc.length);
            match groups.last_mut() {
                Some(g) if start <= cur_end + MERGE_GAP && end - cur_start <= MAX_RANGE => {
                    g.push(b);
                    cur_end = cur_end.max(end);
                }
                _ => {
                    groups.push(vec![b]);
                    cur_start = start;
                    cur_end = end;
                }
            }
        }
        for g in groups {
            let start = g.first().map_or(0, |b| u64::from(b.loc.offset));
            let end = g
                .iter()
                .map(|b| u64::from(b.loc.offset) + u64::from(b.loc.length))
                .max()
                .unwrap_or(start);
            let data = self
                .repo
                .backend
                .get_range(FileType::Pack, &pack, start..end)
                .await?;
            let key = self.repo.key.clone();
            let files = Arc::clone(&files);
            let progress = Arc::clone(&self.progress);
            let written = tokio::task::spawn_blocking(move || -> Result<u64> {
                let mut handles: HashMap<usize, std::fs::File> = HashMap::new();
                let mut written = 0u64;
                for b in g {
                    let off = (u64::from(b.loc.offset) - start) as usize;
                    let enc = &data[off..off + b.loc.length as usize];
                    let plain = crate::repo::decode_blob_with(&key, &b.id, &b.loc, enc)?;
                    for t in b.targets {
                        let path = &files[t.file].path;
                        let f = match handles.entry(t.file) {
                            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                                std::fs::OpenOptions::new()
                                    .write(true)
                                    .open(path)
                                    .map_err(io("opening for restore", path))?,
                            ),
                        };
                        f.write_all_at(&plain, t.offset)
                            .map_err(io("writing", path))?;
                        written += plain.len() as u64;
                        progress
                            .bytes
                            .fetch_add(plain.len() as u64, Ordering::Relaxed);
                    }
                }
                Ok(written)
            })
            .await
            .map_err(Error::task)??;
            self.count(|s| s.bytes += written);
        }
        Ok(())
    }

    /// Plans the files under `tree` into `batch`, creating directories and symlinks on the way;
    /// runs the batch whenever it is full. Directories get their metadata at the end.
    async fn walk(
        &self,
        tree_id: Id,
        dir: PathBuf,
        batch: &mut Batch,
        dirs: &mut Vec<(PathBuf, Node)>,
    ) -> Result<()> {
        // Depth-first with an explicit stack, so deep trees do not recurse.
        let mut stack: Vec<(Id, PathBuf)> = vec![(tree_id, dir)];
        while let Some((tid, dir)) = stack.pop() {
            let tree: Tree = self.repo.load_tree(&tid).await?;
            for node in tree.nodes {
                check_name(&node.name)?;
                let path = dir.join(&node.name);
                self.restore_node(node, path, batch, dirs, &mut stack)
                    .await?;
            }
        }
        Ok(())
    }

    async fn restore_node(
        &self,
        node: Node,
        path: PathBuf,
        batch: &mut Batch,
        dirs: &mut Vec<(PathBuf, Node)>,
        stack: &mut Vec<(Id, PathBuf)>,
    ) -> Result<()> {
        match node.node_type {
            NodeType::Dir => {
                tokio::fs::create_dir_all(&path)
                    .await
                    .map_err(io("creating directory", &path))?;
                self.count(|s| s.dirs += 1);
                if let Some(sub) = node.subtree {
                    stack.push((sub, path.clone()));
                }
                dirs.push((path, node));
            }
            NodeType::Symlink => {
                if tokio::fs::symlink_metadata(&path).await.is_ok() {
                    let _ = tokio::fs::remove_file(&path).await;
                }
                tokio::fs::symlink(&node.linktarget, &path)
                    .await
                    .map_err(io("creating symlink", &path))?;
                self.apply_metadata(&path, &node);
                self.count(|s| s.symlinks += 1);
            }
            NodeType::File => {
                self.plan_file(node, path, batch)?;
                if batch.blobs >= BATCH_BLOBS || batch.files.len() >= BATCH_BLOBS {
                    self.run_batch(std::mem::take(batch)).await?;
                }
            }
            NodeType::Fifo | NodeType::Dev | NodeType::Chardev => {
                match make_special(&node, &path) {
                    Ok(()) => {
                        self.apply_metadata(&path, &node);
                        self.count(|s| s.specials += 1);
                    }
                    // Device nodes need privileges a restore may not have: say so, go on.
                    Err(e) => self.warn(format!(
                        "{}: creating the {:?} node: {e}",
                        path.display(),
                        node.node_type
                    )),
                }
            }
            other => self.warn(format!(
                "{}: {other:?} nodes are not restored (restic does not restore sockets either)",
                path.display()
            )),
        }
        Ok(())
    }

    fn plan_file(&self, node: Node, path: PathBuf, batch: &mut Batch) -> Result<()> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io("creating", &path))?;
        let content = node.content.clone().unwrap_or_default();
        let mut offset = 0u64;
        let idx = batch.files.len();
        for id in &content {
            let loc = self.repo.locate(id, BlobType::Data).ok_or_else(|| {
                Error::corrupt(
                    format!("data blob {}", id.short()),
                    format!("needed for {} but not in the index", path.display()),
                )
            })?;
            let size = loc.plain_size();
            let per_pack = batch.packs.entry(loc.pack).or_default();
            per_pack
                .entry(loc.offset)
                .or_insert_with(|| PlannedBlob {
                    id: *id,
                    loc,
                    targets: Vec::new(),
                })
                .targets
                .push(Target { file: idx, offset });
            offset += size;
            batch.blobs += 1;
        }
        f.set_len(offset).map_err(io("sizing", &path))?;
        self.progress
            .bytes_planned
            .fetch_add(offset, Ordering::Relaxed);
        self.count(|s| s.files += 1);
        batch.files.push(FileJob { path, node });
        Ok(())
    }
}

/// Restores a snapshot (or a path inside it) into `target`: a directory's contents go
/// into `target`, a single file into `target/NAME`. Takes a shared lock.
pub async fn restore(
    repo: &Arc<Repository>,
    snapshot: &str,
    subpath: &str,
    target: &Path,
    opts: &RestoreOptions,
) -> Result<RestoreSummary> {
    // A shared lock, so that a prune elsewhere cannot remove packs while they are read.
    let lock = repo.lock(false).await?;
    let res = restore_locked(repo, snapshot, subpath, target, opts).await;
    lock.release().await?;
    res
}

async fn restore_locked(
    repo: &Arc<Repository>,
    snapshot: &str,
    subpath: &str,
    target: &Path,
    opts: &RestoreOptions,
) -> Result<RestoreSummary> {
    let started = Instant::now();
    let snap = repo.find_snapshot(snapshot).await?;
    repo.load_index().await?;
    let start = resolve_path(repo, &snap, subpath).await?;
    tokio::fs::create_dir_all(target)
        .await
        .map_err(io("creating the restore target", target))?;
    let r = Restorer {
        repo: Arc::clone(repo),
        opts: opts.clone(),
        progress: opts.progress.clone().unwrap_or_default(),
        summary: std::sync::Mutex::new(RestoreSummary {
            snapshot_id: snap.id,
            ..RestoreSummary::default()
        }),
        is_root: Identity::current().uid == 0,
    };
    let mut batch = Batch::default();
    let mut dirs = Vec::new();
    match start {
        None => {
            r.walk(
                snap.snapshot.tree,
                target.to_path_buf(),
                &mut batch,
                &mut dirs,
            )
            .await?
        }
        Some(node) if node.node_type == NodeType::Dir => {
            let sub = node
                .subtree
                .ok_or_else(|| Error::corrupt("tree", "directory without subtree"))?;
            r.walk(sub, target.to_path_buf(), &mut batch, &mut dirs)
                .await?;
            dirs.push((target.to_path_buf(), node));
        }
        Some(node) => {
            check_name(&node.name)?;
            let path = target.join(&node.name);
            let mut stack = Vec::new();
            r.restore_node(node, path, &mut batch, &mut dirs, &mut stack)
                .await?;
        }
    }
    r.run_batch(batch).await?;
    // Deepest directories first, so setting a parent's time is not undone by a child.
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (p, n) in &dirs {
        r.apply_metadata(p, n);
    }
    let mut summary = r.summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.duration_secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Writes one file of a snapshot to `out`. Returns the bytes written. Takes a shared lock.
pub async fn dump<W: tokio::io::AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snapshot: &str,
    path: &str,
    out: &mut W,
) -> Result<u64> {
    let lock = repo.lock(false).await?;
    let res = dump_locked(repo, snapshot, path, out).await;
    lock.release().await?;
    res
}

async fn dump_locked<W: tokio::io::AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snapshot: &str,
    path: &str,
    out: &mut W,
) -> Result<u64> {
    let snap = repo.find_snapshot(snapshot).await?;
    repo.load_index().await?;
    let node = resolve_path(repo, &snap, path).await?;
    let node = match node {
        Some(n) if n.node_type == NodeType::File => n,
        _ => {
            return Err(Error::InvalidInput {
                field: "path",
                value: path.to_string(),
                rule: "dump writes one file; this is a directory or not a regular file (use `restore` for directories)".into(),
            });
        }
    };
    let content = node.content.unwrap_or_default();
    let mut blobs = futures::stream::iter(content)
        .map(|id| async move { repo.load_blob(&id, BlobType::Data).await })
        .buffered(4);
    let mut n = 0u64;
    while let Some(b) = blobs.next().await {
        let b = b?;
        out.write_all(&b)
            .await
            .map_err(|e| Error::io("writing", "the output", e))?;
        n += b.len() as u64;
    }
    out.flush()
        .await
        .map_err(|e| Error::io("writing", "the output", e))?;
    Ok(n)
}
