# Topology: production ledger databases keep quorum through the loss of a node — required
# pod anti-affinity, a PodDisruptionBudget of one, odd node counts of 3 or more, and
# replication factor 3 or more for Redpanda topics.
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
} else := sprintf("%v nodes is even: an even count tolerates no more failures than the odd count below it and can split evenly between zones", [n])

count_remediation := "Use an odd count of 3 or more: 3 to survive a node or zone, 5 recommended for multi-region."

deny contains lib.finding("topology.node_count", m, count_problem(n), count_remediation) if {
	some m in production_db_workloads
	m.obj.kind == "StatefulSet"
	n := replicas(m.obj)
	bad_count(n)
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
