//! [`Bucket`]: a bucket's control plane, built from a repository URL by [`BucketBuilder`].

use serde::{Deserialize, Serialize};
use thinledger_store::{EnvVars, Invalid, Secret, StoreBuilder, StoreCredentials, StoreLocation};

use crate::config::{BucketConfig, Provider, RetentionPolicy};
use crate::error::BucketError;
use crate::plan::{BucketChange, BucketPlan, plan};
use crate::rules::{BucketOptions, BucketReport, check};

/// Builds a [`Bucket`] from a store URL (`s3://bucket/prefix?region=…&endpoint=…`,
/// `az://container/prefix?account=…`, `gs://bucket/prefix`: the repository's URL): the bucket is the URL's, and lifecycle rules are judged for its prefix.
///
/// It wraps the repository's own [`StoreBuilder`], so the URL, its options, the environment
/// and the credentials mean the same here as to the store (one parser, one precedence:
/// `with_*` calls, the URL, the environment). Credentials: explicit ones, else an identity
/// binding, else the standard variables ([`StoreCredentials::from_env_for`]), else the AWS
/// default chain (with the `s3` feature: `aws-config`'s — environment, web identity (IRSA),
/// the shared profile files, ECS container and EC2 instance credentials).
#[derive(Debug, Clone)]
pub struct BucketBuilder {
    store: StoreBuilder,
}

impl BucketBuilder {
    /// A builder for `url` that reads no environment variables.
    pub fn new(url: impl Into<String>) -> Self {
        BucketBuilder::from_store_builder(StoreBuilder::new(url))
    }

    /// A builder for `url` that also reads the process environment as the stores do
    /// ([`StoreBuilder::from_env`]): `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_SSE_KMS_KEY_ID`, the credentials of
    /// [`StoreCredentials::from_env_for`], and what the default credential chain reads.
    pub fn from_env(url: impl Into<String>) -> Self {
        BucketBuilder::from_store_builder(StoreBuilder::from_env(url))
    }

    /// The control plane of the bucket `store` would write to, with its URL, options,
    /// environment, credentials or identity binding.
    pub fn from_store_builder(store: StoreBuilder) -> Self {
        BucketBuilder { store }
    }

    /// Reads settings and credentials from `env` (tests pass their own).
    pub fn with_env(mut self, env: EnvVars) -> Self {
        self.store = self.store.with_env(env);
        self
    }

    /// The S3 endpoint (MinIO, an emulator) or Azure blob endpoint (Azurite, with the
    /// account in its path); wins over the URL's `endpoint=` and the environment.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.store = self.store.with_endpoint(endpoint);
        self
    }

    /// The bucket's region; wins over the URL's `region=` and the environment.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.store = self.store.with_region(region);
        self
    }

    /// The Azure storage account; wins over the URL's `account=` and the environment.
    pub fn with_azure_account(mut self, account: impl Into<String>) -> Self {
        self.store = self.store.with_azure_account(account);
        self
    }

    /// An Azure account key ([`StoreBuilder::with_azure_access_key`]).
    pub fn with_azure_access_key(mut self, key: Secret) -> Self {
        self.store = self.store.with_azure_access_key(key);
        self
    }

    /// The credentials to sign with (default: from the environment, else the default chain).
    pub fn with_credentials(mut self, credentials: StoreCredentials) -> Self {
        self.store = self.store.with_credentials(credentials);
        self
    }

    /// S3 access keys ([`StoreBuilder::with_s3_keys`]).
    pub fn with_s3_keys(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: Secret,
    ) -> Self {
        self.store = self.store.with_s3_keys(access_key_id, secret_access_key);
        self
    }

    /// Checks the URL and settings and builds the client (no request is made).
    pub fn build(self) -> Result<Bucket, BucketError> {
        let location = self.store.location()?;
        match location {
            StoreLocation::S3 { bucket, prefix } => {
                let settings = self.store.settings()?;
                let endpoint = settings.options.endpoint.clone();
                // S3-compatible servers mostly ignore the region; it still signs (the store
                // asked for one unless an endpoint is given).
                let region = settings
                    .options
                    .region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".to_owned());
                // The key the repository writes with is the one the default should use.
                let kms_key = settings.options.encryption.sse_kms_key_id.clone();
                #[cfg(feature = "s3")]
                {
                    let inner = crate::s3::S3Bucket::new(&bucket, &region, endpoint, &settings)?;
                    Ok(Bucket {
                        provider: Provider::S3,
                        bucket,
                        prefix,
                        kms_key,
                        inner: Inner::S3(inner),
                        store: self.store.clone(),
                    })
                }
                #[cfg(not(feature = "s3"))]
                {
                    let _ = (bucket, prefix, region, endpoint, kms_key);
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
                self.store
                    .location()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                "a bucket has a configuration; a local folder has none",
                "give an s3:// URL (or an az:// one)",
            )),
        }
    }
}

impl BucketBuilder {
    /// A GCS bucket through the JSON API, signed as the store is: its endpoint and
    /// credentials (`GOOGLE_APPLICATION_CREDENTIALS`, …, else workload identity).
    fn build_gcs(&self, bucket: String, prefix: String) -> Result<Bucket, BucketError> {
        #[cfg(feature = "gcs")]
        {
            // The key the repository writes with is the one the default should use.
            let kms_key = self.store.settings()?.options.encryption.kms_key_name;
            let api = self.store.clone().build_gcs_bucket_api()?;
            Ok(Bucket {
                provider: Provider::Gcs,
                bucket,
                prefix,
                kms_key,
                inner: Inner::Gcs(crate::gcs::GcsBucket::new(api)),
                store: self.store.clone(),
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

    /// An Azure container's control plane: the account, endpoint (Azurite), credentials and
    /// the tenant's encryption scope (`encryption_scope=`) as the store reads them.
    fn build_azure(&self, container: String, prefix: String) -> Result<Bucket, BucketError> {
        let settings = self.store.settings()?;
        let account = settings.options.azure_account.clone().ok_or_else(|| BucketError::Missing {
            field: "account",
            provider: "azure",
            fix: "give the storage account: ?account=NAME in the URL, with_azure_account, or AZURE_STORAGE_ACCOUNT_NAME".into(),
        })?;
        let endpoint = settings.options.endpoint.clone();
        let scope = settings.options.encryption.encryption_scope.clone();
        #[cfg(feature = "azure")]
        {
            // Entra identities: the store's own credential provider (one resolution, one
            // token cache for both planes).
            let entra = match settings.credentials {
                thinledger_store::StoreCredentials::AzureWorkloadIdentity { .. }
                | thinledger_store::StoreCredentials::AzureManagedIdentity { .. }
                | thinledger_store::StoreCredentials::Default => {
                    Some(self.store.clone().build_azure_credential_provider()?)
                }
                _ => None,
            };
            let inner = crate::azure::AzureBucket::new(
                &container,
                &account,
                endpoint,
                &settings.credentials,
                entra,
            )?;
            Ok(Bucket {
                provider: Provider::Azure,
                bucket: container,
                prefix,
                kms_key: scope,
                inner: Inner::Azure(inner),
                store: self.store.clone(),
            })
        }
        #[cfg(not(feature = "azure"))]
        {
            let _ = (container, prefix, account, endpoint, settings, scope);
            Err(BucketError::FeatureDisabled {
                scheme: "az",
                feature: "azure",
            })
        }
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
    /// The repository's store, built when the recorded policy is read (data plane).
    store: StoreBuilder,
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

    /// The object-lock policy the repository at the URL's prefix recorded
    /// (`init --object-lock`; [`thinledger_store::OBJECT_LOCK_POLICY`]), if it has one: read
    /// through the repository's own store (its client, credentials and encryption) on every
    /// provider, with the store's parser. A HEAD and one bounded GET. A record that cannot be
    /// trusted (over [`MAX_RECORD_BYTES`](crate::MAX_RECORD_BYTES), not the record's JSON, an
    /// unknown mode, a zero or absurd retention, a folder in its place) is a
    /// [`BucketError::PolicyRecord`], never "no policy"; an identity that may not read it gets
    /// a [`BucketError::Request`] naming the permission ([`Bucket::check`] reports it as a
    /// finding instead).
    pub async fn recorded_policy(&self) -> Result<Option<RetentionPolicy>, BucketError> {
        match self.read_record().await? {
            crate::record::Recorded::Policy(policy) => Ok(policy),
            crate::record::Recorded::Denied(unread) => Err(BucketError::Request {
                operation: "reading the repository's object-lock record",
                bucket: self.bucket.clone(),
                message: format!("{}: access denied: {}", unread.object, unread.message),
                fix: "grant read on it (S3 s3:GetObject, GCS storage.objects.get, Azure Storage Blob Data Reader), or give the policy (--object-lock MODE --retain DURATION)".into(),
            }),
        }
    }

    /// The repository's record, read through its own store.
    async fn read_record(&self) -> Result<crate::record::Recorded, BucketError> {
        #[cfg_attr(not(feature = "s3"), allow(unused_mut))]
        let mut store = self.store.clone();
        #[cfg(feature = "s3")]
        if let Inner::S3(s3) = &self.inner
            && let Some(credentials) = s3.store_credentials().await?
        {
            store = store.with_credentials(credentials);
        }
        let store = store.build()?;
        crate::record::read(store.object_store().as_ref(), &self.bucket, &self.prefix).await
    }

    /// Reads the configuration and [`check`]s it. Lifecycle rules are judged for the URL's
    /// prefix unless `options` names one; without a key in `options`, the URL's
    /// `sse_kms_key_id` (or `AWS_SSE_KMS_KEY_ID`) is the tenant's key; without a lock policy
    /// in `options`, the repository's recorded one ([`Bucket::recorded_policy`]) is expected
    /// of the bucket's object lock, and a record the identity may not read is a finding
    /// ([`RuleId::LockRecordUnreadable`](crate::RuleId::LockRecordUnreadable)): the check
    /// does not pass on a policy it could not see.
    pub async fn check(&self, options: &BucketOptions) -> Result<BucketReport, BucketError> {
        // The bucket first: a missing bucket or a refused identity is named by its own request.
        let config = self.config().await?;
        let options = self.options(options).await?;
        Ok(check(&config, &options))
    }

    /// Reads the configuration and [`plan`]s the fixes (with the options [`Bucket::check`]
    /// uses).
    pub async fn plan(&self, options: &BucketOptions) -> Result<BucketPlan, BucketError> {
        let config = self.config().await?;
        let options = self.options(options).await?;
        plan(&config, &options)
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

    /// `options`, with the URL's prefix when they name none, the URL's `sse_kms_key_id`
    /// (or `AWS_SSE_KMS_KEY_ID`) when they name no key, and the repository's recorded
    /// object-lock policy when they name none (explicit options win), or that it could not be
    /// read.
    async fn options(&self, options: &BucketOptions) -> Result<BucketOptions, BucketError> {
        let mut options = options.clone();
        if options.prefix.is_empty() {
            options = options.with_prefix(self.prefix.clone());
        }
        if options.kms_key.is_none() {
            options.kms_key = self.kms_key.clone();
        }
        if options.lock_policy.is_none() {
            match self.read_record().await? {
                crate::record::Recorded::Policy(Some(policy)) => {
                    options = options.with_lock_policy(policy)
                }
                crate::record::Recorded::Policy(None) => {}
                crate::record::Recorded::Denied(unread) => {
                    options = options.with_unread_record(unread)
                }
            }
        }
        Ok(options)
    }
}
