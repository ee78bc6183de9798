//! Errors of the CockroachDB driver.

use std::time::Duration;

/// Why building, connecting or running a CockroachDB backup statement failed.
///
/// No message carries a secret: values of secret fields are never stored here, and every text
/// that comes back from the server or the client library is scrubbed of the secrets the
/// statement and the connection hold before it is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CockroachError {
    /// An input breaks a rule.
    #[error("{field}: {value:?} is invalid: {rule}; fix: {fix}")]
    Invalid {
        /// Where the value came from, e.g. `backup.bucket` or `options.as_of`.
        field: String,
        /// The offending value (`redacted` for secret fields).
        value: String,
        /// The rule it breaks.
        rule: String,
        /// What to do.
        fix: String,
    },
    /// A value the chosen provider needs is missing.
    #[error("{field} is missing: {why}; fix: {fix}")]
    Missing {
        /// The missing setting, e.g. `AWS_SECRET_ACCESS_KEY`.
        field: String,
        /// Why it is needed.
        why: String,
        /// What to do.
        fix: String,
    },
    /// The connection URL or its TLS files are unusable.
    #[error("connection {target}: {message}; fix: {fix}")]
    Config {
        /// The connection URL with its password redacted.
        target: String,
        /// What is wrong.
        message: String,
        /// What to do.
        fix: String,
    },
    /// Connecting to the cluster failed.
    #[error("connecting to {target} failed: {message}")]
    Connect {
        /// The connection URL with its password redacted.
        target: String,
        /// The client's message, scrubbed of secrets.
        message: String,
    },
    /// The server refused or failed a statement.
    #[error("{statement} failed{}: {message}", code.as_deref().map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default())]
    Statement {
        /// What ran, e.g. `BACKUP` or `SHOW BACKUP … WITH check_files`.
        statement: String,
        /// The SQLSTATE code, when the server sent one.
        code: Option<String>,
        /// The server's message, scrubbed of secrets.
        message: String,
    },
    /// A statement that should start a job returned no `job_id`.
    #[error(
        "{statement} returned no job id (columns: {columns}); fix: run it WITH detached so it returns the job id"
    )]
    NoJobId {
        /// What ran.
        statement: String,
        /// The columns it did return.
        columns: String,
    },
    /// The job ended without succeeding.
    #[error("job {job_id} {status}: {error}; see SHOW JOB {job_id}")]
    JobFailed {
        /// The CockroachDB job id.
        job_id: i64,
        /// Its final status (`failed`, `canceled`, `revert-failed`).
        status: String,
        /// The job's error text, scrubbed of secrets.
        error: String,
    },
    /// The job did not finish in time. It keeps running in the cluster.
    #[error(
        "job {job_id} is still {status} ({percent:.0}% done) after {waited:?}; it keeps running in the cluster: watch it with SHOW JOB {job_id}, or stop it with CANCEL JOB {job_id}"
    )]
    JobTimeout {
        /// The CockroachDB job id.
        job_id: i64,
        /// Its last seen status.
        status: String,
        /// Fraction done at the last poll, in percent.
        percent: f64,
        /// How long we waited.
        waited: Duration,
    },
    /// The job id is unknown to the cluster.
    #[error("job {job_id} is not in crdb_internal.jobs; fix: check the id with SHOW JOBS")]
    JobNotFound {
        /// The CockroachDB job id.
        job_id: i64,
    },
    /// `SHOW BACKUP … WITH check_files` found the backup unreadable or incomplete.
    #[error("backup verification failed: {message}")]
    VerificationFailed {
        /// The server's message (e.g. the missing files), scrubbed of secrets.
        message: String,
    },
}

impl CockroachError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        CockroachError::Invalid {
            field: field.into(),
            value: value.into(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }
}

/// `Ok(())` when `ok`, else [`CockroachError::Invalid`]: each check reads as one condition
/// and one message.
pub(crate) fn ensure(
    ok: bool,
    field: &str,
    value: impl Into<String>,
    rule: &str,
    fix: &str,
) -> Result<(), CockroachError> {
    if ok {
        Ok(())
    } else {
        Err(CockroachError::invalid(field, value, rule, fix))
    }
}
