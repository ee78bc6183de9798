//! Helpers shared by thinledger's test binaries, so that no test binary keeps its own copy:
//! the example files ([`examples`]), the servers and tools `scripts/test.sh` starts
//! ([`services`]), Debian's restic as the interop oracle ([`restic`]), kubernetes-validate
//! ([`kubernetes`]), test data ([`data`]) and tree comparison after a restore ([`tree`]).
//!
//! This library depends on none of thinledger's library crates, so each of them can list it
//! under `[dev-dependencies]` without a dependency cycle. Its own integration test
//! (`tests/e2e`) goes through the crates end to end.
//!
//! ```
//! use thinledger_tests::examples;
//!
//! // The AWS example tenant with one line changed, in a temporary file.
//! let (_dir, path) = examples::edited_tenant("aws", "nodes: 3", "nodes: 5");
//! assert!(std::fs::read_to_string(path).unwrap().contains("nodes: 5"));
//! ```
// Helpers of tests: a failed step is a failed test, with the message saying which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod data;
pub mod examples;
pub mod kubernetes;
pub mod restic;
pub mod services;
pub mod tree;
