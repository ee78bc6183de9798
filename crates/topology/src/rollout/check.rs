//! The CI gate: a change may move a ring only to versions the rings before it run.

use std::fmt::Write as _;

use serde::Serialize;

use super::fleet::{Fleet, FleetTenant};
use super::plan::plural;
use super::status::{BakeTimes, Human, RolloutStatus};
use super::version::{Component, Version, classify};
use crate::tenant::Ring;

/// Knobs of [`check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// What the fleet runs; with it, earlier rings must also have baked.
    pub status: Option<RolloutStatus>,
    /// Bake times (used with a status file).
    pub bake: BakeTimes,
}

impl CheckOptions {
    /// Sets the status the pipeline wrote.
    pub fn with_status(mut self, status: RolloutStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the bake times.
    pub fn with_bake(mut self, bake: BakeTimes) -> Self {
        self.bake = bake;
        self
    }
}

/// One refused version move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckFinding {
    /// `rollout.ring_order` (an earlier ring does not run the version), `rollout.bake` (it
    /// has not baked), or `rollout.version` (a downgrade or skipped release series).
    pub rule: String,
    /// `<tenant>-<environment>`.
    pub tenant: String,
    /// Its file in the head fleet.
    pub file: String,
    /// Its ring.
    pub ring: Ring,
    /// The component moved.
    pub component: Component,
    /// The version before the change (absent for a new tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version after.
    pub to: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

/// One version move the change makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VersionMove {
    /// `<tenant>-<environment>`.
    pub tenant: String,
    /// Its ring.
    pub ring: Ring,
    /// The component.
    pub component: Component,
    /// Before (absent for a new tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// After.
    pub to: String,
}

/// What [`check`] found: every version move of the change, and the refused ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RolloutCheck {
    /// The change passes.
    pub passed: bool,
    /// Every version move.
    pub moves: Vec<VersionMove>,
    /// The refused moves.
    pub findings: Vec<CheckFinding>,
}

/// Checks the change from `base` to `head` (the fleet before and after a pull request):
/// each tenant whose CockroachDB or Redpanda version changes (or that is new) may move only
/// to a version every tenant of every earlier ring runs in `base` — and, with a status file,
/// runs and has baked for its ring's bake time. Downgrades and skipped release series are
/// refused too.
pub fn check(base: &Fleet, head: &Fleet, options: &CheckOptions) -> RolloutCheck {
    let mut out = RolloutCheck::default();
    for t in &head.tenants {
        let id = t.id();
        let before = base.get(&id);
        for component in Component::ALL {
            let to_text = component.version_in(t.tenant.spec());
            let from_text = before.map(|b| component.version_in(b.tenant.spec()));
            if from_text == Some(to_text) {
                continue;
            }
            out.moves.push(VersionMove {
                tenant: id.clone(),
                ring: t.ring(),
                component,
                from: from_text.map(str::to_owned),
                to: to_text.to_owned(),
            });
            let finding = |rule: &str, message: String, fix: String| CheckFinding {
                rule: rule.to_owned(),
                tenant: id.clone(),
                file: t.file.clone(),
                ring: t.ring(),
                component,
                from: from_text.map(str::to_owned),
                to: to_text.to_owned(),
                message,
                fix,
            };
            // Tenant files are checked, so both parse; a tag that does not is not judged.
            let Ok(to) = to_text.parse::<Version>() else {
                continue;
            };
            if let Some(Ok(from)) = from_text.map(str::parse::<Version>)
                && let Err(r) = classify(component, &from, &to)
            {
                out.findings
                    .push(finding("rollout.version", r.rule.clone(), r.fix.clone()));
                continue;
            }
            for ring in Ring::ALL.into_iter().filter(|r| *r < t.ring()) {
                out.findings.extend(
                    earlier_ring(base, ring, component, &to, options)
                        .into_iter()
                        .map(|(rule, message, fix)| {
                            let what = match from_text {
                                Some(f) => format!("moves {component} {f} -> {to_text}"),
                                None => format!("is new, with {component} {to_text}"),
                            };
                            finding(
                                rule,
                                format!("{id} ({}) {what}, but {message}", t.ring()),
                                fix,
                            )
                        }),
                );
            }
        }
    }
    out.passed = out.findings.is_empty();
    out
}

/// What keeps `ring` of `base` from vouching for `to`: `(rule, message, fix)`.
fn earlier_ring(
    base: &Fleet,
    ring: Ring,
    component: Component,
    to: &Version,
    options: &CheckOptions,
) -> Vec<(&'static str, String, String)> {
    let bake = options.bake.of(ring);
    let mut behind = Vec::new();
    let mut unbaked = Vec::new();
    for u in base.ring(ring) {
        let (runs, since) = running(u, component, options.status.as_ref());
        let ahead = runs.parse::<Version>().is_ok_and(|v| &v >= to);
        if !ahead {
            behind.push(format!("{} runs {runs}", u.id()));
            continue;
        }
        if let (Some(status), Some(since)) = (&options.status, since) {
            let baked = status.baked(&super::status::RunningVersion::new(runs, since));
            if baked < bake {
                unbaked.push(format!("{} for {}", u.id(), Human(baked)));
            }
        }
    }
    let mut out = Vec::new();
    if !behind.is_empty() {
        out.push((
            "rollout.ring_order",
            format!("{ring} does not run it yet: {}", behind.join(", ")),
            format!(
                "roll {to} out to {ring} first (a change of its tenant files, merged and \
                 applied), then move this ring in a later change"
            ),
        ));
    }
    if !unbaked.is_empty() {
        out.push((
            "rollout.bake",
            format!(
                "{ring} has not baked {to} for its {}: {}",
                Human(bake),
                unbaked.join(", ")
            ),
            format!(
                "wait until {ring} has run {to} for {} (the status file is refreshed by the \
                 pipeline), then run the check again",
                Human(bake)
            ),
        ));
    }
    out
}

/// What `u` runs of `component` and since when: the status file's entry, else its file.
fn running(
    u: &FleetTenant,
    component: Component,
    status: Option<&RolloutStatus>,
) -> (String, Option<chrono::DateTime<chrono::Utc>>) {
    match status.and_then(|s| s.running(&u.id(), component)) {
        Some(r) => (r.version.clone(), Some(r.since)),
        None => (component.version_in(u.tenant.spec()).to_owned(), None),
    }
}

impl RolloutCheck {
    /// The result as text: one block per finding, then a verdict line.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let _ = writeln!(
                out,
                "denied  {} [{}] {}\n        fix: {}",
                f.file, f.rule, f.message, f.fix
            );
        }
        let moves = self.moves.len();
        if self.passed {
            let _ = writeln!(
                out,
                "ok      {moves} version move{}; every one follows the rings",
                plural(moves)
            );
        } else {
            let n = self.findings.len();
            let _ = writeln!(
                out,
                "failed  {n} finding{} in {moves} version move{}",
                plural(n),
                plural(moves)
            );
        }
        out
    }
}
