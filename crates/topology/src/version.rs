//! CockroachDB versions and what an upgrade between two of them needs.
//!
//! CockroachDB's major versions are `YY.N` (`v24.3`, `v25.2`); a patch release (`v25.2.4` →
//! `v25.2.6`) is a rolling restart and nothing else. A major upgrade is finalized by the
//! cluster once every node runs the new binary, unless `cluster.preserve_downgrade_option` is
//! set to the running major first: then the cluster stays downgradable until an operator resets
//! the setting. The tenant file says which versions an upgrade goes between
//! (`cockroachdb.upgrade_from` → `cockroachdb.version`); [`UpgradeStep::between`] decides what
//! the rendering adds (docs/runbooks/upgrade.md explains the order).

use std::fmt;
use std::str::FromStr;

use crate::tenant::Problem;

/// A CockroachDB release, `vYY.N.P` (an optional pre-release suffix such as `-rc.1` is kept
/// out of the comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CockroachVersion {
    /// The year part of the major version (`25` in `v25.2.4`).
    pub year: u32,
    /// The release of that year (`2` in `v25.2.4`).
    pub release: u32,
    /// The patch (`4` in `v25.2.4`).
    pub patch: u32,
}

impl CockroachVersion {
    /// The major version as CockroachDB's settings write it: `25.2`.
    pub fn major(&self) -> String {
        format!("{}.{}", self.year, self.release)
    }

    /// Whether `other` is the same major version.
    pub fn same_major(&self, other: &CockroachVersion) -> bool {
        (self.year, self.release) == (other.year, other.release)
    }
}

impl fmt::Display for CockroachVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.year, self.release, self.patch)
    }
}

impl FromStr for CockroachVersion {
    type Err = String;

    /// Parses `v25.2.4` (the `v` is optional; a `-suffix` is ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let core = s.trim().trim_start_matches('v');
        let core = core.split_once('-').map_or(core, |(c, _)| c);
        let parts: Vec<&str> = core.split('.').collect();
        let number = |p: &str| p.parse::<u32>().ok();
        match parts.as_slice() {
            [y, r, p] => match (number(y), number(r), number(p)) {
                (Some(year), Some(release), Some(patch)) => Ok(CockroachVersion {
                    year,
                    release,
                    patch,
                }),
                _ => Err(format!("{s:?} is not a version like v25.2.4")),
            },
            _ => Err(format!("{s:?} is not a version like v25.2.4")),
        }
    }
}

/// What an upgrade from one CockroachDB version to another needs besides the new image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeStep {
    /// No upgrade (no `upgrade_from`, or the same version).
    None,
    /// A patch release of the same major: a rolling restart, no upgrade Job, nothing to
    /// finalize.
    Patch {
        /// The running version.
        from: CockroachVersion,
        /// The target version.
        to: CockroachVersion,
    },
    /// A major upgrade: before the rolling restart, the rendered upgrade Job sets
    /// `cluster.preserve_downgrade_option` to `from`'s major; after the rollout is healthy an
    /// operator finalizes it (`RESET CLUSTER SETTING cluster.preserve_downgrade_option`).
    Major {
        /// The running version.
        from: CockroachVersion,
        /// The target version.
        to: CockroachVersion,
    },
}

impl UpgradeStep {
    /// The step from `from` (the running version; `None` when the tenant is not upgrading) to
    /// `to`. Fails on a downgrade.
    pub fn between(
        from: Option<CockroachVersion>,
        to: CockroachVersion,
    ) -> Result<UpgradeStep, String> {
        let Some(from) = from else {
            return Ok(UpgradeStep::None);
        };
        if from > to {
            return Err(format!(
                "{from} to {to} is a downgrade; this path only renders upgrades"
            ));
        }
        Ok(if from == to {
            UpgradeStep::None
        } else if from.same_major(&to) {
            UpgradeStep::Patch { from, to }
        } else {
            UpgradeStep::Major { from, to }
        })
    }

    /// The value `cluster.preserve_downgrade_option` is set to before a major upgrade.
    pub fn preserve_downgrade_option(&self) -> Option<String> {
        match self {
            UpgradeStep::Major { from, .. } => Some(from.major()),
            _ => None,
        }
    }
}

/// Checks `cockroachdb.upgrade_from` against `cockroachdb.version`.
pub(crate) fn check_upgrade(version: &str, upgrade_from: Option<&str>) -> Result<(), Problem> {
    let Some(from) = upgrade_from else {
        return Ok(());
    };
    let field = "cockroachdb.upgrade_from";
    let from: CockroachVersion = from.parse().map_err(|rule| {
        Problem::new(field, from, rule, "write the running version, e.g. v25.1.6")
    })?;
    let to: CockroachVersion = version.parse().map_err(|rule| {
        Problem::new(
            "cockroachdb.version",
            version,
            format!("{rule}; an upgrade compares it with upgrade_from"),
            "pin a release tag, e.g. v25.2.4",
        )
    })?;
    UpgradeStep::between(Some(from), to).map(|_| ()).map_err(|rule| {
        Problem::new(
            field,
            from,
            rule,
            "roll back with the previous rendering while the downgrade option is preserved (docs/runbooks/upgrade.md)",
        )
    })
}
