//! The Kubernetes rendering kit: the small builders every thinledger renderer shares, so all
//! rendered objects are labelled, sized and hardened alike.
//!
//! Topology's renderers and the backup scheduler's CronJobs use them; another tool that
//! renders pods for the ledger should too. Everything here is plain `k8s-openapi` values.
//!
//! - **Labels and metadata**: [`labels`], [`app_labels`] (the `app.kubernetes.io/*` set with
//!   `part-of: thinledger`), [`object_meta`], [`selector`].
//! - **Quantities and resources**: [`quantity`], [`guaranteed`] / [`guaranteed_quantities`]
//!   (requests equal limits: Guaranteed QoS), [`small_resources`], [`volume_claim`] (a data
//!   volume's claim spec), [`http_probe`].
//! - **Security**: [`pod_security`] and [`container_security`], the Pod Security Standards
//!   *restricted* profile with a read-only root filesystem; the UIDs pods run as
//!   ([`COCKROACH_UID`], [`REDPANDA_UID`], [`JOB_UID`]).
//! - **Volumes and environment**: [`empty_dir`], [`secret_volume`], [`mount`], [`env()`],
//!   [`field_env`].
//!
//! ```
//! use thinledger_topology::render::kit;
//!
//! let meta = kit::object_meta(
//!     "nightly",
//!     "ledger-acme-prod",
//!     kit::app_labels("ledger-backup", "backup", "ledger-backup"),
//! );
//! assert_eq!(meta.labels.as_ref().unwrap()["app.kubernetes.io/part-of"], "thinledger");
//! let resources = kit::guaranteed_quantities("500m", "512Mi");
//! assert_eq!(resources.requests, resources.limits);
//! let security = kit::container_security(kit::JOB_UID);
//! assert_eq!(security.read_only_root_filesystem, Some(true));
//! ```

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector,
    PersistentVolumeClaimSpec, PodSecurityContext, Probe, ResourceRequirements, SeccompProfile,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::quantity::{ByteSize, Cpu};

/// UID/GID CockroachDB runs as (above 10000, so it maps to no host account).
pub const COCKROACH_UID: i64 = 10_001;
/// UID/GID Redpanda runs as.
pub const REDPANDA_UID: i64 = 10_101;
/// UID/GID short-lived pods run as: the rendered Jobs and the backup scheduler's CronJobs.
pub const JOB_UID: i64 = 10_201;

/// The `app.kubernetes.io/part-of` value of every thinledger object.
pub const PART_OF: &str = "thinledger";

/// A label map from `(key, value)` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The recommended `app.kubernetes.io/*` labels of a thinledger component: `name`,
/// `component`, `part-of: thinledger` and `managed-by` (the tool that rendered it).
pub fn app_labels(name: &str, component: &str, managed_by: &str) -> BTreeMap<String, String> {
    labels(&[
        ("app.kubernetes.io/name", name),
        ("app.kubernetes.io/component", component),
        ("app.kubernetes.io/part-of", PART_OF),
        ("app.kubernetes.io/managed-by", managed_by),
    ])
}

/// Metadata of a namespaced object.
pub fn object_meta(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// A selector matching exactly `labels`.
pub fn selector(labels: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// A quantity as written (`500m`, `8Gi`); see [`Cpu::to_quantity`] and
/// [`ByteSize::to_quantity`] for typed values.
pub fn quantity(text: impl Into<String>) -> Quantity {
    Quantity(text.into())
}

/// Guaranteed QoS from quantities as written: requests equal limits.
pub fn guaranteed_quantities(
    cpu: impl Into<String>,
    memory: impl Into<String>,
) -> ResourceRequirements {
    let list: BTreeMap<String, Quantity> = [
        ("cpu".to_owned(), quantity(cpu)),
        ("memory".to_owned(), quantity(memory)),
    ]
    .into_iter()
    .collect();
    ResourceRequirements {
        requests: Some(list.clone()),
        limits: Some(list),
        ..Default::default()
    }
}

/// Guaranteed QoS: requests equal limits.
pub fn guaranteed(cpu: Cpu, memory: ByteSize) -> ResourceRequirements {
    guaranteed_quantities(cpu.to_quantity(), memory.to_quantity())
}

/// Small Guaranteed resources for init containers and Jobs (100m, 128Mi).
pub fn small_resources() -> ResourceRequirements {
    guaranteed_quantities("100m", "128Mi")
}

/// An HTTP(S) probe of `path` on the container port named `port`, every `period` seconds,
/// failing after `failures` misses (5 s timeout each).
pub fn http_probe(scheme: &str, port: &str, path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(port.to_owned()),
            scheme: Some(scheme.to_owned()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

/// A data volume's claim: `size` of `storage_class`, one node read-write, a filesystem.
pub fn volume_claim(size: ByteSize, storage_class: &str) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
        storage_class_name: Some(storage_class.to_owned()),
        volume_mode: Some("Filesystem".to_owned()),
        resources: Some(VolumeResourceRequirements {
            requests: Some(
                [("storage".to_owned(), quantity(size.to_quantity()))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Pod-level settings of the restricted profile: non-root `uid`/`gid`, `fsGroup` = `uid`,
/// seccomp `RuntimeDefault`.
pub fn pod_security(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        fs_group_change_policy: Some("OnRootMismatch".to_owned()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level settings of the restricted profile with a read-only root filesystem: no
/// privilege escalation, all capabilities dropped, seccomp `RuntimeDefault`.
pub fn container_security(uid: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An `emptyDir` volume of at most `limit` (a quantity), in memory when `memory`.
// Newer Kubernetes versions add fields to EmptyDirVolumeSource: `..Default::default()` keeps
// this building whatever version the application picks.
#[allow(clippy::needless_update)]
pub fn empty_dir(name: &str, memory: bool, limit: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: memory.then(|| "Memory".to_owned()),
            size_limit: Some(quantity(limit)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A volume of Secret `secret`, readable by the pod's group only (owner root, group =
/// `fsGroup`, mode 0440).
pub fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_owned()),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A volume mount, `readOnly` when `read_only`.
pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// An environment variable from the downward API (`metadata.name`, `status.podIP`…).
pub fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An environment variable with a fixed value.
pub fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..Default::default()
    }
}
