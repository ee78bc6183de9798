//! [`Bucket`]: a bucket's control plane, built from a repository URL by [`BucketBuilder`].

use serde::{Deserialize, Serialize};
use thinledger_store::{EnvVars, Invalid, Secret, StoreBuilder, StoreCredentials, StoreLocation};

use crate::config::{BucketConfig, Provider};
use crate::error::BucketError;
use crate::plan::{BucketChange, BucketPlan, plan};
use crate::rules::{BucketOptions, BucketReport, check};

/// Builds a [`Bucket`] from a store URL (`s3://bucket/prefix?region=…&endpoint=…`,
/// `az://container/prefix?account=…`: the repository's URL): the bucket is the URL's, and
/// lifecycle rules are judged for its prefix.
#[derive(Debug, Clone)]
pub struct BucketBuilder {
    url: String,
    env: EnvVars,
    endpoint: Option<String>,
    region: Option<String>,
    account: Option<String>,
    credentials: Option<StoreCredentials>,
}

impl BucketBuilder {
    /// A builder for `url` that reads no environment variables.
    pub fn new(url: impl Into<String>) -> Self {
        BucketBuilder {
            url: url.into(),
            env: EnvVars::default(),
            endpoint: None,
            region: None,
            account: None,
            credentials: None,
        }
    }

    /// A builder for `url` that also reads the process environment as the stores do:
    /// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, `AWS_REGION`/`AWS_DEFAULT_REGION`, and the
    /// credentials of [`StoreCredentials::from_env_for`].
    pub fn from_env(url: impl Into<String>) -> Self {
        BucketBuilder::new(url).with_env(EnvVars::from_process())
    }

    /// Reads settings and credentials from `env` (tests pass their own).
    pub fn with_env(mut self, env: EnvVars) -> Self {
        self.env = env;
        self
    }

    /// The S3 endpoint (MinIO, an emulator) or Azure blob endpoint (Azurite, with the
    /// account in its path); wins over the URL's `endpoint=` and the environment.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The bucket's region; wins over the URL's `region=` and the environment.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The Azure storage account; wins over the URL's `account=` and the environment.
    pub fn with_azure_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// An Azure account key.
    pub fn with_azure_access_key(self, key: Secret) -> Self {
        self.with_credentials(StoreCredentials::AzureAccessKey { key })
    }

    /// The credentials to sign with (default: from the environment).
    pub fn with_credentials(mut self, credentials: StoreCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// S3 access keys.
    pub fn with_s3_keys(self, access_key_id: impl Into<String>, secret_access_key: Secret) -> Self {
        self.with_credentials(StoreCredentials::S3Keys {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token: None,
        })
    }

    /// Checks the URL and settings and builds the client (no request is made).
    pub fn build(self) -> Result<Bucket, BucketError> {
        let location = StoreBuilder::new(&self.url).location()?;
        let query = query(&self.url);
        match location {
            StoreLocation::S3 { bucket, prefix } => {
                let endpoint = self
                    .endpoint
                    .clone()
                    .or_else(|| query("endpoint"))
                    .or_else(|| self.env.get("AWS_ENDPOINT_URL_S3").map(str::to_owned))
                    .or_else(|| self.env.get("AWS_ENDPOINT_URL").map(str::to_owned));
                if let Some(e) = &endpoint {
                    check_endpoint(e, query("allow_http").as_deref() == Some("true"))?;
                }
                let region = self
                    .region
                    .clone()
                    .or_else(|| query("region"))
                    .or_else(|| self.env.get("AWS_REGION").map(str::to_owned))
                    .or_else(|| self.env.get("AWS_DEFAULT_REGION").map(str::to_owned))
                    // S3-compatible servers mostly ignore the region; it still signs.
                    .or_else(|| endpoint.as_ref().map(|_| "us-east-1".to_owned()))
                    .ok_or_else(|| BucketError::Missing {
                        field: "region",
                        provider: "s3",
                        fix: "give the bucket's region: ?region=eu-west-1 in the URL, with_region, or AWS_REGION".into(),
                    })?;
                let credentials = self.credentials.clone().unwrap_or_else(|| {
                    StoreCredentials::from_env_for(thinledger_store::StoreKind::S3, &self.env)
                });
                // The key the repository writes with is the one the default should use.
                let kms_key = query("sse_kms_key_id")
                    .or_else(|| self.env.get("AWS_SSE_KMS_KEY_ID").map(str::to_owned));
                #[cfg(feature = "s3")]
                {
                    let inner = crate::s3::S3Bucket::new(&bucket, &region, endpoint, &credentials)?;
                    Ok(Bucket {
                        provider: Provider::S3,
                        bucket,
                        prefix,
                        kms_key,
                        inner: Inner::S3(inner),
                    })
                }
                #[cfg(not(feature = "s3"))]
                {
                    let _ = (bucket, prefix, region, credentials, kms_key);
                    Err(BucketError::FeatureDisabled {
                        scheme: "s3",
                        feature: "s3",
                    })
                }
            }
            StoreLocation::Azure { container, prefix } => self.build_azure(container, prefix),
            StoreLocation::Gcs { bucket, prefix } => self.build_gcs(bucket, prefix),
            _ => Err(BucketError::invalid(
                "url",
                &self.url,
                "a bucket has a configuration; a local folder has none",
                "give an s3:// URL (or an az:// one)",
            )),
        }
    }
}

impl BucketBuilder {
    /// A GCS bucket through the JSON API, signed as the store is: the URL's `endpoint=`
    /// (or [`BucketBuilder::with_endpoint`]), credentials from [`BucketBuilder::with_credentials`]
    /// or the environment (`GOOGLE_APPLICATION_CREDENTIALS`, …, else workload identity).
    fn build_gcs(&self, bucket: String, prefix: String) -> Result<Bucket, BucketError> {
        #[cfg(feature = "gcs")]
        {
            let mut store = StoreBuilder::new(&self.url).with_env(self.env.clone());
            if let Some(endpoint) = &self.endpoint {
                store = store.with_endpoint(endpoint);
            }
            if let Some(credentials) = &self.credentials {
                store = store.with_credentials(credentials.clone());
            }
            // The key the repository writes with is the one the default should use.
            let kms_key = query(&self.url)("kms_key_name").or_else(|| {
                self.env
                    .get("GOOGLE_STORAGE_KMS_KEY_NAME")
                    .map(str::to_owned)
            });
            let api = store.build_gcs_bucket_api()?;
            Ok(Bucket {
                provider: Provider::Gcs,
                bucket,
                prefix,
                kms_key,
                inner: Inner::Gcs(crate::gcs::GcsBucket::new(api)),
            })
        }
        #[cfg(not(feature = "gcs"))]
        {
            let _ = (bucket, prefix);
            Err(BucketError::FeatureDisabled {
                scheme: "gs",
                feature: "gcs",
            })
        }
    }

    /// An Azure container's control plane: the account from `with_azure_account`, the URL's
    /// `account=` or `AZURE_STORAGE_ACCOUNT_NAME`; the endpoint (Azurite) as for S3; the
    /// tenant's encryption scope from the URL's `encryption_scope=` or
    /// `AZURE_STORAGE_ENCRYPTION_SCOPE`.
    fn build_azure(&self, container: String, prefix: String) -> Result<Bucket, BucketError> {
        let query = query(&self.url);
        let account = self
            .account
            .clone()
            .or_else(|| query("account"))
            .or_else(|| self.env.get("AZURE_STORAGE_ACCOUNT_NAME").map(str::to_owned))
            .or_else(|| self.env.get("AZURE_STORAGE_ACCOUNT").map(str::to_owned))
            .ok_or_else(|| BucketError::Missing {
                field: "account",
                provider: "azure",
                fix: "give the storage account: ?account=NAME in the URL, with_azure_account, or AZURE_STORAGE_ACCOUNT_NAME".into(),
            })?;
        let endpoint = self.endpoint.clone().or_else(|| query("endpoint"));
        if let Some(e) = &endpoint {
            check_endpoint(e, query("allow_http").as_deref() == Some("true"))?;
        }
        let credentials = self.credentials.clone().unwrap_or_else(|| {
            StoreCredentials::from_env_for(thinledger_store::StoreKind::Azure, &self.env)
        });
        let scope = query("encryption_scope").or_else(|| {
            self.env
                .get("AZURE_STORAGE_ENCRYPTION_SCOPE")
                .map(str::to_owned)
        });
        #[cfg(feature = "azure")]
        {
            let inner =
                crate::azure::AzureBucket::new(&container, &account, endpoint, &credentials)?;
            Ok(Bucket {
                provider: Provider::Azure,
                bucket: container,
                prefix,
                kms_key: scope,
                inner: Inner::Azure(inner),
            })
        }
        #[cfg(not(feature = "azure"))]
        {
            let _ = (container, prefix, account, endpoint, credentials, scope);
            Err(BucketError::FeatureDisabled {
                scheme: "az",
                feature: "azure",
            })
        }
    }
}

/// A query parameter of the URL (the store checked the URL's shape).
fn query(url: &str) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = url::Url::parse(url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Plain HTTP only to loopback, or when the URL says `allow_http=true`: a bucket's
/// configuration requests carry the credentials' signatures and the bucket policy.
fn check_endpoint(endpoint: &str, allow_http: bool) -> Result<(), BucketError> {
    let url = url::Url::parse(endpoint).map_err(|e| {
        BucketError::invalid(
            "url.endpoint",
            endpoint,
            format!("not a URL ({e})"),
            "give https://host[:port]",
        )
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_http => Ok(()),
        scheme => Err(BucketError::invalid(
            "url.endpoint",
            endpoint,
            format!("{scheme}:// to a host that is not loopback"),
            "use https://, or add allow_http=true to the URL for a network you trust",
        )),
    }
}

/// A bucket's control plane: reads its configuration, checks it, plans and applies fixes.
#[derive(Debug)]
pub struct Bucket {
    provider: Provider,
    bucket: String,
    prefix: String,
    kms_key: Option<String>,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    #[cfg(feature = "s3")]
    S3(crate::s3::S3Bucket),
    #[cfg(feature = "gcs")]
    Gcs(crate::gcs::GcsBucket),
    #[cfg(feature = "azure")]
    Azure(crate::azure::AzureBucket),
    // Keeps the enum inhabited-or-not the same way in every feature combination.
    #[allow(dead_code)]
    Never(std::convert::Infallible),
}

/// What happened to one change of an applied plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeResult {
    /// The provider accepted it.
    Applied,
    /// The identity may not make it.
    Denied {
        /// The permission it needs, e.g. `s3:PutBucketVersioning`.
        permission: String,
        /// The provider's answer.
        message: String,
    },
}

/// One change of an applied plan and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChangeOutcome {
    /// The change.
    pub change: BucketChange,
    /// What happened.
    pub result: ChangeResult,
}

/// The result of [`Bucket::apply`]: the plan, each change's outcome, and a fresh check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BucketApplied {
    /// The plan that was applied.
    pub plan: BucketPlan,
    /// Each change, in order.
    pub outcomes: Vec<ChangeOutcome>,
    /// The bucket checked again afterwards.
    pub after: BucketReport,
}

impl Bucket {
    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The bucket (container) name.
    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// The URL's prefix inside the bucket (the repository's).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Reads the bucket's configuration.
    pub async fn config(&self) -> Result<BucketConfig, BucketError> {
        match &self.inner {
            #[cfg(feature = "s3")]
            Inner::S3(s3) => s3.read().await,
            #[cfg(feature = "gcs")]
            Inner::Gcs(gcs) => gcs.read().await,
            #[cfg(feature = "azure")]
            Inner::Azure(azure) => azure.read().await,
            Inner::Never(never) => match *never {},
        }
    }

    /// Reads the configuration and [`check`]s it. Lifecycle rules are judged for the URL's
    /// prefix unless `options` names one; without a key in `options`, the URL's
    /// `sse_kms_key_id` (or `AWS_SSE_KMS_KEY_ID`) is the tenant's key.
    pub async fn check(&self, options: &BucketOptions) -> Result<BucketReport, BucketError> {
        Ok(check(&self.config().await?, &self.options(options)))
    }

    /// Reads the configuration and [`plan`]s the fixes.
    pub async fn plan(&self, options: &BucketOptions) -> Result<BucketPlan, BucketError> {
        plan(&self.config().await?, &self.options(options))
    }

    /// Plans from the current configuration, makes each change the identity may (a denied
    /// change is reported, the others are still made), then checks again.
    pub async fn apply(&self, options: &BucketOptions) -> Result<BucketApplied, BucketError> {
        let plan = self.plan(options).await?;
        let mut outcomes = Vec::new();
        for change in &plan.changes {
            let result = self.apply_change(change).await?;
            outcomes.push(ChangeOutcome {
                change: change.clone(),
                result,
            });
        }
        let after = self.check(options).await?;
        Ok(BucketApplied {
            plan,
            outcomes,
            after,
        })
    }

    #[cfg_attr(
        not(any(feature = "s3", feature = "azure", feature = "gcs")),
        allow(unused_variables)
    )]
    async fn apply_change(&self, change: &BucketChange) -> Result<ChangeResult, BucketError> {
        match &self.inner {
            #[cfg(feature = "s3")]
            Inner::S3(s3) => s3.apply(change).await,
            #[cfg(feature = "gcs")]
            Inner::Gcs(gcs) => gcs.apply(change).await,
            #[cfg(feature = "azure")]
            Inner::Azure(azure) => azure.apply(change).await,
            Inner::Never(never) => match *never {},
        }
    }

    /// `options`, with the URL's prefix when they name none and the URL's `sse_kms_key_id`
    /// (or `AWS_SSE_KMS_KEY_ID`) when they name no key.
    fn options(&self, options: &BucketOptions) -> BucketOptions {
        let mut options = options.clone();
        if options.prefix.is_empty() {
            options = options.with_prefix(self.prefix.clone());
        }
        if options.kms_key.is_none() {
            options.kms_key = self.kms_key.clone();
        }
        options
    }
}
