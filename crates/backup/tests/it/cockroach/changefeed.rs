//! Changefeeds into Redpanda: golden `CREATE CHANGEFEED` statements pinned to CockroachDB
//! v25.2's documented syntax (Kafka sink URI parameters `topic_name`, `tls_enabled`, `ca_cert`,
//! `sasl_enabled`, `sasl_mechanism`, `sasl_user`, `sasl_password`, `client_cert`, `client_key`;
//! options `updated`, `resolved`, `min_checkpoint_frequency`, `diff`, `envelope`, `format`,
//! `on_error`, `key_column`, `unordered`), the refusals of combinations CockroachDB refuses, and
//! finding an existing changefeed instead of creating another.

use std::collections::BTreeMap;

use rstest::rstest;
use thinledger_backup::cockroach::{
    ChangefeedJob, ChangefeedSpec, CockroachError, SHOW_CHANGEFEED_JOBS, Statement,
};

use super::*;

const CA_PEM: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUledger\n-----END CERTIFICATE-----\n";
const CLIENT_KEY_PEM: &str =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIwJalrXUtnFEMI\n-----END PRIVATE KEY-----\n";

const SCRAM: &str = r#"
bootstrap: redpanda.ledger-acme-bank-prod.svc.cluster.local:9093
ca: {secret: redpanda-tls, key: ca.crt}
auth:
  kind: scram-sha-512
  user: {secret: ledger-changefeed, key: username, env: REDPANDA_USER}
  password: {secret: ledger-changefeed, key: password, env: REDPANDA_PASSWORD}
feeds:
  - topic: ledger.balances.audit
    tables: [ledger.public.balances]
  - topic: ledger.entries.audit
    tables: [ledger.public.entries, ledger.public.entry_lines]
"#;

const MTLS: &str = r#"
bootstrap: redpanda-0.redpanda.ledger.svc.cluster.local:9094
ca: {secret: redpanda-tls, key: ca.crt}
auth:
  kind: mtls
  cert: {secret: ledger-changefeed-client, key: tls.crt}
  key: {secret: ledger-changefeed-client, key: tls.key}
resolved: off
envelope: enriched
on_error: fail
feeds:
  - {topic: ledger.balances.by-account, tables: [ledger.public.balances], key_column: account_id}
"#;

const SCRAM_256_FAST: &str = r#"
bootstrap: redpanda:9093
auth:
  kind: scram-sha-256
  user: {secret: cf, key: user}
  password: {secret: cf, key: pass}
resolved: 5s
diff: false
updated: false
envelope: bare
feeds:
  - {topic: t, tables: ["Ledger DB.public.Balances"]}
"#;

fn env() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("CA_CRT", CA_PEM.to_owned()),
        ("REDPANDA_USER", "ledger-cdc".to_owned()),
        ("REDPANDA_PASSWORD", PASSPHRASE.to_owned()),
        ("TLS_CRT", CA_PEM.to_owned()),
        ("TLS_KEY", CLIENT_KEY_PEM.to_owned()),
        ("USER", "cdc".to_owned()),
        ("PASS", SECRET_KEY.to_owned()),
    ])
}

fn plan(yaml: &str) -> Result<thinledger_backup::cockroach::ChangefeedPlan, CockroachError> {
    let env = env();
    ChangefeedSpec::from_yaml(yaml)?.plan(|v| env.get(v).cloned())
}

fn golden(yaml: &str) -> String {
    let plan = plan(yaml).unwrap();
    let mut out = plan.to_string();
    out.push_str("\n-- executed as:\n");
    for feed in plan.feeds() {
        let r = feed.render();
        out.push_str(&format!("{}\n", r.sql()));
        for (i, p) in r.params().iter().enumerate() {
            out.push_str(&format!("  ${} = {}\n", i + 1, p.display()));
        }
    }
    out
}

#[rstest]
#[case::scram_sha_512_audit("scram_sha_512_audit", SCRAM)]
#[case::mtls_key_column("mtls_key_column", MTLS)]
#[case::scram_sha_256_fast_resolved("scram_sha_256_fast_resolved", SCRAM_256_FAST)]
fn plans(#[case] name: &str, #[case] yaml: &str) {
    let text = golden(yaml);
    assert_no_secret(&text);
    assert!(!text.contains("MC4CAQAw"), "client key leaked:\n{text}");
    insta::with_settings!({ snapshot_suffix => name }, {
        insta::assert_snapshot!("changefeed", text);
    });
}

#[test]
fn the_audit_statement_has_the_documented_shape() {
    let plan = plan(SCRAM).unwrap();
    let r = plan.feeds()[1].render();
    assert_eq!(
        r.sql(),
        r#"CREATE CHANGEFEED FOR TABLE "ledger"."public"."entries", "ledger"."public"."entry_lines" INTO $1 WITH updated, resolved = '10s', min_checkpoint_frequency = '10s', diff, envelope = 'wrapped', format = 'json', on_error = 'pause'"#
    );
    let sink = r.params()[0].display();
    assert!(
        sink.starts_with("kafka://redpanda.ledger-acme-bank-prod.svc.cluster.local:9093?topic_name=ledger.entries.audit&tls_enabled=true&ca_cert=LS0tLS1CRUdJTi"),
        "{sink}"
    );
    assert!(
        sink.ends_with("&sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512&sasl_user=ledger-cdc&sasl_password=redacted"),
        "{sink}"
    );
    assert!(r.params()[0].is_sensitive());
}

#[test]
fn preview_reads_no_secret_and_cannot_run() {
    let plan = ChangefeedSpec::from_yaml(SCRAM).unwrap().preview().unwrap();
    assert!(!plan.is_executable());
    let text = plan.to_string();
    assert!(
        text.contains("sasl_user=%3CSecret%20ledger-changefeed%20key%20username%3E"),
        "{text}"
    );
    let err = ChangefeedSpec::from_yaml(SCRAM)
        .unwrap()
        .plan(|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("CA_CRT is missing") && err.contains("Secret redpanda-tls key ca.crt"),
        "{err}"
    );
}

#[rstest]
#[case::diff_with_bare(
    "envelope: bare\n",
    "changefeeds.envelope: \"bare\" is invalid: diff (the row before each change) is emitted only with the wrapped or enriched envelope"
)]
#[case::key_column_with_resolved(
    "feeds: [{topic: t, tables: [a.b.c], key_column: id}]\n",
    "changefeeds.feeds[0].key_column: \"id\" is invalid: key_column needs the unordered option, which CockroachDB refuses together with resolved timestamps"
)]
#[case::two_part_table(
    "feeds: [{topic: t, tables: [ledger.balances]}]\n",
    "changefeeds.feeds[0].tables: \"ledger.balances\" is invalid: a changefeed table is database.schema.table"
)]
#[case::bad_topic(
    "feeds: [{topic: \"audit stream\", tables: [a.b.c]}]\n",
    "changefeeds.feeds[0].topic: \"audit stream\" is invalid: a Kafka topic is"
)]
#[case::topic_twice(
    "feeds: [{topic: t, tables: [a.b.c]}, {topic: t, tables: [a.b.d]}]\n",
    "changefeeds.feeds[1].topic: \"t\" is invalid: each topic has one feed"
)]
#[case::no_feeds("feeds: []\n", "changefeeds.feeds: \"\" is invalid")]
#[case::scheme_in_bootstrap(
    "bootstrap: kafka://redpanda:9093\n",
    "changefeeds.bootstrap: \"kafka://redpanda:9093\" is invalid: the bootstrap address is HOST:PORT"
)]
#[case::bad_resolved("resolved: 1h\n", "changefeeds.resolved: \"1h\" is invalid")]
fn refusals_name_field_value_rule_and_fix(#[case] edit: &str, #[case] starts: &str) {
    // The base spec with one top-level key replaced.
    let key = edit.split(':').next().unwrap();
    let base = "bootstrap: redpanda:9093\nauth: {kind: scram-sha-256, user: {secret: cf, key: user}, password: {secret: cf, key: pass}}\nfeeds: [{topic: t, tables: [a.b.c]}]\n";
    let yaml: String = base
        .lines()
        .filter(|l| !l.starts_with(&format!("{key}:")))
        .map(|l| format!("{l}\n"))
        .chain([edit.to_owned()])
        .collect();
    let err = plan(&yaml).unwrap_err();
    assert!(err.is_input(), "{err}");
    let text = err.to_string();
    assert!(text.starts_with(starts), "{text}");
    assert!(text.contains("fix:"), "{text}");
}

#[test]
fn unknown_fields_are_refused() {
    let err = ChangefeedSpec::from_yaml(&format!("{SCRAM}\nsasl: true\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `sasl`"), "{err}");
}

/// SHOW CHANGEFEED JOBS rows: a live changefeed of the same tables, topic and broker is the
/// same changefeed; any difference, or a finished job, is not.
#[rstest]
#[case::same_running(
    job(
        "running",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "ledger.public.entry_lines,ledger.public.entries",
        "ledger.entries.audit"
    ),
    true
)]
#[case::same_paused(
    job(
        "paused",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "{ledger.public.entries,ledger.public.entry_lines}",
        "ledger.entries.audit"
    ),
    true
)]
#[case::failed(
    job(
        "failed",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "ledger.public.entries,ledger.public.entry_lines",
        "ledger.entries.audit"
    ),
    false
)]
#[case::canceled(
    job(
        "canceled",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "ledger.public.entries,ledger.public.entry_lines",
        "ledger.entries.audit"
    ),
    false
)]
#[case::other_topic(
    job(
        "running",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "ledger.public.entries,ledger.public.entry_lines",
        "ledger.entries"
    ),
    false
)]
#[case::fewer_tables(
    job(
        "running",
        "redpanda.ledger-acme-bank-prod.svc.cluster.local:9093",
        "ledger.public.entries",
        "ledger.entries.audit"
    ),
    false
)]
#[case::other_broker(
    job(
        "running",
        "redpanda.other.svc.cluster.local:9093",
        "ledger.public.entries,ledger.public.entry_lines",
        "ledger.entries.audit"
    ),
    false
)]
fn existing_changefeeds_are_found_not_duplicated(#[case] job: ChangefeedJob, #[case] same: bool) {
    let plan = plan(SCRAM).unwrap();
    assert_eq!(plan.feeds()[1].matches(&job), same, "{job:?}");
    assert!(!plan.feeds()[0].matches(&job), "another topic's feed");
}

fn job(status: &str, host: &str, tables: &str, topics: &str) -> ChangefeedJob {
    ChangefeedJob::new(
        7,
        status,
        &format!("kafka://{host}?sasl_password=redacted&topic_name={topics}"),
        tables,
        topics,
    )
}

#[test]
fn the_jobs_query_reads_the_documented_columns() {
    assert!(SHOW_CHANGEFEED_JOBS.ends_with("FROM [SHOW CHANGEFEED JOBS]"));
    for column in ["job_id", "status", "sink_uri", "full_table_names", "topics"] {
        assert!(SHOW_CHANGEFEED_JOBS.contains(column), "{column}");
    }
}
