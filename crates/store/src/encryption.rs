//! Server-side encryption of every object a store writes, with the customer's keys.
//!
//! The options and their checks are documented at [`EncryptionOptions`].

use std::fmt;

use base64::Engine as _;

use super::credentials::{EnvVars, StoreCredentials};
use super::error::{Invalid, InvalidInput, StoreError};
use super::location::StoreKind;
use super::secret::{REDACTED, Secret};

/// S3's `server_side_encryption` values, spelled as `object_store` and S3 spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SseMode {
    /// `AES256`: SSE-S3, keys managed by S3.
    S3Managed,
    /// `aws:kms`: SSE-KMS, with `sse_kms_key_id` or the account's default `aws/s3` key.
    Kms,
    /// `aws:kms:dsse`: dual-layer SSE-KMS.
    DsseKms,
    /// `sse-c`: SSE-C, a 256-bit key the customer provides on every request.
    CustomerKey,
}

impl SseMode {
    /// Every mode, in the order messages list them.
    pub const ALL: [SseMode; 4] = [
        SseMode::S3Managed,
        SseMode::Kms,
        SseMode::DsseKms,
        SseMode::CustomerKey,
    ];

    /// The value as written in a URL and sent to S3.
    pub fn as_str(self) -> &'static str {
        match self {
            SseMode::S3Managed => "AES256",
            SseMode::Kms => "aws:kms",
            SseMode::DsseKms => "aws:kms:dsse",
            SseMode::CustomerKey => "sse-c",
        }
    }

    /// Parses a value of `field`; an unknown value names the ones allowed.
    pub fn parse(field: &str, value: &str) -> Result<SseMode, StoreError> {
        SseMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                StoreError::invalid(
                    field,
                    value,
                    "server_side_encryption is one of AES256, aws:kms, aws:kms:dsse, sse-c",
                    "write server_side_encryption=aws:kms (with sse_kms_key_id=ARN for a customer-managed key)",
                )
            })
    }

    fn uses_kms(self) -> bool {
        matches!(self, SseMode::Kms | SseMode::DsseKms)
    }
}

impl fmt::Display for SseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Server-side encryption settings. All unset (the default): the bucket's default encryption.
///
/// | store | URL option (also an environment variable) | what each write carries |
/// |---|---|---|
/// | S3 | `server_side_encryption=AES256\|aws:kms\|aws:kms:dsse\|sse-c` (`AWS_SERVER_SIDE_ENCRYPTION`) | `x-amz-server-side-encryption` |
/// | S3 | `sse_kms_key_id=ARN` (`AWS_SSE_KMS_KEY_ID`), with `aws:kms` or `aws:kms:dsse` | `x-amz-server-side-encryption-aws-kms-key-id` |
/// | S3 | `sse_bucket_key_enabled=true\|false` (`AWS_SSE_BUCKET_KEY_ENABLED`), with `aws:kms` | `x-amz-server-side-encryption-bucket-key-enabled` |
/// | S3 | SSE-C key: only from `AWS_SSE_CUSTOMER_KEY_BASE64` or the builder (a secret), with `sse-c` | `x-amz-server-side-encryption-customer-*` (also on reads) |
/// | Azure | `encryption_scope=NAME` (`AZURE_STORAGE_ENCRYPTION_SCOPE`) | `x-ms-encryption-scope` |
/// | Azure | customer-provided key: only from `AZURE_STORAGE_ENCRYPTION_KEY` or the builder (a secret) | `x-ms-encryption-key*` (also on reads) |
/// | GCS | `kms_key_name=projects/P/locations/L/keyRings/R/cryptoKeys/K` (`GOOGLE_STORAGE_KMS_KEY_NAME`) | `kmsKeyName` on the JSON-API upload |
///
/// The option names are `object_store`'s where it has them (S3, the Azure key); the others
/// follow the provider's header or parameter. Values are checked when the URL is parsed (an
/// unknown `server_side_encryption`, a key id without `aws:kms`) and when the store is built
/// (the combination from all sources, a customer key that is not 32 bytes in base64), before
/// any request. The server's verdict comes with the first write: a refused upload becomes
/// [`StoreError::EncryptionRefused`], naming the options, the rule and the fix.
///
/// Precedence per field, as for the other options: the builder, the URL, the environment.
/// `Debug` shows no key: the two customer keys are [`Secret`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptionOptions {
    /// S3: the encryption every object is written with.
    pub server_side_encryption: Option<SseMode>,
    /// S3: the KMS key (ARN, key id or alias) for `aws:kms` and `aws:kms:dsse`.
    pub sse_kms_key_id: Option<String>,
    /// S3: whether to use an S3 Bucket Key with SSE-KMS (fewer KMS requests).
    pub sse_bucket_key_enabled: Option<bool>,
    /// S3 SSE-C: the base64 of a 256-bit key. Never in a URL.
    pub sse_customer_key: Option<Secret>,
    /// Azure: the encryption scope every blob is written with.
    pub encryption_scope: Option<String>,
    /// Azure: a customer-provided key, the base64 of 256 bits. Never in a URL.
    pub azure_encryption_key: Option<Secret>,
    /// GCS: the Cloud KMS key every object is written with (CMEK).
    pub kms_key_name: Option<String>,
}

impl EncryptionOptions {
    /// SSE-KMS with `key_id` (an ARN, key id or `alias/…`).
    pub fn sse_kms(key_id: impl Into<String>) -> Self {
        EncryptionOptions {
            server_side_encryption: Some(SseMode::Kms),
            sse_kms_key_id: Some(key_id.into()),
            ..EncryptionOptions::default()
        }
    }

    /// SSE-C with `key`, the base64 of a 256-bit key the customer keeps: every request for
    /// an object (writes, reads, the retention HEAD of an immutable repository) carries it.
    pub fn sse_c(key: Secret) -> Self {
        EncryptionOptions {
            server_side_encryption: Some(SseMode::CustomerKey),
            sse_customer_key: Some(key),
            ..EncryptionOptions::default()
        }
    }

    /// The settings a tenant file's `backup.encryption` section asks for (validated with the
    /// tenant: one field, the provider's).
    ///
    /// ```
    /// use thinledger_store::{EncryptionOptions, SseMode};
    /// use thinledger_topology::BackupEncryptionSpec;
    ///
    /// let mut spec = BackupEncryptionSpec::default();
    /// spec.kms_key_id = Some("alias/ledger".into());
    /// let options = EncryptionOptions::from_tenant(&spec);
    /// assert_eq!(options.server_side_encryption, Some(SseMode::Kms));
    /// assert_eq!(options.sse_kms_key_id.as_deref(), Some("alias/ledger"));
    /// ```
    pub fn from_tenant(spec: &thinledger_topology::BackupEncryptionSpec) -> Self {
        let mode = if spec.dsse {
            SseMode::DsseKms
        } else {
            SseMode::Kms
        };
        EncryptionOptions {
            server_side_encryption: spec.kms_key_id.as_ref().map(|_| mode),
            sse_kms_key_id: spec.kms_key_id.clone(),
            encryption_scope: spec.encryption_scope.clone(),
            kms_key_name: spec.kms_key_name.clone(),
            ..EncryptionOptions::default()
        }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &EncryptionOptions::default()
    }

    /// Each field of `self`, else of `lower`.
    pub(crate) fn or(self, lower: EncryptionOptions) -> EncryptionOptions {
        EncryptionOptions {
            server_side_encryption: self.server_side_encryption.or(lower.server_side_encryption),
            sse_kms_key_id: self.sse_kms_key_id.or(lower.sse_kms_key_id),
            sse_bucket_key_enabled: self.sse_bucket_key_enabled.or(lower.sse_bucket_key_enabled),
            sse_customer_key: self.sse_customer_key.or(lower.sse_customer_key),
            encryption_scope: self.encryption_scope.or(lower.encryption_scope),
            azure_encryption_key: self.azure_encryption_key.or(lower.azure_encryption_key),
            kms_key_name: self.kms_key_name.or(lower.kms_key_name),
        }
    }

    /// The variables of `env` that concern a store of `kind` (those of other clouds are left
    /// alone, so a stray `AWS_*` variable does not break an Azure store).
    pub(crate) fn from_env(
        kind: StoreKind,
        env: &EnvVars,
    ) -> Result<EncryptionOptions, StoreError> {
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut out = EncryptionOptions::default();
        match kind {
            StoreKind::S3 => {
                if let Some(v) = get(ENV_SSE) {
                    out.server_side_encryption = Some(SseMode::parse(ENV_SSE, &v)?);
                }
                if let Some(v) = get(ENV_KMS_KEY_ID) {
                    out.sse_kms_key_id = Some(check_kms_key_id(ENV_KMS_KEY_ID, &v)?);
                }
                if let Some(v) = get(ENV_BUCKET_KEY) {
                    out.sse_bucket_key_enabled =
                        Some(super::location::parse_bool(ENV_BUCKET_KEY, &v)?);
                }
                out.sse_customer_key = get(ENV_SSE_C_KEY).map(Secret::new);
            }
            StoreKind::Azure => {
                if let Some(v) = get(ENV_SCOPE) {
                    out.encryption_scope = Some(check_scope(ENV_SCOPE, &v)?);
                }
                out.azure_encryption_key = get(ENV_AZURE_KEY).map(Secret::new);
            }
            StoreKind::Gcs => {
                if let Some(v) = get(ENV_GCS_KMS) {
                    out.kms_key_name = Some(check_gcs_key_name(ENV_GCS_KMS, &v)?);
                }
            }
            StoreKind::Local => {}
        }
        Ok(out)
    }

    /// Checks the merged settings for a store of `kind` signed with `credentials`; `None`
    /// when nothing is asked (the bucket's default applies).
    pub(crate) fn resolve(
        &self,
        kind: StoreKind,
        credentials: &StoreCredentials,
    ) -> Result<Option<Encryption>, StoreError> {
        if self.is_empty() {
            return Ok(None);
        }
        let set = self.set_fields();
        let foreign: Vec<&str> = set
            .iter()
            .filter(|(_, k)| *k != kind)
            .map(|(name, _)| *name)
            .collect();
        if let Some(name) = foreign.first() {
            let (rule, fix) = match kind {
                StoreKind::Local => (
                    "a local folder has no server-side encryption".to_owned(),
                    "encrypt the disk (the repository's own encryption protects the content either way), or remove the option".to_owned(),
                ),
                _ => (
                    format!("{name} applies to {} stores, and this is a {kind} store", owner_of(name)),
                    match kind {
                        StoreKind::S3 => "use server_side_encryption and sse_kms_key_id",
                        StoreKind::Azure => "use encryption_scope (or a customer-provided key)",
                        _ => "use kms_key_name",
                    }
                    .to_owned(),
                ),
            };
            return Err(StoreError::invalid(
                format!("option.{name}"),
                self.shown_value(name),
                rule,
                fix,
            ));
        }
        match kind {
            StoreKind::S3 => self.resolve_s3().map(Some),
            StoreKind::Azure => self.resolve_azure(credentials).map(Some),
            StoreKind::Gcs => Ok(self.kms_key_name.clone().map(Encryption::GcsKms)),
            StoreKind::Local => Ok(None),
        }
    }

    fn resolve_s3(&self) -> Result<Encryption, StoreError> {
        let mode = match (self.server_side_encryption, &self.sse_customer_key) {
            (Some(mode), _) => mode,
            (None, Some(_)) => SseMode::CustomerKey,
            (None, None) => {
                let field = if self.sse_kms_key_id.is_some() {
                    "sse_kms_key_id"
                } else {
                    "sse_bucket_key_enabled"
                };
                return Err(StoreError::invalid(
                    format!("option.{field}"),
                    self.shown_value(field),
                    "a KMS setting needs server_side_encryption=aws:kms (or aws:kms:dsse)",
                    "add server_side_encryption=aws:kms",
                ));
            }
        };
        for (field, given) in [
            ("sse_kms_key_id", self.sse_kms_key_id.is_some()),
            (
                "sse_bucket_key_enabled",
                self.sse_bucket_key_enabled.is_some(),
            ),
        ] {
            if given && !mode.uses_kms() {
                return Err(StoreError::invalid(
                    format!("option.{field}"),
                    self.shown_value(field),
                    format!(
                        "{field} applies to server_side_encryption=aws:kms or aws:kms:dsse, not {mode}"
                    ),
                    "set server_side_encryption=aws:kms, or remove it",
                ));
            }
        }
        let customer_key = match (mode, &self.sse_customer_key) {
            (SseMode::CustomerKey, Some(key)) => {
                check_customer_key("option.sse_customer_key", key, ENV_SSE_C_KEY)?;
                Some(key.clone())
            }
            (SseMode::CustomerKey, None) => {
                return Err(StoreError::missing(
                    "option.sse_customer_key",
                    "s3",
                    format!(
                        "server_side_encryption=sse-c needs the key: set {ENV_SSE_C_KEY} to the base64 of 32 random bytes (keep it: without it nothing can be read back)"
                    ),
                ));
            }
            (_, Some(_)) => {
                return Err(StoreError::invalid(
                    "option.sse_customer_key",
                    REDACTED,
                    format!("a customer key applies to server_side_encryption=sse-c, not {mode}"),
                    format!("set server_side_encryption=sse-c, or unset {ENV_SSE_C_KEY}"),
                ));
            }
            (_, None) => None,
        };
        Ok(Encryption::S3 {
            mode,
            kms_key_id: self.sse_kms_key_id.clone(),
            bucket_key: self.sse_bucket_key_enabled,
            customer_key,
        })
    }

    fn resolve_azure(&self, credentials: &StoreCredentials) -> Result<Encryption, StoreError> {
        match (&self.encryption_scope, &self.azure_encryption_key) {
            (Some(scope), Some(_)) => Err(StoreError::invalid(
                "option.encryption_scope",
                scope,
                "Azure takes an encryption scope or a customer-provided key on a request, not both",
                format!("remove encryption_scope or unset {ENV_AZURE_KEY}"),
            )),
            (Some(scope), None) => {
                // object_store signs a request before its default headers are added, and a
                // Shared Key signature covers every x-ms-* header: the service would refuse it.
                if matches!(credentials, StoreCredentials::AzureAccessKey { .. }) {
                    return Err(StoreError::invalid(
                        "option.encryption_scope",
                        scope,
                        "an encryption scope is sent as a header that an account-key (Shared Key) signature does not cover, so Azure would refuse every upload",
                        "sign with workload identity or managed identity (Microsoft Entra tokens), or set the scope as the container's default encryption scope instead",
                    ));
                }
                Ok(Encryption::AzureScope(scope.clone()))
            }
            (None, Some(key)) => {
                check_customer_key("option.azure_encryption_key", key, ENV_AZURE_KEY)?;
                Ok(Encryption::AzureCustomerKey(key.clone()))
            }
            (None, None) => Err(StoreError::invalid(
                "option.encryption",
                "",
                "no Azure encryption setting is given",
                "set encryption_scope",
            )),
        }
    }

    /// The fields that are set, with the store kind each belongs to.
    fn set_fields(&self) -> Vec<(&'static str, StoreKind)> {
        [
            (
                "server_side_encryption",
                self.server_side_encryption.is_some(),
                StoreKind::S3,
            ),
            (
                "sse_kms_key_id",
                self.sse_kms_key_id.is_some(),
                StoreKind::S3,
            ),
            (
                "sse_bucket_key_enabled",
                self.sse_bucket_key_enabled.is_some(),
                StoreKind::S3,
            ),
            (
                "sse_customer_key",
                self.sse_customer_key.is_some(),
                StoreKind::S3,
            ),
            (
                "encryption_scope",
                self.encryption_scope.is_some(),
                StoreKind::Azure,
            ),
            (
                "azure_encryption_key",
                self.azure_encryption_key.is_some(),
                StoreKind::Azure,
            ),
            ("kms_key_name", self.kms_key_name.is_some(), StoreKind::Gcs),
        ]
        .into_iter()
        .filter(|(_, set, _)| *set)
        .map(|(name, _, kind)| (name, kind))
        .collect()
    }

    /// A field's value as it may be printed (keys are `redacted`).
    fn shown_value(&self, field: &str) -> String {
        match field {
            "server_side_encryption" => self
                .server_side_encryption
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            "sse_kms_key_id" => self.sse_kms_key_id.clone().unwrap_or_default(),
            "sse_bucket_key_enabled" => self
                .sse_bucket_key_enabled
                .map(|b| b.to_string())
                .unwrap_or_default(),
            "encryption_scope" => self.encryption_scope.clone().unwrap_or_default(),
            "kms_key_name" => self.kms_key_name.clone().unwrap_or_default(),
            _ => REDACTED.to_owned(),
        }
    }
}

fn owner_of(field: &str) -> &'static str {
    match field {
        "encryption_scope" | "azure_encryption_key" => "az://",
        "kms_key_name" => "gs://",
        _ => "s3://",
    }
}

const ENV_SSE: &str = "AWS_SERVER_SIDE_ENCRYPTION";
const ENV_KMS_KEY_ID: &str = "AWS_SSE_KMS_KEY_ID";
const ENV_BUCKET_KEY: &str = "AWS_SSE_BUCKET_KEY_ENABLED";
const ENV_SSE_C_KEY: &str = "AWS_SSE_CUSTOMER_KEY_BASE64";
const ENV_SCOPE: &str = "AZURE_STORAGE_ENCRYPTION_SCOPE";
const ENV_AZURE_KEY: &str = "AZURE_STORAGE_ENCRYPTION_KEY";
const ENV_GCS_KMS: &str = "GOOGLE_STORAGE_KMS_KEY_NAME";

/// The URL options that carry a customer key (a secret): refused in a URL.
pub(crate) const SECRET_KEY_OPTIONS: &[&str] = &[
    "sse_customer_key_base64",
    "aws_sse_customer_key_base64",
    "sse_customer_key",
    "encryption_key",
    "azure_storage_encryption_key",
];

/// Where a customer key goes instead of the URL.
pub(crate) const SECRET_KEY_FIX: &str = "pass a customer key through the environment (AWS_SSE_CUSTOMER_KEY_BASE64, AZURE_STORAGE_ENCRYPTION_KEY) or the builder's with_encryption";

/// A KMS key id, ARN or alias: one header value, no spaces.
pub(crate) fn check_kms_key_id(field: &str, value: &str) -> Result<String, StoreError> {
    if value.is_empty() || value.len() > 2048 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::invalid(
            field,
            value,
            "a KMS key is named by its ARN, key id or alias (printable ASCII, no spaces)",
            "write e.g. sse_kms_key_id=arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ));
    }
    Ok(value.to_owned())
}

/// An Azure encryption scope name: 3 to 63 letters, digits and '-', starting with a letter
/// or digit.
pub(crate) fn check_scope(field: &str, value: &str) -> Result<String, StoreError> {
    let ok = (3..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(StoreError::invalid(
            field,
            value,
            "an encryption scope name is 3 to 63 letters, digits and '-', starting with a letter or digit",
            "give the name of a scope of the storage account, e.g. encryption_scope=ledger-cmk",
        ));
    }
    Ok(value.to_owned())
}

/// A Cloud KMS key name, as a store's `kms_key_name`.
pub(crate) fn check_gcs_key_name(field: &str, value: &str) -> Result<String, StoreError> {
    check_gcs_kms_key_name(field, value)?;
    Ok(value.to_owned())
}

/// Checks that `value` (of `field`) names a Cloud KMS key:
/// `projects/P/locations/L/keyRings/R/cryptoKeys/K`, each part letters, digits, `-`, `_` or
/// `.`. The one check for every GCS key name thinledger takes (a store's `kms_key_name`,
/// CockroachDB's `gs:///` KMS URIs).
///
/// ```
/// use thinledger_store::check_gcs_kms_key_name;
///
/// check_gcs_kms_key_name("kms_key_name", "projects/acme/locations/eu/keyRings/ledger/cryptoKeys/backups")?;
/// let err = check_gcs_kms_key_name("kms_key_name", "projects/acme/keyRings/ledger").unwrap_err();
/// assert!(err.to_string().starts_with("kms_key_name: \"projects/acme/keyRings/ledger\" is invalid"));
/// # Ok::<(), thinledger_store::InvalidInput>(())
/// ```
pub fn check_gcs_kms_key_name(field: &str, value: &str) -> Result<(), InvalidInput> {
    let parts: Vec<&str> = value.split('/').collect();
    let ok = parts.len() == 8
        && parts[0] == "projects"
        && parts[2] == "locations"
        && parts[4] == "keyRings"
        && parts[6] == "cryptoKeys"
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if ok {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        value,
        "a Cloud KMS key name is projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY",
        "copy the key's resource name (`gcloud kms keys list --keyring RING --location LOCATION`), e.g. projects/acme/locations/europe-west3/keyRings/ledger/cryptoKeys/backups",
    ))
}

/// A customer-provided key: the base64 of exactly 32 bytes. The value is never shown.
fn check_customer_key(field: &str, key: &Secret, env: &str) -> Result<(), StoreError> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(key.expose().trim());
    match decoded {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        Ok(bytes) => Err(StoreError::invalid(
            field,
            REDACTED,
            format!(
                "a customer key is 256 bits (32 bytes), this one decodes to {} bytes",
                bytes.len()
            ),
            format!(
                "set {env} to the base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"
            ),
        )),
        Err(_) => Err(StoreError::invalid(
            field,
            REDACTED,
            "a customer key is given in standard base64",
            format!(
                "set {env} to the base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"
            ),
        )),
    }
}

/// The checked encryption a store sends with every write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    not(any(feature = "s3", feature = "azure", feature = "gcs")),
    allow(dead_code)
)]
pub(crate) enum Encryption {
    S3 {
        mode: SseMode,
        kms_key_id: Option<String>,
        bucket_key: Option<bool>,
        customer_key: Option<Secret>,
    },
    AzureScope(String),
    AzureCustomerKey(Secret),
    GcsKms(String),
}

#[cfg_attr(
    not(any(feature = "s3", feature = "azure", feature = "gcs")),
    allow(dead_code)
)]
impl Encryption {
    /// The options as `name=value` pairs, keys `redacted`: for messages and `Store::encryption`.
    pub(crate) fn summary(&self) -> String {
        match self {
            Encryption::S3 {
                mode,
                kms_key_id,
                bucket_key,
                customer_key,
            } => {
                let mut parts = vec![format!("server_side_encryption={mode}")];
                if let Some(id) = kms_key_id {
                    parts.push(format!("sse_kms_key_id={id}"));
                }
                if let Some(b) = bucket_key {
                    parts.push(format!("sse_bucket_key_enabled={b}"));
                }
                if customer_key.is_some() {
                    parts.push(format!("sse_customer_key={REDACTED}"));
                }
                parts.join(", ")
            }
            Encryption::AzureScope(scope) => format!("encryption_scope={scope}"),
            Encryption::AzureCustomerKey(_) => format!("azure_encryption_key={REDACTED}"),
            Encryption::GcsKms(name) => format!("kms_key_name={name}"),
        }
    }

    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        match self {
            Encryption::S3 {
                customer_key: Some(k),
                ..
            }
            | Encryption::AzureCustomerKey(k) => vec![k],
            _ => Vec::new(),
        }
    }

    /// Whether reads need the key too (customer-provided keys).
    pub(crate) fn reads_need_key(&self) -> bool {
        matches!(
            self,
            Encryption::S3 {
                customer_key: Some(_),
                ..
            } | Encryption::AzureCustomerKey(_)
        )
    }

    /// What to check when the store refuses a write that carried this encryption.
    pub(crate) fn refusal_fix(&self) -> &'static str {
        match self {
            Encryption::S3 {
                mode: SseMode::Kms | SseMode::DsseKms,
                ..
            } => {
                "check that the KMS key exists in the bucket's region and is enabled, that this identity may use it (kms:GenerateDataKey and kms:Decrypt), and that the bucket policy accepts this encryption and key (s3:x-amz-server-side-encryption, s3:x-amz-server-side-encryption-aws-kms-key-id)"
            }
            Encryption::S3 {
                mode: SseMode::CustomerKey,
                ..
            } => {
                "check that the bucket (its policy or its default encryption settings) allows SSE-C, and that the key is the base64 of 32 bytes"
            }
            Encryption::S3 { .. } => {
                "check that the bucket policy accepts this encryption (s3:x-amz-server-side-encryption); a bank bucket usually requires aws:kms with its key"
            }
            Encryption::AzureScope(_) => {
                "check that the encryption scope exists in the storage account and is enabled, and that the container does not enforce its own default scope"
            }
            Encryption::AzureCustomerKey(_) => {
                "check that the account allows customer-provided keys (and HTTPS is used), and that the key is the base64 of 32 bytes"
            }
            Encryption::GcsKms(_) => {
                "check that the key exists in the bucket's location and that the project's Cloud Storage service agent has roles/cloudkms.cryptoKeyEncrypterDecrypter on it"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key32() -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
    }

    /// Combinations that cannot work are refused before any request, naming the option.
    #[rstest::rstest]
    #[case::key_id_without_kms(
        EncryptionOptions { sse_kms_key_id: Some("alias/ledger".into()), ..Default::default() },
        StoreKind::S3, "option.sse_kms_key_id", "needs server_side_encryption=aws:kms"
    )]
    #[case::key_id_with_aes256(
        EncryptionOptions { server_side_encryption: Some(SseMode::S3Managed), sse_kms_key_id: Some("alias/ledger".into()), ..Default::default() },
        StoreKind::S3, "option.sse_kms_key_id", "not AES256"
    )]
    #[case::bucket_key_with_sse_c(
        EncryptionOptions { server_side_encryption: Some(SseMode::CustomerKey), sse_bucket_key_enabled: Some(true), sse_customer_key: Some(key32()), ..Default::default() },
        StoreKind::S3, "option.sse_bucket_key_enabled", "not sse-c"
    )]
    #[case::sse_c_without_key(
        EncryptionOptions { server_side_encryption: Some(SseMode::CustomerKey), ..Default::default() },
        StoreKind::S3, "option.sse_customer_key", "AWS_SSE_CUSTOMER_KEY_BASE64"
    )]
    #[case::sse_c_short_key(
        EncryptionOptions { server_side_encryption: Some(SseMode::CustomerKey), sse_customer_key: Some(Secret::new("c2hvcnQ=")), ..Default::default() },
        StoreKind::S3, "option.sse_customer_key", "decodes to 5 bytes"
    )]
    #[case::customer_key_with_kms(
        EncryptionOptions { server_side_encryption: Some(SseMode::Kms), sse_customer_key: Some(key32()), ..Default::default() },
        StoreKind::S3, "option.sse_customer_key", "not aws:kms"
    )]
    #[case::s3_option_on_azure(
        EncryptionOptions::sse_kms("alias/ledger"),
        StoreKind::Azure,
        "option.server_side_encryption",
        "applies to s3:// stores"
    )]
    #[case::scope_on_gcs(
        EncryptionOptions { encryption_scope: Some("ledger".into()), ..Default::default() },
        StoreKind::Gcs, "option.encryption_scope", "applies to az:// stores"
    )]
    #[case::anything_on_a_folder(
        EncryptionOptions::sse_kms("alias/ledger"),
        StoreKind::Local,
        "option.server_side_encryption",
        "a local folder has no server-side encryption"
    )]
    #[case::scope_and_customer_key(
        EncryptionOptions { encryption_scope: Some("ledger".into()), azure_encryption_key: Some(key32()), ..Default::default() },
        StoreKind::Azure, "option.encryption_scope", "not both"
    )]
    fn impossible_combinations_are_refused(
        #[case] options: EncryptionOptions,
        #[case] kind: StoreKind,
        #[case] field: &str,
        #[case] says: &str,
    ) {
        let err = options
            .resolve(kind, &StoreCredentials::Default)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(field), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(err.contains("fix"), "{err}");
        assert!(!err.contains(key32().expose()), "{err}");
    }

    #[test]
    fn a_scope_with_an_account_key_is_refused() {
        let options = EncryptionOptions {
            encryption_scope: Some("ledger".into()),
            ..Default::default()
        };
        let key = StoreCredentials::AzureAccessKey {
            key: Secret::new("a2V5"),
        };
        let err = options
            .resolve(StoreKind::Azure, &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Shared Key"), "{err}");
        assert!(
            options
                .resolve(StoreKind::Azure, &StoreCredentials::Default)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_summary_names_options_and_hides_keys() {
        let sse_c = EncryptionOptions {
            sse_customer_key: Some(key32()),
            ..Default::default()
        }
        .resolve(StoreKind::S3, &StoreCredentials::Default)
        .unwrap()
        .unwrap();
        assert_eq!(
            sse_c.summary(),
            "server_side_encryption=sse-c, sse_customer_key=redacted"
        );
        assert!(!format!("{sse_c:?}").contains(key32().expose()));
        let kms = EncryptionOptions::sse_kms("alias/ledger")
            .resolve(StoreKind::S3, &StoreCredentials::Default)
            .unwrap()
            .unwrap();
        assert_eq!(
            kms.summary(),
            "server_side_encryption=aws:kms, sse_kms_key_id=alias/ledger"
        );
    }
}
