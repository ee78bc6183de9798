use super::*;

const AWS: &str = "\
tenant: acme-bank
environment: prod
ring: ring-2-prod
tier: prod
provider: aws
regions:
  - name: us-east-1
    zones: [us-east-1a, us-east-1b, us-east-1c]
cockroachdb:
  version: v25.2.4
  nodes: 3
redpanda:
  version: v25.1.9
backup:
  bucket: acme-ledger-backups
  identity:
    kind: irsa
    role_arn: arn:aws:iam::123456789012:role/acme-ledger-backup
";

#[test]
fn minimal_tenant_parses_with_defaults() {
    let t = Tenant::from_yaml(AWS).unwrap();
    assert_eq!(t.namespace(), "ledger-acme-bank-prod");
    assert_eq!(t.storage().class_name, "gp3");
    assert!(t.renders_storage_class());
    assert_eq!(t.redpanda_quorum().nodes, 3);
    assert_eq!(t.redpanda_region(), "us-east-1");
    assert_eq!(t.cockroach_quorum().unwrap().placements.len(), 3);
    assert_eq!(t.cluster_domain("us-east-1"), "cluster.local");
}

#[test]
fn unknown_field_is_a_syntax_error_with_its_line() {
    let text = AWS.replace("  nodes: 3", "  nodes: 3\n  node_count: 3");
    let err = Tenant::from_yaml(&text).unwrap_err();
    let TenantError::Syntax { message, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("unknown field `node_count`"), "{message}");
    assert_eq!(*line, Some(12), "{err}");
}

#[test]
fn every_problem_is_reported_with_field_and_line() {
    let text = AWS
        .replace("nodes: 3", "nodes: 4")
        .replace("bucket: acme-ledger-backups", "bucket: s3://Acme");
    let err = Tenant::from_yaml(&text).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 2, "{err}");
    let fields: Vec<_> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.line))
        .collect();
    assert!(fields.contains(&("cockroachdb.nodes", Some(11))), "{err}");
    assert!(fields.contains(&("backup.bucket", Some(15))), "{err}");
    assert!(err.to_string().contains("Fix:"), "{err}");
}

#[test]
fn endpoint_ports() {
    use super::validate::endpoint_port;
    assert_eq!(endpoint_port("https://minio.backup.svc:9000"), Some(9000));
    assert_eq!(endpoint_port("https://minio.backup.svc"), Some(443));
    assert_eq!(endpoint_port("http://[fd00::1]:9000/x"), Some(9000));
    assert_eq!(endpoint_port("http://[fd00::1]"), Some(80));
    assert_eq!(endpoint_port("minio:9000"), None);
    assert_eq!(endpoint_port("https://:9000"), None);
}

#[test]
fn rings_parse_and_list_valid_values() {
    assert_eq!("ring-1-early".parse::<Ring>().unwrap(), Ring::Early);
    let err = "ring-3".parse::<Ring>().unwrap_err().to_string();
    assert!(
        err.contains("ring-0-canary, ring-1-early, ring-2-prod"),
        "{err}"
    );
}
