//! `ledger-backup cockroach backup|schedule|list|verify|restore`: CockroachDB native backups
//! of a tenant, driven by `thinledger_backup::cockroach`; `survive-region` (multi-region SQL for
//! a region-survival tenant) and `changefeed plan|apply` (changefeeds into Redpanda).
//!
//! Every subcommand builds the tenant's plan (statements computed from the tenant file and the
//! flags), then either prints the statements it would run (`--dry-run`, no connection) or
//! prints one redacted plan line on stderr, connects (`--url` / `THINLEDGER_COCKROACH_URL`)
//! and runs them, following `BACKUP`/`RESTORE` jobs until they end.
//!
//! Decisions:
//! - Secrets never come from flag values: the passphrase is read from a file, MinIO keys from
//!   the environment (the variables named by the tenant's `secret-ref` binding), and the
//!   connection URL's password is shown as `redacted` everywhere (the env value is hidden in
//!   `--help` too).
//! - The dry run's table lists only what this subcommand runs; `--output json|yaml` prints the
//!   whole plan summary (all statements, with the restore or the chosen `verify` statement
//!   included) plus `runs`, the names of the statements this subcommand would run.
//! - On-prem dry runs need the MinIO keys in the environment too (or `--minio-credentials
//!   implicit`): the printed statements are then exactly the ones a real run sends.
//! - Exit 2 for what the library calls the caller's input (`CockroachError::is_input`), naming
//!   the flag it names (`CockroachError::input`); exit 1 for everything the cluster reports
//!   (connection, statement, job, verification).
//! - The flags fill a `CockroachBackupSpec`; the library reads the tenant file, the passphrase
//!   file and the MinIO keys and computes the plan.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use thinledger_backup::cockroach::{
    AsOf, BackupContents, ChangefeedSpec, CockroachBackupPlan, CockroachBackupSpec,
    CockroachClient, CockroachError, ConnectionUrl, Crontab, DryRun, FirstRun, FullBackup,
    JobOutcome, JobStatus, MinioAuth, OnFailure, OnPreviousRunning, RegionSurvivalOptions,
    RegionSurvivalPlan, RegionalBucket, RestoreRequest, ScheduleCreated, ScheduleOptions,
    Statement, Subdir, WaitOptions,
};
use thinledger_backup::schedule::DurationText;
use thinledger_cli::EXIT_OK;
use thinledger_topology::Tenant;

use crate::context::{Globals, bad};
use crate::output::{Ticker, human_bytes, print_data};

const EXAMPLES: &str = "\
Examples:
  ledger-backup cockroach backup --tenant examples/tenants/aws.yaml --dry-run
  export THINLEDGER_COCKROACH_URL='postgresql://root@crdb-public:26257/defaultdb?sslmode=verify-full&sslrootcert=ca.crt'
  ledger-backup cockroach backup --tenant aws.yaml --incremental
  ledger-backup cockroach schedule --tenant aws.yaml --recurring '0 * * * *' --full-backup @daily
  ledger-backup cockroach list --tenant aws.yaml --output json
  ledger-backup cockroach verify --tenant aws.yaml --subdir 2025/06/01-120000.00
  ledger-backup cockroach restore --tenant aws.yaml --database ledger --new-db-name ledger_drill \\
      --as-of 2025-06-01T12:00:00Z --dry-run

On-prem (MinIO) tenants read the keys from the variables named in the tenant's secret-ref
binding (default AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Secrets are printed as `redacted`.
Exit status: 0 success, 1 the cluster refused, a job failed or timed out, or verification failed,
2 bad input (tenant file, flags, connection URL, missing keys).";

/// CockroachDB native backups of a tenant (BACKUP, CREATE SCHEDULE, SHOW BACKUPS, RESTORE).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CockroachCommand {
    // Boxed: the flags make this the largest of ledger-backup's commands by far.
    #[command(subcommand)]
    action: Box<Action>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Take a full backup (or --incremental on the latest full one) and wait for its job.
    #[command(after_help = EXAMPLES)]
    Backup(BackupArgs),
    /// Create the tenant's backup schedule in the cluster (no-op if the label exists).
    #[command(after_help = EXAMPLES)]
    Schedule(ScheduleArgs),
    /// List the backups in the tenant's collection (SHOW BACKUPS IN).
    #[command(after_help = EXAMPLES)]
    List(ListArgs),
    /// Check that every file of a backup is present and readable (SHOW BACKUP … WITH check_files).
    #[command(after_help = EXAMPLES)]
    Verify(VerifyArgs),
    /// Restore the cluster, databases or tables, optionally to a point in time, and wait for it.
    #[command(after_help = EXAMPLES)]
    Restore(RestoreArgs),
    /// Make databases survive a region failure (SET PRIMARY REGION, ADD REGION, SURVIVE
    /// REGION FAILURE) for a tenant with `survival: region`, or with sites and `survival:
    /// provider` (one region per site, the first site's the primary one).
    #[command(after_help = REGION_EXAMPLES)]
    SurviveRegion(SurviveRegionArgs),
    /// Changefeeds into Redpanda (CREATE CHANGEFEED … INTO 'kafka://…').
    #[command(subcommand, after_help = CHANGEFEED_EXAMPLES)]
    Changefeed(ChangefeedAction),
}

const REGION_EXAMPLES: &str = "\
Examples:
  ledger-backup cockroach survive-region --tenant multi-region.yaml --database ledger --dry-run
  ledger-backup cockroach survive-region --tenant multi-region.yaml --database ledger --primary-region us-east-1
  ledger-backup cockroach survive-region --tenant examples/tenants/multi-cloud.yaml --dry-run

Every statement is idempotent; SHOW REGIONS FROM CLUSTER is checked before any runs. A tenant with
sites gets the statements its first site's init Job runs: one region per site, as the nodes'
--locality names it.";

const CHANGEFEED_EXAMPLES: &str = "\
Examples:
  ledger-backup cockroach changefeed plan --spec changefeeds.yaml
  ledger-backup cockroach changefeed apply --spec changefeeds.yaml

The Secret values (CA, SASL user and password, or client certificate and key) are read from the
variables the spec's references name (default: the key upper-cased, e.g. ca.crt -> CA_CRT);
`plan` reads none of them. `apply` keeps a live changefeed of the same tables, topic and broker.";

#[derive(Debug, Args)]
struct SurviveRegionArgs {
    /// The tenant file (survival: region with three or more regions; or sites and survival
    /// region or provider).
    #[arg(long, value_name = "TENANT.yaml")]
    tenant: PathBuf,
    /// A database to make multi-region (repeatable) [default: the tenant's
    /// cockroachdb.databases].
    #[arg(long = "database", value_name = "NAME")]
    databases: Vec<String>,
    /// The home region [default: the tenant's first region; with sites, the first site's].
    #[arg(long, value_name = "REGION")]
    primary_region: Option<String>,
    /// Do not create missing databases.
    #[arg(long)]
    no_create: bool,
    /// Print the statements and exit without connecting.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cluster: ClusterUrl,
}

#[derive(Debug, Subcommand)]
enum ChangefeedAction {
    /// Print the CREATE CHANGEFEED statements (no Secret is read, nothing runs).
    #[command(after_help = CHANGEFEED_EXAMPLES)]
    Plan(ChangefeedArgs),
    /// Create each changefeed unless a live one of the same tables, topic and broker exists.
    #[command(after_help = CHANGEFEED_EXAMPLES)]
    Apply(ChangefeedApplyArgs),
}

#[derive(Debug, Args)]
struct ChangefeedArgs {
    /// The changefeed spec (YAML: bootstrap, ca, auth, feeds, …).
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
}

#[derive(Debug, Args)]
struct ChangefeedApplyArgs {
    #[command(flatten)]
    spec: ChangefeedArgs,
    #[command(flatten)]
    cluster: ClusterUrl,
}

/// The cluster connection, for every subcommand that connects.
#[derive(Debug, Args)]
struct ClusterUrl {
    /// Cluster connection URL (postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=…, password optional); the
    /// password is never printed. Not needed with --dry-run.
    #[arg(
        long,
        env = "THINLEDGER_COCKROACH_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    url: Option<String>,
}

/// Flags every `cockroach` subcommand takes.
#[derive(Debug, Args)]
struct Common {
    /// The tenant file (provider, bucket, identity), as ledger-topology reads it.
    #[arg(long, value_name = "TENANT.yaml")]
    tenant: PathBuf,
    /// Print the statements (secrets redacted) and exit without connecting.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cluster: ClusterUrl,
    /// Collection path inside the bucket [default: cockroach/TENANT-ENVIRONMENT].
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// Back up / restore this database instead of the whole cluster (repeatable).
    #[arg(long = "database", value_name = "NAME", conflicts_with = "tables")]
    databases: Vec<String>,
    /// Back up / restore these tables: db.schema.table, db.table or db.* (repeatable).
    #[arg(long = "table", value_name = "PATTERN")]
    tables: Vec<String>,
    /// AWS_REGION of the bucket (AWS; on-prem MinIO defaults to us-east-1).
    #[arg(long, value_name = "REGION")]
    aws_region: Option<String>,
    /// Role ARN (AWS) or service account (GCP) the nodes assume on top of their identity.
    #[arg(long, value_name = "ROLE")]
    assume_role: Option<String>,
    /// Locality-aware backups: the bucket for one region's nodes (repeatable).
    #[arg(long = "regional-bucket", value_name = "REGION=BUCKET")]
    regional_buckets: Vec<RegionalBucket>,
    /// Encrypt with this KMS key (repeatable; any one can decrypt), used with the nodes'
    /// identity: aws:///KEY?REGION=R (or aws-kms:///…), gs:///projects/P/locations/L/keyRings/K/cryptoKeys/C,
    /// azure-kms:///KEY/VERSION?AZURE_VAULT_NAME=V.
    #[arg(long = "kms", value_name = "URI")]
    kms: Vec<String>,
    /// Encrypt with the passphrase in this file (trailing newline ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "kms")]
    encryption_passphrase_file: Option<PathBuf>,
    /// On-prem MinIO: `keys` puts the keys from the environment into the URIs; `implicit`
    /// leaves them to the CockroachDB pods' own environment [default: keys].
    #[arg(long, value_enum, value_name = "HOW")]
    minio_credentials: Option<MinioCredentials>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MinioCredentials {
    Keys,
    Implicit,
}

impl From<MinioCredentials> for MinioAuth {
    fn from(m: MinioCredentials) -> Self {
        match m {
            MinioCredentials::Keys => MinioAuth::Keys,
            MinioCredentials::Implicit => MinioAuth::Implicit,
        }
    }
}

/// How long to follow a job.
#[derive(Debug, Args)]
struct Wait {
    /// Stop waiting after this long (the job keeps running in the cluster): 90s, 30m, 6h.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    timeout: Duration,
    /// Time between job status polls.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    poll_interval: Duration,
}

impl Wait {
    fn options(&self) -> anyhow::Result<WaitOptions> {
        WaitOptions::new(self.timeout, self.poll_interval).map_err(classify)
    }
}

#[derive(Debug, Args)]
struct BackupArgs {
    #[command(flatten)]
    common: Common,
    /// An incremental backup on the latest full one (BACKUP … INTO LATEST IN).
    #[arg(long)]
    incremental: bool,
    #[command(flatten)]
    wait: Wait,
}

#[derive(Debug, Args)]
struct ScheduleArgs {
    #[command(flatten)]
    common: Common,
    /// The schedule's label [default: ledger-TENANT-ENVIRONMENT].
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// How often a backup runs (UTC crontab or @hourly, @daily, …).
    #[arg(long, value_name = "CRON", default_value = "@hourly")]
    recurring: Crontab,
    /// When full backups run (crontab or macro), or `always` for full backups only.
    #[arg(long, value_name = "CRON|always", default_value = "@daily")]
    full_backup: FullBackup,
    /// First run: now, next (the schedule's next time) or an RFC 3339 time.
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "now",
        allow_hyphen_values = true
    )]
    first_run: FirstRun,
    /// What a failed run does to the schedule.
    #[arg(long, value_enum, default_value_t = FailurePolicy::Reschedule)]
    on_failure: FailurePolicy,
    /// What a run does when the previous one is still going.
    #[arg(long, value_enum, default_value_t = OverlapPolicy::Skip)]
    on_previous_running: OverlapPolicy,
    /// Create the schedule even if the collection already holds backups (the default: the
    /// collection is shared with `cockroach backup` and the scheduler's jobs).
    #[arg(long)]
    ignore_existing_backups: bool,
    /// Let CockroachDB refuse the schedule when the collection already holds backups.
    #[arg(long, conflicts_with = "ignore_existing_backups")]
    refuse_existing_backups: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailurePolicy {
    Retry,
    Reschedule,
    Pause,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OverlapPolicy {
    Start,
    Skip,
    Wait,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// The backup to check, as `list` shows it [default: LATEST].
    #[arg(long, value_name = "PATH")]
    subdir: Option<Subdir>,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    #[command(flatten)]
    common: Common,
    /// The backup chain to restore from, as `list` shows it [default: LATEST].
    #[arg(long, value_name = "PATH")]
    subdir: Option<Subdir>,
    /// Restore to this point in time (RFC 3339, e.g. 2025-06-01T12:00:00Z, or -10m); needs
    /// revision-history backups covering it [default: the end of the chain].
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    as_of: Option<AsOf>,
    /// Restore the one --database under this name (e.g. for a restore drill).
    #[arg(long, value_name = "NAME", requires = "databases")]
    new_db_name: Option<String>,
    /// Restore the --table(s) into this existing database.
    #[arg(long, value_name = "NAME", requires = "tables")]
    into_db: Option<String>,
    #[command(flatten)]
    wait: Wait,
}

/// Runs a `cockroach` subcommand; the result is the exit code.
pub async fn run(g: &Globals, c: &CockroachCommand) -> anyhow::Result<u8> {
    match c.action.as_ref() {
        Action::Backup(a) => backup(g, a).await,
        Action::Schedule(a) => schedule(g, a).await,
        Action::List(a) => list(g, a).await,
        Action::Verify(a) => verify(g, a).await,
        Action::Restore(a) => restore(g, a).await,
        Action::SurviveRegion(a) => survive_region(g, a).await,
        Action::Changefeed(ChangefeedAction::Plan(a)) => changefeed_plan(g, a),
        Action::Changefeed(ChangefeedAction::Apply(a)) => changefeed_apply(g, a).await,
    }
}

async fn survive_region(g: &Globals, a: &SurviveRegionArgs) -> anyhow::Result<u8> {
    let text = thinledger_cli::read_input_file(&a.tenant, "tenant file")
        .map_err(|e| bad(format!("--tenant {e}")))?;
    let tenant = Tenant::from_yaml(&text).map_err(|e| {
        bad(format!(
            "--tenant {}: the tenant file is not valid: {e}",
            a.tenant.display()
        ))
    })?;
    let mut options = RegionSurvivalOptions::default()
        .with_databases(a.databases.iter().cloned())
        .with_create_databases(!a.no_create);
    options.primary_region.clone_from(&a.primary_region);
    let plan = RegionSurvivalPlan::for_tenant(&tenant, &options).map_err(classify)?;
    if a.dry_run {
        print_data(g, &plan.summary(), |out| write!(out, "{plan}"))?;
        return Ok(EXIT_OK as u8);
    }
    let client = connect_url(a.cluster.url.as_deref()).await?;
    let ran = client
        .apply_region_survival(&plan)
        .await
        .map_err(classify)?;
    let report = RegionReport {
        tenant: plan.tenant().to_owned(),
        primary_region: plan.primary_region().to_string(),
        ran,
    };
    print_data(g, &report, |out| {
        for s in &report.ran {
            writeln!(out, "{s};")?;
        }
        writeln!(
            out,
            "{}: databases survive a region failure (primary region {})",
            report.tenant, report.primary_region
        )
    })?;
    Ok(EXIT_OK as u8)
}

fn read_changefeed_spec(a: &ChangefeedArgs) -> anyhow::Result<ChangefeedSpec> {
    let text = thinledger_cli::read_input_file(&a.spec, "changefeed spec")
        .map_err(|e| bad(format!("--spec {e}")))?;
    ChangefeedSpec::from_yaml(&text).map_err(|e| bad(format!("--spec {}: {e}", a.spec.display())))
}

fn changefeed_plan(g: &Globals, a: &ChangefeedArgs) -> anyhow::Result<u8> {
    let plan = read_changefeed_spec(a)?
        .preview()
        .map_err(|e| bad(format!("--spec {}: {e}", a.spec.display())))?;
    print_data(g, &plan.summary(), |out| write!(out, "{plan}"))?;
    Ok(EXIT_OK as u8)
}

async fn changefeed_apply(g: &Globals, a: &ChangefeedApplyArgs) -> anyhow::Result<u8> {
    // A missing Secret value names its variable and Secret; exit 2.
    let plan = read_changefeed_spec(&a.spec)?
        .plan(|var| std::env::var(var).ok())
        .map_err(|e| bad(format!("--spec {}: {e}", a.spec.spec.display())))?;
    let client = connect_url(a.cluster.url.as_deref()).await?;
    let outcomes = client.apply_changefeeds(&plan).await.map_err(classify)?;
    print_data(g, &outcomes, |out| {
        for o in &outcomes {
            writeln!(
                out,
                "{}: changefeed job {} {}",
                o.topic,
                o.job_id,
                if o.created {
                    "created"
                } else {
                    "exists already (kept)"
                }
            )?;
        }
        Ok(())
    })?;
    Ok(EXIT_OK as u8)
}

/// Connects with a URL from a flag or THINLEDGER_COCKROACH_URL.
async fn connect_url(url: Option<&str>) -> anyhow::Result<CockroachClient> {
    let raw = url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
        bad("no cluster connection: give --url postgresql://USER@HOST:26257/defaultdb?sslmode=verify-full&sslrootcert=… or set THINLEDGER_COCKROACH_URL (or add --dry-run / use `plan` to only print the statements)")
    })?;
    let url = ConnectionUrl::parse(raw).map_err(classify)?;
    CockroachClient::connect(&url).await.map_err(classify)
}

#[derive(Serialize)]
struct RegionReport {
    tenant: String,
    primary_region: String,
    ran: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Subcommands

async fn backup(g: &Globals, a: &BackupArgs) -> anyhow::Result<u8> {
    let wait = a.wait.options()?;
    let plan = plan(&a.common, ScheduleOptions::default())?;
    let (name, statement) = if a.incremental {
        ("incremental_backup", plan.incremental_backup())
    } else {
        ("full_backup", plan.full_backup())
    };
    if a.common.dry_run {
        return dry_run(g, &plan.dry_run("backup", &[(name, statement)]));
    }
    let client = connect(&a.common, "backup", name, statement).await?;
    let outcome = follow_job(g, &client, statement, &wait).await?;
    print_job(g, plan.tenant(), name, &outcome)
}

async fn schedule(g: &Globals, a: &ScheduleArgs) -> anyhow::Result<u8> {
    let mut options = ScheduleOptions::default()
        .with_recurring(a.recurring.clone())
        .with_full_backup(a.full_backup.clone())
        .with_first_run(a.first_run)
        .with_on_execution_failure(match a.on_failure {
            FailurePolicy::Retry => OnFailure::Retry,
            FailurePolicy::Reschedule => OnFailure::Reschedule,
            FailurePolicy::Pause => OnFailure::Pause,
        })
        .with_on_previous_running(match a.on_previous_running {
            OverlapPolicy::Start => OnPreviousRunning::Start,
            OverlapPolicy::Skip => OnPreviousRunning::Skip,
            OverlapPolicy::Wait => OnPreviousRunning::Wait,
        })
        .with_ignore_existing_backups(a.ignore_existing_backups || !a.refuse_existing_backups);
    options.label.clone_from(&a.label);
    let plan = plan(&a.common, options)?;
    let statement = plan.schedule();
    if a.common.dry_run {
        return dry_run(g, &plan.dry_run("schedule", &[("schedule", statement)]));
    }
    let client = connect(&a.common, "schedule", "schedule", statement).await?;
    let created = client.create_schedule(statement).await.map_err(classify)?;
    let report = ScheduleReport {
        tenant: plan.tenant().to_owned(),
        label: statement.label.clone(),
        created: !created.is_empty(),
        schedules: created,
    };
    print_data(g, &report, |out| {
        if report.schedules.is_empty() {
            return writeln!(
                out,
                "schedule {:?} exists already: nothing changed (CREATE SCHEDULE IF NOT EXISTS); drop it in the cluster to change it",
                report.label
            );
        }
        writeln!(
            out,
            "{:<20} {:<10} {:<22} {:<14} Label",
            "Schedule", "Status", "First run", "Cron"
        )?;
        for s in &report.schedules {
            writeln!(
                out,
                "{:<20} {:<10} {:<22} {:<14} {}",
                s.schedule_id,
                s.status,
                s.first_run
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".to_owned()),
                s.schedule,
                s.label
            )?;
        }
        Ok(())
    })?;
    Ok(EXIT_OK as u8)
}

async fn list(g: &Globals, a: &ListArgs) -> anyhow::Result<u8> {
    let plan = plan(&a.common, ScheduleOptions::default())?;
    let statement = plan.list();
    if a.common.dry_run {
        return dry_run(g, &plan.dry_run("list", &[("list", statement)]));
    }
    let client = connect(&a.common, "list", "list", statement).await?;
    let backups = client.list_backups(statement).await.map_err(classify)?;
    let report = ListReport {
        tenant: plan.tenant().to_owned(),
        collection: statement.collection.redacted(),
        backups,
    };
    print_data(g, &report, |out| {
        writeln!(out, "backups in {}", report.collection)?;
        for b in &report.backups {
            writeln!(out, "  {b}")?;
        }
        writeln!(out, "{} backup(s)", report.backups.len())
    })?;
    Ok(EXIT_OK as u8)
}

async fn verify(g: &Globals, a: &VerifyArgs) -> anyhow::Result<u8> {
    let plan = plan(&a.common, ScheduleOptions::default())?;
    let subdir = a.subdir.clone().unwrap_or_default();
    let statement = plan.verify_subdir(subdir.clone());
    if a.common.dry_run {
        return dry_run(g, &plan.dry_run("verify", &[("verify", &statement)]));
    }
    let client = connect(&a.common, "verify", "verify", &statement).await?;
    let contents = client.show_backup(&statement).await.map_err(classify)?;
    let report = VerifyReport {
        tenant: plan.tenant().to_owned(),
        backup: subdir.to_string(),
        verified: true,
        objects: contents.objects.len(),
        size_bytes: contents.total_size_bytes(),
        rows: contents.total_rows(),
        end_time: contents
            .end_time()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
        contents,
    };
    print_data(g, &report, |out| {
        writeln!(
            out,
            "backup {} verified (every file present and readable): {} objects, {} rows, {}",
            report.backup,
            report.objects,
            report.rows,
            human_bytes(u64::try_from(report.size_bytes).unwrap_or(0))
        )?;
        match &report.end_time {
            Some(t) => writeln!(out, "restorable up to {t}"),
            None => Ok(()),
        }
    })?;
    Ok(EXIT_OK as u8)
}

async fn restore(g: &Globals, a: &RestoreArgs) -> anyhow::Result<u8> {
    let wait = a.wait.options()?;
    let plan = plan(&a.common, ScheduleOptions::default())?;
    let request = RestoreRequest {
        target: plan.target().clone(),
        subdir: a.subdir.clone().unwrap_or_default(),
        as_of: a.as_of,
        new_db_name: a.new_db_name.clone(),
        into_db: a.into_db.clone(),
    };
    let statement = plan.restore(&request).map_err(classify)?;
    if a.common.dry_run {
        return dry_run(g, &plan.dry_run("restore", &[("restore", &statement)]));
    }
    let client = connect(&a.common, "restore", "restore", &statement).await?;
    let outcome = follow_job(g, &client, &statement, &wait).await?;
    print_job(g, plan.tenant(), "restore", &outcome)
}

// ---------------------------------------------------------------------------------------------
// The plan from the tenant file and the flags

/// The tenant's plan from the flags (MinIO keys from the environment).
fn plan(c: &Common, schedule: ScheduleOptions) -> anyhow::Result<CockroachBackupPlan> {
    let mut spec = CockroachBackupSpec::new(&c.tenant);
    spec.path.clone_from(&c.path);
    spec.databases.clone_from(&c.databases);
    spec.tables.clone_from(&c.tables);
    spec.aws_region.clone_from(&c.aws_region);
    spec.assume_role.clone_from(&c.assume_role);
    spec.regional_buckets.clone_from(&c.regional_buckets);
    spec.kms.clone_from(&c.kms);
    spec.encryption_passphrase_file
        .clone_from(&c.encryption_passphrase_file);
    spec.minio_auth = c.minio_credentials.map(MinioAuth::from);
    spec.schedule = schedule;
    spec.plan(|var| std::env::var(var).ok()).map_err(classify)
}

/// Exit 2 naming the flag for what the user gave, exit 1 for what the cluster reported.
fn classify(e: CockroachError) -> anyhow::Error {
    match (e.is_input(), e.input()) {
        (false, _) => anyhow::Error::new(e),
        // The message starts with the file's path.
        (true, Some("tenant")) if matches!(e, CockroachError::TenantFile { .. }) => {
            bad(format!("--tenant {e}"))
        }
        (true, Some(input)) => bad(format!("--{input}: {e}")),
        // A MinIO key missing from the environment.
        (true, None) if matches!(e, CockroachError::Missing { .. }) => bad(format!(
            "{e} (or pass --minio-credentials implicit when the CockroachDB pods hold the keys)"
        )),
        (true, None) => bad(e.to_string()),
    }
}

/// Clap reports the error with the flag's name and exits 2.
fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<DurationText>()
        .map(|d| d.0)
        .map_err(|e| format!("{e}; write a duration such as 90s, 30m, 6h or 1h30m"))
}

// ---------------------------------------------------------------------------------------------
// Dry run, connection, jobs, reports

/// Prints what the subcommand would run (the library's dry-run text, or the data).
fn dry_run(g: &Globals, report: &DryRun) -> anyhow::Result<u8> {
    print_data(g, report, |out| write!(out, "{report}"))?;
    Ok(EXIT_OK as u8)
}

/// Prints the plan line (redacted) on stderr, then connects.
async fn connect(
    c: &Common,
    command: &str,
    name: &str,
    statement: &dyn Statement,
) -> anyhow::Result<CockroachClient> {
    let raw = c
        .cluster
        .url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            bad("no cluster connection: give --url postgresql://USER@HOST:26257/defaultdb?sslmode=verify-full&sslrootcert=… or set THINLEDGER_COCKROACH_URL (or add --dry-run to only print the statements)")
        })?;
    let url = ConnectionUrl::parse(raw).map_err(classify)?;
    eprintln!(
        "cockroach {command}: running {name} on {}: {};",
        url.redacted(),
        statement.render().display()
    );
    CockroachClient::connect(&url).await.map_err(classify)
}

/// Starts a job and follows it: a progress line (bar on a terminal, a log line per status
/// change and every 10 s otherwise).
async fn follow_job(
    g: &Globals,
    client: &CockroachClient,
    statement: &dyn Statement,
    options: &WaitOptions,
) -> anyhow::Result<JobOutcome> {
    let latest: Arc<Mutex<Option<JobStatus>>> = Arc::new(Mutex::new(None));
    let shown = Arc::clone(&latest);
    let ticker = Ticker::start(g.quiet, move || {
        match shown.lock().ok().and_then(|s| s.clone()) {
            Some(s) => format!(
                "job {} {} {:.0}%",
                s.job_id,
                s.status,
                s.fraction_completed * 100.0
            ),
            None => "starting the job".to_owned(),
        }
    });
    let result = client
        .run_job(statement, options, |status| {
            let changed = latest.lock().ok().is_some_and(|mut last| {
                let changed = last.as_ref().is_none_or(|l| l.status != status.status);
                *last = Some(status.clone());
                changed
            });
            if changed {
                tracing::info!(
                    target: "progress",
                    job_id = status.job_id,
                    status = %status.status,
                    percent = (status.fraction_completed * 100.0).round(),
                    "cockroach job"
                );
            }
        })
        .await;
    if let Some(t) = ticker {
        t.stop();
    }
    result.map_err(classify)
}

#[derive(Serialize)]
struct JobReport<'a> {
    tenant: &'a str,
    statement: &'a str,
    status: &'static str,
    #[serde(flatten)]
    outcome: &'a JobOutcome,
}

fn print_job(g: &Globals, tenant: &str, name: &str, outcome: &JobOutcome) -> anyhow::Result<u8> {
    let report = JobReport {
        tenant,
        statement: name,
        status: "succeeded",
        outcome,
    };
    print_data(g, &report, |out| {
        writeln!(
            out,
            "{name} of {tenant}: job {} succeeded in {:.1}s",
            outcome.job_id,
            outcome.elapsed.as_secs_f64()
        )
    })?;
    Ok(EXIT_OK as u8)
}

#[derive(Serialize)]
struct ScheduleReport {
    tenant: String,
    label: String,
    created: bool,
    schedules: Vec<ScheduleCreated>,
}

#[derive(Serialize)]
struct ListReport {
    tenant: String,
    collection: String,
    backups: Vec<String>,
}

#[derive(Serialize)]
struct VerifyReport {
    tenant: String,
    backup: String,
    verified: bool,
    objects: usize,
    size_bytes: i64,
    rows: i64,
    end_time: Option<String>,
    contents: BackupContents,
}
