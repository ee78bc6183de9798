//! Changefeeds into Redpanda: `CREATE CHANGEFEED FOR TABLE … INTO 'kafka://…'` for an audit
//! stream, with TLS and SASL/SCRAM or mTLS credentials read from Secret references, found
//! again (`SHOW CHANGEFEED JOBS`) instead of duplicated.
//!
//! A [`ChangefeedSpec`] is what a tenant declares: the Redpanda bootstrap address, how to
//! authenticate, and which tables stream to which topic. [`ChangefeedSpec::plan`] reads the
//! Secret values (exposed to the job as variables, see [`SecretKeyRef::variable`]) and computes
//! one [`CreateChangefeedStatement`] per topic. The sink URI is a bind parameter whose display
//! redacts the SASL password and the client key; table names are quoted identifiers; option
//! values are escaped literals generated from typed values, or bind parameters for names a user
//! wrote (the key column).
//!
//! The statements follow CockroachDB's documented rules: rangefeeds must be on before a
//! changefeed starts on a self-hosted cluster, so every plan begins with
//! [`ENABLE_RANGEFEEDS`] (a setting, so running it again changes nothing); SASL needs
//! `tls_enabled=true`; `diff` needs the `wrapped` or `enriched` envelope; `key_column` needs
//! `unordered`, which cannot be combined with `resolved`; a `resolved` interval under 30 s needs
//! `min_checkpoint_frequency` no longer than it (set to the same value here);
//! `execution_locality` keeps the work (and so the connections to the sink) on the nodes of
//! one locality, for a sink only they can reach.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::CockroachError;
use super::sql::{Ident, Param, Rendered, SqlWriter};
use super::statement::Statement;
use thinledger_store::{Invalid, REDACTED, Secret};

/// One key of a Kubernetes Secret. A job that applies changefeeds sees it as the variable
/// [`SecretKeyRef::variable`] (e.g. with `env: [{name: REDPANDA_PASSWORD, valueFrom:
/// {secretKeyRef: …}}]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub secret: String,
    /// The key in it, e.g. `password` or `ca.crt`.
    pub key: String,
    /// The variable the job exposes it as (default: the key upper-cased, every character
    /// other than a letter or digit replaced by `_`, e.g. `CA_CRT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl SecretKeyRef {
    /// `key` of Secret `secret`.
    pub fn new(secret: impl Into<String>, key: impl Into<String>) -> Self {
        SecretKeyRef {
            secret: secret.into(),
            key: key.into(),
            env: None,
        }
    }

    /// The variable the value is read from.
    pub fn variable(&self) -> String {
        self.env.clone().unwrap_or_else(|| {
            self.key
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        })
    }
}

impl fmt::Display for SecretKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret {} key {}", self.secret, self.key)
    }
}

/// How CockroachDB authenticates to Redpanda (always over TLS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum KafkaAuth {
    /// SASL/SCRAM-SHA-256 with a user and password.
    #[serde(rename = "scram-sha-256")]
    ScramSha256 {
        /// The SASL user.
        user: SecretKeyRef,
        /// Its password.
        password: SecretKeyRef,
    },
    /// SASL/SCRAM-SHA-512 with a user and password.
    #[serde(rename = "scram-sha-512")]
    ScramSha512 {
        /// The SASL user.
        user: SecretKeyRef,
        /// Its password.
        password: SecretKeyRef,
    },
    /// Mutual TLS: a client certificate and key (PEM).
    Mtls {
        /// The client certificate (PEM), e.g. `tls.crt` of a cert-manager Secret.
        cert: SecretKeyRef,
        /// Its private key (PEM), e.g. `tls.key`.
        key: SecretKeyRef,
    },
}

/// The changefeed message envelope (`envelope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Envelope {
    /// The key, the row `after` the change (and `before` with `diff`), `updated` and
    /// `resolved` fields: what an audit stream needs to replay every balance change.
    #[default]
    Wrapped,
    /// `wrapped` plus source metadata (`enriched`).
    Enriched,
    /// The row's columns at the top level.
    Bare,
    /// The key only.
    KeyOnly,
    /// The row only.
    Row,
}

impl Envelope {
    fn literal(self) -> &'static str {
        match self {
            Envelope::Wrapped => "'wrapped'",
            Envelope::Enriched => "'enriched'",
            Envelope::Bare => "'bare'",
            Envelope::KeyOnly => "'key_only'",
            Envelope::Row => "'row'",
        }
    }

    fn name(self) -> &'static str {
        self.literal().trim_matches('\'')
    }
}

/// What a changefeed does on an error it cannot retry (`on_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnError {
    /// Pause, so it can be resumed where it stopped: an audit stream must not end with a gap.
    #[default]
    Pause,
    /// Fail (CockroachDB's default).
    Fail,
}

/// Tables whose changes go to one topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FeedSpec {
    /// The topic, e.g. `ledger.balances.audit`.
    pub topic: String,
    /// Fully qualified tables, `database.schema.table`.
    pub tables: Vec<String>,
    /// Partition by this column instead of the primary key (`key_column`; needs `unordered`,
    /// so no `resolved` messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_column: Option<String>,
}

/// What a tenant declares for its changefeeds into Redpanda.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChangefeedSpec {
    /// Redpanda's Kafka API, `HOST:PORT` (a Service reachable from every CockroachDB node,
    /// e.g. `redpanda.ledger-acme-bank-prod.svc.cluster.local:9093`).
    pub bootstrap: String,
    /// The CA that signed Redpanda's certificate (PEM); the system roots when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SecretKeyRef>,
    /// How to authenticate.
    pub auth: KafkaAuth,
    /// Include the MVCC timestamp of each change (`updated`; default true).
    #[serde(default = "yes")]
    pub updated: bool,
    /// Emit resolved timestamps at most this often (`resolved`, e.g. `10s`; default `10s`;
    /// `off` for none).
    #[serde(default = "default_resolved")]
    pub resolved: String,
    /// Include the row before the change (`diff`; default true).
    #[serde(default = "yes")]
    pub diff: bool,
    /// The envelope (default `wrapped`).
    #[serde(default)]
    pub envelope: Envelope,
    /// On a non-retryable error (default `pause`).
    #[serde(default)]
    pub on_error: OnError,
    /// Only nodes of this locality run the changefeed and connect to the sink
    /// (`execution_locality`, e.g. `cloud=aws,region=us-east-1`): for a sink that only
    /// they can reach, such as the Kafka Service of one site of a ledger over several
    /// Kubernetes clusters. Default: every node takes part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_locality: Option<String>,
    /// The tables and their topics, one changefeed per topic.
    pub feeds: Vec<FeedSpec>,
}

fn yes() -> bool {
    true
}

fn default_resolved() -> String {
    "10s".to_owned()
}

impl ChangefeedSpec {
    /// Reads a spec from YAML (every mapping rejects unknown fields).
    pub fn from_yaml(text: &str) -> Result<Self, CockroachError> {
        serde_yaml_ng::from_str(text).map_err(|e| {
            CockroachError::invalid(
                "changefeeds",
                "",
                format!("the changefeed spec is not valid: {e}"),
                "compare with the fields of ChangefeedSpec (bootstrap, ca, auth, feeds, …)",
            )
        })
    }

    /// The plan, reading each Secret value from the variable its reference names through
    /// `lookup` (e.g. `|name| std::env::var(name).ok()`); a missing one is
    /// [`CockroachError::Missing`] naming the variable, the Secret and the key.
    pub fn plan(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ChangefeedPlan, CockroachError> {
        self.plan_with(
            |r: &SecretKeyRef| {
                let var = r.variable();
                lookup(&var).ok_or_else(|| CockroachError::Missing {
                    field: var.clone(),
                    why: format!("the changefeed's Kafka credentials come from {r}"),
                    fix: format!(
                        "expose {r} to the job as {var} (env valueFrom secretKeyRef), or name another variable with env:"
                    ),
                })
            },
            true,
        )
    }

    /// The plan without reading any Secret: every value from a Secret shows as
    /// `<Secret NAME key KEY>`. For printing what would run; the client refuses to run it.
    pub fn preview(&self) -> Result<ChangefeedPlan, CockroachError> {
        self.plan_with(|r: &SecretKeyRef| Ok(format!("<{r}>")), false)
    }

    fn plan_with(
        &self,
        value: impl Fn(&SecretKeyRef) -> Result<String, CockroachError>,
        executable: bool,
    ) -> Result<ChangefeedPlan, CockroachError> {
        check_bootstrap(&self.bootstrap)?;
        let resolved = parse_resolved(&self.resolved)?;
        if let Some(locality) = &self.execution_locality {
            check_locality(locality)?;
        }
        if self.diff && !matches!(self.envelope, Envelope::Wrapped | Envelope::Enriched) {
            return Err(CockroachError::invalid(
                "changefeeds.envelope",
                self.envelope.name(),
                "diff (the row before each change) is emitted only with the wrapped or enriched envelope",
                "use envelope: wrapped (the audit default), or diff: false",
            ));
        }
        if self.feeds.is_empty() {
            return Err(CockroachError::invalid(
                "changefeeds.feeds",
                "",
                "declare at least one feed (tables and their topic)",
                "add feeds: [{topic: ledger.balances.audit, tables: [ledger.public.balances]}]",
            ));
        }
        let ca = match &self.ca {
            Some(r) => Some(pem_base64(&value(r)?)),
            None => None,
        };
        let auth = match &self.auth {
            KafkaAuth::ScramSha256 { user, password }
            | KafkaAuth::ScramSha512 { user, password } => SinkAuth::Scram {
                mechanism: if matches!(self.auth, KafkaAuth::ScramSha256 { .. }) {
                    "SCRAM-SHA-256"
                } else {
                    "SCRAM-SHA-512"
                },
                user: value(user)?,
                password: Secret::new(value(password)?),
            },
            KafkaAuth::Mtls { cert, key } => SinkAuth::Mtls {
                cert: pem_base64(&value(cert)?),
                key: Secret::new(pem_base64(&value(key)?)),
            },
        };
        let mut topics: Vec<&str> = Vec::new();
        let mut feeds = Vec::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            let at = format!("changefeeds.feeds[{i}]");
            check_topic(&format!("{at}.topic"), &feed.topic)?;
            if topics.contains(&feed.topic.as_str()) {
                return Err(CockroachError::invalid(
                    format!("{at}.topic"),
                    feed.topic.clone(),
                    "each topic has one feed (one changefeed per topic)",
                    "list all of the topic's tables in one feed",
                ));
            }
            topics.push(&feed.topic);
            if feed.tables.is_empty() {
                return Err(CockroachError::invalid(
                    format!("{at}.tables"),
                    "",
                    "a feed names at least one table",
                    "e.g. tables: [ledger.public.balances]",
                ));
            }
            let tables = feed
                .tables
                .iter()
                .map(|t| FullTableName::parse(&format!("{at}.tables"), t))
                .collect::<Result<Vec<_>, _>>()?;
            let key_column = match &feed.key_column {
                Some(c) => {
                    if resolved.is_some() {
                        return Err(CockroachError::invalid(
                            format!("{at}.key_column"),
                            c.clone(),
                            "key_column needs the unordered option, which CockroachDB refuses together with resolved timestamps",
                            "drop key_column (messages are then keyed by primary key), or set resolved: off",
                        ));
                    }
                    Some(Ident::new(&format!("{at}.key_column"), c.clone())?)
                }
                None => None,
            };
            feeds.push(CreateChangefeedStatement {
                tables,
                sink: KafkaSink {
                    bootstrap: self.bootstrap.clone(),
                    topic: feed.topic.clone(),
                    ca: ca.clone(),
                    auth: auth.clone(),
                },
                updated: self.updated,
                resolved,
                diff: self.diff,
                envelope: self.envelope,
                on_error: self.on_error,
                execution_locality: self.execution_locality.clone(),
                key_column,
            });
        }
        let mut notes = vec![
            format!(
                "{ENABLE_RANGEFEEDS} runs first: CockroachDB self-hosted refuses to start a changefeed until rangefeeds are on (a cluster setting: running it again changes nothing; it needs the admin role or MODIFYCLUSTERSETTING)"
            ),
            format!(
                "one changefeed per topic into kafka://{} over TLS; before creating one, SHOW CHANGEFEED JOBS is searched for a running or paused changefeed of the same tables, topic and broker, which is kept instead",
                self.bootstrap
            ),
            "create the topics with replication factor 3 before the changefeeds start (CockroachDB would otherwise rely on the broker's auto-creation defaults)".to_owned(),
        ];
        if self.on_error == OnError::Pause {
            notes.push("on_error = 'pause': a failing changefeed pauses instead of ending, so RESUME JOB continues it without a gap in the audit stream (mind gc.ttlseconds while it is paused)".to_owned());
        }
        if let Some(locality) = &self.execution_locality {
            notes.push(format!(
                "execution_locality = '{locality}': only the nodes of that locality run the changefeeds and connect to {}; while none of them is up the changefeeds cannot run",
                self.bootstrap
            ));
        }
        Ok(ChangefeedPlan {
            feeds,
            notes,
            executable,
        })
    }
}

fn check_bootstrap(bootstrap: &str) -> Result<(), CockroachError> {
    let ok = bootstrap.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    });
    if ok {
        Ok(())
    } else {
        Err(CockroachError::invalid(
            "changefeeds.bootstrap",
            bootstrap.escape_debug().to_string(),
            "the bootstrap address is HOST:PORT of Redpanda's Kafka API, without scheme",
            "e.g. redpanda.ledger.svc.cluster.local:9093",
        ))
    }
}

/// `key=value[,key=value…]`, as the nodes' `--locality` tiers are written.
fn check_locality(locality: &str) -> Result<(), CockroachError> {
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    let ok = locality.split(',').all(|tier| {
        tier.split_once('=')
            .is_some_and(|(k, v)| word(k) && word(v))
    });
    if ok {
        Ok(())
    } else {
        Err(CockroachError::invalid(
            "changefeeds.execution_locality",
            locality.escape_debug().to_string(),
            "an execution locality is key=value tiers separated by commas, as the nodes' --locality names them",
            "e.g. cloud=aws,region=us-east-1",
        ))
    }
}

fn check_topic(field: &str, topic: &str) -> Result<(), CockroachError> {
    // Kafka's rule: 1-249 of [a-zA-Z0-9._-], not "." or "..".
    let ok = (1..=249).contains(&topic.len())
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CockroachError::invalid(
            field,
            topic.escape_debug().to_string(),
            "a Kafka topic is 1-249 letters, digits, '.', '_' and '-'",
            "e.g. ledger.balances.audit",
        ))
    }
}

/// `10s`, `500ms`, `1m` (or `off`): the `resolved` interval.
fn parse_resolved(text: &str) -> Result<Option<Duration>, CockroachError> {
    if text == "off" {
        return Ok(None);
    }
    let bad = || {
        CockroachError::invalid(
            "changefeeds.resolved",
            text.escape_debug().to_string(),
            "resolved is a duration of whole milliseconds, seconds or minutes (10s, 500ms, 1m), or off",
            "e.g. resolved: 10s",
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(Some(d))
}

/// A Go duration string of a typed interval (`10s`, `500ms`).
fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// CockroachDB takes certificates and keys base64-encoded in the sink URI; a Secret holds PEM.
/// A value that is already base64 of PEM (no `-----BEGIN`) is kept as it is.
fn pem_base64(value: &str) -> String {
    if value.contains("-----BEGIN") {
        base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
    } else {
        value.trim().to_owned()
    }
}

/// `database.schema.table`, written `"database"."schema"."table"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullTableName {
    database: Ident,
    schema: Ident,
    table: Ident,
}

impl FullTableName {
    /// Reads `database.schema.table` (three non-empty names).
    pub fn parse(field: &str, text: &str) -> Result<Self, CockroachError> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 {
            return Err(CockroachError::invalid(
                field,
                text.escape_debug().to_string(),
                "a changefeed table is database.schema.table (SHOW CHANGEFEED JOBS lists full names, so existing changefeeds are found by them)",
                "e.g. ledger.public.balances",
            ));
        }
        Ok(FullTableName {
            database: Ident::new(field, parts[0])?,
            schema: Ident::new(field, parts[1])?,
            table: Ident::new(field, parts[2])?,
        })
    }

    fn write(&self, w: &mut SqlWriter) {
        w.ident(&self.database)
            .push(".")
            .ident(&self.schema)
            .push(".")
            .ident(&self.table);
    }
}

impl fmt::Display for FullTableName {
    /// `database.schema.table`, as `SHOW CHANGEFEED JOBS` lists it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.database.as_str(),
            self.schema.as_str(),
            self.table.as_str()
        )
    }
}

#[derive(Clone, Debug)]
enum SinkAuth {
    Scram {
        mechanism: &'static str,
        user: String,
        password: Secret,
    },
    Mtls {
        cert: String,
        key: Secret,
    },
}

/// A Kafka sink URI: `kafka://HOST:PORT?topic_name=…&tls_enabled=true[&ca_cert=…]` plus
/// SASL/SCRAM or client-certificate parameters. `Debug` and the display redact the password
/// and the client key.
#[derive(Clone)]
pub struct KafkaSink {
    bootstrap: String,
    topic: String,
    ca: Option<String>,
    auth: SinkAuth,
}

impl KafkaSink {
    fn render(&self, redact: bool) -> String {
        let enc = |v: &str| super::uri::encode_component(v);
        let secret = |s: &Secret| {
            if redact {
                REDACTED.to_owned()
            } else {
                enc(s.expose())
            }
        };
        let mut out = format!(
            "kafka://{}?topic_name={}&tls_enabled=true",
            self.bootstrap,
            enc(&self.topic)
        );
        if let Some(ca) = &self.ca {
            out.push_str("&ca_cert=");
            out.push_str(&enc(ca));
        }
        match &self.auth {
            SinkAuth::Scram {
                mechanism,
                user,
                password,
            } => {
                out.push_str("&sasl_enabled=true&sasl_mechanism=");
                out.push_str(mechanism);
                out.push_str("&sasl_user=");
                out.push_str(&enc(user));
                out.push_str("&sasl_password=");
                out.push_str(&secret(password));
            }
            SinkAuth::Mtls { cert, key } => {
                out.push_str("&client_cert=");
                out.push_str(&enc(cert));
                out.push_str("&client_key=");
                out.push_str(&secret(key));
            }
        }
        out
    }

    /// The URI with the password or client key shown as `redacted`.
    pub fn redacted(&self) -> String {
        self.render(true)
    }

    /// The bootstrap address.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn to_param(&self) -> Param {
        let secrets = match &self.auth {
            SinkAuth::Scram { password, .. } => password.clone(),
            SinkAuth::Mtls { key, .. } => key.clone(),
        };
        Param::sensitive(self.render(false), self.redacted(), vec![secrets])
    }
}

impl fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KafkaSink({})", self.redacted())
    }
}

/// `CREATE CHANGEFEED FOR TABLE … INTO $1 WITH …` for one topic.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreateChangefeedStatement {
    /// The watched tables.
    pub tables: Vec<FullTableName>,
    /// Where messages go.
    pub sink: KafkaSink,
    /// `updated`.
    pub updated: bool,
    /// `resolved = '…'` (none: no resolved messages).
    pub resolved: Option<Duration>,
    /// `diff`.
    pub diff: bool,
    /// `envelope = '…'`.
    pub envelope: Envelope,
    /// `on_error = '…'`.
    pub on_error: OnError,
    /// `execution_locality = '…'`.
    pub execution_locality: Option<String>,
    /// `key_column = $n, unordered`.
    pub key_column: Option<Ident>,
}

impl CreateChangefeedStatement {
    /// The tables as `SHOW CHANGEFEED JOBS` lists them (`database.schema.table`).
    pub fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(ToString::to_string).collect()
    }

    /// Whether `job` is a live changefeed of the same tables into the same topic on the same
    /// broker (so creating this one would duplicate it).
    pub fn matches(&self, job: &ChangefeedJob) -> bool {
        let mut mine = self.table_names();
        mine.sort();
        let mut theirs = job.tables.clone();
        theirs.sort();
        job.is_live()
            && mine == theirs
            && job.topics.iter().any(|t| t == self.sink.topic())
            && sink_host(&job.sink_uri) == Some(self.sink.bootstrap())
    }
}

/// `HOST:PORT` of a `kafka://HOST:PORT?…` URI.
fn sink_host(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("kafka://")?;
    Some(rest.split(['?', '/']).next().unwrap_or(rest))
}

impl Statement for CreateChangefeedStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("CREATE CHANGEFEED FOR TABLE ");
        for (i, t) in self.tables.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            t.write(&mut w);
        }
        w.push(" INTO ").param(self.sink.to_param());
        w.push(" WITH ");
        let mut first = true;
        let mut sep = |w: &mut SqlWriter| {
            if !first {
                w.push(", ");
            }
            first = false;
        };
        if self.updated {
            sep(&mut w);
            w.push("updated");
        }
        if let Some(d) = self.resolved {
            sep(&mut w);
            w.push("resolved = ").literal(&go_duration(d));
            // Resolved messages cannot come more often than checkpoints (30 s by default).
            if d < Duration::from_secs(30) {
                w.push(", min_checkpoint_frequency = ")
                    .literal(&go_duration(d));
            }
        }
        if self.diff {
            sep(&mut w);
            w.push("diff");
        }
        sep(&mut w);
        w.push("envelope = ").push(self.envelope.literal());
        w.push(", format = 'json'");
        w.push(", on_error = ").push(match self.on_error {
            OnError::Pause => "'pause'",
            OnError::Fail => "'fail'",
        });
        if let Some(locality) = &self.execution_locality {
            w.push(", execution_locality = ").literal(locality);
        }
        if let Some(column) = &self.key_column {
            w.push(", key_column = ")
                .param(Param::text(column.as_str()))
                .push(", unordered");
        }
        w.finish("CREATE CHANGEFEED")
    }
}

impl fmt::Display for CreateChangefeedStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// What `SHOW CHANGEFEED JOBS` says about one changefeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChangefeedJob {
    /// The job id.
    pub job_id: i64,
    /// `running`, `paused`, `failed`, `canceled`, …
    pub status: String,
    /// The sink URI (CockroachDB redacts its secrets).
    pub sink_uri: String,
    /// Watched tables, `database.schema.table`.
    pub tables: Vec<String>,
    /// Topics it writes to.
    pub topics: Vec<String>,
}

impl ChangefeedJob {
    /// A job from the columns of [`SHOW_CHANGEFEED_JOBS`] (tables and topics comma-separated).
    pub fn new(job_id: i64, status: &str, sink_uri: &str, tables: &str, topics: &str) -> Self {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|t| t.trim().trim_matches(['{', '}', '"']).to_owned())
                .filter(|t| !t.is_empty())
                .collect()
        };
        ChangefeedJob {
            job_id,
            status: status.to_owned(),
            sink_uri: sink_uri.to_owned(),
            tables: list(tables),
            topics: list(topics),
        }
    }

    /// Running, paused or about to be: a job that still owns its target.
    pub fn is_live(&self) -> bool {
        matches!(
            self.status.as_str(),
            "running" | "paused" | "pending" | "pause-requested" | "reverting" | "retrying"
        )
    }
}

/// Turns rangefeeds on, which changefeeds need on CockroachDB self-hosted (CockroachDB's
/// "Enable rangefeeds"): the first statement of every [`ChangefeedPlan`], idempotent.
pub const ENABLE_RANGEFEEDS: &str = "SET CLUSTER SETTING kv.rangefeed.enabled = true";

/// The changefeed jobs with the columns [`ChangefeedJob::new`] reads.
pub const SHOW_CHANGEFEED_JOBS: &str = "SELECT job_id, status, COALESCE(sink_uri, '') AS sink_uri, COALESCE(array_to_string(full_table_names, ','), '') AS tables, COALESCE(topics, '') AS topics FROM [SHOW CHANGEFEED JOBS]";

/// A tenant's changefeed statements, computed before anything runs.
#[derive(Clone, Debug)]
pub struct ChangefeedPlan {
    feeds: Vec<CreateChangefeedStatement>,
    notes: Vec<String>,
    executable: bool,
}

impl ChangefeedPlan {
    /// [`ENABLE_RANGEFEEDS`]: run before any changefeed is created.
    pub fn enable_rangefeeds(&self) -> Rendered {
        Rendered::from_static(
            "SET CLUSTER SETTING kv.rangefeed.enabled",
            ENABLE_RANGEFEEDS,
            Vec::new(),
        )
    }

    /// One statement per topic.
    pub fn feeds(&self) -> &[CreateChangefeedStatement] {
        &self.feeds
    }

    /// What the operator must know.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether the Secret values were read ([`ChangefeedSpec::plan`]); a
    /// [`ChangefeedSpec::preview`] is for printing only.
    pub fn is_executable(&self) -> bool {
        self.executable
    }

    /// A redacted, serialisable view.
    pub fn summary(&self) -> ChangefeedSummary {
        ChangefeedSummary {
            setup: vec![ENABLE_RANGEFEEDS.to_owned()],
            feeds: self
                .feeds
                .iter()
                .map(|f| ChangefeedFeedSummary {
                    topic: f.sink.topic().to_owned(),
                    tables: f.table_names(),
                    statement: f.render().display().to_owned(),
                })
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

impl fmt::Display for ChangefeedPlan {
    /// The statements (redacted) and the notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "-- rangefeeds on (needed by every changefeed)")?;
        writeln!(f, "{ENABLE_RANGEFEEDS};")?;
        for feed in &self.feeds {
            writeln!(f, "-- topic {}", feed.sink.topic())?;
            writeln!(f, "{};", feed.render().display())?;
        }
        for note in &self.notes {
            writeln!(f, "-- note: {note}")?;
        }
        Ok(())
    }
}

/// The plan as data (redacted).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ChangefeedSummary {
    /// What runs before the changefeeds ([`ENABLE_RANGEFEEDS`]).
    pub setup: Vec<String>,
    /// One entry per changefeed.
    pub feeds: Vec<ChangefeedFeedSummary>,
    /// Notes.
    pub notes: Vec<String>,
}

/// One changefeed of a [`ChangefeedSummary`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ChangefeedFeedSummary {
    /// The topic.
    pub topic: String,
    /// The tables.
    pub tables: Vec<String>,
    /// The statement, redacted.
    pub statement: String,
}

/// What applying one feed did.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ChangefeedOutcome {
    /// The topic.
    pub topic: String,
    /// The changefeed's job id.
    pub job_id: i64,
    /// Whether it was created now (false: an existing one was found and kept).
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("10s", Some(Duration::from_secs(10)), "10s")]
    #[case("500ms", Some(Duration::from_millis(500)), "500ms")]
    #[case("2m", Some(Duration::from_secs(120)), "120s")]
    fn resolved_intervals(#[case] text: &str, #[case] d: Option<Duration>, #[case] go: &str) {
        assert_eq!(parse_resolved(text).unwrap(), d);
        assert_eq!(go_duration(d.unwrap()), go);
    }

    #[rstest]
    #[case("0s")]
    #[case("10")]
    #[case("1h")]
    #[case("10s'; --")]
    fn bad_resolved_intervals(#[case] text: &str) {
        let e = parse_resolved(text).unwrap_err().to_string();
        assert!(e.starts_with("changefeeds.resolved:"), "{e}");
    }

    #[test]
    fn secret_variables_default_to_the_key_upper_cased() {
        assert_eq!(SecretKeyRef::new("s", "ca.crt").variable(), "CA_CRT");
        let mut r = SecretKeyRef::new("s", "password");
        r.env = Some("REDPANDA_PASSWORD".into());
        assert_eq!(r.variable(), "REDPANDA_PASSWORD");
    }

    #[test]
    fn pem_is_base64_encoded_once() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let b = pem_base64(pem);
        assert!(!b.contains("BEGIN"));
        assert_eq!(pem_base64(&b), b);
    }

    #[rstest]
    #[case("cloud=aws,region=us-east-1", true)]
    #[case("region=dc-frankfurt", true)]
    #[case("region", false)]
    #[case("region=us-east-1'", false)]
    #[case("cloud=aws,,region=x", false)]
    fn execution_localities(#[case] locality: &str, #[case] ok: bool) {
        assert_eq!(check_locality(locality).is_ok(), ok, "{locality}");
    }

    #[rstest]
    #[case("kafka://redpanda:9093?topic_name=x", Some("redpanda:9093"))]
    #[case("kafka://redpanda:9093", Some("redpanda:9093"))]
    #[case("webhook-https://x", None)]
    fn sink_hosts(#[case] uri: &str, #[case] host: Option<&str>) {
        assert_eq!(sink_host(uri), host);
    }
}
