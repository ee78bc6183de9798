//! Backup: walk paths (or read a stream), store new data and trees, then the snapshot.
//!
//! Tree layout follows restic for absolute paths: the snapshot's root tree holds the first
//! component of each backed-up path, so `/srv/db` is stored as `srv/db`. Relative paths are
//! made absolute first (restic keeps them relative; readers handle both).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::io::AsyncRead;
use tokio::sync::Semaphore;
use tokio_util::io::SyncIoBridge;

use super::backup_progress::{BackupProgress, Scan};
use crate::chunker::{Chunker, release};
use crate::repo::Repository;
use crate::repo::host::{self, Identity};
use crate::repo::id::Id;
use crate::repo::index::BlobKey;
use crate::repo::lock::WriteGate;
use crate::repo::pack::BlobType;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{Node, NodeName, NodeType, Tree, go_mode_from_unix};
use crate::saver::{BlobBatch, BlobSaver, SaverOptions};
use crate::select::{Selection, rejected_by_tags};
use crate::targets::{self, TargetNode};
use crate::{Error, Result};

/// Which snapshot a backup compares files against to skip reading unchanged ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParentSelection {
    /// The latest snapshot of the same host and paths.
    #[default]
    Auto,
    /// Read every file.
    None,
    /// This snapshot (`latest`, an id or a prefix).
    Snapshot(String),
}

/// Knobs of a backup: `BackupOptions::default()` and the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackupOptions {
    /// Parent snapshot selection.
    pub parent: ParentSelection,
    /// Tags for the snapshot.
    pub tags: Vec<String>,
    /// Host name recorded (default: this machine's).
    pub hostname: Option<String>,
    /// Snapshot time (default: now).
    pub time: Option<DateTime<FixedOffset>>,
    /// Blob saving.
    pub saver: SaverOptions,
    /// Files read at once.
    pub read_concurrency: usize,
    /// Live state for a progress display; when set, the backup also scans its paths ahead
    /// of itself for the totals (metadata only, beside the backup, never waited for).
    pub progress: Option<Arc<BackupProgress>>,
    /// Exclude patterns (restic's `--exclude` and `--exclude-file`), in order; see
    /// [`ExcludePatterns`](crate::ExcludePatterns). Recorded in the snapshot.
    pub excludes: Vec<String>,
    /// Case-insensitive exclude patterns (`--iexclude`, `--iexclude-file`).
    pub iexcludes: Vec<String>,
    /// Skip the contents of directories tagged with a valid `CACHEDIR.TAG` (`--exclude-caches`);
    /// the directory and its tag file are kept.
    pub exclude_caches: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            parent: ParentSelection::Auto,
            tags: Vec::new(),
            hostname: None,
            time: None,
            saver: SaverOptions::default(),
            read_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            progress: None,
            excludes: Vec::new(),
            iexcludes: Vec::new(),
            exclude_caches: false,
        }
    }
}

impl BackupOptions {
    /// Sets `parent`: which snapshot unchanged files are compared against.
    #[must_use]
    pub fn with_parent(mut self, parent: ParentSelection) -> Self {
        self.parent = parent;
        self
    }

    /// Sets `tags`: the snapshot's tags.
    #[must_use]
    pub fn with_tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `hostname`: the host name recorded (`None`: this machine's).
    #[must_use]
    pub fn with_hostname(mut self, hostname: Option<String>) -> Self {
        self.hostname = hostname;
        self
    }

    /// Sets `time`: the snapshot's time (`None`: now).
    #[must_use]
    pub fn with_time(mut self, time: Option<DateTime<FixedOffset>>) -> Self {
        self.time = time;
        self
    }

    /// Sets `saver`: how blobs are compressed and packed.
    #[must_use]
    pub fn with_saver(mut self, saver: SaverOptions) -> Self {
        self.saver = saver;
        self
    }

    /// Sets `read_concurrency`: files read at once.
    #[must_use]
    pub fn with_read_concurrency(mut self, read_concurrency: usize) -> Self {
        self.read_concurrency = read_concurrency;
        self
    }

    /// Sets `progress`: live state for a progress display (this also starts the scan that
    /// gives the totals; see [`BackupProgress`]).
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<BackupProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Sets `excludes`: exclude patterns, in order (`!pattern` takes back an earlier match).
    #[must_use]
    pub fn with_excludes(mut self, patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.excludes = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `iexcludes`: case-insensitive exclude patterns, in order.
    #[must_use]
    pub fn with_iexcludes(mut self, patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.iexcludes = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `exclude_caches`: skip what directories tagged with `CACHEDIR.TAG` hold.
    #[must_use]
    pub fn with_exclude_caches(mut self, exclude_caches: bool) -> Self {
        self.exclude_caches = exclude_caches;
        self
    }
}

/// What a backup did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    /// The new snapshot.
    pub snapshot_id: Id,
    /// The parent it was compared against.
    pub parent: Option<Id>,
    /// What was backed up.
    pub paths: Vec<String>,
    /// Files not in the parent.
    pub files_new: u64,
    /// Files changed since the parent.
    pub files_changed: u64,
    /// Files unchanged (not read).
    pub files_unmodified: u64,
    /// Directories.
    pub dirs: u64,
    /// Total size of the files in the snapshot.
    pub bytes_total: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// New data blobs stored.
    pub data_blobs_added: u64,
    /// New tree blobs stored.
    pub tree_blobs_added: u64,
    /// Plaintext bytes of new blobs.
    pub bytes_added: u64,
    /// Stored bytes of new blobs (compressed, encrypted).
    pub bytes_stored: u64,
    /// Packs uploaded.
    pub packs_added: u64,
    /// Seconds taken.
    pub duration_secs: f64,
    /// Entries that could not be read (skipped; the snapshot is otherwise complete).
    pub errors: Vec<String>,
}

#[derive(Default)]
struct Counts {
    new: AtomicU64,
    changed: AtomicU64,
    unmodified: AtomicU64,
    dirs: AtomicU64,
    bytes_total: AtomicU64,
    bytes_read: AtomicU64,
}

struct Archiver {
    repo: Arc<Repository>,
    saver: Arc<BlobSaver>,
    chunker: Arc<Chunker>,
    file_slots: Arc<Semaphore>,
    /// Directories listed whose files are not all read yet (see [`WALK_AHEAD`]).
    walk_slots: Arc<Semaphore>,
    /// Directories being listed at once: as many as files being read. Each listing is a
    /// blocking thread, and every extra thread is another glibc heap keeping freed memory.
    list_slots: Semaphore,
    progress: Arc<BackupProgress>,
    counts: Counts,
    errors: Mutex<Vec<String>>,
    /// What is left out (restic's exclude options).
    select: Arc<Selection>,
}

/// How many entries of one directory are worked on at once.
const DIR_CONCURRENCY: usize = 16;

/// How far the walk runs ahead of the readers: directories listed whose files are not all
/// read yet. Without a bound, listing (fast) outruns reading (slow) and the whole tree's
/// metadata waits in memory (tens of MiB for 60,000 files) on as many blocking threads as
/// there are directories being listed; a few dozen directories keep the readers supplied.
const WALK_AHEAD: usize = 32;

fn time_of(secs: i64, nsec: i64) -> Option<DateTime<FixedOffset>> {
    Utc.timestamp_opt(secs, nsec.clamp(0, 999_999_999) as u32)
        .single()
        .map(|t| t.fixed_offset())
}

/// A node with the metadata restic records.
pub(crate) fn node_from_metadata(name: NodeName, meta: &std::fs::Metadata) -> Node {
    let ft = meta.file_type();
    use std::os::unix::fs::FileTypeExt;
    let node_type = if ft.is_dir() {
        NodeType::Dir
    } else if ft.is_symlink() {
        NodeType::Symlink
    } else if ft.is_file() {
        NodeType::File
    } else if ft.is_fifo() {
        NodeType::Fifo
    } else if ft.is_socket() {
        NodeType::Socket
    } else if ft.is_char_device() {
        NodeType::Chardev
    } else {
        NodeType::Dev
    };
    let mut node = Node::new(name, node_type);
    node.mode = go_mode_from_unix(meta.mode());
    node.mtime = time_of(meta.mtime(), meta.mtime_nsec());
    node.atime = time_of(meta.atime(), meta.atime_nsec());
    node.ctime = time_of(meta.ctime(), meta.ctime_nsec());
    node.uid = meta.uid();
    node.gid = meta.gid();
    node.user = host::user_name(meta.uid()).unwrap_or_default();
    node.group = host::group_name(meta.gid()).unwrap_or_default();
    node.inode = meta.ino();
    node.device_id = meta.dev();
    if node_type != NodeType::Dir {
        node.links = meta.nlink();
    }
    if node_type == NodeType::File {
        node.size = meta.size();
    }
    if matches!(node_type, NodeType::Dev | NodeType::Chardev) {
        node.device = meta.rdev();
    }
    node
}

fn unchanged(old: &Node, new: &Node) -> bool {
    old.node_type == NodeType::File
        && old.content.is_some()
        && old.size == new.size
        && old.mtime == new.mtime
        && old.ctime == new.ctime
        && old.inode == new.inode
}

impl Archiver {
    fn warn(&self, path: &Path, err: &std::io::Error) {
        let msg = format!("{}: {err}", path.display());
        tracing::warn!(path = %path.display(), error = %err, "skipped");
        self.progress.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.errors.lock() {
            e.push(msg);
        }
    }

    async fn save_tree(&self, tree: &Tree) -> Result<Id> {
        let blob = tree.to_blob();
        let id = Id::hash(&blob);
        self.saver
            .save(BlobType::Tree, id, Bytes::from(blob))
            .await?;
        Ok(id)
    }

    async fn parent_tree(&self, parent: Option<&Node>) -> Option<Tree> {
        let sub = parent.filter(|p| p.node_type == NodeType::Dir)?.subtree?;
        match self.repo.load_tree(&sub).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "parent tree unreadable; reading the directory's files again");
                None
            }
        }
    }

    /// A file's node from the parent snapshot when the file is unchanged and its data is
    /// still in the repository (then the file is not read).
    fn reuse_unchanged(&self, node: &mut Node, parent: Option<&Node>) -> bool {
        let Some(content) = parent
            .filter(|p| unchanged(p, node))
            .and_then(|p| p.content.as_ref())
        else {
            return false;
        };
        if !content.iter().all(|id| {
            self.saver.has(&BlobKey {
                id: *id,
                ty: BlobType::Data,
            })
        }) {
            return false;
        }
        node.content = Some(content.clone());
        self.counts.unmodified.fetch_add(1, Ordering::Relaxed);
        self.counts
            .bytes_total
            .fetch_add(node.size, Ordering::Relaxed);
        self.progress.files.fetch_add(1, Ordering::Relaxed);
        self.progress.bytes.fetch_add(node.size, Ordering::Relaxed);
        true
    }

    fn entry(
        self: Arc<Self>,
        path: PathBuf,
        name: NodeName,
        parent: Option<Node>,
    ) -> BoxFuture<'static, Result<Option<Node>>> {
        Box::pin(async move {
            // A given path is tested like a walked one: by its name first, then by a tag
            // file beside it (restic does the same before reading its metadata).
            if self.select.excludes_path(&path) {
                return Ok(None);
            }
            let excluded = {
                let (select, path) = (Arc::clone(&self.select), path.clone());
                tokio::task::spawn_blocking(move || select.excluded_by_tag(&path))
                    .await
                    .map_err(Error::task)?
            };
            if excluded {
                return Ok(None);
            }
            let meta = match tokio::fs::symlink_metadata(&path).await {
                Ok(m) => m,
                Err(e) => {
                    self.warn(&path, &e);
                    return Ok(None);
                }
            };
            let mut node = node_from_metadata(name, &meta);
            match node.node_type {
                NodeType::File => {
                    if self.reuse_unchanged(&mut node, parent.as_ref()) {
                        return Ok(Some(node));
                    }
                    let job = FileJob {
                        slot: 0,
                        path,
                        node,
                        was_known: parent.is_some(),
                    };
                    let mut read = self.read_files(vec![job]).await?;
                    Ok(read.pop().and_then(|(_, n)| n))
                }
                NodeType::Dir => self.dir(path, node, parent).await,
                NodeType::Symlink => match tokio::fs::read_link(&path).await {
                    Ok(t) => {
                        node.linktarget = t;
                        Ok(Some(node))
                    }
                    Err(e) => {
                        self.warn(&path, &e);
                        Ok(None)
                    }
                },
                _ => Ok(Some(node)),
            }
        })
    }

    async fn dir(
        self: Arc<Self>,
        path: PathBuf,
        mut node: Node,
        parent: Option<Node>,
    ) -> Result<Option<Node>> {
        // Held while this directory is listed and its files are read, not while its
        // subdirectories are (they take their own, so the walk cannot deadlock).
        let walking = Arc::clone(&self.walk_slots)
            .acquire_owned()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let (listing, tags) = {
            let _listing = self
                .list_slots
                .acquire()
                .await
                .map_err(|e| Error::Task(e.to_string()))?;
            let (path, select) = (path.clone(), Arc::clone(&self.select));
            tokio::task::spawn_blocking(move || {
                let tags: Vec<OsString> = select
                    .tags_in(&path)
                    .into_iter()
                    .map(OsString::from)
                    .collect();
                (list_dir(&path), tags)
            })
            .await
            .map_err(Error::task)?
        };
        let tags: Vec<&std::ffi::OsStr> = tags.iter().map(OsString::as_os_str).collect();
        let mut entries = match listing {
            Ok(n) => n,
            Err(e) => {
                self.warn(&path, &e);
                return Ok(None);
            }
        };
        let parent_tree = self.parent_tree(parent.as_ref()).await;
        let previous: HashMap<&[u8], &Node> = parent_tree
            .iter()
            .flat_map(|t| t.nodes.iter())
            .map(|n| (n.name.as_bytes(), n))
            .collect();
        // Each entry gets a slot; what needs reading or descending into is filled in later.
        let mut slots: Vec<Option<Node>> = Vec::with_capacity(entries.len());
        let mut files: Vec<Vec<FileJob>> = Vec::new();
        let mut subdirs: Vec<SubDir> = Vec::new();
        let mut batch: Vec<FileJob> = Vec::new();
        let mut batch_bytes = 0u64;
        for Listed { name, meta, link } in entries.drain(..) {
            let child = path.join(&name);
            // Excluded entries are left out silently and never descended into.
            if self.select.excludes_path(&child) || rejected_by_tags(&tags, &name) {
                continue;
            }
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    self.warn(&child, &e);
                    continue;
                }
            };
            // The exact bytes: names that are not UTF-8 stay distinct and restore as they were.
            let name = NodeName::from(name);
            let prev = previous.get(name.as_bytes()).copied();
            let mut n = node_from_metadata(name, &meta);
            let slot = slots.len();
            match n.node_type {
                NodeType::File => {
                    if self.reuse_unchanged(&mut n, prev) {
                        slots.push(Some(n));
                        continue;
                    }
                    slots.push(None);
                    if !batch.is_empty()
                        && (batch.len() >= BATCH_FILES || batch_bytes + n.size > BATCH_BYTES)
                    {
                        files.push(std::mem::take(&mut batch));
                        batch_bytes = 0;
                    }
                    batch_bytes += n.size;
                    batch.push(FileJob {
                        slot,
                        path: child,
                        node: n,
                        was_known: prev.is_some(),
                    });
                }
                NodeType::Dir => {
                    slots.push(None);
                    subdirs.push(SubDir {
                        slot,
                        path: child,
                        node: n,
                        parent: prev.cloned(),
                    });
                }
                NodeType::Symlink => match link {
                    Some(Err(e)) => self.warn(&child, &e),
                    Some(Ok(target)) => {
                        n.linktarget = target;
                        slots.push(Some(n));
                    }
                    None => slots.push(Some(n)),
                },
                _ => slots.push(Some(n)),
            }
        }
        if !batch.is_empty() {
            files.push(batch);
        }
        release(entries);
        drop(previous);
        // Files and subdirectories run side by side; the walk slot goes once the files are
        // read, whatever the subdirectories (waiting for slots of their own) are doing.
        let read = futures::stream::iter(files)
            .map(|jobs| Arc::clone(&self).read_files(jobs))
            .buffer_unordered(DIR_CONCURRENCY)
            .try_collect::<Vec<Placed>>();
        let read = async move {
            let read = read.await;
            drop(walking);
            read
        };
        let descended = futures::stream::iter(subdirs)
            .map(|d| Arc::clone(&self).subdir(d))
            .buffer_unordered(DIR_CONCURRENCY)
            .try_collect::<Vec<Placed>>();
        let (read, descended) = futures::try_join!(read, descended)?;
        for (slot, n) in read.into_iter().chain(descended).flatten() {
            if let Some(s) = slots.get_mut(slot) {
                *s = n;
            }
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(slots.len());
        nodes.extend(slots.drain(..).flatten());
        release(slots);
        // Equal names are refused below, so stability does not matter; the unstable sort
        // needs no scratch buffer.
        nodes.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        // One listing never names an entry twice; should it, refuse rather than drop one.
        if let Some(w) = nodes.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(Error::io(
                "listing",
                &path,
                std::io::Error::other(format!("the entry {} is listed twice", w[0].name)),
            ));
        }
        let tree = Tree { nodes };
        let id = self.save_tree(&tree).await?;
        release(tree.nodes);
        node.subtree = Some(id);
        self.counts.dirs.fetch_add(1, Ordering::Relaxed);
        self.progress.dirs.fetch_add(1, Ordering::Relaxed);
        Ok(Some(node))
    }

    fn subdir(self: Arc<Self>, d: SubDir) -> BoxFuture<'static, Result<Placed>> {
        Box::pin(async move {
            let SubDir {
                slot,
                path,
                node,
                parent,
            } = d;
            Ok(vec![(slot, self.dir(path, node, parent).await?)])
        })
    }

    /// Reads a batch of files on one blocking thread, holding one read slot.
    async fn read_files(self: Arc<Self>, jobs: Vec<FileJob>) -> Result<Placed> {
        let _slot = self
            .file_slots
            .acquire()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let this = Arc::clone(&self);
        tokio::task::spawn_blocking(move || this.read_files_blocking(jobs))
            .await
            .map_err(Error::task)?
    }

    fn read_files_blocking(&self, jobs: Vec<FileJob>) -> Result<Placed> {
        let mut out = Vec::with_capacity(jobs.len());
        // Small files' blobs go to the encoders together, not one hand-over each.
        let mut batch = BlobBatch::default();
        for FileJob {
            slot,
            path,
            mut node,
            was_known,
        } in jobs
        {
            let reading = self.progress.reading(&path);
            let read = match std::fs::File::open(&path) {
                Ok(f) => self.read_stream(f, node.size, &mut batch)?,
                Err(e) => Err(e),
            };
            drop(reading);
            match read {
                Ok((ids, size)) => {
                    node.content = Some(ids);
                    node.size = size;
                    let c = if was_known {
                        &self.counts.changed
                    } else {
                        &self.counts.new
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                    self.counts.bytes_total.fetch_add(size, Ordering::Relaxed);
                    self.progress.files.fetch_add(1, Ordering::Relaxed);
                    out.push((slot, Some(node)));
                }
                Err(e) => {
                    self.warn(&path, &e);
                    out.push((slot, None));
                }
            }
        }
        self.saver.flush_batch_blocking(&mut batch)?;
        Ok(out)
    }

    /// Chunks a stream and queues its blobs; runs on a blocking thread. The outer error is
    /// the repository's (fatal), the inner one the source's (the entry is skipped).
    fn read_stream<R: Read>(
        &self,
        reader: R,
        expected_len: u64,
        batch: &mut BlobBatch,
    ) -> Result<std::io::Result<(Vec<Id>, u64)>> {
        let mut ids = Vec::new();
        let mut size = 0u64;
        let mut chunks =
            self.chunker
                .chunks_pooled(reader, expected_len, self.saver.chunk_buffers());
        while let Some(chunk) = chunks.next_vec() {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let len = chunk.len() as u64;
            let id = Id::hash(&chunk);
            ids.push(id);
            self.saver.save_data_batched(batch, id, chunk)?;
            size += len;
            self.counts.bytes_read.fetch_add(len, Ordering::Relaxed);
            self.progress.bytes.fetch_add(len, Ordering::Relaxed);
        }
        Ok(Ok((ids, size)))
    }

    /// Directories on the way to the backed-up paths (`/`, `/srv`, …): their own metadata,
    /// and only the children that lead to a target.
    fn virtual_dir(
        self: Arc<Self>,
        children: BTreeMap<NodeName, TargetNode>,
        parent: Option<Tree>,
    ) -> BoxFuture<'static, Result<Tree>> {
        Box::pin(async move {
            let mut nodes = Vec::new();
            for (name, child) in children {
                let p = parent.as_ref().and_then(|t| t.find(&name)).cloned();
                match child {
                    TargetNode::Path(fs) => {
                        if let Some(n) = Arc::clone(&self).entry(fs, name, p).await? {
                            nodes.push(n);
                        }
                    }
                    TargetNode::Within(dir, grand) => {
                        let meta = match tokio::fs::metadata(&dir).await {
                            Ok(m) => m,
                            Err(e) => {
                                self.warn(&dir, &e);
                                continue;
                            }
                        };
                        let mut node = node_from_metadata(name, &meta);
                        let ptree = self.parent_tree(p.as_ref()).await;
                        let tree = Arc::clone(&self).virtual_dir(grand, ptree).await?;
                        node.subtree = Some(self.save_tree(&tree).await?);
                        nodes.push(node);
                    }
                }
            }
            Ok(Tree { nodes })
        })
    }
}

/// One directory entry, listed and `lstat`ed on a blocking thread.
struct Listed {
    name: OsString,
    meta: std::io::Result<std::fs::Metadata>,
    /// The target, for a symlink.
    link: Option<std::io::Result<PathBuf>>,
}

/// Lists a directory and reads every entry's metadata in one go (one thread hand-over per
/// directory, not one per entry). Sorted by name.
fn list_dir(path: &Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(path)? {
        let e = e?;
        // Does not follow symlinks, like `symlink_metadata`.
        let meta = e.metadata();
        let link = match &meta {
            Ok(m) if m.file_type().is_symlink() => Some(std::fs::read_link(e.path())),
            _ => None,
        };
        out.push(Listed {
            name: e.file_name(),
            meta,
            link,
        });
    }
    // Names in a listing are unique; the unstable sort needs no scratch buffer (a large
    // directory's would be megabytes, freed at once: see `chunker::release`).
    out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A file to read and where its node goes in its directory's listing.
struct FileJob {
    slot: usize,
    path: PathBuf,
    node: Node,
    was_known: bool,
}

/// Nodes finished by a batch of files or a subdirectory, with their slots in the
/// directory's listing.
type Placed = Vec<(usize, Option<Node>)>;

/// A subdirectory to back up.
struct SubDir {
    slot: usize,
    path: PathBuf,
    node: Node,
    parent: Option<Node>,
}

/// Small files are read in batches, so 20,000 of them do not cost 20,000 thread hand-overs.
const BATCH_FILES: usize = 64;
/// A batch stops growing at this many bytes (a larger file is a batch of its own).
const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// Makes `p` absolute and removes `.` and `..` without touching the file system.
pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    let base = if p.is_absolute() {
        PathBuf::from("/")
    } else {
        std::env::current_dir().map_err(|e| Error::io("reading the current directory", ".", e))?
    };
    let mut out = base;
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok(out)
}

async fn select_parent(
    repo: &Repository,
    sel: &ParentSelection,
    host: &str,
    paths: &[String],
) -> Result<Option<(Id, Id)>> {
    match sel {
        ParentSelection::None => Ok(None),
        ParentSelection::Snapshot(q) => {
            let s = repo.find_snapshot(q).await?;
            Ok(Some((s.id, s.snapshot.tree)))
        }
        ParentSelection::Auto => {
            let all = repo.snapshots().await?;
            Ok(all
                .iter()
                .rev()
                .find(|s| {
                    let mut p = s.snapshot.paths.clone();
                    p.sort();
                    s.snapshot.hostname == host && p == paths
                })
                .map(|s| (s.id, s.snapshot.tree)))
        }
    }
}

fn new_archiver(
    repo: &Arc<Repository>,
    opts: &BackupOptions,
    select: Selection,
    gate: WriteGate,
) -> Arc<Archiver> {
    Arc::new(Archiver {
        select: Arc::new(select),
        saver: BlobSaver::gated(Arc::clone(repo), opts.saver.clone(), gate),
        chunker: Arc::new(Chunker::for_config(repo.config())),
        file_slots: Arc::new(Semaphore::new(opts.read_concurrency.max(1))),
        walk_slots: Arc::new(Semaphore::new(WALK_AHEAD)),
        list_slots: Semaphore::new(opts.read_concurrency.max(1)),
        progress: opts.progress.clone().unwrap_or_default(),
        counts: Counts::default(),
        errors: Mutex::new(Vec::new()),
        repo: Arc::clone(repo),
    })
}

async fn finish(
    a: &Arc<Archiver>,
    started: Instant,
    tree: Id,
    paths: Vec<String>,
    parent: Option<Id>,
    opts: &BackupOptions,
) -> Result<BackupSummary> {
    // Packs and index first; the snapshot only once they are stored.
    let saved = a.saver.finish().await?;
    a.progress.finish();
    let who = Identity::current();
    let snapshot = Snapshot {
        time: opts.time.unwrap_or_else(|| Utc::now().fixed_offset()),
        parent,
        tree,
        paths: paths.clone(),
        hostname: opts.hostname.clone().unwrap_or(who.hostname),
        username: who.username,
        uid: who.uid,
        gid: who.gid,
        excludes: opts.excludes.clone(),
        tags: opts.tags.clone(),
        original: None,
        program_version: format!("thinledger-backup {}", env!("CARGO_PKG_VERSION")),
        extra: serde_json::Map::new(),
    };
    // Nothing new may have needed a pack; the snapshot waits for the lock all the same.
    a.saver.gate().wait().await?;
    let snapshot_id = a.repo.save_snapshot(&snapshot).await?;
    tracing::info!(snapshot = %snapshot_id.short(), "snapshot saved");
    let c = &a.counts;
    Ok(BackupSummary {
        snapshot_id,
        parent,
        paths,
        files_new: c.new.load(Ordering::Relaxed),
        files_changed: c.changed.load(Ordering::Relaxed),
        files_unmodified: c.unmodified.load(Ordering::Relaxed),
        dirs: c.dirs.load(Ordering::Relaxed),
        bytes_total: c.bytes_total.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        data_blobs_added: saved.data_blobs,
        tree_blobs_added: saved.tree_blobs,
        bytes_added: saved.bytes_plain,
        bytes_stored: saved.bytes_stored,
        packs_added: saved.packs,
        duration_secs: started.elapsed().as_secs_f64(),
        errors: a.errors.lock().map(|e| e.clone()).unwrap_or_default(),
    })
}

/// Backs up files and directories into a new snapshot. Takes a shared lock.
///
/// Reading starts while the lock is being confirmed (the 200 ms pause after writing the lock
/// file, and any [`Repository::with_lock_wait`]); nothing is stored before it is, and if it is
/// refused the backup ends with [`Error::Locked`] having stored nothing.
pub async fn backup_paths(
    repo: &Arc<Repository>,
    paths: &[PathBuf],
    opts: &BackupOptions,
) -> Result<BackupSummary> {
    if paths.is_empty() {
        return Err(Error::InvalidInput {
            field: "paths",
            value: String::new(),
            rule: "give at least one file or directory to back up".into(),
        });
    }
    // Bad patterns fail before anything is locked or read.
    let select = Selection::new(&opts.excludes, &opts.iexcludes, opts.exclude_caches)?;
    let mut given = Vec::new();
    for p in paths {
        let a = absolute(p)?;
        if let Err(e) = tokio::fs::symlink_metadata(&a).await {
            return Err(Error::InvalidInput {
                field: "path",
                value: p.display().to_string(),
                rule: format!("it cannot be read ({e}); give an existing file or directory"),
            });
        }
        given.push((p.clone(), a));
    }
    given.sort_by(|a, b| a.1.cmp(&b.1));
    given.dedup_by(|a, b| a.1 == b.1);
    // The walk starts while the lock is confirmed; nothing is stored before it is.
    repo.locked_early(false, |gate| {
        backup_paths_locked(repo, given, opts, select, gate)
    })
    .await
}

/// `given`: each path as given and made absolute.
async fn backup_paths_locked(
    repo: &Arc<Repository>,
    given: Vec<(PathBuf, PathBuf)>,
    opts: &BackupOptions,
    select: Selection,
    gate: WriteGate,
) -> Result<BackupSummary> {
    let started = Instant::now();
    // Totals for a display: walked beside the backup, which never waits for it (dropped,
    // hence stopped, when this function returns).
    let _scan = opts.progress.as_ref().map(|p| {
        p.begin();
        Scan::start(
            given.iter().map(|(_, a)| a.clone()).collect(),
            select.clone(),
            Arc::clone(p),
        )
    });
    repo.load_index().await?;
    let paths: Vec<String> = given.iter().map(|(_, a)| a.display().to_string()).collect();
    let host = opts
        .hostname
        .clone()
        .unwrap_or_else(|| Identity::current().hostname);
    let parent = select_parent(repo, &opts.parent, &host, &paths).await?;
    if let Some((pid, _)) = parent {
        tracing::info!(parent = %pid.short(), "comparing with parent snapshot");
    }
    let a = new_archiver(repo, opts, select, gate);
    let parent_root = match parent {
        Some((_, tree)) => repo.load_tree(&tree).await.ok(),
        None => None,
    };
    let tree_id = if given.iter().any(|(_, a)| a.as_os_str() == "/") {
        // Backing up `/` itself: the root tree is its listing.
        let meta = tokio::fs::symlink_metadata("/")
            .await
            .map_err(|e| Error::io("reading", "/", e))?;
        let mut root = node_from_metadata(NodeName::default(), &meta);
        root.subtree = parent.map(|(_, t)| t);
        let node = Arc::clone(&a)
            .dir(
                PathBuf::from("/"),
                node_from_metadata(NodeName::default(), &meta),
                Some(root),
            )
            .await?;
        node.and_then(|n| n.subtree)
            .ok_or_else(|| Error::io("listing", "/", std::io::Error::other("unreadable")))?
    } else {
        let targets = targets::build(targets::resolve(&given)?);
        let tree = Arc::clone(&a).virtual_dir(targets, parent_root).await?;
        a.save_tree(&tree).await?
    };
    finish(&a, started, tree_id, paths, parent.map(|(id, _)| id), opts).await
}

/// Backs up a stream (an export piped in) as one file called `filename`. Takes a shared lock.
///
/// The stream is read as the chunker needs it (one chunk, at most 8 MiB, at a time), so
/// memory stays bounded whatever its length: `tokio::io::stdin()`, a
/// `tokio::process::ChildStdout`, a `tokio::fs::File` or a network stream go straight in.
/// A synchronous [`std::io::Read`] is adapted by copying it on a blocking thread into one end
/// of a [`tokio::io::duplex`] pipe and passing the other end here:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use thinledger_repository::{BackupOptions, InitOptions, KdfParams, Password, Repository, backup_reader};
/// # let store = Arc::new(object_store::memory::InMemory::new());
/// # let options = InitOptions::default().with_kdf(KdfParams { n: 1024, r: 8, p: 1 });
/// # let repo = Arc::new(Repository::init(store, "memory://", &Password::new("pw"), &options).await?);
/// let sync_reader = std::io::Cursor::new(b"CREATE TABLE ledger ();\n".to_vec()); // any std::io::Read
/// let (piped, writer) = tokio::io::duplex(256 * 1024);
/// // tokio-util's bridge: blocking writes into the pipe (made here, on the runtime).
/// let mut writer = tokio_util::io::SyncIoBridge::new(writer);
/// let copy = tokio::task::spawn_blocking(move || {
///     let mut sync_reader = sync_reader;
///     std::io::copy(&mut sync_reader, &mut writer)
/// });
/// let summary = backup_reader(&repo, piped, "db.sql", &BackupOptions::default()).await?;
/// copy.await??;
/// assert_eq!(summary.bytes_total, 24);
/// # Ok(()) }
/// ```
pub async fn backup_reader<R: AsyncRead + Unpin + Send + 'static>(
    repo: &Arc<Repository>,
    reader: R,
    filename: &str,
    opts: &BackupOptions,
) -> Result<BackupSummary> {
    if filename.is_empty()
        || filename == "."
        || filename == ".."
        || filename.contains('/')
        || filename.contains('\0')
    {
        return Err(Error::InvalidInput {
            field: "stdin-filename",
            value: filename.to_string(),
            rule: "must be a plain file name (no `/`, not `.` or `..`), e.g. `db.sql`".into(),
        });
    }
    repo.locked(false, backup_reader_locked(repo, reader, filename, opts))
        .await
}

async fn backup_reader_locked<R: AsyncRead + Unpin + Send + 'static>(
    repo: &Arc<Repository>,
    reader: R,
    filename: &str,
    opts: &BackupOptions,
) -> Result<BackupSummary> {
    let started = Instant::now();
    repo.load_index().await?;
    let paths = vec![format!("/{filename}")];
    let host = opts
        .hostname
        .clone()
        .unwrap_or_else(|| Identity::current().hostname);
    let parent = select_parent(repo, &opts.parent, &host, &paths).await?;
    // A stream is not read before the lock is confirmed: refused, it could not be read again.
    let a = new_archiver(repo, opts, Selection::default(), WriteGate::open());
    a.progress.begin();
    let read = {
        let a = Arc::clone(&a);
        let name = PathBuf::from(format!("/{filename}"));
        // The chunker reads synchronously on a blocking thread; the bridge blocks that thread
        // on the runtime for each read, straight into the chunk's buffer (no copy, no queue).
        let reader = SyncIoBridge::new(reader);
        tokio::task::spawn_blocking(move || {
            let _reading = a.progress.reading(&name);
            let mut batch = BlobBatch::default();
            let read = a.read_stream(reader, u64::MAX, &mut batch)?;
            a.saver.flush_batch_blocking(&mut batch)?;
            Ok::<_, Error>(read)
        })
        .await
        .map_err(Error::task)??
    };
    let (ids, size) = read.map_err(|e| Error::io("reading", "standard input", e))?;
    let who = Identity::current();
    let now = Utc::now().fixed_offset();
    let mut node = Node::new(filename, NodeType::File);
    node.mode = 0o644;
    node.mtime = Some(now);
    node.atime = Some(now);
    node.ctime = Some(now);
    node.uid = who.uid;
    node.gid = who.gid;
    node.size = size;
    node.content = Some(ids);
    a.counts.new.fetch_add(1, Ordering::Relaxed);
    a.counts.bytes_total.fetch_add(size, Ordering::Relaxed);
    let tree_id = a.save_tree(&Tree { nodes: vec![node] }).await?;
    finish(&a, started, tree_id, paths, parent.map(|(id, _)| id), opts).await
}
