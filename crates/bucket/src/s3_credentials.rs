//! Who the S3 control plane signs as: the repository's [`StoreCredentials`] (one type, one
//! parser, shared with `thinledger-store`) turned into an `aws-sdk-s3` credentials provider.
//!
//! | credentials | provider |
//! |---|---|
//! | access keys | static |
//! | web identity (IRSA: role and token file) | `AssumeRoleWithWebIdentity` on STS with the token file, read again on every refresh (the S3 client caches the answer until it expires) |
//! | none given (the default) | `aws-config`'s default chain: environment variables, the shared profile files (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`), web identity from `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE`, ECS container credentials, EC2 instance metadata |
//!
//! STS is the region's (`sts.REGION.amazonaws.com`) unless the environment the builder was
//! given names another (`AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`), as the AWS tools
//! read them. The default chain reads the process's own environment and files (as the AWS
//! tools do), not the builder's snapshot: it is what "no credentials given" means.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::error::DisplayErrorContext;
use thinledger_store::{EnvVars, StoreCredentials};
use tokio::sync::OnceCell;

use crate::error::BucketError;

/// The session name of the role sessions this crate opens (it shows in CloudTrail).
const SESSION_NAME: &str = "thinledger-bucket";

/// The provider for `credentials`, for a client of a bucket in `region`.
pub(crate) fn provider(
    credentials: &StoreCredentials,
    region: &str,
    env: &EnvVars,
) -> Result<SharedCredentialsProvider, BucketError> {
    let region = Region::new(region.to_owned());
    Ok(match credentials {
        StoreCredentials::S3Keys {
            access_key_id,
            secret_access_key,
            session_token,
        } => SharedCredentialsProvider::new(Credentials::new(
            access_key_id,
            secret_access_key.expose(),
            session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "thinledger",
        )),
        StoreCredentials::AwsWebIdentity {
            role_arn,
            token_file,
        } => SharedCredentialsProvider::new(WebIdentity::new(role_arn, token_file, region, env)),
        StoreCredentials::Default => SharedCredentialsProvider::new(DefaultChain {
            region,
            chain: OnceCell::new(),
        }),
        other => {
            return Err(BucketError::Unsupported {
                what: format!(
                    "S3 bucket configuration with {} credentials",
                    other.describe()
                ),
                fix: "give access keys, a web identity (IRSA), or none, for the AWS default credential chain".into(),
            });
        }
    })
}

/// `aws-config`'s default chain, built on first use (building it is asynchronous: it reads
/// the profile files).
struct DefaultChain {
    region: Region,
    chain: OnceCell<DefaultCredentialsChain>,
}

impl fmt::Debug for DefaultChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultChain")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for DefaultChain {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let chain = self
                .chain
                .get_or_init(|| {
                    DefaultCredentialsChain::builder()
                        .region(self.region.clone())
                        .build()
                })
                .await;
            chain.provide_credentials().await
        })
    }
}

/// IRSA: the projected service-account token exchanged for the role's temporary credentials.
struct WebIdentity {
    role_arn: String,
    token_file: PathBuf,
    sts: aws_sdk_sts::Client,
}

impl WebIdentity {
    fn new(role_arn: &str, token_file: &std::path::Path, region: Region, env: &EnvVars) -> Self {
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region);
        if let Some(endpoint) = env
            .get("AWS_ENDPOINT_URL_STS")
            .or(env.get("AWS_ENDPOINT_URL"))
        {
            config = config.endpoint_url(endpoint);
        }
        WebIdentity {
            role_arn: role_arn.to_owned(),
            token_file: token_file.to_owned(),
            sts: aws_sdk_sts::Client::from_conf(config.build()),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        // A few hundred bytes, read on each refresh (the kubelet rotates the file).
        let token = std::fs::read_to_string(&self.token_file).map_err(|e| {
            CredentialsError::invalid_configuration(format!(
                "web identity: the token file {} cannot be read ({e}); in a pod, the service account's projected token is mounted there by the EKS pod-identity webhook",
                self.token_file.display()
            ))
        })?;
        let answer = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .web_identity_token(token.trim())
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!(
                    "web identity: AssumeRoleWithWebIdentity for {} failed: {}; check the role's trust policy (the cluster's OIDC provider, the service account)",
                    self.role_arn,
                    DisplayErrorContext(&e)
                ))
            })?;
        let c = answer.credentials().ok_or_else(|| {
            CredentialsError::unhandled("web identity: STS answered without credentials")
        })?;
        let expires = SystemTime::try_from(c.expiration().to_owned()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            expires,
            "thinledger-web-identity",
        ))
    }
}

impl fmt::Debug for WebIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebIdentity")
            .field("role_arn", &self.role_arn)
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for WebIdentity {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
