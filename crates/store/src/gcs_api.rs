//! [`GcsBucketApi`]: a GCS bucket's resource in the JSON API (`storage/v1/b/BUCKET`), read and
//! patched with the store's own client, credentials and retries, for the storage control
//! plane (`thinledger-bucket`'s `bucket check|plan|apply` on `gs://` URLs).
//!
//! The JSON API is the one GCS interface both the real service and the emulator the tests
//! run (fake-gcs-server) answer for bucket metadata: Google's `google-cloud-storage` crate
//! reads and updates buckets over the gRPC `google.storage.v2` API, which fake-gcs-server
//! does not serve (it has the older `google.storage.v1` gRPC service).

use bytes::Bytes;
use percent_encoding::utf8_percent_encode;

use super::builder::StoreBuilder;
use super::error::{Invalid, StoreError};
use super::gcs::{COMPONENT, GcsStore};
use super::location::StoreLocation;

/// The bucket of a `gs://` URL, as the JSON API's bucket resource.
///
/// Built by [`StoreBuilder::build_gcs_bucket_api`] from the same URL, options and credentials
/// as the store, so the control plane signs as the data plane does. Requests are retried as
/// the store's are ([`RetryOptions`](crate::RetryOptions)); the answer's status is the
/// caller's to judge (a 403 is a permission the identity lacks, not a transport failure).
#[derive(Debug, Clone)]
pub struct GcsBucketApi {
    store: GcsStore,
}

/// One JSON-API answer: the HTTP status and the body as text (JSON on success, a JSON error
/// object `{"error": {"code", "message"}}` otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcsAnswer {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

impl GcsAnswer {
    fn new(status: http::StatusCode, body: Bytes) -> Self {
        GcsAnswer {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error message of a failed answer (`error.message`), or the body's start.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.body.chars().take(300).collect())
    }
}

impl GcsBucketApi {
    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        self.store.bucket()
    }

    fn path(&self, query: &str) -> String {
        format!(
            "storage/v1/b/{}?{query}",
            utf8_percent_encode(self.bucket(), COMPONENT)
        )
    }

    /// `GET storage/v1/b/BUCKET` (`storage.buckets.get`): the whole bucket resource but ACLs
    /// (versioning, retention policy, object retention, default KMS key, IAM configuration,
    /// lifecycle). Transport failures (after retries) are errors; every HTTP answer is
    /// returned.
    pub async fn get(&self) -> Result<GcsAnswer, object_store::Error> {
        let (status, body) = self
            .store
            .json_request(http::Method::GET, &self.path("projection=noAcl"), None)
            .await?;
        Ok(GcsAnswer::new(status, body))
    }

    /// `PATCH storage/v1/b/BUCKET` (`storage.buckets.update`) with `body`, a partial bucket
    /// resource: the fields it names are replaced (a list such as `lifecycle.rule` as a
    /// whole), the others kept.
    pub async fn patch(&self, body: &serde_json::Value) -> Result<GcsAnswer, object_store::Error> {
        let (status, answer) = self
            .store
            .json_request(
                http::Method::PATCH,
                &self.path("projection=noAcl"),
                Some(body),
            )
            .await?;
        Ok(GcsAnswer::new(status, answer))
    }
}

impl StoreBuilder {
    /// The JSON-API bucket resource of this `gs://` URL's bucket, signed with the credentials
    /// [`StoreBuilder::build`] would use (explicit ones, an identity binding, or the
    /// environment's). Builds no connection. Any other URL is refused.
    ///
    /// ```
    /// let api = thinledger_store::StoreBuilder::new("gs://ledger-backups/eu/ledger-a")
    ///     .with_endpoint("http://127.0.0.1:4443")
    ///     .with_credentials(thinledger_store::StoreCredentials::Anonymous)
    ///     .build_gcs_bucket_api()?;
    /// assert_eq!(api.bucket(), "ledger-backups");
    /// let err = thinledger_store::StoreBuilder::new("s3://ledger-backups?region=eu-west-1")
    ///     .build_gcs_bucket_api()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("gs://"), "{err}");
    /// # Ok::<(), thinledger_store::StoreError>(())
    /// ```
    pub fn build_gcs_bucket_api(self) -> Result<GcsBucketApi, StoreError> {
        let location = self.location()?;
        let StoreLocation::Gcs { bucket, .. } = &location else {
            return Err(StoreError::invalid(
                "url",
                location.to_string(),
                "the GCS bucket API is for gs:// URLs",
                "give the repository's gs://BUCKET/PREFIX URL",
            ));
        };
        let store = self.gcs_client(bucket)?;
        Ok(GcsBucketApi { store })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_the_providers_message() {
        let denied = GcsAnswer::new(
            http::StatusCode::FORBIDDEN,
            Bytes::from_static(
                br#"{"error":{"code":403,"message":"ledger@p.iam.gserviceaccount.com does not have storage.buckets.update access to the Google Cloud Storage bucket."}}"#,
            ),
        );
        assert!(!denied.is_success());
        assert!(denied.message().starts_with("ledger@p.iam"), "{denied:?}");
        let html = GcsAnswer::new(
            http::StatusCode::BAD_GATEWAY,
            Bytes::from_static(b"<html>bad gateway</html>"),
        );
        assert_eq!(html.message(), "<html>bad gateway</html>");
        assert!(GcsAnswer::new(http::StatusCode::OK, Bytes::new()).is_success());
    }
}
