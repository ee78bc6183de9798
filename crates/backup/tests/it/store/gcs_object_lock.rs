//! Immutable repositories on GCS (Object Retention Lock), against fake-gcs-server.
//!
//! What the emulator implements, and so what these tests show: it stores the `retention` an
//! upload's metadata carries and returns it with the object's metadata, so every write's
//! retention (mode and retain-until time) is checked here, and forget, prune and check read
//! it back as they do on GCS and plan around it. What it does not: it accepts retention on a
//! bucket without Object Retention Lock, ignores it on deletes (a retained object is deleted
//! all the same) and on `rewriteTo` copies. So that a retained object is never deleted is
//! shown by what forget and prune plan and delete (they delete nothing retained), not by the
//! emulator refusing; the request bodies of copies and the typed refusal are checked in
//! thinledger-store's unit tests (`gcs`, `gcs_retention`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::Value;
use thinledger_backup::store::{ObjectLockMode, ObjectLockOptions, Store, StoreBuilder};
use thinledger_backup::{
    BackupOptions, FileType, ForgetOptions, Id, KeepPolicy, PruneOptions, Repository, backup_paths,
    forget, prune,
};

use super::services::{self, Service};
use crate::common::{check_all, init_options, password};

const DAY: Duration = Duration::from_secs(86_400);

/// The emulator's endpoint and bucket, and a store builder under a fresh prefix (its name
/// too); `None` when the GCS service is not running.
fn gcs(test: &str, tmp: &std::path::Path) -> Option<(String, String, String, StoreBuilder)> {
    let env = services::env(Service::Gcs)?;
    let endpoint = env.get("THINLEDGER_TEST_GCS_ENDPOINT")?.to_owned();
    let bucket = env.get("THINLEDGER_TEST_GCS_BUCKET")?.to_owned();
    let prefix = services::unique_prefix(test);
    let builder = services::builder_at(Service::Gcs, &prefix, tmp)?;
    Some((endpoint, bucket, prefix, builder))
}

/// Every object under `prefix`, as the JSON API lists them (with `retention`).
fn objects(endpoint: &str, bucket: &str, prefix: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut url = format!(
            "{endpoint}/storage/v1/b/{bucket}/o?prefix={}",
            percent_encoding::utf8_percent_encode(
                &format!("{prefix}/"),
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        if let Some(token) = &page {
            url.push_str("&pageToken=");
            url.push_str(token);
        }
        let out = std::process::Command::new("curl")
            .args(["-sSf", &url])
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "listing {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        items.extend(list["items"].as_array().cloned().unwrap_or_default());
        match list["nextPageToken"].as_str() {
            Some(token) if !token.is_empty() => page = Some(token.to_owned()),
            _ => return items,
        }
    }
}

/// `init --object-lock`: a repository made through a store that writes with `policy`, and
/// the policy recorded in it (as ledger-backup's init does).
async fn init_immutable(builder: StoreBuilder, policy: ObjectLockOptions) -> Store {
    let store = builder
        .with_object_lock(policy)
        .build_for_repository()
        .unwrap();
    assert_eq!(store.object_lock().map(|l| l.policy()), Some(policy));
    Repository::init(
        store.object_store(),
        store.display_url(),
        &password(),
        &init_options(),
    )
    .await
    .unwrap();
    policy.record(store.object_store().as_ref()).await.unwrap();
    store
}

/// A later command's open: the store built with the recorded policy.
async fn open_immutable(builder: StoreBuilder) -> Arc<Repository> {
    let store = builder.build_with_recorded_policy().await.unwrap();
    assert!(
        store.object_lock().is_some(),
        "the recorded policy was read"
    );
    Arc::new(
        Repository::open(store.object_store(), store.display_url(), &password())
            .await
            .unwrap()
            .with_object_lock(store.object_lock().cloned()),
    )
}

fn keep_last_one_and_prune() -> ForgetOptions {
    ForgetOptions::default()
        .with_policy(KeepPolicy::default().with_last(1))
        .with_prune(PruneOptions::default())
}

fn write_data(src: &std::path::Path, seed: u64) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(
        src.join("data.bin"),
        thinledger_tests::data::noise(200_000, seed),
    )
    .unwrap();
}

/// Every object but the lock files carries `mode` retention at least `retain` after
/// `started` (and at most two seconds more after now); lock files carry none.
fn assert_retained(
    objects: &[Value],
    prefix: &str,
    started: SystemTime,
    mode: &str,
    retain: Duration,
) {
    let retain = chrono::Duration::from_std(retain).unwrap();
    let earliest = DateTime::<Utc>::from(started) + retain;
    let latest = Utc::now() + retain + chrono::Duration::seconds(2);
    for object in objects {
        let name = object["name"].as_str().unwrap();
        let key = name.strip_prefix(&format!("{prefix}/")).unwrap();
        if key.starts_with("locks/") {
            assert!(
                object["retention"].is_null(),
                "a lock file must stay deletable: {object}"
            );
            continue;
        }
        assert_eq!(object["retention"]["mode"], mode, "{object}");
        let until: DateTime<Utc> = object["retention"]["retainUntilTime"]
            .as_str()
            .unwrap_or_else(|| panic!("no retainUntilTime: {object}"))
            .parse()
            .unwrap();
        assert!(until >= earliest, "{until} < {earliest}: {object}");
        assert!(until <= latest, "{until} > {latest}: {object}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_but_the_locks_is_retained_and_forget_keeps_retained_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((endpoint, bucket, prefix, builder)) = gcs("gcs-object-lock", tmp.path()) else {
        return;
    };
    let at = || builder.clone();
    let started = SystemTime::now();
    let policy = ObjectLockOptions::new(ObjectLockMode::Governance, DAY);
    let store = init_immutable(at(), policy).await;
    assert_eq!(
        ObjectLockOptions::recorded(store.object_store().as_ref())
            .await
            .unwrap(),
        Some(policy)
    );
    let repo = open_immutable(at()).await;
    let src = tmp.path().join("src");
    write_data(&src, 1);
    let summary = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);

    let held = repo.lock(false).await.unwrap();
    let listed = objects(&endpoint, &bucket, &prefix);
    held.release().await.unwrap();
    assert_retained(&listed, &prefix, started, "Unlocked", DAY);
    let kinds: std::collections::BTreeSet<&str> = listed
        .iter()
        .filter_map(|o| o["name"].as_str()?.strip_prefix(&format!("{prefix}/")))
        .map(|k| k.split('/').next().unwrap())
        .collect();
    for kind in [
        "config",
        "keys",
        "data",
        "index",
        "snapshots",
        "locks",
        "thinledger-object-lock.json",
    ] {
        assert!(kinds.contains(kind), "no {kind} among {kinds:?}");
    }

    // The store reads each object's retention back from its metadata.
    let lock = repo_lock(&at()).await;
    let snapshot = format!("snapshots/{}", summary.snapshot_id.to_hex());
    let retention = lock
        .retention(&thinledger_backup::store::object_store::path::Path::from(
            snapshot.as_str(),
        ))
        .await
        .unwrap()
        .expect("the snapshot exists");
    assert_eq!(retention.mode, Some(ObjectLockMode::Governance));
    assert!(retention.retained_at(Utc::now() + chrono::Duration::hours(23)));
    assert!(
        lock.retention(&thinledger_backup::store::object_store::path::Path::from(
            "snapshots/0000"
        ))
        .await
        .unwrap()
        .is_none()
    );

    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");

    // forget keeps the snapshot it would remove while it is retained, and says until when.
    write_data(&src, 2);
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let done = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
    assert_eq!(done.plan.to_remove().count(), 1);
    assert_eq!(done.removed, 0);
    assert_eq!(done.retained.len(), 1, "{:?}", done.retained);
    assert_eq!(done.retained[0].kind, "snapshot");
    let until = done.retained[0].retained_until.expect("a date");
    assert!(until > Utc::now() + chrono::Duration::hours(23), "{until}");
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");
}

/// The store's [`thinledger_backup::store::ObjectLock`] of a repository opened with its
/// recorded policy.
async fn repo_lock(builder: &StoreBuilder) -> thinledger_backup::store::ObjectLock {
    builder
        .clone()
        .build_with_recorded_policy()
        .await
        .unwrap()
        .object_lock()
        .cloned()
        .expect("an immutable repository")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_keeps_retained_packs_and_removes_them_after_their_date() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((_, _, _, builder)) = gcs("gcs-retained", tmp.path()) else {
        return;
    };
    let at = || builder.clone();
    // Long enough for the first steps to run well inside it on a loaded machine.
    let policy = ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(15));
    init_immutable(at(), policy).await;
    let repo = open_immutable(at()).await;
    let src = tmp.path().join("src");
    let opts = BackupOptions::default();
    write_data(&src, 1);
    let first = backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap()
        .snapshot_id;
    write_data(&src, 2);
    backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap();

    let report = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
    assert_eq!(report.removed, 0);
    let retained: Vec<(&str, Id)> = report.retained.iter().map(|r| (r.kind, r.id)).collect();
    assert_eq!(retained, [("snapshot", first)]);

    // With the snapshot gone behind forget's back, its packs are still retained: prune
    // plans them as retained and deletes nothing (the emulator would not have refused).
    repo.delete_snapshot(&first).await.unwrap();
    let packs_before = repo.list_files(FileType::Pack).await.unwrap();
    let applied = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert!(!applied.applied, "{applied:?}");
    let kept: std::collections::BTreeSet<Id> = applied
        .retained
        .iter()
        .filter(|r| r.kind == "pack")
        .map(|r| r.id)
        .collect();
    assert!(!kept.is_empty(), "{applied:?}");
    assert_eq!(
        repo.list_files(FileType::Pack).await.unwrap().len(),
        packs_before.len()
    );

    // After their dates a prune removes them, and the repository is whole.
    let last = applied
        .retained
        .iter()
        .filter_map(|r| r.retained_until)
        .max()
        .expect("dates");
    let wait = (last - Utc::now() + chrono::Duration::seconds(6))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    let applied = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert!(applied.applied, "{applied:?}");
    assert!(applied.retained.is_empty(), "{applied:?}");
    let gone: std::collections::BTreeSet<Id> = applied
        .packs_to_delete
        .iter()
        .chain(&applied.packs_to_repack)
        .copied()
        .collect();
    assert_eq!(gone, kept);
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_objects_retained_for_less_than_a_locked_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((endpoint, bucket, prefix, builder)) = gcs("gcs-short", tmp.path()) else {
        return;
    };
    let at = || builder.clone();
    let started = SystemTime::now();
    let policy = ObjectLockOptions::new(ObjectLockMode::Compliance, DAY);
    init_immutable(at(), policy).await;
    let repo = open_immutable(at()).await;
    let src = tmp.path().join("src");
    write_data(&src, 1);
    let first = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap()
        .snapshot_id;
    assert_retained(
        &objects(&endpoint, &bucket, &prefix),
        &prefix,
        started,
        "Locked",
        DAY,
    );
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");

    // A writer that ignores the policy (the repository opened on a store without it).
    let plain = at().build().unwrap();
    let careless = Arc::new(
        Repository::open(plain.object_store(), plain.display_url(), &password())
            .await
            .unwrap(),
    );
    write_data(&src, 2);
    let second = backup_paths(
        &careless,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
    )
    .await
    .unwrap()
    .snapshot_id;

    let report = check_all(&repo).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(!report.is_ok(), "{report:?}");
    let paths: Vec<&str> = report
        .retention_findings
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert!(
        paths.contains(&format!("snapshots/{}", second.to_hex()).as_str()),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.starts_with("data/")), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains(&first.to_hex())),
        "{paths:?}"
    );
}
