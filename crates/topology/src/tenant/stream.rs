//! The stream's tenant sections: Redpanda tiered storage (`redpanda.tiered_storage`) and
//! CockroachDB changefeeds into Redpanda (`changefeeds`), with their rules.
//!
//! ```yaml
//! redpanda:
//!   tiered_storage:              # default: on for tier prod, off for dev and staging
//!     bucket: acme-redpanda      # Redpanda's own bucket (Azure: container), never the backups'
//!     identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-redpanda"}
//!     region: us-east-1          # optional: the bucket's region (default: Redpanda's region)
//!     kms_key_id: "arn:aws:kms:…:key/…"   # optional (AWS): the bucket's default SSE-KMS key
//!     iam: {identity_name: acme-redpanda} # optional: inputs of `ledger-topology iam` (as backup.iam)
//!     max_upload_interval_seconds: 600   # optional (default 3600)
//!     # enabled: false           # in prod needs a reason:
//!     # reason: "regulator requires on-prem only data, no object storage yet"
//! changefeeds:
//!   image: registry.example/thinledger/ledger-backup:v0.1.0   # runs `changefeed apply`
//!   auth: {kind: mtls, secret: redpanda-changefeed-client}   # keys tls.crt and tls.key
//!   resolved: 10s                # default 10s; `off` for none
//!   feeds:
//!     - topic: ledger.balances.audit
//!       tables: [ledger.public.balances]
//!       partitions: 12
//! ```
//!
//! # Tiered storage never touches the backups
//!
//! Redpanda writes its objects at the root of its bucket (its keys start with a hash, so no key
//! prefix can fence it) and deletes segments as retention passes. Given the backup bucket, or
//! the backup identity, brokers could delete backups. So tiered storage needs **a bucket of
//! its own** (`bucket`, refused when it is the backup bucket) and **an identity of its own**
//! (`identity`, of the tenant's provider: IRSA role, Azure managed identity, Google service
//! account, or a Secret with MinIO keys; refused when it is the backup identity or a site's).
//! Both are named in the file, so a platform team can audit what the brokers may touch;
//! `ledger-topology iam` writes their grants (the bucket only, and the `redpanda` service
//! account only).
//!
//! Tiered storage is on by default in production. A production tenant that declares neither
//! the bucket nor the identity renders with tiered storage off and says so (tenant advice, the
//! StatefulSet's `thinledger.io/tiered-storage` annotation, the `cost.redpanda_untiered`
//! guardrail); declaring one without the other, or `enabled: true` without both, is refused.
//!
//! A tenant with sites runs one Redpanda cluster, whose `cloud_storage_*` properties are
//! cluster-wide: one bucket (on the tenant's provider, the first site's) and one credentials
//! source for every broker. The identity is therefore one identity of the tenant's provider,
//! trusted from every site's Kubernetes cluster (its OIDC issuer, `backup.iam.oidc_issuers`
//! by the site's region).

use serde::{Deserialize, Serialize};

use super::{Problem, TenantSpec};
use crate::iam::BackupIamSpec;
use crate::identity::IdentityBinding;
use crate::provider::Provider;
use crate::tier::Tier;

/// Redpanda tiered storage: closed log segments move to object storage, so broker disks hold
/// hours of data instead of the whole retention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TieredStorageSpec {
    /// On or off (default: on for tier `prod`, off for `dev` and `staging`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Why a production tenant runs without tiered storage (required to turn it off there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Redpanda's own bucket (Azure: container); never the backup bucket. Required with
    /// tiered storage on (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Azure: the storage account of the container (default: `backup.account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Redpanda's own identity, of the tenant's provider; never the backup identity or a
    /// site's. Required with tiered storage on. The `redpanda` ServiceAccount carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBinding>,
    /// AWS: the key ARN of the bucket's default SSE-KMS encryption, when it has one: the
    /// identity is granted `kms:GenerateDataKey`/`kms:Decrypt` on it, through S3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Inputs of `ledger-topology iam` for Redpanda's identity, over `backup.iam` (e.g. the
    /// Azure managed identity's `identity_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<BackupIamSpec>,
    /// The bucket's region (default: the region Redpanda runs in; on-prem MinIO `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Upload an open segment after at most this many seconds
    /// (`cloud_storage_segment_max_upload_interval_sec`; default 3600, at least 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_interval_seconds: Option<u32>,
}

/// Default `cloud_storage_segment_max_upload_interval_sec`: an hour, Redpanda's own default.
pub const DEFAULT_UPLOAD_INTERVAL_SECONDS: u32 = 3_600;

/// Where and how Redpanda's tiered storage writes, resolved from the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TieredStorage {
    /// Bucket (Azure: container).
    pub bucket: String,
    /// Azure storage account.
    pub account: Option<String>,
    /// The bucket's region (S3, GCS, MinIO).
    pub region: String,
    /// MinIO's endpoint URL (on-prem).
    pub endpoint: Option<String>,
    /// `cloud_storage_segment_max_upload_interval_sec`.
    pub max_upload_interval_seconds: u32,
    /// Redpanda's own identity (the `redpanda` ServiceAccount's).
    pub identity: IdentityBinding,
}

/// How the changefeeds authenticate to Redpanda (always over TLS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ChangefeedAuth {
    /// Mutual TLS: the client certificate and key in a Secret of the tenant's namespace.
    Mtls {
        /// The Secret (e.g. made by cert-manager).
        secret: String,
        /// Key of the PEM certificate (default `tls.crt`).
        #[serde(default = "default_cert_key")]
        cert_key: String,
        /// Key of the PEM private key (default `tls.key`).
        #[serde(default = "default_key_key")]
        key_key: String,
    },
    /// SASL/SCRAM-SHA-256 with a user and password from a Secret.
    #[serde(rename = "scram-sha-256")]
    ScramSha256 {
        /// The Secret.
        secret: String,
        /// Key of the user name (default `username`).
        #[serde(default = "default_user_key")]
        user_key: String,
        /// Key of the password (default `password`).
        #[serde(default = "default_password_key")]
        password_key: String,
    },
    /// SASL/SCRAM-SHA-512 with a user and password from a Secret.
    #[serde(rename = "scram-sha-512")]
    ScramSha512 {
        /// The Secret.
        secret: String,
        /// Key of the user name (default `username`).
        #[serde(default = "default_user_key")]
        user_key: String,
        /// Key of the password (default `password`).
        #[serde(default = "default_password_key")]
        password_key: String,
    },
}

fn default_cert_key() -> String {
    "tls.crt".to_owned()
}
fn default_key_key() -> String {
    "tls.key".to_owned()
}
fn default_user_key() -> String {
    "username".to_owned()
}
fn default_password_key() -> String {
    "password".to_owned()
}

impl ChangefeedAuth {
    /// The Secret holding the credentials.
    pub fn secret(&self) -> &str {
        match self {
            ChangefeedAuth::Mtls { secret, .. }
            | ChangefeedAuth::ScramSha256 { secret, .. }
            | ChangefeedAuth::ScramSha512 { secret, .. } => secret,
        }
    }

    /// The Secret's keys, in order (certificate and key, or user and password).
    pub fn keys(&self) -> [&str; 2] {
        match self {
            ChangefeedAuth::Mtls {
                cert_key, key_key, ..
            } => [cert_key, key_key],
            ChangefeedAuth::ScramSha256 {
                user_key,
                password_key,
                ..
            }
            | ChangefeedAuth::ScramSha512 {
                user_key,
                password_key,
                ..
            } => [user_key, password_key],
        }
    }

    /// The kind, as in the tenant file.
    pub fn kind(&self) -> &'static str {
        match self {
            ChangefeedAuth::Mtls { .. } => "mtls",
            ChangefeedAuth::ScramSha256 { .. } => "scram-sha-256",
            ChangefeedAuth::ScramSha512 { .. } => "scram-sha-512",
        }
    }
}

/// Tables whose changes stream to one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangefeedFeed {
    /// The topic, e.g. `ledger.balances.audit` (created with replication 3 by the topic Job).
    pub topic: String,
    /// Fully qualified tables, `database.schema.table`.
    pub tables: Vec<String>,
    /// Partitions of the topic (default 12).
    #[serde(default = "default_feed_partitions")]
    pub partitions: u32,
    /// Partition by this column instead of the primary key (needs `resolved: off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_column: Option<String>,
}

fn default_feed_partitions() -> u32 {
    12
}

/// CockroachDB changefeeds into the tenant's Redpanda: an audit stream of every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangefeedsSpec {
    /// The `ledger-backup` image (pinned tag) the apply Job runs
    /// (`ledger-backup cockroach changefeed apply`).
    pub image: String,
    /// How CockroachDB authenticates to Redpanda.
    pub auth: ChangefeedAuth,
    /// Emit resolved timestamps this often (`10s`, `500ms`, `1m`; default `10s`; `off`).
    #[serde(default = "default_resolved")]
    pub resolved: String,
    /// Include the row before each change (default true).
    #[serde(default = "yes")]
    pub diff: bool,
    /// Include each change's MVCC timestamp (default true).
    #[serde(default = "yes")]
    pub updated: bool,
    /// `wrapped` (default: key, `after`, `before` with diff, `updated`) or `enriched`.
    #[serde(default = "default_envelope")]
    pub envelope: String,
    /// One changefeed per topic.
    pub feeds: Vec<ChangefeedFeed>,
}

fn default_resolved() -> String {
    "10s".to_owned()
}
fn default_envelope() -> String {
    "wrapped".to_owned()
}
fn yes() -> bool {
    true
}

impl TieredStorageSpec {
    /// Whether tiered storage is on for a tenant of `tier`.
    pub fn enabled_for(spec: Option<&TieredStorageSpec>, tier: Tier) -> bool {
        spec.and_then(|t| t.enabled).unwrap_or(tier == Tier::Prod)
    }
}

/// The tiered-storage rules.
pub(super) fn tiered_storage(spec: &TenantSpec) -> Result<(), Problem> {
    let t = spec.redpanda.tiered_storage.as_ref();
    let on = TieredStorageSpec::enabled_for(t, spec.tier);
    let reason = t.and_then(|t| t.reason.as_deref()).unwrap_or("").trim();
    if !on && spec.tier == Tier::Prod && reason.len() < 10 {
        return Err(Problem::new(
            "redpanda.tiered_storage.reason",
            reason,
            "production tenants run Redpanda with tiered storage (broker disks would otherwise hold the whole retention); turning it off needs a reason of at least 10 characters",
            "remove enabled: false, or add reason: \"why this tenant keeps everything on local disks\"",
        ));
    }
    let Some(t) = t else { return Ok(()) };
    if let Some(b) = &t.bucket {
        let ok = (3..=63).contains(&b.len())
            && b.bytes().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == b'-'
                    || (c == b'.' && spec.provider != Provider::Azure)
            })
            && b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(Problem::new(
                "redpanda.tiered_storage.bucket",
                b,
                "a bucket (Azure: container) name is 3-63 lowercase letters, digits and '-' (and '.' outside Azure), starting and ending with a letter or digit",
                "e.g. bucket: acme-redpanda",
            ));
        }
        let same_account = t.account.is_none() || t.account == spec.backup.account;
        if *b == spec.backup.bucket && same_account {
            return Err(Problem::new(
                "redpanda.tiered_storage.bucket",
                b,
                "Redpanda writes at its bucket's root and deletes segments: in the backup bucket its brokers could delete backups, so tiered storage has a bucket of its own",
                format!(
                    "create a bucket for Redpanda only, e.g. bucket: {}",
                    suggested_bucket(spec)
                ),
            ));
        }
    }
    if let Some(a) = &t.account {
        if spec.provider != Provider::Azure {
            return Err(Problem::new(
                "redpanda.tiered_storage.account",
                a,
                "a storage account applies to Azure only",
                "remove account",
            ));
        }
        if !(3..=24).contains(&a.len())
            || !a
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(Problem::new(
                "redpanda.tiered_storage.account",
                a,
                "an Azure storage account name is 3-24 lowercase letters and digits",
                "e.g. account: acmeredpanda",
            ));
        }
    }
    if let Some(identity) = &t.identity {
        identity
            .validate_for(spec.provider)
            .map_err(|e| Problem::from_model(e, "redpanda.tiered_storage."))?;
        let shared = spec
            .backup
            .identity
            .iter()
            .map(|b| ("backup.identity".to_owned(), b))
            .chain(spec.sites.iter().enumerate().filter_map(|(i, s)| {
                s.identity
                    .as_ref()
                    .map(|b| (format!("sites[{i}].identity"), b))
            }))
            .find(|(_, b)| same_identity(b, identity));
        if let Some((other, _)) = shared {
            return Err(Problem::new(
                "redpanda.tiered_storage.identity",
                identity_ref(identity),
                format!(
                    "the brokers' identity is {other}, which may delete backups: Redpanda's tiered storage has an identity of its own, granted its bucket only"
                ),
                format!(
                    "create an identity for Redpanda only, e.g. identity: {}",
                    example_identity(spec.provider)
                ),
            ));
        }
    }
    if let Some(key) = &t.kms_key_id {
        if spec.provider != Provider::Aws {
            return Err(Problem::new(
                "redpanda.tiered_storage.kms_key_id",
                key,
                "a bucket key granted to the brokers is AWS's (GCS and Azure encrypt with the service's own identity, MinIO with KES)",
                "remove kms_key_id",
            ));
        }
        crate::iam::validate_kms_key_field(
            "redpanda.tiered_storage.kms_key_id",
            spec.provider,
            key,
        )?;
    }
    if let Some(iam) = &t.iam {
        crate::iam::validate_iam_section(spec, "redpanda.tiered_storage.iam", iam)?;
    }
    if on {
        let explicit = t.enabled == Some(true);
        match (&t.bucket, &t.identity) {
            (Some(_), Some(_)) => {}
            (None, None) if !explicit => {}
            (None, _) => {
                return Err(Problem::new(
                    "redpanda.tiered_storage.bucket",
                    "",
                    "tiered storage needs Redpanda's own bucket: it writes at the bucket's root and deletes segments, so never the backup bucket",
                    format!(
                        "add bucket: {} (a bucket for Redpanda only)",
                        suggested_bucket(spec)
                    ),
                ));
            }
            (Some(_), None) => {
                return Err(Problem::new(
                    "redpanda.tiered_storage.identity",
                    "",
                    "tiered storage needs Redpanda's own identity: the backup identity may delete backups, so the brokers never hold it",
                    format!("add identity: {}", example_identity(spec.provider)),
                ));
            }
        }
    }
    if let Some(r) = &t.region
        && (r.is_empty()
            || r.len() > 63
            || !r
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
    {
        return Err(Problem::new(
            "redpanda.tiered_storage.region",
            r,
            "a region is lowercase letters, digits and '-'",
            "e.g. region: us-east-1",
        ));
    }
    if let Some(s) = t.max_upload_interval_seconds
        && !(60..=86_400).contains(&s)
    {
        return Err(Problem::new(
            "redpanda.tiered_storage.max_upload_interval_seconds",
            s,
            "open segments are uploaded after 60 seconds to a day",
            "e.g. max_upload_interval_seconds: 600",
        ));
    }
    Ok(())
}

/// A bucket name to suggest: `TENANT-ENVIRONMENT-redpanda`.
fn suggested_bucket(spec: &TenantSpec) -> String {
    format!("{}-{}-redpanda", spec.tenant, spec.environment)
}

/// An identity of the provider's kind, as the fix of a missing one shows it.
fn example_identity(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => {
            "{kind: irsa, role_arn: \"arn:aws:iam::<account>:role/<tenant>-redpanda\"}"
        }
        Provider::Azure => {
            "{kind: azure-workload-identity, client_id: <client id of a managed identity for Redpanda>}"
        }
        Provider::Gcp => {
            "{kind: gke-workload-identity, service_account: <name>-redpanda@<project>.iam.gserviceaccount.com}"
        }
        _ => "{kind: secret-ref, secret_name: <Secret with the keys of a MinIO user for Redpanda>}",
    }
}

/// Whether two bindings name the same principal (the same role, managed identity, Google
/// service account or Secret of keys), whatever their other fields.
fn same_identity(a: &IdentityBinding, b: &IdentityBinding) -> bool {
    identity_ref(a).eq_ignore_ascii_case(&identity_ref(b))
}

/// The principal a binding names.
pub(crate) fn identity_ref(b: &IdentityBinding) -> String {
    match b {
        IdentityBinding::Irsa { role_arn } => role_arn.clone(),
        IdentityBinding::AzureWorkloadIdentity { client_id, .. }
        | IdentityBinding::AzureManagedIdentity { client_id } => client_id.clone(),
        IdentityBinding::GkeWorkloadIdentity { service_account } => service_account.clone(),
        IdentityBinding::SecretRef { secret_name, .. } => format!("Secret {secret_name}"),
    }
}

/// A Secret or Secret-key name: DNS-subdomain characters (keys also '_' and upper case).
fn secret_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
}

fn secret_key_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
}

fn topic_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 249
        && t != "."
        && t != ".."
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn identifier_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The changefeed rules (the statements' own rules are the CockroachDB driver's, which the
/// apply Job runs; these catch in the tenant file what would fail there).
pub(super) fn changefeeds(spec: &TenantSpec) -> Result<(), Problem> {
    let Some(c) = &spec.changefeeds else {
        return Ok(());
    };
    let image_ok = !c.image.is_empty()
        && c.image.len() <= 255
        && c.image.contains(':')
        && !c.image.ends_with(":latest")
        && c.image
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"./:_-@".contains(&b));
    if !image_ok {
        return Err(Problem::new(
            "changefeeds.image",
            &c.image,
            "the ledger-backup image is a reference pinned by tag or digest (not latest)",
            "e.g. image: registry.example/thinledger/ledger-backup:v0.1.0",
        ));
    }
    if !secret_name_ok(c.auth.secret()) {
        return Err(Problem::new(
            "changefeeds.auth.secret",
            c.auth.secret(),
            "a Secret name is lowercase letters, digits, '-' and '.'",
            "e.g. secret: redpanda-changefeed-client",
        ));
    }
    for key in c.auth.keys() {
        if !secret_key_ok(key) {
            return Err(Problem::new(
                "changefeeds.auth",
                key,
                "a Secret key is letters, digits, '-', '.' and '_'",
                "e.g. tls.crt",
            ));
        }
    }
    let resolved_ok = c.resolved == "off" || {
        let split = c.resolved.find(|ch: char| !ch.is_ascii_digit());
        split.is_some_and(|i| {
            let (digits, unit) = c.resolved.split_at(i);
            !digits.is_empty()
                && digits.len() <= 6
                && digits.bytes().any(|d| d != b'0')
                && matches!(unit, "ms" | "s" | "m")
        })
    };
    if !resolved_ok {
        return Err(Problem::new(
            "changefeeds.resolved",
            &c.resolved,
            "resolved is a duration of whole milliseconds, seconds or minutes (10s, 500ms, 1m), or off",
            "e.g. resolved: 10s",
        ));
    }
    if !matches!(c.envelope.as_str(), "wrapped" | "enriched") {
        return Err(Problem::new(
            "changefeeds.envelope",
            &c.envelope,
            "an audit stream carries the key, the row after (and before) each change and its timestamp: the wrapped or enriched envelope",
            "use envelope: wrapped",
        ));
    }
    if c.feeds.is_empty() {
        return Err(Problem::new(
            "changefeeds.feeds",
            "",
            "declare at least one feed (tables and their topic)",
            "add feeds: [{topic: ledger.balances.audit, tables: [ledger.public.balances]}]",
        ));
    }
    let mut topics: Vec<&str> = spec
        .redpanda
        .topics
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    for (i, feed) in c.feeds.iter().enumerate() {
        let at = |f: &str| format!("changefeeds.feeds[{i}].{f}");
        if !topic_ok(&feed.topic) {
            return Err(Problem::new(
                at("topic"),
                &feed.topic,
                "a topic name is 1-249 letters, digits, '.', '_' or '-'",
                "e.g. ledger.balances.audit",
            ));
        }
        if topics.contains(&feed.topic.as_str()) {
            return Err(Problem::new(
                at("topic"),
                &feed.topic,
                "each changefeed writes its own topic, named neither by another feed nor in redpanda.topics",
                "choose another topic name, or list all its tables in one feed",
            ));
        }
        topics.push(&feed.topic);
        if feed.partitions == 0 || feed.partitions > crate::bounds::PARTITIONS.max {
            return Err(Problem::new(
                at("partitions"),
                feed.partitions,
                format!(
                    "a topic has 1 to {} partitions",
                    crate::bounds::PARTITIONS.max
                ),
                "e.g. partitions: 12",
            ));
        }
        if feed.tables.is_empty() {
            return Err(Problem::new(
                at("tables"),
                "",
                "a feed names at least one table",
                "e.g. tables: [ledger.public.balances]",
            ));
        }
        for table in &feed.tables {
            let parts: Vec<&str> = table.split('.').collect();
            if parts.len() != 3 || !parts.iter().all(|p| identifier_ok(p)) {
                return Err(Problem::new(
                    at("tables"),
                    table,
                    "a changefeed table is database.schema.table, each a lowercase SQL identifier (existing changefeeds are found by these full names)",
                    "e.g. ledger.public.balances",
                ));
            }
        }
        if let Some(k) = &feed.key_column {
            if !identifier_ok(k) {
                return Err(Problem::new(
                    at("key_column"),
                    k,
                    "a key column is a lowercase SQL identifier",
                    "e.g. key_column: account_id",
                ));
            }
            if c.resolved != "off" {
                return Err(Problem::new(
                    at("key_column"),
                    k,
                    "key_column needs the unordered option, which CockroachDB refuses together with resolved timestamps",
                    "drop key_column (messages are then keyed by primary key), or set changefeeds.resolved: off",
                ));
            }
        }
    }
    Ok(())
}

impl super::Tenant {
    /// Redpanda's tiered storage, when it is on and has its own bucket and identity
    /// ([`TieredStorageSpec`]; [`super::Tenant::tiered_storage_off_reason`] says why not).
    pub fn tiered_storage(&self) -> Option<TieredStorage> {
        let spec = &self.spec;
        let t = spec.redpanda.tiered_storage.as_ref()?;
        if !TieredStorageSpec::enabled_for(Some(t), spec.tier) {
            return None;
        }
        let (bucket, identity) = (t.bucket.clone()?, t.identity.clone()?);
        // The bucket is the tenant's provider's (on a site's view: the first site's).
        let (provider, region) = match &self.site_view {
            Some(v) => v
                .sites
                .first()
                .map_or((spec.provider, self.redpanda_region.clone()), |s| {
                    (s.provider(), s.region().to_owned())
                }),
            None => (spec.provider, self.redpanda_region.clone()),
        };
        let region = t.region.clone().unwrap_or_else(|| {
            if provider == Provider::OnPrem {
                "us-east-1".to_owned()
            } else {
                region
            }
        });
        Some(TieredStorage {
            bucket,
            account: t.account.clone().or_else(|| spec.backup.account.clone()),
            region,
            endpoint: spec.backup.endpoint.clone(),
            max_upload_interval_seconds: t
                .max_upload_interval_seconds
                .unwrap_or(DEFAULT_UPLOAD_INTERVAL_SECONDS),
            identity,
        })
    }

    /// Why Redpanda's tiered storage is off, when it is ([`super::Tenant::tiered_storage`] is `None`).
    pub fn tiered_storage_off_reason(&self) -> Option<String> {
        if self.tiered_storage().is_some() {
            return None;
        }
        let spec = &self.spec;
        let t = spec.redpanda.tiered_storage.as_ref();
        Some(if TieredStorageSpec::enabled_for(t, spec.tier) {
            format!(
                "Redpanda has no bucket and identity of its own yet (it never uses the backup bucket or identity): add redpanda.tiered_storage.bucket (e.g. {}) and redpanda.tiered_storage.identity",
                suggested_bucket(spec)
            )
        } else {
            match t.and_then(|t| t.reason.clone()) {
                Some(reason) => reason,
                None => "tier dev or staging; set redpanda.tiered_storage.enabled: true (with its bucket and identity) to opt in".to_owned(),
            }
        })
    }

    /// Every topic the topic Job creates: `redpanda.topics` and one per changefeed (with
    /// replication 3).
    pub fn stream_topics(&self) -> Vec<super::TopicSpec> {
        let mut out = self.spec.redpanda.topics.clone();
        if let Some(c) = &self.spec.changefeeds {
            out.extend(c.feeds.iter().map(|f| super::TopicSpec {
                name: f.topic.clone(),
                partitions: f.partitions,
                replication: 3,
                config: Default::default(),
            }));
        }
        out
    }
}

/// Advice about the stream sections (not refusals).
pub(super) fn advice(spec: &TenantSpec) -> Vec<String> {
    let mut out = Vec::new();
    let t = spec.redpanda.tiered_storage.as_ref();
    if TieredStorageSpec::enabled_for(t, spec.tier)
        && t.is_none_or(|t| t.bucket.is_none() && t.identity.is_none())
    {
        out.push(format!(
            "redpanda.tiered_storage: production runs Redpanda tiered to a bucket and with an identity of its own (never the backups'); neither is declared, so the rendering keeps segments on the brokers' disks (cost.redpanda_untiered warns). Fix: add bucket: {} and identity: {}",
            suggested_bucket(spec),
            example_identity(spec.provider)
        ));
    }
    if let Some(c) = &spec.changefeeds
        && !matches!(c.auth, ChangefeedAuth::Mtls { .. })
    {
        out.push(format!(
            "changefeeds.auth: SASL/SCRAM turns on SASL and authorization on Redpanda's Kafka listener; the topic Job makes the user of Secret {} a superuser, and every other Kafka client needs a SCRAM user of its own",
            c.auth.secret()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// The AWS example with its `changefeeds:` section replaced by `extra`.
    fn tenant(extra: &str) -> Result<super::super::Tenant, crate::TenantError> {
        let full = include_str!("../../../../examples/tenants/aws.yaml");
        let base = &full[..full.find("\nchangefeeds:\n").map_or(full.len(), |i| i + 1)];
        super::super::Tenant::from_yaml(&format!("{base}{extra}"))
    }

    const REDPANDA_ROLE: &str = "arn:aws:iam::123456789012:role/acme-ledger-redpanda";
    const BACKUP_ROLE: &str = "arn:aws:iam::123456789012:role/acme-ledger-backup";

    #[test]
    fn production_tenants_tier_to_their_own_bucket_with_their_own_identity() {
        let t = tenant("").unwrap();
        let ts = t.tiered_storage().unwrap();
        assert_eq!(ts.bucket, "acme-bank-prod-redpanda");
        assert_ne!(ts.bucket, t.spec().backup.bucket);
        assert_eq!(ts.region, "us-east-1");
        assert_eq!(
            ts.identity,
            IdentityBinding::Irsa {
                role_arn: REDPANDA_ROLE.to_owned()
            }
        );
        assert_eq!(ts.max_upload_interval_seconds, 600);
        assert!(t.tiered_storage_off_reason().is_none());
        let default = with_tiered(&format!(
            "  tiered_storage: {{bucket: acme-redpanda, identity: {{kind: irsa, role_arn: \"{REDPANDA_ROLE}\"}}}}\n"
        ))
        .unwrap()
        .tiered_storage()
        .unwrap();
        assert_eq!(
            default.max_upload_interval_seconds,
            DEFAULT_UPLOAD_INTERVAL_SECONDS
        );
    }

    /// A production tenant that declares neither is not refused (every tenant file written
    /// before stays valid), but it is not tiered either: the brokers never fall back on the
    /// backup bucket or identity, and the tenant is told how to fix it.
    #[test]
    fn without_a_bucket_and_identity_of_its_own_production_is_untiered_and_told_why() {
        let t = with_tiered("").unwrap();
        assert!(t.tiered_storage().is_none());
        let why = t.tiered_storage_off_reason().unwrap();
        assert!(why.contains("redpanda.tiered_storage.bucket"), "{why}");
        let advice = t.advice().join("\n");
        assert!(advice.contains("acme-bank-prod-redpanda"), "{advice}");
        assert!(advice.contains("identity: {kind: irsa"), "{advice}");
    }

    /// The AWS example's tiered-storage section, replaced by each case.
    const TIERED: &str = "  tiered_storage:\n    bucket: acme-bank-prod-redpanda      # Redpanda's own: it writes at the root and deletes segments\n    identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-redpanda\"}\n    max_upload_interval_seconds: 600   # upload open segments at least every 10 minutes\n";

    fn with_tiered(section: &str) -> Result<super::super::Tenant, crate::TenantError> {
        let base = include_str!("../../../../examples/tenants/aws.yaml");
        assert!(base.contains(TIERED));
        super::super::Tenant::from_yaml(&base.replace(TIERED, section))
    }

    fn own(extra: &str) -> String {
        format!(
            "  tiered_storage: {{bucket: acme-redpanda, identity: {{kind: irsa, role_arn: \"{REDPANDA_ROLE}\"}}{extra}}}\n"
        )
    }

    #[rstest]
    #[case::off_without_reason(
        "  tiered_storage: {enabled: false}\n".to_owned(),
        "redpanda.tiered_storage.reason",
        "reason"
    )]
    #[case::bad_bucket(
        own("").replace("acme-redpanda", "Bad_Bucket"),
        "redpanda.tiered_storage.bucket",
        "3-63"
    )]
    #[case::the_backup_bucket(
        own("").replace("acme-redpanda", "acme-ledger-backups"),
        "redpanda.tiered_storage.bucket",
        "could delete backups"
    )]
    #[case::the_backup_identity(
        own("").replace(REDPANDA_ROLE, BACKUP_ROLE),
        "redpanda.tiered_storage.identity",
        "backup.identity, which may delete backups"
    )]
    #[case::identity_of_another_provider(
        "  tiered_storage: {bucket: acme-redpanda, identity: {kind: secret-ref, secret_name: minio-redpanda}}\n".to_owned(),
        "redpanda.tiered_storage.identity",
        "work only on"
    )]
    #[case::bucket_without_identity(
        "  tiered_storage: {bucket: acme-redpanda}\n".to_owned(),
        "redpanda.tiered_storage.identity",
        "add identity: {kind: irsa"
    )]
    #[case::identity_without_bucket(
        format!("  tiered_storage: {{identity: {{kind: irsa, role_arn: \"{REDPANDA_ROLE}\"}}}}\n"),
        "redpanda.tiered_storage.bucket",
        "add bucket: acme-bank-prod-redpanda"
    )]
    #[case::enabled_without_either(
        "  tiered_storage: {enabled: true}\n".to_owned(),
        "redpanda.tiered_storage.bucket",
        "add bucket: acme-bank-prod-redpanda"
    )]
    #[case::kms_alias(
        own(", kms_key_id: \"arn:aws:kms:us-east-1:123456789012:alias/redpanda\""),
        "redpanda.tiered_storage.kms_key_id",
        "alias"
    )]
    #[case::account_off_azure(
        "  tiered_storage: {account: acme}\n".to_owned(),
        "redpanda.tiered_storage.account",
        "Azure only"
    )]
    #[case::azure_inputs_on_aws(
        own(", iam: {identity_name: acme-redpanda}"),
        "redpanda.tiered_storage.iam.identity_name",
        "not provider aws"
    )]
    #[case::interval(
        "  tiered_storage: {max_upload_interval_seconds: 5}\n".to_owned(),
        "redpanda.tiered_storage.max_upload_interval_seconds",
        "60 seconds"
    )]
    fn tiered_storage_rules(#[case] section: String, #[case] field: &str, #[case] says: &str) {
        let err = with_tiered(&section).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
        assert!(err.contains(says), "{says}: {err}");
    }

    #[test]
    fn a_bucket_key_and_a_reason_are_accepted() {
        let t = with_tiered(&own(
            ", kms_key_id: \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
        ))
        .unwrap();
        assert!(t.tiered_storage().is_some());
    }

    #[test]
    fn a_reason_turns_it_off_in_production() {
        let t = with_tiered(
            "  tiered_storage: {enabled: false, reason: \"no object storage in this account yet\"}\n",
        )
        .unwrap();
        assert!(t.tiered_storage().is_none());
        assert_eq!(
            t.tiered_storage_off_reason().unwrap(),
            "no object storage in this account yet"
        );
    }

    const FEEDS: &str = "changefeeds:\n  image: registry.example/thinledger/ledger-backup:v0.1.0\n  auth: {kind: mtls, secret: redpanda-changefeed-client}\n  feeds:\n    - {topic: ledger.balances.audit, tables: [ledger.public.balances]}\n";

    #[test]
    fn changefeed_topics_are_created_with_the_others() {
        let t = tenant(FEEDS).unwrap();
        let topics: Vec<String> = t.stream_topics().into_iter().map(|t| t.name).collect();
        assert!(
            topics.contains(&"ledger.balances.audit".to_owned()),
            "{topics:?}"
        );
    }

    #[rstest]
    #[case::latest("ledger-backup:v0.1.0", "ledger-backup:latest", "changefeeds.image")]
    #[case::table("ledger.public.balances]", "balances]", "changefeeds.feeds[0].tables")]
    #[case::topic_clash(
        "ledger.balances.audit",
        "ledger.entries",
        "changefeeds.feeds[0].topic"
    )]
    #[case::key_column_with_resolved(
        "tables: [ledger.public.balances]}",
        "tables: [ledger.public.balances], key_column: account_id}",
        "changefeeds.feeds[0].key_column"
    )]
    #[case::secret("redpanda-changefeed-client", "Bad_Secret", "changefeeds.auth.secret")]
    fn changefeed_rules(#[case] from: &str, #[case] to: &str, #[case] field: &str) {
        let err = tenant(&FEEDS.replace(from, to)).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}
