//! Ring rollouts: move a fleet of tenants to a new CockroachDB or Redpanda release, ring by
//! ring (`ring-0-canary` → `ring-1-early` → `ring-2-prod`), and gate the changes in CI.
//!
//! # The fleet
//!
//! [`Fleet::read`] reads a folder of tenant files, or a `live/` tree of `ring-*/` folders
//! (`live/ring-0-canary/fabrikam.yaml`…). The tenant's `ring:` field decides its ring; a ring
//! folder that says otherwise is an error naming both. Tenants are named
//! `<tenant>-<environment>`.
//!
//! # The plan
//!
//! [`plan`] gives a [`RolloutPlan`]: one [`Wave`] per ring, production split into batches
//! of [`RolloutOptions::batch`] tenants (default 1: one at a time), production last. For
//! each tenant ([`TenantStep`]) it shows the [`VersionChange`] (patch or major:
//! [`ChangeClass`]), what the change does to the rendered objects ([`ObjectDiff`]: objects
//! added, changed and removed, by kind and name) and the guardrails' verdict at the target
//! ([`GuardrailVerdict`]). Rendering and guardrails come from an [`Inspect`]: the
//! application passes the sizing calculator and `thinledger-policy` (which depend on this
//! crate); [`FileResources`] renders with the tenant file's resources and no guardrails.
//!
//! A wave is [`WaveState::Done`] when each of its tenants runs the target, else
//! [`WaveState::Ready`] or [`WaveState::Blocked`] with the reasons (`blocked_by`): a wave
//! may start only when every tenant of the wave before it runs the target and has baked for
//! that ring's bake time ([`BakeTimes`]: canary 24h, early 72h, production batches 24h by
//! default), and none of its own tenants fails a guardrail (a denial blocks the wave).
//!
//! What runs, and since when, comes from the status file the deployment pipeline writes
//! ([`RolloutStatus`], YAML or JSON; its schema is documented there). Without one, each
//! tenant runs what its file pins for an unknown time: a wave after a ring that already
//! pins the target waits for a status file unless that ring's bake time is zero.
//!
//! # Upgrade rules
//!
//! [`classify`]: no downgrades; one release series (`vYY.R`) at a time — the series after
//! `vYY.R` is `vYY.(R+1)` or `v(YY+1).1` — except that CockroachDB may skip an
//! [innovation release](COCKROACH_INNOVATION_RELEASES). A plan refuses tenants that break a
//! rule ([`RolloutError::Refused`], each with the rule and the fix).
//!
//! # The CI gate
//!
//! [`check`] compares the fleet before and after a change (a pull request): a tenant may
//! move to a version only when every tenant of every earlier ring runs it (in the base
//! fleet, or per the status file, which also requires the bake time). The
//! [`RolloutCheck`] lists [`CheckFinding`]s naming tenant, ring, versions and the fix.
//!
//! # Public surface
//! - The fleet: [`Fleet`], [`FleetTenant`].
//! - Versions: [`Component`], [`Version`], [`VersionChange`], [`ChangeClass`],
//!   [`classify`], [`VersionRefusal`], [`COCKROACH_INNOVATION_RELEASES`].
//! - Status and bake: [`RolloutStatus`], [`TenantStatus`], [`RunningVersion`],
//!   [`BakeTimes`], [`parse_duration`], [`format_duration`].
//! - The plan: [`plan`] with [`RolloutOptions`] and an [`Inspect`] ([`FileResources`],
//!   [`InspectError`]) gives a [`RolloutPlan`] of [`Wave`]s ([`WaveState`]) of
//!   [`TenantStep`]s ([`ObjectDiff`], [`GuardrailVerdict`], [`GuardrailFinding`],
//!   [`GuardrailSeverity`]).
//! - The gate: [`check`] with [`CheckOptions`] gives a [`RolloutCheck`] ([`VersionMove`],
//!   [`CheckFinding`]).
//! - Errors: [`RolloutError`].
//!
//! ```
//! use thinledger_topology::rollout::{self, FileResources, Fleet, RolloutOptions, WaveState};
//!
//! let tenant = |name: &str, ring: &str| {
//!     include_str!("../../../../examples/tenants/aws.yaml")
//!         .replace("tenant: acme-bank", &format!("tenant: {name}"))
//!         .replace("ring: ring-2-prod", &format!("ring: {ring}"))
//! };
//! let fleet = Fleet::from_files([
//!     ("ring-0-canary/a.yaml".to_owned(), tenant("a", "ring-0-canary")),
//!     ("ring-2-prod/b.yaml".to_owned(), tenant("b", "ring-2-prod")),
//! ])?;
//! let plan = rollout::plan(&fleet, "v25.3.1", &RolloutOptions::default(), &FileResources)?;
//! assert_eq!(plan.waves[0].state, WaveState::Ready);
//! assert_eq!(plan.waves[1].state, WaveState::Blocked);
//! assert!(plan.waves[1].blocked_by[0].contains("a-prod runs v25.2.4"));
//! let diff = plan.waves[0].tenants[0].diff.as_ref().expect("a version change");
//! assert!(diff.changed.contains(&"StatefulSet/cockroachdb".to_owned()));
//! # Ok::<(), thinledger_topology::rollout::RolloutError>(())
//! ```

mod check;
mod diff;
mod error;
mod fleet;
mod inspect;
mod plan;
mod status;
mod version;

pub use check::{CheckFinding, CheckOptions, RolloutCheck, VersionMove, check};
pub use diff::ObjectDiff;
pub use error::RolloutError;
pub use fleet::{Fleet, FleetTenant};
pub use inspect::{
    FileResources, GuardrailFinding, GuardrailSeverity, GuardrailVerdict, Inspect, InspectError,
};
pub use plan::{RolloutOptions, RolloutPlan, TenantStep, Wave, WaveState, plan};
pub use status::{
    BakeTimes, RolloutStatus, RunningVersion, TenantStatus, format_duration, parse_duration,
};
pub use version::{
    COCKROACH_INNOVATION_RELEASES, ChangeClass, Component, Version, VersionChange, VersionRefusal,
    classify,
};
