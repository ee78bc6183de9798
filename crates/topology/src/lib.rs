//! The thin ledger's provider model: where a tenant runs and what that implies.
//!
//! One typed model of each provider — storage classes and how their performance scales,
//! the node label pods spread over, the workload identity backups use, locality, quorum
//! rules and approved instance families — shared by sizing, rendering, guardrails and backups.
//! This part holds no Kubernetes types.
//!
//! [`bounds`] gives every quantity (vCPU, memory, disk, data, rates, node counts…) a
//! documented upper bound, checked before any rule or search.
//!
//! [`tenant`] reads and checks a tenant file (one YAML file per tenant ledger). The
//! `render` module, behind the `render` cargo feature, turns a checked tenant plus per-node
//! resources into typed `k8s-openapi` objects and YAML; its `render::kit` is the rendering
//! kit (labels, quantities, restricted security contexts, UIDs) every thinledger renderer
//! shares. Composing a tenant with the sizing calculator is `thinledger_sizing::tenant`'s job.
//!
//! # Public surface
//! - The provider model, at the root: [`Provider`] (with its one zone-naming function,
//!   [`Provider::zone_name`], and [`Provider::default_zones`]), [`Tier`], [`Locality`],
//!   [`RegionSpec`], [`SurvivalGoal`], [`StorageProfile`], [`InstanceFamily`],
//!   [`IdentityBinding`], the quantities [`Cpu`] and [`ByteSize`], and the checked [`Tenant`].
//! - Namespaces for rules and schemas: [`quorum`] (node-count rules), [`bounds`] (upper
//!   bounds of every quantity), [`tenant`] (the tenant file's schema and its problems), and
//!   `render` (feature `render`).
//! - Errors: [`ModelError`], [`ParseError`], [`QuantityError`], [`BoundError`],
//!   [`TenantError`] (each names the field, the value, the rule and the fix).
//! - [`error_chain`] / [`error_causes`]: the one walk over an error's causes that every
//!   thinledger crate and CLI uses to show an error whole.
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
//! assert!(quorum::plan("nodes", 5, &locality, SurvivalGoal::Zone).is_err());
//! assert!(quorum::check_count("nodes", 4).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bounds;
mod chain;
mod error;
mod identity;
mod instance;
mod locality;
mod provider;
mod quantity;
pub mod quorum;
#[cfg(feature = "render")]
pub mod render;
mod storage;
pub mod tenant;
mod tier;
mod zones;

pub use bounds::BoundError;
pub use chain::{error_causes, error_chain};
pub use error::{ModelError, ParseError};
pub use identity::{
    AZURE_WI_CLIENT_ID_ANNOTATION, AZURE_WI_TENANT_ID_ANNOTATION, AZURE_WI_USE_LABEL,
    GKE_SERVICE_ACCOUNT_ANNOTATION, IRSA_ROLE_ANNOTATION, IdentityBinding,
};
pub use instance::{InstanceFamily, InstanceType};
#[cfg(feature = "render")]
pub use k8s_openapi;
pub use locality::{Locality, RegionSpec, SurvivalGoal};
pub use provider::{HOSTNAME_LABEL, Provider, REGION_LABEL, ZONE_LABEL};
pub use quantity::{ByteSize, Cpu, QuantityError};
pub use quorum::{Placement, QuorumPlan};
pub use storage::{DiskPerformance, DiskTier, StorageProfile};
pub use tenant::{Ring, Tenant, TenantError, TenantSpec};
pub use tier::Tier;
