//! The tenant file's inputs for least-privilege IAM: the backup section's `prefix`,
//! `kms_key` and `object_lock`, and its `iam` subsection (what only the access documents
//! need: the clusters' OIDC issuers, Azure's subscription, resource group and identity name,
//! GKE's cluster project). Each is optional in the file; [`super::plan`] refuses, naming the
//! field, when a document needs one that is missing.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::IamError;
use crate::error::{ParseError, ensure};
use crate::provider::Provider;
use crate::tenant::{Problem, TenantSpec};

/// How the backups are kept immutable, by provider (the same words as `ledger-backup init
/// --object-lock`): S3 Object Lock's mode (AWS S3, MinIO); Azure version-level immutability
/// policies (governance: `Unlocked`, compliance: `Locked`); GCS object retention (governance:
/// `Unlocked`, compliance: `Locked`). The backup identity may then set and read retention,
/// never bypass, shorten or remove it where the provider separates those rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ObjectLockMode {
    /// Users with `s3:BypassGovernanceRetention` may shorten or remove retention; the backup
    /// identity is never granted it.
    Governance,
    /// Nobody, not even the account's root user, can shorten retention.
    Compliance,
}

impl ObjectLockMode {
    /// Every mode.
    pub const ALL: [ObjectLockMode; 2] = [ObjectLockMode::Governance, ObjectLockMode::Compliance];

    /// The name in tenant files.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectLockMode::Governance => "governance",
            ObjectLockMode::Compliance => "compliance",
        }
    }
}

crate::error::display_as_str!(ObjectLockMode);

impl FromStr for ObjectLockMode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectLockMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                ParseError::unknown("object lock mode", s, &ObjectLockMode::ALL, |m| m.as_str())
            })
    }
}

/// `backup.iam`: what `ledger-topology iam` needs beyond the bucket and the identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupIamSpec {
    /// AWS and Azure: the OIDC issuer URL of each region's Kubernetes cluster, by region name
    /// (`aws eks describe-cluster --query cluster.identity.oidc.issuer`,
    /// `az aks show --query oidcIssuerProfile.issuerUrl`). Written exactly as the cluster
    /// issues tokens: Azure compares the issuer byte for byte, trailing '/' included.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub oidc_issuers: BTreeMap<String, String>,
    /// Azure: the subscription id (a GUID) of the storage account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Azure: the resource group of the storage account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// Azure: the name of the user-assigned managed identity whose client id the backup
    /// identity names (its role assignment and federated credentials hang off it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_name: Option<String>,
    /// Azure: the managed identity's resource group (default: `resource_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_resource_group: Option<String>,
    /// GCP: the project of the GKE clusters, whose workload identity pool is
    /// `PROJECT.svc.id.goog` (default: the Google service account's project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_project: Option<String>,
    /// GCP: the project of the bucket, where the custom role that lets the backup identity set
    /// object retention (`object_lock`) is created (default: the Google service account's
    /// project). A project's custom role can be granted on that project's buckets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_project: Option<String>,
}

/// Checks the backup section's IAM inputs; tenant validation reports the first problem.
pub(crate) fn validate(spec: &TenantSpec) -> Result<(), Problem> {
    let b = &spec.backup;
    let provider = spec.provider;
    if let Some(prefix) = &b.prefix {
        validate_prefix("backup.prefix", prefix)?;
    }
    if let Some(key) = b.kms_key() {
        let field = match provider {
            Provider::Gcp => "backup.encryption.kms_key_name",
            _ => "backup.encryption.kms_key_id",
        };
        validate_kms_key(field, provider, key)?;
    }
    match &b.iam {
        Some(iam) => validate_iam_section(spec, "backup.iam", iam),
        None => Ok(()),
    }
}

/// Checks an `iam` section (`backup.iam`, `redpanda.tiered_storage.iam`) whose fields are
/// written under `at`.
pub(crate) fn validate_iam_section(
    spec: &TenantSpec,
    at: &str,
    iam: &BackupIamSpec,
) -> Result<(), Problem> {
    let provider = spec.provider;
    let only_on = |field: &str, value: &str, providers: &[Provider], what: &str| {
        ensure(providers.contains(&provider), || {
            Problem::new(
                format!("{at}.{field}"),
                value,
                format!("{what} (not provider {provider})"),
                format!("remove {at}.{field}"),
            )
        })
    };
    // Issuers are keyed by region; a tenant with sites by its sites' regions (one cluster each).
    let regions: Vec<&str> = if spec.sites.is_empty() {
        spec.regions.iter().map(|r| r.name.as_str()).collect()
    } else {
        spec.sites.iter().map(|s| s.region.as_str()).collect()
    };
    for (region, issuer) in &iam.oidc_issuers {
        let field = format!("{at}.oidc_issuers.{region}");
        only_on(
            &format!("oidc_issuers.{region}"),
            issuer,
            &[Provider::Aws, Provider::Azure],
            "AWS IRSA and Azure workload identity trust a cluster's OIDC issuer; GKE trusts the project's pool",
        )?;
        if !regions.contains(&region.as_str()) {
            return Err(Problem::new(
                &field,
                region,
                if spec.sites.is_empty() {
                    "issuers are listed by the tenant's region names"
                } else {
                    "issuers are listed by the sites' region names (one Kubernetes cluster each)"
                },
                format!("use one of {}", regions.join(", ")),
            ));
        }
        validate_issuer(&field, issuer)?;
    }
    if let Some(id) = &iam.subscription_id {
        only_on(
            "subscription_id",
            id,
            &[Provider::Azure],
            "a subscription is Azure's",
        )?;
        ensure(is_guid(id), || {
            Problem::new(
                format!("{at}.subscription_id"),
                id,
                "an Azure subscription id is a GUID (8-4-4-4-12 hexadecimal digits)",
                "copy it from `az account show --query id`",
            )
        })?;
    }
    for (field, value) in [
        ("resource_group", &iam.resource_group),
        ("identity_resource_group", &iam.identity_resource_group),
    ] {
        let Some(rg) = value else { continue };
        only_on(field, rg, &[Provider::Azure], "a resource group is Azure's")?;
        let ok = (1..=90).contains(&rg.len())
            && rg
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
            && !rg.ends_with('.');
        ensure(ok, || {
            Problem::new(
                format!("{at}.{field}"),
                rg,
                "a resource group name is 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'",
                "e.g. rg-ledger-prod",
            )
        })?;
    }
    if let Some(name) = &iam.identity_name {
        only_on(
            "identity_name",
            name,
            &[Provider::Azure],
            "a user-assigned managed identity is Azure's",
        )?;
        let ok = (3..=128).contains(&name.len())
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ensure(ok, || {
            Problem::new(
                format!("{at}.identity_name"),
                name,
                "a managed identity name is 3-128 letters, digits, '-' or '_', starting with a letter or digit",
                "copy it from `az identity list --query [].name`",
            )
        })?;
    }
    for (field, value, what) in [
        (
            "cluster_project",
            &iam.cluster_project,
            "a workload identity pool project is GKE's",
        ),
        (
            "bucket_project",
            &iam.bucket_project,
            "a bucket's project is Google Cloud's",
        ),
    ] {
        let Some(project) = value else { continue };
        only_on(field, project, &[Provider::Gcp], what)?;
        ensure(is_gcp_project(project), || {
            Problem::new(
                format!("{at}.{field}"),
                project,
                "a project id is 6-30 lowercase letters, digits or '-', starting with a letter and not ending with '-'",
                "e.g. fabrikam-prod",
            )
        })?;
    }
    Ok(())
}

/// A key prefix that IAM can scope to: no wildcard or condition syntax can widen it.
fn validate_prefix(field: &str, prefix: &str) -> Result<(), Problem> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 512
        && prefix.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    ensure(ok, || {
        Problem::new(
            field,
            prefix,
            "a prefix is '/'-separated segments of letters, digits, '-', '_' and '.', without a leading or trailing '/' (no '*' or '?': IAM would read them as wildcards)",
            "e.g. prefix: acme-bank/prod",
        )
    })
}

/// The key must be named so that a policy can grant exactly it. Which encryption field a
/// provider takes is the tenant rules' (`backup.encryption`); this checks the name's form.
fn validate_kms_key(field: &str, provider: Provider, key: &str) -> Result<(), Problem> {
    match provider {
        Provider::Aws => {
            let parts: Vec<&str> = key.splitn(6, ':').collect();
            let fix = "give the key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (`aws kms describe-key --key-id alias/NAME --query KeyMetadata.Arn`)";
            let [arn, partition, "kms", region, account, resource] = parts.as_slice() else {
                return Err(Problem::new(
                    field,
                    key,
                    "an AWS KMS key is named by its ARN, arn:<partition>:kms:<region>:<account>:key/<id>",
                    fix,
                ));
            };
            if resource.starts_with("alias/") {
                return Err(Problem::new(
                    field,
                    key,
                    "IAM grants the use of a key by its key ARN; an alias ARN matches no key in a policy",
                    fix,
                ));
            }
            let id = resource.strip_prefix("key/").unwrap_or("");
            let ok = *arn == "arn"
                && ["aws", "aws-cn", "aws-us-gov"].contains(partition)
                && !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            ensure(ok, || {
                Problem::new(
                    field,
                    key,
                    "an AWS KMS key ARN is arn:<partition>:kms:<region>:<12-digit account>:key/<id>",
                    fix,
                )
            })
        }
        Provider::Gcp => {
            let parts: Vec<&str> = key.split('/').collect();
            let ok = matches!(
                parts.as_slice(),
                ["projects", p, "locations", l, "keyRings", r, "cryptoKeys", k]
                    if [p, l, r, k].iter().all(|s| !s.is_empty()
                        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
            );
            ensure(ok, || {
                Problem::new(
                    field,
                    key,
                    "a Cloud KMS key is named projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>",
                    "copy it from `gcloud kms keys list --keyring RING --location LOCATION`",
                )
            })
        }
        // MinIO encrypts with its own KMS (KES) on the server; Azure has no key here.
        _ => Ok(()),
    }
}

fn validate_issuer(field: &str, issuer: &str) -> Result<(), Problem> {
    let host = issuer
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or(""));
    let ok = host.is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
    }) && !issuer
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b"?#*\"\\".contains(&b));
    ensure(ok, || {
        Problem::new(
            field,
            issuer,
            "an OIDC issuer is an https URL with a host and no query, fragment or wildcard",
            "copy it from `aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer` or `az aks show -n CLUSTER -g GROUP --query oidcIssuerProfile.issuerUrl`",
        )
    })
}

/// Checks a KMS key named in field `field` (e.g. `redpanda.tiered_storage.kms_key_id`).
pub(crate) fn validate_kms_key_field(
    field: &str,
    provider: Provider,
    key: &str,
) -> Result<(), Problem> {
    validate_kms_key(field, provider, key)
}

pub(crate) fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(crate) fn is_gcp_project(project: &str) -> bool {
    (6..=30).contains(&project.len())
        && project
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
        && !project.ends_with('-')
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A key path given as an option (not in the tenant file), checked like `backup.prefix`.
pub(super) fn validate_path(field: &str, path: &str) -> Result<(), IamError> {
    validate_prefix(field, path).map_err(|p| IamError::invalid(p.field, p.value, p.rule, p.fix))
}

/// A Kubernetes service account name (RFC 1123 subdomain) given as an option.
pub(super) fn validate_service_account(name: &str) -> Result<(), IamError> {
    crate::identity::validate_dns_subdomain("cockroach service account", name).map_err(|e| {
        let p = Problem::from_model(e, "");
        IamError::invalid(p.field, p.value, p.rule, "e.g. cockroachdb")
    })
}
