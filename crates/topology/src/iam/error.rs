//! Why access documents cannot be written for a tenant.

use crate::tenant::TenantError;

/// A tenant whose least-privilege access documents cannot be written. Nothing is ever
/// widened to make up for a missing input: the error names the field and how to fill it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IamError {
    /// The tenant file is not valid (every problem is listed).
    #[error("the tenant file is not valid: {0}")]
    Tenant(#[from] TenantError),
    /// A document needs an input the tenant file does not give.
    #[error("{field} is missing: {why}. Fix: {fix}")]
    Missing {
        /// Dotted path of the missing field in the tenant file, e.g. `backup.iam.oidc_issuers`.
        field: String,
        /// Which document needs it.
        why: String,
        /// What to add.
        fix: String,
    },
    /// An input is present but cannot give least-privilege access.
    #[error("{field} = {value:?}: {rule}. Fix: {fix}")]
    Invalid {
        /// Dotted path of the field, or the option's name.
        field: String,
        /// The rejected value.
        value: String,
        /// The rule it breaks.
        rule: String,
        /// What to change.
        fix: String,
    },
}

impl IamError {
    pub(crate) fn missing(
        field: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        IamError::Missing {
            field: field.into(),
            why: why.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        IamError::Invalid {
            field: field.into(),
            value: value.into(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }

    /// The tenant-file field (or option) the error is about, when it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            IamError::Missing { field, .. } | IamError::Invalid { field, .. } => Some(field),
            IamError::Tenant(_) => None,
        }
    }
}
