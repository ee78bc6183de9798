# Shared helpers of the thinledger guardrails: what the input is, which objects belong to the
# ledger, which are production, and how quantities are read. This package has no deny or warn
# rules of its own. See the crate documentation for the definitions in prose.
package thinledger.lib

import rego.v1

# ---------------------------------------------------------------------------------------------
# Input shapes
#
# 1. conftest --combine (and ledger-policy): an array of {"path": FILE, "contents": DOC}, where
#    DOC is one document or, for multi-document YAML, an array of documents.
# 2. plain conftest / opa eval on one file: the document itself.
# 3. plain conftest on a multi-document YAML file: an array of documents.
# ---------------------------------------------------------------------------------------------

combined if {
	is_array(input)
	count(input) > 0
	every item in input {
		is_object(item)
		"path" in object.keys(item)
		"contents" in object.keys(item)
	}
}

as_docs(x) := x if {
	is_array(x)
} else := [x]

raw_docs contains {"path": item.path, "doc": doc} if {
	combined
	some item in input
	some doc in as_docs(item.contents)
}

raw_docs contains {"path": "", "doc": doc} if {
	not combined
	some doc in as_docs(input)
}

is_list(doc) if {
	is_string(doc.kind)
	endswith(doc.kind, "List")
	is_array(doc.items)
}

docs contains d if {
	some d in raw_docs
	is_object(d.doc)
	not is_list(d.doc)
}

docs contains {"path": d.path, "doc": item} if {
	some d in raw_docs
	is_list(d.doc)
	some item in d.doc.items
	is_object(item)
}

# ---------------------------------------------------------------------------------------------
# Kubernetes objects (from manifests, and from kubernetes_manifest resources in plans)
# ---------------------------------------------------------------------------------------------

is_k8s(doc) if {
	is_string(doc.kind)
	is_string(doc.apiVersion)
}

manifests contains {"path": d.path, "obj": d.doc, "address": k8s_address(d.doc)} if {
	some d in docs
	is_k8s(d.doc)
}

manifests contains {"path": c.path, "obj": obj, "address": c.rc.address} if {
	some c in changes_by_type.kubernetes_manifest
	not deletes(c.rc)
	obj := c.rc.change.after.manifest
	is_k8s(obj)
}

# Manifests by kind, so that rules relating objects (a Namespace's tier, a workload's
# PodDisruptionBudget) look at the few objects of that kind, not at every object: with a
# scan per object, large inputs took quadratic time.
manifests_by_kind[kind] contains m if {
	some m in manifests
	kind := m.obj.kind
}

# Metadata as the rules read it. A name or namespace that is not a string is reported by
# input.malformed; the object is then named "<unnamed>" (or has no namespace) here.
name(o) := n if {
	n := object.get(o, ["metadata", "name"], "<unnamed>")
	is_string(n)
} else := "<unnamed>"

namespace(o) := n if {
	n := object.get(o, ["metadata", "namespace"], "")
	is_string(n)
} else := ""

# Objects read as objects, {} when missing or of another type. Written out rather than through
# as_object: rules call these for many objects, and each function call costs regorus a few µs.
spec(o) := x if {
	x := object.get(o, "spec", {})
	is_object(x)
} else := {}

labels(o) := x if {
	x := object.get(o, ["metadata", "labels"], {})
	is_object(x)
} else := {}

annotations(o) := x if {
	x := object.get(o, ["metadata", "annotations"], {})
	is_object(x)
} else := {}

k8s_address(o) := sprintf("%s/%s/%s", [o.kind, namespace(o), name(o)]) if {
	namespace(o) != ""
} else := sprintf("%s/%s", [o.kind, name(o)])

workload_kinds := {"StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job"}

# The kinds pod_spec reads a pod from.
pod_kinds := workload_kinds | {"Pod", "CronJob"}

pod_spec(o) := o.spec if {
	o.kind == "Pod"
} else := o.spec.template.spec if {
	o.kind in workload_kinds
} else := o.spec.jobTemplate.spec.template.spec if {
	o.kind == "CronJob"
}

pod_labels(o) := labels(o) if {
	o.kind == "Pod"
} else := object.get(o, ["spec", "template", "metadata", "labels"], {})

containers(o) := [c | some c in as_array(object.get(as_object(pod_spec(o)), "containers", [])); is_object(c)]

# ---------------------------------------------------------------------------------------------
# Which objects are the ledger
#
# An object is part of the ledger when any of these holds:
#   - it is a CrdbCluster (crdb.cockroachlabs.com) or a Redpanda (cluster.redpanda.com) resource;
#   - label app.kubernetes.io/part-of = thinledger;
#   - label app.kubernetes.io/name (or app.kubernetes.io/component) = cockroachdb or redpanda;
#   - one of its pod's containers runs a CockroachDB or Redpanda image.
# ---------------------------------------------------------------------------------------------

ledger_part_of := "thinledger"

ledger_apps := {"cockroachdb", "redpanda"}

is_crdb_cluster(o) if {
	o.kind == "CrdbCluster"
	startswith(o.apiVersion, "crdb.cockroachlabs.com/")
}

is_redpanda_cluster(o) if {
	o.kind == "Redpanda"
	startswith(o.apiVersion, "cluster.redpanda.com/")
}

image_component(image) := "cockroachdb" if {
	is_string(image)
	contains(lower(image), "cockroachdb/cockroach")
} else := "redpanda" if {
	is_string(image)
	contains(lower(image), "redpanda")
}

component(o) := "cockroachdb" if {
	is_crdb_cluster(o)
} else := "redpanda" if {
	is_redpanda_cluster(o)
} else := app if {
	app := labels(o)["app.kubernetes.io/name"]
	app in ledger_apps
} else := app if {
	app := labels(o)["app.kubernetes.io/component"]
	app in ledger_apps
} else := c if {
	some container in containers(o)
	c := image_component(container.image)
} else := ""

is_ledger(o) if component(o) != ""

is_ledger(o) if labels(o)["app.kubernetes.io/part-of"] == ledger_part_of

# The ledger's manifests, decided once: rules that look only at ledger objects iterate these
# instead of deciding again for every object of the input. The same set as
# {m | some m in manifests; is_ledger(m.obj)}, computed cheaply for the many objects of other
# kinds: only the ledger's own kinds and kinds with a pod can be the ledger by kind or image,
# and any object by its labels (looked up with one object.filter, no function call).
ledger_manifests contains m if {
	some kind in pod_kinds | {"CrdbCluster", "Redpanda"}
	some m in manifests_by_kind[kind]
	is_ledger(m.obj)
}

ledger_manifests contains m if {
	some m in manifests
	l := object.get(m.obj, ["metadata", "labels"], {})
	is_object(l)
	some key, v in object.filter(l, ledger_labels)
	v in ledger_labels[key]
}

# Labels that make an object part of the ledger, and the values that do.
ledger_labels := {
	"app.kubernetes.io/part-of": {ledger_part_of},
	"app.kubernetes.io/name": ledger_apps,
	"app.kubernetes.io/component": ledger_apps,
}

# The database's own container in a ledger pod: the one running the CockroachDB or Redpanda
# image, or the first container when no image is recognised.
main_containers(o) := recognised if {
	recognised := [c |
		some c in containers(o)
		image_component(object.get(c, "image", ""))
	]
	count(recognised) > 0
} else := [c | c := containers(o)[0]]

# ---------------------------------------------------------------------------------------------
# Which objects are production
#
# First match wins:
#   1. the object's own label thinledger.io/tier (prod or production → production; any other
#      value → not production);
#   2. the label thinledger.io/tier on a Namespace object in the same input (any production
#      label wins when several Namespace objects of that name disagree);
#   3. the tier of a tenant file in the same input;
#   4. the namespace name: prod, production, prod-*, *-prod, *-production.
# ---------------------------------------------------------------------------------------------

tier_label := "thinledger.io/tier"

production_tiers := {"prod", "production"}

is_production(o) if {
	tier := labels(o)[tier_label]
	is_string(tier)
	lower(tier) in production_tiers
}

is_production(o) if {
	not labels(o)[tier_label]
	namespace_production(namespace(o))
}

# Tier labels on Namespace objects of that name in the input (a set: inputs may disagree, and
# then any production label wins).
namespace_tiers(ns) := {lower(tier) |
	some m in manifests_by_kind.Namespace
	name(m.obj) == ns
	tier := labels(m.obj)[tier_label]
	is_string(tier)
}

namespace_production(ns) if {
	count(namespace_tiers(ns) & production_tiers) > 0
}

namespace_production(ns) if {
	count(namespace_tiers(ns)) == 0
	tenant_tier
	tenant_production
}

namespace_production(ns) if {
	count(namespace_tiers(ns)) == 0
	not tenant_tier
	production_name(ns)
}

production_name(ns) if ns in production_tiers

production_name(ns) if startswith(ns, "prod-")

production_name(ns) if endswith(ns, "-prod")

production_name(ns) if endswith(ns, "-production")

# Terraform resources are production when their labels or tags carry thinledger.io/tier, or,
# failing that, when the input's tenant file is production.
tf_tags(after) := object.union_n([
	object.get(after, "tags", {}),
	object.get(after, "labels", {}),
	object.get(after, "node_labels", {}),
	object.get(after, "resource_labels", {}),
	object.get(after, ["node_config", 0, "labels"], {}),
	object.get(after, ["metadata", 0, "labels"], {}),
])

tf_production(after) if {
	tier := tf_tags(after)[tier_label]
	is_string(tier)
	lower(tier) in production_tiers
}

tf_production(after) if {
	not tf_tags(after)[tier_label]
	tenant_production
}

# ---------------------------------------------------------------------------------------------
# Tenant files: a JSON or YAML object with a tenant id (tenant_id, tenant or id) and at least
# one of tier, provider, environment or ring, and no Kubernetes kind. Only these fields are
# read: tier, provider, environment/ring.
# ---------------------------------------------------------------------------------------------

tenant_id_keys := {"tenant_id", "tenant", "id"}

tenant_detail_keys := {"tier", "provider", "environment", "ring"}

tenants contains {"path": d.path, "doc": d.doc, "address": sprintf("tenant/%v", [id])} if {
	some d in docs
	not is_k8s(d.doc)
	not is_plan(d.doc)
	keys := object.keys(d.doc)
	some k in tenant_id_keys
	k in keys
	id := d.doc[k]
	is_string(id)
	count(keys & tenant_detail_keys) > 0
}

tenant_tier if {
	some t in tenants
	is_string(t.doc.tier)
}

tenant_production if {
	some t in tenants
	is_string(t.doc.tier)
	lower(t.doc.tier) in production_tiers
}

tenant_production if {
	not tenant_tier
	some t in tenants
	some k in {"environment", "ring"}
	is_string(t.doc[k])
	env := lower(t.doc[k])
	env in {"prod", "production", "ring-2-prod"}
}

# The provider named by a tenant file: a string, or an object with a name/kind field.
provider_name(p) := lower(p) if {
	is_string(p)
} else := lower(p.name) if {
	is_string(p.name)
} else := lower(p.kind) if {
	is_string(p.kind)
}

tenant_providers contains provider_name(t.doc.provider) if {
	some t in tenants
}

# ---------------------------------------------------------------------------------------------
# Terraform plans (`terraform show -json`)
# ---------------------------------------------------------------------------------------------

is_plan(doc) if {
	is_string(doc.format_version)
	is_string(doc.terraform_version)
}

changes contains {"path": d.path, "rc": rc} if {
	some d in docs
	is_plan(d.doc)
	some rc in object.get(d.doc, "resource_changes", [])
	rc.mode == "managed"
}

# Changes by resource type: rules look up the few types they judge instead of scanning every
# change of a plan (plans of 20,000 changes were slow with a scan per rule).
changes_by_type[rc_type] contains c if {
	some c in changes
	rc_type := c.rc.type
}

deletes(rc) if "delete" in rc.change.actions

# The state a change leaves behind: `after` of every change that does not only delete.
present contains {"path": c.path, "rc": c.rc, "after": c.rc.change.after} if {
	some c in changes
	not delete_only(c.rc)
	is_object(c.rc.change.after)
}

present_by_type[rc_type] contains p if {
	some p in present
	rc_type := p.rc.type
}

delete_only(rc) if rc.change.actions == ["delete"]

change_verb(rc) := "replaces" if {
	"delete" in rc.change.actions
	"create" in rc.change.actions
} else := "destroys"

# Terraform's kubernetes provider writes nested blocks as one-element lists.
block(x, key) := object.get(x, [key, 0], {})

# ---------------------------------------------------------------------------------------------
# Reading fields the same way in every Rego engine
#
# What a rule cannot read must not make it pass: a field of the wrong type is reported by
# thinledger.input (rule input.malformed), and the helpers here are undefined for it. They use
# no builtin whose result differs between engines (OPA, regorus): no units.parse or
# units.parse_bytes (rounding), no count() or substring() of a string that may hold non-ASCII
# characters (runes versus UTF-16 units), no arithmetic on fractions (exact decimals versus
# floating point) and no number formatted into text unless it is an integer.
# ---------------------------------------------------------------------------------------------

# A value's type, for messages: strings are quoted as they are, other values only named.
describe(v) := "null" if {
	v == null
} else := sprintf("the boolean %v", [v]) if {
	is_boolean(v)
} else := sprintf("the number %v", [v]) if {
	is_int(v)
} else := "a fractional number" if {
	is_number(v)
} else := concat("", ["the string \"", v, "\""]) if {
	is_string(v)
} else := "an array" if {
	is_array(v)
} else := "an object"

is_int(v) if {
	is_number(v)
	v == floor(v)
}

# A count of things (replicas, nodes, a replication factor): a whole number, 0 or more.
is_count(v) if {
	is_int(v)
	v >= 0
}

# Whether n is even, without `%` (which one engine refuses on a number written as 3.0).
is_even(n) if floor(n / 2) * 2 == n

# Whether the whole number n is a multiple of d (without `%`, as for is_even).
divisible(n, d) if floor(n / d) * d == n

as_array(x) := x if is_array(x) else := []

as_object(x) := x if is_object(x) else := {}

# Whether s holds only the characters that are keys of `chars` (each mapped to "").
only(s, chars) if strings.replace_n(chars, s) == ""

digit_chars := {"0": "", "1": "", "2": "", "3": "", "4": "", "5": "", "6": "", "7": "", "8": "", "9": ""}

decimal_chars := object.union(digit_chars, {".": ""})

# Powers of ten, for exact integer arithmetic on decimals.
pow10 := [
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
	100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
]

# A plain decimal such as "12", "1.5" or ".25" (ASCII digits and one point, at most 15 digits)
# as {"n": N, "s": S}, the value N / 10^S with N a whole number.
decimal(s) := {"n": digits_value(digits), "s": count(fraction)} if {
	is_string(s)
	s != ""
	only(s, decimal_chars)
	parts := split(s, ".")
	count(parts) <= 2
	digits := concat("", parts)
	digits != ""
	count(digits) <= 15
	fraction := second(parts)
}

second(parts) := parts[1] if count(parts) == 2 else := ""

# A string of ASCII digits as a number (leading zeros removed: not every engine's to_number
# takes them).
digits_value(d) := 0 if {
	trim_left(d, "0") == ""
} else := to_number(trim_left(d, "0"))

# A non-negative JSON number as {"n", "s"}: the fewest decimal places that hold it.
number_decimal(v) := {"n": round(v * pow10[k]), "s": k} if {
	is_number(v)
	v >= 0
	places := [k |
		some k in numbers.range(0, 9)
		abs((v * pow10[k]) - round(v * pow10[k])) < 0.000001
	]
	count(places) > 0
	k := places[0]
}

# A Kubernetes quantity, a number or a string "<decimal><suffix>", as {"n", "s"} in units of
# `suffixes` (a map from suffix to a whole multiplier). Suffixes are tried longest first.
quantity(q, suffixes) := {"n": d.n * suffixes[""], "s": d.s} if {
	d := number_decimal(q)
} else := {"n": d.n * suffixes[suffix], "s": d.s} if {
	is_string(q)
	matches := [[suffix, d] |
		some suffix in suffix_order
		suffix in object.keys(suffixes)
		endswith(q, suffix)
		d := decimal(trim_suffix(q, suffix))
	]
	count(matches) > 0
	[suffix, d] := matches[0]
}

suffix_order := [
	"KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	"Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
	"KB", "MB", "GB", "TB", "PB", "EB",
	"k", "K", "M", "G", "T", "P", "E", "m", "B", "",
]

# CPU in millicores: 4, "4", "3500m", 0.5.
cpu_suffixes := {"": 1000, "m": 1}

# Bytes: "16Gi", "16GiB", "16G", "17179869184", 17179869184.
byte_suffixes := {
	"": 1, "B": 1,
	"k": 1000, "K": 1000, "KB": 1000, "M": 1000000, "MB": 1000000, "G": 1000000000, "GB": 1000000000,
	"T": 1000000000000, "TB": 1000000000000, "P": 1000000000000000, "PB": 1000000000000000,
	"E": 1000000000000000000, "EB": 1000000000000000000,
	"Ki": 1024, "KiB": 1024, "Mi": 1048576, "MiB": 1048576, "Gi": 1073741824, "GiB": 1073741824,
	"Ti": 1099511627776, "TiB": 1099511627776, "Pi": 1125899906842624, "PiB": 1125899906842624,
	"Ei": 1152921504606846976, "EiB": 1152921504606846976,
}

# Kubernetes CPU quantity as {"n", "s"}: n / 10^s millicores. Undefined when unreadable.
cpu(q) := quantity(q, cpu_suffixes)

# Kubernetes memory quantity as {"n", "s"}: n / 10^s bytes. Undefined when unreadable.
bytes(q) := quantity(q, byte_suffixes)

# Exact comparisons of {"n", "s"} values.
less(a, b) if a.n * pow10[b.s] < b.n * pow10[a.s]

same(a, b) if a.n * pow10[b.s] == b.n * pow10[a.s]

# A number of whole units: {"n": N, "s": 0}.
whole(n) := {"n": n, "s": 0}

# A quantity as written, for messages: strings as they are, whole numbers as numbers.
shown(q) := q if {
	is_string(q)
} else := sprintf("%v", [q]) if {
	is_int(q)
} else := describe(q)

# ---------------------------------------------------------------------------------------------
# Findings: every deny/warn rule yields an object conftest prints by its "msg" field; the other
# fields carry the structured finding for ledger-policy and other tools.
# ---------------------------------------------------------------------------------------------

finding(rule, subject, message, remediation) := {
	"msg": sprintf("%s: %s [%s]", [subject.address, message, rule]),
	"rule": rule,
	"resource": subject.address,
	"file": subject.path,
	"message": message,
	"remediation": remediation,
}
