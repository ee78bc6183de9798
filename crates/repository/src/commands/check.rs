//! Check: the index against the packs, every snapshot's trees against the index, and
//! optionally the packs' bytes (hash, header, every blob's MAC and hash).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::index::{BlobKey, BlobLocation};
use crate::repo::pack::{self, BlobType, PackedBlob};
use crate::repo::stray::{LooseMode, StrayFile};
use crate::repo::tree::NodeType;
use crate::{Error, Result};

/// How much pack data `check` downloads and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum ReadData {
    /// Structure only.
    #[default]
    None,
    /// Every pack.
    All,
    /// A random share of the packs, in percent (0 < p ≤ 100).
    Percent(f64),
}

impl ReadData {
    /// A random share of the packs, refused unless above 0 and at most 100 percent.
    pub fn percent(p: f64) -> Result<Self> {
        if p > 0.0 && p <= 100.0 {
            Ok(Self::Percent(p))
        } else {
            Err(subset_error(format!("{p}%")))
        }
    }
}

/// restic's `--read-data-subset` percentage form: `10%` (or `10`), `2.5%`.
impl std::str::FromStr for ReadData {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
        match number.parse::<f64>() {
            Ok(p) => Self::percent(p),
            Err(_) => Err(subset_error(text.to_owned())),
        }
    }
}

fn subset_error(value: String) -> Error {
    Error::InvalidInput {
        field: "read-data-subset",
        value,
        rule: "must be a percentage above 0 and at most 100, e.g. `10%`".into(),
    }
}

/// Knobs of a check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Data reading.
    pub read_data: ReadData,
    /// Packs read at once.
    pub concurrency: usize,
}

impl CheckOptions {
    /// Sets `read_data`: how much pack data to read and verify.
    pub fn with_read_data(mut self, read_data: ReadData) -> Self {
        self.read_data = read_data;
        self
    }

    /// Sets `concurrency`: packs read at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            read_data: ReadData::None,
            concurrency: 4,
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Snapshots checked.
    pub snapshots: usize,
    /// Distinct trees checked.
    pub trees: usize,
    /// Packs named by the index.
    pub packs: usize,
    /// Distinct blobs in the index.
    pub blobs: usize,
    /// Packs whose data was read.
    pub packs_read: usize,
    /// Packs in the store that no index names (left by an interrupted backup; `prune` removes
    /// them). Not an error.
    pub unreferenced_packs: Vec<Id>,
    /// Temporary upload files (`name#N`) left by interrupted writes, with their sizes (a local
    /// folder's are found only with [`Repository::with_local_root`]). Not an error: `prune`
    /// removes those untouched for as long as a lock takes to go stale (30 minutes).
    pub temporary_files: Vec<StrayFile>,
    /// Files that are not part of the repository's layout. Not an error; never removed.
    pub unknown_files: Vec<StrayFile>,
    /// Local files and directories others may access (repository modes are 0400 and 0700).
    /// Not an error; `chmod -R go-rwx FOLDER` tightens them.
    pub loose_modes: Vec<LooseMode>,
    /// Problems: any entry here means the repository is damaged.
    pub errors: Vec<String>,
}

impl CheckReport {
    /// Whether no errors were found.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks a repository. Takes a shared lock.
pub async fn check(repo: &Arc<Repository>, opts: &CheckOptions) -> Result<CheckReport> {
    repo.locked(false, check_locked(repo, opts)).await
}

async fn check_locked(repo: &Arc<Repository>, opts: &CheckOptions) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    // Snapshots before the index (restic's read order).
    let snapshots = repo.snapshots().await?;
    let (files, damaged) = repo.load_index_files_tolerant().await?;
    for p in damaged {
        report.errors.push(format!(
            "index {}: {} (read-only commands skip it; `repair index` rebuilds the index from the packs)",
            p.id.short(),
            p.error
        ));
    }
    let stored: HashMap<Id, u64> = repo.stored_packs().await?;

    // Pack -> blobs as the index files describe them.
    let mut by_pack: HashMap<Id, Vec<PackedBlob>> = HashMap::new();
    for (index_id, f) in &files {
        for p in &f.packs {
            let blobs = p.packed_blobs();
            if let Some(prev) = by_pack.get(&p.id) {
                if *prev != blobs {
                    report.errors.push(format!(
                        "pack {}: index {} lists different blobs than another index file",
                        p.id.short(),
                        index_id.short()
                    ));
                }
            } else {
                by_pack.insert(p.id, blobs);
            }
        }
    }
    report.packs = by_pack.len();
    report.blobs = repo.with_index(|i| i.len());
    for (id, blobs) in &by_pack {
        match stored.get(id) {
            None => report.errors.push(format!(
                "pack {}: named by the index but missing from the store",
                id.short()
            )),
            Some(size) if *size != pack::pack_size(blobs) => report.errors.push(format!(
                "pack {}: size {} in the store, {} expected from the index",
                id.short(),
                size,
                pack::pack_size(blobs)
            )),
            Some(_) => {}
        }
    }
    let mut unref: Vec<Id> = stored
        .keys()
        .filter(|id| !by_pack.contains_key(id))
        .copied()
        .collect();
    unref.sort();
    report.unreferenced_packs = unref;
    let strays = repo.scan_strays().await?;
    report.temporary_files = strays.temporary;
    report.unknown_files = strays.unknown;
    report.loose_modes = strays.loose_modes;

    // Trees reachable from snapshots.
    report.snapshots = snapshots.len();
    let mut seen: HashSet<Id> = HashSet::new();
    let mut stack: Vec<(Id, String)> = snapshots
        .iter()
        .map(|s| (s.snapshot.tree, format!("snapshot {}", s.id.short())))
        .collect();
    while let Some((tid, from)) = stack.pop() {
        if !seen.insert(tid) {
            continue;
        }
        let tree = match repo.load_tree(&tid).await {
            Ok(t) => t,
            Err(e) => {
                report
                    .errors
                    .push(format!("tree {} (from {from}): {e}", tid.short()));
                continue;
            }
        };
        // Two entries of one name make a restore ambiguous (and were used to write outside
        // the restore target), so they are damage even though every blob is intact.
        for problem in tree.name_problems() {
            report
                .errors
                .push(format!("tree {} (from {from}): {problem}", tid.short()));
        }
        for node in &tree.nodes {
            match node.node_type {
                NodeType::File => match &node.content {
                    None => report.errors.push(format!(
                        "tree {}: file {:?} has no content list",
                        tid.short(),
                        node.name
                    )),
                    Some(ids) => {
                        for b in ids {
                            let key = BlobKey {
                                id: *b,
                                ty: BlobType::Data,
                            };
                            if !repo.with_index(|i| i.contains(&key)) {
                                report.errors.push(format!(
                                    "tree {}: file {:?} needs data blob {} which is not in the index",
                                    tid.short(),
                                    node.name,
                                    b.short()
                                ));
                            }
                        }
                    }
                },
                NodeType::Dir => match node.subtree {
                    Some(s) => stack.push((s, format!("tree {}", tid.short()))),
                    None => report.errors.push(format!(
                        "tree {}: directory {:?} has no subtree",
                        tid.short(),
                        node.name
                    )),
                },
                _ => {}
            }
        }
    }
    report.trees = seen.len();

    // Pack data.
    let mut to_read: Vec<Id> = by_pack
        .keys()
        .filter(|id| stored.contains_key(id))
        .copied()
        .collect();
    to_read.sort();
    match opts.read_data {
        ReadData::None => to_read.clear(),
        ReadData::All => {}
        ReadData::Percent(p) => {
            // A `Percent` built directly (not through `ReadData::percent`) is checked here.
            ReadData::percent(p)?;
            let n = ((to_read.len() as f64) * p / 100.0).ceil() as usize;
            let mut salt = [0u8; 16];
            crate::repo::crypto::fill_random(&mut salt)?;
            to_read.sort_by_key(|id| Id::hash(&[salt.as_slice(), id.as_bytes()].concat()));
            to_read.truncate(n.max(1));
        }
    }
    report.packs_read = to_read.len();
    let results: Vec<Vec<String>> = futures::stream::iter(to_read)
        .map(|id| {
            let expected = by_pack.get(&id).cloned().unwrap_or_default();
            async move { verify_pack(repo, id, expected).await }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    for r in results {
        report.errors.extend(r);
    }
    tracing::info!(
        snapshots = report.snapshots,
        trees = report.trees,
        packs = report.packs,
        packs_read = report.packs_read,
        errors = report.errors.len(),
        "check finished"
    );
    Ok(report)
}

/// Downloads a pack and verifies its hash, header (against the index) and every blob.
async fn verify_pack(repo: &Arc<Repository>, id: Id, expected: Vec<PackedBlob>) -> Vec<String> {
    let data = match repo.backend.get(FileType::Pack, &id).await {
        Ok(d) => d,
        Err(e) => return vec![format!("pack {}: {e}", id.short())],
    };
    let key = repo.key.clone();
    let res = tokio::task::spawn_blocking(move || {
        let mut errors = Vec::new();
        let what = format!("pack {}", id.short());
        if Id::hash(&data) != id {
            errors.push(format!("{what}: content does not match its name (SHA-256)"));
            return errors;
        }
        let header = match pack::read_header(&key, &data, &what) {
            Ok(h) => h,
            Err(e) => {
                errors.push(e.to_string());
                return errors;
            }
        };
        let mut a = header.clone();
        let mut b = expected;
        a.sort_by_key(|x| x.offset);
        b.sort_by_key(|x| x.offset);
        if a != b {
            errors.push(format!("{what}: header and index disagree about its blobs"));
        }
        for blob in &header {
            let loc = BlobLocation {
                pack: id,
                offset: blob.offset,
                length: blob.length,
                uncompressed_length: blob.uncompressed_length,
            };
            let enc = &data[blob.offset as usize..(blob.offset + blob.length) as usize];
            if let Err(e) = crate::repo::decode_blob_with(&key, &blob.id, &loc, enc) {
                errors.push(e.to_string());
            }
        }
        errors
    })
    .await;
    res.unwrap_or_else(|e| vec![format!("pack {}: {e}", id.short())])
}

#[cfg(test)]
mod read_data_tests {
    use super::ReadData;

    #[rstest::rstest]
    #[case("10%", Some(10.0))]
    #[case("10", Some(10.0))]
    #[case(" 2.5% ", Some(2.5))]
    #[case("100%", Some(100.0))]
    #[case("0%", None)]
    #[case("-5%", None)]
    #[case("100.1%", None)]
    #[case("NaN", None)]
    #[case("ten%", None)]
    #[case("", None)]
    fn read_data_subset_text(#[case] text: &str, #[case] expected: Option<f64>) {
        match (text.parse::<ReadData>(), expected) {
            (Ok(ReadData::Percent(p)), Some(e)) => assert_eq!(p, e, "{text}"),
            (Err(e), None) => {
                let message = e.to_string();
                assert!(message.contains("read-data-subset"), "{message}");
                assert!(message.contains("e.g. `10%`"), "{message}");
            }
            (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
    }
}
