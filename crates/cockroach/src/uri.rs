//! Cloud-storage and KMS URIs as CockroachDB reads them, built from the provider model.
//!
//! | provider / identity | URI |
//! |---|---|
//! | AWS, IRSA | `s3://BUCKET/PATH?AUTH=implicit[&AWS_REGION=…][&ASSUME_ROLE=…]` |
//! | on-prem MinIO, keys | `s3://BUCKET/PATH?AWS_ENDPOINT=…&AWS_USE_PATH_STYLE=true&AWS_REGION=…&AWS_ACCESS_KEY_ID=…&AWS_SECRET_ACCESS_KEY=…` |
//! | on-prem MinIO, keys in the nodes' environment | `s3://BUCKET/PATH?AUTH=implicit&AWS_ENDPOINT=…&AWS_USE_PATH_STYLE=true&AWS_REGION=…` |
//! | Azure, workload or managed identity | `azure-blob://CONTAINER/PATH?AZURE_ACCOUNT_NAME=…&AUTH=implicit` |
//! | GCP, Workload Identity | `gs://BUCKET/PATH?AUTH=implicit[&ASSUME_ROLE=…]` |
//!
//! `AUTH=implicit` means each CockroachDB node uses its own pod's identity: the cloud SDK's
//! default credential chain, which finds the web-identity token IRSA and GKE/Azure Workload
//! Identity project into the pod. So the identity must be bound to the **CockroachDB pods'**
//! service account (the rendering does that), not only to the pod that runs this tool.
//! CockroachDB refuses `AZURE_CLIENT_ID` together with `AUTH=implicit`: the Azure client id
//! reaches the nodes as the `AZURE_CLIENT_ID` environment variable (injected by the workload
//! identity webhook, or set on the pods for a node-assigned managed identity).
//!
//! Query values are percent-encoded (CockroachDB decodes them; `ASSUME_ROLE` must be encoded
//! whole). A URI's `Display` and `Debug` show secret values as `redacted`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use thinledger_topology::{IdentityBinding, Provider, Tenant};

use super::error::{CockroachError, ensure};
use super::sql::Param;
use thinledger_store::Invalid;
use thinledger_store::{EnvVars, REDACTED, Secret, StoreCredentials, StoreError};

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URI component (a path segment or a query value).
pub(crate) fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

#[derive(Clone)]
enum Value {
    Plain(String),
    Secret(Secret),
}

/// One location in cloud storage, as a CockroachDB URI.
#[derive(Clone)]
pub struct StorageUri {
    scheme: &'static str,
    host: String,
    path: Vec<String>,
    query: Vec<(&'static str, Value)>,
}

/// S3-compatible access keys (MinIO on-prem). Supplied at run time — from the environment of
/// the job, which mounts them from the tenant's Secret — never written in a tenant or config
/// file. The secret key and session token never print.
#[derive(Clone)]
pub struct S3Keys {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

impl S3Keys {
    /// Keys from their values.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: Secret,
    ) -> Result<Self, CockroachError> {
        let access_key_id = access_key_id.into();
        if access_key_id.is_empty() || access_key_id.chars().any(char::is_control) {
            return Err(CockroachError::invalid(
                "AWS_ACCESS_KEY_ID",
                access_key_id.escape_debug().to_string(),
                "an access key id is non-empty printable text",
                "set the access key id of the MinIO user",
            ));
        }
        if secret_access_key.expose().len() < 8 {
            return Err(CockroachError::invalid(
                "AWS_SECRET_ACCESS_KEY",
                REDACTED,
                "a secret key has at least 8 characters",
                "set the MinIO user's secret key",
            ));
        }
        Ok(S3Keys {
            access_key_id,
            secret_access_key,
            session_token: None,
        })
    }

    /// Adds a temporary session token.
    pub fn with_session_token(mut self, token: Secret) -> Self {
        self.session_token = Some(token);
        self
    }

    /// Reads the keys from variables through `lookup` (e.g. the process environment). The
    /// variable names are the Secret's keys from the tenant's `secret-ref` binding (by default
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`), as a Kubernetes Job exposes them with
    /// `envFrom`; `AWS_SESSION_TOKEN` is read too.
    pub fn from_lookup(
        binding: Option<&IdentityBinding>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CockroachError> {
        let (id_var, secret_var) = StoreCredentials::s3_key_vars(binding);
        let env: EnvVars = [id_var, secret_var, "AWS_SESSION_TOKEN"]
            .into_iter()
            .filter_map(|var| lookup(var).map(|value| (var, value)))
            .collect();
        // The store reads the pair (one reader of MinIO keys); the message is this driver's.
        let keys = StoreCredentials::s3_keys_from_env(binding, &env).map_err(|e| match e {
            StoreError::Missing { field, .. } => {
                let var = field.trim_start_matches("env.");
                CockroachError::Missing {
                    field: var.to_owned(),
                    why: "backups to MinIO sign requests with the access keys".to_owned(),
                    fix: format!(
                        "export {var} from the Secret named in the tenant's backup.identity (e.g. envFrom: secretRef), or let the CockroachDB pods hold the keys (S3 credentials: implicit)"
                    ),
                }
            }
            other => CockroachError::invalid("backup.identity", "", other.to_string(), "use a secret-ref identity"),
        })?;
        let StoreCredentials::S3Keys {
            access_key_id,
            secret_access_key,
            ..
        } = keys
        else {
            return Err(CockroachError::invalid(
                "backup.identity",
                "",
                "MinIO keys come from a secret-ref identity",
                "use a secret-ref identity",
            ));
        };
        let keys = S3Keys::new(access_key_id, secret_access_key)?;
        Ok(match env.get("AWS_SESSION_TOKEN") {
            Some(token) => keys.with_session_token(Secret::new(token)),
            None => keys,
        })
    }

    /// [`S3Keys::from_lookup`] on the process environment.
    pub fn from_env(binding: Option<&IdentityBinding>) -> Result<Self, CockroachError> {
        Self::from_lookup(binding, |name| std::env::var(name).ok())
    }

    /// The access key id (not a secret; CockroachDB shows it too).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

impl fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .finish_non_exhaustive()
    }
}

/// How an S3-compatible (MinIO) destination authenticates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum S3Credentials {
    /// Keys in the URI. CockroachDB stores them with a schedule, so rotating them means
    /// re-creating the schedule.
    Keys(S3Keys),
    /// `AUTH=implicit`: every CockroachDB node reads `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` from its own environment (mounted from the Secret). No key is in
    /// any statement, and schedules survive a key rotation (after the pods restart).
    Implicit,
}

/// How on-prem (MinIO) CockroachDB nodes authenticate to the bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MinioAuth {
    /// The keys, read from the environment, go into the URIs ([`S3Credentials::Keys`]).
    #[default]
    Keys,
    /// The pods hold the keys in their own environment ([`S3Credentials::Implicit`]).
    Implicit,
}

impl S3Credentials {
    /// The S3 credentials a tenant's backups use: none for a cloud provider (its nodes use
    /// their own identity); on-prem, the keys read through `lookup` under the names of the
    /// tenant's `secret-ref` binding ([`S3Keys::from_lookup`]), or the pods' own environment
    /// with [`MinioAuth::Implicit`]. `auth` on a cloud tenant is refused (field
    /// `options.s3_credentials`).
    pub fn for_tenant(
        tenant: &Tenant,
        auth: Option<MinioAuth>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, CockroachError> {
        match (tenant.provider(), auth) {
            (Provider::OnPrem, None | Some(MinioAuth::Keys)) => Ok(Some(S3Credentials::Keys(
                S3Keys::from_lookup(tenant.spec().backup.identity.as_ref(), lookup)?,
            ))),
            (Provider::OnPrem, Some(MinioAuth::Implicit)) => Ok(Some(S3Credentials::Implicit)),
            (provider, Some(auth)) => Err(CockroachError::invalid(
                "options.s3_credentials",
                format!("{auth:?}").to_lowercase(),
                format!(
                    "MinIO credentials apply to on-prem tenants (S3-compatible storage); this tenant is on {provider}, whose nodes use their own identity"
                ),
                "leave them out",
            )),
            (_, None) => Ok(None),
        }
    }
}

fn check_host(field: &str, host: &str) -> Result<(), CockroachError> {
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
    ensure(
        ok,
        field,
        host,
        "a bucket or container name is lowercase letters, digits, '-', '.' and '_'",
        "use the bucket name alone, without scheme or path, e.g. acme-ledger-backups",
    )
}

fn split_path(field: &str, path: &str) -> Result<Vec<String>, CockroachError> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let segments: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
    for s in &segments {
        if s.is_empty() || s == "." || s == ".." || s.chars().any(char::is_control) {
            return Err(CockroachError::invalid(
                field,
                path.escape_debug().to_string(),
                "a path is '/'-separated names, none empty, '.' or '..', without control characters",
                "e.g. cockroach/acme-bank-prod",
            ));
        }
    }
    Ok(segments)
}

fn check_value(field: &str, value: &str, example: &str) -> Result<(), CockroachError> {
    if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(CockroachError::invalid(
            field,
            value.escape_debug().to_string(),
            "the value is non-empty and has no spaces or control characters",
            format!("e.g. {example}"),
        ));
    }
    Ok(())
}

impl StorageUri {
    fn new(scheme: &'static str, host: &str, path: &str) -> Result<Self, CockroachError> {
        check_host("backup.bucket", host)?;
        Ok(StorageUri {
            scheme,
            host: host.to_owned(),
            path: split_path("options.path", path)?,
            query: Vec::new(),
        })
    }

    fn plain(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, Value::Plain(value.into())));
        self
    }

    /// Amazon S3 with the node's own identity (IRSA): `AUTH=implicit`, an optional region
    /// (CockroachDB finds the bucket's region when it is left out) and an optional role to
    /// assume (or a comma-separated chain of roles) on top of the pod's identity.
    pub fn s3_implicit(
        bucket: &str,
        path: &str,
        region: Option<&str>,
        assume_role: Option<&str>,
    ) -> Result<Self, CockroachError> {
        let mut uri = StorageUri::new("s3", bucket, path)?.plain("AUTH", "implicit");
        if let Some(region) = region {
            check_value("options.aws_region", region, "us-east-1")?;
            uri = uri.plain("AWS_REGION", region);
        }
        if let Some(role) = assume_role {
            check_value(
                "options.assume_role",
                role,
                "arn:aws:iam::123456789012:role/ledger-backup",
            )?;
            uri = uri.plain("ASSUME_ROLE", role);
        }
        Ok(uri)
    }

    /// An S3-compatible server (MinIO): endpoint, path-style addressing, a region (MinIO's
    /// default `us-east-1` when none is given) and either keys or the nodes' own environment.
    pub fn s3_compatible(
        bucket: &str,
        path: &str,
        endpoint: &str,
        region: Option<&str>,
        credentials: &S3Credentials,
    ) -> Result<Self, CockroachError> {
        let endpoint_ok = (endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            && !endpoint
                .chars()
                .any(|c| c.is_control() || c.is_whitespace());
        ensure(
            endpoint_ok,
            "backup.endpoint",
            endpoint.escape_debug().to_string(),
            "an endpoint is an http(s) URL",
            "e.g. https://minio.backup.svc:9000",
        )?;
        let region = region.unwrap_or("us-east-1");
        check_value("options.aws_region", region, "us-east-1")?;
        let mut uri = StorageUri::new("s3", bucket, path)?;
        if let S3Credentials::Implicit = credentials {
            uri = uri.plain("AUTH", "implicit");
        }
        uri = uri
            .plain("AWS_ENDPOINT", endpoint.trim_end_matches('/'))
            .plain("AWS_USE_PATH_STYLE", "true")
            .plain("AWS_REGION", region);
        if let S3Credentials::Keys(keys) = credentials {
            uri = uri.plain("AWS_ACCESS_KEY_ID", keys.access_key_id.clone());
            uri.query.push((
                "AWS_SECRET_ACCESS_KEY",
                Value::Secret(keys.secret_access_key.clone()),
            ));
            if let Some(token) = &keys.session_token {
                uri.query
                    .push(("AWS_SESSION_TOKEN", Value::Secret(token.clone())));
            }
        }
        Ok(uri)
    }

    /// Azure Blob Storage with the node's managed or workload identity.
    pub fn azure_implicit(
        container: &str,
        path: &str,
        account: &str,
    ) -> Result<Self, CockroachError> {
        let ok = (3..=24).contains(&account.len())
            && account
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        ensure(
            ok,
            "backup.account",
            account,
            "an Azure storage account name is 3-24 lowercase letters and digits",
            "e.g. acmeledgerbackups",
        )?;
        Ok(StorageUri::new("azure-blob", container, path)?
            .plain("AZURE_ACCOUNT_NAME", account)
            .plain("AUTH", "implicit"))
    }

    /// Google Cloud Storage with the node's Workload Identity, optionally impersonating a
    /// service account (or a comma-separated chain of them).
    pub fn gcs_implicit(
        bucket: &str,
        path: &str,
        assume_role: Option<&str>,
    ) -> Result<Self, CockroachError> {
        let mut uri = StorageUri::new("gs", bucket, path)?.plain("AUTH", "implicit");
        if let Some(account) = assume_role {
            check_value(
                "options.assume_role",
                account,
                "ledger-backup@my-project.iam.gserviceaccount.com",
            )?;
            uri = uri.plain("ASSUME_ROLE", account);
        }
        Ok(uri)
    }

    /// A node's local external-I/O directory (`nodelocal://NODE/PATH`), for development and
    /// test clusters only: a backup there is lost with the node.
    pub fn nodelocal(node: u32, path: &str) -> Result<Self, CockroachError> {
        Ok(StorageUri {
            scheme: "nodelocal",
            host: node.to_string(),
            path: split_path("options.path", path)?,
            query: Vec::new(),
        })
    }

    /// Marks this URI as the one for a locality (`default`, or `key=value` such as
    /// `region=us-east-1`) in a locality-aware backup.
    fn with_locality(mut self, locality: &str) -> Self {
        self.query.retain(|(k, _)| *k != "COCKROACH_LOCALITY");
        self.query
            .push(("COCKROACH_LOCALITY", Value::Plain(locality.to_owned())));
        self
    }

    fn render(&self, redact: bool) -> String {
        let mut out = format!("{}://{}", self.scheme, self.host);
        for segment in &self.path {
            out.push('/');
            out.push_str(&encode_component(segment));
        }
        for (i, (key, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            match value {
                Value::Plain(v) => out.push_str(&encode_component(v)),
                Value::Secret(_) if redact => out.push_str(REDACTED),
                Value::Secret(s) => out.push_str(&encode_component(s.expose())),
            }
        }
        out
    }

    /// The URI with every secret replaced by `redacted` — for printing and logs.
    pub fn redacted(&self) -> String {
        self.render(true)
    }

    /// The real URI, secrets included — only ever sent as a bind parameter.
    pub(crate) fn exposed(&self) -> String {
        self.render(false)
    }

    /// Whether the URI carries a secret.
    pub fn has_secrets(&self) -> bool {
        self.query
            .iter()
            .any(|(_, v)| matches!(v, Value::Secret(_)))
    }

    /// The secret values (raw), for scrubbing.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        self.query
            .iter()
            .filter_map(|(_, v)| match v {
                Value::Secret(s) => Some(s.clone()),
                Value::Plain(_) => None,
            })
            .collect()
    }

    /// The URI as a bind parameter.
    pub fn to_param(&self) -> Param {
        if self.has_secrets() {
            Param::sensitive(self.exposed(), self.redacted(), self.secrets())
        } else {
            Param::text(self.exposed())
        }
    }

    /// The scheme, e.g. `s3`, `azure-blob`, `gs`.
    pub fn scheme(&self) -> &str {
        self.scheme
    }
}

impl fmt::Display for StorageUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for StorageUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageUri({})", self.redacted())
    }
}

/// Where a backup collection lives: one URI, or — locality-aware — a default URI plus one per
/// locality, so each node writes its ranges to the bucket of its own region.
#[derive(Clone, Debug)]
pub struct Destination {
    uris: Vec<StorageUri>,
}

impl Destination {
    /// A collection in one place.
    pub fn single(uri: StorageUri) -> Self {
        Destination { uris: vec![uri] }
    }

    /// A locality-aware collection: `default` gets `COCKROACH_LOCALITY=default`, each other URI
    /// its locality filter (`region=us-east-1`, or any `key=value` tier of the nodes'
    /// `--locality`). Nodes whose locality matches none write to the default.
    pub fn locality_aware(
        default: StorageUri,
        localities: impl IntoIterator<Item = (String, StorageUri)>,
    ) -> Result<Self, CockroachError> {
        let mut uris = vec![default.with_locality("default")];
        let mut seen = Vec::new();
        for (locality, uri) in localities {
            let ok = locality.split_once('=').is_some_and(|(k, v)| {
                let part = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                };
                part(k) && part(v)
            });
            ensure(
                ok,
                "options.localities",
                locality.as_str(),
                "a locality filter is one key=value tier of the nodes' --locality",
                "e.g. region=us-east-1",
            )?;
            if seen.contains(&locality) {
                return Err(CockroachError::invalid(
                    "options.localities",
                    locality,
                    "each locality has one URI",
                    "remove the duplicate",
                ));
            }
            seen.push(locality.clone());
            uris.push(uri.with_locality(&locality));
        }
        Ok(Destination { uris })
    }

    /// The URIs, default first.
    pub fn uris(&self) -> &[StorageUri] {
        &self.uris
    }

    /// The default (or only) URI: the collection `SHOW BACKUPS IN` lists.
    pub fn default_uri(&self) -> &StorageUri {
        &self.uris[0]
    }

    /// Whether this is a locality-aware collection.
    pub fn is_locality_aware(&self) -> bool {
        self.uris.len() > 1
    }

    pub(crate) fn params(&self) -> Vec<Param> {
        self.uris.iter().map(StorageUri::to_param).collect()
    }
}

/// A key in a cloud KMS that wraps each backup's data key, used through the node's own
/// identity (`AUTH=implicit`), so KMS URIs hold no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KmsUri {
    /// AWS KMS: `aws:///KEY?AUTH=implicit&REGION=…[&ASSUME_ROLE=…]`, the scheme CockroachDB's
    /// documentation uses (`aws-kms:///…` is read as well).
    Aws {
        /// Key id, alias (`alias/…`) or ARN.
        key: String,
        /// The key's region.
        region: String,
        /// Role to assume on top of the pod's identity.
        assume_role: Option<String>,
    },
    /// Google Cloud KMS: `gs:///projects/…/cryptoKeys/KEY?AUTH=implicit[&ASSUME_ROLE=…]`.
    Gcp {
        /// `projects/P/locations/L/keyRings/R/cryptoKeys/K`.
        key: String,
        /// Service account to impersonate.
        assume_role: Option<String>,
    },
    /// Azure Key Vault: `azure-kms:///KEY/VERSION?AZURE_VAULT_NAME=…&AUTH=implicit`.
    Azure {
        /// The vault's name.
        vault: String,
        /// The key's name.
        key: String,
        /// The key's version.
        version: String,
    },
}

impl KmsUri {
    /// Checks the parts.
    pub fn validate(&self) -> Result<(), CockroachError> {
        match self {
            KmsUri::Aws { key, region, .. } => {
                check_value(
                    "options.kms.key",
                    key,
                    "arn:aws:kms:us-east-1:123456789012:key/0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d",
                )?;
                check_value("options.kms.region", region, "us-east-1")?;
            }
            // The store's check: one rule for every Cloud KMS key name thinledger takes.
            KmsUri::Gcp { key, .. } => {
                thinledger_store::check_gcs_kms_key_name("options.kms.key", key)?;
            }
            KmsUri::Azure {
                vault,
                key,
                version,
            } => {
                for (field, value) in [
                    ("options.kms.vault", vault),
                    ("options.kms.key", key),
                    ("options.kms.version", version),
                ] {
                    let ok = !value.is_empty()
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    ensure(
                        ok,
                        field,
                        value.escape_debug().to_string(),
                        "Key Vault names and versions are letters, digits and '-'",
                        "copy them from `az keyvault key show`",
                    )?;
                }
            }
        }
        match (self, self.assume_role()) {
            (KmsUri::Gcp { .. }, Some(r)) => check_value(
                "options.kms.assume_role",
                r,
                "ledger-kms@my-project.iam.gserviceaccount.com",
            ),
            (_, Some(r)) => check_value(
                "options.kms.assume_role",
                r,
                "arn:aws:iam::123456789012:role/ledger-kms",
            ),
            (_, None) => Ok(()),
        }
    }

    /// The role (AWS) or service account (GCP) assumed to use the key.
    pub fn assume_role(&self) -> Option<&str> {
        match self {
            KmsUri::Aws { assume_role, .. } | KmsUri::Gcp { assume_role, .. } => {
                assume_role.as_deref()
            }
            KmsUri::Azure { .. } => None,
        }
    }

    /// This key with `role` as its `ASSUME_ROLE` when it has none of its own and belongs to
    /// `provider`'s cloud (an AWS key on AWS, a Cloud KMS key on GCP): CockroachDB's docs pass
    /// the role assumed for the bucket to the KMS URI as well, since the nodes' own identity
    /// is the same for both.
    pub fn with_default_role(self, provider: Provider, role: &str) -> Self {
        match (self, provider) {
            (
                KmsUri::Aws {
                    key,
                    region,
                    assume_role: None,
                },
                Provider::Aws,
            ) => KmsUri::Aws {
                key,
                region,
                assume_role: Some(role.to_owned()),
            },
            (
                KmsUri::Gcp {
                    key,
                    assume_role: None,
                },
                Provider::Gcp,
            ) => KmsUri::Gcp {
                key,
                assume_role: Some(role.to_owned()),
            },
            (kms, _) => kms,
        }
    }

    /// The URI text (no secrets in it).
    pub fn uri(&self) -> String {
        let mut out = String::new();
        let mut query: Vec<(&str, &str)> = Vec::new();
        match self {
            KmsUri::Aws { key, region, .. } => {
                out.push_str("aws:///");
                out.push_str(&encode_kms_path(key));
                query.push(("AUTH", "implicit"));
                query.push(("REGION", region));
            }
            KmsUri::Gcp { key, .. } => {
                out.push_str("gs:///");
                out.push_str(&encode_kms_path(key));
                query.push(("AUTH", "implicit"));
            }
            KmsUri::Azure {
                vault,
                key,
                version,
            } => {
                out.push_str("azure-kms:///");
                out.push_str(&encode_kms_path(&format!("{key}/{version}")));
                query.push(("AZURE_VAULT_NAME", vault));
                query.push(("AUTH", "implicit"));
            }
        }
        if let Some(r) = self.assume_role() {
            query.push(("ASSUME_ROLE", r));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&encode_component(v));
        }
        out
    }
}

/// KMS key paths keep `/` and `:` (ARNs and resource names), everything else is encoded.
fn encode_kms_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            seg.split(':')
                .map(encode_component)
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl fmt::Display for KmsUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// `%XX` escapes decoded; `None` for a malformed escape or a result that is not UTF-8.
fn decode_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

impl FromStr for KmsUri {
    type Err = CockroachError;

    /// Reads the form [`Display`](fmt::Display) prints: `aws:///KEY?REGION=R[&ASSUME_ROLE=…]`
    /// (or `aws-kms:///…`, the same key),
    /// `gs:///projects/…/cryptoKeys/K[?ASSUME_ROLE=…]` or
    /// `azure-kms:///KEY/VERSION?AZURE_VAULT_NAME=V`, with `AUTH=implicit` optional (the only
    /// authentication: a KMS URI here never carries a key, so none can leak through the printed
    /// statements), then [`KmsUri::validate`]s it. Errors name the field `options.kms` and echo
    /// only the part before `?` or the parameter names, never a query value that could be a
    /// credential.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shown = text
            .split('?')
            .next()
            .unwrap_or("")
            .escape_debug()
            .to_string();
        let fail = |value: String, rule: &str, fix: &str| {
            CockroachError::invalid("options.kms", value, rule, fix)
        };
        let forms = "aws:///KEY?REGION=R, gs:///projects/P/locations/L/keyRings/K/cryptoKeys/C or azure-kms:///KEY/VERSION?AZURE_VAULT_NAME=V";
        let (scheme, rest) = text.split_once(":///").ok_or_else(|| {
            fail(
                shown.clone(),
                "a KMS URI is SCHEME:///KEY?PARAMETERS",
                forms,
            )
        })?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = decode_component(path).ok_or_else(|| {
            fail(
                shown.clone(),
                "the key path has a bad %-escape",
                "write each escape as % and two hex digits",
            )
        })?;
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode_component(value).ok_or_else(|| {
                fail(
                    key.escape_debug().to_string(),
                    "the parameter's value has a bad %-escape",
                    "write each escape as % and two hex digits",
                )
            })?;
            params.insert(key.to_owned(), value);
        }
        if let Some(auth) = params.remove("AUTH")
            && auth != "implicit"
        {
            return Err(fail(
                format!("AUTH={}", auth.escape_debug()),
                "AUTH is not supported other than implicit: KMS keys are used with the nodes' own identity",
                "use AUTH=implicit (or leave AUTH out)",
            ));
        }
        let mut take = |key: &str| params.remove(key);
        let kms = match scheme {
            // `aws` is the documented scheme; `aws-kms` names the same key.
            "aws" | "aws-kms" => KmsUri::Aws {
                key: path,
                region: take("REGION").ok_or_else(|| {
                    fail(
                        shown.clone(),
                        "an AWS KMS URI needs REGION",
                        "e.g. aws:///alias/ledger-backup?REGION=us-east-1",
                    )
                })?,
                assume_role: take("ASSUME_ROLE"),
            },
            "gs" => KmsUri::Gcp {
                key: path,
                assume_role: take("ASSUME_ROLE"),
            },
            "azure-kms" => {
                let (key, version) = path.split_once('/').ok_or_else(|| {
                    fail(
                        shown.clone(),
                        "an azure-kms URI names the key and its version",
                        "azure-kms:///KEY/VERSION?AZURE_VAULT_NAME=V",
                    )
                })?;
                KmsUri::Azure {
                    vault: take("AZURE_VAULT_NAME").ok_or_else(|| {
                        fail(
                            shown.clone(),
                            "an azure-kms URI needs AZURE_VAULT_NAME",
                            "add AZURE_VAULT_NAME=<vault name>",
                        )
                    })?,
                    key: key.to_owned(),
                    version: version.to_owned(),
                }
            }
            other => {
                return Err(fail(
                    other.escape_debug().to_string(),
                    "unknown KMS scheme; KMS URIs are aws (or aws-kms), gs or azure-kms",
                    forms,
                ));
            }
        };
        // Only the names are shown: an unexpected parameter could be a credential.
        if !params.is_empty() {
            let names: Vec<&str> = params.keys().map(String::as_str).collect();
            return Err(fail(
                names.join(", "),
                "these parameters are not supported: KMS keys are used with the nodes' own identity (AUTH=implicit)",
                "remove them",
            ));
        }
        kms.validate()?;
        Ok(kms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn keys() -> S3Keys {
        S3Keys::new("minio-ledger", Secret::new(SECRET)).unwrap()
    }

    #[test]
    fn secrets_are_url_encoded_when_sent_and_redacted_when_shown() {
        let uri = StorageUri::s3_compatible(
            "ledger",
            "cockroach/t",
            "https://minio.backup.svc:9000",
            None,
            &S3Credentials::Keys(keys()),
        )
        .unwrap();
        let exposed = uri.exposed();
        assert!(
            exposed.contains("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY"),
            "{exposed}"
        );
        for shown in [uri.to_string(), format!("{uri:?}"), uri.redacted()] {
            assert!(!shown.contains("wJalr"), "{shown}");
            assert!(shown.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{shown}");
        }
        assert_eq!(uri.to_param().display(), uri.redacted());
        assert_eq!(uri.to_param().value(), exposed);
    }

    #[test]
    fn keys_from_lookup_use_the_secret_refs_names() {
        let binding = IdentityBinding::SecretRef {
            secret_name: "minio".into(),
            access_key_key: "accesskey".into(),
            secret_key_key: "secretkey".into(),
        };
        let keys = S3Keys::from_lookup(Some(&binding), |name| match name {
            "accesskey" => Some("id".into()),
            "secretkey" => Some(SECRET.into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(keys.access_key_id(), "id");
        assert!(!format!("{keys:?}").contains("wJalr"));

        let err = S3Keys::from_lookup(Some(&binding), |name| {
            (name == "accesskey").then(|| "id".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("secretkey is missing"), "{err}");
    }

    #[test]
    fn short_secret_keys_are_refused_without_echoing_them() {
        let err = S3Keys::new("id", Secret::new("short"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("short\""), "{err}");
        assert!(err.contains("at least 8"), "{err}");
    }

    #[test]
    fn paths_are_encoded_per_segment_and_checked() {
        let uri = StorageUri::gcs_implicit("b", "/a b/c'd/", None).unwrap();
        assert_eq!(uri.redacted(), "gs://b/a%20b/c%27d?AUTH=implicit");
        assert!(StorageUri::gcs_implicit("b", "a/../c", None).is_err());
        assert!(StorageUri::gcs_implicit("B?x=1", "a", None).is_err());
    }

    #[test]
    fn locality_filters_are_checked_and_encoded() {
        let a = StorageUri::s3_implicit("a", "p", Some("us-east-1"), None).unwrap();
        let b = StorageUri::s3_implicit("b", "p", Some("us-west-2"), None).unwrap();
        let d = Destination::locality_aware(a.clone(), [("region=us-west-2".into(), b.clone())])
            .unwrap();
        assert_eq!(
            d.uris()[1].redacted(),
            "s3://b/p?AUTH=implicit&AWS_REGION=us-west-2&COCKROACH_LOCALITY=region%3Dus-west-2"
        );
        assert!(Destination::locality_aware(a.clone(), [("us-west-2".into(), b.clone())]).is_err());
        assert!(
            Destination::locality_aware(
                a,
                [
                    ("region=x".into(), b.clone()),
                    ("region=x".into(), b.clone())
                ]
            )
            .is_err()
        );
    }

    #[test]
    fn kms_uris_keep_arn_separators() {
        let k = KmsUri::Aws {
            key: "arn:aws:kms:us-east-1:123456789012:key/abc-def".into(),
            region: "us-east-1".into(),
            assume_role: None,
        };
        k.validate().unwrap();
        assert_eq!(
            k.uri(),
            "aws:///arn:aws:kms:us-east-1:123456789012:key/abc-def?AUTH=implicit&REGION=us-east-1"
        );
        let bad = KmsUri::Gcp {
            key: "projects/p/keyRings/r".into(),
            assume_role: None,
        };
        assert!(bad.validate().is_err());
    }

    fn aws(key: &str, region: &str, assume_role: Option<&str>) -> KmsUri {
        KmsUri::Aws {
            key: key.into(),
            region: region.into(),
            assume_role: assume_role.map(Into::into),
        }
    }

    #[rstest]
    #[case::aws_arn(aws("arn:aws:kms:us-east-1:123456789012:key/0f4c8a2e", "us-east-1", None))]
    #[case::aws_alias_awkward(aws("alias/ledger+backup%20ü&x=y?#", "eu-west-1", None))]
    #[case::aws_role_chain(aws(
        "alias/k",
        "us-west-2",
        Some("arn:aws:iam::1:role/a,arn:aws:iam::2:role/b&c=d")
    ))]
    #[case::gcp(KmsUri::Gcp { key: "projects/p-1/locations/us/keyRings/r_1/cryptoKeys/k.2".into(), assume_role: Some("kms@p.iam.gserviceaccount.com".into()) })]
    #[case::gcp_no_role(KmsUri::Gcp { key: "projects/p/locations/l/keyRings/r/cryptoKeys/c".into(), assume_role: None })]
    #[case::azure(KmsUri::Azure { vault: "ledger-vault".into(), key: "backup-key".into(), version: "0a1b2c3d".into() })]
    fn kms_uris_read_back_what_they_print(#[case] kms: KmsUri) {
        kms.validate().unwrap();
        let printed = kms.to_string();
        assert_eq!(printed.parse::<KmsUri>().unwrap(), kms, "{printed}");
    }

    #[rstest]
    #[case::no_scheme(
        "alias/k",
        "options.kms: \"alias/k\" is invalid: a KMS URI is SCHEME:///KEY?PARAMETERS"
    )]
    #[case::bad_escape("aws-kms:///alias%2?REGION=r", "bad %-escape")]
    #[case::bad_value_escape(
        "aws-kms:///a?REGION=%zz",
        "\"REGION\" is invalid: the parameter's value has a bad %-escape"
    )]
    #[case::without_region("aws-kms:///alias/k", "an AWS KMS URI needs REGION")]
    #[case::documented_without_region("aws:///alias/k", "an AWS KMS URI needs REGION")]
    #[case::other_auth(
        "gs:///projects/p/locations/l/keyRings/r/cryptoKeys/c?AUTH=specified",
        "\"AUTH=specified\" is invalid"
    )]
    #[case::unknown_scheme("vault:///k", "unknown KMS scheme")]
    #[case::azure_without_version(
        "azure-kms:///k?AZURE_VAULT_NAME=v",
        "names the key and its version"
    )]
    #[case::azure_without_vault("azure-kms:///k/1", "needs AZURE_VAULT_NAME")]
    #[case::bad_gcp_key("gs:///projects/p/keyRings/r", "options.kms.key")]
    fn bad_kms_uris_name_the_rule(#[case] text: &str, #[case] needle: &str) {
        let err = text.parse::<KmsUri>().unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }

    /// The documented `aws:///` form (as copied from CockroachDB's docs) and `aws-kms:///` name
    /// the same key, and both print as the documented form.
    #[rstest]
    #[case::documented("aws:///alias/ledger-backup?AUTH=implicit&REGION=us-east-1")]
    #[case::documented_without_auth("aws:///alias/ledger-backup?REGION=us-east-1")]
    #[case::aws_kms("aws-kms:///alias/ledger-backup?REGION=us-east-1")]
    #[case::aws_kms_with_auth("aws-kms:///alias/ledger-backup?AUTH=implicit&REGION=us-east-1")]
    fn both_aws_kms_schemes_are_read(#[case] text: &str) {
        let kms: KmsUri = text.parse().unwrap();
        assert_eq!(kms, aws("alias/ledger-backup", "us-east-1", None));
        assert_eq!(
            kms.to_string(),
            "aws:///alias/ledger-backup?AUTH=implicit&REGION=us-east-1"
        );
    }

    #[rstest]
    #[case::aws_takes_the_role(
        aws("alias/k", "us-east-1", None),
        Provider::Aws,
        Some("arn:aws:iam::1:role/backup")
    )]
    #[case::aws_keeps_its_own(
        aws("alias/k", "us-east-1", Some("arn:aws:iam::1:role/kms")),
        Provider::Aws,
        Some("arn:aws:iam::1:role/kms")
    )]
    #[case::gcp_takes_the_account(
        KmsUri::Gcp { key: "projects/p/locations/l/keyRings/r/cryptoKeys/c".into(), assume_role: None },
        Provider::Gcp,
        Some("arn:aws:iam::1:role/backup")
    )]
    #[case::aws_key_on_gcp_is_left(aws("alias/k", "us-east-1", None), Provider::Gcp, None)]
    #[case::azure_has_no_role(
        KmsUri::Azure { vault: "v".into(), key: "k".into(), version: "1".into() },
        Provider::Azure,
        None
    )]
    fn assumed_roles_reach_kms_uris_of_the_same_cloud(
        #[case] kms: KmsUri,
        #[case] provider: Provider,
        #[case] role: Option<&str>,
    ) {
        let kms = kms.with_default_role(provider, "arn:aws:iam::1:role/backup");
        assert_eq!(kms.assume_role(), role);
    }

    #[test]
    fn kms_errors_never_echo_parameter_values() {
        let err = "aws-kms:///k?REGION=us-east-1&AWS_SECRET_ACCESS_KEY=wJalr%2Fsecret"
            .parse::<KmsUri>()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"AWS_SECRET_ACCESS_KEY\" is invalid"),
            "{err}"
        );
        assert!(err.contains("not supported"), "{err}");
        assert!(!err.contains("wJalr"), "{err}");
    }
}
