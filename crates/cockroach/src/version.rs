//! A tenant's pinned CockroachDB version, for features that exist only from some release on.

use std::fmt;
use std::str::FromStr;

use super::error::CockroachError;
use thinledger_store::Invalid;

/// A CockroachDB release as a tenant pins it (`cockroachdb.version`, e.g. `v25.2.4`); ordered,
/// so a feature's first release can be compared with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CockroachVersion {
    /// Year-based major version, e.g. 25.
    pub major: u32,
    /// Release of the year, e.g. 2.
    pub minor: u32,
    /// Patch release (0 when not given).
    pub patch: u32,
}

impl CockroachVersion {
    /// `vMAJOR.MINOR.0`.
    pub const fn new(major: u32, minor: u32) -> Self {
        CockroachVersion {
            major,
            minor,
            patch: 0,
        }
    }

    /// The first release with Azure workload identity for `AUTH=implicit` on `azure-blob://`
    /// and `azure-kms://` URIs.
    pub const AZURE_WORKLOAD_IDENTITY: CockroachVersion = CockroachVersion::new(25, 1);
}

impl FromStr for CockroachVersion {
    type Err = CockroachError;

    /// `v25.2.4`, `25.2.4` or `v25.2` (a pre-release suffix such as `-beta.1` is ignored);
    /// errors name the field `cockroachdb.version`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            CockroachError::invalid(
                "cockroachdb.version",
                text.escape_debug().to_string(),
                "a CockroachDB version is vMAJOR.MINOR.PATCH",
                "pin a release such as v25.2.4",
            )
        };
        let core = text.strip_prefix('v').unwrap_or(text);
        let core = core.split(['-', '+']).next().unwrap_or(core);
        let parts: Vec<&str> = core.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
        Ok(CockroachVersion {
            major: number(parts[0])?,
            minor: number(parts[1])?,
            patch: parts.get(2).map_or(Ok(0), |p| number(p))?,
        })
    }
}

impl fmt::Display for CockroachVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("v25.2.4", CockroachVersion { major: 25, minor: 2, patch: 4 })]
    #[case("25.1.0", CockroachVersion::new(25, 1))]
    #[case("v24.3", CockroachVersion::new(24, 3))]
    #[case("v25.1.0-beta.2", CockroachVersion::new(25, 1))]
    fn versions_parse(#[case] text: &str, #[case] version: CockroachVersion) {
        assert_eq!(text.parse::<CockroachVersion>().unwrap(), version);
    }

    #[rstest]
    #[case("latest")]
    #[case("v25")]
    #[case("v25.x.1")]
    #[case("")]
    fn other_text_is_refused(#[case] text: &str) {
        let err = text.parse::<CockroachVersion>().unwrap_err().to_string();
        assert!(err.starts_with("cockroachdb.version:"), "{err}");
    }

    #[test]
    fn versions_order_by_release() {
        let v = |t: &str| t.parse::<CockroachVersion>().unwrap();
        assert!(v("v24.3.9") < CockroachVersion::AZURE_WORKLOAD_IDENTITY);
        assert!(v("v25.1.0") >= CockroachVersion::AZURE_WORKLOAD_IDENTITY);
        assert!(v("v25.2.4") > v("v25.1.12"));
    }
}
