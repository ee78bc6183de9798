//! Azure version-level immutability (WORM): every blob an Azure store writes, lock files
//! excepted, carries a time-based immutability policy set by the write itself
//! (`x-ms-immutability-policy-until-date`, RFC 1123, and `x-ms-immutability-policy-mode`:
//! `Unlocked` for governance, `Locked` for compliance; service version 2020-06-12 or later).
//! The container (or its account) must have version-level immutability support, which needs
//! blob versioning; without it Azure refuses the write.
//!
//! `object_store` has no per-request headers, and the S3 design (a second client whose
//! default headers carry the retention) does not carry over: a Shared Key signature covers
//! every `x-ms-*` header, and `object_store` signs a request before its HTTP client adds the
//! default headers, so Azure would refuse every write signed with an account key. Instead the
//! client sends through [`RetentionConnector`], `object_store`'s HTTP-connector extension point:
//! its service adds the two headers to each blob write (Put Blob, Put Block List, Copy Blob)
//! outside `locks/`, with the date taken when the request is sent (a retried attempt is
//! retained `retain` from its own send), and then, for an account key, signs the request
//! again with `object_store`'s own [`AzureAuthorizer`]. Microsoft Entra tokens (workload and
//! managed identity) sign no headers: those requests go as they are. Reads, listings,
//! deletes and lock files pass through untouched.
//!
//! [`AzureRetention`] reads a blob's policy back: Get Blob Properties (a HEAD request) signed
//! with the store's credentials, answered with the same two headers and `Last-Modified`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use object_store::ClientOptions;
use object_store::azure::{
    AzureAccessKey, AzureAuthorizer, AzureCredential, AzureCredentialProvider,
};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpService, ReqwestConnector,
};
use object_store::path::Path;
use url::Url;

use super::error::StoreError;
use super::options::{ObjectLockMode, ObjectLockOptions};
use super::retention::{ObjectRetention, RetentionSource, is_lock_file, last_modified, read_back};

/// The retain-until date a blob write carries (RFC 1123).
pub(crate) const UNTIL_HEADER: &str = "x-ms-immutability-policy-until-date";
/// The policy mode a blob write carries (`Unlocked` or `Locked`).
pub(crate) const MODE_HEADER: &str = "x-ms-immutability-policy-mode";
/// The service version the retention reads ask for (the one `object_store` signs writes
/// with); immutability policies need 2020-06-12 or later.
const VERSION: &str = "2023-11-03";

/// The mode as Azure names it on a write.
fn mode_value(mode: ObjectLockMode) -> &'static str {
    match mode {
        ObjectLockMode::Governance => "Unlocked",
        ObjectLockMode::Compliance => "Locked",
    }
}

/// `at` as Azure's headers want it: `Sun, 06 Dec 2026 15:20:37 GMT`.
fn rfc1123(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The retain-until date of a write sent at `now`: at least `retain` later (rounded up to
/// the whole second the header can say).
pub(crate) fn retain_until(now: DateTime<Utc>, retain: std::time::Duration) -> String {
    let retain = chrono::Duration::from_std(retain).unwrap_or(chrono::Duration::MAX);
    let until = now
        .checked_add_signed(retain + chrono::Duration::seconds(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    rfc1123(until)
}

/// Whether `request` writes a blob (and so carries a policy): a PUT outside `locks/` that is
/// a Put Blob (`x-ms-blob-type`), a Copy Blob (`x-ms-copy-source`) or a Put Block List.
/// Put Block (the staged parts of a block list) and container requests carry none.
pub(crate) fn writes_blob(request: &HttpRequest) -> bool {
    if request.method() != Method::PUT || is_lock_file(&Path::from(request.uri().path())) {
        return false;
    }
    let headers = request.headers();
    let query = request.uri().query().unwrap_or_default();
    headers.contains_key("x-ms-blob-type")
        || headers.contains_key("x-ms-copy-source")
        || query.split('&').any(|pair| pair == "comp=blocklist")
}

/// The connector of an Azure store that writes with immutability policies: `object_store`'s
/// own HTTP client, behind [`RetentionService`].
pub(crate) struct RetentionConnector {
    lock: ObjectLockOptions,
    account: String,
    /// The account key, when requests are signed with Shared Key (they are signed again
    /// after the headers are added).
    key: Option<Arc<AzureCredential>>,
}

impl RetentionConnector {
    /// `key`: the account key (base64) when the store signs with Shared Key.
    pub(crate) fn new(
        lock: ObjectLockOptions,
        account: &str,
        key: Option<&str>,
    ) -> object_store::Result<Self> {
        let key = match key {
            Some(key) => Some(Arc::new(AzureCredential::AccessKey(
                AzureAccessKey::try_new(key)?,
            ))),
            None => None,
        };
        Ok(RetentionConnector {
            lock,
            account: account.to_owned(),
            key,
        })
    }
}

impl fmt::Debug for RetentionConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetentionConnector")
            .field("lock", &self.lock)
            .field("account", &self.account)
            .field("shared_key", &self.key.is_some())
            .finish()
    }
}

impl HttpConnector for RetentionConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(RetentionService {
            inner,
            lock: self.lock,
            account: self.account.clone(),
            key: self.key.clone(),
        }))
    }
}

/// Adds the policy headers to blob writes (and signs them again for Shared Key).
struct RetentionService {
    inner: HttpClient,
    lock: ObjectLockOptions,
    account: String,
    key: Option<Arc<AzureCredential>>,
}

impl fmt::Debug for RetentionService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetentionService")
            .field("lock", &self.lock)
            .field("account", &self.account)
            .field("shared_key", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

impl RetentionService {
    fn retain(&self, request: &mut HttpRequest) -> object_store::Result<()> {
        let value = |text: &str| {
            HeaderValue::from_str(text).map_err(|e| object_store::Error::Generic {
                store: "MicrosoftAzure",
                source: format!("immutability header {text:?}: {e}").into(),
            })
        };
        let until = retain_until(Utc::now(), self.lock.retain);
        let headers = request.headers_mut();
        headers.insert(HeaderName::from_static(UNTIL_HEADER), value(&until)?);
        headers.insert(
            HeaderName::from_static(MODE_HEADER),
            HeaderValue::from_static(mode_value(self.lock.mode)),
        );
        if let Some(key) = &self.key {
            // The first signature did not cover the new headers.
            headers.remove(AUTHORIZATION);
            AzureAuthorizer::new(key, &self.account).try_authorize(request)?;
        }
        Ok(())
    }
}

#[async_trait]
impl HttpService for RetentionService {
    async fn call(&self, mut request: HttpRequest) -> Result<HttpResponse, HttpError> {
        if writes_blob(&request) {
            self.retain(&mut request)
                .map_err(|e| HttpError::new(HttpErrorKind::Unknown, e))?;
        }
        self.inner.execute(request).await
    }
}

/// Reads blobs' immutability policies with Get Blob Properties.
#[derive(Debug)]
pub(crate) struct AzureRetention {
    http: HttpClient,
    /// The account's blob endpoint (`https://ACCOUNT.blob.core.windows.net`, or the
    /// emulator's URL with the account in its path).
    service: Url,
    container: String,
    account: String,
    /// `None`: unsigned requests (anonymous access).
    credentials: Option<AzureCredentialProvider>,
}

impl AzureRetention {
    pub(crate) fn new(
        client_options: &ClientOptions,
        service: &str,
        container: &str,
        account: &str,
        credentials: Option<AzureCredentialProvider>,
    ) -> object_store::Result<Self> {
        let http = ReqwestConnector::default().connect(client_options)?;
        let service = Url::parse(service).map_err(|e| object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: format!("endpoint {service:?}: {e}").into(),
        })?;
        Ok(AzureRetention {
            http,
            service,
            container: container.to_owned(),
            account: account.to_owned(),
            credentials,
        })
    }

    fn url(&self, key: &Path) -> Option<Url> {
        let mut url = self.service.clone();
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push(&self.container)
            .extend(key.parts());
        Some(url)
    }
}

#[async_trait]
impl RetentionSource for AzureRetention {
    async fn retention(&self, key: &Path) -> Result<Option<ObjectRetention>, StoreError> {
        let failed = |message: String| StoreError::RetentionUnreadable {
            path: key.to_string(),
            message,
            fix: "check that the credentials may read the blob's properties (Storage Blob Data Reader or an account key) and that the container has version-level immutability support",
        };
        let url = self
            .url(key)
            .ok_or_else(|| failed(format!("the endpoint {} takes no path", self.service)))?;
        let mut request = http::Request::builder()
            .method(Method::HEAD)
            .uri(url.as_str())
            .header("x-ms-version", VERSION)
            .body(HttpRequestBody::empty())
            .map_err(|e| failed(format!("building the HEAD request: {e}")))?;
        if let Some(provider) = &self.credentials {
            let credential = provider
                .get_credential()
                .await
                .map_err(|e| failed(format!("getting a credential: {e}")))?;
            AzureAuthorizer::new(&credential, &self.account)
                .try_authorize(&mut request)
                .map_err(|e| failed(format!("signing the HEAD request: {e}")))?;
        }
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| failed(format!("HEAD request: {e}")))?;
        read_back(
            "Get Blob Properties",
            response.status(),
            response.headers(),
            parse_retention,
        )
        .map_err(failed)
    }
}

/// A blob's policy from Get Blob Properties' headers. Azure answers the mode in lower case
/// (`unlocked`, `locked`); a blob without a policy has neither header.
pub(crate) fn parse_retention(headers: &HeaderMap) -> Result<ObjectRetention, String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let last_modified = last_modified(headers)?;
    let retain_until = text(UNTIL_HEADER)
        .map(|t| {
            DateTime::parse_from_rfc2822(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| format!("{UNTIL_HEADER} {t:?}: {e}"))
        })
        .transpose()?;
    let mode = match text(MODE_HEADER).map(str::to_ascii_lowercase).as_deref() {
        Some("unlocked") => Some(ObjectLockMode::Governance),
        Some("locked") => Some(ObjectLockMode::Compliance),
        // `mutable`: a policy whose retention was removed (only an unlocked one can be).
        Some("mutable") | None => None,
        Some(other) => return Err(format!("unknown immutability policy mode {other:?}")),
    };
    Ok(ObjectRetention {
        mode,
        retain_until,
        last_modified,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(HttpRequestBody::empty()).unwrap()
    }

    #[test]
    fn only_blob_writes_outside_locks_carry_a_policy() {
        let base = "http://127.0.0.1:10000/devstoreaccount1/ledger/tenant";
        let put = [("x-ms-blob-type", "BlockBlob")];
        assert!(writes_blob(&request(
            Method::PUT,
            &format!("{base}/data/ab/abcd"),
            &put
        )));
        assert!(writes_blob(&request(
            Method::PUT,
            &format!("{base}/config"),
            &put
        )));
        assert!(writes_blob(&request(
            Method::PUT,
            &format!("{base}/keys/abcd"),
            &[("x-ms-copy-source", "https://a/b")]
        )));
        assert!(writes_blob(&request(
            Method::PUT,
            &format!("{base}/data/ab/abcd?comp=blocklist"),
            &[]
        )));
        assert!(!writes_blob(&request(
            Method::PUT,
            &format!("{base}/locks/abcd"),
            &put
        )));
        assert!(!writes_blob(&request(
            Method::PUT,
            &format!("{base}/data/ab/abcd?comp=block&blockid=AA"),
            &[]
        )));
        assert!(!writes_blob(&request(
            Method::GET,
            &format!("{base}/data/ab/abcd"),
            &[]
        )));
        assert!(!writes_blob(&request(
            Method::DELETE,
            &format!("{base}/data/ab/abcd"),
            &[]
        )));
    }

    #[test]
    fn dates_are_rfc_1123_and_never_short() {
        let now: DateTime<Utc> = "2026-12-06T15:20:37.400Z".parse().unwrap();
        assert_eq!(
            retain_until(now, Duration::from_secs(86_400)),
            "Mon, 07 Dec 2026 15:20:38 GMT"
        );
        assert_eq!(mode_value(ObjectLockMode::Governance), "Unlocked");
        assert_eq!(mode_value(ObjectLockMode::Compliance), "Locked");
    }

    #[test]
    fn policies_are_read_from_blob_properties() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "last-modified",
            "Mon, 28 Jun 2021 05:50:37 GMT".parse().unwrap(),
        );
        let plain = parse_retention(&headers).unwrap();
        assert_eq!((plain.mode, plain.retain_until), (None, None));
        assert_eq!(
            plain.last_modified,
            "2021-06-28T05:50:37Z".parse::<DateTime<Utc>>().unwrap()
        );

        headers.insert(
            UNTIL_HEADER,
            "Mon, 28 Jun 2021 05:55:37 GMT".parse().unwrap(),
        );
        headers.insert(MODE_HEADER, "unlocked".parse().unwrap());
        let held = parse_retention(&headers).unwrap();
        assert_eq!(held.mode, Some(ObjectLockMode::Governance));
        assert_eq!(
            held.retain_until,
            Some("2021-06-28T05:55:37Z".parse().unwrap())
        );
        headers.insert(MODE_HEADER, "Locked".parse().unwrap());
        assert_eq!(
            parse_retention(&headers).unwrap().mode,
            Some(ObjectLockMode::Compliance)
        );
        headers.insert(MODE_HEADER, "frozen".parse().unwrap());
        assert!(parse_retention(&headers).unwrap_err().contains("frozen"));
        headers.insert(UNTIL_HEADER, "tomorrow".parse().unwrap());
        assert!(
            parse_retention(&headers)
                .unwrap_err()
                .contains(UNTIL_HEADER)
        );
    }

    #[test]
    fn shared_key_writes_are_signed_again_with_the_headers() {
        // The emulator's published development key (not a secret).
        let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        let lock = ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(60));
        let connector = RetentionConnector::new(lock, "devstoreaccount1", Some(key)).unwrap();
        let service = RetentionService {
            inner: ReqwestConnector::default()
                .connect(&ClientOptions::new())
                .unwrap(),
            lock,
            account: connector.account.clone(),
            key: connector.key.clone(),
        };
        let mut put = request(
            Method::PUT,
            "http://127.0.0.1:10000/devstoreaccount1/ledger/data/ab/abcd",
            &[
                ("x-ms-blob-type", "BlockBlob"),
                ("authorization", "SharedKey devstoreaccount1:stale"),
            ],
        );
        service.retain(&mut put).unwrap();
        assert_eq!(put.headers()[MODE_HEADER], "Locked");
        assert!(put.headers().contains_key(UNTIL_HEADER));
        let signatures: Vec<_> = put.headers().get_all(AUTHORIZATION).iter().collect();
        assert_eq!(signatures.len(), 1);
        assert_ne!(signatures[0], "SharedKey devstoreaccount1:stale");
        assert!(!format!("{connector:?}").contains(key));
    }
}
