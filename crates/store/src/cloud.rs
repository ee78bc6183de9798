//! Building `object_store`'s cloud clients from resolved options and credentials.

use std::sync::Arc;

use object_store::ObjectStore;

use super::builder::Resolved;
use super::credentials::{EnvVars, StoreCredentials};
use super::encryption::Encryption;
use super::error::StoreError;

/// `inner`, with refusals of its encrypted requests explained (see the `refusal` module).
#[cfg(any(feature = "s3", feature = "azure", feature = "gcs"))]
pub(crate) fn with_refusals(
    inner: Arc<dyn ObjectStore>,
    encryption: Encryption,
) -> Arc<dyn ObjectStore> {
    Arc::new(super::forward::Forward(super::refusal::Refusals::new(
        inner, encryption,
    )))
}

/// Without cloud stores nothing is encrypted by a server (a folder refuses the options).
#[cfg(not(any(feature = "s3", feature = "azure", feature = "gcs")))]
pub(crate) fn with_refusals(
    inner: Arc<dyn ObjectStore>,
    _encryption: Encryption,
) -> Arc<dyn ObjectStore> {
    inner
}

#[cfg(any(feature = "s3", feature = "azure", feature = "gcs"))]
mod enabled {
    use object_store::{BackoffConfig, ClientOptions, RetryConfig};

    use super::super::builder::Resolved;
    use super::super::credentials::StoreCredentials;
    use super::super::encryption::Encryption;
    use super::super::error::StoreError;
    use super::super::options::RetryOptions;
    use super::super::secret::scrub;

    pub(super) fn client_options(resolved: &Resolved) -> ClientOptions {
        ClientOptions::new()
            .with_allow_http(resolved.allow_http)
            .with_connect_timeout(resolved.options.connect_timeout)
            .with_timeout(resolved.options.request_timeout)
    }

    pub(super) fn retry_config(retry: &RetryOptions) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: retry.initial_backoff,
                max_backoff: retry.max_backoff,
                base: 2.0,
            },
            max_retries: retry.max_retries,
            retry_timeout: retry.retry_timeout,
        }
    }

    /// The client's own message, with every secret we gave it replaced by `redacted`.
    pub(super) fn client_error(
        store: &'static str,
        credentials: &StoreCredentials,
        e: impl std::fmt::Display,
    ) -> StoreError {
        client_error_with(store, credentials, None, e)
    }

    /// [`client_error`], also scrubbing the customer key of `encryption`.
    pub(super) fn client_error_with(
        store: &'static str,
        credentials: &StoreCredentials,
        encryption: Option<&Encryption>,
        e: impl std::fmt::Display,
    ) -> StoreError {
        let mut secrets = credentials.secrets();
        secrets.extend(encryption.map(Encryption::secrets).unwrap_or_default());
        StoreError::Client {
            store,
            message: scrub(&e.to_string(), secrets),
        }
    }
}

/// An S3 (or GCS) store, and the reader of its objects' retention when it writes with
/// retention.
pub(crate) type S3Built = (
    Arc<dyn ObjectStore>,
    Option<Arc<dyn super::retention::RetentionSource>>,
);

#[cfg(feature = "s3")]
pub(crate) fn build_s3(
    bucket: &str,
    resolved: &Resolved,
    credentials: &StoreCredentials,
    env: &EnvVars,
    encryption: Option<&Encryption>,
) -> Result<S3Built, StoreError> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};

    let options = &resolved.options;
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(options.region.as_deref().unwrap_or("us-east-1"))
        .with_client_options(enabled::client_options(resolved))
        .with_allow_http(resolved.allow_http)
        .with_retry(enabled::retry_config(&options.retry))
        .with_conditional_put(if options.s3_conditional_put {
            S3ConditionalPut::ETagMatch
        } else {
            S3ConditionalPut::Disabled
        })
        .with_virtual_hosted_style_request(
            !options.path_style.unwrap_or(options.endpoint.is_some()),
        );
    if let Some(endpoint) = &options.endpoint {
        b = b.with_endpoint(endpoint.trim_end_matches('/'));
    }
    b = match credentials {
        StoreCredentials::Anonymous => b.with_skip_signature(true),
        StoreCredentials::S3Keys {
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            let b = b
                .with_access_key_id(access_key_id)
                .with_secret_access_key(secret_access_key.expose());
            match session_token {
                Some(token) => b.with_token(token.expose()),
                None => b,
            }
        }
        StoreCredentials::AwsWebIdentity {
            role_arn,
            token_file,
        } => b
            .with_config(AmazonS3ConfigKey::RoleArn, role_arn)
            .with_config(
                AmazonS3ConfigKey::WebIdentityTokenFile,
                token_file.to_string_lossy(),
            )
            .with_config(AmazonS3ConfigKey::RoleSessionName, "thinledger-backup"),
        _ => {
            // The default chain: ECS/EKS container credentials when the environment names them,
            // otherwise the instance metadata service.
            let mut b = b;
            for (var, key) in [
                (
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    AmazonS3ConfigKey::ContainerCredentialsRelativeUri,
                ),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    AmazonS3ConfigKey::ContainerCredentialsFullUri,
                ),
                (
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    AmazonS3ConfigKey::ContainerAuthorizationTokenFile,
                ),
            ] {
                if let Some(value) = env.get(var) {
                    b = b.with_config(key, value);
                }
            }
            b
        }
    };
    if let Some(Encryption::S3 {
        mode,
        kms_key_id,
        bucket_key,
        customer_key,
    }) = encryption
    {
        // object_store's own option names; it sends the headers on every write (and the
        // SSE-C ones on reads too).
        let config = |name: &str| {
            name.parse::<AmazonS3ConfigKey>()
                .map_err(|e| enabled::client_error("s3", credentials, e))
        };
        b = b.with_config(config("aws_server_side_encryption")?, mode.as_str());
        if let Some(id) = kms_key_id {
            b = b.with_config(config("aws_sse_kms_key_id")?, id);
        }
        if let Some(enabled) = bucket_key {
            b = b.with_config(config("aws_sse_bucket_key_enabled")?, enabled.to_string());
        }
        if let Some(key) = customer_key {
            b = b.with_config(config("aws_sse_customer_key_base64")?, key.expose().trim());
        }
    }
    let store = b
        .clone()
        .build()
        .map_err(|e| enabled::client_error_with("s3", credentials, encryption, e))?;
    match options.object_lock {
        Some(lock) => {
            let customer_key = match encryption {
                Some(Encryption::S3 { customer_key, .. }) => customer_key.as_ref(),
                _ => None,
            };
            let retention = super::object_lock::S3Retention::new(
                store.clone(),
                &enabled::client_options(resolved),
                customer_key,
            )
            .map_err(|e| enabled::client_error_with("s3", credentials, encryption, e))?;
            let locked = super::forward::Forward(
                super::object_lock::ObjectLockStore::new(
                    store,
                    b,
                    enabled::client_options(resolved),
                    lock,
                )
                .map_err(|e| enabled::client_error_with("s3", credentials, encryption, e))?,
            );
            Ok((Arc::new(locked), Some(Arc::new(retention))))
        }
        None => Ok((Arc::new(store), None)),
    }
}

#[cfg(not(feature = "s3"))]
pub(crate) fn build_s3(
    _bucket: &str,
    _resolved: &Resolved,
    _credentials: &StoreCredentials,
    _env: &EnvVars,
    _encryption: Option<&Encryption>,
) -> Result<S3Built, StoreError> {
    Err(StoreError::FeatureDisabled {
        scheme: "s3",
        feature: "s3",
    })
}

/// An Azure store, and the reader of its blobs' immutability policies when it writes with
/// them (see the `azure_lock` module).
pub(crate) type AzureBuilt = S3Built;

#[cfg(feature = "azure")]
pub(crate) fn build_azure(
    container: &str,
    resolved: &Resolved,
    credentials: &StoreCredentials,
    encryption: Option<&Encryption>,
) -> Result<AzureBuilt, StoreError> {
    use object_store::azure::MicrosoftAzureBuilder;
    use object_store::{HeaderMap, HeaderValue};

    let options = &resolved.options;
    let account = options.azure_account.as_deref().unwrap_or_default();
    let mut client_options = enabled::client_options(resolved);
    if let Some(Encryption::AzureScope(scope)) = encryption {
        // object_store has no encryption-scope option: the header goes on every request
        // (Azure ignores it on reads). Shared Key signing is refused with it (see encryption).
        let value = HeaderValue::from_str(scope)
            .map_err(|e| enabled::client_error("azure", credentials, e))?;
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-encryption-scope", value);
        client_options = client_options.with_default_headers(headers);
    }
    let mut b = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container)
        .with_client_options(client_options)
        .with_allow_http(resolved.allow_http)
        .with_retry(enabled::retry_config(&options.retry));
    if let Some(endpoint) = &options.endpoint {
        b = b.with_endpoint(endpoint.trim_end_matches('/').to_owned());
    }
    b = with_azure_credentials(b, credentials);
    if let Some(Encryption::AzureCustomerKey(key)) = encryption {
        b = b.with_encryption_key(key.expose().trim());
    }
    let shared_key = match credentials {
        StoreCredentials::AzureAccessKey { key } => Some(key.expose()),
        _ => None,
    };
    let failed =
        |e: object_store::Error| enabled::client_error_with("azure", credentials, encryption, e);
    if let Some(lock) = options.object_lock {
        let connector = super::azure_lock::RetentionConnector::new(lock, account, shared_key)
            .map_err(failed)?;
        b = b.with_http_connector(connector);
    }
    let store = b.build().map_err(failed)?;
    let retention: Option<Arc<dyn super::retention::RetentionSource>> = match options.object_lock {
        Some(_) => {
            let service = match &options.endpoint {
                Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
                None => format!("https://{account}.blob.core.windows.net"),
            };
            let signer = (!matches!(credentials, StoreCredentials::Anonymous))
                .then(|| store.credentials().clone());
            Some(Arc::new(
                super::azure_lock::AzureRetention::new(
                    &enabled::client_options(resolved),
                    &service,
                    container,
                    account,
                    signer,
                )
                .map_err(failed)?,
            ))
        }
        None => None,
    };
    Ok((
        Arc::new(super::forward::Forward(super::suffix::SuffixViaHead(store))),
        retention,
    ))
}

/// `b` signing as `credentials` say (one mapping for the store and for
/// [`azure_credentials`]).
#[cfg(feature = "azure")]
fn with_azure_credentials(
    b: object_store::azure::MicrosoftAzureBuilder,
    credentials: &StoreCredentials,
) -> object_store::azure::MicrosoftAzureBuilder {
    match credentials {
        StoreCredentials::Anonymous => b.with_skip_signature(true),
        StoreCredentials::AzureAccessKey { key } => b
            .with_credential_type("access_key")
            .with_access_key(key.expose()),
        StoreCredentials::AzureWorkloadIdentity {
            client_id,
            tenant_id,
            token_file,
        } => b
            .with_credential_type("workload_identity")
            .with_client_id(client_id)
            .with_tenant_id(tenant_id)
            .with_federated_token_file(token_file.to_string_lossy()),
        StoreCredentials::AzureManagedIdentity { client_id } => {
            let b = b.with_credential_type("managed_identity");
            match client_id {
                Some(id) => b.with_client_id(id),
                None => b,
            }
        }
        _ => b.with_credential_type("managed_identity"),
    }
}

/// The credential provider an Azure store of `container` signs with: the same client options,
/// endpoint and credential mapping as [`build_azure`], so that another Azure client (the
/// bucket control plane's Blob SDK) gets the very tokens the store would.
#[cfg(feature = "azure")]
pub(crate) fn azure_credentials(
    container: &str,
    resolved: &Resolved,
    credentials: &StoreCredentials,
) -> Result<object_store::azure::AzureCredentialProvider, StoreError> {
    use object_store::azure::MicrosoftAzureBuilder;

    let options = &resolved.options;
    let mut b = MicrosoftAzureBuilder::new()
        .with_account(options.azure_account.as_deref().unwrap_or_default())
        .with_container_name(container)
        .with_client_options(enabled::client_options(resolved))
        .with_allow_http(resolved.allow_http)
        .with_retry(enabled::retry_config(&options.retry));
    if let Some(endpoint) = &options.endpoint {
        b = b.with_endpoint(endpoint.trim_end_matches('/').to_owned());
    }
    let store = with_azure_credentials(b, credentials)
        .build()
        .map_err(|e| enabled::client_error("azure", credentials, e))?;
    Ok(store.credentials().clone())
}

#[cfg(not(feature = "azure"))]
pub(crate) fn build_azure(
    _container: &str,
    _resolved: &Resolved,
    _credentials: &StoreCredentials,
    _encryption: Option<&Encryption>,
) -> Result<AzureBuilt, StoreError> {
    Err(StoreError::FeatureDisabled {
        scheme: "az",
        feature: "azure",
    })
}

/// The public GCS endpoint, for both the XML and the JSON API.
#[cfg(feature = "gcs")]
const GCS_BASE_URL: &str = "https://storage.googleapis.com";

/// A GCS store, and the reader of its objects' retention when it writes with retention.
#[cfg(feature = "gcs")]
pub(crate) fn build_gcs(
    bucket: &str,
    resolved: &Resolved,
    credentials: &StoreCredentials,
    encryption: Option<&Encryption>,
) -> Result<S3Built, StoreError> {
    let lock = resolved.options.object_lock;
    let store = gcs_store(bucket, resolved, credentials, encryption)?.with_lock(lock);
    let retention: Option<Arc<dyn super::retention::RetentionSource>> = match lock {
        Some(_) => Some(Arc::new(store.clone())),
        None => None,
    };
    Ok((Arc::new(super::forward::Forward(store)), retention))
}

/// The GCS client behind [`build_gcs`] and the bucket JSON API, signed with `credentials`.
#[cfg(feature = "gcs")]
pub(crate) fn gcs_store(
    bucket: &str,
    resolved: &Resolved,
    credentials: &StoreCredentials,
    encryption: Option<&Encryption>,
) -> Result<super::gcs::GcsStore, StoreError> {
    use object_store::StaticCredentialProvider;
    use object_store::client::{HttpConnector, ReqwestConnector};
    use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};

    let options = &resolved.options;
    let base_url = options
        .endpoint
        .as_deref()
        .unwrap_or(GCS_BASE_URL)
        .trim_end_matches('/');
    let client_options = enabled::client_options(resolved);
    let mut b = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_base_url(base_url)
        .with_client_options(client_options.clone())
        .with_retry(enabled::retry_config(&options.retry));
    let anonymous = matches!(credentials, StoreCredentials::Anonymous);
    b = match credentials {
        StoreCredentials::Anonymous => {
            b.with_skip_signature(true)
                .with_credentials(Arc::new(StaticCredentialProvider::new(GcpCredential {
                    bearer: String::new(),
                })))
        }
        StoreCredentials::GcsCredentialsFile { path } => {
            b.with_application_credentials(path.to_string_lossy())
        }
        StoreCredentials::GcsServiceAccountKey { json } => {
            b.with_service_account_key(json.expose())
        }
        // Workload identity and the default chain: application-default credentials when a file
        // is in its well-known place, else the metadata server (GKE Workload Identity).
        _ => b,
    };
    let gcs = b
        .build()
        .map_err(|e| enabled::client_error("gcs", credentials, e))?;
    let http = ReqwestConnector::default()
        .connect(&client_options)
        .map_err(|e| enabled::client_error("gcs", credentials, e))?;
    Ok(super::gcs::GcsStore::new(
        gcs,
        http,
        anonymous,
        base_url,
        bucket,
        options.retry.clone(),
        match encryption {
            Some(Encryption::GcsKms(name)) => Some(name.clone()),
            _ => None,
        },
    ))
}

#[cfg(not(feature = "gcs"))]
pub(crate) fn build_gcs(
    _bucket: &str,
    _resolved: &Resolved,
    _credentials: &StoreCredentials,
    _encryption: Option<&Encryption>,
) -> Result<S3Built, StoreError> {
    Err(StoreError::FeatureDisabled {
        scheme: "gs",
        feature: "gcs",
    })
}
