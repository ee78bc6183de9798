//! `repair snapshots`: rewrite snapshots whose trees need blobs the index does not have, as
//! restic 0.16+ does.
//!
//! A file whose data blobs are partly missing keeps the blobs that exist (its size becomes
//! their sum), so the rest of it can still be restored; a directory whose tree cannot be read
//! becomes an empty directory; a snapshot whose root tree cannot be read is not rewritten
//! (with `forget` it is removed). A rewritten snapshot keeps its time, host and paths, gains
//! the tag `repaired` and names the first snapshot in `original`. The originals stay unless
//! `forget` is set. Like restic, it applies unless `dry_run` is set.
//!
//! On an immutable repository (S3 Object Lock) `forget` leaves originals that are still under
//! retention in place ([`RepairSnapshotsReport::retained`], with their dates); which ones is
//! known before anything is written, so no delete is refused part-way. A later
//! `forget` removes them once their date has passed.
//!
//! A blob counts as missing when no index file lists it in a pack the store holds. A damaged
//! index file makes it refuse: run [`crate::commands::repair::repair_index`] first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::index::BlobKey;
use crate::repo::pack::BlobType;
use crate::repo::retained::RetainedObject;
use crate::repo::tree::{NodeType, Tree};
use crate::saver::{BlobSaver, SaverOptions};
use crate::{Error, Result};

/// The tag a rewritten snapshot gets (restic's).
pub const REPAIRED_TAG: &str = "repaired";

/// Knobs of [`repair_snapshots`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RepairSnapshotsOptions {
    /// Report what would change; write and delete nothing.
    pub dry_run: bool,
    /// Remove each original snapshot once its repaired one is stored (and snapshots whose
    /// root cannot be read).
    pub forget: bool,
}

impl RepairSnapshotsOptions {
    /// Sets `dry_run`: report only; write and delete nothing.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets `forget`: remove each original once its repaired snapshot is stored.
    pub fn with_forget(mut self, forget: bool) -> Self {
        self.forget = forget;
        self
    }
}

/// One snapshot that needed repair.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairedSnapshot {
    /// The damaged snapshot.
    pub original: Id,
    /// The rewritten one (`None` in a dry run, or when the root tree is unreadable).
    pub repaired: Option<Id>,
    /// Files that lost data blobs, by path in the snapshot.
    pub files_truncated: Vec<String>,
    /// Directories replaced by empty ones because their tree could not be read.
    pub dirs_emptied: Vec<String>,
    /// The root tree could not be read: nothing to rewrite.
    pub root_unreadable: bool,
    /// Whether the original was removed.
    pub forgotten: bool,
}

/// What [`repair_snapshots`] found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairSnapshotsReport {
    /// Snapshots examined.
    pub snapshots: usize,
    /// Those that needed repair.
    pub repaired: Vec<RepairedSnapshot>,
    /// Immutable repositories, with `forget`: originals left in place because they are
    /// still under retention, with their dates. Empty elsewhere.
    pub retained: Vec<RetainedObject>,
    /// Whether anything was written.
    pub applied: bool,
}

/// Rewrites damaged snapshots; see the module docs. Takes the exclusive lock (with `forget`
/// it deletes snapshots).
pub async fn repair_snapshots(
    repo: &Arc<Repository>,
    opts: &RepairSnapshotsOptions,
) -> Result<RepairSnapshotsReport> {
    repo.locked(true, repair_locked(repo, opts)).await
}

async fn repair_locked(
    repo: &Arc<Repository>,
    opts: &RepairSnapshotsOptions,
) -> Result<RepairSnapshotsReport> {
    let snapshots = repo.snapshots().await?;
    // Refuse a damaged index (repair it first); then load it without missing packs, so that
    // their blobs count as missing even before `repair index` ran.
    repo.load_index_strict().await?;
    repo.load_index().await?;
    let saver = (!opts.dry_run).then(|| BlobSaver::new(Arc::clone(repo), SaverOptions::default()));
    let mut rw = Rewriter {
        repo,
        saver: saver.clone(),
        intact: HashSet::new(),
        memo: HashMap::new(),
        empty: None,
    };
    let mut report = RepairSnapshotsReport {
        snapshots: snapshots.len(),
        ..RepairSnapshotsReport::default()
    };
    let mut new_snapshots = Vec::new();
    for s in &snapshots {
        let mut found = RepairedSnapshot {
            original: s.id,
            ..RepairedSnapshot::default()
        };
        rw.memo.clear();
        match rw.tree(s.snapshot.tree, "/".into(), &mut found).await {
            Ok(new_root) if new_root == s.snapshot.tree => continue,
            Ok(new_root) => {
                let mut snap = s.snapshot.clone();
                snap.tree = new_root;
                snap.original = Some(s.snapshot.original.unwrap_or(s.id));
                if !snap.tags.iter().any(|t| t == REPAIRED_TAG) {
                    snap.tags.push(REPAIRED_TAG.to_string());
                }
                new_snapshots.push((report.repaired.len(), snap));
            }
            Err(e) if unreadable(&e) => found.root_unreadable = true,
            Err(e) => return Err(e),
        }
        report.repaired.push(found);
    }
    if opts.forget && !report.repaired.is_empty() {
        let originals = report.repaired.iter().map(|r| r.original).collect();
        report.retained = match repo
            .retained_among("repair snapshots", FileType::Snapshot, originals)
            .await
        {
            Ok(retained) => retained,
            // A dry run plans even where deletes would be refused.
            Err(e @ Error::Retained { .. }) if opts.dry_run => {
                tracing::warn!("{e}");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
    }
    if opts.dry_run || report.repaired.is_empty() {
        return Ok(report);
    }
    // Trees first (with their index), then the snapshots that name them, then the originals.
    if let Some(saver) = &saver {
        saver.finish().await?;
    }
    for (i, snap) in new_snapshots {
        report.repaired[i].repaired = Some(repo.save_snapshot(&snap).await?);
    }
    if opts.forget {
        for r in &mut report.repaired {
            if report.retained.iter().any(|kept| kept.id == r.original) {
                tracing::info!(snapshot = %r.original.short(), "original kept: under retention");
                continue;
            }
            repo.delete_snapshot(&r.original).await?;
            r.forgotten = true;
        }
    }
    report.applied = true;
    tracing::info!(repaired = report.repaired.len(), "snapshots repaired");
    Ok(report)
}

/// Whether a tree load failed because the data is gone or damaged (then the tree is
/// replaced), rather than because the store could not be reached (then the repair stops).
fn unreadable(e: &Error) -> bool {
    match e {
        Error::Corrupt { .. } => true,
        Error::Store { source, .. } => matches!(source, object_store::Error::NotFound { .. }),
        _ => false,
    }
}

struct Rewriter<'a> {
    repo: &'a Arc<Repository>,
    saver: Option<Arc<BlobSaver>>,
    /// Trees that need no change (the common case), across snapshots.
    intact: HashSet<Id>,
    /// Old tree id -> new tree id, within one snapshot (so each report names its own paths).
    memo: HashMap<Id, Id>,
    empty: Option<Id>,
}

impl Rewriter<'_> {
    /// Stores a tree (unless this is a dry run) and returns its id.
    async fn save(&mut self, tree: &Tree) -> Result<Id> {
        let blob = tree.to_blob();
        let id = Id::hash(&blob);
        if let Some(saver) = &self.saver {
            saver.save(BlobType::Tree, id, Bytes::from(blob)).await?;
        }
        Ok(id)
    }

    /// The rewritten id of tree `tid` at `path`; changes are noted in `found`.
    fn tree<'s>(
        &'s mut self,
        tid: Id,
        path: String,
        found: &'s mut RepairedSnapshot,
    ) -> BoxFuture<'s, Result<Id>> {
        Box::pin(async move {
            if self.intact.contains(&tid) {
                return Ok(tid);
            }
            if let Some(done) = self.memo.get(&tid) {
                return Ok(*done);
            }
            let mut tree = self.repo.load_tree(&tid).await?;
            let mut changed = false;
            for node in &mut tree.nodes {
                let child = format!("{}/{}", path.trim_end_matches('/'), node.name);
                match node.node_type {
                    NodeType::File => {
                        let content = node.content.take().unwrap_or_default();
                        let mut kept = Vec::with_capacity(content.len());
                        let mut size = 0u64;
                        for id in &content {
                            let key = BlobKey {
                                id: *id,
                                ty: BlobType::Data,
                            };
                            if let Some(loc) = self.repo.with_index(|i| i.get(&key)) {
                                kept.push(*id);
                                size += loc.plain_size();
                            }
                        }
                        if kept.len() != content.len() {
                            found.files_truncated.push(child);
                            node.size = size;
                            changed = true;
                        }
                        node.content = Some(kept);
                    }
                    NodeType::Dir => {
                        let new = match node.subtree {
                            Some(sub) => match self.tree(sub, child.clone(), found).await {
                                Ok(new) => Some(new),
                                Err(e) if unreadable(&e) => None,
                                Err(e) => return Err(e),
                            },
                            None => None,
                        };
                        let new = match new {
                            Some(id) => id,
                            None => {
                                found.dirs_emptied.push(child);
                                self.empty_tree().await?
                            }
                        };
                        if node.subtree != Some(new) {
                            node.subtree = Some(new);
                            changed = true;
                        }
                    }
                    _ => {}
                }
            }
            if !changed {
                self.intact.insert(tid);
                return Ok(tid);
            }
            let new = self.save(&tree).await?;
            self.memo.insert(tid, new);
            Ok(new)
        })
    }

    async fn empty_tree(&mut self) -> Result<Id> {
        if let Some(id) = self.empty {
            return Ok(id);
        }
        let id = self.save(&Tree::default()).await?;
        self.empty = Some(id);
        Ok(id)
    }
}
