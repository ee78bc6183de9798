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
