//! Integration tests of the backup crate: one binary, one module per area.
//!
//! `store` (object stores against real servers) belongs to the stores work; `engine`,
//! `interop` and the modules after them exercise the repository engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cockroach;
mod common;
mod dump_copy;
mod engine;
mod engine_stores;
mod hygiene;
mod interop;
mod lifecycle;
mod names;
mod pitr;
mod restore;
mod schedule;
mod store;
