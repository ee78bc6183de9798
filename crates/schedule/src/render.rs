//! The schedule as Kubernetes objects (`ledger-backup schedule render`): one CronJob per job,
//! the ConfigMap they read the schedule from, and the identity-bound ServiceAccount.
//! Typed `k8s-openapi` objects; YAML only at the edge ([`ScheduleRendering::to_yaml`]).
//!
//! Kubernetes is the distributed scheduler here: each CronJob's pod runs
//! `ledger-backup schedule once /etc/thinledger/schedule/schedule.yaml --job NAME`, one
//! attempt, and the Job controller retries.
//!
//! | schedule file | CronJob |
//! |---|---|
//! | `schedule`, `time_zone` | `spec.schedule`, `spec.timeZone` (same five-field syntax) |
//! | `overlap: skip` | `concurrencyPolicy: Forbid`; `startingDeadlineSeconds` = `kubernetes.starting_deadline` |
//! | `overlap: wait` | `concurrencyPolicy: Forbid`; `startingDeadlineSeconds` = the shortest time between two fire times, so a run that was due while the previous one ran starts when it ends. `Replace` is never used: it would kill a running backup |
//! | `retries.attempts` | `backoffLimit` (Kubernetes' own backoff: 10s doubling up to 6m) |
//! | `timeout` | `activeDeadlineSeconds` = timeout × (attempts + 1) |
//! | `jitter` | not rendered: Kubernetes has no jitter; spread jobs with their minute fields |
//! | `drill.every` | a pod keeps no count between runs, so a CronJob drills on every run |
//!
//! Pods meet the Pod Security *restricted* profile: non-root UID 10201, no privilege
//! escalation, all capabilities dropped, seccomp `RuntimeDefault`, read-only root filesystem
//! with an `emptyDir` at `/scratch` (`TMPDIR`, test restores). The image is pinned by tag.
//! The service-account token is mounted only when the identity needs one (IRSA, Azure and GKE
//! workload identity). Repository passwords come from a Secret mounted as files
//! (`/var/run/secrets/thinledger/password/<job>`), never from environment variables; S3 keys
//! of a `secret-ref` identity come from the Secret the binding names.
//!
//! # In a cluster of another provider
//!
//! `kubernetes.provider` names the provider of the cluster the CronJobs run in. When it is not
//! a repository job's identity's cloud, no webhook injects that identity's token there, so the
//! pod gets the variables and the projected ServiceAccount token from
//! [`thinledger_topology::render::federated::federated_token`] — the same ones CockroachDB's
//! nodes get in such a site — and mounts no API token. `ledger-topology iam` trusts each site's
//! cluster for ServiceAccount [`thinledger_topology::iam::BACKUP_SERVICE_ACCOUNT`] in the
//! tenant's namespace (the default `kubernetes.service_account`). Identities that cannot be
//! federated so are refused (an [`ScheduleError::Invalid`] naming `kubernetes.provider`), and
//! so is IRSA without the bucket's region (STS is called there).

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, SecretKeySelector, ServiceAccount,
    Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use thinledger_store::StoreBuilder;
use thinledger_topology::render::federated::{FederatedToken, federated_token};
use thinledger_topology::render::kit;
use thinledger_topology::{IdentityBinding, Provider, Tenant};

use super::error::ScheduleError;
use super::spec::{
    CockroachJobSpec, JobKind, KubernetesSpec, MinioCredentials, PasswordSource, RepositoryJobSpec,
    Schedule, ScheduleSpec,
};
use super::timing::Overlap;

/// Where the ConfigMap with the schedule is mounted.
pub const CONFIG_DIR: &str = "/etc/thinledger/schedule";
/// Where repository passwords are mounted (one file per job).
pub const PASSWORD_DIR: &str = "/var/run/secrets/thinledger/password";
/// Where the CockroachDB Secret (connection URLs per job, client certificates) is mounted.
pub const COCKROACH_DIR: &str = "/var/run/secrets/thinledger/cockroach";
/// Scratch space (`TMPDIR`, drill restores).
pub const SCRATCH_DIR: &str = "/scratch";

/// One rendered object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ScheduleObject {
    /// The identity-bound ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// The schedule (and tenant files) the pods read.
    ConfigMap(Box<ConfigMap>),
    /// One job.
    CronJob(Box<CronJob>),
}

impl ScheduleObject {
    /// The `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ScheduleObject::ServiceAccount(_) => "ServiceAccount",
            ScheduleObject::ConfigMap(_) => "ConfigMap",
            ScheduleObject::CronJob(_) => "CronJob",
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        let meta = match self {
            ScheduleObject::ServiceAccount(o) => &o.metadata,
            ScheduleObject::ConfigMap(o) => &o.metadata,
            ScheduleObject::CronJob(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }

    /// One YAML document.
    pub fn to_yaml(&self) -> Result<String, ScheduleError> {
        serde_yaml_ng::to_string(self).map_err(|e| ScheduleError::Yaml {
            what: format!("{} {}", self.kind(), self.name()),
            message: e.to_string(),
        })
    }

    /// As JSON (for checks and tests).
    pub fn to_json(&self) -> Result<serde_json::Value, ScheduleError> {
        serde_json::to_value(self).map_err(|e| ScheduleError::Yaml {
            what: format!("{} {}", self.kind(), self.name()),
            message: e.to_string(),
        })
    }
}

/// Everything rendered, in apply order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRendering {
    /// The objects.
    pub objects: Vec<ScheduleObject>,
}

impl ScheduleRendering {
    /// One multi-document YAML stream.
    pub fn to_yaml(&self) -> Result<String, ScheduleError> {
        let mut out = String::new();
        for o in &self.objects {
            out.push_str("---\n");
            out.push_str(&o.to_yaml()?);
        }
        Ok(out)
    }

    /// The CronJob of `job`.
    pub fn cron_job(&self, job: &str) -> Option<&CronJob> {
        self.objects.iter().find_map(|o| match o {
            ScheduleObject::CronJob(c) if c.metadata.name.as_deref() == Some(job) => Some(&**c),
            _ => None,
        })
    }
}

/// The ConfigMap's name.
pub const CONFIG_MAP: &str = "ledger-backup-schedule";

/// The `app.kubernetes.io/*` labels of every object rendered here, plus `extra`.
fn labels(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut l = kit::app_labels("ledger-backup", "backup", "ledger-backup");
    l.extend(kit::labels(extra));
    l
}

fn meta(name: &str, namespace: &str, extra: &[(&str, &str)]) -> ObjectMeta {
    kit::object_meta(name, namespace, labels(extra))
}

/// The schedule as the pods read it: passwords and connection URLs from the mounted Secrets,
/// tenant files from the ConfigMap, test restores under `/scratch`, no metrics endpoint.
fn pod_schedule(spec: &ScheduleSpec, k: &KubernetesSpec) -> ScheduleSpec {
    let mut s = spec.clone();
    s.kubernetes = None;
    s.metrics.listen = None;
    for job in &mut s.jobs {
        if let Some(r) = &mut job.repository {
            let key = k.password_key.clone().unwrap_or_else(|| job.name.clone());
            r.password = PasswordSource::File(PathBuf::from(format!("{PASSWORD_DIR}/{key}")));
        }
        if let Some(c) = &mut job.cockroach {
            c.connection =
                PasswordSource::File(PathBuf::from(format!("{COCKROACH_DIR}/{}", job.name)));
            c.tenant = PathBuf::from(format!("{CONFIG_DIR}/tenant-{}.yaml", job.name));
        }
        if let Some(d) = &mut job.drill
            && d.restore
        {
            d.scratch_dir = Some(PathBuf::from(SCRATCH_DIR));
        }
    }
    s
}

/// Renders the schedule. `tenant_files` maps each CockroachDB job to its tenant file's text
/// (see [`Schedule::read_tenant_files`]); they are shipped in the ConfigMap.
pub fn render(
    schedule: &Schedule,
    tenant_files: &BTreeMap<String, String>,
) -> Result<ScheduleRendering, ScheduleError> {
    let Some(k) = &schedule.spec().kubernetes else {
        return Err(ScheduleError::invalid(
            "kubernetes",
            "",
            "rendering CronJobs needs the `kubernetes:` section (namespace, image, secrets)",
            "add kubernetes: {namespace: NS, image: REPO:TAG, password_secret: NAME}",
        ));
    };
    let ns = k.namespace.as_str();
    let mut objects = Vec::new();

    let identity = k.identity.as_ref();
    let mut sa_annotations = identity
        .map(IdentityBinding::service_account_annotations)
        .unwrap_or_default();
    sa_annotations.insert(
        "thinledger.io/purpose".to_owned(),
        "scheduled backups (ledger-backup schedule): writes to object storage with this identity"
            .to_owned(),
    );
    let mut sa_meta = meta(&k.service_account, ns, &[]);
    sa_meta.annotations = Some(sa_annotations);
    objects.push(ScheduleObject::ServiceAccount(Box::new(ServiceAccount {
        metadata: sa_meta,
        automount_service_account_token: Some(false),
        ..Default::default()
    })));

    let pod_spec = pod_schedule(schedule.spec(), k);
    let text = serde_yaml_ng::to_string(&pod_spec).map_err(|e| ScheduleError::Yaml {
        what: "the pods' schedule file".to_owned(),
        message: e.to_string(),
    })?;
    let mut data = BTreeMap::new();
    data.insert("schedule.yaml".to_owned(), text);
    for job in schedule.jobs() {
        if let JobKind::Cockroach(_) = job.kind {
            let tenant = tenant_files.get(&job.name).ok_or_else(|| {
                ScheduleError::invalid(
                    &format!("jobs.{}.cockroach.tenant", job.name),
                    "",
                    "the tenant file's text is needed to ship it to the pods",
                    "pass it (Schedule::read_tenant_files)",
                )
            })?;
            data.insert(format!("tenant-{}.yaml", job.name), tenant.clone());
        }
    }
    objects.push(ScheduleObject::ConfigMap(Box::new(ConfigMap {
        metadata: meta(CONFIG_MAP, ns, &[]),
        data: Some(data),
        immutable: None,
        ..Default::default()
    })));

    for job in schedule.jobs() {
        let minio_keys = match &job.kind {
            JobKind::Cockroach(c) => minio_keys(job, c, tenant_files)?,
            JobKind::Repository(_) => None,
        };
        objects.push(ScheduleObject::CronJob(Box::new(cron_job(
            schedule,
            k,
            job,
            minio_keys.as_ref(),
        )?)));
    }
    Ok(ScheduleRendering { objects })
}

/// The `secret-ref` binding whose keys an on-prem CockroachDB job passes in its backup URIs
/// (none for cloud tenants, or when the CockroachDB pods hold the keys).
fn minio_keys(
    job: &super::spec::CheckedJob,
    spec: &CockroachJobSpec,
    tenant_files: &BTreeMap<String, String>,
) -> Result<Option<IdentityBinding>, ScheduleError> {
    if spec.minio_credentials == Some(MinioCredentials::Implicit) {
        return Ok(None);
    }
    let Some(text) = tenant_files.get(&job.name) else {
        return Ok(None);
    };
    let tenant = Tenant::from_yaml(text).map_err(|e| ScheduleError::Job {
        job: job.name.clone(),
        message: format!("tenant file {}: {e}", spec.tenant.display()),
    })?;
    if tenant.provider() != Provider::OnPrem {
        return Ok(None);
    }
    Ok(tenant
        .spec()
        .backup
        .identity
        .clone()
        .filter(|b| matches!(b, IdentityBinding::SecretRef { .. })))
}

/// Environment variables read from a `secret-ref` binding's Secret, one per key.
fn secret_key_env(binding: &IdentityBinding) -> Vec<EnvVar> {
    let IdentityBinding::SecretRef {
        secret_name,
        access_key_key,
        secret_key_key,
    } = binding
    else {
        return Vec::new();
    };
    [access_key_key, secret_key_key]
        .into_iter()
        .map(|key| EnvVar {
            name: key.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret_name.clone(),
                    key: key.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

fn cron_job(
    schedule: &Schedule,
    k: &KubernetesSpec,
    job: &super::spec::CheckedJob,
    minio_keys: Option<&IdentityBinding>,
) -> Result<CronJob, ScheduleError> {
    let timing = &job.timing;
    let starting_deadline = match timing.overlap {
        Overlap::Skip => k.starting_deadline.0.as_secs(),
        Overlap::Wait => timing
            .cron
            .min_interval(chrono::Utc::now(), 500)
            .and_then(|d| u64::try_from(d.num_seconds()).ok())
            .unwrap_or(k.starting_deadline.0.as_secs())
            .max(k.starting_deadline.0.as_secs()),
    };
    let attempts = timing.retry.retries;
    let active_deadline = timing
        .attempt_timeout
        .map(|t| t.as_secs().saturating_mul(u64::from(attempts) + 1));

    let mut volumes = vec![
        Volume {
            name: "schedule".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: CONFIG_MAP.to_owned(),
                default_mode: Some(0o444),
                ..Default::default()
            }),
            ..Default::default()
        },
        kit::empty_dir("scratch", false, &k.scratch_size),
    ];
    let mut mounts = vec![
        kit::mount("schedule", CONFIG_DIR, true),
        kit::mount("scratch", SCRATCH_DIR, false),
    ];
    let mut envs = vec![
        kit::env("TMPDIR", SCRATCH_DIR),
        kit::env("HOME", SCRATCH_DIR),
    ];
    let mut uses_identity = false;
    match &job.kind {
        JobKind::Repository(r) => {
            if let Some(secret) = &k.password_secret {
                volumes.push(kit::secret_volume("password", secret));
                mounts.push(kit::mount("password", PASSWORD_DIR, true));
            }
            for (i, v) in k.volumes.iter().enumerate() {
                if r.paths.iter().any(|p| p.starts_with(&v.mount_path)) {
                    let name = format!("data-{i}");
                    volumes.push(Volume {
                        name: name.clone(),
                        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                            claim_name: v.claim.clone(),
                            read_only: Some(true),
                        }),
                        ..Default::default()
                    });
                    mounts.push(kit::mount(&name, &v.mount_path.to_string_lossy(), true));
                }
            }
            // The repository's own identity wins; the ServiceAccount's otherwise.
            let binding = r.identity.as_ref().or(k.identity.as_ref());
            uses_identity = binding.is_some();
            if let Some(binding) = binding {
                envs.extend(secret_key_env(binding));
            }
        }
        JobKind::Cockroach(_) => {
            if let Some(binding) = minio_keys {
                envs.extend(secret_key_env(binding));
            }
            if let Some(secret) = &k.cockroach_secret {
                volumes.push(kit::secret_volume("cockroach", secret));
                mounts.push(kit::mount("cockroach", COCKROACH_DIR, true));
            }
        }
    }
    let binding = match &job.kind {
        JobKind::Repository(r) => r.identity.as_ref().or(k.identity.as_ref()),
        JobKind::Cockroach(_) => None,
    };
    // In a cluster of another cloud than the identity's, no webhook injects its token: the
    // pod gets it here, and needs no API token besides (the projected volume is its own).
    let federated = match (&job.kind, binding) {
        (JobKind::Repository(r), Some(b)) => federated(k, job, r, b)?,
        _ => None,
    };
    let needs_token = federated.is_none()
        && uses_identity
        && binding.is_some_and(IdentityBinding::needs_service_account_token);
    let mut pod_labels = labels(&[("thinledger.io/schedule-job", &job.name)]);
    if let Some(b) = binding {
        pod_labels.extend(b.pod_labels());
    }
    let mut container = Container {
        name: "ledger-backup".to_owned(),
        image: Some(k.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        args: Some(vec![
            "schedule".to_owned(),
            "once".to_owned(),
            format!("{CONFIG_DIR}/schedule.yaml"),
            "--job".to_owned(),
            job.name.clone(),
        ]),
        env: Some(envs),
        volume_mounts: Some(mounts),
        resources: Some(kit::guaranteed_quantities(
            k.resources.cpu.as_str(),
            k.resources.memory.as_str(),
        )),
        security_context: Some(kit::container_security(kit::JOB_UID)),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ..Default::default()
    };
    let mut annotations = BTreeMap::new();
    if let (Some(token), Some(b), Some(site)) = (federated, binding, k.provider) {
        annotations.insert(
            "thinledger.io/backup-identity".to_owned(),
            format!(
                "writes to object storage on {} as {} {} with a projected token of this {site} cluster (no webhook injects it here); ledger-topology iam trusts each site's cluster for ServiceAccount {} in the tenant's namespace",
                b.provider(),
                b.kind(),
                identity_ref(b),
                thinledger_topology::iam::BACKUP_SERVICE_ACCOUNT,
            ),
        );
        token.apply(&mut container, &mut volumes);
    }
    let pod = PodSpec {
        service_account_name: Some(k.service_account.clone()),
        automount_service_account_token: Some(needs_token),
        restart_policy: Some("Never".to_owned()),
        // The daemon's stop timeout, plus a little for the process to exit.
        termination_grace_period_seconds: Some(
            i64::try_from(schedule.stop_timeout().as_secs()).unwrap_or(300) + 30,
        ),
        security_context: Some(kit::pod_security(kit::JOB_UID)),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    };
    annotations.insert(
        "thinledger.io/overlap".to_owned(),
        match timing.overlap {
            Overlap::Skip => "skip: Forbid; a run that cannot start within startingDeadlineSeconds is dropped",
            Overlap::Wait => "wait: Forbid; startingDeadlineSeconds spans one interval, so a run due while the previous one runs starts when it ends",
        }
        .to_owned(),
    );
    if !timing.jitter.is_zero() {
        annotations.insert(
            "thinledger.io/jitter".to_owned(),
            "not applied: Kubernetes CronJobs have no jitter".to_owned(),
        );
    }
    let mut cj_meta = meta(
        &job.name,
        &k.namespace,
        &[("thinledger.io/schedule-job", &job.name)],
    );
    cj_meta.annotations = Some(annotations);
    Ok(CronJob {
        metadata: cj_meta,
        spec: CronJobSpec {
            schedule: timing.cron.expression().to_owned(),
            time_zone: Some(timing.cron.zone_name().to_owned()),
            concurrency_policy: Some("Forbid".to_owned()),
            starting_deadline_seconds: Some(i64::try_from(starting_deadline).unwrap_or(i64::MAX)),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            suspend: Some(false),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("thinledger.io/schedule-job", &job.name)])),
                    ..Default::default()
                }),
                spec: JobSpec {
                    backoff_limit: Some(i32::try_from(attempts).unwrap_or(i32::MAX)),
                    active_deadline_seconds: active_deadline
                        .map(|d| i64::try_from(d).unwrap_or(i64::MAX)),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(pod_labels),
                            ..Default::default()
                        }),
                        spec: Some(pod),
                    },
                    ..Default::default()
                }
                .into(),
            },
        }
        .into(),
        status: None,
    })
}

/// The variables and projected token of `binding` for job `job`'s pod, when the CronJobs run
/// in a cluster of another provider than the identity's (`kubernetes.provider`): the one
/// implementation CockroachDB's nodes get theirs from ([`federated_token`]). `None` at home
/// and for MinIO keys (read from their Secret anywhere); an identity that cannot be federated
/// so is refused, naming the field and the fix.
fn federated(
    k: &KubernetesSpec,
    job: &super::spec::CheckedJob,
    r: &RepositoryJobSpec,
    binding: &IdentityBinding,
) -> Result<Option<FederatedToken>, ScheduleError> {
    let Some(site) = k.provider else {
        return Ok(None);
    };
    if binding.provider() == site || matches!(binding, IdentityBinding::SecretRef { .. }) {
        return Ok(None);
    }
    let source = if r.identity.is_some() {
        format!("job {}'s repository.identity", job.name)
    } else {
        "kubernetes.identity".to_owned()
    };
    let region = match binding {
        IdentityBinding::Irsa { .. } => bucket_region(r).ok_or_else(|| {
            ScheduleError::invalid(
                &format!("jobs.{}.repository.store.region", job.name),
                "",
                format!(
                    "the CronJobs run on {site} (kubernetes.provider) and sign in as {source} through AWS STS in the bucket's region, which no webhook gives the pod outside EKS"
                ),
                "give the bucket's region: ?region=us-east-1 in the URL or store: {region: us-east-1}",
            )
        })?,
        _ => String::new(),
    };
    if let Some(token) = federated_token(binding, site, &region) {
        return Ok(Some(token));
    }
    let (rule, fix) = match binding {
        IdentityBinding::AzureWorkloadIdentity {
            tenant_id: None, ..
        } => (
            "its pods sign in with the Microsoft Entra tenant id, which AKS's webhook would inject and nothing injects elsewhere",
            "add tenant_id: <GUID> to the identity (`az account show --query tenantId`)",
        ),
        IdentityBinding::AzureManagedIdentity { .. } => (
            "a node-assigned Azure managed identity is reachable from AKS nodes only",
            "use kind: azure-workload-identity with tenant_id, whose federated credentials trust any cluster's OIDC issuer",
        ),
        IdentityBinding::GkeWorkloadIdentity { .. } => (
            "GKE workload identity signs in through the GKE metadata server; a cluster of another provider needs a workload identity federation pool, which the rendering does not configure",
            "run these CronJobs in a GKE cluster (kubernetes.provider: gcp), or write to a bucket whose identity federates (IRSA, Azure workload identity with tenant_id, MinIO keys)",
        ),
        _ => (
            "this identity cannot be federated from another provider's cluster",
            "run these CronJobs on the identity's own provider",
        ),
    };
    Err(ScheduleError::invalid(
        "kubernetes.provider",
        site,
        format!(
            "job {} signs in as {source} ({} {}) from a {site} cluster: {rule}",
            job.name,
            binding.kind(),
            identity_ref(binding),
        ),
        fix,
    ))
}

/// The AWS region of a repository's bucket: `store.region`, else the URL's `?region=`.
fn bucket_region(r: &RepositoryJobSpec) -> Option<String> {
    let mut builder = StoreBuilder::new(&r.url);
    if let Some(region) = &r.store.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &r.store.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    builder.settings().ok()?.options.region
}

/// The principal a binding names, for messages and annotations (references only).
fn identity_ref(b: &IdentityBinding) -> String {
    match b {
        IdentityBinding::Irsa { role_arn } => role_arn.clone(),
        IdentityBinding::AzureWorkloadIdentity { client_id, .. }
        | IdentityBinding::AzureManagedIdentity { client_id } => client_id.clone(),
        IdentityBinding::GkeWorkloadIdentity { service_account } => service_account.clone(),
        IdentityBinding::SecretRef { secret_name, .. } => secret_name.clone(),
        _ => b.kind().to_owned(),
    }
}

impl Schedule {
    /// Reads the tenant file of every CockroachDB job (for [`render`]), keyed by job name.
    pub fn read_tenant_files(&self) -> Result<BTreeMap<String, String>, ScheduleError> {
        let mut out = BTreeMap::new();
        for job in self.jobs() {
            if let JobKind::Cockroach(c) = &job.kind {
                let text = self.read_tenant_file(&job.name, &c.tenant)?;
                out.insert(job.name.clone(), text);
            }
        }
        Ok(out)
    }
}
