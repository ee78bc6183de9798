//! What a data-plane client sees of an Azure container, mapped into the provider-neutral
//! [`BucketConfig`]. Pure: the `azure` module reads it with the SDK; a user with their own
//! reader can fill it in.
//!
//! Get Container Properties answers the container's public access level, whether it has
//! version-level immutability support, an immutability policy or a legal hold, and its default
//! encryption scope. Everything else the rules look at is a storage-account setting (blob
//! versioning, secure transfer, the account's public-access switch, the lifecycle management
//! policy, the key behind an encryption scope): management plane (Azure Resource Manager),
//! which data-plane credentials cannot read. Those are listed in
//! [`BucketConfig::not_visible`] rather than guessed.

use serde::{Deserialize, Serialize};

use crate::config::{
    BucketConfig, DefaultEncryption, EncryptionAlgorithm, NotVisible, ObjectLock, Provider,
    PublicAccessBlock, Versioning,
};
use crate::rules::{AZURE_ACCOUNT_SCOPE, RuleId};

/// Anonymous read access to a container's blobs (`x-ms-blob-public-access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicAccess {
    /// No anonymous access (the header is absent).
    #[default]
    Private,
    /// Anonymous reads of blobs by name.
    Blob,
    /// Anonymous reads and listings of the whole container.
    Container,
}

/// An Azure container's properties as Get Container Properties answers them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AzureContainer {
    /// The container's name.
    pub name: String,
    /// Anonymous access (`x-ms-blob-public-access`).
    pub public_access: PublicAccess,
    /// Version-level immutability support (`x-ms-immutable-storage-with-versioning-enabled`):
    /// blobs may carry their own immutability policies. It needs blob versioning on the
    /// account.
    pub immutable_storage_with_versioning: bool,
    /// A container-level immutability policy exists (`x-ms-has-immutability-policy`); its
    /// retention and state are management-plane.
    pub has_immutability_policy: bool,
    /// A legal hold is set (`x-ms-has-legal-hold`).
    pub has_legal_hold: bool,
    /// The default encryption scope (`x-ms-default-encryption-scope`); `None` or
    /// `$account-encryption-key`: the account's encryption.
    pub default_encryption_scope: Option<String>,
    /// Writers may not pick another scope (`x-ms-deny-encryption-scope-override`).
    pub deny_encryption_scope_override: bool,
}

/// Where the settings a data-plane client cannot see are checked instead.
const ELSEWHERE: &str = "not visible with data-plane credentials; check with Terraform (`ledger-policy` on the plan) or the portal";

impl AzureContainer {
    /// The container's name and properties (`Default` elsewhere).
    pub fn new(name: impl Into<String>) -> Self {
        AzureContainer {
            name: name.into(),
            ..Default::default()
        }
    }

    /// The rules' view of the container. What the data plane shows is mapped; what it
    /// cannot show is [`BucketConfig::not_visible`], so [`check`](crate::check) leaves those
    /// rules unjudged and lists them as unverified:
    ///
    /// | rule | from |
    /// |---|---|
    /// | versioning | version-level immutability support implies it; otherwise not visible (an account setting) |
    /// | object lock | version-level immutability support; a container policy's retention is not visible |
    /// | encryption | the default encryption scope (the tenant's key is a scope name); the key behind it is not visible |
    /// | public access | the container's access level; the account's switch is not visible |
    /// | TLS, lifecycle tiers | not visible (account settings) |
    ///
    /// ```
    /// use thinledger_bucket::{AzureContainer, BucketOptions, RuleId, check};
    ///
    /// let mut container = AzureContainer::new("backups");
    /// container.immutable_storage_with_versioning = true;
    /// let config = container.config();
    /// let report = check(&config, &BucketOptions::default());
    /// // Versioning is implied; secure transfer is an account setting nobody could see.
    /// assert!(!report.rules().contains(&RuleId::VersioningOff));
    /// assert!(report.unverified.iter().any(|n| n.rule == Some(RuleId::TlsNotRequired)));
    /// ```
    pub fn config(&self) -> BucketConfig {
        let mut not_visible = Vec::new();
        let mut unseen = |rule: Option<RuleId>, setting: &str, terraform: &str| {
            not_visible.push(NotVisible {
                rule,
                setting: setting.to_owned(),
                check_with: format!("{ELSEWHERE}; Terraform: {terraform}"),
            })
        };
        let versioning = if self.immutable_storage_with_versioning {
            Versioning::Enabled
        } else {
            unseen(
                Some(RuleId::VersioningOff),
                "blob versioning (a storage-account setting)",
                "azurerm_storage_account.blob_properties.versioning_enabled = true",
            );
            Versioning::Off
        };
        let object_lock = self.immutable_storage_with_versioning.then(|| {
            if self.has_immutability_policy {
                unseen(
                    Some(RuleId::ObjectLockMissing),
                    "the container's default immutability policy: its retention and whether it is locked",
                    "azurerm_storage_container_immutability_policy (immutability_period_in_days, locked)",
                );
            }
            ObjectLock {
                default_mode: None,
                default_days: None,
            }
        });
        let scope = self
            .default_encryption_scope
            .clone()
            .unwrap_or_else(|| AZURE_ACCOUNT_SCOPE.to_owned());
        unseen(
            None,
            &format!(
                "the key behind encryption scope {scope} (Microsoft-managed, or customer-managed in Key Vault){}",
                if self.deny_encryption_scope_override {
                    ""
                } else {
                    "; writers may choose another scope (override not denied)"
                }
            ),
            "azurerm_storage_encryption_scope.source = \"Microsoft.KeyVault\" (or the account's customer_managed_key)",
        );
        let encryption = Some(DefaultEncryption {
            algorithm: EncryptionAlgorithm::Kms,
            kms_key: Some(scope),
        });
        let public_access_block = Some(match self.public_access {
            PublicAccess::Private => PublicAccessBlock::ALL,
            PublicAccess::Blob | PublicAccess::Container => PublicAccessBlock::default(),
        });
        unseen(
            None,
            "whether the storage account disallows blob public access for every container",
            "azurerm_storage_account.allow_nested_items_to_be_public = false",
        );
        unseen(
            Some(RuleId::TlsNotRequired),
            "secure transfer required and the minimum TLS version (storage-account settings)",
            "azurerm_storage_account.https_traffic_only_enabled = true, min_tls_version = \"TLS1_2\"",
        );
        unseen(
            Some(RuleId::OfflineTier),
            "the lifecycle management policy (rules moving blobs to the Archive tier)",
            "azurerm_storage_management_policy: no tier_to_archive action on the repository's prefix",
        );
        BucketConfig {
            provider: Provider::Azure,
            bucket: self.name.clone(),
            region: String::new(),
            versioning,
            object_lock,
            encryption,
            public_access_block,
            // Unknown: the rule is listed as not visible.
            tls_only: false,
            policy: None,
            lifecycle: Vec::new(),
            not_visible,
        }
    }
}
