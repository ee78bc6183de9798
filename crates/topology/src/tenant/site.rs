//! Sites: one ledger stretched over several Kubernetes clusters, each of its own provider,
//! region and zones (AWS, Azure and an on-prem data centre, say), with a survival goal over
//! all of them (`survival: zone | region | provider`).
//!
//! ```yaml
//! provider: aws                 # the first site's: where backups go and `cockroach init` runs
//! survival: provider            # losing any one provider leaves a majority of every range
//! cockroachdb:
//!   databases: [ledger]         # made multi-region by the init Job (region/provider survival)
//! sites:
//!   - name: aws-use1            # folder name of `render --out DIR` (DIR/aws-use1/)
//!     provider: aws
//!     cluster: acme-prod-use1   # the Kubernetes cluster this site's objects go to
//!     region: us-east-1         # on-prem: the data centre (alias data_centre)
//!     zones: [us-east-1a, us-east-1b, us-east-1c]   # on-prem: racks (alias racks)
//!     nodes: 2
//!     storage_class: gp3        # default: the provider's first class
//!     identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-ledger"}
//!     advertise: {dns_suffix: use1.ledger.acme.internal}   # or addresses: [one per node]
//!     cidrs: [10.10.0.0/16]     # where this site's nodes connect from, as the others see them
//! redpanda:
//!   brokers: 3                  # spread over the sites: one per provider here (5: 2/2/1)
//! ```
//!
//! Cross-site networking is declared, not invented: each site says how the others reach its
//! nodes (`advertise`: a DNS suffix under which `cockroachdb-<n>.<suffix>` and
//! `redpanda-<n>.<suffix>` resolve to pod `n`, or one address per node and, in `brokers`, one
//! per Redpanda broker) and where its traffic comes from (`cidrs`, admitted by the other sites'
//! NetworkPolicies on CockroachDB's and Redpanda's ports).
//!
//! Redpanda is stretched over the sites too: `redpanda.brokers` spread as evenly as possible
//! over them (file order; the first take the remainder, counts differ by at most one), each
//! site's share over its zones, racked by provider (or region) with
//! [`crate::rack::rack_of`]. The layout must keep a majority of every partition's 3 replicas
//! through the loss of any one site (a provider under `survival: provider`; with one site,
//! any one of its zones, as without sites): the model's
//! [`crate::quorum::check_placements`] judges it, naming the domain and the fix.
//!
//! The quorum rule is the model's ([`crate::quorum::check_placements`]): each site's nodes
//! spread evenly over its zones, and no failure domain of the survival goal (a provider, a
//! region or a zone) may hold a majority of a range's replicas.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Problem, TenantSpec};
use crate::identity::{IdentityBinding, validate_dns_subdomain};
use crate::locality::{Locality, RegionSpec, SurvivalGoal};
use crate::placement::{DomainKind, Placement, QuorumPlan};
use crate::provider::Provider;
use crate::quorum;
use crate::storage::StorageProfile;

/// One site of a multi-site tenant as written: a Kubernetes cluster of one provider in one
/// region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// Site name: lowercase letters, digits and '-', at most 30 (the folder of `--out`).
    pub name: String,
    /// The site's provider.
    pub provider: Provider,
    /// Name of the site's Kubernetes cluster (where its objects are applied).
    pub cluster: String,
    /// The provider's region; on-prem, the data centre. Also CockroachDB's `region=` tier.
    #[serde(alias = "data_centre")]
    pub region: String,
    /// Zones as nodes are labelled (`topology.kubernetes.io/zone`); on-prem, racks (or
    /// none: the host is the failure domain).
    #[serde(default, alias = "racks")]
    pub zones: Vec<String>,
    /// DNS domain of the site's cluster (default `cluster.local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// CockroachDB nodes in this site.
    pub nodes: u32,
    /// One of the provider's storage classes (default: the provider's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Whether the site's rendering includes the StorageClass object (default: as
    /// [`super::StorageSpec::render_class`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_storage_class: Option<bool>,
    /// The workload identity the site's ledger pods use (of the site's provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBinding>,
    /// How the other sites reach this site's nodes.
    pub advertise: AdvertiseSpec,
    /// Address ranges this site's nodes connect from, as the other sites see them.
    #[serde(default)]
    pub cidrs: Vec<String>,
}

/// How the other sites reach a site's CockroachDB nodes: exactly one of the two.
///
/// A platform exposes them with a Service of type LoadBalancer per pod (selecting
/// `statefulset.kubernetes.io/pod-name`; list the addresses), or with a multi-cluster DNS
/// (e.g. CoreDNS forwarding, ExternalDNS records for each pod, or a service mesh's multi-cluster
/// names; give the suffix).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvertiseSpec {
    /// DNS suffix under which `cockroachdb-<n>.<suffix>` resolves to node `n` from every site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_suffix: Option<String>,
    /// One address (IP or DNS name) per node, in pod-ordinal order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// With `addresses`: one address (IP or DNS name) per Redpanda broker of the site, in
    /// pod-ordinal order (its own LoadBalancer Service per broker pod). With `dns_suffix` the
    /// brokers are `redpanda-<n>.<suffix>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<String>,
}

/// How a site's nodes are reached from the others, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Advertise {
    /// `cockroachdb-<n>.<suffix>`.
    DnsSuffix(String),
    /// One address per node, by pod ordinal.
    Addresses(Vec<String>),
}

/// A checked site.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    spec: SiteSpec,
    locality: Locality,
    storage: &'static StorageProfile,
    advertise: Advertise,
    primary: bool,
    /// Redpanda brokers in the site (its share of `redpanda.brokers`).
    brokers: u32,
}

impl Site {
    /// The site as written (zones normalised).
    pub fn spec(&self) -> &SiteSpec {
        &self.spec
    }

    /// Site name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Provider.
    pub fn provider(&self) -> Provider {
        self.spec.provider
    }

    /// Kubernetes cluster name.
    pub fn cluster(&self) -> &str {
        &self.spec.cluster
    }

    /// Region (on-prem: data centre).
    pub fn region(&self) -> &str {
        &self.spec.region
    }

    /// CockroachDB nodes.
    pub fn nodes(&self) -> u32 {
        self.spec.nodes
    }

    /// The site's one region and its zones.
    pub fn locality(&self) -> &Locality {
        &self.locality
    }

    /// Storage profile of the site's volumes.
    pub fn storage(&self) -> &'static StorageProfile {
        self.storage
    }

    /// How the other sites reach its nodes.
    pub fn advertise(&self) -> &Advertise {
        &self.advertise
    }

    /// Whether this is the first site: it runs `cockroach init`, the replication step and
    /// Redpanda's topic and changefeed Jobs, and its provider holds the backups.
    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// Redpanda brokers in this site: its share of `redpanda.brokers`.
    pub fn brokers(&self) -> u32 {
        self.brokers
    }

    /// `host` of Redpanda broker `n` of this site as the other sites reach it (without the
    /// port): `redpanda-<n>.<suffix>`, or the declared `advertise.brokers[n]`.
    pub fn broker_host(&self, broker: u32, service: &str) -> Option<String> {
        match &self.advertise {
            Advertise::DnsSuffix(_) => self.node_host(broker, service),
            Advertise::Addresses(_) => usize::try_from(broker)
                .ok()
                .and_then(|i| self.spec.advertise.brokers.get(i))
                .cloned(),
        }
    }

    /// The site's brokers spread evenly over its zones, on its provider.
    pub fn broker_placements(&self) -> Vec<Placement> {
        quorum::spread(self.brokers, &self.locality, SurvivalGoal::Zone)
            .into_iter()
            .map(|p| p.on(self.spec.provider))
            .collect()
    }

    /// `host` of node `n` as the other sites reach it (without the port).
    pub fn node_host(&self, node: u32, service: &str) -> Option<String> {
        match &self.advertise {
            Advertise::DnsSuffix(suffix) => Some(format!("{service}-{node}.{suffix}")),
            Advertise::Addresses(list) => usize::try_from(node)
                .ok()
                .and_then(|i| list.get(i))
                .cloned(),
        }
    }

    /// The site's nodes spread evenly over its zones, on its provider
    /// ([`quorum::site_placements`]).
    pub fn placements(&self) -> Vec<Placement> {
        quorum::site_placements(self.spec.nodes, &self.locality)
    }
}

/// What a multi-site tenant's sites add up to.
pub(super) struct Sites {
    pub sites: Vec<Site>,
    pub quorum: QuorumPlan,
    /// Redpanda's brokers over the sites.
    pub redpanda: QuorumPlan,
}

fn field(i: usize, name: &str) -> String {
    format!("sites[{i}].{name}")
}

/// Checks `spec.sites` (non-empty); every problem found goes to `problems`.
pub(super) fn check(spec: &mut TenantSpec, problems: &mut Vec<Problem>) -> Option<Sites> {
    let before = problems.len();
    let mut push = |p: Problem| problems.push(p);
    if !spec.regions.is_empty() {
        push(Problem::new(
            "regions",
            spec.regions.len(),
            "a tenant with sites declares each site's region in the site",
            "remove regions and give each site its region and zones",
        ));
    }
    if spec.storage.class.is_some() || spec.storage.render_class.is_some() {
        push(Problem::new(
            "storage",
            spec.storage.class.as_deref().unwrap_or(""),
            "a tenant with sites chooses the storage class per site (each provider has its own)",
            "move it to the sites' storage_class",
        ));
    }
    if !spec.network.peer_cidrs.is_empty() {
        push(Problem::new(
            "network.peer_cidrs",
            spec.network.peer_cidrs.join(", "),
            "a tenant with sites declares each site's address ranges in the site (cidrs); every other site admits them",
            "move each range to the cidrs of the site it belongs to",
        ));
    }
    if let Some(first) = spec.sites.first()
        && first.provider != spec.provider
    {
        push(Problem::new(
            "provider",
            spec.provider,
            "the tenant's provider is its first site's: backups go to that provider's storage and the first site initialises the cluster",
            format!(
                "set provider: {}, or list a {} site first",
                first.provider, spec.provider
            ),
        ));
    }

    let mut sites = Vec::new();
    let mut names = BTreeSet::new();
    let mut clusters = BTreeSet::new();
    let mut regions = BTreeSet::new();
    let mut suffixes = BTreeSet::new();
    for (i, s) in spec.sites.iter_mut().enumerate() {
        if let Err(p) = super::validate::dns_label(&field(i, "name"), &s.name, 30, "aws-use1") {
            push(p);
        } else if !names.insert(s.name.clone()) {
            push(Problem::new(
                field(i, "name"),
                &s.name,
                "each site has its own name (it names the site's output folder)",
                "rename one of them",
            ));
        }
        if let Err(p) =
            super::validate::dns_label(&field(i, "cluster"), &s.cluster, 63, "acme-prod-use1")
        {
            push(p);
        } else if !clusters.insert(s.cluster.clone()) {
            push(Problem::new(
                field(i, "cluster"),
                &s.cluster,
                "each site is its own Kubernetes cluster",
                "name each site's cluster",
            ));
        }
        if !regions.insert(s.region.clone()) {
            push(Problem::new(
                field(i, "region"),
                &s.region,
                "each site is its own CockroachDB region (the region= locality tier), so region names differ between sites",
                "merge the sites, or name the data centre apart",
            ));
        }
        if s.nodes == 0 {
            push(Problem::new(
                field(i, "nodes"),
                s.nodes,
                "a site runs at least one CockroachDB node",
                "set nodes: 1 or more, or remove the site",
            ));
        }
        if let Some(domain) = &s.cluster_domain
            && let Err(e) = validate_dns_subdomain(&field(i, "cluster_domain"), domain)
        {
            push(Problem::from_model(e, ""));
        }
        let locality = match Locality::new(
            s.provider,
            vec![RegionSpec::new(s.region.clone(), s.zones.iter().cloned())],
        ) {
            Ok(l) => {
                s.zones.clone_from(&l.regions()[0].zones);
                Some(l)
            }
            Err(e) => {
                let mut p = Problem::from_model(e, "");
                p.field = p
                    .field
                    .replacen("regions[0].name", &field(i, "region"), 1)
                    .replacen("regions[0].", &format!("sites[{i}]."), 1);
                push(p);
                None
            }
        };
        let storage = match &s.storage_class {
            None => Some(s.provider.default_storage()),
            Some(class) => match s.provider.storage_profile(class) {
                Ok(p) => Some(p),
                Err(_) => {
                    let valid: Vec<&str> = s
                        .provider
                        .storage_profiles()
                        .iter()
                        .map(|p| p.class_name)
                        .collect();
                    push(Problem::new(
                        field(i, "storage_class"),
                        class,
                        format!(
                            "a storage class must be one the platform offers on provider {}",
                            s.provider
                        ),
                        format!("use one of {}", valid.join(", ")),
                    ));
                    None
                }
            },
        };
        match &s.identity {
            None => push(Problem::new(
                field(i, "identity"),
                "",
                "each site binds its ledger pods to a workload identity of its own provider",
                format!(
                    "add identity: {{kind: {}, …}}",
                    IdentityBinding::kinds_for(s.provider).join(" | ")
                ),
            )),
            Some(identity) => {
                if let Err(e) = identity.validate_for(s.provider) {
                    push(Problem::from_model(e, &format!("sites[{i}].")));
                }
            }
        }
        let advertise = advertise(i, s, &mut suffixes).map_err(&mut push).ok();
        if s.cidrs.is_empty() {
            push(Problem::new(
                field(i, "cidrs"),
                "",
                "the other sites' NetworkPolicies admit CockroachDB traffic only from declared ranges",
                "list where this site's nodes connect from, e.g. cidrs: [10.10.0.0/16]",
            ));
        }
        for (j, cidr) in s.cidrs.iter().enumerate() {
            if !is_cidr(cidr) {
                push(Problem::new(
                    format!("sites[{i}].cidrs[{j}]"),
                    cidr,
                    "an address range is an IP network in CIDR notation",
                    "e.g. 10.10.0.0/16",
                ));
            }
        }
        if let (Some(locality), Some(storage), Some(advertise)) = (locality, storage, advertise) {
            sites.push(Site {
                spec: s.clone(),
                locality,
                storage,
                advertise,
                primary: i == 0,
                brokers: 0,
            });
        }
    }
    if problems.len() > before || sites.len() != spec.sites.len() {
        return None;
    }
    let mut problems_here = Vec::new();
    let quorum = layout(spec, &sites, &mut problems_here);
    let redpanda = redpanda_layout(spec, &mut sites, &mut problems_here);
    problems.extend(problems_here);
    Some(Sites {
        sites,
        quorum: quorum?,
        redpanda: redpanda?,
    })
}

/// Redpanda over the sites: `redpanda.brokers` spread evenly over them (file order, the first
/// taking the remainder), each share over its site's zones, judged by the model's quorum rule
/// for topic replication 3 over the failure domain a site is (its provider under survival
/// provider, its region otherwise; a tenant of one site, its zones). Sets each site's broker count, then checks the addresses
/// of sites that list them.
fn redpanda_layout(
    spec: &TenantSpec,
    sites: &mut [Site],
    problems: &mut Vec<Problem>,
) -> Option<QuorumPlan> {
    let brokers_field = "redpanda.brokers";
    if let Some(region) = &spec.redpanda.region {
        problems.push(Problem::new(
            "redpanda.region",
            region,
            "a tenant with sites stretches Redpanda over every site (brokers racked by provider or region), so it has no one region",
            "remove redpanda.region",
        ));
        return None;
    }
    let brokers = spec.redpanda.brokers;
    let counts = crate::spread::even(brokers, sites.len());
    for (site, n) in sites.iter_mut().zip(counts) {
        site.brokers = n;
    }
    let placements: Vec<Placement> = sites.iter().flat_map(Site::broker_placements).collect();
    let kind = match spec.survival {
        SurvivalGoal::Provider => DomainKind::Provider,
        // One site: its zones are the failure domains (and the racks, by rack_of), as for a
        // tenant without sites and as CockroachDB's rule has them.
        _ if sites.len() == 1 => DomainKind::Zone,
        // A site is its own region: losing one must keep every partition's majority.
        _ => DomainKind::Region,
    };
    let plan = match quorum::check_placements(
        brokers_field,
        quorum::Members::Brokers,
        spec.provider,
        placements,
        kind,
        quorum::RULES.zone_replication_factor,
    ) {
        Ok(plan) => plan,
        Err(e) => {
            let mut p = Problem::from_model(e, "");
            p.rule = format!(
                "Redpanda's topics keep 3 replicas, racked by {kind}, and the brokers spread over the sites ({}): {}",
                sites
                    .iter()
                    .map(|s| format!("{} {}", s.name(), s.brokers))
                    .collect::<Vec<_>>()
                    .join(", "),
                p.rule
            );
            problems.push(p);
            return None;
        }
    };
    let before = problems.len();
    for (i, s) in sites.iter().enumerate() {
        let listed = &s.spec.advertise.brokers;
        match &s.advertise {
            Advertise::DnsSuffix(suffix) => {
                if !listed.is_empty() {
                    problems.push(Problem::new(
                        field(i, "advertise.brokers"),
                        listed.len(),
                        format!("with dns_suffix the brokers are named redpanda-<n>.{suffix}"),
                        "remove advertise.brokers, or list addresses instead of dns_suffix",
                    ));
                }
            }
            Advertise::Addresses(_) => {
                if listed.len() != usize::try_from(s.brokers).unwrap_or(usize::MAX) {
                    problems.push(Problem::new(
                        field(i, "advertise.brokers"),
                        listed.len(),
                        format!(
                            "one address per Redpanda broker, in pod order, where the other sites reach it: the site runs {} of the {brokers} brokers",
                            s.brokers
                        ),
                        format!(
                            "list {} address(es) in advertise.brokers (a LoadBalancer Service per broker pod), or use dns_suffix",
                            s.brokers
                        ),
                    ));
                }
                for (j, a) in listed.iter().enumerate() {
                    if a.parse::<IpAddr>().is_err() && validate_dns_subdomain("address", a).is_err()
                    {
                        problems.push(Problem::new(
                            format!("sites[{i}].advertise.brokers[{j}]"),
                            a,
                            "an address is an IP address or a DNS name (no port, no scheme)",
                            "e.g. 192.168.40.20 or redpanda-0.fra.ledger.internal",
                        ));
                    }
                }
            }
        }
    }
    (problems.len() == before).then_some(plan)
}

fn advertise(
    i: usize,
    s: &SiteSpec,
    suffixes: &mut BTreeSet<String>,
) -> Result<Advertise, Problem> {
    match (&s.advertise.dns_suffix, s.advertise.addresses.is_empty()) {
        (Some(suffix), true) => {
            validate_dns_subdomain(&field(i, "advertise.dns_suffix"), suffix)
                .map_err(|e| Problem::from_model(e, ""))?;
            if !suffixes.insert(suffix.clone()) {
                return Err(Problem::new(
                    field(i, "advertise.dns_suffix"),
                    suffix,
                    "each site's nodes need names of their own (pods are named alike in every site)",
                    format!("e.g. {}.ledger.internal", s.name),
                ));
            }
            Ok(Advertise::DnsSuffix(suffix.clone()))
        }
        (None, false) => {
            if s.advertise.addresses.len() != usize::try_from(s.nodes).unwrap_or(usize::MAX) {
                return Err(Problem::new(
                    field(i, "advertise.addresses"),
                    s.advertise.addresses.len(),
                    format!(
                        "one address per node, in pod order: the site has {} nodes",
                        s.nodes
                    ),
                    "list one address per node, or use dns_suffix",
                ));
            }
            for (j, a) in s.advertise.addresses.iter().enumerate() {
                if a.parse::<IpAddr>().is_err() && validate_dns_subdomain("address", a).is_err() {
                    return Err(Problem::new(
                        format!("sites[{i}].advertise.addresses[{j}]"),
                        a,
                        "an address is an IP address or a DNS name (no port, no scheme)",
                        "e.g. 10.10.4.21 or node-0.use1.ledger.internal",
                    ));
                }
            }
            Ok(Advertise::Addresses(s.advertise.addresses.clone()))
        }
        (dns, _) => Err(Problem::new(
            field(i, "advertise"),
            dns.as_deref().unwrap_or(""),
            "the other sites reach this site's nodes by exactly one of dns_suffix or addresses",
            "give dns_suffix: <suffix> (multi-cluster DNS) or addresses: [one per node] (a LoadBalancer Service per pod)",
        )),
    }
}

fn is_cidr(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(ip, bits)| {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return false;
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        bits.parse::<u8>().is_ok_and(|b| b <= max)
    })
}

/// The survival goal over the sites: the model's quorum rule on the sites' placements.
fn layout(spec: &TenantSpec, sites: &[Site], problems: &mut Vec<Problem>) -> Option<QuorumPlan> {
    let total: u32 = sites.iter().map(Site::nodes).sum();
    if let Some(n) = spec.cockroachdb.nodes
        && n != total
    {
        problems.push(Problem::new(
            "cockroachdb.nodes",
            n,
            format!("a tenant with sites runs the nodes its sites declare: {total} in all"),
            format!("set nodes: {total}, or leave it out"),
        ));
        return None;
    }
    let goal = spec.survival;
    let providers: BTreeSet<Provider> = sites.iter().map(Site::provider).collect();
    if goal == SurvivalGoal::Provider {
        if providers.len() < quorum::MIN_FAILURE_DOMAINS {
            problems.push(Problem::new(
                "sites",
                providers.len(),
                format!(
                    "surviving a provider outage needs nodes on at least {} providers, so a majority of 5 replicas remains",
                    quorum::MIN_FAILURE_DOMAINS
                ),
                "add a site on another provider (aws, azure, gcp, onprem), or choose survival: region",
            ));
            return None;
        }
        for provider in &providers {
            let regions: BTreeSet<&str> = sites
                .iter()
                .filter(|s| s.provider() == *provider)
                .map(Site::region)
                .collect();
            if regions.len() > 1 {
                let i = sites
                    .iter()
                    .rposition(|s| s.provider() == *provider)
                    .unwrap_or(0);
                problems.push(Problem::new(
                    field(i, "region"),
                    sites[i].region(),
                    format!(
                        "with survival provider each provider is one CockroachDB region: SURVIVE REGION FAILURE then keeps any provider's loss to a minority of the 5 replicas, where {provider} spans {}",
                        regions.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    format!("keep {provider}'s sites in one region, or choose survival: region"),
                ));
                return None;
            }
        }
    }
    if goal != SurvivalGoal::Zone && spec.cockroachdb.databases.is_empty() {
        problems.push(Problem::new(
            "cockroachdb.databases",
            "",
            format!(
                "survival {goal} is set per database (ALTER DATABASE … SURVIVE REGION FAILURE), so the init Job needs the ledger's databases"
            ),
            "add databases: [ledger]",
        ));
        return None;
    }
    let placements: Vec<Placement> = sites.iter().flat_map(Site::placements).collect();
    match quorum::check_placements(
        "sites",
        quorum::Members::Nodes,
        spec.provider,
        placements,
        goal.domain_kind(),
        goal.replication_factor(),
    ) {
        Ok(plan) => Some(plan),
        Err(e) => {
            problems.push(Problem::from_model(e, ""));
            None
        }
    }
}
