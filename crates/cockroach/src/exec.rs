//! Running statements over pgwire and following their jobs.
//!
//! `BACKUP` and `RESTORE` run `WITH detached`: the statement returns a `job_id` at once and the
//! driver polls the job (`SHOW JOB`) until it ends, the wait times out, or the job fails — each
//! outcome a typed result carrying the job id. A timed-out job keeps running in the cluster.
//! Every message from the server is scrubbed of the statement's and the connection's secrets.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::changefeed::{ChangefeedJob, ChangefeedOutcome, ChangefeedPlan, SHOW_CHANGEFEED_JOBS};
use super::connect::ConnectionUrl;
use super::error::{CockroachError, ensure};
use super::regions::{RegionSurvivalPlan, SHOW_CLUSTER_REGIONS, check_cluster_regions};
use super::sql::{Param, Rendered};
use super::statement::{CHECK_FILES_LABEL, Statement};
use thinledger_store::{Secret, scrub};
use thinledger_topology::error_chain;

impl Statement for Rendered {
    fn render(&self) -> Rendered {
        self.clone()
    }
}

/// Where job status is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStatusQuery {
    /// `SHOW JOB $1` — the supported interface, allowed even where `crdb_internal` is
    /// restricted (`allow_unsafe_internals = off`, the default from CockroachDB v26).
    #[default]
    ShowJob,
    /// `crdb_internal.jobs` — for clusters or proxies where `SHOW JOB` with a placeholder is
    /// not available (and for exercising the driver against PostgreSQL with a stand-in table).
    CrdbInternalJobs,
}

impl JobStatusQuery {
    fn sql(self) -> &'static str {
        match self {
            JobStatusQuery::ShowJob => {
                "SELECT status, error, fraction_completed::FLOAT8 AS fraction_completed FROM [SHOW JOB $1]"
            }
            JobStatusQuery::CrdbInternalJobs => {
                "SELECT status, error, fraction_completed::FLOAT8 AS fraction_completed FROM crdb_internal.jobs WHERE job_id = $1"
            }
        }
    }
}

/// How long to wait for a job and how often to look. Both are longer than zero
/// ([`WaitOptions::new`] and every wait check it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up waiting after this long (the job keeps running). Default 6 hours.
    pub timeout: Duration,
    /// Time between polls. Default 2 seconds.
    pub poll_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(6 * 3600),
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl WaitOptions {
    /// Waits of at most `timeout`, polling every `poll_interval`; refuses a zero duration
    /// (fields `options.wait.timeout`, `options.wait.poll_interval`).
    pub fn new(timeout: Duration, poll_interval: Duration) -> Result<Self, CockroachError> {
        let options = WaitOptions {
            timeout,
            poll_interval,
        };
        options.validate()?;
        Ok(options)
    }

    /// The same with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same with another poll interval.
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Checks that both durations are longer than zero: a zero timeout gives up before the
    /// first poll, a zero interval would poll the cluster in a busy loop.
    pub fn validate(&self) -> Result<(), CockroachError> {
        for (field, value, example) in [
            ("options.wait.timeout", self.timeout, "6h"),
            ("options.wait.poll_interval", self.poll_interval, "2s"),
        ] {
            ensure(
                !value.is_zero(),
                field,
                format!("{value:?}"),
                "must be longer than zero",
                &format!("e.g. {example}"),
            )?;
        }
        Ok(())
    }
}

/// A job's state at one poll.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobStatus {
    /// The job id.
    pub job_id: i64,
    /// `running`, `pending`, `paused`, `succeeded`, `failed`, `canceled`, `reverting`, …
    pub status: String,
    /// The job's error text (empty unless it failed), scrubbed of secrets.
    pub error: String,
    /// Fraction done, 0 to 1.
    pub fraction_completed: f64,
}

impl JobStatus {
    /// Whether the job has ended (whatever the outcome).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "succeeded" | "failed" | "canceled" | "revert-failed"
        )
    }
}

/// A job that succeeded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobOutcome {
    /// The job id.
    pub job_id: i64,
    /// How long the driver waited for it (from start or from the first poll).
    #[serde(with = "duration_secs")]
    pub elapsed: Duration,
}

mod duration_secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// A schedule `CREATE SCHEDULE FOR BACKUP` made (one for incrementals, one for full backups).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduleCreated {
    /// Schedule id.
    pub schedule_id: i64,
    /// Label.
    pub label: String,
    /// Status, e.g. `ACTIVE`, or `PAUSED: Waiting for initial backup to complete`.
    pub status: String,
    /// First run.
    pub first_run: Option<DateTime<Utc>>,
    /// Cron expression.
    pub schedule: String,
    /// The backup statement it runs, scrubbed of secrets.
    pub backup_stmt: String,
}

/// One object in a backup, from `SHOW BACKUP`. Columns a CockroachDB version does not return
/// are `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupObject {
    /// Database.
    pub database_name: Option<String>,
    /// Schema.
    pub parent_schema_name: Option<String>,
    /// Object name.
    pub object_name: Option<String>,
    /// `database`, `schema`, `table`, `type`, …
    pub object_type: Option<String>,
    /// `full` or `incremental`.
    pub backup_type: Option<String>,
    /// Start of the time the backup layer covers.
    pub start_time: Option<NaiveDateTime>,
    /// End of it.
    pub end_time: Option<NaiveDateTime>,
    /// Logical bytes.
    pub size_bytes: Option<i64>,
    /// Rows.
    pub rows: Option<i64>,
    /// Bytes of files in storage (with `check_files`).
    pub file_bytes: Option<i64>,
}

/// What `SHOW BACKUP` reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupContents {
    /// One entry per object and backup layer.
    pub objects: Vec<BackupObject>,
}

impl BackupContents {
    /// Logical bytes over all entries.
    pub fn total_size_bytes(&self) -> i64 {
        self.objects.iter().filter_map(|o| o.size_bytes).sum()
    }

    /// Rows over all entries.
    pub fn total_rows(&self) -> i64 {
        self.objects.iter().filter_map(|o| o.rows).sum()
    }

    /// The latest `end_time`: the newest time the chain can restore to.
    pub fn end_time(&self) -> Option<NaiveDateTime> {
        self.objects.iter().filter_map(|o| o.end_time).max()
    }
}

/// A pgwire session with a CockroachDB cluster.
#[derive(Debug)]
pub struct CockroachClient {
    client: tokio_postgres::Client,
    connection: JoinHandle<()>,
    secrets: Vec<Secret>,
    job_query: JobStatusQuery,
}

impl Drop for CockroachClient {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl CockroachClient {
    /// Connects (TLS per the URL's `sslmode`); without a `connect_timeout` in the URL, gives up
    /// after 10 seconds.
    pub async fn connect(url: &ConnectionUrl) -> Result<Self, CockroachError> {
        let tls = url.tls()?;
        let mut config = url.config().clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("thinledger-backup");
        }
        let secrets = url.secrets();
        let (client, connection) =
            config
                .connect(tls)
                .await
                .map_err(|e| CockroachError::Connect {
                    target: url.redacted().to_owned(),
                    message: scrub(&error_text(&e), &secrets),
                })?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "pgwire connection ended");
            }
        });
        tracing::debug!(target = url.redacted(), "connected");
        Ok(CockroachClient {
            client,
            connection,
            secrets,
            job_query: JobStatusQuery::default(),
        })
    }

    /// Reads job status from elsewhere (see [`JobStatusQuery`]).
    pub fn with_job_status_query(mut self, query: JobStatusQuery) -> Self {
        self.job_query = query;
        self
    }

    /// Runs a statement and returns its rows.
    async fn query(&self, rendered: &Rendered) -> Result<Vec<Row>, CockroachError> {
        tracing::info!(statement = rendered.display(), "running");
        let values: Vec<&str> = rendered.params().iter().map(Param::value).collect();
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = values
            .iter()
            .map(|v| (v as &(dyn ToSql + Sync), Type::TEXT))
            .collect();
        self.client
            .query_typed(rendered.sql(), &typed)
            .await
            .map_err(|e| self.statement_error(rendered.label(), &rendered.secrets(), &e))
    }

    fn statement_error(
        &self,
        label: &str,
        extra_secrets: &[Secret],
        e: &tokio_postgres::Error,
    ) -> CockroachError {
        let mut secrets = self.secrets.clone();
        secrets.extend_from_slice(extra_secrets);
        CockroachError::Statement {
            statement: label.to_owned(),
            code: e.as_db_error().map(|d| d.code().code().to_owned()),
            message: scrub(&error_text(e), &secrets),
        }
    }

    /// Runs a statement that starts a job (`BACKUP`/`RESTORE … WITH detached`) and returns the
    /// job id.
    pub async fn start_job(&self, statement: &dyn Statement) -> Result<i64, CockroachError> {
        let rendered = statement.render();
        let rows = self.query(&rendered).await?;
        let no_id = |rows: &[Row]| CockroachError::NoJobId {
            statement: rendered.label().to_owned(),
            columns: rows
                .first()
                .map(|r| {
                    r.columns()
                        .iter()
                        .map(|c| c.name().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "no rows".to_owned()),
        };
        let row = rows.first().ok_or_else(|| no_id(&rows))?;
        let id = row.try_get::<_, i64>("job_id").map_err(|_| no_id(&rows))?;
        tracing::info!(job_id = id, statement = rendered.label(), "job started");
        Ok(id)
    }

    /// A job's current state.
    pub async fn job_status(&self, job_id: i64) -> Result<JobStatus, CockroachError> {
        self.job_status_scrubbed(job_id, &self.secrets).await
    }

    async fn job_status_scrubbed(
        &self,
        job_id: i64,
        secrets: &[Secret],
    ) -> Result<JobStatus, CockroachError> {
        let rows = self
            .client
            .query_typed(self.job_query.sql(), &[(&job_id, Type::INT8)])
            .await
            .map_err(|e| self.statement_error("SHOW JOB", secrets, &e))?;
        let row = rows.first().ok_or(CockroachError::JobNotFound { job_id })?;
        let text = |name: &str| {
            row.try_get::<_, Option<String>>(name)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        Ok(JobStatus {
            job_id,
            status: text("status"),
            error: scrub(&text("error"), secrets),
            fraction_completed: row
                .try_get::<_, Option<f64>>("fraction_completed")
                .ok()
                .flatten()
                .unwrap_or(0.0),
        })
    }

    /// Polls a job until it ends or `options.timeout` passes; `progress` sees every poll.
    pub async fn wait_for_job(
        &self,
        job_id: i64,
        options: &WaitOptions,
        progress: impl FnMut(&JobStatus),
    ) -> Result<JobOutcome, CockroachError> {
        self.wait_scrubbed(job_id, options, progress, &self.secrets)
            .await
    }

    /// The job's error text may quote the statement (URIs included), so the statement's
    /// secrets are scrubbed from it too.
    async fn wait_scrubbed(
        &self,
        job_id: i64,
        options: &WaitOptions,
        mut progress: impl FnMut(&JobStatus),
        secrets: &[Secret],
    ) -> Result<JobOutcome, CockroachError> {
        options.validate()?;
        let started = Instant::now();
        loop {
            let status = self.job_status_scrubbed(job_id, secrets).await?;
            progress(&status);
            match status.status.as_str() {
                "succeeded" => {
                    return Ok(JobOutcome {
                        job_id,
                        elapsed: started.elapsed(),
                    });
                }
                "failed" | "canceled" | "revert-failed" => {
                    return Err(CockroachError::JobFailed {
                        job_id,
                        status: status.status,
                        error: if status.error.is_empty() {
                            "(no error text)".to_owned()
                        } else {
                            status.error
                        },
                    });
                }
                _ => {}
            }
            let waited = started.elapsed();
            if waited >= options.timeout {
                return Err(CockroachError::JobTimeout {
                    job_id,
                    status: status.status,
                    percent: status.fraction_completed * 100.0,
                    waited,
                });
            }
            tokio::time::sleep(options.poll_interval.min(options.timeout - waited)).await;
        }
    }

    /// Starts a job and waits for it.
    pub async fn run_job(
        &self,
        statement: &dyn Statement,
        options: &WaitOptions,
        progress: impl FnMut(&JobStatus),
    ) -> Result<JobOutcome, CockroachError> {
        // Refused before the job starts, not after.
        options.validate()?;
        let started = Instant::now();
        let rendered = statement.render();
        let job_id = self.start_job(&rendered).await?;
        let mut secrets = self.secrets.clone();
        secrets.extend(rendered.secrets());
        let mut outcome = self
            .wait_scrubbed(job_id, options, progress, &secrets)
            .await?;
        outcome.elapsed = started.elapsed();
        Ok(outcome)
    }

    /// Creates a backup schedule (a no-op returning nothing if one with the label exists).
    pub async fn create_schedule(
        &self,
        statement: &dyn Statement,
    ) -> Result<Vec<ScheduleCreated>, CockroachError> {
        let rendered = statement.render();
        let mut secrets = self.secrets.clone();
        secrets.extend(rendered.secrets());
        let rows = self.query(&rendered).await?;
        Ok(rows
            .iter()
            .map(|row| ScheduleCreated {
                schedule_id: get(row, "schedule_id").unwrap_or_default(),
                label: get::<String>(row, "label").unwrap_or_default(),
                status: get::<String>(row, "status").unwrap_or_default(),
                first_run: get(row, "first_run"),
                schedule: get::<String>(row, "schedule").unwrap_or_default(),
                backup_stmt: scrub(
                    &get::<String>(row, "backup_stmt").unwrap_or_default(),
                    &secrets,
                ),
            })
            .collect())
    }

    /// `SHOW BACKUPS IN …`: the collection's backups (subdirectories), oldest first.
    pub async fn list_backups(
        &self,
        statement: &dyn Statement,
    ) -> Result<Vec<String>, CockroachError> {
        let rows = self.query(&statement.render()).await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, String>(0).ok())
            .collect())
    }

    /// `SHOW BACKUP …`. With `check_files`, a refusal (missing or unreadable files) is a
    /// [`CockroachError::VerificationFailed`].
    pub async fn show_backup(
        &self,
        statement: &dyn Statement,
    ) -> Result<BackupContents, CockroachError> {
        let rendered = statement.render();
        let rows = match self.query(&rendered).await {
            Ok(rows) => rows,
            Err(CockroachError::Statement { message, code, .. })
                if rendered.label() == CHECK_FILES_LABEL =>
            {
                return Err(CockroachError::VerificationFailed {
                    message: match code {
                        Some(code) => format!("{message} (SQLSTATE {code})"),
                        None => message,
                    },
                });
            }
            Err(e) => return Err(e),
        };
        Ok(BackupContents {
            objects: rows
                .iter()
                .map(|row| BackupObject {
                    database_name: get(row, "database_name"),
                    parent_schema_name: get(row, "parent_schema_name"),
                    object_name: get(row, "object_name"),
                    object_type: get(row, "object_type"),
                    backup_type: get(row, "backup_type"),
                    start_time: get(row, "start_time"),
                    end_time: get(row, "end_time"),
                    size_bytes: get(row, "size_bytes"),
                    rows: get(row, "rows"),
                    file_bytes: get(row, "file_bytes"),
                })
                .collect(),
        })
    }
}

impl CockroachClient {
    /// The regions the nodes declare (`SHOW REGIONS FROM CLUSTER`).
    pub async fn cluster_regions(&self) -> Result<Vec<String>, CockroachError> {
        let rows = self
            .query(&Rendered::from_static(
                "SHOW REGIONS FROM CLUSTER",
                SHOW_CLUSTER_REGIONS,
                Vec::new(),
            ))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, String>(0).ok())
            .collect())
    }

    /// Runs a region-survival plan: checks that every database region is a cluster region
    /// (else [`CockroachError::Invalid`] naming the missing ones, before any change), then runs
    /// the statements in order. Each is idempotent, so a re-run is safe. Returns the statements
    /// that ran.
    pub async fn apply_region_survival(
        &self,
        plan: &RegionSurvivalPlan,
    ) -> Result<Vec<String>, CockroachError> {
        check_cluster_regions(plan, &self.cluster_regions().await?)?;
        let mut ran = Vec::new();
        for statement in plan.statements() {
            let rendered = statement.render();
            self.query(&rendered).await?;
            ran.push(rendered.display().to_owned());
        }
        Ok(ran)
    }
}

impl CockroachClient {
    /// The changefeed jobs (`SHOW CHANGEFEED JOBS`), sink URIs as CockroachDB redacts them.
    pub async fn changefeed_jobs(&self) -> Result<Vec<ChangefeedJob>, CockroachError> {
        let rows = self
            .query(&Rendered::from_static(
                "SHOW CHANGEFEED JOBS",
                SHOW_CHANGEFEED_JOBS,
                Vec::new(),
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                ChangefeedJob::new(
                    get(row, "job_id").unwrap_or_default(),
                    &get::<String>(row, "status").unwrap_or_default(),
                    &get::<String>(row, "sink_uri").unwrap_or_default(),
                    &get::<String>(row, "tables").unwrap_or_default(),
                    &get::<String>(row, "topics").unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Turns rangefeeds on ([`ENABLE_RANGEFEEDS`](crate::ENABLE_RANGEFEEDS), a no-op when they
    /// are), then creates each changefeed of `plan` unless `SHOW CHANGEFEED JOBS` lists a live
    /// one of the same tables, topic and broker, which is kept (idempotent: a re-run creates
    /// nothing). A [`ChangefeedSpec::preview`](crate::ChangefeedSpec::preview) plan is refused.
    pub async fn apply_changefeeds(
        &self,
        plan: &ChangefeedPlan,
    ) -> Result<Vec<ChangefeedOutcome>, CockroachError> {
        ensure(
            plan.is_executable(),
            "changefeeds",
            "preview",
            "a preview plan holds placeholders instead of the Secret values",
            "build the plan with ChangefeedSpec::plan, which reads the Secret values",
        )?;
        // Before anything else: CREATE CHANGEFEED fails on a self-hosted cluster without it.
        self.query(&plan.enable_rangefeeds()).await?;
        let existing = self.changefeed_jobs().await?;
        let mut outcomes = Vec::new();
        for feed in plan.feeds() {
            let topic = feed.sink.topic().to_owned();
            if let Some(job) = existing.iter().find(|job| feed.matches(job)) {
                tracing::info!(
                    job_id = job.job_id,
                    topic,
                    "changefeed exists already; kept"
                );
                outcomes.push(ChangefeedOutcome {
                    topic,
                    job_id: job.job_id,
                    created: false,
                });
                continue;
            }
            let job_id = self.start_job(feed).await?;
            outcomes.push(ChangefeedOutcome {
                topic,
                job_id,
                created: true,
            });
        }
        Ok(outcomes)
    }
}

/// A column by name, `None` when absent, NULL or of another type (columns differ between
/// CockroachDB versions).
fn get<T>(row: &Row, name: &str) -> Option<T>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    row.try_get::<_, Option<T>>(name).ok().flatten()
}

/// The server's message with its detail and hint, or the client's error text.
fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_owned();
            if let Some(detail) = db.detail() {
                text.push_str("; detail: ");
                text.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                text.push_str("; hint: ");
                text.push_str(hint);
            }
            text
        }
        None => error_chain(e),
    }
}
