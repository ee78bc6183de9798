# Cost: un-tiered storage, flagged as warnings in every tier.
#   - Redpanda without tiered storage (cloud_storage_enabled not true);
#   - a backup bucket with no lifecycle rule that moves objects to a colder class;
#   - denied: a backup bucket whose lifecycle rules move objects to an offline tier (S3
#     GLACIER / DEEP_ARCHIVE, the Azure archive tier), where the repository is unreadable;
#   - a legacy disk class (gp2, io1, st1, sc1, pd-standard, in-tree provisioners).
package thinledger.cost

import data.thinledger.lib
import rego.v1

# ------------------------------------------------------------------ Redpanda tiered storage

tiered_paths := [
	["spec", "clusterSpec", "storage", "tiered", "config", "cloud_storage_enabled"],
	["spec", "clusterSpec", "storage", "tieredConfig", "cloud_storage_enabled"],
	["spec", "clusterSpec", "config", "cluster", "cloud_storage_enabled"],
]

truthy(v) if v == true

truthy(v) if {
	is_string(v)
	lower(v) == "true"
}

tiered_text(s) if contains(lower(s), "cloud_storage_enabled: true")

tiered_text(s) if contains(lower(s), "cloud_storage_enabled=true")

tiered_text(s) if contains(lower(s), "cloud_storage_enabled: \"true\"")

redpanda_remediation := "Enable tiered storage (cloud_storage_enabled: true with a bucket and workload-identity credentials) so closed segments move to object storage and local disks stay small."

warn contains lib.finding(
	"cost.redpanda_untiered",
	m,
	"Redpanda runs without tiered storage: all retained data stays on premium local disks",
	redpanda_remediation,
) if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	not redpanda_cr_tiered(m.obj)
}

redpanda_cr_tiered(o) if {
	some path in tiered_paths
	truthy(object.get(o, path, false))
}

# A Redpanda StatefulSet is tiered when its arguments, or a ConfigMap in its namespace in the
# same input (redpanda.yaml / bootstrap.yaml), enable cloud_storage_enabled.
warn contains lib.finding(
	"cost.redpanda_untiered",
	m,
	"Redpanda runs without tiered storage (no cloud_storage_enabled: true in its arguments or in a ConfigMap of its namespace): all retained data stays on premium local disks",
	redpanda_remediation,
) if {
	some m in lib.manifests_by_kind.StatefulSet
	lib.component(m.obj) == "redpanda"
	not statefulset_tiered(m.obj)
}

statefulset_tiered(o) if {
	some c in array.concat(lib.containers(o), object.get(lib.pod_spec(o), "initContainers", []))
	some s in array.concat(object.get(c, "command", []), object.get(c, "args", []))
	tiered_text(s)
}

statefulset_tiered(o) if lib.namespace(o) in tiered_namespaces

# Namespaces with a ConfigMap that enables tiered storage (collected once, not per StatefulSet).
tiered_namespaces contains lib.namespace(cm.obj) if {
	some cm in lib.manifests_by_kind.ConfigMap
	some s in object.get(cm.obj, "data", {})
	tiered_text(s)
}

warn contains lib.finding(
	"cost.redpanda_untiered",
	{"address": p.rc.address, "path": p.path},
	"the Redpanda Helm release does not enable tiered storage: all retained data stays on premium local disks",
	redpanda_remediation,
) if {
	some p in lib.present_by_type.helm_release
	contains(lower(object.get(p.after, "chart", "")), "redpanda")
	not helm_tiered(p.after)
}

helm_tiered(after) if {
	some s in object.get(after, "values", [])
	tiered_text(s)
}

helm_tiered(after) if {
	some s in object.get(after, "set", [])
	endswith(s.name, "cloud_storage_enabled")
	truthy(s.value)
}

# ------------------------------------------------------------------ backup buckets
#
# A backup bucket is a bucket (aws_s3_bucket, google_storage_bucket) or storage account
# (azurerm_storage_account) whose name or address contains "backup", or that is tagged
# thinledger.io/purpose = backup. It is tiered when a lifecycle rule moves objects to a colder
# storage class.

backup_bucket(p) if contains(lower(p.rc.address), "backup")

backup_bucket(p) if contains(lower(object.get(p.after, "bucket", "")), "backup")

backup_bucket(p) if contains(lower(object.get(p.after, "name", "")), "backup")

backup_bucket(p) if lib.tf_tags(p.after)["thinledger.io/purpose"] == "backup"

lifecycle_remediation := "Add a lifecycle rule that transitions backups to a colder class after the restore window (e.g. S3 STANDARD_IA/GLACIER_IR, GCS NEARLINE/COLDLINE, Azure cool/cold tier)."

warn contains lib.finding(
	"cost.backup_bucket_untiered",
	{"address": p.rc.address, "path": p.path},
	"backup bucket has no lifecycle rule moving objects to a colder storage class",
	lifecycle_remediation,
) if {
	some p in lib.present_by_type.aws_s3_bucket
	backup_bucket(p)
	not s3_tiered(p)
}

has_transition(rules) if {
	some r in rules
	some t in object.get(r, "transition", [])
	t.storage_class
}

s3_tiered(p) if has_transition(object.get(p.after, "lifecycle_rule", []))

# A separate lifecycle configuration names the bucket, or (when the name is only known after
# apply) lives in the same module. Both are collected once rather than searched per bucket.
s3_tiered(p) if p.after.bucket in s3_tiered_buckets

s3_tiered(p) if object.get(p.rc, "module_address", "") in s3_tiered_modules

s3_tiering_lifecycles contains l if {
	some l in lib.present_by_type.aws_s3_bucket_lifecycle_configuration
	has_transition(object.get(l.after, "rule", []))
}

s3_tiered_buckets contains l.after.bucket if {
	some l in s3_tiering_lifecycles
}

s3_tiered_modules contains object.get(l.rc, "module_address", "") if {
	some l in s3_tiering_lifecycles
	object.get(l.rc.change, ["after_unknown", "bucket"], false) == true
}

warn contains lib.finding(
	"cost.backup_bucket_untiered",
	{"address": p.rc.address, "path": p.path},
	"backup bucket has no lifecycle rule with a SetStorageClass action",
	lifecycle_remediation,
) if {
	some p in lib.present_by_type.google_storage_bucket
	backup_bucket(p)
	not gcs_tiered(p.after)
}

gcs_tiered(after) if {
	some r in object.get(after, "lifecycle_rule", [])
	some a in r.action
	a.type == "SetStorageClass"
}

warn contains lib.finding(
	"cost.backup_bucket_untiered",
	{"address": p.rc.address, "path": p.path},
	"backup storage account has no management policy moving blobs to the cool, cold or archive tier",
	lifecycle_remediation,
) if {
	some p in lib.present_by_type.azurerm_storage_account
	backup_bucket(p)
	not azure_tiered(p)
}

azure_tiered(p) if object.get(p.rc, "module_address", "") in azure_tiered_modules

# Modules with a management policy that tiers blobs (collected once, not per account).
azure_tiered_modules contains object.get(l.rc, "module_address", "") if {
	some l in lib.present_by_type.azurerm_storage_management_policy
	some r in object.get(l.after, "rule", [])
	some a in r.actions
	some b in a.base_blob
	some k, v in b
	startswith(k, "tier_to_")
	v != null
	v != -1
}

# ------------------------------------------------------------------ offline tiers
#
# The cheapest tiers are offline: objects in S3 Glacier Flexible Retrieval / Deep Archive or the
# Azure archive tier must be restored (hours) before a read, so restic or ledger-backup cannot
# read, check or prune a repository with objects there. Online cold tiers (S3 STANDARD_IA /
# GLACIER_IR, Azure cool/cold, every GCS class) are fine. `ledger-backup bucket check` applies
# the same rule to a live bucket.

offline_s3_classes := {"GLACIER", "DEEP_ARCHIVE"}

offline_tier_remediation := "Transition backups only to online tiers (S3 STANDARD_IA or GLACIER_IR, Azure cool or cold, any GCS class), or scope the rule to prefixes that hold no repository."

offline_tier_message(what, classes) := sprintf(
	"%s moves objects to %s, an offline tier: the backup repository cannot be read, checked or pruned until they are restored",
	[what, concat(", ", sort(classes))],
)

deny contains lib.finding(
	"cost.backup_bucket_offline_tier",
	{"address": p.rc.address, "path": p.path},
	offline_tier_message("a lifecycle rule of this backup bucket", classes),
	offline_tier_remediation,
) if {
	some p in lib.present_by_type.aws_s3_bucket
	backup_bucket(p)
	classes := s3_offline_classes(object.get(p.after, "lifecycle_rule", []))
	count(classes) > 0
}

deny contains lib.finding(
	"cost.backup_bucket_offline_tier",
	{"address": l.rc.address, "path": l.path},
	offline_tier_message("this lifecycle configuration of a backup bucket", classes),
	offline_tier_remediation,
) if {
	some l in lib.present_by_type.aws_s3_bucket_lifecycle_configuration
	backup_lifecycle(l)
	classes := s3_offline_classes(object.get(l.after, "rule", []))
	count(classes) > 0
}

# The offline classes that enabled rules (inline `enabled`, or a configuration's `status`)
# transition current or noncurrent versions to.
s3_offline_classes(rules) := {c |
	some r in rules
	object.get(r, "enabled", true) != false
	object.get(r, "status", "Enabled") != "Disabled"
	some t in array.concat(object.get(r, "transition", []), object.get(r, "noncurrent_version_transition", []))
	is_string(t.storage_class)
	c := upper(t.storage_class)
	c in offline_s3_classes
}

# A lifecycle configuration belongs to a backup bucket by its own name or address, by the
# bucket's name, or (when the name is only known after apply) by sharing a module with one.
backup_lifecycle(l) if backup_bucket(l)

backup_lifecycle(l) if l.after.bucket in backup_bucket_names

backup_lifecycle(l) if {
	object.get(l.rc.change, ["after_unknown", "bucket"], false) == true
	object.get(l.rc, "module_address", "") in backup_bucket_modules
}

# Collected once, not searched per lifecycle configuration.
backup_bucket_names contains p.after.bucket if {
	some p in lib.present_by_type.aws_s3_bucket
	backup_bucket(p)
}

backup_bucket_modules contains object.get(p.rc, "module_address", "") if {
	some p in lib.present_by_type.aws_s3_bucket
	backup_bucket(p)
}

deny contains lib.finding(
	"cost.backup_bucket_offline_tier",
	{"address": l.rc.address, "path": l.path},
	offline_tier_message("this management policy of a backup storage account", {"Archive"}),
	offline_tier_remediation,
) if {
	some l in lib.present_by_type.azurerm_storage_management_policy
	backup_management_policy(l)
	azure_archives(l.after)
}

# The actions that move blobs, snapshots or versions to the archive tier (a value of -1 or null
# leaves the action off). One object.filter per action block, not a scan of every key.
azure_archive_actions := {
	"tier_to_archive_after_days_since_modification_greater_than",
	"tier_to_archive_after_days_since_last_access_time_greater_than",
	"tier_to_archive_after_days_since_creation_greater_than",
	"change_tier_to_archive_after_days_since_creation",
}

azure_archives(after) if {
	some r in object.get(after, "rule", [])
	object.get(r, "enabled", true) != false
	some a in r.actions
	some kind in ["base_blob", "snapshot", "version"]
	some b in object.get(a, kind, [])
	some v in object.filter(b, azure_archive_actions)
	v != null
	v != -1
}

backup_management_policy(l) if contains(lower(l.rc.address), "backup")

backup_management_policy(l) if contains(lower(object.get(l.after, "storage_account_id", "")), "backup")

backup_management_policy(l) if object.get(l.rc, "module_address", "") in backup_account_modules

backup_account_modules contains object.get(p.rc, "module_address", "") if {
	some p in lib.present_by_type.azurerm_storage_account
	backup_bucket(p)
}

# ------------------------------------------------------------------ legacy disk classes

legacy_disk_types := {"gp2", "io1", "st1", "sc1", "standard", "pd-standard"}

legacy_provisioners := {"kubernetes.io/aws-ebs", "kubernetes.io/gce-pd", "kubernetes.io/azure-disk"}

# Class names that stand for legacy disks on the managed clouds: gp2 (EKS's old default) and
# standard (GKE's pd-standard).
legacy_class_names := {"gp2", "standard"}

legacy_remediation := "Use the provider's current class: gp3 or io2 on AWS, managed-csi-premium on Azure, premium-rwo on GCP."

warn contains lib.finding(
	"cost.legacy_disk_class",
	m,
	sprintf("StorageClass uses a legacy disk (%s)", [why]),
	legacy_remediation,
) if {
	some m in lib.manifests_by_kind.StorageClass
	why := legacy_storage_class(m.obj)
}

legacy_storage_class(o) := sprintf("in-tree provisioner %s", [o.provisioner]) if {
	o.provisioner in legacy_provisioners
} else := sprintf("type %s", [o.parameters.type]) if {
	lower(o.parameters.type) in legacy_disk_types
}

ledger_claim_classes(o) := {sc |
	some t in object.get(o, ["spec", "volumeClaimTemplates"], [])
	sc := t.spec.storageClassName
} | {sc |
	o.kind == "PersistentVolumeClaim"
	sc := o.spec.storageClassName
}

warn contains lib.finding(
	"cost.legacy_disk_class",
	m,
	sprintf("ledger volumes use the legacy storage class %q", [sc]),
	legacy_remediation,
) if {
	some m in lib.ledger_manifests
	some sc in ledger_claim_classes(m.obj)
	sc in legacy_class_names
}

warn contains lib.finding(
	"cost.legacy_disk_class",
	{"address": p.rc.address, "path": p.path},
	sprintf("disk type %s is a legacy class", [t]),
	legacy_remediation,
) if {
	some rtype in disk_resource_types
	some p in lib.present_by_type[rtype]
	t := tf_disk_type(rtype, p.after)
	lower(t) in legacy_disk_types
}

# The resource types tf_disk_type reads.
disk_resource_types := {"aws_ebs_volume", "kubernetes_storage_class", "kubernetes_storage_class_v1", "google_container_node_pool", "aws_launch_template"}

tf_disk_type(rtype, after) := after.type if {
	rtype == "aws_ebs_volume"
} else := after.parameters.type if {
	rtype in {"kubernetes_storage_class", "kubernetes_storage_class_v1"}
} else := after.node_config[0].disk_type if {
	rtype == "google_container_node_pool"
} else := types[0] if {
	rtype == "aws_launch_template"
	types := [v |
		some m in after.block_device_mappings
		v := m.ebs[0].volume_type
	]
}
