//! Check: the index against the packs, every snapshot's trees against the index, and
//! optionally the packs' bytes (hash, header, every blob's MAC and hash).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::crypto::Key;
use crate::repo::id::Id;
use crate::repo::index::BlobKey;
use crate::repo::pack::{self, BlobType, PackedBlob};
use crate::repo::retained::{RetentionFinding, shortfalls};
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
    /// Immutable repositories: objects whose retention is shorter than the recorded policy
    /// (written with a shorter retain-until date, or none), which could be deleted before the
    /// policy's date. Each one fails the check, as an error does.
    pub retention_findings: Vec<RetentionFinding>,
    /// Problems: any entry here means the repository is damaged.
    pub errors: Vec<String>,
}

impl CheckReport {
    /// Whether no errors and no retention findings were found.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty() && self.retention_findings.is_empty()
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
    // The parsed index files are not needed past this point (`by_pack` and the repository's
    // index hold what check uses).
    drop(files);
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
    if let Some(Some(lock)) = &repo.object_lock {
        report.retention_findings = retention_findings(repo, lock, &stored).await?;
    }
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
    let pool: ScratchPool = Arc::default();
    let results: Vec<Vec<String>> = futures::stream::iter(to_read)
        .map(|id| {
            let expected = by_pack.get(&id).cloned().unwrap_or_default();
            let pool = &pool;
            async move { verify_pack(repo, id, expected, pool).await }
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

/// Every object of the repository but its lock files, compared with the policy.
async fn retention_findings(
    repo: &Repository,
    lock: &thinledger_store::ObjectLock,
    stored: &HashMap<Id, u64>,
) -> Result<Vec<RetentionFinding>> {
    // The config's name is fixed: any id stands for it.
    let mut objects = vec![(FileType::Config, Id::hash(b""))];
    for ty in [FileType::Key, FileType::Snapshot, FileType::Index] {
        objects.extend(
            repo.list_files(ty)
                .await?
                .into_iter()
                .map(|(id, _)| (ty, id)),
        );
    }
    objects.extend(stored.keys().map(|id| (FileType::Pack, *id)));
    shortfalls(lock, objects).await
}

/// Buffers a pack check reuses from one pack to the next: the blob being checked, its
/// decompressed plaintext, the bytes after the last blob (the header) and a decompression
/// context. A check keeps one set per pack it reads at once, so its memory is a blob per
/// reader, not a pack per reader, and is allocated once instead of per pack (freed
/// multi-megabyte buffers would otherwise stay cached in the allocator's per-thread heaps).
#[derive(Default)]
struct Scratch {
    blob: Vec<u8>,
    plain: Vec<u8>,
    tail: Vec<u8>,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

/// The bytes after a pack's last indexed blob are normally just its header; a larger buffer
/// (a damaged index) is not kept for the next pack.
const TAIL_KEEP: usize = 1024 * 1024;

type ScratchPool = Arc<Mutex<Vec<Scratch>>>;

/// Reads a pack once, front to back, and verifies its hash, every blob and its header.
async fn verify_pack(
    repo: &Arc<Repository>,
    id: Id,
    expected: Vec<PackedBlob>,
    pool: &ScratchPool,
) -> Vec<String> {
    let (reader, size) = match repo.backend.open_sequential(FileType::Pack, &id).await {
        Ok(r) => r,
        Err(e) => return vec![format!("pack {}: {e}", id.short())],
    };
    let key = repo.key.clone();
    let pool = Arc::clone(pool);
    let res = tokio::task::spawn_blocking(move || {
        let mut scratch = lock(&pool).pop().unwrap_or_default();
        let errors = verify_pack_stream(&key, id, size, reader, expected, &mut scratch);
        if scratch.tail.capacity() > TAIL_KEEP {
            scratch.tail = Vec::new();
        }
        lock(&pool).push(scratch);
        errors
    })
    .await;
    res.unwrap_or_else(|e| vec![format!("pack {}: {e}", id.short())])
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Verifies a pack of `size` bytes read from `rd` in one pass, as restic does: every byte is
/// hashed for the pack's id, each blob the index places in it is checked (MAC, decompression,
/// plaintext hash) as it goes by, and the bytes after the last blob hold the header, which must
/// list what the index lists. Holds one blob at a time.
fn verify_pack_stream(
    key: &Key,
    id: Id,
    size: u64,
    mut rd: impl Read,
    mut expected: Vec<PackedBlob>,
    s: &mut Scratch,
) -> Vec<String> {
    let what = format!("pack {}", id.short());
    let mut errors = Vec::new();
    let mut hasher = Sha256::new();
    let mut pos = 0u64;
    expected.sort_by_key(|b| b.offset);
    for b in &expected {
        let start = u64::from(b.offset);
        let end = start + u64::from(b.length);
        if start < pos || end > size {
            errors.push(format!(
                "{what}: the index places {} blob {} at bytes {start}..{end}, overlapping another blob or past the pack's {size} bytes",
                b.ty,
                b.id.short()
            ));
            continue;
        }
        s.blob.clear();
        let read = copy_hashed(&mut rd, start - pos, &mut hasher, &mut s.blob).and_then(|()| {
            s.blob.clear();
            s.blob.resize(b.length as usize, 0);
            rd.read_exact(&mut s.blob)
        });
        if let Err(e) = read {
            errors.push(format!("{what}: reading: {e}"));
            return errors;
        }
        hasher.update(&s.blob);
        pos = end;
        if let Err(e) = check_blob(key, &id, b, s) {
            errors.push(e.to_string());
        }
    }
    // What follows the last blob: the header and its length.
    s.tail.clear();
    if let Err(e) = (&mut rd).take(size - pos).read_to_end(&mut s.tail) {
        errors.push(format!("{what}: reading: {e}"));
        return errors;
    }
    hasher.update(&s.tail);
    let read = pos + s.tail.len() as u64;
    if read != size {
        errors.push(format!("{what}: {read} bytes read, the store lists {size}"));
        return errors;
    }
    if Id::from_bytes(hasher.finalize().into()) != id {
        errors.insert(
            0,
            format!("{what}: content does not match its name (SHA-256)"),
        );
        return errors;
    }
    match pack::read_header_at_end(key, &s.tail, size, &what) {
        Ok(mut header) => {
            header.sort_by_key(|x| x.offset);
            if header != expected {
                errors.push(format!("{what}: header and index disagree about its blobs"));
            }
        }
        Err(e) => errors.push(e.to_string()),
    }
    errors
}

/// Reads `n` bytes of `rd` into the hash only (bytes between blobs), through `buf`.
fn copy_hashed(
    rd: &mut impl Read,
    n: u64,
    hasher: &mut Sha256,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut left = n;
    buf.resize(64 * 1024, 0);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        rd.read_exact(&mut buf[..want])?;
        hasher.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(())
}

/// Checks the blob in `s.blob` (as stored): MAC, decompression and the plaintext's hash.
/// Decrypts in place and decompresses into `s.plain`, reusing both buffers.
fn check_blob(key: &Key, pack: &Id, b: &PackedBlob, s: &mut Scratch) -> Result<()> {
    let what = || format!("blob {} in pack {}", b.id.short(), pack.short());
    let plain = key
        .decrypt_in_place(&mut s.blob)
        .map_err(|e| Error::corrupt(what(), e.to_string()))?;
    let plain: &[u8] = match b.uncompressed_length {
        None => plain,
        Some(n) => {
            let zstd = match &mut s.zstd {
                Some(z) => z,
                None => s.zstd.insert(
                    zstd::bulk::Decompressor::new()
                        .map_err(|e| Error::corrupt(what(), format!("zstd: {e}")))?,
                ),
            };
            s.plain.clear();
            s.plain.reserve(n as usize);
            zstd.decompress_to_buffer(&*plain, &mut s.plain)
                .map_err(|e| Error::corrupt(what(), format!("zstd: {e}")))?;
            &s.plain
        }
    };
    if Id::hash(plain) != b.id {
        return Err(Error::corrupt(
            what(),
            "content does not match its id (SHA-256)",
        ));
    }
    Ok(())
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

#[cfg(test)]
mod pack_tests {
    use super::*;
    use crate::repo::pack::PackBuilder;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// A pack of `n` data blobs of `len` bytes, every other one compressed, and a tree blob.
    fn pack(key: &Key, n: usize, len: usize) -> crate::repo::pack::FinishedPack {
        let mut p = PackBuilder::new(n * (len + 64) + 4096);
        for i in 0..n {
            let plain = if i % 2 == 0 {
                noise(len, i as u64)
            } else {
                b"ledger line\n".repeat(len / 12)
            };
            let id = Id::hash(&plain);
            if i % 2 == 0 {
                p.add_encrypting(key, BlobType::Data, id, &plain, None)
                    .unwrap();
            } else {
                let z = zstd::bulk::compress(&plain, 3).unwrap();
                p.add_encrypting(key, BlobType::Data, id, &z, Some(plain.len() as u32))
                    .unwrap();
            }
        }
        let tree = br#"{"nodes":[]}"#;
        p.add_encrypting(key, BlobType::Tree, Id::hash(tree), tree, None)
            .unwrap();
        p.finish(key).unwrap()
    }

    fn verify(key: &Key, data: &[u8], id: Id, expected: Vec<PackedBlob>) -> (Vec<String>, Scratch) {
        let mut s = Scratch::default();
        let errors = verify_pack_stream(
            key,
            id,
            data.len() as u64,
            std::io::Cursor::new(data),
            expected,
            &mut s,
        );
        (errors, s)
    }

    #[test]
    fn a_sound_pack_passes_and_only_one_blob_is_held_at_a_time() {
        let key = Key::random().unwrap();
        let blob = 64 * 1024;
        let done = pack(&key, 32, blob);
        assert!(done.data.len() > 16 * blob);
        let (errors, s) = verify(&key, &done.data, done.id, done.blobs.clone());
        assert!(errors.is_empty(), "{errors:?}");
        // The memory bound: buffers the size of a blob, not of the 2 MiB pack.
        for (name, cap) in [
            ("blob", s.blob.capacity()),
            ("plain", s.plain.capacity()),
            ("tail", s.tail.capacity()),
        ] {
            assert!(cap <= 2 * blob, "{name} buffer holds {cap} bytes");
        }
    }

    #[test]
    fn a_damaged_blob_is_named_with_the_pack() {
        let key = Key::random().unwrap();
        let done = pack(&key, 4, 4096);
        let mut data = done.data.to_vec();
        let victim = done.blobs[1];
        data[(victim.offset + victim.length / 2) as usize] ^= 0x40;
        let (errors, _) = verify(&key, &data, done.id, done.blobs.clone());
        assert!(errors[0].contains("does not match its name"), "{errors:?}");
        let named = format!("blob {} in pack {}", victim.id.short(), done.id.short());
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&named) && e.contains("MAC")),
            "{errors:?}"
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn an_index_that_disagrees_with_the_header_is_reported() {
        let key = Key::random().unwrap();
        let done = pack(&key, 4, 4096);
        // The index forgets the middle blob: its bytes are still hashed, the header disagrees.
        let mut missing = done.blobs.clone();
        missing.remove(2);
        let (errors, _) = verify(&key, &done.data, done.id, missing);
        assert_eq!(
            errors,
            vec![format!(
                "pack {}: header and index disagree about its blobs",
                done.id.short()
            )]
        );
        // The index forgets the last blob: the header is found after it all the same.
        let mut last = done.blobs.clone();
        last.pop();
        let (errors, _) = verify(&key, &done.data, done.id, last);
        assert_eq!(errors.len(), 1, "{errors:?}");
        // The index places a blob past the pack's end.
        let mut beyond = done.blobs.clone();
        beyond[0].offset = done.data.len() as u32;
        let (errors, _) = verify(&key, &done.data, done.id, beyond);
        assert!(
            errors.iter().any(|e| e.contains("past the pack's")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_short_pack_is_reported_not_misread() {
        let key = Key::random().unwrap();
        let done = pack(&key, 2, 4096);
        let mut s = Scratch::default();
        let short = &done.data[..done.data.len() - 10];
        let errors = verify_pack_stream(
            &key,
            done.id,
            done.data.len() as u64,
            std::io::Cursor::new(short),
            done.blobs.clone(),
            &mut s,
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("bytes read"), "{errors:?}");
    }
}
