//! Immutable repositories on Azure, against Azurite.
//!
//! Azurite accepts Put Blob's immutability headers and ignores them (its Set Blob
//! Immutability Policy answers "not implemented"; Azure/Azurite issue 2648): blobs keep no
//! policy, Get Blob Properties returns none, and deletes are never refused. What runs here is
//! therefore the request side, end to end: the engine writes a repository through a store
//! with an immutability policy; Azurite's debug log (scripts/services/azurite.sh) records each
//! request's headers, and Azurite checks every Shared Key signature, so each accepted write
//! proves that the signature covered the headers added to it. Then the read-back side: the
//! policy recorded in the repository is found again on open, and the retention reader asks
//! Azurite for each blob's policy (and, since Azurite keeps none, check reports every object
//! as unretained). Untested here: that Azure refuses to delete or overwrite a blob under its
//! policy, and the dates Azure answers (parsing is unit-tested in the store crate).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::Value;
use thinledger_backup::store::{ObjectLockMode, ObjectLockOptions, Store, StoreBuilder};
use thinledger_backup::{BackupOptions, Repository, backup_paths};

use super::services::{self, Service};
use crate::common::{check_all, init_options, password};

const DAY: Duration = Duration::from_secs(86_400);

/// One request Azurite logged: method, URL path and headers.
#[derive(Debug)]
struct Logged {
    method: String,
    path: String,
    headers: Value,
}

impl Logged {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
}

/// Every request Azurite's debug log holds for blobs under `prefix`.
fn logged(prefix: &str) -> Vec<Logged> {
    let Some(path) = std::env::var_os("THINLEDGER_TEST_AZURITE_DEBUG_LOG") else {
        panic!(
            "THINLEDGER_TEST_AZURITE_DEBUG_LOG is not set (scripts/services/azurite.sh sets it)"
        );
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.split_once("BlobStorageContextMiddleware: RequestMethod=") else {
            continue;
        };
        let rest = rest.1;
        let Some((method, rest)) = rest.split_once(" RequestURL=") else {
            continue;
        };
        let Some((url, rest)) = rest.split_once(" RequestHeaders:") else {
            continue;
        };
        let Some((json, _)) = rest.rsplit_once(" ClientIP=") else {
            continue;
        };
        // scheme://host/path?query → /path
        let after_host = url.split_once("://").map_or(url, |(_, r)| r);
        let path = after_host[after_host.find('/').unwrap_or(after_host.len())..]
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !path.contains(&format!("/{prefix}/")) {
            continue;
        }
        out.push(Logged {
            method: method.to_owned(),
            path,
            headers: serde_json::from_str(json).unwrap(),
        });
    }
    out
}

/// The blob writes (Put Blob) under `prefix`, once the log shows at least `at_least`.
async fn blob_writes(prefix: &str, at_least: usize) -> Vec<Logged> {
    // The log is written asynchronously: give it a moment.
    for _ in 0..50 {
        let writes: Vec<Logged> = logged(prefix)
            .into_iter()
            .filter(|r| r.method == "PUT" && r.header("x-ms-blob-type").is_some())
            .collect();
        if writes.len() >= at_least {
            return writes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Azurite's debug log shows fewer than {at_least} blob writes under {prefix}");
}

fn azurite(prefix: &str, tmp: &std::path::Path) -> Option<StoreBuilder> {
    services::builder_at(Service::Azurite, prefix, tmp)
}

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

async fn open_immutable(builder: StoreBuilder) -> (Store, Arc<Repository>) {
    let store = builder.build_with_recorded_policy().await.unwrap();
    let repo = Repository::open(store.object_store(), store.display_url(), &password())
        .await
        .unwrap()
        .with_object_lock(store.object_lock().cloned());
    (store, Arc::new(repo))
}

fn small_tree(src: &std::path::Path) {
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(
        src.join("sub/data.bin"),
        thinledger_tests::data::noise(300_000, 7),
    )
    .unwrap();
}

/// The object's kind: `data`, `locks`, `config`, … (its first name under the prefix).
fn kind<'a>(write: &'a Logged, prefix: &str) -> &'a str {
    let at = write.path.find(&format!("/{prefix}/")).unwrap() + prefix.len() + 2;
    write.path[at..].split('/').next().unwrap()
}

/// Every write but the lock files' carries the policy: `mode` and a retain-until date `retain`
/// after it was sent (between `started` and now); lock files carry neither. Every write is
/// signed with the account key (Shared Key).
fn assert_policies(
    writes: &[Logged],
    prefix: &str,
    mode: &str,
    started: SystemTime,
    retain: Duration,
) {
    let retain = chrono::Duration::from_std(retain).unwrap();
    let earliest = DateTime::<Utc>::from(started) + retain;
    let latest = Utc::now() + retain + chrono::Duration::seconds(2);
    for w in writes {
        assert!(
            w.header("authorization")
                .is_some_and(|a| a.starts_with("SharedKey ")),
            "{w:?}"
        );
        let until = w.header("x-ms-immutability-policy-until-date");
        if kind(w, prefix) == "locks" {
            assert_eq!(until, None, "a lock file must stay deletable: {w:?}");
            assert_eq!(w.header("x-ms-immutability-policy-mode"), None, "{w:?}");
            continue;
        }
        assert_eq!(
            w.header("x-ms-immutability-policy-mode"),
            Some(mode),
            "{w:?}"
        );
        let until = DateTime::parse_from_rfc2822(until.unwrap_or_else(|| panic!("no date: {w:?}")))
            .unwrap()
            .with_timezone(&Utc);
        assert!(until >= earliest, "{until} < {earliest}: {w:?}");
        assert!(until <= latest, "{until} > {latest}: {w:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_blob_but_the_locks_is_written_with_an_immutability_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = services::unique_prefix("azure-immutable");
    let Some(at) = azurite(&prefix, tmp.path()) else {
        return;
    };
    let started = SystemTime::now();
    let policy = ObjectLockOptions::new(ObjectLockMode::Governance, DAY);
    init_immutable(at.clone(), policy).await;

    // A later open finds the recorded policy and writes with it.
    let (store, repo) = open_immutable(at.clone()).await;
    assert_eq!(store.object_lock().map(|l| l.policy()), Some(policy));
    let src = tmp.path().join("src");
    small_tree(&src);
    let summary = backup_paths(&repo, std::slice::from_ref(&src), &BackupOptions::default())
        .await
        .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);

    // config, a key, the policy record, packs, an index, a snapshot, and two lock files (the
    // backup's, and init's none): every write Azurite accepted (signature checked).
    let writes = blob_writes(&prefix, 7).await;
    assert_policies(&writes, &prefix, "Unlocked", started, DAY);
    let kinds: std::collections::BTreeSet<&str> = writes.iter().map(|w| kind(w, &prefix)).collect();
    for k in [
        "config",
        "keys",
        "data",
        "index",
        "snapshots",
        "locks",
        "thinledger-object-lock.json",
    ] {
        assert!(kinds.contains(k), "no {k} write among {kinds:?}");
    }

    // The retention reader asks Azurite for each blob's policy (Get Blob Properties, signed):
    // Azurite keeps none, so the answer is "no retention", and check says so for every object.
    let lock = store.object_lock().expect("an immutable store");
    let config = lock
        .retention(&thinledger_backup::store::object_store::path::Path::from(
            "config",
        ))
        .await
        .unwrap()
        .expect("config exists");
    assert_eq!((config.mode, config.retain_until), (None, None));
    assert!(
        lock.retention(&thinledger_backup::store::object_store::path::Path::from(
            "no-such-blob"
        ))
        .await
        .unwrap()
        .is_none()
    );
    let report = check_all(&repo).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(!report.retention_findings.is_empty(), "{report:?}");
    for f in &report.retention_findings {
        assert!(f.to_string().contains("no retention"), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_writes_a_locked_policy_and_plain_stores_write_none() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = services::unique_prefix("azure-compliance");
    let Some(at) = azurite(&prefix, tmp.path()) else {
        return;
    };
    let started = SystemTime::now();
    let retain = Duration::from_secs(90);
    init_immutable(
        at.clone(),
        ObjectLockOptions::new(ObjectLockMode::Compliance, retain),
    )
    .await;
    let writes = blob_writes(&prefix, 3).await;
    assert_policies(&writes, &prefix, "Locked", started, retain);

    // The same container through a store without the policy (a repository that is not
    // immutable): no write carries one.
    let plain_prefix = services::unique_prefix("azure-plain");
    let plain = azurite(&plain_prefix, tmp.path()).unwrap().build().unwrap();
    assert!(plain.object_lock().is_none());
    Repository::init(
        plain.object_store(),
        plain.display_url(),
        &password(),
        &init_options(),
    )
    .await
    .unwrap();
    for w in blob_writes(&plain_prefix, 2).await {
        assert_eq!(
            w.header("x-ms-immutability-policy-until-date"),
            None,
            "{w:?}"
        );
        assert_eq!(w.header("x-ms-immutability-policy-mode"), None, "{w:?}");
    }
}
