//! Unpacking a base backup's tar stream from the repository into a new data directory,
//! durably.
//!
//! Four stages run at once: blobs are read and decoded (decrypted, decompressed, their
//! SHA-256 checked) as separate tasks, so decoding uses every core; one thread reads the tar
//! stream and creates the files; a few threads write their content in large positioned
//! writes; one thread fsyncs each file as soon as it is written.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt;

use crate::chunker::BufferPool;
use crate::repo::Repository;
use crate::repo::pack::BlobType;
use crate::repo::tree::Node;
use crate::wal::{PitrError, PitrResult};

/// Size of the pieces restored files are written in: a 1 GiB relation file takes a thousand
/// writes (a plain `io::copy` would make 131,072 of 8 KiB), spread over the writer threads.
const WRITE_PIECE: usize = 1 << 20;

/// Pieces read but not yet written (the memory bound of the writers: 8 MiB).
const QUEUED_PIECES: usize = 8;

/// Decoded blobs waiting for the unpacker (each up to the chunker's maximum, 8 MiB).
const QUEUED_BLOBS: usize = 8;

/// A `Read` over blobs arriving on a channel (the tar unpacker's input).
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    self.cur = b;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Streams the base backup's tar file `node` out of the repository into `dir`; returns its
/// size. `concurrency` blobs are read and decoded at once.
pub(super) async fn unpack_base(
    repo: &Arc<Repository>,
    node: &Node,
    dir: &Path,
    concurrency: usize,
) -> PitrResult<u64> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(QUEUED_BLOBS);
    let unpack_dir = dir.to_path_buf();
    let unpacker = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        };
        let res = unpack_durably(&mut reader, &unpack_dir);
        // Drain so the sender never blocks on a failed unpack.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        res
    });
    // Each blob is its own task: within one task, `buffered` would poll every read on the same
    // thread, and small blobs are decoded inline, so decoding would use one core.
    let mut blobs = futures::stream::iter(node.content.clone().unwrap_or_default())
        .map(|id| {
            let repo = Arc::clone(repo);
            tokio::spawn(async move { repo.load_blob(&id, BlobType::Data).await })
        })
        .buffered(concurrency.max(1));
    let mut bytes = 0u64;
    let mut failure = None;
    while let Some(joined) = blobs.next().await {
        let loaded = joined
            .map_err(crate::Error::task)
            .and_then(|r| r)
            .map_err(PitrError::from);
        match loaded {
            Ok(b) => {
                bytes += b.len() as u64;
                let tx = tx.clone();
                let sent = tokio::task::spawn_blocking(move || tx.send(Ok(b)).is_ok())
                    .await
                    .unwrap_or(false);
                if !sent {
                    break;
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(blobs);
    drop(tx);
    let unpacked = unpacker
        .await
        .map_err(|e| PitrError::Engine(crate::Error::task(e)))?;
    if let Some(e) = failure {
        return Err(e);
    }
    unpacked.map_err(|e| PitrError::io("unpacking the base backup into", dir, e))?;
    Ok(bytes)
}

/// Unpacks a tar stream into `dir` and makes it durable. Regular files are created in
/// stream order by this thread and their content written by [`FileWriters`] (positioned
/// writes from several threads, so the page-cache copies of a large relation file use every
/// core); each file is fsynced by a sync thread as soon as its last write is done, so the
/// flush overlaps the unpacking; every directory is fsynced at the end. A restore that
/// reports success is on disk, and PostgreSQL's start-up sync of the data directory finds
/// nothing left to flush.
fn unpack_durably(reader: &mut impl Read, dir: &Path) -> std::io::Result<()> {
    let (sync_tx, sync_rx) = std::sync::mpsc::channel::<(PathBuf, File)>();
    let syncer = std::thread::Builder::new().name("fsync".into()).spawn(
        move || -> std::io::Result<()> {
            let mut first_error = None;
            for (path, file) in sync_rx {
                if let Err(e) = file.sync_all() {
                    first_error.get_or_insert_with(|| {
                        std::io::Error::new(e.kind(), format!("syncing {}: {e}", path.display()))
                    });
                }
            }
            first_error.map_or(Ok(()), Err)
        },
    )?;
    let writers = FileWriters::start(write_threads(), sync_tx.clone())?;
    let mut dirs = vec![dir.to_path_buf()];
    let unpacked = (|| -> std::io::Result<()> {
        let mut ar = tar::Archive::new(reader);
        ar.set_preserve_permissions(true);
        ar.set_preserve_mtime(true);
        ar.set_overwrite(false);
        // Once a symbolic link is in the tree, a later path could lead through it: from then
        // on every entry goes through `unpack_in`, which checks for that.
        let mut saw_link = false;
        for entry in ar.entries()? {
            let mut entry = entry?;
            let rel = entry.path()?.into_owned();
            let kind = entry.header().entry_type();
            let full = dir.join(&rel);
            if kind == tar::EntryType::Regular && !saw_link && is_plain_relative(&rel) {
                writers.write(&mut entry, full)?;
                continue;
            }
            saw_link |= kind.is_symlink() || kind.is_hard_link();
            // `unpack_in` refuses paths that leave `dir` (returns false): skip those.
            if !entry.unpack_in(dir)? {
                continue;
            }
            if kind.is_dir() {
                dirs.push(full);
            } else if kind.is_file() {
                let file = File::open(&full)?;
                // The receiver lives until the sync thread is joined below.
                let _ = sync_tx.send((full, file));
            }
        }
        Ok(())
    })();
    let written = writers.finish();
    drop(sync_tx);
    let synced = syncer
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread panicked")));
    unpacked?;
    written?;
    synced?;
    for d in dirs {
        File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(|e| std::io::Error::new(e.kind(), format!("syncing {}: {e}", d.display())))?;
    }
    Ok(())
}

/// Threads writing file content: the cores, at least two (one write can wait on the disk
/// while the other copies), at most four.
fn write_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// A path of only normal components (no root, `.`, `..`): it stays inside the directory it is
/// joined to as long as none of its parents is a link.
fn is_plain_relative(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// A file being written: finished (permissions, times, handed to the sync thread) by whoever
/// drops the last reference, the reading thread or the writer of its last piece.
struct OpenFile {
    path: PathBuf,
    file: File,
    mode: u32,
    mtime: filetime::FileTime,
}

impl OpenFile {
    fn context(&self, what: &str, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", self.path.display()))
    }

    /// Sets the recorded permissions (the creation mode went through the umask) and times,
    /// after the last write so that the times stay, and queues the file for syncing.
    fn finish(self, sync: &std::sync::mpsc::Sender<(PathBuf, File)>) -> std::io::Result<()> {
        self.file
            .set_permissions(std::fs::Permissions::from_mode(self.mode))
            .map_err(|e| self.context("setting permissions of", e))?;
        filetime::set_file_handle_times(&self.file, Some(self.mtime), Some(self.mtime))
            .map_err(|e| self.context("setting times of", e))?;
        // The receiver lives until the sync thread is joined, after the writers.
        let _ = sync.send((self.path, self.file));
        Ok(())
    }
}

/// A piece of a file to write at an offset.
struct WriteJob {
    file: Arc<OpenFile>,
    offset: u64,
    data: Vec<u8>,
}

/// State shared by the reading thread and the writer threads.
struct WriterShared {
    jobs: Mutex<std::sync::mpsc::Receiver<WriteJob>>,
    buffers: BufferPool,
    first_error: Mutex<Option<std::io::Error>>,
    sync: Mutex<std::sync::mpsc::Sender<(PathBuf, File)>>,
}

impl WriterShared {
    fn fail(&self, e: std::io::Error) {
        if let Ok(mut f) = self.first_error.lock() {
            f.get_or_insert(e);
        }
    }

    fn failed(&self) -> bool {
        self.first_error.lock().map_or(true, |f| f.is_some())
    }

    /// Finishes `file` if this was its last reference.
    fn release(&self, file: Arc<OpenFile>) {
        if let Some(file) = Arc::into_inner(file) {
            let sync = match self.sync.lock() {
                Ok(s) => s.clone(),
                Err(_) => return self.fail(std::io::Error::other("the sync queue is poisoned")),
            };
            if let Err(e) = file.finish(&sync) {
                self.fail(e);
            }
        }
    }

    fn run(&self) {
        loop {
            let job = match self.jobs.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            let Ok(job) = job else { return };
            if !self.failed() {
                use std::os::unix::fs::FileExt;
                if let Err(e) = job.file.file.write_all_at(&job.data, job.offset) {
                    self.fail(job.file.context("writing", e));
                }
            }
            self.buffers.give(job.data);
            self.release(job.file);
        }
    }
}

/// Writes regular files' content from a few threads with positioned writes, in pieces of
/// [`WRITE_PIECE`] bytes (at most [`QUEUED_PIECES`] queued: the memory bound).
struct FileWriters {
    shared: Arc<WriterShared>,
    jobs: std::sync::mpsc::SyncSender<WriteJob>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl FileWriters {
    fn start(
        threads: usize,
        sync: std::sync::mpsc::Sender<(PathBuf, File)>,
    ) -> std::io::Result<FileWriters> {
        let (jobs, rx) = std::sync::mpsc::sync_channel(QUEUED_PIECES);
        let shared = Arc::new(WriterShared {
            jobs: Mutex::new(rx),
            buffers: BufferPool::new(WRITE_PIECE, QUEUED_PIECES + threads + 1),
            first_error: Mutex::new(None),
            sync: Mutex::new(sync),
        });
        let threads = (0..threads)
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("write".into())
                    .spawn(move || shared.run())
            })
            .collect::<std::io::Result<_>>()?;
        Ok(FileWriters {
            shared,
            jobs,
            threads,
        })
    }

    /// Creates the entry's file at `full` (new; its parents are created if the stream did not
    /// list them) and queues its content in pieces.
    fn write<R: Read>(&self, entry: &mut tar::Entry<'_, R>, full: PathBuf) -> std::io::Result<()> {
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        let mode = entry.header().mode()? & 0o7777;
        let mtime = entry.header().mtime()?;
        let size = entry.size();
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&full)
            .map_err(|e| {
                std::io::Error::new(e.kind(), format!("creating {}: {e}", full.display()))
            })?;
        let open = Arc::new(OpenFile {
            path: full,
            file,
            mode,
            mtime: filetime::FileTime::from_unix_time(i64::try_from(mtime).unwrap_or(i64::MAX), 0),
        });
        let mut offset = 0u64;
        loop {
            let mut data = self.shared.buffers.take();
            let n = entry
                .by_ref()
                .take(WRITE_PIECE as u64)
                .read_to_end(&mut data)?;
            if n == 0 {
                self.shared.buffers.give(data);
                break;
            }
            let job = WriteJob {
                file: Arc::clone(&open),
                offset,
                data,
            };
            offset += n as u64;
            if self.jobs.send(job).is_err() {
                return Err(std::io::Error::other("the file writers stopped"));
            }
        }
        if offset != size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: the backup holds {offset} of its {size} bytes",
                    open.path.display()
                ),
            ));
        }
        self.shared.release(open);
        Ok(())
    }

    fn take_error(&self) -> Option<std::io::Error> {
        self.shared
            .first_error
            .lock()
            .ok()
            .and_then(|mut f| f.take())
    }

    /// Waits for every queued write; the first error, if any.
    fn finish(self) -> std::io::Result<()> {
        drop(self.jobs);
        for t in self.threads {
            if t.join().is_err() {
                return Err(std::io::Error::other("a file writer thread panicked"));
            }
        }
        self.shared
            .first_error
            .lock()
            .ok()
            .and_then(|mut f| f.take())
            .map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_mtime(1_700_000_000);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn regular_files_keep_content_mode_and_time() {
        let big: Vec<u8> = (0..3 * WRITE_PIECE + 17).map(|i| (i % 251) as u8).collect();
        let tar = tar_of(&[
            ("PG_VERSION", b"15\n", 0o600),
            ("base/1/1259", &big, 0o640),
            ("empty", b"", 0o600),
        ]);
        let dir = tempfile::tempdir().unwrap();
        unpack_durably(&mut tar.as_slice(), dir.path()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("base/1/1259")).unwrap(),
            big,
            "the parent was created and every byte written"
        );
        let meta = std::fs::metadata(dir.path().join("base/1/1259")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(
            filetime::FileTime::from_last_modification_time(&meta).unix_seconds(),
            1_700_000_000
        );
        assert_eq!(
            std::fs::read(dir.path().join("PG_VERSION")).unwrap(),
            b"15\n"
        );
        assert_eq!(
            std::fs::metadata(dir.path().join("empty")).unwrap().len(),
            0
        );
    }

    #[test]
    fn an_existing_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("PG_VERSION"), b"keep").unwrap();
        let tar = tar_of(&[("PG_VERSION", b"15\n", 0o600)]);
        let err = unpack_durably(&mut tar.as_slice(), dir.path()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("PG_VERSION")).unwrap(),
            b"keep"
        );
    }

    #[test]
    fn a_truncated_stream_fails() {
        let tar = tar_of(&[("base/1/1259", &[7u8; 5000], 0o600)]);
        let dir = tempfile::tempdir().unwrap();
        let cut = &tar[..512 + 3000];
        assert!(unpack_durably(&mut &cut[..], dir.path()).is_err());
    }

    #[test]
    fn paths_that_leave_the_directory_are_not_written_by_the_fast_path() {
        assert!(is_plain_relative(Path::new("base/1/1259")));
        assert!(!is_plain_relative(Path::new("../etc/passwd")));
        assert!(!is_plain_relative(Path::new("/etc/passwd")));
        assert!(!is_plain_relative(Path::new("./a")));
        assert!(!is_plain_relative(Path::new("")));
    }

    #[test]
    fn files_below_a_link_go_through_the_checked_path() {
        let outside = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "pg_tblspc", outside.path()).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "pg_tblspc/escaped", &b"bad"[..])
            .unwrap();
        let tar = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let _ = unpack_durably(&mut tar.as_slice(), dir.path());
        assert!(
            !outside.path().join("escaped").exists(),
            "a file was written through a link out of the directory"
        );
    }
}
