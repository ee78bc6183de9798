//! A tenant with sites: one ledger over AWS, Azure and an on-prem data centre
//! (`examples/tenants/multi-cloud.yaml`), checked by the model and rendered site by site.

use rstest::rstest;
use serde_json::Value;
use thinledger_topology::rack::{self, RackKey};
use thinledger_topology::render::{
    CockroachMode, RenderOptions, ResourcePlan, SiteRendering, render, render_sites, sites_to_yaml,
};
use thinledger_topology::{DomainKind, Placement, Provider, SurvivalGoal, Tenant, TenantError};

use super::{example, json, pod_specs};

pub fn multi_cloud() -> Tenant {
    example("multi-cloud")
}

pub fn site_renderings() -> Vec<SiteRendering> {
    renderings_of(&multi_cloud())
}

/// Every site's rendering of `tenant` (StatefulSet mode).
pub fn renderings_of(tenant: &Tenant) -> Vec<SiteRendering> {
    let plan = ResourcePlan::from_tenant(tenant).unwrap();
    render_sites(
        tenant,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap()
}

fn site<'a>(sites: &'a [SiteRendering], name: &str) -> &'a SiteRendering {
    sites.iter().find(|s| s.site == name).unwrap()
}

fn start_script(s: &SiteRendering) -> String {
    let sts = json(s.rendering.find("StatefulSet", "cockroachdb").unwrap());
    sts["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap()
        .to_owned()
}

fn prepare_script(s: &SiteRendering) -> String {
    let sts = json(s.rendering.find("StatefulSet", "cockroachdb").unwrap());
    sts["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Losing any one provider leaves a majority of every range's replicas: the model's failure
/// domains are the providers, and what each holds is checked against the nodes left.
#[test]
fn losing_any_provider_keeps_a_majority_of_every_range() {
    let tenant = multi_cloud();
    assert_eq!(tenant.spec().survival, SurvivalGoal::Provider);
    let plan = tenant.cockroach_quorum().unwrap();
    assert_eq!(plan.nodes, 5);
    assert_eq!(plan.replication_factor, 5);
    let providers: Vec<(&str, u32, u32)> = plan
        .failure_domains
        .iter()
        .map(|d| {
            assert_eq!(d.kind, DomainKind::Provider);
            (d.name.as_str(), d.nodes, d.replicas)
        })
        .collect();
    assert_eq!(
        providers,
        [("aws", 2, 2), ("azure", 2, 2), ("onprem", 1, 1)]
    );
    let majority = plan.replication_factor / 2 + 1;
    for lost in [Provider::Aws, Provider::Azure, Provider::OnPrem] {
        // Replicas spread over the most diverse tier (cloud) first: with 5 replicas on 5
        // nodes every node holds one, so what survives is the nodes of the other providers.
        let left: u32 = tenant
            .sites()
            .iter()
            .filter(|s| s.provider() != lost)
            .map(|s| s.nodes())
            .sum();
        let kept = left.min(plan.replication_factor);
        assert!(kept >= majority, "losing {lost}: {kept} of 5 replicas left");
        let domain = plan
            .failure_domains
            .iter()
            .find(|d| d.name == lost.as_str())
            .unwrap();
        assert_eq!(plan.replication_factor - domain.replicas, kept, "{lost}");
    }
    redpanda_partitions_keep_a_majority_without_any_provider(&tenant, &site_renderings());
}

/// What each site's rendering runs of Redpanda: its brokers (StatefulSet replicas) and the
/// rack its configure script writes (`rack="…"`).
fn rendered_brokers(s: &SiteRendering) -> (u32, String) {
    let Some(sts) = s.rendering.find("StatefulSet", "redpanda") else {
        return (0, String::new());
    };
    let sts = json(sts);
    let replicas = u32::try_from(sts["spec"]["replicas"].as_u64().unwrap()).unwrap();
    let configure = sts["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap();
    let rack = configure
        .lines()
        .find_map(|l| l.strip_prefix("rack=\""))
        .map(|r| r.trim_end_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{}: no rack line in {configure}", s.site));
    (replicas, rack)
}

/// The topics the first site's Job creates: `(name, partitions, replicas)`.
fn rendered_topics(first: &SiteRendering) -> Vec<(String, u32, u32)> {
    let job = json(first.rendering.job("redpanda-topics").unwrap());
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap()
        .to_owned();
    script
        .split("rpk topic create ")
        .skip(1)
        .map(|rest| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let after = |flag: &str| -> u32 {
                let i = words.iter().position(|w| *w == flag).unwrap();
                words[i + 1].parse().unwrap()
            };
            (
                words[0].to_owned(),
                after("--partitions"),
                after("--replicas"),
            )
        })
        .collect()
}

/// The Redpanda half of the provider-loss model: the brokers and racks each site renders,
/// the topics the first site creates, and Redpanda's rack-aware placement of their replicas
/// ([`rack::assign_replicas`]); removing each provider in turn leaves every partition a
/// majority of its replicas.
fn redpanda_partitions_keep_a_majority_without_any_provider(
    tenant: &Tenant,
    sites: &[SiteRendering],
) {
    let mut placements = Vec::new();
    for (site, rendered) in tenant.sites().iter().zip(sites) {
        assert_eq!(site.name(), rendered.site);
        let (brokers, rack_name) = rendered_brokers(rendered);
        assert!(brokers > 0, "{}: no brokers", site.name());
        let placement = Placement::new(site.region(), None, brokers).on(site.provider());
        // The rendered rack is the one rack awareness is modelled with: the provider.
        assert_eq!(
            RackKey::Provider.rack(&placement).as_deref(),
            Some(rack_name.as_str()),
            "{}",
            site.name()
        );
        placements.push(placement);
    }
    assert_eq!(rack::rack_of(&placements), RackKey::Provider);
    let racks = rack::racks(&placements);
    let topics = rendered_topics(&sites[0]);
    assert!(!topics.is_empty(), "{topics:?}");
    for (topic, partitions, replication) in topics {
        assert_eq!(replication, 3, "{topic}");
        let assignment = rack::assign_replicas(&racks, replication, partitions);
        assert_eq!(assignment.len(), partitions as usize);
        let majority = replication / 2 + 1;
        for lost in [Provider::Aws, Provider::Azure, Provider::OnPrem] {
            let lost = racks
                .iter()
                .position(|r| r.name == lost.as_str())
                .unwrap_or_else(|| panic!("no rack {lost} in {racks:?}"));
            for (p, replicas) in assignment.iter().enumerate() {
                assert_eq!(replicas.len(), replication as usize, "{topic}/{p}");
                let left = replicas.iter().filter(|r| **r != lost).count() as u32;
                assert!(
                    left >= majority,
                    "losing {}: {topic} partition {p} keeps {left} of {replication} replicas ({replicas:?})",
                    racks[lost].name
                );
            }
        }
        rack::check_rack_loss(&racks, replication, partitions).unwrap();
    }
}

/// Five brokers over the three providers: 2/2/1, still one replica per provider.
#[test]
fn five_brokers_spread_two_two_one_and_keep_every_partition() {
    let text = super::example_text("multi-cloud").replacen("  brokers: 3 ", "  brokers: 5 ", 1);
    let tenant = Tenant::from_yaml(&text).unwrap();
    let counts: Vec<u32> = tenant.sites().iter().map(|s| s.brokers()).collect();
    assert_eq!(counts, [2, 2, 1]);
    let sites = renderings_of(&tenant);
    let rendered: Vec<u32> = sites.iter().map(|s| rendered_brokers(s).0).collect();
    assert_eq!(rendered, [2, 2, 1]);
    redpanda_partitions_keep_a_majority_without_any_provider(&tenant, &sites);
}

fn invalid(text: &str) -> Vec<(String, String)> {
    match Tenant::from_yaml(text) {
        Err(TenantError::Invalid(problems)) => problems
            .into_iter()
            .map(|p| (p.field, format!("{} Fix: {}", p.rule, p.fix)))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

/// Layouts and declarations the model refuses, each naming the field and the fix.
#[rstest]
#[case::both_kinds_of_address(
    "advertise: {addresses: [192.168.40.10],",
    "advertise: {addresses: [192.168.40.10], dns_suffix: a.b,",
    "sites[2].advertise",
    "exactly one"
)]
#[case::an_address_per_node(
    "advertise: {addresses: [192.168.40.10]",
    "advertise: {addresses: [192.168.40.10, 192.168.40.11]",
    "sites[2].advertise.addresses",
    "one address per node"
)]
#[case::an_address_per_broker(
    ", brokers: [192.168.40.20]}",
    "}",
    "sites[2].advertise.brokers",
    "list 1 address"
)]
#[case::broker_addresses_come_from_the_suffix(
    "advertise: {dns_suffix: eastus.azure.ledger.acme.internal}",
    "advertise: {dns_suffix: eastus.azure.ledger.acme.internal, brokers: [10.20.0.5]}",
    "sites[1].advertise.brokers",
    "redpanda-<n>.eastus.azure.ledger.acme.internal"
)]
#[case::brokers_are_odd("  brokers: 3 ", "  brokers: 4 ", "redpanda.brokers", "use 3 or 5")]
#[case::redpanda_has_no_one_region(
    "  brokers: 3 ",
    "  region: us-east-1\n  brokers: 3 ",
    "redpanda.region",
    "remove redpanda.region"
)]
#[case::databases_for_region_survival(
    "databases: [ledger]",
    "databases: []",
    "cockroachdb.databases",
    "add databases"
)]
#[case::total_must_match(
    "  databases: [ledger]",
    "  nodes: 7\n  databases: [ledger]",
    "cockroachdb.nodes",
    "5 in all"
)]
#[case::storage_class_of_the_provider(
    "storage_class: managed-csi-premium-zrs",
    "storage_class: gp3",
    "sites[1].storage_class",
    "managed-csi-premium"
)]
#[case::identity_of_the_provider(
    "{kind: azure-workload-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
    "{kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/x\"}",
    "sites[1].identity",
    ""
)]
#[case::regions_beside_sites(
    "sites:\n",
    "regions: [{name: us-east-1}]\nsites:\n",
    "regions",
    "remove regions"
)]
#[case::cidrs_needed("cidrs: [10.20.0.0/16]", "cidrs: []", "sites[1].cidrs", "10.10.0.0/16")]
#[case::primary_provider(
    "provider: aws                # the first",
    "provider: azure                # the first",
    "provider",
    "set provider: aws"
)]
#[case::site_names_differ("name: azure-eastus", "name: aws-use1", "sites[1].name", "rename")]
fn sites_are_refused_with_the_field_and_the_fix(
    #[case] from: &str,
    #[case] to: &str,
    #[case] field: &str,
    #[case] says: &str,
) {
    let text = super::example_text("multi-cloud");
    assert!(text.contains(from), "{from}");
    let text = text.replacen(from, to, 1);
    let problems = invalid(&text);
    assert!(
        problems
            .iter()
            .any(|(f, m)| f.starts_with(field) && m.contains(says)),
        "{field} / {says}: {problems:?}"
    );
}

/// A provider holding a majority of the replicas (3 of 5 nodes on AWS), and two providers
/// only: the model's quorum rule over the sites refuses both.
#[test]
fn layouts_that_lose_a_majority_with_a_provider_are_refused() {
    let text = super::example_text("multi-cloud")
        .replacen(
            "    nodes: 2\n    storage_class: gp3",
            "    nodes: 3\n    storage_class: gp3",
            1,
        )
        .replacen(
            "    nodes: 2\n    storage_class: managed-csi-premium-zrs",
            "    nodes: 1\n    storage_class: managed-csi-premium-zrs",
            1,
        );
    let problems = invalid(&text);
    assert!(
        problems.iter().any(|(f, m)| f == "sites"
            && m.contains("losing provider aws (3 of 5 nodes) would lose 3 of the 5 replicas")
            && m.contains("Fix: move nodes out of provider aws")),
        "{problems:?}"
    );
    // Without the on-prem site, two providers cannot survive either's loss.
    let full = super::example_text("multi-cloud");
    let start = full.find("  - name: onprem-fra").unwrap();
    let end = full.find("cockroachdb:\n").unwrap();
    let two = format!("{}{}", &full[..start], &full[end..]).replacen(
        "    nodes: 2\n    storage_class: managed-csi-premium-zrs",
        "    nodes: 3\n    storage_class: managed-csi-premium-zrs",
        1,
    );
    let problems = invalid(&two);
    assert!(
        problems
            .iter()
            .any(|(f, m)| f == "sites" && m.contains("at least 3 providers")),
        "{problems:?}"
    );
}

#[test]
fn unknown_site_fields_are_refused() {
    let text = super::example_text("multi-cloud").replacen(
        "    nodes: 2\n",
        "    nodes: 2\n    colour: blue\n",
        1,
    );
    let err = Tenant::from_yaml(&text).unwrap_err();
    assert!(matches!(err, TenantError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn provider_survival_needs_sites() {
    let text = super::example_text("aws").replacen("survival: zone", "survival: provider", 1);
    let problems = invalid(&text);
    assert!(
        problems
            .iter()
            .any(|(f, m)| f == "survival" && m.contains("declare sites")),
        "{problems:?}"
    );
}

/// The done-when properties of a rendering per site.
#[test]
fn every_site_renders_its_own_cluster() {
    let sites = site_renderings();
    let names: Vec<(&str, &str)> = sites
        .iter()
        .map(|s| (s.site.as_str(), s.cluster.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("aws-use1", "acme-prod-aws-use1"),
            ("azure-eastus", "acme-prod-azure-eastus"),
            ("onprem-fra", "acme-prod-dc-frankfurt")
        ]
    );
    for (name, cloud, region, class, replicas) in [
        ("aws-use1", "aws", "us-east-1", "gp3", 2),
        (
            "azure-eastus",
            "azure",
            "eastus",
            "managed-csi-premium-zrs",
            2,
        ),
        ("onprem-fra", "onprem", "dc-frankfurt", "csi-ceph", 1),
    ] {
        let s = site(&sites, name);
        let sts = json(s.rendering.find("StatefulSet", "cockroachdb").unwrap());
        assert_eq!(sts["spec"]["replicas"], replicas, "{name}");
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], class,
            "{name}"
        );
        // Locality: cloud and region fixed, the zone (rack) from the node.
        let prepare = prepare_script(s);
        assert!(
            prepare.contains(&format!("'cloud={cloud},region={region}'")),
            "{name}: {prepare}"
        );
        // --join spans every site's advertised addresses.
        let start = start_script(s);
        let join = start
            .lines()
            .find_map(|l| l.trim().strip_prefix("--join="))
            .unwrap();
        assert_eq!(
            join.trim_end_matches(" \\"),
            "cockroachdb-0.use1.aws.ledger.acme.internal:26258,cockroachdb-1.use1.aws.ledger.acme.internal:26258,cockroachdb-0.eastus.azure.ledger.acme.internal:26258,cockroachdb-1.eastus.azure.ledger.acme.internal:26258,192.168.40.10:26258",
            "{name}"
        );
        assert!(
            s.rendering
                .find("PodDisruptionBudget", "cockroachdb")
                .is_some()
        );
        for o in &s.rendering.objects {
            let labels = o.metadata().labels.as_ref().unwrap();
            assert_eq!(
                labels["thinledger.io/site"],
                name,
                "{} {}",
                o.kind(),
                o.name()
            );
        }
        // Peer CIDRs: the other sites', on CockroachDB's ports.
        let policy = serde_json::to_string(&json(
            s.rendering.find("NetworkPolicy", "cockroachdb").unwrap(),
        ))
        .unwrap();
        let own = ["10.10.0.0/16", "10.20.0.0/16", "192.168.40.0/24"];
        let mine = match name {
            "aws-use1" => own[0],
            "azure-eastus" => own[1],
            _ => own[2],
        };
        for cidr in own {
            assert_eq!(policy.contains(cidr), cidr != mine, "{name}: {cidr}");
        }
    }
    // Each site's identity binding on its ServiceAccounts and pods.
    let aws = serde_json::to_string(&site(&sites, "aws-use1").rendering.objects).unwrap();
    assert!(aws.contains("eks.amazonaws.com/role-arn"));
    assert!(aws.contains("arn:aws:iam::123456789012:role/acme-ledger\""));
    let azure = serde_json::to_string(&site(&sites, "azure-eastus").rendering.objects).unwrap();
    assert!(azure.contains("azure.workload.identity/client-id"));
    // No EKS binding on its ServiceAccounts (Redpanda's brokers there do carry the projected
    // token of Redpanda's IRSA role, which no webhook injects outside EKS).
    // Only Redpanda's own role (one for the whole cluster) may appear there.
    let redpanda_role =
        "\"eks.amazonaws.com/role-arn\":\"arn:aws:iam::123456789012:role/acme-ledger-redpanda\"";
    assert!(azure.contains(redpanda_role));
    assert!(
        !azure
            .replace(redpanda_role, "")
            .contains("eks.amazonaws.com/role-arn")
    );
    // The StorageClass where the platform owns it (AWS, on-prem), not on Azure.
    for (name, class) in [
        ("aws-use1", Some("gp3")),
        ("azure-eastus", None),
        ("onprem-fra", Some("csi-ceph")),
    ] {
        let found = site(&sites, name)
            .rendering
            .objects
            .iter()
            .find(|o| o.kind() == "StorageClass")
            .map(|o| o.name().to_owned());
        assert_eq!(found.as_deref(), class, "{name}");
    }
}

#[test]
fn advertised_addresses_follow_the_site() {
    let sites = site_renderings();
    let aws = start_script(site(&sites, "aws-use1"));
    assert!(
        aws.contains("--advertise-addr=\"${POD_NAME}.use1.aws.ledger.acme.internal:26258\""),
        "{aws}"
    );
    let onprem = start_script(site(&sites, "onprem-fra"));
    assert!(onprem.contains("addresses=(192.168.40.10)"), "{onprem}");
    assert!(
        onprem.contains("--advertise-addr=\"${ADVERTISE_HOST}:26258\""),
        "{onprem}"
    );
}

/// Every address in the `--join` list (what the other sites dial, as each site advertises its
/// pods) is named by the node certificate of the site it belongs to, so TLS hostname checks
/// pass across sites; each site's certificate names every one of its own pods' addresses.
#[test]
fn node_certificates_name_the_addresses_the_other_sites_dial() {
    let sites = site_renderings();
    let names = |s: &SiteRendering| -> Vec<String> {
        let cert = json(s.rendering.find("Certificate", "cockroachdb-node").unwrap());
        ["dnsNames", "ipAddresses"]
            .iter()
            .flat_map(|k| cert["spec"][k].as_array().cloned().unwrap_or_default())
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let aws = names(site(&sites, "aws-use1"));
    for pod in ["cockroachdb-0", "cockroachdb-1"] {
        let host = format!("{pod}.use1.aws.ledger.acme.internal");
        assert!(aws.contains(&host), "{host} not in {aws:?}");
    }
    assert!(names(site(&sites, "onprem-fra")).contains(&"192.168.40.10".to_owned()));
    let script = start_script(site(&sites, "aws-use1"));
    let join = script
        .split("--join=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    for target in join.split(',') {
        let host = target.rsplit_once(':').unwrap().0;
        assert!(
            sites.iter().any(|s| names(s).contains(&host.to_owned())),
            "{host} (from --join={join}) is in no site's node certificate"
        );
    }
}

/// The first site initialises the cluster and makes the ledger's database survive a region
/// (one region per provider); the others render no init Job. Redpanda runs in every site, its
/// topic and changefeed Jobs in the first only.
#[test]
fn the_first_site_initialises_and_sets_the_survival_goal() {
    let sites = site_renderings();
    let first = site(&sites, "aws-use1");
    let job = json(first.rendering.job("cockroachdb-init").unwrap());
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    for statement in [
        "CREATE DATABASE IF NOT EXISTS \"ledger\"",
        "ALTER DATABASE \"ledger\" SET PRIMARY REGION \"us-east-1\"",
        "ALTER DATABASE \"ledger\" ADD REGION IF NOT EXISTS \"eastus\"",
        "ALTER DATABASE \"ledger\" ADD REGION IF NOT EXISTS \"dc-frankfurt\"",
        "ALTER DATABASE \"ledger\" SURVIVE REGION FAILURE",
        "SHOW REGIONS FROM CLUSTER",
    ] {
        assert!(script.contains(statement), "{statement}:\n{script}");
    }
    assert!(!script.contains("CONFIGURE ZONE"), "{script}");
    assert!(first.rendering.find("StatefulSet", "redpanda").is_some());
    assert!(first.rendering.job("redpanda-topics").is_some());
    for other in ["azure-eastus", "onprem-fra"] {
        let r = &site(&sites, other).rendering;
        assert!(r.job("cockroachdb-init").is_none(), "{other}");
        assert!(r.find("StatefulSet", "redpanda").is_some(), "{other}");
        assert!(r.job("redpanda-topics").is_none(), "{other}");
        assert!(
            !r.objects
                .iter()
                .any(|o| o.name().starts_with("redpanda-changefeeds")),
            "{other}"
        );
    }
}

fn redpanda_yaml(s: &SiteRendering) -> serde_yaml_ng::Value {
    let cm = json(s.rendering.find("ConfigMap", "redpanda").unwrap());
    serde_yaml_ng::from_str(cm["data"]["redpanda.yaml"].as_str().unwrap()).unwrap()
}

/// The done-when's "Redpanda is rack-aware across the sites": brokers in every site, racked
/// by provider, seeds and advertised addresses the other sites can dial (named by each site's
/// certificate), the peer ranges admitted on Redpanda's ports, a budget per site.
#[test]
fn redpanda_is_stretched_rack_aware_across_the_sites() {
    let sites = site_renderings();
    let seeds = |s: &SiteRendering| -> Vec<String> {
        redpanda_yaml(s)["redpanda"]["seed_servers"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|h| {
                format!(
                    "{}:{}",
                    h["host"]["address"].as_str().unwrap(),
                    h["host"]["port"].as_u64().unwrap()
                )
            })
            .collect()
    };
    let expected_seeds = [
        "redpanda-0.use1.aws.ledger.acme.internal:33145",
        "redpanda-0.eastus.azure.ledger.acme.internal:33145",
        "192.168.40.20:33145",
    ];
    for (name, rack_name, advertised) in [
        (
            "aws-use1",
            "aws",
            "redpanda-__ORDINAL__.use1.aws.ledger.acme.internal",
        ),
        (
            "azure-eastus",
            "azure",
            "redpanda-__ORDINAL__.eastus.azure.ledger.acme.internal",
        ),
        ("onprem-fra", "onprem", "__ADVERTISED__"),
    ] {
        let s = site(&sites, name);
        assert_eq!(rendered_brokers(s), (1, rack_name.to_owned()), "{name}");
        assert_eq!(
            seeds(s),
            expected_seeds,
            "{name}: the same seeds everywhere"
        );
        let config = redpanda_yaml(s);
        let rp = &config["redpanda"];
        assert!(
            rp.get("node_id").is_none(),
            "{name}: Redpanda assigns node ids"
        );
        assert_eq!(
            rp["advertised_rpc_api"]["address"].as_str(),
            Some(advertised)
        );
        assert_eq!(
            rp["advertised_kafka_api"][0]["address"].as_str(),
            Some(advertised)
        );
        assert!(
            s.rendering
                .find("PodDisruptionBudget", "redpanda")
                .is_some(),
            "{name}"
        );
        // The other sites' ranges on Kafka, RPC and admin, in and out.
        let policy = json(s.rendering.find("NetworkPolicy", "redpanda").unwrap());
        let own = ["10.10.0.0/16", "10.20.0.0/16", "192.168.40.0/24"];
        for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
            let rule = policy["spec"][direction]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["ports"].to_string().contains("33145"))
                .unwrap();
            let text = rule[peers].to_string();
            let ports = rule["ports"].to_string();
            for port in ["9092", "33145", "9644"] {
                assert!(ports.contains(port), "{name} {direction}: {ports}");
            }
            for cidr in own {
                let mine = match name {
                    "aws-use1" => own[0],
                    "azure-eastus" => own[1],
                    _ => own[2],
                };
                assert_eq!(
                    text.contains(cidr),
                    cidr != mine,
                    "{name} {direction}: {cidr}"
                );
            }
        }
    }
    // The on-prem broker's address comes from its declared list, by ordinal.
    let onprem = json(
        site(&sites, "onprem-fra")
            .rendering
            .find("StatefulSet", "redpanda")
            .unwrap(),
    );
    let configure = onprem["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        configure.contains("addresses=(192.168.40.20)"),
        "{configure}"
    );
    assert!(
        configure.contains("s/__ADVERTISED__/${advertised}/g"),
        "{configure}"
    );
    // Each site's certificate names the addresses the others dial.
    for (name, host, key) in [
        (
            "aws-use1",
            "redpanda-0.use1.aws.ledger.acme.internal",
            "dnsNames",
        ),
        ("onprem-fra", "192.168.40.20", "ipAddresses"),
    ] {
        let cert = json(
            site(&sites, name)
                .rendering
                .find("Certificate", "redpanda-tls")
                .unwrap(),
        );
        assert!(
            cert["spec"][key].to_string().contains(host),
            "{name}: {host} not in {}",
            cert["spec"]
        );
    }
    // The first site's topic Job reaches every broker as it advertises itself.
    let job = json(
        site(&sites, "aws-use1")
            .rendering
            .job("redpanda-topics")
            .unwrap(),
    );
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        script.contains("-X brokers=redpanda-0.use1.aws.ledger.acme.internal:9092,redpanda-0.eastus.azure.ledger.acme.internal:9092,192.168.40.20:9092"),
        "{script}"
    );
}

#[rstest]
fn redpanda_per_site(#[values("aws-use1", "azure-eastus", "onprem-fra")] name: &str) {
    let sites = site_renderings();
    let r = &site(&sites, name).rendering;
    let yaml = [
        r.find("ConfigMap", "redpanda").unwrap().to_yaml().unwrap(),
        r.find("NetworkPolicy", "redpanda")
            .unwrap()
            .to_yaml()
            .unwrap(),
    ]
    .join("---\n");
    insta::assert_snapshot!(format!("multi-cloud-{name}-redpanda"), yaml);
}

#[test]
fn the_stream_labels_every_site_and_the_tenant_is_not_rendered_whole() {
    let sites = site_renderings();
    let yaml = sites_to_yaml(&sites).unwrap();
    for s in &sites {
        assert!(
            yaml.contains(&format!(
                "# site: {} (Kubernetes cluster {})",
                s.site, s.cluster
            )),
            "{}",
            s.site
        );
    }
    let tenant = multi_cloud();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let err = render(
        &tenant,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap_err();
    assert!(err.to_string().contains("site by site"), "{err}");
    let err =
        render_sites(&tenant, &plan, &RenderOptions::new(CockroachMode::Operator)).unwrap_err();
    assert!(err.to_string().contains("statefulset"), "{err}");
}

#[rstest]
fn statefulset_per_site(#[values("aws-use1", "azure-eastus", "onprem-fra")] name: &str) {
    let sites = site_renderings();
    let sts = site(&sites, name)
        .rendering
        .find("StatefulSet", "cockroachdb")
        .unwrap()
        .to_yaml()
        .unwrap();
    insta::assert_snapshot!(format!("multi-cloud-{name}-cockroachdb"), sts);
}

/// Every shell script of every site parses.
#[test]
fn site_scripts_parse() {
    let mut n = 0;
    for s in site_renderings() {
        for (object, spec) in pod_specs(&s.rendering) {
            let containers = [spec["initContainers"].clone(), spec["containers"].clone()];
            for c in containers.iter().filter_map(Value::as_array).flatten() {
                let command = c["command"].as_array().unwrap();
                if command[0] == "/bin/bash" || command[0] == "/bin/sh" {
                    let script = command.last().unwrap().as_str().unwrap();
                    let out = std::process::Command::new("bash")
                        .args(["-n", "-c", script])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}/{object}: {}\n{script}",
                        s.site,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    n += 1;
                }
            }
        }
    }
    assert!(n >= 6, "{n}");
}

/// Native BACKUP runs on every CockroachDB node, each writing its own ranges to the backup
/// bucket (on AWS here). The Azure and on-prem nodes get what EKS's webhook would inject at home
/// for the tenant's `backup.identity` — `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE` and a
/// projected token for `sts.amazonaws.com` at that path — while the AWS site's nodes rely on the
/// IRSA annotation of their ServiceAccount (its own identity, which `ledger-topology iam`
/// grants the bucket). Each site keeps its own identity binding on its ServiceAccounts.
#[test]
fn cockroach_nodes_outside_the_buckets_cloud_get_the_backup_identitys_token() {
    let sites = site_renderings();
    let backup_role = "arn:aws:iam::123456789012:role/acme-ledger-backup";
    for s in &sites {
        let sts = json(s.rendering.find("StatefulSet", "cockroachdb").unwrap());
        let pod = &sts["spec"]["template"]["spec"];
        let database = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "cockroachdb")
            .unwrap();
        let env = |name: &str| {
            database["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .map(|e| e["value"].as_str().unwrap().to_owned())
        };
        let token = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "aws-iam-token");
        let account = json(s.rendering.find("ServiceAccount", "cockroachdb").unwrap());
        let annotations = &account["metadata"]["annotations"];
        if s.site == "aws-use1" {
            assert_eq!(env("AWS_ROLE_ARN"), None, "{}", s.site);
            assert!(token.is_none(), "{}", s.site);
            assert_eq!(
                annotations["eks.amazonaws.com/role-arn"],
                "arn:aws:iam::123456789012:role/acme-ledger"
            );
            continue;
        }
        assert_eq!(
            env("AWS_ROLE_ARN").as_deref(),
            Some(backup_role),
            "{}",
            s.site
        );
        assert_eq!(
            env("AWS_REGION").as_deref(),
            Some("us-east-1"),
            "{}",
            s.site
        );
        let file = env("AWS_WEB_IDENTITY_TOKEN_FILE").unwrap();
        let projection = &token.unwrap()["projected"]["sources"][0]["serviceAccountToken"];
        assert_eq!(projection["audience"], "sts.amazonaws.com", "{}", s.site);
        let mounted = database["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "aws-iam-token")
            .unwrap();
        assert_eq!(
            format!(
                "{}/{}",
                mounted["mountPath"].as_str().unwrap(),
                projection["path"].as_str().unwrap()
            ),
            file,
            "{}",
            s.site
        );
        // The site's own binding stays on its ServiceAccount (what is per site).
        assert!(annotations.get("eks.amazonaws.com/role-arn").is_none());
        if s.site == "azure-eastus" {
            assert_eq!(
                annotations["azure.workload.identity/client-id"],
                "0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d"
            );
        }
        let pod_annotations = &sts["spec"]["template"]["metadata"]["annotations"];
        assert!(
            pod_annotations["thinledger.io/backup-identity"]
                .as_str()
                .unwrap()
                .contains(backup_role),
            "{}",
            s.site
        );
    }

    // The other direction: the backup role trusts exactly the clusters and ServiceAccounts
    // that present its tokens there — the Azure and on-prem clusters' backup CronJobs
    // (`ledger-backup schedule render` with `kubernetes.provider`) and CockroachDB nodes.
    let tenant = multi_cloud();
    let access =
        thinledger_topology::iam::plan(&tenant, &thinledger_topology::iam::IamOptions::default())
            .unwrap();
    let trust = access
        .documents
        .iter()
        .find(|d| {
            d.kind == thinledger_topology::iam::IamDocumentKind::AwsTrustPolicy
                && d.name == "acme-ledger-backup"
        })
        .unwrap();
    let statements = trust.document["Statement"].as_array().unwrap();
    let issuers = &tenant.spec().backup.iam.as_ref().unwrap().oidc_issuers;
    let mut trusted: Vec<(String, Value)> = statements
        .iter()
        .map(|s| {
            let federated = s["Principal"]["Federated"].as_str().unwrap();
            let provider = federated.split_once("oidc-provider/").unwrap().1.to_owned();
            let sub = s["Condition"]["StringEquals"][format!("{provider}:sub")].clone();
            (provider, sub)
        })
        .collect();
    trusted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Value)> = ["eastus", "dc-frankfurt"]
        .iter()
        .map(|region| {
            (
                issuers[*region]
                    .trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_owned(),
                serde_json::json!([
                    "system:serviceaccount:ledger-acme-bank-prod:ledger-backup",
                    "system:serviceaccount:ledger-acme-bank-prod:cockroachdb"
                ]),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(trusted, expected);
}
