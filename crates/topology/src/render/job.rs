//! The one-shot Jobs (CockroachDB's cluster init, Redpanda's topics): a bash script in the
//! component's image, run once under the restricted profile by the jobs' ServiceAccount, with
//! the labels the network policies admit to the databases.
//!
//! A Job's pod template is immutable, so re-applying a Job of a fixed name after any change
//! (a version bump changes its image) fails in `kubectl apply`, Argo CD and Flux. Each Job is
//! therefore named by what it does and a hash of its inputs (`cockroachdb-init-<hash>`): an
//! unchanged tenant renders the same name (re-applying is a no-op), a changed one a new Job,
//! which runs the idempotent script again. `ttlSecondsAfterFinished` removes finished Jobs, and
//! with them the old names; a GitOps tool that re-creates one reruns a script that is safe to
//! rerun.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::common::{Context, JOB_LABEL, JOBS_SA, purpose, short_hash};
use super::kit::{JOB_UID, container_security, env, labels, pod_security, small_resources};
use super::manifest::Manifest;

/// Job pods' labels (admitted to the databases by the network policy).
pub fn job_labels(ctx: &Context<'_>, name: &str) -> BTreeMap<String, String> {
    let mut l = ctx.common_labels();
    l.extend(labels(&[
        ("app.kubernetes.io/name", name),
        ("app.kubernetes.io/component", "ledger-job"),
        (JOB_LABEL, "true"),
    ]));
    l
}

/// A one-shot Job pod spec with the restricted settings.
pub fn job_pod(ctx: &Context<'_>, container: Container, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        service_account_name: Some(JOBS_SA.to_owned()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        restart_policy: Some("OnFailure".to_owned()),
        security_context: Some(pod_security(JOB_UID)),
        image_pull_secrets: ctx.pull_secrets(),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    }
}

/// How long a finished Job (and its pod's log) stays before Kubernetes deletes it.
pub const JOB_TTL_SECONDS: i32 = 86_400;

/// The label on a rendered Job naming what it does (its name without the hash).
pub const JOB_PURPOSE_LABEL: &str = "app.kubernetes.io/name";

/// A Job that runs `script` once (retried up to 10 times) in `image`.
pub struct ScriptJob<'a> {
    /// What the Job does (`cockroachdb-init`): its name before the inputs' hash.
    pub name: &'a str,
    /// Its container's name.
    pub container: &'a str,
    /// The image (the component's own, for its CLI).
    pub image: String,
    /// The bash script; it must be safe to re-run.
    pub script: String,
    /// The container's mounts, `/tmp` included (the root filesystem is read-only).
    pub mounts: Vec<VolumeMount>,
    /// The pod's volumes.
    pub volumes: Vec<Volume>,
    /// The purpose annotation: what the Job does and why re-running it is safe.
    pub purpose: &'a str,
}

impl ScriptJob<'_> {
    /// The Job, labelled and annotated like every rendered object.
    pub fn manifest(self, ctx: &Context<'_>) -> Manifest {
        self.manifest_with_env(ctx, Vec::new())
    }

    /// The Job, with `extra` variables (e.g. from Secrets) after `HOME`.
    pub fn manifest_with_env(self, ctx: &Context<'_>, extra: Vec<EnvVar>) -> Manifest {
        let container = Container {
            name: self.container.to_owned(),
            image: Some(self.image),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            command: Some(vec!["/bin/bash".to_owned(), "-c".to_owned(), self.script]),
            env: Some(std::iter::once(env("HOME", "/tmp")).chain(extra).collect()),
            resources: Some(small_resources()),
            security_context: Some(container_security(JOB_UID)),
            volume_mounts: Some(self.mounts),
            ..Default::default()
        };
        named_job(
            ctx,
            self.name,
            Vec::new(),
            container,
            self.volumes,
            self.purpose,
        )
    }
}

/// A Job running `container` (after `init_containers`) with the restricted pod settings,
/// named `NAME-<hash of its spec>`, with the TTL, labels and purpose every rendered Job has.
pub fn named_job(
    ctx: &Context<'_>,
    name: &str,
    init_containers: Vec<Container>,
    container: Container,
    volumes: Vec<Volume>,
    purpose_text: &str,
) -> Manifest {
    let mut pod = job_pod(ctx, container, volumes);
    if !init_containers.is_empty() {
        pod.init_containers = Some(init_containers);
    }
    let spec = JobSpec {
        backoff_limit: Some(10),
        ttl_seconds_after_finished: Some(JOB_TTL_SECONDS),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(job_labels(ctx, name)),
                ..Default::default()
            }),
            spec: Some(pod),
        },
        ..Default::default()
    };
    let full = format!("{name}-{}", inputs_hash(&spec));
    let mut meta = ctx.meta(
        &full,
        &labels(&[
            (JOB_PURPOSE_LABEL, name),
            ("app.kubernetes.io/component", "ledger-job"),
        ]),
    );
    meta.annotations = Some(purpose(purpose_text));
    Manifest::Job(Box::new(Job {
        metadata: meta,
        spec: spec.into(),
        ..Default::default()
    }))
}

/// The hash of the Job's spec as JSON: every input (image, script, volumes, labels) is in it,
/// and the JSON of these plain structs (sorted maps) is the same on every run and platform.
fn inputs_hash(spec: &JobSpec) -> String {
    // Serialising plain data cannot fail; an empty string would still give a stable name.
    short_hash(serde_json::to_string(spec).unwrap_or_default().as_bytes())
}
