//! Workload identity federated across providers: what a pod in a site of one provider needs to
//! sign in as an identity of another provider's cloud.
//!
//! At home, the identity's own webhook injects it (EKS's pod identity webhook for IRSA, AKS's
//! workload identity webhook for Azure workload identity): the variables the cloud SDK reads and
//! a projected ServiceAccount token for the cloud's token exchange. No webhook injects them in a
//! cluster of another provider, so the rendering does, for:
//!
//! - **Redpanda's brokers** (tiered storage, one identity for the whole cluster:
//!   its `redpanda.tiered_storage.identity`);
//! - **CockroachDB's nodes** in a site on another provider than the backup bucket: a native
//!   `BACKUP INTO 's3://…?AUTH=implicit'` runs on every node (each writes its own ranges), so
//!   every node signs in as the tenant's `backup.identity`
//!   ([`crate::Tenant::bucket_identity`]);
//! - **scheduled backups**: `thinledger-schedule`'s CronJobs whose schedule runs them in a
//!   cluster of another provider (`kubernetes.provider`) than a repository's identity.
//!
//! | identity | variables | token |
//! |---|---|---|
//! | IRSA | `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_REGION`, `AWS_STS_REGIONAL_ENDPOINTS` | audience `sts.amazonaws.com`, at EKS's path |
//! | Azure workload identity (with `tenant_id`) | `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST` | audience `api://AzureADTokenExchange`, at AKS's path |
//!
//! The identity must trust the site's cluster as an OIDC issuer for the pod's ServiceAccount:
//! `ledger-topology iam` renders that trust from `backup.iam.oidc_issuers`
//! ([`crate::iam::plan`]). Node-bound identities (Azure managed identity, GKE workload
//! identity) and MinIO keys do not federate so: [`federated_token`] gives `None` for them.

use k8s_openapi::api::core::v1::{
    Container, EnvVar, ProjectedVolumeSource, ServiceAccountTokenProjection, Volume, VolumeMount,
    VolumeProjection,
};

use super::common::Context;
use crate::identity::IdentityBinding;
use crate::provider::Provider;

/// Where EKS's webhook mounts the web-identity token (the AWS SDKs read the variable, not the
/// path; the same path keeps a pod's layout alike on every cloud).
pub const AWS_TOKEN_DIR: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
/// Where AKS's webhook mounts the federated token.
pub const AZURE_TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
/// The audience AWS STS expects of a web-identity token.
pub const AWS_AUDIENCE: &str = "sts.amazonaws.com";
/// The audience Microsoft Entra's token exchange expects.
pub const AZURE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Lifetime of the projected token; the kubelet renews it at 80% of that.
const TOKEN_SECONDS: i64 = 86_400;

/// The projected token of a workload identity federated from outside its own cloud, and what
/// the container then reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedToken {
    /// The projected ServiceAccount-token volume.
    pub volume: Volume,
    /// Its mount in the container that signs in.
    pub mount: VolumeMount,
    /// The variables the cloud SDK reads.
    pub env: Vec<EnvVar>,
}

impl FederatedToken {
    /// Adds the variables and the mount to `container`, and the volume to the pod's `volumes`.
    pub fn apply(self, container: &mut Container, volumes: &mut Vec<Volume>) {
        container.env.get_or_insert_with(Vec::new).extend(self.env);
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(self.mount);
        volumes.push(self.volume);
    }
}

/// What a pod in a site of provider `site` needs to sign in as `identity`, the variables and
/// the projected token that the identity's own webhook would inject on its home cloud.
/// `aws_region` is the region of the AWS bucket (STS is called there). `None` on the identity's
/// own cloud (its webhook injects them) and for identities that cannot federate so.
// `..Default::default()` on every k8s-openapi literal: newer Kubernetes versions (which the
// application picks) add fields to the projection types.
#[allow(clippy::needless_update)]
pub fn federated_token(
    identity: &IdentityBinding,
    site: Provider,
    aws_region: &str,
) -> Option<FederatedToken> {
    let (name, dir, file, audience, env) = match identity {
        IdentityBinding::Irsa { role_arn } if site != Provider::Aws => (
            "aws-iam-token",
            AWS_TOKEN_DIR,
            "token",
            AWS_AUDIENCE,
            vec![
                plain_env("AWS_ROLE_ARN", role_arn),
                plain_env(
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    &format!("{AWS_TOKEN_DIR}/token"),
                ),
                plain_env("AWS_REGION", aws_region),
                plain_env("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
            ],
        ),
        IdentityBinding::AzureWorkloadIdentity {
            client_id,
            tenant_id: Some(tenant_id),
        } if site != Provider::Azure => (
            "azure-identity-token",
            AZURE_TOKEN_DIR,
            "azure-identity-token",
            AZURE_AUDIENCE,
            vec![
                plain_env("AZURE_CLIENT_ID", client_id),
                plain_env("AZURE_TENANT_ID", tenant_id),
                plain_env(
                    "AZURE_FEDERATED_TOKEN_FILE",
                    &format!("{AZURE_TOKEN_DIR}/azure-identity-token"),
                ),
                plain_env("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
            ],
        ),
        _ => return None,
    };
    Some(FederatedToken {
        volume: Volume {
            name: name.to_owned(),
            projected: Some(ProjectedVolumeSource {
                default_mode: Some(0o444),
                sources: Some(vec![VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        audience: Some(audience.to_owned()),
                        expiration_seconds: Some(TOKEN_SECONDS),
                        path: file.to_owned(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
        mount: VolumeMount {
            name: name.to_owned(),
            mount_path: dir.to_owned(),
            read_only: Some(true),
            ..Default::default()
        },
        env,
    })
}

/// What the pods that write to the backup bucket (CockroachDB's nodes, for native BACKUP and
/// RESTORE) need in this rendering: the backup identity's federated token when the rendered
/// site runs on another provider than the bucket; `None` at home and for a tenant without
/// sites.
pub(super) fn for_backups(ctx: &Context<'_>) -> Option<FederatedToken> {
    let site = ctx.site()?;
    let identity = ctx.tenant.bucket_identity()?;
    federated_token(identity, site.provider(), ctx.tenant.backup_region()?)
}

fn plain_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..Default::default()
    }
}
