//! PITR library tests: WAL push/fetch contract, the catalog, asynchronous pushing through a
//! spool, the recoverable window and retention, on a local repository with synthetic WAL
//! files (the end-to-end test with a real PostgreSQL and the real archive_command lives in
//! the CLI crate's tests, where the binary is built). restic (when present) checks the result.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thinledger_backup::pitr::wal::{
    self, AsyncPushOptions, Catalog, FetchOptions, FetchSource, PushOptions, PushOutcome,
};
use thinledger_backup::pitr::{PitrError, PitrResult};
use thinledger_backup::{KeepPolicy, Repository};

mod base_backup;

use crate::common::{FailAfterPuts, assert_restic_checks_if_installed, init_local, noise};

const SEG: usize = 1 << 20; // small segments keep the test fast; the size is learned

pub(crate) fn seg_name(tli: u32, segno: u64) -> String {
    // 1 MiB segments: 4096 per "log".
    format!("{tli:08X}{:08X}{:08X}", segno / 4096, segno % 4096)
}

pub(crate) fn write_seg(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, noise(SEG, seed)).unwrap();
    p
}

/// The asynchronous push's worker for cluster `main`, in this process (the CLI starts it as a
/// separate process), until it idles out.
async fn run_worker(
    repo: &Arc<Repository>,
    wal_dir: &Path,
    spool: &Path,
    opts: &AsyncPushOptions,
) -> PitrResult<wal::WorkerSummary> {
    let mut cat = Catalog::load(repo, "main", None).await.unwrap();
    let push = PushOptions::default();
    wal::run_worker(repo, &mut cat, wal_dir, spool, opts, &push).await
}

/// [`run_worker`] as a task of its own.
fn spawn_worker(
    repo: &Arc<Repository>,
    wal_dir: &Path,
    spool: &Path,
    opts: &AsyncPushOptions,
) -> tokio::task::JoinHandle<PitrResult<wal::WorkerSummary>> {
    let (repo, wal_dir, spool, opts) = (
        Arc::clone(repo),
        wal_dir.to_path_buf(),
        spool.to_path_buf(),
        opts.clone(),
    );
    tokio::spawn(async move { run_worker(&repo, &wal_dir, &spool, &opts).await })
}

/// Segments 1..=`count` of timeline 1, each marked ready for archiving as PostgreSQL does.
fn ready_segments(wal_dir: &Path, count: u64, seed: u64) -> Vec<String> {
    let names: Vec<String> = (1..=count).map(|s| seg_name(1, s)).collect();
    for (i, n) in names.iter().enumerate() {
        write_seg(wal_dir, n, seed + i as u64);
        let ready = wal_dir.join("archive_status").join(format!("{n}.ready"));
        std::fs::write(ready, b"").unwrap();
    }
    names
}

async fn setup() -> (tempfile::TempDir, Arc<Repository>, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    let wal = tmp.path().join("pg_wal");
    std::fs::create_dir_all(wal.join("archive_status")).unwrap();
    (tmp, repo, wal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_is_idempotent_refuses_conflicts_and_fetch_verifies() {
    let (tmp, repo, wal_dir) = setup().await;
    let cache = tmp.path().join("cache");
    let mut cat = Catalog::load(&repo, "main", Some(&cache)).await.unwrap();
    let names: Vec<String> = (1..=3).map(|s| seg_name(1, s)).collect();
    let paths: Vec<PathBuf> = names
        .iter()
        .enumerate()
        .map(|(i, n)| write_seg(&wal_dir, n, i as u64))
        .collect();
    let history = wal_dir.join("00000002.history");
    std::fs::write(&history, "1\t0/300000\tno recovery target specified\n").unwrap();
    let mut all = paths.clone();
    all.push(history.clone());
    let res = wal::push_batch(&repo, &mut cat, &all, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(res.len(), 4);
    assert!(
        res.iter()
            .all(|r| matches!(r.outcome, Ok(PushOutcome::Stored)))
    );
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1, "one batch, one snapshot");
    assert!(snaps[0].snapshot.tags.iter().any(|t| t == wal::WAL_TAG));

    // Identical again: success without a new snapshot, also through a fresh catalog (cache).
    let mut cat2 = Catalog::load(&repo, "main", Some(&cache)).await.unwrap();
    let res = wal::push_batch(&repo, &mut cat2, &paths[..1], &PushOptions::default())
        .await
        .unwrap();
    assert!(matches!(res[0].outcome, Ok(PushOutcome::AlreadyArchived)));
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);

    // Different content under an archived name: conflict, nothing written.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let conflicting = write_seg(&other, &names[0], 99);
    let res = wal::push_batch(&repo, &mut cat2, &[conflicting], &PushOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(res[0].outcome, Err(PitrError::Conflict { .. })),
        "{:?}",
        res[0].outcome
    );
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);

    // Bad names are refused per file.
    let bad = other.join("backup_label");
    std::fs::write(&bad, b"x").unwrap();
    let res = wal::push_batch(&repo, &mut cat2, &[bad], &PushOptions::default())
        .await
        .unwrap();
    assert!(matches!(&res[0].outcome, Err(e) if e.is_input_error()));

    // Fetch: byte for byte, with prefetch of the following segments into a spool.
    let out = tmp.path().join("restore");
    std::fs::create_dir_all(&out).unwrap();
    let spool = tmp.path().join("prefetch");
    let opts = FetchOptions::default().with_spool(&spool);
    // The first from the repository (prefetching the next two), the second from the spool.
    for (i, from) in [(0, FetchSource::Repository), (1, FetchSource::Spool)] {
        let got = wal::fetch(
            &repo,
            &mut cat2,
            &names[i],
            &out.join("RECOVERYXLOG"),
            &opts,
        )
        .await
        .unwrap();
        assert_eq!(got, from, "{}", names[i]);
        assert_eq!(
            std::fs::read(out.join("RECOVERYXLOG")).unwrap(),
            noise(SEG, i as u64)
        );
        if i == 0 {
            assert!(spool.join(&names[1]).exists() && spool.join(&names[2]).exists());
        }
    }
    wal::fetch(&repo, &mut cat2, "00000002.history", &out.join("h"), &opts)
        .await
        .unwrap();
    assert!(
        std::fs::read_to_string(out.join("h"))
            .unwrap()
            .starts_with("1\t0/300000")
    );
    // Missing: NotInArchive, and nothing written.
    let e = wal::fetch(
        &repo,
        &mut cat2,
        &seg_name(1, 9),
        &out.join("missing"),
        &opts,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PitrError::NotInArchive { .. }), "{e}");
    assert!(!out.join("missing").exists());
    assert_eq!(cat2.segment_size(), SEG as u64);

    // The spool's listing answers "missing" without the repository while it is fresh, and
    // only for this cluster and for names the archive did not hold.
    let fresh = Duration::from_secs(60);
    assert!(spool.join(wal::LISTING_FILE).exists());
    assert!(wal::known_missing(&spool, "main", &seg_name(1, 9), fresh).await);
    assert!(wal::known_missing(&spool, "main", "00000003.history", fresh).await);
    assert!(!wal::known_missing(&spool, "main", &names[0], fresh).await);
    assert!(!wal::known_missing(&spool, "main", "00000002.history", fresh).await);
    assert!(!wal::known_missing(&spool, "other-cluster", &seg_name(1, 9), fresh).await);
    assert!(!wal::known_missing(&spool, "main", &seg_name(1, 9), Duration::ZERO).await);
    assert!(!wal::known_missing(&spool, "main", "../escape", fresh).await);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(!wal::known_missing(&spool, "main", &seg_name(1, 9), Duration::from_millis(20)).await);
    // A spool seeded before recovery holds the first segments and a listing.
    let seeded = tmp.path().join("seeded");
    let first = wal::SegmentId {
        timeline: 1,
        segno: names[0]
            .parse::<wal::WalFileName>()
            .unwrap()
            .segment(SEG as u64)
            .unwrap()
            .segno,
    };
    let n = wal::seed_spool(&repo, &cat2, first, 2, &opts.clone().with_spool(&seeded)).await;
    assert_eq!(n, 2);
    for (i, name) in names[..2].iter().enumerate() {
        assert_eq!(
            std::fs::read(seeded.join(name)).unwrap(),
            noise(SEG, i as u64)
        );
    }
    assert!(!seeded.join(&names[2]).exists());
    assert!(wal::known_missing(&seeded, "main", &seg_name(1, 9), fresh).await);

    // Other clusters do not see this archive.
    let cat3 = Catalog::load(&repo, "other-cluster", None).await.unwrap();
    assert!(cat3.get(&names[0]).is_none());

    assert_restic_checks_if_installed(&tmp.path().join("repo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_push_acknowledges_only_stored_files_in_batches() {
    let (tmp, repo, wal_dir) = setup().await;
    let names = ready_segments(&wal_dir, 10, 100);
    let spool = tmp.path().join("spool");
    let opts = AsyncPushOptions::default()
        .with_idle_exit(Duration::from_millis(200))
        .with_max_batch(4)
        .with_timeout(Duration::from_secs(60));
    // The worker runs in this process (the CLI starts it as a separate process).
    let worker = spawn_worker(&repo, &wal_dir, &spool, &opts);
    let no_spawn = || Ok(());
    for n in &names {
        wal::push_async(&wal_dir.join(n), &spool, &opts, &no_spawn)
            .await
            .unwrap();
    }
    let summary = worker.await.unwrap().unwrap();
    assert_eq!(summary.stored, 10);
    assert!(summary.batches >= 3, "{summary:?}");
    // Every acknowledged file is in the repository.
    let cat = Catalog::load(&repo, "main", None).await.unwrap();
    for n in &names {
        assert!(cat.get(n).is_some(), "{n} acknowledged but not archived");
    }
    // A conflicting file is reported through an .error status, and push_async fails.
    let other = seg_name(1, 3);
    std::fs::write(wal_dir.join(&other), noise(SEG, 999)).unwrap();
    let out = spool.join("out");
    std::fs::remove_file(out.join(format!("{other}.ok"))).ok();
    let worker = spawn_worker(&repo, &wal_dir, &spool, &opts);
    let e = wal::push_async(&wal_dir.join(&other), &spool, &opts, &no_spawn)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("different content"), "{e}");
    worker.await.unwrap().unwrap();

    // An acknowledgement names the very file the worker read: one for another identity (a
    // file since replaced) is dropped, never taken for this file. No worker runs now, so
    // the push times out and PostgreSQL would retry.
    let sha_now = wal::sha256_file(&wal_dir.join(&other)).await.unwrap();
    let stale = out.join(format!("{other}.ok"));
    std::fs::remove_file(out.join(format!("{other}.error"))).ok();
    std::fs::write(&stale, format!("{sha_now} 1:2:9:0.000000000:0.000000000")).unwrap();
    let short = opts.clone().with_timeout(Duration::from_millis(300));
    let e = wal::push_async(&wal_dir.join(&other), &spool, &short, &no_spawn)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no answer"), "{e}");
    assert!(!stale.exists(), "the stale acknowledgement was kept");
    // The identity written by a worker is the file's as it is now.
    let meta = std::fs::metadata(wal_dir.join(&other)).unwrap();
    std::fs::write(&stale, format!("{sha_now} {}", wal::file_identity(&meta))).unwrap();
    wal::push_async(&wal_dir.join(&other), &spool, &short, &no_spawn)
        .await
        .unwrap();
    // An older worker's acknowledgement (SHA-256 only) is checked by hashing.
    std::fs::write(&stale, "0".repeat(64)).unwrap();
    assert!(
        wal::push_async(&wal_dir.join(&other), &spool, &short, &no_spawn)
            .await
            .is_err()
    );
    std::fs::write(&stale, &sha_now).unwrap();
    wal::push_async(&wal_dir.join(&other), &spool, &short, &no_spawn)
        .await
        .unwrap();
}

/// The worker stores one batch while it reads the next: when the store fails under a later
/// batch, no file of a batch that was not stored is acknowledged, the pushes of those files
/// fail (PostgreSQL retries them), and the retry archives every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_worker_acknowledges_nothing_of_a_failed_batch() {
    let (tmp, good, wal_dir) = setup().await;
    let names = ready_segments(&wal_dir, 12, 700);
    // The first batch's snapshot gets through, the later ones fail (after their packs and
    // index were stored, maybe while the next batch was being read).
    let repo = FailAfterPuts::open(&tmp.path().join("repo"), 1, "snapshots/").await;
    let spool = tmp.path().join("spool");
    let opts = AsyncPushOptions::default()
        .with_idle_exit(Duration::from_millis(200))
        .with_max_batch(4);
    let summary = run_worker(&repo, &wal_dir, &spool, &opts).await.unwrap();
    assert!(summary.failed > 0, "no batch failed: {summary:?}");

    let out = spool.join("out");
    let archived = Catalog::load(&good, "main", None).await.unwrap();
    let no_spawn = || Ok(());
    let mut refused = 0;
    for n in &names {
        let acked = out.join(format!("{n}.ok")).exists();
        assert_eq!(
            acked,
            archived.get(n).is_some(),
            "{n}: acknowledged {acked}, but archived {}",
            archived.get(n).is_some()
        );
        if !acked {
            refused += 1;
            assert!(
                wal::push_async(&wal_dir.join(n), &spool, &opts, &no_spawn)
                    .await
                    .is_err(),
                "{n} was not stored, yet its push succeeded"
            );
        }
    }
    assert_eq!(refused, 8, "the first batch of 4 is stored: {summary:?}");

    // PostgreSQL retries: a worker on the healthy store archives every file.
    let worker = spawn_worker(&good, &wal_dir, &spool, &opts);
    for n in &names {
        wal::push_async(&wal_dir.join(n), &spool, &opts, &no_spawn)
            .await
            .unwrap();
    }
    worker.await.unwrap().unwrap();
    let archived = Catalog::load(&good, "main", None).await.unwrap();
    for n in &names {
        let f = archived.get(n).unwrap_or_else(|| panic!("{n} lost"));
        let sha = wal::sha256_file(&wal_dir.join(n)).await.unwrap();
        assert_eq!(f.file.sha256, sha, "{n} archived with other content");
    }
    assert_restic_checks_if_installed(&tmp.path().join("repo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_wal_kept_base_backups_need() {
    let (_tmp, repo, wal_dir) = setup().await;
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
    // Segments 1..=8 in four batches of two.
    for b in 0..4u64 {
        let paths: Vec<PathBuf> = (1..=2)
            .map(|i| {
                let s = b * 2 + i;
                write_seg(&wal_dir, &seg_name(1, s), s)
            })
            .collect();
        wal::push_batch(&repo, &mut cat, &paths, &PushOptions::default())
            .await
            .unwrap();
    }
    // No base backup: no window, and retention removes no WAL.
    let w = wal::windows(&repo, &cat).await.unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].segments, 8);
    assert_eq!(w[0].earliest, None);
    let plan = wal::plan_retention(&cat, KeepPolicy::default().with_last(1)).unwrap();
    assert!(plan.remove_wal_snapshots.is_empty());
}

/// A file under a segment's name whose size is not a WAL segment size (a 0-byte or truncated
/// copy) is refused, naming the file, and nothing is stored; once segments are archived their
/// size is the rule. History files, backup labels and `.partial` segments keep their rules.
#[tokio::test]
async fn push_refuses_a_segment_of_the_wrong_size() {
    let (tmp, repo, wal_dir) = setup().await;
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
    let sized = |segno: u64, len: usize| {
        let p = wal_dir.join(seg_name(1, segno));
        std::fs::write(&p, noise(len, segno)).unwrap();
        p
    };
    let refused = [
        sized(1, 0),
        sized(2, 3 << 20),
        sized(3, 4096),
        sized(4, SEG - 512),
    ];
    let res = wal::push_batch(&repo, &mut cat, &refused, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(res.len(), refused.len());
    for (r, p) in res.iter().zip(&refused) {
        let Err(e) = &r.outcome else {
            panic!("{}: {:?}", p.display(), r.outcome)
        };
        assert!(e.is_input_error(), "{e}");
        let text = e.to_string();
        assert!(text.contains(&p.display().to_string()), "{text}");
        assert!(text.contains("not a whole segment"), "{text}");
    }
    assert!(
        repo.snapshots().await.unwrap().is_empty(),
        "something was stored"
    );

    // Whole 1 MiB segments and the small files of other kinds are archived.
    let history = wal_dir.join("00000002.history");
    std::fs::write(&history, "1\t0/300000\tno recovery target specified\n").unwrap();
    let label = wal_dir.join(format!("{}.00000028.backup", seg_name(1, 5)));
    std::fs::write(&label, "START WAL LOCATION: 0/5000028\n").unwrap();
    let partial = wal_dir.join(format!("{}.partial", seg_name(1, 6)));
    std::fs::write(&partial, noise(100, 6)).unwrap();
    let good = [sized(5, SEG), history, label, partial];
    let res = wal::push_batch(&repo, &mut cat, &good, &PushOptions::default())
        .await
        .unwrap();
    assert!(
        res.iter()
            .all(|r| matches!(r.outcome, Ok(PushOutcome::Stored))),
        "{res:?}"
    );

    // The archive's segments are 1 MiB: a 2 MiB one (a power of two) is refused now, and so
    // is an empty .partial.
    let empty_partial = wal_dir.join(format!("{}.partial", seg_name(1, 8)));
    std::fs::write(&empty_partial, b"").unwrap();
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
    let res = wal::push_batch(
        &repo,
        &mut cat,
        &[sized(7, 2 << 20), empty_partial],
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let texts: Vec<String> = res
        .iter()
        .map(|r| r.outcome.as_ref().unwrap_err().to_string())
        .collect();
    assert!(
        texts[0].contains("WAL segments are 1048576 bytes"),
        "{texts:?}"
    );
    assert!(texts[1].contains(".partial"), "{texts:?}");
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);
    drop(tmp);
}

/// `wal push --async` of a file PostgreSQL has not marked `.ready` (no archive_status entry)
/// is answered promptly: the push asks the worker for it, instead of waiting out the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_push_of_a_file_not_marked_ready_returns_promptly() {
    let (tmp, repo, wal_dir) = setup().await;
    std::fs::remove_dir_all(wal_dir.join("archive_status")).unwrap();
    let name = seg_name(1, 1);
    let path = write_seg(&wal_dir, &name, 31);
    let spool = tmp.path().join("spool");
    let opts = AsyncPushOptions::default()
        .with_idle_exit(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let worker = spawn_worker(&repo, &wal_dir, &spool, &opts);
    let no_spawn = || Ok(());
    wal::push_async(&path, &spool, &opts, &no_spawn)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "the push took {took:?}");
    let summary = worker.await.unwrap().unwrap();
    assert_eq!(summary.stored, 1, "{summary:?}");
    let cat = Catalog::load(&repo, "main", None).await.unwrap();
    let sha = wal::sha256_file(&path).await.unwrap();
    assert_eq!(cat.get(&name).map(|f| f.file.sha256.clone()), Some(sha));
    // The request is gone with the push: nothing is left for a later worker to redo.
    let requests = spool.join("in");
    assert_eq!(std::fs::read_dir(&requests).unwrap().count(), 0);
}
