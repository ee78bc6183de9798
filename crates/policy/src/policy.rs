//! Loading Rego policies and evaluating them with regorus.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::error::PolicyError;
use crate::finding::{Finding, Report, Severity};
use crate::input::InputSet;

/// The policies shipped with this crate: name (path under `policies/`) and source.
pub const BUILTIN_POLICIES: &[(&str, &str)] = &[
    (
        "thinledger/lib.rego",
        include_str!("../policies/thinledger/lib.rego"),
    ),
    (
        "thinledger/input.rego",
        include_str!("../policies/thinledger/input.rego"),
    ),
    (
        "thinledger/antideletion.rego",
        include_str!("../policies/thinledger/antideletion.rego"),
    ),
    (
        "thinledger/sizing.rego",
        include_str!("../policies/thinledger/sizing.rego"),
    ),
    (
        "thinledger/cost.rego",
        include_str!("../policies/thinledger/cost.rego"),
    ),
    (
        "thinledger/topology.rego",
        include_str!("../policies/thinledger/topology.rego"),
    ),
    (
        "thinledger/identity.rego",
        include_str!("../policies/thinledger/identity.rego"),
    ),
    (
        "thinledger/access.rego",
        include_str!("../policies/thinledger/access.rego"),
    ),
];

/// A set of Rego policies (Rego v1 syntax) ready to evaluate inputs.
///
/// Every package's `deny`, `violation`, `warn` rules (and their `deny_*`-style variants, as
/// conftest reads them) are evaluated; other rules are helpers.
#[derive(Debug, Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    sources: Vec<String>,
}

impl PolicySet {
    /// A set with no policies; add some with [`PolicySet::add_policy`] or
    /// [`PolicySet::add_path`].
    pub fn empty() -> Self {
        let mut engine = regorus::Engine::new();
        // As in OPA, a builtin given a value it cannot handle makes its expression undefined
        // instead of failing the whole evaluation.
        engine.set_strict_builtin_errors(false);
        Self {
            engine,
            sources: Vec::new(),
        }
    }

    /// The built-in guardrails ([`BUILTIN_POLICIES`]).
    pub fn builtin() -> Result<Self, PolicyError> {
        let mut set = Self::empty();
        for (name, source) in BUILTIN_POLICIES {
            set.add_policy(format!("builtin:{name}"), source)?;
        }
        Ok(set)
    }

    /// Adds one Rego module under a name used in error messages.
    pub fn add_policy(
        &mut self,
        name: impl Into<String>,
        source: &str,
    ) -> Result<&mut Self, PolicyError> {
        let name = name.into();
        self.engine
            .add_policy(name.clone(), source.to_owned())
            .map_err(|e| PolicyError::Policy {
                name: name.clone(),
                message: e.to_string(),
            })?;
        self.sources.push(name);
        Ok(self)
    }

    /// Adds a `.rego` file, or every `.rego` file under a directory (recursively, in name
    /// order). Rego unit-test files (`*_test.rego`) are skipped. Directories are walked as
    /// inputs are (see [`InputSet::load`]): links only within the directory, regular files
    /// only, each at most [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES).
    pub fn add_path(&mut self, path: &Path) -> Result<&mut Self, PolicyError> {
        let io = |source| PolicyError::Io {
            path: path.to_owned(),
            source,
        };
        if fs::metadata(path).map_err(io)?.is_dir() {
            let root = fs::canonicalize(path).map_err(io)?;
            let is_policy = |name: &str| name.ends_with(".rego") && !name.ends_with("_test.rego");
            let (files, _) = crate::input::collect_files(
                path,
                &[root],
                &is_policy,
                &mut crate::input::Visited::default(),
            )?;
            for file in files {
                self.add_file(&file)?;
            }
        } else {
            self.add_file(path)?;
        }
        Ok(self)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), PolicyError> {
        let source = crate::input::read_file(path)?;
        self.add_policy(path.display().to_string(), &source)?;
        Ok(())
    }

    /// Names of the loaded policy modules.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Evaluates every package against the inputs, together, and returns all findings.
    pub fn evaluate(&self, inputs: &InputSet) -> Result<Report, PolicyError> {
        let mut report = self.evaluate_engine_input(inputs.to_engine_input()?)?;
        report.files = inputs.files().iter().map(|f| f.path.clone()).collect();
        Ok(report)
    }

    /// Evaluates every package against one raw input document (any shape the policies accept).
    ///
    /// The document is passed as it is: unlike [`PolicySet::evaluate`], nothing checks that
    /// it holds inputs the policies recognise.
    pub fn evaluate_value(&self, input: Value) -> Result<Report, PolicyError> {
        self.evaluate_engine_input(crate::input::to_engine_value(&input)?)
    }

    /// All modules are evaluated in one pass, so the helper rules every package imports
    /// (`data.thinledger.lib`) are computed once, not once per package.
    fn evaluate_engine_input(&self, input: regorus::Value) -> Result<Report, PolicyError> {
        let mut engine = self.engine.clone();
        engine.set_input(input);
        let all_err = |message: String| PolicyError::Eval {
            package: "*".into(),
            message,
        };
        let packages: BTreeSet<Vec<String>> = engine
            .get_policy_package_components()
            .map_err(|e| all_err(e.to_string()))?
            .into_iter()
            .map(|p| p.components)
            .collect();
        let data = engine
            .eval_modules(false)
            .map_err(|e| all_err(format!("{e:#}")))?;
        let mut findings = BTreeSet::new();
        let mut names = Vec::new();
        for components in &packages {
            let package = components.join(".");
            let value = components
                .iter()
                .fold(&data, |v, c| &v[&regorus::Value::from(c.as_str())]);
            names.push(package.clone());
            let regorus::Value::Object(rules) = value else {
                continue;
            };
            // Only the deny/warn rules are converted: helper rules can hold copies of the
            // whole input.
            for (rule, produced) in rules.iter() {
                let Ok(rule) = rule.as_string() else {
                    continue;
                };
                let Some(severity) = Severity::of_rule(rule) else {
                    continue;
                };
                let produced = serde_json::to_value(produced).map_err(|e| PolicyError::Eval {
                    package: package.clone(),
                    message: e.to_string(),
                })?;
                for item in as_items(&produced) {
                    findings.insert(to_finding(&package, rule, severity, item)?);
                }
            }
        }
        Ok(Report {
            findings: findings.into_iter().collect(),
            files: Vec::new(),
            packages: names,
        })
    }
}

/// Rule values: a set (serialised as an array) of results, or a single value for complete rules.
fn as_items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Bool(false) | Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn to_finding(
    package: &str,
    rule: &str,
    severity: Severity,
    item: &Value,
) -> Result<Finding, PolicyError> {
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match item {
        Value::String(msg) => Ok(Finding {
            severity,
            rule: format!("{package}.{rule}"),
            resource: String::new(),
            file: String::new(),
            message: msg.clone(),
            remediation: String::new(),
        }),
        Value::Object(obj) if obj.get("msg").is_some_and(Value::is_string) => {
            let message = match text("message") {
                m if m.is_empty() => text("msg"),
                m => m,
            };
            let rule = match text("rule") {
                r if r.is_empty() => format!("{package}.{rule}"),
                r => r,
            };
            Ok(Finding {
                severity,
                rule,
                resource: text("resource"),
                file: text("file"),
                message,
                remediation: text("remediation"),
            })
        }
        other => Err(PolicyError::BadFinding {
            package: package.to_owned(),
            rule: rule.to_owned(),
            value: other.to_string(),
        }),
    }
}
