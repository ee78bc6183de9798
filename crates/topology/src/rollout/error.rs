//! Why a rollout could not be planned or checked.

use super::version::VersionRefusal;
use crate::tenant::TenantError;

/// Why a rollout could not be planned or checked. Each names the file, tenant or value, the
/// rule and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// A folder or file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What the system said.
        message: String,
    },
    /// The fleet folder holds no tenant file.
    #[error(
        "{dir}: no tenant files (*.yaml) in the folder or its ring-* folders. Fix: give the \
         fleet folder (a live/ring-*/ tree, or one folder of tenant files)"
    )]
    EmptyFleet {
        /// The folder.
        dir: String,
    },
    /// A tenant file is not valid.
    #[error("tenant file {file} is not valid")]
    Tenant {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: TenantError,
    },
    /// A tenant sits in the folder of another ring.
    #[error(
        "{file}: the folder {folder} contradicts the tenant's ring: {ring}. Fix: move the file \
         to {ring}/, or set ring: {folder} in it"
    )]
    RingFolder {
        /// The file.
        file: String,
        /// The ring folder it is in.
        folder: String,
        /// The ring its `ring:` field names.
        ring: String,
    },
    /// Two files describe the same tenant.
    #[error(
        "{second}: tenant {id} is already described by {first}. Fix: keep one file per \
         tenant and environment"
    )]
    Duplicate {
        /// `<tenant>-<environment>`.
        id: String,
        /// The first file.
        first: String,
        /// The second.
        second: String,
    },
    /// A version is not a release tag.
    #[error("{value:?}: {rule}. Fix: {fix}")]
    Version {
        /// The value.
        value: String,
        /// The rule.
        rule: String,
        /// What to write.
        fix: String,
    },
    /// Tenants the upgrade rules refuse to move to the target; every one is listed.
    #[error("{}", refusals(.0))]
    Refused(Vec<(String, VersionRefusal)>),
    /// The status file is not valid.
    #[error(
        "the status file is not valid: {message}. Fix: write updated_at and tenants.<id>.\
         <component>.{{version, since}} (RFC 3339 times), see thinledger_topology::rollout::RolloutStatus"
    )]
    Status {
        /// What the parser said.
        message: String,
    },
    /// A bake time setting is not valid.
    #[error("bake time {value:?}: {rule}. Fix: e.g. ring-0-canary=24h")]
    Bake {
        /// The setting.
        value: String,
        /// The rule.
        rule: String,
    },
    /// A knob out of range.
    #[error("{field} = {value}: {rule}. Fix: {fix}")]
    Option {
        /// The option.
        field: String,
        /// The value.
        value: String,
        /// The rule.
        rule: String,
        /// What to set.
        fix: String,
    },
}

fn refusals(list: &[(String, VersionRefusal)]) -> String {
    list.iter()
        .map(|(tenant, r)| format!("{tenant}: {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}
