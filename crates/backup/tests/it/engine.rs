//! Our engine alone on a local folder: init/open errors, backup, incremental backup, restore,
//! dump, stdin.

use std::sync::Arc;

use thinledger_backup::{
    BackupOptions, Error, ParentSelection, Password, Repository, RestoreOptions, backup_paths,
    backup_reader, dump, restore,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_open_and_their_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    assert_eq!(repo.config().version, 2);

    let again = Repository::init(local_store(&dir), "again", &password(), &init_options()).await;
    assert!(
        matches!(again, Err(Error::AlreadyInitialized { .. })),
        "{again:?}"
    );

    let wrong = Repository::open(local_store(&dir), "repo", &Password::new("nope")).await;
    let err = wrong.unwrap_err();
    assert!(matches!(err, Error::WrongPassword { keys: 1 }), "{err:?}");
    assert!(err.to_string().contains("wrong password"));
    assert!(!err.to_string().contains(PASSWORD));

    let missing = tmp.path().join("missing");
    std::fs::create_dir_all(&missing).unwrap();
    let err = Repository::open(local_store(&missing), "missing", &password())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoRepository { .. }), "{err:?}");
    assert!(err.to_string().contains("run `init`"), "{err}");

    let opened = open_local(&dir).await;
    assert_eq!(opened.config(), repo.config());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restore_incremental_and_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;

    let first = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.parent, None);
    assert!(first.files_new >= 55, "{first:?}");
    // The two identical 6 MiB files are stored once (trees add a few KiB).
    assert!(
        first.bytes_added < first.bytes_total - 6 * 1024 * 1024 + 64 * 1024,
        "{first:?}"
    );

    let out = tmp.path().join("restore1");
    let r = restore(
        &repo,
        &first.snapshot_id.to_hex(),
        "",
        &out,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_same_tree(&src, &under(&out, &src));

    // Change one file, add one: only those are read again.
    std::fs::write(src.join("hello.txt"), b"changed contents!\n").unwrap();
    std::fs::write(src.join("sub/new.txt"), text(5000, 99)).unwrap();
    let second = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert_eq!(second.parent, Some(first.snapshot_id));
    assert_eq!(second.files_changed, 1, "{second:?}");
    assert_eq!(second.files_new, 1, "{second:?}");
    assert!(second.files_unmodified >= 55, "{second:?}");
    assert_eq!(second.bytes_read, 18 + 5000, "{second:?}");

    let out2 = tmp.path().join("restore2");
    restore(&repo, "latest", "", &out2, &RestoreOptions::default())
        .await
        .unwrap();
    assert_same_tree(&src, &under(&out2, &src));

    // A sub-path restores that directory's contents.
    let out3 = tmp.path().join("restore3");
    let sub = format!("{}/sub", src.display());
    restore(&repo, "latest", &sub, &out3, &RestoreOptions::default())
        .await
        .unwrap();
    assert_same_tree(&src.join("sub"), &out3);

    let mut buf = Vec::new();
    let n = dump(
        &repo,
        "latest",
        &format!("{}/sub/deeper/log.txt", src.display()),
        &mut buf,
    )
    .await
    .unwrap();
    assert_eq!(n as usize, buf.len());
    assert_eq!(buf, std::fs::read(src.join("sub/deeper/log.txt")).unwrap());

    let missing = dump(&repo, "latest", "/no/such/file", &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::PathNotFound { .. }), "{missing:?}");

    // With no parent, everything is read, nothing new is stored.
    let opts = BackupOptions::default().with_parent(ParentSelection::None);
    let third = backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap();
    assert_eq!(third.data_blobs_added, 0, "{third:?}");
    assert_eq!(repo.snapshots().await.unwrap().len(), 3);
}

/// More directories than the walk runs ahead of the readers (32), nested four deep, with one
/// reader: every directory and file arrives, and small files with the same contents (handed
/// to the encoders in the same batch or in different ones) are stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_a_tree_wider_and_deeper_than_the_walk_ahead() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let mut dirs = vec![src.clone()];
    for _ in 0..3 {
        dirs = dirs
            .iter()
            .flat_map(|d| (0..5).map(move |i| d.join(format!("d{i}"))))
            .collect();
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap();
        }
    }
    for (n, leaf) in dirs.iter().enumerate() {
        std::fs::write(leaf.join("same.txt"), b"the same in every directory\n").unwrap();
        std::fs::write(leaf.join("also-same.txt"), b"the same in every directory\n").unwrap();
        std::fs::write(leaf.join("own.txt"), text(3000 + n, n as u64)).unwrap();
    }
    let repo = init_local(&tmp.path().join("repo")).await;
    let opts = BackupOptions::default().with_read_concurrency(1);
    let s = backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.files_new, 3 * 125, "{s:?}");
    assert_eq!(s.dirs, 1 + 5 + 25 + 125, "{s:?}");
    assert_eq!(s.data_blobs_added, 1 + 125, "{s:?}");
    let out = tmp.path().join("restore");
    restore(&repo, "latest", "", &out, &RestoreOptions::default())
        .await
        .unwrap();
    assert_same_tree(&src, &under(&out, &src));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_backup_and_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    let data = [text(2 * 1024 * 1024, 5), noise(3 * 1024 * 1024, 6)].concat();
    let s = backup_reader(
        &repo,
        std::io::Cursor::new(data.clone()),
        "db.sql",
        &BackupOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(s.paths, vec!["/db.sql".to_string()]);
    assert_eq!(s.bytes_read, data.len() as u64);
    let mut out = Vec::new();
    dump(&repo, &s.snapshot_id.short(), "/db.sql", &mut out)
        .await
        .unwrap();
    assert!(out == data);

    let bad = backup_reader(&repo, tokio::io::empty(), "../x", &BackupOptions::default())
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("stdin-filename"), "{bad}");
    let _ = Arc::clone(&repo);
}
