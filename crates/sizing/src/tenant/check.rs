//! A tenant checked the whole way (tenant rules, sizing, rendering), as findings.

use std::fmt;

use serde::{Deserialize, Serialize};
use thinledger_topology::Problem;
use thinledger_topology::TenantError;
use thinledger_topology::render::{RenderOptions, check_crdb_cluster};

use super::TenantPlanError;
use super::compose::{ResourceSource, plan_tenant};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FindingSeverity {
    /// The tenant cannot be rendered as it is.
    Error,
    /// A requirement the plan could not meet in full; read before applying.
    Warning,
    /// A recommendation.
    Advice,
}

impl FindingSeverity {
    /// The lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSeverity::Error => "error",
            FindingSeverity::Warning => "warning",
            FindingSeverity::Advice => "advice",
        }
    }
}

impl fmt::Display for FindingSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so width flags (`{:<7}`) line findings up.
        f.pad(self.as_str())
    }
}

/// One finding about a tenant file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// Error, warning or advice.
    pub severity: FindingSeverity,
    /// The tenant-file field, when one is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The 1-based line in the tenant file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is wrong and the fix.
    pub message: String,
}

impl Finding {
    /// A finding not tied to a field or line.
    pub fn new(severity: FindingSeverity, message: String) -> Self {
        Finding {
            severity,
            field: None,
            line: None,
            message,
        }
    }

    /// An error finding not tied to a field or line.
    pub fn error(message: String) -> Self {
        Finding::new(FindingSeverity::Error, message)
    }

    /// The finding of a broken tenant rule: `field = "value": rule. Fix: fix`.
    pub fn from_problem(p: &Problem) -> Self {
        let mut message = if p.value.is_empty() {
            format!("{}: {}", p.field, p.rule)
        } else {
            format!("{} = {:?}: {}", p.field, p.value, p.rule)
        };
        if !p.fix.is_empty() {
            message.push_str(&format!(". Fix: {}", p.fix));
        }
        Finding {
            severity: FindingSeverity::Error,
            field: Some(p.field.clone()),
            line: p.line,
            message,
        }
    }
}

/// What [`check_tenant`] found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TenantCheck {
    /// The tenant id, when the file was read and passed the tenant rules.
    pub tenant: Option<String>,
    /// How many objects the tenant renders to, when rendering succeeded.
    pub objects: Option<usize>,
    /// Everything found, errors first where they stop the check.
    pub findings: Vec<Finding>,
    /// The refusal of sizing or of the per-node resources, when the check stopped there. It
    /// is not among [`findings`](Self::findings): callers print it with its chain of causes.
    pub failure: Option<TenantPlanError>,
    /// Whether the input is unusable rather than wrong (malformed YAML, a quantity above its
    /// bound): `ledger-topology validate` exits 2 for it instead of 1.
    pub bad_input: bool,
}

impl TenantCheck {
    /// Whether nothing stops the tenant from rendering (warnings and advice aside).
    pub fn ok(&self) -> bool {
        self.failure.is_none()
            && !self
                .findings
                .iter()
                .any(|f| f.severity == FindingSeverity::Error)
    }
}

/// Checks the tenant file `yaml` the whole way: tenant rules, sizing (or the file's own
/// resources, per `source`), rendering with `options`, and the operator's `CrdbCluster`
/// rules. Unlike [`plan_tenant`] it does not stop at the first tenant problem: every problem
/// the tenant rules find is a finding, and so are the plan's warnings and advice.
///
/// ```
/// use thinledger_sizing::{ResourceSource, check_tenant};
/// use thinledger_topology::render::{CockroachMode, RenderOptions};
///
/// let yaml = include_str!("../../../../examples/tenants/aws.yaml").replace("nodes: 3", "nodes: 4");
/// let check = check_tenant(&yaml, ResourceSource::Sizing, &RenderOptions::new(CockroachMode::Operator));
/// assert!(!check.ok() && !check.bad_input);
/// assert!(check.findings[0].message.starts_with("cockroachdb.nodes = \"4\""));
/// ```
pub fn check_tenant(yaml: &str, source: ResourceSource, options: &RenderOptions) -> TenantCheck {
    let mut check = TenantCheck {
        tenant: None,
        objects: None,
        findings: Vec::new(),
        failure: None,
        bad_input: false,
    };
    match plan_tenant(yaml, source) {
        Err(TenantPlanError::Tenant(TenantError::Syntax {
            message,
            line,
            column,
        })) => {
            check.bad_input = true;
            check.findings.push(Finding {
                line,
                ..Finding::new(
                    FindingSeverity::Error,
                    match column {
                        Some(c) => format!("{message} (column {c})"),
                        None => message,
                    },
                )
            });
        }
        Err(TenantPlanError::Tenant(err)) => {
            // A quantity beyond its bound is bad input, like a syntax error.
            check.bad_input = matches!(err, TenantError::OutOfBounds(_));
            check
                .findings
                .extend(err.problems().iter().map(Finding::from_problem));
        }
        Err(err) => check.failure = Some(err),
        Ok(plan) => {
            check.tenant = Some(plan.tenant.id().to_owned());
            let warnings = plan.warnings.iter().cloned();
            check
                .findings
                .extend(warnings.map(|w| Finding::new(FindingSeverity::Warning, w)));
            let notes = plan.notes.iter().cloned();
            check
                .findings
                .extend(notes.map(|n| Finding::new(FindingSeverity::Advice, n)));
            match plan.render_sites(options) {
                Ok(sites) => {
                    check.objects = Some(sites.iter().map(|s| s.rendering.objects.len()).sum());
                    for object in sites
                        .iter()
                        .flat_map(|s| &s.rendering.objects)
                        .filter(|o| o.kind() == "CrdbCluster")
                    {
                        let problems = match object.to_json() {
                            Ok(json) => check_crdb_cluster(&json),
                            Err(err) => vec![err.to_string()],
                        };
                        for problem in problems {
                            check.findings.push(Finding::new(
                                FindingSeverity::Error,
                                format!("CrdbCluster {}: {problem}", object.name()),
                            ));
                        }
                    }
                }
                Err(err) => check
                    .findings
                    .push(Finding::new(FindingSeverity::Error, err.to_string())),
            }
        }
    }
    check
}
