//! [`RepositoryJob`]: a scheduled backup into a thinledger (restic-format) repository, with
//! retention and restore drills, on the real engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::job::{BackupReport, DrillReport, JobError, JobRunner, RetentionReport, RunContext};
use super::spec::{DEFAULT_LOCK_WAIT, DrillSpec, RepositoryJobSpec};
use thinledger_repository::{
    BackupOptions, CheckOptions, Error, InitOptions, Password, PruneOptions, ReadData, Repository,
    RestoreOptions, apply_forget, backup_paths, backup_reader, check, plan_forget, prune, restore,
};
use thinledger_store::{EnvVars, StoreBuilder};

/// A repository backup job. Each run opens the repository afresh (reading the password
/// source and the credentials again), so rotated passwords and keys are picked up.
#[derive(Debug)]
pub struct RepositoryJob {
    name: String,
    spec: RepositoryJobSpec,
    drill: Option<DrillSpec>,
    env: EnvVars,
    base_dir: PathBuf,
    init_options: InitOptions,
}

impl RepositoryJob {
    /// A job called `name`. `env` is the environment credentials and `{env: NAME}` password
    /// sources are read from (pass [`EnvVars::from_process`] in the daemon); relative password
    /// files are read from `base_dir`.
    pub fn new(
        name: impl Into<String>,
        spec: RepositoryJobSpec,
        drill: Option<DrillSpec>,
        env: EnvVars,
        base_dir: impl Into<PathBuf>,
    ) -> Self {
        RepositoryJob {
            name: name.into(),
            spec,
            drill,
            env,
            base_dir: base_dir.into(),
            init_options: InitOptions::default(),
        }
    }

    /// Key-derivation settings used when the job creates the repository (`init: true`).
    pub fn with_init_options(mut self, options: InitOptions) -> Self {
        self.init_options = options;
        self
    }

    /// The tag every snapshot of this job carries; retention only ever considers snapshots
    /// with it, so jobs sharing a repository never remove each other's snapshots.
    pub fn tag(&self) -> String {
        format!("schedule={}", self.name)
    }

    async fn password(&self) -> Result<Password, JobError> {
        self.spec
            .password
            .resolve(&self.base_dir)
            .read_async(&self.env)
            .await
            .map_err(|e| JobError::failed("password", e))
    }

    async fn open(&self) -> Result<Arc<Repository>, JobError> {
        let s = &self.spec.store;
        let mut builder = StoreBuilder::new(&self.spec.url)
            .with_env(self.env.clone())
            .with_base_dir("/");
        if let Some(e) = &s.endpoint {
            builder = builder.with_endpoint(e);
        }
        if let Some(r) = &s.region {
            builder = builder.with_region(r);
        }
        if let Some(p) = s.path_style {
            builder = builder.with_path_style(p);
        }
        if let Some(a) = s.allow_http {
            builder = builder.with_allow_http(a);
        }
        if let Some(a) = &s.azure_account {
            builder = builder.with_azure_account(a);
        }
        let encryption = s.encryption("store")?;
        if !encryption.is_empty() {
            builder = builder.with_encryption(encryption);
        }
        if let Some(id) = &self.spec.identity {
            builder = builder.with_identity(id.clone());
        }
        // A repository made with `init --object-lock` records its retention: write with it,
        // and let retention plan around the retained objects.
        let store = builder.build_with_recorded_policy().await?;
        let password = self.password().await?;
        let location = store.display_url().to_owned();
        let lock_wait = self
            .spec
            .lock_wait
            .as_ref()
            .map_or(DEFAULT_LOCK_WAIT, |d| d.0);
        let object_lock = store.object_lock().cloned();
        match Repository::open(store.object_store(), location.clone(), &password).await {
            Ok(repo) => Ok(Arc::new(
                repo.with_lock_wait(lock_wait).with_object_lock(object_lock),
            )),
            Err(Error::NoRepository { .. }) if self.spec.init => {
                tracing::info!(job = %self.name, location = %location, "no repository yet; creating it (init: true)");
                let repo = Repository::init(
                    store.object_store(),
                    location,
                    &password,
                    &self.init_options,
                )
                .await?;
                Ok(Arc::new(
                    repo.with_lock_wait(lock_wait).with_object_lock(object_lock),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn backup_options(&self) -> BackupOptions {
        let mut tags = vec![self.tag()];
        tags.extend(self.spec.tags.iter().cloned());
        BackupOptions::default()
            .with_tags(tags)
            .with_hostname(self.spec.hostname.clone())
    }

    async fn run_backup(&self) -> Result<BackupReport, JobError> {
        let repo = self.open().await?;
        let opts = self.backup_options();
        let summary = match &self.spec.stdin {
            None => backup_paths(&repo, &self.spec.paths, &opts).await?,
            Some(stdin) => {
                let mut child = KillOnDrop(
                    std::process::Command::new("sh")
                        .arg("-c")
                        .arg(&stdin.command)
                        .stdin(std::process::Stdio::null())
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::inherit())
                        .spawn()
                        .map_err(|e| {
                            JobError::failed(
                                "stdin command",
                                format!("cannot start `{}` ({e})", stdin.command),
                            )
                        })?,
                );
                let stdout =
                    child.0.stdout.take().ok_or_else(|| {
                        JobError::failed("stdin command", "no standard output pipe")
                    })?;
                let stdout = tokio::process::ChildStdout::from_std(stdout)
                    .map_err(|e| JobError::failed("stdin command", e))?;
                let summary = backup_reader(&repo, stdout, &stdin.filename, &opts).await?;
                // Dropping the guard after `wait` sends no signal: the child is reaped.
                let status = tokio::task::spawn_blocking(move || child.0.wait())
                    .await
                    .map_err(|e| JobError::failed("stdin command", e))?
                    .map_err(|e| JobError::failed("stdin command", e))?;
                if !status.success() {
                    // The snapshot holds whatever the command printed before it failed: remove
                    // it so that a partial dump is never mistaken for a backup.
                    repo.delete_snapshot(&summary.snapshot_id).await?;
                    return Err(JobError::failed(
                        "stdin command",
                        format!(
                            "`{}` failed ({status}); its partial output was not kept (snapshot {} removed)",
                            stdin.command,
                            summary.snapshot_id.short()
                        ),
                    ));
                }
                summary
            }
        };
        if !summary.errors.is_empty() {
            return Err(JobError::failed(
                "backup",
                format!(
                    "snapshot {} was saved but {} file(s) could not be read: {}",
                    summary.snapshot_id.short(),
                    summary.errors.len(),
                    summary
                        .errors
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ));
        }
        Ok(BackupReport {
            bytes_added: summary.bytes_added,
            bytes_total: summary.bytes_total,
            snapshot: Some(summary.snapshot_id.to_hex()),
        })
    }

    async fn run_retention(&self) -> Result<Option<RetentionReport>, JobError> {
        let Some(ret) = &self.spec.retention else {
            return Ok(None);
        };
        let repo = self.open().await?;
        let tag = self.tag();
        let ours: Vec<_> = repo
            .snapshots()
            .await?
            .into_iter()
            .filter(|s| s.snapshot.tags.contains(&tag))
            .collect();
        let plan = plan_forget(&ours, ret.policy())?;
        let removed = plan.to_remove().count();
        let kept = ours.len() - removed;
        if removed > 0 {
            apply_forget(&repo, &plan).await?;
        }
        let mut packs_pruned = 0;
        if ret.prune && removed > 0 {
            let p = prune(&repo, &PruneOptions::default()).await?;
            packs_pruned = p.packs_to_delete.len() + p.packs_to_repack.len();
        }
        tracing::info!(job = %self.name, kept, removed, packs_pruned, "retention applied");
        Ok(Some(RetentionReport {
            kept,
            removed,
            packs_pruned,
        }))
    }

    async fn run_drill(&self, backup: &BackupReport) -> Result<Option<DrillReport>, JobError> {
        let Some(drill) = &self.drill else {
            return Ok(None);
        };
        let repo = self.open().await?;
        let mut what = Vec::new();
        let mut report = DrillReport::default();
        if let Some(p) = drill.read_data_percent {
            let r = check(
                &repo,
                &CheckOptions::default().with_read_data(ReadData::Percent(p)),
            )
            .await?;
            if !r.is_ok() {
                return Err(JobError::failed(
                    "drill check",
                    format!(
                        "{} problem(s), first: {}",
                        r.errors.len(),
                        r.errors.first().cloned().unwrap_or_default()
                    ),
                ));
            }
            what.push(format!(
                "check read {} of {} packs ({p}%)",
                r.packs_read, r.packs
            ));
        }
        if drill.restore {
            let Some(snapshot) = &backup.snapshot else {
                return Err(JobError::failed(
                    "drill restore",
                    "the backup named no snapshot",
                ));
            };
            let scratch = drill.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let target = scratch.join(format!("thinledger-drill-{}-{nanos}", self.name));
            let _cleanup = RemoveOnDrop(target.clone());
            let started = std::time::Instant::now();
            let summary = restore(&repo, snapshot, "", &target, &RestoreOptions::default()).await?;
            let secs = started.elapsed().as_secs_f64();
            // A drill passes only when every entry came back: a damaged file is a failed drill
            // even if the byte count happened to match.
            if !summary.is_complete() {
                let first = summary
                    .damaged
                    .first()
                    .map(|d| format!("{}: {}", d.path.display(), d.reason))
                    .or_else(|| {
                        summary
                            .errors
                            .first()
                            .map(|e| format!("{}: {}", e.path.display(), e.reason))
                    })
                    .unwrap_or_default();
                return Err(JobError::failed(
                    "drill restore",
                    format!(
                        "snapshot {}: {} damaged files, {} entries not restored (first: {first})",
                        &snapshot[..8.min(snapshot.len())],
                        summary.damaged.len(),
                        summary.errors.len()
                    ),
                ));
            }
            if summary.bytes != backup.bytes_total {
                return Err(JobError::failed(
                    "drill restore",
                    format!(
                        "snapshot {} restored {} bytes but the backup covered {}",
                        &snapshot[..8.min(snapshot.len())],
                        summary.bytes,
                        backup.bytes_total
                    ),
                ));
            }
            report.restore_seconds = Some(secs);
            report.bytes = summary.bytes;
            what.push(format!(
                "restored snapshot {} ({} files, {} bytes) in {secs:.3}s",
                &snapshot[..8.min(snapshot.len())],
                summary.files,
                summary.bytes
            ));
        }
        report.what = what.join("; ");
        Ok(Some(report))
    }
}

/// Kills a child process that is dropped before it was waited for (a cancelled run).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes a drill's scratch folder however the drill ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if Path::new(&self.0).exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl JobRunner for RepositoryJob {
    fn kind(&self) -> &'static str {
        "repository"
    }

    fn backup<'a>(&'a self, _ctx: &'a RunContext) -> BoxFuture<'a, Result<BackupReport, JobError>> {
        Box::pin(self.run_backup())
    }

    fn retention<'a>(
        &'a self,
        _ctx: &'a RunContext,
    ) -> BoxFuture<'a, Result<Option<RetentionReport>, JobError>> {
        Box::pin(self.run_retention())
    }

    fn drill<'a>(
        &'a self,
        _ctx: &'a RunContext,
        backup: &'a BackupReport,
    ) -> BoxFuture<'a, Result<Option<DrillReport>, JobError>> {
        Box::pin(self.run_drill(backup))
    }
}
