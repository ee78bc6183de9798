//! thinledger-bucket's tests: the rules and plans as tables (no server), and the S3 control
//! plane against moto (started by `bash scripts/test.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plan;
mod rules;
#[cfg(feature = "s3")]
mod s3;
