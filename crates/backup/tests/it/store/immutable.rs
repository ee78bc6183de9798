//! One harness for immutable repositories on the three stores that write with retention, and
//! the tests whose behaviour is the same on each: S3 Object Lock on moto, GCS Object
//! Retention Lock on fake-gcs-server, Azure immutability policies on Azurite.
//!
//! What each emulator shows, and so what [`Immutable`] reads back:
//! - moto keeps each object's retention (read with HeadObject through its admin script) and
//!   refuses to delete a retained version for good;
//! - fake-gcs-server stores the `retention` an upload's metadata carries and returns it with
//!   the object's metadata, so every write's retention is checked and forget, prune and check
//!   read it back as they do on GCS. It accepts retention on a bucket without Object Retention
//!   Lock, ignores it on deletes (a retained object is deleted all the same) and on
//!   `rewriteTo` copies: so that a retained object is never deleted is shown by what forget
//!   and prune plan and delete, not by the emulator refusing; the request bodies of copies and
//!   the typed refusal are checked in thinledger-store's unit tests (`gcs`, `gcs_retention`);
//! - Azurite accepts the immutability headers and keeps nothing (see azure_lock.rs): what each
//!   write carried is read from its request log, and the store's read-back finds no retention,
//!   so check reports every object as unretained there.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use rstest::rstest;
use serde_json::Value;
use thinledger_backup::store::object_store::path::Path as ObjectPath;
use thinledger_backup::store::{ObjectLockMode, ObjectLockOptions, Store, StoreBuilder};
use thinledger_backup::{
    BackupOptions, CheckReport, Error, FileType, ForgetOptions, Id, KeepPolicy, PruneOptions,
    Repository, backup_paths, copy, forget, prune,
};

use super::azure_lock::blob_writes;
use super::moto::{
    Admin, Bucket, admin, bucket_store, heads_in, new_bucket, run_admin, small_tree,
};
use super::services::{self, Service};
use crate::common::{check_all, init_options, password};

pub(crate) const DAY: Duration = Duration::from_secs(86_400);

pub(crate) fn governance(retain: Duration) -> ObjectLockOptions {
    ObjectLockOptions::new(ObjectLockMode::Governance, retain)
}

/// The stores that write immutable repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lockable {
    S3,
    Gcs,
    Azure,
}

/// Where a test's immutable repository lives, and how the test reads what each object was
/// written with.
enum Target {
    S3 { admin: Admin, bucket: String },
    Gcs { endpoint: String, bucket: String },
    Azure,
}

/// A fresh prefix on one of the [`Lockable`] stores.
pub(crate) struct Immutable {
    target: Target,
    prefix: String,
    builder: StoreBuilder,
}

/// What one object (S3, GCS) or one blob write (Azure) under the prefix carried.
#[derive(Debug)]
pub(crate) struct Written {
    /// The name under the prefix (`data/ab/…`, `locks/…`, `config`).
    pub key: String,
    pub mode: Option<ObjectLockMode>,
    pub until: Option<DateTime<Utc>>,
}

impl Written {
    /// The object's kind: `data`, `locks`, `config`, … (its first name under the prefix).
    fn kind(&self) -> &str {
        self.key.split('/').next().unwrap()
    }
}

impl Immutable {
    /// A fresh prefix named after `test` on `store` (on S3 in a bucket with Object Lock);
    /// `None` when the store's service is not running.
    pub(crate) fn new(store: Lockable, test: &str, tmp: &std::path::Path) -> Option<Self> {
        match store {
            Lockable::S3 => Self::s3(Bucket::ObjectLock, test, tmp),
            Lockable::Gcs => {
                let env = services::env(Service::Gcs)?;
                let endpoint = env.get("THINLEDGER_TEST_GCS_ENDPOINT")?.to_owned();
                let bucket = env.get("THINLEDGER_TEST_GCS_BUCKET")?.to_owned();
                let prefix = services::unique_prefix(test);
                let builder = services::builder_at(Service::Gcs, &prefix, tmp)?;
                Some(Immutable {
                    target: Target::Gcs { endpoint, bucket },
                    prefix,
                    builder,
                })
            }
            Lockable::Azure => {
                let prefix = services::unique_prefix(test);
                let builder = services::builder_at(Service::Azurite, &prefix, tmp)?;
                Some(Immutable {
                    target: Target::Azure,
                    prefix,
                    builder,
                })
            }
        }
    }

    /// A fresh prefix on moto in a bucket of `kind` (made or reused).
    pub(crate) fn s3(kind: Bucket, test: &str, tmp: &std::path::Path) -> Option<Self> {
        let admin = admin()?;
        let name = match kind {
            Bucket::ObjectLockDefault => "lock-default",
            _ => "lock",
        };
        let bucket = new_bucket(&admin, kind, name);
        let prefix = services::unique_prefix(test);
        let builder = bucket_store(&bucket, &prefix, tmp);
        Some(Immutable {
            target: Target::S3 { admin, bucket },
            prefix,
            builder,
        })
    }

    /// A builder of a store at the prefix, without a policy.
    pub(crate) fn at(&self) -> StoreBuilder {
        self.builder.clone()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// moto's admin and the bucket, on S3.
    pub(crate) fn s3_admin(&self) -> Option<(&Admin, &str)> {
        match &self.target {
            Target::S3 { admin, bucket } => Some((admin, bucket)),
            _ => None,
        }
    }

    /// Whether the emulator keeps each object's retention, so that the store reads it back
    /// (Azurite keeps none).
    pub(crate) fn keeps_retention(&self) -> bool {
        !matches!(self.target, Target::Azure)
    }

    /// `init --object-lock` at the prefix: [`init_immutable`].
    pub(crate) async fn init(&self, policy: ObjectLockOptions) -> Store {
        init_immutable(self.at(), policy).await
    }

    /// A later command's open at the prefix: [`open_immutable`].
    pub(crate) async fn open(&self) -> (Store, Arc<Repository>) {
        open_immutable(self.at()).await
    }

    /// What each object under the prefix was written with (Azure: each blob write Azurite
    /// logged, once it shows at least `at_least`, every one signed with Shared Key, which
    /// Azurite checked: so each accepted write's signature covered the headers added to it).
    pub(crate) async fn written(&self, at_least: usize) -> Vec<Written> {
        match &self.target {
            Target::S3 { admin, bucket } => heads_in(admin, bucket, &self.prefix)
                .into_iter()
                .map(|h| Written {
                    key: h.key,
                    mode: h
                        .lock_mode
                        .as_deref()
                        .map(|m| mode(m, "GOVERNANCE", "COMPLIANCE")),
                    until: h.retain_until.as_deref().map(|t| t.parse().unwrap()),
                })
                .collect(),
            Target::Gcs { endpoint, bucket } => {
                let strip = format!("{}/", self.prefix);
                gcs_objects(endpoint, bucket, &self.prefix)
                    .into_iter()
                    .map(|o| {
                        let name = o["name"].as_str().unwrap();
                        let retention = &o["retention"];
                        Written {
                            key: name.strip_prefix(&strip).unwrap().to_owned(),
                            mode: retention["mode"]
                                .as_str()
                                .map(|m| mode(m, "Unlocked", "Locked")),
                            until: retention["retainUntilTime"]
                                .as_str()
                                .map(|t| t.parse().unwrap()),
                        }
                    })
                    .collect()
            }
            Target::Azure => blob_writes(&self.prefix, at_least)
                .await
                .into_iter()
                .map(|w| {
                    assert!(
                        w.header("authorization")
                            .is_some_and(|a| a.starts_with("SharedKey ")),
                        "{w:?}"
                    );
                    let until = w
                        .header("x-ms-immutability-policy-until-date")
                        .map(|t| DateTime::parse_from_rfc2822(t).unwrap().with_timezone(&Utc));
                    Written {
                        key: w.key(&self.prefix).to_owned(),
                        mode: w
                            .header("x-ms-immutability-policy-mode")
                            .map(|m| mode(m, "Unlocked", "Locked")),
                        until,
                    }
                })
                .collect(),
        }
    }

    /// Every object but the lock files carries `mode` and a retain-until date at least
    /// `retain` after `started` and at most `retain` (plus what the store adds) after now;
    /// lock files carry neither. S3 fixes one date for a sixteenth of the retention (at most
    /// 15 minutes, so that its client is not rebuilt for every put) and writes it to whole
    /// seconds; GCS and Azure date each write when it is sent, rounded up to the second.
    pub(crate) fn assert_retained(
        &self,
        written: &[Written],
        started: SystemTime,
        mode: ObjectLockMode,
        retain: Duration,
    ) {
        let (early, late) = match self.target {
            Target::S3 { .. } => (chrono::Duration::seconds(1), chrono::Duration::minutes(16)),
            _ => (chrono::Duration::zero(), chrono::Duration::seconds(2)),
        };
        let retain = chrono::Duration::from_std(retain).unwrap();
        let earliest = DateTime::<Utc>::from(started) + retain - early;
        let latest = Utc::now() + retain + late;
        assert!(!written.is_empty(), "nothing written under {}", self.prefix);
        for w in written {
            if w.kind() == "locks" {
                assert_eq!(w.mode, None, "a lock file must stay deletable: {w:?}");
                assert_eq!(w.until, None, "a lock file must stay deletable: {w:?}");
                continue;
            }
            assert_eq!(w.mode, Some(mode), "{w:?}");
            let until = w
                .until
                .unwrap_or_else(|| panic!("no retain-until date: {w:?}"));
            assert!(until >= earliest, "{until} < {earliest}: {w:?}");
            assert!(until <= latest, "{until} > {latest}: {w:?}");
        }
    }

    /// Check's verdict on a repository every object of which was written with the policy:
    /// whole where the store reads retention back; where it reads none (Azurite), no error
    /// but every finding is an object without retention.
    pub(crate) fn assert_checked(&self, report: &CheckReport) {
        if self.keeps_retention() {
            assert!(report.is_ok(), "{report:?}");
            return;
        }
        assert!(report.errors.is_empty(), "{report:?}");
        assert!(!report.retention_findings.is_empty(), "{report:?}");
        for f in &report.retention_findings {
            assert!(f.to_string().contains("no retention"), "{f}");
        }
    }
}

/// `mode` as the store names it: `governance` or `compliance`.
fn mode(text: &str, governance: &str, compliance: &str) -> ObjectLockMode {
    match text {
        t if t == governance => ObjectLockMode::Governance,
        t if t == compliance => ObjectLockMode::Compliance,
        other => panic!("not a retention mode: {other:?}"),
    }
}

/// Every kind of object a repository has was written (a lock file among them).
pub(crate) fn assert_every_kind(written: &[Written]) {
    let kinds: std::collections::BTreeSet<&str> = written.iter().map(Written::kind).collect();
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
}

/// Every object under `prefix` in the GCS emulator's bucket, as the JSON API lists them
/// (with `retention`).
fn gcs_objects(endpoint: &str, bucket: &str, prefix: &str) -> Vec<Value> {
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
pub(crate) async fn init_immutable(builder: StoreBuilder, policy: ObjectLockOptions) -> Store {
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

/// A later command's open (as ledger-backup and the scheduler do): the store built with the
/// recorded policy, the repository told of it.
pub(crate) async fn open_immutable(builder: StoreBuilder) -> (Store, Arc<Repository>) {
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

/// The same repository opened on a bare object store, which cannot tell what is retained.
pub(crate) async fn open_bare(store: &Store) -> Arc<Repository> {
    Arc::new(
        Repository::open(store.object_store(), store.display_url(), &password())
            .await
            .unwrap(),
    )
}

pub(crate) fn keep_last_one_and_prune() -> ForgetOptions {
    ForgetOptions::default()
        .with_policy(KeepPolicy::default().with_last(1))
        .with_prune(PruneOptions::default())
}

/// `src/data.bin` with noise of `seed`: backups of one path, so forget groups them.
pub(crate) fn write_data(src: &std::path::Path, seed: u64) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(
        src.join("data.bin"),
        thinledger_tests::data::noise(200_000, seed),
    )
    .unwrap();
}

/// Waits until a few seconds after `until`, when a retention that ends then has ended.
pub(crate) async fn sleep_past(until: DateTime<Utc>) {
    let wait = (until - Utc::now() + chrono::Duration::seconds(6))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
}

async fn backup(repo: &Arc<Repository>, src: &std::path::Path) -> Id {
    let summary = backup_paths(repo, &[src.to_path_buf()], &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    summary.snapshot_id
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_but_the_locks_is_written_retained(
    #[values(Lockable::S3, Lockable::Gcs, Lockable::Azure)] on: Lockable,
) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(at) = Immutable::new(on, "object-lock", tmp.path()) else {
        return;
    };
    let started = SystemTime::now();
    let policy = governance(DAY);
    let store = at.init(policy).await;
    assert_eq!(
        ObjectLockOptions::recorded(store.object_store().as_ref())
            .await
            .unwrap(),
        Some(policy)
    );
    // A later open finds the recorded policy and writes with it.
    let (opened, repo) = at.open().await;
    assert_eq!(opened.object_lock().map(|l| l.policy()), Some(policy));
    let src = tmp.path().join("src");
    small_tree(&src);
    let snapshot = backup(&repo, &src).await;

    // config, a key, the policy record, packs, an index, a snapshot, and lock files (the
    // backup's, and this one, held while the objects are listed).
    let held = repo.lock(false).await.unwrap();
    let written = at.written(7).await;
    held.release().await.unwrap();
    at.assert_retained(&written, started, ObjectLockMode::Governance, DAY);
    assert_every_kind(&written);

    // Nobody with the backup's rights deletes a retained version for good (moto refuses;
    // the other emulators would delete it).
    if let Some((admin, bucket)) = at.s3_admin() {
        let outcome = run_admin(
            admin,
            &["delete-versions", bucket, &format!("{}/data/", at.prefix())],
        );
        let outcome: Value = serde_json::from_str(outcome.trim()).unwrap();
        assert_eq!(outcome["deleted"], 0, "{outcome}");
        assert!(outcome["refused"].as_u64().unwrap() > 0, "{outcome}");
    }

    // The store reads each object's retention back (S3: HeadObject; GCS: the object's
    // metadata; Azure: Get Blob Properties, signed, of which Azurite answers no policy).
    let lock = opened.object_lock().expect("an immutable store");
    for name in [
        "config".to_owned(),
        format!("snapshots/{}", snapshot.to_hex()),
    ] {
        let retention = lock
            .retention(&ObjectPath::from(name.as_str()))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} exists"));
        if at.keeps_retention() {
            assert_eq!(retention.mode, Some(ObjectLockMode::Governance), "{name}");
            assert!(retention.retained_at(Utc::now() + chrono::Duration::hours(23)));
        } else {
            assert_eq!((retention.mode, retention.retain_until), (None, None));
        }
    }
    for missing in ["snapshots/0000", "no-such-object"] {
        let retention = lock.retention(&ObjectPath::from(missing)).await.unwrap();
        assert!(retention.is_none(), "{missing}: {retention:?}");
    }

    // The repository stays whole and readable, every object as retained as the policy says.
    at.assert_checked(&check_all(&repo).await);

    // A second backup, so that forget has a snapshot to remove.
    write_data(&src, 2);
    backup(&repo, &src).await;
    if at.keeps_retention() {
        // forget keeps the snapshot it would remove while it is retained, and says until when.
        let done = forget(&repo, &keep_last_one_and_prune()).await.unwrap();
        assert_eq!(done.plan.to_remove().count(), 1);
        assert_eq!(done.removed, 0);
        assert_eq!(done.retained.len(), 1, "{:?}", done.retained);
        assert_eq!(done.retained[0].kind, "snapshot");
        let until = done.retained[0].retained_until.expect("a date");
        assert!(until > Utc::now() + chrono::Duration::hours(23), "{until}");
        assert!(done.prune.expect("a prune plan").retained.is_empty());
        assert_eq!(repo.snapshots().await.unwrap().len(), 2);
        let report = check_all(&repo).await;
        assert!(report.is_ok(), "{report:?}");
    }

    // Opened on a bare object store, the repository cannot tell what is retained: forget and
    // prune are refused before anything is deleted (a dry run still plans).
    let snapshots = repo.snapshots().await.unwrap().len();
    let bare = open_bare(&store).await;
    let dry = forget(&bare, &keep_last_one_and_prune().with_dry_run(true))
        .await
        .unwrap();
    assert_eq!(snapshots, 2);
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
    assert_eq!(repo.snapshots().await.unwrap().len(), snapshots);
}

/// forget and prune plan around retention instead of finding it out from a refused delete
/// (which fake-gcs-server would not refuse), and remove what they kept once its date has
/// passed. (Azurite keeps no retention to plan around.)
#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_and_prune_keep_retained_objects_and_remove_them_after_their_date(
    #[values(Lockable::S3, Lockable::Gcs)] on: Lockable,
) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(at) = Immutable::new(on, "retained", tmp.path()) else {
        return;
    };
    // Long enough for the first steps to run well inside it on a loaded machine.
    at.init(governance(Duration::from_secs(15))).await;
    let (_, repo) = at.open().await;
    let src = tmp.path().join("src");
    write_data(&src, 1);
    let first = backup(&repo, &src).await;
    write_data(&src, 2);
    backup(&repo, &src).await;

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
    let retained_packs = |retained: &[thinledger_backup::RetainedObject]| {
        retained
            .iter()
            .filter(|r| r.kind == "pack")
            .map(|r| r.id)
            .collect::<std::collections::BTreeSet<Id>>()
    };
    let kept = retained_packs(&plan.retained);
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
    assert_eq!(retained_packs(&applied.retained), kept, "{applied:?}");
    assert_eq!(
        repo.list_files(FileType::Pack).await.unwrap().len(),
        packs_before.len()
    );

    // After their dates a prune removes them, and the repository is whole.
    let last = plan
        .retained
        .iter()
        .chain(&applied.retained)
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
    backup(&repo, &src).await;
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

/// A writer that ignores the policy leaves objects check reports, in either mode (GCS
/// compliance is `Locked`).
#[rstest]
#[case::s3_governance(Lockable::S3, ObjectLockMode::Governance)]
#[case::gcs_compliance(Lockable::Gcs, ObjectLockMode::Compliance)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_objects_retained_for_less_than_the_policy(
    #[case] on: Lockable,
    #[case] mode: ObjectLockMode,
) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(at) = Immutable::new(on, "short-retention", tmp.path()) else {
        return;
    };
    let started = SystemTime::now();
    at.init(ObjectLockOptions::new(mode, DAY)).await;
    let (_, repo) = at.open().await;
    let src = tmp.path().join("src");
    write_data(&src, 1);
    let first = backup(&repo, &src).await;
    at.assert_retained(&at.written(6).await, started, mode, DAY);
    let report = check_all(&repo).await;
    assert!(report.is_ok(), "{report:?}");

    // A writer that ignores the policy (the repository opened on a store without it).
    let careless = open_bare(&at.at().build().unwrap()).await;
    write_data(&src, 2);
    let second = backup(&careless, &src).await;

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

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_into_an_immutable_repository_retains_every_object_it_writes(
    #[values(Lockable::S3, Lockable::Gcs, Lockable::Azure)] on: Lockable,
) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(at) = Immutable::new(on, "copy-to-lock", tmp.path()) else {
        return;
    };
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
    backup(&source, &src).await;

    let started = SystemTime::now();
    at.init(governance(DAY)).await;
    let (_, target) = at.open().await;
    let summary = copy(&source, &target, &[]).await.unwrap();
    assert_eq!(summary.copied.len(), 1);

    let written = at.written(6).await;
    at.assert_retained(&written, started, ObjectLockMode::Governance, DAY);
    for kind in ["data/", "index/", "snapshots/"] {
        assert!(
            written.iter().any(|w| w.key.starts_with(kind)),
            "no {kind} object copied"
        );
    }
    at.assert_checked(&check_all(&target).await);
}
