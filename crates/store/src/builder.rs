//! [`StoreBuilder`]: a URL plus options and credentials in, a ready [`Store`] out.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use thinledger_topology::IdentityBinding;

use super::credentials::{EnvVars, StoreCredentials};
use super::encryption::EncryptionOptions;
use super::error::{Invalid, StoreError};
use super::location::{self, StoreKind, StoreLocation, UrlSettings};
use super::options::{ObjectLockOptions, RetryOptions, StoreOptions};
use super::retention::ObjectLock;
use super::secret::{REDACTED, Secret};

/// Builds a [`Store`] from a URL, options and credentials.
///
/// Precedence, highest first: `with_*` calls, the URL's query string, the environment captured
/// by [`StoreBuilder::from_env`] (or given with [`StoreBuilder::with_env`]), defaults. Credentials:
/// [`StoreBuilder::with_credentials`], else [`StoreBuilder::with_identity`], else the standard
/// variables of the captured environment ([`StoreCredentials::from_env_for`]), else the cloud's
/// default chain. [`StoreBuilder::new`] reads nothing from the environment.
///
/// `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    url: String,
    options: StoreOptions,
    credentials: Option<StoreCredentials>,
    identity: Option<IdentityBinding>,
    env: EnvVars,
    cwd: Option<PathBuf>,
}

impl StoreBuilder {
    /// A builder for `url` (a folder path, `file://`, `s3://`, `az://` or `gs://`).
    pub fn new(url: impl Into<String>) -> Self {
        StoreBuilder {
            url: url.into(),
            options: StoreOptions::default(),
            credentials: None,
            identity: None,
            env: EnvVars::default(),
            cwd: None,
        }
    }

    /// A builder for `url` that also takes settings and credentials from the process's
    /// environment: `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`, the credential variables listed at
    /// [`StoreCredentials::from_env_for`], and those an identity binding needs.
    pub fn from_env(url: impl Into<String>) -> Self {
        StoreBuilder::new(url).with_env(EnvVars::from_process())
    }

    /// Points the builder at another URL, keeping options and credentials (for example the
    /// same MinIO server and keys for a second bucket).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Uses `env` as the environment (what [`StoreBuilder::from_env`] does with the real one).
    pub fn with_env(mut self, env: EnvVars) -> Self {
        self.env = env;
        self
    }

    /// Replaces all options.
    pub fn with_options(mut self, options: StoreOptions) -> Self {
        self.options = options;
        self
    }

    /// Server URL of an S3-compatible server (MinIO), Azurite or a GCS emulator.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.options.endpoint = Some(endpoint.into());
        self
    }

    /// AWS region of the bucket.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.options.region = Some(region.into());
        self
    }

    /// Path-style S3 requests (MinIO); see [`StoreOptions::path_style`].
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.options.path_style = Some(path_style);
        self
    }

    /// Allows plain-http endpoints; see [`StoreOptions::allow_http`].
    pub fn with_allow_http(mut self, allow_http: bool) -> Self {
        self.options.allow_http = Some(allow_http);
        self
    }

    /// Azure storage account name.
    pub fn with_azure_account(mut self, account: impl Into<String>) -> Self {
        self.options.azure_account = Some(account.into());
        self
    }

    /// Retry settings for transient failures.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.options.retry = retry;
        self
    }

    /// How many requests the engine keeps in flight; see [`StoreOptions::max_in_flight`].
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.options.max_in_flight = max_in_flight;
        self
    }

    /// Time allowed for one request.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Server-side encryption for every object written; fields set here win over the URL's
    /// options and the environment's (see [`EncryptionOptions`]).
    pub fn with_encryption(mut self, encryption: EncryptionOptions) -> Self {
        self.options.encryption = encryption;
        self
    }

    /// SSE-KMS with a customer-managed key (an ARN, key id or `alias/…`); shorthand for
    /// [`EncryptionOptions::sse_kms`].
    pub fn with_sse_kms(self, key_id: impl Into<String>) -> Self {
        self.with_encryption(EncryptionOptions::sse_kms(key_id))
    }

    /// Retention on every object written except lock files (S3 Object Lock, Azure
    /// version-level immutability, GCS Object Retention Lock); see
    /// [`StoreOptions::object_lock`]. Other stores refuse it at [`StoreBuilder::build`].
    pub fn with_object_lock(mut self, lock: ObjectLockOptions) -> Self {
        self.options.object_lock = Some(lock);
        self
    }

    /// Explicit credentials (they win over an identity binding and the environment).
    pub fn with_credentials(mut self, credentials: StoreCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// S3/MinIO access keys; shorthand for [`StoreCredentials::S3Keys`].
    pub fn with_s3_keys(self, access_key_id: impl Into<String>, secret_access_key: Secret) -> Self {
        self.with_credentials(StoreCredentials::S3Keys {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token: None,
        })
    }

    /// Azure account key; shorthand for [`StoreCredentials::AzureAccessKey`].
    pub fn with_azure_access_key(self, key: Secret) -> Self {
        self.with_credentials(StoreCredentials::AzureAccessKey { key })
    }

    /// Signs requests as the provider identity a tenant's pods carry
    /// ([`StoreCredentials::for_identity`], resolved at [`StoreBuilder::build`]).
    pub fn with_identity(mut self, binding: IdentityBinding) -> Self {
        self.identity = Some(binding);
        self
    }

    /// Directory that relative local paths are resolved against (default: the current one).
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Parses the URL and checks options and credentials without building a client.
    pub fn location(&self) -> Result<StoreLocation, StoreError> {
        self.parse().map(|(loc, _)| loc)
    }

    fn parse(&self) -> Result<(StoreLocation, UrlSettings), StoreError> {
        let cwd = match &self.cwd {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().map_err(|e| {
                StoreError::invalid(
                    "url",
                    &self.url,
                    format!(
                        "a relative path needs the current directory, which is unreadable: {e}"
                    ),
                    "give an absolute path",
                )
            })?,
        };
        location::parse(&self.url, &cwd)
    }

    /// [`StoreBuilder::build`] for a repository: a local path that exists but is no folder
    /// (a regular file given as the repository) is refused now, naming the path, rather than
    /// failing later as a raw I/O error.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("repo");
    /// std::fs::write(&file, "not a repository")?;
    /// let err = thinledger_store::StoreBuilder::new(file.to_string_lossy())
    ///     .build_for_repository()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("a repository is a directory"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_for_repository(self) -> Result<Store, StoreError> {
        let store = self.build()?;
        store.location().check_local_directory()?;
        Ok(store)
    }

    /// [`StoreBuilder::build_for_repository`] for an existing repository that may be
    /// immutable: an S3, Azure or GCS repository made with `init --object-lock` records its policy
    /// ([`OBJECT_LOCK_POLICY`](crate::OBJECT_LOCK_POLICY)), and the store is built again with
    /// it, so every write keeps the repository's retention (lock files excepted) and
    /// [`Store::object_lock`] can read each object's. One GET of the record, none when a
    /// policy was given with [`StoreBuilder::with_object_lock`] (as `init` does) or the store
    /// is not S3, Azure or GCS (the stores that write with retention).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = thinledger_store::StoreBuilder::new(dir.path().to_string_lossy())
    ///     .build_with_recorded_policy()
    ///     .await?;
    /// assert!(store.object_lock().is_none());
    /// # Ok(()) }
    /// ```
    pub async fn build_with_recorded_policy(self) -> Result<Store, StoreError> {
        if self.options.object_lock.is_some() || !writes_with_retention(self.location()?.kind()) {
            return self.build_for_repository();
        }
        let store = self.clone().build_for_repository()?;
        match ObjectLockOptions::recorded(store.object_store().as_ref()).await? {
            Some(policy) => self.with_object_lock(policy).build_for_repository(),
            None => Ok(store),
        }
    }

    /// What [`StoreBuilder::build`] would build with, resolved and checked, without building
    /// a client: the location, the options with the URL's and the environment's merged in
    /// (endpoint, region, encryption, …), whether plain http is allowed, and the credentials.
    /// Other clients of the same bucket (the `thinledger-bucket` control plane) start here,
    /// so that a URL and an environment mean the same to them as to the store.
    ///
    /// ```
    /// use thinledger_store::{EnvVars, StoreBuilder, StoreCredentials};
    ///
    /// let env: EnvVars = [("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKIA…"), ("AWS_SECRET_ACCESS_KEY", "…")]
    ///     .into_iter()
    ///     .collect();
    /// let settings = StoreBuilder::new("s3://ledger-backups/a?sse_kms_key_id=alias/ledger&server_side_encryption=aws:kms")
    ///     .with_env(env)
    ///     .settings()?;
    /// assert_eq!(settings.options.region.as_deref(), Some("eu-west-1"));
    /// assert_eq!(settings.options.encryption.sse_kms_key_id.as_deref(), Some("alias/ledger"));
    /// assert!(matches!(settings.credentials, StoreCredentials::S3Keys { .. }));
    /// # Ok::<(), thinledger_store::StoreError>(())
    /// ```
    pub fn settings(&self) -> Result<StoreSettings, StoreError> {
        let (location, settings) = self.parse()?;
        let kind = location.kind();
        let resolved = self.resolve(kind, settings)?;
        let credentials = self.resolve_credentials(kind)?;
        Ok(StoreSettings {
            location,
            options: resolved.options,
            allow_http: resolved.allow_http,
            credentials,
            env: self.env.clone(),
        })
    }

    /// Resolves everything and builds the client. Builds no connection: the first request
    /// tells whether the bucket exists and the credentials work.
    pub fn build(self) -> Result<Store, StoreError> {
        let StoreSettings {
            location,
            options,
            allow_http,
            credentials,
            ..
        } = self.settings()?;
        let kind = location.kind();
        let resolved = Resolved {
            options,
            allow_http,
        };
        let encryption = resolved.options.encryption.resolve(kind, &credentials)?;
        let mut retention = None;
        let (inner, atomic_create): (Arc<dyn ObjectStore>, bool) = match &location {
            StoreLocation::Local { root } => {
                let fs = LocalFileSystem::new().with_fsync(resolved.options.local_fsync);
                let root_path = Path::from_absolute_path(root).map_err(|e| {
                    StoreError::invalid(
                        "url.path",
                        root.display().to_string(),
                        format!("not usable as a store folder: {e}"),
                        "give an absolute path of plain names",
                    )
                })?;
                // Rooted at `/` with a prefix, rather than `new_with_prefix`, so that building
                // needs no existing folder: `init` creates it with its first write.
                let prefixed: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(fs, root_path));
                // Private modes (0700 directories, 0400 files): see `local`.
                (
                    Arc::new(super::local::PrivateLocalStore::new(prefixed, root.clone())),
                    true,
                )
            }
            StoreLocation::S3 { bucket, .. } => {
                let (store, source) = super::cloud::build_s3(
                    bucket,
                    &resolved,
                    &credentials,
                    &self.env,
                    encryption.as_ref(),
                )?;
                retention = source;
                (store, resolved.options.s3_conditional_put)
            }
            StoreLocation::Azure { container, .. } => {
                let (store, source) = super::cloud::build_azure(
                    container,
                    &resolved,
                    &credentials,
                    encryption.as_ref(),
                )?;
                retention = source;
                (store, true)
            }
            StoreLocation::Gcs { bucket, .. } => {
                let (store, source) =
                    super::cloud::build_gcs(bucket, &resolved, &credentials, encryption.as_ref())?;
                retention = source;
                (store, true)
            }
        };
        let inner = match &encryption {
            Some(e) => super::cloud::with_refusals(inner, e.clone()),
            None => inner,
        };
        let object_store: Arc<dyn ObjectStore> = match location.prefix() {
            "" => inner,
            prefix => Arc::new(PrefixStore::new(inner, Path::from(prefix))),
        };
        let display_url = match &resolved.options.endpoint {
            Some(endpoint) => format!("{location} (endpoint {endpoint})"),
            None => location.to_string(),
        };
        let object_lock = match (resolved.options.object_lock, retention) {
            (Some(policy), Some(source)) => {
                Some(ObjectLock::new(policy, source, location.prefix()))
            }
            _ => None,
        };
        Ok(Store {
            object_store,
            object_lock,
            display_url,
            credentials: credentials.describe(),
            max_in_flight: resolved.options.max_in_flight,
            atomic_create,
            location,
            encryption: encryption.map(|e| e.summary()),
        })
    }

    /// The GCS client for `bucket`, with the options and credentials [`StoreBuilder::build`]
    /// would resolve (for the bucket JSON API).
    #[cfg(feature = "gcs")]
    pub(crate) fn gcs_client(&self, bucket: &str) -> Result<super::gcs::GcsStore, StoreError> {
        let (location, settings) = self.parse()?;
        let kind = location.kind();
        let resolved = self.resolve(kind, settings)?;
        let credentials = self.resolve_credentials(kind)?;
        let encryption = resolved.options.encryption.resolve(kind, &credentials)?;
        super::cloud::gcs_store(bucket, &resolved, &credentials, encryption.as_ref())
    }

    fn resolve(&self, kind: StoreKind, settings: UrlSettings) -> Result<Resolved, StoreError> {
        let mut options = self.options.clone();
        let env = &self.env;
        options.endpoint = options
            .endpoint
            .or(settings.endpoint)
            .or_else(|| match kind {
                StoreKind::S3 => env
                    .get("AWS_ENDPOINT_URL_S3")
                    .or(env.get("AWS_ENDPOINT_URL"))
                    .map(str::to_owned),
                _ => None,
            });
        options.region = options.region.or(settings.region).or_else(|| {
            env.get("AWS_REGION")
                .or(env.get("AWS_DEFAULT_REGION"))
                .map(str::to_owned)
        });
        options.path_style = options.path_style.or(settings.path_style);
        options.allow_http = options.allow_http.or(settings.allow_http);
        options.azure_account = options.azure_account.or(settings.account).or_else(|| {
            env.get("AZURE_STORAGE_ACCOUNT_NAME")
                .or(env.get("AZURE_STORAGE_ACCOUNT"))
                .map(str::to_owned)
        });
        options.encryption = options
            .encryption
            .or(settings.encryption)
            .or(EncryptionOptions::from_env(kind, env)?);
        if options.max_in_flight == 0 {
            return Err(StoreError::invalid(
                "option.max_in_flight",
                "0",
                "at least one request must be allowed in flight",
                "use a value from 1 to 64 (default 8)",
            ));
        }
        let mut allow_http = false;
        if let Some(endpoint) = &options.endpoint {
            if kind == StoreKind::Local {
                return Err(StoreError::invalid(
                    "option.endpoint",
                    endpoint.clone(),
                    "a local folder has no endpoint",
                    "remove the endpoint, or use an s3://, az:// or gs:// URL",
                ));
            }
            let loopback = check_endpoint(endpoint)?;
            allow_http = options.allow_http.unwrap_or(loopback);
            if endpoint.starts_with("http://") && !allow_http {
                return Err(StoreError::invalid(
                    "option.endpoint",
                    endpoint.clone(),
                    "plain http sends data and request signatures unencrypted; only loopback endpoints use it by default",
                    "use https://, or set allow_http=true for a network you trust",
                ));
            }
        }
        if let Some(lock) = &options.object_lock {
            if !writes_with_retention(kind) {
                return Err(StoreError::invalid(
                    "option.object_lock",
                    lock.mode.as_str(),
                    format!(
                        "object-lock retention is implemented for s3://, az:// and gs:// stores, and this is a {kind} store"
                    ),
                    "use an S3 bucket with Object Lock enabled, an Azure container with version-level immutability support, or a GCS bucket with Object Retention Lock enabled",
                ));
            }
            if lock.retain.is_zero() {
                return Err(StoreError::invalid(
                    "option.object_lock.retain",
                    "0s",
                    "a retention is at least one second",
                    "give a duration such as 30d",
                ));
            }
        }
        if kind == StoreKind::S3 && options.endpoint.is_none() && options.region.is_none() {
            return Err(StoreError::missing(
                "option.region",
                "s3",
                "give the bucket's region: ?region=eu-west-1 in the URL, with_region, or AWS_REGION",
            ));
        }
        if kind == StoreKind::Azure && options.azure_account.is_none() {
            return Err(StoreError::missing(
                "option.azure_account",
                "azure",
                "give the storage account: ?account=NAME in the URL, with_azure_account, or AZURE_STORAGE_ACCOUNT_NAME",
            ));
        }
        Ok(Resolved {
            options,
            allow_http,
        })
    }

    fn resolve_credentials(&self, kind: StoreKind) -> Result<StoreCredentials, StoreError> {
        if kind == StoreKind::Local && (self.credentials.is_some() || self.identity.is_some()) {
            let given = match (&self.credentials, &self.identity) {
                (Some(c), _) => c.describe(),
                (None, Some(binding)) => binding.kind(),
                (None, None) => "",
            };
            return Err(StoreError::invalid(
                "credentials",
                given,
                "a local folder takes no credentials or identity",
                "remove them, or use an object-store URL",
            ));
        }
        let credentials = match (&self.credentials, &self.identity) {
            (Some(c), _) => c.clone(),
            (None, Some(binding)) => StoreCredentials::for_identity(binding, kind, &self.env)?,
            (None, None) => StoreCredentials::from_env_for(kind, &self.env),
        };
        if let Some(for_kind) = credentials.store_kind()
            && for_kind != kind
        {
            return Err(StoreError::invalid(
                "credentials",
                credentials.describe(),
                format!("these are {for_kind} credentials, but the URL names a {kind} store"),
                "pass credentials of the store's own kind",
            ));
        }
        Ok(credentials)
    }
}

/// Whether stores of `kind` can write every object with a retention (S3 Object Lock, Azure
/// version-level immutability, GCS object retention).
fn writes_with_retention(kind: StoreKind) -> bool {
    matches!(kind, StoreKind::S3 | StoreKind::Azure | StoreKind::Gcs)
}

/// A [`StoreBuilder`]'s settings, resolved and checked ([`StoreBuilder::settings`]).
///
/// `Debug` shows no secret (credentials and customer keys are [`Secret`]s; the environment
/// lists names only).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreSettings {
    /// Where the store lives.
    pub location: StoreLocation,
    /// The options, with the URL's and the environment's merged in: `endpoint`, `region`
    /// (S3: `None` only with an endpoint, where any region signs), `encryption`, ….
    pub options: StoreOptions,
    /// Whether the endpoint may be plain http (loopback, or `allow_http=true`).
    pub allow_http: bool,
    /// The credentials requests are signed with.
    pub credentials: StoreCredentials,
    /// The environment the builder was given ([`StoreBuilder::from_env`] or
    /// [`StoreBuilder::with_env`]; empty for [`StoreBuilder::new`]): where a credential
    /// chain looks.
    pub env: EnvVars,
}

/// Options after merging the URL and environment in.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub options: StoreOptions,
    #[cfg_attr(
        not(any(feature = "s3", feature = "azure", feature = "gcs")),
        allow(dead_code)
    )]
    /// Whether the client may use plain http (an http endpoint that passed the checks).
    pub allow_http: bool,
}

/// Checks an endpoint URL; returns whether its host is a loopback address.
fn check_endpoint(endpoint: &str) -> Result<bool, StoreError> {
    let invalid = |value: &str, rule: &str, fix: &str| {
        StoreError::invalid("option.endpoint", value, rule, fix)
    };
    // Look for user:password@ before parsing, so that not even a parse error can echo it. Any
    // '@' counts: a password may hold a '/' that would hide it from an authority-only check.
    if endpoint.contains('@') {
        return Err(invalid(
            REDACTED,
            "credentials do not belong in an endpoint URL (URLs end up in logs)",
            "remove user:password@ and pass credentials as options or through the environment",
        ));
    }
    let parsed = url::Url::parse(endpoint).map_err(|e| {
        invalid(
            endpoint,
            &format!("not a URL ({e})"),
            "write it as https://host:port",
        )
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            REDACTED,
            "credentials do not belong in an endpoint URL (URLs end up in logs)",
            "remove user:password@ and pass credentials as options or through the environment",
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(
            endpoint,
            "an endpoint is an http:// or https:// URL",
            "write it as https://host:port",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            endpoint,
            "an endpoint has no ?query or #fragment",
            "remove them",
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => {
            return Err(invalid(
                endpoint,
                "the endpoint has no host",
                "write it as https://host:port",
            ));
        }
    };
    Ok(loopback)
}

/// A built store: the `object_store` client the engine uses, plus what to show and how to
/// drive it.
#[derive(Debug, Clone)]
pub struct Store {
    object_store: Arc<dyn ObjectStore>,
    object_lock: Option<ObjectLock>,
    location: StoreLocation,
    display_url: String,
    credentials: &'static str,
    max_in_flight: usize,
    atomic_create: bool,
    encryption: Option<String>,
}

impl Store {
    /// The client, already scoped to the URL's prefix.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.object_store)
    }

    /// The Object Lock policy this store writes with, and its objects' retention; `None`
    /// when writes carry no retention (see [`StoreBuilder::build_with_recorded_policy`]).
    pub fn object_lock(&self) -> Option<&ObjectLock> {
        self.object_lock.as_ref()
    }

    /// Where the store lives.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The URL to show in logs and output: canonical form, endpoint added, no secrets.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Which kind of credentials signs requests (`static keys`, `web identity (IRSA)`, …).
    pub fn credentials_kind(&self) -> &'static str {
        self.credentials
    }

    /// How many requests the engine should keep in flight ([`StoreOptions::max_in_flight`]).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The server-side encryption every write carries, as `name=value` options (customer keys
    /// `redacted`), e.g. `server_side_encryption=aws:kms, sse_kms_key_id=arn:…`; `None` when the
    /// bucket's default applies.
    pub fn encryption(&self) -> Option<&str> {
        self.encryption.as_deref()
    }

    /// Whether `PutMode::Create` is atomic here: a second create of the same name fails with
    /// `AlreadyExists`, whoever wrote first, with no window in between. True for every store
    /// unless S3 conditional puts are switched off ([`StoreOptions::s3_conditional_put`]).
    pub fn atomic_create(&self) -> bool {
        self.atomic_create
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_url)
    }
}
