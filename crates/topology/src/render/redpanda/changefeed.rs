//! Changefeeds into Redpanda: the spec the CockroachDB driver reads (a ConfigMap) and the Job
//! that applies it with `ledger-backup cockroach changefeed apply`.
//!
//! The statements are built by one library, `thinledger_cockroach::changefeed` (bind
//! parameters, quoted identifiers, an existing changefeed of the same tables, topic and broker
//! found and kept instead of duplicated). Topology may not depend on that crate (the CockroachDB
//! driver depends on topology's model), so the rendering writes the driver's spec and the Job
//! runs the driver: the statements are the ones `ledger-backup cockroach changefeed plan --spec`
//! prints for the same file. The Secret values (the Redpanda CA, the client certificate and
//! key or the SASL user and password) reach the Job as variables from `secretKeyRef`s, never
//! through the rendering.
//!
//! The Job waits (init container, Redpanda's image) until every changefeed topic exists — the
//! topic Job creates them with replication 3 and auto-creation is off; with mTLS it presents
//! the changefeeds' own client certificate, so the credential CockroachDB will use is tried
//! first — then applies the spec:
//! the driver turns rangefeeds on first (`SET CLUSTER SETTING kv.rangefeed.enabled = true`,
//! which CockroachDB self-hosted needs before `CREATE CHANGEFEED`; a no-op when they are on).
//!
//! The sink address is [`bootstrap`], the one place it is made: Redpanda's Kafka Service as
//! the site that renders Redpanda resolves it. A tenant with sites renders the changefeeds in
//! its first site only, and pins them there with `execution_locality` (the first site's
//! `cloud=…,region=…`, as its nodes' `--locality` starts): CockroachDB spreads a changefeed's
//! work over the nodes holding the watched ranges, each connecting to the sink itself, and
//! only the first site's nodes resolve that Service.
//! Its name is a hash of its inputs, so a changed spec (or image) renders a new Job, and an
//! unchanged one re-applies as a no-op.

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, KeyToPath, SecretVolumeSource, Volume,
};
use serde_json::json;

use super::super::common::{
    CRDB_PUBLIC, CRDB_ROOT_SECRET, CRDB_SQL_PORT, Context, RP_KAFKA_PORT, RP_NAME, RP_TLS_SECRET,
    purpose, short_hash,
};
use super::super::job::named_job;
use super::super::kit::{
    JOB_UID, container_security, empty_dir, env, labels, mount, small_resources,
};
use super::super::manifest::Manifest;
use super::{TLS_DIR, all_brokers, secret_env};
use crate::tenant::{ChangefeedAuth, ChangefeedsSpec};

/// The ConfigMap holding the spec, and the Job's name before its hash.
pub const CHANGEFEEDS_NAME: &str = "redpanda-changefeeds";
/// The spec's key in the ConfigMap.
pub const SPEC_KEY: &str = "changefeeds.yaml";
const SPEC_DIR: &str = "/etc/thinledger/changefeeds";
const CRDB_CERTS_DIR: &str = "/var/run/secrets/thinledger/cockroach";
/// The changefeeds' client certificate, for the wait step's `rpk` (mTLS).
const CLIENT_CERT_DIR: &str = "/var/run/secrets/thinledger/kafka-client";

/// The variables the Job exposes the Secret values as (named in the spec's references).
const CA_ENV: &str = "REDPANDA_CA";
const FIRST_ENV: [&str; 2] = ["KAFKA_CLIENT_CERT", "KAFKA_SASL_USER"];
const SECOND_ENV: [&str; 2] = ["KAFKA_CLIENT_KEY", "KAFKA_SASL_PASSWORD"];

/// `HOST:PORT` of Redpanda's Kafka API for CockroachDB (the headless Service: every broker),
/// in the cluster of the site rendered. The only place the changefeeds' sink address is made.
pub fn bootstrap(ctx: &Context<'_>) -> String {
    format!(
        "{}:{RP_KAFKA_PORT}",
        ctx.service_domain(RP_NAME, ctx.tenant.redpanda_region())
    )
}

fn key_ref(secret: &str, key: &str, env: &str) -> serde_json::Value {
    json!({"secret": secret, "key": key, "env": env})
}

/// Where the changefeeds run: for a tenant with sites, the nodes of the site rendered (the
/// first: the one that resolves [`bootstrap`]), named as their `--locality` starts.
fn execution_locality(ctx: &Context<'_>) -> Option<String> {
    ctx.site()
        .map(|_| super::super::cockroach::locality_prefix(ctx))
}

/// The spec in the CockroachDB driver's format (`ChangefeedSpec`).
pub fn spec_yaml(ctx: &Context<'_>, c: &ChangefeedsSpec) -> String {
    let secret = c.auth.secret();
    let [first, second] = c.auth.keys();
    let auth = match &c.auth {
        ChangefeedAuth::Mtls { .. } => json!({
            "kind": "mtls",
            "cert": key_ref(secret, first, FIRST_ENV[0]),
            "key": key_ref(secret, second, SECOND_ENV[0]),
        }),
        other => json!({
            "kind": other.kind(),
            "user": key_ref(secret, first, FIRST_ENV[1]),
            "password": key_ref(secret, second, SECOND_ENV[1]),
        }),
    };
    let feeds: Vec<serde_json::Value> = c
        .feeds
        .iter()
        .map(|f| {
            let mut v = json!({"topic": f.topic, "tables": f.tables});
            if let Some(k) = &f.key_column {
                v["key_column"] = json!(k);
            }
            v
        })
        .collect();
    let mut spec = json!({
        "bootstrap": bootstrap(ctx),
        "ca": key_ref(RP_TLS_SECRET, "ca.crt", CA_ENV),
        "auth": auth,
        "updated": c.updated,
        "resolved": c.resolved,
        "diff": c.diff,
        "envelope": c.envelope,
        "on_error": "pause",
        "feeds": feeds,
    });
    if let Some(locality) = execution_locality(ctx) {
        spec["execution_locality"] = json!(locality);
    }
    // A JSON value of strings, numbers and maps always serialises.
    serde_yaml_ng::to_string(&spec).unwrap_or_default()
}

fn secret_items(name: &str, secret: &str, items: &[(&str, &str)]) -> Volume {
    Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_owned()),
            items: Some(
                items
                    .iter()
                    .map(|(k, p)| KeyToPath {
                        key: (*k).to_owned(),
                        path: (*p).to_owned(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ConfigMap and the Job, when the tenant declares changefeeds.
pub fn objects(ctx: &Context<'_>) -> Vec<Manifest> {
    let Some(c) = &ctx.tenant.spec().changefeeds else {
        return Vec::new();
    };
    // One apply Job per ledger: a tenant with sites runs it in its first site.
    if ctx.tenant.site_view().is_some_and(|v| v.index != 0) {
        return Vec::new();
    }
    let spec = spec_yaml(ctx, c);
    // The Job mounts the ConfigMap by name: the spec's hash in its environment makes a changed
    // spec a new Job (its name is the hash of its own spec), which applies the new feeds.
    let spec_hash = short_hash(spec.as_bytes());
    let mut meta = ctx.meta(
        CHANGEFEEDS_NAME,
        &labels(&[("app.kubernetes.io/component", "changefeeds")]),
    );
    meta.annotations = Some(purpose(
        "the changefeed spec `ledger-backup cockroach changefeed apply` reads (thinledger_cockroach::changefeed::ChangefeedSpec): tables to topics, TLS to Redpanda, credentials by Secret reference only",
    ));
    let config_map = Manifest::ConfigMap(Box::new(ConfigMap {
        metadata: meta,
        data: Some([(SPEC_KEY.to_owned(), spec)].into_iter().collect()),
        ..Default::default()
    }));

    // With mTLS the wait step presents the changefeeds' own certificate: the credential
    // CockroachDB will use is tried before the changefeeds are created.
    let client_cert = match &c.auth {
        ChangefeedAuth::Mtls { .. } => super::rpk_client_cert(ctx, CLIENT_CERT_DIR),
        _ => String::new(),
    };
    let x = format!(
        "-X brokers={} -X tls.enabled=true -X tls.ca={TLS_DIR}/ca.crt{client_cert}",
        all_brokers(ctx, RP_KAFKA_PORT)
    );
    let topics: Vec<&str> = c.feeds.iter().map(|f| f.topic.as_str()).collect();
    let wait = format!(
        "set -u\nfor topic in {list}; do\n  i=0\n  until rpk topic describe \"$topic\" {x} >/dev/null 2>&1; do\n    i=$((i + 1))\n    if [ \"$i\" -ge 60 ]; then echo \"topic $topic is not readable after 5 minutes: has the redpanda-topics Job run, and does Redpanda accept the changefeeds' credentials?\" >&2; exit 1; fi\n    sleep 5\n  done\n  echo \"topic $topic exists\"\ndone\n",
        list = topics.join(" "),
    );
    let wait_topics = Container {
        name: "wait-for-topics".to_owned(),
        image: Some(ctx.redpanda_image()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(vec!["/bin/bash".to_owned(), "-c".to_owned(), wait]),
        // With SCRAM on the listener, rpk authenticates as the changefeeds' user.
        env: Some([vec![env("HOME", "/tmp")], super::rpk_sasl_env(ctx)].concat()),
        resources: Some(small_resources()),
        security_context: Some(container_security(JOB_UID)),
        volume_mounts: Some(
            [mount("tls", TLS_DIR, true), mount("tmp", "/tmp", false)]
                .into_iter()
                .chain((!client_cert.is_empty()).then(|| mount("client", CLIENT_CERT_DIR, true)))
                .collect(),
        ),
        ..Default::default()
    };

    let url = format!(
        "postgresql://root@{host}:{CRDB_SQL_PORT}/defaultdb?sslmode=verify-full&sslrootcert={CRDB_CERTS_DIR}/ca.crt&sslcert={CRDB_CERTS_DIR}/client.root.crt&sslkey={CRDB_CERTS_DIR}/client.root.key",
        host = ctx.service_domain(CRDB_PUBLIC, &ctx.region),
    );
    let secret = c.auth.secret();
    let [first, second] = c.auth.keys();
    let (first_env, second_env) = match c.auth {
        ChangefeedAuth::Mtls { .. } => (FIRST_ENV[0], SECOND_ENV[0]),
        _ => (FIRST_ENV[1], SECOND_ENV[1]),
    };
    let apply = Container {
        name: "apply".to_owned(),
        image: Some(c.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command: Some(
            [
                "ledger-backup",
                "cockroach",
                "changefeed",
                "apply",
                "--spec",
                &format!("{SPEC_DIR}/{SPEC_KEY}"),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ),
        env: Some(vec![
            env("HOME", "/tmp"),
            env("THINLEDGER_CHANGEFEEDS_SPEC_HASH", &spec_hash),
            env("THINLEDGER_COCKROACH_URL", &url),
            secret_env(CA_ENV, RP_TLS_SECRET, "ca.crt"),
            secret_env(first_env, secret, first),
            secret_env(second_env, secret, second),
        ]),
        resources: Some(small_resources()),
        security_context: Some(container_security(JOB_UID)),
        volume_mounts: Some(vec![
            mount("spec", SPEC_DIR, true),
            mount("cockroach-certs", CRDB_CERTS_DIR, true),
            mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    };
    let mut volumes = vec![
        Volume {
            name: "spec".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: CHANGEFEEDS_NAME.to_owned(),
                default_mode: Some(0o444),
                ..Default::default()
            }),
            ..Default::default()
        },
        secret_items(
            "cockroach-certs",
            CRDB_ROOT_SECRET,
            &[
                ("ca.crt", "ca.crt"),
                ("tls.crt", "client.root.crt"),
                ("tls.key", "client.root.key"),
            ],
        ),
        secret_items("tls", RP_TLS_SECRET, &[("ca.crt", "ca.crt")]),
        empty_dir("tmp", false, "64Mi"),
    ];
    if !client_cert.is_empty() {
        volumes.push(secret_items(
            "client",
            secret,
            &[(first, "tls.crt"), (second, "tls.key")],
        ));
    }
    let mut job = named_job(
        ctx,
        CHANGEFEEDS_NAME,
        vec![wait_topics],
        apply,
        volumes,
        "waits for the changefeed topics, turns rangefeeds on (SET CLUSTER SETTING kv.rangefeed.enabled = true, needed before CREATE CHANGEFEED), then creates each changefeed unless a live one of the same tables, topic and broker exists (ledger-backup cockroach changefeed apply); safe to re-run",
    );
    super::allow_secrets_as_env(&mut job);
    vec![config_map, job]
}
