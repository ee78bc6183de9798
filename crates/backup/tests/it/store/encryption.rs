//! Server-side encryption on every object a repository writes, on moto (S3): a KMS key made
//! on moto's own KMS endpoint, init + backup + a WAL push + a held lock, then HeadObject on
//! every object. And the refusal path: a bucket whose policy denies the uploads gives a typed
//! error naming the encryption options, on init and on a later open's first write (its lock).
//!
//! What moto cannot show: it accepts unknown KMS key ids and ignores bucket-policy Conditions
//! (a deny statement with `StringNotEquals s3:x-amz-server-side-encryption` denies every put),
//! so "the policy accepts aws:kms with this key and refuses the rest" is not tested here; the
//! refusal test uses a policy that denies all puts, which is what such a bucket answers to a
//! request it does not accept.

use std::collections::BTreeSet;
use std::sync::Arc;

use thinledger_backup::store::{Store, StoreError};
use thinledger_backup::{BackupOptions, Error, Repository, backup_paths};

use super::moto::{
    Admin, Bucket, Head, admin, bucket_store, heads_in, new_bucket, new_kms_key, run_admin,
    small_tree,
};
use super::services::{self, Service};
use crate::common::{init_options, password};

fn heads(admin: &Admin, store: &Store) -> Vec<Head> {
    let bucket = std::env::var("THINLEDGER_TEST_S3_BUCKET").unwrap();
    heads_in(admin, &bucket, store.location().prefix())
}

/// The `StoreError::EncryptionRefused` somewhere in `err`'s chain.
fn refusal<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a StoreError> {
    let mut cause = Some(err);
    while let Some(c) = cause {
        if let Some(e @ StoreError::EncryptionRefused { .. }) = c.downcast_ref::<StoreError>() {
            return Some(e);
        }
        cause = c.source();
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_is_written_with_the_kms_key() {
    let Some(admin) = admin() else { return };
    let key = new_kms_key(&admin);
    let tmp = tempfile::tempdir().unwrap();
    let store = services::builder(Service::S3, "sse-kms", tmp.path())
        .unwrap()
        .with_sse_kms(&key)
        .build()
        .unwrap();
    assert_eq!(
        store.encryption(),
        Some(format!("server_side_encryption=aws:kms, sse_kms_key_id={key}").as_str())
    );
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
    let src = tmp.path().join("src");
    small_tree(&src);
    let summary = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);

    // A WAL segment through the PITR push: its packs, index and snapshot go the same way.
    let wal = tmp.path().join("pg_wal");
    std::fs::create_dir_all(&wal).unwrap();
    let segment = wal.join("000000010000000000000001");
    std::fs::write(&segment, thinledger_tests::data::noise(1 << 20, 3)).unwrap();
    let mut catalog = thinledger_backup::pitr::wal::Catalog::load(&repo, "main", None)
        .await
        .unwrap();
    let pushed = thinledger_backup::pitr::wal::push_batch(
        &repo,
        &mut catalog,
        &[segment],
        &thinledger_backup::pitr::wal::PushOptions::default(),
    )
    .await
    .unwrap();
    assert!(pushed.iter().all(|r| r.outcome.is_ok()), "{pushed:?}");

    // A lock held while the objects are listed, so locks/ is among them.
    let lock = repo.lock(false).await.unwrap();
    let objects = heads(&admin, &store);
    lock.release().await.unwrap();

    let kinds: BTreeSet<&str> = objects
        .iter()
        .map(|h| h.key.split('/').next().unwrap())
        .collect();
    for kind in ["config", "keys", "data", "index", "snapshots", "locks"] {
        assert!(kinds.contains(kind), "no {kind} object among {kinds:?}");
    }
    for head in &objects {
        assert_eq!(head.sse.as_deref(), Some("aws:kms"), "{head:?}");
        assert_eq!(head.kms_key_id.as_deref(), Some(key.as_str()), "{head:?}");
    }

    // The repository reads back through the same store.
    let opened = Repository::open(store.object_store(), shown, &password())
        .await
        .unwrap();
    assert_eq!(opened.snapshots().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_names_the_encryption_on_init_and_on_open() {
    let Some(admin) = admin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    // init into a bucket that refuses the uploads.
    let bucket = new_bucket(&admin, Bucket::DenyPuts, "deny");
    let prefix = services::unique_prefix("sse-refused");
    let store = bucket_store(&bucket, &prefix, tmp.path())
        .with_sse_kms(key)
        .build()
        .unwrap();
    let err = Repository::init(
        store.object_store(),
        store.display_url(),
        &password(),
        &init_options(),
    )
    .await
    .unwrap_err();
    assert_refusal(&err, key);

    // A repository made in an open bucket, opened later with a key the bucket refuses: open
    // reads, and the first write (the lock of a backup) says which encryption was refused.
    let (ok_store, refused_store) = two_stores_on_one_prefix(&admin, tmp.path(), key).await;
    let repo = Arc::new(
        Repository::open(
            refused_store.object_store(),
            refused_store.display_url(),
            &password(),
        )
        .await
        .unwrap(),
    );
    let src = tmp.path().join("src");
    small_tree(&src);
    let err = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap_err();
    assert_refusal(&err, key);
    drop(ok_store);
}

/// A repository initialised with SSE-KMS, and a second store on the same prefix whose writes
/// the bucket refuses (the policy is put in place after init).
async fn two_stores_on_one_prefix(
    admin: &Admin,
    tmp: &std::path::Path,
    key: &str,
) -> (Store, Store) {
    let bucket = new_bucket(admin, Bucket::Plain, "later");
    let prefix = services::unique_prefix("sse-open");
    let build = || {
        bucket_store(&bucket, &prefix, tmp)
            .with_sse_kms(key)
            .build()
            .unwrap()
    };
    let ok = build();
    Repository::init(
        ok.object_store(),
        ok.display_url(),
        &password(),
        &init_options(),
    )
    .await
    .unwrap();
    run_admin(admin, &["deny-puts", &bucket]);
    (ok, build())
}

fn assert_refusal(err: &Error, key: &str) {
    let shown = err.to_string();
    let typed = refusal(err).unwrap_or_else(|| panic!("no EncryptionRefused in {shown}"));
    let StoreError::EncryptionRefused {
        options, op, fix, ..
    } = typed
    else {
        unreachable!()
    };
    assert_eq!(op.to_string(), "write");
    assert_eq!(
        options.to_string(),
        format!("server_side_encryption=aws:kms, sse_kms_key_id={key}")
    );
    assert!(fix.contains("bucket policy"), "{fix}");
    for part in [
        "server_side_encryption=aws:kms",
        key,
        "refused",
        "rule:",
        "fix:",
    ] {
        assert!(shown.contains(part), "{part:?} missing from: {shown}");
    }
}
