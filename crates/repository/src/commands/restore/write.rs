//! Filling a batch of planned files: each pack's needed blobs are fetched with ranged reads,
//! checked, and written into the files they belong to.
//!
//! A file is created (under a temporary name, owner-only) when its first blob arrives and is
//! kept open until its last one is written, then its metadata is set through the descriptor
//! and it is renamed into place: one open per file. A blob that cannot be read or fails its
//! check marks every file that needs it damaged: the temporary file is removed, and the other
//! files go on.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;

use super::confined::{self, Dir};
use super::node_name;
use super::walk::Restorer;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::index::BlobLocation;
use crate::repo::tree::Node;
use crate::{Error, Result};

/// Blobs in one pack that are this close together are fetched with one ranged read.
const MERGE_GAP: u64 = 256 * 1024;
/// Largest single ranged read.
const MAX_RANGE: u64 = 8 * 1024 * 1024;
/// Partly written files kept open between their blobs; past this, a file is closed after each
/// write and reopened (by its temporary name, no link followed) for the next.
const MAX_OPEN_FILES: usize = 128;

/// Where one blob goes: a file of the batch and an offset in it.
pub(super) struct Target {
    pub(super) file: usize,
    pub(super) offset: u64,
}

pub(super) struct PlannedBlob {
    pub(super) id: Id,
    pub(super) loc: BlobLocation,
    pub(super) targets: Vec<Target>,
}

/// Files planned and the blobs they need, by pack and offset.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) files: Vec<FileJob>,
    pub(super) packs: HashMap<Id, BTreeMap<u32, PlannedBlob>>,
    pub(super) blobs: usize,
    /// Directories the files are in (each held open by them).
    pub(super) dirs: usize,
    pub(super) last_dir: Option<Arc<Dir>>,
}

enum FileState {
    /// Nothing created yet.
    New,
    /// Created as `tmp`, open.
    Open { tmp: OsString, file: File },
    /// Created as `tmp` (inode `ino`), closed until its next blob.
    Parked { tmp: OsString, ino: u64 },
    /// In place under its name.
    Done,
    /// Not restored (damaged or failed); nothing left of it.
    Failed,
}

/// One file being restored.
pub(super) struct FileJob {
    dir: Arc<Dir>,
    node: Node,
    size: u64,
    /// `--overwrite never`: the rename must not replace an entry that appeared meanwhile.
    keep_existing: bool,
    /// Blob writes still to come.
    pending: AtomicUsize,
    state: Mutex<FileState>,
}

impl FileJob {
    pub(super) fn new(
        dir: Arc<Dir>,
        node: Node,
        size: u64,
        keep_existing: bool,
        blobs: usize,
    ) -> FileJob {
        FileJob {
            dir,
            node,
            size,
            keep_existing,
            pending: AtomicUsize::new(blobs),
            state: Mutex::new(FileState::New),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(node_name(&self.node))
    }
}

impl Drop for FileJob {
    /// A file left unfinished (a restore that ended early) leaves no temporary file behind.
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let FileState::Open { tmp, .. } | FileState::Parked { tmp, .. } = st {
            let _ = self.dir.remove(tmp);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Restorer {
    /// Fetches and writes every blob of `batch`. Damaged files are listed and the rest go on;
    /// `Err` only for an error that ends the restore.
    pub(super) async fn run_batch(self: &Arc<Self>, batch: Batch) -> Result<()> {
        let Batch { files, packs, .. } = batch;
        if files.is_empty() {
            return Ok(());
        }
        let files = Arc::new(files);
        futures::stream::iter(packs)
            .map(|(pack, blobs)| {
                let files = Arc::clone(&files);
                async move { self.restore_pack(pack, blobs, files).await }
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect::<Vec<()>>()
            .await;
        if let Some(e) = self.take_fatal() {
            return Err(e);
        }
        Ok(())
    }

    async fn restore_pack(
        self: &Arc<Self>,
        pack: Id,
        blobs: BTreeMap<u32, PlannedBlob>,
        files: Arc<Vec<FileJob>>,
    ) {
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
            if self.is_failed() {
                return;
            }
            let start = g.first().map_or(0, |b| u64::from(b.loc.offset));
            let end = g
                .iter()
                .map(|b| u64::from(b.loc.offset) + u64::from(b.loc.length))
                .max()
                .unwrap_or(start);
            let data = match self
                .repo
                .backend
                .get_range(FileType::Pack, &pack, start..end)
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    for b in &g {
                        let reason = self.blob_reason(b, &e);
                        for t in &b.targets {
                            self.fail_file(&files[t.file], t.offset, &reason);
                        }
                    }
                    continue;
                }
            };
            let this = Arc::clone(self);
            let files = Arc::clone(&files);
            let done = tokio::task::spawn_blocking(move || {
                for b in g {
                    let off = (u64::from(b.loc.offset) - start) as usize;
                    let decoded = data
                        .get(off..off + b.loc.length as usize)
                        .ok_or_else(|| {
                            Error::corrupt(
                                format!("pack {}", b.loc.pack.short()),
                                "shorter than its index says",
                            )
                        })
                        .and_then(|enc| {
                            crate::repo::decode_blob_with(&this.repo.key, &b.id, &b.loc, enc)
                        });
                    match decoded {
                        Ok(plain) => {
                            for t in &b.targets {
                                this.write_target(&files[t.file], &plain, t.offset);
                            }
                        }
                        Err(e) => {
                            let reason = this.blob_reason(&b, &e);
                            for t in &b.targets {
                                this.fail_file(&files[t.file], t.offset, &reason);
                            }
                        }
                    }
                }
            })
            .await;
            if let Err(e) = done {
                self.set_fatal(Error::task(e));
            }
        }
    }

    fn blob_reason(&self, b: &PlannedBlob, e: &Error) -> String {
        format!(
            "snapshot {}: data blob {} in pack {} cannot be read: {e}",
            self.snapshot,
            b.id.short(),
            b.loc.pack.short()
        )
    }

    /// Marks `job` damaged (once): its temporary file is removed.
    fn fail_file(&self, job: &FileJob, offset: u64, reason: &str) {
        let mut st = lock(&job.state);
        if matches!(*st, FileState::Done | FileState::Failed) {
            return;
        }
        self.abandon(job, &mut st);
        self.damaged(
            job.path(),
            format!("{reason} (the file's bytes from {offset})"),
        );
    }

    /// Removes what exists of `job` and marks it failed.
    fn abandon(&self, job: &FileJob, st: &mut FileState) {
        match std::mem::replace(st, FileState::Failed) {
            FileState::Open { tmp, file, .. } => {
                drop(file);
                self.open_files.fetch_sub(1, Ordering::Relaxed);
                let _ = job.dir.remove(&tmp);
            }
            FileState::Parked { tmp, .. } => {
                let _ = job.dir.remove(&tmp);
            }
            _ => {}
        }
    }

    /// Writes one blob into `job`; finishes the file after its last one.
    fn write_target(&self, job: &FileJob, plain: &[u8], offset: u64) {
        let mut st = lock(&job.state);
        if matches!(*st, FileState::Done | FileState::Failed) {
            return;
        }
        let written = self.open_for_write(job, &mut st).and_then(|()| match &*st {
            FileState::Open { file, .. } => {
                file.write_all_at(plain, offset).map_err(|e| ("writing", e))
            }
            _ => Err(("writing", std::io::Error::other("the file is not open"))),
        });
        if let Err((op, e)) = written {
            self.abandon(job, &mut st);
            self.file_failed(job, op, e);
            return;
        }
        self.progress
            .bytes
            .fetch_add(plain.len() as u64, Ordering::Relaxed);
        if job.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish_file(job, &mut st);
        } else if self.open_files.load(Ordering::Relaxed) > MAX_OPEN_FILES
            && let FileState::Open { tmp, file } = &*st
        {
            // The inode tells, on reopening, that the temporary file is still ours.
            let parked = match file.metadata() {
                Ok(m) => FileState::Parked {
                    tmp: tmp.clone(),
                    ino: m.ino(),
                },
                Err(_) => return,
            };
            *st = parked;
            self.open_files.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// An operation on `job` failed: listed, or (a full disk) the end of the restore.
    fn file_failed(&self, job: &FileJob, op: &'static str, e: std::io::Error) {
        if confined::is_fatal(&e) {
            self.set_fatal(Error::io(op, job.path(), e));
        } else {
            self.entry_error(job.path(), format!("{op}: {e}"));
        }
    }

    /// Creates the temporary file of `job`, or reopens it.
    fn open_for_write(
        &self,
        job: &FileJob,
        st: &mut FileState,
    ) -> std::result::Result<(), (&'static str, std::io::Error)> {
        match st {
            FileState::New => {
                let mode = confined::file_creation_mode(job.node.unix_permissions());
                let (tmp, file) = job
                    .dir
                    .create_temp(node_name(&job.node), mode)
                    .map_err(|e| ("creating", e))?;
                if job.pending.load(Ordering::Relaxed) > 1 && job.size > 0 {
                    // Reserves the space at once (an early "disk full"), and keeps a file
                    // written out of order in one piece; not every file system can.
                    let _ = rustix::fs::fallocate(
                        &file,
                        rustix::fs::FallocateFlags::empty(),
                        0,
                        job.size,
                    );
                }
                self.open_files.fetch_add(1, Ordering::Relaxed);
                *st = FileState::Open { tmp, file };
            }
            FileState::Parked { tmp, ino } => {
                let file = job.dir.reopen_temp(tmp).map_err(|e| ("reopening", e))?;
                let same = file.metadata().map_err(|e| ("reopening", e))?.ino() == *ino;
                if !same {
                    return Err((
                        "reopening",
                        std::io::Error::other("its temporary file was replaced meanwhile"),
                    ));
                }
                self.open_files.fetch_add(1, Ordering::Relaxed);
                *st = FileState::Open {
                    tmp: std::mem::take(tmp),
                    file,
                };
            }
            _ => {}
        }
        Ok(())
    }

    /// Sets the metadata of a completely written file and renames it into place.
    fn finish_file(&self, job: &FileJob, st: &mut FileState) {
        let FileState::Open { tmp, file, .. } = std::mem::replace(st, FileState::Done) else {
            return;
        };
        let path = job.path();
        let node = &job.node;
        let failed = confined::set_metadata_fd(
            file.as_fd(),
            self.owner_of(node),
            Some(node.unix_permissions()),
            Self::times_of(node),
        );
        drop(file);
        self.open_files.fetch_sub(1, Ordering::Relaxed);
        self.metadata_warnings(&path, failed);
        match job
            .dir
            .rename_into_place(&tmp, node_name(node), job.keep_existing)
        {
            Ok(()) => {
                self.count(|s| {
                    s.files += 1;
                    s.bytes += job.size;
                });
                self.progress.files.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let _ = job.dir.remove(&tmp);
                *st = FileState::Failed;
                if job.keep_existing && e.kind() == std::io::ErrorKind::AlreadyExists {
                    self.count(|s| s.files_skipped += 1);
                } else if e.kind() == std::io::ErrorKind::IsADirectory {
                    self.entry_error(
                        path,
                        "a directory is in the way of a file of the snapshot (left alone)".into(),
                    );
                } else {
                    self.file_failed(job, "moving into place", e);
                }
            }
        }
    }

    /// Restores an empty file at once.
    pub(super) fn finish_empty(&self, job: FileJob) -> Result<()> {
        let mut st = lock(&job.state);
        if let Err((op, e)) = self.open_for_write(&job, &mut st) {
            *st = FileState::Failed;
            if confined::is_fatal(&e) {
                return Err(Error::io(op, job.path(), e));
            }
            self.entry_error(job.path(), format!("{op}: {e}"));
            return Ok(());
        }
        self.finish_file(&job, &mut st);
        drop(st);
        match self.take_fatal() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
