//! Tenant → sizing → rendering: the whole composition, one call.

use std::collections::BTreeSet;

use thinledger_topology::Tenant;
use thinledger_topology::render::{
    CockroachResources, RedpandaResources, RenderOptions, Rendering, ResourcePlan, SiteRendering,
    render, render_site,
};

use super::{TenantPlanError, size_tenant};
use crate::plan::SizingPlan;

/// Where per-node resources come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ResourceSource {
    /// Run the sizing calculator on the tenant's node shape or workload ([`size_tenant`]).
    #[default]
    Sizing,
    /// Take the per-node resources written in the tenant file
    /// ([`ResourcePlan::from_tenant`]: the runbook's fixed ratios for the flags).
    Tenant,
}

/// Everything derived from a tenant file on the way to its objects.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TenantPlan {
    /// The checked tenant.
    pub tenant: Tenant,
    /// The sizing plan, when the calculator ran ([`ResourceSource::Sizing`]).
    pub sizing: Option<SizingPlan>,
    /// The renderer's per-node resources.
    pub resources: ResourcePlan,
    /// Advice of the tenant checks and the calculator, each message once.
    pub notes: Vec<String>,
    /// Requirements the plan could not meet in full, each message once; read before applying.
    pub warnings: Vec<String>,
    /// A tenant with sites: each site sized on its own provider, region, zones and storage
    /// class ([`Tenant::for_site`]), in the file's order. `sizing` and `resources` above are
    /// the first site's. Empty for a tenant without sites.
    pub sites: Vec<SitePlan>,
}

/// One site of a tenant with sites, sized for its provider.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SitePlan {
    /// Site name.
    pub site: String,
    /// The sizing plan, when the calculator ran.
    pub sizing: Option<SizingPlan>,
    /// The renderer's per-node resources for this site (the node shape is the tenant's; disks
    /// and StorageClass parameters follow the site's storage class).
    pub resources: ResourcePlan,
}

impl TenantPlan {
    /// Renders the tenant with these resources ([`thinledger_topology::render::render`]).
    /// A tenant with sites is rendered one site at a time: use [`TenantPlan::render_sites`].
    pub fn render(&self, options: &RenderOptions) -> Result<Rendering, TenantPlanError> {
        Ok(render(&self.tenant, &self.resources, options)?)
    }

    /// Renders every site with its own resources: one [`SiteRendering`] per site, for its own
    /// Kubernetes cluster. A tenant without sites gives one, named after its rendered region.
    pub fn render_sites(
        &self,
        options: &RenderOptions,
    ) -> Result<Vec<SiteRendering>, TenantPlanError> {
        if self.sites.is_empty() {
            return Ok(thinledger_topology::render::render_sites(
                &self.tenant,
                &self.resources,
                options,
            )?);
        }
        self.sites
            .iter()
            .zip(self.tenant.sites())
            .map(|(plan, site)| {
                let rendering = render_site(&self.tenant, &plan.site, &plan.resources, options)?;
                Ok(SiteRendering::new(
                    plan.site.clone(),
                    site.cluster().to_owned(),
                    rendering,
                ))
            })
            .collect()
    }
}

/// Sizes `tenant` (a tenant of one provider, or the view of one site) from `source`.
fn resources_of(
    tenant: &Tenant,
    source: ResourceSource,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<(Option<SizingPlan>, ResourcePlan), TenantPlanError> {
    Ok(match source {
        ResourceSource::Tenant => (None, ResourcePlan::from_tenant(tenant)?),
        ResourceSource::Sizing => {
            let sized = size_tenant(tenant)?;
            notes.extend(sized.advice.iter().cloned());
            warnings.extend(sized.warnings.iter().cloned());
            let resources = resource_plan(tenant, &sized)?;
            (Some(sized), resources)
        }
    })
}

/// Reads the tenant file `yaml`, checks it, and derives the renderer's per-node resources
/// from `source`, with the notes and warnings gathered on the way.
///
/// ```
/// use thinledger_sizing::{ResourceSource, plan_tenant};
/// use thinledger_topology::render::{CockroachMode, RenderOptions};
///
/// let yaml = include_str!("../../../../examples/tenants/aws.yaml");
/// let plan = plan_tenant(yaml, ResourceSource::Sizing)?;
/// assert_eq!(plan.resources.cockroach.nodes, 3);
/// let rendering = plan.render(&RenderOptions::new(CockroachMode::StatefulSet))?;
/// assert!(rendering.objects.iter().any(|o| o.kind() == "StatefulSet"));
/// # Ok::<(), thinledger_sizing::TenantPlanError>(())
/// ```
pub fn plan_tenant(yaml: &str, source: ResourceSource) -> Result<TenantPlan, TenantPlanError> {
    let tenant = Tenant::from_yaml(yaml)?;
    let mut notes: Vec<String> = tenant.advice().to_vec();
    let mut warnings = Vec::new();
    let mut sites = Vec::new();
    for site in tenant.sites() {
        let view = tenant.for_site(site.name())?;
        let (sizing, resources) = resources_of(&view, source, &mut notes, &mut warnings)?;
        sites.push(SitePlan {
            site: site.name().to_owned(),
            sizing,
            resources,
        });
    }
    let (sizing, resources) = match sites.first() {
        Some(first) => (first.sizing.clone(), first.resources.clone()),
        None => resources_of(&tenant, source, &mut notes, &mut warnings)?,
    };
    dedup(&mut notes);
    dedup(&mut warnings);
    Ok(TenantPlan {
        tenant,
        sizing,
        resources,
        notes,
        warnings,
        sites,
    })
}

/// [`plan_tenant`], then renders one region with `options`: the whole composition
/// `ledger-topology render` runs.
pub fn render_tenant(
    yaml: &str,
    source: ResourceSource,
    options: &RenderOptions,
) -> Result<(TenantPlan, Rendering), TenantPlanError> {
    let plan = plan_tenant(yaml, source)?;
    let rendering = plan.render(options)?;
    Ok((plan, rendering))
}

/// [`plan_tenant`], then renders every site with `options` ([`TenantPlan::render_sites`]):
/// what `ledger-topology render` runs. A tenant without sites gives one rendering.
pub fn render_tenant_sites(
    yaml: &str,
    source: ResourceSource,
    options: &RenderOptions,
) -> Result<(TenantPlan, Vec<SiteRendering>), TenantPlanError> {
    let plan = plan_tenant(yaml, source)?;
    let sites = plan.render_sites(options)?;
    Ok((plan, sites))
}

/// Drops repeated messages, keeping the first of each.
fn dedup(messages: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    messages.retain(|m| seen.insert(m.clone()));
}

/// Maps a sizing plan onto the renderer's inputs, refusing a broker count other than the
/// tenant file's.
pub fn resource_plan(tenant: &Tenant, sized: &SizingPlan) -> Result<ResourcePlan, TenantPlanError> {
    let c = &sized.cockroachdb;
    let r = &sized.redpanda;
    if r.brokers != tenant.spec().redpanda.brokers {
        return Err(TenantPlanError::Brokers {
            declared: tenant.spec().redpanda.brokers,
            sized: r.brokers,
        });
    }
    let cockroach = CockroachResources::default()
        .with_nodes(c.nodes)
        .with_cpu(c.resources.limits.cpu)
        .with_memory(c.resources.limits.memory)
        .with_cache(c.cache)
        .with_max_sql_memory(c.max_sql_memory)
        .with_disk(c.disk.size);
    let redpanda = RedpandaResources::default()
        .with_brokers(r.brokers)
        .with_cpu(r.resources.limits.cpu)
        .with_memory(r.resources.limits.memory)
        .with_smp(r.cores)
        .with_seastar_memory(r.memory)
        .with_reserve_memory(r.reserve_memory)
        .with_disk(r.disk.size);
    Ok(ResourcePlan::new(cockroach, redpanda)
        .with_volume_parameters(c.disk.class_parameters.clone()))
}
