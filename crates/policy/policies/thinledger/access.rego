# Access: who may connect to the ledger's services. A production Redpanda must authenticate
# whoever connects to it: Kafka clients by TLS client certificates (mTLS) or by SASL (a
# listener that only encrypts admits any pod that reaches its port), brokers on the RPC
# listener by client certificates (else any pod can join the cluster), and the admin API's
# callers by client certificates (or HTTP Basic over TLS with admin_api_require_auth): it can
# reconfigure the cluster and create users.
package thinledger.access

import data.thinledger.lib
import rego.v1

remediation := "Require client certificates on the listener (redpanda.yaml kafka_api_tls: require_client_auth: true; operator: listeners.kafka.tls.requireClientAuth: true) or authenticate clients with SASL (kafka_api: authentication_method: sasl; operator: auth.sasl.enabled: true)."

rpc_remediation := "Require client certificates between brokers: redpanda.yaml rpc_server_tls: {enabled: true, require_client_auth: true, cert_file, key_file, truststore_file} (operator: listeners.rpc.tls.requireClientAuth: true), with broker certificates issued for client auth too."

admin_remediation := "Serve the admin API over TLS and require client certificates: redpanda.yaml admin_api_tls entry of the listener's name with enabled: true and require_client_auth: true (operator: listeners.admin.tls.requireClientAuth: true), or, over TLS, admin_api_require_auth: true with SASL users; probes, hooks and scrapes then present a certificate."

# Listener authentication methods that identify the client.
authenticating_methods := {"sasl", "mtls_identity"}

# ---------------------------------------------------------------------------------------------
# redpanda.yaml in a ConfigMap (thinledger's rendering, rpk's own files): block-style YAML,
# read line by line (the policies have no YAML parser under every engine), or JSON (which
# YAML admits too). A list under a key (`kafka_api:`, `kafka_api_tls:`) is read as its items'
# `key: value` pairs, a map (`rpc_server_tls:`) as one item; a JSON document's items are
# the same pairs (strings and booleans, as written in YAML).
# ---------------------------------------------------------------------------------------------

indent(line) := count(line) - count(trim_left(line, " "))

skipped(line) if trim_space(line) == ""

skipped(line) if startswith(trim_space(line), "#")

item_line(line) if startswith(trim_left(line, " "), "- ")

# Whether `line` belongs to the block of a key at indent `ki`.
inside(line, _) if skipped(line)

inside(line, ki) if indent(line) > ki

inside(line, ki) if {
	indent(line) == ki
	item_line(line)
}

# The first line `key:` with nothing after it, and where its block ends.
key_block(ls, key) := [i, end] if {
	i := min([j | some j, l in ls; trim_space(l) == concat("", [key, ":"])])
	ki := indent(ls[i])
	end := min(array.concat([j | some j, l in ls; j > i; not inside(l, ki)], [count(ls)]))
}

unquoted(v) := trim(trim_space(v), "\"'")

# A `key: value` line as [key, value] (a leading "- " dropped).
pair(line) := [trim_space(parts[0]), unquoted(concat(": ", array.slice(parts, 1, count(parts))))] if {
	t := trim_left(line, " ")
	body := trim_prefix(t, "- ")
	parts := split(body, ": ")
	count(parts) > 1
}

# The items of the list under `key`: each a set of [key, value] pairs of its own level.
list_items(ls, key) := [item |
	b := key_block(ls, key)
	starts := [j | some j in block_lines(b); item_line(ls[j]); indent(ls[j]) == item_indent(ls, b)]
	some s in starts
	stop := min(array.concat([x | some x in starts; x > s], [b[1]]))
	fields := indent(ls[s]) + 2
	item := {p |
		some j in numbers.range(s, stop - 1)
		j < stop
		indent(ls[j]) <= fields
		p := pair(ls[j])
	}
]

# The line numbers inside a block [key line, end].
block_lines(b) := [j | some j in numbers.range(b[0] + 1, b[1]); j < b[1]]

item_indent(ls, b) := min([indent(ls[j]) | some j in block_lines(b); item_line(ls[j])])

# The value of `key` in an item ("" when absent; the first, sorted, if repeated).
field(item, key) := vs[0] if {
	vs := sort([p[1] | some p in item; p[0] == key])
	count(vs) > 0
} else := ""

# The `key: value` pairs one level inside a map key's block (`rpc_server_tls:`), as one item.
map_item(ls, key) := {p |
	b := key_block(ls, key)
	fields := indent(ls[b[0]]) + 2
	some j in block_lines(b)
	indent(ls[j]) == fields
	not item_line(ls[j])
	p := pair(ls[j])
}

# A JSON document holding Redpanda's node configuration (`redpanda:` at the top).
json_config(text) := cfg if {
	# Cheap first: other JSON (dashboards) is never parsed.
	contains(text, "\"redpanda\"")
	json.is_valid(text)
	cfg := json.unmarshal(text)
	is_object(cfg)
	is_object(object.get(cfg, "redpanda", null))
}

# A JSON value as the YAML reader would give it (strings and booleans; others are not read).
json_text(v) := v if is_string(v)

json_text(v) := "true" if v == true

json_text(v) := "false" if v == false

json_item(o) := {[k, t] |
	some k, v in o
	is_string(k)
	t := json_text(v)
}

# The items under `key` of a node configuration (a list's items, or a map as one item).
items(text, key) := [json_item(o) |
	v := object.get(json_config(text).redpanda, key, [])
	some o in array.concat([x | is_array(v); some x in v], [v | is_object(v)])
	is_object(o)
] if {
	json_config(text)
} else := yaml_items(split(text, "\n"), key)

yaml_items(ls, key) := list_items(ls, key) if {
	count(list_items(ls, key)) > 0
} else := [item] if {
	item := map_item(ls, key)
	count(item) > 0
} else := []

# Whether `text` is a Redpanda node configuration: it declares the RPC server or a Kafka
# listener.
node_config(text) if object.get(json_config(text).redpanda, "rpc_server", null) != null

node_config(text) if count(items(text, "kafka_api")) > 0

node_config(text) if {
	not json_config(text)
	some l in split(text, "\n")
	trim_space(l) in {"rpc_server:", "kafka_api:"}
}

# A cluster property set to true in one of the ConfigMap's texts (`.bootstrap.yaml`), as a
# block-style line or a JSON document's top-level key.
cluster_property_true(cm, property) if {
	some text in object.get(cm, "data", {})
	is_string(text)
	some l in split(text, "\n")
	trim_space(l) in {
		concat("", [property, ": true"]),
		concat("", [property, ": \"true\""]),
		concat("", [property, ": 'true'"]),
	}
}

cluster_property_true(cm, property) if {
	some text in object.get(cm, "data", {})
	is_string(text)
	json.is_valid(text)
	doc := json.unmarshal(text)
	is_object(doc)
	object.get(doc, property, false) == true
}

# Cluster-wide SASL (`enable_sasl: true`, in the same ConfigMap): listeners without their own
# authentication_method use it.
sasl_by_default(cm) if cluster_property_true(cm, "enable_sasl")

listener_authenticated(listener, _, _) if field(listener, "authentication_method") in authenticating_methods

listener_authenticated(listener, _, cm) if {
	field(listener, "authentication_method") == ""
	sasl_by_default(cm)
}

listener_authenticated(listener, tls, _) if {
	some t in tls
	field(t, "name") == field(listener, "name")
	field(t, "enabled") == "true"
	field(t, "require_client_auth") == "true"
}

uses_tls(listener, tls) if {
	some t in tls
	field(t, "name") == field(listener, "name")
	field(t, "enabled") == "true"
}

listener_problem(listener, tls) := "uses TLS without client certificates (require_client_auth is not true) and without SASL" if {
	uses_tls(listener, tls)
} else := "has neither TLS client certificates nor SASL"

deny contains lib.finding(
	"access.kafka_unauthenticated",
	m,
	sprintf("Redpanda's Kafka listener %q (%s) %s: any pod that reaches its port is admitted", [field(listener, "name"), key, listener_problem(listener, tls)]),
	remediation,
) if {
	some m in lib.manifests_by_kind.ConfigMap
	lib.is_production(m.obj)
	some key, text in object.get(m.obj, "data", {})
	is_string(text)
	tls := items(text, "kafka_api_tls")
	some listener in items(text, "kafka_api")
	not listener_authenticated(listener, tls, m.obj)
}

# The RPC listener: brokers must present client certificates to each other.
rpc_authenticated(tls) if {
	some t in tls
	field(t, "enabled") == "true"
	field(t, "require_client_auth") == "true"
}

rpc_problem(tls) := "uses TLS without client certificates (rpc_server_tls require_client_auth is not true)" if {
	some t in tls
	field(t, "enabled") == "true"
} else := "is plaintext (no rpc_server_tls enabled)"

deny contains lib.finding(
	"access.redpanda_rpc_unauthenticated",
	m,
	sprintf("Redpanda's RPC listener (%s) %s: any pod that reaches its port can join the cluster or send it broker traffic", [key, rpc_problem(tls)]),
	rpc_remediation,
) if {
	some m in lib.manifests_by_kind.ConfigMap
	lib.is_production(m.obj)
	some key, text in object.get(m.obj, "data", {})
	is_string(text)
	node_config(text)
	tls := items(text, "rpc_server_tls")
	not rpc_authenticated(tls)
}

# The admin API's listeners: Redpanda's default (0.0.0.0:9644, plain HTTP, named "") when
# none is declared.
admin_listeners(text) := ls if {
	ls := items(text, "admin")
	count(ls) > 0
} else := [{["name", ""]}]

admin_tls(listener, tls) := t if {
	some t in tls
	field(t, "name") == field(listener, "name")
	field(t, "enabled") == "true"
}

admin_authenticated(listener, tls, _) if field(admin_tls(listener, tls), "require_client_auth") == "true"

admin_authenticated(listener, tls, cm) if {
	admin_tls(listener, tls)
	cluster_property_true(cm, "admin_api_require_auth")
}

admin_problem(listener, tls) := "uses TLS without client certificates (require_client_auth is not true) and admin_api_require_auth is off" if {
	admin_tls(listener, tls)
} else := "is plain HTTP (no admin_api_tls entry of its name is enabled)"

deny contains lib.finding(
	"access.redpanda_admin_unauthenticated",
	m,
	sprintf("Redpanda's admin listener %q (%s) %s: any pod that reaches its port can reconfigure the cluster and create users", [field(listener, "name"), key, admin_problem(listener, tls)]),
	admin_remediation,
) if {
	some m in lib.manifests_by_kind.ConfigMap
	lib.is_production(m.obj)
	some key, text in object.get(m.obj, "data", {})
	is_string(text)
	node_config(text)
	tls := items(text, "admin_api_tls")
	some listener in admin_listeners(text)
	not admin_authenticated(listener, tls, m.obj)
}

# ---------------------------------------------------------------------------------------------
# The Redpanda operator's resource (the Helm chart's values): its Kafka listener and external
# listeners, its RPC and admin listeners. The chart turns TLS on without client certificates
# and SASL off by default.
# ---------------------------------------------------------------------------------------------

cr_listeners(cs) := array.concat(
	[["kafka", object.get(cs, ["listeners", "kafka"], {})]],
	[[name, l] |
		some name, l in object.get(cs, ["listeners", "kafka", "external"], {})
		is_object(l)
		object.get(l, "enabled", true) != false
	],
)

cr_authenticated(cs, _) if object.get(cs, ["auth", "sasl", "enabled"], false) == true

cr_authenticated(_, l) if object.get(l, "authenticationMethod", "") in authenticating_methods

cr_authenticated(_, l) if object.get(l, ["tls", "requireClientAuth"], false) == true

deny contains lib.finding(
	"access.kafka_unauthenticated",
	m,
	sprintf("Redpanda's Kafka listener %q requires no client certificate (tls.requireClientAuth is not true) and SASL is off: any pod that reaches its port is admitted", [nl[0]]),
	remediation,
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	cs := object.get(m.obj, ["spec", "clusterSpec"], {})
	is_object(cs)
	some nl in cr_listeners(cs)
	is_object(nl[1])
	not cr_authenticated(cs, nl[1])
}

# The operator resource's RPC and admin listeners: client certificates required, TLS on (the
# chart's global tls.enabled and the listener's own tls.enabled default to on).
cr_requires_client_certs(cs, listener) if {
	object.get(cs, ["listeners", listener, "tls", "requireClientAuth"], false) == true
	object.get(cs, ["listeners", listener, "tls", "enabled"], true) != false
	object.get(cs, ["tls", "enabled"], true) != false
}

cr_cluster_spec(m) := cs if {
	lib.is_redpanda_cluster(m.obj)
	lib.is_production(m.obj)
	cs := object.get(m.obj, ["spec", "clusterSpec"], {})
	is_object(cs)
}

deny contains lib.finding(
	"access.redpanda_rpc_unauthenticated",
	m,
	"Redpanda's RPC listener requires no client certificate (listeners.rpc.tls.requireClientAuth is not true, or TLS is off): any pod that reaches its port can join the cluster or send it broker traffic",
	rpc_remediation,
) if {
	some m in lib.manifests_by_kind.Redpanda
	cs := cr_cluster_spec(m)
	not cr_requires_client_certs(cs, "rpc")
}

deny contains lib.finding(
	"access.redpanda_admin_unauthenticated",
	m,
	"Redpanda's admin API requires no client certificate (listeners.admin.tls.requireClientAuth is not true, or TLS is off): any pod that reaches its port can reconfigure the cluster and create users",
	admin_remediation,
) if {
	some m in lib.manifests_by_kind.Redpanda
	cs := cr_cluster_spec(m)
	not cr_requires_client_certs(cs, "admin")
}
