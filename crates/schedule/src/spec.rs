//! The schedule file: what a user declares (`*Spec`), and the checked [`Schedule`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use thinledger_topology::{IdentityBinding, Provider};

use super::cron::CronSchedule;
use super::error::ScheduleError;
use super::timing::{DurationText, JobTiming, Overlap, RetryPolicy};
use thinledger_repository::KeepPolicy;
/// Where a password comes from, read again on every run (a rotated password is picked up
/// without a restart).
pub use thinledger_repository::PasswordSource;
use thinledger_store::{EncryptionOptions, SseMode, StoreBuilder, StoreError};

/// The whole schedule file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// The Prometheus endpoint of `schedule run`.
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// On SIGTERM/SIGINT, how long running jobs may take to finish before they are cancelled
    /// (default 5m).
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: DurationText,
    /// Settings used only by `schedule render` (Kubernetes CronJobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
    /// The jobs.
    pub jobs: Vec<JobSpec>,
}

fn default_stop_timeout() -> DurationText {
    DurationText(Duration::from_secs(300))
}

/// Where `schedule run` serves Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// `address:port` to listen on, e.g. `127.0.0.1:9464` or `0.0.0.0:9464`. Unset: no endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// One scheduled job: when it runs, and what it backs up (exactly one of `repository` and
/// `cockroach`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Name: lowercase letters, digits and `-`, at most 52 characters (it names the CronJob).
    pub name: String,
    /// Five-field cron expression or a nickname (`@hourly`, `@daily`, …).
    pub schedule: String,
    /// IANA time zone the expression is read in (default `UTC`).
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// Random delay added to each fire time, at most this long (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<DurationText>,
    /// `skip` (default) or `wait`.
    #[serde(default)]
    pub overlap: Overlap,
    /// Retries of a failed backup.
    #[serde(default)]
    pub retries: RetrySpec,
    /// Time allowed for one attempt (default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationText>,
    /// A backup into a thinledger (restic-format) repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryJobSpec>,
    /// A CockroachDB native backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cockroach: Option<CockroachJobSpec>,
    /// The restore drill after a successful backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillSpec>,
}

fn default_zone() -> String {
    "UTC".to_owned()
}

/// Retries with exponential backoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts after the first (default 3; at most 20).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait before the first retry (default 30s); doubles on each retry.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff: DurationText,
    /// Longest wait (default 10m).
    #[serde(default = "default_max_backoff")]
    pub max_backoff: DurationText,
}

impl Default for RetrySpec {
    fn default() -> Self {
        RetrySpec {
            attempts: default_attempts(),
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

fn default_attempts() -> u32 {
    3
}
fn default_initial_backoff() -> DurationText {
    DurationText(Duration::from_secs(30))
}
fn default_max_backoff() -> DurationText {
    DurationText(Duration::from_secs(600))
}

/// A backup of paths or of a command's output into a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryJobSpec {
    /// Repository URL: an absolute folder, `file://`, `s3://`, `az://` or `gs://`.
    pub url: String,
    /// Store settings that are not credentials.
    #[serde(default)]
    pub store: StoreSpec,
    /// The provider identity that signs requests (default: the standard credential variables
    /// of the environment, then the cloud's default chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBinding>,
    /// Where the repository password comes from (never the password itself).
    pub password: PasswordSource,
    /// Create the repository on the first run if the location is empty (default false).
    #[serde(default)]
    pub init: bool,
    /// Files and directories to back up (absolute paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathBuf>,
    /// Or a command whose standard output is backed up as one file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<StdinSpec>,
    /// Extra snapshot tags (every snapshot also gets `schedule=<job>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Host name recorded in snapshots (default the machine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Retention after each successful backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionSpec>,
    /// How long a step waits while another job or process holds a conflicting repository
    /// lock, e.g. a prune while a backup runs (default 10m; `0` fails at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_wait: Option<DurationText>,
}

/// The default [`RepositoryJobSpec::lock_wait`].
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(600);

/// Store settings (see [`thinledger_store::StoreOptions`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    /// S3-compatible server (MinIO), Azurite or a GCS emulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Path-style S3 requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// Allow plain-http endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_http: Option<bool>,
    /// Azure storage account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_account: Option<String>,
    /// S3 server-side encryption of every object: `aws:kms`, `aws:kms:dsse`, `AES256` or
    /// `sse-c` (whose key comes from `AWS_SSE_CUSTOMER_KEY_BASE64`, never from this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<String>,
    /// S3: the KMS key (ARN, key id or alias) for `aws:kms`/`aws:kms:dsse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_kms_key_id: Option<String>,
    /// S3: use an S3 Bucket Key with SSE-KMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_bucket_key_enabled: Option<bool>,
    /// Azure: the encryption scope every blob is written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_scope: Option<String>,
    /// GCS: the Cloud KMS key every object is written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_name: Option<String>,
}

impl StoreSpec {
    /// The encryption settings this file gives (the URL and the environment fill the rest).
    pub fn encryption(&self, field: &str) -> Result<EncryptionOptions, StoreError> {
        let mut e = EncryptionOptions::default();
        if let Some(mode) = &self.server_side_encryption {
            e.server_side_encryption = Some(SseMode::parse(
                &format!("{field}.server_side_encryption"),
                mode,
            )?);
        }
        e.sse_kms_key_id = self.sse_kms_key_id.clone();
        e.sse_bucket_key_enabled = self.sse_bucket_key_enabled;
        e.encryption_scope = self.encryption_scope.clone();
        e.kms_key_name = self.kms_key_name.clone();
        Ok(e)
    }
}

/// A command whose output is backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSpec {
    /// Run with `sh -c`; a non-zero exit fails the run and removes the snapshot it fed.
    pub command: String,
    /// File name in the snapshot, e.g. `ledger.sql`.
    pub filename: String,
}

/// `keep-*` retention rules, applied to this job's snapshots after each successful backup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// Keep the newest N.
    #[serde(default)]
    pub keep_last: u32,
    /// Keep the newest of each of the last N hours.
    #[serde(default)]
    pub keep_hourly: u32,
    /// … days.
    #[serde(default)]
    pub keep_daily: u32,
    /// … weeks.
    #[serde(default)]
    pub keep_weekly: u32,
    /// … months.
    #[serde(default)]
    pub keep_monthly: u32,
    /// … years.
    #[serde(default)]
    pub keep_yearly: u32,
    /// Also delete data no snapshot needs (default true).
    #[serde(default = "yes")]
    pub prune: bool,
}

fn yes() -> bool {
    true
}

impl RetentionSpec {
    /// The engine's policy.
    pub fn policy(&self) -> KeepPolicy {
        KeepPolicy::default()
            .with_last(self.keep_last)
            .with_hourly(self.keep_hourly)
            .with_daily(self.keep_daily)
            .with_weekly(self.keep_weekly)
            .with_monthly(self.keep_monthly)
            .with_yearly(self.keep_yearly)
    }
}

/// A CockroachDB native backup of a tenant's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CockroachJobSpec {
    /// The tenant file (relative paths are read from the schedule file's folder).
    pub tenant: PathBuf,
    /// Where the SQL connection URL comes from: `{env: NAME}` or `{file: PATH}` (it may hold
    /// a password, so it is never written inline).
    pub connection: PasswordSource,
    /// `incremental` (default: `BACKUP INTO LATEST IN`, a full backup when the collection is
    /// empty) or `full`.
    #[serde(default)]
    pub backup: CockroachBackupKind,
    /// Collection path inside the bucket (default `cockroach/<tenant>-<environment>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `AWS_REGION` of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
    /// Role or service account the nodes assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<String>,
    /// Longest wait for the backup job (default 6h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<DurationText>,
    /// On-prem (MinIO) tenants: `keys` (default) reads the MinIO keys from the job's
    /// environment — the CronJob mounts them from the Secret of the tenant's `secret-ref`
    /// binding — and passes them in the backup URIs; `implicit` leaves them to the CockroachDB
    /// pods' own environment. Refused on cloud tenants, whose nodes use their own identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_credentials: Option<MinioCredentials>,
}

/// Where an on-prem CockroachDB backup's MinIO keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MinioCredentials {
    /// From the job's environment, into the backup URIs.
    #[default]
    Keys,
    /// Held by the CockroachDB pods (`AUTH=implicit`).
    Implicit,
}

/// Full or incremental CockroachDB backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CockroachBackupKind {
    /// `BACKUP INTO LATEST IN …`.
    #[default]
    Incremental,
    /// `BACKUP INTO …`.
    Full,
}

/// The restore drill: proof that the newest backup can be read back, with the time it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillSpec {
    /// Drill after every N-th successful backup (default 1: every run).
    #[serde(default = "one")]
    pub every: u32,
    /// Repository jobs: `check --read-data-subset P%` (verify P percent of the packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_data_percent: Option<f64>,
    /// Repository jobs: restore the new snapshot into a scratch folder, compare its size and
    /// measure the time (`thinledger_backup_job_last_drill_restore_seconds`).
    #[serde(default)]
    pub restore: bool,
    /// Folder for test restores (default the system's temporary folder); emptied afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch_dir: Option<PathBuf>,
    /// CockroachDB jobs: `SHOW BACKUP … WITH check_files` on the newest backup.
    #[serde(default)]
    pub check_files: bool,
}

fn one() -> u32 {
    1
}

/// Settings for `schedule render`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSpec {
    /// Namespace of the CronJobs (the tenant's).
    pub namespace: String,
    /// The `ledger-backup` image, pinned by tag (e.g. `registry.example/thinledger/ledger-backup:0.1.0`).
    pub image: String,
    /// ServiceAccount the pods run as (default `ledger-backup`,
    /// [`thinledger_topology::iam::BACKUP_SERVICE_ACCOUNT`]: the one `ledger-topology` renders
    /// with the same identity, and the only one `ledger-topology iam` trusts for the backup
    /// identity besides the database's, in the tenant's namespace).
    #[serde(default = "default_service_account")]
    pub service_account: String,
    /// Identity bound to that ServiceAccount (IRSA, workload identity, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBinding>,
    /// The provider of the cluster the CronJobs run in (`aws`, `azure`, `gcp`, `onprem`;
    /// default: each identity's own cloud, whose webhook injects its token). On another
    /// provider than a repository job's identity, the rendering gives the pod that identity's
    /// variables and projected token itself, as it does for CockroachDB's nodes in such a site
    /// (IRSA and Azure workload identity with `tenant_id`; MinIO keys work anywhere); other
    /// identities are refused there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Secret holding repository passwords, mounted read-only; each repository job reads the
    /// key named after the job (or `password_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<String>,
    /// Key inside `password_secret` for every job (default: the job's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_key: Option<String>,
    /// Secret holding CockroachDB connection URLs (key = job name) and client certificates,
    /// mounted read-only for CockroachDB jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cockroach_secret: Option<String>,
    /// PersistentVolumeClaims mounted read-only for path backups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ClaimMount>,
    /// A run that could not start within this long after its time is skipped (default 10m).
    #[serde(default = "default_starting_deadline")]
    pub starting_deadline: DurationText,
    /// Scratch space for test restores and temporary files (default 1Gi).
    #[serde(default = "default_scratch")]
    pub scratch_size: String,
    /// CPU and memory (requests = limits), e.g. `{cpu: "1", memory: 1Gi}`.
    #[serde(default)]
    pub resources: PodResources,
}

fn default_service_account() -> String {
    thinledger_topology::iam::BACKUP_SERVICE_ACCOUNT.to_owned()
}
fn default_starting_deadline() -> DurationText {
    DurationText(Duration::from_secs(600))
}
fn default_scratch() -> String {
    "1Gi".to_owned()
}

/// A claim mounted read-only into the backup pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMount {
    /// PersistentVolumeClaim name.
    pub claim: String,
    /// Where it appears in the pod (the path a job backs up, or its parent).
    pub mount_path: PathBuf,
}

/// Pod resources (Guaranteed QoS: requests equal limits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodResources {
    /// CPU, e.g. `"1"` or `500m`.
    pub cpu: String,
    /// Memory, e.g. `1Gi`.
    pub memory: String,
}

impl Default for PodResources {
    fn default() -> Self {
        PodResources {
            cpu: "1".to_owned(),
            memory: "1Gi".to_owned(),
        }
    }
}

/// What a checked job does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// One per job, built once when the file is read: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum JobKind {
    /// A backup into a thinledger repository.
    Repository(RepositoryJobSpec),
    /// A CockroachDB native backup.
    Cockroach(CockroachJobSpec),
}

impl JobKind {
    /// `repository` or `cockroach`.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobKind::Repository(_) => "repository",
            JobKind::Cockroach(_) => "cockroach",
        }
    }
}

/// One checked job.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedJob {
    /// Its name.
    pub name: String,
    /// When it runs.
    pub timing: JobTiming,
    /// What it does.
    pub kind: JobKind,
    /// Its drill, if any.
    pub drill: Option<DrillSpec>,
    /// The spec as written.
    pub spec: JobSpec,
}

/// A checked schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    spec: ScheduleSpec,
    jobs: Vec<CheckedJob>,
    base_dir: PathBuf,
}

impl Schedule {
    /// Reads and checks a schedule file. Relative paths inside it (tenant files, password
    /// files) are read from the file's folder.
    pub fn from_file(path: &Path) -> Result<Self, ScheduleError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScheduleError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::from_yaml_in(&text, &base)
    }

    /// Parses and checks schedule YAML; relative paths are taken as relative to `base_dir`.
    pub fn from_yaml_in(text: &str, base_dir: &Path) -> Result<Self, ScheduleError> {
        let spec: ScheduleSpec =
            serde_yaml_ng::from_str(text).map_err(|e| ScheduleError::Syntax {
                message: e.to_string(),
                fix: "compare with examples/schedules/*.yaml; every mapping rejects unknown fields"
                    .to_owned(),
            })?;
        Self::from_spec(spec, base_dir)
    }

    /// Checks a spec.
    pub fn from_spec(spec: ScheduleSpec, base_dir: &Path) -> Result<Self, ScheduleError> {
        if spec.jobs.is_empty() {
            return Err(ScheduleError::invalid(
                "jobs",
                "[]",
                "a schedule needs at least one job",
                "add a job under `jobs:`",
            ));
        }
        if let Some(listen) = &spec.metrics.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(ScheduleError::invalid(
                "metrics.listen",
                listen,
                "not an address:port",
                "write e.g. 127.0.0.1:9464 or 0.0.0.0:9464",
            ));
        }
        let mut names = BTreeSet::new();
        let mut jobs = Vec::new();
        for (i, job) in spec.jobs.iter().enumerate() {
            let at = format!("jobs[{i}]");
            if !names.insert(job.name.clone()) {
                return Err(ScheduleError::invalid(
                    &format!("{at}.name"),
                    &job.name,
                    "job names must be unique",
                    "rename one of the jobs",
                ));
            }
            jobs.push(check_job(&at, job)?);
        }
        if let Some(k) = &spec.kubernetes {
            check_kubernetes(k, &jobs)?;
        }
        Ok(Schedule {
            spec,
            jobs,
            base_dir: base_dir.to_path_buf(),
        })
    }

    /// The spec as written.
    pub fn spec(&self) -> &ScheduleSpec {
        &self.spec
    }

    /// The checked jobs, in file order.
    pub fn jobs(&self) -> &[CheckedJob] {
        &self.jobs
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Result<&CheckedJob, ScheduleError> {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| ScheduleError::UnknownJob {
                name: name.to_owned(),
                known: self
                    .jobs
                    .iter()
                    .map(|j| j.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Folder relative paths are read from.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The text of job `job`'s tenant file `tenant` (resolved against [`Schedule::base_dir`]).
    #[cfg(any(feature = "cockroach", feature = "kubernetes"))]
    pub(crate) fn read_tenant_file(
        &self,
        job: &str,
        tenant: &Path,
    ) -> Result<String, ScheduleError> {
        let path = self.resolve(tenant);
        std::fs::read_to_string(&path).map_err(|e| ScheduleError::Job {
            job: job.to_owned(),
            message: format!(
                "cannot read the tenant file {} ({e}); fix cockroach.tenant",
                path.display()
            ),
        })
    }

    /// `path` resolved against [`Schedule::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Graceful-stop budget.
    pub fn stop_timeout(&self) -> Duration {
        self.spec.stop_timeout.0
    }
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_job(at: &str, job: &JobSpec) -> Result<CheckedJob, ScheduleError> {
    let f = |name: &str| format!("{at}.{name}");
    if !is_dns_label(&job.name, 52) {
        return Err(ScheduleError::invalid(
            &f("name"),
            &job.name,
            "must be lowercase letters, digits and '-', at most 52 characters, not starting or ending with '-' (it names the Kubernetes CronJob and the metrics label)",
            "rename it, e.g. `ledger-exports`",
        ));
    }
    let cron = CronSchedule::parse(&f("schedule"), &job.schedule, &job.time_zone)?;
    let jitter = job.jitter.map_or(Duration::ZERO, |j| j.0);
    if !jitter.is_zero()
        && let Some(gap) = cron.min_interval(Utc::now(), 500)
        && chrono::Duration::from_std(jitter).is_ok_and(|j| j >= gap)
    {
        return Err(ScheduleError::invalid(
            &f("jitter"),
            DurationText(jitter),
            format!(
                "must be shorter than the time between two runs ({})",
                DurationText(gap.to_std().unwrap_or_default())
            ),
            "lower the jitter (a few percent of the interval is plenty)",
        ));
    }
    let r = &job.retries;
    if r.attempts > 20 {
        return Err(ScheduleError::invalid(
            &f("retries.attempts"),
            r.attempts,
            "at most 20 retries",
            "use fewer attempts with a longer max_backoff",
        ));
    }
    if r.initial_backoff.0.is_zero() || r.initial_backoff > r.max_backoff {
        return Err(ScheduleError::invalid(
            &f("retries.initial_backoff"),
            r.initial_backoff,
            format!(
                "must be positive and at most max_backoff ({})",
                r.max_backoff
            ),
            "e.g. initial_backoff: 30s, max_backoff: 10m",
        ));
    }
    if job.timeout.is_some_and(|t| t.0.is_zero()) {
        return Err(ScheduleError::invalid(
            &f("timeout"),
            "0s",
            "a zero timeout fails every run",
            "remove it (unlimited) or give e.g. 2h",
        ));
    }
    let kind = match (&job.repository, &job.cockroach) {
        (Some(r), None) => {
            check_repository(at, r)?;
            JobKind::Repository(r.clone())
        }
        (None, Some(c)) => {
            check_cockroach(at, c)?;
            JobKind::Cockroach(c.clone())
        }
        _ => {
            return Err(ScheduleError::invalid(
                at,
                &job.name,
                "a job has exactly one of `repository:` and `cockroach:`",
                "keep one of them (make two jobs for two backups)",
            ));
        }
    };
    if let Some(d) = &job.drill {
        check_drill(&f("drill"), d, &kind)?;
    }
    let timing = JobTiming {
        cron,
        jitter,
        overlap: job.overlap,
        retry: RetryPolicy {
            retries: r.attempts,
            initial_backoff: r.initial_backoff.0,
            max_backoff: r.max_backoff.0,
        },
        attempt_timeout: job.timeout.map(|t| t.0),
        drill_every: job.drill.as_ref().map_or(0, |d| d.every),
    };
    Ok(CheckedJob {
        name: job.name.clone(),
        timing,
        kind,
        drill: job.drill.clone(),
        spec: job.clone(),
    })
}

fn check_password(field: &str, p: &PasswordSource) -> Result<(), ScheduleError> {
    match p {
        PasswordSource::Env(name)
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Err(ScheduleError::invalid(
                &format!("{field}.env"),
                name,
                "not an environment variable name",
                "use letters, digits and '_', e.g. THINLEDGER_PASSWORD",
            ))
        }
        PasswordSource::Command(c) if c.trim().is_empty() => Err(ScheduleError::invalid(
            &format!("{field}.command"),
            c,
            "the command is empty",
            "give a command that prints the password",
        )),
        PasswordSource::File(path) if path.as_os_str().is_empty() => Err(ScheduleError::invalid(
            &format!("{field}.file"),
            "",
            "the path is empty",
            "give the file that holds the password",
        )),
        _ => Ok(()),
    }
}

fn check_repository(at: &str, r: &RepositoryJobSpec) -> Result<(), ScheduleError> {
    let f = |name: &str| format!("{at}.repository.{name}");
    StoreBuilder::new(&r.url)
        .with_base_dir("/")
        .location()
        .map_err(|e| {
            ScheduleError::invalid(&f("url"), &r.url, e.to_string(), "fix the repository URL")
        })?;
    r.store.encryption(&f("store")).map_err(|_| {
        ScheduleError::invalid(
            &f("store.server_side_encryption"),
            r.store
                .server_side_encryption
                .as_deref()
                .unwrap_or_default(),
            "server_side_encryption is one of AES256, aws:kms, aws:kms:dsse, sse-c",
            "write server_side_encryption: aws:kms (with sse_kms_key_id: ARN)",
        )
    })?;
    if !r.url.contains("://") && !Path::new(&r.url).is_absolute() {
        return Err(ScheduleError::invalid(
            &f("url"),
            &r.url,
            "a local repository path must be absolute (a daemon has no meaningful working directory)",
            "write the full path, e.g. /srv/backups/ledger",
        ));
    }
    check_password(&f("password"), &r.password)?;
    match (r.paths.is_empty(), &r.stdin) {
        (false, None) => {
            for (i, p) in r.paths.iter().enumerate() {
                if !p.is_absolute() {
                    return Err(ScheduleError::invalid(
                        &format!("{}[{i}]", f("paths")),
                        p.display(),
                        "backup paths must be absolute",
                        "write the full path",
                    ));
                }
            }
        }
        (true, Some(s)) => {
            if s.command.trim().is_empty() {
                return Err(ScheduleError::invalid(
                    &f("stdin.command"),
                    &s.command,
                    "the command is empty",
                    "give the command whose output is backed up, e.g. `pg_dump ledger`",
                ));
            }
            if s.filename.is_empty()
                || s.filename.contains('/')
                || s.filename == "."
                || s.filename == ".."
            {
                return Err(ScheduleError::invalid(
                    &f("stdin.filename"),
                    &s.filename,
                    "must be a plain file name",
                    "e.g. ledger.sql",
                ));
            }
        }
        _ => {
            return Err(ScheduleError::invalid(
                &format!("{at}.repository"),
                &r.url,
                "give either `paths:` or `stdin:`, not both and not neither",
                "make two jobs to back up both",
            ));
        }
    }
    if let Some(ret) = &r.retention
        && ret.policy().is_empty()
    {
        return Err(ScheduleError::invalid(
            &f("retention"),
            "{}",
            "a retention without keep rules would remove every snapshot",
            "add keep rules, e.g. keep_hourly: 24, keep_daily: 7, keep_weekly: 4",
        ));
    }
    Ok(())
}

fn check_cockroach(at: &str, c: &CockroachJobSpec) -> Result<(), ScheduleError> {
    check_password(&format!("{at}.cockroach.connection"), &c.connection)?;
    if matches!(c.connection, PasswordSource::Command(_)) {
        return Err(ScheduleError::invalid(
            &format!("{at}.cockroach.connection"),
            "command",
            "the connection URL comes from a file or an environment variable",
            "write `connection: {env: THINLEDGER_COCKROACH_URL}` or `{file: PATH}`",
        ));
    }
    if c.tenant.as_os_str().is_empty() {
        return Err(ScheduleError::invalid(
            &format!("{at}.cockroach.tenant"),
            "",
            "the tenant file is required",
            "give the tenant file's path",
        ));
    }
    Ok(())
}

fn check_drill(field: &str, d: &DrillSpec, kind: &JobKind) -> Result<(), ScheduleError> {
    if d.every == 0 {
        return Err(ScheduleError::invalid(
            &format!("{field}.every"),
            0,
            "must be at least 1",
            "remove the drill to turn it off, or use every: 1",
        ));
    }
    match kind {
        JobKind::Repository(_) => {
            if d.check_files {
                return Err(ScheduleError::invalid(
                    &format!("{field}.check_files"),
                    true,
                    "check_files is a CockroachDB drill",
                    "use read_data_percent and/or restore for repository jobs",
                ));
            }
            if let Some(p) = d.read_data_percent
                && !(p > 0.0 && p <= 100.0)
            {
                return Err(ScheduleError::invalid(
                    &format!("{field}.read_data_percent"),
                    p,
                    "must be in (0, 100]",
                    "e.g. 10",
                ));
            }
            if d.read_data_percent.is_none() && !d.restore {
                return Err(ScheduleError::invalid(
                    field,
                    "{}",
                    "a repository drill reads data back: set read_data_percent, restore, or both",
                    "e.g. drill: {read_data_percent: 10, restore: true}",
                ));
            }
        }
        JobKind::Cockroach(_) => {
            if d.read_data_percent.is_some() || d.restore || d.scratch_dir.is_some() {
                return Err(ScheduleError::invalid(
                    field,
                    "read_data_percent/restore/scratch_dir",
                    "those are repository drills",
                    "use check_files: true for CockroachDB jobs",
                ));
            }
            if !d.check_files {
                return Err(ScheduleError::invalid(
                    &format!("{field}.check_files"),
                    false,
                    "a CockroachDB drill is SHOW BACKUP … WITH check_files",
                    "set check_files: true, or remove the drill",
                ));
            }
        }
    }
    Ok(())
}

fn check_kubernetes(k: &KubernetesSpec, jobs: &[CheckedJob]) -> Result<(), ScheduleError> {
    if !is_dns_label(&k.namespace, 63) {
        return Err(ScheduleError::invalid(
            "kubernetes.namespace",
            &k.namespace,
            "not a Kubernetes namespace name",
            "use lowercase letters, digits and '-'",
        ));
    }
    if !is_dns_label(&k.service_account, 63) {
        return Err(ScheduleError::invalid(
            "kubernetes.service_account",
            &k.service_account,
            "not a ServiceAccount name",
            "use lowercase letters, digits and '-'",
        ));
    }
    let tag = k
        .image
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'));
    if k.image.contains('@') {
        // a digest pins even better than a tag
    } else if tag.is_none_or(|(_, t)| t.is_empty() || t == "latest") {
        return Err(ScheduleError::invalid(
            "kubernetes.image",
            &k.image,
            "the image must be pinned by a tag other than `latest` (or a digest)",
            "e.g. registry.example/thinledger/ledger-backup:0.1.0",
        ));
    }
    if let Some(b) = &k.identity {
        b.validate_for(b.provider()).map_err(|e| {
            ScheduleError::invalid(
                "kubernetes.identity",
                b.kind(),
                e.to_string(),
                "fix the identity binding",
            )
        })?;
    }
    for j in jobs {
        match &j.kind {
            JobKind::Repository(r) => {
                if k.password_secret.is_none() {
                    return Err(ScheduleError::invalid(
                        "kubernetes.password_secret",
                        "",
                        format!("job {} needs its repository password in the pod", j.name),
                        "name the Secret that holds the passwords (mounted as files, never environment)",
                    ));
                }
                for p in &r.paths {
                    if !k.volumes.iter().any(|v| p.starts_with(&v.mount_path)) {
                        return Err(ScheduleError::invalid(
                            "kubernetes.volumes",
                            p.display(),
                            format!("job {} backs up a path no mounted claim provides", j.name),
                            "add {claim: NAME, mount_path: PATH} covering the path",
                        ));
                    }
                }
            }
            JobKind::Cockroach(_) => {
                if k.cockroach_secret.is_none() {
                    return Err(ScheduleError::invalid(
                        "kubernetes.cockroach_secret",
                        "",
                        format!(
                            "job {} needs a connection URL and client certificates",
                            j.name
                        ),
                        "name the Secret holding them",
                    ));
                }
            }
        }
    }
    Ok(())
}
