//! How a ledger's pods prove who they are to object storage, per provider.
//!
//! A binding holds *references* only — a role ARN, a client id, a service-account email, the
//! name of a Kubernetes Secret — never a key, so it is safe to print and to log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, ensure};
use crate::provider::Provider;

/// Service-account annotation EKS reads for IAM Roles for Service Accounts.
pub const IRSA_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Pod/service-account label that opts into Azure Workload Identity.
pub const AZURE_WI_USE_LABEL: &str = "azure.workload.identity/use";
/// Service-account annotation naming the Azure managed identity's client id.
pub const AZURE_WI_CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
/// Service-account annotation naming the Azure tenant, when not the cluster's.
pub const AZURE_WI_TENANT_ID_ANNOTATION: &str = "azure.workload.identity/tenant-id";
/// Service-account annotation GKE Workload Identity reads.
pub const GKE_SERVICE_ACCOUNT_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

/// The identity a tenant's backup jobs use against object storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum IdentityBinding {
    /// AWS IAM Roles for Service Accounts: the pod receives a web-identity token for this role.
    Irsa {
        /// `arn:<partition>:iam::<12-digit account>:role/<name>`.
        role_arn: String,
    },
    /// Azure Workload Identity: a federated managed identity, selected by its client id.
    AzureWorkloadIdentity {
        /// The managed identity's client (application) id, a GUID.
        client_id: String,
        /// The Entra tenant id, a GUID, when it is not the cluster's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
    },
    /// Azure managed identity assigned to the node pool (IMDS), selected by its client id.
    AzureManagedIdentity {
        /// The user-assigned identity's client id, a GUID.
        client_id: String,
    },
    /// GKE Workload Identity: the Kubernetes service account impersonates this Google one.
    GkeWorkloadIdentity {
        /// `<name>@<project>.iam.gserviceaccount.com`.
        service_account: String,
    },
    /// S3-compatible keys (MinIO on-prem) held in a Kubernetes Secret that the pod mounts.
    SecretRef {
        /// Name of the Secret in the tenant's namespace.
        secret_name: String,
        /// Key of the access key id inside the Secret.
        #[serde(default = "default_access_key_key")]
        access_key_key: String,
        /// Key of the secret access key inside the Secret.
        #[serde(default = "default_secret_key_key")]
        secret_key_key: String,
    },
}

fn default_access_key_key() -> String {
    "AWS_ACCESS_KEY_ID".to_owned()
}

fn default_secret_key_key() -> String {
    "AWS_SECRET_ACCESS_KEY".to_owned()
}

impl IdentityBinding {
    /// An on-prem Secret reference with the conventional key names.
    pub fn secret_ref(secret_name: impl Into<String>) -> Self {
        IdentityBinding::SecretRef {
            secret_name: secret_name.into(),
            access_key_key: default_access_key_key(),
            secret_key_key: default_secret_key_key(),
        }
    }

    /// Short name of the binding kind, as in the tenant file.
    pub fn kind(&self) -> &'static str {
        match self {
            IdentityBinding::Irsa { .. } => "irsa",
            IdentityBinding::AzureWorkloadIdentity { .. } => "azure-workload-identity",
            IdentityBinding::AzureManagedIdentity { .. } => "azure-managed-identity",
            IdentityBinding::GkeWorkloadIdentity { .. } => "gke-workload-identity",
            IdentityBinding::SecretRef { .. } => "secret-ref",
        }
    }

    /// The binding kinds a provider supports; the first is the recommended one.
    pub fn kinds_for(provider: Provider) -> &'static [&'static str] {
        match provider {
            Provider::Aws => &["irsa"],
            Provider::Azure => &["azure-workload-identity", "azure-managed-identity"],
            Provider::Gcp => &["gke-workload-identity"],
            Provider::OnPrem => &["secret-ref"],
        }
    }

    /// The provider whose identity system this binding belongs to.
    pub fn provider(&self) -> Provider {
        match self {
            IdentityBinding::Irsa { .. } => Provider::Aws,
            IdentityBinding::AzureWorkloadIdentity { .. }
            | IdentityBinding::AzureManagedIdentity { .. } => Provider::Azure,
            IdentityBinding::GkeWorkloadIdentity { .. } => Provider::Gcp,
            IdentityBinding::SecretRef { .. } => Provider::OnPrem,
        }
    }

    /// Checks the binding's format and that it belongs to `provider`.
    pub fn validate_for(&self, provider: Provider) -> Result<(), ModelError> {
        if self.provider() != provider {
            return Err(identity_error(
                "identity.kind",
                self.kind(),
                &format!(
                    "{} identities work only on {}",
                    self.kind(),
                    self.provider()
                ),
                &format!(
                    "use one of {} for provider {provider}",
                    Self::kinds_for(provider).join(", ")
                ),
            ));
        }
        match self {
            IdentityBinding::Irsa { role_arn } => validate_role_arn(role_arn),
            IdentityBinding::AzureWorkloadIdentity {
                client_id,
                tenant_id,
            } => {
                validate_guid("identity.client_id", client_id)?;
                match tenant_id {
                    Some(t) => validate_guid("identity.tenant_id", t),
                    None => Ok(()),
                }
            }
            IdentityBinding::AzureManagedIdentity { client_id } => {
                validate_guid("identity.client_id", client_id)
            }
            IdentityBinding::GkeWorkloadIdentity { service_account } => {
                validate_gcp_service_account(service_account)
            }
            IdentityBinding::SecretRef {
                secret_name,
                access_key_key,
                secret_key_key,
            } => {
                validate_dns_subdomain("identity.secret_name", secret_name)?;
                validate_secret_key("identity.access_key_key", access_key_key)?;
                validate_secret_key("identity.secret_key_key", secret_key_key)
            }
        }
    }

    /// Annotations the workload's Kubernetes ServiceAccount needs for this binding.
    pub fn service_account_annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self {
            IdentityBinding::Irsa { role_arn } => {
                out.insert(IRSA_ROLE_ANNOTATION.to_owned(), role_arn.clone());
            }
            IdentityBinding::AzureWorkloadIdentity {
                client_id,
                tenant_id,
            } => {
                out.insert(AZURE_WI_CLIENT_ID_ANNOTATION.to_owned(), client_id.clone());
                if let Some(t) = tenant_id {
                    out.insert(AZURE_WI_TENANT_ID_ANNOTATION.to_owned(), t.clone());
                }
            }
            IdentityBinding::GkeWorkloadIdentity { service_account } => {
                out.insert(
                    GKE_SERVICE_ACCOUNT_ANNOTATION.to_owned(),
                    service_account.clone(),
                );
            }
            IdentityBinding::AzureManagedIdentity { .. } | IdentityBinding::SecretRef { .. } => {}
        }
        out
    }

    /// Labels the workload's pods need for this binding (Azure's webhook selects on a pod label).
    pub fn pod_labels(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let IdentityBinding::AzureWorkloadIdentity { .. } = self {
            out.insert(AZURE_WI_USE_LABEL.to_owned(), "true".to_owned());
        }
        out
    }

    /// Whether pods need a projected service-account token (every workload identity does; a
    /// Secret reference does not, so its pods can run without one).
    pub fn needs_service_account_token(&self) -> bool {
        !matches!(
            self,
            IdentityBinding::SecretRef { .. } | IdentityBinding::AzureManagedIdentity { .. }
        )
    }
}

fn identity_error(field: &str, value: &str, rule: &str, fix: &str) -> ModelError {
    ModelError::Identity {
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.to_owned(),
        fix: fix.to_owned(),
    }
}

fn validate_role_arn(arn: &str) -> Result<(), ModelError> {
    let fail = |rule: &str| {
        identity_error(
            "identity.role_arn",
            arn,
            rule,
            "give the IAM role's ARN, e.g. arn:aws:iam::123456789012:role/ledger-backup",
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(fail("an IAM role ARN has six ':'-separated parts"));
    };
    if *prefix != "arn" || !["aws", "aws-cn", "aws-us-gov"].contains(partition) {
        return Err(fail(
            "an ARN starts with arn:aws:, arn:aws-cn: or arn:aws-us-gov:",
        ));
    }
    if *service != "iam" || !region.is_empty() {
        return Err(fail(
            "IRSA needs an IAM role (arn:<partition>:iam::<account>:role/<name>)",
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail("the account id is 12 digits"));
    }
    let Some(name) = resource.strip_prefix("role/") else {
        return Err(fail("the resource is role/<name>"));
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.is_empty()
        || last.len() > 64
        || !last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(fail(
            "a role name is 1-64 characters of letters, digits and +=,.@_-",
        ));
    }
    Ok(())
}

fn validate_guid(field: &str, value: &str) -> Result<(), ModelError> {
    let groups: Vec<&str> = value.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ensure(ok, || {
        identity_error(
            field,
            value,
            "Azure ids are GUIDs (8-4-4-4-12 hexadecimal digits)",
            "copy the managed identity's client id from `az identity show --query clientId`",
        )
    })
}

fn validate_gcp_service_account(email: &str) -> Result<(), ModelError> {
    let fail = |rule: &str| {
        identity_error(
            "identity.service_account",
            email,
            rule,
            "give the Google service account's email, e.g. ledger-backup@my-project.iam.gserviceaccount.com",
        )
    };
    let Some((name, domain)) = email.split_once('@') else {
        return Err(fail("a service account is an email address"));
    };
    let Some(project) = domain.strip_suffix(".iam.gserviceaccount.com") else {
        return Err(fail(
            "Workload Identity binds to a service account in *.iam.gserviceaccount.com",
        ));
    };
    let name_ok = (6..=30).contains(&name.len())
        && name.bytes().all(is_dns_label_byte)
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if !name_ok {
        return Err(fail(
            "an account name is 6-30 lowercase letters, digits or '-', starting with a letter",
        ));
    }
    if project.is_empty() {
        return Err(fail("the project id is missing"));
    }
    Ok(())
}

/// A byte allowed in a DNS label (RFC 1123): lowercase letter, digit or `-`.
pub(crate) fn is_dns_label_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// Checks a Kubernetes object name (RFC 1123 subdomain).
pub(crate) fn validate_dns_subdomain(field: &str, value: &str) -> Result<(), ModelError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(is_dns_label_byte)
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    ensure(ok, || {
        identity_error(
            field,
            value,
            "a Kubernetes name is lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters",
            "rename it, e.g. minio-backup-credentials",
        )
    })
}

fn validate_secret_key(field: &str, value: &str) -> Result<(), ModelError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ensure(ok, || {
        identity_error(
            field,
            value,
            "a Secret key is letters, digits, '-', '_' and '.'",
            "use the key name as stored in the Secret, e.g. AWS_ACCESS_KEY_ID",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn irsa(arn: &str) -> IdentityBinding {
        IdentityBinding::Irsa {
            role_arn: arn.to_owned(),
        }
    }

    #[rstest]
    #[case("arn:aws:iam::123456789012:role/ledger-backup", true)]
    #[case("arn:aws-us-gov:iam::123456789012:role/path/to/ledger", true)]
    #[case("arn:aws:iam::12345678901:role/short-account", false)]
    #[case("arn:aws:s3:::bucket", false)]
    #[case("arn:aws:iam::123456789012:user/someone", false)]
    #[case("role/ledger", false)]
    fn role_arns(#[case] arn: &str, #[case] ok: bool) {
        assert_eq!(irsa(arn).validate_for(Provider::Aws).is_ok(), ok, "{arn}");
    }

    #[rstest]
    #[case("0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d", true)]
    #[case("0F4C8A2E-9F1B-4B7A-8C3D-2E5F6A7B8C9D", true)]
    #[case("not-a-guid", false)]
    #[case("0f4c8a2e9f1b4b7a8c3d2e5f6a7b8c9d", false)]
    fn azure_client_ids(#[case] id: &str, #[case] ok: bool) {
        let b = IdentityBinding::AzureWorkloadIdentity {
            client_id: id.to_owned(),
            tenant_id: None,
        };
        assert_eq!(b.validate_for(Provider::Azure).is_ok(), ok, "{id}");
    }

    #[rstest]
    #[case("ledger-backup@bank-prod.iam.gserviceaccount.com", true)]
    #[case("ledger-backup@bank-prod.gserviceaccount.com", false)]
    #[case("Ledger@bank.iam.gserviceaccount.com", false)]
    #[case("no-at-sign", false)]
    fn gcp_service_accounts(#[case] email: &str, #[case] ok: bool) {
        let b = IdentityBinding::GkeWorkloadIdentity {
            service_account: email.to_owned(),
        };
        assert_eq!(b.validate_for(Provider::Gcp).is_ok(), ok, "{email}");
    }

    #[rstest]
    #[case("minio-backup", true)]
    #[case("MinIO_Backup", false)]
    #[case("-leading", false)]
    fn secret_names(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(
            IdentityBinding::secret_ref(name)
                .validate_for(Provider::OnPrem)
                .is_ok(),
            ok
        );
    }

    #[test]
    fn binding_of_another_provider_is_refused_with_the_valid_kinds() {
        let err = irsa("arn:aws:iam::123456789012:role/x")
            .validate_for(Provider::Gcp)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gke-workload-identity"), "{err}");
        assert!(err.contains("irsa identities work only on aws"), "{err}");
    }

    #[test]
    fn annotations_and_labels_per_binding() {
        let arn = "arn:aws:iam::123456789012:role/x";
        assert_eq!(
            irsa(arn).service_account_annotations()[IRSA_ROLE_ANNOTATION],
            arn
        );
        let wi = IdentityBinding::AzureWorkloadIdentity {
            client_id: "0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d".into(),
            tenant_id: None,
        };
        assert_eq!(wi.pod_labels()[AZURE_WI_USE_LABEL], "true");
        assert!(
            wi.service_account_annotations()
                .contains_key(AZURE_WI_CLIENT_ID_ANNOTATION)
        );
        let secret = IdentityBinding::secret_ref("minio");
        assert!(secret.service_account_annotations().is_empty());
        assert!(!secret.needs_service_account_token());
    }

    #[test]
    fn deserialises_from_tagged_yaml_like_json() {
        let b: IdentityBinding =
            serde_json::from_str(r#"{"kind":"secret-ref","secret_name":"minio-backup"}"#).unwrap();
        assert_eq!(b, IdentityBinding::secret_ref("minio-backup"));
        let err = serde_json::from_str::<IdentityBinding>(r#"{"kind":"irsa","role":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("role"), "{err}");
    }
}
