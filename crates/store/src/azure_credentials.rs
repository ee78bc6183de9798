//! The Azure store's credential provider, for other Azure clients of the same container.

use object_store::azure::AzureCredentialProvider;

use super::builder::{Resolved, StoreBuilder, StoreSettings};
use super::error::{Invalid, StoreError};
use super::location::StoreLocation;

impl StoreBuilder {
    /// The credential provider the Azure store of this URL would sign with: the account key,
    /// or the Microsoft Entra token of workload identity or managed identity (refreshed and
    /// cached by `object_store`), resolved exactly as [`StoreBuilder::build`] resolves them.
    /// The bucket control plane (the Blob SDK) signs with it, so both planes use one
    /// credential resolution. No request is made.
    ///
    /// ```
    /// use thinledger_store::object_store::azure::AzureCredential;
    /// use thinledger_store::{Secret, StoreBuilder};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let provider = StoreBuilder::new("az://ledger/eu?account=ledgerbk")
    ///     .with_azure_access_key(Secret::new("a2V5IG9mIHRoZSBhY2NvdW50IGZvciB0aGUgZG9jIHRlc3Q="))
    ///     .build_azure_credential_provider()?;
    /// assert!(matches!(*provider.get_credential().await?, AzureCredential::AccessKey(_)));
    /// let err = StoreBuilder::new("s3://ledger/eu?region=eu-west-1")
    ///     .build_azure_credential_provider()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("az://"), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn build_azure_credential_provider(self) -> Result<AzureCredentialProvider, StoreError> {
        let StoreSettings {
            location,
            options,
            allow_http,
            credentials,
            ..
        } = self.settings()?;
        let StoreLocation::Azure { container, .. } = &location else {
            return Err(StoreError::invalid(
                "url",
                location.to_string(),
                "Azure credentials are for az:// URLs",
                "give the repository's az://CONTAINER/PREFIX?account=NAME URL",
            ));
        };
        let resolved = Resolved {
            options,
            allow_http,
        };
        super::cloud::azure_credentials(container, &resolved, &credentials)
    }
}
