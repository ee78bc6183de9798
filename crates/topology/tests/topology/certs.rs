//! Certificates and safe restarts and upgrades: the cert-manager objects (names, DNS names,
//! renewal, the PKI opt-outs), the preStop drain, and the upgrade Job of a major upgrade.

use thinledger_topology::render::certs::{
    CA_ISSUER, LEAF_RENEW_BEFORE_HOURS, cockroach_node_dns_names, redpanda_dns_names,
};
use thinledger_topology::render::{DRAIN_WAIT_SECONDS, TERMINATION_GRACE_SECONDS};
use thinledger_topology::{CockroachVersion, UpgradeStep};

use super::*;

/// The Issuers and Certificates of a rendering, as one YAML stream.
fn certificate_yaml(r: &Rendering) -> String {
    r.objects
        .iter()
        .filter(|o| matches!(o.kind(), "Issuer" | "Certificate"))
        .map(|o| format!("---\n{}", o.to_yaml().unwrap()))
        .collect()
}

fn tenant_with(name: &str, from: &str, to: &str) -> Tenant {
    let text = example_text(name).replace(from, to);
    Tenant::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn render_tenant(tenant: &Tenant, mode: CockroachMode) -> Rendering {
    let plan = ResourcePlan::from_tenant(tenant).unwrap();
    render(tenant, &plan, &RenderOptions::new(mode)).unwrap()
}

/// The done-when: every example tenant's rendering includes the Certificates, in both modes,
/// before the workloads that mount their Secrets.
#[rstest]
fn every_tenant_gets_its_certificates(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let r = rendering(name, mode);
    let kinds: Vec<(&str, &str)> = r
        .objects
        .iter()
        .filter(|o| matches!(o.kind(), "Issuer" | "Certificate"))
        .map(|o| (o.kind(), o.name()))
        .collect();
    let mut expected = vec![
        ("Issuer", "ledger-selfsigned"),
        ("Certificate", "ledger-ca"),
        ("Issuer", "ledger-ca"),
        ("Certificate", "cockroachdb-node"),
        ("Certificate", "cockroachdb-root"),
        ("Certificate", "redpanda-tls"),
        ("Certificate", "redpanda-metrics-client"),
        ("Certificate", "redpanda-topics-client"),
    ];
    // The AWS example's changefeeds authenticate with mTLS from a Secret of cert-manager's keys.
    if name == "aws" {
        expected.push(("Certificate", "redpanda-changefeed-client"));
    }
    assert_eq!(kinds, expected);
    let position = |kind: &str, name: &str| {
        r.objects
            .iter()
            .position(|o| o.kind() == kind && o.name() == name)
    };
    let workload = position("StatefulSet", "redpanda").unwrap();
    assert!(position("Certificate", "redpanda-tls").unwrap() < workload);
    // Each Secret a pod mounts is one a Certificate writes.
    let yaml = r.to_yaml().unwrap();
    for secret in [
        "cockroachdb-node",
        "cockroachdb-root",
        "redpanda-tls",
        "redpanda-metrics-client",
        "redpanda-topics-client",
    ] {
        let cert = json(r.find("Certificate", secret).unwrap());
        assert_eq!(cert["spec"]["secretName"], secret);
        assert_eq!(cert["spec"]["issuerRef"]["name"], CA_ISSUER);
        assert!(yaml.matches(secret).count() > 1, "{secret} is mounted");
    }
    let node = json(r.find("Certificate", "cockroachdb-node").unwrap());
    assert_eq!(node["spec"]["commonName"], "node");
    assert_eq!(
        node["spec"]["usages"],
        serde_json::json!([
            "digital signature",
            "key encipherment",
            "server auth",
            "client auth"
        ])
    );
    assert_eq!(
        node["spec"]["ipAddresses"],
        serde_json::json!(["127.0.0.1"])
    );
    let root = json(r.find("Certificate", "cockroachdb-root").unwrap());
    assert_eq!(root["spec"]["commonName"], "root");
    assert!(root["spec"].get("dnsNames").is_none());
    // The PodMonitor verifies the node certificate against a name it carries.
    let monitor = json(r.find("PodMonitor", "cockroachdb").unwrap());
    let server_name = &monitor["spec"]["podMetricsEndpoints"][0]["tlsConfig"]["serverName"];
    assert!(
        node["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .contains(server_name),
        "{server_name}"
    );
    // Redpanda's: the brokers' certificate serves and dials (RPC, their own admin API over
    // loopback); every client's is for client auth only and names nothing.
    let broker = json(r.find("Certificate", "redpanda-tls").unwrap());
    assert_eq!(broker["spec"]["usages"], node["spec"]["usages"]);
    assert_eq!(broker["spec"]["ipAddresses"][0], "127.0.0.1");
    assert!(
        broker["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("localhost"))
    );
    for client in ["redpanda-metrics-client", "redpanda-topics-client"] {
        let cert = json(r.find("Certificate", client).unwrap());
        assert_eq!(
            cert["spec"]["usages"],
            serde_json::json!(["digital signature", "key encipherment", "client auth"]),
            "{client}"
        );
        assert!(cert["spec"].get("dnsNames").is_none(), "{client}");
    }
    let rp_monitor = json(r.find("PodMonitor", "redpanda").unwrap());
    let tls = &rp_monitor["spec"]["podMetricsEndpoints"][0]["tlsConfig"];
    assert_eq!(tls["cert"]["secret"]["name"], "redpanda-metrics-client");
    assert!(
        broker["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .contains(&tls["serverName"]),
        "{tls}"
    );
    let ca = json(r.find("Certificate", "ledger-ca").unwrap());
    assert_eq!(ca["spec"]["isCA"], true);
    assert_eq!(ca["spec"]["privateKey"]["rotationPolicy"], "Never");
    assert_eq!(
        node["spec"]["renewBefore"],
        format!("{LEAF_RENEW_BEFORE_HOURS}h")
    );
}

#[test]
fn certificate_snapshots() {
    insta::assert_snapshot!(
        "certificates-aws",
        certificate_yaml(&rendering("aws", CockroachMode::StatefulSet))
    );
}

/// The node certificate names every pod, in every form a client may dial, the Services and
/// `localhost`; the cluster domain is the tenant's.
#[rstest]
#[case(3, "ledger-acme-bank-prod", "cluster.local", 3 * 4 + 4 + 4 + 1)]
#[case(5, "ledger-a-uat", "use1.ledger.internal", 5 * 4 + 4 + 4 + 1)]
#[case(9, "ledger-contoso-prod", "cluster.local", 9 * 4 + 4 + 4 + 1)]
fn node_dns_names(#[case] pods: u32, #[case] ns: &str, #[case] domain: &str, #[case] count: usize) {
    let names = cockroach_node_dns_names(ns, domain, pods);
    assert_eq!(names.len(), count, "{names:?}");
    for i in 0..pods {
        for name in [
            format!("cockroachdb-{i}.cockroachdb"),
            format!("cockroachdb-{i}.cockroachdb.{ns}"),
            format!("cockroachdb-{i}.cockroachdb.{ns}.svc"),
            format!("cockroachdb-{i}.cockroachdb.{ns}.svc.{domain}"),
        ] {
            assert!(names.contains(&name), "{name}: {names:?}");
        }
    }
    assert!(!names.contains(&format!("cockroachdb-{pods}.cockroachdb")));
    for name in [
        "cockroachdb-public".to_owned(),
        format!("cockroachdb-public.{ns}"),
        format!("cockroachdb-public.{ns}.svc.{domain}"),
        "localhost".to_owned(),
    ] {
        assert!(names.contains(&name), "{name}: {names:?}");
    }
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "no duplicates");
    let brokers = redpanda_dns_names(ns, domain, pods);
    assert_eq!(brokers.len(), pods as usize * 4 + 4);
    assert!(brokers.contains(&format!("redpanda-0.redpanda.{ns}.svc.{domain}")));
    assert!(brokers.contains(&format!("redpanda.{ns}.svc.{domain}")));
}

/// The rendered node certificate carries the region's pods under the region's cluster domain.
#[test]
fn the_rendered_names_follow_the_tenant() {
    let tenant = tenant_with("aws", "  nodes: 3", "  nodes: 9");
    let r = render_tenant(&tenant, CockroachMode::StatefulSet);
    let node = json(r.find("Certificate", "cockroachdb-node").unwrap());
    let names: Vec<&str> = node["spec"]["dnsNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        cockroach_node_dns_names("ledger-acme-bank-prod", "cluster.local", 9)
    );
    let west = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-west-2",
    );
    let node = json(west.find("Certificate", "cockroachdb-node").unwrap());
    let names = node["spec"]["dnsNames"].as_array().unwrap();
    assert!(names.contains(&serde_json::json!(
        "cockroachdb-2.cockroachdb.ledger-acme-bank-prod.svc.usw2.ledger.internal"
    )));
    assert!(!names.contains(&serde_json::json!(
        "cockroachdb-3.cockroachdb.ledger-acme-bank-prod.svc.usw2.ledger.internal"
    )));
}

/// One CA for every region: the chain is issued in the first region; the others sign with the
/// copied CA Secret, and only the first region renders Redpanda's certificate.
#[test]
fn other_regions_share_the_first_regions_ca() {
    let east = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-east-1",
    );
    let west = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-west-2",
    );
    assert!(east.find("Certificate", "ledger-ca").is_some());
    assert!(west.find("Certificate", "ledger-ca").is_none());
    assert!(west.find("Issuer", "ledger-selfsigned").is_none());
    let issuer = json(west.find("Issuer", "ledger-ca").unwrap());
    assert_eq!(issuer["spec"]["ca"]["secretName"], "ledger-ca");
    let why = issuer["metadata"]["annotations"]["thinledger.io/purpose"]
        .as_str()
        .unwrap();
    assert!(why.contains("copy") && why.contains("us-east-1"), "{why}");
    assert!(west.find("Certificate", "redpanda-tls").is_none());
    assert!(west.find("Certificate", "cockroachdb-node").is_some());
}

/// The opt-outs: a platform issuer signs the leaf certificates (no CA chain is rendered); a
/// platform PKI renders nothing.
#[test]
fn the_platform_may_bring_its_issuer_or_its_pki() {
    let with = |section: &str| {
        tenant_with(
            "aws",
            "network:\n",
            &format!("certificates:\n{section}\nnetwork:\n"),
        )
    };
    let r = render_tenant(
        &with("  issuer_ref: {name: bank-ca, kind: ClusterIssuer}"),
        CockroachMode::StatefulSet,
    );
    assert!(r.objects.iter().all(|o| o.kind() != "Issuer"));
    for name in ["cockroachdb-node", "cockroachdb-root", "redpanda-tls"] {
        let cert = json(r.find("Certificate", name).unwrap());
        assert_eq!(
            cert["spec"]["issuerRef"],
            serde_json::json!({"name": "bank-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"})
        );
    }
    let r = render_tenant(&with("  provided: true"), CockroachMode::Operator);
    assert!(
        r.objects
            .iter()
            .all(|o| !matches!(o.kind(), "Issuer" | "Certificate"))
    );
    // The pods still mount the same Secrets, which the platform provides.
    let crdb = json(r.find("CrdbCluster", "cockroachdb").unwrap());
    assert_eq!(crdb["spec"]["nodeTLSSecret"], "cockroachdb-node");
}

#[rstest]
#[case::both(
    "  issuer_ref: {name: bank-ca}\n  provided: true",
    "certificates.provided"
)]
#[case::kind(
    "  issuer_ref: {name: bank-ca, kind: Vault}",
    "certificates.issuer_ref.kind"
)]
#[case::name("  issuer_ref: {name: Bank_CA}", "certificates.issuer_ref.name")]
#[case::unknown("  issuer: bank-ca", "issuer")]
fn certificate_mistakes_are_refused(#[case] section: &str, #[case] field: &str) {
    let text = example_text("aws").replace(
        "network:\n",
        &format!("certificates:\n{section}\nnetwork:\n"),
    );
    let err = Tenant::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains(field), "{err}");
}

/// The preStop drain fits the grace period with room for the process to exit.
#[test]
fn cockroach_pods_drain_before_they_stop() {
    let r = rendering("aws", CockroachMode::StatefulSet);
    let sts = json(r.find("StatefulSet", "cockroachdb").unwrap());
    let pod = &sts["spec"]["template"]["spec"];
    assert_eq!(
        pod["terminationGracePeriodSeconds"],
        TERMINATION_GRACE_SECONDS
    );
    let hook = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2]
        .as_str()
        .unwrap();
    for part in [
        "cockroach node drain --self",
        "--certs-dir=/cockroach/cockroach-certs",
        "--host=localhost:26258",
        &format!("--drain-wait={DRAIN_WAIT_SECONDS}s"),
    ] {
        assert!(hook.contains(part), "{part} in {hook}");
    }
    // Renewed certificates reach the running node.
    let start = pod["containers"][0]["command"][2].as_str().unwrap();
    assert!(start.contains("kill -HUP $$"), "{start}");
    let operator = json(
        rendering("aws", CockroachMode::Operator)
            .find("CrdbCluster", "cockroachdb")
            .unwrap(),
    );
    assert_eq!(
        operator["spec"]["terminationGracePeriodSecs"],
        TERMINATION_GRACE_SECONDS
    );
}

#[rstest]
#[case::none(None, "v25.2.4", None)]
#[case::same(Some("v25.2.4"), "v25.2.4", None)]
#[case::patch(Some("v25.2.1"), "v25.2.4", Some(false))]
#[case::major(Some("v25.1.6"), "v25.2.4", Some(true))]
#[case::across_years(Some("v24.3.9"), "v25.1.0", Some(true))]
#[case::no_v(Some("24.3.9"), "v25.2.4", Some(true))]
fn upgrade_decision(#[case] from: Option<&str>, #[case] to: &str, #[case] major: Option<bool>) {
    let from: Option<CockroachVersion> = from.map(|f| f.parse().unwrap());
    let step = UpgradeStep::between(from, to.parse().unwrap()).unwrap();
    match major {
        None => assert_eq!(step, UpgradeStep::None),
        Some(false) => {
            assert!(matches!(step, UpgradeStep::Patch { .. }), "{step:?}");
            assert_eq!(step.preserve_downgrade_option(), None);
        }
        Some(true) => {
            assert!(matches!(step, UpgradeStep::Major { .. }), "{step:?}");
            let from = from.unwrap();
            assert_eq!(
                step.preserve_downgrade_option(),
                Some(format!("{}.{}", from.year, from.release))
            );
        }
    }
}

#[rstest]
#[case::downgrade("v25.2.4", "downgrade")]
#[case::garbage("latest", "is not a version")]
fn upgrade_mistakes_are_refused(#[case] from: &str, #[case] says: &str) {
    let text = example_text("aws").replace(
        "  version: v25.2.4           # pinned image tag\n",
        &format!("  version: v25.1.6\n  upgrade_from: {from}\n"),
    );
    let err = Tenant::from_yaml(&text).unwrap_err().to_string();
    assert!(
        err.contains("cockroachdb.upgrade_from") && err.contains(says),
        "{err}"
    );
}

fn upgrading(from: &str) -> Tenant {
    tenant_with(
        "aws",
        "  version: v25.2.4           # pinned image tag\n",
        &format!("  version: v25.2.4\n  upgrade_from: {from}\n"),
    )
}

/// A major upgrade renders the upgrade Job (in both modes, named by its inputs, with the
/// running version's CLI); a patch upgrade renders none.
#[rstest]
fn a_major_upgrade_renders_the_upgrade_job(
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let r = render_tenant(&upgrading("v25.1.6"), mode);
    let job = json(r.job("cockroachdb-upgrade").unwrap());
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("cockroachdb-upgrade-"), "{name}");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "cockroachdb/cockroach:v25.1.6");
    let script = container["command"][2].as_str().unwrap();
    assert!(
        script.contains("SET CLUSTER SETTING cluster.preserve_downgrade_option = '25.1'"),
        "{script}"
    );
    assert!(
        script.contains("--host=cockroachdb-public.ledger-acme-bank-prod.svc.cluster.local:26257"),
        "{script}"
    );
    assert!(job["spec"]["ttlSecondsAfterFinished"].is_i64());
    // Another upgrade is another Job.
    let other = render_tenant(&upgrading("v24.3.9"), mode);
    let other = other.job("cockroachdb-upgrade").unwrap().name().to_owned();
    assert_ne!(other, name);
    // A patch upgrade, or none, renders no upgrade Job.
    assert!(
        render_tenant(&upgrading("v25.2.1"), mode)
            .job("cockroachdb-upgrade")
            .is_none()
    );
    assert!(rendering("aws", mode).job("cockroachdb-upgrade").is_none());
}

#[test]
fn job_snapshots() {
    let r = render_tenant(&upgrading("v25.1.6"), CockroachMode::StatefulSet);
    for what in ["cockroachdb-init", "cockroachdb-upgrade"] {
        insta::assert_snapshot!(
            format!("job-{what}"),
            r.job(what).unwrap().to_yaml().unwrap()
        );
    }
}

/// The Issuers and Certificates match cert-manager's CRD schemas (the npm @kubernetes-models
/// package generated from them).
#[test]
fn certificates_match_the_cert_manager_schemas() {
    let mut objects = Vec::new();
    for name in PROVIDERS {
        for (i, o) in rendering(name, CockroachMode::StatefulSet)
            .objects
            .iter()
            .enumerate()
        {
            if matches!(o.kind(), "Issuer" | "Certificate") {
                objects.push((format!("{name}-{i}"), json(o)));
            }
        }
    }
    // Per provider: the self-signed and CA Issuers, the CA, CockroachDB's node and root
    // certificates, and Redpanda's broker, metrics-client and topics-client certificates; the
    // AWS example's changefeeds add their client certificate.
    assert_eq!(objects.len(), 4 * 8 + 1);
    // Not vacuous: a Certificate without its secretName is refused.
    assert_custom_resources_valid(&objects, "Certificate", |cert| {
        cert["spec"].as_object_mut().unwrap().remove("secretName");
    });
}
