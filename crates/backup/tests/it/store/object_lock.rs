//! S3 Object Lock on moto: a repository whose objects (lock files excepted) are written with
//! governance retention, which the bucket then refuses to lose; forget and prune that plan
//! around retention (short retentions, seconds, where a test waits for the date); check
//! comparing each object's retention with the policy; copy into an immutable repository;
//! repair and the PITR retention planning around retention like forget and prune; SSE-C with
//! Object Lock; and the whole run with a KMS key, checked by restic too.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use thinledger_backup::pitr::pg::{self, BaseBackupOptions};
use thinledger_backup::pitr::wal::{self, Catalog, PushOptions};
use thinledger_backup::store::{
    EncryptionOptions, ObjectLockMode, ObjectLockOptions, Secret, Store, StoreBuilder,
};
use thinledger_backup::{
    BackupOptions, Error, FileType, ForgetOptions, Id, KeepPolicy, PruneOptions,
    RepairIndexOptions, Repository, backup_paths, copy, forget, prune, repair_index,
};

use super::moto::{
    Bucket, Head, admin, bucket_store, heads_in, new_bucket, new_kms_key, run_admin, small_tree,
};
use super::services;
use crate::common::{check_all, init_options, password};

const DAY: Duration = Duration::from_secs(86_400);

fn governance(retain: Duration) -> ObjectLockOptions {
    ObjectLockOptions::new(ObjectLockMode::Governance, retain)
}

/// `init --object-lock`: a repository made through a store that writes with `policy`, and
/// the policy recorded in it.
async fn init_immutable(builder: StoreBuilder, policy: ObjectLockOptions) -> Store {
    let store = builder.with_object_lock(policy).build().unwrap();
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

/// A later command's open (as ledger-backup and the scheduler do): the store built with the
/// recorded policy, the repository told of it.
async fn open_immutable(builder: StoreBuilder) -> (Store, Arc<Repository>) {
    let store = builder.build_with_recorded_policy().await.unwrap();
    assert!(
        store.object_lock().is_some(),
        "the recorded policy was read"
    );
    let repo = Repository::open(store.object_store(), store.display_url(), &password())
        .await
        .unwrap()
        .with_object_lock(store.object_lock().cloned());
    (store, Arc::new(repo))
}

fn keep_last_one_and_prune() -> ForgetOptions {
    ForgetOptions::default()
        .with_policy(KeepPolicy::default().with_last(1))
        .with_prune(PruneOptions::default())
}

/// `src/data.bin` with noise of `seed`: backups of one path, so forget groups them.
fn write_data(src: &std::path::Path, seed: u64) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(
        src.join("data.bin"),
        thinledger_tests::data::noise(200_000, seed),
    )
    .unwrap();
}

async fn sleep_past(until: chrono::DateTime<Utc>) {
    let wait = (until - Utc::now() + chrono::Duration::seconds(6))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
}

fn parse(head: &Head) -> chrono::DateTime<Utc> {
    head.retain_until
        .as_deref()
        .unwrap_or_else(|| panic!("no retain-until date: {head:?}"))
        .parse()
        .unwrap()
}

/// Every object under the prefix but the lock files carries `mode` retention at least
/// `retain` after `started`, and at most `retain` plus the refresh interval after now.
fn assert_retained(objects: &[Head], started: SystemTime, retain: Duration) {
    let retain = chrono::Duration::from_std(retain).unwrap();
    let earliest = chrono::DateTime::<Utc>::from(started) + retain;
    let latest = Utc::now() + retain + chrono::Duration::minutes(16);
    for head in objects {
        if head.key.starts_with("locks/") {
            assert_eq!(
                head.lock_mode, None,
                "a lock file must stay deletable: {head:?}"
            );
            assert_eq!(head.retain_until, None, "{head:?}");
        } else {
            assert_eq!(head.lock_mode.as_deref(), Some("GOVERNANCE"), "{head:?}");
            let until = parse(head);
            assert!(until >= earliest - chrono::Duration::seconds(1), "{head:?}");
            assert!(until <= latest, "{head:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_but_the_locks_is_retained() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("object-lock");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    let started = SystemTime::now();
    let store = init_immutable(at(), governance(DAY)).await;
    assert_eq!(
        ObjectLockOptions::recorded(store.object_store().as_ref())
            .await
            .unwrap(),
        Some(governance(DAY))
    );
    let (_, repo) = open_immutable(at()).await;
    let src = tmp.path().join("src");
    small_tree(&src);
    let summary = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);

    let held = repo.lock(false).await.unwrap();
    let objects = heads_in(&admin, &bucket, &prefix);
    held.release().await.unwrap();
    assert_retained(&objects, started, DAY);
    let kinds: std::collections::BTreeSet<&str> = objects
        .iter()
        .map(|h| h.key.split('/').next().unwrap())
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

    // Nobody with the backup's rights deletes a retained version for good.
    let outcome = run_admin(
        &admin,
        &["delete-versions", &bucket, &format!("{prefix}/data/")],
    );
    let outcome: serde_json::Value = serde_json::from_str(outcome.trim()).unwrap();
    assert_eq!(outcome["deleted"], 0, "{outcome}");
    assert!(outcome["refused"].as_u64().unwrap() > 0, "{outcome}");

    // The repository stays whole and readable, every object as retained as the policy says.
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");

    // forget keeps the snapshot it would remove while it is retained, and says until when.
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
    assert!(done.prune.expect("a prune plan").retained.is_empty());
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);

    // Opened on a bare object store, the repository cannot tell what is retained: forget and
    // prune are refused before anything is deleted (a dry run still plans).
    let bare = Arc::new(
        Repository::open(store.object_store(), store.display_url(), &password())
            .await
            .unwrap(),
    );
    let dry = forget(&bare, &keep_last_one_and_prune().with_dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.plan.to_remove().count(), 1);
    let err = forget(&bare, &keep_last_one_and_prune()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Retained {
                operation: "forget",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("GOVERNANCE"), "{err}");
    let err = prune(&bare, &PruneOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Retained {
                operation: "prune",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_and_prune_keep_retained_objects_and_remove_them_after_their_date() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("retained");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    // Long enough for the first steps to run well inside it on a loaded machine.
    init_immutable(at(), governance(Duration::from_secs(15))).await;
    let (_, repo) = open_immutable(at()).await;
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

    // The first snapshot is retained: forget keeps it and lists it, in the JSON too.
    let report = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
    assert_eq!(report.removed, 0);
    let retained: Vec<(&str, Id)> = report.retained.iter().map(|r| (r.kind, r.id)).collect();
    assert_eq!(retained, [("snapshot", first)]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["retained"][0]["kind"], "snapshot", "{json}");
    assert!(json["retained"][0]["retained_until"].is_string(), "{json}");
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);

    // Its packs are retained too: with the snapshot gone (deleted behind forget's back),
    // prune plans them as retained, with dates, and deletes nothing.
    repo.delete_snapshot(&first).await.unwrap();
    let packs_before = repo.list_files(FileType::Pack).await.unwrap();
    let plan = prune(&repo, &PruneOptions::default().with_dry_run(true))
        .await
        .unwrap();
    assert!(
        plan.packs_to_delete.is_empty() && plan.packs_to_repack.is_empty(),
        "{plan:?}"
    );
    let kept: std::collections::BTreeSet<Id> = plan
        .retained
        .iter()
        .filter(|r| r.kind == "pack")
        .map(|r| r.id)
        .collect();
    assert!(!kept.is_empty(), "{plan:?}");
    let json = serde_json::to_value(&plan).unwrap();
    assert!(
        json["retained"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "pack" && r["retained_until"].is_string()),
        "{json}"
    );
    let applied = prune(&repo, &PruneOptions::default()).await.unwrap();
    assert!(!applied.applied, "{applied:?}");
    assert_eq!(
        repo.list_files(FileType::Pack).await.unwrap().len(),
        packs_before.len()
    );

    // After their dates a prune removes them, and the repository is whole.
    let last = plan
        .retained
        .iter()
        .filter_map(|r| r.retained_until)
        .max()
        .expect("dates");
    sleep_past(last).await;
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

    // And forget removes a snapshot whose date has passed.
    write_data(&src, 3);
    backup_paths(&repo, std::slice::from_ref(&src), &opts)
        .await
        .unwrap();
    let report = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(report.retained.is_empty(), "{report:?}");
    // Its packs are past their own dates, but the index the last prune wrote (retained for
    // the policy's time) names them: they stay as long as that index file does.
    let pruned = report.prune.expect("a prune");
    assert!(!pruned.applied, "{pruned:?}");
    assert!(
        pruned.retained.iter().any(|r| r.kind == "pack"
            && r.reason.starts_with("named by retained index")
            && r.retained_until.is_some()),
        "{pruned:?}"
    );
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_objects_retained_for_less_than_the_policy() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("short-retention");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    init_immutable(at(), governance(DAY)).await;
    let (_, repo) = open_immutable(at()).await;
    let src = tmp.path().join("src");
    write_data(&src, 1);
    let first = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap()
        .snapshot_id;
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
    assert!(paths.iter().any(|p| p.starts_with("index/")), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains(&first.to_hex())),
        "{paths:?}"
    );
    for f in &report.retention_findings {
        assert_eq!(f.retained_until, None, "{f:?}");
        assert!(f.to_string().contains("no retention"), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_into_an_immutable_repository_retains_every_object_it_writes() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let local = StoreBuilder::new(tmp.path().join("source").to_string_lossy())
        .build()
        .unwrap();
    let source = Arc::new(
        Repository::init(
            local.object_store(),
            local.display_url(),
            &password(),
            &init_options(),
        )
        .await
        .unwrap(),
    );
    let src = tmp.path().join("src");
    small_tree(&src);
    backup_paths(
        &source,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
    )
    .await
    .unwrap();

    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("copy-to-lock");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    let started = SystemTime::now();
    init_immutable(at(), governance(DAY)).await;
    let (_, target) = open_immutable(at()).await;
    let summary = copy(&source, &target, &[]).await.unwrap();
    assert_eq!(summary.copied.len(), 1);

    let objects = heads_in(&admin, &bucket, &prefix);
    assert_retained(&objects, started, DAY);
    for kind in ["data/", "index/", "snapshots/"] {
        assert!(
            objects.iter().any(|h| h.key.starts_with(kind)),
            "no {kind} object copied"
        );
    }
    let report = check_all(&target).await;
    assert!(report.is_ok(), "{report:?}");
}

/// The run: a bucket with Object Lock and a KMS key; `init --object-lock governance
/// --retain 1d`, two backups, `forget --keep-last 1 --prune`, `check --read-data`; every
/// object SSE-KMS with the key, every data pack retained a day; restic's check agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_kms_repository_end_to_end() {
    let Some(admin) = admin() else { return };
    let Some(restic) = crate::common::restic() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let key = new_kms_key(&admin);
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("immutable-kms");
    let at = || bucket_store(&bucket, &prefix, tmp.path()).with_sse_kms(&key);
    let started = SystemTime::now();
    init_immutable(at(), governance(DAY)).await;

    let (_, repo) = open_immutable(at()).await;
    let src = tmp.path().join("src");
    small_tree(&src);
    for change in ["first\n", "second\n"] {
        std::fs::write(src.join("hello.txt"), change).unwrap();
        let s = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
            .await
            .unwrap();
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }
    let done = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
    assert_eq!(done.plan.to_remove().count(), 1);
    assert_eq!(done.retained.len(), 1, "retained a day: {done:?}");
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.snapshots, 2);

    let objects = heads_in(&admin, &bucket, &prefix);
    assert_retained(&objects, started, DAY);
    for head in &objects {
        assert_eq!(head.sse.as_deref(), Some("aws:kms"), "{head:?}");
        assert_eq!(head.kms_key_id.as_deref(), Some(key.as_str()), "{head:?}");
    }
    assert!(objects.iter().any(|h| h.key.starts_with("data/")));

    let (url, env) = crate::engine_stores::restic_s3_in(&bucket, &prefix).unwrap();
    let (ok, out, err) = crate::engine_stores::run_restic_url(
        &restic,
        &url,
        &env,
        &tmp.path().join("restic-cache"),
        &["check", "--read-data"],
    );
    assert!(
        ok && out.contains("no errors were found"),
        "restic check on the immutable repository:\n{out}\n{err}"
    );
}

/// SSE-C with Object Lock: S3 answers a HEAD of an SSE-C object without the customer key with
/// 400, so the retention reads of check and forget carry the key. moto neither encrypts nor
/// asks for the key, so its request recorder shows what was sent: every retention HEAD under
/// the prefix carried the algorithm and the key's MD5. The bucket has a default retention (as
/// `bucket check` asks), which S3 applies to lock files too: their uploads need a checksum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_c_repository_reads_retention_with_the_customer_key() {
    use base64::Engine;
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLockDefault, "lock-default");
    let prefix = services::unique_prefix("sse-c-lock");
    let raw = [42u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.encode(raw);
    let at = || {
        bucket_store(&bucket, &prefix, tmp.path())
            .with_encryption(EncryptionOptions::sse_c(Secret::new(key.clone())))
    };
    init_immutable(at(), governance(DAY)).await;
    let (store, repo) = open_immutable(at()).await;
    assert_eq!(
        store.encryption(),
        Some("server_side_encryption=sse-c, sse_customer_key=redacted")
    );
    assert!(!format!("{store:?}").contains(&key));
    let src = tmp.path().join("src");
    for seed in [1, 2] {
        write_data(&src, seed);
        let s = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
            .await
            .unwrap();
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }

    run_admin(&admin, &["record-start"]);
    let report = check_all(&repo).await;
    let done = forget(&repo, &keep_last_one_and_prune()).await;
    let heads = run_admin(&admin, &["record-heads", &format!("/{bucket}/{prefix}/")]);
    assert!(report.is_ok(), "{report:?}");
    assert!(report.retention_findings.is_empty(), "{report:?}");
    let done = done.unwrap();
    assert_eq!(done.removed, 0);
    assert_eq!(done.retained.len(), 1, "{:?}", done.retained);
    let until = done.retained[0].retained_until.expect("a date");
    assert!(until > Utc::now() + chrono::Duration::hours(23), "{until}");

    let md5 = b64.encode(<md5::Md5 as md5::Digest>::digest(raw));
    let heads: Vec<serde_json::Value> = heads
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        heads
            .iter()
            .any(|h| h["path"].as_str().unwrap().contains("/snapshots/")),
        "no retention HEAD of a snapshot recorded: {heads:?}"
    );
    for head in &heads {
        assert_eq!(head["sse_c_algorithm"], "AES256", "{head}");
        assert_eq!(head["sse_c_key_md5"], md5.as_str(), "{head}");
    }
}

/// `repair index` on an immutable repository: the old index files are still retained, so
/// they stay (listed with their dates) beside the new index, which describes every pack;
/// once their date has passed a second repair removes them. Opened without the store's
/// object lock, the repair is refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_index_keeps_retained_index_files_and_removes_them_after_their_date() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("repair-retained");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    let store = init_immutable(at(), governance(Duration::from_secs(15))).await;
    let (_, repo) = open_immutable(at()).await;
    let src = tmp.path().join("src");
    for seed in [1, 2] {
        write_data(&src, seed);
        backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
            .await
            .unwrap();
    }
    let old: Vec<Id> = repo
        .list_files(FileType::Index)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(old.len(), 2, "one index file per backup");

    let bare = Arc::new(
        Repository::open(store.object_store(), store.display_url(), &password())
            .await
            .unwrap(),
    );
    let err = repair_index(&bare, &RepairIndexOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Retained {
                operation: "repair index",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(repo.list_files(FileType::Index).await.unwrap().len(), 2);

    let dry = repair_index(&repo, &RepairIndexOptions::default().with_dry_run(true))
        .await
        .unwrap();
    let report = repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    assert!(report.applied);
    assert_eq!(report.index_files_replaced, 0, "{report:?}");
    let kept: Vec<Id> = report.index_files_retained.iter().map(|r| r.id).collect();
    assert_eq!(kept, old, "{report:?}");
    assert_eq!(dry.index_files_retained.len(), 2, "{dry:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json["index_files_retained"][0]["retained_until"].is_string(),
        "{json}"
    );
    assert_eq!(repo.list_files(FileType::Index).await.unwrap().len(), 3);
    let check = check_all(&repo).await;
    assert!(check.is_ok(), "{check:?}");

    let last = report
        .index_files_retained
        .iter()
        .filter_map(|r| r.retained_until)
        .max()
        .unwrap();
    sleep_past(last).await;
    let report = repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    // The first repair's index file (written just after) may still be retained; the old
    // ones are past their date and gone.
    assert!(
        report
            .index_files_retained
            .iter()
            .all(|r| !old.contains(&r.id)),
        "{report:?}"
    );
    let now: Vec<Id> = repo
        .list_files(FileType::Index)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(now.iter().all(|id| !old.contains(id)), "{now:?}");
    assert_eq!(now.len(), 1 + report.index_files_retained.len(), "{now:?}");
    let check = check_all(&repo).await;
    assert!(check.is_ok(), "{check:?}");
}

/// PITR retention (`pg forget`) on an immutable repository: a WAL batch older than the kept
/// base backup is retained, so it stays and is reported with its files and date; once the
/// date has passed the same retention removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_forget_keeps_retained_wal_and_removes_it_after_its_date() {
    use crate::pitr::{seg_name, write_seg};
    const LABEL: &str = "main-20261206T120000Z";

    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = new_bucket(&admin, Bucket::ObjectLock, "lock");
    let prefix = services::unique_prefix("pitr-retained");
    let at = || bucket_store(&bucket, &prefix, tmp.path());
    init_immutable(at(), governance(Duration::from_secs(15))).await;
    let (_, repo) = open_immutable(at()).await;
    let wal_dir = tmp.path().join("pg_wal");
    std::fs::create_dir_all(&wal_dir).unwrap();
    let push = |paths: Vec<std::path::PathBuf>| {
        let repo = Arc::clone(&repo);
        async move {
            let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
            let res = wal::push_batch(&repo, &mut cat, &paths, &PushOptions::default())
                .await
                .unwrap();
            assert!(res.iter().all(|r| r.outcome.is_ok()), "{res:?}");
        }
    };

    // A base backup that started in segment 3: its WAL, its history file, its tar stream.
    let history = wal_dir.join(format!("{}.00000028.backup", seg_name(1, 3)));
    std::fs::write(
        &history,
        format!(
            "START WAL LOCATION: 0/300028 (file {})\n\
             STOP WAL LOCATION: 0/300100 (file {})\n\
             CHECKPOINT LOCATION: 0/300060\n\
             BACKUP METHOD: streamed\n\
             BACKUP FROM: primary\n\
             START TIME: 2026-12-06 12:00:00 UTC\n\
             LABEL: {LABEL}\n\
             START TIMELINE: 1\n\
             STOP TIME: 2026-12-06 12:00:02 UTC\n\
             STOP TIMELINE: 1\n",
            seg_name(1, 3),
            seg_name(1, 3),
        ),
    )
    .unwrap();
    push(vec![write_seg(&wal_dir, &seg_name(1, 3), 3), history]).await;
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
    let tar: &[u8] = b"a tar stream as pg_basebackup writes it";
    pg::base_backup_from_tar(
        &repo,
        &mut cat,
        LABEL,
        tar,
        &BaseBackupOptions::default().with_history_wait(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    // WAL from before the base backup, pushed last so that its retention is the freshest.
    let old = seg_name(1, 1);
    push(vec![write_seg(&wal_dir, &old, 1)]).await;

    let cat = Catalog::load(&repo, "main", None).await.unwrap();
    let plan = wal::plan_retention(&cat, KeepPolicy::default().with_last(1)).unwrap();
    assert_eq!(plan.remove_wal_snapshots.len(), 1, "{plan:?}");
    let snapshots = repo.snapshots().await.unwrap().len();
    let planned = wal::retained_removals(&repo, &plan).await.unwrap();
    let applied = wal::apply_retention(&repo, &plan).await.unwrap();
    assert_eq!(applied.removed, 0, "{applied:?}");
    assert_eq!(applied.retained, planned);
    let [kept] = applied.retained.as_slice() else {
        panic!("{applied:?}")
    };
    assert_eq!(kept.snapshot, plan.remove_wal_snapshots[0]);
    assert_eq!(kept.wal_files, std::slice::from_ref(&old));
    assert_eq!(kept.holds, format!("WAL {old}"));
    let until = kept.retained_until.expect("a date");
    assert!(until > Utc::now(), "{until}");
    let json = serde_json::to_value(&applied).unwrap();
    assert!(json["retained"][0]["retained_until"].is_string(), "{json}");
    assert_eq!(repo.snapshots().await.unwrap().len(), snapshots);
    assert!(
        Catalog::load(&repo, "main", None)
            .await
            .unwrap()
            .get(&old)
            .is_some()
    );

    sleep_past(until).await;
    let cat = Catalog::load(&repo, "main", None).await.unwrap();
    let plan = wal::plan_retention(&cat, KeepPolicy::default().with_last(1)).unwrap();
    let applied = wal::apply_retention(&repo, &plan).await.unwrap();
    assert_eq!(applied.removed, 1, "{applied:?}");
    assert!(applied.retained.is_empty(), "{applied:?}");
    let cat = Catalog::load(&repo, "main", None).await.unwrap();
    assert!(cat.get(&old).is_none());
    assert!(cat.get(&seg_name(1, 3)).is_some());
    assert_eq!(cat.backups().len(), 1);
}
