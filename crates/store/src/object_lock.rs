//! S3 Object Lock: every object written carries a retention (mode and retain-until date), except
//! lock files, which must stay deletable.
//!
//! `object_store` has no per-request headers for a put (`PutOptions::attributes` is a fixed set,
//! `extensions` are ignored by its clients), but its S3 client adds the client options' default
//! headers to every request before signing. So the store keeps two S3 clients: the plain one for
//! reads, listings, deletes and lock files, and one whose default headers carry
//! `x-amz-object-lock-mode` and `x-amz-object-lock-retain-until-date` for every other put. Only
//! puts and copies reach the second client. Lock files are put by a third, with no retention
//! headers but with a checksum: on a bucket with a default retention S3 applies that to them,
//! and refuses an upload that is to be retained without a checksum. Its date is fixed when it is built, so it is rebuilt every
//! [`refresh`] interval (a sixteenth of `retain`, from one second up to [`REFRESH`]), with a
//! date that interval beyond `retain`: each object is retained at least `retain` from its
//! upload, at most `retain + refresh`. (Short retentions, as tests use, stay short.)
//!
//! [`S3Retention`] reads an object's retention back: a HEAD request presigned by the plain
//! client (`object_store` returns no response headers of its own HEAD), sent with
//! `object_store`'s HTTP client. On an SSE-C repository S3 answers a HEAD without the
//! customer key with 400, so the HEAD carries the three `x-amz-server-side-encryption-customer-*`
//! headers, bound to the signature (S3 refuses `x-amz-*` headers a presigned URL does not
//! sign). The key travels only in those headers: marked sensitive, and left out of `Debug`.
//!
//! S3 wants an integrity checksum on a put with retention (`Content-MD5`, or a flexible checksum
//! announced by `x-amz-sdk-checksum-algorithm`): the locked client sends SHA-256 checksums and
//! announces them.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    ClientOptions, CopyOptions, HeaderMap, HeaderValue, ObjectStore, PutOptions, PutPayload,
    PutResult, Result,
};

use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::signer::{SignedUrlOptions, Signer};

use super::error::StoreError;
use super::forward::Overrides;
use super::options::{ObjectLockMode, ObjectLockOptions};
use super::retention::{ObjectRetention, RetentionSource, is_lock_file, last_modified, read_back};
use super::secret::{REDACTED, Secret};
use http::Method;

/// The longest one retain-until date is used before the locked client is rebuilt.
pub(crate) const REFRESH: Duration = Duration::from_secs(15 * 60);

/// The retention mode a write carries and HeadObject reports.
pub(crate) const MODE_HEADER: &str = "x-amz-object-lock-mode";
/// The retain-until date a write carries and HeadObject reports (ISO 8601).
pub(crate) const UNTIL_HEADER: &str = "x-amz-object-lock-retain-until-date";

/// How long one retain-until date is used with `retain`: a sixteenth of it, from one second
/// up to [`REFRESH`].
pub(crate) fn refresh(retain: Duration) -> Duration {
    (retain / 16).clamp(Duration::from_secs(1), REFRESH)
}

/// An S3 bucket whose writes carry Object Lock retention (lock files excepted).
pub(crate) struct ObjectLockStore {
    plain: AmazonS3,
    /// Lock files' puts: no retention of their own, but with a checksum, which S3 wants of
    /// every upload to a bucket whose default retention applies to it.
    unretained: AmazonS3,
    /// Builds the locked client; holds credentials, so this type's `Debug` leaves it out.
    builder: AmazonS3Builder,
    client_options: ClientOptions,
    lock: ObjectLockOptions,
    locked: Mutex<Option<(SystemTime, Arc<AmazonS3>)>>,
}

impl ObjectLockStore {
    pub(crate) fn new(
        plain: AmazonS3,
        builder: AmazonS3Builder,
        client_options: ClientOptions,
        lock: ObjectLockOptions,
    ) -> Result<Self> {
        let unretained = checksummed(builder.clone(), &client_options, HeaderMap::new())?;
        Ok(ObjectLockStore {
            plain,
            unretained,
            builder,
            client_options,
            lock,
            locked: Mutex::new(None),
        })
    }

    /// The client for retained puts, rebuilt when its date is [`refresh`] old.
    fn locked(&self) -> Result<Arc<AmazonS3>> {
        let now = SystemTime::now();
        let every = refresh(self.lock.retain);
        let mut slot = self
            .locked
            .lock()
            .map_err(|_| generic("the object-lock client's mutex is poisoned".into()))?;
        if let Some((built, client)) = slot.as_ref()
            && now.duration_since(*built).unwrap_or_default() < every
        {
            return Ok(Arc::clone(client));
        }
        let until = retain_until(now, self.lock.retain + every);
        let mut headers = HeaderMap::new();
        let value = |v: &str| {
            HeaderValue::from_str(v).map_err(|e| generic(format!("object-lock header: {e}")))
        };
        headers.insert(MODE_HEADER, value(self.lock.mode.as_str())?);
        headers.insert(UNTIL_HEADER, value(&until)?);
        let client = Arc::new(checksummed(
            self.builder.clone(),
            &self.client_options,
            headers,
        )?);
        *slot = Some((now, Arc::clone(&client)));
        Ok(client)
    }
}

/// A client whose puts carry a SHA-256 checksum, announced as S3 wants it with a retention
/// (`x-amz-sdk-checksum-algorithm`), and `headers`.
fn checksummed(
    builder: AmazonS3Builder,
    client_options: &ClientOptions,
    mut headers: HeaderMap,
) -> Result<AmazonS3> {
    headers.insert(
        "x-amz-sdk-checksum-algorithm",
        HeaderValue::from_static("SHA256"),
    );
    builder
        .with_checksum_algorithm(object_store::aws::Checksum::SHA256)
        .with_client_options(client_options.clone().with_default_headers(headers))
        .build()
}

/// `now + retain` as S3 wants it (ISO 8601, UTC, whole seconds).
pub(crate) fn retain_until(now: SystemTime, retain: Duration) -> String {
    let secs = (now + retain)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Reads objects' retention with HEAD requests presigned by the plain client.
pub(crate) struct S3Retention {
    plain: AmazonS3,
    http: HttpClient,
    /// SSE-C: the customer-key headers every request for an object needs.
    customer_key: Option<CustomerKeyHeaders>,
}

impl S3Retention {
    /// `customer_key`: the SSE-C key (base64 of 32 bytes, as checked by the encryption
    /// options) the repository's objects are written with.
    pub(crate) fn new(
        plain: AmazonS3,
        client_options: &ClientOptions,
        customer_key: Option<&Secret>,
    ) -> Result<Self> {
        let http = ReqwestConnector::default().connect(client_options)?;
        let customer_key = customer_key.map(CustomerKeyHeaders::new).transpose()?;
        Ok(S3Retention {
            plain,
            http,
            customer_key,
        })
    }

    /// The HEAD request for `key`, signed, with the SSE-C headers when the objects need them.
    async fn head_request(&self, key: &Path) -> Result<http::Request<HttpRequestBody>, String> {
        let mut options = SignedUrlOptions::default();
        if let Some(sse_c) = &self.customer_key {
            for (name, value) in &sse_c.0 {
                options = options.with_signed_header(name.clone(), value.clone());
            }
        }
        let url = self
            .plain
            .signed_url_opts(Method::HEAD, key, PRESIGNED_FOR, &options)
            .await
            .map_err(|e| format!("presigning the HEAD request: {e}"))?;
        let mut request = http::Request::builder()
            .method(Method::HEAD)
            .uri(url.as_str())
            .body(HttpRequestBody::empty())
            .map_err(|e| format!("building the HEAD request: {e}"))?;
        if let Some(sse_c) = &self.customer_key {
            request.headers_mut().extend(sse_c.0.clone());
        }
        Ok(request)
    }
}

impl fmt::Debug for S3Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Retention")
            .field("plain", &self.plain)
            .field("customer_key", &self.customer_key)
            .finish_non_exhaustive()
    }
}

/// SSE-C request headers: the algorithm, the key and its MD5 (all base64 as S3 wants them).
/// `Debug` shows none of the values.
struct CustomerKeyHeaders(HeaderMap);

impl CustomerKeyHeaders {
    fn new(key: &Secret) -> Result<Self> {
        use base64::Engine;
        use md5::Digest;

        let b64 = base64::engine::general_purpose::STANDARD;
        let text = key.expose().trim();
        let raw = b64
            .decode(text)
            .map_err(|_| generic("the SSE-C customer key is not base64".into()))?;
        let md5 = b64.encode(md5::Md5::digest(&raw));
        let sensitive = |v: &str| {
            HeaderValue::from_str(v)
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| generic("the SSE-C customer key is not a header value".into()))
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-server-side-encryption-customer-algorithm",
            HeaderValue::from_static("AES256"),
        );
        headers.insert(
            "x-amz-server-side-encryption-customer-key",
            sensitive(text)?,
        );
        headers.insert(
            "x-amz-server-side-encryption-customer-key-md5",
            sensitive(&md5)?,
        );
        Ok(CustomerKeyHeaders(headers))
    }
}

impl fmt::Debug for CustomerKeyHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// How long a presigned HEAD stays valid: it is sent at once.
const PRESIGNED_FOR: Duration = Duration::from_secs(300);

#[async_trait]
impl RetentionSource for S3Retention {
    async fn retention(&self, key: &Path) -> Result<Option<ObjectRetention>, StoreError> {
        let failed = |message: String| StoreError::RetentionUnreadable {
            path: key.to_string(),
            message,
            fix: "check that the credentials may read the object (s3:GetObject, s3:GetObjectRetention) and that the bucket has Object Lock enabled",
        };
        let request = self.head_request(key).await.map_err(failed)?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| failed(format!("HEAD request: {e}")))?;
        let status = response.status();
        read_back("HEAD", status, response.headers(), parse_retention).map_err(|message| {
            if status == http::StatusCode::BAD_REQUEST && self.customer_key.is_none() {
                failed(format!(
                    "{message}: if the repository's objects are written with SSE-C, open it with the same customer key (AWS_SSE_CUSTOMER_KEY_BASE64)"
                ))
            } else {
                failed(message)
            }
        })
    }
}

/// An object's retention from HeadObject's headers: `x-amz-object-lock-mode` (`GOVERNANCE`
/// or `COMPLIANCE`) and `x-amz-object-lock-retain-until-date` (ISO 8601), neither on an
/// object without retention.
pub(crate) fn parse_retention(headers: &HeaderMap) -> std::result::Result<ObjectRetention, String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let last_modified = last_modified(headers)?;
    let retain_until = match text(UNTIL_HEADER) {
        None => None,
        Some(t) => Some(
            t.parse::<chrono::DateTime<chrono::Utc>>()
                .map_err(|e| format!("retain-until date {t:?}: {e}"))?,
        ),
    };
    let mode = match text(MODE_HEADER) {
        Some("GOVERNANCE") => Some(ObjectLockMode::Governance),
        Some("COMPLIANCE") => Some(ObjectLockMode::Compliance),
        Some(other) => return Err(format!("unknown object-lock mode {other:?}")),
        None => None,
    };
    Ok(ObjectRetention {
        mode,
        retain_until,
        last_modified,
    })
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

impl fmt::Debug for ObjectLockStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectLockStore")
            .field("plain", &self.plain)
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ObjectLockStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (object lock {}, {}s)",
            self.plain,
            self.lock.mode.as_str(),
            self.lock.retain.as_secs()
        )
    }
}

#[async_trait]
impl Overrides for ObjectLockStore {
    fn inner(&self) -> &dyn ObjectStore {
        &self.plain
    }

    async fn put_opts(&self, to: &Path, body: PutPayload, opts: PutOptions) -> Result<PutResult> {
        if is_lock_file(to) {
            return self.unretained.put_opts(to, body, opts).await;
        }
        self.locked()?.put_opts(to, body, opts).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if is_lock_file(to) {
            return self.unretained.copy_opts(from, to, options).await;
        }
        self.locked()?.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_570_437);
        assert_eq!(retain_until(t, Duration::ZERO), "2026-12-06T15:20:37Z");
        assert_eq!(
            retain_until(t, Duration::from_secs(86_400 * 30)),
            "2027-01-05T15:20:37Z"
        );
        assert_eq!(
            retain_until(SystemTime::UNIX_EPOCH, Duration::ZERO),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn short_retentions_refresh_their_date_often() {
        assert_eq!(refresh(Duration::from_secs(86_400)), REFRESH);
        assert_eq!(refresh(Duration::from_secs(160)), Duration::from_secs(10));
        assert_eq!(refresh(Duration::from_secs(4)), Duration::from_secs(1));
    }

    /// The retention HEAD of an SSE-C repository carries the key, its MD5 and the algorithm,
    /// each bound to the signature; `Debug` shows none of them.
    #[tokio::test]
    async fn sse_c_keys_go_on_the_retention_head_signed_and_never_in_debug() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key_text = b64.encode([7u8; 32]);
        let plain = AmazonS3Builder::new()
            .with_bucket_name("ledger")
            .with_region("us-east-1")
            .with_endpoint("http://127.0.0.1:9")
            .with_allow_http(true)
            .with_access_key_id("id")
            .with_secret_access_key("secret")
            .build()
            .unwrap();
        let key = Secret::new(key_text.clone());
        let retention = S3Retention::new(plain.clone(), &ClientOptions::new(), Some(&key)).unwrap();
        let request = retention
            .head_request(&Path::from("tenant/data/ab/abcd"))
            .await
            .unwrap();
        let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap());
        assert_eq!(
            header("x-amz-server-side-encryption-customer-algorithm"),
            Some("AES256")
        );
        assert_eq!(
            header("x-amz-server-side-encryption-customer-key"),
            Some(key_text.as_str())
        );
        // `echo -n` of 32 bytes of 7, MD5, base64.
        let md5 = b64.encode(<md5::Md5 as md5::Digest>::digest([7u8; 32]));
        assert_eq!(
            header("x-amz-server-side-encryption-customer-key-md5"),
            Some(md5.as_str())
        );
        let url = request.uri().to_string();
        let signed = url
            .split('&')
            .find_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
            .unwrap();
        assert_eq!(
            signed,
            "host%3Bx-amz-server-side-encryption-customer-algorithm%3Bx-amz-server-side-encryption-customer-key%3Bx-amz-server-side-encryption-customer-key-md5"
        );
        assert!(!url.contains(&key_text), "{url}");
        let shown = format!("{retention:?}");
        assert!(
            !shown.contains(&key_text) && !shown.contains(&md5),
            "{shown}"
        );
        assert!(shown.contains(REDACTED), "{shown}");

        // Without SSE-C the HEAD carries no such header and signs only the host.
        let bare = S3Retention::new(plain, &ClientOptions::new(), None).unwrap();
        let request = bare.head_request(&Path::from("k")).await.unwrap();
        assert!(request.headers().is_empty(), "{:?}", request.headers());
        assert!(
            request
                .uri()
                .to_string()
                .contains("X-Amz-SignedHeaders=host&")
        );
    }
}
