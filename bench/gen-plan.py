#!/usr/bin/env python3
"""Writes a reproducible Terraform plan (`terraform show -json` shape) with N resource changes.

    bench/gen-plan.py N [MIX] > plan.json

MIX is `mixed` (default: a realistic spread of the resource types the guardrails read, plus
unrelated ones) or one resource kind from KINDS below, to find a rule that scales badly with
one kind (`backup`: backup buckets each tiered by a lifecycle configuration). Every change is safe (no-op, update or create of non-ledger data) except every
1000th, which deletes a PVC, so a correct check denies exactly N // 1000 changes. The output
depends only on the arguments.
"""

import json
import sys


def tags(i):
    return {"team": f"team-{i % 17}", "env": "staging", "cost-center": f"cc-{i % 5}"}


def pvc(i, actions):
    body = {
        "metadata": [{"name": f"data-{i}", "namespace": f"ns-{i % 50}", "labels": {"app": f"app-{i}"}}],
        "spec": [{"access_modes": ["ReadWriteOnce"], "storage_class_name": "gp3",
                  "resources": [{"requests": {"storage": "10Gi"}}]}],
        "wait_until_bound": True,
    }
    return "kubernetes_persistent_volume_claim_v1", actions, body, body


def manifest(i, actions):
    obj = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i}", "namespace": f"ns-{i % 50}", "labels": {"app": f"app-{i}"}},
        "data": {"config.yaml": f"key: value-{i}\nother: {i}\n"},
    }
    return "kubernetes_manifest", actions, {"manifest": obj}, {"manifest": obj}


def bucket(i, actions):
    body = {"bucket": f"assets-{i}", "tags": tags(i), "force_destroy": False}
    return "aws_s3_bucket", actions, body, body


def instance(i, actions):
    body = {
        "ami": "ami-0123456789abcdef0", "instance_type": "m6i.large", "tags": tags(i),
        "root_block_device": [{"volume_size": 50, "volume_type": "gp3", "encrypted": True}],
        "user_data": f"#!/bin/sh\necho node {i}\n",
    }
    return "aws_instance", actions, body, body


def helm(i, actions):
    body = {"name": f"web-{i}", "chart": "nginx", "namespace": f"ns-{i % 50}",
            "values": [f"replicaCount: {1 + i % 3}\n"], "set": [{"name": "image.tag", "value": "1.27"}]}
    return "helm_release", actions, body, body


def secret(i, actions):
    body = {"metadata": [{"name": f"app-{i}", "namespace": f"ns-{i % 50}", "labels": {}}],
            "data": {"DATABASE_URL": f"postgres://app{i}@db/app"}, "type": "Opaque"}
    return "kubernetes_secret_v1", actions, body, body


def node_pool(i, actions):
    body = {"name": f"web-pool-{i}", "node_count": 3,
            "node_config": [{"machine_type": "n2-standard-4", "disk_type": "pd-balanced", "labels": {"pool": "web"}}]}
    return "google_container_node_pool", actions, body, body


def volume(i, actions):
    body = {"availability_zone": "eu-west-1a", "size": 100, "type": "gp3", "tags": tags(i)}
    return "aws_ebs_volume", actions, body, body


def statefulset(i, actions):
    body = {"metadata": [{"name": f"cache-{i}", "namespace": f"ns-{i % 50}", "labels": {"app": "cache"}}],
            "spec": [{"replicas": 3, "persistent_volume_claim_retention_policy": [{"when_deleted": "Retain", "when_scaled": "Retain"}],
                      "template": [{"spec": [{"container": [{"name": "cache", "image": "redis:7"}]}]}]}]}
    return "kubernetes_stateful_set_v1", actions, body, body


def backup(i, actions):
    # Backup buckets, each tiered by a separate lifecycle configuration (the next change):
    # the rule that relates the two once searched the whole plan for every bucket.
    if i % 2 == 0:
        body = {"bucket": f"ledger-backup-{i}", "tags": tags(i)}
        return "aws_s3_bucket", actions, body, body
    body = {"bucket": f"ledger-backup-{i - 1}",
            "rule": [{"id": "cold", "status": "Enabled", "transition": [{"days": 30, "storage_class": "GLACIER_IR"}]}]}
    return "aws_s3_bucket_lifecycle_configuration", actions, body, body


def null(i, actions):
    return "null_resource", actions, {"triggers": {"v": str(i)}}, {"triggers": {"v": str(i)}}


KINDS = {
    "pvc": pvc, "manifest": manifest, "bucket": bucket, "instance": instance, "helm": helm,
    "secret": secret, "node_pool": node_pool, "volume": volume, "statefulset": statefulset,
    "null": null, "backup": backup,
}

ACTIONS = [["no-op"], ["update"], ["no-op"], ["create"], ["no-op"]]


def change(i, kind):
    if i % 1000 == 999:
        rtype, actions, before, _ = pvc(i, ["delete"])
        after = None
    else:
        actions = ACTIONS[i % len(ACTIONS)]
        rtype, actions, before, after = kind(i, actions)
        if actions == ["create"]:
            before = None
    name = f"r{i}"
    module = f"module.m{i % 40}"
    return {
        "address": f"{module}.{rtype}.{name}",
        "module_address": module,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/x",
        "change": {"actions": actions, "before": before, "after": after,
                   "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}},
    }


def main():
    n = int(sys.argv[1])
    mix = sys.argv[2] if len(sys.argv) > 2 else "mixed"
    kinds = list(KINDS.values()) if mix == "mixed" else [KINDS[mix]]
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "resource_changes": [change(i, kinds[i % len(kinds)]) for i in range(n)],
    }
    json.dump(plan, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
