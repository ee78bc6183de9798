//! CockroachDB native backups: golden statements for every provider and identity, region
//! survival, changefeeds, the example schedules, redaction, quoting, and the pgwire plumbing
//! against a real PostgreSQL (connection, TLS, job polling, timeouts, errors). Tests that need a real CockroachDB run only when
//! THINLEDGER_TEST_COCKROACH_URL is set.

mod changefeed;
mod examples;
mod golden;
mod live_cockroach;
mod pgwire;
mod regions;
mod secrets;

use thinledger_topology::Tenant;

/// The AWS tenant of the topology examples, with the provider-specific parts swapped in.
pub fn tenant(provider: &str, regions: &str, backup: &str) -> Tenant {
    let text = format!(
        "tenant: acme-bank\nenvironment: prod\nring: ring-2-prod\ntier: prod\nprovider: {provider}\n{regions}\ncockroachdb: {{version: v25.2.4, nodes: 3}}\nredpanda: {{version: v25.1.9}}\n{backup}\n"
    );
    Tenant::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn aws() -> Tenant {
    tenant(
        "aws",
        "regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]",
        "backup:\n  bucket: acme-ledger-backups\n  identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}",
    )
}

pub fn azure_workload() -> Tenant {
    tenant(
        "azure",
        "regions: [{name: westeurope, zones: [\"1\", \"2\", \"3\"]}]",
        "backup:\n  bucket: ledger-backups\n  account: acmeledgerbackups\n  identity: {kind: azure-workload-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
    )
}

pub fn azure_managed() -> Tenant {
    tenant(
        "azure",
        "regions: [{name: westeurope, zones: [\"1\", \"2\", \"3\"]}]",
        "backup:\n  bucket: ledger-backups\n  account: acmeledgerbackups\n  identity: {kind: azure-managed-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
    )
}

pub fn gcp() -> Tenant {
    tenant(
        "gcp",
        "regions: [{name: europe-west1, zones: [europe-west1-b, europe-west1-c, europe-west1-d]}]",
        "backup:\n  bucket: acme-ledger-backups\n  identity: {kind: gke-workload-identity, service_account: ledger-backup@acme-prod.iam.gserviceaccount.com}",
    )
}

pub fn onprem() -> Tenant {
    tenant(
        "onprem",
        "regions: [{name: dc-frankfurt}]",
        "backup:\n  bucket: ledger-backups\n  endpoint: https://minio.backup.svc:9000\n  identity: {kind: secret-ref, secret_name: minio-backup}",
    )
}

/// Three AWS regions, one node per zone: a multi-region ledger for locality-aware backups.
pub fn aws_multi_region() -> Tenant {
    let text = "tenant: acme-bank\nenvironment: prod\nring: ring-2-prod\ntier: prod\nprovider: aws\nsurvival: region\nregions:\n  - {name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], cluster_domain: use1.ledger.internal}\n  - {name: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], cluster_domain: usw2.ledger.internal}\n  - {name: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cluster_domain: euw1.ledger.internal}\ncockroachdb: {version: v25.2.4, nodes: 9}\nredpanda: {version: v25.1.9}\nbackup:\n  bucket: acme-ledger-backups\n  identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}\nnetwork: {peer_cidrs: [10.20.0.0/16, 10.30.0.0/16, 10.40.0.0/16]}\n";
    Tenant::from_yaml(text).unwrap_or_else(|e| panic!("{e}"))
}

/// A secret used wherever one is needed; tests assert it never shows.
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const PASSPHRASE: &str = "correct horse battery staple 4242";

/// Every form in which a secret could leak: raw and percent-encoded.
pub fn leaked_forms(secret: &str) -> Vec<String> {
    let encoded: String =
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let partly: String = secret.replace('/', "%2F").replace('+', "%2B");
    vec![secret.to_owned(), encoded, partly, secret[..12].to_owned()]
}

pub fn assert_no_secret(text: &str) {
    for secret in [SECRET_KEY, PASSPHRASE] {
        for form in leaked_forms(secret) {
            assert!(
                !text.contains(&form),
                "secret form {form:?} leaked in:\n{text}"
            );
        }
    }
}
