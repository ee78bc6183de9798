//! The alerts, one group per component, with the tenant's thresholds: the RPO target
//! (`backup.rpo`, or the tier's default) and the node count the cluster should have; the tier
//! sets how loud they are ([`Severity::in_tier`]). Each alert carries `severity`, a `summary`,
//! a `description` and a `runbook_url` pointing at its section in `docs/runbooks/alerts.md`.
//! Descriptions template only labels (`{{ $labels.job }}`), never values, so what an alert says
//! is predictable (and unit-testable with `promtool test rules`).

use std::collections::BTreeMap;

use super::metrics::*;
use super::types::{MONITORING_API_VERSION, PrometheusRule, PrometheusRuleSpec, Rule, RuleGroup};
use super::{RUNBOOK_URL, Severity, in_namespace, renders_backups, renders_cockroach, scrape_job};
use crate::render::common::{BACKUP_SA, CRDB_NAME, Context, RP_NAME, purpose};
use crate::render::kit::labels;

/// The PrometheusRule's name.
pub const RULE_NAME: &str = "ledger-alerts";

/// CockroachDB stops a node whose clock is more than 80% of `--max-offset` (500ms by default)
/// away from the others; warn at half the maximum.
const CLOCK_OFFSET_NANOS: u64 = 250_000_000;
/// Warn this long before a certificate expires (the certificates renew earlier:
/// `render::certs`).
pub(crate) const CERT_WARNING_SECONDS: u64 = 30 * 86_400;
/// Free-space fraction of a CockroachDB store below which to alert (CockroachDB rejects
/// writes near 5%; rebalancing needs headroom).
const DISK_FREE_FRACTION: &str = "0.15";
/// Free-space fraction of a Redpanda data disk below which to warn.
const RP_DISK_FREE_FRACTION: &str = "0.2";
/// Records a consumer group may lag behind before anyone is told.
const CONSUMER_LAG_RECORDS: u64 = 10_000;
/// How far a changefeed may fall behind (seconds).
const CHANGEFEED_BEHIND_SECONDS: u64 = 600;

/// One alert before the tier and runbook are applied.
struct Alert {
    name: &'static str,
    expr: String,
    for_: &'static str,
    severity: Severity,
    summary: String,
    description: String,
}

impl Alert {
    fn rule(self, ctx: &Context<'_>) -> Rule {
        let tier = ctx.tenant.spec().tier;
        Rule {
            alert: self.name.to_owned(),
            expr: self.expr,
            for_: (!self.for_.is_empty()).then(|| self.for_.to_owned()),
            labels: labels(&[
                ("severity", self.severity.in_tier(tier).as_str()),
                ("tenant", ctx.tenant.spec().tenant.as_str()),
                ("environment", ctx.tenant.spec().environment.as_str()),
            ]),
            annotations: [
                ("summary".to_owned(), self.summary),
                ("description".to_owned(), self.description),
                (
                    "runbook_url".to_owned(),
                    format!("{RUNBOOK_URL}#{}", self.name.to_ascii_lowercase()),
                ),
            ]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        }
    }
}

/// `90m`-style durations for descriptions.
fn human(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn cockroach(ctx: &Context<'_>) -> Vec<Alert> {
    let ns = in_namespace(ctx);
    let nodes = ctx.plan.cockroach.nodes;
    let job = scrape_job(ctx, CRDB_NAME);
    let mut out = vec![
        Alert {
            name: "CockroachRangesUnavailable",
            expr: format!("sum({RANGES_UNAVAILABLE}{{{ns}}}) > 0"),
            for_: "1m",
            severity: Severity::Critical,
            summary: "CockroachDB has ranges without a quorum".to_owned(),
            description: format!(
                "Some ranges of {} have lost a majority of their replicas: reads and writes to them fail.",
                ctx.namespace
            ),
        },
        Alert {
            name: "CockroachRangesUnderReplicated",
            expr: format!("sum({RANGES_UNDERREPLICATED}{{{ns}}}) > 0"),
            for_: "10m",
            severity: Severity::Critical,
            summary: "CockroachDB has under-replicated ranges".to_owned(),
            description: format!(
                "Ranges of {} have had fewer replicas than their replication factor for 10 minutes: one more failure may make them unavailable.",
                ctx.namespace
            ),
        },
        Alert {
            name: "CockroachNodeDown",
            expr: format!("{UP}{{job=\"{job}\"}} == 0"),
            for_: "5m",
            severity: Severity::Critical,
            summary: "A CockroachDB node does not answer scrapes".to_owned(),
            description: "Prometheus cannot scrape CockroachDB pod {{ $labels.pod }}.".to_owned(),
        },
        Alert {
            name: "CockroachLiveNodesLow",
            expr: format!("min({LIVENESS_LIVENODES}{{{ns}}}) < {nodes}"),
            for_: "5m",
            severity: Severity::Critical,
            summary: "CockroachDB counts fewer live nodes than it should have".to_owned(),
            description: format!(
                "The cluster of {} should have {nodes} live nodes; node liveness reports fewer.",
                ctx.namespace
            ),
        },
        Alert {
            name: "CockroachClockOffsetHigh",
            expr: format!("max by (pod) ({CLOCK_OFFSET_MEANNANOS}{{{ns}}}) > {CLOCK_OFFSET_NANOS}"),
            for_: "5m",
            severity: Severity::Warning,
            summary: "A CockroachDB node's clock is drifting".to_owned(),
            description: format!(
                "Pod {{{{ $labels.pod }}}} is more than {}ms away from the other nodes; at 400ms (80% of --max-offset) CockroachDB stops it.",
                CLOCK_OFFSET_NANOS / 1_000_000
            ),
        },
    ];
    for (name, which, metric) in [
        (
            "CockroachNodeCertificateExpiring",
            "node",
            CERT_EXPIRATION_NODE,
        ),
        ("CockroachCACertificateExpiring", "CA", CERT_EXPIRATION_CA),
    ] {
        out.push(Alert {
            name,
            expr: format!(
                "min by (pod) ({metric}{{{ns}}} > 0) - time() < {CERT_WARNING_SECONDS}"
            ),
            for_: "",
            severity: Severity::Warning,
            summary: format!("CockroachDB's {which} certificate expires within 30 days"),
            description: format!(
                "The {which} certificate pod {{{{ $labels.pod }}}} uses expires in less than 30 days; renew it before nodes refuse connections."
            ),
        });
    }
    out.push(Alert {
        name: "CockroachDiskLow",
        expr: format!(
            "min by (pod, store) ({CAPACITY_AVAILABLE}{{{ns}}} / {CAPACITY}{{{ns}}}) < {DISK_FREE_FRACTION}"
        ),
        for_: "15m",
        severity: Severity::Critical,
        summary: "A CockroachDB store is running out of disk".to_owned(),
        description: format!(
            "Store {{{{ $labels.store }}}} on pod {{{{ $labels.pod }}}} has less than {}% of its capacity free.",
            (DISK_FREE_FRACTION.parse::<f64>().unwrap_or(0.0) * 100.0).round()
        ),
    });
    out.push(Alert {
        name: "CockroachChangefeedBehind",
        expr: format!(
            "max({CHANGEFEED_MAX_BEHIND_NANOS}{{{ns}}}) / 1e9 > {CHANGEFEED_BEHIND_SECONDS}"
        ),
        for_: "10m",
        severity: Severity::Warning,
        summary: "A CockroachDB changefeed is falling behind".to_owned(),
        description: format!(
            "The slowest changefeed of {} is more than {} behind: the stream's consumers see old data.",
            ctx.namespace,
            human(CHANGEFEED_BEHIND_SECONDS)
        ),
    });
    out
}

fn redpanda(ctx: &Context<'_>) -> Vec<Alert> {
    let ns = in_namespace(ctx);
    let job = scrape_job(ctx, RP_NAME);
    vec![
        Alert {
            name: "RedpandaUnderReplicatedPartitions",
            expr: format!("sum({RP_UNDER_REPLICATED}{{{ns}}}) > 0"),
            for_: "10m",
            severity: Severity::Critical,
            summary: "Redpanda has under-replicated partitions".to_owned(),
            description: format!(
                "Partition replicas of {} have lagged their leaders for 10 minutes: one more broker failure may lose acknowledged records.",
                ctx.namespace
            ),
        },
        Alert {
            name: "RedpandaLeaderlessPartitions",
            expr: format!("max({RP_UNAVAILABLE_PARTITIONS}{{{ns}}}) > 0"),
            for_: "1m",
            severity: Severity::Critical,
            summary: "Redpanda has partitions without a leader".to_owned(),
            description: format!(
                "Partitions of {} have no leader: producing to and consuming from them fails.",
                ctx.namespace
            ),
        },
        Alert {
            name: "RedpandaBrokerDown",
            expr: format!("{UP}{{job=\"{job}\"}} == 0"),
            for_: "5m",
            severity: Severity::Critical,
            summary: "A Redpanda broker does not answer scrapes".to_owned(),
            description: "Prometheus cannot scrape Redpanda pod {{ $labels.pod }}.".to_owned(),
        },
        Alert {
            name: "RedpandaConsumerGroupLag",
            expr: format!(
                "max by (redpanda_group) ({RP_CONSUMER_LAG_MAX}{{{ns}}}) > {CONSUMER_LAG_RECORDS}"
            ),
            for_: "15m",
            severity: Severity::Warning,
            summary: "A consumer group is falling behind".to_owned(),
            description: format!(
                "Consumer group {{{{ $labels.redpanda_group }}}} has been more than {CONSUMER_LAG_RECORDS} records behind on a partition for 15 minutes."
            ),
        },
        Alert {
            name: "RedpandaDiskLow",
            expr: format!(
                "min by (pod) ({RP_DISK_FREE_BYTES}{{{ns}}} / {RP_DISK_TOTAL_BYTES}{{{ns}}}) < {RP_DISK_FREE_FRACTION}"
            ),
            for_: "15m",
            severity: Severity::Warning,
            summary: "A Redpanda data disk is filling up".to_owned(),
            description: format!(
                "Broker {{{{ $labels.pod }}}} has less than {}% of its data disk free.",
                (RP_DISK_FREE_FRACTION.parse::<f64>().unwrap_or(0.0) * 100.0).round()
            ),
        },
        Alert {
            name: "RedpandaDiskFull",
            expr: format!("max by (pod) ({RP_DISK_FREE_SPACE_ALERT}{{{ns}}}) > 1"),
            for_: "1m",
            severity: Severity::Critical,
            summary: "Redpanda refuses writes: a data disk is full".to_owned(),
            description:
                "Broker {{ $labels.pod }} reports degraded free space: it rejects produce requests."
                    .to_owned(),
        },
    ]
}

fn backups(ctx: &Context<'_>) -> Vec<Alert> {
    let ns = in_namespace(ctx);
    let rpo = ctx.tenant.rpo_seconds();
    let job = scrape_job(ctx, BACKUP_SA);
    vec![
        Alert {
            name: "BackupRpoExceeded",
            expr: format!("max by (job) ({BACKUP_RPO_SECONDS}{{{ns}}}) > {rpo}"),
            for_: "5m",
            severity: Severity::Critical,
            summary: "The newest backup is older than the tenant's RPO".to_owned(),
            description: format!(
                "Backup job {{{{ $labels.job }}}} has had no successful backup for longer than the RPO of {} ({}): a restore now would lose more than the target allows.",
                human(rpo),
                ctx.namespace
            ),
        },
        Alert {
            name: "BackupJobFailed",
            expr: format!(
                "sum by (job, stage) (increase({BACKUP_FAILURES_TOTAL}{{{ns},stage=~\"backup|retention\"}}[1h])) > 0"
            ),
            for_: "",
            severity: Severity::Warning,
            summary: "A backup run failed".to_owned(),
            description: "The {{ $labels.stage }} step of backup job {{ $labels.job }} failed in the last hour (after its retries).".to_owned(),
        },
        Alert {
            name: "RestoreDrillFailed",
            expr: format!("min by (job) ({BACKUP_LAST_DRILL_SUCCESS}{{{ns}}}) == 0"),
            for_: "",
            severity: Severity::Critical,
            summary: "The last restore drill failed".to_owned(),
            description: "The last restore drill of backup job {{ $labels.job }} failed: its backups may not restore.".to_owned(),
        },
        Alert {
            name: "BackupSchedulerDown",
            expr: format!("{UP}{{job=\"{job}\"}} == 0 or absent({BACKUP_RPO_SECONDS}{{{ns}}})"),
            for_: "15m",
            severity: Severity::Warning,
            summary: "Backups of this tenant are not monitored".to_owned(),
            description: format!(
                "No backup scheduler of {} has been scraped for 15 minutes: RPO and drill alerts cannot fire.",
                ctx.namespace
            ),
        },
        Alert {
            name: "WalArchivingBehind",
            expr: format!("max({WAL_LAST_ARCHIVE_AGE}{{{ns}}}) > {rpo}"),
            for_: "5m",
            severity: Severity::Critical,
            summary: "PostgreSQL WAL archiving is behind the RPO".to_owned(),
            description: format!(
                "PostgreSQL in {} last archived a WAL segment more than {} ago (the RPO): point-in-time recovery would lose more.",
                ctx.namespace,
                human(rpo)
            ),
        },
        Alert {
            name: "WalArchivingFailing",
            expr: format!("increase({WAL_FAILED_COUNT}{{{ns}}}[15m]) > 0"),
            for_: "",
            severity: Severity::Warning,
            summary: "PostgreSQL fails to archive WAL".to_owned(),
            description: format!(
                "archive_command (ledger-backup wal push) failed in {} during the last 15 minutes; PostgreSQL keeps the segments and retries.",
                ctx.namespace
            ),
        },
    ]
}

/// The region's PrometheusRule, or `None` when it renders nothing to alert on.
pub(crate) fn prometheus_rule(ctx: &Context<'_>) -> Option<PrometheusRule> {
    let mut groups = Vec::new();
    let mut group = |name: &str, alerts: Vec<Alert>| {
        groups.push(RuleGroup {
            name: format!("{}.{name}", ctx.namespace),
            rules: alerts.into_iter().map(|a| a.rule(ctx)).collect(),
        });
    };
    if renders_cockroach(ctx) {
        group("cockroachdb", cockroach(ctx));
    }
    if ctx.renders_redpanda() {
        group("redpanda", redpanda(ctx));
    }
    if renders_backups(ctx) {
        group("backups", backups(ctx));
    }
    if groups.is_empty() {
        return None;
    }
    let mut meta = ctx.meta(
        RULE_NAME,
        &labels(&[("app.kubernetes.io/component", "monitoring")]),
    );
    meta.annotations = Some(purpose(
        "alerts for the ledger's on-call; each links its runbook section (runbook_url)",
    ));
    Some(PrometheusRule {
        api_version: MONITORING_API_VERSION.to_owned(),
        kind: "PrometheusRule".to_owned(),
        metadata: meta,
        spec: PrometheusRuleSpec { groups },
    })
}
