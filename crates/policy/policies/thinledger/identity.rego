# Identity: no static cloud keys where the provider has a workload identity (AWS IRSA, Azure
# Workload/Managed Identity, GKE Workload Identity). On-prem (MinIO with keys from a Secret) is
# exempt. Findings name where a key is configured, never its value.
package thinledger.identity

import data.thinledger.lib
import rego.v1

# Names under which static credentials are configured: environment variables, Secret and
# ConfigMap keys, Helm values and Redpanda's tiered-storage settings. Compared in lower case.
static_key_names := {
	"aws_access_key_id",
	"aws_secret_access_key",
	"azure_client_secret",
	"azure_storage_key",
	"azure_storage_account_key",
	"azure_storage_access_key",
	"azure_storage_connection_string",
	"arm_client_secret",
	"google_application_credentials",
	"google_credentials",
	"cloud_storage_access_key",
	"cloud_storage_secret_key",
	"cloud_storage_azure_shared_key",
}

# Terraform resources that mint long-lived cloud keys.
key_resource_types := {
	"aws_iam_access_key",
	"google_service_account_key",
	"azuread_application_password",
	"azuread_service_principal_password",
}

# Workload identity exists unless the object, or failing that the tenant file, says on-prem.
provider_label := "thinledger.io/provider"

onprem_names := {"onprem", "on-prem"}

has_workload_identity(o) if {
	p := lib.labels(o)[provider_label]
	not lower(p) in onprem_names
}

has_workload_identity(o) if {
	not lib.labels(o)[provider_label]
	not tenant_onprem
}

tenant_onprem if {
	some p in lib.tenant_providers
	p in onprem_names
}

# Where in a document a static key is configured, as readable locations.
key_locations(doc) := env_keys(doc) | named_keys(doc) | key_literals(doc) | key_mentions(doc) if {
	may_hold_key(doc)
} else := set()

# A cheap necessary condition for key_locations: the document's JSON text mentions one of the
# names (or "akia", or "private_key"). Walking every value of every resource four times was
# most of the time of checking a large plan; most resources mention none of them.
# strings.replace_n changes the text exactly when one of the needles occurs in it.
may_hold_key(doc) if {
	text := lower(json.marshal(doc))
	strings.replace_n(key_needles, text) != text
}

key_needles := {name: "" | some name in key_needle_names}

key_needle_names := static_key_names | {"akia", "private_key"}

env_keys(doc) := {sprintf("%s (env %s)", [path_text(path), v.name]) |
	walk(doc, [path, v])
	is_object(v)
	is_string(v.name)
	lower(v.name) in static_key_names
	configured_env(v)
}

named_keys(doc) := {sprintf("%s.%s", [path_text(path), k]) |
	walk(doc, [path, v])
	is_object(v)
	some k, val in v
	is_string(k)
	lower(k) in static_key_names
	not val in {"", null}
}

key_literals(doc) := {sprintf("%s (%s)", [path_text(path), what]) |
	walk(doc, [path, v])
	is_string(v)
	what := key_literal(v)
}

# An AWS access key id, or a GCP service-account key file.
key_literal(v) := "an AWS access key id" if {
	startswith(v, "AKIA")
	# ASCII first: engines count other characters differently (runes, UTF-16 units).
	lib.only(v, key_id_chars)
	count(v) == 20
} else := "a service-account private key" if {
	contains(v, "\"private_key\"")
	contains(v, "service_account")
}

# Helm values and configuration files embedded as strings.
key_mentions(doc) := {sprintf("%s (mentions %s)", [path_text(path), name]) |
	walk(doc, [path, v])
	is_string(v)
	some name in static_key_names
	contains(lower(v), concat("", [name, ":"]))
}

key_id_chars := object.union(lib.digit_chars, {c: "" |
	some c in split("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "")
	c != ""
})

configured_env(v) if {
	is_string(v.value)
	v.value != ""
}

configured_env(v) if v.valueFrom

path_text(path) := concat(".", [sprintf("%v", [p]) | some p in path]) if {
	count(path) > 0
} else := "(document)"

remediation := "Bind a workload identity instead (IRSA role annotation on AWS, azure.workload.identity labels and client-id on Azure, iam.gke.io/gcp-service-account on GKE) and remove the key; rotate any key that was committed."

deny contains lib.finding(
	"identity.static_cloud_key",
	m,
	sprintf("static cloud credentials at %s, where the provider has a workload identity", [loc]),
	remediation,
) if {
	some m in lib.manifests
	# key_locations first: it is cheap when it finds nothing, as for most objects.
	some loc in key_locations(m.obj)
	has_workload_identity(m.obj)
}

deny contains lib.finding(
	"identity.static_cloud_key",
	{"address": c.rc.address, "path": c.path},
	sprintf("the plan creates a long-lived key (%s), where the provider has a workload identity", [c.rc.type]),
	remediation,
) if {
	some key_type in key_resource_types
	some c in lib.changes_by_type[key_type]
	"create" in c.rc.change.actions
	not tenant_onprem
}

deny contains lib.finding(
	"identity.static_cloud_key",
	{"address": p.rc.address, "path": p.path},
	sprintf("static cloud credentials at %s, where the provider has a workload identity", [loc]),
	remediation,
) if {
	some p in lib.present
	p.rc.type != "kubernetes_manifest"
	not tenant_onprem
	some loc in key_locations(p.after)
}
