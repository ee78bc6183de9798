//! Restores that must stay inside their target and be honest about damage: crafted snapshots
//! (written by this engine through its own API), links already in the target, a deleted and a
//! corrupted pack, permissions, `--overwrite` modes.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use thinledger_backup::raw::{BlobSaver, go_mode_from_unix};
use thinledger_backup::{
    BackupOptions, BlobType, Id, Node, NodeType, Overwrite, Repository, RestoreOptions,
    RestoreSummary, SaverOptions, Tree, backup_paths, restore,
};

use crate::common::*;

/// Every entry under `dir` (not following links): path, kind and content or link target.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {:o}", m.mode())
            } else {
                format!(
                    "file {:o} {:?}",
                    m.mode(),
                    Id::hash(&std::fs::read(&p).unwrap())
                )
            };
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), what);
        }
    }
    out
}

fn file_node(name: &str, blob: Id, size: u64, mode: u32) -> Node {
    let mut n = Node::new(name, NodeType::File);
    n.mode = go_mode_from_unix(0o100000 | mode);
    n.size = size;
    n.content = Some(vec![blob]);
    n.mtime = Some(chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z").unwrap());
    n
}

fn dir_node(name: &str, subtree: Id) -> Node {
    let mut n = Node::new(name, NodeType::Dir);
    n.mode = go_mode_from_unix(0o040755);
    n.subtree = Some(subtree);
    n
}

fn link_node(name: &str, target: &Path) -> Node {
    let mut n = Node::new(name, NodeType::Symlink);
    n.mode = go_mode_from_unix(0o120777);
    n.linktarget = target.to_path_buf();
    n
}

/// Stores a snapshot whose root tree holds `nodes` (built by `make` from the id and size of
/// one data blob holding `data`), exactly as given: duplicates are not removed.
async fn crafted_snapshot(
    repo: &Arc<Repository>,
    data: &[u8],
    make: impl FnOnce(Id, Id) -> Vec<Node>,
) -> Id {
    let saver = BlobSaver::new(Arc::clone(repo), SaverOptions::default());
    let blob = Id::hash(data);
    saver
        .save(BlobType::Data, blob, Bytes::copy_from_slice(data))
        .await
        .unwrap();
    let inner = save_tree(
        &saver,
        &Tree {
            nodes: vec![file_node("f", blob, data.len() as u64, 0o644)],
        },
    )
    .await;
    let root = save_tree(
        &saver,
        &Tree {
            nodes: make(blob, inner),
        },
    )
    .await;
    saver.finish().await.unwrap();
    save_crafted_snapshot(repo, root, "2026-01-02T03:04:05Z").await
}

fn error_paths(s: &RestoreSummary) -> BTreeSet<PathBuf> {
    s.errors.iter().map(|e| e.path.clone()).collect()
}

#[rstest::rstest]
#[case::link_then_dir("dir")]
#[case::link_then_file("file")]
#[case::dir_then_link("dir-first")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_snapshot_never_writes_outside_the_target(#[case] shape: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("f"), b"precious").unwrap();
    std::fs::write(outside.join("x"), b"precious too").unwrap();
    let before = fingerprint(&outside);

    let out_dir = outside.clone();
    let snap = crafted_snapshot(&repo, b"written by an attacker", |blob, inner| {
        let mut n = match shape {
            "dir" => vec![link_node("x", &out_dir), dir_node("x", inner)],
            "file" => vec![
                link_node("x", &out_dir.join("x")),
                file_node("x", blob, 22, 0o644),
            ],
            _ => vec![dir_node("x", inner), link_node("x", &out_dir)],
        };
        n.push(file_node("fine", blob, 22, 0o640));
        n
    })
    .await;

    let target = tmp.path().join("target");
    let s = restore(
        &repo,
        &snap.to_hex(),
        "",
        &target,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(fingerprint(&outside), before, "something outside changed");
    assert!(!s.is_complete());
    assert_eq!(error_paths(&s), BTreeSet::from([target.join("x")]), "{s:?}");
    let e = &s.errors[0];
    assert!(
        e.reason.contains(&snap.short()) && e.reason.contains("2 entries are named \"x\""),
        "{e:?}"
    );
    // Neither entry of that name is restored; the rest is.
    assert!(std::fs::symlink_metadata(target.join("x")).is_err());
    assert_eq!(
        std::fs::read(target.join("fine")).unwrap(),
        b"written by an attacker"
    );
    assert_eq!(s.files, 1, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_already_in_the_target_are_never_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/inner.txt"), b"inner").unwrap();
    std::fs::write(src.join("top.txt"), b"top").unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let sub = src.display().to_string();

    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim"), b"precious").unwrap();
    let before = fingerprint(&outside);
    let target = tmp.path().join("target");
    std::fs::create_dir_all(&target).unwrap();
    // A directory of the snapshot where a link to a directory outside is.
    std::os::unix::fs::symlink(&outside, target.join("sub")).unwrap();
    // A file of the snapshot where a link to a file outside is.
    std::os::unix::fs::symlink(outside.join("victim"), target.join("top.txt")).unwrap();

    let s = restore(&repo, "latest", &sub, &target, &RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(fingerprint(&outside), before, "something outside changed");
    assert_eq!(
        error_paths(&s),
        BTreeSet::from([target.join("sub")]),
        "{s:?}"
    );
    assert!(
        s.errors[0].reason.contains("symbolic link is in the way"),
        "{:?}",
        s.errors
    );
    // The link where a file belongs is replaced by the file itself.
    assert!(!target.join("top.txt").is_symlink());
    assert_eq!(std::fs::read(target.join("top.txt")).unwrap(), b"top");
    assert!(target.join("sub").is_symlink(), "the link is left alone");
}

/// Backs up 40 files of 100 KiB (one blob each) into packs of ~256 KiB.
async fn many_packs(tmp: &Path) -> (Arc<Repository>, PathBuf) {
    let src = tmp.join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..40 {
        let dir = if i % 2 == 0 {
            src.clone()
        } else {
            src.join("d")
        };
        std::fs::write(dir.join(format!("f{i:02}")), noise(100 * 1024, i)).unwrap();
    }
    std::fs::write(src.join("empty"), b"").unwrap();
    std::fs::set_permissions(src.join("f00"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(src.join("d"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let repo = init_local(&tmp.join("repo")).await;
    let opts =
        BackupOptions::default().with_saver(SaverOptions::default().with_pack_size(256 * 1024));
    let b = backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap();
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    repo.load_index().await.unwrap();
    (repo, src)
}

/// The files of the latest snapshot (paths relative to `src`) and their data blobs.
async fn files_and_blobs(repo: &Repository, src: &Path) -> BTreeMap<PathBuf, Vec<Id>> {
    let snap = repo.find_snapshot("latest").await.unwrap();
    let mut out = BTreeMap::new();
    let mut stack = vec![(snap.snapshot.tree, PathBuf::from("/"))];
    while let Some((tree, dir)) = stack.pop() {
        for n in repo.load_tree(&tree).await.unwrap().nodes {
            let p = dir.join(&n.name);
            match n.node_type {
                NodeType::Dir => stack.push((n.subtree.unwrap(), p)),
                NodeType::File => {
                    if let Ok(rel) = p.strip_prefix(src) {
                        out.insert(rel.to_path_buf(), n.content.clone().unwrap_or_default());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn pack_file(repo_dir: &Path, pack: &Id) -> PathBuf {
    let hex = pack.to_hex();
    repo_dir.join("data").join(&hex[..2]).join(hex)
}

/// Restores into a target holding an old version of every file, and checks: the damaged
/// files are exactly `damaged`, listed and left at their old content; every other file is
/// byte-identical; no temporary file is left.
async fn assert_partial_restore(
    repo: &Arc<Repository>,
    src: &Path,
    tmp: &Path,
    damaged: &BTreeSet<PathBuf>,
) {
    assert!(!damaged.is_empty());
    let target = tmp.join("target");
    let restored = under(&target, src);
    // A fresh restore: damaged files are absent.
    let s = restore(repo, "latest", "", &target, &RestoreOptions::default())
        .await
        .unwrap();
    assert!(!s.is_complete());
    let listed: BTreeSet<PathBuf> = s
        .damaged
        .iter()
        .map(|d| d.path.strip_prefix(&restored).unwrap().to_path_buf())
        .collect();
    assert_eq!(&listed, damaged, "{:?}", s.damaged);
    for d in &s.damaged {
        assert!(d.reason.contains(&s.snapshot_id.short()), "{d:?}");
        assert!(!d.path.exists(), "{} left behind", d.path.display());
    }
    for rel in files_and_blobs(repo, src).await.keys() {
        if !damaged.contains(rel) {
            assert_eq!(
                std::fs::read(restored.join(rel)).unwrap(),
                std::fs::read(src.join(rel)).unwrap(),
                "{}",
                rel.display()
            );
        }
    }
    assert_eq!(
        s.files as usize + damaged.len(),
        files_and_blobs(repo, src).await.len()
    );
    let leftovers: Vec<_> = fingerprint(&target)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".restore-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Modes are the snapshot's, directories included.
    assert_eq!(
        std::fs::metadata(restored.join("d")).unwrap().mode() & 0o7777,
        0o700
    );

    // Over existing files: a damaged file keeps its old content.
    let again = tmp.join("again");
    let again_restored = under(&again, src);
    std::fs::create_dir_all(again_restored.join("d")).unwrap();
    for rel in damaged {
        std::fs::write(again_restored.join(rel), b"old content").unwrap();
    }
    let s = restore(repo, "latest", "", &again, &RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(s.damaged.len(), damaged.len());
    for rel in damaged {
        assert_eq!(
            std::fs::read(again_restored.join(rel)).unwrap(),
            b"old content",
            "{}",
            rel.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pack_damages_exactly_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, src) = many_packs(tmp.path()).await;
    let files = files_and_blobs(&repo, &src).await;
    let (_, blobs) = files.iter().find(|(p, _)| p.ends_with("f07")).unwrap();
    let pack = repo.locate(&blobs[0], BlobType::Data).unwrap().pack;
    let damaged: BTreeSet<PathBuf> = files
        .iter()
        .filter(|(_, b)| {
            b.iter()
                .any(|id| repo.locate(id, BlobType::Data).unwrap().pack == pack)
        })
        .map(|(p, _)| p.clone())
        .collect();
    assert!(damaged.len() < files.len() - 1, "{damaged:?}");
    std::fs::remove_file(pack_file(&tmp.path().join("repo"), &pack)).unwrap();
    assert_partial_restore(&repo, &src, tmp.path(), &damaged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_blob_damages_exactly_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, src) = many_packs(tmp.path()).await;
    let files = files_and_blobs(&repo, &src).await;
    let (_, blobs) = files.iter().find(|(p, _)| p.ends_with("d/f11")).unwrap();
    let loc = repo.locate(&blobs[0], BlobType::Data).unwrap();
    let path = pack_file(&tmp.path().join("repo"), &loc.pack);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[loc.offset as usize + loc.length as usize / 2] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    let damaged: BTreeSet<PathBuf> = files
        .iter()
        .filter(|(_, b)| b.contains(&blobs[0]))
        .map(|(p, _)| p.clone())
        .collect();
    assert_partial_restore(&repo, &src, tmp.path(), &damaged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"snapshot a").unwrap();
    std::fs::write(src.join("b"), b"snapshot b").unwrap();
    std::fs::set_permissions(src.join("a"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let sub = src.display().to_string();
    let old = filetime::FileTime::from_unix_time(1_000_000_000, 0);
    let new = filetime::FileTime::from_unix_time(4_000_000_000, 0);

    let run = |mode: Overwrite, name: &'static str| {
        let repo = Arc::clone(&repo);
        let target = tmp.path().join(name);
        let sub = sub.clone();
        async move {
            restore(&repo, "latest", &sub, &target, &RestoreOptions::default())
                .await
                .unwrap();
            // `a`: same size and time as the snapshot's, other bytes and mode; `b`: changed
            // size, older (or newer) than the snapshot.
            let a = target.join("a");
            let t =
                filetime::FileTime::from_last_modification_time(&std::fs::metadata(&a).unwrap());
            std::fs::write(&a, b"SNAPSHOT A").unwrap();
            std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
            filetime::set_file_mtime(&a, t).unwrap();
            std::fs::write(target.join("b"), b"edited").unwrap();
            filetime::set_file_mtime(target.join("b"), if name == "newer" { new } else { old })
                .unwrap();
            let opts = RestoreOptions::default().with_overwrite(mode);
            let s = restore(&repo, "latest", &sub, &target, &opts)
                .await
                .unwrap();
            assert!(s.is_complete(), "{s:?}");
            let read = |n: &str| String::from_utf8(std::fs::read(target.join(n)).unwrap()).unwrap();
            let mode_a = std::fs::metadata(&a).unwrap().mode() & 0o777;
            (read("a"), mode_a, read("b"), s.files_skipped)
        }
    };
    assert_eq!(
        run(Overwrite::Always, "always").await,
        ("snapshot a".into(), 0o640, "snapshot b".into(), 0)
    );
    assert_eq!(
        run(Overwrite::IfChanged, "if-changed").await,
        ("SNAPSHOT A".into(), 0o640, "snapshot b".into(), 1),
        "same size and time: content kept, metadata set"
    );
    assert_eq!(
        run(Overwrite::Never, "never").await,
        ("SNAPSHOT A".into(), 0o600, "edited".into(), 2)
    );
    assert_eq!(
        run(Overwrite::IfNewer, "newer").await,
        ("SNAPSHOT A".into(), 0o600, "edited".into(), 2),
        "the existing files are as new or newer"
    );
    assert_eq!(
        run(Overwrite::IfNewer, "older").await,
        ("SNAPSHOT A".into(), 0o600, "snapshot b".into(), 1),
        "b is older than the snapshot's"
    );
    assert!("sometimes".parse::<Overwrite>().is_err());
    assert_eq!(
        "if-changed".parse::<Overwrite>().unwrap(),
        Overwrite::IfChanged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_made_in_place_and_replace_only_what_the_mode_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink("the-target", src.join("l")).unwrap();
    let repo = init_local(&tmp.path().join("repo")).await;
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let sub = src.display().to_string();
    let target = tmp.path().join("target");
    let l = target.join("l");
    let run = |mode: Overwrite| {
        let (repo, sub, target) = (Arc::clone(&repo), sub.clone(), target.clone());
        async move {
            let opts = RestoreOptions::default().with_overwrite(mode);
            restore(&repo, "latest", &sub, &target, &opts)
                .await
                .unwrap()
        }
    };
    let link_of = |p: &Path| std::fs::read_link(p).unwrap();

    // A fresh target: the link, with the snapshot's time.
    let s = run(Overwrite::Always).await;
    assert!(s.is_complete() && s.symlinks == 1, "{s:?}");
    assert_eq!(link_of(&l), Path::new("the-target"));
    let taken = std::fs::symlink_metadata(src.join("l")).unwrap().mtime();
    assert_eq!(std::fs::symlink_metadata(&l).unwrap().mtime(), taken);

    // Another link there: `never` keeps it, `always` replaces it.
    std::fs::remove_file(&l).unwrap();
    std::os::unix::fs::symlink("elsewhere", &l).unwrap();
    let s = run(Overwrite::Never).await;
    assert!(s.files_skipped == 1 && s.symlinks == 0, "{s:?}");
    assert_eq!(link_of(&l), Path::new("elsewhere"));
    let s = run(Overwrite::Always).await;
    assert!(s.is_complete() && s.symlinks == 1, "{s:?}");
    assert_eq!(link_of(&l), Path::new("the-target"));

    // A file there is replaced by the link (nothing is written into it); no temporary is left.
    std::fs::remove_file(&l).unwrap();
    std::fs::write(&l, b"a file").unwrap();
    let s = run(Overwrite::Always).await;
    assert!(s.is_complete() && s.symlinks == 1, "{s:?}");
    assert_eq!(link_of(&l), Path::new("the-target"));
    let names: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("l")]);

    // A directory there is left alone and reported.
    std::fs::remove_file(&l).unwrap();
    std::fs::create_dir(&l).unwrap();
    let s = run(Overwrite::Always).await;
    assert_eq!(error_paths(&s), BTreeSet::from([l.clone()]), "{s:?}");
    assert!(
        s.errors[0].reason.contains("directory is in the way"),
        "{s:?}"
    );
    assert!(l.is_dir());
}
