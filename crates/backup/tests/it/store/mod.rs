//! Stores against real servers on loopback (started by scripts/test.sh; see services.rs).

mod azure_lock;
mod conformance;
mod encryption;
mod identity;
mod immutable;
mod moto;
mod object_lock;
mod secrets;
pub(crate) mod services;
mod urls;
