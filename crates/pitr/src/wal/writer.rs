//! Streams into a snapshot, and blobs back out by recorded location.
//!
//! WAL batches and base backups are written with the engine's blob saver and chunker, then a
//! restic-format tree and snapshot whose `extra` JSON field carries what PITR needs (names,
//! SHA-256 of whole files, and where each blob was stored) so that fetching a segment does not
//! have to load the repository's whole index.

use std::io::Read;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncRead;

use thinledger_repository::raw::{BlobLocation, BlobSaver, BufferPool, Chunker, Identity};
use thinledger_repository::{
    BlobType, Error, FileType, Id, Node, NodeType, Repository, Result, SaverOptions, Snapshot, Tree,
};

/// A data blob of an archived file and where it was written. The location is a hint: `prune`
/// may move blobs, and reading falls back to the index when the hint is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBlob {
    /// Plaintext id.
    pub id: Id,
    /// Pack it was written to.
    pub pack: Id,
    /// Offset in the pack.
    pub offset: u32,
    /// Encrypted length.
    pub length: u32,
    /// Plaintext length when compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulen: Option<u32>,
}

/// Largest file [`StreamSnapshot::save_file`] stores as a single blob: a default WAL segment.
pub(crate) const WHOLE_BLOB_MAX: usize = 16 * 1024 * 1024;

/// Chunks of a stream whose ids are being computed and queued at once (see
/// [`StreamSnapshot::save`]).
const IDS_IN_FLIGHT: usize = 4;

/// Bytes read from an async stream at once, and how many such reads may wait for the chunker
/// (see [`StreamSnapshot::save_async`]).
const PUMP_CHUNK: usize = 1 << 20;
const PUMP_DEPTH: usize = 4;

/// A blocking [`Read`] over the buffers an async task sends; the end of the channel is the
/// end of the stream.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Buffers for [`StreamSnapshot::save_file`], kept for reuse: at most `keep` of them.
pub(crate) fn file_buffers(keep: usize) -> Arc<BufferPool> {
    Arc::new(BufferPool::new(WHOLE_BLOB_MAX + 1, keep))
}

/// One stream stored as blobs.
#[derive(Debug, Clone)]
pub(crate) struct SavedStream {
    pub ids: Vec<Id>,
    pub size: u64,
    pub sha256: String,
}

/// A file of the snapshot's tree: name, size, modification time, data blobs.
pub(crate) type TreeFile = (String, u64, Option<DateTime<FixedOffset>>, Vec<Id>);

/// A writer of one snapshot made of streams.
pub(crate) struct StreamSnapshot {
    repo: Arc<Repository>,
    saver: Arc<BlobSaver>,
    chunker: Arc<Chunker>,
    file_buffers: Arc<BufferPool>,
}

impl StreamSnapshot {
    pub(crate) fn new(repo: &Arc<Repository>, saver: SaverOptions) -> StreamSnapshot {
        StreamSnapshot::with_file_buffers(repo, saver, file_buffers(2))
    }

    /// A writer whose [`StreamSnapshot::save_file`] reads into `buffers`' buffers (a caller
    /// writing many snapshots passes the same pool to each).
    pub(crate) fn with_file_buffers(
        repo: &Arc<Repository>,
        saver: SaverOptions,
        buffers: Arc<BufferPool>,
    ) -> StreamSnapshot {
        StreamSnapshot {
            saver: BlobSaver::with_file_buffers(
                Arc::clone(repo),
                saver,
                Some(Arc::clone(&buffers)),
            ),
            chunker: Arc::new(Chunker::for_config(repo.config())),
            repo: Arc::clone(repo),
            file_buffers: buffers,
        }
    }

    /// Stores a file of at most [`WHOLE_BLOB_MAX`] bytes as one blob, whose id (SHA-256 of
    /// the content) is then also the file's SHA-256: one hash pass instead of two and no
    /// chunking. WAL segments (16 MiB by default) never share content worth chunking for.
    /// Larger files are chunked as by [`StreamSnapshot::save`].
    pub(crate) async fn save_file(
        &self,
        mut file: std::fs::File,
    ) -> Result<std::io::Result<SavedStream>> {
        let saver = Arc::clone(&self.saver);
        let buffers = Arc::clone(&self.file_buffers);
        let whole = tokio::task::spawn_blocking(move || {
            // A reused buffer with room for the largest whole blob plus the byte that tells a
            // larger file: the read neither grows it nor touches new memory.
            let mut buf = buffers.take();
            let read = (&mut file)
                .take(WHOLE_BLOB_MAX as u64 + 1)
                .read_to_end(&mut buf);
            (file, buf, read)
        })
        .await
        .map_err(Error::task)?;
        let (file, buf, read) = whole;
        if let Err(e) = read {
            return Ok(Err(e));
        }
        if buf.len() > WHOLE_BLOB_MAX {
            return self.save(std::io::Cursor::new(buf).chain(file)).await;
        }
        let size = buf.len() as u64;
        let chunk = Bytes::from(buf);
        let id = tokio::task::spawn_blocking({
            let chunk = chunk.clone();
            move || Id::hash(&chunk)
        })
        .await
        .map_err(Error::task)?;
        let ids = if size == 0 {
            Vec::new()
        } else {
            saver.save(BlobType::Data, id, chunk).await?;
            vec![id]
        };
        let sha256 = if size == 0 {
            hex::encode(Sha256::digest([]))
        } else {
            id.to_hex()
        };
        Ok(Ok(SavedStream { ids, size, sha256 }))
    }

    /// Chunks and queues a stream; the outer error is the repository's, the inner the source's.
    ///
    /// This thread reads, chunks and takes the stream's SHA-256; each chunk's id (a second
    /// SHA-256 over every byte) is computed by a task of its own, up to [`IDS_IN_FLIGHT`] at
    /// once, their order kept: the reader is not held up by both hashes. A chunk moves into
    /// its task (never shared), so the saver takes its buffer without a copy.
    pub(crate) async fn save<R: Read + Send + 'static>(
        &self,
        reader: R,
    ) -> Result<std::io::Result<SavedStream>> {
        let saver = Arc::clone(&self.saver);
        let chunker = Arc::clone(&self.chunker);
        tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut hasher = Sha256::new();
            let mut ids = Vec::new();
            let mut size = 0u64;
            let mut in_flight = std::collections::VecDeque::new();
            let mut source = Ok(());
            for chunk in chunker.chunks(reader) {
                let chunk: Bytes = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        source = Err(e);
                        break;
                    }
                };
                hasher.update(&chunk);
                size += chunk.len() as u64;
                let saver = Arc::clone(&saver);
                in_flight.push_back(handle.spawn(async move {
                    let (id, chunk) =
                        tokio::task::spawn_blocking(move || (Id::hash(&chunk), chunk))
                            .await
                            .map_err(Error::task)?;
                    saver.save(BlobType::Data, id, chunk).await?;
                    Ok::<_, Error>(id)
                }));
                if in_flight.len() >= IDS_IN_FLIGHT
                    && let Some(first) = in_flight.pop_front()
                {
                    ids.push(handle.block_on(first).map_err(Error::task)??);
                }
            }
            for task in in_flight {
                ids.push(handle.block_on(task).map_err(Error::task)??);
            }
            Ok(source.map(|()| SavedStream {
                ids,
                size,
                sha256: hex::encode(hasher.finalize()),
            }))
        })
        .await
        .map_err(Error::task)?
    }

    /// [`StreamSnapshot::save`] for an async stream: this task reads it into a few
    /// [`PUMP_CHUNK`] buffers at a time ([`PUMP_DEPTH`] of them queued, so memory stays
    /// bounded) while the blocking thread chunks, hashes and queues them.
    pub(crate) async fn save_async<R: AsyncRead + Unpin + Send>(
        &self,
        mut reader: R,
    ) -> Result<std::io::Result<SavedStream>> {
        let (tx, rx) = tokio::sync::mpsc::channel(PUMP_DEPTH);
        let pump = async move {
            loop {
                let mut buf = BytesMut::with_capacity(PUMP_CHUNK);
                match tokio::io::AsyncReadExt::read_buf(&mut reader, &mut buf).await {
                    // The end of the stream: dropping the sender ends the reader's stream.
                    Ok(0) => break,
                    Ok(_) => {
                        // A dropped receiver: saving stopped (its error is returned).
                        if tx.send(Ok(buf.freeze())).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                }
            }
        };
        let save = self.save(ChannelReader::new(rx));
        tokio::pin!(save);
        // Saving may stop first (a repository error): the stream is then not read further.
        tokio::select! {
            saved = &mut save => saved,
            () = pump => save.await,
        }
    }

    /// Stores the tree of `files` (name, size, mtime, blob ids) and then the snapshot, once every
    /// pack and index file is stored. Returns the snapshot id and each blob's location.
    pub(crate) async fn finish(
        self,
        files: Vec<TreeFile>,
        tags: Vec<String>,
        extra: impl FnOnce(&dyn Fn(&Id) -> StoredBlob) -> serde_json::Map<String, serde_json::Value>,
    ) -> Result<Id> {
        let who = Identity::current();
        let now = Utc::now().fixed_offset();
        let mut nodes: Vec<Node> = files
            .iter()
            .map(|(name, size, mtime, ids)| {
                let mut n = Node::new(name.clone(), NodeType::File);
                n.mode = 0o600;
                n.mtime = Some(mtime.unwrap_or(now));
                n.atime = n.mtime;
                n.ctime = n.mtime;
                n.uid = who.uid;
                n.gid = who.gid;
                n.size = *size;
                n.content = Some(ids.clone());
                n
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes.dedup_by(|a, b| a.name == b.name);
        let paths = nodes.iter().map(|n| format!("/{}", n.name)).collect();
        let blob = Tree { nodes }.to_blob();
        let tree = Id::hash(&blob);
        self.saver
            .save(BlobType::Tree, tree, Bytes::from(blob))
            .await?;
        self.saver.finish().await?;
        // A blob this saver found already stored elsewhere may be missing from the in-memory
        // index: it gets an empty location, and reading it goes through the index.
        let locate = |id: &Id| match self.repo.locate(id, BlobType::Data) {
            Some(l) => StoredBlob {
                id: *id,
                pack: l.pack,
                offset: l.offset,
                length: l.length,
                ulen: l.uncompressed_length,
            },
            None => StoredBlob {
                id: *id,
                pack: Id::default(),
                offset: 0,
                length: 0,
                ulen: None,
            },
        };
        let extra = extra(&locate);
        let snapshot = Snapshot {
            time: now,
            parent: None,
            tree,
            paths,
            hostname: who.hostname,
            username: who.username,
            uid: who.uid,
            gid: who.gid,
            excludes: Vec::new(),
            tags,
            original: None,
            program_version: format!("thinledger-backup {}", env!("CARGO_PKG_VERSION")),
            extra,
        };
        self.repo.save_snapshot(&snapshot).await
    }
}

/// Reads one data blob, by its recorded location first, else through the index (loaded on
/// first need; `index_loaded` remembers that).
pub(crate) async fn read_blob(
    repo: &Arc<Repository>,
    blob: &StoredBlob,
    index_loaded: &tokio::sync::OnceCell<()>,
) -> Result<Vec<u8>> {
    let loc = BlobLocation {
        pack: blob.pack,
        offset: blob.offset,
        length: blob.length,
        uncompressed_length: blob.ulen,
    };
    let range = u64::from(loc.offset)..u64::from(loc.offset) + u64::from(loc.length);
    let fetched = if loc.length == 0 {
        Err(Error::corrupt("blob", "no recorded location"))
    } else {
        repo.read_range(FileType::Pack, &loc.pack, range).await
    };
    let hinted = match fetched {
        Ok(enc) => {
            let (r, id) = (Arc::clone(repo), blob.id);
            tokio::task::spawn_blocking(move || r.decode_blob(&id, &loc, &enc))
                .await
                .map_err(Error::task)?
        }
        Err(e) => Err(e),
    };
    match hinted {
        Ok(plain) => Ok(plain),
        Err(e) => {
            tracing::debug!(blob = %blob.id.short(), error = %e, "recorded location is stale; using the index");
            index_loaded.get_or_try_init(|| repo.load_index()).await?;
            repo.load_blob(&blob.id, BlobType::Data).await
        }
    }
}
