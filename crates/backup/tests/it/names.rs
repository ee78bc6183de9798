//! File names and symlink targets that are not plain UTF-8, with Debian's restic 0.14 as the
//! oracle: every name comes back as the same bytes, whoever wrote and whoever restores.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use thinledger_backup::raw::resolve_path;
use thinledger_backup::{
    BackupOptions, BlobType, NodeName, RestoreOptions, backup_paths, ls, restore,
};

use crate::common::*;

fn os(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// Names that lossy UTF-8 merges (`\xff\xfd`, `\xff\xfe`, and a symlink and a directory that
/// would both read `��`), a Latin-1 name, names Go escapes (backslash, quote, newline, tab,
/// controls, non-printable characters), and a symlink whose target is not UTF-8.
const FILES: &[&[u8]] = &[
    b"\xff\xfd",
    b"\xff\xfe",
    b"caf\xe9.txt",
    b"a\\b",
    b"q\"q",
    b"nl\nx",
    b"tab\tx",
    b"ctl\x01\x7f",
    "nb\u{a0}zw\u{200b}".as_bytes(),
    "\u{2028}".as_bytes(),
    "gr\u{fc}\u{df}e \u{1f600}".as_bytes(),
    b"back\\xff",
];
const LINK_DIR_COLLIDING: (&[u8], &[u8]) = (b"\xff\xfc", b"\xff\xfb");
const RAW_LINK: &[u8] = b"raw-link";
const RAW_TARGET: &[u8] = b"tgt\xff/x";

fn make_names(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    for (i, name) in FILES.iter().enumerate() {
        // Different contents: a merged name would restore the wrong data.
        std::fs::write(root.join(os(name)), format!("file {i}\n")).unwrap();
    }
    let (link, dir) = LINK_DIR_COLLIDING;
    std::os::unix::fs::symlink("caf\u{e9}", root.join(os(link))).unwrap();
    let d = root.join(os(dir));
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join(os(b"in\xe9")), b"inside\n").unwrap();
    std::os::unix::fs::symlink(OsStr::from_bytes(RAW_TARGET), root.join(os(RAW_LINK))).unwrap();
}

/// What restic before 0.16 (and this engine, from such a restic's tree) makes of a target
/// that is not UTF-8: U+FFFD for each bad byte, as Go's JSON encoder writes it.
fn lossy_target() -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(RAW_TARGET).into_owned())
}

/// `restored` equals `src`, except that the symlink with the non-UTF-8 target points at
/// `raw_link_target`.
fn assert_restored(src: &Path, restored: &Path, raw_link_target: &Path) {
    let link = restored.join(os(RAW_LINK));
    assert_eq!(
        std::fs::read_link(&link).unwrap().as_os_str().as_bytes(),
        raw_link_target.as_os_str().as_bytes()
    );
    if raw_link_target.as_os_str().as_bytes() != RAW_TARGET {
        // Compare the rest byte for byte: put the original target back, and the directory's
        // restored time with it.
        let mtime =
            filetime::FileTime::from_last_modification_time(&std::fs::metadata(restored).unwrap());
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(OsStr::from_bytes(RAW_TARGET), &link).unwrap();
        filetime::set_file_mtime(restored, mtime).unwrap();
    }
    assert_same_tree(src, restored);
    for name in FILES {
        let i = FILES.iter().position(|n| n == name).unwrap();
        assert_eq!(
            std::fs::read(restored.join(os(name))).unwrap(),
            format!("file {i}\n").as_bytes(),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_we_back_up_restore_exactly_with_restic_and_with_us() {
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_names(&src);
    let dir = tmp.path().join("repo");
    let repo = init_local(&dir).await;
    let s = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.files_new as usize, FILES.len() + 1, "{s:?}");

    assert_restic_checks(&restic, &dir);

    // restic 0.14 reads `linktarget` only (`linktarget_raw` is restic 0.16+).
    let target = tmp.path().join("restic-restore");
    let (ok, out, err) = run_restic(
        &restic,
        &dir,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert!(ok, "restic restore failed:\n{out}\n{err}");
    assert_restored(&src, &under(&target, &src), &lossy_target());

    let ours = tmp.path().join("ours");
    restore(&repo, "latest", "", &ours, &RestoreOptions::default())
        .await
        .unwrap();
    assert_restored(
        &src,
        &under(&ours, &src),
        Path::new(OsStr::from_bytes(RAW_TARGET)),
    );

    // The listing keeps both names that lossy text merges, and is lossless in JSON.
    let snap = repo.find_snapshot("latest").await.unwrap();
    let mut entries = Vec::new();
    ls(&repo, &snap, &src.display().to_string(), |e| {
        entries.push(e);
        Ok(())
    })
    .await
    .unwrap();
    let merged: Vec<_> = entries
        .iter()
        .filter(|e| e.path.file_name() == Some(OsStr::from_bytes(b"\xff\xfd")))
        .chain(
            entries
                .iter()
                .filter(|e| e.path.file_name() == Some(OsStr::from_bytes(b"\xff\xfe"))),
        )
        .collect();
    assert_eq!(merged.len(), 2);
    assert!(
        merged[0].display_path().ends_with(r"/\xff\xfd"),
        "{merged:?}"
    );
    let json = serde_json::to_value(merged[1]).unwrap();
    let raw = base64_decode(json["path_raw"].as_str().unwrap());
    assert_eq!(raw, merged[1].path.as_os_str().as_bytes());
    let link = entries
        .iter()
        .find(|e| e.path.ends_with(OsStr::from_bytes(RAW_LINK)))
        .unwrap();
    let json = serde_json::to_value(link).unwrap();
    assert_eq!(json["link_target"], "tgt\u{fffd}/x");
    assert_eq!(
        base64_decode(json["link_target_raw"].as_str().unwrap()),
        RAW_TARGET
    );
    assert!(json.get("path_raw").is_none(), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_restic_backs_up_restore_exactly_here() {
    let Some(restic) = restic() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_names(&src);
    let dir = tmp.path().join("repo");
    restic_init_and_backup(&restic, &dir, &src);

    let repo = open_local(&dir).await;
    let ours = tmp.path().join("ours");
    restore(&repo, "latest", "", &ours, &RestoreOptions::default())
        .await
        .unwrap();
    // restic 0.14 stored the target as text, so that is all anyone can restore.
    assert_restored(&src, &under(&ours, &src), &lossy_target());

    // The escaping is restic's to the byte: each name in restic's own tree is what we write.
    repo.load_index().await.unwrap();
    let snap = repo.find_snapshot("latest").await.unwrap();
    let node = resolve_path(&repo, &snap, &src.display().to_string())
        .await
        .unwrap()
        .unwrap();
    let raw = repo
        .load_blob(&node.subtree.unwrap(), BlobType::Tree)
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let tree = repo.load_tree(&node.subtree.unwrap()).await.unwrap();
    let theirs: Vec<&str> = stored["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    let mine: Vec<String> = tree.nodes.iter().map(|n| n.name.escaped()).collect();
    assert_eq!(theirs, mine);
    assert_eq!(theirs.len(), FILES.len() + 3);
    assert!(theirs.contains(&r"caf\xe9.txt") && theirs.contains(&r"back\\xff"));
    // And restic's order is ours: bytewise.
    let mut sorted = tree
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect::<Vec<NodeName>>();
    sorted.sort();
    assert_eq!(
        sorted,
        tree.nodes
            .iter()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
    );

    // Our backup of the same files into restic's repository: restic checks and restores it.
    std::fs::write(src.join(os(b"\xff\xfd")), b"file 0\n").unwrap();
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert_restic_checks(&restic, &dir);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
