//! Errors of the schedule file, the daemon and the renderer.

use std::path::PathBuf;

/// Why a schedule could not be loaded, started or rendered.
///
/// Messages name the field (as a path such as `jobs[1].retries.max_backoff`), the value, the
/// rule and the fix. Password values never appear: the schedule file only names where a
/// password comes from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The file could not be read.
    #[error("cannot read the schedule file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not match the schedule format (unknown field, wrong type, …).
    #[error("schedule file: {message}. Fix: {fix}")]
    Syntax {
        /// The parser's message (with the field and the line).
        message: String,
        /// What to change.
        fix: String,
    },
    /// A value breaks a rule.
    #[error("{field} = {value:?}: {rule}. Fix: {fix}")]
    Invalid {
        /// Path of the field, e.g. `jobs[0].jitter`.
        field: String,
        /// The rejected value (never a secret: the file holds none).
        value: String,
        /// The rule.
        rule: String,
        /// What to change.
        fix: String,
    },
    /// A job name that the schedule does not define.
    #[error("no job named {name:?} in the schedule; it defines {known}")]
    UnknownJob {
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated.
        known: String,
    },
    /// The metrics endpoint could not listen.
    #[error("metrics.listen {addr}: cannot listen ({source}); choose a free address:port")]
    Listen {
        /// The address.
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A job's runner could not be built (its store URL, tenant file, …).
    #[error("job {job}: {message}")]
    Job {
        /// The job.
        job: String,
        /// What is wrong, with the fix.
        message: String,
    },
    /// Writing a rendered object as YAML failed (a bug: every object is plain data).
    #[error("could not write {what} as YAML: {message}")]
    Yaml {
        /// The object.
        what: String,
        /// What the serialiser said.
        message: String,
    },
}

impl ScheduleError {
    pub(crate) fn invalid(
        field: &str,
        value: impl std::fmt::Display,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ScheduleError::Invalid {
            field: field.to_owned(),
            value: value.to_string(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }
}
