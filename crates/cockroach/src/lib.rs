//! CockroachDB native backups: statements built from the provider model, run over pgwire.
//!
//! CockroachDB backs itself up from every node straight to object storage. This crate turns a
//! tenant (provider, bucket, identity binding) into the statements that do it, shows them
//! redacted before anything runs, and runs them with job tracking:
//!
//! - [`CockroachBackupPlan::for_tenant`] computes the statements: a full backup
//!   (`BACKUP … INTO … AS OF SYSTEM TIME '-10s' WITH revision_history`), an incremental one
//!   (`INTO LATEST IN`), the schedule (`CREATE SCHEDULE IF NOT EXISTS … RECURRING … FULL BACKUP
//!   …`), the listing (`SHOW BACKUPS IN`), the verification (`SHOW BACKUP … WITH check_files`),
//!   and restores (`RESTORE … AS OF SYSTEM TIME`, point in time) via
//!   [`CockroachBackupPlan::restore`].
//! - Destinations come from the identity binding ([`StorageUri`]): `AUTH=implicit` for IRSA,
//!   Azure managed/workload identity and GKE Workload Identity; endpoint, path style and keys
//!   for MinIO; several URIs with `COCKROACH_LOCALITY` for locality-aware backups
//!   ([`Destination`]). Encryption with `kms` or `encryption_passphrase` ([`Encryption`]).
//! - [`CockroachClient`] connects from a URL ([`ConnectionUrl`], TLS per `sslmode`), starts
//!   jobs `WITH detached`, polls `SHOW JOB` with a timeout, and returns typed errors carrying
//!   the job id and the job's error text.
//!
//! - [`RegionSurvivalPlan::for_tenant`] makes a region-survival tenant's databases survive the
//!   loss of a region with CockroachDB's multi-region SQL (`SET PRIMARY REGION`,
//!   `ADD REGION IF NOT EXISTS`, `SURVIVE REGION FAILURE`) instead of hand-set replication
//!   zones; [`CockroachClient::apply_region_survival`] checks `SHOW REGIONS FROM CLUSTER` first.
//! - [`ChangefeedSpec`] declares changefeeds into Redpanda (tables → topics, TLS, SASL/SCRAM
//!   or mTLS from Secret references, `updated`, `resolved`, `diff`, the envelope);
//!   [`ChangefeedSpec::plan`] renders `CREATE CHANGEFEED FOR TABLE … INTO 'kafka://…'` after
//!   [`ENABLE_RANGEFEEDS`] (`SET CLUSTER SETTING kv.rangefeed.enabled = true`, which
//!   self-hosted clusters need first) and [`CockroachClient::apply_changefeeds`] runs that
//!   setting, then creates each changefeed unless `SHOW CHANGEFEED JOBS` lists it already.
//!
//! **How values reach SQL.** No input is spliced into statement text. URIs, KMS URIs, the
//! passphrase, schedule labels, cron expressions and option values are bind parameters
//! (`$1`, `$2`, …; CockroachDB accepts placeholders there over pgwire, and they are sent typed
//! as `TEXT`). Database and table names are always double-quoted identifiers (so they are
//! case-sensitive). `AS OF SYSTEM TIME` and schedule options are escaped literals generated from
//! typed values. See [`Statement`], [`Rendered`] and [`quote_literal`].
//!
//! **Secrets.** MinIO secret keys, session tokens, the passphrase and the connection password
//! are held as [`Secret`]s, the one secret type of every thinledger crate (re-exported from
//! `thinledger-store`). Every display — `Display`/`Debug` of URIs, statements and plans, the
//! dry-run text, tracing logs — shows them as [`REDACTED`] (`redacted`, e.g.
//! `AWS_SECRET_ACCESS_KEY=redacted`, `encryption_passphrase = 'redacted'`,
//! `postgresql://root:redacted@…`), and every message coming back from the server is scrubbed
//! of them (`thinledger_store::scrub`) before it reaches an error.
//!
//! **Inputs as text.** What a command line or a config file gives parses with `FromStr` into
//! the library's types, with typed errors naming the field, the value, the rule and the fix:
//! [`KmsUri`] (the inverse of its `Display`), [`AsOf`], [`Subdir`], [`Crontab`], [`FullBackup`],
//! [`FirstRun`], [`RegionalBucket`], [`ConnectionUrl`]. A [`CockroachBackupSpec`] holds what a
//! user declares (tenant file, selections, KMS URIs, passphrase file); [`CockroachBackupSpec::plan`]
//! reads the files and the MinIO keys and computes the plan, and [`CockroachError::input`] names
//! the input at fault (in the words of `ledger-backup cockroach`'s flags).
//! [`CockroachBackupPlan::dry_run`] is what `--dry-run` prints; [`WaitOptions::new`] refuses
//! waits of zero.
//!
//! ```
//! use thinledger_cockroach::{CockroachBackupSpec, RegionalBucket};
//!
//! let bucket: RegionalBucket = "us-west-2=acme-ledger-backups-usw2".parse()?;
//! let mut spec = CockroachBackupSpec::new("/nonexistent/tenant.yaml");
//! spec.regional_buckets.push(bucket);
//! let err = spec.plan(|var| std::env::var(var).ok()).unwrap_err();
//! assert_eq!(err.input(), Some("tenant"));
//! assert!(err.to_string().contains("cannot read the tenant file"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```
//! use thinledger_cockroach::{CockroachBackupOptions, CockroachBackupPlan, Statement};
//! use thinledger_topology::Tenant;
//!
//! let tenant = Tenant::from_yaml(r#"
//! tenant: acme-bank
//! environment: prod
//! ring: ring-2-prod
//! tier: prod
//! provider: aws
//! regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]
//! cockroachdb: {version: v25.2.4, nodes: 3}
//! redpanda: {version: v25.1.9}
//! backup:
//!   bucket: acme-ledger-backups
//!   identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-ledger-backup"}
//! "#)?;
//! let plan = CockroachBackupPlan::for_tenant(&tenant, &CockroachBackupOptions::default())?;
//! let full = plan.full_backup().render();
//! assert_eq!(
//!     full.sql(),
//!     "BACKUP INTO $1 AS OF SYSTEM TIME '-10s' WITH revision_history, detached"
//! );
//! assert_eq!(
//!     full.display(),
//!     "BACKUP INTO 's3://acme-ledger-backups/cockroach/acme-bank-prod?AUTH=implicit' \
//!      AS OF SYSTEM TIME '-10s' WITH revision_history, detached"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A KMS URI reads back what it prints, and never echoes a parameter's value in an error:
//!
//! ```
//! use thinledger_cockroach::KmsUri;
//!
//! let kms: KmsUri = "aws:///alias/ledger-backup?REGION=us-east-1".parse()?;
//! assert_eq!(kms.to_string(), "aws:///alias/ledger-backup?AUTH=implicit&REGION=us-east-1");
//! // `aws-kms:///…` names the same key.
//! assert_eq!("aws-kms:///alias/ledger-backup?REGION=us-east-1".parse::<KmsUri>()?, kms);
//! assert_eq!(kms.to_string().parse::<KmsUri>()?, kms);
//! let err = "aws:///k?REGION=r&AWS_SECRET_ACCESS_KEY=abc".parse::<KmsUri>().unwrap_err();
//! assert!(err.to_string().starts_with("options.kms: \"AWS_SECRET_ACCESS_KEY\" is invalid"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Region survival and an audit changefeed, computed without a cluster:
//!
//! ```
//! use thinledger_cockroach::{ChangefeedSpec, RegionSurvivalOptions, RegionSurvivalPlan, Statement};
//! use thinledger_topology::Tenant;
//!
//! let tenant = Tenant::from_yaml(r#"
//! tenant: acme-bank
//! environment: prod
//! ring: ring-2-prod
//! tier: prod
//! provider: aws
//! survival: region
//! regions:
//!   - {name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], cluster_domain: use1.ledger.internal}
//!   - {name: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], cluster_domain: usw2.ledger.internal}
//!   - {name: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cluster_domain: euw1.ledger.internal}
//! cockroachdb: {version: v25.2.4, nodes: 9}
//! redpanda: {version: v25.1.9}
//! backup:
//!   bucket: acme-ledger-backups
//!   identity: {kind: irsa, role_arn: "arn:aws:iam::123456789012:role/acme-ledger-backup"}
//! network: {peer_cidrs: [10.20.0.0/16, 10.30.0.0/16, 10.40.0.0/16]}
//! "#)?;
//! let plan = RegionSurvivalPlan::for_tenant(
//!     &tenant,
//!     &RegionSurvivalOptions::default().with_databases(["ledger"]),
//! )?;
//! assert!(plan.script().contains("ALTER DATABASE \"ledger\" SURVIVE REGION FAILURE;"));
//!
//! let spec = ChangefeedSpec::from_yaml(r#"
//! bootstrap: redpanda.ledger.svc.cluster.local:9093
//! ca: {secret: redpanda-tls, key: ca.crt}
//! auth:
//!   kind: scram-sha-512
//!   user: {secret: ledger-changefeed, key: username}
//!   password: {secret: ledger-changefeed, key: password}
//! feeds:
//!   - {topic: ledger.balances.audit, tables: [ledger.public.balances]}
//! "#)?;
//! let feeds = spec.preview()?; // no Secret read: for printing only
//! assert!(feeds.feeds()[0].render().sql().starts_with(
//!     "CREATE CHANGEFEED FOR TABLE \"ledger\".\"public\".\"balances\" INTO $1 WITH updated, resolved = '10s'"
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Running it (needs a cluster):
//!
//! ```no_run
//! # async fn run(plan: thinledger_cockroach::CockroachBackupPlan) -> Result<(), thinledger_cockroach::CockroachError> {
//! use thinledger_cockroach::{CockroachClient, ConnectionUrl, WaitOptions};
//!
//! let url = ConnectionUrl::parse("postgresql://root@cockroachdb-public:26257/defaultdb?sslmode=verify-full&sslrootcert=certs/ca.crt&sslcert=certs/client.root.crt&sslkey=certs/client.root.key")?;
//! let client = CockroachClient::connect(&url).await?;
//! let outcome = client
//!     .run_job(plan.full_backup(), &WaitOptions::default(), |s| {
//!         eprintln!("job {}: {} {:.0}%", s.job_id, s.status, s.fraction_completed * 100.0)
//!     })
//!     .await?;
//! let contents = client.show_backup(plan.verify()).await?; // WITH check_files
//! # let _ = (outcome, contents); Ok(()) }
//! ```

mod changefeed;
mod connect;
mod error;
mod exec;
mod plan;
mod regions;
mod spec;
mod sql;
mod statement;
mod uri;
mod version;

pub use changefeed::{
    ChangefeedFeedSummary, ChangefeedJob, ChangefeedOutcome, ChangefeedPlan, ChangefeedSpec,
    ChangefeedSummary, CreateChangefeedStatement, ENABLE_RANGEFEEDS, Envelope, FeedSpec,
    FullTableName, KafkaAuth, KafkaSink, OnError, SHOW_CHANGEFEED_JOBS, SecretKeyRef,
};
pub use connect::{ConnectionUrl, TlsMode};
pub use error::CockroachError;
pub use exec::{
    BackupContents, BackupObject, CockroachClient, JobOutcome, JobStatus, JobStatusQuery,
    ScheduleCreated, WaitOptions,
};
pub use plan::{
    CockroachBackupOptions, CockroachBackupPlan, DryRun, PlanSummary, RestoreRequest,
    ScheduleOptions,
};
pub use regions::{
    RegionName, RegionStatement, RegionSurvivalOptions, RegionSurvivalPlan, RegionSurvivalSummary,
    SHOW_CLUSTER_REGIONS,
};
pub use spec::{CockroachBackupSpec, RegionalBucket};
pub use sql::{Ident, Param, Rendered, quote_literal};
pub use statement::{
    AsOf, BackupMode, BackupStatement, CHECK_FILES_LABEL, CreateScheduleStatement, Crontab,
    Encryption, FirstRun, FullBackup, OnFailure, OnPreviousRunning, RestoreStatement,
    ShowBackupStatement, ShowBackupsStatement, Statement, Subdir, TablePattern, Target,
};
/// The one secret type, redaction token and "a value breaks a rule" error of every thinledger
/// crate (from `thinledger-store`).
pub use thinledger_store::{InvalidInput, REDACTED, Secret};
pub use uri::{Destination, KmsUri, MinioAuth, S3Credentials, S3Keys, StorageUri};
pub use version::CockroachVersion;
