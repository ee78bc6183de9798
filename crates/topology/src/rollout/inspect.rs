//! The two steps the plan runs per tenant and version: render, then judge.

use std::fmt;

use serde::Serialize;

use crate::render::{RenderOptions, Rendering, ResourcePlan, render};
use crate::tenant::Tenant;

/// An error of an [`Inspect`] step, kept with its causes.
pub type InspectError = Box<dyn std::error::Error + Send + Sync>;

/// Renders a tenant file and judges the objects: what the plan runs for every tenant, at
/// its current version and at the target.
///
/// The rendering a rollout compares is the one the application applies, and the guardrails
/// are `thinledger-policy`'s; both depend on this crate, so the application passes them in
/// (`ledger-topology rollout plan` composes `thinledger_sizing::render_tenant` and
/// `thinledger_policy::PolicySet::builtin`). [`FileResources`] renders without either.
pub trait Inspect {
    /// Renders one region (`options.region`) of the tenant file `tenant_yaml`.
    fn render(&self, tenant_yaml: &str, options: &RenderOptions)
    -> Result<Rendering, InspectError>;

    /// Judges the tenant file and its rendered regions; findings of severity
    /// [`GuardrailSeverity::Deny`] block the tenant's wave.
    fn guardrails(
        &self,
        tenant_yaml: &str,
        renderings: &[Rendering],
    ) -> Result<Vec<GuardrailFinding>, InspectError>;
}

/// Renders with the per-node resources the tenant file declares
/// ([`ResourcePlan::from_tenant`]) and runs no guardrails.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileResources;

impl Inspect for FileResources {
    fn render(
        &self,
        tenant_yaml: &str,
        options: &RenderOptions,
    ) -> Result<Rendering, InspectError> {
        let tenant = Tenant::from_yaml(tenant_yaml)?;
        let plan = ResourcePlan::from_tenant(&tenant)?;
        Ok(render(&tenant, &plan, options)?)
    }

    fn guardrails(
        &self,
        _tenant_yaml: &str,
        _renderings: &[Rendering],
    ) -> Result<Vec<GuardrailFinding>, InspectError> {
        Ok(Vec::new())
    }
}

/// Whether a guardrail finding blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GuardrailSeverity {
    /// Blocks the tenant's wave.
    Deny,
    /// Reported only.
    Warn,
}

/// One guardrail finding about a tenant's rendering at the target version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GuardrailFinding {
    /// Deny or warn.
    pub severity: GuardrailSeverity,
    /// The rule (`sizing.min_vcpu`; `render` when the target cannot be rendered).
    pub rule: String,
    /// The object (`Kind/namespace/name`) or the tenant; may be empty.
    pub resource: String,
    /// What is wrong, and the fix when the rule gives one.
    pub message: String,
}

impl GuardrailFinding {
    /// A finding.
    pub fn new(
        severity: GuardrailSeverity,
        rule: impl Into<String>,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        GuardrailFinding {
            severity,
            rule: rule.into(),
            resource: resource.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for GuardrailFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resource.as_str() {
            "" => write!(f, "{}: {}", self.rule, self.message),
            r => write!(f, "{} on {r}: {}", self.rule, self.message),
        }
    }
}

/// The guardrails' verdict on a tenant at the target version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GuardrailVerdict {
    /// No finding denies.
    pub passed: bool,
    /// Every finding, denials first.
    pub findings: Vec<GuardrailFinding>,
}

impl GuardrailVerdict {
    /// The verdict of these findings.
    pub fn of(mut findings: Vec<GuardrailFinding>) -> Self {
        findings.sort_by_key(|f| f.severity != GuardrailSeverity::Deny);
        GuardrailVerdict {
            passed: findings
                .iter()
                .all(|f| f.severity != GuardrailSeverity::Deny),
            findings,
        }
    }

    /// The findings that block.
    pub fn denials(&self) -> impl Iterator<Item = &GuardrailFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == GuardrailSeverity::Deny)
    }
}
