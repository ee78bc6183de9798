//! The real runners of a schedule's jobs, and the [`Scheduler`] that runs them.

use std::sync::Arc;

use thinledger_store::EnvVars;

#[cfg(feature = "cockroach")]
use crate::CockroachJob;
use crate::{
    CheckedJob, CockroachJobSpec, JobKind, JobRunner, RepositoryJob, Schedule, ScheduleError,
    ScheduledJob, Scheduler, SchedulerOptions,
};

impl Schedule {
    /// The real runners for every job: the engine for repository jobs, the CockroachDB driver
    /// for cockroach jobs (tenant files are read now). `env` is where credentials and
    /// `{env: …}` sources are read (pass [`EnvVars::from_process`] in the daemon).
    pub fn runners(&self, env: &EnvVars) -> Result<Vec<ScheduledJob>, ScheduleError> {
        self.jobs()
            .iter()
            .map(|job| {
                let runner: Arc<dyn JobRunner> = match &job.kind {
                    JobKind::Repository(spec) => Arc::new(RepositoryJob::new(
                        &job.name,
                        spec.clone(),
                        job.drill.clone(),
                        env.clone(),
                        self.base_dir(),
                    )),
                    JobKind::Cockroach(spec) => self.cockroach_runner(job, spec, env)?,
                };
                Ok(ScheduledJob {
                    name: job.name.clone(),
                    timing: job.timing.clone(),
                    runner,
                })
            })
            .collect()
    }

    #[cfg(feature = "cockroach")]
    fn cockroach_runner(
        &self,
        job: &CheckedJob,
        spec: &CockroachJobSpec,
        env: &EnvVars,
    ) -> Result<Arc<dyn JobRunner>, ScheduleError> {
        let text = self.read_tenant_file(&job.name, &spec.tenant)?;
        let tenant =
            thinledger_topology::Tenant::from_yaml(&text).map_err(|e| ScheduleError::Job {
                job: job.name.clone(),
                message: format!("tenant file {}: {e}", self.resolve(&spec.tenant).display()),
            })?;
        Ok(Arc::new(CockroachJob::new(
            &job.name,
            spec.clone(),
            &tenant,
            job.drill.clone(),
            env.clone(),
            self.base_dir(),
        )?))
    }

    #[cfg(not(feature = "cockroach"))]
    fn cockroach_runner(
        &self,
        job: &CheckedJob,
        _spec: &CockroachJobSpec,
        _env: &EnvVars,
    ) -> Result<Arc<dyn JobRunner>, ScheduleError> {
        Err(ScheduleError::Job {
            job: job.name.clone(),
            message: "this build has no CockroachDB support; build with the `cockroach` feature"
                .to_owned(),
        })
    }

    /// A [`Scheduler`] with the real runners, the file's stop timeout and metrics address.
    pub fn scheduler(&self, env: &EnvVars) -> Result<Scheduler, ScheduleError> {
        let options = SchedulerOptions {
            stop_timeout: self.stop_timeout(),
            metrics_listen: self.spec().metrics.listen.clone(),
            jitter_seed: None,
        };
        Ok(Scheduler::new(self.runners(env)?, options))
    }
}
