//! The thin ledger's provider model: where a tenant runs and what that implies.
//!
//! One typed model of each provider — storage classes and how their performance scales,
//! the node label pods spread over, the workload identity backups use, locality, quorum
//! rules and approved instance families — shared by sizing, rendering, guardrails and backups.
//! This part holds no Kubernetes types.
//!
//! [`Tenant`] reads and checks a tenant file (one YAML file per tenant ledger), reporting every
//! [`Problem`] at once. The `render` module, behind the `render` cargo feature, turns a checked
//! tenant plus per-node resources into typed `k8s-openapi` objects and YAML; its `render::kit`
//! is the rendering kit (labels, quantities, restricted security contexts, UIDs) every
//! thinledger renderer shares. Composing a tenant with the sizing calculator is
//! `thinledger_sizing`'s job (`plan_tenant`, `render_tenant`).
//!
//! # Public surface
//! Every type is at the root; the four namespaces hold what reads best qualified.
//! - The provider model: [`Provider`] (with its one zone-naming function,
//!   [`Provider::zone_name`], and [`Provider::default_zones`]), [`Tier`], [`Locality`],
//!   [`RegionSpec`], [`SurvivalGoal`], [`StorageProfile`] ([`DiskPerformance`], [`DiskTier`]),
//!   [`InstanceFamily`] ([`InstanceType`]), [`IdentityBinding`] and the labels and annotations
//!   it sets ([`ZONE_LABEL`], [`IRSA_ROLE_ANNOTATION`]…).
//! - Quantities: [`Cpu`] and [`ByteSize`] (parsed as Kubernetes writes them; written as
//!   quantities, or as CockroachDB's size flags with [`ByteSize::to_iec`]).
//! - The tenant file: [`Tenant`] (checked) from a [`TenantSpec`] and its sections
//!   ([`TenantRegion`], [`SiteSpec`] ([`AdvertiseSpec`]; checked: [`Site`], [`Advertise`]),
//!   [`StorageSpec`], [`CockroachSpec`], [`WorkloadSpec`],
//!   [`NodeResources`], [`RedpandaSpec`], [`TopicSpec`], [`BackupSpec`] ([`BackupEncryptionSpec`]), [`NetworkSpec`],
//!   [`ImagesSpec`], [`Ring`]); the stream's sections [`TieredStorageSpec`] (resolved:
//!   [`TieredStorage`]) and [`ChangefeedsSpec`] ([`ChangefeedFeed`], [`ChangefeedAuth`]).
//! - Redpanda rack awareness (namespace [`rack`]): [`rack::rack_of`] (the failure domain a
//!   broker's rack names, a [`rack::RackKey`]), [`rack::racks`] and the replica model
//!   [`rack::check_rack_loss`].
//!   [`ImagesSpec`], [`Ring`]); who issues the certificates: [`CertificatesSpec`]
//!   ([`IssuerRefSpec`]).
//! - Upgrades: [`CockroachVersion`] and the [`UpgradeStep`] between two of them.
//! - Node counts: [`QuorumPlan`] with its [`Placement`]s, [`FailureDomain`]s (of a
//!   [`DomainKind`]) and the fullest node's [`NodeShare`], from [`quorum::plan`]; the namespace
//!   [`quorum`] holds the quorum rule ([`quorum::check_count`], [`quorum::spread`],
//!   [`quorum::check_placements`] for a layout given placement by placement, of nodes or
//!   brokers ([`quorum::Members`]), [`quorum::plan_over`] for several sites or providers,
//!   [`quorum::valid_counts`], [`quorum::RULES`]…).
//! - Bounds: [`Limit`] and the namespace [`bounds`] of every quantity's upper bound
//!   ([`bounds::NODES`], [`bounds::NODE_MEMORY`]…), checked before any rule or search.
//! - Least-privilege access (namespace [`iam`]): [`iam::plan`] turns a tenant's backup
//!   section and identity, and Redpanda's tiered-storage bucket and identity (every site's,
//!   for a tenant with sites), into an [`IamPlan`] of [`IamDocument`]s (AWS role and trust
//!   policies, Azure role assignment and federated credentials, GCP bindings, MinIO policy),
//!   each for an [`IamGrant`], with an [`IamGrantSummary`] per identity and the same as
//!   Terraform; its inputs are [`BackupIamSpec`] and [`ObjectLockMode`], knobs
//!   [`IamOptions`], errors [`IamError`].
//! - `render` (feature `render`): the namespace of Kubernetes rendering, with its own list;
//!   `k8s_openapi` is re-exported with it, so an application uses the same version.
//! - `rollout` (feature `render`): ring rollouts — a fleet of tenant files, the
//!   `RolloutPlan` of waves canary → early → prod, and the CI gate `rollout::check`.
//! - Errors: [`ModelError`], [`ParseError`], [`QuantityError`], [`BoundError`],
//!   [`TenantError`] (each names the field, the value, the rule and the fix).
//! - [`error_chain`] / [`error_causes`]: the one walk over an error's causes, for every
//!   thinledger crate and CLI (see [`error_chain`] for why it lives here).
//!
//! ```
//! use thinledger_topology::{Locality, Provider, RegionSpec, SurvivalGoal, quorum};
//!
//! let provider: Provider = "aws".parse()?;
//! assert_eq!(provider.topology_key(), "topology.kubernetes.io/zone");
//! assert_eq!(provider.default_storage().class_name, "gp3");
//!
//! let locality = Locality::new(
//!     provider,
//!     vec![RegionSpec::new("us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"])],
//! )?;
//! let plan = quorum::plan("nodes", 9, &locality, SurvivalGoal::Zone)?;
//! assert_eq!(plan.placements.len(), 3);
//! assert!(plan.placements.iter().all(|p| p.nodes == 3));
//! // 5 nodes spread 2/2/1: quorum survives any zone; the capacity cost is advice.
//! let five = quorum::plan("nodes", 5, &locality, SurvivalGoal::Zone)?;
//! assert!(five.failure_domains.iter().all(|d| d.replicas == 1));
//! assert_eq!(five.advice.len(), 1);
//! assert!(quorum::check_count("nodes", 4).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bounds;
mod chain;
mod error;
pub mod iam;
mod identity;
mod instance;
mod limit;
mod locality;
mod placement;
mod provider;
mod quantity;
pub mod quorum;
pub mod rack;
#[cfg(feature = "render")]
pub mod render;
#[cfg(feature = "render")]
pub mod rollout;
mod spread;
mod storage;
mod tenant;
mod tier;
mod version;
mod zones;

pub use chain::{error_causes, error_chain};
pub use error::{ModelError, ParseError};
pub use iam::{
    BackupIamSpec, IamDocument, IamDocumentKind, IamError, IamGrant, IamGrantSummary, IamOptions,
    IamPlan, IamSubject, ObjectLockMode,
};
pub use identity::{
    AZURE_WI_CLIENT_ID_ANNOTATION, AZURE_WI_TENANT_ID_ANNOTATION, AZURE_WI_USE_LABEL,
    GKE_SERVICE_ACCOUNT_ANNOTATION, IRSA_ROLE_ANNOTATION, IdentityBinding,
};
pub use instance::{InstanceFamily, InstanceType};
#[cfg(feature = "render")]
pub use k8s_openapi;
pub use limit::{BoundError, Limit};
pub use locality::{Locality, RegionSpec, SurvivalGoal};
pub use placement::{DomainKind, FailureDomain, NodeShare, Placement, QuorumPlan};
pub use provider::{HOSTNAME_LABEL, Provider, REGION_LABEL, ZONE_LABEL};
pub use quantity::{ByteSize, Cpu, QuantityError};
pub use storage::{DiskPerformance, DiskTier, StorageProfile};
pub use tenant::{
    Advertise, AdvertiseSpec, BackupEncryptionSpec, BackupSpec, ChangefeedAuth, ChangefeedFeed,
    ChangefeedsSpec, CockroachSpec, ImagesSpec, NetworkSpec, NodeResources, Problem, RedpandaSpec,
    Ring, Site, SiteSpec, StorageSpec, Tenant, TenantError, TenantRegion, TenantSpec,
    TieredStorage, TieredStorageSpec, TopicSpec, WorkloadSpec,
};
pub use tenant::{CertificatesSpec, IssuerRefSpec};
pub use tier::Tier;
pub use version::{CockroachVersion, UpgradeStep};
