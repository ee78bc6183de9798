# Access: who may connect to the ledger's services. A production Redpanda Kafka listener must
# authenticate its clients, by TLS client certificates (mTLS) or by SASL: a listener that only
# encrypts (TLS without require_client_auth) admits any pod that reaches its port.
package thinledger.access

import data.thinledger.lib
import rego.v1

remediation := "Require client certificates on the listener (redpanda.yaml kafka_api_tls: require_client_auth: true; operator: listeners.kafka.tls.requireClientAuth: true) or authenticate clients with SASL (kafka_api: authentication_method: sasl; operator: auth.sasl.enabled: true)."

# Listener authentication methods that identify the client.
authenticating_methods := {"sasl", "mtls_identity"}

# ---------------------------------------------------------------------------------------------
# redpanda.yaml in a ConfigMap (thinledger's rendering, rpk's own files): block-style YAML,
# read line by line (the policies have no YAML parser under every engine). A list under a key
# (`kafka_api:`, `kafka_api_tls:`) is read as its items' `key: value` pairs.
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

# Cluster-wide SASL (`enable_sasl: true`, in the same ConfigMap): listeners without their own
# authentication_method use it.
sasl_by_default(cm) if {
	some text in object.get(cm, "data", {})
	is_string(text)
	some l in split(text, "\n")
	trim_space(l) in {"enable_sasl: true", "enable_sasl: \"true\"", "enable_sasl: 'true'"}
}

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
	ls := split(text, "\n")
	tls := list_items(ls, "kafka_api_tls")
	some listener in list_items(ls, "kafka_api")
	not listener_authenticated(listener, tls, m.obj)
}

# ---------------------------------------------------------------------------------------------
# The Redpanda operator's resource (the Helm chart's values): its Kafka listener and external
# listeners. The chart turns TLS on without client certificates and SASL off by default.
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
