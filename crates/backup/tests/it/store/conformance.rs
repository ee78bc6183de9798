//! The same behaviour from every store: a local folder, an S3 server (moto), Azurite and
//! fake-gcs-server.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    UpdateVersion,
};
use rstest::rstest;
use rstest_reuse::{self, apply, template};
use thinledger_backup::store::{Store, StoreBuilder};

use super::services::{self, Service};

/// The stores every conformance test runs against.
#[template]
#[rstest]
#[case::local(Service::Local)]
#[case::s3(Service::S3)]
#[case::azurite(Service::Azurite)]
#[case::gcs(Service::Gcs)]
fn every_service(#[case] service: Service) {}

fn create() -> PutOptions {
    PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    }
}

fn build(service: Service, test: &str, tmp: &tempfile::TempDir) -> Option<Store> {
    services::builder(service, test, tmp.path()).map(|b| b.build().unwrap())
}

/// The whole object at `path`.
async fn read(store: &Arc<dyn ObjectStore>, path: &Path) -> Bytes {
    store.get(path).await.unwrap().bytes().await.unwrap()
}

/// A copy that refuses to replace an existing object.
fn create_only_copy() -> CopyOptions {
    CopyOptions {
        mode: CopyMode::Create,
        ..Default::default()
    }
}

async fn names(store: &Arc<dyn ObjectStore>, prefix: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = store
        .list(prefix)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    names.sort();
    names
}

#[apply(every_service)]
#[tokio::test]
async fn put_get_range_head_list_delete(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(store) = build(service, "basic", &tmp) else {
        return;
    };
    let s = store.object_store();
    let data: Bytes = (0..=255u8).cycle().take(100_000).collect();

    let put = s
        .put(&Path::from("data/ab/pack1"), data.clone().into())
        .await
        .unwrap();
    s.put(&Path::from("data/cd/pack2"), "two".into())
        .await
        .unwrap();
    s.put(&Path::from("config"), "config".into()).await.unwrap();

    let got = read(&s, &Path::from("data/ab/pack1")).await;
    assert_eq!(got, data);
    let range = s
        .get_range(&Path::from("data/ab/pack1"), 1000..1010)
        .await
        .unwrap();
    assert_eq!(range, data.slice(1000..1010));
    let suffix = s
        .get_opts(
            &Path::from("data/ab/pack1"),
            GetOptions {
                range: Some(GetRange::Suffix(16)),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(suffix, data.slice(data.len() - 16..));

    let head = s.head(&Path::from("data/ab/pack1")).await.unwrap();
    assert_eq!(head.size, 100_000);
    assert_eq!(
        head.location,
        Path::from("data/ab/pack1"),
        "paths are relative to the prefix"
    );
    if service == Service::Gcs {
        // fake-gcs-server's XML API reports the MD5 in base64 where real GCS reports hex (which
        // is what a put returns); the generation identifies the version on both.
        assert_eq!(
            put.version, head.version,
            "a put reports the generation a head sees"
        );
        assert!(put.version.is_some());
    } else if let (Some(put_tag), Some(head_tag)) = (&put.e_tag, &head.e_tag) {
        assert_eq!(put_tag, head_tag, "a put reports the e-tag a head sees");
    }

    assert_eq!(
        names(&s, None).await,
        ["config", "data/ab/pack1", "data/cd/pack2"]
    );
    assert_eq!(
        names(&s, Some(&Path::from("data"))).await,
        ["data/ab/pack1", "data/cd/pack2"]
    );
    let listed = s
        .list_with_delimiter(Some(&Path::from("data")))
        .await
        .unwrap();
    let mut dirs: Vec<String> = listed
        .common_prefixes
        .iter()
        .map(|p| p.to_string())
        .collect();
    dirs.sort();
    assert_eq!(dirs, ["data/ab", "data/cd"]);
    assert!(listed.objects.is_empty());
    let top = s.list_with_delimiter(None).await.unwrap();
    assert_eq!(top.objects.len(), 1);
    assert_eq!(top.objects[0].location, Path::from("config"));
    assert_eq!(top.objects[0].size, 6);

    s.delete(&Path::from("data/cd/pack2")).await.unwrap();
    let gone = s.get(&Path::from("data/cd/pack2")).await;
    assert!(
        matches!(gone, Err(object_store::Error::NotFound { .. })),
        "{gone:?}"
    );
    let head_gone = s.head(&Path::from("data/cd/pack2")).await;
    assert!(
        matches!(head_gone, Err(object_store::Error::NotFound { .. })),
        "{head_gone:?}"
    );
    // S3 answers a delete of a missing object with success, Azure with NotFound: both are fine.
    match s.delete(&Path::from("data/cd/pack2")).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => panic!("deleting a missing object: {e}"),
    }
    assert_eq!(names(&s, None).await, ["config", "data/ab/pack1"]);
}

#[apply(every_service)]
#[tokio::test]
async fn create_only_put_refuses_an_existing_name(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(store) = build(service, "create", &tmp) else {
        return;
    };
    assert!(store.atomic_create());
    let s = store.object_store();
    let path = Path::from("keys/0123abcd");
    s.put_opts(&path, "first".into(), create()).await.unwrap();
    let second = s.put_opts(&path, "second".into(), create()).await;
    assert!(
        matches!(second, Err(object_store::Error::AlreadyExists { .. })),
        "{service:?}: {second:?}"
    );
    let kept = read(&s, &path).await;
    assert_eq!(kept, "first", "the first object is untouched");
    // An overwrite is still allowed where the caller asks for it.
    s.put(&path, "third".into()).await.unwrap();
    assert_eq!(read(&s, &path).await, "third");
}

#[apply(every_service)]
#[tokio::test]
async fn concurrent_creates_of_one_name_have_one_winner(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(store) = build(service, "race", &tmp) else {
        return;
    };
    let s = store.object_store();
    let path = Path::from("locks/race");
    let results = futures::future::join_all((0..8).map(|i| {
        let s = Arc::clone(&s);
        let path = path.clone();
        async move {
            s.put_opts(&path, format!("writer {i}").into(), create())
                .await
        }
    }))
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let lost = results
        .iter()
        .filter(|r| matches!(r, Err(object_store::Error::AlreadyExists { .. })))
        .count();
    assert_eq!((won, lost), (1, 7), "{service:?}: {results:?}");
}

#[apply(every_service)]
#[tokio::test]
async fn prefix_scopes_every_operation(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(builder) = services::builder(service, "prefix", tmp.path()) else {
        return;
    };
    let scoped = builder.clone().build().unwrap();
    let prefix = scoped.location().prefix().to_owned();
    scoped
        .object_store()
        .put(&Path::from("snapshots/s1"), "s1".into())
        .await
        .unwrap();

    // The same bucket one level up sees the object under the full prefix.
    let (parent_url, leaf) = match scoped.location() {
        thinledger_backup::store::StoreLocation::Local { root } => {
            let file = root.join("snapshots/s1");
            assert_eq!(std::fs::read(&file).unwrap(), b"s1", "{}", file.display());
            return;
        }
        _ => {
            let url = scoped.location().to_string();
            let (parent, leaf) = url.rsplit_once('/').unwrap();
            (parent.to_owned(), leaf.to_owned())
        }
    };
    let parent = rebuild(builder, &parent_url).build().unwrap();
    let p = parent.object_store();
    let full = names(&p, Some(&Path::from(leaf.as_str()))).await;
    assert_eq!(full, [format!("{leaf}/snapshots/s1")], "prefix {prefix}");
    // And the scoped store does not see its neighbours.
    p.put(&Path::from(format!("{leaf}-neighbour/x")), "n".into())
        .await
        .unwrap();
    assert_eq!(names(&scoped.object_store(), None).await, ["snapshots/s1"]);
}

/// The builder of a service for another URL (same endpoint and credentials).
fn rebuild(builder: StoreBuilder, url: &str) -> StoreBuilder {
    // Only the URL differs; the builder carries endpoint, account and credentials.
    builder.with_url(url)
}

#[apply(every_service)]
#[tokio::test]
async fn copies_and_conditional_updates(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(store) = build(service, "copy", &tmp) else {
        return;
    };
    let s = store.object_store();
    let a = Path::from("index/a");
    let b = Path::from("index/b");
    let first = s.put(&a, "index a".into()).await.unwrap();
    s.copy(&a, &b).await.unwrap();
    assert_eq!(read(&s, &b).await, "index a");

    let fresh = s
        .copy_opts(&a, &Path::from("index/c"), create_only_copy())
        .await;
    if service == Service::S3 {
        // S3 has no create-only copy without a server-specific setting; it says so.
        assert!(
            matches!(
                fresh,
                Err(object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented { .. })
            ),
            "{fresh:?}"
        );
    } else {
        fresh.unwrap();
        assert_eq!(read(&s, &Path::from("index/c")).await, "index a");
    }
    // fake-gcs-server ignores ifGenerationMatch on copies (real GCS honours it); S3 see above.
    if service != Service::S3 && service != Service::Gcs {
        let refused = s.copy_opts(&a, &b, create_only_copy()).await;
        assert!(
            matches!(refused, Err(object_store::Error::AlreadyExists { .. })),
            "{service:?}: {refused:?}"
        );
    }

    if service != Service::Local {
        // Compare-and-swap on the version a put returned; a stale version is refused.
        let update = |v: &object_store::PutResult| PutOptions {
            mode: PutMode::Update(UpdateVersion::from(v.clone())),
            ..Default::default()
        };
        let second = s
            .put_opts(&a, "index a v2".into(), update(&first))
            .await
            .unwrap();
        let stale = s.put_opts(&a, "index a v3".into(), update(&first)).await;
        assert!(
            matches!(stale, Err(object_store::Error::Precondition { .. })),
            "{service:?}: {stale:?}"
        );
        s.put_opts(&a, "index a v3".into(), update(&second))
            .await
            .unwrap();
        assert_eq!(read(&s, &a).await, "index a v3");
    }
}

#[apply(every_service)]
#[tokio::test]
async fn parallel_uploads_bounded_by_max_in_flight(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(builder) = services::builder(service, "parallel", tmp.path()) else {
        return;
    };
    let store = builder.with_max_in_flight(4).build().unwrap();
    assert_eq!(store.max_in_flight(), 4);
    let s = store.object_store();
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    futures::stream::iter(0..40)
        .map(|i| {
            let (s, in_flight, peak) = (Arc::clone(&s), Arc::clone(&in_flight), Arc::clone(&peak));
            async move {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                let body: Bytes = vec![i as u8; 64 * 1024].into();
                let r = s
                    .put_opts(&Path::from(format!("data/{i:02}")), body.into(), create())
                    .await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                r
            }
        })
        .buffer_unordered(store.max_in_flight())
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 4);
    assert_eq!(names(&s, Some(&Path::from("data"))).await.len(), 40);
    let sample = read(&s, &Path::from("data/17")).await;
    assert_eq!(sample.len(), 64 * 1024);
    assert!(sample.iter().all(|b| *b == 17));
}

/// A server that refuses connections: every cloud store retries, then reports how often.
#[rstest]
#[case::s3("s3://ledger/x?region=us-east-1", None)]
#[case::azure("az://ledger/x", Some("/devstoreaccount1"))]
#[case::gcs("gs://ledger/x", None)]
#[tokio::test]
async fn transient_failures_are_retried_then_reported(
    #[case] url: &str,
    #[case] path: Option<&str>,
) {
    use std::time::Duration;
    use thinledger_backup::store::{RetryOptions, Secret, StoreCredentials};

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut retry = RetryOptions::default();
    retry.max_retries = 2;
    retry.initial_backoff = Duration::from_millis(10);
    retry.max_backoff = Duration::from_millis(20);
    let credentials = if url.starts_with("az") {
        StoreCredentials::AzureAccessKey {
            key: Secret::new("a2V5LWZvci1hLXNlcnZlci10aGF0LWlzLW5vdC10aGVyZQ=="),
        }
    } else {
        StoreCredentials::Anonymous
    };
    let mut builder = StoreBuilder::new(url);
    if url.starts_with("az") {
        builder = builder.with_azure_account("devstoreaccount1");
    }
    let store = builder
        .with_endpoint(format!("http://127.0.0.1:{port}{}", path.unwrap_or("")))
        .with_credentials(credentials)
        .with_retry(retry)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = store
        .object_store()
        .put_opts(&Path::from("data/x"), "x".into(), create())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 retries"), "{url}: {err}");
    assert!(
        started.elapsed() >= Duration::from_millis(10),
        "it waited between attempts"
    );
}
