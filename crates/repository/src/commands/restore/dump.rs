//! `dump`: one file of a snapshot, or a directory of it as a tar archive, streamed to any
//! [`AsyncWrite`] with bounded memory (a few blobs in flight, one tree per directory level).

use std::sync::Arc;

use futures::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::resolve_path;
use super::tar::{BLOCK, entry_headers, padding};
use crate::repo::Repository;
use crate::repo::id::Id;
use crate::repo::pack::BlobType;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeType, Tree};
use crate::{Error, Result};

/// Blobs of one file read ahead of the writer.
const READ_AHEAD: usize = 4;

/// Writes a path of a snapshot to `out` and returns the bytes written. Takes a shared lock.
///
/// - A regular file: its content.
/// - A directory (`/` or `""` for the whole snapshot): a tar archive (POSIX ustar with PAX
///   extended headers where needed) of everything below it, as `restic dump` writes it:
///   members are named by their path in the snapshot without the leading `/` (directories
///   end in `/`; the directory dumped is not a member itself) and carry mode, modification
///   time (to the nanosecond), owner ids and names, link targets and device numbers. Sockets
///   are left out; hard links are written as separate files.
///
/// An error names the file and the snapshot; what was written before it stays written (an
/// archive cut short is not a valid tar: its end blocks are missing). A tree holding a name
/// that is not a single path component, or one name twice, fails the dump rather than
/// writing a member that would unpack outside its directory or over another.
pub async fn dump<W: AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snapshot: &str,
    path: &str,
    out: &mut W,
) -> Result<u64> {
    repo.locked(false, dump_locked(repo, snapshot, path, out))
        .await
}

/// [`dump`] under its lock.
async fn dump_locked<W: AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snapshot: &str,
    path: &str,
    out: &mut W,
) -> Result<u64> {
    let snap = repo.find_snapshot(snapshot).await?;
    repo.load_index().await?;
    let mut w = Counting { out, n: 0 };
    match resolve_path(repo, &snap, path).await? {
        None => dump_tar(repo, &snap, snap.snapshot.tree, "", &mut w).await?,
        Some(n) if n.node_type == NodeType::File => {
            write_content(repo, &snap, path, &n, &mut w).await?;
        }
        Some(Node {
            node_type: NodeType::Dir,
            subtree: Some(tree),
            ..
        }) => dump_tar(repo, &snap, tree, path, &mut w).await?,
        Some(_) => {
            return Err(Error::InvalidInput {
                field: "path",
                value: path.to_string(),
                rule: "dump writes a regular file, or a directory as a tar; this is neither (a link or special file: use `restore`)".into(),
            });
        }
    }
    w.flush().await?;
    Ok(w.n)
}

/// The output and the bytes written to it.
struct Counting<'w, W> {
    out: &'w mut W,
    n: u64,
}

impl<W: AsyncWrite + Unpin> Counting<'_, W> {
    async fn write(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .await
            .map_err(|e| Error::io("writing", "the output", e))?;
        self.n += b.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .await
            .map_err(|e| Error::io("writing", "the output", e))
    }
}

/// Streams a file's blobs to `w`; returns its length.
async fn write_content<W: AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snap: &SnapshotEntry,
    path: &str,
    node: &Node,
    w: &mut Counting<'_, W>,
) -> Result<u64> {
    let content = node.content.clone().unwrap_or_default();
    let mut blobs = futures::stream::iter(content)
        .map(|id| async move { repo.load_blob(&id, BlobType::Data).await })
        .buffered(READ_AHEAD);
    let mut n = 0u64;
    while let Some(b) = blobs.next().await {
        let b = b.map_err(|e| Error::InFile {
            snapshot: snap.id.short(),
            path: path.to_string(),
            detail: format!(
                "data at byte {n} cannot be read (the bytes before it were written): {e}"
            ),
        })?;
        w.write(&b).await?;
        n += b.len() as u64;
    }
    Ok(n)
}

/// Writes the tree `root` (at `path` in the snapshot) as a tar archive, depth first in tree
/// order, then the archive's two end blocks.
async fn dump_tar<W: AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    snap: &SnapshotEntry,
    root: Id,
    path: &str,
    w: &mut Counting<'_, W>,
) -> Result<()> {
    let prefix: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let prefix = prefix.join("/").into_bytes();
    // One level per open directory: its member-name prefix and the entries still to write.
    let mut stack = vec![(prefix, load_checked(repo, snap, &root, path).await?)];
    while let Some((dir, entries)) = stack.last_mut() {
        let Some(node) = entries.next() else {
            stack.pop();
            continue;
        };
        let mut name = dir.clone();
        if !name.is_empty() {
            name.push(b'/');
        }
        name.extend_from_slice(node.name.as_bytes());
        let shown = String::from_utf8_lossy(&name).into_owned();
        let size = if node.node_type == NodeType::File {
            node.size
        } else {
            0
        };
        let member = if node.node_type == NodeType::Dir {
            [name.as_slice(), b"/"].concat()
        } else {
            name.clone()
        };
        let Some(headers) = entry_headers(&member, &node, size) else {
            tracing::warn!(path = %shown, "a socket cannot be put in a tar: left out");
            continue;
        };
        w.write(&headers).await?;
        match node.node_type {
            NodeType::File => {
                let n = write_content(repo, snap, &format!("/{shown}"), &node, w).await?;
                if n != size {
                    return Err(Error::InFile {
                        snapshot: snap.id.short(),
                        path: format!("/{shown}"),
                        detail: format!(
                            "its content is {n} bytes but its tree entry says {size}; the archive is cut short here"
                        ),
                    });
                }
                w.write(&[0; BLOCK as usize][..padding(size)]).await?;
            }
            NodeType::Dir => {
                let Some(sub) = node.subtree else {
                    return Err(Error::corrupt(
                        format!("snapshot {} at /{shown}", snap.id.short()),
                        "a directory without a subtree",
                    ));
                };
                let entries = load_checked(repo, snap, &sub, &shown).await?;
                stack.push((name, entries));
            }
            _ => {}
        }
    }
    w.write(&[0; 2 * BLOCK as usize]).await
}

/// A tree's entries, refused when a name is unusable (see [`Tree::name_problems`]).
async fn load_checked(
    repo: &Arc<Repository>,
    snap: &SnapshotEntry,
    id: &Id,
    path: &str,
) -> Result<std::vec::IntoIter<Node>> {
    let tree: Tree = repo.load_tree(id).await?;
    if let Some(p) = tree.name_problems().first() {
        return Err(Error::corrupt(
            format!(
                "snapshot {} at /{}",
                snap.id.short(),
                path.trim_start_matches('/')
            ),
            format!("{p}; nothing of this directory is dumped"),
        ));
    }
    Ok(tree.nodes.into_iter())
}
