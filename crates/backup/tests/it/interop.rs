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

/// `restic ls --json latest` as sorted (path, type) pairs.
fn restic_ls(restic: &std::path::Path, dir: &std::path::Path) -> Vec<(String, String)> {
    let (ok, out, err) = run_restic(restic, dir, &["ls", "--json", "latest"]);
    assert!(ok, "restic ls failed:\n{err}");
    let mut v: Vec<(String, String)> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["struct_type"] == "node")
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_string(),
                v["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excludes_and_files_from_select_what_restic_selects() {
    use thinledger_backup::{FilesFrom, backup_paths, read_exclude_file, read_files_from};
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (file, body) in [
        ("top.tmp", "x"),
        ("keep.txt", "x"),
        ("a/b/c/deep.tmp", "x"),
        ("a/b/c/deep.txt", "x"),
        ("a/b/skip/inside.txt", "x"),
        ("a/B/Skip/inside.txt", "case differs"),
        ("a/names with  spaces/x.Tmp", "x"),
        ("a/names with  spaces/y.txt", "x"),
        (
            "a/.cache/CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55",
        ),
        ("a/.cache/sub/blob", "x"),
        ("anchored/gone.txt", "x"),
        ("z/anchored/kept.txt", "only /…/data/anchored is anchored"),
        ("[literal]/x.txt", "x"),
        ("unlisted/x.txt", "x"),
    ] {
        let p = data.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let d = data.display();
    let list = tmp.path().join("list");
    std::fs::write(
        &list,
        format!("# targets\n{d}/a\n{d}/*.t*\n{d}/anchored\n{d}/z\n{d}/\\[literal]\n"),
    )
    .unwrap();
    let exclude_file = tmp.path().join("excludes");
    std::fs::write(
        &exclude_file,
        format!("# anchored at the root, and ** across directories\n{d}/anchored\nb/**/skip\n"),
    )
    .unwrap();
    let iexclude = "*.TMP".to_string();

    let ours = tmp.path().join("ours");
    let repo = init_local(&ours).await;
    let mut excludes = vec!["*.tmp".to_string()];
    excludes.extend(read_exclude_file(&exclude_file).unwrap());
    let opts = BackupOptions::default()
        .with_excludes(excludes.clone())
        .with_iexcludes([iexclude.clone()])
        .with_exclude_caches(true);
    let paths = read_files_from(&list, FilesFrom::Globbed).unwrap();
    backup_paths(&repo, &paths, &opts).await.unwrap();

    let theirs = tmp.path().join("theirs");
    let (ok, _, err) = run_restic(&restic, &theirs, &["init"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run_restic(
        &restic,
        &theirs,
        &[
            "backup",
            "--exclude",
            "*.tmp",
            "--exclude-file",
            exclude_file.to_str().unwrap(),
            "--iexclude",
            &iexclude,
            "--exclude-caches",
            "--files-from",
            list.to_str().unwrap(),
        ],
    );
    assert!(ok, "restic backup failed:\n{out}\n{err}");

    let listed = restic_ls(&restic, &ours);
    assert_eq!(listed, restic_ls(&restic, &theirs));
    let names: Vec<&str> = listed
        .iter()
        .filter_map(|(p, _)| p.strip_prefix(&format!("{d}/")))
        .collect();
    for kept in [
        "a/.cache/CACHEDIR.TAG",
        "a/B/Skip/inside.txt",
        "a/names with  spaces/y.txt",
        "keep.txt",
        "z/anchored/kept.txt",
        "[literal]/x.txt",
    ] {
        assert!(names.contains(&kept), "{kept} missing from {names:?}");
    }
    for gone in [
        "a/.cache/sub",
        "a/b/skip",
        "anchored",
        "top.tmp",
        "unlisted",
    ] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    // The snapshot records the exclude patterns: ours all of them, restic 0.14 only those
    // of `--exclude` (the file's patterns, appended after them, it leaves out).
    let excl = |dir: &std::path::Path| {
        let (ok, out, err) = run_restic(&restic, dir, &["snapshots", "--json"]);
        assert!(ok, "{err}");
        let v = serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["excludes"].clone();
        serde_json::from_value::<Vec<String>>(v).unwrap()
    };
    assert_eq!(excl(&ours), excludes);
    assert!(excludes.starts_with(&excl(&theirs)), "{:?}", excl(&theirs));
}
