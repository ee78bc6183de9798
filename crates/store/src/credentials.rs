//! Who the store client signs requests as, and how a provider identity binding selects it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use thinledger_topology::IdentityBinding;

use super::error::{Invalid, StoreError};
use super::location::StoreKind;
use super::secret::Secret;

/// Where EKS mounts the IRSA web-identity token (its webhook also sets
/// `AWS_WEB_IDENTITY_TOKEN_FILE` to this path).
pub const EKS_WEB_IDENTITY_TOKEN_FILE: &str =
    "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
/// Where Azure Workload Identity mounts the federated token (its webhook also sets
/// `AZURE_FEDERATED_TOKEN_FILE` to this path).
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// The credentials a store signs its requests with.
///
/// `Debug` shows which kind is used, never a key: secret parts are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreCredentials {
    /// The cloud's own chain on the machine: AWS instance/container credentials, the Azure
    /// managed identity of the node, Google application-default credentials or the metadata
    /// server. Nothing for a local folder.
    #[default]
    Default,
    /// Unsigned requests (public buckets, emulators).
    Anonymous,
    /// S3 or MinIO access keys.
    S3Keys {
        /// Access key id (not secret by itself, but not printed either).
        access_key_id: String,
        /// Secret access key.
        secret_access_key: Secret,
        /// Session token of temporary credentials.
        session_token: Option<Secret>,
    },
    /// AWS web identity: IRSA on EKS. The token file is read on every refresh.
    AwsWebIdentity {
        /// IAM role to assume.
        role_arn: String,
        /// The projected service-account token.
        token_file: PathBuf,
    },
    /// Azure storage account shared key.
    AzureAccessKey {
        /// The base64 account key.
        key: Secret,
    },
    /// Azure Workload Identity: a federated token exchanged for the managed identity's token.
    AzureWorkloadIdentity {
        /// The managed identity's client id.
        client_id: String,
        /// The Entra tenant id.
        tenant_id: String,
        /// The projected federated token.
        token_file: PathBuf,
    },
    /// Azure managed identity from the instance metadata service.
    AzureManagedIdentity {
        /// A user-assigned identity's client id; `None` uses the system-assigned one.
        client_id: Option<String>,
    },
    /// A Google credentials file: a service-account key, or application-default credentials.
    GcsCredentialsFile {
        /// Path of the JSON file.
        path: PathBuf,
    },
    /// A Google service-account key given as JSON text.
    GcsServiceAccountKey {
        /// The key file's JSON.
        json: Secret,
    },
    /// GKE Workload Identity: tokens from the metadata server for the bound service account.
    GcsWorkloadIdentity {
        /// The Google service account the Kubernetes one impersonates (for display only; the
        /// metadata server decides).
        service_account: Option<String>,
    },
}

impl StoreCredentials {
    /// The store kind these credentials belong to (`None`: any kind).
    pub fn store_kind(&self) -> Option<StoreKind> {
        match self {
            StoreCredentials::Default | StoreCredentials::Anonymous => None,
            StoreCredentials::S3Keys { .. } | StoreCredentials::AwsWebIdentity { .. } => {
                Some(StoreKind::S3)
            }
            StoreCredentials::AzureAccessKey { .. }
            | StoreCredentials::AzureWorkloadIdentity { .. }
            | StoreCredentials::AzureManagedIdentity { .. } => Some(StoreKind::Azure),
            StoreCredentials::GcsCredentialsFile { .. }
            | StoreCredentials::GcsServiceAccountKey { .. }
            | StoreCredentials::GcsWorkloadIdentity { .. } => Some(StoreKind::Gcs),
        }
    }

    /// A short description, safe to log: `static keys`, `web identity (IRSA)`, ….
    pub fn describe(&self) -> &'static str {
        match self {
            StoreCredentials::Default => "default chain",
            StoreCredentials::Anonymous => "anonymous",
            StoreCredentials::S3Keys { .. } => "static keys",
            StoreCredentials::AwsWebIdentity { .. } => "web identity (IRSA)",
            StoreCredentials::AzureAccessKey { .. } => "account key",
            StoreCredentials::AzureWorkloadIdentity { .. } => "workload identity",
            StoreCredentials::AzureManagedIdentity { .. } => "managed identity",
            StoreCredentials::GcsCredentialsFile { .. } => "credentials file",
            StoreCredentials::GcsServiceAccountKey { .. } => "service-account key",
            StoreCredentials::GcsWorkloadIdentity { .. } => "workload identity (metadata server)",
        }
    }

    #[cfg_attr(
        not(any(feature = "s3", feature = "azure", feature = "gcs")),
        allow(dead_code)
    )]
    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        match self {
            StoreCredentials::S3Keys {
                secret_access_key,
                session_token,
                ..
            } => std::iter::once(secret_access_key)
                .chain(session_token.as_ref())
                .collect(),
            StoreCredentials::AzureAccessKey { key } => vec![key],
            StoreCredentials::GcsServiceAccountKey { json } => vec![json],
            _ => Vec::new(),
        }
    }

    /// The credentials an identity binding selects for a store of `kind`.
    ///
    /// Pure apart from `env`: workload identities need the values their admission webhooks put
    /// into the pod's environment (token file paths, the tenant id) and fall back to the
    /// documented defaults; a Secret reference needs the keys the pod receives from the Secret
    /// as environment variables. Pass [`EnvVars::from_process`] in a pod, or a map in tests.
    pub fn for_identity(
        binding: &IdentityBinding,
        kind: StoreKind,
        env: &EnvVars,
    ) -> Result<Self, StoreError> {
        let require = |expected: StoreKind| {
            if kind == expected {
                Ok(())
            } else {
                Err(StoreError::invalid(
                    "identity.kind",
                    binding.kind(),
                    format!(
                        "a {} identity signs requests to {expected} stores, not {kind}",
                        binding.kind()
                    ),
                    "use the store of the tenant's own cloud, or pass credentials for this store explicitly",
                ))
            }
        };
        Ok(match binding {
            IdentityBinding::Irsa { role_arn } => {
                require(StoreKind::S3)?;
                StoreCredentials::AwsWebIdentity {
                    role_arn: role_arn.clone(),
                    token_file: env
                        .get("AWS_WEB_IDENTITY_TOKEN_FILE")
                        .unwrap_or(EKS_WEB_IDENTITY_TOKEN_FILE)
                        .into(),
                }
            }
            IdentityBinding::AzureWorkloadIdentity {
                client_id,
                tenant_id,
            } => {
                require(StoreKind::Azure)?;
                let tenant_id = match tenant_id.as_deref().or(env.get("AZURE_TENANT_ID")) {
                    Some(t) => t.to_owned(),
                    None => {
                        return Err(StoreError::missing(
                            "identity.tenant_id",
                            "azure",
                            "set tenant_id in the identity binding, or run in a pod where the \
                             workload-identity webhook sets AZURE_TENANT_ID and build with StoreBuilder::from_env",
                        ));
                    }
                };
                StoreCredentials::AzureWorkloadIdentity {
                    client_id: client_id.clone(),
                    tenant_id,
                    token_file: env
                        .get("AZURE_FEDERATED_TOKEN_FILE")
                        .unwrap_or(AZURE_FEDERATED_TOKEN_FILE)
                        .into(),
                }
            }
            IdentityBinding::AzureManagedIdentity { client_id } => {
                require(StoreKind::Azure)?;
                StoreCredentials::AzureManagedIdentity {
                    client_id: Some(client_id.clone()),
                }
            }
            IdentityBinding::GkeWorkloadIdentity { service_account } => {
                require(StoreKind::Gcs)?;
                StoreCredentials::GcsWorkloadIdentity {
                    service_account: Some(service_account.clone()),
                }
            }
            IdentityBinding::SecretRef { .. } => {
                require(StoreKind::S3)?;
                StoreCredentials::s3_keys_from_env(Some(binding), env)?
            }
            other => {
                return Err(StoreError::invalid(
                    "identity.kind",
                    other.kind(),
                    "this identity kind has no store mapping in this version",
                    "use irsa, azure-workload-identity, azure-managed-identity, gke-workload-identity or secret-ref",
                ));
            }
        })
    }

    /// The environment variables holding the S3/MinIO access key id and secret key for
    /// `binding`: a `secret-ref` binding's Secret keys, else `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    pub fn s3_key_vars(binding: Option<&IdentityBinding>) -> (&str, &str) {
        match binding {
            Some(IdentityBinding::SecretRef {
                access_key_key,
                secret_key_key,
                ..
            }) => (access_key_key.as_str(), secret_key_key.as_str()),
            _ => ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        }
    }

    /// The S3/MinIO keys of a `secret-ref` binding, read from `env`: the variables are the
    /// Secret's keys (`access_key_key`, `secret_key_key`), as a pod receives them with
    /// `envFrom`; without a `secret-ref` binding, `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`. No session token. The one reader of MinIO keys: the CockroachDB
    /// driver's `S3Keys::from_lookup` uses it too.
    ///
    /// A missing (or empty) variable is [`StoreError::Missing`] with the field `env.<VARIABLE>`.
    pub fn s3_keys_from_env(
        binding: Option<&IdentityBinding>,
        env: &EnvVars,
    ) -> Result<Self, StoreError> {
        let (id_var, secret_var) = StoreCredentials::s3_key_vars(binding);
        let secret_name = match binding {
            Some(IdentityBinding::SecretRef { secret_name, .. }) => secret_name.as_str(),
            _ => "with the keys",
        };
        let read = |var: &str| {
            env.get(var).ok_or_else(|| {
                StoreError::missing(
                    format!("env.{var}"),
                    "s3",
                    format!(
                        "expose Secret {secret_name} to the pod as environment variables (envFrom) so \
                         {id_var} and {secret_var} are set, and build with StoreBuilder::from_env"
                    ),
                )
            })
        };
        Ok(StoreCredentials::S3Keys {
            access_key_id: read(id_var)?.to_owned(),
            secret_access_key: Secret::new(read(secret_var)?),
            session_token: None,
        })
    }

    /// Credentials named by the standard environment variables of each cloud, in the order the
    /// clouds' own tools use them; `Default` when none is set.
    ///
    /// - S3: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), then
    ///   `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (IRSA).
    /// - Azure: `AZURE_STORAGE_ACCOUNT_KEY`, then `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` +
    ///   `AZURE_FEDERATED_TOKEN_FILE` (workload identity), then `AZURE_CLIENT_ID` alone
    ///   (user-assigned managed identity).
    /// - GCS: `GOOGLE_APPLICATION_CREDENTIALS`.
    pub fn from_env_for(kind: StoreKind, env: &EnvVars) -> Self {
        match kind {
            StoreKind::S3 => {
                if let (Some(id), Some(secret)) = (
                    env.get("AWS_ACCESS_KEY_ID"),
                    env.get("AWS_SECRET_ACCESS_KEY"),
                ) {
                    return StoreCredentials::S3Keys {
                        access_key_id: id.to_owned(),
                        secret_access_key: Secret::new(secret),
                        session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
                    };
                }
                if let (Some(role), Some(file)) = (
                    env.get("AWS_ROLE_ARN"),
                    env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
                ) {
                    return StoreCredentials::AwsWebIdentity {
                        role_arn: role.to_owned(),
                        token_file: file.into(),
                    };
                }
                StoreCredentials::Default
            }
            StoreKind::Azure => {
                if let Some(key) = env.get("AZURE_STORAGE_ACCOUNT_KEY") {
                    return StoreCredentials::AzureAccessKey {
                        key: Secret::new(key),
                    };
                }
                match (
                    env.get("AZURE_CLIENT_ID"),
                    env.get("AZURE_TENANT_ID"),
                    env.get("AZURE_FEDERATED_TOKEN_FILE"),
                ) {
                    (Some(client), Some(tenant), Some(file)) => {
                        StoreCredentials::AzureWorkloadIdentity {
                            client_id: client.to_owned(),
                            tenant_id: tenant.to_owned(),
                            token_file: file.into(),
                        }
                    }
                    (Some(client), _, _) => StoreCredentials::AzureManagedIdentity {
                        client_id: Some(client.to_owned()),
                    },
                    _ => StoreCredentials::Default,
                }
            }
            StoreKind::Gcs => match env.get("GOOGLE_APPLICATION_CREDENTIALS") {
                Some(path) => StoreCredentials::GcsCredentialsFile { path: path.into() },
                None => StoreCredentials::Default,
            },
            StoreKind::Local => StoreCredentials::Default,
        }
    }
}

/// A snapshot of environment variables. `Debug` lists the names only, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    /// The current process's environment (the one place this module reads it).
    pub fn from_process() -> Self {
        EnvVars(std::env::vars().collect())
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        EnvVars(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}
