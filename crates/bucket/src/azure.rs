//! Azure containers through `azure_storage_blob`: Get Container Properties read into an
//! [`AzureContainer`], and the one change the data plane can make, the container's public
//! access level (Set Container ACL, keeping its stored access policies).
//!
//! Signing: `azure_storage_blob` takes Microsoft Entra tokens or a SAS, not Shared Key, and
//! Get/Set Container ACL refuse a SAS. With an account key, [`SharedKeyPolicy`] signs each
//! attempt, last before the transport, with `object_store`'s Shared Key signer (the one the
//! repository's own requests use). With a Microsoft Entra identity (workload identity, managed
//! identity, the node's default identity), the Blob SDK's bearer-token policy gets its tokens
//! from the store's own credential provider ([`StoreTokenCredential`]), over https only.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request, Url};
use azure_storage_blob::models::{
    BlobContainerClientGetPropertiesResultHeaders, BlobContainerClientSetAccessPolicyOptions,
    PublicAccessType,
};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use thinledger_store::object_store::azure::{
    AzureAccessKey, AzureAuthorizer, AzureCredential, AzureCredentialProvider,
};
use thinledger_store::{Invalid, StoreCredentials};

use crate::azure_container::{AzureContainer, PublicAccess};
use crate::azure_token::{ENTRA_FIX, StoreTokenCredential};
use crate::client::ChangeResult;
use crate::config::BucketConfig;
use crate::error::BucketError;
use crate::plan::BucketChange;

/// The Blob service version asked for: new enough for version-level immutability
/// (2020-06-12), one Azurite accepts.
const VERSION: &str = "2025-01-05";

/// A request: its name, and the data action (Entra) it needs.
#[derive(Clone, Copy)]
struct Op(&'static str, &'static str);

const GET_PROPERTIES: Op = Op(
    "Get Container Properties",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
);
const GET_ACL: Op = Op(
    "Get Container ACL",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
);
const SET_ACL: Op = Op(
    "Set Container ACL",
    "Microsoft.Storage/storageAccounts/blobServices/containers/setAccessPolicy/action (or the account key)",
);

/// An Azure container's control plane (its data-plane part).
pub(crate) struct AzureBucket {
    client: BlobContainerClient,
    container: String,
}

impl fmt::Debug for AzureBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureBucket")
            .field("url", self.client.url())
            .finish_non_exhaustive()
    }
}

impl AzureBucket {
    pub(crate) fn new(
        container: &str,
        account: &str,
        endpoint: Option<String>,
        credentials: &StoreCredentials,
        entra: Option<AzureCredentialProvider>,
    ) -> Result<Self, BucketError> {
        let base = endpoint.unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
        let url = Url::parse(&format!("{}/{container}", base.trim_end_matches('/'))).map_err(
            |e| {
                BucketError::invalid(
                    "url.endpoint",
                    &base,
                    format!("not a URL with the container ({e})"),
                    "give https://ACCOUNT.blob.core.windows.net, or the emulator's URL with the account",
                )
            },
        )?;
        let mut options = BlobContainerClientOptions {
            version: VERSION.to_owned(),
            ..Default::default()
        };
        let token: Option<Arc<dyn TokenCredential>> = match credentials {
            StoreCredentials::AzureAccessKey { key } => {
                let policy = SharedKeyPolicy::new(account, key.expose()).map_err(|e| {
                    BucketError::invalid(
                        "credentials.azure_access_key",
                        thinledger_store::REDACTED,
                        format!("not an account key ({e})"),
                        "give the storage account's key (base64), as for the repository",
                    )
                })?;
                options
                    .client_options
                    .per_try_policies
                    .push(Arc::new(policy));
                None
            }
            StoreCredentials::Anonymous => None,
            StoreCredentials::AzureWorkloadIdentity { .. }
            | StoreCredentials::AzureManagedIdentity { .. }
            | StoreCredentials::Default => {
                let provider = entra.ok_or_else(|| BucketError::Unsupported {
                    what: format!(
                        "Azure container configuration with {} credentials but no token provider",
                        credentials.describe()
                    ),
                    fix: "build the bucket with BucketBuilder, which resolves the identity as the store does".into(),
                })?;
                if !base.starts_with("https://") {
                    return Err(BucketError::invalid(
                        "url.endpoint",
                        &base,
                        format!(
                            "Microsoft Entra tokens ({}) are sent over https only",
                            credentials.describe()
                        ),
                        "give an https endpoint, or the account key (AZURE_STORAGE_ACCOUNT_KEY) for a plain-http emulator",
                    ));
                }
                let identity = match credentials {
                    StoreCredentials::AzureWorkloadIdentity {
                        client_id,
                        tenant_id,
                        token_file,
                    } => format!(
                        "workload identity (client {client_id}, tenant {tenant_id}, token file {})",
                        token_file.display()
                    ),
                    StoreCredentials::AzureManagedIdentity {
                        client_id: Some(id),
                    } => format!("managed identity (client {id})"),
                    other => other.describe().to_owned(),
                };
                Some(Arc::new(StoreTokenCredential::new(provider, identity)))
            }
            other => {
                return Err(BucketError::invalid(
                    "credentials",
                    other.describe(),
                    "these credentials are not an Azure identity",
                    "give the account key (AZURE_STORAGE_ACCOUNT_KEY), workload identity or managed identity",
                ));
            }
        };
        let client = BlobContainerClient::new(url, token, Some(options)).map_err(|e| {
            BucketError::Request {
                operation: "building the client",
                bucket: container.to_owned(),
                message: e.to_string(),
                fix: "Entra tokens are sent over https only: give an https endpoint".into(),
            }
        })?;
        Ok(AzureBucket {
            client,
            container: container.to_owned(),
        })
    }

    /// The container's properties as the data plane answers them.
    pub(crate) async fn properties(&self) -> Result<AzureContainer, BucketError> {
        let response = self
            .client
            .get_properties(None)
            .await
            .map_err(|e| self.request_error(GET_PROPERTIES, &e))?;
        let header = |r: azure_core::Result<Option<bool>>| {
            r.map_err(|e| self.request_error(GET_PROPERTIES, &e))
                .map(|v| v.unwrap_or(false))
        };
        let mut container = AzureContainer::new(&self.container);
        container.public_access = match response
            .access()
            .map_err(|e| self.request_error(GET_PROPERTIES, &e))?
        {
            None => PublicAccess::Private,
            Some(PublicAccessType::Blob) => PublicAccess::Blob,
            // Any other level grants at least as much as container access.
            Some(_) => PublicAccess::Container,
        };
        container.immutable_storage_with_versioning =
            header(response.is_immutable_storage_with_versioning_enabled())?;
        container.has_immutability_policy = header(response.has_immutability_policy())?;
        container.has_legal_hold = header(response.has_legal_hold())?;
        container.default_encryption_scope = response
            .default_encryption_scope()
            .map_err(|e| self.request_error(GET_PROPERTIES, &e))?;
        container.deny_encryption_scope_override =
            header(response.prevent_encryption_scope_override())?;
        Ok(container)
    }

    pub(crate) async fn read(&self) -> Result<BucketConfig, BucketError> {
        Ok(self.properties().await?.config())
    }

    pub(crate) async fn apply(&self, change: &BucketChange) -> Result<ChangeResult, BucketError> {
        match change {
            BucketChange::BlockPublicAccess => {
                // Set Container ACL replaces the stored access policies too: send back what
                // is there, with no public access.
                let current = match self.client.get_access_policy(None).await {
                    Ok(r) => r,
                    Err(e) if denied(&e) => return Ok(self.denial(GET_ACL, &e)),
                    Err(e) => return Err(self.request_error(GET_ACL, &e)),
                };
                let identifiers = current
                    .into_model()
                    .map_err(|e| self.request_error(GET_ACL, &e))?;
                let body = identifiers
                    .try_into()
                    .map_err(|e: azure_core::Error| self.request_error(SET_ACL, &e))?;
                let options = BlobContainerClientSetAccessPolicyOptions {
                    access: None,
                    ..Default::default()
                };
                match self.client.set_access_policy(body, Some(options)).await {
                    Ok(_) => Ok(ChangeResult::Applied),
                    Err(e) if denied(&e) => Ok(self.denial(SET_ACL, &e)),
                    Err(e) => Err(self.request_error(SET_ACL, &e)),
                }
            }
            other => Err(BucketError::Unsupported {
                what: format!(
                    "{} on an Azure container (a storage-account setting)",
                    other.describe()
                ),
                fix: "change it on the storage account (Terraform, the portal or az storage account update)".into(),
            }),
        }
    }

    fn denial(&self, op: Op, e: &azure_core::Error) -> ChangeResult {
        ChangeResult::Denied {
            permission: op.1.to_owned(),
            message: format!("{}: {}", op.0, chain(e)),
        }
    }

    fn request_error(&self, op: Op, e: &azure_core::Error) -> BucketError {
        BucketError::Request {
            operation: op.0,
            bucket: self.container.clone(),
            message: chain(e),
            fix: if denied(e) {
                format!("grant the identity {} on the container", op.1)
            } else if *e.kind() == azure_core::error::ErrorKind::Credential {
                ENTRA_FIX.to_owned()
            } else {
                "check the container and account names, the endpoint and the credentials".into()
            },
        }
    }
}

/// `e` and its causes: the SDK's retry policy wraps a credential error in a message of its
/// own ("non-transport error occurred which will not be retried"), the cause says what failed.
fn chain(e: &azure_core::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

fn denied(e: &azure_core::Error) -> bool {
    e.http_status().is_some_and(|s| u16::from(s) == 403)
}

/// Signs each attempt with the account key (Shared Key), as the last policy before the
/// transport, so that every header the pipeline added is covered.
pub(crate) struct SharedKeyPolicy {
    account: String,
    key: AzureCredential,
}

impl SharedKeyPolicy {
    pub(crate) fn new(account: &str, key: &str) -> Result<Self, String> {
        let key = AzureAccessKey::try_new(key.trim()).map_err(|e| e.to_string())?;
        Ok(SharedKeyPolicy {
            account: account.to_owned(),
            key: AzureCredential::AccessKey(key),
        })
    }

    /// Signs `request`: an `http` copy of it goes through `object_store`'s signer, and the
    /// headers it sets (`Authorization`, `Date`, `x-ms-version` when absent) come back.
    pub(crate) fn sign(&self, request: &mut Request) -> Result<(), String> {
        if let Some(len) = request.body().len().filter(|n| *n > 0) {
            // Signed as sent: the transport would add it only after signing.
            request.insert_header("content-length", len.to_string());
        }
        request.headers_mut().remove("authorization");
        let mut copy = http::Request::builder()
            .method(request.method().as_str())
            .uri(request.url().as_str());
        for (name, value) in request.headers().iter() {
            copy = copy.header(name.as_str(), value.as_str());
        }
        let mut copy = copy
            .body(thinledger_store::object_store::client::HttpRequestBody::empty())
            .map_err(|e| format!("copying the request: {e}"))?;
        AzureAuthorizer::new(&self.key, &self.account)
            .try_authorize(&mut copy)
            .map_err(|e| e.to_string())?;
        for name in ["authorization", "date", "x-ms-version"] {
            if let Some(value) = copy.headers().get(name).and_then(|v| v.to_str().ok()) {
                request.insert_header(name, value.to_owned());
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SharedKeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeyPolicy")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Policy for SharedKeyPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        self.sign(request).map_err(|e| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e)
        })?;
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "the pipeline has no transport after the Shared Key policy",
            )),
        }
    }
}
