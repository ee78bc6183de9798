//! The tenant file: one small YAML file per tenant ledger — the typed counterpart of
//! `deploy_tenant.sh <tenant_id> <environment> <region>`.
//!
//! ```yaml
//! tenant: acme-bank            # id: lowercase letters, digits, '-'; at most 30 characters
//! environment: prod            # e.g. prod, uat; at most 20 characters
//! ring: ring-2-prod            # ring-0-canary | ring-1-early | ring-2-prod
//! tier: prod                   # dev | staging | prod (sizing strictness)
//! provider: aws                # aws | azure | gcp | onprem
//! survival: zone               # zone (default) | region | provider (needs sites)
//! regions:
//!   - name: us-east-1
//!     zones: [us-east-1a, us-east-1b, us-east-1c]
//! storage:
//!   class: gp3                 # optional: one of the provider's classes (default: its first)
//! cockroachdb:
//!   version: v25.2.4           # image tag, pinned
//!   nodes: 3                   # or `workload: {data: 2TiB, growth_percent_per_year: 40}`
//!   resources: {cpu: 8, memory: 32Gi, disk: 1Ti}   # optional per-node shape
//! redpanda:
//!   version: v25.1.9
//!   brokers: 3
//!   resources: {cpu: 4, memory: 16Gi, disk: 500Gi}
//!   topics:
//!     - {name: ledger.entries, partitions: 12}
//!   tiered_storage:            # on by default in prod: Redpanda's own bucket and identity
//!     bucket: acme-redpanda    # (never the backups'; see TieredStorageSpec)
//!     identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-redpanda"}
//! certificates:                # optional: default is a CA of the tenant's own (cert-manager)
//!   issuer_ref: {name: bank-ca, kind: ClusterIssuer}   # or `provided: true` (own PKI)
//! backup:
//!   bucket: acme-ledger-backups
//!   identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-ledger-backup"}
//!   rpo: 1h                    # optional: the alerting threshold (default: the tier's)
//! ```
//!
//! A ledger over several providers declares `sites:` instead of `regions:` — each a
//! Kubernetes cluster of its own provider, region and zones (see [`SiteSpec`],
//! `examples/tenants/multi-cloud.yaml`); a file without sites is one site, as before.
//!
//! Optional `changefeeds:` stream tables into Redpanda topics ([`ChangefeedsSpec`]).
//!
//! Every mapping rejects unknown fields. [`Tenant::from_yaml`] parses and checks every rule,
//! reporting all problems at once, each with its field path, line, rule and fix.

mod error;
mod locate;
mod pki;
mod site;
mod stream;
mod validate;

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::iam::{BackupIamSpec, ObjectLockMode};
use crate::identity::IdentityBinding;
use crate::locality::{Locality, SurvivalGoal};
use crate::placement::QuorumPlan;
use crate::provider::Provider;
use crate::quantity::{ByteSize, Cpu};
use crate::storage::StorageProfile;
use crate::tier::Tier;

pub use error::{Problem, TenantError};
#[cfg(feature = "render")]
pub(crate) use pki::CERT_MANAGER_GROUP;
pub use pki::{CertificatesSpec, IssuerRefSpec};
pub use site::{Advertise, AdvertiseSpec, Site, SiteSpec};
pub(crate) use stream::identity_ref;
pub use stream::{
    ChangefeedAuth, ChangefeedFeed, ChangefeedsSpec, TieredStorage, TieredStorageSpec,
};
#[cfg(feature = "render")]
pub(crate) use validate::endpoint_port as validate_endpoint_port;

/// Deployment ring: the order in which tenants receive a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Ring {
    /// First to receive changes; production-like tenants that accept early risk.
    #[serde(rename = "ring-0-canary")]
    Canary,
    /// Second wave.
    #[serde(rename = "ring-1-early")]
    Early,
    /// Everyone else: production.
    #[serde(rename = "ring-2-prod")]
    Prod,
}

impl Ring {
    /// Every ring, in rollout order.
    pub const ALL: [Ring; 3] = [Ring::Canary, Ring::Early, Ring::Prod];

    /// The name used in tenant files and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Ring::Canary => "ring-0-canary",
            Ring::Early => "ring-1-early",
            Ring::Prod => "ring-2-prod",
        }
    }
}

crate::error::display_as_str!(Ring);

impl FromStr for Ring {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ring::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| ParseError::unknown("ring", s, &Ring::ALL, Ring::as_str))
    }
}

/// A tenant file as written. [`TenantSpec::validate`] turns it into a checked [`Tenant`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Tenant id: lowercase letters, digits and '-', starting with a letter, at most 30.
    pub tenant: String,
    /// Environment name, e.g. `prod` or `uat`: same characters, at most 20.
    pub environment: String,
    /// Deployment ring.
    pub ring: Ring,
    /// Sizing tier: production rules apply to `prod`.
    pub tier: Tier,
    /// Where the ledger runs.
    pub provider: Provider,
    /// What the ledger keeps running through (default: the loss of a zone; `provider` needs
    /// sites on at least three providers).
    #[serde(default)]
    pub survival: SurvivalGoal,
    /// Regions and their zones; with several regions each is its own Kubernetes cluster.
    /// Left out when the tenant declares `sites`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<TenantRegion>,
    /// Sites: one ledger over several Kubernetes clusters, each of its own provider, region
    /// and zones (see [`SiteSpec`]). Empty: the tenant is one site of `provider` and
    /// `regions`. With sites, `provider` is the first site's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteSpec>,
    /// Namespace of the ledger's objects (default `ledger-<tenant>-<environment>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Storage for CockroachDB and Redpanda volumes.
    #[serde(default)]
    pub storage: StorageSpec,
    /// CockroachDB.
    pub cockroachdb: CockroachSpec,
    /// Redpanda.
    pub redpanda: RedpandaSpec,
    /// Where backups go and which identity writes them.
    pub backup: BackupSpec,
    /// Who may connect.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Image registry mirror and pull secret.
    #[serde(default)]
    pub images: ImagesSpec,
    /// CockroachDB changefeeds into Redpanda (see [`ChangefeedsSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changefeeds: Option<ChangefeedsSpec>,
    /// Who issues the TLS certificates (default: a CA of the tenant's own, through
    /// cert-manager).
    #[serde(default, skip_serializing_if = "CertificatesSpec::is_default")]
    pub certificates: CertificatesSpec,
}

/// One region of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRegion {
    /// The provider's region name.
    pub name: String,
    /// Zones as nodes are labelled (`topology.kubernetes.io/zone`); empty on-prem.
    #[serde(default)]
    pub zones: Vec<String>,
    /// DNS domain of this region's Kubernetes cluster as the other regions resolve it
    /// (multi-region tenants need cross-cluster DNS; default `cluster.local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
}

/// Storage class selection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// One of the provider's storage classes (default: the provider's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Whether the rendering includes the StorageClass object. Default: yes on AWS and
    /// on-prem, where the platform creates the class; no on Azure and GCP, whose classes of
    /// these names are installed and reconciled by the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_class: Option<bool>,
}

/// Per-node resources, when the tenant fixes them instead of leaving them to sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeResources {
    /// CPUs per node (whole CPUs).
    pub cpu: Cpu,
    /// Memory per node.
    pub memory: ByteSize,
    /// Data volume per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<ByteSize>,
}

/// A workload for the sizing calculator to size from (node count, shape and disks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Logical data size today (before replication), e.g. `2TiB`.
    pub data: ByteSize,
    /// Yearly growth in percent, compounded (`40` = 40% a year; default 0).
    #[serde(default)]
    pub growth_percent_per_year: f64,
    /// Years the disks must last before a resize (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_years: Option<u32>,
    /// Logical bytes written per second at peak, e.g. `20MiB` (raises disk throughput and
    /// sizes Redpanda's disks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_rate_per_second: Option<ByteSize>,
}

/// CockroachDB settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CockroachSpec {
    /// Image tag, e.g. `v25.2.4`.
    pub version: String,
    /// Total node count over all regions (odd, at least 3, a multiple of the zone count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u32>,
    /// Workload to size from, when `nodes` or `resources` are left to the calculator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadSpec>,
    /// Per-node shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<NodeResources>,
    /// The ledger's databases. A tenant with sites and survival `region` or `provider` needs
    /// them: the init Job makes each multi-region and sets `SURVIVE REGION FAILURE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// The version the cluster runs now, while `version` is the one it is upgraded to
    /// (e.g. `v25.1.6` → `v25.2.4`). A major upgrade renders the upgrade Job that preserves the
    /// downgrade option; a patch upgrade needs nothing else (docs/runbooks/upgrade.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_from: Option<String>,
}

/// One Redpanda topic the ledger needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Topic name: letters, digits, '.', '_' and '-', at most 249.
    pub name: String,
    /// Partitions (at least 1).
    pub partitions: u32,
    /// Replicas per partition (default 3; odd, at least 3, at most the broker count).
    #[serde(default = "default_replication")]
    pub replication: u32,
    /// Topic-level configuration passed to `rpk topic create -c`, e.g. `retention.ms: "-1"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

fn default_replication() -> u32 {
    3
}

fn default_brokers() -> u32 {
    3
}

/// Redpanda settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedpandaSpec {
    /// Image tag, e.g. `v25.1.9`.
    pub version: String,
    /// Broker count (odd, at least 3, a multiple of the region's zone count; default 3).
    #[serde(default = "default_brokers")]
    pub brokers: u32,
    /// Region the brokers run in (default: the first region). Redpanda is not stretched
    /// across the regions of one provider; a tenant with sites stretches it over every site
    /// (and refuses this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Per-broker shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<NodeResources>,
    /// Topics created by the rendered topic Job.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// Run `rpk redpanda tune all` in a privileged init container. Off by default: it needs
    /// privileges the restricted Pod Security profile forbids; tune the nodes instead.
    #[serde(default)]
    pub tuning: bool,
    /// Tiered storage (default: on for tier prod; see [`TieredStorageSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiered_storage: Option<TieredStorageSpec>,
}

/// Backup destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    /// Bucket (S3, GCS, MinIO) or container (Azure Blob).
    pub bucket: String,
    /// Azure storage account (Azure only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// S3-compatible endpoint URL (on-prem MinIO only), e.g. `https://minio.backup.svc:9000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Key prefix of the tenant's backups in the bucket, without a leading or trailing '/',
    /// e.g. `acme-bank/prod`. The access documents of `ledger-topology iam` grant the backup
    /// jobs this prefix only (default: the whole bucket, for a bucket that holds nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Immutable backups (`governance` or `compliance`, as `ledger-backup init --object-lock`):
    /// S3 Object Lock (AWS, MinIO), Azure version-level immutability, GCS object retention.
    /// The backup identity may then set and read retention, never bypass it (see
    /// [`ObjectLockMode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockMode>,
    /// Inputs only the access documents need (OIDC issuers, Azure ids, GKE's pool project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<BackupIamSpec>,
    /// Identity that writes the backups (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBinding>,
    /// Recovery point objective: the most time a restore may lose, written like `15m`,
    /// `1h` or `1d` (whole seconds, minutes, hours or days). The backup alerts fire when the
    /// newest successful backup is older. Default: the tier's ([`Tier::default_rpo_seconds`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
    /// Server-side encryption of every backup object with the bank's key (default: the
    /// bucket's own default encryption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BackupEncryptionSpec>,
}

impl BackupSpec {
    /// The customer-managed key the backups are encrypted with, where the provider names one
    /// by a KMS key (an AWS key ARN or a Cloud KMS key name): what the backup identity is
    /// granted the use of. `None` for an Azure encryption scope or no key.
    pub fn kms_key(&self) -> Option<&str> {
        let e = self.encryption.as_ref()?;
        e.kms_key_id.as_deref().or(e.kms_key_name.as_deref())
    }
}

/// The key every backup object is encrypted with, by provider: one field applies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEncryptionSpec {
    /// AWS (and MinIO with KES): the KMS key for SSE-KMS. On AWS its key ARN
    /// (`arn:aws:kms:REGION:ACCOUNT:key/ID`): the backup identity is granted `kms:GenerateDataKey`
    /// and `kms:Decrypt` on exactly that key, and an alias could be re-pointed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// AWS: dual-layer SSE-KMS (`aws:kms:dsse`) instead of SSE-KMS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dsse: bool,
    /// Azure: the storage account's encryption scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_scope: Option<String>,
    /// GCP: the Cloud KMS key, `projects/P/locations/L/keyRings/R/cryptoKeys/K`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_name: Option<String>,
}

/// Network access to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Namespaces whose pods labelled `thinledger.io/ledger-client: "true"` may connect to
    /// CockroachDB SQL and the Kafka API (default: only the ledger's own namespace).
    #[serde(default)]
    pub client_namespaces: Vec<String>,
    /// Namespaces allowed to scrape metrics (CockroachDB HTTP, Redpanda admin).
    #[serde(default)]
    pub monitoring_namespaces: Vec<String>,
    /// CIDRs of the other regions' pods (multi-region CockroachDB traffic).
    #[serde(default)]
    pub peer_cidrs: Vec<String>,
    /// Namespace of the CockroachDB operator (operator mode only).
    #[serde(default = "default_operator_namespace")]
    pub operator_namespace: String,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            client_namespaces: Vec::new(),
            monitoring_namespaces: Vec::new(),
            peer_cidrs: Vec::new(),
            operator_namespace: default_operator_namespace(),
        }
    }
}

fn default_operator_namespace() -> String {
    "cockroach-operator-system".to_owned()
}

/// Image sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesSpec {
    /// Registry mirror prefix, e.g. `registry.bank.internal/mirror` (no scheme, no trailing
    /// '/'). Default: the images' public names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Image pull secret name in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
}

/// A checked tenant: the spec plus what follows from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    spec: TenantSpec,
    locality: Locality,
    storage: &'static StorageProfile,
    cockroach_quorum: Option<QuorumPlan>,
    redpanda_quorum: QuorumPlan,
    redpanda_region: String,
    advice: Vec<String>,
    sites: Vec<Site>,
    /// Set on the view of one site ([`Tenant::for_site`]).
    site_view: Option<SiteView>,
}

/// What the view of one site knows of the others.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SiteView {
    /// The site's index in `sites`.
    pub index: usize,
    /// Every site, in the file's order.
    pub sites: Vec<Site>,
    /// The tenant's survival goal over the sites (the view's own is `zone`).
    pub survival: SurvivalGoal,
    /// The tenant's `backup.identity` as written (the view's `spec().backup.identity` is the
    /// site's own identity binding).
    pub backup_identity: Option<IdentityBinding>,
}

impl TenantSpec {
    /// Parses a tenant file without checking its rules.
    pub fn from_yaml(text: &str) -> Result<Self, TenantError> {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let location = e.location();
            TenantError::Syntax {
                message: strip_location(&e.to_string()),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
            }
        })
    }

    /// Checks every rule, returning all problems found (without line numbers; use
    /// [`Tenant::from_yaml`] to get them).
    pub fn validate(self) -> Result<Tenant, TenantError> {
        validate::validate(self)
    }

    /// The namespace the ledger's objects live in.
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| format!("ledger-{}-{}", self.tenant, self.environment))
    }

    /// CockroachDB's default native-backup path in the bucket (see
    /// [`Tenant::cockroach_backup_path`]).
    pub fn cockroach_backup_path(&self) -> String {
        let own = format!("cockroach/{}-{}", self.tenant, self.environment);
        match &self.backup.prefix {
            Some(prefix) => format!("{prefix}/{own}"),
            None => own,
        }
    }
}

fn strip_location(message: &str) -> String {
    // The parser appends " at line L column C"; the error carries them as fields.
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl Tenant {
    /// Parses and checks a tenant file; every problem carries the line of its field.
    pub fn from_yaml(text: &str) -> Result<Self, TenantError> {
        TenantSpec::from_yaml(text)?.validate().map_err(|err| {
            let locate = |problems: Vec<Problem>| -> Vec<Problem> {
                problems
                    .into_iter()
                    .map(|mut p| {
                        p.line = locate::line_of(text, &p.field);
                        p
                    })
                    .collect()
            };
            match err {
                TenantError::Invalid(problems) => TenantError::Invalid(locate(problems)),
                TenantError::OutOfBounds(problems) => TenantError::OutOfBounds(locate(problems)),
                other => other,
            }
        })
    }

    /// The spec as written (normalised: Azure zones in their node-label form).
    pub fn spec(&self) -> &TenantSpec {
        &self.spec
    }

    /// Tenant id.
    pub fn id(&self) -> &str {
        &self.spec.tenant
    }

    /// Provider.
    pub fn provider(&self) -> Provider {
        self.spec.provider
    }

    /// Regions and zones, checked and normalised.
    pub fn locality(&self) -> &Locality {
        &self.locality
    }

    /// The storage profile of the tenant's volumes.
    pub fn storage(&self) -> &'static StorageProfile {
        self.storage
    }

    /// Whether the rendering includes the StorageClass object (see [`StorageSpec`]).
    pub fn renders_storage_class(&self) -> bool {
        self.spec.storage.render_class.unwrap_or(matches!(
            self.spec.provider,
            Provider::Aws | Provider::OnPrem
        ))
    }

    /// The namespace the ledger's objects live in.
    pub fn namespace(&self) -> String {
        self.spec.namespace()
    }

    /// CockroachDB's node count and spread, when the file fixes the count (otherwise the
    /// sizing calculator chooses it and [`Tenant::cockroach_quorum_for`] checks it).
    pub fn cockroach_quorum(&self) -> Option<&QuorumPlan> {
        self.cockroach_quorum.as_ref()
    }

    /// Checks a CockroachDB node count (e.g. one chosen by sizing) against this tenant's
    /// zones and survival goal.
    pub fn cockroach_quorum_for(&self, nodes: u32) -> Result<QuorumPlan, TenantError> {
        if self.site_view.is_some() || !self.sites.is_empty() {
            // The sites fix the count; their layout was judged when the file was read.
            return match &self.cockroach_quorum {
                Some(plan) if plan.nodes == nodes => Ok(plan.clone()),
                plan => Err(TenantError::Invalid(vec![Problem::new(
                    "cockroachdb.nodes",
                    nodes,
                    format!(
                        "a tenant with sites runs the nodes its sites declare: {}",
                        plan.as_ref().map_or(0, |p| p.nodes)
                    ),
                    "change the sites' nodes, not the total",
                )])),
            };
        }
        validate::check_cockroach_quorum(&self.spec, &self.locality, nodes)
            .map_err(|p| TenantError::Invalid(vec![p]))
    }

    /// Redpanda's broker count and spread over its region's zones.
    pub fn redpanda_quorum(&self) -> &QuorumPlan {
        &self.redpanda_quorum
    }

    /// The region Redpanda runs in.
    pub fn redpanda_region(&self) -> &str {
        &self.redpanda_region
    }

    /// The recovery point objective in seconds: `backup.rpo`, or the tier's default
    /// ([`Tier::default_rpo_seconds`]).
    pub fn rpo_seconds(&self) -> u64 {
        self.spec
            .backup
            .rpo
            .as_deref()
            .and_then(validate::rpo_seconds)
            .unwrap_or_else(|| self.spec.tier.default_rpo_seconds())
    }

    /// Recommendations that are not refusals.
    pub fn advice(&self) -> &[String] {
        &self.advice
    }

    /// The sites of a multi-site tenant, in the file's order (empty for a tenant of one
    /// provider and its regions).
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Whether the tenant declares sites.
    pub fn is_multi_site(&self) -> bool {
        !self.sites.is_empty()
    }

    /// The tenant as site `name` sees it: a tenant of the site's provider, region, zones,
    /// storage class and identity, whose CockroachDB nodes join every site's and whose
    /// network admits the other sites' ranges. Sizing and rendering take it as they take a
    /// tenant of one provider; its own survival goal is `zone` (within a site zones fail), the
    /// quorum plan is the whole tenant's ([`Tenant::cockroach_quorum`]).
    pub fn for_site(&self, name: &str) -> Result<Tenant, TenantError> {
        let Some(index) = self.sites.iter().position(|s| s.name() == name) else {
            return Err(TenantError::Invalid(vec![Problem::new(
                "site",
                name,
                "the site to render must be one of the tenant's",
                if self.sites.is_empty() {
                    "the tenant declares no sites: leave the site out".to_owned()
                } else {
                    format!(
                        "use one of {}",
                        self.sites
                            .iter()
                            .map(Site::name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            )]));
        };
        let site = &self.sites[index];
        let s = site.spec();
        let mut spec = self.spec.clone();
        spec.provider = s.provider;
        spec.survival = SurvivalGoal::Zone;
        spec.sites = Vec::new();
        spec.regions = vec![TenantRegion {
            name: s.region.clone(),
            zones: s.zones.clone(),
            cluster_domain: s.cluster_domain.clone(),
        }];
        spec.storage = StorageSpec {
            class: Some(site.storage().class_name.to_owned()),
            render_class: s.render_storage_class,
        };
        spec.backup.identity.clone_from(&s.identity);
        spec.network.peer_cidrs = self
            .sites
            .iter()
            .filter(|o| o.name() != name)
            .flat_map(|o| o.spec().cidrs.iter().cloned())
            .collect();
        Ok(Tenant {
            spec,
            locality: site.locality().clone(),
            storage: site.storage(),
            cockroach_quorum: self.cockroach_quorum.clone(),
            redpanda_quorum: self.redpanda_quorum.clone(),
            redpanda_region: s.region.clone(),
            advice: Vec::new(),
            sites: Vec::new(),
            site_view: Some(SiteView {
                index,
                sites: self.sites.clone(),
                survival: self.spec.survival,
                backup_identity: self.spec.backup.identity.clone(),
            }),
        })
    }

    /// On the view of one site: which site, and the others.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    pub(crate) fn site_view(&self) -> Option<&SiteView> {
        self.site_view.as_ref()
    }

    /// The tenant's `backup.identity` as written, on the view of one site too (whose
    /// `spec().backup.identity` is the site's own identity binding, for what is per site).
    pub fn backup_identity(&self) -> Option<&IdentityBinding> {
        match &self.site_view {
            Some(v) => v.backup_identity.as_ref(),
            None => self.spec.backup.identity.as_ref(),
        }
    }

    /// The provider whose storage holds the backups: the tenant's (with sites, the first
    /// site's), also on the view of a site of another provider.
    pub fn backup_provider(&self) -> Provider {
        match &self.site_view {
            Some(v) => v.sites[0].provider(),
            None => self.spec.provider,
        }
    }

    /// The region of the backup bucket's cluster: the first site's, or the first region (where
    /// the pods of other providers' sites call the bucket's cloud, e.g. AWS STS).
    pub fn backup_region(&self) -> Option<&str> {
        match (&self.site_view, self.sites.first()) {
            (Some(v), _) => Some(v.sites[0].region()),
            (None, Some(first)) => Some(first.region()),
            (None, None) => self.spec.regions.first().map(|r| r.name.as_str()),
        }
    }

    /// The identity this tenant's pods (on the view of a site: that site's) write to the backup
    /// bucket with: on the bucket's provider the site's own binding (which `ledger-topology iam`
    /// grants the bucket), on another provider the tenant's `backup.identity`, federated from
    /// the site's cluster (the rendering injects its token there: `render::federated`).
    pub fn bucket_identity(&self) -> Option<&IdentityBinding> {
        if self.provider() == self.backup_provider() {
            self.spec.backup.identity.as_ref()
        } else {
            self.backup_identity()
        }
    }

    /// Where CockroachDB's native backups go in the bucket by default:
    /// `<backup.prefix>/cockroach/<tenant>-<environment>`, or `cockroach/<tenant>-<environment>`
    /// without a prefix. Under the prefix, so the prefix that `ledger-topology iam` grants covers
    /// it; a folder of its own, so a repository written at the prefix never mixes with it.
    pub fn cockroach_backup_path(&self) -> String {
        self.spec.cockroach_backup_path()
    }

    /// The site this tenant is the view of ([`Tenant::for_site`]).
    pub fn viewed_site(&self) -> Option<&Site> {
        self.site_view.as_ref().map(|v| &v.sites[v.index])
    }

    /// The region's cluster DNS domain (`cluster.local` unless the file sets one).
    pub fn cluster_domain(&self, region: &str) -> &str {
        self.spec
            .regions
            .iter()
            .find(|r| r.name == region)
            .and_then(|r| r.cluster_domain.as_deref())
            .unwrap_or("cluster.local")
    }
}

#[cfg(test)]
mod tests;
