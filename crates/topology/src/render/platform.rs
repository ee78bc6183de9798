//! Namespace, ServiceAccounts (with the provider's identity binding), the node-reader RBAC and
//! the StorageClass.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CockroachMode;
use super::common::{BACKUP_SA, CRDB_NAME, Context, DOC_PREFIX, JOBS_SA, RP_NAME, purpose};
use super::kit::labels;
use super::manifest::Manifest;
use crate::identity::IdentityBinding;
use crate::storage::StorageProfile;

pub fn namespace(ctx: &Context<'_>) -> Manifest {
    let mut l = ctx.common_labels();
    let mut annotations = BTreeMap::new();
    // Restricted is enforced unless a component cannot meet it; then baseline/privileged is
    // enforced and restricted still warns and audits, with the reason on the namespace.
    let enforce = if ctx.tenant.spec().redpanda.tuning && ctx.renders_redpanda() {
        annotations.insert(
            format!("{DOC_PREFIX}pod-security-exception"),
            "redpanda.tuning is on: the rpk tuner init container writes kernel settings and needs a privileged container, which only the privileged level admits".to_owned(),
        );
        "privileged"
    } else if ctx.mode == CockroachMode::Operator {
        annotations.insert(
            format!("{DOC_PREFIX}pod-security-exception"),
            "operator mode: the CockroachDB operator builds the pods itself (its certificate init container runs as root and it sets no seccomp profile or dropped capabilities), so baseline is enforced".to_owned(),
        );
        "baseline"
    } else {
        "restricted"
    };
    for (k, v) in [
        ("pod-security.kubernetes.io/enforce", enforce),
        ("pod-security.kubernetes.io/enforce-version", "latest"),
        ("pod-security.kubernetes.io/audit", "restricted"),
        ("pod-security.kubernetes.io/audit-version", "latest"),
        ("pod-security.kubernetes.io/warn", "restricted"),
        ("pod-security.kubernetes.io/warn-version", "latest"),
    ] {
        l.insert(k.to_owned(), v.to_owned());
    }
    Manifest::Namespace(Box::new(Namespace {
        metadata: ObjectMeta {
            name: Some(ctx.namespace.clone()),
            labels: Some(l),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        },
        ..Default::default()
    }))
}

/// The ServiceAccount CockroachDB pods run as in this mode (the operator names its own).
pub fn cockroach_service_account(mode: CockroachMode) -> String {
    match mode {
        CockroachMode::StatefulSet => CRDB_NAME.to_owned(),
        CockroachMode::Operator => format!("{CRDB_NAME}-sa"),
    }
}

fn identity(binding: &IdentityBinding) -> BTreeMap<String, String> {
    let mut a = binding.service_account_annotations();
    if let IdentityBinding::SecretRef {
        secret_name,
        access_key_key,
        secret_key_key,
    } = binding
    {
        // A reference, never a value: the keys stay in the Secret.
        a.insert(
            format!("{DOC_PREFIX}backup-credentials-secret"),
            secret_name.clone(),
        );
        a.insert(
            format!("{DOC_PREFIX}backup-credentials-keys"),
            format!("{access_key_key},{secret_key_key}"),
        );
    }
    a
}

pub fn service_accounts(ctx: &Context<'_>) -> Vec<Manifest> {
    let backup_identity = ctx
        .tenant
        .spec()
        .backup
        .identity
        .as_ref()
        .map(identity)
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut account =
        |name: &str, component: &str, identity: &BTreeMap<String, String>, why: &str| {
            let mut meta = ctx.meta(name, &labels(&[("app.kubernetes.io/component", component)]));
            let mut annotations = identity.clone();
            annotations.extend(purpose(why));
            meta.annotations = Some(annotations);
            out.push(Manifest::ServiceAccount(Box::new(ServiceAccount {
                metadata: meta,
                automount_service_account_token: Some(false),
                ..Default::default()
            })));
        };
    account(
        &cockroach_service_account(ctx.mode),
        "database",
        &backup_identity,
        "CockroachDB nodes: native BACKUP runs on every node and writes to object storage with this identity",
    );
    if ctx.renders_redpanda() {
        // Redpanda's own identity, never the backups': the brokers cannot touch backups.
        let tiered = super::redpanda::tiered::service_account_annotations(ctx);
        let why = if ctx.tenant.tiered_storage().is_some() {
            "Redpanda brokers: tiered storage writes closed segments to Redpanda's own bucket with Redpanda's own identity (never the backup identity); reads its node's zone for rack awareness"
        } else {
            "Redpanda brokers: no cloud identity (tiered storage off); reads its node's zone for rack awareness"
        };
        account(RP_NAME, "broker", &tiered, why);
    }
    account(
        BACKUP_SA,
        "backup",
        &backup_identity,
        "backup jobs (ledger-backup) write to object storage with this identity",
    );
    account(
        JOBS_SA,
        "ledger-job",
        &BTreeMap::new(),
        "one-shot Jobs (cluster init, topics): no identity, no token",
    );
    out
}

/// A ClusterRole that may only read Nodes, bound to the pods that look up their zone.
pub fn node_reader_rbac(ctx: &Context<'_>) -> Vec<Manifest> {
    if !ctx.reads_node_zone() {
        return Vec::new();
    }
    let spec = ctx.tenant.spec();
    let name = format!("ledger-{}-{}-node-reader", spec.tenant, spec.environment);
    let meta = || {
        let mut m = ctx.meta(&name, &BTreeMap::new());
        m.namespace = None;
        m
    };
    let mut subjects = vec![Subject {
        kind: "ServiceAccount".to_owned(),
        name: cockroach_service_account(ctx.mode),
        namespace: Some(ctx.namespace.clone()),
        ..Default::default()
    }];
    if ctx.renders_redpanda() {
        subjects.push(Subject {
            kind: "ServiceAccount".to_owned(),
            name: RP_NAME.to_owned(),
            namespace: Some(ctx.namespace.clone()),
            ..Default::default()
        });
    }
    let mut role_meta = meta();
    role_meta.annotations = Some(purpose(
        "pods read their own Node's topology.kubernetes.io/zone label for --locality and redpanda.rack",
    ));
    vec![
        Manifest::ClusterRole(Box::new(ClusterRole {
            metadata: role_meta,
            rules: Some(vec![PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["nodes".to_owned()]),
                verbs: vec!["get".to_owned()],
                ..Default::default()
            }]),
            ..Default::default()
        })),
        Manifest::ClusterRoleBinding(Box::new(ClusterRoleBinding {
            metadata: meta(),
            role_ref: RoleRef {
                api_group: rbac_api_group(),
                kind: "ClusterRole".to_owned(),
                name: name.clone(),
            },
            subjects: Some(subjects),
        })),
    ]
}

/// The tenant's StorageClass, where the platform owns it.
pub fn storage_class(ctx: &Context<'_>) -> Option<Manifest> {
    if !ctx.tenant.renders_storage_class() {
        return None;
    }
    let profile: &StorageProfile = ctx.tenant.storage();
    let mut parameters: BTreeMap<String, String> = profile
        .parameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parameters.extend(ctx.plan.volume_parameters.clone());
    let mut meta = ctx.meta(profile.class_name, &BTreeMap::new());
    meta.namespace = None;
    meta.annotations = Some(purpose(
        "ledger data: volumes are retained when their claim is deleted and created in the zone of the pod that first uses them",
    ));
    Some(Manifest::StorageClass(Box::new(StorageClass {
        metadata: meta,
        provisioner: profile.provisioner.to_owned(),
        parameters: (!parameters.is_empty()).then_some(parameters),
        reclaim_policy: Some(StorageProfile::RECLAIM_POLICY.to_owned()),
        volume_binding_mode: Some(StorageProfile::VOLUME_BINDING_MODE.to_owned()),
        allow_volume_expansion: Some(true),
        ..Default::default()
    })))
}

/// `RoleRef.apiGroup` is a `String` up to Kubernetes 1.36 and an `Option` from 1.37: this
/// builds either, so the application may pick any version k8s-openapi supports.
fn rbac_api_group<T: From<String>>() -> T {
    T::from("rbac.authorization.k8s.io".to_owned())
}
