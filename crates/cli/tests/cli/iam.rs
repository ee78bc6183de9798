//! `ledger-topology iam`, run as a platform team would: the access documents of the example
//! tenants in every format, and refusals that name the missing field.

use assert_cmd::Command;
use rstest::rstest;
use serde_json::Value;

use thinledger_tests::examples::{edited_tenant, tenant as example};

fn iam(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("ledger-topology")
        .unwrap()
        .arg("iam")
        .args(args)
        .env_remove("THINLEDGER_OUTPUT")
        .env_remove("THINLEDGER_COCKROACH_MODE")
        .assert()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

fn kinds(plan: &Value) -> Vec<&str> {
    plan["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect()
}

/// The done-when: the documents of each cloud example, no `*` resource.
/// Each example grants its backups, then Redpanda's tiered storage (its own bucket and identity).
#[rstest]
#[case("aws", &["aws-permissions-policy", "aws-trust-policy", "aws-permissions-policy", "aws-trust-policy"])]
#[case("azure", &["azure-role-assignment", "azure-federated-credential", "azure-federated-credential", "azure-role-assignment", "azure-federated-credential"])]
#[case("gcp", &["gcp-bucket-binding", "gcp-service-account-binding", "gcp-service-account-binding", "gcp-bucket-binding", "gcp-service-account-binding"])]
#[case("onprem", &["minio-policy", "minio-policy"])]
#[case("multi-cloud", &["aws-permissions-policy", "aws-trust-policy", "aws-permissions-policy", "aws-trust-policy", "aws-permissions-policy", "aws-trust-policy"])]
fn renders_the_documents_of_each_example(#[case] name: &str, #[case] expected: &[&str]) {
    let tenant = example(name);
    let run = iam(&[tenant.to_str().unwrap(), "--output", "json"]).success();
    let text = stdout(&run);
    assert!(!text.contains("\"Resource\": \"*\""), "{text}");
    assert!(!text.contains("\"*\""), "{text}");
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(kinds(&plan), expected);
    let grants: Vec<&str> = plan["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["grant"].as_str().unwrap())
        .collect();
    assert_eq!(grants.last(), Some(&"tiered-storage"), "{grants:?}");
    // notes go to stderr, the data to stdout
    assert!(stderr(&run).contains("note: "), "{}", stderr(&run));
    let yaml = stdout(&iam(&[tenant.to_str().unwrap(), "-o", "yaml", "--quiet"]).success());
    assert_eq!(serde_yaml_ng::from_str::<Value>(&yaml).unwrap(), plan);
}

#[test]
fn aws_grants_retention_and_the_key_because_the_example_asks_for_them() {
    let text = stdout(&iam(&[example("aws").to_str().unwrap(), "--output", "json"]).success());
    let plan: Value = serde_json::from_str(&text).unwrap();
    let policy = &plan["documents"][0]["document"].to_string();
    for needed in [
        "s3:PutObjectRetention",
        "s3:GetObjectRetention",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "arn:aws:s3:::acme-ledger-backups/acme-bank/prod/*",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        assert!(policy.contains(needed), "{needed}: {policy}");
    }
    // without Object Lock, no retention rights
    let (_dir, path) = edited_tenant("aws", "  object_lock: governance", "");
    let text = stdout(&iam(&[path.to_str().unwrap(), "--output", "json"]).success());
    assert!(!text.contains("Retention"), "{text}");
}

#[rstest]
#[case::statefulset(&[], &["ledger-backup", "cockroachdb"])]
#[case::operator(&["--cockroach-mode", "operator"], &["ledger-backup", "cockroachdb-sa"])]
#[case::backup_jobs_only(&["--no-cockroach"], &["ledger-backup"])]
fn the_cockroach_mode_names_the_nodes_service_account(
    #[case] flags: &[&str],
    #[case] accounts: &[&str],
) {
    let tenant = example("gcp");
    let args = [&[tenant.to_str().unwrap(), "-o", "json"], flags].concat();
    let plan: Value = serde_json::from_str(&stdout(&iam(&args).success())).unwrap();
    let subjects: Vec<&str> = plan["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_account"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, accounts);
}

#[test]
fn terraform_is_written_for_iam_and_refused_elsewhere() {
    let tf = stdout(&iam(&[example("azure").to_str().unwrap(), "--output", "terraform"]).success());
    for block in [
        "data \"azurerm_user_assigned_identity\"",
        "resource \"azurerm_role_assignment\"",
        "resource \"azurerm_federated_identity_credential\"",
    ] {
        assert!(tf.contains(block), "{block}:\n{tf}");
    }
    let render = Command::cargo_bin("ledger-topology")
        .unwrap()
        .args([
            "render",
            example("aws").to_str().unwrap(),
            "-o",
            "terraform",
        ])
        .assert()
        .code(2);
    assert!(
        stderr(&render).contains("--output terraform is for `ledger-topology iam`"),
        "{}",
        stderr(&render)
    );
}

#[test]
fn the_table_describes_each_document() {
    let out = stdout(&iam(&[example("gcp").to_str().unwrap(), "--quiet"]).success());
    insta::assert_snapshot!("iam_gcp_table", out);
}

/// Tiered storage without Redpanda's own identity is refused by the tenant rules, and a tenant
/// that declares neither bucket nor identity gets no Redpanda grant, and is told why.
#[test]
fn redpanda_never_gets_the_backup_identity() {
    let (_dir, path) = edited_tenant(
        "aws",
        "arn:aws:iam::123456789012:role/acme-ledger-redpanda",
        "arn:aws:iam::123456789012:role/acme-ledger-backup",
    );
    let err = stderr(&iam(&[path.to_str().unwrap()]).code(2));
    assert!(err.contains("redpanda.tiered_storage.identity"), "{err}");
    assert!(err.contains("may delete backups"), "{err}");
    let (_dir, path) = edited_tenant(
        "aws",
        "    bucket: acme-bank-prod-redpanda      # Redpanda's own: it writes at the root and deletes segments\n    identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-redpanda\"}\n",
        "",
    );
    let run = iam(&[path.to_str().unwrap(), "-o", "json"]).success();
    let plan: Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert!(!stdout(&run).contains("tiered-storage"));
    assert_eq!(plan["grants"].as_array().unwrap().len(), 1);
    assert!(
        stderr(&run).contains("no grant for Redpanda's tiered storage"),
        "{}",
        stderr(&run)
    );
}

#[rstest]
#[case::aws_issuer(
    "aws",
    "  iam:                       # inputs of `ledger-topology iam` only\n    oidc_issuers:            # each region's EKS cluster (aws eks describe-cluster … oidc.issuer)\n      us-east-1: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\n",
    "backup.iam.oidc_issuers.us-east-1"
)]
#[case::azure_identity(
    "azure",
    "    identity_name: contoso-ledger-backup       # the managed identity with the client id above\n",
    "backup.iam.identity_name"
)]
fn a_missing_input_is_refused_with_exit_2_naming_the_field(
    #[case] name: &str,
    #[case] remove: &str,
    #[case] field: &str,
) {
    let (_dir, path) = edited_tenant(name, remove, "");
    let run = iam(&[path.to_str().unwrap(), "--output", "json"]).code(2);
    let err = stderr(&run);
    assert!(err.contains(&format!("{field} is missing")), "{err}");
    assert!(err.contains("Fix: add "), "{err}");
    assert!(stdout(&run).is_empty());
}

#[test]
fn a_bad_input_is_a_tenant_problem_with_its_line() {
    let (_dir, path) = edited_tenant("aws", "prefix: acme-bank/prod", "prefix: acme-bank/*");
    let run = iam(&[path.to_str().unwrap()]).code(2);
    let err = stderr(&run);
    assert!(err.contains("is not valid"), "{err}");
    assert!(err.contains("backup.prefix"), "{err}");
    assert!(err.contains("line "), "{err}");
}

/// The done-when line as typed: `iam examples/tenants/{aws,azure,gcp}.yaml --output json`,
/// one list of the three plans.
#[test]
fn several_tenants_print_a_list_of_plans() {
    let tenants: Vec<String> = ["aws", "azure", "gcp"]
        .iter()
        .map(|n| example(n).to_str().unwrap().to_owned())
        .collect();
    let args: Vec<&str> = tenants
        .iter()
        .map(String::as_str)
        .chain(["--output", "json"])
        .collect();
    let text = stdout(&iam(&args).success());
    assert!(!text.contains("\"Resource\": \"*\""), "{text}");
    let plans: Value = serde_json::from_str(&text).unwrap();
    let providers: Vec<&str> = plans
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["aws", "azure", "gcp"]);
    // Terraform: the three tenants' blocks one after another, names not clashing
    let args: Vec<&str> = tenants
        .iter()
        .map(String::as_str)
        .chain(["--output", "terraform"])
        .collect();
    let tf = stdout(&iam(&args).success());
    assert_eq!(
        tf.matches("# Least-privilege access for tenant").count(),
        3,
        "{tf}"
    );
}
