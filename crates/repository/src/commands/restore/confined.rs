//! File-system operations confined to a directory: every call works on one name relative to an
//! open directory descriptor and never follows a symbolic link, whether a restore made the link
//! or it was there before. A crafted snapshot or archive (a link `x -> /outside` and then a
//! directory or file `x`) therefore cannot make a restore write outside its target.
//!
//! Directories are opened with `O_DIRECTORY | O_NOFOLLOW` (a link there is an error, not a
//! detour); files are created with `O_CREAT | O_EXCL | O_NOFOLLOW` under a temporary name and
//! renamed into place, so an existing file is replaced only once its new content is complete.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Timespec, Timestamps};

/// An open directory and the path it was reached by (for messages only: no call uses it).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What is at a name in a directory (not following a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub kind: FileType,
    pub size: u64,
    /// Modification time: seconds and nanoseconds.
    pub mtime: (i64, i64),
}

/// The error for a name that holds something other than the directory a restore needs.
pub fn not_a_directory(what: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotADirectory,
        format!(
            "{} is in the way of a directory of the snapshot (it is left alone: nothing is written through it)",
            kind_name(what)
        ),
    )
}

/// "a symbolic link", "a regular file"…
pub fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::RegularFile => "a regular file",
        FileType::Fifo => "a fifo",
        FileType::Socket => "a socket",
        FileType::CharacterDevice | FileType::BlockDevice => "a device node",
        _ => "an entry of unknown type",
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

impl Dir {
    /// Opens (creating it if missing, with `create_dir_all`) the directory a restore writes
    /// into. This path is the caller's: links in it are followed, as for any path a user gives.
    pub fn open_root(path: &Path) -> io::Result<Dir> {
        std::fs::create_dir_all(path)?;
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The path this directory was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this directory (for messages).
    pub fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// The sub-directory `name`, created (mode 0700: its final mode is set once the restore
    /// is done with it) if missing. An existing directory is used as it is; anything else
    /// there (a link, a file) is an error, never followed.
    pub fn make_dir(&self, name: &OsStr) -> io::Result<(Dir, bool)> {
        let created = match rustix::fs::mkdirat(self, name, Mode::from_raw_mode(DIR_CREATION_MODE))
        {
            Ok(()) => true,
            Err(rustix::io::Errno::EXIST) => false,
            Err(e) => return Err(e.into()),
        };
        match self.open_dir(name) {
            Ok(d) => Ok((d, created)),
            Err(e) => match self.stat(name)? {
                Some(ex) if ex.kind != FileType::Directory => Err(not_a_directory(ex.kind)),
                _ => Err(e),
            },
        }
    }

    /// Opens the existing sub-directory `name`; a link there is an error.
    pub fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let fd = rustix::fs::openat(self, name, dir_flags(), Mode::empty())?;
        Ok(Dir {
            fd,
            path: self.join(name),
        })
    }

    /// What is at `name`, not following a link; `None` if nothing.
    // `stat` field types differ between platforms, hence the casts.
    #[allow(clippy::unnecessary_cast)]
    pub fn stat(&self, name: &OsStr) -> io::Result<Option<Existing>> {
        match rustix::fs::statat(self, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Existing {
                kind: FileType::from_raw_mode(st.st_mode as _),
                size: st.st_size as u64,
                mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a new file for the content of `name` under a temporary name in this directory
    /// (`O_EXCL | O_NOFOLLOW`, owner-only `mode`): returns the temporary name and the file.
    pub fn create_temp(&self, name: &OsStr, mode: u32) -> io::Result<(OsString, File)> {
        let mut last = None;
        for _ in 0..8 {
            let tmp = temp_name(name);
            match rustix::fs::openat(
                self,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode),
            ) {
                Ok(fd) => return Ok((tmp, File::from(fd))),
                Err(rustix::io::Errno::EXIST) => last = Some(rustix::io::Errno::EXIST),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.unwrap_or(rustix::io::Errno::EXIST).into())
    }

    /// Opens the temporary file `tmp` again for writing (a link there is an error).
    pub fn reopen_temp(&self, tmp: &OsStr) -> io::Result<File> {
        let fd = rustix::fs::openat(
            self,
            tmp,
            OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    /// Opens the existing regular file `name` to set its metadata (`O_NOFOLLOW`).
    pub fn open_existing_file(&self, name: &OsStr) -> io::Result<File> {
        let fd = rustix::fs::openat(
            self,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let f = File::from(fd);
        if !f.metadata()?.is_file() {
            return Err(io::Error::other("it is no longer a regular file"));
        }
        Ok(f)
    }

    /// Renames `tmp` to `name` in this directory, replacing a file or link there (never a
    /// directory); with `keep_existing`, fails with `AlreadyExists` instead of replacing.
    pub fn rename_into_place(
        &self,
        tmp: &OsStr,
        name: &OsStr,
        keep_existing: bool,
    ) -> io::Result<()> {
        let flags = if keep_existing {
            RenameFlags::NOREPLACE
        } else {
            RenameFlags::empty()
        };
        rustix::fs::renameat_with(self, tmp, self, name, flags).map_err(io::Error::from)
    }

    /// Removes the non-directory `name` (a link itself, never its target).
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(self, name, AtFlags::empty()).map_err(io::Error::from)
    }

    /// Creates the symbolic link `name -> target`.
    pub fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
        rustix::fs::symlinkat(target, self, name).map_err(io::Error::from)
    }

    /// The target of the symbolic link `name`.
    pub fn read_link(&self, name: &OsStr) -> io::Result<OsString> {
        let t = rustix::fs::readlinkat(self, name, Vec::new())?;
        Ok(OsString::from_vec(t.into_bytes()))
    }

    /// Creates a fifo or device node (`kind`, `mode`, `device`).
    pub fn mknod(&self, name: &OsStr, kind: FileType, mode: u32, device: u64) -> io::Result<()> {
        rustix::fs::mknodat(self, name, kind, Mode::from_raw_mode(mode), device)
            .map_err(io::Error::from)
    }

    /// Sets owner and times of `name` itself (a link is not followed).
    pub fn set_times_and_owner_at(
        &self,
        name: &OsStr,
        owner: Option<(u32, u32)>,
        times: Option<Timestamps>,
    ) -> io::Result<()> {
        if let Some((uid, gid)) = owner {
            rustix::fs::chownat(
                self,
                name,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        if let Some(t) = times {
            rustix::fs::utimensat(self, name, &t, AtFlags::SYMLINK_NOFOLLOW)?;
        }
        Ok(())
    }

    /// Sets the permission bits of the fifo or device node `name` (Linux cannot change a
    /// mode without following a link; `name` was checked to be no link just before).
    pub fn chmod_special_at(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        match self.stat(name)? {
            Some(e) if e.kind != FileType::Symlink && e.kind != FileType::Directory => {
                rustix::fs::chmodat(self, name, Mode::from_raw_mode(mode), AtFlags::empty())
                    .map_err(io::Error::from)
            }
            _ => Err(io::Error::other("it is no longer the node restored")),
        }
    }
}

/// Sets owner (when given), permissions and times through an open descriptor. The owner goes
/// first: changing it clears setuid/setgid bits, which the mode then sets again.
pub fn set_metadata_fd(
    fd: BorrowedFd<'_>,
    owner: Option<(u32, u32)>,
    mode: Option<u32>,
    times: Option<Timestamps>,
) -> Vec<(&'static str, io::Error)> {
    let mut failed = Vec::new();
    if let Some((uid, gid)) = owner
        && let Err(e) = rustix::fs::fchown(
            fd,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )
    {
        failed.push(("setting owner", e.into()));
    }
    if let Some(m) = mode
        && let Err(e) = rustix::fs::fchmod(fd, Mode::from_raw_mode(m))
    {
        failed.push(("setting permissions", e.into()));
    }
    if let Some(t) = times
        && let Err(e) = rustix::fs::futimens(fd, &t)
    {
        failed.push(("setting times", e.into()));
    }
    failed
}

/// Access and modification times for `utimensat`/`futimens`; the access time defaults to the
/// modification time. `None` when there is no modification time.
pub fn timestamps(mtime: Option<(i64, i64)>, atime: Option<(i64, i64)>) -> Option<Timestamps> {
    let (ms, mn) = mtime?;
    let (as_, an) = atime.unwrap_or((ms, mn));
    Some(Timestamps {
        last_access: Timespec {
            tv_sec: as_,
            tv_nsec: an as _,
        },
        last_modification: Timespec {
            tv_sec: ms,
            tv_nsec: mn as _,
        },
    })
}

/// The mode a file is created with: owner-only (0600) and never wider than its final mode;
/// owner write is kept so that the restore can fill it. Its final mode is set once its content
/// is complete, so a restore that fails never leaves a private file's data readable by others.
pub fn file_creation_mode(final_mode: u32) -> u32 {
    (final_mode & 0o600) | 0o200
}

/// The mode directories are created with, until their final mode is set (after their
/// content): owner-only.
pub const DIR_CREATION_MODE: u32 = 0o700;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `.NAME.restore-PID-N`, with NAME cut so the whole stays a valid file name (255 bytes).
pub fn temp_name(name: &OsStr) -> OsString {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!(".restore-{:x}-{n:x}", std::process::id());
    let keep = name.as_bytes().len().min(255 - 1 - suffix.len());
    let mut out = Vec::with_capacity(256);
    out.push(b'.');
    out.extend_from_slice(&name.as_bytes()[..keep]);
    out.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(out)
}

/// Errors that end a whole restore instead of one entry: the target cannot take more data.
pub fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
            | io::ErrorKind::ReadOnlyFilesystem
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_never_opened_as_a_directory() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("x")).unwrap();
        let root = Dir::open_root(t.path()).unwrap();
        let err = root.make_dir(OsStr::new("x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotADirectory, "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(root.open_dir(OsStr::new("x")).is_err());
    }

    #[test]
    fn a_file_replaces_a_link_and_not_its_target() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, t.path().join("f")).unwrap();
        let root = Dir::open_root(t.path()).unwrap();
        let (tmp, f) = root.create_temp(OsStr::new("f"), 0o600).unwrap();
        std::io::Write::write_all(&mut &f, b"new").unwrap();
        root.rename_into_place(&tmp, OsStr::new("f"), false)
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(t.path().join("f")).unwrap(), b"new");
        assert!(!t.path().join("f").is_symlink());
    }

    #[test]
    fn temporary_names_stay_valid_for_long_names() {
        let long = OsString::from("n".repeat(255));
        let tmp = temp_name(&long);
        assert!(tmp.len() <= 255, "{}", tmp.len());
        assert!(tmp.as_bytes().starts_with(b".nnn"));
    }

    #[test]
    fn creation_modes_are_owner_only() {
        assert_eq!(file_creation_mode(0o644), 0o600);
        assert_eq!(file_creation_mode(0o400), 0o600);
        assert_eq!(file_creation_mode(0o000), 0o200);
        assert_eq!(file_creation_mode(0o755), 0o600);
        assert_eq!(file_creation_mode(0o4755), 0o600);
    }
}
