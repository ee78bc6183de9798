//! Copy snapshots to another repository (another cloud): blobs the destination lacks are
//! read, re-encrypted with its key and stored; then its index, then the snapshots.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::Result;
use crate::repo::Repository;
use crate::repo::id::Id;
use crate::repo::index::BlobKey;
use crate::repo::pack::BlobType;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::NodeType;
use crate::saver::{BlobSaver, SaverOptions};

/// What a copy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopySummary {
    /// Snapshots copied: (source id, new id in the destination).
    pub copied: Vec<(Id, Id)>,
    /// Source snapshots the destination already had.
    pub skipped: Vec<Id>,
    /// Blobs transferred.
    pub blobs: u64,
    /// Plaintext bytes transferred.
    pub bytes: u64,
}

fn lineage(s: &SnapshotEntry) -> Id {
    s.snapshot.original.unwrap_or(s.id)
}

/// Copies snapshots (all when `which` is empty) from `src` to `dst`. Shared locks on both.
pub async fn copy(
    src: &Arc<Repository>,
    dst: &Arc<Repository>,
    which: &[String],
) -> Result<CopySummary> {
    let src_lock = src.lock(false).await?;
    let dst_lock = match dst.lock(false).await {
        Ok(l) => l,
        Err(e) => {
            src_lock.release().await?;
            return Err(e);
        }
    };
    let res = copy_locked(src, dst, which).await;
    dst_lock.release().await?;
    src_lock.release().await?;
    res
}

async fn copy_locked(
    src: &Arc<Repository>,
    dst: &Arc<Repository>,
    which: &[String],
) -> Result<CopySummary> {
    let mut chosen = Vec::new();
    if which.is_empty() {
        chosen = src.snapshots().await?;
    } else {
        for q in which {
            chosen.push(src.find_snapshot(q).await?);
        }
    }
    src.load_index().await?;
    dst.load_index().await?;
    let present: HashSet<Id> = dst.snapshots().await?.iter().map(lineage).collect();
    let saver = BlobSaver::new(Arc::clone(dst), SaverOptions::default());
    let mut summary = CopySummary::default();
    let mut todo = Vec::new();
    for s in chosen {
        if present.contains(&lineage(&s)) {
            summary.skipped.push(s.id);
        } else {
            todo.push(s);
        }
    }
    let mut seen_trees: HashSet<Id> = HashSet::new();
    for s in &todo {
        let mut stack = vec![s.snapshot.tree];
        while let Some(tid) = stack.pop() {
            if !seen_trees.insert(tid) {
                continue;
            }
            let raw = src.load_blob(&tid, BlobType::Tree).await?;
            let tree: crate::repo::tree::Tree = serde_json::from_slice(&raw).map_err(|e| {
                crate::Error::corrupt(format!("tree {}", tid.short()), e.to_string())
            })?;
            let mut data = Vec::new();
            for n in &tree.nodes {
                match n.node_type {
                    NodeType::Dir => stack.extend(n.subtree),
                    NodeType::File => {
                        for id in n.content.iter().flatten() {
                            if !saver.has(&BlobKey {
                                id: *id,
                                ty: BlobType::Data,
                            }) {
                                data.push(*id);
                            }
                        }
                    }
                    _ => {}
                }
            }
            data.sort();
            data.dedup();
            let moved: Vec<u64> = futures::stream::iter(data)
                .map(|id| {
                    let saver = Arc::clone(&saver);
                    async move {
                        let blob = src.load_blob(&id, BlobType::Data).await?;
                        let n = blob.len() as u64;
                        Ok::<_, crate::Error>(
                            if saver.save(BlobType::Data, id, Bytes::from(blob)).await? {
                                n
                            } else {
                                0
                            },
                        )
                    }
                })
                .buffered(4)
                .try_collect()
                .await?;
            summary.blobs += moved.iter().filter(|n| **n > 0).count() as u64;
            summary.bytes += moved.iter().sum::<u64>();
            // The tree's bytes are copied unchanged, so its id stays valid.
            if saver.save(BlobType::Tree, tid, Bytes::from(raw)).await? {
                summary.blobs += 1;
            }
        }
    }
    saver.finish().await?;
    for s in todo {
        let mut snap = s.snapshot.clone();
        snap.original = Some(lineage(&s));
        let new_id = dst.save_snapshot(&snap).await?;
        tracing::info!(from = %s.id.short(), to = %new_id.short(), "snapshot copied");
        summary.copied.push((s.id, new_id));
    }
    Ok(summary)
}
