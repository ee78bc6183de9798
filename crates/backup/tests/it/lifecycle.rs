//! Crash safety (a store that fails mid-backup), check, forget, prune, copy and locks.

use std::sync::Arc;

use thinledger_backup::{
    BackupOptions, CheckOptions, Error, KeepPolicy, PruneOptions, ReadData, Repository,
    RestoreOptions, SaverOptions, apply_forget, backup_paths, check, copy, plan_forget, prune,
    restore,
};

use crate::common::*;

fn small_packs() -> BackupOptions {
    // Many small packs, so the failure lands in the middle of the uploads.
    BackupOptions::default().with_saver(SaverOptions::default().with_pack_size(256 * 1024))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_backup_leaves_a_consistent_repository() {
    let (setup, good) = Setup::with_repo().await;
    let (src, dir) = (&setup.src, &setup.dir);
    let first = backup_paths(&good, &[src.join("sub/deeper")], &BackupOptions::default())
        .await
        .unwrap();

    // Fail after a few writes: the lock, and some packs.
    let repo = FailAfterPuts::open(dir, 6, "").await;
    let err = backup_paths(&repo, std::slice::from_ref(src), &small_packs())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    drop(repo);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    // No new snapshot; what exists is complete; leftovers are reported, not errors.
    let repo = open_local(dir).await;
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(
        snaps.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![first.snapshot_id]
    );
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(
        !report.unreferenced_packs.is_empty(),
        "the failed backup left no packs? {report:?}"
    );
    assert_restic_checks_if_installed(dir);

    // The next backup succeeds and restores; prune removes the leftovers.
    let again = setup.backup(&repo, &small_packs()).await;
    setup
        .restore_same(&repo, &again.snapshot_id.to_hex(), "restored")
        .await;
    let plan = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert!(
        plan.applied && !plan.unreferenced_packs.is_empty(),
        "{plan:?}"
    );
    let report = check_all(&repo).await;
    assert!(
        report.is_ok() && report.unreferenced_packs.is_empty(),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_damage() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    setup.backup(&repo, &BackupOptions::default()).await;
    let clean = check(
        &repo,
        &CheckOptions::default().with_read_data(ReadData::Percent(50.0)),
    )
    .await
    .unwrap();
    assert!(clean.is_ok() && clean.packs_read >= 1, "{clean:?}");

    // Flip one byte in the middle of the largest pack.
    let mut packs = files_under(&dir.join("data"));
    packs.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let victim = packs.last().unwrap();
    flip_middle_byte(victim, 0x40);

    let structure = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        structure.is_ok(),
        "structure alone cannot see a flipped data byte"
    );
    let full = check_all(&repo).await;
    assert!(!full.is_ok());
    assert!(
        full.errors
            .iter()
            .any(|e| e.contains("does not match its name")),
        "{:?}",
        full.errors
    );

    // A pack deleted behind our back is a structural error.
    std::fs::remove_file(victim).unwrap();
    let missing = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        missing
            .errors
            .iter()
            .any(|e| e.contains("missing from the store")),
        "{:?}",
        missing.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_then_prune_frees_space_and_keeps_the_rest_restorable() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    let mut ids = Vec::new();
    for i in 0..3 {
        // Each backup has its own big file, so forgetting a snapshot frees its data.
        std::fs::write(
            setup.src.join("rotating.bin"),
            noise(2 * 1024 * 1024, 100 + i),
        )
        .unwrap();
        ids.push(setup.backup(&repo, &small_packs()).await.snapshot_id);
    }
    let snaps = repo.snapshots().await.unwrap();
    let plan = plan_forget(&snaps, KeepPolicy::default().with_last(1)).unwrap();
    assert_eq!(plan.to_remove().count(), 2);
    assert_eq!(apply_forget(&repo, &plan).await.unwrap(), 2);
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);

    let dry = prune(&repo, &PruneOptions::default().with_dry_run(true))
        .await
        .unwrap();
    assert!(
        !dry.applied && (!dry.packs_to_delete.is_empty() || !dry.packs_to_repack.is_empty()),
        "{dry:?}"
    );
    let before: u64 = files_under(&dir.join("data"))
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let done = prune(&repo, &PruneOptions::default().with_max_unused_percent(0.0))
        .await
        .unwrap();
    assert!(done.applied);
    let after: u64 = files_under(&dir.join("data"))
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        after + 3 * 1024 * 1024 < before,
        "before {before}, after {after}"
    );

    let report = check_all(&repo).await;
    assert!(
        report.is_ok() && report.unreferenced_packs.is_empty(),
        "{report:?}"
    );
    setup.restore_same(&repo, "latest", "restored").await;
    assert_restic_checks_if_installed(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_another_repository_is_incremental() {
    let setup = Setup::without_repo();
    let a = init_local(&setup.path("a")).await;
    let b = init_local(&setup.path("b")).await;
    let first = setup.backup(&a, &BackupOptions::default()).await;
    let c1 = copy(&a, &b, &[]).await.unwrap();
    assert_eq!(c1.copied.len(), 1);
    assert!(c1.bytes > 0);
    std::fs::write(setup.src.join("hello.txt"), b"after the first copy\n").unwrap();
    setup.backup(&a, &BackupOptions::default()).await;
    let c2 = copy(&a, &b, &[]).await.unwrap();
    assert_eq!(c2.copied.len(), 1);
    assert_eq!(c2.skipped, vec![first.snapshot_id]);
    assert!(c2.bytes < 1024, "only the changed file moves: {c2:?}");

    let report = check_all(&b).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    setup.restore_same(&b, "latest", "from-b").await;
    assert_restic_checks_if_installed(&setup.path("b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_conflict_like_restic_and_unlock_removes_stale_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    let shared = repo.lock(false).await.unwrap();
    let shared2 = repo.lock(false).await.unwrap();
    let err = repo.lock(true).await.unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("shared lock"), "{err}");
    shared.release().await.unwrap();
    shared2.release().await.unwrap();
    let excl = repo.lock(true).await.unwrap();
    assert!(matches!(repo.lock(false).await, Err(Error::Locked { .. })));
    excl.release().await.unwrap();
    assert!(repo.list_locks().await.unwrap().is_empty());

    // restic sees our exclusive lock and refuses to back up.
    if let Some(restic) = restic() {
        let held = repo.lock(true).await.unwrap();
        let (ok, _, err) = run_restic(&restic, &dir, &["backup", tmp.path().to_str().unwrap()]);
        assert!(!ok && err.contains("locked"), "{err}");
        held.release().await.unwrap();
        // A restic lock of a dead process on this host is stale for us.
        let (ok, _, err) = run_restic(&restic, &dir, &["check"]);
        assert!(ok, "{err}");
    }
    // A lock left behind (its holder never released it): `unlock --remove-all` removes it.
    let held = repo.lock(false).await.unwrap();
    std::mem::forget(held);
    let removed = repo.unlock(true).await.unwrap();
    assert_eq!(removed.len(), 1);
}

/// The local repository at `dir`, waiting up to `wait_ms` for a conflicting lock to go.
async fn open_waiting(dir: &std::path::Path, wait_ms: u64) -> Arc<Repository> {
    Arc::new(
        Repository::open(local_store(dir), "repo", &password())
            .await
            .unwrap()
            .with_lock_wait(std::time::Duration::from_millis(wait_ms)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_wait_takes_turns_and_gives_up_after_the_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    init_local(&dir).await;
    let backup_side = open_waiting(&dir, 0).await;
    let shared = backup_side.lock(false).await.unwrap();

    // Too short a wait: refused, naming the holder, and nothing of ours is left behind.
    let impatient = open_waiting(&dir, 1_000).await;
    let started = std::time::Instant::now();
    let err = impatient.lock(true).await.unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(impatient.list_locks().await.unwrap().len(), 1);

    // A longer wait: the exclusive lock is taken once the shared one is released.
    let patient = open_waiting(&dir, 30_000).await;
    let waiter = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let lock = patient.lock(true).await;
        (lock, started.elapsed())
    });
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert!(!waiter.is_finished(), "the exclusive lock did not wait");
    shared.release().await.unwrap();
    let (lock, waited) = waiter.await.unwrap();
    let lock = lock.unwrap();
    assert!(
        waited >= std::time::Duration::from_millis(1_500),
        "{waited:?}"
    );
    let locks = backup_side.list_locks().await.unwrap();
    assert_eq!(locks.len(), 1);
    assert!(locks[0].1.exclusive);
    lock.release().await.unwrap();
}

/// The files of one kind in a local repository (`data` counts packs in its subfolders).
fn stored(dir: &std::path::Path, kind: &str) -> usize {
    fn count(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => count(&e.path()),
                    Ok(t) if t.is_file() => 1,
                    _ => 0,
                })
                .sum()
        })
    }
    count(&dir.join(kind))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_reads_while_its_lock_is_taken_and_stores_nothing_until_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    init_local(&dir).await;
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..40 {
        std::fs::write(src.join(format!("f{i}")), noise(64 * 1024, i)).unwrap();
    }
    let pruner = open_waiting(&dir, 0).await;
    let exclusive = pruner.lock(true).await.unwrap();

    // Refused after its wait: the files were read meanwhile, yet no pack, index or snapshot
    // was stored, and no lock of the backup's is left behind.
    let impatient = open_waiting(&dir, 1_200).await;
    let err = backup_paths(&impatient, std::slice::from_ref(&src), &small_packs())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    for kind in ["data", "index", "snapshots"] {
        assert_eq!(stored(&dir, kind), 0, "{kind} written without the lock");
    }
    assert_eq!(pruner.list_locks().await.unwrap().len(), 1);

    // Given long enough, the backup completes once the exclusive lock goes, and is whole.
    let patient = open_waiting(&dir, 30_000).await;
    let backup = {
        let (repo, src) = (Arc::clone(&patient), src.clone());
        tokio::spawn(async move { backup_paths(&repo, &[src], &small_packs()).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert!(
        !backup.is_finished(),
        "the backup did not wait for the lock"
    );
    assert_eq!(stored(&dir, "data"), 0, "packs stored before the lock");
    exclusive.release().await.unwrap();
    let summary = backup.await.unwrap().unwrap();
    assert_eq!(summary.files_new, 40);
    assert!(stored(&dir, "data") > 1 && stored(&dir, "snapshots") == 1);
    assert!(patient.list_locks().await.unwrap().is_empty());
    let report = check_all(&patient).await;
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_is_refreshed_and_released() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    init_local(&dir).await;
    let repo = Arc::new(
        Repository::open(local_store(&dir), "repo", &password())
            .await
            .unwrap()
            .with_lock_refresh(std::time::Duration::from_millis(300)),
    );
    let lock = repo.lock(false).await.unwrap();
    let first = repo.list_locks().await.unwrap();
    assert_eq!(first.len(), 1);
    let mut seen = vec![first[0].0];
    let mut last_time = first[0].1.time;
    // Over ~2 s the lock is rewritten several times: a new file with a later time each
    // time, the old one removed, never two at once for long.
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = repo.list_locks().await.unwrap();
        assert!(now.len() <= 2, "old lock files are not removed: {now:?}");
        if let Some((id, l)) = now.iter().max_by_key(|(_, l)| l.time) {
            assert!(l.time >= last_time);
            if !seen.contains(id) {
                seen.push(*id);
                last_time = l.time;
            }
        }
    }
    assert!(
        seen.len() >= 4,
        "the lock was refreshed {} times",
        seen.len() - 1
    );
    assert!(last_time > first[0].1.time);
    // Refreshed locks stay live for others: an exclusive lock is still refused.
    assert!(matches!(repo.lock(true).await, Err(Error::Locked { .. })));
    lock.release().await.unwrap();
    assert!(repo.list_locks().await.unwrap().is_empty());
}

/// Fifos (and, as root, device nodes) come back as what they were, from our repository with
/// our restore and with restic's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifos_and_device_nodes_are_restored() {
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("plain"), b"x").unwrap();
    mknodat(
        CWD,
        src.join("pipe"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    // /dev/null's numbers (1, 3); only root may create device nodes.
    let null_dev = rustix::fs::makedev(1, 3);
    // Files this process creates belong to its effective user.
    let as_root = std::fs::metadata(&src).unwrap().uid() == 0;
    if as_root {
        mknodat(
            CWD,
            src.join("null"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o600),
            null_dev,
        )
        .unwrap();
    }
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let check_restored = |root: &std::path::Path| {
        let pipe = std::fs::symlink_metadata(root.join("pipe")).unwrap();
        assert!(pipe.file_type().is_fifo(), "{pipe:?}");
        assert_eq!(pipe.permissions().mode() & 0o777, 0o640);
        if as_root {
            let null = std::fs::symlink_metadata(root.join("null")).unwrap();
            assert!(null.file_type().is_char_device(), "{null:?}");
            assert_eq!(null.rdev(), null_dev);
        }
    };
    let out = tmp.path().join("ours");
    let summary = restore(&repo, "latest", "", &out, &RestoreOptions::default())
        .await
        .unwrap();
    check_restored(&under(&out, &src));
    assert_eq!(summary.specials, if as_root { 2 } else { 1 });
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    if let Some(r) = restic() {
        let theirs = tmp.path().join("theirs");
        let (ok, o, e) = run_restic(
            &r,
            &dir,
            &["restore", "latest", "--target", theirs.to_str().unwrap()],
        );
        assert!(ok, "restic restore: {o}\n{e}");
        check_restored(&under(&theirs, &src));
    }
}
