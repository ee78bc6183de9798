//! Findings: what the policies said about the input.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Blocks the change (`deny` and `violation` rules).
    Deny,
    /// Reported; fails a check only in strict mode (`warn` rules).
    Warn,
}

impl Severity {
    /// Lower-case name: `deny` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Deny => "deny",
            Severity::Warn => "warn",
        }
    }

    /// The severity of a Rego rule by its name, following conftest's conventions: `deny`,
    /// `violation` and their `_suffixed` forms deny; `warn` and `warn_*` warn.
    pub fn of_rule(rule: &str) -> Option<Severity> {
        let is = |base: &str| {
            rule == base || rule.strip_prefix(base).is_some_and(|r| r.starts_with('_'))
        };
        if is("deny") || is("violation") {
            Some(Severity::Deny)
        } else if is("warn") {
            Some(Severity::Warn)
        } else {
            None
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding of one rule about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// Deny or warn.
    pub severity: Severity,
    /// The rule's id, e.g. `antideletion.pvc_destroyed`; for policies that return plain
    /// strings, the package and rule, e.g. `main.deny`.
    pub rule: String,
    /// The resource: a Terraform address (`module.ledger.kubernetes_persistent_volume_claim_v1.data`),
    /// a Kubernetes `Kind/namespace/name`, or `tenant/ID`; empty when the policy named none.
    pub resource: String,
    /// The input file the resource came from; empty when unknown.
    pub file: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it; empty when the policy gave no advice.
    pub remediation: String,
}

/// The result of one evaluation: every finding of every rule, in one pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// All findings, denials first, then by rule, resource and message.
    pub findings: Vec<Finding>,
    /// Input files evaluated.
    pub files: Vec<String>,
    /// Rego packages evaluated.
    pub packages: Vec<String>,
}

impl Report {
    /// Findings that block the change.
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Deny)
    }

    /// Findings that only warn.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warn)
    }

    /// Whether anything is denied.
    pub fn is_denied(&self) -> bool {
        self.denials().next().is_some()
    }

    /// Whether the check fails: anything denied, or, when `strict`, anything warned.
    pub fn fails(&self, strict: bool) -> bool {
        self.is_denied() || (strict && !self.findings.is_empty())
    }
}
