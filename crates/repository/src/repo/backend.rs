//! The repository's objects on an [`ObjectStore`]: restic's default layout, create-only writes.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::id::Id;
use crate::{Error, Result};

/// The kinds of file in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// `config`
    Config,
    /// `keys/<id>`
    Key,
    /// `snapshots/<id>`
    Snapshot,
    /// `index/<id>`
    Index,
    /// `data/<id[..2]>/<id>`
    Pack,
    /// `locks/<id>`
    Lock,
}

impl FileType {
    /// The directory of this kind of file.
    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Snapshot => "snapshots",
            FileType::Index => "index",
            FileType::Pack => "data",
            FileType::Lock => "locks",
        }
    }
}

/// Read-ahead of [`Backend::open_sequential`] on a local file.
const SEQUENTIAL_BUFFER: usize = 128 * 1024;

/// Reads and writes repository files; knows nothing of their content.
#[derive(Clone)]
pub(crate) struct Backend {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backend({})", self.location)
    }
}

pub(crate) fn path_of(ty: FileType, id: &Id) -> Path {
    let hex = id.to_hex();
    match ty {
        FileType::Config => Path::from("config"),
        FileType::Pack => Path::from(format!("data/{}/{hex}", &hex[..2])),
        other => Path::from(format!("{}/{hex}", other.dir())),
    }
}

impl Backend {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, location: String) -> Backend {
        Backend { store, location }
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn err(&self, op: &'static str, path: &Path, source: object_store::Error) -> Error {
        Error::Store {
            op,
            path: format!("{}/{path}", self.location.trim_end_matches('/')),
            source,
        }
    }

    /// Reads a whole file; `Ok(None)` if it does not exist.
    pub(crate) async fn get_opt(&self, ty: FileType, id: &Id) -> Result<Option<Bytes>> {
        let path = path_of(ty, id);
        let res = match self.store.get(&path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err("read", &path, e)),
        };
        res.bytes()
            .await
            .map(Some)
            .map_err(|e| self.err("read", &path, e))
    }

    /// Reads a whole file.
    pub(crate) async fn get(&self, ty: FileType, id: &Id) -> Result<Bytes> {
        let path = path_of(ty, id);
        self.store
            .get(&path)
            .await
            .map_err(|e| self.err("read", &path, e))?
            .bytes()
            .await
            .map_err(|e| self.err("read", &path, e))
    }

    /// Opens a whole file to be read front to back by a blocking reader (use it on a blocking
    /// thread), and its size. A local file is read straight from disk; any other store's
    /// response is read as it arrives. Either way only what the reader's caller keeps is held
    /// in memory, never the whole file.
    pub(crate) async fn open_sequential(
        &self,
        ty: FileType,
        id: &Id,
    ) -> Result<(Box<dyn std::io::Read + Send>, u64)> {
        use std::io::{Read, Seek};
        let path = path_of(ty, id);
        let res = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.err("read", &path, e))?;
        let range = res.range.clone();
        let size = range.end - range.start;
        let reader: Box<dyn Read + Send> = match res.payload {
            GetResultPayload::File(mut file, _) => {
                if range.start > 0 {
                    file.seek(std::io::SeekFrom::Start(range.start))
                        .map_err(|e| {
                            let at = format!("{}/{path}", self.location.trim_end_matches('/'));
                            Error::io("reading", at, e)
                        })?;
                }
                // Buffered for runs of small blobs; large reads go straight into the caller's
                // buffer.
                Box::new(std::io::BufReader::with_capacity(
                    SEQUENTIAL_BUFFER,
                    file.take(size),
                ))
            }
            GetResultPayload::Stream(stream) => {
                let stream = stream.map_err(std::io::Error::other);
                Box::new(SyncIoBridge::new(StreamReader::new(stream)))
            }
        };
        Ok((reader, size))
    }

    /// Reads part of a file.
    pub(crate) async fn get_range(
        &self,
        ty: FileType,
        id: &Id,
        range: Range<u64>,
    ) -> Result<Bytes> {
        let path = path_of(ty, id);
        let want = range.end - range.start;
        let b = self
            .store
            .get_range(&path, range)
            .await
            .map_err(|e| self.err("read", &path, e))?;
        if b.len() as u64 != want {
            return Err(Error::corrupt(
                path.to_string(),
                format!("short read: wanted {want} bytes, got {}", b.len()),
            ));
        }
        Ok(b)
    }

    /// The size of a file; `Ok(None)` if it does not exist.
    pub(crate) async fn size(&self, ty: FileType, id: &Id) -> Result<Option<u64>> {
        let path = path_of(ty, id);
        match self.store.head(&path).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("stat", &path, e)),
        }
    }

    /// Writes a file that must not exist yet. Files are named by the hash of their content, so
    /// an existing file of the same size is the same file: that counts as success.
    pub(crate) async fn put_create(&self, ty: FileType, id: &Id, data: Bytes) -> Result<()> {
        let path = path_of(ty, id);
        let len = data.len() as u64;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(data), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) if ty != FileType::Config => {
                match self.size(ty, id).await? {
                    Some(size) if size == len => Ok(()),
                    other => Err(Error::corrupt(
                        path.to_string(),
                        format!(
                            "already exists with size {other:?}, not {len}: the store holds a different file under this content hash"
                        ),
                    )),
                }
            }
            Err(e @ object_store::Error::AlreadyExists { .. }) => Err(Error::AlreadyInitialized {
                location: format!("{} ({e})", self.location),
            }),
            Err(e) => Err(self.err("write", &path, e)),
        }
    }

    /// Lists the ids and sizes of one kind of file. Names that are not ids are skipped.
    pub(crate) async fn list(&self, ty: FileType) -> Result<Vec<(Id, u64)>> {
        let prefix = Path::from(ty.dir());
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.err("list", &prefix, e))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let name = m.location.filename()?;
                name.parse::<Id>().ok().map(|id| (id, m.size))
            })
            .collect())
    }

    /// Deletes a file; a missing file is not an error.
    pub(crate) async fn delete(&self, ty: FileType, id: &Id) -> Result<()> {
        let path = path_of(ty, id);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", &path, e)),
        }
    }
}
