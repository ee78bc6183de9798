//! Unpacking a base backup's tar stream from the repository into a new data directory,
//! durably.
//!
//! Three stages run at once: blobs are read and decoded (decrypted, decompressed, their
//! SHA-256 checked) as separate tasks, so decoding uses every core; one thread reads the tar
//! stream and writes the files in large writes; a second thread fsyncs each file as soon as
//! it is written.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;

use crate::repo::Repository;
use crate::repo::pack::BlobType;
use crate::repo::tree::Node;
use crate::wal::{PitrError, PitrResult};

/// Size of the writes into restored files: std's `io::copy` into a `BufWriter` reads straight
/// into its buffer, so a 1 GiB relation file takes a thousand writes instead of the 131,072
/// of 8 KiB that a plain copy (as `tar`'s unpacking does) makes.
const WRITE_BUFFER: usize = 1 << 20;

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

/// Unpacks a tar stream into `dir` and makes it durable: every file is fsynced by a second
/// thread as soon as it is written (so the flush overlaps the unpacking), then every
/// directory. A restore that reports success is on disk, and PostgreSQL's start-up sync of
/// the data directory finds nothing left to flush.
///
/// Files are written by this one thread: writing one large relation file from several
/// threads was measured slower (the writers contend for the file's lock in the kernel).
fn unpack_durably(reader: &mut impl Read, dir: &Path) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, File)>();
    let syncer = std::thread::Builder::new().name("fsync".into()).spawn(
        move || -> std::io::Result<()> {
            let mut first_error = None;
            for (path, file) in rx {
                if let Err(e) = file.sync_all() {
                    first_error.get_or_insert_with(|| {
                        std::io::Error::new(e.kind(), format!("syncing {}: {e}", path.display()))
                    });
                }
            }
            first_error.map_or(Ok(()), Err)
        },
    )?;
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
                let file = write_regular(&mut entry, &full)?;
                // The receiver lives until this loop ends.
                let _ = tx.send((full, file));
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
                let _ = tx.send((full, file));
            }
        }
        Ok(())
    })();
    drop(tx);
    let written = std::time::Instant::now();
    let synced = syncer
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread panicked")));
    tracing::debug!(
        waited_secs = written.elapsed().as_secs_f64(),
        "files written; waited for the last fsyncs"
    );
    unpacked?;
    synced?;
    for d in dirs {
        File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(|e| std::io::Error::new(e.kind(), format!("syncing {}: {e}", d.display())))?;
    }
    Ok(())
}

/// A path of only normal components (no root, `.`, `..`): it stays inside the directory it is
/// joined to as long as none of its parents is a link.
fn is_plain_relative(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Writes a regular file entry to `full` (a new file; its parents are created if the stream
/// did not list them) with the entry's permissions and modification time; returns the open
/// file for syncing.
fn write_regular<R: Read>(entry: &mut tar::Entry<'_, R>, full: &Path) -> std::io::Result<File> {
    let mode = entry.header().mode()? & 0o7777;
    let mtime = entry.header().mtime()?;
    let size = entry.size();
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let in_context = |what: &str, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", full.display()))
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(full)
        .map_err(|e| in_context("creating", e))?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let written = std::io::copy(entry, &mut out).map_err(|e| in_context("writing", e))?;
    let file = out
        .into_inner()
        .map_err(|e| in_context("writing", e.into_error()))?;
    if written != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "{}: the backup holds {written} of its {size} bytes",
                full.display()
            ),
        ));
    }
    // The creation mode went through the umask; the recorded one is exact.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| in_context("setting permissions of", e))?;
    let t = filetime::FileTime::from_unix_time(i64::try_from(mtime).unwrap_or(i64::MAX), 0);
    filetime::set_file_handle_times(&file, Some(t), Some(t))
        .map_err(|e| in_context("setting times of", e))?;
    Ok(file)
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
        let big: Vec<u8> = (0..3 * WRITE_BUFFER + 17)
            .map(|i| (i % 251) as u8)
            .collect();
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
