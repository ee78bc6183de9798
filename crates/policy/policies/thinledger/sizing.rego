# Sizing: production ledgers get at least 4 vCPU per node and Guaranteed QoS; CockroachDB's
# memory flags keep 2 × --max-sql-memory + --cache within 80% of the memory limit everywhere.
package thinledger.sizing

import data.thinledger.lib
import rego.v1

min_vcpu := 4

max_memory_fraction := 0.8

# Kinds that run database nodes. Jobs and CronJobs that run the database image (cluster init,
# topic creation, backups) are short-lived clients, not nodes: the node rules do not apply.
node_kinds := {"Pod", "StatefulSet", "Deployment", "DaemonSet", "ReplicaSet"}

# The production ledger's database pods and their database container.
production_db_containers contains {"m": m, "c": c} if {
	some kind in node_kinds
	some m in lib.manifests_by_kind[kind]
	lib.component(m.obj) != ""
	lib.is_production(m.obj)
	some c in lib.main_containers(m.obj)
}

# CPU a container gets: its limit, else its request; undefined when neither is set.
container_cpu(c) := lib.cpu(c.resources.limits.cpu) if {
	c.resources.limits.cpu
} else := lib.cpu(c.resources.requests.cpu)

deny contains lib.finding(
	"sizing.min_vcpu",
	x.m,
	sprintf("container %q has %v vCPU; production ledgers need at least %v per node", [x.c.name, container_cpu(x.c), min_vcpu]),
	"Give the database container cpu requests and limits of 4 or more whole CPUs (8 recommended) and size the node pool to match.",
) if {
	some x in production_db_containers
	container_cpu(x.c) < min_vcpu
}

deny contains lib.finding(
	"sizing.min_vcpu",
	x.m,
	sprintf("container %q sets no CPU request or limit; production ledgers need at least %v vCPU per node", [x.c.name, min_vcpu]),
	"Set resources.requests.cpu and resources.limits.cpu to the same whole number, 4 or more.",
) if {
	some x in production_db_containers
	not container_cpu(x.c)
}

deny contains lib.finding(
	"sizing.min_vcpu",
	m,
	sprintf("CrdbCluster nodes get %v vCPU; production ledgers need at least %v per node", [cpu, min_vcpu]),
	"Set spec.resources.requests.cpu and spec.resources.limits.cpu to 4 or more whole CPUs.",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	cpu := container_cpu(m.obj.spec)
	cpu < min_vcpu
}

deny contains lib.finding(
	"sizing.min_vcpu",
	m,
	sprintf("Redpanda brokers get %v cores; production ledgers need at least %v per broker", [cores, min_vcpu]),
	"Set spec.clusterSpec.resources.cpu.cores to 4 or more (an even number).",
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	cores := lib.cpu(m.obj.spec.clusterSpec.resources.cpu.cores)
	cores < min_vcpu
}

# Guaranteed QoS: requests equal limits for CPU and memory, whole CPUs.
unset_resources(res) := [r |
	some r in ["cpu", "memory"]
	not both_set(res, r)
]

both_set(res, r) if {
	res.requests[r]
	res.limits[r]
}

qos_problem(res) := sprintf("resources.requests.%s and resources.limits.%s must both be set", [r, r]) if {
	r := unset_resources(res)[0]
} else := sprintf("requests.cpu %v differs from limits.cpu %v", [res.requests.cpu, res.limits.cpu]) if {
	lib.cpu(res.requests.cpu) != lib.cpu(res.limits.cpu)
} else := sprintf("requests.memory %v differs from limits.memory %v", [res.requests.memory, res.limits.memory]) if {
	lib.bytes(res.requests.memory) != lib.bytes(res.limits.memory)
} else := sprintf("limits.cpu %v is not a whole number of CPUs", [res.limits.cpu]) if {
	cpu := lib.cpu(res.limits.cpu)
	cpu != floor(cpu)
}

deny contains lib.finding(
	"sizing.guaranteed_qos",
	x.m,
	sprintf("container %q is not Guaranteed QoS: %s", [x.c.name, qos_problem(object.get(x.c, "resources", {}))]),
	"Set requests equal to limits for cpu and memory, with whole CPUs (and run the kubelet with the static CPU manager policy so those cores are pinned).",
) if {
	some x in production_db_containers
	qos_problem(object.get(x.c, "resources", {}))
}

deny contains lib.finding(
	"sizing.guaranteed_qos",
	m,
	sprintf("CrdbCluster is not Guaranteed QoS: %s", [qos_problem(object.get(m.obj.spec, "resources", {}))]),
	"Set spec.resources requests equal to limits for cpu and memory, with whole CPUs.",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	lib.is_production(m.obj)
	qos_problem(object.get(m.obj.spec, "resources", {}))
}

# --cache and --max-sql-memory: a fraction (.25), a percentage (25%) or a size (4GiB, 4Gi,
# 4294967296). Unset flags count as 25%, what the operator derives.
tokens(c) := [t |
	some s in array.concat(object.get(c, "command", []), object.get(c, "args", []))
	some t in split(replace(replace(s, "\n", " "), "\t", " "), " ")
	t != ""
]

# The first value given to a flag, as --flag=value or --flag value.
flag_value(toks, flag) := values[0] if {
	prefix := concat("", [flag, "="])
	values := [trim(trim_prefix(t, prefix), "\"'") | some t in toks; startswith(t, prefix)]
	count(values) > 0
} else := values[0] if {
	values := [trim(toks[i + 1], "\"'") | some i, t in toks; t == flag]
	count(values) > 0
}

memory_fraction(v, mem) := to_number(trim_suffix(v, "%")) / 100 if {
	endswith(v, "%")
} else := n if {
	n := decimal(v)
	n <= 1
} else := n / mem if {
	n := decimal(v)
	n > 1
	mem > 0
} else := units.parse_bytes(v) / mem if {
	mem > 0
}

# A plain decimal number such as ".25", "0.3" or "4294967296".
numeric(s) if {
	count(s) > 0
	count(split(s, ".")) <= 2
	every i in numbers.range(0, count(s) - 1) {
		substring(s, i, 1) in (digits | {"."})
	}
}

# A leading zero is added because not every Rego engine's to_number accepts ".25".
decimal(s) := to_number(concat("", ["0", s])) if {
	numeric(s)
	startswith(s, ".")
} else := to_number(s) if numeric(s)

memory_limit(res) := lib.bytes(res.limits.memory) if {
	res.limits.memory
} else := lib.bytes(res.requests.memory) if {
	res.requests.memory
} else := 0

memory_flags(values, mem) := {"cache": cache, "sql": sql} if {
	cache := memory_fraction(object.get(values, "cache", "25%"), mem)
	sql := memory_fraction(object.get(values, "sql", "25%"), mem)
}

container_memory_values(c) := {k: v |
	some k, flag in {"cache": "--cache", "sql": "--max-sql-memory"}
	v := flag_value(tokens(c), flag)
}

crdb_cluster_memory_values(spec) := object.union(
	{k: v |
		some k, field in {"cache": "cache", "sql": "maxSQLMemory"}
		v := spec[field]
	},
	{k: v |
		some k, flag in {"cache": "--cache", "sql": "--max-sql-memory"}
		v := flag_value(object.get(spec, "additionalArgs", []), flag)
	},
)

memory_message(f) := sprintf("2 × --max-sql-memory (%v) + --cache (%v) is %v of the memory limit; it must stay within %v", [f.sql, f.cache, (2 * f.sql) + f.cache, max_memory_fraction])

deny contains lib.finding(
	"sizing.memory_flags",
	m,
	sprintf("container %q: %s", [c.name, memory_message(f)]),
	"Use --cache=.25 --max-sql-memory=.25 (or any values with 2 × sql + cache ≤ 80%), leaving headroom for Go and the OS.",
) if {
	some m in lib.ledger_manifests
	lib.component(m.obj) == "cockroachdb"
	some c in lib.main_containers(m.obj)
	values := container_memory_values(c)
	count(values) > 0
	f := memory_flags(values, memory_limit(object.get(c, "resources", {})))
	((2 * f.sql) + f.cache) > max_memory_fraction
}

deny contains lib.finding(
	"sizing.memory_flags",
	m,
	sprintf("CrdbCluster: %s", [memory_message(f)]),
	"Set spec.cache and spec.maxSQLMemory to 25% each (or leave them unset).",
) if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	values := crdb_cluster_memory_values(m.obj.spec)
	count(values) > 0
	f := memory_flags(values, memory_limit(object.get(m.obj.spec, "resources", {})))
	((2 * f.sql) + f.cache) > max_memory_fraction
}

# ---------------------------------------------------------------------------------------------
# Node pools in Terraform plans. A pool is a ledger pool when its node labels or tags carry
# thinledger.io/pool = ledger, cockroachdb or redpanda, or its name contains ledger, crdb,
# cockroach or redpanda; it is production by lib.tf_production.
# ---------------------------------------------------------------------------------------------

pool_label := "thinledger.io/pool"

ledger_pool(after, _) if lib.tf_tags(after)[pool_label] in {"ledger", "cockroachdb", "redpanda"}

ledger_pool(_, pool_name) if {
	some word in ["ledger", "crdb", "cockroach", "redpanda"]
	contains(lower(pool_name), word)
}

digits := {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

# The number at the start of s, e.g. 4 from "4s" and 16 from "16ads".
leading_number(s) := to_number(substring(s, 0, n)) if {
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
	n := to_number(parts[positions[0] + 1])
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
	vcpus(x.type) < min_vcpu
}

# ---------------------------------------------------------------------------------------------
# Tenant files (crates/topology's TenantSpec): per-node shapes declared for production.
# ---------------------------------------------------------------------------------------------

deny contains lib.finding(
	"sizing.min_vcpu",
	t,
	sprintf("%s.resources.cpu is %v; production ledgers need at least %v vCPU per node", [part, cpu, min_vcpu]),
	sprintf("Set %s.resources.cpu to 4 or more (8 recommended), or leave it to the sizing calculator.", [part]),
) if {
	lib.tenant_production
	some t in lib.tenants
	some part in ["cockroachdb", "redpanda"]
	cpu := lib.cpu(t.doc[part].resources.cpu)
	cpu < min_vcpu
}
