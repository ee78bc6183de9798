//! Interop with Debian's restic 0.14 on a local folder, both directions.

use thinledger_backup::{BackupOptions, backup_reader, dump};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_checks_and_restores_our_repository() {
    let Some(restic) = restic() else { return };
    let (setup, repo) = Setup::with_repo().await;
    let (src, dir) = (&setup.src, &setup.dir);
    setup.backup(&repo, &BackupOptions::default()).await;
    std::fs::write(src.join("sub/new.txt"), text(100_000, 3)).unwrap();
    setup.backup(&repo, &BackupOptions::default()).await;
    let piped = text(1_500_000, 8);
    backup_reader(
        &repo,
        std::io::Cursor::new(piped.clone()),
        "export.sql",
        &BackupOptions::default(),
    )
    .await
    .unwrap();

    assert_restic_checks(&restic, dir);

    let (ok, out, err) = run_restic(&restic, dir, &["snapshots", "--json"]);
    assert!(ok, "{err}");
    let snaps: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 3);

    let target = setup.path("restic-restore");
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
        dir,
        &["restore", &second, "--target", target.to_str().unwrap()],
    );
    assert!(ok, "restic restore failed:\n{out}\n{err}");
    assert_same_tree(src, &under(&target, src));

    let (ok, out, err) = run_restic(&restic, dir, &["dump", "latest", "/export.sql"]);
    assert!(ok, "{err}");
    assert!(
        out.as_bytes() == piped.as_slice(),
        "restic dump of our stdin snapshot differs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_open_list_and_restore_a_restic_repository() {
    let Some(restic) = restic() else { return };
    let setup = Setup::without_repo();
    let (src, dir) = (&setup.src, &setup.dir);
    restic_init_and_backup(&restic, dir, src);

    let repo = open_local(dir).await;
    assert_eq!(repo.config().version, 2);
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].snapshot.paths, vec![src.display().to_string()]);

    let r = setup.restore_same(&repo, "latest", "ours").await;
    assert!(r.files >= 55, "{r:?}");

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
    let s = setup.backup(&repo, &BackupOptions::default()).await;
    assert_eq!(s.parent, Some(snaps[0].id));
    assert_eq!(s.files_changed, 1, "{s:?}");
    assert_restic_checks(&restic, dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_backs_up_into_our_repository() {
    let Some(restic) = restic() else { return };
    let (setup, repo) = Setup::with_repo().await;
    let (src, dir) = (&setup.src, &setup.dir);
    let ours = setup.backup(&repo, &BackupOptions::default()).await;
    let (ok, out, err) = run_restic(&restic, dir, &["backup", src.to_str().unwrap()]);
    assert!(
        ok,
        "restic backup into our repository failed:\n{out}\n{err}"
    );
    assert_restic_checks(&restic, dir);

    let repo = open_local(dir).await;
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    assert!(snaps.iter().any(|s| s.id == ours.snapshot_id));
    let theirs = snaps.iter().find(|s| s.id != ours.snapshot_id).unwrap();
    setup.restore_same(&repo, &theirs.id.to_hex(), "ours").await;
}
