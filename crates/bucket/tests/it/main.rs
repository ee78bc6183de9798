//! thinledger-bucket's tests: the rules and plans as tables (no server), the S3 control
//! plane against moto, the Azure one against Azurite and the GCS one against fake-gcs-server
//! (started by `bash scripts/test.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "azure")]
mod azure;
mod azure_rules;
#[cfg(feature = "gcs")]
mod gcs;
mod plan;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
mod record;
mod rules;
#[cfg(feature = "s3")]
mod s3;

/// A bucket (container) name for `test` that no other test or run uses: lowercase, at most
/// 63 characters for a short `test`, as S3, GCS and Azure all accept.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn unique_name(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "tl-{test}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}
