//! Stores against real servers on loopback (started by scripts/test.sh; see services.rs).

mod azure_lock;
mod conformance;
mod encryption;
mod gcs_object_lock;
mod identity;
mod moto;
mod object_lock;
mod secrets;
pub(crate) mod services;
mod urls;
