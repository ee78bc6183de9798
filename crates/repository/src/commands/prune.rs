//! Prune: remove data no snapshot needs. Plan first (under an exclusive lock), then apply in
//! the order that keeps the repository valid at every step: write repacked packs, write the
//! new index, delete the old index files, and only then delete packs.
//!
//! On an immutable repository (S3 Object Lock, GCS object retention) the plan reads the
//! retention of every pack and index file it would delete. Retained ones stay, listed in
//! [`PrunePlan::retained`] with their dates: an unused pack stays until its date, a partly
//! used one is not repacked (the copy would free nothing), and a retained index file keeps
//! every pack it names (an index must not name a missing pack) and is not rewritten. A later prune, after the dates,
//! removes them. Only objects past their retention are deleted, so an interrupted prune
//! leaves what any interrupted prune leaves: nothing worse than a duplicate index entry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::index::{BlobKey, IndexFile, IndexPack};
use crate::repo::pack::{BlobType, PackedBlob, pack_size};
use crate::repo::retained::{Deletes, RetainedObject, retained};
use crate::repo::stray::{StrayFile, TEMPORARY_FILE_MARGIN};
use crate::repo::tree::NodeType;
use crate::saver::{BlobSaver, SaverOptions};
use crate::{Error, Result};

/// Knobs of a prune.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PruneOptions {
    /// Compute and return the plan without changing anything.
    pub dry_run: bool,
    /// Unused bytes tolerated in partly used packs, as a percentage of the repository's pack
    /// bytes; above it, partly used packs are repacked.
    pub max_unused_percent: f64,
}

impl PruneOptions {
    /// Sets `dry_run`: compute and return the plan only.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets `max_unused_percent`: unused bytes tolerated in partly used packs, in percent.
    pub fn with_max_unused_percent(mut self, max_unused_percent: f64) -> Self {
        self.max_unused_percent = max_unused_percent;
        self
    }
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            dry_run: false,
            max_unused_percent: 5.0,
        }
    }
}

/// What prune will do (or did).
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct PrunePlan {
    /// Snapshots considered.
    pub snapshots: usize,
    /// Packs in the index.
    pub packs: usize,
    /// Blobs some snapshot needs.
    pub blobs_used: usize,
    /// Packs with nothing needed: deleted.
    pub packs_to_delete: Vec<Id>,
    /// Packs partly needed: their needed blobs are copied into new packs, then deleted.
    pub packs_to_repack: Vec<Id>,
    /// Packs in the store no index names (from interrupted backups): deleted.
    pub unreferenced_packs: Vec<Id>,
    /// Temporary upload files left by interrupted writes, untouched for at least
    /// the time a lock takes to go stale (30 minutes): deleted (under the exclusive lock no writer is live).
    pub temporary_files: Vec<StrayFile>,
    /// Temporary upload files younger than the margin: kept, in case a writer whose lock
    /// went stale is still at work.
    pub temporary_files_kept: Vec<StrayFile>,
    /// Index files replaced by one new index.
    pub index_files_to_replace: usize,
    /// Bytes of packs deleted or repacked.
    pub bytes_freed_at_most: u64,
    /// Bytes not needed that stay (in partly used packs below the threshold, or retained).
    pub bytes_unused_kept: u64,
    /// Immutable repositories: packs and index files the plan would delete that are still
    /// under retention, and stay (until when, and why). Empty on other repositories.
    pub retained: Vec<RetainedObject>,
    /// Whether the plan was carried out.
    pub applied: bool,
}

/// Every blob reachable from the snapshots.
pub(crate) async fn used_blobs(repo: &Repository, roots: &[Id]) -> Result<HashSet<BlobKey>> {
    let mut used = HashSet::new();
    let mut stack: Vec<Id> = roots.to_vec();
    while let Some(tid) = stack.pop() {
        if !used.insert(BlobKey {
            id: tid,
            ty: BlobType::Tree,
        }) {
            continue;
        }
        let tree = repo.load_tree(&tid).await?;
        for n in tree.nodes {
            match n.node_type {
                NodeType::Dir => stack.extend(n.subtree),
                NodeType::File => {
                    for id in n.content.unwrap_or_default() {
                        used.insert(BlobKey {
                            id,
                            ty: BlobType::Data,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(used)
}

/// Prunes a repository. Takes an exclusive lock for the whole run.
pub async fn prune(repo: &Arc<Repository>, opts: &PruneOptions) -> Result<PrunePlan> {
    if !(0.0..=100.0).contains(&opts.max_unused_percent) {
        return Err(Error::InvalidInput {
            field: "max-unused",
            value: opts.max_unused_percent.to_string(),
            rule: "must be a percentage from 0 to 100, e.g. 5".into(),
        });
    }
    repo.locked(true, prune_locked(repo, opts)).await
}

async fn prune_locked(repo: &Arc<Repository>, opts: &PruneOptions) -> Result<PrunePlan> {
    let snapshots = repo.snapshots().await?;
    let files = repo.load_index_files().await?;
    let stored: HashMap<Id, u64> = repo.stored_packs().await?;
    let roots: Vec<Id> = snapshots.iter().map(|s| s.snapshot.tree).collect();
    let used = used_blobs(repo, &roots).await?;

    let mut packs: HashMap<Id, Vec<PackedBlob>> = HashMap::new();
    for (_, f) in &files {
        for p in &f.packs {
            packs.entry(p.id).or_insert_with(|| p.packed_blobs());
        }
    }
    // A pack the index names but the store lacks makes the plan unsound: a blob stored again
    // elsewhere could look unused there and be deleted (restic refuses too).
    let mut missing: Vec<&Id> = packs.keys().filter(|id| !stored.contains_key(id)).collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(Error::corrupt(
            format!("pack {}", missing[0].short()),
            format!(
                "{} pack(s) named by the index are missing from the store; prune refuses to run on an index that does not match the packs: run `repair index` (then `repair snapshots`)",
                missing.len()
            ),
        ));
    }
    // Each needed blob is kept once: at the place the in-memory index chose.
    let chosen = |b: &PackedBlob, pack: &Id| -> bool {
        let key = BlobKey { id: b.id, ty: b.ty };
        used.contains(&key)
            && repo
                .locate(&b.id, b.ty)
                .is_some_and(|l| l.pack == *pack && l.offset == b.offset)
    };
    let mut plan = PrunePlan {
        snapshots: snapshots.len(),
        packs: packs.len(),
        blobs_used: used.len(),
        index_files_to_replace: files.len(),
        ..PrunePlan::default()
    };
    for key in &used {
        if repo.locate(&key.id, key.ty).is_none() {
            return Err(Error::corrupt(
                format!("{} blob {}", key.ty, key.id.short()),
                "a snapshot needs it but no index lists it; run `check`, and do not prune until it is repaired",
            ));
        }
    }
    let mut partly: Vec<(Id, u64, u64)> = Vec::new(); // (pack, unused bytes, size)
    // What deleting or repacking each pack frees (for a plan that retention trims).
    let mut frees: HashMap<Id, u64> = HashMap::new();
    let mut total: u64 = 0;
    for (id, blobs) in &packs {
        let size = pack_size(blobs);
        total += size;
        let used_bytes: u64 = blobs
            .iter()
            .filter(|b| chosen(b, id))
            .map(|b| u64::from(b.length))
            .sum();
        let all_bytes: u64 = blobs.iter().map(|b| u64::from(b.length)).sum();
        if used_bytes == 0 {
            plan.packs_to_delete.push(*id);
            plan.bytes_freed_at_most += size;
            frees.insert(*id, size);
        } else if used_bytes < all_bytes {
            partly.push((*id, all_bytes - used_bytes, size));
        }
    }
    // Repack the emptiest packs first until what stays unused is within the limit.
    partly.sort_by_key(|p| std::cmp::Reverse(p.1 * 1000 / p.2.max(1)));
    let limit = (total as f64 * opts.max_unused_percent / 100.0) as u64;
    let mut unused_left: u64 = partly.iter().map(|p| p.1).sum();
    for (id, unused, size) in partly {
        if unused_left > limit {
            plan.packs_to_repack.push(id);
            plan.bytes_freed_at_most += unused;
            unused_left -= unused;
            frees.insert(id, unused);
            let _ = size;
        }
    }
    plan.bytes_unused_kept = unused_left;
    plan.unreferenced_packs = stored
        .keys()
        .filter(|id| !packs.contains_key(id))
        .copied()
        .collect();
    plan.unreferenced_packs.sort();
    plan.packs_to_delete.sort();
    plan.packs_to_repack.sort();
    let strays = repo.scan_strays().await?;
    let (old, young): (Vec<StrayFile>, Vec<StrayFile>) =
        strays.temporary.into_iter().partition(|t| {
            t.age_secs
                .is_some_and(|a| a >= TEMPORARY_FILE_MARGIN.as_secs())
        });
    plan.temporary_files = old;
    plan.temporary_files_kept = young;
    // Index files this prune may replace (all, unless retention keeps some).
    let mut replaceable: Vec<Id> = files.iter().map(|(id, _)| *id).collect();
    // Packs a retained index file names: they stay (and stay in that file only) as long as
    // the index file, the latest one naming them.
    let kept_index: Vec<RetainedObject>;
    let mut pinned: HashMap<Id, &RetainedObject> = HashMap::new();
    let anything = !(plan.packs_to_delete.is_empty()
        && plan.packs_to_repack.is_empty()
        && plan.unreferenced_packs.is_empty());
    match repo.deletes("prune").await {
        Ok(Deletes::Free) => {}
        // Nothing to delete (temporaries aside, which carry no retention): nothing to look up.
        Ok(Deletes::AroundRetention(_)) if !anything => {}
        Ok(Deletes::AroundRetention(lock)) => {
            kept_index = retained(&lock, FileType::Index, replaceable.iter().copied()).await?;
            for r in &kept_index {
                if let Some((_, f)) = files.iter().find(|(id, _)| *id == r.id) {
                    for p in &f.packs {
                        let by = pinned.entry(p.id).or_insert(r);
                        if by.retained_until < r.retained_until {
                            *by = r;
                        }
                    }
                }
            }
            replaceable.retain(|id| !kept_index.iter().any(|r| r.id == *id));
            plan.index_files_to_replace = replaceable.len();
            plan.retained.extend(kept_index.iter().cloned());
            let candidates = plan
                .packs_to_delete
                .iter()
                .chain(&plan.packs_to_repack)
                .chain(&plan.unreferenced_packs)
                .copied()
                .filter(|id| !pinned.contains_key(id))
                .collect::<Vec<_>>();
            let kept_packs = retained(&lock, FileType::Pack, candidates).await?;
            let stays: HashSet<Id> = kept_packs.iter().map(|r| r.id).collect();
            plan.retained.extend(kept_packs);
            for id in plan
                .packs_to_delete
                .iter()
                .chain(&plan.packs_to_repack)
                .chain(&plan.unreferenced_packs)
            {
                if let Some(by) = pinned.get(id) {
                    plan.retained.push(RetainedObject {
                        kind: "pack",
                        id: *id,
                        retained_until: by.retained_until,
                        reason: format!("named by retained index {}", by.id.short()),
                    });
                }
            }
            let gone = |id: &Id| !stays.contains(id) && !pinned.contains_key(id);
            for id in plan.packs_to_delete.iter().chain(&plan.packs_to_repack) {
                if !gone(id) {
                    let freed = frees.get(id).copied().unwrap_or_default();
                    plan.bytes_freed_at_most -= freed;
                    plan.bytes_unused_kept += freed;
                }
            }
            plan.packs_to_delete.retain(gone);
            plan.packs_to_repack.retain(gone);
            plan.unreferenced_packs.retain(gone);
        }
        // A dry run plans even where deletes would be refused.
        Err(e @ Error::Retained { .. }) if opts.dry_run => {
            tracing::warn!("{e}");
        }
        Err(e) => return Err(e),
    }
    let nothing = plan.packs_to_delete.is_empty()
        && plan.packs_to_repack.is_empty()
        && plan.unreferenced_packs.is_empty();
    if opts.dry_run {
        return Ok(plan);
    }
    if nothing {
        remove_temporaries(repo, &mut plan).await?;
        return Ok(plan);
    }

    // 1. Repack: needed blobs are copied as they are (blobs are encrypted independently).
    let saver = BlobSaver::new(Arc::clone(repo), SaverOptions::default());
    let repack_set: HashSet<Id> = plan.packs_to_repack.iter().copied().collect();
    for id in &plan.packs_to_repack {
        let data = repo.backend.get(FileType::Pack, id).await?;
        if Id::hash(&data) != *id {
            return Err(Error::corrupt(
                format!("pack {}", id.short()),
                "content does not match its name; run `check --read-data`",
            ));
        }
        let blobs = packs.get(id).cloned().unwrap_or_default();
        for b in blobs.iter().filter(|b| chosen(b, id)) {
            let enc = &data[b.offset as usize..(b.offset + b.length) as usize];
            // Verify before copying, so a damaged blob is not carried forward unnoticed.
            let loc = crate::repo::index::BlobLocation {
                pack: *id,
                offset: b.offset,
                length: b.length,
                uncompressed_length: b.uncompressed_length,
            };
            repo.decode_blob(&b.id, &loc, enc)?;
            saver
                .save_encrypted(b.ty, b.id, enc, b.uncompressed_length)
                .await?;
        }
    }
    let saved = saver.finish().await?;

    // 2. One index for every pack that stays (the repacked blobs are in the saver's index).
    let drop: HashSet<Id> = plan
        .packs_to_delete
        .iter()
        .chain(repack_set.iter())
        .copied()
        .collect();
    // Packs a retained index file names are described there already: not again.
    let keep: Vec<IndexPack> = packs
        .iter()
        .filter(|(id, _)| !drop.contains(id) && !pinned.contains_key(id))
        .map(|(id, blobs)| IndexPack::new(*id, blobs))
        .collect();
    let old: Vec<Id> = replaceable;
    for chunk in keep.chunks(5000) {
        let f = IndexFile {
            supersedes: Vec::new(),
            packs: chunk.to_vec(),
        };
        repo.save_unpacked(FileType::Index, &f).await?;
    }
    // 3. Old index files, then 4. packs.
    for id in &old {
        if !saved.index_files.contains(id) {
            repo.backend.delete(FileType::Index, id).await?;
        }
    }
    let to_delete: Vec<Id> = drop
        .into_iter()
        .chain(plan.unreferenced_packs.iter().copied())
        .collect();
    let results: Vec<Result<()>> = futures::stream::iter(to_delete)
        .map(|id| async move { repo.backend.delete(FileType::Pack, &id).await })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    remove_temporaries(repo, &mut plan).await?;
    repo.load_index().await?;
    plan.applied = true;
    tracing::info!(
        deleted = plan.packs_to_delete.len(),
        repacked = plan.packs_to_repack.len(),
        unreferenced = plan.unreferenced_packs.len(),
        "prune finished"
    );
    Ok(plan)
}

/// Deletes the plan's temporary files; the list then names those actually deleted.
async fn remove_temporaries(repo: &Repository, plan: &mut PrunePlan) -> Result<()> {
    let (removed, kept) = repo
        .remove_temporaries(&plan.temporary_files, TEMPORARY_FILE_MARGIN)
        .await?;
    plan.temporary_files = removed;
    plan.temporary_files_kept.extend(kept);
    Ok(())
}
