//! Repository hygiene: private modes on a local folder, leftover temporary upload files,
//! damaged index files, `--no-lock` on a repository nobody may write, duplicate names.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thinledger_backup::{
    BackupOptions, CheckOptions, Error, Node, NodeType, PruneOptions, Repository, RestoreOptions,
    SaverOptions, Tree, backup_paths, check, prune, restore,
};

use crate::common::*;

/// Opens the local repository in `dir` with its folder known (as the CLI does).
async fn open_rooted(dir: &Path) -> Arc<Repository> {
    let repo = Repository::open(local_store(dir), dir.display().to_string(), &password())
        .await
        .unwrap()
        .with_local_root(dir);
    Arc::new(repo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_repository_files_are_private_and_check_reports_loose_modes() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    setup.backup(&repo, &BackupOptions::default()).await;

    // Created by the first write: the folder and everything in it.
    let mut all = vec![dir.clone()];
    all.extend(entries_under(dir));
    let (mut files, mut dirs) = (0, 0);
    for p in &all {
        let m = std::fs::metadata(p).unwrap();
        if m.is_dir() {
            assert_eq!(m.mode() & 0o7777, 0o700, "{}", p.display());
            dirs += 1;
        } else {
            assert_eq!(m.mode() & 0o7777, 0o400, "{}", p.display());
            files += 1;
        }
    }
    assert!(dirs >= 5 && files >= 4, "{dirs} dirs, {files} files");
    let key = first_entry(&dir.join("keys"));
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o400);

    let repo = open_rooted(dir).await;
    let clean = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        clean.is_ok() && clean.loose_modes.is_empty() && clean.unknown_files.is_empty(),
        "{clean:?}"
    );

    // An existing repository with looser modes is reported, not changed.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(dir.join("index"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let loose = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        loose.is_ok(),
        "loose modes are not damage: {:?}",
        loose.errors
    );
    let mut paths: Vec<(String, u32)> = loose
        .loose_modes
        .iter()
        .map(|m| (m.path.clone(), m.mode))
        .collect();
    paths.sort();
    let key_rel = format!("keys/{}", key.file_name().unwrap().to_string_lossy());
    assert_eq!(paths, vec![("index".to_string(), 0o755), (key_rel, 0o644)]);
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o644);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_temporary_files_are_reported_by_check_and_removed_by_prune() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    setup.backup(&repo, &BackupOptions::default()).await;

    // What a kill during an upload leaves: the store's temporary `<pack>#1` next to where the
    // pack would have gone (object_store's local store writes there, then links it in place).
    let pack_dir = first_entry(&dir.join("data"));
    let prefix = pack_dir.file_name().unwrap().to_string_lossy().into_owned();
    let temp_name = format!("{prefix}{}#1", "7".repeat(62));
    let temp = pack_dir.join(&temp_name);
    std::fs::write(&temp, noise(3 * 1024 * 1024 + 5, 9)).unwrap();
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "mine, not the repository's\n").unwrap();
    let temp_rel = format!("data/{prefix}/{temp_name}");

    let repo = open_rooted(dir).await;
    let report = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.temporary_files.len(), 1, "{report:?}");
    assert_eq!(report.temporary_files[0].path, temp_rel);
    assert_eq!(report.temporary_files[0].size, 3 * 1024 * 1024 + 5);
    assert_eq!(report.unknown_files.len(), 1, "{report:?}");
    assert_eq!(report.unknown_files[0].path, "notes.txt");

    // Young: a writer whose lock went stale might still own it, so prune keeps it.
    let plan = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert!(plan.temporary_files.is_empty(), "{plan:?}");
    assert_eq!(plan.temporary_files_kept.len(), 1);
    assert!(temp.exists());

    // Untouched for longer than the margin: a dry run names it, a real run removes it.
    let old = SystemTime::now() - Duration::from_secs(31 * 60);
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let dry = prune(&repo, &PruneOptions::default().with_dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.temporary_files.len(), 1, "{dry:?}");
    assert!(temp.exists());
    let done = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert_eq!(done.temporary_files.len(), 1, "{done:?}");
    assert!(!temp.exists());
    assert!(notes.exists(), "unknown files are never removed");
    let after = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        after.is_ok() && after.temporary_files.is_empty(),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_index_file_is_skipped_by_readers_reported_by_check_and_refused_by_prune() {
    let (setup, repo) = Setup::with_repo().await;
    let (src, dir) = (&setup.src, &setup.dir);
    let first = backup_paths(&repo, &[src.join("sub/deeper")], &BackupOptions::default())
        .await
        .unwrap();
    let before: Vec<PathBuf> = std::fs::read_dir(dir.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::write(src.join("new.bin"), noise(2 * 1024 * 1024, 77)).unwrap();
    setup.backup(&repo, &BackupOptions::default()).await;
    // Damage the second backup's index files (the first one's data stays described).
    let mut damaged = Vec::new();
    for e in std::fs::read_dir(dir.join("index")).unwrap() {
        let p = e.unwrap().path();
        if !before.contains(&p) {
            flip_middle_byte(&p, 0x01);
            damaged.push(p.file_name().unwrap().to_string_lossy()[..8].to_string());
        }
    }
    assert!(!damaged.is_empty());

    // A restore of untouched data works.
    let repo = open_rooted(dir).await;
    let target = setup.path("restored");
    restore(
        &repo,
        &first.snapshot_id.to_hex(),
        "",
        &target,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_same_tree(
        &src.join("sub/deeper"),
        &under(&target, &src.join("sub/deeper")),
    );

    // check: an error naming the index file.
    let report = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(!report.is_ok());
    for d in &damaged {
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.starts_with(&format!("index {d}")) && e.contains("repair index")),
            "{:?}",
            report.errors
        );
    }

    // prune: refuses, and deletes nothing.
    let packs_before = files_under(&dir.join("data")).len();
    let err = prune(&repo, &PruneOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("refuses"), "{err}");
    assert_eq!(files_under(&dir.join("data")).len(), packs_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lock_reads_without_writing_and_refuses_exclusive_operations() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    let snap = setup.backup(&repo, &BackupOptions::default()).await;
    drop(repo);

    // Every write fails (FailAfterPuts with no writes allowed): as root, mode bits would not
    // stop one, so the store refuses instead. The CLI test uses a real read-only folder.
    let ro = FailAfterPuts::open(dir, 0, "").await;
    let locked = check(&ro, &CheckOptions::default()).await.unwrap_err();
    assert!(locked.to_string().contains("injected failure"), "{locked}");

    let ro = Arc::new(
        Arc::try_unwrap(FailAfterPuts::open(dir, 0, "").await)
            .unwrap()
            .with_no_lock(),
    );
    let report = check_all(&ro).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    setup
        .restore_same(&ro, &snap.snapshot_id.to_hex(), "restored")
        .await;
    assert!(
        std::fs::read_dir(dir.join("locks"))
            .unwrap()
            .next()
            .is_none(),
        "no lock file was written"
    );

    let err = prune(&ro, &PruneOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "no-lock",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_two_entries_of_one_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    repo.load_index().await.unwrap();

    // A crafted tree written with the engine: a symlink and a directory both called `x`.
    let saver = thinledger_backup::raw::BlobSaver::new(Arc::clone(&repo), SaverOptions::default());
    let empty_id = save_tree(&saver, &Tree::default()).await;
    let mut link = Node::new("x", NodeType::Symlink);
    link.linktarget = "/outside".into();
    let mut sub = Node::new("x", NodeType::Dir);
    sub.subtree = Some(empty_id);
    let root = Tree {
        nodes: vec![link, sub],
    };
    let root_id = save_tree(&saver, &root).await;
    saver.finish().await.unwrap();
    save_crafted_snapshot(&repo, root_id, "2026-01-01T00:00:00Z").await;

    let report = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains(&root_id.short()) && e.contains("entries are named \"x\"")),
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_pack_is_repaired_by_repair_index_repair_snapshots_and_the_next_backup() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    let small =
        BackupOptions::default().with_saver(SaverOptions::default().with_pack_size(256 * 1024));
    setup.backup(&repo, &small).await;

    // Lose one pack of file data.
    let lost = lose_a_data_pack(&repo, dir).await;
    let repo = open_rooted(dir).await;
    let before = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        before
            .errors
            .iter()
            .any(|e| e.contains("missing from the store")),
        "{:?}",
        before.errors
    );

    // repair index: the lost pack's entries go; nothing else changes.
    let dry = thinledger_backup::repair_index(
        &repo,
        &thinledger_backup::RepairIndexOptions::default().with_dry_run(true),
    )
    .await
    .unwrap();
    assert!(!dry.applied && dry.packs_missing == vec![lost], "{dry:?}");
    let fixed = thinledger_backup::repair_index(&repo, &Default::default())
        .await
        .unwrap();
    assert!(
        fixed.applied && fixed.packs_missing == vec![lost],
        "{fixed:?}"
    );
    assert!(fixed.packs_read.is_empty() && fixed.packs_unreadable.is_empty());
    let after_index = check(&repo, &CheckOptions::default()).await.unwrap();
    assert!(
        !after_index.errors.is_empty()
            && after_index
                .errors
                .iter()
                .all(|e| e.contains("which is not in the index")),
        "only the snapshot's missing blobs remain: {:?}",
        after_index.errors
    );

    // repair snapshots: a dry run writes nothing; then the damaged snapshot is replaced.
    let snaps_before = repo.snapshots().await.unwrap();
    let dry = thinledger_backup::repair_snapshots(
        &repo,
        &thinledger_backup::RepairSnapshotsOptions::default()
            .with_dry_run(true)
            .with_forget(true),
    )
    .await
    .unwrap();
    assert!(!dry.applied && dry.repaired.len() == 1, "{dry:?}");
    assert!(!dry.repaired[0].files_truncated.is_empty(), "{dry:?}");
    assert_eq!(repo.snapshots().await.unwrap(), snaps_before);
    let done = thinledger_backup::repair_snapshots(
        &repo,
        &thinledger_backup::RepairSnapshotsOptions::default()
            .with_dry_run(false)
            .with_forget(true),
    )
    .await
    .unwrap();
    assert!(done.applied && done.repaired[0].forgotten, "{done:?}");
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].snapshot.original, Some(snaps_before[0].id));
    assert!(snaps[0].snapshot.tags.contains(&"repaired".to_string()));
    let clean = check_all(&repo).await;
    assert!(clean.is_ok(), "{:?}", clean.errors);
    // restic agrees that the repaired repository is whole.
    assert_restic_checks_if_installed(dir);

    // The next backup stores the lost data again (the repaired files differ from the parent).
    let again = setup.backup(&repo, &small).await;
    assert!(again.data_blobs_added > 0, "{again:?}");
    setup
        .restore_same(&repo, &again.snapshot_id.to_hex(), "restored")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_does_not_refer_to_blobs_whose_pack_is_gone() {
    let (setup, repo) = Setup::with_repo().await;
    let dir = &setup.dir;
    setup.backup(&repo, &BackupOptions::default()).await;
    lose_a_data_pack(&repo, dir).await;

    // No repair first: the backup itself notices the pack is gone and stores the data again.
    let repo = open_local(dir).await;
    let again = setup.backup(&repo, &BackupOptions::default()).await;
    assert!(again.data_blobs_added > 0, "{again:?}");
    setup
        .restore_same(&repo, &again.snapshot_id.to_hex(), "restored")
        .await;
}
