//! Guardrails for the thin ledger: Rego policies over Terraform plans, Kubernetes manifests
//! and tenant files, evaluated in-process with [regorus](https://docs.rs/regorus).
//!
//! The policies are plain Rego (v1 syntax, with `import rego.v1` so OPA 0.59+ and 1.x both
//! accept them) under `policies/thinledger/` in this crate, one package per concern with
//! conventional `deny` and `warn` rules. They are compiled into the crate
//! ([`BUILTIN_POLICIES`]) and run unchanged under OPA or conftest (see below). Every input is
//! evaluated together in one pass, and the result is data: a [`Report`] of [`Finding`]s.
//!
//! # Public surface
//! - [`PolicySet`]: built-in and user policies; [`PolicySet::evaluate`] returns a [`Report`].
//! - [`InputSet`]: files and directories read into the policies' input; [`InputFile`];
//!   [`MAX_INPUT_BYTES`]; [`DocumentKind`] and [`TERRAFORM_ACTIONS`] (what is accepted).
//! - [`Finding`], [`Severity`], [`Report`]: the results; [`Report::render`] prints one as a
//!   table, JSON, YAML, SARIF, JUnit XML or GitHub Actions annotations ([`ReportFormat`]).
//! - [`PolicyError`]: what went wrong (input vs policy, see [`PolicyError::is_input_error`]).
//!
//! ```
//! use thinledger_policy::{InputSet, PolicySet, Severity};
//!
//! let plan = r#"{
//!   "format_version": "1.2", "terraform_version": "1.9.8",
//!   "resource_changes": [{
//!     "address": "module.ledger.kubernetes_persistent_volume_claim_v1.data",
//!     "module_address": "module.ledger", "mode": "managed",
//!     "type": "kubernetes_persistent_volume_claim_v1", "name": "data",
//!     "provider_name": "registry.terraform.io/hashicorp/kubernetes",
//!     "change": {"actions": ["delete"], "before": {}, "after": null}
//!   }]
//! }"#;
//! let mut inputs = InputSet::new();
//! inputs.add_json("plan.json", plan)?;
//! let report = PolicySet::builtin()?.evaluate(&inputs)?;
//! let denial = report.denials().next().expect("the PVC deletion is denied");
//! assert_eq!(denial.rule, "antideletion.pvc_destroyed");
//! assert_eq!(denial.resource, "module.ledger.kubernetes_persistent_volume_claim_v1.data");
//! assert_eq!(denial.severity, Severity::Deny);
//! # Ok::<(), thinledger_policy::PolicyError>(())
//! ```

//!
//! # Findings in Rego
//!
//! Each `deny`/`warn` rule produces objects
//! `{"msg", "rule", "resource", "file", "message", "remediation"}`. conftest prints `msg`
//! (`"<resource>: <message> [<rule>]"`) and keeps the other fields as metadata; this crate reads
//! them into a [`Finding`]. User policies may also produce plain strings (conftest's classic
//! style): the rule is then `<package>.<rule>` and the string is the message. As in conftest,
//! `deny`, `violation`, `deny_*` and `violation_*` rules deny; `warn` and `warn_*` warn.
//!
//! # Input
//!
//! The policies see conftest's `--combine` shape: an array of `{"path", "contents"}`, where
//! `contents` is a file's document or, for multi-document YAML, the array of its documents.
//! They also accept a single document or an array of documents (plain `conftest test FILE` or
//! `opa eval -i FILE`), and Kubernetes `List` objects. Documents are recognised by shape:
//! - **Terraform plan**: has `format_version` and `terraform_version` (`terraform show -json`);
//!   `resource_changes[]` with `mode: managed` are read (`change.actions`, `before`, `after`,
//!   `after_unknown`, `module_address`). `kubernetes_manifest` resources are also checked as
//!   the Kubernetes object in `after.manifest`.
//! - **Kubernetes object**: has `apiVersion` and `kind`.
//! - **Tenant file** (`thinledger_topology`'s tenant spec, or any object shaped like it): has
//!   a string `tenant` (or `tenant_id`/`id`) and one of `tier`, `provider`, `environment`,
//!   `ring`; no `kind`. Only `tier`, `provider`, `environment`/`ring`,
//!   `cockroachdb`/`redpanda.resources.cpu`, and for the quorum rule `survival`, `regions`
//!   (`name`, `zones`), `cockroachdb.nodes`, `redpanda.brokers` and `redpanda.region` are read.
//!
//! **Inputs fail closed.** A document the policies do not recognise would match no rule and
//! pass, so [`InputSet`] refuses, before any policy runs, every document that is none of the
//! above ([`PolicyError::UnrecognisedDocument`]: `{}`, `[]`, `null`, a string, an object
//! without `format_version` that is no Kubernetes object or tenant, an empty file) and every
//! recognised document with a field of the wrong type or value
//! ([`PolicyError::MalformedDocument`], naming the JSON path, e.g.
//! `resource_changes[3].change.actions`): a plan needs string `format_version` (major 0 or 1)
//! and `terraform_version`, and `resource_changes` (or, with no changes, `planned_values`);
//! each change an object with string `address` and `type`, `mode` `managed` or `data`, a
//! `change` object with `before`/`after` objects or null and `actions` one of
//! [`TERRAFORM_ACTIONS`] (lower case, as Terraform writes them). Kubernetes objects need
//! non-empty `apiVersion` and `kind` (also every item of a List); a tenant file's `tier`,
//! `environment`, `ring`, `provider`, `resources.cpu`, `survival`, `regions` (objects with a
//! string `name` and an array of string `zones`), `nodes`, `brokers` and `redpanda.region`
//! must have the types read. These checks are in Rust, so the Rego is the same under OPA.
//! [`PolicySet::evaluate_value`] takes a raw document and does not check it.
//!
//! **Files.** Directories are searched recursively in name order; symbolic links found in
//! them are followed only when they resolve inside a directory given, each resolved directory
//! and file is read once (so a link loop ends), and a link leading elsewhere is an error
//! ([`PolicyError::LinkOutsideRoots`]). Only regular files are read, opened without blocking
//! and checked before reading ([`PolicyError::NotAFile`] for `/dev/zero` or a fifo), each at
//! most [`MAX_INPUT_BYTES`] (256 MiB; [`PolicyError::TooLarge`]).
//!
//! # Definitions
//!
//! **Ledger object**: a `CrdbCluster` (`crdb.cockroachlabs.com`) or `Redpanda`
//! (`cluster.redpanda.com`) resource; or an object labelled `app.kubernetes.io/part-of:
//! thinledger`, or `app.kubernetes.io/name` (or `app.kubernetes.io/component`) `cockroachdb` or
//! `redpanda`; or a workload whose container runs a `cockroachdb/cockroach` or Redpanda image.
//! The *database container* of a pod is the one running such an image (else the first).
//!
//! **Production** (first match wins): the object's label `thinledger.io/tier` (`prod` or
//! `production` is production, any other value is not); else that label on a `Namespace` in the
//! same input; else the `tier` of a tenant file in the input (or, without a tier, `environment`/
//! `ring` of `prod`, `production` or `ring-2-prod`); else the namespace name (`prod`,
//! `production`, `prod-*`, `*-prod`, `*-production`). Terraform resources are production when
//! their tags/labels (`tags`, `labels`, `node_labels`, `resource_labels`,
//! `node_config[0].labels`, `metadata[0].labels`) carry `thinledger.io/tier: prod`, else when the
//! tenant file is production.
//!
//! **Ledger node pool**: `aws_eks_node_group`, `azurerm_kubernetes_cluster_node_pool` or
//! `google_container_node_pool` labelled/tagged `thinledger.io/pool` = `ledger`, `cockroachdb` or
//! `redpanda`, or whose name contains `ledger`, `crdb`, `cockroach` or `redpanda`. vCPUs come
//! from the instance type name (`m6i.2xlarge` → 8, `Standard_D4s_v5` → 4, `n2-standard-8` → 8,
//! `n2-custom-4-16384` → 4); unknown names are not judged.
//!
//! # Rules
//!
//! | rule | severity | scope | fires when |
//! |---|---|---|---|
//! | `input.malformed` | deny | all tiers | a field a rule reads is missing (where required) or of the wrong type: a Kubernetes object's `metadata.name`/`namespace` (strings), `labels` (an object; the tier, provider and ledger labels strings); a ledger database container's `name` (a non-empty string), `command`/`args` (arrays of strings), `resources` (objects of CPU and memory quantities), `--cache`/`--max-sql-memory` (a fraction, percentage or size); `replicas`, a CrdbCluster's `nodes` and `maxUnavailable`, Redpanda's replicas and replication factors (whole numbers); a tenant file's `resources.cpu`. What a rule cannot read is denied, never passed |
//! | `antideletion.pvc_destroyed` | deny | all tiers | a plan deletes or replaces a `kubernetes_persistent_volume_claim(_v1)` (actions contain `delete`), or a `kubernetes_manifest` holding a PVC, CrdbCluster or Redpanda |
//! | `antideletion.statefulset_pvc_retention` | deny | all tiers | a StatefulSet (manifest or `kubernetes_stateful_set(_v1)`) has `whenDeleted`/`whenScaled: Delete` |
//! | `antideletion.helm_release_destroyed` | deny | all tiers | a plan deletes or replaces a `helm_release` whose chart or name contains `cockroach`, `crdb` or `redpanda` |
//! | `antideletion.reclaim_delete` | deny | all tiers | a ledger StorageClass (labelled, or used by a ledger claim/volumeClaimTemplate/CrdbCluster/Redpanda in the input) has reclaim policy `Delete` or none; a ledger PersistentVolume has `Delete`; same for `kubernetes_storage_class(_v1)`/`kubernetes_persistent_volume(_v1)` with ledger labels |
//! | `sizing.min_vcpu` | deny | production | the database container, a CrdbCluster, Redpanda cores, a ledger node pool or the tenant file's `resources.cpu` is under 4 vCPU (or sets no CPU) |
//! | `sizing.guaranteed_qos` | deny | production | the database container (or CrdbCluster) lacks cpu/memory requests or limits, has requests ≠ limits, or a fractional CPU limit |
//! | `sizing.memory_flags` | deny | all tiers | CockroachDB's `2 × --max-sql-memory + --cache` exceeds 80% of the memory limit (values as fractions, percentages or sizes; unset counts as 25%) |
//! | `topology.anti_affinity` | deny | production | a database StatefulSet/Deployment has no *required* podAntiAffinity term over `kubernetes.io/hostname` or the zone that selects its own pod labels; a CrdbCluster has none; a Redpanda resource uses `soft` |
//! | `topology.pdb` | deny | production | no PodDisruptionBudget in the same namespace selects the database pods, or one allows more than 1 unavailable; a CrdbCluster sets `maxUnavailable` > 1 |
//! | `topology.node_count` | deny | production | replicas / `nodes` / brokers are even or under 3 (a StatefulSet without `replicas` has 1) |
//! | `topology.quorum` | deny | all tiers | a tenant file breaks the quorum rule of `thinledger_topology::quorum` (the same figures, `thinledger_topology::quorum::RULES`, and the same verdicts as tenant validation, on the spread thinledger computes): `cockroachdb.nodes` or `redpanda.brokers` even or under 3; zone survival on a cloud with fewer than 3 zones listed; region survival with fewer than 3 regions or 5 nodes; or a failure domain (zone, or region) that could hold half of a range's replicas or more when replicas spread over the most diverse localities first (e.g. two racks on-prem). A tenant with sites: CockroachDB's nodes as the sites declare them, and Redpanda's brokers spread over the sites with a site (its provider under survival provider; with one site, a zone) as the failure domain of a partition's 3 replicas. The message names the field, the value, the domain and the fix |
//! | `topology.replication_factor` | deny | production | a Redpanda `Topic`, `default_topic_replications`, or a `redpanda_topic`/`kafka_topic` has replication under 3 |
//! | `identity.static_cloud_key` | deny | cloud providers | a manifest or planned resource configures static keys (env vars, Secret/ConfigMap keys, Helm values named `AWS_SECRET_ACCESS_KEY`, `AZURE_CLIENT_SECRET`, `GOOGLE_APPLICATION_CREDENTIALS`, `cloud_storage_secret_key`, …; an `AKIA…` key id; a service-account key file), or a plan creates `aws_iam_access_key`, `google_service_account_key`, `azuread_*_password`. Exempt when the object is labelled `thinledger.io/provider: onprem` or the tenant file's provider is `onprem`. Messages name the location, never the value |
//! | `access.kafka_unauthenticated` | deny | production | a Redpanda Kafka listener admits clients it does not authenticate: in a ConfigMap's `redpanda.yaml` (block-style YAML, or JSON), a `kafka_api` listener without `authentication_method: sasl`/`mtls_identity` (nor `enable_sasl: true` in the same ConfigMap) whose `kafka_api_tls` entry of the same name does not set `require_client_auth: true` (or is off); a Redpanda resource whose Kafka listener (or an enabled external one) sets neither `tls.requireClientAuth: true` nor SASL (`auth.sasl.enabled`, `authenticationMethod`), as the chart's defaults do |
//! | `access.redpanda_rpc_unauthenticated` | deny | production | a ConfigMap's Redpanda node configuration (one declaring `rpc_server` or `kafka_api`; block-style YAML or JSON) has no `rpc_server_tls` with `enabled: true` and `require_client_auth: true`: any pod that reaches port 33145 can join the cluster; a Redpanda resource without `listeners.rpc.tls.requireClientAuth: true` (or with TLS off), as the chart's defaults |
//! | `access.redpanda_admin_unauthenticated` | deny | production | in such a configuration, an `admin` listener (Redpanda's default one, unnamed, when none is declared) whose `admin_api_tls` entry of the same name is missing or off (plain HTTP), or on without `require_client_auth: true` while `admin_api_require_auth: true` is not set in the same ConfigMap; a Redpanda resource without `listeners.admin.tls.requireClientAuth: true` (or with TLS off) |
//! | `cost.redpanda_untiered` | warn | all tiers | Redpanda (resource, StatefulSet, or Helm release) without `cloud_storage_enabled: true` (for a StatefulSet: in its arguments or a ConfigMap of its namespace in the input) |
//! | `cost.backup_bucket_untiered` | warn | all tiers | a backup bucket (`aws_s3_bucket`, `google_storage_bucket`, `azurerm_storage_account` whose name/address contains `backup` or tagged `thinledger.io/purpose: backup`) has no lifecycle rule moving objects to a colder class (S3 `transition`, GCS `SetStorageClass`, Azure management policy `tier_to_*`) |
//! | `cost.backup_bucket_offline_tier` | deny | all tiers | a backup bucket's lifecycle rules (enabled ones: `aws_s3_bucket` `lifecycle_rule`, `aws_s3_bucket_lifecycle_configuration` of a backup bucket by name, or in its module when the name is unknown) move current or noncurrent objects to an offline tier (S3 `GLACIER`, `DEEP_ARCHIVE`), or a backup storage account's management policy moves blobs, snapshots or versions to the Azure archive tier: the repository is unreadable until they are restored (`ledger-backup bucket check` applies the same rule to a live bucket) |
//! | `cost.legacy_disk_class` | warn | all tiers | a StorageClass with an in-tree provisioner or type `gp2`, `io1`, `st1`, `sc1`, `standard`, `pd-standard`; ledger volumes on class `gp2` or `standard`; an `aws_ebs_volume`, launch template, GKE node pool or `kubernetes_storage_class` with such a type |
//!
//! The `sizing.*` container rules apply to objects that run database nodes (Pod, StatefulSet,
//! Deployment, DaemonSet, ReplicaSet). Jobs and CronJobs that run the database image as a
//! short-lived client (cluster init, topic creation, backups) are exempt.
//!
//! Cross-object rules (PDB, reclaim policy of the class a StatefulSet uses, tiered Redpanda
//! config, production by Namespace or tenant) need the related files in the same check: pass
//! the whole manifest directory and the tenant file together.
//!
//! # Running the same policies with OPA or conftest
//!
//! ```text
//! # from a checkout (or write them out with: ledger-policy policies --write ./policy)
//! conftest test --combine --all-namespaces -p crates/policy/policies plan.json manifests/ tenant.yaml
//! # the document ledger-policy evaluates: ledger-policy input plan.json manifests/ > input.json
//! opa eval --fail-defined -d crates/policy/policies -i input.json 'data.thinledger[_].deny[_]'
//! ```
//!
//! `--combine` gives the policies the same input `ledger-policy` does; without it conftest
//! evaluates file by file, so cross-file rules (e.g. a PodDisruptionBudget in another file) see
//! less. `--all-namespaces` is needed because the packages are `thinledger.*`, not `main`.
//! [`InputSet::to_rego_input`] is that input.
//!
//! The findings are the same under OPA (Go) and regorus; the repository's test command checks
//! it on every fixture, rendered example tenant and edge case, with OPA's strict builtin errors
//! off (as `opa eval` and conftest run) and on. To keep it so, the policies use only builtins of
//! regorus' `std` + `graph` features and nothing whose result differs between engines:
//! quantities (`"3500m"`, `"32Gi"`, `"6.4GiB"`, `"25%"`) are parsed in Rego into exact whole
//! numbers (`thinledger.lib.cpu`, `bytes`, `decimal`; no `units.parse`/`units.parse_bytes`,
//! which round differently) and compared by cross-multiplying; `count()` and `substring()` are
//! applied only to strings checked to be ASCII (engines count other characters as runes or as
//! UTF-16 units); no `%` on numbers (one engine refuses `3.0 % 2`); messages format only whole
//! numbers and quote fields as written; and every builtin's arguments are type-checked first,
//! so no builtin fails on any input.
//!
//! # Performance
//!
//! All packages are evaluated in one pass, so `thinledger.lib`'s helper rules are computed
//! once. In the Rego, changes, surviving states and manifests are grouped once by resource
//! type or kind (`lib.changes_by_type`, `lib.present_by_type`, `lib.manifests_by_kind`, rule
//! heads with a variable key, OPA 0.57+), and rules look up the types they judge instead of
//! scanning every change; relations between objects (a Namespace's tier, a workload's
//! PodDisruptionBudget, a bucket's lifecycle configuration) are collected once, never searched
//! per object. A plan of 20,000 changes takes about 3 s of CPU (`bench/policy.sh`); rules added
//! to the built-in policies should keep to these patterns.

mod error;
mod finding;
mod input;
mod output;
mod policy;
mod shape;

pub use error::PolicyError;
pub use finding::{Finding, Report, Severity};
pub use input::{InputFile, InputSet, MAX_INPUT_BYTES};
pub use output::ReportFormat;
pub use policy::{BUILTIN_POLICIES, PolicySet};
pub use shape::{DocumentKind, TERRAFORM_ACTIONS};
