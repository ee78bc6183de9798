//! S3 Object Lock on moto: a repository whose objects (lock files excepted) are written with
//! governance retention, and which the bucket then refuses to lose.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thinledger_backup::store::{ObjectLockMode, ObjectLockOptions};
use thinledger_backup::{
    BackupOptions, CheckOptions, Error, ForgetOptions, KeepPolicy, PruneOptions, ReadData,
    Repository, backup_paths, check, forget, prune,
};

use super::encryption::{admin, heads_in, run_admin, small_tree};
use super::services::{self, Service};
use crate::common::{init_options, password};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_but_the_locks_is_retained() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = format!("thinledger-lock-{}", std::process::id());
    run_admin(&admin, &["lock-bucket", &bucket]);
    let prefix = services::unique_prefix("object-lock");
    let lock = ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(86_400));
    let store = services::builder_at(Service::S3, &prefix, tmp.path())
        .unwrap()
        .with_url(format!("s3://{bucket}/{prefix}"))
        .with_object_lock(lock)
        .build()
        .unwrap();
    let shown = store.display_url().to_owned();
    let repo = Arc::new(
        Repository::init(
            store.object_store(),
            shown.clone(),
            &password(),
            &init_options(),
        )
        .await
        .unwrap(),
    );
    lock.record(store.object_store().as_ref()).await.unwrap();
    assert_eq!(
        ObjectLockOptions::recorded(store.object_store().as_ref())
            .await
            .unwrap(),
        Some(lock)
    );
    let src = tmp.path().join("src");
    small_tree(&src);
    let started = SystemTime::now();
    let summary = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);

    let held = repo.lock(false).await.unwrap();
    let objects = heads_in(&admin, &bucket, &prefix);
    held.release().await.unwrap();

    let day = chrono::Duration::seconds(86_400);
    let earliest = chrono::DateTime::<chrono::Utc>::from(started) + day;
    let latest = chrono::Utc::now() + day + chrono::Duration::minutes(16);
    let mut kinds = std::collections::BTreeSet::new();
    for head in &objects {
        let kind = head.key.split('/').next().unwrap().to_owned();
        if kind == "locks" {
            assert_eq!(
                head.lock_mode, None,
                "a lock file must stay deletable: {head:?}"
            );
            assert_eq!(head.retain_until, None, "{head:?}");
        } else {
            assert_eq!(head.lock_mode.as_deref(), Some("GOVERNANCE"), "{head:?}");
            let until: chrono::DateTime<chrono::Utc> = head
                .retain_until
                .as_deref()
                .unwrap_or_else(|| panic!("no retain-until date: {head:?}"))
                .parse()
                .unwrap();
            // At least a day after the upload, at most a day plus the refresh interval.
            assert!(until >= earliest - chrono::Duration::seconds(1), "{head:?}");
            assert!(until <= latest, "{head:?}");
        }
        kinds.insert(kind);
    }
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

    // The repository stays whole and readable.
    let report = check(
        &repo,
        &CheckOptions::default().with_read_data(ReadData::All),
    )
    .await
    .unwrap();
    assert!(report.is_ok(), "{report:?}");

    // forget and prune would delete retained objects: both are refused before anything is
    // deleted (a dry run still plans), and both snapshots stay.
    backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    let keep_last = KeepPolicy::default().with_last(1);
    let dry = forget(
        &repo,
        &ForgetOptions::default()
            .with_policy(keep_last)
            .with_dry_run(true)
            .with_prune(PruneOptions::default()),
    )
    .await
    .unwrap();
    assert_eq!(dry.plan.to_remove().count(), 1);
    let err = forget(
        &repo,
        &ForgetOptions::default()
            .with_policy(keep_last)
            .with_prune(PruneOptions::default()),
    )
    .await
    .unwrap_err();
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
    let err = prune(&repo, &PruneOptions::default()).await.unwrap_err();
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
