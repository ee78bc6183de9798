//! A tenant with sites: one rendering per site (each its own Kubernetes cluster), composed from
//! the view of each site ([`Tenant::for_site`]), plus what only a stretched cluster needs: the
//! `--join` list over every site's advertised addresses, each node's advertised address, and
//! the replication step of the survival goal.
//!
//! # Replication over providers
//!
//! A tenant that survives a provider (`survival: provider`, RF 5 over three providers) gets
//! CockroachDB's multi-region SQL, run once by the first site's init Job on each of
//! `cockroachdb.databases`: `SET PRIMARY REGION` (the first site's region), `ADD REGION IF NOT
//! EXISTS` for every other site's, then `SURVIVE REGION FAILURE`. Tenant validation makes each
//! provider exactly one CockroachDB region (`--locality=cloud=<provider>,region=<site
//! region>,zone=…`), so losing a provider is losing a region, which that goal survives: five
//! voting replicas, at most two in any region. This is what CockroachDB documents for
//! surviving the loss of a region (it needs at least three database regions), where the
//! alternative, replication zones with per-`cloud` constraints set by hand (`ALTER … CONFIGURE
//! ZONE USING constraints = …`), is what its docs advise against: zone configs set that way
//! place replicas by count rather than by region and block `SET PRIMARY REGION` later. The
//! system ranges keep CockroachDB's own five replicas, spread by the allocator over the most
//! diverse locality tier first (`cloud`). `survival: region` over sites renders the same
//! statements; `survival: zone` keeps the default of three replicas.

use super::common::{CRDB_GRPC_PORT, CRDB_NAME, Context};
use super::{RenderError, RenderOptions, Rendering, ResourcePlan, input_error, render};
use crate::locality::SurvivalGoal;
use crate::tenant::{Advertise, Tenant};

/// Nodes of each site listed in `--join` (CockroachDB advises three to five in all; up to
/// three per site keeps every site able to start the others).
const JOIN_PER_SITE: u32 = 3;

/// One site's objects, for its own Kubernetes cluster.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SiteRendering {
    /// Site name (the folder `render --out DIR` writes: `DIR/<site>/`).
    pub site: String,
    /// The site's Kubernetes cluster.
    pub cluster: String,
    /// Its objects.
    pub rendering: Rendering,
}

impl SiteRendering {
    /// A site's rendering (for composers that render each site with its own resources).
    pub fn new(site: impl Into<String>, cluster: impl Into<String>, rendering: Rendering) -> Self {
        SiteRendering {
            site: site.into(),
            cluster: cluster.into(),
            rendering,
        }
    }
}

/// Renders site `site` of `tenant` with `plan`'s resources.
pub fn render_site(
    tenant: &Tenant,
    site: &str,
    plan: &ResourcePlan,
    options: &RenderOptions,
) -> Result<Rendering, RenderError> {
    if let Some(region) = &options.region {
        return Err(input_error(
            "--region",
            region,
            "a tenant with sites renders each site's own region",
            "leave the region out",
        ));
    }
    let view = tenant.for_site(site).map_err(|e| {
        input_error(
            "site",
            site,
            e.to_string(),
            "render one of the tenant's sites",
        )
    })?;
    render(&view, plan, options)
}

/// Renders every site of `tenant`, in the file's order, with the same resources (use
/// [`render_site`] to give each site its own, e.g. sized for its provider). A tenant without
/// sites is one site, named after the region rendered ([`RenderOptions::region`]), with no
/// cluster name.
pub fn render_sites(
    tenant: &Tenant,
    plan: &ResourcePlan,
    options: &RenderOptions,
) -> Result<Vec<SiteRendering>, RenderError> {
    if !tenant.is_multi_site() {
        let region = options
            .region
            .clone()
            .or_else(|| tenant.locality().regions().first().map(|r| r.name.clone()))
            .unwrap_or_default();
        return Ok(vec![SiteRendering {
            site: region,
            cluster: String::new(),
            rendering: render(tenant, plan, options)?,
        }]);
    }
    tenant
        .sites()
        .iter()
        .map(|s| {
            Ok(SiteRendering {
                site: s.name().to_owned(),
                cluster: s.cluster().to_owned(),
                rendering: render_site(tenant, s.name(), plan, options)?,
            })
        })
        .collect()
}

/// Every site's documents in one YAML stream, each site's introduced by a comment naming the
/// site and its cluster (each object also carries the label `thinledger.io/site`).
pub fn sites_to_yaml(sites: &[SiteRendering]) -> Result<String, RenderError> {
    let mut out = String::new();
    for s in sites {
        out.push_str(&format!(
            "# site: {} (Kubernetes cluster {}): apply these documents there\n",
            s.site, s.cluster
        ));
        out.push_str(&s.rendering.to_yaml()?);
    }
    Ok(out)
}

/// `--join` over every site: up to three nodes each, as the sites advertise them.
pub(super) fn join_list(ctx: &Context<'_>) -> Option<String> {
    let view = ctx.tenant.site_view()?;
    let mut targets = Vec::new();
    for site in &view.sites {
        for n in 0..site.nodes().min(JOIN_PER_SITE) {
            if let Some(host) = site.node_host(n, CRDB_NAME) {
                targets.push(format!("{host}:{CRDB_GRPC_PORT}"));
            }
        }
    }
    Some(targets.join(","))
}

/// Shell lines run before `cockroach start` (the per-node address, by ordinal) and the value
/// of `--advertise-addr`: the address the other sites reach this node at.
pub(super) fn advertise(ctx: &Context<'_>) -> Option<(String, String)> {
    let site = ctx.site()?;
    Some(match site.advertise() {
        Advertise::DnsSuffix(suffix) => (
            String::new(),
            format!("\"${{POD_NAME}}.{suffix}:{CRDB_GRPC_PORT}\""),
        ),
        Advertise::Addresses(list) => (
            format!(
                "# The address the other sites reach this pod at: one per pod ordinal.\naddresses=({})\nADVERTISE_HOST=\"${{addresses[${{POD_NAME##*-}}]}}\"\n",
                list.join(" ")
            ),
            format!("\"${{ADVERTISE_HOST}}:{CRDB_GRPC_PORT}\""),
        ),
    })
}

/// The init Job's replication step (see the module docs), run with `sql` the `cockroach sql`
/// invocation prefix: over the sites' regions for a tenant with sites, over the tenant's
/// regions for a single-provider tenant that survives a region (the same multi-region SQL:
/// CockroachDB's docs advise against hand-set replication zones) when it names its databases.
/// Empty for zone survival with sites; `None` otherwise.
pub(super) fn replication_script(ctx: &Context<'_>, sql: &str) -> Option<String> {
    let regions: Vec<&str> = match ctx.tenant.site_view() {
        Some(view) if view.survival == SurvivalGoal::Zone => return Some(String::new()),
        Some(view) => view.sites.iter().map(|s| s.region()).collect(),
        // Without databases named there is nothing to make multi-region: the caller keeps
        // the default zone's replication at five instead.
        None if ctx.tenant.spec().survival == SurvivalGoal::Region
            && !ctx.tenant.spec().cockroachdb.databases.is_empty() =>
        {
            ctx.crdb_per_region
                .iter()
                .map(|(r, _)| r.as_str())
                .collect()
        }
        None => return None,
    };
    let (primary, others) = regions.split_first()?;
    let mut script = format!(
        "# SURVIVE REGION FAILURE needs every region's nodes to have joined: wait for them.\nfor attempt in $(seq 1 60); do\n  regions=\"$({sql} --format=csv -e 'SELECT region FROM [SHOW REGIONS FROM CLUSTER]')\" || regions=''\n  missing=''\n  for r in {}; do printf '%s\\n' \"$regions\" | grep -qx \"$r\" || missing=\"$missing $r\"; done\n  [ -z \"$missing\" ] && break\n  echo \"waiting for the nodes of:$missing\"\n  sleep 10\ndone\n",
        regions.join(" ")
    );
    for db in &ctx.tenant.spec().cockroachdb.databases {
        let mut statements = vec![
            format!("CREATE DATABASE IF NOT EXISTS \"{db}\""),
            format!("ALTER DATABASE \"{db}\" SET PRIMARY REGION \"{primary}\""),
        ];
        statements.extend(
            others
                .iter()
                .map(|r| format!("ALTER DATABASE \"{db}\" ADD REGION IF NOT EXISTS \"{r}\"")),
        );
        statements.push(format!("ALTER DATABASE \"{db}\" SURVIVE REGION FAILURE"));
        script.push_str(sql);
        for s in statements {
            script.push_str(&format!(" \\\n  -e '{s}'"));
        }
        script.push('\n');
    }
    Some(script)
}
