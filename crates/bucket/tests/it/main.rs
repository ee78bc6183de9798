//! thinledger-bucket's tests: the rules and plans as tables (no server), the S3 control plane
//! against moto and the Azure one against Azurite (started by `bash scripts/test.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "azure")]
mod azure;
mod azure_rules;
mod plan;
mod rules;
#[cfg(feature = "s3")]
mod s3;
