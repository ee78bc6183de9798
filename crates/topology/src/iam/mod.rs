//! Least-privilege access for a tenant's backups, from the tenant file: the documents a
//! platform team applies so that the identity the tenant binds may write its backups — and
//! nothing else.
//!
//! [`plan`] reads the tenant's backup section (bucket, `prefix`, `kms_key`, `object_lock`,
//! identity and its `iam` inputs), its namespace and the service accounts the rendering binds
//! the identity to (the backup jobs' `ledger-backup` and, when CockroachDB's native BACKUP
//! writes to the bucket, the CockroachDB nodes'), and returns an [`IamPlan`]: JSON documents
//! and the same as Terraform.
//!
//! | provider | documents |
//! |---|---|
//! | AWS (IRSA) | the role's permissions policy (the bucket and prefix ARNs only; `s3:ListBucket` with a prefix condition; retention actions only with Object Lock; `kms:GenerateDataKey`/`kms:Decrypt` on the key) and its trust policy for each cluster's OIDC provider, conditioned on `sub` and `aud` |
//! | Azure (workload identity) | the role assignment (Storage Blob Data Contributor on the container) and one federated identity credential per service account and cluster |
//! | GCP (GKE workload identity) | the bucket binding (`roles/storage.objectUser`, narrowed to the prefixes by an IAM condition) and `roles/iam.workloadIdentityUser` for `PROJECT.svc.id.goog[NAMESPACE/SA]` |
//! | on-prem (MinIO) | the MinIO policy (bucket and prefix only) |
//!
//! No statement ever names `*` as a storage or key resource: an input a document needs and
//! the tenant lacks is an [`IamError::Missing`] naming the field and the fix.
//!
//! ```
//! use thinledger_topology::Tenant;
//! use thinledger_topology::iam::{self, IamDocumentKind, IamOptions};
//!
//! let tenant = Tenant::from_yaml(r#"
//! tenant: acme-bank
//! environment: prod
//! ring: ring-2-prod
//! tier: prod
//! provider: aws
//! regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]
//! cockroachdb: {version: v25.2.4, nodes: 3}
//! redpanda: {version: v25.1.9}
//! backup:
//!   bucket: acme-ledger-backups
//!   prefix: acme-bank/prod
//!   identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-ledger-backup"}
//!   iam:
//!     oidc_issuers:
//!       us-east-1: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
//! "#)?;
//! let plan = iam::plan(&tenant, &IamOptions::default())?;
//! let policy = plan.document(IamDocumentKind::AwsPermissionsPolicy).unwrap();
//! assert!(policy.to_string().contains("arn:aws:s3:::acme-ledger-backups/acme-bank/prod/*"));
//! assert!(plan.terraform().contains(r#"resource "aws_iam_role""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod aws;
mod azure;
mod error;
mod gcp;
mod hcl;
mod onprem;
mod spec;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

use crate::identity::IdentityBinding;
use crate::provider::Provider;
use crate::tenant::{Tenant, TenantSpec};

pub use error::IamError;
pub(crate) use spec::validate as validate_inputs;
pub use spec::{BackupIamSpec, ObjectLockMode};

/// The service account of the backup jobs (`ledger-backup`), as the rendering names it.
pub const BACKUP_SERVICE_ACCOUNT: &str = "ledger-backup";
/// The CockroachDB pods' service account in StatefulSet mode.
pub const COCKROACH_SERVICE_ACCOUNT: &str = "cockroachdb";
/// The CockroachDB pods' service account in operator mode (the operator names it).
pub const COCKROACH_OPERATOR_SERVICE_ACCOUNT: &str = "cockroachdb-sa";

/// Knobs of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IamOptions {
    /// The CockroachDB pods' service account, when CockroachDB's native BACKUP writes to the
    /// bucket with the tenant's identity (default [`COCKROACH_SERVICE_ACCOUNT`]); `None`
    /// leaves the CockroachDB nodes out.
    pub cockroach_service_account: Option<String>,
    /// Where native backups go in the bucket (default `cockroach/TENANT-ENVIRONMENT`, the
    /// CockroachDB driver's default). Granted besides `backup.prefix` when outside it.
    pub cockroach_path: Option<String>,
}

impl Default for IamOptions {
    fn default() -> Self {
        IamOptions {
            cockroach_service_account: Some(COCKROACH_SERVICE_ACCOUNT.to_owned()),
            cockroach_path: None,
        }
    }
}

impl IamOptions {
    /// Sets the CockroachDB pods' service account; `None` leaves the nodes out.
    pub fn with_cockroach_service_account(mut self, name: Option<String>) -> Self {
        self.cockroach_service_account = name;
        self
    }

    /// Sets where native backups go in the bucket.
    pub fn with_cockroach_path(mut self, path: impl Into<String>) -> Self {
        self.cockroach_path = Some(path.into());
        self
    }
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IamDocumentKind {
    /// AWS: the IRSA role's identity-based permissions policy.
    AwsPermissionsPolicy,
    /// AWS: the IRSA role's trust policy (who may assume it).
    AwsTrustPolicy,
    /// Azure: a role assignment.
    AzureRoleAssignment,
    /// Azure: a federated identity credential of the managed identity.
    AzureFederatedCredential,
    /// GCP: an IAM binding on the bucket.
    GcpBucketBinding,
    /// GCP: an IAM binding on the Google service account (who may impersonate it).
    GcpServiceAccountBinding,
    /// MinIO: a policy for the user whose keys the tenant's Secret holds.
    MinioPolicy,
}

/// One access document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IamDocument {
    /// What it is.
    pub kind: IamDocumentKind,
    /// A name for it, unique in the plan (e.g. the policy's or the credential's name).
    pub name: String,
    /// What it grants, and to whom.
    pub description: String,
    /// The document: a policy in the provider's JSON grammar, or the fields of the
    /// assignment or binding as the provider's API names them.
    pub document: Value,
}

/// A workload that writes to the bucket with the tenant's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IamSubject {
    /// Its Kubernetes service account, in the tenant's namespace.
    pub service_account: String,
    /// What runs as it.
    pub purpose: String,
}

/// The access documents of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IamPlan {
    /// Tenant id.
    pub tenant: String,
    /// Environment.
    pub environment: String,
    /// Provider.
    pub provider: Provider,
    /// The namespace of the service accounts.
    pub namespace: String,
    /// The bucket (Azure: the container).
    pub bucket: String,
    /// The key prefixes granted (without a trailing '/'); empty when the whole bucket is.
    pub prefixes: Vec<String>,
    /// Who is trusted to use the identity.
    pub subjects: Vec<IamSubject>,
    /// The documents, in the order to apply them.
    pub documents: Vec<IamDocument>,
    /// What the documents leave to the platform team.
    pub notes: Vec<String>,
    #[serde(skip)]
    terraform: String,
}

impl IamPlan {
    /// The same documents as Terraform a platform team can paste (one file; the providers
    /// `aws`, `azurerm`, `google` or `minio` as the tenant's provider needs).
    pub fn terraform(&self) -> &str {
        &self.terraform
    }

    /// The first document of a kind.
    pub fn document(&self, kind: IamDocumentKind) -> Option<&Value> {
        self.documents
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| &d.document)
    }
}

/// What a provider's module returns.
struct Output {
    documents: Vec<IamDocument>,
    terraform: Vec<hcl::Block>,
    notes: Vec<String>,
}

/// Everything a provider's module reads.
struct Context<'a> {
    spec: &'a TenantSpec,
    namespace: String,
    prefixes: Vec<String>,
    subjects: Vec<IamSubject>,
    iam: BackupIamSpec,
}

impl Context<'_> {
    fn bucket(&self) -> &str {
        &self.spec.backup.bucket
    }

    /// `TENANT-ENVIRONMENT`, the base of the names the documents get.
    fn id(&self) -> String {
        format!("{}-{}", self.spec.tenant, self.spec.environment)
    }

    /// `system:serviceaccount:NAMESPACE:SA` of each subject.
    fn kubernetes_subjects(&self) -> Vec<String> {
        self.subjects
            .iter()
            .map(|s| {
                format!(
                    "system:serviceaccount:{}:{}",
                    self.namespace, s.service_account
                )
            })
            .collect()
    }

    /// The OIDC issuer of every region's cluster, in the tenant's region order.
    fn issuers(&self, why: &str) -> Result<Vec<(String, String)>, IamError> {
        self.spec
            .regions
            .iter()
            .map(|r| match self.iam.oidc_issuers.get(&r.name) {
                Some(issuer) => Ok((r.name.clone(), issuer.clone())),
                None => Err(IamError::missing(
                    format!("backup.iam.oidc_issuers.{}", r.name),
                    why,
                    format!(
                        "add backup.iam.oidc_issuers: {{{}: <issuer URL>}} with the issuer of region {}'s cluster ({})",
                        r.name,
                        r.name,
                        match self.spec.provider {
                            Provider::Azure => {
                                "`az aks show -n CLUSTER -g GROUP --query oidcIssuerProfile.issuerUrl`"
                            }
                            _ => {
                                "`aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer`"
                            }
                        }
                    ),
                )),
            })
            .collect()
    }
}

/// Writes the least-privilege access documents of a checked tenant.
pub fn plan(tenant: &Tenant, options: &IamOptions) -> Result<IamPlan, IamError> {
    let spec = tenant.spec();
    let backup = &spec.backup;
    let identity = backup.identity.as_ref().ok_or_else(|| {
        IamError::missing(
            "backup.identity",
            "access documents grant the identity that writes the backups",
            format!(
                "add backup.identity with one of: {}",
                IdentityBinding::kinds_for(spec.provider).join(", ")
            ),
        )
    })?;

    let mut subjects = vec![IamSubject {
        service_account: BACKUP_SERVICE_ACCOUNT.to_owned(),
        purpose: "backup jobs".to_owned(),
    }];
    let mut prefixes: Vec<String> = backup.prefix.iter().cloned().collect();
    if let Some(sa) = &options.cockroach_service_account {
        spec::validate_service_account(sa)?;
        subjects.push(IamSubject {
            service_account: sa.clone(),
            purpose: "CockroachDB nodes, for native BACKUP".to_owned(),
        });
        let path = options
            .cockroach_path
            .clone()
            .unwrap_or_else(|| format!("cockroach/{}-{}", spec.tenant, spec.environment));
        spec::validate_path("cockroach path", &path)?;
        // Without a prefix the whole bucket is granted already.
        if !prefixes.is_empty() && !prefixes.iter().any(|p| is_under(&path, p)) {
            prefixes.push(path);
        }
    }

    let ctx = Context {
        spec,
        namespace: tenant.namespace(),
        prefixes,
        subjects,
        iam: backup.iam.clone().unwrap_or_default(),
    };
    let out = match identity {
        IdentityBinding::Irsa { role_arn } => aws::documents(&ctx, role_arn)?,
        IdentityBinding::AzureWorkloadIdentity { client_id, .. } => {
            azure::documents(&ctx, client_id, true)?
        }
        IdentityBinding::AzureManagedIdentity { client_id } => {
            azure::documents(&ctx, client_id, false)?
        }
        IdentityBinding::GkeWorkloadIdentity { service_account } => {
            gcp::documents(&ctx, service_account)?
        }
        IdentityBinding::SecretRef { secret_name, .. } => onprem::documents(&ctx, secret_name)?,
    };
    let mut terraform = format!(
        "# Least-privilege access for tenant {} ({}) on {}, written by ledger-topology iam.\n",
        ctx.id(),
        ctx.namespace,
        spec.provider
    );
    for block in &out.terraform {
        terraform.push('\n');
        terraform.push_str(&block.render(0));
    }
    Ok(IamPlan {
        tenant: spec.tenant.clone(),
        environment: spec.environment.clone(),
        provider: spec.provider,
        namespace: ctx.namespace.clone(),
        bucket: backup.bucket.clone(),
        prefixes: ctx.prefixes.clone(),
        subjects: ctx.subjects.clone(),
        documents: out.documents,
        notes: out.notes,
        terraform,
    })
}

/// Parses and checks a tenant file, then writes its access documents ([`plan`]).
pub fn plan_yaml(text: &str, options: &IamOptions) -> Result<IamPlan, IamError> {
    plan(&Tenant::from_yaml(text)?, options)
}

/// Whether `path` is `prefix` or below it.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}
