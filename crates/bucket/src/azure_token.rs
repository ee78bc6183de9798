//! Microsoft Entra tokens for the Blob SDK from the store's own credential provider.
//!
//! `azure_storage_blob` authenticates with an `azure_core` [`TokenCredential`].
//! [`StoreTokenCredential`] is one over `thinledger-store`'s `object_store` credential provider
//! ([`StoreBuilder::build_azure_credential_provider`](thinledger_store::StoreBuilder::build_azure_credential_provider)):
//! workload identity, managed identity and the node's default identity are resolved, exchanged,
//! cached and refreshed once, by the same code for the data plane and the control plane, and no
//! second identity library (`azure_identity`) is built.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::{Duration, OffsetDateTime};
use thinledger_store::object_store::CredentialProvider;
use thinledger_store::object_store::azure::AzureCredential;

/// The scope of Azure Storage's data plane, the only one the store's tokens are for.
pub(crate) const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// What to do when no token comes: the variables [`thinledger_store::StoreCredentials::from_env_for`]
/// reads, in its order.
pub(crate) const ENTRA_FIX: &str = "give an identity the storage account trusts: AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_FEDERATED_TOKEN_FILE (workload identity; the webhook sets them), AZURE_CLIENT_ID alone (a user-assigned managed identity) or nothing on a VM/AKS node with a managed identity; or the account key (AZURE_STORAGE_ACCOUNT_KEY)";

/// The store's credential provider as an `azure_core` [`TokenCredential`] for
/// [`STORAGE_SCOPE`].
pub(crate) struct StoreTokenCredential {
    provider: Arc<dyn CredentialProvider<Credential = AzureCredential>>,
    /// The identity, for messages: `workload identity (client …, token file …)`.
    kind: String,
}

impl StoreTokenCredential {
    pub(crate) fn new(
        provider: Arc<dyn CredentialProvider<Credential = AzureCredential>>,
        kind: impl Into<String>,
    ) -> Self {
        StoreTokenCredential {
            provider,
            kind: kind.into(),
        }
    }

    /// A credential error: the Blob SDK passes its kind on, and the bucket's error then gives
    /// [`ENTRA_FIX`] as the fix.
    fn error(&self, message: String) -> azure_core::Error {
        azure_core::Error::with_message(ErrorKind::Credential, message)
    }
}

impl fmt::Debug for StoreTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreTokenCredential")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenCredential for StoreTokenCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if scopes != [STORAGE_SCOPE] {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                format!(
                    "the store's {} token is for {STORAGE_SCOPE}, not {scopes:?}",
                    self.kind
                ),
            ));
        }
        let credential = self.provider.get_credential().await.map_err(|e| {
            self.error(format!(
                "no Microsoft Entra token for Azure Storage from {}: {}",
                self.kind,
                chain(&e)
            ))
        })?;
        match credential.as_ref() {
            // object_store renews its token while it has more than five minutes left; the
            // Blob SDK asks again five minutes before `expires_on`. Six minutes out, it asks
            // within a minute: never for a token object_store would not hand out itself.
            AzureCredential::BearerToken(token) => Ok(AccessToken::new(
                token.clone(),
                OffsetDateTime::now_utc() + Duration::minutes(6),
            )),
            AzureCredential::AccessKey(_) | AzureCredential::SASToken(_) => {
                Err(self.error(format!(
                    "the store's {} credentials are not a Microsoft Entra token",
                    self.kind
                )))
            }
        }
    }
}

/// `e` and its causes (`object_store` puts the reason, e.g. the I/O error, in a cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use thinledger_store::object_store::StaticCredentialProvider;
    use thinledger_store::object_store::azure::AzureAccessKey;

    use super::*;

    fn credential(c: AzureCredential) -> StoreTokenCredential {
        StoreTokenCredential::new(
            Arc::new(StaticCredentialProvider::new(c)),
            "workload identity",
        )
    }

    #[tokio::test]
    async fn the_stores_token_is_handed_out_for_the_storage_scope_only() {
        let c = credential(AzureCredential::BearerToken("eyJ.store-token".into()));
        let token = c.get_token(&[STORAGE_SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), "eyJ.store-token");
        // Asked again within a minute (the Blob SDK refreshes five minutes before).
        let left = token.expires_on - OffsetDateTime::now_utc();
        assert!(
            left > Duration::minutes(5) && left <= Duration::minutes(6),
            "{left}"
        );

        let err = c
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("management.azure.com"), "{err}");
        assert!(err.contains(STORAGE_SCOPE), "{err}");
    }

    #[tokio::test]
    async fn a_key_is_no_token() {
        let key =
            AzureAccessKey::try_new("a2V5IG9mIHRoZSBhY2NvdW50IGZvciB0aGUgdW5pdCB0ZXN0").unwrap();
        let err = credential(AzureCredential::AccessKey(key))
            .get_token(&[STORAGE_SCOPE], None)
            .await
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Credential);
        let err = err.to_string();
        assert!(err.contains("not a Microsoft Entra token"), "{err}");
    }
}
