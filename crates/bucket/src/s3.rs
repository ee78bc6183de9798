//! S3 buckets through `aws-sdk-s3`: reads the configuration into a [`BucketConfig`] and makes
//! a plan's changes. Each request's IAM permission is named in errors and denials.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
    ExpirationStatus, LifecycleRule as SdkRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectLockEnabled, ObjectLockRetentionMode, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};
use thinledger_store::{Secret, StoreCredentials, StoreSettings};

use crate::client::ChangeResult;
use crate::config::{
    BucketConfig, DefaultEncryption, EncryptionAlgorithm, LifecycleRule, LockMode, ObjectLock,
    Provider, PublicAccessBlock, Transition, Versioning,
};
use crate::error::BucketError;
use crate::plan::BucketChange;
use crate::policy;

/// An S3 bucket's control plane.
#[derive(Debug)]
pub(crate) struct S3Bucket {
    client: Client,
    bucket: String,
    region: String,
    /// The credentials when `aws-config` resolves them (the default chain, IRSA): the
    /// repository's store, which reads the recorded policy, is then given what they resolved.
    resolved_here: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
}

/// A request: its name and the IAM permission it needs.
#[derive(Clone, Copy)]
struct Op(&'static str, &'static str);

const GET_VERSIONING: Op = Op("GetBucketVersioning", "s3:GetBucketVersioning");
const GET_LOCK: Op = Op(
    "GetObjectLockConfiguration",
    "s3:GetBucketObjectLockConfiguration",
);
const GET_ENCRYPTION: Op = Op("GetBucketEncryption", "s3:GetEncryptionConfiguration");
const GET_PUBLIC: Op = Op("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock");
const GET_POLICY: Op = Op("GetBucketPolicy", "s3:GetBucketPolicy");
const GET_LIFECYCLE: Op = Op(
    "GetBucketLifecycleConfiguration",
    "s3:GetLifecycleConfiguration",
);
const PUT_VERSIONING: Op = Op("PutBucketVersioning", "s3:PutBucketVersioning");
const PUT_ENCRYPTION: Op = Op("PutBucketEncryption", "s3:PutEncryptionConfiguration");
const PUT_PUBLIC: Op = Op("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock");
const PUT_POLICY: Op = Op("PutBucketPolicy", "s3:PutBucketPolicy");
const PUT_LIFECYCLE: Op = Op(
    "PutBucketLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
);

impl S3Bucket {
    pub(crate) fn new(
        bucket: &str,
        region: &str,
        endpoint: Option<String>,
        settings: &StoreSettings,
    ) -> Result<Self, BucketError> {
        let credentials =
            crate::s3_credentials::provider(&settings.credentials, region, &settings.env)?;
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials.clone());
        if let Some(endpoint) = endpoint {
            // S3-compatible servers (MinIO, emulators) address buckets by path.
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Ok(S3Bucket {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            resolved_here: matches!(
                settings.credentials,
                StoreCredentials::Default | StoreCredentials::AwsWebIdentity { .. }
            )
            .then_some(credentials),
        })
    }

    /// The keys the control plane's credential chain resolved, for the repository's store to
    /// read the recorded policy with: `object_store`'s own chain reads no profile files, so
    /// the data plane signs as the control plane does. `None` when the store resolves the
    /// credentials itself (access keys).
    pub(crate) async fn store_credentials(&self) -> Result<Option<StoreCredentials>, BucketError> {
        use aws_credential_types::provider::ProvideCredentials;
        let Some(provider) = &self.resolved_here else {
            return Ok(None);
        };
        let c = provider
            .provide_credentials()
            .await
            .map_err(|e| BucketError::Request {
                operation: "resolving credentials",
                bucket: self.bucket.clone(),
                message: DisplayErrorContext(&e).to_string(),
                fix: "give access keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), IRSA (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) or a profile".into(),
            })?;
        Ok(Some(StoreCredentials::S3Keys {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: Secret::new(c.secret_access_key()),
            session_token: c.session_token().map(Secret::new),
        }))
    }

    pub(crate) async fn read(&self) -> Result<BucketConfig, BucketError> {
        let b = self.bucket.as_str();
        let versioning = match self.client.get_bucket_versioning().bucket(b).send().await {
            Ok(out) => match out.status() {
                Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
                Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
                _ => Versioning::Off,
            },
            Err(e) => match wrapped_versioning(&e) {
                Some(state) => state,
                None => return Err(self.request_error(GET_VERSIONING, erase(e))),
            },
        };
        let object_lock = self
            .get(
                GET_LOCK,
                self.client
                    .get_object_lock_configuration()
                    .bucket(b)
                    .send()
                    .await,
                &["ObjectLockConfigurationNotFoundError"],
            )?
            .and_then(|out| out.object_lock_configuration().cloned())
            .filter(|c| c.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled))
            .map(|c| {
                let retention = c.rule().and_then(|r| r.default_retention());
                ObjectLock {
                    default_mode: retention.and_then(|r| r.mode()).and_then(|m| match m {
                        ObjectLockRetentionMode::Governance => Some(LockMode::Governance),
                        ObjectLockRetentionMode::Compliance => Some(LockMode::Compliance),
                        _ => None,
                    }),
                    default_days: retention.and_then(|r| {
                        r.days()
                            .or_else(|| r.years().map(|y| y.saturating_mul(365)))
                            .and_then(|d| u32::try_from(d).ok())
                    }),
                }
            });
        let encryption = self
            .get(
                GET_ENCRYPTION,
                self.client.get_bucket_encryption().bucket(b).send().await,
                &["ServerSideEncryptionConfigurationNotFoundError"],
            )?
            .and_then(|out| {
                out.server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| DefaultEncryption {
                        algorithm: match d.sse_algorithm() {
                            ServerSideEncryption::AwsKms => EncryptionAlgorithm::Kms,
                            ServerSideEncryption::AwsKmsDsse => EncryptionAlgorithm::DualLayerKms,
                            _ => EncryptionAlgorithm::ProviderManaged,
                        },
                        kms_key: d.kms_master_key_id().map(str::to_owned),
                    })
            });
        let public_access_block = self
            .get(
                GET_PUBLIC,
                self.client.get_public_access_block().bucket(b).send().await,
                &["NoSuchPublicAccessBlockConfiguration"],
            )?
            .and_then(|out| out.public_access_block_configuration().cloned())
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            });
        let policy = self
            .get(
                GET_POLICY,
                self.client.get_bucket_policy().bucket(b).send().await,
                &["NoSuchBucketPolicy"],
            )?
            .and_then(|out| out.policy().map(str::to_owned));
        let lifecycle = self
            .lifecycle_rules()
            .await?
            .iter()
            .map(lifecycle_rule)
            .collect();
        Ok(BucketConfig {
            provider: Provider::S3,
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            versioning,
            object_lock,
            encryption,
            public_access_block,
            tls_only: policy.as_deref().is_some_and(policy::requires_tls),
            policy,
            lifecycle,
            not_visible: Vec::new(),
        })
    }

    async fn lifecycle_rules(&self) -> Result<Vec<SdkRule>, BucketError> {
        Ok(self
            .get(
                GET_LIFECYCLE,
                self.client
                    .get_bucket_lifecycle_configuration()
                    .bucket(&self.bucket)
                    .send()
                    .await,
                &["NoSuchLifecycleConfiguration"],
            )?
            .map(|out| out.rules().to_vec())
            .unwrap_or_default())
    }

    pub(crate) async fn apply(&self, change: &BucketChange) -> Result<ChangeResult, BucketError> {
        let b = self.bucket.as_str();
        let (op, sent) = match change {
            BucketChange::EnableVersioning => (
                PUT_VERSIONING,
                self.client
                    .put_bucket_versioning()
                    .bucket(b)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .map(drop)
                    .map_err(erase),
            ),
            BucketChange::SetDefaultEncryption { kms_key, .. } => {
                let default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(if kms_key.is_some() {
                        ServerSideEncryption::AwsKms
                    } else {
                        ServerSideEncryption::Aes256
                    })
                    .set_kms_master_key_id(kms_key.clone())
                    .build()
                    .map_err(|e| self.build_error(PUT_ENCRYPTION, e))?;
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    // One KMS data key per bucket, not per object: far fewer KMS calls.
                    .set_bucket_key_enabled(kms_key.as_ref().map(|_| true))
                    .build();
                let config = ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| self.build_error(PUT_ENCRYPTION, e))?;
                (
                    PUT_ENCRYPTION,
                    self.client
                        .put_bucket_encryption()
                        .bucket(b)
                        .server_side_encryption_configuration(config)
                        .send()
                        .await
                        .map(drop)
                        .map_err(erase),
                )
            }
            BucketChange::BlockPublicAccess => (
                PUT_PUBLIC,
                self.client
                    .put_public_access_block()
                    .bucket(b)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .send()
                    .await
                    .map(drop)
                    .map_err(erase),
            ),
            BucketChange::RequireTls { policy } => (
                PUT_POLICY,
                self.client
                    .put_bucket_policy()
                    .bucket(b)
                    .policy(policy)
                    .send()
                    .await
                    .map(drop)
                    .map_err(erase),
            ),
            BucketChange::AddLifecycleRule {
                id,
                prefix,
                abort_multipart_days,
                noncurrent_expiry_days,
            } => {
                // A put replaces the whole configuration: the owner's rules go back as read.
                let mut rules = self.lifecycle_rules().await?;
                let mut rule = SdkRule::builder()
                    .id(id)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix(prefix).build());
                if let Some(days) = abort_multipart_days {
                    rule = rule.abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(days_i32(*days))
                            .build(),
                    );
                }
                if let Some(days) = noncurrent_expiry_days {
                    rule = rule.noncurrent_version_expiration(
                        NoncurrentVersionExpiration::builder()
                            .noncurrent_days(days_i32(*days))
                            .build(),
                    );
                }
                rules.push(
                    rule.build()
                        .map_err(|e| self.build_error(PUT_LIFECYCLE, e))?,
                );
                let config = BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(|e| self.build_error(PUT_LIFECYCLE, e))?;
                (
                    PUT_LIFECYCLE,
                    self.client
                        .put_bucket_lifecycle_configuration()
                        .bucket(b)
                        .lifecycle_configuration(config)
                        .send()
                        .await
                        .map(drop)
                        .map_err(erase),
                )
            }
        };
        match sent {
            Ok(()) => Ok(ChangeResult::Applied),
            Err(e) if e.denied => Ok(ChangeResult::Denied {
                permission: op.1.to_owned(),
                message: e.message,
            }),
            Err(e) => Err(self.request_error(op, e)),
        }
    }

    /// The output of a read, `None` when the provider answers with one of the `absent`
    /// codes (nothing configured).
    fn get<T, E>(
        &self,
        op: Op,
        result: Result<T, SdkError<E>>,
        absent: &[&str],
    ) -> Result<Option<T>, BucketError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match result {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.code().is_some_and(|c| absent.contains(&c)) => Ok(None),
            Err(e) => Err(self.request_error(op, erase(e))),
        }
    }

    fn request_error(&self, op: Op, e: Failure) -> BucketError {
        BucketError::Request {
            operation: op.0,
            bucket: self.bucket.clone(),
            fix: if e.denied {
                format!("grant the identity {} on the bucket", op.1)
            } else {
                "check the bucket name, region, endpoint and credentials".into()
            },
            message: e.message,
        }
    }

    fn build_error(&self, op: Op, e: impl std::fmt::Display) -> BucketError {
        BucketError::Request {
            operation: op.0,
            bucket: self.bucket.clone(),
            message: format!("the request could not be built: {e}"),
            fix: "report this as a bug".into(),
        }
    }
}

/// A failed request, reduced to what errors and denials show.
struct Failure {
    denied: bool,
    message: String,
}

fn erase<E>(e: SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let denied = status == Some(403)
        || e.code()
            .is_some_and(|c| matches!(c, "AccessDenied" | "AccessDeniedException" | "Forbidden"));
    Failure {
        denied,
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// The versioning state from a 200 answer the SDK could not parse because its root element is
/// `GetBucketVersioningResponse` rather than S3's `VersioningConfiguration` (moto 5.2 answers
/// so; the SDK insists on the root's name). `None` for any other failure.
fn wrapped_versioning<E>(e: &SdkError<E>) -> Option<Versioning> {
    let raw = e.raw_response()?;
    if raw.status().as_u16() != 200 {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    if !body.contains("<GetBucketVersioningResponse") {
        return None;
    }
    Some(if body.contains("<Status>Enabled</Status>") {
        Versioning::Enabled
    } else if body.contains("<Status>Suspended</Status>") {
        Versioning::Suspended
    } else {
        Versioning::Off
    })
}

fn days_i32(days: u32) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

fn lifecycle_rule(rule: &SdkRule) -> LifecycleRule {
    let filter = rule.filter();
    let and = filter.and_then(|f| f.and());
    #[allow(deprecated)] // the rule-level Prefix of old configurations is still returned
    let prefix = filter
        .and_then(|f| f.prefix())
        .or_else(|| and.and_then(|a| a.prefix()))
        .or_else(|| rule.prefix())
        .unwrap_or_default()
        .to_owned();
    let narrowed = filter.is_some_and(|f| {
        f.tag().is_some()
            || f.object_size_greater_than().is_some()
            || f.object_size_less_than().is_some()
    }) || and.is_some_and(|a| {
        !a.tags().is_empty()
            || a.object_size_greater_than().is_some()
            || a.object_size_less_than().is_some()
    });
    let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
    let mut transitions: Vec<Transition> = rule
        .transitions()
        .iter()
        .map(|t| Transition {
            storage_class: t
                .storage_class()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            days: days(t.days()),
            noncurrent: false,
        })
        .collect();
    transitions.extend(rule.noncurrent_version_transitions().iter().map(|t| {
        Transition {
            storage_class: t
                .storage_class()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            days: days(t.noncurrent_days()),
            noncurrent: true,
        }
    }));
    LifecycleRule {
        id: rule.id().unwrap_or_default().to_owned(),
        enabled: rule.status() == &ExpirationStatus::Enabled,
        prefix,
        narrowed,
        transitions,
        noncurrent_expiry_days: days(
            rule.noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days()),
        ),
        abort_multipart_days: days(
            rule.abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
        ),
    }
}
