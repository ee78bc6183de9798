# Input: fields the guardrails read must have the type they read. A rule that cannot read a
# field would otherwise find nothing and pass (a production database at 2 vCPU whose container
# has no name, `replicas: "3"`, `nodes: 3.5`), so each such field is a denial of its own,
# input.malformed, in every engine. Only fields some rule reads are checked.
package thinledger.input

import data.thinledger.lib
import data.thinledger.sizing
import rego.v1

remediation := "Fix the field's type or value: the guardrails cannot judge what they cannot read, so they deny it (the Kubernetes API, Terraform or the operator would refuse or misread it too)."

deny contains lib.finding(
	"input.malformed",
	p.m,
	sprintf("%s is %s; expected %s", [p.field, p.found, p.expected]),
	remediation,
) if {
	some p in problems
}

# A field whose value v is not what the rules read.
bad(m, field, v, expected) := {"m": m, "field": field, "found": lib.describe(v), "expected": expected}

missing(m, field, expected) := {"m": m, "field": field, "found": "missing", "expected": expected}

# ------------------------------------------------------------------ every Kubernetes object

# These run for every object of the input, so each is a few statements and no function call
# (regorus pays a few µs for each): object.filter picks the fields checked, and a well-formed
# object (most of them) yields nothing to iterate.
problems contains bad(m, concat(".", ["metadata", key]), v, "a string") if {
	some m in lib.manifests
	meta := object.get(m.obj, "metadata", {})
	is_object(meta)
	some key, v in object.filter(meta, metadata_string_keys)
	not is_string(v)
}

metadata_string_keys := {"name", "namespace"}

problems contains bad(m, "metadata.labels", v, "an object of strings") if {
	some m in lib.manifests
	v := object.get(m.obj, ["metadata", "labels"], {})
	not is_object(v)
}

problems contains bad(m, sprintf("metadata.labels[%q]", [key]), v, "a string") if {
	some m in lib.manifests
	labels := object.get(m.obj, ["metadata", "labels"], {})
	is_object(labels)
	some key, v in object.filter(labels, read_labels)
	not is_string(v)
}

# The labels the rules read.
read_labels := {lib.tier_label, "thinledger.io/provider", "app.kubernetes.io/part-of", "app.kubernetes.io/name", "app.kubernetes.io/component"}

# ------------------------------------------------------------------ database containers

problems contains missing(x.m, container_field(x, "name"), "the container's name, a string") if {
	some x in sizing.db_containers
	not x.c.name
}

problems contains bad(x.m, container_field(x, "name"), x.c.name, "a non-empty string") if {
	some x in sizing.db_containers
	x.c.name != false
	not non_empty_string(x.c.name)
}

problems contains bad(x.m, container_field(x, "name"), false, "a non-empty string") if {
	some x in sizing.db_containers
	x.c.name == false
}

non_empty_string(v) if {
	is_string(v)
	v != ""
}

# containers[i] of the pod, by position (names may be what is wrong).
container_field(x, field) := sprintf("%s[%v].%s", [pod_path(x.m.obj), i, field]) if {
	some i, c in lib.containers(x.m.obj)
	c == x.c
} else := concat(".", ["container", field])

pod_path(o) := "spec.containers" if {
	o.kind == "Pod"
} else := "spec.template.spec.containers"

problems contains bad(x.m, container_field(x, key), v, "an array of strings") if {
	some x in sizing.db_containers
	some key in ["command", "args"]
	v := object.get(x.c, key, [])
	not strings_array(v)
}

strings_array(v) if {
	is_array(v)
	every s in v {
		is_string(s)
	}
}

problems contains p if {
	some x in sizing.db_containers
	some p in resource_problems(x.m, container_field(x, "resources"), object.get(x.c, "resources", {}))
}

problems contains bad(x.m, container_field(x, sprintf("args %s", [flag])), v, memory_expected) if {
	some x in sizing.db_containers
	lib.component(x.m.obj) == "cockroachdb"
	some key, flag in {"cache": "--cache", "sql": "--max-sql-memory"}
	v := sizing.container_memory_values(x.c)[key]
	not sizing.readable_memory_value(v)
}

memory_expected := "a fraction (.25), a percentage (25%) or a size (8GiB, 8Gi, 8589934592)"

# Problems of a resources block: {requests, limits} objects of cpu and memory quantities.
resource_problems(m, at, res) := {bad(m, at, res, "an object with requests and limits") | not is_object(res)} | {p |
	is_object(res)
	some part in ["requests", "limits"]
	some p in part_problems(m, concat(".", [at, part]), object.get(res, part, {}))
}

part_problems(m, at, part) := {bad(m, at, part, "an object of cpu and memory quantities") | not is_object(part)} | {bad(m, concat(".", [at, "cpu"]), v, cpu_expected) |
	is_object(part)
	v := object.get(part, "cpu", null)
	v != null
	not lib.cpu(v)
} | {bad(m, concat(".", [at, "memory"]), v, memory_quantity_expected) |
	is_object(part)
	v := object.get(part, "memory", null)
	v != null
	not lib.bytes(v)
}

cpu_expected := "a CPU quantity such as 8, \"8\" or \"7500m\""

memory_quantity_expected := "a memory quantity such as \"32Gi\" or 34359738368"

# ------------------------------------------------------------------ counts

count_expected := "a whole number, 0 or more"

problems contains bad(m, "spec.replicas", v, count_expected) if {
	some kind in ["StatefulSet", "Deployment"]
	some m in lib.manifests_by_kind[kind]
	lib.is_ledger(m.obj)
	v := object.get(lib.spec(m.obj), "replicas", 1)
	not lib.is_count(v)
}

problems contains missing(m, "spec.nodes", count_expected) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	object.get(lib.spec(m.obj), "nodes", null) == null
}

problems contains bad(m, concat(".", ["spec", key]), v, count_expected) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	some key in ["nodes", "maxUnavailable"]
	v := object.get(lib.spec(m.obj), key, null)
	v != null
	not lib.is_count(v)
}

problems contains p if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	some p in resource_problems(m, "spec.resources", object.get(lib.spec(m.obj), "resources", {}))
}

problems contains bad(m, concat(".", ["spec", key]), v, memory_expected) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	some key in ["cache", "maxSQLMemory"]
	v := object.get(lib.spec(m.obj), key, null)
	v != null
	not readable_string(v)
}

readable_string(v) if {
	is_string(v)
	sizing.readable_memory_value(v)
}

redpanda_counts := [
	["statefulset", "replicas"],
	["config", "cluster", "default_topic_replications"],
]

problems contains bad(m, concat(".", array.concat(["spec", "clusterSpec"], path)), v, count_expected) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	some path in redpanda_counts
	v := object.get(m.obj, array.concat(["spec", "clusterSpec"], path), null)
	v != null
	not lib.is_count(v)
}

problems contains bad(m, "spec.clusterSpec.resources.cpu.cores", v, cpu_expected) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	v := object.get(m.obj, ["spec", "clusterSpec", "resources", "cpu", "cores"], null)
	v != null
	not lib.cpu(v)
}

problems contains bad(m, "spec.replicationFactor", v, count_expected) if {
	some m in lib.manifests_by_kind.Topic
	v := object.get(lib.spec(m.obj), "replicationFactor", null)
	v != null
	not lib.is_count(v)
}

problems contains bad({"address": p.rc.address, "path": p.path}, "replication_factor", v, count_expected) if {
	some topic_type in {"redpanda_topic", "kafka_topic"}
	some p in lib.present_by_type[topic_type]
	v := object.get(p.after, "replication_factor", null)
	v != null
	not lib.is_count(v)
}

# ------------------------------------------------------------------ tenant files

problems contains bad(t, concat(".", [part, "resources.cpu"]), v, cpu_expected) if {
	some t in lib.tenants
	some part in ["cockroachdb", "redpanda"]
	v := object.get(t.doc, [part, "resources", "cpu"], null)
	v != null
	not lib.cpu(v)
}

# ------------------------------------------------------------------ tenant layout (topology.quorum)

problems contains bad(t, concat(".", path), v, count_expected) if {
	some t in lib.tenants
	some path in [["cockroachdb", "nodes"], ["redpanda", "brokers"]]
	v := object.get(t.doc, path, null)
	v != null
	not lib.is_count(v)
}

problems contains bad(t, concat(".", path), v, "a string") if {
	some t in lib.tenants
	some path in [["survival"], ["redpanda", "region"]]
	v := object.get(t.doc, path, "")
	not is_string(v)
}

problems contains bad(t, "regions", v, "an array of regions") if {
	some t in lib.tenants
	v := object.get(t.doc, "regions", [])
	not is_array(v)
}

problems contains bad(t, sprintf("regions[%d]", [i]), r, "an object with a name and zones") if {
	some t in lib.tenants
	some i, r in lib.as_array(object.get(t.doc, "regions", []))
	not is_object(r)
}

problems contains bad(t, sprintf("regions[%d].name", [i]), v, "a string") if {
	some t in lib.tenants
	some i, r in lib.as_array(object.get(t.doc, "regions", []))
	v := object.get(lib.as_object(r), "name", "")
	not is_string(v)
}

problems contains bad(t, sprintf("regions[%d].zones", [i]), v, "an array of strings") if {
	some t in lib.tenants
	some i, r in lib.as_array(object.get(t.doc, "regions", []))
	v := object.get(lib.as_object(r), "zones", [])
	not strings_only(v)
}

problems contains bad(t, "sites", v, "an array of sites") if {
	some t in lib.tenants
	v := object.get(t.doc, "sites", [])
	not is_array(v)
}

problems contains bad(t, sprintf("sites[%d]", [i]), s, "an object with a provider, region, zones and nodes") if {
	some t in lib.tenants
	some i, s in lib.as_array(object.get(t.doc, "sites", []))
	not is_object(s)
}

problems contains bad(t, sprintf("sites[%d].nodes", [i]), v, count_expected) if {
	some t in lib.tenants
	some i, s in lib.as_array(object.get(t.doc, "sites", []))
	v := object.get(lib.as_object(s), "nodes", null)
	not lib.is_count(v)
}

problems contains bad(t, sprintf("sites[%d].%s", [i, key]), v, "a string") if {
	some t in lib.tenants
	some i, s in lib.as_array(object.get(t.doc, "sites", []))
	some key in ["provider", "region", "data_centre"]
	v := object.get(lib.as_object(s), key, "")
	not is_string(v)
}

problems contains bad(t, sprintf("sites[%d].%s", [i, key]), v, "an array of strings") if {
	some t in lib.tenants
	some i, s in lib.as_array(object.get(t.doc, "sites", []))
	some key in ["zones", "racks"]
	v := object.get(lib.as_object(s), key, [])
	not strings_only(v)
}

strings_only(v) if {
	is_array(v)
	every z in v {
		is_string(z)
	}
}
