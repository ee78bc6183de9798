# Topology: production ledger databases keep quorum through the loss of a node — required
# pod anti-affinity, a PodDisruptionBudget of one, odd node counts of 3 or more, and
# replication factor 3 or more for Redpanda topics — and tenant files keep quorum through the
# loss of a failure domain of their survival goal (the quorum rule, below).
package thinledger.topology

import data.thinledger.lib
import rego.v1

# A required anti-affinity term keeps two pods off one node when it spreads over hosts (or over
# anything coarser, such as zones).
spread_keys := {"kubernetes.io/hostname", "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}

production_db_workloads contains m if {
	some kind in {"StatefulSet", "Deployment"}
	some m in lib.manifests_by_kind[kind]
	lib.component(m.obj) != ""
	lib.is_production(m.obj)
}

# Every matchLabels pair of a selector is among the labels.
selects(selector, pod_labels) if {
	match := lib.as_object(object.get(selector, "matchLabels", {}))
	count(match) > 0
	every k, v in match {
		pod_labels[k] == v
	}
}

has_required_anti_affinity(m) if {
	some term in object.get(lib.as_object(lib.pod_spec(m.obj)), ["affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], [])
	term.topologyKey in spread_keys
	selects(lib.as_object(object.get(term, "labelSelector", {})), lib.pod_labels(m.obj))
}

deny contains lib.finding(
	"topology.anti_affinity",
	m,
	"no required podAntiAffinity term over kubernetes.io/hostname (or the zone) that selects the pod's own labels: two database pods could share a node",
	"Add affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution with topologyKey kubernetes.io/hostname and a labelSelector matching the pod template's labels.",
) if {
	some m in production_db_workloads
	not has_required_anti_affinity(m)
}

deny contains lib.finding(
	"topology.anti_affinity",
	m,
	"CrdbCluster has no required podAntiAffinity term over kubernetes.io/hostname (or the zone); note the operator applies affinity only with its AffinityRules feature gate on",
	"Set spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution and enable the operator's AffinityRules feature gate.",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	not crdb_cluster_anti_affinity(m.obj)
}

crdb_cluster_anti_affinity(o) if {
	some term in o.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution
	term.topologyKey in spread_keys
}

deny contains lib.finding(
	"topology.anti_affinity",
	m,
	"Redpanda's statefulset.podAntiAffinity.type is soft: two brokers could share a node",
	"Set spec.clusterSpec.statefulset.podAntiAffinity.type: hard.",
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	m.obj.spec.clusterSpec.statefulset.podAntiAffinity.type == "soft"
}

# PodDisruptionBudgets.
budgets_for(m) := [b |
	some b in lib.manifests_by_kind.PodDisruptionBudget
	lib.namespace(b.obj) == lib.namespace(m.obj)
	selects(lib.as_object(object.get(lib.spec(b.obj), "selector", {})), lib.pod_labels(m.obj))
]

deny contains lib.finding(
	"topology.pdb",
	m,
	"no PodDisruptionBudget in the input selects this database's pods: a node drain could take several at once and break quorum",
	"Add a PodDisruptionBudget with maxUnavailable: 1 whose selector matches the pod template's labels.",
) if {
	some m in production_db_workloads
	count(budgets_for(m)) == 0
}

# A StatefulSet or Deployment without replicas runs one pod. A value that is not a count is
# reported by input.malformed; the rules read nothing then.
replicas(o) := n if {
	n := object.get(lib.spec(o), "replicas", 1)
	lib.is_count(n)
}

deny contains lib.finding(
	"topology.pdb",
	b,
	sprintf("the PodDisruptionBudget lets %v of %v database pods be unavailable; more than one breaks quorum", [allowed, replicas(m.obj)]),
	"Use maxUnavailable: 1.",
) if {
	some m in production_db_workloads
	some b in budgets_for(m)
	allowed := unavailable(b.obj.spec, replicas(m.obj))
	allowed > 1
}

unavailable(spec, n) := spec.maxUnavailable if {
	lib.is_count(spec.maxUnavailable)
} else := n - spec.minAvailable if {
	lib.is_count(spec.minAvailable)
}

deny contains lib.finding(
	"topology.pdb",
	m,
	sprintf("CrdbCluster maxUnavailable is %v; more than one unavailable node breaks quorum", [m.obj.spec.maxUnavailable]),
	"Use spec.maxUnavailable: 1 (the default).",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	lib.is_count(m.obj.spec.maxUnavailable)
	m.obj.spec.maxUnavailable > 1
}

# Node counts: odd, 3 or more.
# Counts that are not whole numbers are reported by input.malformed instead.
bad_count(n) if {
	lib.is_count(n)
	n < 3
}

bad_count(n) if {
	lib.is_count(n)
	lib.is_even(n)
}

count_problem(n) := sprintf("%v nodes: a quorum needs at least 3", [n]) if {
	n < 3
} else := sprintf("%v nodes is even: an even count tolerates no more failures than the odd count below it and can split a vote in half", [n])

count_remediation := "Use an odd count of 3 or more (3, 5, 7…): 3 to survive a node or zone, 5 recommended for multi-region."

deny contains lib.finding("topology.node_count", m, count_problem(n), count_remediation) if {
	some m in production_db_workloads
	m.obj.kind == "StatefulSet"
	not site_share(m.obj)
	n := replicas(m.obj)
	bad_count(n)
}

# One site's share of a ledger stretched over several Kubernetes clusters: labelled
# thinledger.io/site with the name of a site that a tenant file in the input declares. Its
# count is not the cluster's: topology.quorum judges the whole layout on that tenant file.
site_share(o) if {
	site := object.get(lib.labels(o), "thinledger.io/site", "")
	is_string(site)
	site != ""
	some t in lib.tenants
	some s in lib.as_array(object.get(t.doc, "sites", []))
	is_object(s)
	object.get(s, "name", "") == site
}

deny contains lib.finding("topology.node_count", m, count_problem(n), count_remediation) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	n := m.obj.spec.nodes
	bad_count(n)
}

deny contains lib.finding("topology.node_count", m, count_problem(n), count_remediation) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	n := m.obj.spec.clusterSpec.statefulset.replicas
	bad_count(n)
}

# Replication factor of Redpanda topics.
min_replication := 3

rf_remediation := "Use replication factor 3 (or more) for ledger topics."

deny contains lib.finding(
	"topology.replication_factor",
	m,
	sprintf("topic replication factor %v is under %v: one broker loss could lose acknowledged events", [rf, min_replication]),
	rf_remediation,
) if {
	some m in lib.manifests_by_kind.Topic
	startswith(m.obj.apiVersion, "cluster.redpanda.com/")
	lib.is_production(m.obj)
	rf := m.obj.spec.replicationFactor
	lib.is_count(rf)
	rf < min_replication
}

deny contains lib.finding(
	"topology.replication_factor",
	m,
	sprintf("default_topic_replications %v is under %v: one broker loss could lose acknowledged events", [rf, min_replication]),
	rf_remediation,
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	rf := m.obj.spec.clusterSpec.config.cluster.default_topic_replications
	lib.is_count(rf)
	rf < min_replication
}

deny contains lib.finding(
	"topology.replication_factor",
	{"address": p.rc.address, "path": p.path},
	sprintf("replication_factor %v is under %v: one broker loss could lose acknowledged events", [rf, min_replication]),
	rf_remediation,
) if {
	some topic_type in {"redpanda_topic", "kafka_topic"}
	some p in lib.present_by_type[topic_type]
	lib.tf_production(p.after)
	rf := p.after.replication_factor
	lib.is_count(rf)
	rf < min_replication
}

# ---------------------------------------------------------------------------------------------
# Tenant files: the quorum rule of crates/topology's quorum module, over the spread thinledger
# computes for the file's regions and zones. Any tier: tenant validation refuses these files
# whatever the tier. The figures are thinledger_topology::quorum::RULES (a test keeps them
# equal) and the tenant files under tests/fixtures/quorum are the verdict table both reach.
#
# 1. Counts are odd and at least 3.
# 2. Zone survival on a cloud needs 3 listed zones; region survival 3 regions and 5 nodes.
# 3. Nodes spread as evenly as possible over the goal's failure domains (zones; or regions,
#    then their zones), the first taking the remainder.
# 4. Replicas go one at a time where they share the fewest locality tiers with those already
#    placed (CockroachDB's diversity score; Redpanda's racks), one per node. A domain that can
#    end up with half the replicas or more (ties resolved in its favour) loses quorum with it.
#
# Booleans become counts with count([1 | condition]), so every engine computes the same.
# ---------------------------------------------------------------------------------------------

quorum_rules := {
	"min_nodes": 3,
	"min_failure_domains": 3,
	"zone_replication_factor": 3,
	"region_replication_factor": 5,
}

replication_factor("zone") := quorum_rules.zone_replication_factor

replication_factor("region") := quorum_rules.region_replication_factor

replication_factor("provider") := quorum_rules.region_replication_factor

tenant_regions(doc) := [r |
	some r in lib.as_array(object.get(doc, "regions", []))
	is_object(r)
]

region_zones(r) := lib.as_array(object.get(r, "zones", []))

cloud_provider(doc) if not lib.provider_name(object.get(doc, "provider", "")) in {"onprem", "on-prem"}

# Slot i's share of n over k slots, as even as possible: the first n - k × ⌊n/k⌋ take one more.
share_of(n, k, i) := base + count([1 | i < n - k * base]) if base := floor(n / k)

# The places nodes go, in order: each listed zone, or the region when it lists none; each
# {"i": region index, "j": zone index (-1 without zones), "nodes": count}.
flat_places(regions) := sort([[i, j] |
	some i, r in regions
	some j in zone_indices(r)
])

zone_indices(r) := [-1] if count(region_zones(r)) == 0

zone_indices(r) := numbers.range(0, count(region_zones(r)) - 1) if count(region_zones(r)) > 0

places("zone", regions, n) := [{"i": at[0], "j": at[1], "nodes": share_of(n, count(flat), k)} |
	flat := flat_places(regions)
	some k, at in flat
]

places("region", regions, n) := [{"i": at[0], "j": at[1], "nodes": zone_share(per_region, regions[at[0]], at[1])} |
	some at in flat_places(regions)
	per_region := share_of(n, count(regions), at[0])
]

zone_share(n, _, j) := n if j < 0

zone_share(n, r, j) := share_of(n, count(region_zones(r)), j) if j >= 0

# Locality tiers two places share: the provider (places of a tenant without sites have no "p":
# they all share it), the region, the zone.
shared_tiers(a, b) := (count([1 | object.get(a, "p", "") == object.get(b, "p", "")]) + count([1 | a.i == b.i])) + count([1 | a.i == b.i; a.j == b.j; a.j >= 0])

# One replica more, on the place with a free node that shares the fewest tiers with the
# replicas placed so far; ties to the places `inside` marks (1), then to the first.
place_one(ps, inside, x) := y if {
	candidates := [[cost, 1 - inside[k], k] |
		some k, p in ps
		x[k] < p.nodes
		cost := sum([c | some m, q in ps; c := x[m] * shared_tiers(p, q)])
	]
	count(candidates) > 0
	best := min(candidates)
	y := [v |
		some k, n in x
		v := n + count([1 | k == best[2]])
	]
} else := x

# The replicas of one range per place, placed in favour of the places `inside` marks.
range_replicas(ps, rf, inside) := {3: x3, 5: x5}[rf] if {
	x1 := place_one(ps, inside, [0 | some _ in ps])
	x2 := place_one(ps, inside, x1)
	x3 := place_one(ps, inside, x2)
	x4 := place_one(ps, inside, x3)
	x5 := place_one(ps, inside, x4)
}

# The goal's failure domains, in order: [name, marks of the places in it].
domains("zone", regions, ps) := [[region_zones(regions[p.i])[p.j], inside] |
	some p in ps
	p.j >= 0
	inside := [count([1 | q.i == p.i; q.j == p.j]) | some q in ps]
]

domains("region", regions, ps) := [[object.get(r, "name", ""), inside] |
	some i, r in regions
	inside := [count([1 | q.i == i]) | some q in ps]
]

domains("provider", _, ps) := [[name, inside] |
	some name in provider_order(ps)
	inside := [count([1 | q.p == name]) | some q in ps]
]

# The providers of the places, in the order they first appear.
provider_order(ps) := [q.p |
	some k, q in ps
	count([1 | some m, r in ps; m < k; r.p == q.p]) == 0
]

# Failure domains holding nodes: places (a data centre without zones counts once, as
# thinledger_topology lists its hosts), or regions.
domains_holding("zone", ps) := count([p | some p in ps; p.nodes > 0])

domains_holding("region", ps) := count({p.i | some p in ps; p.nodes > 0})

domains_holding("provider", ps) := count({p.p | some p in ps; p.nodes > 0})

# The first failure domain holding the most replicas, when that is half of them or more:
# [-replicas, index, name, nodes].
majority_lost(goal, regions, ps, rf) := min(held) if {
	held := [[0 - most, k, d[0], nodes] |
		some k, d in domains(goal, regions, ps)
		x := range_replicas(ps, rf, d[1])
		most := sum([r | some m, r in x; d[1][m] == 1])
		2 * most >= rf
		nodes := sum([c | some m, p in ps; d[1][m] == 1; c := p.nodes])
	]
	count(held) > 0
}

domains_field("zone") := "zones"

domains_field("region") := "regions"

majority_fix(goal, ps) := sprintf("spread the nodes over at least 3 %ss", [goal]) if {
	domains_holding(goal, ps) < quorum_rules.min_failure_domains
} else := "list at least 2 zones in every region (so its replicas need not share one), or add a region" if {
	goal == "region"
} else := sprintf("spread the nodes over more %ss", [goal])

# The first problem of a count `n` (field `field`) over `regions` for `goal`, as
# thinledger_topology::quorum::plan reports it: {field, value, rule, fix}.
quorum_problem(field, n, goal, doc, regions) := p if {
	n < quorum_rules.min_nodes
	p := {"field": field, "value": n, "rule": "at least 3 are needed to keep a Raft majority through the loss of one", "fix": "use 3 (or 5 to survive two failures)"}
} else := p if {
	lib.is_even(n)
	p := {"field": field, "value": n, "rule": sprintf("counts must be odd: %v tolerates no more failures than %v and can split a vote in half", [n, n - 1]), "fix": sprintf("use %v or %v", [n - 1, n + 1])}
} else := p if {
	goal == "provider"
	p := {"field": "providers", "value": 1, "rule": sprintf("surviving a provider outage needs nodes on at least 3 providers so a majority of 5 replicas remains, and these nodes are all on %s", [site_provider(doc)]), "fix": "spread the nodes over three providers (a tenant file's sites; ledger-size --providers), or choose survival goal region"}
} else := p if {
	goal == "zone"
	cloud_provider(doc)
	listed := count([z | some r in regions; some z in region_zones(r)])
	listed < quorum_rules.min_failure_domains
	p := {"field": "zones", "value": listed, "rule": "surviving a zone needs nodes in at least 3 zones so a majority of 3 replicas remains", "fix": "list 3 zones of the region"}
} else := p if {
	goal == "region"
	count(regions) < quorum_rules.min_failure_domains
	p := {"field": "regions", "value": count(regions), "rule": "surviving a region needs at least 3 regions so a majority of 5 replicas remains", "fix": "add regions, or choose survival goal zone"}
} else := p if {
	n < replication_factor(goal)
	p := {"field": field, "value": n, "rule": sprintf("the survival goal keeps %v replicas of every range, each on its own node", [replication_factor(goal)]), "fix": sprintf("use at least %v nodes", [replication_factor(goal)])}
} else := p if {
	rf := replication_factor(goal)
	ps := places(goal, regions, n)
	lost := majority_lost(goal, regions, ps, rf)
	p := {
		"field": domains_field(goal),
		"value": domains_holding(goal, ps),
		"rule": sprintf("losing %s %s (%v of %v nodes) would lose %v of the %v replicas of some ranges, a majority, and they would stop", [goal, lost[2], lost[3], n, 0 - lost[0], rf]),
		"fix": majority_fix(goal, ps),
	}
}

# Each tenant's problems: [tenant, {field, value, rule, fix}].
# CockroachDB: the file's node count over its regions and zones.
tenant_quorum contains [t, p] if {
	some t in lib.tenants
	count(tenant_sites(t.doc)) == 0
	n := object.get(t.doc, ["cockroachdb", "nodes"], null)
	lib.is_count(n)
	goal := object.get(t.doc, "survival", "zone")
	goal in {"zone", "region", "provider"}
	q := quorum_problem("cockroachdb.nodes", n, goal, t.doc, tenant_regions(t.doc))
	p := object.union(q, {"field": cockroach_field(q.field)})
}

# Surviving a provider is declared with sites.
tenant_quorum contains [t, p] if {
	some t in lib.tenants
	count(tenant_sites(t.doc)) == 0
	object.get(t.doc, "survival", "zone") == "provider"
	p := {"field": "survival", "value": "provider", "rule": "surviving a provider outage needs nodes on at least 3 providers, declared as sites", "fix": "declare sites: on three providers, or choose survival: zone or region"}
}

# CockroachDB over sites: the nodes each site declares, spread over its zones.
tenant_quorum contains [t, p] if {
	some t in lib.tenants
	sites := tenant_sites(t.doc)
	count(sites) > 0
	every s in sites {
		lib.is_count(object.get(s, "nodes", null))
	}
	goal := object.get(t.doc, "survival", "zone")
	goal in {"zone", "region", "provider"}
	p := sites_problem(t.doc, sites, goal)
	p != null
}

cockroach_field(f) := "regions[0].zones" if f == "zones"

cockroach_field(f) := f if f != "zones"

# Redpanda without sites: its brokers over the zones of its one region (zone survival, 3
# replicas).
tenant_quorum contains [t, p] if {
	some t in lib.tenants
	count(tenant_sites(t.doc)) == 0
	n := object.get(t.doc, ["redpanda", "brokers"], 3)
	lib.is_count(n)
	regions := redpanda_regions(t.doc)
	count(regions) > 0
	name := object.get(t.doc, ["redpanda", "region"], object.get(regions[0], "name", ""))
	some r in regions
	object.get(r, "name", "") == name
	q := quorum_problem("redpanda.brokers", n, "zone", t.doc, [r])
	p := redpanda_problem(q, name)
}

# ---------------------------------------------------------------------------------------------
# Tenant files with sites (crates/topology's tenant::site): one ledger over several Kubernetes
# clusters, each of one provider and region. Each site's nodes spread over its zones (or its
# hosts); the survival goal's failure domains are providers, regions (one per site) or zones,
# judged with the same replica model as above (thinledger_topology::quorum::check_placements).
# ---------------------------------------------------------------------------------------------

tenant_sites(doc) := [s |
	some s in lib.as_array(object.get(doc, "sites", []))
	is_object(s)
]

site_provider(s) := "onprem" if {
	lib.provider_name(object.get(s, "provider", "")) == "on-prem"
} else := lib.provider_name(object.get(s, "provider", ""))

site_region(s) := object.get(s, "region", object.get(s, "data_centre", ""))

# Each site as a region of the replica model.
site_regions(sites) := [{"name": site_region(s), "zones": lib.as_array(object.get(s, "zones", object.get(s, "racks", [])))} | some s in sites]

site_places(sites) := [{"p": site_provider(sites[at[0]]), "i": at[0], "j": at[1], "nodes": zone_share(sites[at[0]].nodes, regions[at[0]], at[1])} |
	regions := site_regions(sites)
	some at in flat_places(regions)
]

site_providers(sites) := {site_provider(s) | some s in sites}

# A provider whose sites are in several regions: [provider, index of its last site, regions].
provider_spanning_regions(sites) := min(spans) if {
	spans := [[provider, last, sort(regions)] |
		some provider in site_providers(sites)
		regions := {site_region(s) | some s in sites; site_provider(s) == provider}
		count(regions) > 1
		last := max([i | some i, s in sites; site_provider(s) == provider])
	]
	count(spans) > 0
}

# The number of failure domains of `goal` the model lists: providers, sites (regions), or
# zones and zone-less sites.
domain_count("provider", sites, _) := count(site_providers(sites))

domain_count("region", sites, _) := count(sites)

domain_count("zone", _, ps) := count(ps)

# The fix of a lost majority in a layout given site by site.
given_fix(goal, sites, ps, lost, total) := given_fix_of("nodes", goal, sites, ps, lost, total)

# The same, for members called `noun` (nodes, or Redpanda's brokers).
given_fix_of(noun, goal, sites, ps, lost, total) := sprintf("spread the %s over at least 3 %ss", [noun, goal]) if {
	domains_holding(goal, ps) < quorum_rules.min_failure_domains
} else := sprintf("move %s out of %s %s: spread the %v as evenly as possible over the %v %ss (%s)", [noun, goal, lost[2], total, k, goal, concat("/", [sprintf("%v", [share_of(total, k, i)]) | some i in numbers.range(0, k - 1)])]) if {
	k := domain_count(goal, sites, ps)
}

# The first problem of a tenant's sites, as tenant validation reports it.
sites_problem(doc, sites, goal) := p if {
	total := sum([s.nodes | some s in sites])
	n := object.get(doc, ["cockroachdb", "nodes"], null)
	lib.is_count(n)
	n != total
	p := {"field": "cockroachdb.nodes", "value": n, "rule": sprintf("a tenant with sites runs the nodes its sites declare: %v in all", [total]), "fix": sprintf("set nodes: %v, or leave it out", [total])}
} else := p if {
	goal == "provider"
	count(site_providers(sites)) < quorum_rules.min_failure_domains
	p := {"field": "sites", "value": count(site_providers(sites)), "rule": "surviving a provider outage needs nodes on at least 3 providers, so a majority of 5 replicas remains", "fix": "add a site on another provider (aws, azure, gcp, onprem), or choose survival: region"}
} else := p if {
	goal == "provider"
	x := provider_spanning_regions(sites)
	p := {
		"field": sprintf("sites[%v].region", [x[1]]),
		"value": site_region(sites[x[1]]),
		"rule": sprintf("with survival provider each provider is one CockroachDB region: SURVIVE REGION FAILURE then keeps any provider's loss to a minority of the 5 replicas, where %s spans %s", [x[0], concat(", ", x[2])]),
		"fix": sprintf("keep %s's sites in one region, or choose survival: region", [x[0]]),
	}
} else := p if {
	# The init Job needs the databases first (another rule's refusal): no quorum verdict.
	goal != "zone"
	count(lib.as_array(object.get(doc, ["cockroachdb", "databases"], []))) == 0
	p := null
} else := p if {
	total := sum([s.nodes | some s in sites])
	total < quorum_rules.min_nodes
	p := {"field": "sites", "value": total, "rule": "at least 3 are needed to keep a Raft majority through the loss of one", "fix": "use 3 (or 5 to survive two failures)"}
} else := p if {
	total := sum([s.nodes | some s in sites])
	lib.is_even(total)
	p := {"field": "sites", "value": total, "rule": sprintf("counts must be odd: %v tolerates no more failures than %v and can split a vote in half", [total, total - 1]), "fix": sprintf("use %v or %v", [total - 1, total + 1])}
} else := p if {
	total := sum([s.nodes | some s in sites])
	total < replication_factor(goal)
	p := {"field": "sites", "value": total, "rule": sprintf("the survival goal keeps %v replicas of every range, each on its own node", [replication_factor(goal)]), "fix": sprintf("use at least %v nodes", [replication_factor(goal)])}
} else := p if {
	total := sum([s.nodes | some s in sites])
	rf := replication_factor(goal)
	ps := site_places(sites)
	lost := majority_lost(goal, site_regions(sites), ps, rf)
	p := {
		"field": "sites",
		"value": lost[3],
		"rule": sprintf("losing %s %s (%v of %v nodes) would lose %v of the %v replicas of some ranges, a majority, and they would stop", [goal, lost[2], lost[3], total, 0 - lost[0], rf]),
		"fix": given_fix(goal, sites, ps, lost, total),
	}
}

# Redpanda's regions (a tenant without sites).
redpanda_regions(doc) := tenant_regions(doc)

# ---------------------------------------------------------------------------------------------
# Redpanda stretched over the sites (crates/topology's tenant::site): `redpanda.brokers` spread
# as evenly as possible over the sites in file order (the first take the remainder), each
# site's share over its zones, judged for topic replication 3 with the same replica model.
# The failure domain is a site (its region), its provider under survival provider, and with
# one site each of its zones, as without sites.
# ---------------------------------------------------------------------------------------------

tenant_quorum contains [t, p] if {
	some t in lib.tenants
	sites := tenant_sites(t.doc)
	count(sites) > 0
	region := object.get(t.doc, ["redpanda", "region"], null)
	region != null
	p := {"field": "redpanda.region", "value": region, "rule": "a tenant with sites stretches Redpanda over every site (brokers racked by provider or region), so it has no one region", "fix": "remove redpanda.region"}
}

tenant_quorum contains [t, p] if {
	some t in lib.tenants
	sites := tenant_sites(t.doc)
	count(sites) > 0
	object.get(t.doc, ["redpanda", "region"], null) == null
	n := object.get(t.doc, ["redpanda", "brokers"], 3)
	lib.is_count(n)
	goal := object.get(t.doc, "survival", "zone")
	goal in {"zone", "region", "provider"}
	q := redpanda_sites_problem(sites, n, redpanda_site_domain(goal, sites))
	p := object.union(q, {"rule": sprintf("Redpanda's topics keep 3 replicas, racked by %s, and the brokers spread over the sites (%s): %s", [redpanda_site_domain(goal, sites), broker_shares(sites, n), q.rule])})
}

redpanda_site_domain("provider", _) := "provider"

redpanda_site_domain(goal, sites) := "zone" if {
	goal != "provider"
	count(sites) == 1
}

redpanda_site_domain(goal, sites) := "region" if {
	goal != "provider"
	count(sites) != 1
}

# `name count` of each site's brokers, as tenant validation lists them.
broker_shares(sites, n) := concat(", ", [sprintf("%v %v", [object.get(s, "name", ""), share_of(n, count(sites), i)]) | some i, s in sites])

broker_places(sites, n) := [{"p": site_provider(sites[at[0]]), "i": at[0], "j": at[1], "nodes": zone_share(share_of(n, count(sites), at[0]), regions[at[0]], at[1])} |
	regions := site_regions(sites)
	some at in flat_places(regions)
]

# The first problem of `n` brokers over the sites for failure domain `kind`
# (thinledger_topology::quorum::check_placements on field redpanda.brokers).
redpanda_sites_problem(sites, n, kind) := p if {
	n < quorum_rules.min_nodes
	p := {"field": "redpanda.brokers", "value": n, "rule": "at least 3 are needed to keep a Raft majority through the loss of one", "fix": "use 3 (or 5 to survive two failures)"}
} else := p if {
	lib.is_even(n)
	p := {"field": "redpanda.brokers", "value": n, "rule": sprintf("counts must be odd: %v tolerates no more failures than %v and can split a vote in half", [n, n - 1]), "fix": sprintf("use %v or %v", [n - 1, n + 1])}
} else := p if {
	rf := quorum_rules.zone_replication_factor
	ps := broker_places(sites, n)
	lost := majority_lost(kind, site_regions(sites), ps, rf)
	p := {
		"field": "redpanda.brokers",
		"value": lost[3],
		"rule": sprintf("losing %s %s (%v of %v brokers) would lose %v of the %v replicas of some partitions, a majority, and they would stop", [kind, lost[2], lost[3], n, 0 - lost[0], rf]),
		"fix": given_fix_of("brokers", kind, sites, ps, lost, n),
	}
}

redpanda_problem(q, region) := object.union(broker_words(q), {"field": "redpanda.region", "value": region}) if q.field == "zones"

redpanda_problem(q, _) := broker_words(q) if q.field != "zones"

# A problem of the shared rule worded for brokers and partitions, as
# thinledger_topology::quorum::broker_plan words it.
broker_words(q) := object.union(q, {
	"rule": replace(replace(q.rule, " nodes) would lose", " brokers) would lose"), "replicas of some ranges", "replicas of some partitions"),
	"fix": replace(q.fix, "spread the nodes", "spread the brokers"),
})

deny contains lib.finding(
	"topology.quorum",
	tp[0],
	sprintf("%s = %v: %s", [tp[1].field, tp[1].value, tp[1].rule]),
	sprintf("Fix: %s.", [tp[1].fix]),
) if {
	some tp in tenant_quorum
}
