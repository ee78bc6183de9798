# Anti-deletion: nothing may destroy the ledger's volumes, nor anything that would delete them.
# Applies in every tier: losing a staging ledger's data is still losing data.
package thinledger.antideletion

import data.thinledger.lib
import rego.v1

pvc_types := {"kubernetes_persistent_volume_claim", "kubernetes_persistent_volume_claim_v1"}

statefulset_types := {"kubernetes_stateful_set", "kubernetes_stateful_set_v1"}

storage_class_types := {"kubernetes_storage_class", "kubernetes_storage_class_v1"}

pv_types := {"kubernetes_persistent_volume", "kubernetes_persistent_volume_v1"}

# A plan that deletes or replaces a PersistentVolumeClaim (any PVC: the claim is the data).
deny contains lib.finding(
	"antideletion.pvc_destroyed",
	{"address": c.rc.address, "path": c.path},
	sprintf("the plan %s a PersistentVolumeClaim (actions: %s); its volume and data would be deleted", [lib.change_verb(c.rc), concat(", ", c.rc.change.actions)]),
	"Remove the change from the plan (terraform state rm, a moved block, or lifecycle { prevent_destroy = true }); migrate the data first if the claim really must go.",
) if {
	some pvc_type in pvc_types
	some c in lib.changes_by_type[pvc_type]
	lib.deletes(c.rc)
}

deny contains lib.finding(
	"antideletion.pvc_destroyed",
	{"address": c.rc.address, "path": c.path},
	sprintf("the plan %s a kubernetes_manifest holding a %s (actions: %s); its data would be deleted", [lib.change_verb(c.rc), c.rc.change.before.manifest.kind, concat(", ", c.rc.change.actions)]),
	"Remove the change from the plan (terraform state rm, a moved block, or lifecycle { prevent_destroy = true }).",
) if {
	some c in lib.changes_by_type.kubernetes_manifest
	lib.deletes(c.rc)
	c.rc.change.before.manifest.kind in {"PersistentVolumeClaim", "CrdbCluster", "Redpanda"}
}

# A StatefulSet whose persistentVolumeClaimRetentionPolicy deletes claims.
deny contains lib.finding(
	"antideletion.statefulset_pvc_retention",
	m,
	sprintf("persistentVolumeClaimRetentionPolicy.%s is Delete: claims would be deleted with the StatefulSet or on scale-down", [field]),
	"Set spec.persistentVolumeClaimRetentionPolicy.whenDeleted and .whenScaled to Retain (the default).",
) if {
	some m in lib.manifests_by_kind.StatefulSet
	some field in ["whenDeleted", "whenScaled"]
	object.get(m.obj, ["spec", "persistentVolumeClaimRetentionPolicy", field], "Retain") == "Delete"
}

deny contains lib.finding(
	"antideletion.statefulset_pvc_retention",
	{"address": p.rc.address, "path": p.path},
	sprintf("persistent_volume_claim_retention_policy.%s is Delete: claims would be deleted with the StatefulSet or on scale-down", [field]),
	"Set persistent_volume_claim_retention_policy { when_deleted = \"Retain\", when_scaled = \"Retain\" }.",
) if {
	some sts_type in statefulset_types
	some p in lib.present_by_type[sts_type]
	policy := lib.block(lib.block(p.after, "spec"), "persistent_volume_claim_retention_policy")
	some field in ["when_deleted", "when_scaled"]
	policy[field] == "Delete"
}

# A destroyed (or replaced) Helm release of CockroachDB or Redpanda.
db_release(after) if {
	some key in ["chart", "name"]
	v := lower(object.get(after, key, ""))
	some word in ["cockroach", "crdb", "redpanda"]
	contains(v, word)
}

deny contains lib.finding(
	"antideletion.helm_release_destroyed",
	{"address": c.rc.address, "path": c.path},
	sprintf("the plan %s the Helm release %q of the ledger's database (actions: %s)", [lib.change_verb(c.rc), object.get(c.rc.change.before, "name", c.rc.name), concat(", ", c.rc.change.actions)]),
	"Keep the release in the configuration; to move it, use a moved block or terraform state mv instead of destroy and create.",
) if {
	some c in lib.changes_by_type.helm_release
	lib.deletes(c.rc)
	db_release(c.rc.change.before)
}

# StorageClasses and PersistentVolumes that hold ledger data must Retain.
ledger_storage_classes contains sc if {
	some m in lib.ledger_manifests
	some t in object.get(m.obj, ["spec", "volumeClaimTemplates"], [])
	sc := t.spec.storageClassName
}

ledger_storage_classes contains sc if {
	some m in lib.manifests_by_kind.PersistentVolumeClaim
	lib.is_ledger(m.obj)
	sc := m.obj.spec.storageClassName
}

ledger_storage_classes contains sc if {
	some m in lib.manifests_by_kind.CrdbCluster
	lib.is_crdb_cluster(m.obj)
	sc := m.obj.spec.dataStore.pvc.spec.storageClassName
}

ledger_storage_classes contains sc if {
	some m in lib.manifests_by_kind.Redpanda
	lib.is_redpanda_cluster(m.obj)
	sc := m.obj.spec.clusterSpec.storage.persistentVolume.storageClass
}

ledger_storage(o) if lib.is_ledger(o)

ledger_storage(o) if {
	o.kind == "StorageClass"
	lib.name(o) in ledger_storage_classes
}

ledger_storage(o) if {
	o.kind == "PersistentVolume"
	o.spec.storageClassName in ledger_storage_classes
}

deny contains lib.finding(
	"antideletion.reclaim_delete",
	m,
	"reclaimPolicy is Delete (the default when unset): deleting a ledger claim would delete its disk",
	"Set reclaimPolicy: Retain on StorageClasses used for ledger data.",
) if {
	some m in lib.manifests_by_kind.StorageClass
	ledger_storage(m.obj)
	object.get(m.obj, "reclaimPolicy", "Delete") == "Delete"
}

deny contains lib.finding(
	"antideletion.reclaim_delete",
	m,
	"persistentVolumeReclaimPolicy is Delete: releasing the ledger's claim would delete its disk",
	"Patch the PersistentVolume to persistentVolumeReclaimPolicy: Retain.",
) if {
	some m in lib.manifests_by_kind.PersistentVolume
	ledger_storage(m.obj)
	m.obj.spec.persistentVolumeReclaimPolicy == "Delete"
}

tf_ledger(after) if {
	labels := object.get(after, ["metadata", 0, "labels"], {})
	labels["app.kubernetes.io/part-of"] == lib.ledger_part_of
}

tf_ledger(after) if {
	labels := object.get(after, ["metadata", 0, "labels"], {})
	labels["app.kubernetes.io/name"] in lib.ledger_apps
}

tf_ledger(after) if {
	object.get(after, ["metadata", 0, "name"], "") in ledger_storage_classes
}

deny contains lib.finding(
	"antideletion.reclaim_delete",
	{"address": p.rc.address, "path": p.path},
	"reclaim_policy is Delete (the default when unset): deleting a ledger claim would delete its disk",
	"Set reclaim_policy = \"Retain\" on storage classes used for ledger data.",
) if {
	some sc_type in storage_class_types
	some p in lib.present_by_type[sc_type]
	tf_ledger(p.after)
	object.get(p.after, "reclaim_policy", "Delete") in {"Delete", null}
}

deny contains lib.finding(
	"antideletion.reclaim_delete",
	{"address": p.rc.address, "path": p.path},
	"persistent_volume_reclaim_policy is Delete: releasing the ledger's claim would delete its disk",
	"Set persistent_volume_reclaim_policy = \"Retain\".",
) if {
	some pv_type in pv_types
	some p in lib.present_by_type[pv_type]
	tf_ledger(p.after)
	lib.block(p.after, "spec").persistent_volume_reclaim_policy == "Delete"
}
