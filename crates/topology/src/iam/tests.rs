#![allow(clippy::unwrap_used, clippy::expect_used)]

use rstest::rstest;
use serde_json::Value;

use super::*;
use crate::TenantError;

const HEAD: &str = "\
tenant: acme-bank
environment: prod
ring: ring-2-prod
tier: prod
cockroachdb: {version: v25.2.4, nodes: 3}
redpanda: {version: v25.1.9}
";

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const AKS_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/1c1a5f2e-0c7a-4d0e-9c3b-2f4e5d6c7b8a/";

fn aws(backup_extra: &str) -> String {
    format!(
        "{HEAD}provider: aws
regions: [{{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}}]
backup:
  bucket: acme-ledger-backups
  identity: {{kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}}
{backup_extra}"
    )
}

fn aws_full(backup_extra: &str) -> String {
    aws(&format!(
        "  iam: {{oidc_issuers: {{us-east-1: \"{ISSUER}\"}}}}\n{backup_extra}"
    ))
}

fn azure(backup_extra: &str, identity: &str) -> String {
    format!(
        "{HEAD}provider: azure
regions: [{{name: westeurope, zones: [\"1\", \"2\", \"3\"]}}]
backup:
  bucket: ledger-backups
  account: contosoledgerbackups
  identity: {identity}
{backup_extra}"
    )
}

const WORKLOAD: &str =
    "{kind: azure-workload-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}";
const NODE_IDENTITY: &str =
    "{kind: azure-managed-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}";

fn azure_iam(without: &str) -> String {
    let mut lines = vec![
        format!("    oidc_issuers: {{westeurope: \"{AKS_ISSUER}\"}}"),
        "    subscription_id: 6d1f7f4e-3c2b-4a19-8e5d-9a0b1c2d3e4f".to_owned(),
        "    resource_group: rg-ledger".to_owned(),
        "    identity_name: contoso-ledger-backup".to_owned(),
    ];
    lines.retain(|l| !l.trim_start().starts_with(without) || without.is_empty());
    format!("  iam:\n{}\n", lines.join("\n"))
}

fn gcp(backup_extra: &str) -> String {
    format!(
        "{HEAD}provider: gcp
regions: [{{name: europe-west1, zones: [europe-west1-b, europe-west1-c, europe-west1-d]}}]
backup:
  bucket: fabrikam-ledger-backups
  identity: {{kind: gke-workload-identity, service_account: ledger-backup@fabrikam-prod.iam.gserviceaccount.com}}
{backup_extra}"
    )
}

fn onprem(backup_extra: &str) -> String {
    format!(
        "{HEAD}provider: onprem
regions: [{{name: dc-frankfurt}}]
backup:
  bucket: northwind-ledger
  endpoint: https://minio.backup.svc:9000
  identity: {{kind: secret-ref, secret_name: minio-ledger-backup}}
{backup_extra}"
    )
}

fn planned(text: &str) -> IamPlan {
    plan_yaml(text, &IamOptions::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().unwrap()
}

fn actions(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            Value::String(a) => vec![a.clone()],
            _ => vec![],
        })
        .collect()
}

fn problem_fields(text: &str) -> Vec<String> {
    match Tenant::from_yaml(text) {
        Err(TenantError::Invalid(problems)) => problems.into_iter().map(|p| p.field).collect(),
        other => panic!("{other:?}"),
    }
}

#[rstest]
#[case::aws(aws_full(""), &[IamDocumentKind::AwsPermissionsPolicy, IamDocumentKind::AwsTrustPolicy])]
#[case::azure(azure(&azure_iam(""), WORKLOAD), &[IamDocumentKind::AzureRoleAssignment, IamDocumentKind::AzureFederatedCredential, IamDocumentKind::AzureFederatedCredential])]
#[case::azure_node_identity(azure(&azure_iam(""), NODE_IDENTITY), &[IamDocumentKind::AzureRoleAssignment])]
#[case::gcp(gcp(""), &[IamDocumentKind::GcpBucketBinding, IamDocumentKind::GcpServiceAccountBinding, IamDocumentKind::GcpServiceAccountBinding])]
#[case::onprem(onprem(""), &[IamDocumentKind::MinioPolicy])]
fn each_provider_writes_its_documents(#[case] text: String, #[case] kinds: &[IamDocumentKind]) {
    let plan = planned(&text);
    let got: Vec<IamDocumentKind> = plan.documents.iter().map(|d| d.kind).collect();
    assert_eq!(got, kinds);
    let subjects: Vec<&str> = plan
        .subjects
        .iter()
        .map(|s| s.service_account.as_str())
        .collect();
    assert_eq!(
        subjects,
        [BACKUP_SERVICE_ACCOUNT, COCKROACH_SERVICE_ACCOUNT]
    );
    assert!(!plan.terraform().is_empty());
}

#[rstest]
#[case::aws_issuer(aws(""), "backup.iam.oidc_issuers.us-east-1")]
#[case::azure_subscription(azure(&azure_iam("subscription_id"), WORKLOAD), "backup.iam.subscription_id")]
#[case::azure_group(azure(&azure_iam("resource_group"), WORKLOAD), "backup.iam.resource_group")]
#[case::azure_identity(azure(&azure_iam("identity_name"), WORKLOAD), "backup.iam.identity_name")]
#[case::azure_issuer(azure(&azure_iam("oidc_issuers"), WORKLOAD), "backup.iam.oidc_issuers.westeurope")]
#[case::azure_nothing(azure("", WORKLOAD), "backup.iam.subscription_id")]
fn a_missing_input_is_refused_naming_the_field(#[case] text: String, #[case] field: &str) {
    let err = plan_yaml(&text, &IamOptions::default()).unwrap_err();
    assert!(matches!(err, IamError::Missing { .. }), "{err:?}");
    assert_eq!(err.field(), Some(field), "{err}");
    assert!(err.to_string().contains("Fix: add "), "{err}");
}

#[test]
fn a_node_assigned_identity_needs_no_issuer() {
    let plan = planned(&azure(&azure_iam("oidc_issuers"), NODE_IDENTITY));
    assert!(
        plan.notes.iter().any(|n| n.contains("every pod")),
        "{plan:?}"
    );
}

#[rstest]
#[case::nothing("", false, false)]
#[case::object_lock("  object_lock: governance\n", true, false)]
#[case::compliance("  object_lock: compliance\n", true, false)]
#[case::kms(
    "  encryption: {kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab}\n",
    false,
    true
)]
fn aws_actions_follow_object_lock_and_kms(
    #[case] extra: &str,
    #[case] retention: bool,
    #[case] kms: bool,
) {
    let plan = planned(&aws_full(extra));
    let policy = plan
        .document(IamDocumentKind::AwsPermissionsPolicy)
        .unwrap();
    let actions = actions(policy);
    for always in [
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    ] {
        assert!(actions.contains(&always.to_owned()), "{actions:?}");
    }
    assert_eq!(
        actions.contains(&"s3:PutObjectRetention".to_owned()),
        retention
    );
    assert_eq!(
        actions.contains(&"s3:GetObjectRetention".to_owned()),
        retention
    );
    assert_eq!(actions.contains(&"kms:GenerateDataKey".to_owned()), kms);
    assert_eq!(actions.contains(&"kms:Decrypt".to_owned()), kms);
    assert!(
        !actions
            .iter()
            .any(|a| a.contains('*') || a.contains("Bypass"))
    );
    if kms {
        let key = statements(policy).last().unwrap();
        assert_eq!(
            key["Resource"][0],
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        assert_eq!(
            key["Condition"]["StringEquals"]["kms:ViaService"],
            "s3.us-east-1.amazonaws.com"
        );
    }
}

#[rstest]
// no prefix: the whole bucket, without a list condition
#[case::whole_bucket("", Some("cockroachdb"), &[], &["arn:aws:s3:::acme-ledger-backups/*"])]
// a prefix: only it (CockroachDB's default path is PREFIX/cockroach/TENANT-ENV, inside it)
#[case::prefix("  prefix: acme-bank/prod\n", Some("cockroachdb"), &["acme-bank/prod"], &["arn:aws:s3:::acme-ledger-backups/acme-bank/prod/*"])]
// without native backups only the prefix
#[case::no_cockroach("  prefix: acme-bank/prod\n", None, &["acme-bank/prod"], &["arn:aws:s3:::acme-ledger-backups/acme-bank/prod/*"])]
fn aws_resources_are_the_bucket_and_its_prefixes(
    #[case] extra: &str,
    #[case] cockroach: Option<&str>,
    #[case] prefixes: &[&str],
    #[case] objects: &[&str],
) {
    let options = IamOptions::default().with_cockroach_service_account(cockroach.map(Into::into));
    let plan = plan_yaml(&aws_full(extra), &options).unwrap();
    assert_eq!(plan.prefixes, prefixes);
    let policy = plan
        .document(IamDocumentKind::AwsPermissionsPolicy)
        .unwrap();
    let list = &statements(policy)[0];
    assert_eq!(
        list["Resource"],
        serde_json::json!(["arn:aws:s3:::acme-ledger-backups"])
    );
    if prefixes.is_empty() {
        assert!(list.get("Condition").is_none(), "{list}");
    } else {
        let listed: Vec<String> = prefixes
            .iter()
            .flat_map(|p| [p.to_string(), format!("{p}/*")])
            .collect();
        assert_eq!(
            list["Condition"]["StringLike"]["s3:prefix"],
            serde_json::json!(listed)
        );
    }
    assert_eq!(
        statements(policy)[1]["Resource"],
        serde_json::json!(objects)
    );
    let trust = plan.document(IamDocumentKind::AwsTrustPolicy).unwrap();
    let subjects = &statements(trust)[0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"];
    let expected: Vec<String> = std::iter::once("ledger-backup")
        .chain(cockroach)
        .map(|sa| format!("system:serviceaccount:ledger-acme-bank-prod:{sa}"))
        .collect();
    assert_eq!(subjects, &serde_json::json!(expected));
}

#[test]
fn a_cockroach_path_under_the_prefix_adds_nothing() {
    let options = IamOptions::default().with_cockroach_path("acme-bank/prod/cockroach");
    let plan = plan_yaml(&aws_full("  prefix: acme-bank/prod\n"), &options).unwrap();
    assert_eq!(plan.prefixes, ["acme-bank/prod"]);
    let options = IamOptions::default().with_cockroach_path("acme-bank/*");
    let err = plan_yaml(&aws_full("  prefix: acme-bank/prod\n"), &options).unwrap_err();
    assert_eq!(err.field(), Some("cockroach path"), "{err}");
}

#[test]
fn the_trust_policy_has_a_statement_per_cluster() {
    let text = aws_full("").replace(
        "regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]",
        "survival: region
network: {peer_cidrs: [10.20.0.0/16, 10.30.0.0/16]}
regions:
  - {name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], cluster_domain: use1.ledger.internal}
  - {name: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], cluster_domain: usw2.ledger.internal}
  - {name: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cluster_domain: euw1.ledger.internal}",
    ).replace("nodes: 3", "nodes: 9");
    let err = plan_yaml(&text, &IamOptions::default()).unwrap_err();
    assert_eq!(
        err.field(),
        Some("backup.iam.oidc_issuers.us-west-2"),
        "{err}"
    );
    let text = text.replace(
        &format!("{{us-east-1: \"{ISSUER}\"}}"),
        "{us-east-1: \"https://oidc.eks.us-east-1.amazonaws.com/id/A\", us-west-2: \"https://oidc.eks.us-west-2.amazonaws.com/id/B\", eu-west-1: \"https://oidc.eks.eu-west-1.amazonaws.com/id/C/\"}",
    );
    let plan = planned(&text);
    let trust = plan.document(IamDocumentKind::AwsTrustPolicy).unwrap();
    let principals: Vec<&str> = statements(trust)
        .iter()
        .map(|s| s["Principal"]["Federated"].as_str().unwrap())
        .collect();
    assert_eq!(
        principals,
        [
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/A",
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/B",
            // a trailing '/' is not part of the provider's name
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/C",
        ]
    );
    let sids: Vec<&str> = statements(trust)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "TrustClusterUsEast1",
            "TrustClusterUsWest2",
            "TrustClusterEuWest1"
        ]
    );
}

#[test]
fn azure_scopes_the_role_to_the_container_and_trusts_each_service_account() {
    let plan = planned(&azure(&azure_iam(""), WORKLOAD));
    let assignment = plan.document(IamDocumentKind::AzureRoleAssignment).unwrap();
    assert_eq!(
        assignment["scope"],
        "/subscriptions/6d1f7f4e-3c2b-4a19-8e5d-9a0b1c2d3e4f/resourceGroups/rg-ledger/providers/Microsoft.Storage/storageAccounts/contosoledgerbackups/blobServices/default/containers/ledger-backups"
    );
    assert_eq!(assignment["role"], "Storage Blob Data Contributor");
    let credentials: Vec<&Value> = plan
        .documents
        .iter()
        .filter(|d| d.kind == IamDocumentKind::AzureFederatedCredential)
        .map(|d| &d.document)
        .collect();
    let subjects: Vec<&str> = credentials
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "system:serviceaccount:ledger-acme-bank-prod:ledger-backup",
            "system:serviceaccount:ledger-acme-bank-prod:cockroachdb"
        ]
    );
    for c in credentials {
        // Azure compares the issuer byte for byte: as written, trailing '/' included
        assert_eq!(c["issuer"], AKS_ISSUER);
        assert_eq!(
            c["audiences"],
            serde_json::json!(["api://AzureADTokenExchange"])
        );
    }
}

#[rstest]
#[case::whole_bucket("", None)]
#[case::prefix(
    "  prefix: fabrikam/prod\n",
    Some(
        "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/fabrikam-ledger-backups/objects/fabrikam/prod/\")"
    )
)]
fn gcp_binds_the_bucket_and_the_pool(#[case] extra: &str, #[case] condition: Option<&str>) {
    let plan = planned(&gcp(extra));
    let binding = plan.document(IamDocumentKind::GcpBucketBinding).unwrap();
    assert_eq!(binding["bucket"], "fabrikam-ledger-backups");
    assert_eq!(binding["role"], "roles/storage.objectUser");
    assert_eq!(
        binding["member"],
        "serviceAccount:ledger-backup@fabrikam-prod.iam.gserviceaccount.com"
    );
    assert_eq!(binding["condition"]["expression"].as_str(), condition);
    let members: Vec<&str> = plan
        .documents
        .iter()
        .filter(|d| d.kind == IamDocumentKind::GcpServiceAccountBinding)
        .map(|d| d.document["member"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        [
            "serviceAccount:fabrikam-prod.svc.id.goog[ledger-acme-bank-prod/ledger-backup]",
            "serviceAccount:fabrikam-prod.svc.id.goog[ledger-acme-bank-prod/cockroachdb]"
        ]
    );
    // the pool is the cluster's project when it is not the service account's
    let plan = planned(&gcp(&format!(
        "{extra}  iam: {{cluster_project: fabrikam-gke}}\n"
    )));
    assert!(
        plan.documents[1].document["member"]
            .as_str()
            .unwrap()
            .starts_with("serviceAccount:fabrikam-gke.svc.id.goog[")
    );
}

#[rstest]
#[case::no_lock("", false)]
#[case::lock("  object_lock: compliance\n", true)]
fn minio_policy_is_the_s3_grammar_on_the_bucket(#[case] extra: &str, #[case] retention: bool) {
    let plan = planned(&onprem(&format!("  prefix: northwind/prod\n{extra}")));
    let policy = plan.document(IamDocumentKind::MinioPolicy).unwrap();
    assert_eq!(
        statements(policy)[1]["Resource"],
        // CockroachDB's native backups are under the prefix (northwind/prod/cockroach/…)
        serde_json::json!(["arn:aws:s3:::northwind-ledger/northwind/prod/*"])
    );
    assert_eq!(
        actions(policy).contains(&"s3:PutObjectRetention".to_owned()),
        retention
    );
}

#[rstest]
#[case::wildcard_prefix(aws("  prefix: acme/*\n"), "backup.prefix")]
#[case::leading_slash(aws("  prefix: /acme\n"), "backup.prefix")]
#[case::trailing_slash(aws("  prefix: acme/\n"), "backup.prefix")]
#[case::empty_segment(aws("  prefix: acme//prod\n"), "backup.prefix")]
#[case::dot_dot(aws("  prefix: acme/../other\n"), "backup.prefix")]
#[case::kms_alias(
    aws("  encryption: {kms_key_id: arn:aws:kms:us-east-1:123456789012:alias/backups}\n"),
    "backup.encryption.kms_key_id"
)]
#[case::kms_not_arn(
    aws("  encryption: {kms_key_id: 1234abcd-12ab-34cd-56ef-1234567890ab}\n"),
    "backup.encryption.kms_key_id"
)]
#[case::kms_on_azure(
    azure(
        "  encryption: {kms_key_id: arn:aws:kms:us-east-1:123456789012:key/x}\n",
        WORKLOAD
    ),
    "backup.encryption.kms_key_id"
)]
#[case::gcp_kms_malformed(
    gcp("  encryption: {kms_key_name: projects/p/keyRings/r/cryptoKeys/k}\n"),
    "backup.encryption.kms_key_name"
)]
#[case::bucket_project_on_aws(
    aws("  iam: {bucket_project: fabrikam-prod}\n"),
    "backup.iam.bucket_project"
)]
#[case::bad_bucket_project(
    gcp("  iam: {bucket_project: Fabrikam}\n"),
    "backup.iam.bucket_project"
)]
#[case::unknown_region(
    aws("  iam: {oidc_issuers: {us-west-2: \"https://oidc.example\"}}\n"),
    "backup.iam.oidc_issuers.us-west-2"
)]
#[case::http_issuer(
    aws("  iam: {oidc_issuers: {us-east-1: \"http://oidc.example\"}}\n"),
    "backup.iam.oidc_issuers.us-east-1"
)]
#[case::issuer_on_gcp(
    gcp("  iam: {oidc_issuers: {europe-west1: \"https://oidc.example\"}}\n"),
    "backup.iam.oidc_issuers.europe-west1"
)]
#[case::subscription_not_guid(
    azure("  iam: {subscription_id: my-sub}\n", WORKLOAD),
    "backup.iam.subscription_id"
)]
#[case::subscription_on_aws(
    aws("  iam: {subscription_id: 6d1f7f4e-3c2b-4a19-8e5d-9a0b1c2d3e4f}\n"),
    "backup.iam.subscription_id"
)]
#[case::bad_group(
    azure("  iam: {resource_group: \"rg.\"}\n", WORKLOAD),
    "backup.iam.resource_group"
)]
#[case::bad_identity_name(
    azure("  iam: {identity_name: \"-x\"}\n", WORKLOAD),
    "backup.iam.identity_name"
)]
#[case::project_on_aws(
    aws("  iam: {cluster_project: fabrikam-gke}\n"),
    "backup.iam.cluster_project"
)]
#[case::bad_project(
    gcp("  iam: {cluster_project: Fabrikam}\n"),
    "backup.iam.cluster_project"
)]
fn bad_inputs_are_refused_by_the_tenant_rules(#[case] text: String, #[case] field: &str) {
    assert_eq!(problem_fields(&text), [field], "{text}");
}

#[rstest]
#[case::aws_kms(aws(
    "  encryption: {kms_key_id: arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd}\n"
))]
#[case::gcp_kms(gcp(
    "  encryption: {kms_key_name: projects/p-1/locations/europe/keyRings/r/cryptoKeys/k}\n"
))]
#[case::minio_lock(onprem("  object_lock: governance\n  prefix: a.b/c_d-e\n"))]
#[case::gcs_retention(gcp("  object_lock: governance\n"))]
#[case::azure_immutability(azure("  object_lock: compliance\n", WORKLOAD))]
fn good_inputs_pass_the_tenant_rules(#[case] text: String) {
    Tenant::from_yaml(&text).unwrap();
}

/// Every resource a storage or key action applies to, per policy statement (AWS, MinIO), and
/// every bucket, container scope or key an assignment names (Azure, GCP).
fn storage_resources(plan: &IamPlan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in &plan.documents {
        match d.kind {
            IamDocumentKind::AwsPermissionsPolicy | IamDocumentKind::MinioPolicy => {
                for s in statements(&d.document) {
                    let resources = match &s["Resource"] {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    for a in actions(&serde_json::json!({"Statement": [s]})) {
                        for r in &resources {
                            out.push((a.clone(), r.as_str().unwrap_or("<none>").to_owned()));
                        }
                    }
                }
            }
            IamDocumentKind::AzureRoleAssignment => {
                out.push((
                    "azure role".into(),
                    d.document["scope"].as_str().unwrap().into(),
                ));
            }
            IamDocumentKind::GcpBucketBinding => {
                out.push((
                    "gcp role".into(),
                    d.document["bucket"].as_str().unwrap().into(),
                ));
            }
            _ => {}
        }
    }
    out
}

#[rstest]
#[case(aws_full(
    "  prefix: a/b\n  object_lock: governance\n  encryption: {kms_key_id: arn:aws:kms:us-east-1:123456789012:key/k}\n"
))]
#[case(aws_full(""))]
#[case(azure(&azure_iam(""), WORKLOAD))]
#[case(gcp("  prefix: a/b\n"))]
#[case(gcp(""))]
#[case(onprem(""))]
fn no_storage_action_applies_to_a_wildcard_resource(#[case] text: String) {
    let plan = planned(&text);
    let resources = storage_resources(&plan);
    assert!(!resources.is_empty());
    for (action, resource) in resources {
        assert_ne!(resource, "*", "{action}");
        // the bucket (or account, or key) is always named: a '*' only ends an object path
        let named = resource.trim_end_matches("/*");
        assert!(
            !named.contains('*') && !named.contains('?'),
            "{action} on {resource}"
        );
        assert!(
            resource.contains("acme-ledger-backups")
                || resource.contains("ledger-backups")
                || resource.contains("northwind-ledger")
                || resource.starts_with("arn:aws:kms:"),
            "{action} on {resource}"
        );
    }
}

/// `text` with Redpanda's tiered storage on, to `bucket` with `identity` (and `extra` keys).
fn tiered(text: &str, bucket: &str, identity: &str, extra: &str) -> String {
    text.replace(
        "redpanda: {version: v25.1.9}\n",
        &format!(
            "redpanda:\n  version: v25.1.9\n  tiered_storage: {{bucket: {bucket}, identity: {identity}{extra}}}\n"
        ),
    )
}

const REDPANDA_ROLE: &str =
    "{kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-redpanda\"}";

fn tiered_documents(plan: &IamPlan) -> Vec<&IamDocument> {
    plan.documents
        .iter()
        .filter(|d| d.grant == IamGrant::TieredStorage)
        .collect()
}

#[rstest]
#[case::aws(
    tiered(&aws_full(""), "acme-redpanda", REDPANDA_ROLE, ""),
    &[IamDocumentKind::AwsPermissionsPolicy, IamDocumentKind::AwsTrustPolicy]
)]
#[case::azure(
    tiered(
        &azure(&azure_iam(""), WORKLOAD),
        "ledger-redpanda",
        "{kind: azure-workload-identity, client_id: 7b1e3c5d-2a4f-4e6b-9c8d-1f2e3d4c5b6a}",
        ", iam: {identity_name: contoso-redpanda}"
    ),
    &[IamDocumentKind::AzureRoleAssignment, IamDocumentKind::AzureFederatedCredential]
)]
#[case::gcp(
    tiered(
        &gcp(""),
        "fabrikam-redpanda",
        "{kind: gke-workload-identity, service_account: ledger-redpanda@fabrikam-prod.iam.gserviceaccount.com}",
        ""
    ),
    &[IamDocumentKind::GcpBucketBinding, IamDocumentKind::GcpServiceAccountBinding]
)]
#[case::onprem(
    tiered(&onprem(""), "northwind-redpanda", "{kind: secret-ref, secret_name: minio-redpanda}", ""),
    &[IamDocumentKind::MinioPolicy]
)]
fn redpanda_is_granted_its_own_bucket_for_its_service_account_only(
    #[case] text: String,
    #[case] kinds: &[IamDocumentKind],
) {
    let plan = planned(&text);
    let docs = tiered_documents(&plan);
    let got: Vec<IamDocumentKind> = docs.iter().map(|d| d.kind).collect();
    assert_eq!(got, kinds);
    let bucket = plan.tiered_storage_bucket.clone().unwrap();
    for d in &docs {
        let text = d.document.to_string();
        assert!(!text.contains(&plan.bucket), "{}: {text}", d.name);
        assert!(!text.contains("ledger-backup"), "{}: {text}", d.name);
    }
    assert!(docs[0].document.to_string().contains(&bucket));
    // the brokers' service account only, and never in the backups' documents
    let trusted = |grant: IamGrant| -> String {
        plan.documents
            .iter()
            .filter(|d| d.grant == grant)
            .map(|d| d.document.to_string())
            .collect()
    };
    if kinds.len() > 1 {
        assert!(trusted(IamGrant::TieredStorage).contains("redpanda"));
    }
    assert!(!trusted(IamGrant::Backups).contains(":redpanda\""));
    assert!(!trusted(IamGrant::Backups).contains("/redpanda]"));
    let summary = plan
        .grants
        .iter()
        .find(|g| g.grant == IamGrant::TieredStorage)
        .unwrap();
    assert_eq!(summary.service_accounts, [REDPANDA_SERVICE_ACCOUNT]);
    assert_eq!(summary.identity_field, "redpanda.tiered_storage.identity");
    assert!(summary.prefixes.is_empty());
}

#[rstest]
#[case::no_key("", false)]
#[case::key(
    ", kms_key_id: \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
    true
)]
fn redpanda_on_aws_gets_get_put_delete_list_and_the_bucket_key(
    #[case] extra: &str,
    #[case] kms: bool,
) {
    let plan = planned(&tiered(
        &aws_full("  prefix: acme/prod\n  object_lock: governance\n"),
        "acme-redpanda",
        REDPANDA_ROLE,
        extra,
    ));
    let policy = &tiered_documents(&plan)[0].document;
    let mut got = actions(policy);
    got.sort();
    let mut want = vec![
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ];
    if kms {
        want.extend(["kms:Decrypt", "kms:GenerateDataKey"]);
    }
    want.sort();
    assert_eq!(got, want);
    // the whole bucket (Redpanda writes at its root), and no list condition
    assert_eq!(
        statements(policy)[1]["Resource"],
        serde_json::json!(["arn:aws:s3:::acme-redpanda/*"])
    );
    assert!(statements(policy)[0].get("Condition").is_none());
    let trust = &tiered_documents(&plan)[1].document;
    assert_eq!(
        statements(trust)[0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"],
        serde_json::json!(["system:serviceaccount:ledger-acme-bank-prod:redpanda"])
    );
}

#[test]
fn azure_redpanda_needs_its_own_identity_name() {
    // backup.iam's identity_name is the backup identity's: never used for Redpanda
    let text = tiered(
        &azure(&azure_iam(""), WORKLOAD),
        "ledger-redpanda",
        "{kind: azure-workload-identity, client_id: 7b1e3c5d-2a4f-4e6b-9c8d-1f2e3d4c5b6a}",
        "",
    );
    let err = plan_yaml(&text, &IamOptions::default()).unwrap_err();
    assert_eq!(
        err.field(),
        Some("redpanda.tiered_storage.iam.identity_name"),
        "{err}"
    );
}

#[test]
fn without_tiered_storage_of_its_own_redpanda_gets_nothing_and_the_plan_says_why() {
    let plan = planned(&aws_full(""));
    assert!(tiered_documents(&plan).is_empty());
    assert!(plan.tiered_storage_bucket.is_none());
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("no grant for Redpanda's tiered storage")),
        "{:?}",
        plan.notes
    );
}

/// Immutable backups (`object_lock`): each provider's backup grant holds what a write with
/// retention needs — S3 `PutObjectRetention` and the `GetObjectRetention` the retention HEAD
/// reads back; GCS `storage.objects.setRetention` in a custom role (`roles/storage.objectUser`
/// lacks it); Azure's immutability-policy data action in a custom role (Storage Blob Data
/// Contributor lacks it) — and only then; never the rights that bypass or shorten retention.
#[rstest]
#[case::aws(aws_full as fn(&str) -> String, &["s3:PutObjectRetention", "s3:GetObjectRetention"])]
#[case::minio(onprem as fn(&str) -> String, &["s3:PutObjectRetention", "s3:GetObjectRetention"])]
#[case::gcp(gcp as fn(&str) -> String, &["storage.objects.setRetention", "\"GcpCustomRole\"", "google_project_iam_custom_role"])]
#[case::azure(
    (|extra: &str| azure(&format!("{}{extra}", azure_iam("")), WORKLOAD)) as fn(&str) -> String,
    &[
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action",
        "azurerm_role_definition",
    ]
)]
fn retention_rights_follow_object_lock(
    #[case] tenant: fn(&str) -> String,
    #[case] needed: &[&str],
) {
    for lock in [None, Some("governance"), Some("compliance")] {
        let extra = lock
            .map(|m| format!("  object_lock: {m}\n"))
            .unwrap_or_default();
        let plan = planned(&tenant(&extra));
        let backups: Vec<&IamDocument> = plan
            .documents
            .iter()
            .filter(|d| d.grant == IamGrant::Backups)
            .collect();
        let text = format!(
            "{}\n{}\n{}",
            serde_json::to_string(&backups).unwrap(),
            serde_json::to_string(
                &backups
                    .iter()
                    .map(|d| format!("{:?}", d.kind))
                    .collect::<Vec<_>>()
            )
            .unwrap(),
            plan.terraform()
        );
        for n in needed {
            assert_eq!(text.contains(n), lock.is_some(), "{lock:?}: {n}\n{text}");
        }
        for never in [
            "s3:BypassGovernanceRetention",
            "storage.objects.overrideUnlockedRetention\"]",
            "roles/storage.objectAdmin",
            "Storage Blob Data Owner\"",
        ] {
            assert!(!text.contains(never), "{lock:?}: {never}");
        }
        if lock.is_some() {
            // Each custom role grants the one right, and is bound where the rest is.
            for d in &backups {
                match d.kind {
                    IamDocumentKind::GcpCustomRole => {
                        assert_eq!(
                            d.document["includedPermissions"],
                            serde_json::json!(["storage.objects.setRetention"])
                        );
                        assert_eq!(d.document["project"], "fabrikam-prod");
                    }
                    IamDocumentKind::AzureRoleDefinition => {
                        assert_eq!(d.document["actions"], serde_json::json!([]));
                        assert_eq!(d.document["dataActions"].as_array().unwrap().len(), 1);
                    }
                    _ => {}
                }
            }
            let scopes: Vec<&Value> = backups
                .iter()
                .filter(|d| d.kind == IamDocumentKind::AzureRoleAssignment)
                .map(|d| &d.document["scope"])
                .collect();
            assert!(scopes.windows(2).all(|w| w[0] == w[1]), "{scopes:?}");
        }
    }
}

/// A GCS bucket in another project than the service account: the retention role is created
/// there.
#[test]
fn the_gcs_retention_role_lives_in_the_buckets_project() {
    let plan = planned(&gcp(
        "  object_lock: compliance\n  iam: {bucket_project: fabrikam-data}\n",
    ));
    let role = plan.document(IamDocumentKind::GcpCustomRole).unwrap();
    assert_eq!(role["project"], "fabrikam-data");
    assert!(
        plan.terraform().contains("project     = \"fabrikam-data\"")
            || plan.terraform().contains("project = \"fabrikam-data\""),
        "{}",
        plan.terraform()
    );
}
