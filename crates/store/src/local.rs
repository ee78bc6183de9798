//! The local-folder store: `object_store`'s `LocalFileSystem` with restic's file modes.
//!
//! A repository's files (key files above all: with one, a password can be guessed offline)
//! must not be readable by other users. `LocalFileSystem` creates directories 0755 and files
//! 0644 (less the umask), so [`PrivateLocalStore`] wraps it:
//!
//! - **Directories** a write needs are created 0700 by the wrapper before the write, so the
//!   write's temporary file (`name#N`) is born inside a private directory: the moment between
//!   creating a file and changing its mode exposes nothing. A repository created by `init`
//!   has only 0700 directories below its root (the root itself, when it already existed, is
//!   left as it is: it holds only `config`, which is 0400 too).
//! - **Files** are made 0400 (read-only for the owner, as restic does) as soon as the write
//!   returns. Deleting needs write access to the directory only, and every repository file is
//!   written once under the hash of its content, so read-only files cost nothing.
//! - **Existing** directories and files are never changed: a repository shared on purpose
//!   (restic's group-accessible repositories) stays so. `check` reports looser modes with the
//!   command that tightens them.

use std::fmt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// Mode of a repository file (restic: 0400).
pub const FILE_MODE: u32 = 0o400;
/// Mode of a repository directory (restic: 0700).
pub const DIR_MODE: u32 = 0o700;

/// A local folder store that keeps repository files private; see the module docs.
#[derive(Debug)]
pub(crate) struct PrivateLocalStore {
    inner: Arc<dyn ObjectStore>,
    root: PathBuf,
}

impl PrivateLocalStore {
    /// Wraps `inner`, a store whose object `a/b` is the file `root/a/b`.
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, root: PathBuf) -> PrivateLocalStore {
        PrivateLocalStore { inner, root }
    }

    fn file_of(&self, location: &Path) -> PathBuf {
        let mut p = self.root.clone();
        for part in location.parts() {
            p.push(part.as_ref());
        }
        p
    }

    /// Creates the object's missing parent directories 0700. A failure is left to the inner
    /// store, which reports it with its own error when it tries.
    fn prepare_parent(&self, location: &Path) {
        let file = self.file_of(location);
        if let Some(parent) = file.parent()
            && !parent.is_dir()
        {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(parent);
        }
    }
}

/// Makes a freshly written repository file read-only for its owner. A failure is logged, not
/// returned: the file is complete and stored, and it sits in a private directory.
fn make_private(file: &FsPath) {
    if let Err(e) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(FILE_MODE)) {
        tracing::warn!(file = %file.display(), error = %e, "could not make a repository file private");
    }
}

impl fmt::Display for PrivateLocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateLocalStore({})", self.root.display())
    }
}

#[async_trait]
impl ObjectStore for PrivateLocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.prepare_parent(location);
        let res = self.inner.put_opts(location, payload, opts).await?;
        make_private(&self.file_of(location));
        Ok(res)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.prepare_parent(location);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(PrivateUpload {
            inner,
            file: self.file_of(location),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.prepare_parent(to);
        self.inner.copy_opts(from, to, options).await?;
        make_private(&self.file_of(to));
        Ok(())
    }
}

/// A multipart upload whose file is made private when it completes.
#[derive(Debug)]
struct PrivateUpload {
    inner: Box<dyn MultipartUpload>,
    file: PathBuf,
}

#[async_trait]
impl MultipartUpload for PrivateUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let res = self.inner.complete().await?;
        make_private(&self.file);
        Ok(res)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}
