//! The least-privilege access documents of the example tenants: golden snapshots (JSON and
//! Terraform), the service accounts each identity trusts are the ones the rendering binds it
//! to (the brokers to Redpanda's own identity, never the backup identity), Redpanda's grant
//! never names the backup bucket, every site of the multi-cloud tenant is granted, every AWS
//! and MinIO policy passes parliament (an IAM linter that knows every action, resource type
//! and condition key), and every Terraform snippet parses as HCL2 and encodes the same
//! documents as the JSON.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use rstest::rstest;
use serde_json::{Value, json};
use std::io::Write;
use thinledger_tests::examples::tenant_text as example_text;
use thinledger_tests::services::var as service;
use thinledger_topology::iam::{self, IamDocumentKind, IamGrant, IamOptions, IamPlan};
use thinledger_topology::render::{
    CockroachMode, Manifest, RenderOptions, ResourcePlan, render, render_sites,
};
use thinledger_topology::{
    AZURE_WI_CLIENT_ID_ANNOTATION, GKE_SERVICE_ACCOUNT_ANNOTATION, IRSA_ROLE_ANNOTATION, Tenant,
};

use super::PROVIDERS;

fn plan(name: &str) -> IamPlan {
    iam::plan_yaml(&example_text(name), &IamOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[rstest]
fn iam_snapshots(#[values("aws", "azure", "gcp", "onprem", "multi-cloud")] provider: &str) {
    let plan = plan(provider);
    insta::assert_json_snapshot!(format!("iam-{provider}"), plan);
    insta::assert_snapshot!(format!("iam-{provider}-terraform"), plan.terraform());
}

/// The identity each rendered ServiceAccount carries (IRSA role, Azure client id, Google
/// service account, or the Secret of MinIO keys), by (namespace, name).
fn bound_service_accounts(manifests: &[Manifest]) -> BTreeSet<(String, String, String)> {
    manifests
        .iter()
        .filter_map(|o| match o {
            Manifest::ServiceAccount(sa) => Some(sa),
            _ => None,
        })
        .filter_map(|sa| {
            let a = sa.metadata.annotations.as_ref()?;
            let identity = [
                IRSA_ROLE_ANNOTATION,
                AZURE_WI_CLIENT_ID_ANNOTATION,
                GKE_SERVICE_ACCOUNT_ANNOTATION,
            ]
            .iter()
            .find_map(|k| a.get(*k).cloned())
            .or_else(|| {
                a.iter()
                    .find(|(k, _)| k.ends_with("credentials-secret"))
                    .map(|(_, v)| format!("Secret {v}"))
            })?;
            Some((
                sa.metadata.namespace.clone().unwrap(),
                sa.metadata.name.clone().unwrap(),
                identity,
            ))
        })
        .collect()
}

/// (namespace, service account, identity) for every service account a plan trusts.
fn trusted(plan: &IamPlan) -> BTreeSet<(String, String, String)> {
    plan.grants
        .iter()
        .flat_map(|g| {
            g.service_accounts
                .iter()
                .map(|sa| (plan.namespace.clone(), sa.clone(), g.identity.clone()))
        })
        .collect()
}

#[rstest]
fn the_trusted_service_accounts_are_the_ones_the_rendering_binds(
    #[values("aws", "azure", "gcp", "onprem")] provider: &str,
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let tenant = Tenant::from_yaml(&example_text(provider)).unwrap();
    let cockroach = match mode {
        CockroachMode::StatefulSet => iam::COCKROACH_SERVICE_ACCOUNT,
        _ => iam::COCKROACH_OPERATOR_SERVICE_ACCOUNT,
    };
    let options = IamOptions::default().with_cockroach_service_account(Some(cockroach.to_owned()));
    let plan = iam::plan(&tenant, &options).unwrap();
    let resources = ResourcePlan::from_tenant(&tenant).unwrap();
    let rendering = render(&tenant, &resources, &RenderOptions::new(mode)).unwrap();
    let bound = bound_service_accounts(&rendering.objects);
    assert_eq!(trusted(&plan), bound, "{provider} {mode}");
    // the brokers hold Redpanda's own identity, granted Redpanda's own bucket only
    let tiered = plan
        .grants
        .iter()
        .find(|g| g.grant == IamGrant::TieredStorage)
        .unwrap();
    assert_eq!(tiered.service_accounts, [iam::REDPANDA_SERVICE_ACCOUNT]);
    assert_ne!(tiered.bucket, plan.bucket);
    assert!(tiered.prefixes.is_empty());
    let backups = plan
        .grants
        .iter()
        .find(|g| g.grant == IamGrant::Backups)
        .unwrap();
    assert_ne!(tiered.identity, backups.identity);
    assert!(
        !backups
            .service_accounts
            .contains(&iam::REDPANDA_SERVICE_ACCOUNT.to_owned())
    );
}

/// Redpanda's documents never name the backup bucket (nor the backup identity's), and the
/// backups' documents never trust the brokers.
#[rstest]
fn redpanda_and_the_backups_are_apart(
    #[values("aws", "azure", "gcp", "onprem", "multi-cloud")] name: &str,
) {
    let plan = plan(name);
    let tiered_bucket = plan.tiered_storage_bucket.clone().unwrap();
    let mut seen = BTreeSet::new();
    for d in &plan.documents {
        let text = d.document.to_string();
        seen.insert(d.grant);
        match d.grant {
            IamGrant::TieredStorage => {
                assert!(!text.contains(&plan.bucket), "{}: {text}", d.name);
                assert!(!text.contains(":ledger-backup"), "{}: {text}", d.name);
                assert!(!text.contains("/ledger-backup]"), "{}: {text}", d.name);
            }
            IamGrant::Backups => {
                assert!(!text.contains(&tiered_bucket), "{}: {text}", d.name);
                assert!(!text.contains(":redpanda\""), "{}: {text}", d.name);
                assert!(!text.contains("/redpanda]"), "{}: {text}", d.name);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen.len(), 2, "{name}");
}

/// The multi-cloud tenant: every site's cluster is trusted for the backup bucket (the AWS
/// site through its own role, the Azure and on-prem sites through the tenant's backup role,
/// federated from their clusters' issuers), and Redpanda's role from every site.
#[test]
fn every_site_of_the_multi_cloud_tenant_is_granted() {
    let plan = plan("multi-cloud");
    let grants: Vec<(IamGrant, &str, Vec<&str>)> = plan
        .grants
        .iter()
        .map(|g| {
            (
                g.grant,
                g.identity.as_str(),
                g.clusters.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        grants,
        [
            (
                IamGrant::Backups,
                "arn:aws:iam::123456789012:role/acme-ledger",
                vec!["us-east-1"]
            ),
            (
                IamGrant::Backups,
                "arn:aws:iam::123456789012:role/acme-ledger-backup",
                vec!["eastus", "dc-frankfurt"]
            ),
            (
                IamGrant::TieredStorage,
                "arn:aws:iam::123456789012:role/acme-ledger-redpanda",
                vec!["us-east-1", "eastus", "dc-frankfurt"]
            ),
        ]
    );
    let trusts: Vec<&Value> = plan
        .documents
        .iter()
        .filter(|d| d.kind == IamDocumentKind::AwsTrustPolicy)
        .map(|d| &d.document)
        .collect();
    let providers = |trust: &Value| -> Vec<String> {
        trust["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Principal"]["Federated"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        providers(trusts[1]),
        [
            "arn:aws:iam::123456789012:oidc-provider/eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5d3c2b1a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "arn:aws:iam::123456789012:oidc-provider/oidc.acme-prod-dc-frankfurt.acme-bank.example",
        ]
    );
    assert_eq!(providers(trusts[2]).len(), 3);
    // what the platform does for the sites of other providers is said
    for site in ["azure-eastus", "onprem-fra"] {
        assert!(
            plan.notes
                .iter()
                .any(|n| n.starts_with(&format!("site {site} ")) && n.contains("AWS_ROLE_ARN")),
            "{site}: {:?}",
            plan.notes
        );
    }
    // each site's rendering binds the identities the plan trusts from that site's cluster
    let tenant = Tenant::from_yaml(&example_text("multi-cloud")).unwrap();
    let resources = ResourcePlan::from_tenant(&tenant).unwrap();
    let sites = render_sites(
        &tenant,
        &resources,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap();
    let first = bound_service_accounts(&sites[0].rendering.objects);
    for (_, sa, identity) in &first {
        assert!(
            trusted(&plan).contains(&(plan.namespace.clone(), sa.clone(), identity.clone())),
            "{sa} {identity}"
        );
    }
}

/// parliament's findings on `policy` (it reads the policy on stdin), as (issue, detail).
fn parliament(tool: &str, policy: &Value) -> Vec<(String, String)> {
    let mut child = Command::new(tool)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string_pretty(policy).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<(String, String)> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                f["issue"].as_str().unwrap().to_owned(),
                f["detail"].to_string(),
            )
        })
        .collect();
    // parliament exits 1 exactly when it has findings
    assert_eq!(
        out.status.success(),
        findings.is_empty(),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    findings
}

/// What parliament, a linter of identity-based policies, says of any trust policy: a trust
/// policy has no Resource, and parliament knows SAML providers but not OIDC providers.
const TRUST_POLICY_FINDINGS: [&str; 2] = ["MALFORMED", "UNKNOWN_FEDERATION_SOURCE"];

#[rstest]
fn aws_and_minio_policies_pass_parliament(
    #[values("aws", "onprem", "multi-cloud")] provider: &str,
    #[values(false, true)] narrow: bool,
) {
    let Some(tool) = service("THINLEDGER_TEST_PARLIAMENT") else {
        return;
    };
    let mut text = example_text(provider);
    if !narrow {
        // the other shape: the whole bucket, no key, no Object Lock
        text = text
            .lines()
            .filter(|l| {
                !["  prefix:", "  encryption:", "  object_lock:"]
                    .iter()
                    .any(|f| l.starts_with(f))
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let plan = iam::plan_yaml(&text, &IamOptions::default()).unwrap();
    let mut linted = 0;
    for d in &plan.documents {
        let findings = parliament(&tool, &d.document);
        match d.kind {
            IamDocumentKind::AwsPermissionsPolicy | IamDocumentKind::MinioPolicy => {
                assert!(findings.is_empty(), "{}: {findings:?}", d.name);
            }
            IamDocumentKind::AwsTrustPolicy => {
                let issues: BTreeSet<&str> = findings.iter().map(|(i, _)| i.as_str()).collect();
                assert!(
                    issues.is_subset(&TRUST_POLICY_FINDINGS.into_iter().collect()),
                    "{}: {findings:?}",
                    d.name
                );
                // the trust policy's action and condition keys are known to it
                assert!(
                    !findings
                        .iter()
                        .any(|(i, d)| i == "MALFORMED" && !d.contains("neither Resource")),
                    "{findings:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        linted += 1;
    }
    assert!(linted >= 1);

    // The linter is not vacuous: the same policy with a storage action on `*` is flagged.
    let policy = plan.documents[0].document.clone();
    let mut wide = policy.clone();
    wide["Statement"][1]["Resource"] = json!("*");
    let findings = parliament(&tool, &wide);
    assert!(
        findings.iter().any(|(i, _)| i == "RESOURCE_STAR"),
        "{findings:?}"
    );
    let mut typo = policy;
    typo["Statement"][1]["Action"][0] = json!("s3:GetObjects");
    let findings = parliament(&tool, &typo);
    assert!(
        findings.iter().any(|(i, _)| i == "UNKNOWN_ACTION"),
        "{findings:?}"
    );
}

/// `attribute` of the one block of `kind` named `name` in parsed HCL (`resource` or `data`).
fn block<'a>(hcl: &'a Value, section: &str, kind: &str) -> Vec<&'a Value> {
    hcl[section]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b.get(kind))
                .flat_map(|named| named.as_object().unwrap().values())
                .collect()
        })
        .unwrap_or_default()
}

/// `plan`'s Terraform parsed as HCL2 and written as JSON by hcl2json (asserting it parses), or
/// `None` (skipped) without the tool.
fn terraform_as_json(plan: &IamPlan) -> Option<Value> {
    let tool = service("THINLEDGER_TEST_HCL2_JSON")?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.tf");
    std::fs::write(&path, plan.terraform()).unwrap();
    let out = Command::new(&tool).arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        plan.terraform()
    );
    let mut parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    // hcl2json keys its output by the file it read
    Some(parsed[path.to_str().unwrap()].take())
}

#[rstest]
fn terraform_parses_and_encodes_the_json_documents(
    #[values("aws", "azure", "gcp", "onprem", "multi-cloud")] provider: &str,
) {
    let plan = plan(provider);
    let Some(hcl) = &terraform_as_json(&plan) else {
        return;
    };
    let doc = |kind| plan.document(kind).unwrap().clone();
    let documents = |kind| -> Vec<Value> {
        plan.documents
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.document.clone())
            .collect()
    };
    match provider {
        "aws" => {
            let role = block(hcl, "resource", "aws_iam_role");
            assert_eq!(
                role[0]["assume_role_policy"]["jsonencode"],
                doc(IamDocumentKind::AwsTrustPolicy)
            );
            assert_eq!(role[0]["name"], "acme-ledger-backup");
            let policy = block(hcl, "resource", "aws_iam_policy");
            assert_eq!(
                policy[0]["policy"]["jsonencode"],
                doc(IamDocumentKind::AwsPermissionsPolicy)
            );
            // Redpanda's role and policy follow the backups'
            assert_eq!(role[1]["name"], "acme-ledger-redpanda");
            let permissions = documents(IamDocumentKind::AwsPermissionsPolicy);
            assert_eq!(policy[1]["policy"]["jsonencode"], permissions[1]);
            let trusts = documents(IamDocumentKind::AwsTrustPolicy);
            assert_eq!(role[1]["assume_role_policy"]["jsonencode"], trusts[1]);
            assert_eq!(
                block(hcl, "resource", "aws_iam_role_policy_attachment").len(),
                2
            );
        }
        "multi-cloud" => {
            // a role per identity: the AWS site's, the backup role of the other sites, Redpanda's
            let roles: Vec<Value> = block(hcl, "resource", "aws_iam_role")
                .into_iter()
                .map(|r| r["assume_role_policy"]["jsonencode"].clone())
                .collect();
            assert_eq!(roles, documents(IamDocumentKind::AwsTrustPolicy));
            let policies: Vec<Value> = block(hcl, "resource", "aws_iam_policy")
                .into_iter()
                .map(|r| r["policy"]["jsonencode"].clone())
                .collect();
            assert_eq!(policies, documents(IamDocumentKind::AwsPermissionsPolicy));
            assert_eq!(roles.len(), 3);
        }
        "azure" => {
            let assignment = block(hcl, "resource", "azurerm_role_assignment");
            let expected = doc(IamDocumentKind::AzureRoleAssignment);
            assert_eq!(assignment[0]["scope"], expected["scope"]);
            assert_eq!(
                assignment[0]["role_definition_name"],
                "Storage Blob Data Contributor"
            );
            let credentials: Vec<Value> =
                block(hcl, "resource", "azurerm_federated_identity_credential")
                    .into_iter()
                    .map(|c| {
                        json!({"issuer": c["issuer"], "subject": c["subject"], "audiences": c["audience"]})
                    })
                    .collect();
            let expected: Vec<Value> = documents(IamDocumentKind::AzureFederatedCredential)
                .into_iter()
                .map(|c| {
                    json!({"issuer": c["issuer"], "subject": c["subject"], "audiences": c["audiences"]})
                })
                .collect();
            assert_eq!(credentials, expected);
            assert_eq!(
                block(hcl, "data", "azurerm_user_assigned_identity")[0]["name"],
                "contoso-ledger-backup"
            );
        }
        "gcp" => {
            let binding = block(hcl, "resource", "google_storage_bucket_iam_member");
            let expected = doc(IamDocumentKind::GcpBucketBinding);
            for key in ["bucket", "role", "member"] {
                assert_eq!(binding[0][key], expected[key], "{key}");
            }
            assert_eq!(
                binding[0]["condition"][0]["expression"],
                expected["condition"]["expression"]
            );
            let members: Vec<&Value> = block(hcl, "resource", "google_service_account_iam_member")
                .into_iter()
                .map(|b| &b["member"])
                .collect();
            let expected = documents(IamDocumentKind::GcpServiceAccountBinding);
            let expected: Vec<&Value> = expected.iter().map(|d| &d["member"]).collect();
            assert_eq!(members, expected);
        }
        _ => {
            let policy = block(hcl, "resource", "minio_iam_policy");
            assert_eq!(
                policy[0]["policy"]["jsonencode"],
                doc(IamDocumentKind::MinioPolicy)
            );
        }
    }
}

#[test]
fn every_example_grants_named_resources_only() {
    for provider in PROVIDERS {
        let plan = plan(provider);
        let text = serde_json::to_string(&plan).unwrap();
        assert!(!text.contains("\"Resource\":\"*\""), "{provider}");
        for d in &plan.documents {
            for s in d.document["Statement"].as_array().into_iter().flatten() {
                let resources: Vec<&str> = match &s["Resource"] {
                    Value::Array(a) => a.iter().map(|r| r.as_str().unwrap()).collect(),
                    Value::String(r) => vec![r.as_str()],
                    _ => vec![],
                };
                let own = match d.grant {
                    IamGrant::Backups => plan.bucket.clone(),
                    _ => plan.tiered_storage_bucket.clone().unwrap(),
                };
                for r in resources {
                    assert!(
                        r.contains(&format!(":::{own}")) || r.starts_with("arn:aws:kms:"),
                        "{provider}: {r}"
                    );
                    assert!(!r.trim_end_matches("/*").contains('*'), "{provider}: {r}");
                }
            }
        }
    }
}

/// checkov, the security scanner the renderings pass, finds nothing in the Terraform of any
/// example (its IAM checks include a `*` resource for restrictable actions, write access
/// without constraints, privilege escalation and data exfiltration).
#[test]
fn terraform_passes_checkov() {
    super::assert_checkov_clean("terraform", &[], 5, |dir| {
        // one folder (Terraform module) per tenant: the AWS and multi-cloud tenants share names
        for provider in PROVIDERS.iter().chain(&["multi-cloud"]) {
            let module = dir.join(provider);
            std::fs::create_dir(&module).unwrap();
            std::fs::write(module.join("main.tf"), plan(provider).terraform()).unwrap();
        }
    });
}

/// Immutable backups on GCS and Azure: the custom roles (GCS `storage.objects.setRetention`,
/// Azure's immutability-policy data action) parse as HCL2, encode the JSON documents' single
/// right, and are bound where the backup identity's other grant is.
#[rstest]
fn immutable_backups_terraform_parses(#[values("azure", "gcp")] provider: &str) {
    let text =
        example_text(provider).replacen("\nbackup:\n", "\nbackup:\n  object_lock: compliance\n", 1);
    let plan = iam::plan_yaml(&text, &IamOptions::default()).unwrap();
    let Some(hcl) = &terraform_as_json(&plan) else {
        return;
    };
    if provider == "gcp" {
        let role = plan.document(IamDocumentKind::GcpCustomRole).unwrap();
        let custom = block(hcl, "resource", "google_project_iam_custom_role");
        assert_eq!(custom.len(), 1);
        assert_eq!(custom[0]["permissions"], role["includedPermissions"]);
        assert_eq!(custom[0]["role_id"], role["roleId"]);
        let bindings = block(hcl, "resource", "google_storage_bucket_iam_member");
        let retention = bindings
            .iter()
            .find(|b| {
                b["role"]
                    .as_str()
                    .unwrap()
                    .contains("google_project_iam_custom_role")
            })
            .unwrap();
        assert_eq!(
            retention["condition"][0]["expression"],
            bindings[0]["condition"][0]["expression"]
        );
    } else {
        let role = plan.document(IamDocumentKind::AzureRoleDefinition).unwrap();
        let definition = block(hcl, "resource", "azurerm_role_definition");
        assert_eq!(definition.len(), 1);
        assert_eq!(
            definition[0]["permissions"][0]["data_actions"],
            role["dataActions"]
        );
        let assignments = block(hcl, "resource", "azurerm_role_assignment");
        let scopes: BTreeSet<String> = assignments
            .iter()
            .map(|a| a["scope"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(assignments.len(), 3, "backups (2) and Redpanda");
        assert_eq!(scopes.len(), 2, "{scopes:?}");
    }
}
