//! Tiered storage: the `cloud_storage_*` cluster properties for Redpanda's own bucket and
//! identity (`redpanda.tiered_storage.bucket` and `identity`, never the backups': see
//! [`crate::tenant::TieredStorageSpec`]; property names and values as Redpanda v25.1 documents
//! them). The `redpanda` ServiceAccount carries the identity's annotations
//! ([`service_account_annotations`]) and the brokers its pod labels ([`pod_labels`]).
//!
//! | identity | `cloud_storage_credentials_source` | also |
//! |---|---|---|
//! | IRSA | `sts` (the web-identity token and `AWS_ROLE_ARN` the EKS webhook injects, exchanged with STS) | `cloud_storage_region`, `cloud_storage_bucket` |
//! | Azure workload identity | `azure_aks_oidc_federation` (`AZURE_*` variables the webhook injects) | `cloud_storage_azure_storage_account`, `cloud_storage_azure_container` |
//! | Azure managed identity | `azure_vm_instance_metadata` | `cloud_storage_azure_managed_identity_id` |
//! | GKE workload identity | `gcp_instance_metadata` | `cloud_storage_api_endpoint: storage.googleapis.com` |
//! | MinIO keys in a Secret | `config_file` | `cloud_storage_access_key` and `cloud_storage_secret_key` from the Secret (never in the rendering), endpoint, port, path-style URLs |
//!
//! Every property goes to `.bootstrap.yaml` (read when the cluster first forms) and is set
//! again by the topic Job on every rollout (`rpk cluster config set`), so existing clusters
//! converge; `cloud_storage_enabled` and the credentials take effect after a rolling restart
//! (which runs through maintenance mode, see [`super::lifecycle`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::common::{Context, DOC_PREFIX};
use super::super::federated::FederatedToken;

use crate::identity::IdentityBinding;

/// Share of a broker's disk the tiered-storage read cache may use.
pub const CACHE_PERCENT_OF_DISK: u64 = 20;

/// A property whose value comes from a Secret: set from the variable `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretProperty {
    /// The cluster property.
    pub property: &'static str,
    /// The variable the container reads it from.
    pub env: &'static str,
    /// The Secret.
    pub secret: String,
    /// Its key.
    pub key: String,
}

/// The tiered-storage configuration of a rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct TieredConfig {
    /// Cluster properties with their values (no secret among them).
    pub properties: Vec<(&'static str, Value)>,
    /// Properties set from a Secret at run time.
    pub secrets: Vec<SecretProperty>,
    /// The credentials source, for the annotation.
    pub credentials: &'static str,
}

/// The configuration, when tiered storage is on (with Redpanda's own bucket and identity).
pub fn config(ctx: &Context<'_>) -> Option<TieredConfig> {
    let ts = ctx.tenant.tiered_storage()?;
    let identity = &ts.identity;
    let cache = ctx.plan.redpanda.disk.bytes() / 100 * CACHE_PERCENT_OF_DISK;
    let mut p: Vec<(&'static str, Value)> = vec![
        ("cloud_storage_enabled", json!(true)),
        // Every topic is tiered, the changefeeds' included (topics also set it themselves).
        ("cloud_storage_enable_remote_write", json!(true)),
        ("cloud_storage_enable_remote_read", json!(true)),
        (
            "cloud_storage_segment_max_upload_interval_sec",
            json!(ts.max_upload_interval_seconds),
        ),
        ("cloud_storage_cache_size", json!(cache)),
    ];
    let mut secrets = Vec::new();
    let credentials = match identity {
        IdentityBinding::Irsa { .. } => {
            p.push(("cloud_storage_region", json!(ts.region)));
            p.push(("cloud_storage_bucket", json!(ts.bucket)));
            "sts"
        }
        IdentityBinding::AzureWorkloadIdentity { .. } => {
            p.push((
                "cloud_storage_azure_storage_account",
                json!(ts.account.clone().unwrap_or_default()),
            ));
            p.push(("cloud_storage_azure_container", json!(ts.bucket)));
            "azure_aks_oidc_federation"
        }
        IdentityBinding::AzureManagedIdentity { client_id } => {
            p.push((
                "cloud_storage_azure_storage_account",
                json!(ts.account.clone().unwrap_or_default()),
            ));
            p.push(("cloud_storage_azure_container", json!(ts.bucket)));
            p.push(("cloud_storage_azure_managed_identity_id", json!(client_id)));
            "azure_vm_instance_metadata"
        }
        IdentityBinding::GkeWorkloadIdentity { .. } => {
            p.push(("cloud_storage_region", json!(ts.region)));
            p.push(("cloud_storage_bucket", json!(ts.bucket)));
            p.push((
                "cloud_storage_api_endpoint",
                json!("storage.googleapis.com"),
            ));
            "gcp_instance_metadata"
        }
        IdentityBinding::SecretRef {
            secret_name,
            access_key_key,
            secret_key_key,
        } => {
            p.push(("cloud_storage_region", json!(ts.region)));
            p.push(("cloud_storage_bucket", json!(ts.bucket)));
            if let Some((https, host, port)) = ts.endpoint.as_deref().and_then(split_endpoint) {
                p.push(("cloud_storage_api_endpoint", json!(host)));
                p.push(("cloud_storage_api_endpoint_port", json!(port)));
                p.push(("cloud_storage_disable_tls", json!(!https)));
            }
            // MinIO serves buckets by path, not by virtual host.
            p.push(("cloud_storage_url_style", json!("path")));
            secrets.push(SecretProperty {
                property: "cloud_storage_access_key",
                env: "RP_CLOUD_ACCESS_KEY",
                secret: secret_name.clone(),
                key: access_key_key.clone(),
            });
            secrets.push(SecretProperty {
                property: "cloud_storage_secret_key",
                env: "RP_CLOUD_SECRET_KEY",
                secret: secret_name.clone(),
                key: secret_key_key.clone(),
            });
            "config_file"
        }
    };
    p.insert(1, ("cloud_storage_credentials_source", json!(credentials)));
    Some(TieredConfig {
        properties: p,
        secrets,
        credentials,
    })
}

/// Redpanda's identity, when tiered storage is on.
pub fn identity(ctx: &Context<'_>) -> Option<IdentityBinding> {
    ctx.tenant.tiered_storage().map(|t| t.identity)
}

/// The annotations of the `redpanda` ServiceAccount: its identity's (IRSA role ARN, Azure
/// client id, Google service account) and, for MinIO keys, the Secret they come from (a
/// reference, never a value). Empty with tiered storage off: the brokers get no identity.
pub fn service_account_annotations(ctx: &Context<'_>) -> BTreeMap<String, String> {
    let Some(b) = identity(ctx) else {
        return BTreeMap::new();
    };
    let mut a = b.service_account_annotations();
    if let IdentityBinding::SecretRef {
        secret_name,
        access_key_key,
        secret_key_key,
    } = &b
    {
        a.insert(
            format!("{DOC_PREFIX}tiered-storage-credentials-secret"),
            secret_name.clone(),
        );
        a.insert(
            format!("{DOC_PREFIX}tiered-storage-credentials-keys"),
            format!("{access_key_key},{secret_key_key}"),
        );
    }
    a
}

/// The labels the brokers' pods need for Redpanda's identity (Azure's webhook selects on one).
pub fn pod_labels(ctx: &Context<'_>) -> BTreeMap<String, String> {
    identity(ctx).map(|b| b.pod_labels()).unwrap_or_default()
}

/// The StatefulSet's `tiered-storage` annotation when tiered storage is off: why.
pub fn off_note(ctx: &Context<'_>) -> String {
    format!(
        "off: {}",
        ctx.tenant
            .tiered_storage_off_reason()
            .unwrap_or_else(|| "tiered storage is off".to_owned())
    )
}

/// `(https, host, port)` of an endpoint URL the tenant rules accepted (`https://host:9000`).
fn split_endpoint(url: &str) -> Option<(bool, String, u16)> {
    let (https, rest) = match url.strip_prefix("https://") {
        Some(r) => (true, r),
        None => (false, url.strip_prefix("http://")?),
    };
    let authority = rest.split('/').next()?;
    let port = crate::tenant::validate_endpoint_port(url)?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_owned(),
        None => authority.split(':').next()?.to_owned(),
    };
    Some((https, host, port))
}

/// A property's value as `rpk cluster config set` and YAML take it (strings bare: every
/// value here is a name the tenant rules limited to safe characters, or a number).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A broker of one provider's site writing to another provider's bucket: the variables and
/// the projected token that Redpanda's identity's own webhook would inject on its home cloud
/// ([`super::super::federated`]). `None` on the identity's own cloud, with tiered storage off
/// and for identities that cannot federate so.
pub(super) fn federated_token(ctx: &Context<'_>) -> Option<FederatedToken> {
    let ts = ctx.tenant.tiered_storage()?;
    super::super::federated::federated_token(&ts.identity, ctx.tenant.provider(), &ts.region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("https://minio.backup.svc:9000", Some((true, "minio.backup.svc", 9000)))]
    #[case("http://10.0.0.5", Some((false, "10.0.0.5", 80)))]
    #[case("https://[fd00::5]:9443/", Some((true, "fd00::5", 9443)))]
    #[case("minio:9000", None)]
    fn endpoints(#[case] url: &str, #[case] want: Option<(bool, &str, u16)>) {
        assert_eq!(
            split_endpoint(url),
            want.map(|(h, host, p)| (h, host.to_owned(), p))
        );
    }
}
