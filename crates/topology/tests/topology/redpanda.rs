//! Redpanda's rendering: tiered storage to Redpanda's own bucket with its own identity (per
//! binding kind; never the backups'), racks, maintenance mode around restarts, and the
//! changefeeds' ConfigMap, topics and Job.

use rstest::rstest;
use serde_json::Value;
use thinledger_topology::Tenant;
use thinledger_topology::rack::{self, RackKey};
use thinledger_topology::render::{CockroachMode, RenderOptions, Rendering, ResourcePlan, render};

use super::sites::{multi_cloud, renderings_of, site_renderings};
use super::{example, example_text, json, rendering};

/// The AWS example's tiered-storage section.
const TIERED_BLOCK: &str = "  tiered_storage:\n    bucket: acme-bank-prod-redpanda      # Redpanda's own: it writes at the root and deletes segments\n    identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-redpanda\"}\n    max_upload_interval_seconds: 600   # upload open segments at least every 10 minutes\n";

fn render_text(text: &str) -> Rendering {
    let tenant = Tenant::from_yaml(text).unwrap();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    render(
        &tenant,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap()
}

fn object(r: &Rendering, kind: &str, name: &str) -> Value {
    r.objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .map(json)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn job(r: &Rendering, prefix: &str) -> Value {
    r.objects
        .iter()
        .find(|o| o.kind() == "Job" && o.name().starts_with(&format!("{prefix}-")))
        .map(json)
        .unwrap_or_else(|| panic!("no Job {prefix}-<hash>"))
}

fn bootstrap(r: &Rendering) -> serde_yaml_ng::Value {
    let cm = object(r, "ConfigMap", "redpanda");
    serde_yaml_ng::from_str(cm["data"]["bootstrap.yaml"].as_str().unwrap()).unwrap()
}

fn script(job: &Value, container: usize) -> String {
    job["spec"]["template"]["spec"]["containers"][container]["command"][2]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[rstest]
#[case::aws("aws", "sts", &[("cloud_storage_bucket", "acme-bank-prod-redpanda"), ("cloud_storage_region", "us-east-1")], ("eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/acme-ledger-redpanda"))]
#[case::azure("azure", "azure_aks_oidc_federation", &[("cloud_storage_azure_container", "ledger-redpanda"), ("cloud_storage_azure_storage_account", "contosoledgerbackups")], ("azure.workload.identity/client-id", "7b1e3c5d-2a4f-4e6b-9c8d-1f2e3d4c5b6a"))]
#[case::gcp("gcp", "gcp_instance_metadata", &[("cloud_storage_bucket", "fabrikam-ledger-redpanda"), ("cloud_storage_api_endpoint", "storage.googleapis.com")], ("iam.gke.io/gcp-service-account", "ledger-redpanda@fabrikam-prod.iam.gserviceaccount.com"))]
#[case::onprem("onprem", "config_file", &[("cloud_storage_bucket", "northwind-redpanda"), ("cloud_storage_api_endpoint", "minio.backup.svc"), ("cloud_storage_url_style", "path")], ("thinledger.io/tiered-storage-credentials-secret", "minio-redpanda"))]
fn production_tenants_are_tiered_with_their_own_bucket_and_identity(
    #[case] name: &str,
    #[case] source: &str,
    #[case] properties: &[(&str, &str)],
    #[case] annotation: (&str, &str),
) {
    let r = rendering(name, CockroachMode::StatefulSet);
    let b = bootstrap(&r);
    assert_eq!(b["cloud_storage_enabled"], serde_yaml_ng::Value::Bool(true));
    assert_eq!(b["cloud_storage_credentials_source"].as_str(), Some(source));
    for (key, value) in properties {
        assert_eq!(b[*key].as_str(), Some(*value), "{name}: {key}");
    }
    let cache = b["cloud_storage_cache_size"].as_u64().unwrap();
    assert!(cache > 0);
    assert_eq!(
        b["cloud_storage_segment_max_upload_interval_sec"].as_u64(),
        Some(if name == "aws" { 600 } else { 3600 })
    );

    // The brokers' ServiceAccount carries Redpanda's own identity, never the backup identity.
    let sa = object(&r, "ServiceAccount", "redpanda");
    let (key, value) = annotation;
    assert_eq!(sa["metadata"]["annotations"][key], value, "{sa}");
    let backup = object(&r, "ServiceAccount", "ledger-backup");
    assert_ne!(backup["metadata"]["annotations"][key], value, "{backup}");
    let sa_text = sa.to_string();
    assert!(!sa_text.contains("ledger-backup@"), "{sa_text}");
    assert!(!sa_text.contains("role/acme-ledger-backup"), "{sa_text}");
    assert!(!sa_text.contains("minio-ledger-backup"), "{sa_text}");
    // Azure's webhook selects the brokers by label.
    let pod_labels =
        &object(&r, "StatefulSet", "redpanda")["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        pod_labels["azure.workload.identity/use"].as_str(),
        (name == "azure").then_some("true")
    );
    // Topics are created tiered, existing ones are altered; the Job sets the properties too.
    let topics = script(&job(&r, "redpanda-topics"), 0);
    assert!(
        topics.contains("-c redpanda.remote.write=true -c redpanda.remote.read=true"),
        "{topics}"
    );
    assert!(
        topics.contains("rpk topic alter-config ledger.entries --set redpanda.remote.write=true"),
        "{topics}"
    );
    assert!(
        topics.contains(&format!(
            "rpk cluster config set cloud_storage_credentials_source {source} $X"
        )),
        "{topics}"
    );
}

#[test]
fn minio_keys_come_from_the_secret_never_the_rendering() {
    let r = rendering("onprem", CockroachMode::StatefulSet);
    let yaml = r.to_yaml().unwrap();
    assert!(
        !yaml.contains("cloud_storage_secret_key:"),
        "no key in the bootstrap template"
    );
    let sts = object(&r, "StatefulSet", "redpanda");
    let configure = &sts["spec"]["template"]["spec"]["initContainers"][0];
    let env = serde_json::to_string(&configure["env"]).unwrap();
    assert!(
        env.contains(
            "\"secretKeyRef\":{\"key\":\"AWS_SECRET_ACCESS_KEY\",\"name\":\"minio-redpanda\"}"
        ),
        "{env}"
    );
    let script = configure["command"][2].as_str().unwrap();
    assert!(script.contains("cloud_storage_secret_key \"$(yaml_quote \"$RP_CLOUD_SECRET_KEY\")\" >> /etc/redpanda/.bootstrap.yaml"), "{script}");
    // The Job sets them from the same Secret, and the brokers reach MinIO's port.
    let topics = job(&r, "redpanda-topics");
    let env =
        serde_json::to_string(&topics["spec"]["template"]["spec"]["containers"][0]["env"]).unwrap();
    assert!(env.contains("RP_CLOUD_ACCESS_KEY"), "{env}");
    let policy = object(&r, "NetworkPolicy", "redpanda");
    assert!(policy.to_string().contains("9000"), "{policy}");
}

/// The configure script writes the MinIO key as YAML that reads back exactly, whatever it holds.
#[test]
fn minio_keys_are_quoted_as_yaml() {
    let r = rendering("onprem", CockroachMode::StatefulSet);
    let sts = object(&r, "StatefulSet", "redpanda");
    let script = sts["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap()
        .to_owned();
    let line = script
        .lines()
        .find(|l| l.contains("cloud_storage_secret_key"))
        .unwrap()
        .replace("/etc/redpanda/.bootstrap.yaml", "\"$OUT\"");
    let quote = script
        .lines()
        .find(|l| l.starts_with("yaml_quote()"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bootstrap.yaml");
    let key = "it's a \"key\" with: colons/+=";
    let ok = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -eu\n{quote}\n{line}\n"))
        .env("RP_CLOUD_SECRET_KEY", key)
        .env("OUT", &out)
        .status()
        .unwrap();
    assert!(ok.success());
    let read: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(read["cloud_storage_secret_key"].as_str(), Some(key));
}

#[test]
fn dev_and_staging_opt_in_production_opts_out_with_a_reason() {
    assert!(example_text("aws").contains(TIERED_BLOCK));
    let dev = example_text("aws")
        .replace("ring: ring-2-prod", "ring: ring-0-canary")
        .replace("tier: prod ", "tier: dev ")
        .replace(TIERED_BLOCK, "");
    let r = render_text(&dev);
    assert!(bootstrap(&r)["cloud_storage_enabled"].is_null());
    let sa = object(&r, "ServiceAccount", "redpanda");
    assert!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null());

    let opted_in = dev.replace(
        "  topics:\n",
        "  tiered_storage: {enabled: true, bucket: acme-redpanda, identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-redpanda\"}}\n  topics:\n",
    );
    assert_eq!(
        bootstrap(&render_text(&opted_in))["cloud_storage_enabled"],
        serde_yaml_ng::Value::Bool(true)
    );

    let opted_out = example_text("aws").replace(
        TIERED_BLOCK,
        "  tiered_storage:\n    enabled: false\n    reason: \"no object storage in this account yet\"\n",
    );
    let r = render_text(&opted_out);
    assert!(bootstrap(&r)["cloud_storage_enabled"].is_null());
    let sts = object(&r, "StatefulSet", "redpanda");
    assert_eq!(
        sts["spec"]["template"]["metadata"]["annotations"]["thinledger.io/tiered-storage"],
        "off: no object storage in this account yet"
    );

    // Production without Redpanda's own bucket and identity: untiered, and the brokers get no
    // identity at all (never the backup identity), with the reason on the StatefulSet.
    let r = render_text(&example_text("aws").replace(
        TIERED_BLOCK,
        "  tiered_storage:\n    max_upload_interval_seconds: 600\n",
    ));
    assert!(bootstrap(&r)["cloud_storage_enabled"].is_null());
    let sa = object(&r, "ServiceAccount", "redpanda");
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
        "{sa}"
    );
    let note = object(&r, "StatefulSet", "redpanda")["spec"]["template"]["metadata"]["annotations"]
        ["thinledger.io/tiered-storage"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.starts_with("off: Redpanda has no bucket and identity of its own"),
        "{note}"
    );
}

#[test]
fn brokers_drain_before_they_stop_and_return_after_they_start() {
    let r = rendering("aws", CockroachMode::StatefulSet);
    let sts = object(&r, "StatefulSet", "redpanda");
    let pod = &sts["spec"]["template"]["spec"];
    assert_eq!(pod["terminationGracePeriodSeconds"], 180);
    let lifecycle = &pod["containers"][0]["lifecycle"];
    let stop = lifecycle["preStop"]["exec"]["command"][2].as_str().unwrap();
    assert!(
        stop.contains("rpk cluster maintenance enable \"$id\" --wait"),
        "{stop}"
    );
    assert!(stop.contains("/v1/node_config"), "{stop}");
    let start = lifecycle["postStart"]["exec"]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        start.contains("rpk cluster maintenance disable \"$id\""),
        "{start}"
    );
}

#[rstest]
#[case::zones("aws", RackKey::Zone, "rack=\"$zone\"")]
#[case::hosts("onprem", RackKey::Host, "rack=\"${NODE_NAME}\"")]
fn racks_follow_rack_of(#[case] name: &str, #[case] key: RackKey, #[case] line: &str) {
    let tenant = example(name);
    assert_eq!(rack::rack_of(&tenant.redpanda_quorum().placements), key);
    let r = rendering(name, CockroachMode::StatefulSet);
    let sts = object(&r, "StatefulSet", "redpanda");
    let configure = sts["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(configure.contains(line), "{configure}");
    assert_eq!(
        bootstrap(&r)["enable_rack_awareness"],
        serde_yaml_ng::Value::Bool(true)
    );
    // The model: every example's brokers keep a majority of each partition's 3 replicas
    // through the loss of any one rack.
    let racks = rack::racks(&tenant.redpanda_quorum().placements);
    rack::check_rack_loss(&racks, 3, 24).unwrap();
}

#[test]
fn changefeeds_render_topics_a_spec_and_a_job_named_by_its_inputs() {
    let r = rendering("aws", CockroachMode::StatefulSet);
    let topics = script(&job(&r, "redpanda-topics"), 0);
    assert!(
        topics.contains("rpk topic create ledger.balances.audit --partitions 12 --replicas 3"),
        "{topics}"
    );
    let cm = object(&r, "ConfigMap", "redpanda-changefeeds");
    let spec: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(cm["data"]["changefeeds.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(
        spec["bootstrap"].as_str(),
        Some("redpanda.ledger-acme-bank-prod.svc.cluster.local:9092")
    );
    assert_eq!(spec["auth"]["kind"].as_str(), Some("mtls"));
    assert_eq!(
        spec["auth"]["key"]["secret"].as_str(),
        Some("redpanda-changefeed-client")
    );

    let j = job(&r, "redpanda-changefeeds");
    let pod = &j["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][0]["name"], "wait-for-topics");
    let apply = &pod["containers"][0];
    assert_eq!(apply["command"][3], "apply");
    let env = serde_json::to_string(&apply["env"]).unwrap();
    assert!(
        env.contains("KAFKA_CLIENT_KEY") && env.contains("secretKeyRef"),
        "{env}"
    );
    assert!(j["spec"]["ttlSecondsAfterFinished"].is_number());

    // CockroachDB's nodes reach Redpanda's Kafka API.
    let crdb = object(&r, "NetworkPolicy", "cockroachdb").to_string();
    assert!(crdb.contains("9092"), "{crdb}");

    // A changed feed is a new Job.
    let changed = render_text(
        &example_text("aws")
            .replace(
                "      tables: [ledger.public.balances]\n",
                "      tables: [ledger.public.balances]\n      key_column: account_id\n",
            )
            .replace("resolved: 10s", "resolved: \"off\""),
    );
    assert_ne!(
        job(&changed, "redpanda-changefeeds")["metadata"]["name"],
        j["metadata"]["name"]
    );
}

#[test]
fn tenants_without_changefeeds_render_none() {
    let r = rendering("gcp", CockroachMode::StatefulSet);
    assert!(
        !r.objects
            .iter()
            .any(|o| o.name().starts_with("redpanda-changefeeds"))
    );
    let crdb = object(&r, "NetworkPolicy", "cockroachdb").to_string();
    assert!(!crdb.contains("9092"), "{crdb}");
}

/// Changefeeds authenticating with SCRAM turn SASL on for the Kafka listener (TLS stays); the
/// topic Job creates the user from the Secret's variables and authenticates as it; the
/// changefeed Job's wait step does too. mTLS leaves the listener as it is.
#[test]
fn scram_changefeeds_put_sasl_on_the_kafka_listener() {
    let scram = example_text("aws").replace(
        "    kind: mtls\n    secret: redpanda-changefeed-client\n",
        "    kind: scram-sha-512\n    secret: redpanda-changefeed-user\n",
    );
    assert_ne!(scram, example_text("aws"));
    let r = render_text(&scram);
    let cm = object(&r, "ConfigMap", "redpanda");
    let node: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(cm["data"]["redpanda.yaml"].as_str().unwrap()).unwrap();
    let listener = &node["redpanda"]["kafka_api"][0];
    assert_eq!(listener["authentication_method"].as_str(), Some("sasl"));
    assert_eq!(
        node["redpanda"]["kafka_api_tls"][0]["enabled"],
        serde_yaml_ng::Value::Bool(true)
    );
    let b = bootstrap(&r);
    assert_eq!(
        b["kafka_enable_authorization"],
        serde_yaml_ng::Value::Bool(true)
    );
    assert_eq!(b["sasl_mechanisms"][0].as_str(), Some("SCRAM"));

    let topics = job(&r, "redpanda-topics");
    let script = script(&topics, 0);
    for line in [
        "rpk security user create \"$KAFKA_SASL_USER\" --password \"$KAFKA_SASL_PASSWORD\" --mechanism SCRAM-SHA-512",
        "rpk cluster config set superusers",
        "export RPK_USER=\"$KAFKA_SASL_USER\" RPK_PASS=\"$KAFKA_SASL_PASSWORD\" RPK_SASL_MECHANISM=SCRAM-SHA-512",
    ] {
        assert!(script.contains(line), "{line}:\n{script}");
    }
    // The user is created before the first topic call.
    assert!(
        script.find("rpk security user create").unwrap()
            < script.find("rpk topic describe").unwrap()
    );
    let env =
        serde_json::to_string(&topics["spec"]["template"]["spec"]["containers"][0]["env"]).unwrap();
    assert!(
        env.contains(
            "\"name\":\"KAFKA_SASL_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":{\"key\":\"password\",\"name\":\"redpanda-changefeed-user\"}}"
        ),
        "{env}"
    );
    let wait = &job(&r, "redpanda-changefeeds")["spec"]["template"]["spec"]["initContainers"][0];
    let env = serde_json::to_string(&wait["env"]).unwrap();
    assert!(
        env.contains("\"name\":\"RPK_PASS\",\"valueFrom\":{\"secretKeyRef\"")
            && env.contains("SCRAM-SHA-512"),
        "{env}"
    );

    // SASL authenticates the Kafka clients: no client certificate is asked for there (the
    // admin API still requires one).
    assert_eq!(
        node["redpanda"]["kafka_api_tls"][0]["require_client_auth"],
        serde_yaml_ng::Value::Bool(false)
    );
    assert!(!script.contains("-X tls.cert"), "{script}");
    assert!(
        script.contains("-X admin.tls.cert=/etc/tls/tls.crt"),
        "{script}"
    );

    // mTLS: no SASL on the listener.
    let mtls = rendering("aws", CockroachMode::StatefulSet);
    let cm = object(&mtls, "ConfigMap", "redpanda");
    assert!(
        !cm["data"]["redpanda.yaml"]
            .as_str()
            .unwrap()
            .contains("authentication_method")
    );
    assert!(bootstrap(&mtls)["kafka_enable_authorization"].is_null());
}

/// The multi-cloud tenant streams its balance changes: the first site renders the changefeed
/// spec and Job (no other site does), the sink is a `kafka://` address of a Service rendered
/// in that site on its Kafka port, and the changefeed runs on that site's nodes only
/// (`execution_locality` is the start of their `--locality`).
#[test]
fn a_tenant_with_sites_streams_from_its_first_site_to_a_service_there() {
    let tenant = multi_cloud();
    let sites = site_renderings();
    let first = &sites[0].rendering;
    assert_eq!(sites[0].site, "aws-use1");
    for other in &sites[1..] {
        assert!(
            !other
                .rendering
                .objects
                .iter()
                .any(|o| o.name().starts_with("redpanda-changefeeds")),
            "{} renders changefeeds",
            other.site
        );
    }
    let cm = object(first, "ConfigMap", "redpanda-changefeeds");
    let spec: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(cm["data"]["changefeeds.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(spec["updated"].as_bool(), Some(true));
    assert_eq!(spec["diff"].as_bool(), Some(true));
    assert_eq!(spec["resolved"].as_str(), Some("10s"));
    assert_eq!(spec["auth"]["kind"].as_str(), Some("mtls"));
    assert_eq!(
        spec["execution_locality"].as_str(),
        Some("cloud=aws,region=us-east-1")
    );
    let sts = object(first, "StatefulSet", "cockroachdb").to_string();
    assert!(sts.contains("cloud=aws,region=us-east-1"), "{sts}");

    // host:port → a Service of the first site's namespace, on a port it serves.
    let bootstrap = spec["bootstrap"].as_str().unwrap();
    let (host, port) = bootstrap.rsplit_once(':').unwrap();
    let (service, rest) = host.split_once('.').unwrap();
    let namespace = tenant.namespace();
    assert_eq!(
        rest,
        format!("{namespace}.svc.cluster.local"),
        "{bootstrap}"
    );
    let svc = object(first, "Service", service);
    assert_eq!(svc["metadata"]["namespace"], namespace.as_str());
    let ports: Vec<u64> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert!(
        ports.contains(&port.parse::<u64>().unwrap()),
        "{service} serves {ports:?}, not {port}"
    );
    let topics = script(&job(first, "redpanda-topics"), 0);
    assert!(
        topics.contains("rpk topic create ledger.balances.audit --partitions 12 --replicas 3"),
        "{topics}"
    );
    let apply = job(first, "redpanda-changefeeds");
    let purpose = apply["metadata"]["annotations"].to_string();
    assert!(purpose.contains("kv.rangefeed.enabled"), "{purpose}");
}

/// Redpanda's tiered-storage identity is one for the whole cluster (its `cloud_storage_*`
/// settings are cluster-wide): brokers in a site outside that identity's cloud get what its
/// webhook would inject at home — for IRSA, `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE` and
/// a projected token for `sts.amazonaws.com` at that path; the home site gets none of it.
#[test]
fn brokers_outside_the_identitys_cloud_get_its_federated_token() {
    let sites = site_renderings();
    let role = "arn:aws:iam::123456789012:role/acme-ledger-redpanda";
    for s in &sites {
        let sts = object(&s.rendering, "StatefulSet", "redpanda");
        let pod = &sts["spec"]["template"]["spec"];
        let broker = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "redpanda")
            .unwrap();
        let env: Vec<(String, String)> = broker["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_owned(),
                    e["value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let value = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let token = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "aws-iam-token");
        if s.site == "aws-use1" {
            assert_eq!(value("AWS_ROLE_ARN"), None, "{}", s.site);
            assert!(token.is_none(), "{}", s.site);
            continue;
        }
        assert_eq!(value("AWS_ROLE_ARN").as_deref(), Some(role), "{}", s.site);
        let file = value("AWS_WEB_IDENTITY_TOKEN_FILE").unwrap();
        let projection = &token.unwrap()["projected"]["sources"][0]["serviceAccountToken"];
        assert_eq!(projection["audience"], "sts.amazonaws.com", "{}", s.site);
        let mounted = broker["volumeMounts"]
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
    }
}

fn node_config(r: &Rendering) -> serde_yaml_ng::Value {
    let cm = object(r, "ConfigMap", "redpanda");
    serde_yaml_ng::from_str(cm["data"]["redpanda.yaml"].as_str().unwrap()).unwrap()
}

/// The secret keys a Job's volume `name` mounts.
fn mounted_keys(job: &Value, name: &str) -> Vec<String> {
    job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}"))["secret"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Without SCRAM the Kafka listener requires client certificates (mTLS changefeeds, or none):
/// a pod that merely reaches port 9092 is not admitted. Every client thinledger renders
/// presents one — the topic Job Redpanda's own, the changefeeds' wait step the changefeeds'
/// (the credential CockroachDB's sink URI carries as `client_cert`/`client_key`) — and the
/// health checks and maintenance hooks use the admin API, not the Kafka listener.
#[rstest]
#[case::mtls_changefeeds("aws")]
#[case::no_changefeeds("gcp")]
fn without_sasl_the_kafka_listener_requires_client_certificates(#[case] name: &str) {
    let r = rendering(name, CockroachMode::StatefulSet);
    let node = node_config(&r);
    let tls = &node["redpanda"]["kafka_api_tls"][0];
    assert_eq!(tls["enabled"], serde_yaml_ng::Value::Bool(true));
    assert_eq!(tls["require_client_auth"], serde_yaml_ng::Value::Bool(true));
    assert_eq!(tls["name"], node["redpanda"]["kafka_api"][0]["name"]);
    assert!(node["redpanda"]["kafka_api"][0]["authentication_method"].is_null());

    let topics = job(&r, "redpanda-topics");
    assert!(
        script(&topics, 0).contains(
            "-X tls.ca=/etc/tls/ca.crt -X tls.cert=/etc/tls/tls.crt -X tls.key=/etc/tls/tls.key"
        ),
        "{}",
        script(&topics, 0)
    );

    let sts = object(&r, "StatefulSet", "redpanda");
    let broker = &sts["spec"]["template"]["spec"]["containers"][0];
    let hooks = broker["lifecycle"].to_string();
    assert!(
        hooks.contains(":9644") && !hooks.contains("9092"),
        "{hooks}"
    );
    let note =
        sts["spec"]["template"]["metadata"]["annotations"]["thinledger.io/kafka-authentication"]
            .as_str()
            .unwrap();
    assert!(note.starts_with("mTLS"), "{note}");

    if name == "aws" {
        let feeds = job(&r, "redpanda-changefeeds");
        let wait = &feeds["spec"]["template"]["spec"]["initContainers"][0];
        let wait_script = wait["command"][2].as_str().unwrap();
        assert!(
            wait_script.contains("-X tls.cert=/var/run/secrets/thinledger/kafka-client/tls.crt -X tls.key=/var/run/secrets/thinledger/kafka-client/tls.key"),
            "{wait_script}"
        );
        assert_eq!(mounted_keys(&feeds, "client"), ["tls.crt", "tls.key"]);
        let client = feeds["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "client")
            .unwrap();
        assert_eq!(client["secret"]["secretName"], "redpanda-changefeed-client");
        let cm = object(&r, "ConfigMap", "redpanda-changefeeds");
        let spec: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(cm["data"]["changefeeds.yaml"].as_str().unwrap()).unwrap();
        assert_eq!(spec["auth"]["cert"]["key"].as_str(), Some("tls.crt"));
        assert_eq!(spec["auth"]["key"]["key"].as_str(), Some("tls.key"));
    }
}

/// A tenant with one site judges Redpanda over that site's zones, as a tenant without sites
/// does (and as CockroachDB's rule does): three zones pass and rack by zone, read from the
/// Node; two zones lose a majority with the zone holding two brokers, named in brokers and
/// partitions.
#[test]
fn one_site_judges_redpanda_over_its_zones() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../policy/tests/fixtures/quorum/sites-zone-one-site.yaml"),
    )
    .unwrap();
    // Sized in the file: rendering here runs without the sizing calculator.
    let sized = text
        .replace(
            "  databases: [ledger]\n",
            "  databases: [ledger]\n  resources: {cpu: 8, memory: 32Gi, disk: 1Ti}\n",
        )
        .replace(
            "  brokers: 3\n",
            "  brokers: 3\n  resources: {cpu: 4, memory: 16Gi, disk: 500Gi}\n",
        );
    let tenant = Tenant::from_yaml(&sized).unwrap();
    assert_eq!(
        rack::rack_of(&tenant.redpanda_quorum().placements),
        RackKey::Zone
    );
    let sites = renderings_of(&tenant);
    let sts = object(&sites[0].rendering, "StatefulSet", "redpanda");
    let configure = sts["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(configure.contains("rack=\"$zone\""), "{configure}");

    let two_zones = text.replace(
        "zones: [us-east-1a, us-east-1b, us-east-1c]",
        "zones: [us-east-1a, us-east-1b]",
    );
    let err = Tenant::from_yaml(&two_zones).unwrap_err();
    let redpanda = err
        .problems()
        .iter()
        .find(|p| p.field == "redpanda.brokers")
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        redpanda.rule,
        "Redpanda's topics keep 3 replicas, racked by zone, and the brokers spread over the sites (aws-use1 3): losing zone us-east-1a (2 of 3 brokers) would lose 2 of the 3 replicas of some partitions, a majority, and they would stop"
    );
    assert_eq!(redpanda.fix, "spread the brokers over at least 3 zones");
}

/// The brokers' RPC listener and the admin API require client certificates from the tenant's
/// CA in every Kafka authentication mode: brokers dial each other with `redpanda-tls`; the
/// probes and hooks call the admin API over loopback HTTPS presenting it (the kubelet's
/// `httpGet` could not); the topic Job presents its own client certificate, never a broker's
/// key; Prometheus its own.
#[rstest]
#[case::mtls_changefeeds("aws", None)]
#[case::no_changefeeds("gcp", None)]
#[case::scram(
    "aws",
    Some(("kind: mtls\n    secret: redpanda-changefeed-client", "kind: scram-sha-512\n    secret: redpanda-changefeed-user"))
)]
fn rpc_and_admin_require_client_certificates(
    #[case] name: &str,
    #[case] change: Option<(&str, &str)>,
) {
    let text = example_text(name);
    let r = match change {
        Some((from, to)) => {
            assert!(text.contains(from));
            render_text(&text.replace(from, to))
        }
        None => rendering(name, CockroachMode::StatefulSet),
    };
    let node = node_config(&r);
    let mtls = |v: &serde_yaml_ng::Value| {
        assert_eq!(v["enabled"], serde_yaml_ng::Value::Bool(true), "{v:?}");
        assert_eq!(
            v["require_client_auth"],
            serde_yaml_ng::Value::Bool(true),
            "{v:?}"
        );
        assert_eq!(v["truststore_file"].as_str(), Some("/etc/tls/ca.crt"));
    };
    mtls(&node["redpanda"]["rpc_server_tls"]);
    let admin = &node["redpanda"]["admin_api_tls"][0];
    mtls(admin);
    assert_eq!(admin["name"], node["redpanda"]["admin"][0]["name"]);

    let sts = object(&r, "StatefulSet", "redpanda");
    let broker = &sts["spec"]["template"]["spec"]["containers"][0];
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert!(broker[probe]["httpGet"].is_null(), "{probe}");
        let command: Vec<&str> = broker[probe]["exec"]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let line = command.join(" ");
        assert!(
            line.starts_with("curl ")
                && line.contains(
                    "--cacert /etc/tls/ca.crt --cert /etc/tls/tls.crt --key /etc/tls/tls.key https://127.0.0.1:9644/v1/status/ready"
                ),
            "{probe}: {line}"
        );
        // Ready means ready; alive means the admin API answers at all.
        assert_eq!(line.contains("--fail"), probe != "livenessProbe", "{line}");
    }
    let hooks = broker["lifecycle"].to_string();
    assert!(
        !hooks.contains("http://") && hooks.contains("-X admin.tls.cert=/etc/tls/tls.crt"),
        "{hooks}"
    );
    let note =
        sts["spec"]["template"]["metadata"]["annotations"]["thinledger.io/admin-authentication"]
            .as_str()
            .unwrap();
    assert!(note.starts_with("mTLS"), "{note}");

    let topics = job(&r, "redpanda-topics");
    let x = script(&topics, 0);
    assert!(
        x.contains("-X admin.tls.enabled=true -X admin.tls.ca=/etc/tls/ca.crt -X admin.tls.cert=/etc/tls/tls.crt -X admin.tls.key=/etc/tls/tls.key"),
        "{x}"
    );
    let tls = topics["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "tls")
        .unwrap();
    assert_eq!(tls["secret"]["secretName"], "redpanda-topics-client");
    assert_eq!(
        mounted_keys(&topics, "tls"),
        ["ca.crt", "tls.crt", "tls.key"]
    );
    let cert = object(&r, "Certificate", "redpanda-topics-client");
    assert_eq!(
        cert["spec"]["usages"],
        serde_json::json!(["digital signature", "key encipherment", "client auth"])
    );
    // The changefeeds' Certificate exists only for their mTLS Secret.
    let changefeed_cert = r
        .objects
        .iter()
        .any(|o| o.kind() == "Certificate" && o.name() == "redpanda-changefeed-client");
    assert_eq!(changefeed_cert, name == "aws" && change.is_none());

    let monitor = object(&r, "PodMonitor", "redpanda");
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["scheme"], "https");
    assert_eq!(
        endpoint["tlsConfig"]["keySecret"],
        serde_json::json!({"name": "redpanda-metrics-client", "key": "tls.key"})
    );
}

/// Changefeeds whose Secret uses other key names than cert-manager's get no Certificate
/// (cert-manager could not write it): whoever made that Secret keeps issuing it.
#[test]
fn a_changefeed_secret_with_its_own_key_names_is_not_issued() {
    let text = example_text("aws").replace(
        "kind: mtls\n    secret: redpanda-changefeed-client",
        "kind: mtls\n    secret: redpanda-changefeed-client\n    cert_key: client.crt\n    key_key: client.key",
    );
    let r = render_text(&text);
    assert!(
        !r.objects
            .iter()
            .any(|o| o.kind() == "Certificate" && o.name() == "redpanda-changefeed-client")
    );
}
