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

/// Quantities beyond their bound are refused before any other rule, naming field, value,
/// bound and line.
#[rstest::rstest]
#[case("  nodes: 3", "  nodes: 4294967295", "cockroachdb.nodes", "999")]
#[case(
    "  nodes: 3",
    "  nodes: 3\n  resources: {cpu: 8, memory: 16383Pi}",
    "cockroachdb.resources.memory",
    "64Ti"
)]
#[case(
    "  nodes: 3",
    "  nodes: 3\n  resources: {cpu: 100000, memory: 32Gi}",
    "cockroachdb.resources.cpu",
    "1024"
)]
#[case(
    "  nodes: 3",
    "  nodes: 3\n  resources: {cpu: 8, memory: 32Gi, disk: 16383Pi}",
    "cockroachdb.resources.disk",
    "1Pi"
)]
#[case(
    "  nodes: 3",
    "  workload: {data: 18446744073709551615}",
    "cockroachdb.workload.data",
    "16Pi"
)]
#[case(
    "  nodes: 3",
    "  workload: {data: 1Ti, write_rate_per_second: 16383Pi}",
    "cockroachdb.workload.write_rate_per_second",
    "1Ti"
)]
#[case(
    "  nodes: 3",
    "  workload: {data: 1Ti, horizon_years: 4000000000}",
    "cockroachdb.workload.horizon_years",
    "30"
)]
#[case(
    "  version: v25.1.9",
    "  version: v25.1.9\n  brokers: 1000001",
    "redpanda.brokers",
    "999"
)]
#[case(
    "  version: v25.1.9",
    "  version: v25.1.9\n  resources: {cpu: 4, memory: 18446744073709551615}",
    "redpanda.resources.memory",
    "64Ti"
)]
#[case(
    "  version: v25.1.9",
    "  version: v25.1.9\n  topics: [{name: t, partitions: 4000000000}]",
    "redpanda.topics[0].partitions",
    "100000"
)]
fn quantities_above_their_bound_are_refused_first(
    #[case] from: &str,
    #[case] to: &str,
    #[case] field: &str,
    #[case] bound: &str,
) {
    let text = AWS.replacen(from, to, 1);
    let err = Tenant::from_yaml(&text).unwrap_err();
    let TenantError::OutOfBounds(problems) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].field, field, "{err}");
    assert!(problems[0].line.is_some(), "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("more than {bound}")), "{text}");
    assert!(text.contains("Fix: use at most"), "{text}");
}

#[rstest::rstest]
#[case::default_of_prod(None, Some(3_600))]
#[case::minutes(Some("15m"), Some(900))]
#[case::days(Some("1d"), Some(86_400))]
#[case::below_a_minute(Some("30s"), None)]
#[case::above_30_days(Some("31d"), None)]
#[case::no_unit(Some("60"), None)]
#[case::fraction(Some("1.5h"), None)]
fn rpo_is_the_file_s_or_the_tier_s(#[case] rpo: Option<&str>, #[case] seconds: Option<u64>) {
    // AWS ends inside `backup`, so an appended `  rpo:` line belongs to it.
    let text = match rpo {
        Some(r) => format!("{AWS}  rpo: {r}\n"),
        None => AWS.to_owned(),
    };
    match (Tenant::from_yaml(&text), seconds) {
        (Ok(t), Some(s)) => assert_eq!(t.rpo_seconds(), s),
        (Err(e), None) => assert!(e.to_string().contains("backup.rpo"), "{e}"),
        (other, _) => panic!("{rpo:?}: {other:?}"),
    }
}

#[rstest::rstest]
#[case::aws_key("    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/k1", None)]
#[case::aws_dsse(
    "    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/k1\n    dsse: true",
    None
)]
#[case::aws_alias("    kms_key_id: alias/ledger", Some("backup.encryption.kms_key_id"))]
#[case::scope_on_aws(
    "    encryption_scope: ledger-cmk",
    Some("backup.encryption.encryption_scope")
)]
#[case::gcs_key_on_aws(
    "    kms_key_name: projects/p/locations/l/keyRings/r/cryptoKeys/k",
    Some("backup.encryption.kms_key_name")
)]
#[case::empty_key("    kms_key_id: ''", Some("backup.encryption.kms_key_id"))]
fn backup_encryption_names_the_providers_key(#[case] lines: &str, #[case] problem: Option<&str>) {
    let text = format!("{AWS}  encryption:\n{lines}\n");
    match (Tenant::from_yaml(&text), problem) {
        (Ok(t), None) => assert!(t.spec().backup.encryption.is_some()),
        (Err(err), Some(field)) => {
            assert!(err.problems().iter().any(|p| p.field == field), "{err}");
        }
        (other, _) => panic!("{text}: {other:?}"),
    }
}
