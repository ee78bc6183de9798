//! Redpanda: configuration, headless Service, StatefulSet, PodDisruptionBudget, the Job that
//! sets cluster properties and creates the ledger's topics, and the changefeeds into them.
//!
//! Cluster properties `enable_rack_awareness: true`, `default_topic_replications: 3` and, when
//! tiered storage is on ([`tiered`]), the `cloud_storage_*` properties are written to
//! `.bootstrap.yaml` (read when the cluster first forms) and re-applied by the topic Job on
//! every rollout, so existing clusters converge too. Each broker's `redpanda.rack` follows
//! [`crate::rack::rack_of`]: its Node's zone, its host on-prem without zones, or its region
//! (provider) when the brokers span three or more. Topics are created with replication 3 and,
//! when tiered, `redpanda.remote.write`/`redpanda.remote.read`. Brokers enter maintenance mode
//! before they stop and leave it after they start ([`lifecycle`]). Declared changefeeds are
//! applied by a Job ([`changefeed`]).
//!
//! # Stretched over sites
//!
//! A tenant with sites runs brokers in every site (its share of `redpanda.brokers`,
//! [`crate::tenant::Site::brokers`]): each site renders its own ConfigMap, headless Service,
//! StatefulSet and PodDisruptionBudget, and only the first site the topic and changefeed Jobs.
//! Brokers are racked by provider (or region) with [`rack_of`], so each partition's 3 replicas
//! sit on 3 sites. Each broker advertises its Kafka and RPC addresses as the other sites reach
//! it (`redpanda-<n>.<dns_suffix>`, or the site's declared `advertise.brokers`), its
//! certificate names them, and the seed servers are the first broker of every site (then the
//! second, up to three): the same list in every site, as seed-driven cluster formation needs.
//! Node ids are left to Redpanda, which assigns each joining broker a cluster-wide unique id
//! and keeps it with the broker's data (its documentation advises against setting
//! `node_id`: an id reused after a lost volume corrupts the cluster's membership).
//!
//! # SASL/SCRAM
//!
//! When the changefeeds authenticate with SCRAM (`changefeeds.auth.kind: scram-sha-256 |
//! scram-sha-512`), the Kafka listener takes `authentication_method: sasl` (TLS stays on), and
//! the cluster `kafka_enable_authorization: true` with `sasl_mechanisms: [SCRAM]`. The topic
//! Job creates the changefeeds' user over the Admin API (`rpk security user create`, password
//! from the Secret's variable, never the rendering; an existing user gets the password
//! again), makes it a superuser (`superusers`, which Redpanda needs before any ACL exists),
//! and authenticates as it for the topic calls. Other Kafka clients then need users of their
//! own (and ACLs).
//!
//! # Client certificates (mTLS)
//!
//! Without SCRAM (changefeeds with `auth.kind: mtls`, or no changefeeds) the Kafka listener
//! requires a client certificate (`kafka_api_tls.require_client_auth: true`) signed by the CA
//! in `redpanda-tls`'s `ca.crt`: a pod that merely reaches port 9092 is not admitted (the
//! guardrail `access.kafka_unauthenticated` denies a production listener that would). The
//! topic Job presents its own client certificate (`redpanda-topics-client`), the changefeed
//! Job's wait step and CockroachDB's changefeeds the changefeeds' client certificate
//! (`client_cert`/`client_key` in the sink URI; its cert-manager Certificate is rendered when
//! the Secret keeps the keys `tls.crt`/`tls.key`), and every other Kafka client one of its
//! own from the same CA.
//!
//! # RPC and admin API
//!
//! The brokers' RPC listener (33145) requires a client certificate too
//! (`rpc_server_tls.require_client_auth: true`): brokers dial each other with their own
//! `redpanda-tls` (issued for server and client auth), across sites as well, since every
//! site's certificate comes from the tenant's one CA. A pod that reaches the port cannot join
//! the cluster or inject Raft traffic.
//!
//! The admin API (9644) can reconfigure the cluster, create users and move leadership: it
//! speaks HTTPS (`admin_api_tls`) and requires a client certificate from the same CA, in
//! either Kafka authentication mode. Redpanda's alternative, `admin_api_require_auth: true`,
//! authenticates with HTTP Basic as SASL users: the mTLS mode has none, and a password in
//! every probe, hook and scrape config is a secret copied to more places than a key that
//! never leaves its Secret. mTLS keeps one trust anchor (the tenant's CA) for every Redpanda
//! listener, and the guardrails `access.redpanda_rpc_unauthenticated` and
//! `access.redpanda_admin_unauthenticated` deny a production configuration without it. Its
//! consumers:
//! - the kubelet cannot present a client certificate (`httpGet` probes, even with scheme
//!   HTTPS, would fail the handshake), so the startup, readiness and liveness probes are exec
//!   probes running `curl` in the broker's container against `https://127.0.0.1:9644`,
//!   verifying the server against `ca.crt` (the certificate carries `127.0.0.1` and
//!   `localhost`) and presenting the broker's own certificate; the maintenance-mode hooks
//!   do the same with `curl` and `rpk` ([`lifecycle`]);
//! - the topic Job presents `redpanda-topics-client` (client auth only: the Job never mounts
//!   a broker's key);
//! - Prometheus scrapes `/public_metrics` over HTTPS presenting `redpanda-metrics-client`
//!   (the PodMonitor's `tlsConfig`), verifying the brokers as the `redpanda` Service's name.
//!
//! Any certificate the tenant's CA signs is accepted as an admin client (Redpanda maps no
//! principal on the admin API): the NetworkPolicy admits only the brokers, the monitoring
//! namespaces and the ledger's Jobs to port 9644, so a Kafka client's certificate does not
//! reach it.

mod changefeed;
mod lifecycle;
pub(super) mod tiered;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, ExecAction, KeyToPath,
    Probe, SecretKeySelector, SecretVolumeSource, SecurityContext, Volume,
};
use serde_json::json;

use super::cockroach::{
    LedgerPods, container_port, headless_service, kube_api_volume, ledger_statefulset, pdb_for,
    port,
};
use super::common::{
    Context, DOC_PREFIX, RP_ADMIN_PORT, RP_KAFKA_PORT, RP_METRICS_CLIENT_SECRET, RP_NAME,
    RP_RPC_PORT, RP_TLS_SECRET, RP_TOPICS_CLIENT_SECRET, cpu_manager_note, purpose,
    redpanda_selector, seastar_size_flag,
};
use super::job::ScriptJob;
use super::kit::{
    REDPANDA_UID, container_security, empty_dir, env, field_env, guaranteed, mount, secret_volume,
    small_resources,
};
use super::manifest::Manifest;
use super::scripts::{KUBE_API_DIR, checked_zone};
use crate::rack::{RackKey, rack_of};
use crate::tenant::{Advertise, ChangefeedAuth, Site};

const DATA_DIR: &str = "/var/lib/redpanda/data";
const CONFIG_DIR: &str = "/etc/redpanda";
const TEMPLATE_DIR: &str = "/etc/redpanda-templates";
const TLS_DIR: &str = "/etc/tls";
/// Replication factor of ledger topics and the cluster default.
pub const TOPIC_REPLICATION: u32 = 3;

pub fn objects(ctx: &Context<'_>) -> Vec<Manifest> {
    let mut out = vec![
        config_map(ctx),
        service(ctx),
        Manifest::StatefulSet(Box::new(statefulset(ctx))),
        pdb(ctx),
    ];
    // One cluster, one set of topics: its Jobs run in one place.
    if ctx.redpanda_jobs_here() {
        out.push(topics_job(ctx));
    }
    if !tiered_secret_env(ctx).is_empty() || sasl(ctx).is_some() {
        out.iter_mut().for_each(allow_secrets_as_env);
    }
    if ctx.redpanda_jobs_here() {
        out.extend(changefeed::objects(ctx));
    }
    out
}

fn pdb(ctx: &Context<'_>) -> Manifest {
    let mut pdb = pdb_for(ctx, RP_NAME, &redpanda_selector());
    if ctx.site().is_some()
        && let Manifest::PodDisruptionBudget(p) = &mut pdb
    {
        // A budget counts the pods of its own cluster only.
        p.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(
            format!("{DOC_PREFIX}purpose"),
            "voluntary disruptions (drains, upgrades) take at most one of this site's brokers at a time; the budget sees only this cluster's pods, so drain one site at a time (maintenance mode admits one broker of the whole cluster at once)".to_owned(),
        );
    }
    pdb
}

/// Brokers in this rendering: the site's share, or every broker in Redpanda's region.
pub(super) fn brokers_here(ctx: &Context<'_>) -> u32 {
    match ctx.site() {
        Some(site) => site.brokers(),
        None => ctx.plan.redpanda.brokers,
    }
}

/// The SASL mechanism of the Kafka listener, when the changefeeds authenticate with SCRAM.
fn sasl(ctx: &Context<'_>) -> Option<&'static str> {
    match ctx.tenant.spec().changefeeds.as_ref().map(|c| &c.auth) {
        Some(ChangefeedAuth::ScramSha256 { .. }) => Some("SCRAM-SHA-256"),
        Some(ChangefeedAuth::ScramSha512 { .. }) => Some("SCRAM-SHA-512"),
        _ => None,
    }
}

/// Whether the Kafka listener requires a client certificate: whenever it does not
/// authenticate with SASL (see the module docs).
pub(super) fn kafka_requires_client_cert(ctx: &Context<'_>) -> bool {
    sasl(ctx).is_none()
}

/// `rpk`'s `-X` options for a client certificate in `dir` (`tls.crt`, `tls.key`), when the
/// Kafka listener requires one; empty otherwise.
pub(super) fn rpk_client_cert(ctx: &Context<'_>, dir: &str) -> String {
    if kafka_requires_client_cert(ctx) {
        format!(" -X tls.cert={dir}/tls.crt -X tls.key={dir}/tls.key")
    } else {
        String::new()
    }
}

/// `rpk`'s SASL variables (user, password and mechanism from the changefeeds' Secret) for
/// containers that call the Kafka API; none without SCRAM.
pub(super) fn rpk_sasl_env(ctx: &Context<'_>) -> Vec<EnvVar> {
    let (Some(mechanism), Some(c)) = (sasl(ctx), &ctx.tenant.spec().changefeeds) else {
        return Vec::new();
    };
    let [user, password] = c.auth.keys();
    vec![
        secret_env("RPK_USER", c.auth.secret(), user),
        secret_env("RPK_PASS", c.auth.secret(), password),
        env("RPK_SASL_MECHANISM", mechanism),
    ]
}

/// The names Redpanda's certificate adds to the in-cluster ones: on a site, the addresses
/// the other sites reach its brokers at (DNS names to `dns`, IP addresses to `ips`).
pub(super) fn advertised_names(ctx: &Context<'_>, dns: &mut Vec<String>, ips: &mut Vec<String>) {
    let Some(site) = ctx.site() else { return };
    for n in 0..site.brokers() {
        let Some(host) = site.broker_host(n, RP_NAME) else {
            continue;
        };
        let list = if host.parse::<std::net::IpAddr>().is_ok() {
            &mut *ips
        } else {
            &mut *dns
        };
        if !list.contains(&host) {
            list.push(host);
        }
    }
}

/// What the brokers' racks are: the one place rack awareness is decided ([`rack_of`] over the
/// brokers' placements).
fn rack_key(ctx: &Context<'_>) -> RackKey {
    rack_of(&ctx.tenant.redpanda_quorum().placements)
}

/// The bash lines that set `rack` in the configure init container.
fn rack_script(ctx: &Context<'_>) -> String {
    match rack_key(ctx) {
        RackKey::Zone if ctx.reads_node_zone() => {
            format!("{}rack=\"$zone\"\n", checked_zone(KUBE_API_DIR, &ctx.zones))
        }
        // Region and provider racks are known when rendering (validated names).
        key @ (RackKey::Region | RackKey::Provider) => {
            let here = ctx
                .tenant
                .redpanda_quorum()
                .placements
                .iter()
                .find(|p| p.region == ctx.region)
                .and_then(|p| key.rack(p))
                .unwrap_or_else(|| ctx.region.clone());
            format!("rack=\"{here}\"\n")
        }
        _ => "rack=\"${NODE_NAME}\"\n".to_owned(),
    }
}

/// A variable from a Secret's key.
fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// checkov's per-object exception for Secret values passed as variables: the programs that
/// read them (Redpanda's cluster config, `rpk`, the changefeed driver) take values, not files.
const SECRETS_AS_ENV_SKIP: &str = "CKV_K8S_35=the value is a cluster property or a sink URI parameter that the program reads from a variable, never a file; it comes from a secretKeyRef and is never in the rendering";

/// Adds the checkov exception above to a Job's or StatefulSet's annotations.
fn allow_secrets_as_env(m: &mut Manifest) {
    let meta = match m {
        Manifest::Job(j) => &mut j.metadata,
        Manifest::StatefulSet(s) => &mut s.metadata,
        _ => return,
    };
    meta.annotations.get_or_insert_with(BTreeMap::new).insert(
        "checkov.io/skip1".to_owned(),
        SECRETS_AS_ENV_SKIP.to_owned(),
    );
}

/// The variables carrying tiered storage's Secret values (MinIO keys), if any.
fn tiered_secret_env(ctx: &Context<'_>) -> Vec<EnvVar> {
    tiered::config(ctx)
        .map(|t| {
            t.secrets
                .iter()
                .map(|s| secret_env(s.env, &s.secret, &s.key))
                .collect()
        })
        .unwrap_or_default()
}

fn broker_host(ctx: &Context<'_>, ordinal: &str) -> String {
    format!(
        "{RP_NAME}-{ordinal}.{}",
        ctx.service_domain(RP_NAME, &ctx.region)
    )
}

/// Seed servers: three brokers (fewer if there are fewer). Over sites, the first broker of
/// each site, then the second, …, three in all: the sites share the formation, and every
/// site's brokers list the same seeds.
fn seeds(ctx: &Context<'_>) -> Vec<String> {
    const SEEDS: usize = 3;
    let Some(view) = ctx.tenant.site_view() else {
        return (0..ctx.plan.redpanda.brokers.min(3))
            .map(|i| broker_host(ctx, &i.to_string()))
            .collect();
    };
    let most = view.sites.iter().map(Site::brokers).max().unwrap_or(0);
    (0..most)
        .flat_map(|n| {
            view.sites
                .iter()
                .filter(move |s| s.brokers() > n)
                .filter_map(move |s| s.broker_host(n, RP_NAME))
        })
        .take(SEEDS)
        .collect()
}

/// Every broker's `host:port`: in Redpanda's region, or over every site as they advertise
/// themselves.
fn all_brokers(ctx: &Context<'_>, port: i32) -> String {
    let hosts: Vec<String> = match ctx.tenant.site_view() {
        Some(view) => view
            .sites
            .iter()
            .flat_map(|s| (0..s.brokers()).filter_map(move |n| s.broker_host(n, RP_NAME)))
            .collect(),
        None => (0..ctx.plan.redpanda.brokers)
            .map(|i| broker_host(ctx, &i.to_string()))
            .collect(),
    };
    hosts
        .iter()
        .map(|h| format!("{h}:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The address this site's broker `__ORDINAL__` advertises (what the other sites dial), as
/// the template writes it; `__ADVERTISED__` is filled in by the configure script from the
/// site's list of broker addresses.
fn advertised_template(ctx: &Context<'_>) -> String {
    match ctx.site().map(Site::advertise) {
        Some(Advertise::DnsSuffix(suffix)) => format!("{RP_NAME}-__ORDINAL__.{suffix}"),
        Some(Advertise::Addresses(_)) => "__ADVERTISED__".to_owned(),
        _ => broker_host(ctx, "__ORDINAL__"),
    }
}

fn node_config(ctx: &Context<'_>) -> String {
    let advertised = advertised_template(ctx);
    // RPC and admin: a client certificate from the tenant's CA, always (see the module docs).
    let tls = json!({
        "enabled": true,
        "require_client_auth": true,
        "cert_file": format!("{TLS_DIR}/tls.crt"),
        "key_file": format!("{TLS_DIR}/tls.key"),
        "truststore_file": format!("{TLS_DIR}/ca.crt"),
    });
    let mut admin_tls = tls.clone();
    admin_tls["name"] = json!("internal");
    let mut kafka_tls = tls.clone();
    kafka_tls["name"] = json!("internal");
    // SASL authenticates the clients; without it, their certificates do.
    kafka_tls["require_client_auth"] = json!(kafka_requires_client_cert(ctx));
    let mut kafka = json!({"name": "internal", "address": "0.0.0.0", "port": RP_KAFKA_PORT});
    if sasl(ctx).is_some() {
        kafka["authentication_method"] = json!("sasl");
    }
    let config = json!({
        "redpanda": {
            "data_directory": DATA_DIR,
            "empty_seed_starts_cluster": false,
            "seed_servers": seeds(ctx).iter().map(|h| json!({"host": {"address": h, "port": RP_RPC_PORT}})).collect::<Vec<_>>(),
            "rpc_server": {"address": "0.0.0.0", "port": RP_RPC_PORT},
            "advertised_rpc_api": {"address": advertised, "port": RP_RPC_PORT},
            "rpc_server_tls": tls,
            "kafka_api": [kafka],
            "advertised_kafka_api": [{"name": "internal", "address": advertised, "port": RP_KAFKA_PORT}],
            "kafka_api_tls": [kafka_tls],
            "admin": [{"name": "internal", "address": "0.0.0.0", "port": RP_ADMIN_PORT}],
            "admin_api_tls": [admin_tls],
            "rack": "__RACK__",
        }
    });
    // A JSON value of strings, numbers and maps always serialises.
    serde_yaml_ng::to_string(&config).unwrap_or_default()
}

fn bootstrap_config(ctx: &Context<'_>) -> String {
    let mut config = json!({
        "enable_rack_awareness": true,
        "default_topic_replications": TOPIC_REPLICATION,
        "auto_create_topics_enabled": false,
    });
    if let Some(t) = tiered::config(ctx) {
        for (key, value) in t.properties {
            config[key] = value;
        }
    }
    if sasl(ctx).is_some() {
        // The superuser (the changefeeds' user, named in a Secret) is set by the topic Job.
        config["kafka_enable_authorization"] = json!(true);
        config["sasl_mechanisms"] = json!(["SCRAM"]);
    }
    serde_yaml_ng::to_string(&config).unwrap_or_default()
}

fn config_map(ctx: &Context<'_>) -> Manifest {
    let mut meta = ctx.meta(RP_NAME, &redpanda_selector());
    meta.annotations = Some(purpose(
        "redpanda.yaml template (the init container fills in the pod's ordinal and rack) and the cluster's first-start properties",
    ));
    Manifest::ConfigMap(Box::new(ConfigMap {
        metadata: meta,
        data: Some(
            [
                ("redpanda.yaml".to_owned(), node_config(ctx)),
                ("bootstrap.yaml".to_owned(), bootstrap_config(ctx)),
            ]
            .into_iter()
            .collect(),
        ),
        ..Default::default()
    }))
}

fn service(ctx: &Context<'_>) -> Manifest {
    headless_service(
        ctx.meta(RP_NAME, &redpanda_selector()),
        redpanda_selector(),
        vec![
            port("kafka", RP_KAFKA_PORT),
            port("rpc", RP_RPC_PORT),
            port("admin", RP_ADMIN_PORT),
        ],
    )
}

fn configure_script(ctx: &Context<'_>) -> String {
    let mut s = "set -eu\n".to_owned();
    s.push_str(&rack_script(ctx));
    s.push_str("ordinal=\"${POD_NAME##*-}\"\n");
    let mut advertised = String::new();
    if let Some(site) = ctx.site()
        && let Advertise::Addresses(_) = site.advertise()
    {
        s.push_str(&format!(
            "# The address the other sites reach this broker at: one per pod ordinal.\naddresses=({})\nadvertised=\"${{addresses[$ordinal]}}\"\n",
            site.spec().advertise.brokers.join(" ")
        ));
        advertised = " -e \"s/__ADVERTISED__/${advertised}/g\"".to_owned();
    }
    s.push_str(&format!(
        "sed -e \"s/__ORDINAL__/${{ordinal}}/g\" -e \"s/__RACK__/${{rack}}/g\"{advertised} {TEMPLATE_DIR}/redpanda.yaml > {CONFIG_DIR}/redpanda.yaml\ncp {TEMPLATE_DIR}/bootstrap.yaml {CONFIG_DIR}/.bootstrap.yaml\n"
    ));
    if let Some(t) = tiered::config(ctx)
        && !t.secrets.is_empty()
    {
        // The keys come from the Secret as variables and are written as single-quoted YAML
        // strings (a quote doubled), never into the rendering.
        s.push_str(
            "yaml_quote() { printf \"'%s'\" \"$(printf '%s' \"$1\" | sed \"s/'/''/g\")\"; }\n",
        );
        for secret in &t.secrets {
            s.push_str(&format!(
                "printf '%s: %s\\n' {property} \"$(yaml_quote \"${env}\")\" >> {CONFIG_DIR}/.bootstrap.yaml\n",
                property = secret.property,
                env = secret.env,
            ));
        }
    }
    s.push_str("echo \"rack: ${rack}\"\n");
    s
}

fn tuning_note(enabled: bool) -> String {
    if enabled {
        "on (redpanda.tuning): the tune init container runs `rpk redpanda tune all` privileged and as root, because it writes kernel settings (aio-max-nr, disk schedulers, IRQ affinity) that no unprivileged container may change; the namespace therefore enforces the privileged Pod Security level".to_owned()
    } else {
        "off: `rpk redpanda tune` needs a privileged container, which the restricted Pod Security profile forbids; tune the node pool instead (node image or a privileged DaemonSet outside this namespace), or set redpanda.tuning: true to opt in".to_owned()
    }
}

fn statefulset(ctx: &Context<'_>) -> StatefulSet {
    let r = &ctx.plan.redpanda;
    let tuning = ctx.tenant.spec().redpanda.tuning;
    let selector_labels = redpanda_selector();
    let mut pod_labels = ctx.common_labels();
    pod_labels.extend(selector_labels.clone());
    let tiered = tiered::config(ctx);
    // Redpanda's own identity (Azure's webhook selects pods by label).
    pod_labels.extend(tiered::pod_labels(ctx));
    let image = ctx.redpanda_image();

    let mut volumes = vec![
        Volume {
            name: "templates".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: RP_NAME.to_owned(),
                default_mode: Some(0o444),
                ..Default::default()
            }),
            ..Default::default()
        },
        secret_volume("tls", RP_TLS_SECRET),
        empty_dir("config", false, "16Mi"),
        empty_dir("tmp", false, "1Gi"),
    ];
    let mut configure_mounts = vec![
        mount("templates", TEMPLATE_DIR, true),
        mount("config", CONFIG_DIR, false),
    ];
    if ctx.reads_node_zone() && rack_key(ctx) == RackKey::Zone {
        configure_mounts.push(mount("kube-api", KUBE_API_DIR, true));
        volumes.push(kube_api_volume());
    }
    let mut init = vec![Container {
        name: "configure".to_owned(),
        image: Some(image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(vec![
            "/bin/bash".to_owned(),
            "-c".to_owned(),
            configure_script(ctx),
        ]),
        env: Some(
            [
                field_env("POD_NAME", "metadata.name"),
                field_env("NODE_NAME", "spec.nodeName"),
            ]
            .into_iter()
            .chain(tiered_secret_env(ctx))
            .collect(),
        ),
        resources: Some(small_resources()),
        security_context: Some(container_security(REDPANDA_UID)),
        volume_mounts: Some(configure_mounts),
        ..Default::default()
    }];
    if tuning {
        init.push(Container {
            name: "tune".to_owned(),
            image: Some(image.clone()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            command: Some(vec![
                "rpk".to_owned(),
                "redpanda".to_owned(),
                "tune".to_owned(),
                "all".to_owned(),
            ]),
            resources: Some(small_resources()),
            security_context: Some(SecurityContext {
                privileged: Some(true),
                run_as_user: Some(0),
                run_as_non_root: Some(false),
                read_only_root_filesystem: Some(true),
                ..Default::default()
            }),
            volume_mounts: Some(vec![
                mount("config", CONFIG_DIR, true),
                mount("datadir", DATA_DIR, false),
            ]),
            ..Default::default()
        });
    }
    // A site outside the identity's own cloud gets the token its webhook would inject.
    let federated = tiered::federated_token(ctx);
    let mut broker_env = vec![env("HOME", "/tmp")];
    let mut broker_mounts = vec![
        mount("datadir", DATA_DIR, false),
        mount("config", CONFIG_DIR, false),
        mount("tls", TLS_DIR, true),
        mount("tmp", "/tmp", false),
    ];
    if let Some(f) = federated {
        broker_env.extend(f.env);
        broker_mounts.push(f.mount);
        volumes.push(f.volume);
    }
    let broker = Container {
        name: RP_NAME.to_owned(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(
            [
                "rpk",
                "redpanda",
                "start",
                &format!("--smp={}", r.smp),
                &format!("--memory={}", seastar_size_flag(r.seastar_memory)),
                &format!("--reserve-memory={}", seastar_size_flag(r.reserve_memory)),
                "--default-log-level=info",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ),
        env: Some(broker_env),
        ports: Some(vec![
            container_port("kafka", RP_KAFKA_PORT),
            container_port("rpc", RP_RPC_PORT),
            container_port("admin", RP_ADMIN_PORT),
        ]),
        resources: Some(guaranteed(r.cpu, r.memory)),
        lifecycle: Some(lifecycle::lifecycle()),
        startup_probe: Some(admin_probe("/v1/status/ready", true, 10, 120)),
        readiness_probe: Some(admin_probe("/v1/status/ready", true, 5, 3)),
        // Alive while the admin API answers at all (a broker not yet ready still answers).
        liveness_probe: Some(admin_probe("/v1/status/ready", false, 10, 3)),
        security_context: Some(container_security(REDPANDA_UID)),
        volume_mounts: Some(broker_mounts),
        ..Default::default()
    };
    let mut annotations: BTreeMap<String, String> = [cpu_manager_note()].into_iter().collect();
    annotations.insert(
        format!("{DOC_PREFIX}rack-awareness"),
        format!(
            "redpanda.rack is the broker's {} ({}); enable_rack_awareness is on, default topic replication 3: each partition's replicas sit on distinct racks",
            rack_key(ctx),
            match rack_key(ctx) {
                RackKey::Zone => "the zone label of the pod's Node, read by the configure init container",
                RackKey::Host => "the pod's Node: no zones, the host is the failure domain",
                _ => "written when rendering",
            }
        ),
    );
    annotations.insert(
        format!("{DOC_PREFIX}kafka-authentication"),
        if kafka_requires_client_cert(ctx) {
            format!("mTLS: the Kafka listener requires a client certificate signed by the CA in Secret {RP_TLS_SECRET} (ca.crt); issue one per Kafka client from the same issuer")
        } else {
            "SASL/SCRAM over TLS: every Kafka client authenticates as a SCRAM user".to_owned()
        },
    );
    annotations.insert(
        format!("{DOC_PREFIX}admin-authentication"),
        format!("mTLS: the admin API (HTTPS) and the RPC listener require a client certificate signed by the CA in Secret {RP_TLS_SECRET} (ca.crt); the probes and hooks present the broker's own, the topic Job {RP_TOPICS_CLIENT_SECRET}, Prometheus {RP_METRICS_CLIENT_SECRET}"),
    );
    annotations.insert(
        format!("{DOC_PREFIX}maintenance-mode"),
        format!(
            "preStop: rpk cluster maintenance enable <node-id> --wait (at most {}s; leadership moves off the broker), postStart: rpk cluster maintenance disable <node-id>; terminationGracePeriodSeconds {} covers the drain and the shutdown. See docs/runbooks/redpanda-restarts.md",
            lifecycle::DRAIN_SECONDS,
            lifecycle::GRACE_SECONDS
        ),
    );
    annotations.insert(
        format!("{DOC_PREFIX}tiered-storage"),
        match &tiered {
            Some(t) => format!(
                "on: closed segments go to object storage (cloud_storage_credentials_source {}); the read cache is {}% of the broker's disk",
                t.credentials,
                tiered::CACHE_PERCENT_OF_DISK
            ),
            None => tiered::off_note(ctx),
        },
    );
    let mut meta = ctx.meta(RP_NAME, &selector_labels);
    meta.annotations = Some(
        [
            (format!("{DOC_PREFIX}privileged-tuning"), tuning_note(tuning)),
            (
                format!("{DOC_PREFIX}data-retention"),
                "persistentVolumeClaimRetentionPolicy Retain/Retain: deleting or scaling down never deletes broker volumes".to_owned(),
            ),
        ]
        .into_iter()
        .collect(),
    );
    ledger_statefulset(LedgerPods {
        ctx,
        name: RP_NAME,
        meta,
        replicas: brokers_here(ctx),
        selector_labels,
        pod_labels,
        pod_annotations: annotations,
        service_account: RP_NAME.to_owned(),
        uid: REDPANDA_UID,
        termination_grace_seconds: lifecycle::GRACE_SECONDS,
        init_containers: init,
        containers: vec![broker],
        volumes,
        disk: r.disk,
    })
}

/// `curl` calling the broker's own admin API over loopback (`https://127.0.0.1:9644<path>`):
/// the server is verified against `redpanda-tls`'s CA (its certificate carries `127.0.0.1`)
/// and the broker presents its own certificate, as the admin listener requires. With `fail`,
/// an HTTP error status fails the call; without, any answer over TLS succeeds.
pub(super) fn admin_curl(path: &str, fail: bool) -> Vec<String> {
    let mut args = vec!["curl", "--silent"];
    if fail {
        args.push("--fail");
    }
    args.extend(["--max-time", "4"]);
    let mut out: Vec<String> = args.into_iter().map(str::to_owned).collect();
    out.extend([
        "--cacert".to_owned(),
        format!("{TLS_DIR}/ca.crt"),
        "--cert".to_owned(),
        format!("{TLS_DIR}/tls.crt"),
        "--key".to_owned(),
        format!("{TLS_DIR}/tls.key"),
        format!("https://127.0.0.1:{RP_ADMIN_PORT}{path}"),
    ]);
    out
}

/// `rpk`'s `-X` options for the admin API's TLS, with the client certificate in `dir`
/// (`ca.crt`, `tls.crt`, `tls.key`).
pub(super) fn rpk_admin_tls(dir: &str) -> String {
    format!(
        " -X admin.tls.enabled=true -X admin.tls.ca={dir}/ca.crt -X admin.tls.cert={dir}/tls.crt -X admin.tls.key={dir}/tls.key"
    )
}

/// A probe of the admin API: an exec of [`admin_curl`], since the kubelet's `httpGet` cannot
/// present the client certificate the admin listener requires.
fn admin_probe(path: &str, fail: bool, period: i32, failures: i32) -> Probe {
    let mut command = admin_curl(path, fail);
    // The answer itself is not needed, only curl's status.
    command.splice(1..1, ["--output".to_owned(), "/dev/null".to_owned()]);
    Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

fn topics_script(ctx: &Context<'_>) -> String {
    let x = format!(
        "-X brokers={} -X tls.enabled=true -X tls.ca={TLS_DIR}/ca.crt{} -X admin.hosts={}{}",
        all_brokers(ctx, RP_KAFKA_PORT),
        rpk_client_cert(ctx, TLS_DIR),
        all_brokers(ctx, RP_ADMIN_PORT),
        rpk_admin_tls(TLS_DIR),
    );
    let mut s = format!(
        "set -eu\nX=\"{x}\"\nrpk cluster config set enable_rack_awareness true $X\nrpk cluster config set default_topic_replications {TOPIC_REPLICATION} $X\nrpk cluster config set auto_create_topics_enabled false $X\n\
# consumer-group lag on /public_metrics (the lag alerts and the stream dashboard read it; Redpanda v25.1 or later)\n\
rpk cluster config set enable_consumer_group_metrics '[\"group\", \"partition\", \"consumer_lag\"]' $X || echo 'warning: could not enable consumer-group lag metrics (Redpanda v25.1 or later); the lag alerts stay silent' >&2\n"
    );
    if let Some(mechanism) = sasl(ctx) {
        s.push_str(&sasl_script(mechanism));
    }
    let tiered = tiered::config(ctx);
    if let Some(t) = &tiered {
        s.push_str("# tiered storage (cloud_storage_enabled and the credentials take effect after a rolling restart)\n");
        for (key, value) in &t.properties {
            s.push_str(&format!(
                "rpk cluster config set {key} {} $X\n",
                tiered::value_text(value)
            ));
        }
        for secret in &t.secrets {
            s.push_str(&format!(
                "rpk cluster config set {} \"${}\" $X >/dev/null\n",
                secret.property, secret.env
            ));
        }
    }
    let remote = if tiered.is_some() {
        " -c redpanda.remote.write=true -c redpanda.remote.read=true"
    } else {
        ""
    };
    for t in ctx.tenant.stream_topics() {
        let config: String = t
            .config
            .iter()
            .map(|(k, v)| format!(" -c {k}={v}"))
            .collect();
        let existing = if tiered.is_some() {
            format!(
                "rpk topic alter-config {name} --set redpanda.remote.write=true --set redpanda.remote.read=true $X >/dev/null; echo 'topic {name} exists'",
                name = t.name
            )
        } else {
            format!("echo 'topic {} exists'", t.name)
        };
        s.push_str(&format!(
            "if rpk topic describe {name} $X >/dev/null 2>&1; then {existing}; else rpk topic create {name} --partitions {p} --replicas {r}{config}{remote} $X; fi\n",
            name = t.name,
            p = t.partitions,
            r = t.replication,
        ));
    }
    s
}

/// SCRAM on the Kafka listener (see the module docs): authorization on, the changefeeds' user
/// created (or its password set again) over the Admin API and made the superuser, then
/// `rpk`'s Kafka calls authenticate as it. The user and password are variables from the
/// Secret.
fn sasl_script(mechanism: &str) -> String {
    format!(
        "# SASL/SCRAM: the changefeeds' user, from its Secret, is the superuser this Job authenticates as\n\
rpk cluster config set sasl_mechanisms '[\"SCRAM\"]' $X\n\
rpk cluster config set kafka_enable_authorization true $X\n\
if rpk security user create \"$KAFKA_SASL_USER\" --password \"$KAFKA_SASL_PASSWORD\" --mechanism {mechanism} $X >/dev/null 2>&1; then echo \"user $KAFKA_SASL_USER created\"; else rpk security user update \"$KAFKA_SASL_USER\" --new-password \"$KAFKA_SASL_PASSWORD\" --mechanism {mechanism} $X >/dev/null; echo \"user $KAFKA_SASL_USER exists: password set again\"; fi\n\
rpk cluster config get superusers $X | grep -qw -- \"$KAFKA_SASL_USER\" || rpk cluster config set superusers \"[\\\"$KAFKA_SASL_USER\\\"]\" $X\n\
export RPK_USER=\"$KAFKA_SASL_USER\" RPK_PASS=\"$KAFKA_SASL_PASSWORD\" RPK_SASL_MECHANISM={mechanism}\n"
    )
}

/// The variables of the changefeeds' SCRAM user and password, from their Secret.
fn sasl_user_env(ctx: &Context<'_>) -> Vec<EnvVar> {
    match (sasl(ctx), &ctx.tenant.spec().changefeeds) {
        (Some(_), Some(c)) => {
            let [user, password] = c.auth.keys();
            vec![
                secret_env("KAFKA_SASL_USER", c.auth.secret(), user),
                secret_env("KAFKA_SASL_PASSWORD", c.auth.secret(), password),
            ]
        }
        _ => Vec::new(),
    }
}

fn topics_job(ctx: &Context<'_>) -> Manifest {
    let name = format!("{RP_NAME}-topics");
    ScriptJob {
        name: &name,
        container: "topics",
        image: ctx.redpanda_image(),
        script: topics_script(ctx),
        mounts: vec![mount("tls", TLS_DIR, true), mount("tmp", "/tmp", false)],
        volumes: vec![
            Volume {
                name: "tls".to_owned(),
                secret: Some(SecretVolumeSource {
                    // The Job's own client certificate (client auth only), never the brokers'
                    // key: the admin API always requires one, the Kafka listener without SASL.
                    secret_name: Some(RP_TOPICS_CLIENT_SECRET.to_owned()),
                    items: Some(
                        ["ca.crt", "tls.crt", "tls.key"]
                            .into_iter()
                            .map(|k| KeyToPath {
                                key: k.to_owned(),
                                path: k.to_owned(),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    default_mode: Some(0o440),
                    ..Default::default()
                }),
                ..Default::default()
            },
            empty_dir("tmp", false, "64Mi"),
        ],
        purpose: "sets rack awareness, default replication 3 and tiered storage on the cluster and creates the tenant's and the changefeeds' topics if missing (tiered topics: remote write and read); safe to re-run",
    }
    .manifest_with_env(ctx, [tiered_secret_env(ctx), sasl_user_env(ctx)].concat())
}
