//! Interop with Debian's restic 0.14 on a local folder, both directions.

use thinledger_backup::{
    BackupOptions, RestoreOptions, backup_paths, backup_reader, dump, restore,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_checks_and_restores_our_repository() {
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    std::fs::write(src.join("sub/new.txt"), text(100_000, 3)).unwrap();
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let piped = text(1_500_000, 8);
    backup_reader(
        &repo,
        std::io::Cursor::new(piped.clone()),
        "export.sql",
        &BackupOptions::default(),
    )
    .await
    .unwrap();

    let (ok, out, err) = run_restic(&restic, &dir, &["check", "--read-data"]);
    assert!(ok, "restic check failed:\n{out}\n{err}");
    assert!(out.contains("no errors were found"), "{out}\n{err}");

    let (ok, out, err) = run_restic(&restic, &dir, &["snapshots", "--json"]);
    assert!(ok, "{err}");
    let snaps: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 3);

    let target = tmp.path().join("restic-restore");
    let latest_dir = snaps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["paths"][0] != "/export.sql")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // restic 0.14 picks "latest" by time; restore the directory snapshot by id.
    let second = snaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["paths"][0] != "/export.sql")
        .max_by_key(|s| s["time"].as_str().unwrap().to_string())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = latest_dir;
    let (ok, out, err) = run_restic(
        &restic,
        &dir,
        &["restore", &second, "--target", target.to_str().unwrap()],
    );
    assert!(ok, "restic restore failed:\n{out}\n{err}");
    assert_same_tree(&src, &under(&target, &src));

    let (ok, out, err) = run_restic(&restic, &dir, &["dump", "latest", "/export.sql"]);
    assert!(ok, "{err}");
    assert!(
        out.as_bytes() == piped.as_slice(),
        "restic dump of our stdin snapshot differs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_open_list_and_restore_a_restic_repository() {
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dir = tmp.path().join("repo");
    let (ok, _, err) = run_restic(&restic, &dir, &["init"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run_restic(&restic, &dir, &["backup", src.to_str().unwrap()]);
    assert!(ok, "{err}");

    let repo = open_local(&dir).await;
    assert_eq!(repo.config().version, 2);
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].snapshot.paths, vec![src.display().to_string()]);

    let out = tmp.path().join("ours");
    let r = restore(&repo, "latest", "", &out, &RestoreOptions::default())
        .await
        .unwrap();
    assert!(r.files >= 55, "{r:?}");
    assert_same_tree(&src, &under(&out, &src));

    let mut buf = Vec::new();
    dump(
        &repo,
        "latest",
        &format!("{}/sub/big.bin", src.display()),
        &mut buf,
    )
    .await
    .unwrap();
    assert!(buf == std::fs::read(src.join("sub/big.bin")).unwrap());

    // Our backup into restic's repository, with restic's snapshot as parent, then restic checks.
    std::fs::write(src.join("hello.txt"), b"edited by a test\n").unwrap();
    let s = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert_eq!(s.parent, Some(snaps[0].id));
    assert_eq!(s.files_changed, 1, "{s:?}");
    let (ok, out, err) = run_restic(&restic, &dir, &["check", "--read-data"]);
    assert!(ok && out.contains("no errors were found"), "{out}\n{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_backs_up_into_our_repository() {
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    let ours = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let (ok, out, err) = run_restic(&restic, &dir, &["backup", src.to_str().unwrap()]);
    assert!(
        ok,
        "restic backup into our repository failed:\n{out}\n{err}"
    );
    let (ok, out, err) = run_restic(&restic, &dir, &["check", "--read-data"]);
    assert!(ok && out.contains("no errors were found"), "{out}\n{err}");

    let repo = open_local(&dir).await;
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    assert!(snaps.iter().any(|s| s.id == ours.snapshot_id));
    let target = tmp.path().join("ours");
    restore(
        &repo,
        &snaps
            .iter()
            .find(|s| s.id != ours.snapshot_id)
            .unwrap()
            .id
            .to_hex(),
        "",
        &target,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_same_tree(&src, &under(&target, &src));
}
