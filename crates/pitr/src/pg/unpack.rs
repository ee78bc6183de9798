//! Unpacking a base backup's tar stream from the repository into a new data directory,
//! durably.
//!
//! Three stages run at once: blobs are read and decoded (decrypted, decompressed, their
//! SHA-256 checked) as separate tasks, so decoding uses every core; one thread reads the tar
//! stream and writes the files in large writes; a second thread fsyncs each file as soon as
//! it is written.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

use futures::StreamExt;

use crate::error::{PitrError, PitrResult};
use thinledger_repository::BlobType;
use thinledger_repository::Node;
use thinledger_repository::Repository;
use thinledger_repository::raw::confined::{self, Dir};

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
            .map_err(thinledger_repository::Error::task)
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
        .map_err(|e| PitrError::Engine(thinledger_repository::Error::task(e)))?;
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
/// Confined like every restore (see [`thinledger_repository::raw::confined`]): entries are created
/// relative to open directory descriptors and no path is resolved through a symbolic link.
/// The archive's links (tablespaces in `pg_tblspc`) are created last and never traversed; an
/// entry below one of them, a path leaving the directory, a second entry of one name, a hard
/// link or a device node fails the unpack, naming the entry.
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
    let root = Arc::new(Dir::open_root(dir)?);
    let mut tree = Unpacked {
        root: Arc::clone(&root),
        open: Vec::new(),
        dirs: BTreeMap::new(),
        links: BTreeMap::new(),
    };
    let unpacked = (|| -> std::io::Result<()> {
        let mut ar = tar::Archive::new(reader);
        for entry in ar.entries()? {
            let mut entry = entry?;
            let raw = entry.path()?.into_owned();
            let kind = entry.header().entry_type();
            if kind.is_pax_global_extensions() {
                continue;
            }
            let Some(rel) = checked_relative(&raw) else {
                return Err(refused(&raw, "its path leaves the data directory"));
            };
            if rel.as_os_str().is_empty() {
                // The data directory itself (`./`).
                continue;
            }
            if tree.links.contains_key(&rel) {
                return Err(refused(
                    &raw,
                    "the archive holds a symbolic link of this name already",
                ));
            }
            if let Some(link) = tree.link_above(&rel) {
                return Err(refused(
                    &raw,
                    &format!(
                        "it lies below the symbolic link {} of the archive",
                        link.display()
                    ),
                ));
            }
            let (parent_rel, name) = split(&rel);
            match kind {
                tar::EntryType::Directory => {
                    let parent = tree.dir(parent_rel)?;
                    parent
                        .make_dir(name)
                        .map_err(|e| in_context("creating", &dir.join(&rel), e))?;
                    let mode = entry.header().mode()? & 0o7777;
                    let mtime = entry.header().mtime()?;
                    tree.dirs.insert(rel, Some((mode, mtime)));
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let parent = tree.dir(parent_rel)?;
                    let full = dir.join(&rel);
                    let file = write_regular(&mut entry, &parent, name, &full)?;
                    // The receiver lives until this loop ends.
                    let _ = tx.send((full, file));
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()?
                        .ok_or_else(|| refused(&raw, "a symbolic link without a target"))?
                        .into_owned();
                    if tree.links.insert(rel.clone(), target).is_some() {
                        return Err(refused(&raw, "the archive holds it twice"));
                    }
                }
                other => {
                    return Err(refused(
                        &raw,
                        &format!("{other:?} entries are not restored from a base backup"),
                    ));
                }
            }
        }
        // Links last: nothing is written below them.
        let links = std::mem::take(&mut tree.links);
        for (rel, target) in &links {
            let (parent_rel, name) = split(rel);
            let parent = tree.dir(parent_rel)?;
            parent
                .symlink(target.as_os_str(), name)
                .map_err(|e| in_context("creating the link", &dir.join(rel), e))?;
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
    tree.open.clear();
    // Deepest first, so that setting a parent's time is not undone by a child.
    let mut dirs: Vec<(PathBuf, Option<(u32, u64)>)> =
        std::mem::take(&mut tree.dirs).into_iter().collect();
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (rel, meta) in dirs {
        let full = dir.join(&rel);
        let d = open_below(&root, &rel).map_err(|e| in_context("reopening", &full, e))?;
        if let Some((mode, mtime)) = meta {
            let t = i64::try_from(mtime).unwrap_or(i64::MAX);
            let failed = confined::set_metadata_fd(
                d.as_fd(),
                None,
                Some(mode),
                confined::timestamps(Some((t, 0)), None),
            );
            if let Some((op, e)) = failed.into_iter().next() {
                return Err(in_context(op, &full, e));
            }
        }
        rustix::fs::fsync(&d).map_err(|e| in_context("syncing", &full, e.into()))?;
    }
    rustix::fs::fsync(&*root).map_err(|e| in_context("syncing", dir, e.into()))?;
    Ok(())
}

/// Makes the directory `rel` below `dir` (`0700` where missing); no link is followed.
pub(super) fn make_dirs_below(dir: &Path, rel: &Path) -> std::io::Result<()> {
    let mut d = Arc::new(Dir::open_root(dir)?);
    for c in rel.iter() {
        let (next, _) = d
            .make_dir(c)
            .map_err(|e| in_context("creating", &d.join(c), e))?;
        d = Arc::new(next);
    }
    Ok(())
}

/// Replaces the file `name` of `dir` by `update(its content)` (empty when missing), written
/// owner-only under a temporary name and renamed into place; a link there is an error, not
/// followed.
pub(super) fn rewrite_file(
    dir: &Path,
    name: &str,
    update: impl FnOnce(Vec<u8>) -> Vec<u8>,
) -> std::io::Result<()> {
    use std::io::Write;
    let root = Dir::open_root(dir)?;
    let name = OsStr::new(name);
    let full = dir.join(name);
    let old = match root.stat(name)? {
        None => Vec::new(),
        Some(_) => {
            let mut f = root
                .open_existing_file(name)
                .map_err(|e| in_context("reading", &full, e))?;
            let mut v = Vec::new();
            f.read_to_end(&mut v)
                .map_err(|e| in_context("reading", &full, e))?;
            v
        }
    };
    let (tmp, mut f) = root
        .create_temp(name, 0o600)
        .map_err(|e| in_context("writing", &full, e))?;
    let written = f
        .write_all(&update(old))
        .and_then(|()| f.sync_all())
        .and_then(|()| root.rename_into_place(&tmp, name, false));
    if let Err(e) = written {
        let _ = root.remove(&tmp);
        return Err(in_context("writing", &full, e));
    }
    Ok(())
}

/// What the unpack has made so far.
struct Unpacked {
    root: Arc<Dir>,
    /// The directories of the last entry's parent path, open (a cache: tar streams list a
    /// directory's entries together).
    open: Vec<(OsString, Arc<Dir>)>,
    /// Every directory made, with its mode and time from the archive if it listed it.
    dirs: BTreeMap<PathBuf, Option<(u32, u64)>>,
    /// The archive's symbolic links, created last.
    links: BTreeMap<PathBuf, PathBuf>,
}

impl Unpacked {
    /// The directory `rel` (created `0700` where missing), reached without following links.
    fn dir(&mut self, rel: &Path) -> std::io::Result<Arc<Dir>> {
        let comps: Vec<&OsStr> = rel.iter().collect();
        let common = self
            .open
            .iter()
            .zip(&comps)
            .take_while(|((a, _), b)| a.as_os_str() == **b)
            .count();
        self.open.truncate(common);
        for (i, c) in comps.iter().enumerate().skip(common) {
            let parent = self
                .open
                .last()
                .map_or_else(|| Arc::clone(&self.root), |(_, d)| Arc::clone(d));
            let (d, _) = parent
                .make_dir(c)
                .map_err(|e| in_context("creating", &parent.join(c), e))?;
            let sub: PathBuf = comps[..=i].iter().collect();
            self.dirs.entry(sub).or_insert(None);
            self.open.push((c.to_os_string(), Arc::new(d)));
        }
        Ok(self
            .open
            .last()
            .map_or_else(|| Arc::clone(&self.root), |(_, d)| Arc::clone(d)))
    }

    /// A link of the archive that `rel` lies below (or is), if any.
    fn link_above<'a>(&self, rel: &'a Path) -> Option<&'a Path> {
        rel.ancestors().find(|a| self.links.contains_key(*a))
    }
}

/// `rel`'s parent and name (`rel` is a non-empty plain relative path).
fn split(rel: &Path) -> (&Path, &OsStr) {
    (
        rel.parent().unwrap_or(Path::new("")),
        rel.file_name().unwrap_or(OsStr::new("")),
    )
}

/// Opens the directory `rel` below `root`, no link followed.
fn open_below(root: &Arc<Dir>, rel: &Path) -> std::io::Result<Arc<Dir>> {
    let mut d = Arc::clone(root);
    for c in rel.iter() {
        d = Arc::new(d.open_dir(c)?);
    }
    Ok(d)
}

/// `path` without `.` components, if it has only normal ones after that (no root, no `..`).
fn checked_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn refused(path: &Path, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "the base backup's entry {} is refused: {why} (a damaged or crafted archive)",
            path.display()
        ),
    )
}

fn in_context(what: &str, path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Writes a regular file entry as the new file `name` of `parent` (`full` for messages),
/// created owner-only and given the entry's permissions and modification time once written;
/// returns the open file for syncing.
fn write_regular<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    parent: &Dir,
    name: &OsStr,
    full: &Path,
) -> std::io::Result<File> {
    let mode = entry.header().mode()? & 0o7777;
    let mtime = entry.header().mtime()?;
    let size = entry.size();
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(confined::file_creation_mode(mode)),
    )
    .map_err(|e| in_context("creating", full, e.into()))?;
    let file = File::from(fd);
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let written = std::io::copy(entry, &mut out).map_err(|e| in_context("writing", full, e))?;
    let file = out
        .into_inner()
        .map_err(|e| in_context("writing", full, e.into_error()))?;
    if written != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "{}: the backup holds {written} of its {size} bytes",
                full.display()
            ),
        ));
    }
    let t = i64::try_from(mtime).unwrap_or(i64::MAX);
    let failed = confined::set_metadata_fd(
        file.as_fd(),
        None,
        Some(mode),
        confined::timestamps(Some((t, 0)), None),
    );
    if let Some((op, e)) = failed.into_iter().next() {
        return Err(in_context(op, full, e));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
    fn paths_that_leave_the_directory_are_refused() {
        assert_eq!(
            checked_relative(Path::new("base/1/1259")),
            Some(PathBuf::from("base/1/1259"))
        );
        assert_eq!(checked_relative(Path::new("./a")), Some(PathBuf::from("a")));
        assert_eq!(checked_relative(Path::new("../etc/passwd")), None);
        assert_eq!(checked_relative(Path::new("a/../../b")), None);
        assert_eq!(checked_relative(Path::new("/etc/passwd")), None);

        // A raw header, since tar's builder refuses such names.
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..9].copy_from_slice(b"../escape");
        h.set_size(3);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"bad"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        let err = unpack_durably(&mut tar.as_slice(), &dir).unwrap_err();
        assert!(
            err.to_string().contains("leaves the data directory"),
            "{err}"
        );
        assert!(!parent.path().join("escape").exists());
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &Path) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, &b"bad"[..]).unwrap();
    }

    fn directory(b: &mut tar::Builder<Vec<u8>>, path: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o750);
        h.set_entry_type(tar::EntryType::Directory);
        b.append_data(&mut h, path, &b""[..]).unwrap();
    }

    /// Every shape of a link and another entry of one name: nothing is written outside, and
    /// the unpack fails naming the entry.
    #[rstest::rstest]
    #[case::file_below_link(&["l:pg_tblspc", "f:pg_tblspc/escaped"], "below the symbolic link")]
    #[case::dir_below_link(&["l:pg_tblspc", "d:pg_tblspc/sub", "f:pg_tblspc/sub/escaped"], "below the symbolic link")]
    #[case::dir_then_link(&["d:pg_tblspc", "l:pg_tblspc", "f:pg_tblspc/escaped"], "below the symbolic link")]
    #[case::link_then_dir(&["l:pg_tblspc", "d:pg_tblspc"], "symbolic link of this name already")]
    #[case::file_then_link(&["f:escaped", "l:escaped"], "creating the link")]
    #[case::link_twice(&["l:x", "l:x"], "holds a symbolic link of this name already")]
    fn links_in_the_archive_never_redirect_writes(
        #[case] entries: &[&str],
        #[case] expected: &str,
    ) {
        let outside = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        for e in entries {
            match e.split_once(':').unwrap() {
                ("l", p) => link(&mut b, p, outside.path()),
                ("d", p) => directory(&mut b, p),
                (_, p) => file(&mut b, p),
            }
        }
        let tar = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = unpack_durably(&mut tar.as_slice(), dir.path()).unwrap_err();
        assert!(
            std::fs::read_dir(outside.path()).unwrap().next().is_none(),
            "a file was written through a link out of the directory"
        );
        assert!(err.to_string().contains(expected), "{err}");
    }

    #[test]
    fn a_link_already_in_the_directory_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("base")).unwrap();
        let tar = tar_of(&[("base/1/1259", b"data", 0o600)]);
        let err = unpack_durably(&mut tar.as_slice(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }

    #[test]
    fn links_are_created_last_and_directories_get_their_mode() {
        let mut b = tar::Builder::new(Vec::new());
        directory(&mut b, "base");
        file(&mut b, "base/1");
        link(&mut b, "pg_tblspc/16384", Path::new("/srv/tablespace"));
        let tar = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        unpack_durably(&mut tar.as_slice(), dir.path()).unwrap();
        assert_eq!(
            std::fs::read_link(dir.path().join("pg_tblspc/16384")).unwrap(),
            Path::new("/srv/tablespace")
        );
        let m = std::fs::metadata(dir.path().join("base")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o750);
        let m = std::fs::metadata(dir.path().join("pg_tblspc")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o700, "made for the link");
    }
}
