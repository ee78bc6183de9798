# Sizing: production ledgers get at least 4 vCPU per node and Guaranteed QoS; CockroachDB's
# memory flags keep 2 × --max-sql-memory + --cache within 80% of the memory limit everywhere.
package thinledger.sizing

import data.thinledger.lib
import rego.v1

min_vcpu := 4

# Minimum CPU in the units lib.cpu reads (millicores).
min_cpu := lib.whole(min_vcpu * 1000)

# CockroachDB's 2 × --max-sql-memory + --cache must stay within this percentage of the limit.
max_memory_percent := 80

# Kinds that run database nodes. Jobs and CronJobs that run the database image (cluster init,
# topic creation, backups) are short-lived clients, not nodes: the node rules do not apply.
node_kinds := {"Pod", "StatefulSet", "Deployment", "DaemonSet", "ReplicaSet"}

# Database containers of ledger workloads (any tier): their fields are read by the rules.
db_containers contains {"m": m, "c": c} if {
	some kind in node_kinds
	some m in lib.manifests_by_kind[kind]
	lib.component(m.obj) != ""
	some c in lib.main_containers(m.obj)
}

# The production ledger's database pods and their database container.
production_db_containers contains x if {
	some x in db_containers
	lib.is_production(x.m.obj)
}

# How messages name a container: by its name, which may be missing or not a string (then
# input.malformed reports it, and the finding still names the object).
container_text(c) := sprintf("container %q", [c.name]) if {
	is_string(c.name)
} else := "the database container"

resources(x) := lib.as_object(object.get(x, "resources", {}))

limits(res) := lib.as_object(object.get(res, "limits", {}))

requests(res) := lib.as_object(object.get(res, "requests", {}))

# CPU a container gets, as written: its limit, else its request; undefined when neither is set.
cpu_value(res) := v if {
	v := limits(res).cpu
	v != null
} else := v if {
	v := requests(res).cpu
	v != null
}

deny contains lib.finding(
	"sizing.min_vcpu",
	x.m,
	sprintf("%s has %s vCPU; production ledgers need at least %v per node", [container_text(x.c), lib.shown(v), min_vcpu]),
	"Give the database container cpu requests and limits of 4 or more whole CPUs (8 recommended) and size the node pool to match.",
) if {
	some x in production_db_containers
	v := cpu_value(resources(x.c))
	lib.less(lib.cpu(v), min_cpu)
}

deny contains lib.finding(
	"sizing.min_vcpu",
	x.m,
	sprintf("%s sets no CPU request or limit; production ledgers need at least %v vCPU per node", [container_text(x.c), min_vcpu]),
	"Set resources.requests.cpu and resources.limits.cpu to the same whole number, 4 or more.",
) if {
	some x in production_db_containers
	not cpu_value(resources(x.c))
}

deny contains lib.finding(
	"sizing.min_vcpu",
	m,
	sprintf("CrdbCluster nodes get %s vCPU; production ledgers need at least %v per node", [lib.shown(v), min_vcpu]),
	"Set spec.resources.requests.cpu and spec.resources.limits.cpu to 4 or more whole CPUs.",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	v := cpu_value(resources(lib.spec(m.obj)))
	lib.less(lib.cpu(v), min_cpu)
}

deny contains lib.finding(
	"sizing.min_vcpu",
	m,
	sprintf("Redpanda brokers get %s cores; production ledgers need at least %v per broker", [lib.shown(cores), min_vcpu]),
	"Set spec.clusterSpec.resources.cpu.cores to 4 or more (an even number).",
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	cores := object.get(m.obj, ["spec", "clusterSpec", "resources", "cpu", "cores"], null)
	lib.less(lib.cpu(cores), min_cpu)
}

# Guaranteed QoS: requests equal limits for CPU and memory, whole CPUs.
unset_resources(res) := [r |
	some r in ["cpu", "memory"]
	not both_set(res, r)
]

both_set(res, r) if {
	requests(res)[r] != null
	limits(res)[r] != null
}

qos_problem(res) := sprintf("resources.requests.%s and resources.limits.%s must both be set", [r, r]) if {
	r := unset_resources(res)[0]
} else := sprintf("requests.cpu %s differs from limits.cpu %s", [lib.shown(requests(res).cpu), lib.shown(limits(res).cpu)]) if {
	not lib.same(lib.cpu(requests(res).cpu), lib.cpu(limits(res).cpu))
	lib.cpu(requests(res).cpu)
	lib.cpu(limits(res).cpu)
} else := sprintf("requests.memory %s differs from limits.memory %s", [lib.shown(requests(res).memory), lib.shown(limits(res).memory)]) if {
	not lib.same(lib.bytes(requests(res).memory), lib.bytes(limits(res).memory))
	lib.bytes(requests(res).memory)
	lib.bytes(limits(res).memory)
} else := sprintf("limits.cpu %s is not a whole number of CPUs", [lib.shown(limits(res).cpu)]) if {
	cpu := lib.cpu(limits(res).cpu)
	not lib.divisible(cpu.n, 1000 * lib.pow10[cpu.s])
}

deny contains lib.finding(
	"sizing.guaranteed_qos",
	x.m,
	sprintf("%s is not Guaranteed QoS: %s", [container_text(x.c), qos_problem(resources(x.c))]),
	"Set requests equal to limits for cpu and memory, with whole CPUs (and run the kubelet with the static CPU manager policy so those cores are pinned).",
) if {
	some x in production_db_containers
	qos_problem(resources(x.c))
}

deny contains lib.finding(
	"sizing.guaranteed_qos",
	m,
	sprintf("CrdbCluster is not Guaranteed QoS: %s", [qos_problem(resources(lib.spec(m.obj)))]),
	"Set spec.resources requests equal to limits for cpu and memory, with whole CPUs.",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	qos_problem(resources(lib.spec(m.obj)))
}

# --cache and --max-sql-memory: a fraction (.25), a percentage (25%) or a size (4GiB, 4Gi,
# 4294967296). Unset flags count as 25%, what the operator derives. Each value becomes an exact
# fraction {"num", "den"} of the memory limit (whole numbers: no engine rounds differently).
tokens(c) := [t |
	some s in array.concat(lib.as_array(object.get(c, "command", [])), lib.as_array(object.get(c, "args", [])))
	is_string(s)
	some t in split(replace(replace(s, "\n", " "), "\t", " "), " ")
	t != ""
]

# The first value given to a flag, as --flag=value or --flag value.
flag_value(toks, flag) := values[0] if {
	prefix := concat("", [flag, "="])
	values := [trim(trim_prefix(t, prefix), "\"'") | some t in toks; is_string(t); startswith(t, prefix)]
	count(values) > 0
} else := values[0] if {
	values := [trim(toks[i + 1], "\"'") | some i, t in toks; t == flag; is_string(toks[i + 1])]
	count(values) > 0
}

# A flag value the check can read: a percentage, a fraction or a size.
readable_memory_value(v) if {
	endswith(v, "%")
	lib.decimal(trim_suffix(v, "%"))
}

readable_memory_value(v) if {
	not endswith(v, "%")
	lib.bytes(v)
}

memory_fraction(v, mem) := {"num": d.n, "den": 100 * lib.pow10[d.s]} if {
	endswith(v, "%")
	d := lib.decimal(trim_suffix(v, "%"))
} else := {"num": d.n, "den": lib.pow10[d.s]} if {
	d := lib.decimal(v)
	d.n <= lib.pow10[d.s]
} else := {"num": b.n * lib.pow10[mem.s], "den": lib.pow10[b.s] * mem.n} if {
	not endswith(v, "%")
	b := lib.bytes(v)
	mem.n > 0
}

memory_limit(res) := lib.bytes(limits(res).memory) if {
	limits(res).memory != null
} else := lib.bytes(requests(res).memory) if {
	requests(res).memory != null
} else := lib.whole(0)

default_memory_value := "25%"

memory_flags(values, mem) := {"cache": cache, "sql": sql} if {
	cache := memory_fraction(object.get(values, "cache", default_memory_value), mem)
	sql := memory_fraction(object.get(values, "sql", default_memory_value), mem)
}

# 2 × sql + cache > 80%, in whole numbers.
over_memory(f) if {
	total := (2 * f.sql.num) * f.cache.den + f.cache.num * f.sql.den
	100 * total > (max_memory_percent * f.sql.den) * f.cache.den
}

memory_text(values, key) := values[key] if {
	values[key]
} else := concat("", ["unset: ", default_memory_value])

memory_message(values) := sprintf("2 × --max-sql-memory (%s) + --cache (%s) is over %v%% of the memory limit", [memory_text(values, "sql"), memory_text(values, "cache"), max_memory_percent])

container_memory_values(c) := {k: v |
	some k, flag in {"cache": "--cache", "sql": "--max-sql-memory"}
	v := flag_value(tokens(c), flag)
}

crdb_cluster_memory_values(spec) := object.union(
	{k: v |
		some k, field in {"cache": "cache", "sql": "maxSQLMemory"}
		v := spec[field]
		is_string(v)
	},
	{k: v |
		some k, flag in {"cache": "--cache", "sql": "--max-sql-memory"}
		v := flag_value(lib.as_array(object.get(spec, "additionalArgs", [])), flag)
	},
)

deny contains lib.finding(
	"sizing.memory_flags",
	m,
	sprintf("%s: %s", [container_text(c), memory_message(values)]),
	"Use --cache=.25 --max-sql-memory=.25 (or any values with 2 × sql + cache ≤ 80%), leaving headroom for Go and the OS.",
) if {
	some m in lib.ledger_manifests
	lib.component(m.obj) == "cockroachdb"
	some c in lib.main_containers(m.obj)
	values := container_memory_values(c)
	count(values) > 0
	over_memory(memory_flags(values, memory_limit(resources(c))))
}

deny contains lib.finding(
	"sizing.memory_flags",
	m,
	sprintf("CrdbCluster: %s", [memory_message(values)]),
	"Set spec.cache and spec.maxSQLMemory to 25% each (or leave them unset).",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	values := crdb_cluster_memory_values(lib.spec(m.obj))
	count(values) > 0
	over_memory(memory_flags(values, memory_limit(resources(lib.spec(m.obj)))))
}

# ---------------------------------------------------------------------------------------------
# Node pools in Terraform plans. A pool is a ledger pool when its node labels or tags carry
# thinledger.io/pool = ledger, cockroachdb or redpanda, or its name contains ledger, crdb,
# cockroach or redpanda; it is production by lib.tf_production.
# ---------------------------------------------------------------------------------------------

pool_label := "thinledger.io/pool"

ledger_pool(after, _) if lib.tf_tags(after)[pool_label] in {"ledger", "cockroachdb", "redpanda"}

ledger_pool(_, pool_name) if {
	is_string(pool_name)
	some word in ["ledger", "crdb", "cockroach", "redpanda"]
	contains(lower(pool_name), word)
}

digits := {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

# Instance type names are ASCII; only such names are measured with count() and substring(),
# which count non-ASCII characters differently in different engines. Others are not judged.
type_name_chars := object.union(lib.decimal_chars, {c: "" |
	some c in split("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-", "")
	c != ""
})

# The number at the start of s, e.g. 4 from "4s" and 16 from "16ads".
leading_number(s) := lib.digits_value(substring(s, 0, n)) if {
	lengths := [k |
		some k in numbers.range(1, count(s))
		every j in numbers.range(0, k - 1) {
			substring(s, j, 1) in digits
		}
	]
	n := max(lengths)
}

# vCPUs of an instance type, for the names of each cloud's general-purpose families.
aws_sizes := {"nano": 2, "micro": 2, "small": 2, "medium": 1, "large": 2, "xlarge": 4}

vcpus(t) := n if {
	not lib.only(t, type_name_chars)
	n := null
} else := n if {
	# AWS: m6i.large → 2, m6i.2xlarge → 8
	parts := split(t, ".")
	count(parts) == 2
	n := aws_sizes[parts[1]]
} else := n if {
	parts := split(t, ".")
	count(parts) == 2
	endswith(parts[1], "xlarge")
	n := 4 * leading_number(parts[1])
} else := n if {
	# Azure: Standard_D4s_v5 → "D4s" → 4
	startswith(t, "Standard_")
	family := split(trim_prefix(t, "Standard_"), "_")[0]
	first := min([j | some j in numbers.range(0, count(family) - 1); substring(family, j, 1) in digits])
	n := leading_number(substring(family, first, -1))
} else := n if {
	# GCP custom types: n2-custom-4-16384, custom-4-16384
	parts := split(t, "-")
	positions := [i | some i, p in parts; p == "custom"]
	count(positions) > 0
	lib.only(parts[positions[0] + 1], lib.digit_chars)
	n := lib.digits_value(parts[positions[0] + 1])
} else := 2 if {
	# GCP shared-core: e2-micro, e2-small, e2-medium
	parts := split(t, "-")
	parts[count(parts) - 1] in {"micro", "small", "medium"}
} else := n if {
	# GCP: n2-standard-4
	parts := split(t, "-")
	count(parts) >= 3
	n := leading_number(parts[count(parts) - 1])
}

node_pool_types contains {"p": p, "pool": pool_name, "type": t} if {
	some p in lib.present_by_type.aws_eks_node_group
	pool_name := object.get(p.after, "node_group_name", p.rc.name)
	some t in object.get(p.after, "instance_types", [])
}

node_pool_types contains {"p": p, "pool": pool_name, "type": p.after.vm_size} if {
	some p in lib.present_by_type.azurerm_kubernetes_cluster_node_pool
	pool_name := object.get(p.after, "name", p.rc.name)
}

node_pool_types contains {"p": p, "pool": pool_name, "type": p.after.node_config[0].machine_type} if {
	some p in lib.present_by_type.google_container_node_pool
	pool_name := object.get(p.after, "name", p.rc.name)
}

deny contains lib.finding(
	"sizing.min_vcpu",
	{"address": x.p.rc.address, "path": x.p.path},
	sprintf("node pool %q uses %s with %v vCPU; production ledger nodes need at least %v", [x.pool, x.type, vcpus(x.type), min_vcpu]),
	"Use a non-burstable type with 4 or more vCPU (8 recommended): m6i/r6i on AWS, Dsv5/Ev5 on Azure, n2-standard/n2d/t2d on GCP.",
) if {
	some x in node_pool_types
	ledger_pool(x.p.after, x.pool)
	lib.tf_production(x.p.after)
	is_number(vcpus(x.type))
	vcpus(x.type) < min_vcpu
}

# ---------------------------------------------------------------------------------------------
# Tenant files (crates/topology's TenantSpec): per-node shapes declared for production.
# ---------------------------------------------------------------------------------------------

deny contains lib.finding(
	"sizing.min_vcpu",
	t,
	sprintf("%s.resources.cpu is %s; production ledgers need at least %v vCPU per node", [part, lib.shown(v), min_vcpu]),
	sprintf("Set %s.resources.cpu to 4 or more (8 recommended), or leave it to the sizing calculator.", [part]),
) if {
	lib.tenant_production
	some t in lib.tenants
	some part in ["cockroachdb", "redpanda"]
	v := object.get(t.doc, [part, "resources", "cpu"], null)
	lib.less(lib.cpu(v), min_cpu)
}
