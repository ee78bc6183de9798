//! [`CockroachJob`]: a scheduled CockroachDB native backup through [`thinledger_cockroach`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use thinledger_topology::Tenant;

use super::error::ScheduleError;
use super::job::{BackupReport, DrillReport, JobError, JobRunner, RunContext};
use super::spec::{
    CockroachBackupKind, CockroachJobSpec, DrillSpec, MinioCredentials, PasswordSource,
};
use thinledger_cockroach::{
    CockroachBackupOptions, CockroachBackupPlan, CockroachClient, ConnectionUrl, MinioAuth,
    S3Credentials, WaitOptions,
};
use thinledger_store::EnvVars;

/// A CockroachDB backup job: `BACKUP … INTO LATEST IN …` (or a full backup when asked, or
/// when the collection holds none yet), waited for with job tracking; its drill is
/// `SHOW BACKUP … WITH check_files` on the newest backup. Retention is CockroachDB's own
/// business (bucket lifecycle rules or the schedule's `gc` settings), so none runs here.
#[derive(Debug)]
pub struct CockroachJob {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    spec: CockroachJobSpec,
    plan: CockroachBackupPlan,
    drill: Option<DrillSpec>,
    env: EnvVars,
    base_dir: PathBuf,
}

impl CockroachJob {
    /// Builds the job's statements from `tenant`. `env` supplies `{env: NAME}` connection
    /// URLs; relative `{file: PATH}` ones are read from `base_dir`.
    pub fn new(
        name: impl Into<String>,
        spec: CockroachJobSpec,
        tenant: &Tenant,
        drill: Option<DrillSpec>,
        env: EnvVars,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, ScheduleError> {
        let name = name.into();
        let mut options = CockroachBackupOptions::default();
        options.path.clone_from(&spec.path);
        options.aws_region.clone_from(&spec.aws_region);
        options.assume_role.clone_from(&spec.assume_role);
        // On-prem: the MinIO keys from the environment the CronJob mounts from the tenant's
        // Secret (or none, when the CockroachDB pods hold them).
        let auth = spec.minio_credentials.map(|c| match c {
            MinioCredentials::Keys => MinioAuth::Keys,
            MinioCredentials::Implicit => MinioAuth::Implicit,
        });
        options.s3_credentials =
            S3Credentials::for_tenant(tenant, auth, |var| env.get(var).map(str::to_owned))
                .map_err(|e| ScheduleError::Job {
                    job: name.clone(),
                    message: e.to_string(),
                })?;
        let plan =
            CockroachBackupPlan::for_tenant(tenant, &options).map_err(|e| ScheduleError::Job {
                job: name.clone(),
                message: e.to_string(),
            })?;
        Ok(CockroachJob {
            inner: Arc::new(Inner {
                name,
                spec,
                plan,
                drill,
                env,
                base_dir: base_dir.into(),
            }),
        })
    }

    /// The statements it runs (redacted when displayed).
    pub fn plan(&self) -> &CockroachBackupPlan {
        &self.inner.plan
    }
}

/// Runs a step on a blocking thread that drives it with the runtime's handle. The driver's
/// futures hold `&dyn Statement` (not `Sync`) across awaits, so they are not `Send`; this
/// keeps the runner's futures `Send` until the driver's trait is. Dropping the returned
/// future cancels the step at its next await.
fn on_own_thread<T, F, Fut>(make: F) -> BoxFuture<'static, Result<T, JobError>>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, JobError>> + 'static,
{
    let (cancel_tx, mut cancel_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::runtime::Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            tokio::select! {
                r = make() => Some(r),
                _ = &mut cancel_rx => None,
            }
        })
    });
    Box::pin(async move {
        let _cancel_on_drop = cancel_tx;
        match task.await {
            Ok(Some(r)) => r,
            Ok(None) => Err(JobError::Cancelled),
            Err(e) => Err(JobError::failed("cockroach step", e)),
        }
    })
}

impl Inner {
    async fn connect(&self) -> Result<CockroachClient, JobError> {
        let url = match &self.spec.connection {
            PasswordSource::Env(var) => self
                .env
                .get(var)
                .ok_or_else(|| {
                    JobError::failed(
                        "connection",
                        format!("environment variable {var} is not set; set it to the cluster's postgresql:// URL"),
                    )
                })?
                .to_owned(),
            PasswordSource::File(p) => {
                let path = if p.is_absolute() { p.clone() } else { self.base_dir.join(p) };
                tokio::fs::read_to_string(&path)
                    .await
                    .map_err(|e| {
                        JobError::failed(
                            "connection",
                            format!("cannot read {} ({e})", path.display()),
                        )
                    })?
                    .trim()
                    .to_owned()
            }
            _ => {
                return Err(JobError::failed(
                    "connection",
                    "use {env: NAME} or {file: PATH}",
                ));
            }
        };
        let url = ConnectionUrl::parse(&url)?;
        Ok(CockroachClient::connect(&url).await?)
    }

    fn wait(&self) -> WaitOptions {
        WaitOptions::default().with_timeout(
            self.spec
                .wait_timeout
                .map_or(Duration::from_secs(6 * 3600), |d| d.0),
        )
    }

    async fn run_backup(self: Arc<Self>) -> Result<BackupReport, JobError> {
        let client = self.connect().await?;
        let full = match self.spec.backup {
            CockroachBackupKind::Full => true,
            _ => client.list_backups(self.plan.list()).await?.is_empty(),
        };
        let statement = if full {
            self.plan.full_backup()
        } else {
            self.plan.incremental_backup()
        };
        let name = self.name.clone();
        let outcome = client
            .run_job(statement, &self.wait(), |s| {
                tracing::debug!(job = %name, cockroach_job = s.job_id, status = %s.status, percent = s.fraction_completed * 100.0, "cockroach backup");
            })
            .await?;
        Ok(BackupReport {
            bytes_added: 0,
            bytes_total: 0,
            snapshot: Some(format!(
                "{} backup, job {}",
                if full { "full" } else { "incremental" },
                outcome.job_id
            )),
        })
    }

    async fn run_drill(self: Arc<Self>) -> Result<Option<DrillReport>, JobError> {
        if self.drill.as_ref().is_none_or(|d| !d.check_files) {
            return Ok(None);
        }
        let client = self.connect().await?;
        let contents = client.show_backup(self.plan.verify()).await?;
        Ok(Some(DrillReport {
            restore_seconds: None,
            bytes: u64::try_from(contents.total_size_bytes()).unwrap_or(0),
            what: format!(
                "SHOW BACKUP … WITH check_files: {} objects, {} rows",
                contents.objects.len(),
                contents.total_rows()
            ),
        }))
    }
}

impl JobRunner for CockroachJob {
    fn kind(&self) -> &'static str {
        "cockroach"
    }

    fn backup<'a>(&'a self, _ctx: &'a RunContext) -> BoxFuture<'a, Result<BackupReport, JobError>> {
        let inner = Arc::clone(&self.inner);
        on_own_thread(move || inner.run_backup())
    }

    fn drill<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _backup: &'a BackupReport,
    ) -> BoxFuture<'a, Result<Option<DrillReport>, JobError>> {
        let inner = Arc::clone(&self.inner);
        on_own_thread(move || inner.run_drill())
    }
}
