//! The rollout plan: waves canary → early → production, each with what blocks it.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::RolloutError;
use super::diff::ObjectDiff;
use super::fleet::{Fleet, FleetTenant};
use super::inspect::{GuardrailFinding, GuardrailSeverity, GuardrailVerdict, Inspect};
use super::status::{BakeTimes, Human, RolloutStatus, format_duration};
use super::version::{ChangeClass, Component, Version, VersionChange, classify};
use crate::error_chain;
use crate::render::{RenderOptions, Rendering};
use crate::tenant::Ring;

/// Rollout knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolloutOptions {
    /// The component moved (default CockroachDB).
    pub component: Component,
    /// How long each ring bakes before the next wave.
    pub bake: BakeTimes,
    /// Production tenants per wave (default 1: one at a time).
    pub batch: usize,
    /// What the fleet runs, from the pipeline; without it, each tenant runs what its file
    /// pins, for an unknown time.
    pub status: Option<RolloutStatus>,
    /// How tenants are rendered (every region of each tenant is rendered; `region` is
    /// ignored).
    pub render: RenderOptions,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            component: Component::Cockroachdb,
            bake: BakeTimes::default(),
            batch: 1,
            status: None,
            render: RenderOptions::default(),
        }
    }
}

impl RolloutOptions {
    /// Sets the component.
    pub fn with_component(mut self, component: Component) -> Self {
        self.component = component;
        self
    }

    /// Sets the bake times.
    pub fn with_bake(mut self, bake: BakeTimes) -> Self {
        self.bake = bake;
        self
    }

    /// Sets the production batch size.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Sets the status the pipeline wrote.
    pub fn with_status(mut self, status: RolloutStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the rendering options.
    pub fn with_render_options(mut self, render: RenderOptions) -> Self {
        self.render = render;
        self
    }
}

/// Whether a wave may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WaveState {
    /// Every tenant of the wave runs the target.
    Done,
    /// May start (or go on) now.
    Ready,
    /// Waits: see the wave's `blocked_by`.
    Blocked,
}

impl WaveState {
    /// Name as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            WaveState::Done => "done",
            WaveState::Ready => "ready",
            WaveState::Blocked => "blocked",
        }
    }
}

crate::error::display_as_str!(WaveState);

/// One tenant in a wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TenantStep {
    /// `<tenant>-<environment>`.
    pub tenant: String,
    /// Its file in the fleet.
    pub file: String,
    /// From what the file pins to the target.
    pub change: VersionChange,
    /// What the tenant runs (the status file's entry, else what its file pins).
    pub running: String,
    /// How long it has run the target; absent when it does not run it yet or no status
    /// file says since when.
    #[serde(serialize_with = "optional_duration")]
    pub baked: Option<Duration>,
    /// What the change does to the rendered objects (absent without a change, or when the
    /// current version cannot be rendered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<ObjectDiff>,
    /// The guardrails over the rendering at the target.
    pub guardrails: GuardrailVerdict,
}

impl TenantStep {
    /// The tenant runs the target.
    pub fn on_target(&self) -> bool {
        self.running == self.change.to
    }

    /// The tenant runs the target and has baked for `bake`.
    pub fn baked_for(&self, bake: Duration) -> bool {
        self.on_target() && (bake.is_zero() || self.baked.is_some_and(|b| b >= bake))
    }
}

/// One wave: a ring, or one batch of production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Wave {
    /// 1-based, in rollout order.
    pub wave: usize,
    /// The ring.
    pub ring: Ring,
    /// Done, ready or blocked.
    pub state: WaveState,
    /// Why the wave cannot start yet (empty unless blocked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// How long its tenants bake before the next wave.
    #[serde(serialize_with = "duration")]
    pub bake: Duration,
    /// Its tenants, by id.
    pub tenants: Vec<TenantStep>,
}

/// A planned rollout of one component to one version over the fleet: printable as a table
/// ([`RolloutPlan::to_table`]) or serialised as JSON/YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RolloutPlan {
    /// The component.
    pub component: Component,
    /// The target release.
    pub to_version: String,
    /// Production tenants per wave.
    pub batch: usize,
    /// The status file's observation time, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_updated_at: Option<String>,
    /// Every bake time.
    pub bake: BakeTimes,
    /// The waves, canary first, production last.
    pub waves: Vec<Wave>,
}

/// Plans the rollout of `options.component` to `to_version` over `fleet`: waves
/// `ring-0-canary` → `ring-1-early` → `ring-2-prod` (production in batches of
/// `options.batch`), each tenant's version change, rendered diff and guardrail verdict, and
/// for each wave whether it may start. Tenants the upgrade rules refuse (a downgrade, a
/// skipped release series) fail the whole plan, each listed.
pub fn plan(
    fleet: &Fleet,
    to_version: &str,
    options: &RolloutOptions,
    inspector: &dyn Inspect,
) -> Result<RolloutPlan, RolloutError> {
    let to: Version = to_version.parse()?;
    if options.batch == 0 {
        return Err(RolloutError::Option {
            field: "batch".to_owned(),
            value: "0".to_owned(),
            rule: "production moves at least one tenant per wave".to_owned(),
            fix: "use 1 (one at a time) or more".to_owned(),
        });
    }
    let component = options.component;
    let mut changes = Vec::new();
    let mut refused = Vec::new();
    for t in &fleet.tenants {
        let from_text = component.version_in(t.tenant.spec());
        let from: Version = from_text.parse()?;
        match classify(component, &from, &to) {
            Ok(class) => changes.push(VersionChange {
                from: from_text.to_owned(),
                to: to.to_string(),
                class,
            }),
            Err(refusal) => refused.push((t.id(), refusal)),
        }
    }
    if !refused.is_empty() {
        return Err(RolloutError::Refused(refused));
    }
    let steps: Vec<(Ring, TenantStep)> = fleet
        .tenants
        .iter()
        .zip(changes)
        .map(|(t, change)| Ok((t.ring(), step(t, change, &to, options, inspector)?)))
        .collect::<Result<_, RolloutError>>()?;

    // Waves: each ring, production in batches.
    let mut waves: Vec<Wave> = Vec::new();
    for ring in Ring::ALL {
        let tenants: Vec<TenantStep> = steps
            .iter()
            .filter(|(r, _)| *r == ring)
            .map(|(_, s)| s.clone())
            .collect();
        let size = if ring == Ring::Prod {
            options.batch
        } else {
            tenants.len().max(1)
        };
        for chunk in tenants.chunks(size) {
            waves.push(Wave {
                wave: waves.len() + 1,
                ring,
                state: WaveState::Ready,
                blocked_by: Vec::new(),
                bake: options.bake.of(ring),
                tenants: chunk.to_vec(),
            });
        }
    }
    for i in 0..waves.len() {
        let (before, rest) = waves.split_at_mut(i);
        let wave = &mut rest[0];
        if wave.tenants.iter().all(TenantStep::on_target) {
            wave.state = WaveState::Done;
            continue;
        }
        let mut reasons = before.last().map(gate).unwrap_or_default();
        for s in wave.tenants.iter().filter(|s| !s.on_target()) {
            for d in s.guardrails.denials() {
                reasons.push(format!("guardrail denies {}: {d}", s.tenant));
            }
        }
        if !reasons.is_empty() {
            wave.state = WaveState::Blocked;
            wave.blocked_by = reasons;
        }
    }
    Ok(RolloutPlan {
        component,
        to_version: to.to_string(),
        batch: options.batch,
        status_updated_at: options.status.as_ref().map(|s| s.updated_at.to_rfc3339()),
        bake: options.bake,
        waves,
    })
}

/// Why the wave after `previous` cannot start yet: tenants that do not run the target, or
/// have not baked.
fn gate(previous: &Wave) -> Vec<String> {
    let mut reasons = Vec::new();
    let behind: Vec<String> = previous
        .tenants
        .iter()
        .filter(|s| !s.on_target())
        .map(|s| format!("{} runs {}", s.tenant, s.running))
        .collect();
    if let Some(first) = previous.tenants.first()
        && !behind.is_empty()
    {
        reasons.push(format!(
            "wave {} ({}) is not done: {} (target {})",
            previous.wave,
            previous.ring,
            behind.join(", "),
            first.change.to
        ));
    }
    for s in previous.tenants.iter().filter(|s| s.on_target()) {
        if s.baked_for(previous.bake) {
            continue;
        }
        reasons.push(match s.baked {
            Some(b) => format!(
                "{} ({}) has run {} for {} of its {} bake time",
                s.tenant,
                previous.ring,
                s.change.to,
                Human(b),
                Human(previous.bake)
            ),
            None => format!(
                "{} ({}) pins {}, but no status file says since when (bake time {})",
                s.tenant,
                previous.ring,
                s.change.to,
                Human(previous.bake)
            ),
        });
    }
    reasons
}

/// One tenant's step: what it runs, the diff and the guardrails at the target.
fn step(
    t: &FleetTenant,
    change: VersionChange,
    to: &Version,
    options: &RolloutOptions,
    inspector: &dyn Inspect,
) -> Result<TenantStep, RolloutError> {
    let component = options.component;
    let id = t.id();
    let (running, baked) = match options
        .status
        .as_ref()
        .and_then(|s| s.running(&id, component).map(|r| (s, r)))
    {
        Some((status, r)) => {
            let on = r.version.parse::<Version>().is_ok_and(|v| &v == to);
            let running = if on {
                to.to_string()
            } else {
                r.version.clone()
            };
            (running, on.then(|| status.baked(r)))
        }
        None => (change.from.clone(), None),
    };
    let target_yaml =
        with_version(&t.yaml, component, &change.to).map_err(|message| RolloutError::Tenant {
            file: t.file.clone(),
            source: crate::TenantError::Syntax {
                message,
                line: None,
                column: None,
            },
        })?;
    let after = render_regions(t, &target_yaml, options, inspector);
    let (diff, guardrails) = match after {
        Err(e) => (
            None,
            GuardrailVerdict::of(vec![GuardrailFinding::new(
                GuardrailSeverity::Deny,
                "render",
                "",
                format!("cannot render {id} at {}: {e}", change.to),
            )]),
        ),
        Ok(after) => {
            let diff = if change.class == ChangeClass::None {
                None
            } else {
                render_regions(t, &t.yaml, options, inspector)
                    .ok()
                    .and_then(|before| ObjectDiff::between(&before, &after).ok())
            };
            let renderings: Vec<Rendering> = after.into_iter().map(|(_, r)| r).collect();
            let verdict = match inspector.guardrails(&target_yaml, &renderings) {
                Ok(findings) => GuardrailVerdict::of(findings),
                Err(e) => GuardrailVerdict::of(vec![GuardrailFinding::new(
                    GuardrailSeverity::Deny,
                    "guardrails",
                    "",
                    format!("the guardrails could not judge {id}: {}", chain(&*e)),
                )]),
            };
            (diff, verdict)
        }
    };
    Ok(TenantStep {
        tenant: id,
        file: t.file.clone(),
        change,
        running,
        baked,
        diff,
        guardrails,
    })
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    error_chain(e)
}

/// Renders every region of the tenant file `yaml`.
fn render_regions(
    t: &FleetTenant,
    yaml: &str,
    options: &RolloutOptions,
    inspector: &dyn Inspect,
) -> Result<Vec<(String, Rendering)>, String> {
    t.tenant
        .spec()
        .regions
        .iter()
        .map(|r| {
            let o = options.render.clone().with_region(r.name.clone());
            inspector
                .render(yaml, &o)
                .map(|rendering| (r.name.clone(), rendering))
                .map_err(|e| chain(&*e))
        })
        .collect()
}

/// The tenant file with `component`'s version set to `version` (comments are dropped: the
/// text is only rendered and judged).
pub(crate) fn with_version(
    yaml: &str,
    component: Component,
    version: &str,
) -> Result<String, String> {
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    let section = doc
        .get_mut(component.as_str())
        .and_then(|s| s.as_mapping_mut())
        .ok_or_else(|| format!("no {} section", component.as_str()))?;
    section.insert("version".into(), version.into());
    serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())
}

fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn optional_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_none(),
    }
}

impl RolloutPlan {
    /// The plan as text: a header, then one line per tenant under its wave, with what
    /// blocks each blocked wave.
    pub fn to_table(&self) -> String {
        let tenants: usize = self.waves.iter().map(|w| w.tenants.len()).sum();
        let mut out = format!(
            "Rollout of {} to {}: {tenants} tenant{}, {} wave{}",
            self.component,
            self.to_version,
            plural(tenants),
            self.waves.len(),
            plural(self.waves.len())
        );
        let bakes: Vec<String> = Ring::ALL
            .iter()
            .map(|&r| format!("{r} {}", Human(self.bake.of(r))))
            .collect();
        let _ = writeln!(out, "; bake {}", bakes.join(", "));
        if let Some(at) = &self.status_updated_at {
            let _ = writeln!(out, "Status observed at {at}");
        }
        let mut rows = vec![
            [
                "WAVE",
                "RING",
                "STATE",
                "TENANT",
                "FROM",
                "TO",
                "CHANGE",
                "RUNS",
                "OBJECTS",
                "GUARDRAILS",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        let mut notes: Vec<(usize, Vec<String>)> = Vec::new();
        for w in &self.waves {
            for s in &w.tenants {
                let runs = match s.baked {
                    Some(b) => format!("{} for {}", s.running, Human(b)),
                    None => s.running.clone(),
                };
                let guardrails = if s.guardrails.passed {
                    let warns = s.guardrails.findings.len();
                    if warns == 0 {
                        "pass".to_owned()
                    } else {
                        format!("pass ({warns} warning{})", plural(warns))
                    }
                } else {
                    let rules: Vec<&str> =
                        s.guardrails.denials().map(|d| d.rule.as_str()).collect();
                    format!("deny: {}", rules.join(", "))
                };
                rows.push(vec![
                    w.wave.to_string(),
                    w.ring.to_string(),
                    w.state.to_string(),
                    s.tenant.clone(),
                    s.change.from.clone(),
                    s.change.to.clone(),
                    s.change.class.to_string(),
                    runs,
                    s.diff
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ObjectDiff::summary),
                    guardrails,
                ]);
            }
            if !w.blocked_by.is_empty() {
                notes.push((rows.len(), w.blocked_by.clone()));
            }
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:w$}  ", w = widths[c]);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
            for (after, reasons) in &notes {
                if *after == i + 1 {
                    for r in reasons {
                        let _ = writeln!(out, "   blocked: {r}");
                    }
                }
            }
        }
        out
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
