//! What the fleet runs (the status file the pipeline writes) and how long each ring bakes.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::RolloutError;
use super::version::Component;
use crate::tenant::Ring;

/// The status file: what each tenant runs and since when, written by the deployment pipeline
/// after every apply (YAML or JSON; JSON is YAML too).
///
/// ```yaml
/// updated_at: 2026-12-06T12:00:00Z   # when the pipeline observed the fleet
/// tenants:
///   fabrikam-prod:                   # <tenant>-<environment>, as the fleet names tenants
///     cockroachdb: {version: v25.3.1, since: 2026-12-04T09:00:00Z}
///     redpanda: {version: v25.1.9, since: 2026-11-20T09:00:00Z}
/// ```
///
/// Bake time is measured up to `updated_at`, so a plan computed from one status file is the
/// same whenever it runs; the pipeline refreshes the file. A tenant missing from the file (or
/// a component missing from a tenant) counts as running what its tenant file pins, for an
/// unknown time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RolloutStatus {
    /// When the pipeline observed the fleet (RFC 3339).
    pub updated_at: DateTime<Utc>,
    /// Per tenant (`<tenant>-<environment>`).
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantStatus>,
}

/// What one tenant runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantStatus {
    /// CockroachDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cockroachdb: Option<RunningVersion>,
    /// Redpanda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redpanda: Option<RunningVersion>,
}

impl TenantStatus {
    /// The component's entry.
    pub fn component(&self, component: Component) -> Option<&RunningVersion> {
        match component {
            Component::Cockroachdb => self.cockroachdb.as_ref(),
            Component::Redpanda => self.redpanda.as_ref(),
        }
    }
}

/// A version a tenant runs, and since when (the apply that finished rolling it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RunningVersion {
    /// The release tag.
    pub version: String,
    /// When every pod ran it (RFC 3339).
    pub since: DateTime<Utc>,
}

impl RunningVersion {
    /// A version running since `since`.
    pub fn new(version: impl Into<String>, since: DateTime<Utc>) -> Self {
        RunningVersion {
            version: version.into(),
            since,
        }
    }
}

impl RolloutStatus {
    /// An empty status observed at `updated_at`.
    pub fn new(updated_at: DateTime<Utc>) -> Self {
        RolloutStatus {
            updated_at,
            tenants: BTreeMap::new(),
        }
    }

    /// Adds what tenant `id` runs for `component`.
    pub fn with_running(
        mut self,
        id: impl Into<String>,
        component: Component,
        running: RunningVersion,
    ) -> Self {
        let entry = self.tenants.entry(id.into()).or_default();
        match component {
            Component::Cockroachdb => entry.cockroachdb = Some(running),
            Component::Redpanda => entry.redpanda = Some(running),
        }
        self
    }

    /// Reads a status file (YAML or JSON).
    pub fn from_yaml(text: &str) -> Result<Self, RolloutError> {
        serde_yaml_ng::from_str(text).map_err(|e| RolloutError::Status {
            message: e.to_string(),
        })
    }

    /// What tenant `id` runs of `component`, per this file.
    pub fn running(&self, id: &str, component: Component) -> Option<&RunningVersion> {
        self.tenants.get(id).and_then(|t| t.component(component))
    }

    /// How long `running` has run when the fleet was observed (zero if `since` is later).
    pub fn baked(&self, running: &RunningVersion) -> Duration {
        (self.updated_at - running.since)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}

/// How long each ring's tenants run the new version before the next wave starts (the next
/// ring, or the next batch of production).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BakeTimes {
    /// `ring-0-canary` (default 24h).
    pub canary: Duration,
    /// `ring-1-early` (default 72h).
    pub early: Duration,
    /// `ring-2-prod`, between production batches (default 24h).
    pub prod: Duration,
}

impl Default for BakeTimes {
    fn default() -> Self {
        BakeTimes {
            canary: Duration::from_secs(24 * 3600),
            early: Duration::from_secs(72 * 3600),
            prod: Duration::from_secs(24 * 3600),
        }
    }
}

impl BakeTimes {
    /// The bake time of `ring`.
    pub fn of(&self, ring: Ring) -> Duration {
        match ring {
            Ring::Canary => self.canary,
            Ring::Early => self.early,
            Ring::Prod => self.prod,
        }
    }

    /// Sets the bake time of `ring`.
    pub fn with(mut self, ring: Ring, bake: Duration) -> Self {
        match ring {
            Ring::Canary => self.canary = bake,
            Ring::Early => self.early = bake,
            Ring::Prod => self.prod = bake,
        }
        self
    }

    /// Applies `RING=DURATION` (`ring-0-canary=48h`, `ring-1-early=3d12h`).
    pub fn with_setting(self, setting: &str) -> Result<Self, RolloutError> {
        let bad = |rule: &str| RolloutError::Bake {
            value: setting.to_owned(),
            rule: rule.to_owned(),
        };
        let (ring, duration) = setting
            .split_once('=')
            .ok_or_else(|| bad("a bake time is RING=DURATION"))?;
        let ring: Ring = ring
            .parse()
            .map_err(|e: crate::ParseError| bad(&e.to_string()))?;
        let duration = parse_duration(duration).ok_or_else(|| {
            bad("a duration is whole numbers with units d, h, m or s, e.g. 24h or 1d12h")
        })?;
        Ok(self.with(ring, duration))
    }
}

impl Serialize for BakeTimes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, String> = crate::tenant::Ring::ALL
            .iter()
            .map(|&r| (r.as_str(), format_duration(self.of(r))))
            .collect();
        map.serialize(serializer)
    }
}

/// Parses `1d12h`, `30m`, `0s`, `0` (units d, h, m, s; whole numbers).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && !text.is_empty()).then_some(Duration::from_secs(total))
}

/// Writes a duration as `parse_duration` reads it: `1d12h`, `45m`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if secs >= unit {
            out.push_str(&format!("{}{name}", secs / unit));
            secs %= unit;
        }
    }
    out
}

/// A duration for messages.
pub(crate) struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}
