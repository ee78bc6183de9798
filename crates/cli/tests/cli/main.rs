//! Integration tests of the thin binaries: one test binary, one module per tool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "backup")]
mod common;

#[cfg(feature = "size")]
mod size;

#[cfg(feature = "policy")]
mod policy;

#[cfg(feature = "topology")]
mod topology;

// `ledger-topology rollout plan|check`: ring rollouts and their CI gate
#[cfg(feature = "topology")]
mod rollout;

// `ledger-topology iam`: the access documents
#[cfg(feature = "topology")]
mod iam;

#[cfg(feature = "backup")]
mod backup;

#[cfg(feature = "backup")]
mod pitr;

#[cfg(feature = "backup")]
mod bad_input;

#[cfg(feature = "backup")]
mod wal_push;

#[cfg(all(feature = "topology", feature = "policy"))]
mod guardrails;

#[cfg(feature = "backup")]
mod schedule;

#[cfg(feature = "backup")]
mod cockroach;

// `init --object-lock` and `bucket check` on Azure (Azurite)
#[cfg(feature = "backup")]
mod azure;

// `ledger-backup bucket check|plan|apply` on moto
#[cfg(feature = "backup")]
mod bucket;

// completion, man, --version, examples, --output and THINLEDGER_* variables of every tool
mod conventions;

// exit codes per failure class (a repository's failures need ledger-backup)
#[cfg(feature = "backup")]
mod exit_codes;
