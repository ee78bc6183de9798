//! The metrics the rules and dashboards query, by the component that exports them. Every
//! query is written with these constants, and the tests check that every metric a rendered
//! query names is in [`METRICS`], so a misspelt name cannot hide in a dashboard.

/// Who exports a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricSource {
    /// CockroachDB's `/_status/vars` (names without a prefix).
    Cockroach,
    /// Redpanda's `/public_metrics` (`redpanda_` prefix).
    Redpanda,
    /// The backup scheduler's `/metrics` (`ledger-backup schedule run`; prefix
    /// `thinledger_backup_job_`).
    BackupScheduler,
    /// postgres_exporter next to a PostgreSQL whose `archive_command` is
    /// `ledger-backup wal push` (`pg_stat_archiver_*`).
    PostgresExporter,
    /// Prometheus itself (`up`).
    Prometheus,
}

/// One metric a rule or dashboard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name as Prometheus stores it.
    pub name: &'static str,
    /// Who exports it.
    pub source: MetricSource,
    /// What it measures.
    pub meaning: &'static str,
}

macro_rules! metrics {
    ($($constant:ident = $name:literal, $source:ident, $meaning:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $meaning)]
            pub const $constant: &str = $name;
        )*
        /// Every metric the rules and dashboards query.
        pub const METRICS: &[Metric] = &[
            $(Metric { name: $name, source: MetricSource::$source, meaning: $meaning },)*
        ];
    };
}

metrics! {
    UP = "up", Prometheus, "1 when the last scrape of the target succeeded";

    RANGES_UNAVAILABLE = "ranges_unavailable", Cockroach, "ranges of the store without a live quorum";
    RANGES_UNDERREPLICATED = "ranges_underreplicated", Cockroach, "ranges of the store with fewer live replicas than their replication factor";
    LIVENESS_LIVENODES = "liveness_livenodes", Cockroach, "live nodes in the cluster, as this node sees them";
    CLOCK_OFFSET_MEANNANOS = "clock_offset_meannanos", Cockroach, "mean clock offset from the other nodes, in nanoseconds";
    CERT_EXPIRATION_NODE = "security_certificate_expiration_node", Cockroach, "expiry of the node certificate (Unix time; 0 without one)";
    CERT_EXPIRATION_CA = "security_certificate_expiration_ca", Cockroach, "expiry of the CA certificate (Unix time; 0 without one)";
    CAPACITY = "capacity", Cockroach, "total capacity of the store, in bytes";
    CAPACITY_AVAILABLE = "capacity_available", Cockroach, "available capacity of the store, in bytes";
    CHANGEFEED_MAX_BEHIND_NANOS = "changefeed_max_behind_nanos", Cockroach, "how far the furthest-behind changefeed is behind now, in nanoseconds";
    SQL_QUERY_COUNT = "sql_query_count", Cockroach, "SQL statements executed (counter)";
    SQL_SERVICE_LATENCY_BUCKET = "sql_service_latency_bucket", Cockroach, "SQL statement latency histogram buckets, in nanoseconds";

    RP_UNDER_REPLICATED = "redpanda_kafka_under_replicated_replicas", Redpanda, "partition replicas not caught up with their leader";
    RP_UNAVAILABLE_PARTITIONS = "redpanda_cluster_unavailable_partitions", Redpanda, "partitions without a leader (no quorum among their replicas)";
    RP_CONSUMER_LAG_MAX = "redpanda_kafka_consumer_group_lag_max", Redpanda, "largest lag, in records, over the partitions a consumer group reads";
    RP_CONSUMER_LAG_SUM = "redpanda_kafka_consumer_group_lag_sum", Redpanda, "total lag, in records, of a consumer group";
    RP_DISK_FREE_BYTES = "redpanda_storage_disk_free_bytes", Redpanda, "free space on the broker's data disk";
    RP_DISK_TOTAL_BYTES = "redpanda_storage_disk_total_bytes", Redpanda, "size of the broker's data disk";
    RP_DISK_FREE_SPACE_ALERT = "redpanda_storage_disk_free_space_alert", Redpanda, "0 while free space is fine, 1 when low, 2 when Redpanda refuses writes";
    RP_BROKERS = "redpanda_cluster_brokers", Redpanda, "brokers configured in the cluster";
    RP_REQUEST_BYTES_TOTAL = "redpanda_kafka_request_bytes_total", Redpanda, "bytes produced and consumed, by request type (counter)";

    BACKUP_RPO_SECONDS = "thinledger_backup_job_rpo_seconds", BackupScheduler, "seconds since the job's last successful backup";
    BACKUP_LAST_SUCCESS = "thinledger_backup_job_last_success_timestamp_seconds", BackupScheduler, "end of the job's last successful backup (Unix time)";
    BACKUP_LAST_DURATION = "thinledger_backup_job_last_duration_seconds", BackupScheduler, "duration of the last run's backup step";
    BACKUP_LAST_BYTES_ADDED = "thinledger_backup_job_last_bytes_added", BackupScheduler, "bytes the last successful backup added";
    BACKUP_RUNS_TOTAL = "thinledger_backup_job_runs_total", BackupScheduler, "runs started (counter)";
    BACKUP_FAILURES_TOTAL = "thinledger_backup_job_failures_total", BackupScheduler, "failed runs by step: backup, retention, drill (counter)";
    BACKUP_LAST_DRILL_SUCCESS = "thinledger_backup_job_last_drill_success", BackupScheduler, "1 if the last restore drill passed, 0 if it failed";
    BACKUP_LAST_DRILL_RESTORE = "thinledger_backup_job_last_drill_restore_seconds", BackupScheduler, "time the last drill's test restore took";

    WAL_LAST_ARCHIVE_AGE = "pg_stat_archiver_last_archive_age", PostgresExporter, "seconds since PostgreSQL last archived a WAL segment";
    WAL_FAILED_COUNT = "pg_stat_archiver_failed_count", PostgresExporter, "failed WAL archive attempts (counter)";
}

/// The [`Metric`] named `name`, if the rules or dashboards may use it.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}
