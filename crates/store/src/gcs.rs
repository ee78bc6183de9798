//! Google Cloud Storage with uploads over the JSON API.
//!
//! `object_store`'s GCS client writes through the XML API. Real GCS accepts that, but the GCS
//! emulator our tests run (fake-gcs-server) rejects XML-API writes, and we want the write path
//! that production uses to be the one the tests exercise. So [`GcsStore`] wraps
//! `object_store`'s client and replaces the writes the repository engine uses:
//!
//! - `put_opts` is one JSON-API `multipart` upload (metadata and data in one request). Create-only
//!   writes send `ifGenerationMatch=0`, updates `ifGenerationMatch=<generation>`; GCS evaluates the
//!   condition atomically with the write, so `PutMode::Create` is atomic. (`multipart` rather than
//!   `media`: some emulator versions check the condition only on `multipart` uploads.)
//! - `copy_opts` is the JSON API's `rewriteTo`, repeated until done, with the same conditions.
//!
//! Reads, listings, heads and deletes stay on `object_store`'s client, which both accept. So does
//! `put_multipart_opts` (XML multipart uploads, fine on real GCS; the emulator rejects them). The
//! engine writes every object with a single put and never needs it.
//!
//! With an object-lock policy (`GcsStore::with_lock`) every upload and copy but a lock file
//! carries a `retention` (Object Retention Lock; see `gcs_retention`), and the store reads each
//! object's retention back from its JSON metadata (`RetentionSource`), so an immutable
//! repository works on GCS as on S3.
//!
//! Credentials are `object_store`'s own provider for the same builder, so both halves sign as
//! the same identity. Alternatives considered: the `gcloud-storage` crate (JSON API throughout,
//! but a second credentials stack and a second HTTP client for a few requests) and opendal's
//! GCS service (writes create-only objects through resumable uploads, which the emulator does
//! not check). Wrapping keeps one client, one credential chain and one retry policy.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::client::{HttpClient, HttpError, HttpRequest, HttpRequestBody};
use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorage};
use object_store::path::Path;
use object_store::{
    Attribute, CopyMode, CopyOptions, ObjectStore, PutMode, PutOptions, PutPayload, PutResult,
    Result,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::error::StoreError;
use super::forward::Overrides;
use super::gcs_retention;
use super::options::{ObjectLockOptions, RetryOptions};
use super::retention::{ObjectRetention, RetentionSource, is_lock_file, read_back};

const STORE: &str = "GCS";

/// Everything but RFC 3986's unreserved characters is encoded, `/` included: object names go
/// into a single path segment or query value.
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A GCS bucket: `object_store`'s client for reads, the JSON API for writes.
#[derive(Debug, Clone)]
pub(crate) struct GcsStore {
    inner: GoogleCloudStorage,
    http: HttpClient,
    /// `None`: unsigned requests (emulators, public buckets).
    credentials: Option<GcpCredentialProvider>,
    base_url: String,
    bucket: String,
    retry: RetryOptions,
    /// Cloud KMS key every upload and copy is encrypted with (CMEK), if any.
    kms_key_name: Option<String>,
    /// The retention every upload and copy but a lock file carries, if any.
    lock: Option<ObjectLockOptions>,
}

impl GcsStore {
    pub(crate) fn new(
        inner: GoogleCloudStorage,
        http: HttpClient,
        anonymous: bool,
        base_url: &str,
        bucket: &str,
        retry: RetryOptions,
        kms_key_name: Option<String>,
    ) -> Self {
        let credentials = (!anonymous).then(|| inner.credentials().clone());
        GcsStore {
            inner,
            http,
            credentials,
            base_url: base_url.trim_end_matches('/').to_owned(),
            bucket: bucket.to_owned(),
            retry,
            kms_key_name,
            lock: None,
        }
    }

    /// Writes every object but lock files with `lock`'s retention.
    pub(crate) fn with_lock(mut self, lock: Option<ObjectLockOptions>) -> Self {
        self.lock = lock;
        self
    }

    /// The bucket's name.
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The retention a write to `location` carries: the policy's, except for lock files.
    fn retention_for(&self, location: &Path) -> Option<&ObjectLockOptions> {
        self.lock.as_ref().filter(|_| !is_lock_file(location))
    }

    /// `err` (from an answer of `status` with `body` to a write of `name` to `location`), with
    /// its source replaced by [`StoreError::RetentionRefused`] when the write carried a
    /// retention and the answer is about it.
    fn explain_refusal(
        &self,
        location: &Path,
        name: &str,
        status: http::StatusCode,
        body: &[u8],
        err: object_store::Error,
    ) -> object_store::Error {
        let Some(lock) = self.retention_for(location) else {
            return err;
        };
        if !gcs_retention::is_retention_refusal(status, body) {
            return err;
        }
        let typed = Box::new(gcs_retention::refused(
            lock,
            name,
            format!("HTTP {status}: {}", body_excerpt(body)),
        ));
        match err {
            object_store::Error::PermissionDenied { path, .. } => {
                object_store::Error::PermissionDenied {
                    path,
                    source: typed,
                }
            }
            _ => object_store::Error::Generic {
                store: STORE,
                source: typed,
            },
        }
    }

    fn object_name(location: &Path) -> String {
        // object_store paths are percent-encoded where needed; GCS names are the decoded text.
        percent_encoding::percent_decode_str(location.as_ref())
            .decode_utf8_lossy()
            .into_owned()
    }

    async fn bearer(&self) -> Result<Option<String>> {
        match &self.credentials {
            None => Ok(None),
            Some(provider) => {
                let credential = provider.get_credential().await?;
                Ok((!credential.bearer.is_empty()).then(|| credential.bearer.clone()))
            }
        }
    }

    /// Sends `method` to `url` with `body` (see [`json_api_request`]), signed afresh for each
    /// attempt, retrying transient failures with exponential backoff; returns the final status
    /// and body, and whether an earlier attempt may have taken effect. `path` names the object
    /// or resource in errors.
    async fn send(
        &self,
        path: &str,
        method: &http::Method,
        url: &str,
        body: Option<Body<'_>>,
    ) -> Result<(http::StatusCode, Bytes, bool)> {
        let started = Instant::now();
        let mut attempt = 0usize;
        // Whether an earlier attempt may have reached the server and taken effect.
        let mut ambiguous = false;
        loop {
            let bearer = self.bearer().await?;
            let request = json_api_request(method, url, bearer.as_deref(), body)
                .map_err(|e| generic(format!("building a request for {path}: {e}")))?;
            let outcome = match self.http.execute(request).await {
                Ok(response) => {
                    let status = response.status();
                    match response.into_body().bytes().await {
                        Ok(body) => Ok((status, body)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            let retryable = match &outcome {
                Ok((status, _)) => {
                    status.is_server_error()
                        || *status == http::StatusCode::TOO_MANY_REQUESTS
                        || *status == http::StatusCode::REQUEST_TIMEOUT
                }
                Err(_) => true,
            };
            let can_retry = retryable
                && attempt < self.retry.max_retries
                && started.elapsed() < self.retry.retry_timeout;
            if !can_retry {
                return match outcome {
                    Ok((status, body)) => Ok((status, body, ambiguous)),
                    Err(e) => Err(transport_error(path, attempt, e)),
                };
            }
            ambiguous = true;
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: usize) -> Duration {
        let exp = self
            .retry
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.retry.max_backoff);
        // Jitter in [0.5, 1.0) so that parallel uploads do not retry in lockstep.
        let jitter = 0.5 + (random_u64() % 1000) as f64 / 2000.0;
        exp.mul_f64(jitter)
    }

    async fn upload(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        let name = Self::object_name(location);
        let condition = match &opts.mode {
            PutMode::Overwrite => None,
            PutMode::Create => Some("0".to_owned()),
            PutMode::Update(v) => match &v.version {
                Some(generation) => Some(generation.clone()),
                None => {
                    return Err(object_store::Error::Generic {
                        store: STORE,
                        source: "a conditional update on GCS needs the object's generation (PutResult::version)".into(),
                    });
                }
            },
        };
        let (metadata, content_type) = self.upload_metadata(location, &name, opts);
        let boundary = format!("thinledger-{:016x}{:016x}", random_u64(), random_u64());
        let head = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n",
            metadata
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        // The data is not copied: the body is the caller's chunks between two small ones.
        let body: PutPayload = std::iter::once(Bytes::from(head))
            .chain(payload.iter().cloned())
            .chain(std::iter::once(Bytes::from(tail)))
            .collect();
        let url = self.upload_url(condition.as_deref());
        let content_type = format!("multipart/related; boundary={boundary}");
        let (status, response, ambiguous) = self
            .send(
                &name,
                &http::Method::POST,
                &url,
                Some(Body {
                    content_type: &content_type,
                    payload: &body,
                }),
            )
            .await?;
        if status.is_success() {
            let object: ObjectResource = serde_json::from_slice(&response).map_err(|e| {
                generic(format!(
                    "GCS answered an upload of {name} with unreadable JSON: {e}"
                ))
            })?;
            return Ok(PutResult {
                e_tag: object
                    .md5_hash
                    .as_deref()
                    .and_then(md5_etag)
                    .or(object.etag),
                version: object.generation,
                extensions: Default::default(),
            });
        }
        let err = status_error(status, &response, &name, &opts.mode, ambiguous);
        Err(self.explain_refusal(location, &name, status, &response, err))
    }

    /// The metadata part of an upload of `location` (named `name`): the object resource's
    /// fields from `opts`, plus the retention the write carries; and the data's content type.
    fn upload_metadata(
        &self,
        location: &Path,
        name: &str,
        opts: &PutOptions,
    ) -> (serde_json::Value, String) {
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), name.into());
        let mut custom = serde_json::Map::new();
        let mut content_type = "application/octet-stream".to_owned();
        for (attribute, value) in &opts.attributes {
            let value = value.as_ref().to_owned();
            match attribute {
                Attribute::ContentType => {
                    content_type = value.clone();
                    metadata.insert("contentType".into(), value.into());
                }
                Attribute::ContentDisposition => {
                    metadata.insert("contentDisposition".into(), value.into());
                }
                Attribute::ContentEncoding => {
                    metadata.insert("contentEncoding".into(), value.into());
                }
                Attribute::ContentLanguage => {
                    metadata.insert("contentLanguage".into(), value.into());
                }
                Attribute::CacheControl => {
                    metadata.insert("cacheControl".into(), value.into());
                }
                Attribute::StorageClass => {
                    metadata.insert("storageClass".into(), value.into());
                }
                Attribute::Metadata(key) => {
                    custom.insert(key.to_string(), value.into());
                }
                _ => {}
            }
        }
        if !custom.is_empty() {
            metadata.insert("metadata".into(), custom.into());
        }
        if let Some(lock) = self.retention_for(location) {
            metadata.insert(
                "retention".into(),
                gcs_retention::retention_json(lock, SystemTime::now()),
            );
        }
        (serde_json::Value::Object(metadata), content_type)
    }

    /// The JSON-API upload URL: create-only or conditional via `ifGenerationMatch`, encrypted
    /// with the configured Cloud KMS key via `kmsKeyName`.
    fn upload_url(&self, generation: Option<&str>) -> String {
        let mut url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=multipart",
            self.base_url,
            utf8_percent_encode(&self.bucket, COMPONENT)
        );
        if let Some(generation) = generation {
            url.push_str("&ifGenerationMatch=");
            url.push_str(generation);
        }
        if let Some(key) = &self.kms_key_name {
            url.push_str("&kmsKeyName=");
            url.push_str(&utf8_percent_encode(key, COMPONENT).to_string());
        }
        url
    }

    async fn rewrite(&self, from: &Path, to: &Path, mode: &CopyMode) -> Result<()> {
        let (source, target) = (Self::object_name(from), Self::object_name(to));
        let bucket = utf8_percent_encode(&self.bucket, COMPONENT).to_string();
        let body = PutPayload::from(self.rewrite_body(to).to_string());
        let mut token: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/storage/v1/b/{bucket}/o/{}/rewriteTo/b/{bucket}/o/{}?",
                self.base_url,
                utf8_percent_encode(&source, COMPONENT),
                utf8_percent_encode(&target, COMPONENT),
            );
            if matches!(mode, CopyMode::Create) {
                url.push_str("ifGenerationMatch=0&");
            }
            if let Some(key) = &self.kms_key_name {
                url.push_str("destinationKmsKeyName=");
                url.push_str(&utf8_percent_encode(key, COMPONENT).to_string());
                url.push('&');
            }
            if let Some(t) = &token {
                url.push_str("rewriteToken=");
                url.push_str(&utf8_percent_encode(t, COMPONENT).to_string());
            }
            let (status, response, ambiguous) = self
                .send(&target, &http::Method::POST, &url, Some(Body::json(&body)))
                .await?;
            if !status.is_success() {
                let put_mode = match mode {
                    CopyMode::Create => PutMode::Create,
                    _ => PutMode::Overwrite,
                };
                if status == http::StatusCode::NOT_FOUND {
                    return Err(object_store::Error::NotFound {
                        path: source,
                        source: body_excerpt(&response).into(),
                    });
                }
                let err = status_error(status, &response, &target, &put_mode, ambiguous);
                return Err(self.explain_refusal(to, &target, status, &response, err));
            }
            let progress: RewriteResponse = serde_json::from_slice(&response).map_err(|e| {
                generic(format!(
                    "GCS answered a copy to {target} with unreadable JSON: {e}"
                ))
            })?;
            if progress.done {
                return Ok(());
            }
            token = progress.rewrite_token;
            if token.is_none() {
                return Err(generic(format!(
                    "GCS left the copy to {target} unfinished without a rewrite token"
                )));
            }
        }
    }
}

impl GcsStore {
    /// The destination's metadata in a `rewriteTo` request: its retention, if it gets one
    /// (the rewrite writes a new object, which does not inherit the source's).
    fn rewrite_body(&self, to: &Path) -> serde_json::Value {
        match self.retention_for(to) {
            Some(lock) => serde_json::json!({
                "retention": gcs_retention::retention_json(lock, SystemTime::now())
            }),
            None => serde_json::json!({}),
        }
    }

    /// Sends a JSON-API request without a body (`method` GET or DELETE) or with a JSON one,
    /// to `path_and_query` under the base URL; the answer's status and body.
    pub(crate) async fn json_request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(http::StatusCode, Bytes)> {
        let url = format!(
            "{}/{}",
            self.base_url,
            path_and_query.trim_start_matches('/')
        );
        let body = body.map(|b| PutPayload::from(b.to_string()));
        let (status, response, _) = self
            .send(path_and_query, &method, &url, body.as_ref().map(Body::json))
            .await?;
        Ok((status, response))
    }
}

#[async_trait]
impl RetentionSource for GcsStore {
    async fn retention(&self, key: &Path) -> Result<Option<ObjectRetention>, StoreError> {
        let name = Self::object_name(key);
        let failed = |message: String| StoreError::RetentionUnreadable {
            path: key.to_string(),
            message,
            fix: "check that the credentials may read the object's metadata (storage.objects.get) and that the bucket has Object Retention Lock enabled",
        };
        let path = format!(
            "storage/v1/b/{}/o/{}?fields=timeCreated%2Cretention%2CretentionExpirationTime",
            utf8_percent_encode(&self.bucket, COMPONENT),
            utf8_percent_encode(&name, COMPONENT)
        );
        let (status, body) = self
            .json_request(http::Method::GET, &path, None)
            .await
            .map_err(|e| failed(e.to_string()))?;
        read_back(
            "the object's metadata GET",
            status,
            &body[..],
            gcs_retention::parse_retention,
        )
        .map_err(|message| {
            if status.is_success() {
                failed(message)
            } else {
                // GCS says why in the body.
                failed(format!("{message}: {}", body_excerpt(&body)))
            }
        })
    }
}

/// A request's body and its content type.
#[derive(Debug, Clone, Copy)]
struct Body<'a> {
    content_type: &'a str,
    payload: &'a PutPayload,
}

impl<'a> Body<'a> {
    fn json(payload: &'a PutPayload) -> Self {
        Body {
            content_type: "application/json",
            payload,
        }
    }
}

/// One JSON-API request: `method` to `url`, with `bearer` as its authorization when there is
/// one (none: unsigned), and `body` with its type and length when there is one. The body's
/// chunks are shared, not copied, so each retry builds its request anew cheaply.
fn json_api_request(
    method: &http::Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<Body<'_>>,
) -> std::result::Result<HttpRequest, http::Error> {
    let mut builder = http::Request::builder().method(method.clone()).uri(url);
    if let Some(token) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(http::header::CONTENT_TYPE, body.content_type)
            .header(http::header::CONTENT_LENGTH, body.payload.content_length())
            .body(HttpRequestBody::from(body.payload.clone())),
        None => builder.body(HttpRequestBody::empty()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectResource {
    generation: Option<String>,
    etag: Option<String>,
    md5_hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewriteResponse {
    #[serde(default)]
    done: bool,
    rewrite_token: Option<String>,
}

/// The XML API's ETag of a non-composite object is the quoted hex MD5; the JSON API gives the
/// MD5 in base64. Converting keeps a put's e-tag equal to what a later head or get reports.
fn md5_etag(base64_md5: &str) -> Option<String> {
    use base64::Engine as _;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(base64_md5)
        .ok()?;
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("\"{hex}\""))
}

fn random_u64() -> u64 {
    // RandomState is seeded from the OS once per process and varied per instance.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: message.into(),
    }
}

fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn transport_error(path: &str, retries: usize, e: HttpError) -> object_store::Error {
    generic(format!(
        "request for {path} failed after {retries} retries: {e}"
    ))
}

fn status_error(
    status: http::StatusCode,
    body: &[u8],
    name: &str,
    mode: &PutMode,
    ambiguous: bool,
) -> object_store::Error {
    let path = name.to_owned();
    let detail = format!("HTTP {status}: {}", body_excerpt(body));
    match status {
        http::StatusCode::PRECONDITION_FAILED => match mode {
            PutMode::Create => {
                let note = if ambiguous {
                    " (an earlier attempt of this request may have written it)"
                } else {
                    ""
                };
                object_store::Error::AlreadyExists {
                    path,
                    source: format!("{detail}{note}").into(),
                }
            }
            _ => object_store::Error::Precondition {
                path,
                source: detail.into(),
            },
        },
        http::StatusCode::NOT_FOUND => object_store::Error::NotFound {
            path,
            source: format!("{detail} (does the bucket exist?)").into(),
        },
        http::StatusCode::UNAUTHORIZED => object_store::Error::Unauthenticated {
            path,
            source: detail.into(),
        },
        http::StatusCode::FORBIDDEN => object_store::Error::PermissionDenied {
            path,
            source: detail.into(),
        },
        _ => generic(format!("writing {name}: {detail}")),
    }
}

impl fmt::Display for GcsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GCS(bucket {}, JSON-API uploads)", self.bucket)
    }
}

#[async_trait]
impl Overrides for GcsStore {
    fn inner(&self) -> &dyn ObjectStore {
        &self.inner
    }

    async fn put_opts(&self, to: &Path, body: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.upload(to, body, &opts).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.rewrite(from, to, &options.mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_in_base64_becomes_the_xml_etag() {
        // MD5 of the empty string.
        assert_eq!(
            md5_etag("1B2M2Y8AsgTpgAmY7PhCfg==").as_deref(),
            Some("\"d41d8cd98f00b204e9800998ecf8427e\"")
        );
    }

    /// A store of bucket `ledger` on an unused port (no request is sent).
    fn offline_store(kms_key_name: Option<&str>, lock: Option<ObjectLockOptions>) -> GcsStore {
        let client_options = object_store::ClientOptions::new().with_allow_http(true);
        let gcs = object_store::gcp::GoogleCloudStorageBuilder::new()
            .with_bucket_name("ledger")
            .with_base_url("http://127.0.0.1:9")
            .with_client_options(client_options.clone())
            .with_skip_signature(true)
            .with_credentials(std::sync::Arc::new(
                object_store::StaticCredentialProvider::new(object_store::gcp::GcpCredential {
                    bearer: String::new(),
                }),
            ))
            .build()
            .unwrap();
        let http = object_store::client::HttpConnector::connect(
            &object_store::client::ReqwestConnector::default(),
            &client_options,
        )
        .unwrap();
        GcsStore::new(
            gcs,
            http,
            true,
            "http://127.0.0.1:9",
            "ledger",
            RetryOptions::none(),
            kms_key_name.map(str::to_owned),
        )
        .with_lock(lock)
    }

    /// fake-gcs-server stores the `retention` of an upload but ignores it on a rewrite, so the
    /// rewrite's body is checked here: real GCS gives the new object that retention.
    #[tokio::test]
    async fn immutable_uploads_and_copies_carry_retention_but_lock_files_do_not() {
        use crate::options::ObjectLockMode;
        let lock = ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(86_400));
        let store = offline_store(None, Some(lock));
        let day = chrono::Duration::days(1);
        let before = chrono::Utc::now();
        let data = Path::from("tenant/data/ab/abcd");
        let (meta, content_type) =
            store.upload_metadata(&data, "tenant/data/ab/abcd", &PutOptions::default());
        assert_eq!(content_type, "application/octet-stream");
        assert_eq!(meta["name"], "tenant/data/ab/abcd");
        assert_eq!(meta["retention"]["mode"], "Locked");
        let until: chrono::DateTime<chrono::Utc> = meta["retention"]["retainUntilTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(until >= before + day, "{until}");
        assert!(
            until <= chrono::Utc::now() + day + chrono::Duration::seconds(2),
            "{until}"
        );
        let copy = store.rewrite_body(&Path::from("tenant/index/ab"));
        assert_eq!(copy["retention"]["mode"], "Locked", "{copy}");

        let lock_file = Path::from("tenant/locks/abcd");
        let (meta, _) =
            store.upload_metadata(&lock_file, "tenant/locks/abcd", &PutOptions::default());
        assert!(meta.get("retention").is_none(), "{meta}");
        assert_eq!(store.rewrite_body(&lock_file), serde_json::json!({}));

        let plain = offline_store(None, None);
        let (meta, _) = plain.upload_metadata(&data, "tenant/data/ab/abcd", &PutOptions::default());
        assert!(meta.get("retention").is_none(), "{meta}");
    }

    /// Real GCS refuses an upload with retention to a bucket without Object Retention Lock;
    /// fake-gcs-server accepts it, so the refusal is typed from a recorded answer here.
    #[tokio::test]
    async fn a_refused_retention_names_the_policy_and_the_fix() {
        use crate::options::ObjectLockMode;
        let lock = ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(60));
        let store = offline_store(None, Some(lock));
        let body = br#"{"error":{"code":400,"message":"Object retention is not enabled for this bucket."}}"#;
        // The error a create-only upload of `name` gets from an answer of `status` with `body`.
        let answered = |name: &str, status: http::StatusCode, body: &[u8]| {
            let raw = status_error(status, body, name, &PutMode::Create, false);
            store.explain_refusal(&Path::from(name), name, status, body, raw)
        };
        let err = answered("tenant/data/ab/abcd", http::StatusCode::BAD_REQUEST, body);
        let object_store::Error::Generic { source, .. } = &err else {
            panic!("{err:?}");
        };
        let typed = source.downcast_ref::<StoreError>().expect("a StoreError");
        assert!(
            matches!(typed, StoreError::RetentionRefused { .. }),
            "{typed}"
        );
        assert!(typed.to_string().contains("Unlocked"), "{typed}");

        // A lock file carries no retention: its refusal stays as it was.
        let err = answered("tenant/locks/a", http::StatusCode::BAD_REQUEST, body);
        let object_store::Error::Generic { source, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(source.downcast_ref::<StoreError>().is_none(), "{err}");
        // An existing object is still AlreadyExists, whatever the policy.
        let err = answered(
            "tenant/data/ab/abcd",
            http::StatusCode::PRECONDITION_FAILED,
            b"{}",
        );
        assert!(
            matches!(err, object_store::Error::AlreadyExists { .. }),
            "{err:?}"
        );
    }

    /// fake-gcs-server ignores `kmsKeyName`, so the request is checked here: real GCS
    /// encrypts the object with the named key or refuses the upload.
    #[tokio::test]
    async fn uploads_name_the_kms_key() {
        let key = "projects/acme/locations/eu/keyRings/ledger/cryptoKeys/backups";
        let store = offline_store(Some(key), None);
        assert_eq!(
            store.upload_url(Some("0")),
            "http://127.0.0.1:9/upload/storage/v1/b/ledger/o?uploadType=multipart&ifGenerationMatch=0\
             &kmsKeyName=projects%2Facme%2Flocations%2Feu%2FkeyRings%2Fledger%2FcryptoKeys%2Fbackups"
        );
    }

    /// Uploads, copies and bucket requests are built alike: signed when there is a token, and
    /// with their body's type and length when they have one.
    #[test]
    fn requests_carry_the_token_and_the_body_they_are_given() {
        let url = "http://127.0.0.1:9/storage/v1/b/ledger?projection=noAcl";
        let get = json_api_request(&http::Method::GET, url, None, None).unwrap();
        assert_eq!(get.method(), http::Method::GET);
        assert_eq!(get.uri(), url);
        assert!(get.headers().is_empty(), "{:?}", get.headers());
        assert_eq!(get.body().content_length(), 0);

        let json = PutPayload::from(r#"{"versioning":{"enabled":true}}"#);
        let patch = json_api_request(
            &http::Method::PATCH,
            url,
            Some("t0k"),
            Some(Body::json(&json)),
        )
        .unwrap();
        let header = |name| patch.headers()[name].to_str().unwrap();
        assert_eq!(header(http::header::AUTHORIZATION), "Bearer t0k");
        assert_eq!(header(http::header::CONTENT_TYPE), "application/json");
        assert_eq!(header(http::header::CONTENT_LENGTH), "31");
        assert_eq!(patch.body().content_length(), 31);

        let parts: PutPayload = [Bytes::from_static(b"head"), Bytes::from_static(b"data")]
            .into_iter()
            .collect();
        let upload = json_api_request(
            &http::Method::POST,
            url,
            None,
            Some(Body {
                content_type: "multipart/related; boundary=b",
                payload: &parts,
            }),
        )
        .unwrap();
        assert!(!upload.headers().contains_key(http::header::AUTHORIZATION));
        assert_eq!(
            upload.headers()[http::header::CONTENT_TYPE],
            "multipart/related; boundary=b"
        );
        assert_eq!(upload.headers()[http::header::CONTENT_LENGTH], "8");
    }

    #[test]
    fn object_names_are_one_encoded_component() {
        assert_eq!(
            utf8_percent_encode("data/ab/c d", COMPONENT).to_string(),
            "data%2Fab%2Fc%20d"
        );
    }
}
