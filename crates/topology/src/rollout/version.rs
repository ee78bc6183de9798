//! Release tags and the upgrade rules of CockroachDB and Redpanda.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::RolloutError;
use crate::tenant::TenantSpec;

/// The component a rollout moves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Component {
    /// CockroachDB (`cockroachdb.version`).
    #[default]
    Cockroachdb,
    /// Redpanda (`redpanda.version`).
    Redpanda,
}

impl Component {
    /// Both components, in the order `rollout check` reports them.
    pub const ALL: [Component; 2] = [Component::Cockroachdb, Component::Redpanda];

    /// Name as in the tenant file and accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Cockroachdb => "cockroachdb",
            Component::Redpanda => "redpanda",
        }
    }

    /// The component's version as the tenant file pins it.
    pub fn version_in(self, spec: &TenantSpec) -> &str {
        match self {
            Component::Cockroachdb => &spec.cockroachdb.version,
            Component::Redpanda => &spec.redpanda.version,
        }
    }

    fn product(self) -> &'static str {
        match self {
            Component::Cockroachdb => "CockroachDB",
            Component::Redpanda => "Redpanda",
        }
    }
}

crate::error::display_as_str!(Component);

impl FromStr for Component {
    type Err = crate::error::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Component::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                crate::error::ParseError::unknown(
                    "component",
                    s,
                    &Component::ALL,
                    Component::as_str,
                )
            })
    }
}

/// A release tag `vMAJOR.MINOR.PATCH[-SUFFIX]`, as tenant files pin images. Both products
/// number releases `vYY.R.P`: `vYY.R` is a release series (CockroachDB's "major version",
/// Redpanda's feature release) and `P` a patch release of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// `YY`.
    pub major: u32,
    /// `R`.
    pub minor: u32,
    /// `P`.
    pub patch: u32,
    /// A pre-release suffix (`-rc.1`), which sorts before the release.
    pub suffix: Option<String>,
}

impl Version {
    /// The release series `(YY, R)`.
    pub fn series(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = RolloutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RolloutError::Version {
            value: s.to_owned(),
            rule: "a release tag is vMAJOR.MINOR.PATCH, as tenant files pin images".to_owned(),
            fix: "e.g. v25.3.1".to_owned(),
        };
        let core = s.strip_prefix('v').ok_or_else(bad)?;
        let (core, suffix) = match core.split_once('-') {
            Some((c, rest)) if !rest.is_empty() => (c, Some(rest.to_owned())),
            Some(_) => return Err(bad()),
            None => (core, None),
        };
        let parts: Vec<u32> = core
            .split('.')
            .map(|p| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    p.parse().map_err(|_| bad())
                } else {
                    Err(bad())
                }
            })
            .collect::<Result<_, _>>()?;
        match parts.as_slice() {
            [major, minor, patch] => Ok(Version {
                major: *major,
                minor: *minor,
                patch: *patch,
                suffix,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        match &self.suffix {
            Some(s) => write!(f, "-{s}"),
            None => Ok(()),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.suffix, &other.suffix) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How far a version change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChangeClass {
    /// No change: the tenant already pins the target.
    None,
    /// A patch release of the same series (`v25.2.4` → `v25.2.6`): a rolling restart.
    Patch,
    /// A new release series (`v25.2` → `v25.3`, `v24.3` → `v25.1`): what CockroachDB and
    /// Redpanda call a major version. CockroachDB's needs `cluster.preserve_downgrade_option`
    /// before it and finalization after it (the rendered upgrade Job, `UpgradeStep::Major`).
    Major,
}

impl ChangeClass {
    /// Name as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::None => "none",
            ChangeClass::Patch => "patch",
            ChangeClass::Major => "major",
        }
    }
}

crate::error::display_as_str!(ChangeClass);

/// One tenant's version change: from what its file pins to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VersionChange {
    /// What the tenant file pins now.
    pub from: String,
    /// The target.
    pub to: String,
    /// How far it goes.
    pub class: ChangeClass,
}

/// CockroachDB's innovation releases: optional series that the regular release after them
/// may skip (v24.1 → v24.3, v25.2 → v25.4). Every other series is upgraded through.
pub const COCKROACH_INNOVATION_RELEASES: &[(u32, u32)] = &[(24, 2), (25, 1), (25, 3)];

/// A version change refused by the upgrade rules, with the rule and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VersionRefusal {
    /// What the tenant pins.
    pub from: String,
    /// The target.
    pub to: String,
    /// The rule broken.
    pub rule: String,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for VersionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}: {}. Fix: {}",
            self.from, self.to, self.rule, self.fix
        )
    }
}

/// Classifies `from` → `to` for `component`, refusing downgrades and skipped series: both
/// products upgrade one release series at a time (the series after `vYY.R` is `vYY.(R+1)`,
/// or `v(YY+1).1` in the next year), CockroachDB skipping only its
/// [innovation releases](COCKROACH_INNOVATION_RELEASES).
pub fn classify(
    component: Component,
    from: &Version,
    to: &Version,
) -> Result<ChangeClass, VersionRefusal> {
    let refuse = |rule: String, fix: String| VersionRefusal {
        from: from.to_string(),
        to: to.to_string(),
        rule,
        fix,
    };
    let product = component.product();
    match to.cmp(from) {
        Ordering::Equal => return Ok(ChangeClass::None),
        Ordering::Less => {
            return Err(refuse(
                format!(
                    "a rollout never downgrades: {product} may not start on data a newer release \
                     wrote, so going back is a restore, not a rollout"
                ),
                format!(
                    "leave the tenant at {from} (target {from} or later), or restore it from a \
                     backup taken before its upgrade"
                ),
            ));
        }
        Ordering::Greater => {}
    }
    if to.series() == from.series() {
        return Ok(ChangeClass::Patch);
    }
    // The series between the two, exclusive.
    let skipped: Vec<(u32, u32)> = if to.major == from.major {
        (from.minor + 1..to.minor).map(|m| (to.major, m)).collect()
    } else if to.major == from.major + 1 {
        (1..to.minor).map(|m| (to.major, m)).collect()
    } else {
        return Err(refuse(
            format!(
                "{product} upgrades one release series at a time; v{}.x to v{}.x skips at least \
                 one year of releases",
                from.major, to.major
            ),
            format!(
                "roll the fleet to the next series first (v{}.{}.x or v{}.1.x), then on",
                from.major,
                from.minor + 1,
                from.major + 1
            ),
        ));
    };
    let allowed = |s: (u32, u32)| {
        component == Component::Cockroachdb && COCKROACH_INNOVATION_RELEASES.contains(&s)
    };
    let must: Vec<String> = skipped
        .iter()
        .filter(|s| !allowed(**s))
        .map(|(a, b)| format!("v{a}.{b}"))
        .collect();
    if let Some(first) = must.first() {
        let also = if component == Component::Cockroachdb {
            " (only innovation releases may be skipped)"
        } else {
            ""
        };
        return Err(refuse(
            format!(
                "{product} upgrades one release series at a time{also}; {from} -> {to} skips {}",
                must.join(", ")
            ),
            format!("roll the fleet to a {first}.x release first, then to {to}"),
        ));
    }
    Ok(ChangeClass::Major)
}
