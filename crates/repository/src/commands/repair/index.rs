//! `repair index`: a new index from the packs in the store (restic's `repair index`, formerly
//! `rebuild-index`).
//!
//! Entries of good index files are kept for packs that are present with the size the entries
//! describe; every other pack's blobs are read from its own header (which means downloading
//! that pack). Entries of missing packs are dropped, so that `backup` stores those blobs again
//! and `check` names exactly what the snapshots lost. Damaged index files are replaced.
//! Order: the new index files are written first, the old ones deleted after, so an
//! interruption leaves more index, never less.
//!
//! On an immutable repository (S3 Object Lock) old index files still under retention stay
//! where they are ([`RepairIndexReport::index_files_retained`], with their dates): the new
//! index describes every pack, and a later `repair index` removes them once their date has
//! passed. Which ones stay is known before anything is written, so no delete is refused
//! part-way.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::index::{IndexFile, IndexPack};
use crate::repo::pack::{self, PackedBlob};
use crate::repo::retained::RetainedObject;
use crate::{Error, Result};

/// Packs per new index file (as prune writes them).
const PACKS_PER_INDEX_FILE: usize = 5000;
/// Packs downloaded at once to read their headers.
const HEADER_READS: usize = 4;

/// Knobs of [`repair_index`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RepairIndexOptions {
    /// Compute the report without writing or deleting anything.
    pub dry_run: bool,
}

impl RepairIndexOptions {
    /// Sets `dry_run`: report only; write and delete nothing.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What [`repair_index`] found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairIndexReport {
    /// Packs the new index describes.
    pub packs: usize,
    /// Distinct blobs in the new index.
    pub blobs: usize,
    /// Packs whose header was read because no good index file described them as stored.
    pub packs_read: Vec<Id>,
    /// Packs the old index named that the store does not hold: their entries are dropped.
    pub packs_missing: Vec<Id>,
    /// Packs whose header could not be read (left in the store, not indexed; `prune` will
    /// treat them as unreferenced).
    pub packs_unreadable: Vec<(Id, String)>,
    /// Index files that could not be read.
    pub index_files_damaged: Vec<Id>,
    /// Old index files deleted (or, in a dry run, to delete).
    pub index_files_replaced: usize,
    /// Immutable repositories: old index files left in place because they are still under
    /// retention, with their dates (a later `repair index` removes them). Empty elsewhere.
    pub index_files_retained: Vec<RetainedObject>,
    /// Whether the new index was written.
    pub applied: bool,
}

/// Rebuilds the index from the packs; see the module docs. Takes the exclusive lock.
pub async fn repair_index(
    repo: &Arc<Repository>,
    opts: &RepairIndexOptions,
) -> Result<RepairIndexReport> {
    repo.locked(true, repair_index_locked(repo, opts)).await
}

async fn repair_index_locked(
    repo: &Arc<Repository>,
    opts: &RepairIndexOptions,
) -> Result<RepairIndexReport> {
    let (files, damaged) = repo.load_index_files_tolerant().await?;
    let stored: HashMap<Id, u64> = repo.stored_packs().await?;
    let mut known: HashMap<Id, Vec<PackedBlob>> = HashMap::new();
    for (_, f) in &files {
        for p in &f.packs {
            known.entry(p.id).or_insert_with(|| p.packed_blobs());
        }
    }
    let mut report = RepairIndexReport {
        index_files_damaged: damaged.iter().map(|p| p.id).collect(),
        ..RepairIndexReport::default()
    };
    report.packs_missing = known
        .keys()
        .filter(|id| !stored.contains_key(id))
        .copied()
        .collect();
    report.packs_missing.sort();

    let mut packs: Vec<IndexPack> = Vec::new();
    let mut to_read: Vec<Id> = Vec::new();
    for (id, size) in &stored {
        match known.get(id) {
            Some(blobs) if pack::pack_size(blobs) == *size => {
                packs.push(IndexPack::new(*id, blobs))
            }
            _ => to_read.push(*id),
        }
    }
    to_read.sort();
    let headers: Vec<(Id, Result<Vec<PackedBlob>>)> = futures::stream::iter(to_read)
        .map(|id| async move { (id, read_pack_header(repo, id).await) })
        .buffer_unordered(HEADER_READS)
        .collect()
        .await;
    for (id, res) in headers {
        match res {
            Ok(blobs) => {
                packs.push(IndexPack::new(id, &blobs));
                report.packs_read.push(id);
            }
            Err(e) => report.packs_unreadable.push((id, e.to_string())),
        }
    }
    report.packs_read.sort();
    report.packs_unreadable.sort();
    packs.sort_by_key(|p| p.id);
    report.packs = packs.len();
    report.blobs = packs
        .iter()
        .flat_map(|p| p.blobs.iter().map(|b| (b.id, b.ty)))
        .collect::<HashSet<_>>()
        .len();
    let old: Vec<Id> = files
        .iter()
        .map(|(id, _)| *id)
        .chain(report.index_files_damaged.iter().copied())
        .collect();
    let retained = match repo
        .retained_among("repair index", FileType::Index, old.clone())
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
    let stays: HashSet<Id> = retained.iter().map(|r| r.id).collect();
    report.index_files_replaced = old.len() - stays.len();
    report.index_files_retained = retained;
    if opts.dry_run {
        return Ok(report);
    }

    let mut written = HashSet::new();
    for chunk in packs.chunks(PACKS_PER_INDEX_FILE) {
        let f = IndexFile {
            supersedes: Vec::new(),
            packs: chunk.to_vec(),
        };
        written.insert(repo.save_unpacked(FileType::Index, &f).await?);
    }
    // An old file with exactly the new content has the new file's name: keep it.
    for id in old
        .iter()
        .filter(|id| !written.contains(id) && !stays.contains(id))
    {
        repo.backend.delete(FileType::Index, id).await?;
    }
    for r in &report.index_files_retained {
        tracing::info!(index = %r.id.short(), until = ?r.retained_until, "old index file kept: under retention");
    }
    if stays
        .iter()
        .any(|id| report.index_files_damaged.contains(id))
    {
        // A damaged file that must stay: the index is whole without it.
        repo.load_index().await?;
    } else {
        repo.load_index_strict().await?;
    }
    report.applied = true;
    tracing::info!(
        packs = report.packs,
        read = report.packs_read.len(),
        missing = report.packs_missing.len(),
        unreadable = report.packs_unreadable.len(),
        "index repaired"
    );
    Ok(report)
}

/// Downloads a pack and returns the blobs its header lists. The header is authenticated;
/// the blobs are not read (a damaged blob stays indexed, for `check --read-data` to name,
/// rather than losing the good blobs beside it).
async fn read_pack_header(repo: &Arc<Repository>, id: Id) -> Result<Vec<PackedBlob>> {
    let data = repo.backend.get(FileType::Pack, &id).await?;
    let key = repo.key.clone();
    tokio::task::spawn_blocking(move || {
        let what = format!("pack {}", id.short());
        pack::read_header(&key, &data, &what)
    })
    .await
    .map_err(crate::Error::task)?
}
