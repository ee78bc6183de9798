//! The same engine scenario on every store: a local folder, S3 (moto), Azurite and
//! fake-gcs-server. Servers come from scripts/services/*.sh (see `store::services`); with
//! THINLEDGER_REQUIRE_SERVICES=1 a missing one fails the test.
//!
//! Also restic 0.14 against the S3 emulator, in both directions (restic reaches moto with
//! `-r s3:http://HOST:PORT/BUCKET/PREFIX`; it cannot reach Azurite on another port than 10000).

use std::path::Path;
use std::sync::Arc;

use thinledger_backup::store::Store;
use thinledger_backup::{
    BackupOptions, CheckOptions, Error, KeepPolicy, Password, PruneOptions, ReadData, Repository,
    RestoreOptions, SaverOptions, apply_forget, backup_paths, check, copy, dump, plan_forget,
    prune, restore,
};

use crate::common::*;
use crate::store::services::{self, Service};

fn build(service: Service, test: &str, tmp: &Path) -> Option<Store> {
    services::builder(service, test, tmp).map(|b| b.build().unwrap())
}

/// Many small packs, so prune has whole packs to delete and checks read several.
fn small_packs() -> BackupOptions {
    BackupOptions::default().with_saver(SaverOptions::default().with_pack_size(512 * 1024))
}

async fn check_all(repo: &Arc<Repository>) -> thinledger_backup::CheckReport {
    check(repo, &CheckOptions::default().with_read_data(ReadData::All))
        .await
        .unwrap()
}

#[rstest::rstest]
#[case::local(Service::Local)]
#[case::s3(Service::S3)]
#[case::azurite(Service::Azurite)]
#[case::gcs(Service::Gcs)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_scenario(#[case] service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(store) = build(service, "engine", tmp.path()) else {
        return;
    };
    let shown = store.display_url().to_string();
    let os = store.object_store();

    // init; a second init and a wrong password are refused; open works.
    let repo = Arc::new(
        Repository::init(os.clone(), shown.clone(), &password(), &init_options())
            .await
            .unwrap(),
    );
    let again = Repository::init(os.clone(), shown.clone(), &password(), &init_options()).await;
    assert!(
        matches!(again, Err(Error::AlreadyInitialized { .. })),
        "{service:?}: {again:?}"
    );
    let wrong = Repository::open(os.clone(), shown.clone(), &Password::new("not it"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::WrongPassword { .. }), "{wrong:?}");
    let opened = Arc::new(
        Repository::open(os.clone(), shown.clone(), &password())
            .await
            .unwrap(),
    );
    assert_eq!(opened.config(), repo.config());

    // Full backup, restore byte-identical.
    let src = tmp.path().join("src");
    make_tree(&src);
    let first = backup_paths(&opened, std::slice::from_ref(&src), &small_packs())
        .await
        .unwrap();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert!(first.packs_added >= 4, "{service:?}: {first:?}");
    let out1 = tmp.path().join("restore1");
    let r = restore(
        &opened,
        &first.snapshot_id.to_hex(),
        "",
        &out1,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_same_tree(&src, &under(&out1, &src));

    // Incremental: only the changed and the new file are read.
    std::fs::write(src.join("hello.txt"), b"changed on every store\n").unwrap();
    std::fs::write(src.join("sub/new.bin"), noise(1024 * 1024, 42)).unwrap();
    let second = backup_paths(&opened, std::slice::from_ref(&src), &small_packs())
        .await
        .unwrap();
    assert_eq!(second.parent, Some(first.snapshot_id));
    assert_eq!(
        (second.files_new, second.files_changed),
        (1, 1),
        "{second:?}"
    );
    assert_eq!(second.bytes_read, 23 + 1024 * 1024, "{second:?}");
    let out2 = tmp.path().join("restore2");
    restore(&opened, "latest", "", &out2, &RestoreOptions::default())
        .await
        .unwrap();
    assert_same_tree(&src, &under(&out2, &src));
    let mut buf = Vec::new();
    dump(
        &opened,
        "latest",
        &format!("{}/sub/new.bin", src.display()),
        &mut buf,
    )
    .await
    .unwrap();
    assert!(buf == noise(1024 * 1024, 42), "dump differs on {service:?}");

    // check --read-data: clean, nothing left over.
    let report = check_all(&opened).await;
    assert!(
        report.is_ok() && report.unreferenced_packs.is_empty(),
        "{service:?}: {report:?}"
    );
    assert_eq!(report.snapshots, 2);
    assert_eq!(report.packs_read, report.packs);

    // Locks: shared ones coexist, exclusive excludes; a leftover lock is removed by unlock.
    let s1 = opened.lock(false).await.unwrap();
    let s2 = opened.lock(false).await.unwrap();
    let err = opened.lock(true).await.unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    s1.release().await.unwrap();
    s2.release().await.unwrap();
    let ex = opened.lock(true).await.unwrap();
    assert!(matches!(
        opened.lock(false).await,
        Err(Error::Locked { .. })
    ));
    ex.release().await.unwrap();
    assert!(opened.list_locks().await.unwrap().is_empty());
    std::mem::forget(opened.lock(false).await.unwrap());
    assert_eq!(opened.unlock(true).await.unwrap().len(), 1);
    assert!(opened.list_locks().await.unwrap().is_empty());

    // forget --keep-last 1 + prune: the first snapshot's unique data goes, the rest restores.
    let snaps = opened.snapshots().await.unwrap();
    let plan = plan_forget(&snaps, KeepPolicy::default().with_last(1)).unwrap();
    assert_eq!(apply_forget(&opened, &plan).await.unwrap(), 1);
    let pruned = prune(
        &opened,
        &PruneOptions::default().with_max_unused_percent(0.0),
    )
    .await
    .unwrap();
    assert!(pruned.applied, "{pruned:?}");
    assert!(
        !pruned.packs_to_delete.is_empty() || !pruned.packs_to_repack.is_empty(),
        "{service:?}: the old hello.txt should be unused: {pruned:?}"
    );
    let report = check_all(&opened).await;
    assert!(
        report.is_ok() && report.unreferenced_packs.is_empty(),
        "{service:?} after prune: {report:?}"
    );
    assert_eq!(report.snapshots, 1);
    let out3 = tmp.path().join("restore3");
    restore(&opened, "latest", "", &out3, &RestoreOptions::default())
        .await
        .unwrap();
    assert_same_tree(&src, &under(&out3, &src));

    // Copy to a local repository (a second provider) and back is lossless.
    let local = init_local(&tmp.path().join("copy")).await;
    let c = copy(&opened, &local, &[]).await.unwrap();
    assert_eq!(c.copied.len(), 1);
    let report = check_all(&local).await;
    assert!(report.is_ok(), "{report:?}");
}

/// restic's repository URL and environment for the S3 store under `prefix`.
fn restic_s3(prefix: &str) -> Option<(String, Vec<(String, String)>)> {
    let env = services::env(Service::S3)?;
    restic_s3_in(
        env.get("THINLEDGER_TEST_S3_BUCKET").unwrap_or_default(),
        prefix,
    )
}

/// restic's repository URL and environment for `prefix` in `bucket` on the S3 emulator.
pub(crate) fn restic_s3_in(bucket: &str, prefix: &str) -> Option<(String, Vec<(String, String)>)> {
    let env = services::env(Service::S3)?;
    let get = |k: &str| env.get(k).unwrap_or_default().to_owned();
    let url = format!(
        "s3:{}/{bucket}/{prefix}",
        get("THINLEDGER_TEST_S3_ENDPOINT")
    );
    Some((
        url,
        vec![
            (
                "AWS_ACCESS_KEY_ID".into(),
                get("THINLEDGER_TEST_S3_ACCESS_KEY_ID"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                get("THINLEDGER_TEST_S3_SECRET_ACCESS_KEY"),
            ),
            (
                "AWS_DEFAULT_REGION".into(),
                get("THINLEDGER_TEST_S3_REGION"),
            ),
        ],
    ))
}

pub(crate) fn run_restic_url(
    restic: &Path,
    url: &str,
    env: &[(String, String)],
    cache: &Path,
    args: &[&str],
) -> (bool, String, String) {
    let out = std::process::Command::new(restic)
        .arg("-r")
        .arg(url)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("RESTIC_CACHE_DIR", cache)
        .env_remove("RESTIC_REPOSITORY")
        .env_remove("AWS_CA_BUNDLE")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("running restic");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_interop_on_the_s3_emulator() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(restic) = restic() else { return };
    let prefix = services::unique_prefix("restic-s3");
    let Some((url, env)) = restic_s3(&prefix) else {
        return;
    };
    let store = services::builder_at(Service::S3, &prefix, tmp.path())
        .unwrap()
        .build()
        .unwrap();
    let cache = tmp.path().join("restic-cache");
    let src = tmp.path().join("src");
    make_tree(&src);

    // Ours first: init and back up on S3; restic checks every byte and restores.
    let repo = Arc::new(
        Repository::init(
            store.object_store(),
            store.display_url().to_string(),
            &password(),
            &init_options(),
        )
        .await
        .unwrap(),
    );
    let ours = backup_paths(&repo, std::slice::from_ref(&src), &small_packs())
        .await
        .unwrap();
    let (ok, out, err) = run_restic_url(&restic, &url, &env, &cache, &["check", "--read-data"]);
    assert!(
        ok && out.contains("no errors were found"),
        "restic check on S3:\n{out}\n{err}"
    );
    let target = tmp.path().join("by-restic");
    let (ok, out, err) = run_restic_url(
        &restic,
        &url,
        &env,
        &cache,
        &[
            "restore",
            &ours.snapshot_id.to_hex(),
            "--target",
            target.to_str().unwrap(),
        ],
    );
    assert!(ok, "restic restore from S3:\n{out}\n{err}");
    assert_same_tree(&src, &under(&target, &src));

    // Then restic backs up a change into the same repository; we restore its snapshot.
    std::fs::write(src.join("hello.txt"), b"written by restic's backup\n").unwrap();
    let (ok, out, err) = run_restic_url(
        &restic,
        &url,
        &env,
        &cache,
        &["backup", "--json", src.to_str().unwrap()],
    );
    assert!(ok, "restic backup to S3:\n{out}\n{err}");
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    let theirs = snaps.iter().find(|s| s.id != ours.snapshot_id).unwrap();
    let mine = tmp.path().join("by-us");
    restore(
        &repo,
        &theirs.id.to_hex(),
        "",
        &mine,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_same_tree(&src, &under(&mine, &src));
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");
}
