//! Immutable repositories on Azure, against Azurite: what Azurite's request log shows of
//! each write, for the tests in immutable.rs (which run on S3 and GCS too), and what only
//! Azure shows (compliance's `Locked` policy, and a plain store's writes carrying none).
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

use std::time::{Duration, SystemTime};

use serde_json::Value;
use thinledger_backup::Repository;
use thinledger_backup::store::{ObjectLockMode, ObjectLockOptions};

use super::immutable::{Immutable, Lockable};
use super::services::{self, Service};
use crate::common::{init_options, password};

/// One request Azurite logged: method, URL path and headers.
#[derive(Debug)]
pub(crate) struct Logged {
    method: String,
    path: String,
    headers: Value,
}

impl Logged {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }

    /// The blob's name under `prefix` (`data/ab/…`, `locks/…`, `config`).
    pub(crate) fn key(&self, prefix: &str) -> &str {
        let at = self.path.find(&format!("/{prefix}/")).unwrap() + prefix.len() + 2;
        &self.path[at..]
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
pub(crate) async fn blob_writes(prefix: &str, at_least: usize) -> Vec<Logged> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_writes_a_locked_policy_and_plain_stores_write_none() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(at) = Immutable::new(Lockable::Azure, "azure-compliance", tmp.path()) else {
        return;
    };
    let started = SystemTime::now();
    let retain = Duration::from_secs(90);
    at.init(ObjectLockOptions::new(ObjectLockMode::Compliance, retain))
        .await;
    let writes = at.written(3).await;
    at.assert_retained(&writes, started, ObjectLockMode::Compliance, retain);

    // The same container through a store without the policy (a repository that is not
    // immutable): no write carries one.
    let plain_prefix = services::unique_prefix("azure-plain");
    let plain = services::builder_at(Service::Azurite, &plain_prefix, tmp.path())
        .unwrap()
        .build()
        .unwrap();
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
