//! Errors of the tenant file: where (field and line), what, which rule, and the fix.

use std::fmt;

use crate::error::ModelError;

/// One broken rule of a tenant file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Dotted path of the field, e.g. `cockroachdb.nodes` or `regions[0].zones[1]`.
    pub field: String,
    /// 1-based line of the field in the file, when the text is known.
    pub line: Option<usize>,
    /// The rejected value, as written (never a secret: tenant files hold references only).
    pub value: String,
    /// The rule that was broken.
    pub rule: String,
    /// What to change.
    pub fix: String,
}

impl Problem {
    pub(crate) fn new(
        field: impl Into<String>,
        value: impl fmt::Display,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            field: field.into(),
            line: None,
            value: value.to_string(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }

    /// Converts a quantity above its bound.
    pub(crate) fn from_bound(err: crate::BoundError) -> Self {
        Problem::new(
            err.field,
            err.value,
            format!(
                "more than {}, the most thinledger accepts ({})",
                err.max, err.reason
            ),
            format!("use at most {}; {}", err.max, err.hint),
        )
    }

    /// Converts a model error, prefixing its field with where the model value sits in the
    /// tenant file (e.g. `backup.` for identity fields).
    pub(crate) fn from_model(err: ModelError, prefix: &str) -> Self {
        let join = |field: &str| {
            if prefix.is_empty() {
                field.to_owned()
            } else {
                format!("{prefix}{field}")
            }
        };
        match err {
            ModelError::Quorum {
                field,
                value,
                rule,
                fix,
            } => Problem::new(join(&field), value, rule, fix),
            ModelError::Locality {
                field,
                value,
                rule,
                fix,
            }
            | ModelError::Identity {
                field,
                value,
                rule,
                fix,
            } => Problem::new(join(&field), value, rule, fix),
            ModelError::Parse(p) => Problem::new(
                prefix.trim_end_matches('.'),
                &p.value,
                format!(
                    "unknown {}{}",
                    p.what,
                    p.context.map(|c| format!(" {c}")).unwrap_or_default()
                ),
                format!("use one of {}", p.valid.join(", ")),
            ),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}", self.field)?;
        if !self.value.is_empty() {
            write!(f, " = {:?}", self.value)?;
        }
        write!(f, ": {}", self.rule)?;
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// A tenant file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    /// Not YAML, an unknown field, a missing field, or a value of the wrong type.
    #[error("{}{message}", location(*line, *column))]
    Syntax {
        /// What the parser said (it names the field).
        message: String,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        column: Option<usize>,
    },
    /// Well-formed, but breaks one or more rules; every problem found is listed.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    /// A quantity above its documented bound ([`crate::bounds`]): input no real tenant has,
    /// refused before any other rule is checked (bad input, like a syntax error). Every
    /// such quantity is listed.
    #[error("{}", list(.0))]
    OutOfBounds(Vec<Problem>),
}

impl TenantError {
    /// Every rule violation or quantity out of bounds (empty for syntax errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            TenantError::Invalid(p) | TenantError::OutOfBounds(p) => p,
            TenantError::Syntax { .. } => &[],
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l} column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut out = format!("{} problems in the tenant file:", many.len());
            for p in many {
                out.push_str("\n  - ");
                out.push_str(&p.to_string());
            }
            out
        }
    }
}
