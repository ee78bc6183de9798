//! Errors of the CockroachDB driver.

use std::time::Duration;

use thinledger_store::{Invalid, InvalidInput};

/// Why building, connecting or running a CockroachDB backup statement failed.
///
/// No message carries a secret: values of secret fields are never stored here, and every text
/// that comes back from the server or the client library is scrubbed of the secrets the
/// statement and the connection hold before it is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CockroachError {
    /// An input breaks a rule (its field is e.g. `backup.bucket` or `options.as_of`; the value
    /// of a secret field is `redacted`).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The tenant file cannot be read or is not a valid tenant.
    #[error("{path}: {reason}")]
    TenantFile {
        /// The file's path.
        path: String,
        /// What is wrong, with the fix.
        reason: String,
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
    /// Whether the caller's input is at fault (a value breaks a rule, a setting is missing, the
    /// tenant file or the connection URL is unusable) rather than the cluster (connection,
    /// statement, job, verification). Command lines exit 2 for the first, 1 for the second.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            CockroachError::Invalid(_)
                | CockroachError::Missing { .. }
                | CockroachError::TenantFile { .. }
                | CockroachError::Config { .. }
        )
    }

    /// The input that set the offending value, in the words `ledger-backup cockroach` names
    /// its flags with (`tenant`, `path`, `database`, `kms`, `url`, …), so a caller can point at
    /// what its user typed; `None` for a failure of the cluster or a value no single input set
    /// (such as a MinIO key read from the environment).
    pub fn input(&self) -> Option<&'static str> {
        let field = match self {
            CockroachError::Invalid(e) => e.field.as_str(),
            CockroachError::Missing { field, .. } => field.as_str(),
            CockroachError::TenantFile { .. } => return Some("tenant"),
            CockroachError::Config { .. } => return Some("url"),
            _ => return None,
        };
        Some(match field {
            "options.path" => "path",
            "options.databases" => "database",
            "options.tables" => "table",
            "options.aws_region" => "aws-region",
            "options.assume_role" => "assume-role",
            "options.regional_buckets" | "options.localities" => "regional-bucket",
            "options.encryption_passphrase" => "encryption-passphrase-file",
            "options.s3_credentials" => "minio-credentials",
            "options.schedule.label" => "label",
            "options.wait.timeout" => "timeout",
            "options.wait.poll_interval" => "poll-interval",
            "restore.new_db_name" => "new-db-name",
            "restore.into_db" => "into-db",
            "options.primary_region" => "primary-region",
            "survival" | "regions" | "sites" => "tenant",
            f if f.starts_with("regions[") || f.starts_with("sites[") => "tenant",
            f if f.starts_with("options.kms") => "kms",
            f if f.starts_with("changefeeds") => "spec",
            f if f.starts_with("backup.") || f.starts_with("cockroachdb.") => "tenant",
            _ => return None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::path("options.path", Some("path"))]
    #[case::databases("options.databases", Some("database"))]
    #[case::tables("options.tables", Some("table"))]
    #[case::localities("options.localities", Some("regional-bucket"))]
    #[case::passphrase("options.encryption_passphrase", Some("encryption-passphrase-file"))]
    #[case::kms_part("options.kms.region", Some("kms"))]
    #[case::tenant_field("backup.bucket", Some("tenant"))]
    #[case::tenant_version("cockroachdb.version", Some("tenant"))]
    #[case::timeout("options.wait.timeout", Some("timeout"))]
    #[case::new_db_name("restore.new_db_name", Some("new-db-name"))]
    #[case::unknown("options.as_of", None)]
    fn invalid_fields_name_their_input(#[case] field: &str, #[case] input: Option<&str>) {
        let e = CockroachError::invalid(field, "v", "rule", "fix");
        assert!(e.is_input());
        assert_eq!(e.input(), input);
    }

    #[test]
    fn cluster_failures_are_not_input() {
        let e = CockroachError::JobNotFound { job_id: 7 };
        assert!(!e.is_input());
        assert_eq!(e.input(), None);
        let e = CockroachError::Missing {
            field: "AWS_SECRET_ACCESS_KEY".into(),
            why: "w".into(),
            fix: "f".into(),
        };
        assert!(e.is_input());
        assert_eq!(e.input(), None, "a variable, not a flag");
    }
}
