//! A tenant's CockroachDB backup statements, computed before anything runs.

use std::collections::BTreeMap;

use serde::Serialize;
use thinledger_topology::{IdentityBinding, Provider, Tenant};

use super::error::CockroachError;
use super::spec::RegionalBucket;
use super::sql::Rendered;
use super::statement::{
    AsOf, BackupMode, BackupStatement, CreateScheduleStatement, Crontab, Encryption, FirstRun,
    FullBackup, OnFailure, OnPreviousRunning, RestoreStatement, ShowBackupStatement,
    ShowBackupsStatement, Statement, Subdir, Target,
};
use super::uri::{Destination, S3Credentials, StorageUri};
use super::version::CockroachVersion;
use thinledger_store::Invalid;
use thinledger_store::REDACTED;

/// Knobs of a tenant's CockroachDB backups. `Default` is the production setting: the whole
/// cluster, `AS OF SYSTEM TIME '-10s'`, revision history (PITR), hourly incrementals and daily
/// full backups. Set fields with the `with_*` setters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CockroachBackupOptions {
    /// Collection path inside the bucket (default [`Tenant::cockroach_backup_path`]:
    /// `<backup.prefix>/cockroach/<tenant>-<environment>`, inside the prefix that
    /// `ledger-topology iam` grants; `cockroach/<tenant>-<environment>` without a prefix).
    pub path: Option<String>,
    /// What to back up.
    pub target: Target,
    /// `AWS_REGION` of the bucket (AWS: CockroachDB looks it up when absent; MinIO: default
    /// `us-east-1`).
    pub aws_region: Option<String>,
    /// Role (AWS ARN) or service account (GCP email) the nodes assume on top of their own
    /// identity, e.g. for a bucket in another account; comma-separated for a chain.
    pub assume_role: Option<String>,
    /// Locality-aware backups: region → bucket. Each region's nodes write to its bucket and
    /// the tenant's `backup.bucket` is the default. Empty: one bucket.
    pub regional_buckets: BTreeMap<String, String>,
    /// MinIO authentication (on-prem only; required there).
    pub s3_credentials: Option<S3Credentials>,
    /// Encryption.
    pub encryption: Encryption,
    /// Backup read time.
    pub as_of: AsOf,
    /// Keep MVCC revisions so restores can go to any time in the chain.
    pub revision_history: bool,
    /// The schedule.
    pub schedule: ScheduleOptions,
}

impl Default for CockroachBackupOptions {
    fn default() -> Self {
        CockroachBackupOptions {
            path: None,
            target: Target::Cluster,
            aws_region: None,
            assume_role: None,
            regional_buckets: BTreeMap::new(),
            s3_credentials: None,
            encryption: Encryption::None,
            as_of: AsOf::DEFAULT_BACKUP,
            revision_history: true,
            schedule: ScheduleOptions::default(),
        }
    }
}

/// The schedule CockroachDB runs by itself. Set fields with the `with_*` setters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScheduleOptions {
    /// Label (default `ledger-<tenant>-<environment>`).
    pub label: Option<String>,
    /// Backup cadence (default hourly).
    pub recurring: Crontab,
    /// Full backups (default daily).
    pub full_backup: FullBackup,
    /// First run (default now).
    pub first_run: FirstRun,
    /// On failure (default reschedule).
    pub on_execution_failure: OnFailure,
    /// On overlap (default skip: a late run is better than two at once).
    pub on_previous_running: OnPreviousRunning,
    /// Create even if the collection holds backups already (default true: the default
    /// collection is shared with one-off `BACKUP`s and the scheduler's jobs, and CockroachDB
    /// refuses `CREATE SCHEDULE` on a collection holding backups without this option).
    pub ignore_existing_backups: bool,
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        ScheduleOptions {
            label: None,
            recurring: Crontab::hourly(),
            full_backup: FullBackup::Every(Crontab::daily()),
            first_run: FirstRun::Now,
            on_execution_failure: OnFailure::Reschedule,
            on_previous_running: OnPreviousRunning::Skip,
            ignore_existing_backups: true,
        }
    }
}

impl CockroachBackupOptions {
    /// The collection path inside the bucket.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// What to back up.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// The bucket's `AWS_REGION`.
    pub fn with_aws_region(mut self, region: impl Into<String>) -> Self {
        self.aws_region = Some(region.into());
        self
    }

    /// The role or service account the nodes assume.
    pub fn with_assume_role(mut self, role: impl Into<String>) -> Self {
        self.assume_role = Some(role.into());
        self
    }

    /// Adds locality-aware buckets (region → bucket).
    pub fn with_regional_buckets(
        mut self,
        buckets: impl IntoIterator<Item = RegionalBucket>,
    ) -> Self {
        self.regional_buckets
            .extend(buckets.into_iter().map(|b| (b.region, b.bucket)));
        self
    }

    /// MinIO authentication (on-prem).
    pub fn with_s3_credentials(mut self, credentials: Option<S3Credentials>) -> Self {
        self.s3_credentials = credentials;
        self
    }

    /// Encryption.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// The backup read time.
    pub fn with_as_of(mut self, as_of: AsOf) -> Self {
        self.as_of = as_of;
        self
    }

    /// Whether MVCC revisions are kept (point-in-time restores).
    pub fn with_revision_history(mut self, on: bool) -> Self {
        self.revision_history = on;
        self
    }

    /// The schedule.
    pub fn with_schedule(mut self, schedule: ScheduleOptions) -> Self {
        self.schedule = schedule;
        self
    }
}

impl ScheduleOptions {
    /// The schedule's label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// How often a backup runs.
    pub fn with_recurring(mut self, recurring: Crontab) -> Self {
        self.recurring = recurring;
        self
    }

    /// When full backups run.
    pub fn with_full_backup(mut self, full_backup: FullBackup) -> Self {
        self.full_backup = full_backup;
        self
    }

    /// The first run.
    pub fn with_first_run(mut self, first_run: FirstRun) -> Self {
        self.first_run = first_run;
        self
    }

    /// What a failed run does.
    pub fn with_on_execution_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_execution_failure = on_failure;
        self
    }

    /// What a run does while the previous one is still going.
    pub fn with_on_previous_running(mut self, on_previous: OnPreviousRunning) -> Self {
        self.on_previous_running = on_previous;
        self
    }

    /// Create the schedule even if the collection holds backups already (`false`: let
    /// CockroachDB refuse it then).
    pub fn with_ignore_existing_backups(mut self, ignore: bool) -> Self {
        self.ignore_existing_backups = ignore;
        self
    }
}

/// What to restore, and to when.
#[derive(Clone, Debug, Default)]
pub struct RestoreRequest {
    /// What to restore (default the cluster, which needs an empty cluster).
    pub target: Target,
    /// Which backup chain (default the latest).
    pub subdir: Subdir,
    /// Point in time; the end of the chain when `None`.
    pub as_of: Option<AsOf>,
    /// Restore one database under another name (drills).
    pub new_db_name: Option<String>,
    /// Restore tables into this database.
    pub into_db: Option<String>,
}

/// A tenant's CockroachDB backup statements, computed from the tenant file and options and
/// printable (redacted) before anything runs.
#[derive(Clone, Debug)]
pub struct CockroachBackupPlan {
    tenant: String,
    provider: Provider,
    identity: &'static str,
    destination: Destination,
    encryption: Encryption,
    full: BackupStatement,
    incremental: BackupStatement,
    schedule: CreateScheduleStatement,
    list: ShowBackupsStatement,
    verify: ShowBackupStatement,
    notes: Vec<String>,
}

impl CockroachBackupPlan {
    /// Builds the statements for a checked tenant.
    pub fn for_tenant(
        tenant: &Tenant,
        options: &CockroachBackupOptions,
    ) -> Result<Self, CockroachError> {
        let spec = tenant.spec();
        let backup = &spec.backup;
        let path = options
            .path
            .clone()
            .unwrap_or_else(|| tenant.cockroach_backup_path());
        // The bucket's provider and identity: on the view of a site of another provider
        // (`Tenant::for_site`) still the tenant's, whose bucket every node writes to.
        let provider = tenant.backup_provider();
        let identity = tenant
            .backup_identity()
            .ok_or_else(|| CockroachError::Missing {
                field: "backup.identity".to_owned(),
                why: "CockroachDB nodes need an identity to write to object storage".to_owned(),
                fix: format!(
                    "add backup.identity with one of: {}",
                    IdentityBinding::kinds_for(provider).join(", ")
                ),
            })?;
        if let IdentityBinding::AzureWorkloadIdentity { .. } = identity {
            require_version(
                &spec.cockroachdb.version,
                CockroachVersion::AZURE_WORKLOAD_IDENTITY,
                "Azure workload identity for backups (AUTH=implicit on azure-blob:// and azure-kms:// URIs, with the pods' federated token)",
                "pin cockroachdb.version to v25.1 or later, or bind the CockroachDB nodes with an azure-managed-identity instead",
            )?;
        }
        let mut notes = Vec::new();
        // The role assumed for the bucket is assumed for the KMS keys of the same cloud too,
        // as CockroachDB's docs pass it to both.
        let encryption = match options.assume_role.as_deref() {
            Some(role) => {
                let with_role = options.encryption.clone().with_default_role(provider, role);
                if let (Encryption::Kms(before), Encryption::Kms(after)) =
                    (&options.encryption, &with_role)
                    && before != after
                {
                    notes.push(format!(
                        "ASSUME_ROLE={role} is passed to the KMS URIs as well as to the bucket's (keys that name their own ASSUME_ROLE keep it)"
                    ));
                }
                with_role
            }
            None => options.encryption.clone(),
        };
        encryption.validate()?;

        let uri_for = |bucket: &str, region: Option<&str>| -> Result<StorageUri, CockroachError> {
            let region = region.or(options.aws_region.as_deref());
            let role = options.assume_role.as_deref();
            match provider {
                Provider::Aws => StorageUri::s3_implicit(bucket, &path, region, role),
                Provider::Azure => {
                    let account = backup.account.as_deref().ok_or_else(|| {
                        missing(
                            "backup.account",
                            "Azure Blob containers live in a storage account",
                            "add account: <storage account name> to the tenant's backup",
                        )
                    })?;
                    StorageUri::azure_implicit(bucket, &path, account)
                }
                Provider::Gcp => StorageUri::gcs_implicit(bucket, &path, role),
                // On-prem and any provider added later: S3-compatible storage.
                _ => {
                    let endpoint = backup.endpoint.as_deref().ok_or_else(|| {
                        missing(
                            "backup.endpoint",
                            "on-prem backups go to an S3-compatible server",
                            "add endpoint: https://minio.backup.svc:9000 to the tenant's backup",
                        )
                    })?;
                    let credentials = options.s3_credentials.as_ref().ok_or_else(|| {
                        missing(
                            "S3 credentials",
                            "MinIO needs access keys",
                            "supply the keys from the tenant's Secret at run time (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or use implicit credentials held by the CockroachDB pods",
                        )
                    })?;
                    StorageUri::s3_compatible(bucket, &path, endpoint, region, credentials)
                }
            }
        };

        let default_uri = uri_for(&backup.bucket, None)?;
        let destination = if options.regional_buckets.is_empty() {
            Destination::single(default_uri)
        } else {
            let known: Vec<&str> = tenant
                .locality()
                .regions()
                .iter()
                .map(|r| r.name.as_str())
                .collect();
            let mut regional = Vec::new();
            for (region, bucket) in &options.regional_buckets {
                if !known.contains(&region.as_str()) {
                    return Err(CockroachError::invalid(
                        "options.regional_buckets",
                        region.clone(),
                        format!("the tenant's regions are {}", known.join(", ")),
                        "name a bucket for one of the tenant's regions",
                    ));
                }
                let aws_region =
                    matches!(provider, Provider::Aws | Provider::OnPrem).then_some(region.as_str());
                regional.push((format!("region={region}"), uri_for(bucket, aws_region)?));
            }
            notes.push(
                "locality-aware: each node writes its ranges to the bucket of its region (COCKROACH_LOCALITY matches the nodes' --locality region tier); restores and SHOW BACKUP need every URI".to_owned(),
            );
            Destination::locality_aware(default_uri, regional)?
        };

        notes.push(identity_note(identity, provider, options));
        if let Encryption::Passphrase(_) = encryption {
            notes.push("encryption_passphrase: keep the passphrase outside the cluster; without it no backup can be restored. The schedule stores it in CockroachDB.".to_owned());
        }

        let label = options
            .schedule
            .label
            .clone()
            .unwrap_or_else(|| format!("ledger-{}-{}", spec.tenant, spec.environment));
        if label.is_empty() || label.chars().any(char::is_control) {
            return Err(CockroachError::invalid(
                "options.schedule.label",
                label.escape_debug().to_string(),
                "a schedule label is non-empty printable text",
                "e.g. ledger-acme-bank-prod",
            ));
        }
        notes.push(if options.schedule.ignore_existing_backups {
            format!(
                "schedule: ignore_existing_backups is set, because the collection {path} is shared with `ledger-backup cockroach backup` and the scheduler's jobs and may hold backups already (CockroachDB refuses CREATE SCHEDULE on such a collection without it); the schedule's backups join that collection"
            )
        } else {
            format!(
                "schedule: ignore_existing_backups is not set, so CREATE SCHEDULE fails if the collection {path} already holds backups (e.g. from `ledger-backup cockroach backup`); choose an empty path for the schedule or allow them"
            )
        });
        let backup_statement = |mode| BackupStatement {
            target: options.target.clone(),
            destination: destination.clone(),
            mode,
            as_of: Some(options.as_of),
            revision_history: options.revision_history,
            encryption: encryption.clone(),
            detached: true,
        };
        let schedule = CreateScheduleStatement {
            label,
            target: options.target.clone(),
            destination: destination.clone(),
            revision_history: options.revision_history,
            encryption: encryption.clone(),
            schedule: options.schedule.clone(),
        };
        Ok(CockroachBackupPlan {
            tenant: format!("{}-{}", spec.tenant, spec.environment),
            provider,
            identity: identity.kind(),
            full: backup_statement(BackupMode::Full),
            incremental: backup_statement(BackupMode::Incremental),
            schedule,
            list: ShowBackupsStatement {
                collection: destination.default_uri().clone(),
            },
            verify: ShowBackupStatement {
                subdir: Subdir::Latest,
                destination: destination.clone(),
                check_files: true,
                encryption: encryption.clone(),
            },
            destination,
            encryption: encryption.clone(),
            notes,
        })
    }

    /// What the backups hold (and a restore restores by default).
    pub fn target(&self) -> &Target {
        &self.full.target
    }

    /// `<tenant>-<environment>`, the name reports use.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The backup collection.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// A full backup (`BACKUP … INTO …`, detached).
    pub fn full_backup(&self) -> &BackupStatement {
        &self.full
    }

    /// An incremental backup (`BACKUP … INTO LATEST IN …`, detached).
    pub fn incremental_backup(&self) -> &BackupStatement {
        &self.incremental
    }

    /// The schedule.
    pub fn schedule(&self) -> &CreateScheduleStatement {
        &self.schedule
    }

    /// `SHOW BACKUPS IN …`.
    pub fn list(&self) -> &ShowBackupsStatement {
        &self.list
    }

    /// `SHOW BACKUP FROM LATEST IN … WITH check_files`.
    pub fn verify(&self) -> &ShowBackupStatement {
        &self.verify
    }

    /// `SHOW BACKUP … WITH check_files` for a given backup.
    pub fn verify_subdir(&self, subdir: Subdir) -> ShowBackupStatement {
        ShowBackupStatement {
            subdir,
            ..self.verify.clone()
        }
    }

    /// A restore from this collection (detached, so the driver can track its job).
    pub fn restore(&self, request: &RestoreRequest) -> Result<RestoreStatement, CockroachError> {
        let statement = RestoreStatement {
            target: request.target.clone(),
            subdir: request.subdir.clone(),
            destination: self.destination.clone(),
            as_of: request.as_of,
            encryption: self.encryption.clone(),
            new_db_name: request.new_db_name.clone(),
            into_db: request.into_db.clone(),
            detached: true,
        };
        statement.validate()?;
        Ok(statement)
    }

    /// Things the operator must know (identity setup, locality, passphrase custody).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The statements in the order an operator reads them, named.
    pub fn statements(&self) -> Vec<(&'static str, Rendered)> {
        vec![
            ("full_backup", self.full.render()),
            ("incremental_backup", self.incremental.render()),
            ("schedule", self.schedule.render()),
            ("list", self.list.render()),
            ("verify", self.verify.render()),
        ]
    }

    /// A redacted, serialisable view for `--output json|yaml`.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary {
            tenant: self.tenant.clone(),
            provider: self.provider.to_string(),
            identity: self.identity,
            destination: self
                .destination
                .uris()
                .iter()
                .map(StorageUri::redacted)
                .collect(),
            statements: self
                .statements()
                .into_iter()
                .map(|(name, r)| (name, r.display().to_owned()))
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

impl std::fmt::Display for CockroachBackupPlan {
    /// The plan as `--dry-run` prints it: every statement, redacted, and the notes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "-- CockroachDB backups of {} ({}, identity {})",
            self.tenant, self.provider, self.identity
        )?;
        for (name, r) in self.statements() {
            writeln!(f, "-- {name}\n{};", r.display())?;
        }
        for note in &self.notes {
            writeln!(f, "-- note: {note}")?;
        }
        Ok(())
    }
}

/// The plan as data (every value redacted).
#[derive(Clone, Debug, Serialize)]
pub struct PlanSummary {
    /// `<tenant>-<environment>`.
    pub tenant: String,
    /// Provider name.
    pub provider: String,
    /// Identity binding kind.
    pub identity: &'static str,
    /// Destination URIs, redacted, default first.
    pub destination: Vec<String>,
    /// Statement name → redacted SQL.
    pub statements: BTreeMap<&'static str, String>,
    /// Notes.
    pub notes: Vec<String>,
}

/// What one command would run, printed instead of running it (`--dry-run`): the plan summary,
/// with the statements the command runs (such as a restore, or `verify` of a given backup) in
/// it and named in `runs`. `Display` is the text form: one line per statement, secrets
/// redacted, then the notes.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DryRun {
    /// Always `true`, so a reader of the JSON can tell it from a run's report.
    pub dry_run: bool,
    /// The command, e.g. `backup`.
    pub command: &'static str,
    /// The names of the statements the command runs, in order.
    pub runs: Vec<&'static str>,
    /// The plan.
    #[serde(flatten)]
    pub plan: PlanSummary,
}

impl CockroachBackupPlan {
    /// The dry run of `command`, which runs these named statements.
    pub fn dry_run(
        &self,
        command: &'static str,
        runs: &[(&'static str, &dyn Statement)],
    ) -> DryRun {
        let mut plan = self.summary();
        for (name, statement) in runs {
            plan.statements
                .insert(name, statement.render().display().to_owned());
        }
        DryRun {
            dry_run: true,
            command,
            runs: runs.iter().map(|(name, _)| *name).collect(),
            plan,
        }
    }
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.plan;
        writeln!(
            f,
            "-- dry run of `cockroach {}` for {} ({}, identity {}): nothing was run; secrets show as {REDACTED}",
            self.command, s.tenant, s.provider, s.identity
        )?;
        for uri in &s.destination {
            writeln!(f, "-- destination: {uri}")?;
        }
        for name in &self.runs {
            let text = s
                .statements
                .get(name)
                .map(String::as_str)
                .unwrap_or_default();
            writeln!(f, "{name}: {text};")?;
        }
        for note in &s.notes {
            writeln!(f, "-- note: {note}")?;
        }
        Ok(())
    }
}

/// Refuses a tenant pinned to a release older than `first`, the release `feature` exists from.
fn require_version(
    pinned: &str,
    first: CockroachVersion,
    feature: &str,
    fix: &str,
) -> Result<(), CockroachError> {
    let version: CockroachVersion = pinned.parse()?;
    if version < first {
        return Err(CockroachError::invalid(
            "cockroachdb.version",
            pinned,
            format!(
                "{feature} exists from CockroachDB v{}.{} on; this tenant pins {version}",
                first.major, first.minor
            ),
            fix,
        ));
    }
    Ok(())
}

fn missing(field: &str, why: &str, fix: &str) -> CockroachError {
    CockroachError::Missing {
        field: field.to_owned(),
        why: why.to_owned(),
        fix: fix.to_owned(),
    }
}

fn identity_note(
    identity: &IdentityBinding,
    provider: Provider,
    options: &CockroachBackupOptions,
) -> String {
    match identity {
        IdentityBinding::Irsa { role_arn } => format!(
            "AUTH=implicit: every CockroachDB pod's service account must carry eks.amazonaws.com/role-arn={role_arn} (IRSA web identity){}",
            if options.assume_role.is_some() {
                "; that role must be allowed to assume ASSUME_ROLE"
            } else {
                ""
            }
        ),
        IdentityBinding::AzureWorkloadIdentity { client_id, .. } => format!(
            "AUTH=implicit: the CockroachDB pods need label azure.workload.identity/use=true and a service account annotated with client id {client_id}; the webhook injects AZURE_CLIENT_ID (CockroachDB refuses AZURE_CLIENT_ID in an implicit URI)"
        ),
        IdentityBinding::AzureManagedIdentity { client_id } => format!(
            "AUTH=implicit: set AZURE_CLIENT_ID={client_id} in the CockroachDB pods' environment so the node-assigned managed identity is chosen (CockroachDB refuses AZURE_CLIENT_ID in an implicit URI)"
        ),
        IdentityBinding::GkeWorkloadIdentity { service_account } => format!(
            "AUTH=implicit: every CockroachDB pod's service account must carry iam.gke.io/gcp-service-account={service_account}{}",
            if options.assume_role.is_some() {
                "; that account must be allowed to impersonate ASSUME_ROLE"
            } else {
                ""
            }
        ),
        IdentityBinding::SecretRef { secret_name, .. } => match options.s3_credentials {
            Some(S3Credentials::Implicit) => format!(
                "AUTH=implicit: every CockroachDB pod must have AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from Secret {secret_name} in its environment; no key is in any statement"
            ),
            _ => format!(
                "keys from Secret {secret_name} are in the URIs (redacted here); the schedule stores them, so re-create it after rotating the keys"
            ),
        },
        _ => format!("identity for {provider}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use thinledger_topology::iam::{self, IamDocumentKind, IamOptions};

    /// `(bucket, path)` of a collection URI (`scheme://bucket/path?…`).
    fn bucket_and_path(uri: &str) -> (String, String) {
        let rest = uri.split_once("://").unwrap().1;
        let rest = rest.split('?').next().unwrap();
        let (bucket, path) = rest.split_once('/').unwrap();
        (bucket.to_owned(), path.to_owned())
    }

    /// The native backup's default path and the access documents agree: the prefix
    /// `ledger-topology iam` grants the backup identity covers every object CockroachDB writes
    /// (`<collection>/…`), and no extra prefix outside `backup.prefix` is granted for it.
    #[rstest]
    #[case::aws("aws", include_str!("../../../examples/tenants/aws.yaml"))]
    #[case::azure("azure", include_str!("../../../examples/tenants/azure.yaml"))]
    #[case::gcp("gcp", include_str!("../../../examples/tenants/gcp.yaml"))]
    #[case::onprem("onprem", include_str!("../../../examples/tenants/onprem.yaml"))]
    #[case::multi_cloud("multi-cloud", include_str!("../../../examples/tenants/multi-cloud.yaml"))]
    fn the_access_documents_cover_the_native_backup_path(#[case] name: &str, #[case] text: &str) {
        let tenant = Tenant::from_yaml(text).unwrap();
        let options =
            CockroachBackupOptions::default().with_s3_credentials(Some(S3Credentials::Implicit));
        let plan = CockroachBackupPlan::for_tenant(&tenant, &options).unwrap();
        let uri = plan.destination().default_uri().redacted();
        let (bucket, path) = bucket_and_path(&uri);
        let backup = &tenant.spec().backup;
        assert_eq!(bucket, backup.bucket, "{name}: {uri}");
        assert_eq!(path, tenant.cockroach_backup_path(), "{name}");
        let access = iam::plan(&tenant, &IamOptions::default()).unwrap();
        // Without a prefix the whole bucket (Azure: the container) is granted.
        let prefix = backup.prefix.as_deref().unwrap_or_default();
        if prefix.is_empty() {
            assert!(access.prefixes.is_empty(), "{name}");
        } else {
            assert!(path.starts_with(&format!("{prefix}/")), "{name}: {path}");
            assert_eq!(
                access.prefixes,
                [prefix],
                "{name}: only the tenant's prefix"
            );
        }
        let object = format!("{path}/2026/12/07-000000.00/data/1.sst");
        let mut checked = 0;
        for d in &access.documents {
            let doc = &d.document;
            match d.kind {
                IamDocumentKind::AwsPermissionsPolicy | IamDocumentKind::MinioPolicy
                    if d.grant == iam::IamGrant::Backups =>
                {
                    let statements = doc["Statement"].as_array().unwrap();
                    let writes = statements
                        .iter()
                        .find(|s| {
                            s["Action"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|a| a == "s3:PutObject")
                        })
                        .unwrap();
                    let covered = writes["Resource"].as_array().unwrap().iter().any(|r| {
                        let r = r.as_str().unwrap();
                        let granted = r
                            .strip_prefix(&format!("arn:aws:s3:::{bucket}/"))
                            .and_then(|p| p.strip_suffix('*'))
                            .unwrap();
                        object.starts_with(granted)
                    });
                    assert!(covered, "{name}: {object} not in {writes}");
                    let list = statements
                        .iter()
                        .find(|s| s["Action"][0] == "s3:ListBucket")
                        .unwrap();
                    let listed = list["Condition"]["StringLike"]["s3:prefix"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| {
                            p.as_str()
                                .and_then(|p| p.strip_suffix('*'))
                                .is_some_and(|p| format!("{path}/").starts_with(p))
                        });
                    assert!(listed, "{name}: listing {path}/ not in {list}");
                    checked += 1;
                }
                IamDocumentKind::GcpBucketBinding if d.grant == iam::IamGrant::Backups => {
                    assert_eq!(doc["bucket"], bucket.as_str(), "{name}");
                    let expression = doc["condition"]["expression"].as_str().unwrap();
                    let granted = format!(
                        "resource.name.startsWith(\"projects/_/buckets/{bucket}/objects/{prefix}/\")"
                    );
                    assert!(expression.contains(&granted), "{name}: {expression}");
                    assert!(object.starts_with(&format!("{prefix}/")));
                    checked += 1;
                }
                IamDocumentKind::AzureRoleAssignment if d.grant == iam::IamGrant::Backups => {
                    // Azure RBAC scopes to the container: every blob of it is covered.
                    let scope = doc["scope"].as_str().unwrap();
                    assert!(
                        scope.ends_with(&format!("/containers/{bucket}")),
                        "{name}: {scope}"
                    );
                    checked += 1;
                }
                _ => {}
            }
        }
        assert!(checked > 0, "{name}: no storage grant checked");
    }

    /// The view of a site on another provider (what that site's rendering sees) plans the same
    /// statements as the tenant: every node writes to the tenant's bucket as its backup identity.
    #[test]
    fn a_site_of_another_provider_plans_the_tenants_bucket() {
        let tenant =
            Tenant::from_yaml(include_str!("../../../examples/tenants/multi-cloud.yaml")).unwrap();
        let whole =
            CockroachBackupPlan::for_tenant(&tenant, &CockroachBackupOptions::default()).unwrap();
        let azure = CockroachBackupPlan::for_tenant(
            &tenant.for_site("azure-eastus").unwrap(),
            &CockroachBackupOptions::default(),
        )
        .unwrap();
        assert_eq!(
            azure.destination().default_uri().redacted(),
            "s3://acme-ledger-backups/acme-bank/prod/cockroach/acme-bank-prod?AUTH=implicit"
        );
        assert_eq!(azure.summary().identity, "irsa");
        assert_eq!(azure.statements(), whole.statements());
    }

    /// An explicit path keeps working, and the access documents grant it beside the prefix.
    #[test]
    fn an_explicit_path_is_kept_and_granted() {
        let tenant = Tenant::from_yaml(include_str!("../../../examples/tenants/aws.yaml")).unwrap();
        let options = CockroachBackupOptions::default().with_path("native/ledger");
        let plan = CockroachBackupPlan::for_tenant(&tenant, &options).unwrap();
        let (_, path) = bucket_and_path(&plan.destination().default_uri().redacted());
        assert_eq!(path, "native/ledger");
        let access = iam::plan(
            &tenant,
            &IamOptions::default().with_cockroach_path("native/ledger"),
        )
        .unwrap();
        assert_eq!(access.prefixes, ["acme-bank/prod", "native/ledger"]);
    }
}
