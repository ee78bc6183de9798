//! `dump` of a directory as a tar archive, and `copy` into a repository created with the
//! source's chunker parameters.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use thinledger_backup::{
    BackupOptions, ChunkerParams, Error, Id, ParentSelection, Polynomial, Repository, copy, dump,
};

use crate::common::*;

/// Adds what a tar needs extensions for: a path over 100 bytes, a link target over 100 bytes.
fn add_long_names(src: &Path) {
    let deep = src.join(format!("{}/{}", "d".repeat(60), "e".repeat(60)));
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("long-name.txt"), text(5000, 9)).unwrap();
    std::os::unix::fs::symlink(format!("/{}", "t".repeat(150)), deep.join("long-link")).unwrap();
}

/// Members of a tar archive: (name, uid, gid, user, group), in order.
fn members(tar_bytes: &[u8]) -> Vec<(String, u64, u64, String, String)> {
    let mut ar = tar::Archive::new(tar_bytes);
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.username().unwrap().unwrap_or_default().to_string(),
                h.groupname().unwrap().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `name` of the current user's `uid` in /etc/passwd (or /etc/group), as backup records it.
fn name_of(file: &str, id: u32) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&id.to_string().as_str())).then(|| f[0].to_string())
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_of_a_directory_is_a_tar_that_unpacks_to_the_source() {
    let setup = Setup::without_repo();
    let src = &setup.src;
    add_long_names(src);
    let repo = init_local(&setup.dir).await;
    setup.backup(&repo, &BackupOptions::default()).await;

    let mut archive = Vec::new();
    let n = dump(&repo, "latest", &src.display().to_string(), &mut archive)
        .await
        .unwrap();
    assert_eq!(n as usize, archive.len());
    assert_eq!(archive.len() % 512, 0);

    // GNU tar unpacks it (modes as stored, not the umask's) into what was backed up.
    let out = setup.path("untar");
    std::fs::create_dir_all(&out).unwrap();
    let tar_file = setup.path("dump.tar");
    std::fs::write(&tar_file, &archive).unwrap();
    let st = Command::new("tar")
        .args(["-xpf", tar_file.to_str().unwrap(), "--no-same-owner", "-C"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    // The dumped directory itself is not a member (as with restic), so compare its entries.
    let unpacked = under(&out, src);
    let mut compared = 0;
    for e in std::fs::read_dir(src).unwrap() {
        let name = e.unwrap().file_name();
        compared += thinledger_tests::tree::assert_same_tree(
            &src.join(&name),
            &unpacked.join(&name),
            thinledger_tests::tree::Compare::default(),
        );
    }
    assert!(compared >= 60, "{compared}");

    // Owners: ids and names as backed up; members named from the snapshot's root.
    let uid = std::fs::metadata(src).unwrap().uid();
    let gid = std::fs::metadata(src).unwrap().gid();
    let (user, group) = (name_of("/etc/passwd", uid), name_of("/etc/group", gid));
    let list = members(&archive);
    let prefix = src.strip_prefix("/").unwrap().display().to_string();
    for (name, u, g, un, gn) in &list {
        assert!(name.starts_with(&format!("{prefix}/")), "{name}");
        assert_eq!((*u, *g), (u64::from(uid), u64::from(gid)), "{name}");
        assert_eq!((un, gn), (&user, &group), "{name}");
    }
    assert!(list.iter().any(|m| m.0 == format!("{prefix}/sub/deeper/")));
    assert!(
        list.iter()
            .any(|m| m.0.ends_with("/long-name.txt") && m.0.len() > 100)
    );

    // A sub-directory, and the whole snapshot.
    let mut sub = Vec::new();
    dump(&repo, "latest", &format!("{}/sub", src.display()), &mut sub)
        .await
        .unwrap();
    let sub = members(&sub);
    assert_eq!(sub.first().unwrap().0, format!("{prefix}/sub/big.bin"));
    let mut all = Vec::new();
    dump(&repo, "latest", "/", &mut all).await.unwrap();
    let all = members(&all);
    assert!(all.len() > list.len());
    assert!(all.ends_with(&list[list.len() - 3..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_dump_tar_has_the_members_restic_dump_writes() {
    let Some(restic) = restic() else { return };
    let setup = Setup::without_repo();
    let src = &setup.src;
    add_long_names(src);
    let repo = init_local(&setup.dir).await;
    setup.backup(&repo, &BackupOptions::default()).await;

    let mut ours = Vec::new();
    dump(&repo, "latest", &src.display().to_string(), &mut ours)
        .await
        .unwrap();
    let out = thinledger_tests::restic::run(
        &restic,
        &setup.dir,
        PASSWORD,
        &["dump", "latest", src.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = members(&out.stdout);
    let ours = members(&ours);
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
}

/// A repository at `dir` sharing `src`'s chunker polynomial, as `init --copy-chunker-params`.
async fn init_like(src: &Repository, dir: &Path) -> std::sync::Arc<Repository> {
    let options = init_options().with_chunker_params(src.config().chunker_params());
    std::sync::Arc::new(
        Repository::init(
            local_store(dir),
            dir.display().to_string(),
            &password(),
            &options,
        )
        .await
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_into_a_repository_with_the_source_chunker_params_dedupes() {
    let (setup, repo) = Setup::with_repo().await;
    setup.backup(&repo, &BackupOptions::default()).await;

    let dst_dir = setup.path("dst");
    let dst = init_like(&repo, &dst_dir).await;
    assert_eq!(
        dst.config().chunker_polynomial,
        repo.config().chunker_polynomial
    );
    assert_ne!(dst.config().id, repo.config().id);
    let c = copy(&repo, &dst, &[]).await.unwrap();
    assert_eq!(c.copied.len(), 1);
    assert!(c.blobs > 0);
    let copied = c.copied[0].1;

    // A second snapshot of the same data: copying it moves no file data (only the trees
    // whose directories' access times changed).
    let no_parent = BackupOptions::default().with_parent(ParentSelection::None);
    setup.backup(&repo, &no_parent).await;
    let c = copy(&repo, &dst, &[]).await.unwrap();
    assert_eq!(
        (c.copied.len(), c.skipped.len(), c.bytes),
        (1, 1, 0),
        "{c:?}"
    );
    let packs = files_under(&dst_dir.join("data")).len();

    // Backing the same files up straight into the copy finds every chunk there: the
    // chunker cuts them where the source's did.
    let direct = setup.backup(&dst, &no_parent).await;
    assert_eq!(direct.data_blobs_added, 0, "{direct:?}");
    // At most a pack of trees (directories' access times change between backups).
    assert!(files_under(&dst_dir.join("data")).len() <= packs + 1);
    check_all(&dst).await;
    // restic reads a config carrying the chunker id.
    assert_restic_checks_if_installed(&dst_dir);
    setup.restore_same(&dst, &copied.short(), "x").await;

    // Without the shared polynomial the same backup stores its chunked files anew.
    let other_dir = setup.path("other");
    let other = init_local(&other_dir).await;
    copy(&repo, &other, &[]).await.unwrap();
    let direct = setup.backup(&other, &no_parent).await;
    assert!(direct.data_blobs_added > 0, "{direct:?}");
}

#[rstest::rstest]
#[case::divisible_by_x(0x3DA3358B4DC172)]
#[case::degree_52(0x1DA3358B4DC173)]
#[case::zero(0)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_refuses_a_chunker_polynomial_restic_would_not_use(#[case] poly: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let params = ChunkerParams::new(Polynomial(poly), Id::default());
    let err = Repository::init(
        local_store(tmp.path()),
        "x",
        &password(),
        &init_options().with_chunker_params(params),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidInput {
                field: "chunker_polynomial",
                ..
            }
        ),
        "{err:?}"
    );
    // restic's own test polynomial is fine.
    let params = ChunkerParams::new(Polynomial(0x3DA3358B4DC173), Id::default());
    let repo = Repository::init(
        local_store(tmp.path()),
        "x",
        &password(),
        &init_options().with_chunker_params(params),
    )
    .await
    .unwrap();
    assert_eq!(repo.config().chunker_params(), params);
}

/// The same into a cloud (the S3 emulator): init with the local source's chunker parameters,
/// copy, then a backup straight into the cloud stores no data; a dump from there is a tar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_a_new_s3_repository_with_the_source_chunker_params() {
    use crate::store::services::{self, Service};
    let (setup, repo) = Setup::with_repo().await;
    let Some(b) = services::builder(Service::S3, "copy-chunker", setup.tmp.path()) else {
        return;
    };
    let store = b.build().unwrap();
    setup.backup(&repo, &BackupOptions::default()).await;
    let options = init_options().with_chunker_params(repo.config().chunker_params());
    let dst = std::sync::Arc::new(
        Repository::init(
            store.object_store(),
            store.display_url().to_string(),
            &password(),
            &options,
        )
        .await
        .unwrap(),
    );
    let c = copy(&repo, &dst, &[]).await.unwrap();
    assert_eq!(c.copied.len(), 1);
    let no_parent = BackupOptions::default().with_parent(ParentSelection::None);
    let direct = setup.backup(&dst, &no_parent).await;
    assert_eq!(direct.data_blobs_added, 0, "{direct:?}");
    let mut archive = Vec::new();
    dump(
        &dst,
        "latest",
        &setup.src.display().to_string(),
        &mut archive,
    )
    .await
    .unwrap();
    assert!(members(&archive).len() > 50);
}
