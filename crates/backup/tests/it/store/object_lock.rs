//! S3 Object Lock on moto, what only S3 shows: the whole run with a KMS key, checked
//! by restic too; SSE-C with Object Lock; and repair and the PITR retention planning around
//! retention like forget and prune. What every immutable store shares (each object's
//! retention, forget and prune planning around it, check comparing it with the policy, copy
//! into an immutable repository) is tested on S3, GCS and Azure alike in immutable.rs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use thinledger_backup::pitr::pg::{self, BaseBackupOptions};
use thinledger_backup::pitr::wal::{self, Catalog, PushOptions};
use thinledger_backup::store::{EncryptionOptions, ObjectLockMode, Secret};
use thinledger_backup::{
    BackupOptions, Error, FileType, Id, KeepPolicy, RepairIndexOptions, backup_paths, forget,
    repair_index,
};

use super::immutable::{
    DAY, Immutable, Lockable, governance, init_immutable, keep_last_one_and_prune, open_bare,
    open_immutable, sleep_past, write_data,
};
use super::moto::{Bucket, heads_in, new_kms_key, run_admin, small_tree};
use crate::common::check_all;

/// The run: a bucket with Object Lock and a KMS key; `init --object-lock governance
/// --retain 1d`, two backups, `forget --keep-last 1 --prune`, `check --read-data`; every
/// object SSE-KMS with the key, every data pack retained a day; restic's check agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_kms_repository_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(on) = Immutable::new(Lockable::S3, "immutable-kms", tmp.path()) else {
        return;
    };
    let Some(restic) = crate::common::restic() else {
        return;
    };
    let (admin, bucket) = on.s3_admin().unwrap();
    let prefix = on.prefix();
    let key = new_kms_key(admin);
    let at = || on.at().with_sse_kms(&key);
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

    on.assert_retained(
        &on.written(0).await,
        started,
        ObjectLockMode::Governance,
        DAY,
    );
    let objects = heads_in(admin, bucket, prefix);
    for head in &objects {
        assert_eq!(head.sse.as_deref(), Some("aws:kms"), "{head:?}");
        assert_eq!(head.kms_key_id.as_deref(), Some(key.as_str()), "{head:?}");
    }
    assert!(objects.iter().any(|h| h.key.starts_with("data/")));

    let (url, env) = crate::engine_stores::restic_s3_in(bucket, prefix).unwrap();
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
    let tmp = tempfile::tempdir().unwrap();
    let Some(on) = Immutable::s3(Bucket::ObjectLockDefault, "sse-c-lock", tmp.path()) else {
        return;
    };
    let (admin, bucket) = on.s3_admin().unwrap();
    let prefix = on.prefix();
    let raw = [42u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.encode(raw);
    let at = || {
        on.at()
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

    run_admin(admin, &["record-start"]);
    let report = check_all(&repo).await;
    let done = forget(&repo, &keep_last_one_and_prune()).await;
    let heads = run_admin(admin, &["record-heads", &format!("/{bucket}/{prefix}/")]);
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
    let tmp = tempfile::tempdir().unwrap();
    let Some(on) = Immutable::new(Lockable::S3, "repair-retained", tmp.path()) else {
        return;
    };
    let store = on.init(governance(Duration::from_secs(15))).await;
    let (_, repo) = on.open().await;
    let src = tmp.path().join("src");
    for seed in [1, 2] {
        write_data(&src, seed);
        backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
            .await
            .unwrap();
    }
    let index_files = || async {
        let listed = repo.list_files(FileType::Index).await.unwrap();
        listed.into_iter().map(|(id, _)| id).collect::<Vec<Id>>()
    };
    let old = index_files().await;
    assert_eq!(old.len(), 2, "one index file per backup");

    let bare = open_bare(&store).await;
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
    assert_eq!(index_files().await.len(), 2);

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
    assert_eq!(index_files().await.len(), 3);
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
    let now = index_files().await;
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

    let tmp = tempfile::tempdir().unwrap();
    let Some(on) = Immutable::new(Lockable::S3, "pitr-retained", tmp.path()) else {
        return;
    };
    on.init(governance(Duration::from_secs(15))).await;
    let (_, repo) = on.open().await;
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
