//! A running backup's progress: what is done (the archiver counts), what there is in total (a
//! scan that walks the paths ahead of the archiver, as restic's scanner does), the files being
//! read, and from these the share done and the time left.
//!
//! The scan only lists directories and reads metadata (no file data), on its own blocking
//! thread; the backup never waits for it and stops it when it finishes first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::select::{Selection, rejected_by_tags};

/// Live state of a running backup, shared between the backup and a display.
///
/// Attach one with [`BackupOptions::with_progress`](crate::BackupOptions::with_progress); the
/// backup then also scans the paths ahead of itself to fill in the totals. Read it at any time
/// with [`BackupProgress::status`]:
///
/// ```
/// use thinledger_repository::BackupProgress;
///
/// let progress = BackupProgress::default();
/// let status = progress.status();
/// assert_eq!((status.files_done, status.total_files, status.percent_done), (0, 0, 0.0));
/// assert_eq!(status.seconds_remaining, None); // nothing scanned yet: no estimate
/// ```
#[derive(Debug, Default)]
pub struct BackupProgress {
    /// Files finished.
    pub files: AtomicU64,
    /// Directories finished.
    pub dirs: AtomicU64,
    /// File bytes finished (read, or unchanged and skipped).
    pub bytes: AtomicU64,
    /// Entries that could not be read.
    pub errors: AtomicU64,
    total_files: AtomicU64,
    total_dirs: AtomicU64,
    total_bytes: AtomicU64,
    scan_finished: AtomicBool,
    /// Files being read now.
    current: Mutex<BTreeSet<PathBuf>>,
    started: OnceLock<Instant>,
}

/// One reading of a backup's progress: the fields (and names) of restic's `--json` status
/// lines, without the `message_type` a display adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BackupStatus {
    /// Whole seconds since the backup started.
    pub seconds_elapsed: u64,
    /// Estimated seconds left: known once the scan has finished and some data is done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_remaining: Option<u64>,
    /// Share done, from 0.0 to 1.0 (restic's convention): of the bytes, or of the files when
    /// all files are empty. While the scan runs the total is still growing.
    pub percent_done: f64,
    /// Files found by the scan so far.
    pub total_files: u64,
    /// Files finished (read, or unchanged and skipped).
    pub files_done: u64,
    /// Directories found by the scan so far.
    pub total_dirs: u64,
    /// Directories finished.
    pub dirs_done: u64,
    /// File bytes found by the scan so far.
    pub total_bytes: u64,
    /// File bytes finished.
    pub bytes_done: u64,
    /// Entries that could not be read.
    pub error_count: u64,
    /// Whether the totals are final.
    pub scan_finished: bool,
    /// Files being read now, sorted.
    pub current_files: Vec<String>,
}

impl BackupProgress {
    /// The state now.
    pub fn status(&self) -> BackupStatus {
        let elapsed = self.started.get().map_or(Duration::ZERO, Instant::elapsed);
        self.status_after(elapsed)
    }

    /// The state, taking `elapsed` as the time since the backup started.
    pub fn status_after(&self, elapsed: Duration) -> BackupStatus {
        let files_done = self.files.load(Ordering::Relaxed);
        let bytes_done = self.bytes.load(Ordering::Relaxed);
        let total_files = self.total_files.load(Ordering::Relaxed);
        let total_bytes = self.total_bytes.load(Ordering::Relaxed);
        let scan_finished = self.scan_finished.load(Ordering::Acquire);
        let (done, total) = if total_bytes > 0 {
            (bytes_done, total_bytes)
        } else {
            (files_done, total_files)
        };
        BackupStatus {
            seconds_elapsed: elapsed.as_secs(),
            seconds_remaining: if scan_finished {
                remaining(elapsed, done, total).map(|d| d.as_secs())
            } else {
                None
            },
            percent_done: fraction(done, total),
            total_files,
            files_done,
            total_dirs: self.total_dirs.load(Ordering::Relaxed),
            dirs_done: self.dirs.load(Ordering::Relaxed),
            total_bytes,
            bytes_done,
            error_count: self.errors.load(Ordering::Relaxed),
            scan_finished,
            current_files: self
                .current
                .lock()
                .map(|c| c.iter().map(|p| p.display().to_string()).collect())
                .unwrap_or_default(),
        }
    }

    /// Marks the start (the first call counts): elapsed time is measured from here.
    pub(crate) fn begin(&self) {
        self.started.get_or_init(Instant::now);
    }

    /// A file is being read until the guard is dropped.
    pub(crate) fn reading(&self, path: &Path) -> Reading<'_> {
        if let Ok(mut c) = self.current.lock() {
            c.insert(path.to_path_buf());
        }
        Reading {
            progress: self,
            path: path.to_path_buf(),
        }
    }

    /// The totals are final: the scan has finished, or the backup has (then the totals are
    /// what it did, so a display ends at 100%).
    fn finish_scan(&self) {
        self.scan_finished.store(true, Ordering::Release);
    }

    /// Sets the totals to what the backup did, once it is done (the scan may have been
    /// stopped early, or files may have grown since it saw them).
    pub(crate) fn finish(&self) {
        for (total, done) in [
            (&self.total_files, &self.files),
            (&self.total_dirs, &self.dirs),
            (&self.total_bytes, &self.bytes),
        ] {
            total.store(done.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        if let Ok(mut c) = self.current.lock() {
            c.clear();
        }
        self.finish_scan();
    }
}

/// Removes a file from the files being read when dropped.
pub(crate) struct Reading<'a> {
    progress: &'a BackupProgress,
    path: PathBuf,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = self.progress.current.lock() {
            c.remove(&self.path);
        }
    }
}

/// `done / total`, at most 1 (files grow, and the scan can lag behind), 0 without a total.
fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).min(1.0)
    }
}

/// Time left at the rate so far (restic's estimate): `elapsed × (total − done) / done`.
/// Unknown before anything is done.
fn remaining(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if done == 0 || total == 0 {
        return None;
    }
    let left = total.saturating_sub(done);
    Some(elapsed.mul_f64(left as f64 / done as f64))
}

/// A scan running beside the backup; stopped when dropped (the backup never waits for it).
pub(crate) struct Scan {
    stop: Arc<AtomicBool>,
}

impl Scan {
    /// Starts walking `paths` (absolute) on a blocking thread, adding what it finds to the
    /// totals of `progress`; what `select` leaves out is not counted, as the backup skips it.
    pub(crate) fn start(
        paths: Vec<PathBuf>,
        select: Selection,
        progress: Arc<BackupProgress>,
    ) -> Scan {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        // Not awaited: dropping the handle detaches the thread, which ends at the stop flag.
        drop(tokio::task::spawn_blocking(move || {
            let totals = Totals {
                progress: &progress,
                select: &select,
                stop: &flag,
            };
            for p in &paths {
                if select.excludes_path(p) || select.excluded_by_tag(p) {
                    continue;
                }
                if !totals.walk(p) {
                    return;
                }
            }
            progress.finish_scan();
        }));
        Scan { stop }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Totals<'a> {
    progress: &'a BackupProgress,
    select: &'a Selection,
    stop: &'a AtomicBool,
}

impl Totals<'_> {
    /// Counts `path` and what is under it as the backup will see it (symlinks not followed,
    /// unreadable entries skipped: the backup reports those). False when stopped.
    fn walk(&self, path: &Path) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return true;
        };
        let p = self.progress;
        if meta.is_file() {
            p.total_files.fetch_add(1, Ordering::Relaxed);
            p.total_bytes.fetch_add(meta.len(), Ordering::Relaxed);
        } else if meta.is_dir() {
            p.total_dirs.fetch_add(1, Ordering::Relaxed);
            let Ok(entries) = std::fs::read_dir(path) else {
                return true;
            };
            let tags = self.select.tags_in(path);
            for e in entries.flatten() {
                if self.select.excludes_path(&e.path()) || rejected_by_tags(&tags, &e.file_name()) {
                    continue;
                }
                // The entry's own metadata (no extra lookup by path) for files.
                match e.file_type() {
                    Ok(t) if t.is_dir() && !self.walk(&e.path()) => return false,
                    Ok(t) if t.is_file() => {
                        if let Ok(m) = e.metadata() {
                            p.total_files.fetch_add(1, Ordering::Relaxed);
                            p.total_bytes.fetch_add(m.len(), Ordering::Relaxed);
                        }
                    }
                    _ => {} // directories walked above; links and devices hold no data
                }
                if self.stop.load(Ordering::Relaxed) {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::nothing_done(Duration::from_secs(10), 0, 100, None)]
    #[case::no_total(Duration::from_secs(10), 5, 0, None)]
    #[case::half(Duration::from_secs(10), 50, 100, Some(Duration::from_secs(10)))]
    #[case::quarter(Duration::from_secs(10), 25, 100, Some(Duration::from_secs(30)))]
    #[case::done(Duration::from_secs(10), 100, 100, Some(Duration::ZERO))]
    #[case::beyond(Duration::from_secs(10), 120, 100, Some(Duration::ZERO))]
    fn time_left_is_the_rate_so_far(
        #[case] elapsed: Duration,
        #[case] done: u64,
        #[case] total: u64,
        #[case] expected: Option<Duration>,
    ) {
        assert_eq!(remaining(elapsed, done, total), expected);
    }

    #[rstest]
    #[case(0, 0, 0.0)]
    #[case(0, 10, 0.0)]
    #[case(5, 10, 0.5)]
    #[case(15, 10, 1.0)]
    fn the_share_done_stays_within_0_and_1(
        #[case] done: u64,
        #[case] total: u64,
        #[case] expected: f64,
    ) {
        assert_eq!(fraction(done, total), expected);
    }

    #[test]
    fn status_gives_an_estimate_only_once_the_totals_are_final() {
        let p = BackupProgress::default();
        p.total_files.store(4, Ordering::Relaxed);
        p.total_bytes.store(1000, Ordering::Relaxed);
        p.files.store(1, Ordering::Relaxed);
        p.bytes.store(250, Ordering::Relaxed);
        let s = p.status_after(Duration::from_secs(5));
        assert_eq!(s.percent_done, 0.25);
        assert_eq!(s.seconds_remaining, None, "scan still running");
        p.finish_scan();
        let s = p.status_after(Duration::from_secs(5));
        assert_eq!(s.seconds_remaining, Some(15));
        assert_eq!((s.files_done, s.total_files), (1, 4));
    }

    #[test]
    fn empty_files_count_by_files() {
        let p = BackupProgress::default();
        p.total_files.store(4, Ordering::Relaxed);
        p.files.store(3, Ordering::Relaxed);
        assert_eq!(p.status_after(Duration::ZERO).percent_done, 0.75);
    }

    #[test]
    fn files_being_read_are_listed_until_their_guard_drops() {
        let p = BackupProgress::default();
        let a = p.reading(Path::new("/srv/b"));
        let b = p.reading(Path::new("/srv/a"));
        assert_eq!(p.status().current_files, ["/srv/a", "/srv/b"]);
        drop(a);
        assert_eq!(p.status().current_files, ["/srv/a"]);
        drop(b);
        assert!(p.status().current_files.is_empty());
    }

    #[test]
    fn finishing_makes_the_totals_what_was_done() {
        let p = BackupProgress::default();
        p.total_files.store(10, Ordering::Relaxed);
        p.total_bytes.store(10, Ordering::Relaxed);
        p.files.store(9, Ordering::Relaxed);
        p.bytes.store(12, Ordering::Relaxed);
        p.finish();
        let s = p.status_after(Duration::from_secs(3));
        assert_eq!((s.total_files, s.total_bytes, s.percent_done), (9, 12, 1.0));
        assert_eq!(s.seconds_remaining, Some(0));
        assert!(s.scan_finished);
    }

    #[tokio::test]
    async fn the_scan_counts_files_dirs_and_bytes_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/one"), [0u8; 100]).unwrap();
        std::fs::write(root.join("a/b/two"), [0u8; 20]).unwrap();
        std::fs::write(root.join("three"), b"").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("link")).unwrap();
        let progress = Arc::new(BackupProgress::default());
        let _scan = Scan::start(
            vec![root.to_path_buf(), root.join("missing")],
            Selection::default(),
            Arc::clone(&progress),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !progress.status().scan_finished {
            assert!(Instant::now() < deadline, "scan did not finish");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let s = progress.status();
        assert_eq!((s.total_files, s.total_dirs, s.total_bytes), (3, 3, 120));
    }

    #[tokio::test]
    async fn a_backup_ends_at_100_percent_with_the_totals_of_what_it_did() {
        use crate::{BackupOptions, InitOptions, KdfParams, Password, Repository, backup_paths};
        let dir = tempfile::tempdir().unwrap();
        for i in 0..30 {
            let d = dir.path().join(format!("d{}", i % 3));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("f{i}")), vec![i as u8; 1000 * i]).unwrap();
        }
        let store = Arc::new(object_store::memory::InMemory::new());
        let options = InitOptions::default().with_kdf(KdfParams {
            n: 1024,
            r: 8,
            p: 1,
        });
        let repo = Repository::init(store, "memory://", &Password::new("pw"), &options)
            .await
            .unwrap();
        let progress = Arc::new(BackupProgress::default());
        let opts = BackupOptions::default().with_progress(Arc::clone(&progress));
        let summary = backup_paths(&Arc::new(repo), &[dir.path().to_path_buf()], &opts)
            .await
            .unwrap();
        let s = progress.status();
        assert_eq!(s.percent_done, 1.0);
        assert!(s.scan_finished && s.current_files.is_empty());
        assert_eq!((s.files_done, s.total_files), (30, 30));
        assert_eq!(s.bytes_done, summary.bytes_total);
        assert_eq!(s.total_bytes, (0..30).map(|i| 1000 * i as u64).sum::<u64>());
        assert_eq!(s.seconds_remaining, Some(0));
    }

    #[tokio::test]
    async fn a_dropped_scan_stops_without_finishing() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..200 {
            std::fs::create_dir_all(dir.path().join(format!("d{i}/e"))).unwrap();
        }
        let progress = Arc::new(BackupProgress::default());
        let stop = {
            let scan = Scan::start(
                vec![dir.path().to_path_buf()],
                Selection::default(),
                Arc::clone(&progress),
            );
            Arc::clone(&scan.stop)
        };
        assert!(stop.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Whether it got anywhere depends on scheduling; a stopped scan never claims to be final.
        assert!(!progress.status().scan_finished || progress.status().total_dirs == 401);
    }
}
