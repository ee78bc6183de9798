//! End to end across the crates, through their public APIs only, as a tool importing them
//! would: a tenant file is sized, rendered into Kubernetes objects that pass the guardrails
//! (strict), its backup schedule renders as CronJobs, and a backup of a local folder restores
//! byte-identical.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compose;
mod drill;
mod tenant_to_manifests;
