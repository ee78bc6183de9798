//! Finds the test servers scripts/services/*.sh started, and gives each test its own prefix.
//!
//! With `THINLEDGER_REQUIRE_SERVICES=1` (set by scripts/test.sh) a missing server fails the
//! test; under a plain `cargo test` the test prints why it skips and passes.

use std::sync::atomic::{AtomicU64, Ordering};

use thinledger_backup::store::{EnvVars, Secret, StoreBuilder, StoreCredentials};

/// The stores the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Local,
    S3,
    Azurite,
    Gcs,
}

impl Service {
    fn vars(self) -> &'static [&'static str] {
        match self {
            Service::Local => &[],
            Service::S3 => &[
                "THINLEDGER_TEST_S3_ENDPOINT",
                "THINLEDGER_TEST_S3_BUCKET",
                "THINLEDGER_TEST_S3_REGION",
                "THINLEDGER_TEST_S3_ACCESS_KEY_ID",
                "THINLEDGER_TEST_S3_SECRET_ACCESS_KEY",
            ],
            Service::Azurite => &[
                "THINLEDGER_TEST_AZURITE_ENDPOINT",
                "THINLEDGER_TEST_AZURITE_ACCOUNT",
                "THINLEDGER_TEST_AZURITE_KEY",
                "THINLEDGER_TEST_AZURITE_CONTAINER",
            ],
            Service::Gcs => &["THINLEDGER_TEST_GCS_ENDPOINT", "THINLEDGER_TEST_GCS_BUCKET"],
        }
    }
}

/// The service's variables, or `None` (after printing why) when it is not running here.
/// Panics when it is missing and required.
pub(crate) fn env(service: Service) -> Option<EnvVars> {
    let missing: Vec<&str> = service
        .vars()
        .iter()
        .copied()
        .filter(|v| std::env::var(v).map_or(true, |x| x.is_empty()))
        .collect();
    if !missing.is_empty() {
        let message = format!(
            "{service:?} store tests need {} (run `bash scripts/test.sh`, which starts the servers)",
            missing.join(", ")
        );
        thinledger_tests::services::missing(&message);
        return None;
    }
    Some(
        service
            .vars()
            .iter()
            .map(|v| (v.to_string(), std::env::var(v).unwrap_or_default()))
            .collect(),
    )
}

/// A prefix no other test (or earlier run against the same server) uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "it/{test}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store on `service` under a fresh prefix, with the credentials the service needs; `None`
/// when the service is not running (and not required). Local stores live under `tmp`.
pub(crate) fn builder(service: Service, test: &str, tmp: &std::path::Path) -> Option<StoreBuilder> {
    builder_at(service, &unique_prefix(test), tmp)
}

/// [`builder`] for the given prefix.
pub(crate) fn builder_at(
    service: Service,
    prefix: &str,
    tmp: &std::path::Path,
) -> Option<StoreBuilder> {
    let env = env(service)?;
    let get = |name: &str| env.get(name).unwrap_or_default().to_owned();
    Some(match service {
        Service::Local => StoreBuilder::new(tmp.join(prefix).to_string_lossy()),
        Service::S3 => StoreBuilder::new(format!(
            "s3://{}/{prefix}",
            get("THINLEDGER_TEST_S3_BUCKET")
        ))
        .with_endpoint(get("THINLEDGER_TEST_S3_ENDPOINT"))
        .with_region(get("THINLEDGER_TEST_S3_REGION"))
        .with_s3_keys(
            get("THINLEDGER_TEST_S3_ACCESS_KEY_ID"),
            Secret::new(get("THINLEDGER_TEST_S3_SECRET_ACCESS_KEY")),
        ),
        Service::Azurite => StoreBuilder::new(format!(
            "az://{}/{prefix}",
            get("THINLEDGER_TEST_AZURITE_CONTAINER")
        ))
        .with_endpoint(get("THINLEDGER_TEST_AZURITE_ENDPOINT"))
        .with_azure_account(get("THINLEDGER_TEST_AZURITE_ACCOUNT"))
        .with_azure_access_key(Secret::new(get("THINLEDGER_TEST_AZURITE_KEY"))),
        Service::Gcs => StoreBuilder::new(format!(
            "gs://{}/{prefix}",
            get("THINLEDGER_TEST_GCS_BUCKET")
        ))
        .with_endpoint(get("THINLEDGER_TEST_GCS_ENDPOINT"))
        .with_credentials(StoreCredentials::Anonymous),
    })
}
