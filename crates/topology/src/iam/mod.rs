//! Least-privilege access for a tenant's storage, from the tenant file: the documents a
//! platform team applies so that each identity the tenant binds may write what it must — and
//! nothing else.
//!
//! [`plan`] writes two grants:
//!
//! - **Backups**: the backup section's bucket, `prefix`, `encryption` key and `object_lock`,
//!   for the service accounts the rendering binds the backup identity to (the backup jobs'
//!   `ledger-backup` and, when CockroachDB's native BACKUP writes to the bucket, the CockroachDB
//!   nodes').
//! - **Redpanda's tiered storage** (when it is on): `redpanda.tiered_storage.bucket` — a bucket
//!   of its own, since Redpanda writes at the bucket's root and deletes segments — for
//!   `redpanda.tiered_storage.identity`, an identity of its own, trusted for the `redpanda`
//!   service account only. The brokers therefore can never read or delete a backup, and the
//!   backup identity is never trusted for the brokers.
//!
//! It returns an [`IamPlan`]: JSON documents, the same as Terraform, and a summary of each
//! grant ([`IamGrantSummary`]: identity, bucket, prefixes, clusters, service accounts) to audit.
//!
//! | provider | documents |
//! |---|---|
//! | AWS (IRSA) | the role's permissions policy (the bucket and prefix ARNs only; `s3:ListBucket` with a prefix condition; retention actions only with Object Lock; `kms:GenerateDataKey`/`kms:Decrypt` on the key, through S3) and its trust policy for each cluster's OIDC provider, conditioned on `sub` and `aud` |
//! | Azure (workload identity) | the role assignment (Storage Blob Data Contributor on the container; with `object_lock` also a custom role of the immutability-policy data action alone) and one federated identity credential per service account and cluster |
//! | GCP (GKE workload identity) | the bucket binding (`roles/storage.objectUser`, narrowed to the prefixes by an IAM condition; with `object_lock` also a custom role of `storage.objects.setRetention` alone) and `roles/iam.workloadIdentityUser` for `PROJECT.svc.id.goog[NAMESPACE/SA]` |
//! | on-prem (MinIO) | the MinIO policy (bucket and prefix only) |
//!
//! # Tenants with sites
//!
//! The buckets live on the tenant's provider (the first site's). Every site's CockroachDB
//! nodes take part in native BACKUP (each node writes its own ranges) and its backup jobs run
//! there, so every site is granted the backup bucket:
//!
//! - a site of the tenant's provider through **its own identity binding** (`sites[i].identity`),
//!   trusted from its own cluster;
//! - a site of another provider through **the tenant's `backup.identity`**, trusted from that
//!   site's cluster for the same service accounts: the CockroachDB nodes' (the rendering gives
//!   them the identity's token, see `render::federated`) and the backup jobs' `ledger-backup`
//!   (`ledger-backup schedule render` gives its CronJobs the token when the schedule's
//!   `kubernetes.provider` is the site's): AWS and Azure trust any Kubernetes cluster's OIDC issuer
//!   (`backup.iam.oidc_issuers` by the site's region; AKS issuers are public, an on-prem
//!   cluster must publish its discovery document and keys), MinIO keys work from anywhere (the
//!   Secret is copied to each site). A GCS bucket trusts GKE clusters only: a site of another
//!   provider is refused, naming it.
//!
//! Redpanda is one cluster whose `cloud_storage_*` properties are cluster-wide: one bucket and
//! one identity, trusted from every site's cluster.
//!
//! No statement ever names `*` as a storage or key resource: an input a document needs and
//! the tenant lacks is an [`IamError::Missing`] naming the field and the fix.
//!
//! ```
//! use thinledger_topology::Tenant;
//! use thinledger_topology::iam::{self, IamDocumentKind, IamGrant, IamOptions};
//!
//! let tenant = Tenant::from_yaml(r#"
//! tenant: acme-bank
//! environment: prod
//! ring: ring-2-prod
//! tier: prod
//! provider: aws
//! regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]
//! cockroachdb: {version: v25.2.4, nodes: 3}
//! redpanda:
//!   version: v25.1.9
//!   tiered_storage:
//!     bucket: acme-bank-prod-redpanda
//!     identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-redpanda"}
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
//! let redpanda = plan.documents.iter().find(|d| d.grant == IamGrant::TieredStorage).unwrap();
//! assert!(redpanda.document.to_string().contains("arn:aws:s3:::acme-bank-prod-redpanda/*"));
//! assert!(!redpanda.document.to_string().contains("acme-ledger-backups"));
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
use crate::tenant::Tenant;

pub use error::IamError;
pub use spec::{BackupIamSpec, ObjectLockMode};
pub(crate) use spec::{validate as validate_inputs, validate_iam_section, validate_kms_key_field};

/// The service account of the backup jobs (`ledger-backup`), as the rendering names it and
/// `ledger-backup schedule render` runs its CronJobs by default; trusted from every cluster
/// the backup identity is granted to.
pub const BACKUP_SERVICE_ACCOUNT: &str = "ledger-backup";
/// The CockroachDB pods' service account in StatefulSet mode.
pub const COCKROACH_SERVICE_ACCOUNT: &str = "cockroachdb";
/// The CockroachDB pods' service account in operator mode (the operator names it).
pub const COCKROACH_OPERATOR_SERVICE_ACCOUNT: &str = "cockroachdb-sa";
/// The Redpanda brokers' service account (tiered storage).
pub const REDPANDA_SERVICE_ACCOUNT: &str = "redpanda";

/// Knobs of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IamOptions {
    /// The CockroachDB pods' service account, when CockroachDB's native BACKUP writes to the
    /// bucket with the tenant's identity (default [`COCKROACH_SERVICE_ACCOUNT`]); `None`
    /// leaves the CockroachDB nodes out.
    pub cockroach_service_account: Option<String>,
    /// Where native backups go in the bucket (default: the CockroachDB driver's,
    /// [`Tenant::cockroach_backup_path`]: `PREFIX/cockroach/TENANT-ENVIRONMENT`, inside
    /// `backup.prefix`). Granted besides `backup.prefix` when outside it (an explicit `--path`).
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
    /// Azure: a custom role definition (the immutability-policy data action no built-in data
    /// role short of Storage Blob Data Owner holds).
    AzureRoleDefinition,
    /// Azure: a federated identity credential of the managed identity.
    AzureFederatedCredential,
    /// GCP: an IAM binding on the bucket.
    GcpBucketBinding,
    /// GCP: a custom role of the bucket's project (the object-retention permission no
    /// predefined role short of `roles/storage.objectAdmin` holds).
    GcpCustomRole,
    /// GCP: an IAM binding on the Google service account (who may impersonate it).
    GcpServiceAccountBinding,
    /// MinIO: a policy for the user whose keys the tenant's Secret holds.
    MinioPolicy,
}

/// What a document grants access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IamGrant {
    /// The backup bucket (backup jobs and CockroachDB's native BACKUP).
    Backups,
    /// Redpanda's tiered-storage bucket (the brokers).
    TieredStorage,
}

/// One identity's grant, to audit: who may touch what, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IamGrantSummary {
    /// What it is for.
    pub grant: IamGrant,
    /// The identity: a role ARN, a managed identity's client id, a Google service account or
    /// the Secret of MinIO keys.
    pub identity: String,
    /// The tenant-file field that names the identity.
    pub identity_field: String,
    /// The bucket (Azure: container).
    pub bucket: String,
    /// The key prefixes granted (without a trailing '/'); empty when the whole bucket is.
    pub prefixes: Vec<String>,
    /// The Kubernetes service accounts trusted to use the identity.
    pub service_accounts: Vec<String>,
    /// Where they run: the regions (a tenant with sites: the sites) whose clusters are trusted.
    pub clusters: Vec<String>,
}

/// One access document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IamDocument {
    /// What it is.
    pub kind: IamDocumentKind,
    /// What it grants access to.
    pub grant: IamGrant,
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
    /// Who is trusted to use the backup identity.
    pub subjects: Vec<IamSubject>,
    /// Redpanda's tiered-storage bucket (Azure: container), when tiered storage is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiered_storage_bucket: Option<String>,
    /// Each identity's grant: the backup identity (a tenant with sites: one per identity the
    /// sites use) and Redpanda's.
    pub grants: Vec<IamGrantSummary>,
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

/// One cluster whose workloads are trusted: its region (the key of `oidc_issuers`) and
/// provider. Every subject is trusted from every cluster of its grant: on a site of another
/// provider than the bucket, the rendering injects the identity's token into the CockroachDB
/// nodes (`render::federated`) and `ledger-backup schedule render` with `kubernetes.provider`
/// into the backup CronJobs, which run as [`BACKUP_SERVICE_ACCOUNT`].
#[derive(Debug, Clone)]
struct Cluster {
    region: String,
    provider: Provider,
}

/// One trusted cluster: its issuer, and who presents the identity's tokens there.
struct Trusted {
    region: String,
    issuer: String,
    subjects: Vec<IamSubject>,
}

/// Everything a provider's module reads: one identity's grant.
struct Context {
    namespace: String,
    grant: IamGrant,
    /// The base of the documents' names: `TENANT-ENVIRONMENT`, or with the site whose own
    /// identity this is, `TENANT-ENVIRONMENT-SITE`.
    base: String,
    /// The tenant-file field naming the identity.
    identity_field: String,
    bucket: String,
    /// Azure: the storage account, and the field to name when it is missing.
    account: (Option<String>, &'static str),
    prefixes: Vec<String>,
    object_lock: Option<ObjectLockMode>,
    /// AWS: the KMS key ARN the identity uses through S3; GCP: the bucket's Cloud KMS key.
    kms_key: Option<String>,
    subjects: Vec<IamSubject>,
    clusters: Vec<Cluster>,
    iam: BackupIamSpec,
    /// Where the identity's own inputs (`identity_name`) are read: `backup.iam` or
    /// `redpanda.tiered_storage.iam`.
    iam_field: &'static str,
}

impl Context {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `TENANT-ENVIRONMENT`, or `TENANT-ENVIRONMENT-SITE` for a site's own identity.
    fn id(&self) -> String {
        self.base.clone()
    }

    /// `backup` or `redpanda`: what the Terraform names and the MinIO policy say.
    fn what(&self) -> &'static str {
        match self.grant {
            IamGrant::Backups => "backup",
            IamGrant::TieredStorage => "redpanda",
        }
    }

    /// `backups` or `tiered storage`, in Terraform descriptions.
    fn what_plural(&self) -> &'static str {
        match self.grant {
            IamGrant::Backups => "backups",
            IamGrant::TieredStorage => "tiered storage",
        }
    }

    /// What the objects are, in descriptions.
    fn contents(&self) -> &'static str {
        match self.grant {
            IamGrant::Backups => "the backups",
            IamGrant::TieredStorage => "Redpanda's tiered-storage segments",
        }
    }

    /// `system:serviceaccount:NAMESPACE:SA` of a subject.
    fn kubernetes_subject(&self, subject: &IamSubject) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, subject.service_account
        )
    }

    /// Every trusted cluster with its OIDC issuer and the subjects that present tokens there,
    /// in the tenant's order.
    fn issuers(&self, why: &str) -> Result<Vec<Trusted>, IamError> {
        self.clusters
            .iter()
            .map(|c| match self.iam.oidc_issuers.get(&c.region) {
                Some(issuer) => Ok(Trusted {
                    region: c.region.clone(),
                    issuer: issuer.clone(),
                    subjects: self.subjects.clone(),
                }),
                None => Err(IamError::missing(
                    format!("backup.iam.oidc_issuers.{}", c.region),
                    why,
                    format!(
                        "add backup.iam.oidc_issuers: {{{}: <issuer URL>}} with the issuer of region {}'s cluster ({})",
                        c.region,
                        c.region,
                        match c.provider {
                            Provider::Azure => {
                                "`az aks show -n CLUSTER -g GROUP --query oidcIssuerProfile.issuerUrl`"
                            }
                            Provider::Aws => {
                                "`aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer`"
                            }
                            _ => {
                                "the cluster's --service-account-issuer, which must serve /.well-known/openid-configuration and its keys where the cloud can fetch them"
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
            .unwrap_or_else(|| tenant.cockroach_backup_path());
        spec::validate_path("cockroach path", &path)?;
        // Without a prefix the whole bucket is granted already.
        if !prefixes.is_empty() && !prefixes.iter().any(|p| is_under(&path, p)) {
            prefixes.push(path);
        }
    }

    let namespace = tenant.namespace();
    let id = format!("{}-{}", spec.tenant, spec.environment);
    let mut documents = Vec::new();
    let mut blocks = Vec::new();
    let mut notes = Vec::new();
    let mut grants = Vec::new();

    for group in backup_groups(tenant)? {
        let ctx = Context {
            namespace: namespace.clone(),
            grant: IamGrant::Backups,
            base: match &group.site {
                Some(site) => format!("{id}-{site}"),
                None => id.clone(),
            },
            identity_field: group.field.clone(),
            bucket: backup.bucket.clone(),
            account: (backup.account.clone(), "backup.account"),
            prefixes: prefixes.clone(),
            object_lock: backup.object_lock,
            kms_key: backup.kms_key().map(str::to_owned),
            subjects: subjects.clone(),
            clusters: group.clusters,
            iam: backup.iam.clone().unwrap_or_default(),
            iam_field: "backup.iam",
        };
        let out = documents_of(&ctx, &group.identity)?;
        grants.push(summary(&ctx, &group.identity));
        documents.extend(out.documents);
        blocks.extend(out.terraform);
        notes.extend(out.notes);
        notes.extend(group.notes);
    }

    let tiered = tenant.tiered_storage();
    if let Some(ts) = &tiered {
        let t = spec.redpanda.tiered_storage.clone().unwrap_or_default();
        // Cluster facts (issuers, the subscription and group of the account, GKE's pool)
        // come from backup.iam; the identity's own name only from the tiered-storage section.
        let mut iam = backup.iam.clone().unwrap_or_default();
        iam.identity_name = None;
        iam.identity_resource_group = None;
        if let Some(own) = &t.iam {
            iam.oidc_issuers.extend(own.oidc_issuers.clone());
            for (mine, theirs) in [
                (&mut iam.subscription_id, &own.subscription_id),
                (&mut iam.resource_group, &own.resource_group),
                (&mut iam.identity_name, &own.identity_name),
                (
                    &mut iam.identity_resource_group,
                    &own.identity_resource_group,
                ),
                (&mut iam.cluster_project, &own.cluster_project),
            ] {
                if theirs.is_some() {
                    mine.clone_from(theirs);
                }
            }
        }
        let clusters = if tenant.is_multi_site() {
            // One Redpanda cluster over the sites: its brokers' clusters are all trusted.
            tenant
                .sites()
                .iter()
                .map(|s| Cluster {
                    region: s.region().to_owned(),
                    provider: s.provider(),
                })
                .collect()
        } else {
            vec![Cluster {
                region: tenant.redpanda_region().to_owned(),
                provider: spec.provider,
            }]
        };
        check_reach(tenant, &ts.identity)?;
        let ctx = Context {
            namespace: namespace.clone(),
            grant: IamGrant::TieredStorage,
            base: id.clone(),
            identity_field: "redpanda.tiered_storage.identity".to_owned(),
            bucket: ts.bucket.clone(),
            account: (ts.account.clone(), "redpanda.tiered_storage.account"),
            prefixes: Vec::new(),
            object_lock: None,
            kms_key: t.kms_key_id.clone(),
            subjects: vec![IamSubject {
                service_account: REDPANDA_SERVICE_ACCOUNT.to_owned(),
                purpose: "Redpanda brokers, for tiered storage".to_owned(),
            }],
            clusters,
            iam,
            iam_field: "redpanda.tiered_storage.iam",
        };
        let out = documents_of(&ctx, &ts.identity)?;
        grants.push(summary(&ctx, &ts.identity));
        documents.extend(out.documents);
        blocks.extend(out.terraform);
        notes.extend(out.notes);
        if tenant.is_multi_site() {
            notes.extend(cross_site_notes(
                tenant,
                &ts.identity,
                "the Redpanda brokers",
                &ts.bucket,
            ));
        }
    } else if let Some(why) = tenant.tiered_storage_off_reason() {
        notes.push(format!("no grant for Redpanda's tiered storage: {why}"));
    }

    let mut terraform = format!(
        "# Least-privilege access for tenant {id} ({namespace}) on {}, written by ledger-topology iam.\n",
        spec.provider
    );
    for block in &blocks {
        terraform.push('\n');
        terraform.push_str(&block.render(0));
    }
    Ok(IamPlan {
        tenant: spec.tenant.clone(),
        environment: spec.environment.clone(),
        provider: spec.provider,
        namespace,
        bucket: backup.bucket.clone(),
        prefixes,
        subjects,
        tiered_storage_bucket: tiered.map(|t| t.bucket),
        grants,
        documents,
        notes,
        terraform,
    })
}

/// One identity that is granted the backup bucket, and the clusters that use it.
struct BackupGroup {
    /// The site whose own identity it is (`None`: the tenant's `backup.identity`).
    site: Option<String>,
    field: String,
    identity: IdentityBinding,
    clusters: Vec<Cluster>,
    notes: Vec<String>,
}

/// Who is granted the backup bucket: the tenant's backup identity from each region's cluster,
/// or on a tenant with sites each site's own identity (sites of the tenant's provider) or the
/// backup identity (sites of another provider), from the site's cluster.
fn backup_groups(tenant: &Tenant) -> Result<Vec<BackupGroup>, IamError> {
    let spec = tenant.spec();
    let backup_identity = || {
        spec.backup.identity.clone().ok_or_else(|| {
            IamError::missing(
                "backup.identity",
                "access documents grant the identity that writes the backups",
                format!(
                    "add backup.identity with one of: {}",
                    IdentityBinding::kinds_for(spec.provider).join(", ")
                ),
            )
        })
    };
    if !tenant.is_multi_site() {
        return Ok(vec![BackupGroup {
            site: None,
            field: "backup.identity".to_owned(),
            identity: backup_identity()?,
            clusters: spec
                .regions
                .iter()
                .map(|r| Cluster {
                    region: r.name.clone(),
                    provider: spec.provider,
                })
                .collect(),
            notes: Vec::new(),
        }]);
    }
    let mut groups: Vec<BackupGroup> = Vec::new();
    for (i, site) in tenant.sites().iter().enumerate() {
        let own = site.provider() == spec.provider;
        let (name, field, identity) = match (&site.spec().identity, own) {
            (Some(identity), true) => (
                Some(site.name().to_owned()),
                format!("sites[{i}].identity"),
                identity.clone(),
            ),
            _ => (None, "backup.identity".to_owned(), backup_identity()?),
        };
        if !own {
            check_site_reach(i, site.name(), site.provider(), &identity)?;
        }
        let cluster = Cluster {
            region: site.region().to_owned(),
            provider: site.provider(),
        };
        let key = crate::tenant::identity_ref(&identity);
        match groups
            .iter_mut()
            .find(|g| crate::tenant::identity_ref(&g.identity) == key)
        {
            Some(g) => g.clusters.push(cluster),
            None => groups.push(BackupGroup {
                site: name,
                field,
                identity,
                clusters: vec![cluster],
                notes: Vec::new(),
            }),
        }
    }
    if let Some(g) = groups.iter_mut().find(|g| g.site.is_none()) {
        g.notes = cross_site_notes(
            tenant,
            &g.identity,
            "the CockroachDB nodes (native BACKUP and RESTORE) and the backup CronJobs (`ledger-backup schedule render` with kubernetes.provider set to the site's provider)",
            &spec.backup.bucket,
        );
    }
    Ok(groups)
}

/// Refuses an identity that a site of another provider cannot use.
fn check_site_reach(
    index: usize,
    site: &str,
    provider: Provider,
    identity: &IdentityBinding,
) -> Result<(), IamError> {
    let refuse = |rule: String, fix: &str| {
        Err(IamError::invalid(
            format!("sites[{index}].provider"),
            provider.to_string(),
            rule,
            fix,
        ))
    };
    match identity {
        IdentityBinding::GkeWorkloadIdentity { .. } => refuse(
            format!(
                "site {site} runs on {provider}: a GCS bucket trusts GKE clusters through the project's workload identity pool, and a cluster of another provider needs a workload identity federation pool, which ledger-topology iam does not write"
            ),
            "run the tenant's first site on another provider, or grant the site through a workload identity federation pool by hand",
        ),
        IdentityBinding::AzureWorkloadIdentity {
            tenant_id: None, ..
        } => refuse(
            format!(
                "site {site} runs on {provider}: its pods sign in with the Microsoft Entra tenant id, which AKS's webhook would inject and nothing injects elsewhere"
            ),
            "add tenant_id: <GUID> to the identity (`az account show --query tenantId`)",
        ),
        IdentityBinding::AzureManagedIdentity { .. } => refuse(
            format!(
                "site {site} runs on {provider}: a node-assigned Azure managed identity is reachable from AKS nodes only"
            ),
            "use kind: azure-workload-identity, whose federated credentials trust any cluster's OIDC issuer",
        ),
        _ => Ok(()),
    }
}

/// Refuses a tiered-storage identity that a site cannot use.
fn check_reach(tenant: &Tenant, identity: &IdentityBinding) -> Result<(), IamError> {
    let spec = tenant.spec();
    for (i, site) in tenant.sites().iter().enumerate() {
        if site.provider() != spec.provider {
            check_site_reach(i, site.name(), site.provider(), identity)?;
        }
    }
    Ok(())
}

/// What the platform does so that the sites of other providers use `identity`.
fn cross_site_notes(
    tenant: &Tenant,
    identity: &IdentityBinding,
    who: &str,
    bucket: &str,
) -> Vec<String> {
    let spec = tenant.spec();
    tenant
        .sites()
        .iter()
        .filter(|s| s.provider() != spec.provider)
        .map(|s| {
            let how = match identity {
                IdentityBinding::Irsa { role_arn } => format!(
                    "assume {role_arn} with a token of cluster {} (register its OIDC issuer as an IAM OIDC provider; the rendering gives the pods AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and a projected token with audience sts.amazonaws.com, which no webhook injects outside EKS)",
                    s.cluster()
                ),
                IdentityBinding::AzureWorkloadIdentity { client_id, .. } => format!(
                    "sign in as managed identity {client_id} with a token of cluster {} (the rendering gives the pods AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and a projected token with audience api://AzureADTokenExchange, which no webhook injects outside AKS)",
                    s.cluster()
                ),
                IdentityBinding::SecretRef { secret_name, .. } => format!(
                    "use the MinIO keys of Secret {secret_name}, copied into the site's namespace"
                ),
                _ => "cannot reach it".to_owned(),
            };
            format!(
                "site {} ({}): {who} reach {bucket} on {}: they {how}",
                s.name(),
                s.provider(),
                spec.provider
            )
        })
        .collect()
}

/// The documents of one identity's grant, by the identity's kind.
fn documents_of(ctx: &Context, identity: &IdentityBinding) -> Result<Output, IamError> {
    let mut out = match identity {
        IdentityBinding::Irsa { role_arn } => aws::documents(ctx, role_arn)?,
        IdentityBinding::AzureWorkloadIdentity { client_id, .. } => {
            azure::documents(ctx, client_id, true)?
        }
        IdentityBinding::AzureManagedIdentity { client_id } => {
            azure::documents(ctx, client_id, false)?
        }
        IdentityBinding::GkeWorkloadIdentity { service_account } => {
            gcp::documents(ctx, service_account)?
        }
        IdentityBinding::SecretRef { secret_name, .. } => onprem::documents(ctx, secret_name)?,
    };
    for d in &mut out.documents {
        d.grant = ctx.grant;
    }
    Ok(out)
}

fn summary(ctx: &Context, identity: &IdentityBinding) -> IamGrantSummary {
    IamGrantSummary {
        grant: ctx.grant,
        identity: crate::tenant::identity_ref(identity),
        identity_field: ctx.identity_field.clone(),
        bucket: ctx.bucket.clone(),
        prefixes: ctx.prefixes.clone(),
        service_accounts: ctx
            .subjects
            .iter()
            .map(|s| s.service_account.clone())
            .collect(),
        clusters: ctx.clusters.iter().map(|c| c.region.clone()).collect(),
    }
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
