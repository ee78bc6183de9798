//! CockroachDB's backup statements as typed values.
//!
//! Each statement renders to a [`Rendered`]: SQL with placeholders plus parameters, and the
//! redacted display text. What goes where:
//! - URIs, KMS URIs, the passphrase, schedule labels, cron expressions and database names in
//!   options are **bind parameters** (`$n`) — CockroachDB accepts placeholders in those
//!   positions over pgwire, so nothing a user wrote is spliced into SQL text;
//! - database, schema and table names are **double-quoted identifiers** ([`Ident`]);
//! - `AS OF SYSTEM TIME` and the schedule options are **escaped literals** generated from typed
//!   values ([`AsOf`], [`FirstRun`], …), never from free text.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::error::{CockroachError, ensure};
use super::plan::ScheduleOptions;
use super::sql::{Ident, Param, Rendered, SqlWriter};
use super::uri::{Destination, KmsUri, StorageUri};
use thinledger_store::Invalid;
use thinledger_store::{REDACTED, Secret};

/// The [`Rendered::label`] of `SHOW BACKUP … WITH check_files`; the driver reports its
/// refusals as failed verifications.
pub const CHECK_FILES_LABEL: &str = "SHOW BACKUP … WITH check_files";

/// Something that renders to SQL the driver can run.
pub trait Statement: fmt::Debug + Send + Sync {
    /// SQL with placeholders, parameters and the redacted display text.
    fn render(&self) -> Rendered;
}

/// What a backup or restore covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The whole cluster (`BACKUP INTO …`, `RESTORE FROM …`).
    #[default]
    Cluster,
    /// Databases: `DATABASE "a", "b"`.
    Databases(Vec<Ident>),
    /// Tables: `TABLE "db"."public"."t", "db".*`.
    Tables(Vec<TablePattern>),
}

impl Target {
    /// Databases by name.
    pub fn databases<I, S>(names: I) -> Result<Self, CockroachError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names
            .into_iter()
            .map(|n| Ident::new("options.databases", n))
            .collect::<Result<Vec<_>, _>>()?;
        if names.is_empty() {
            return Err(CockroachError::invalid(
                "options.databases",
                "",
                "name at least one database",
                "give a database name, or back up the whole cluster",
            ));
        }
        Ok(Target::Databases(names))
    }

    /// Tables by pattern (`db.schema.table`, `db.table`, `db.*`).
    pub fn tables<I, S>(patterns: I) -> Result<Self, CockroachError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|p| TablePattern::parse(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if patterns.is_empty() {
            return Err(CockroachError::invalid(
                "options.tables",
                "",
                "name at least one table",
                "give a table as db.schema.table",
            ));
        }
        Ok(Target::Tables(patterns))
    }

    /// What a command's selection covers: the databases if any are named, else the table
    /// patterns if any, else the whole cluster. Naming both is refused (field
    /// `options.tables`): a backup holds whole databases or single tables.
    pub fn select<S: AsRef<str>>(databases: &[S], tables: &[S]) -> Result<Self, CockroachError> {
        ensure(
            databases.is_empty() || tables.is_empty(),
            "options.tables",
            tables
                .iter()
                .map(|t| t.as_ref())
                .collect::<Vec<_>>()
                .join(" "),
            "a selection names databases or tables, not both",
            "leave out the databases, or name their tables as db.*",
        )?;
        if !databases.is_empty() {
            Target::databases(databases.iter().map(|d| d.as_ref().to_owned()))
        } else if !tables.is_empty() {
            Target::tables(tables)
        } else {
            Ok(Target::Cluster)
        }
    }

    fn write(&self, w: &mut SqlWriter) {
        match self {
            Target::Cluster => {}
            Target::Databases(names) => {
                w.push("DATABASE ");
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        w.push(", ");
                    }
                    w.ident(n);
                }
                w.push(" ");
            }
            Target::Tables(patterns) => {
                w.push("TABLE ");
                for (i, p) in patterns.iter().enumerate() {
                    if i > 0 {
                        w.push(", ");
                    }
                    p.write(w);
                }
                w.push(" ");
            }
        }
    }
}

/// A table, or every table of a database or schema (`db.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePattern {
    parts: Vec<Ident>,
    all: bool,
}

impl TablePattern {
    /// `db.schema.table` (or `db.table`, or `table` alone), with `*` as the last part for every
    /// table. Names containing `.` cannot be written this way; build them with
    /// [`TablePattern::from_parts`].
    pub fn parse(pattern: &str) -> Result<Self, CockroachError> {
        let mut parts: Vec<&str> = pattern.split('.').collect();
        let all = parts.last() == Some(&"*");
        if all {
            parts.pop();
        }
        let parts = parts
            .into_iter()
            .map(|p| Ident::new("options.tables", p))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(parts, all)
    }

    /// From quoted parts: one to three names, or one or two names followed by `*` when `all`.
    pub fn from_parts(parts: Vec<Ident>, all: bool) -> Result<Self, CockroachError> {
        let max = if all { 2 } else { 3 };
        if parts.is_empty() || parts.len() > max {
            let shown = parts
                .iter()
                .map(Ident::as_str)
                .collect::<Vec<_>>()
                .join(".");
            return Err(CockroachError::invalid(
                "options.tables",
                if all { format!("{shown}.*") } else { shown },
                "a table is [database.][schema.]table, or database[.schema].* for all its tables",
                "e.g. ledger.public.entries or ledger.*",
            ));
        }
        Ok(TablePattern { parts, all })
    }

    fn write(&self, w: &mut SqlWriter) {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                w.push(".");
            }
            w.ident(p);
        }
        if self.all {
            w.push(".*");
        }
    }
}

/// The MVCC time a backup reads at, or a restore goes back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// This long before the statement starts (`'-10s'`). Reading slightly in the past keeps
    /// a backup from contending with foreground traffic.
    Ago(Duration),
    /// A point in time (a restore target; within the revision history's window).
    At(DateTime<Utc>),
}

impl AsOf {
    /// The `-10s` CockroachDB's production guidance uses for backups.
    pub const DEFAULT_BACKUP: AsOf = AsOf::Ago(Duration::from_secs(10));

    fn literal(&self) -> String {
        match self {
            AsOf::Ago(d) if d.subsec_millis() == 0 && d.subsec_nanos() == 0 => {
                format!("-{}s", d.as_secs())
            }
            AsOf::Ago(d) => format!("-{}ms", d.as_millis()),
            // CockroachDB takes a timestamp with zone; microseconds are its MVCC resolution
            // that a user can name.
            AsOf::At(t) => t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
        }
    }
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOf::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            AsOf::Ago(_) => f.write_str(&self.literal()),
        }
    }
}

impl FromStr for AsOf {
    type Err = CockroachError;

    /// `-10s`, `-500ms`, `-5m`, `-2h` (an offset into the past), or an RFC 3339 timestamp such
    /// as `2025-06-01T12:00:00Z`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            CockroachError::invalid(
                "as_of",
                s,
                "a time is an offset into the past (-10s, -500ms, -5m, -2h) or an RFC 3339 timestamp",
                "e.g. -10s or 2025-06-01T12:00:00Z",
            )
        };
        if let Some(rest) = s.strip_prefix('-') {
            let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            let (digits, unit) = rest.split_at(split);
            let n: u64 = digits.parse().map_err(|_| bad())?;
            let d = match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n.saturating_mul(60)),
                "h" => Duration::from_secs(n.saturating_mul(3600)),
                _ => return Err(bad()),
            };
            if d.is_zero() {
                return Err(bad());
            }
            return Ok(AsOf::Ago(d));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| AsOf::At(t.with_timezone(&Utc)))
            .map_err(|_| bad())
    }
}

/// Which backup of a collection to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Subdir {
    /// The most recent full backup and its incrementals (`LATEST`).
    #[default]
    Latest,
    /// A backup's subdirectory as `SHOW BACKUPS IN` lists it, e.g. `2025/06/01-120000.00`.
    Path(String),
}

impl Subdir {
    /// A subdirectory as listed by `SHOW BACKUPS IN`.
    pub fn path(path: impl Into<String>) -> Result<Self, CockroachError> {
        let path = path.into();
        let ok = !path.is_empty()
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
            && !path.split('/').any(|s| s == "..");
        if ok {
            Ok(Subdir::Path(path))
        } else {
            Err(CockroachError::invalid(
                "subdir",
                path.escape_debug().to_string(),
                "a backup subdirectory is digits, letters, '/', '.', '_' and '-'",
                "copy it from `SHOW BACKUPS IN …` (e.g. 2025/06/01-120000.00), or use LATEST",
            ))
        }
    }

    fn write(&self, w: &mut SqlWriter) {
        match self {
            Subdir::Latest => {
                w.push("LATEST");
            }
            Subdir::Path(p) => {
                w.param(Param::text(p.clone()));
            }
        }
    }
}

impl FromStr for Subdir {
    type Err = CockroachError;

    /// `latest` (any case) or a subdirectory as `SHOW BACKUPS IN` lists it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("latest") {
            Ok(Subdir::Latest)
        } else {
            Subdir::path(text)
        }
    }
}

impl fmt::Display for Subdir {
    /// `LATEST` or the subdirectory, as `SHOW BACKUPS IN` lists it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subdir::Latest => f.write_str("LATEST"),
            Subdir::Path(p) => f.write_str(p),
        }
    }
}

/// How backup files are encrypted.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Encryption {
    /// Not encrypted by CockroachDB (the bucket's own encryption at rest still applies).
    #[default]
    None,
    /// Each backup's data key is wrapped by these KMS keys (any one can decrypt).
    Kms(Vec<KmsUri>),
    /// A key derived from a passphrase. The passphrase is never shown.
    Passphrase(Secret),
}

impl Encryption {
    /// Checks KMS URIs and the passphrase's length.
    pub fn validate(&self) -> Result<(), CockroachError> {
        match self {
            Encryption::None => Ok(()),
            Encryption::Kms(keys) if keys.is_empty() => Err(CockroachError::invalid(
                "options.kms",
                "",
                "name at least one KMS key",
                "give a KMS key, or no encryption",
            )),
            Encryption::Kms(keys) => keys.iter().try_for_each(KmsUri::validate),
            Encryption::Passphrase(p) if p.expose().len() < 8 => Err(CockroachError::invalid(
                "options.encryption_passphrase",
                REDACTED,
                "a passphrase has at least 8 characters",
                "use a long random passphrase kept in a secret store",
            )),
            Encryption::Passphrase(_) => Ok(()),
        }
    }

    /// Encryption with a passphrase read from `path` (one trailing newline, `\n` or `\r\n`,
    /// is not part of it). The plan checks its length.
    pub fn passphrase_from_file(path: &Path) -> Result<Self, CockroachError> {
        let raw = std::fs::read_to_string(path).map_err(|e| {
            CockroachError::invalid(
                "options.encryption_passphrase",
                path.display().to_string(),
                format!("the passphrase file cannot be read ({e})"),
                "give a readable file holding the backup passphrase",
            )
        })?;
        let pass = raw.strip_suffix('\n').unwrap_or(&raw);
        let pass = pass.strip_suffix('\r').unwrap_or(pass);
        Ok(Encryption::Passphrase(Secret::new(pass)))
    }

    /// Encryption with the KMS keys of these URIs (any one can decrypt), or none when the list
    /// is empty. Each URI is parsed as [`KmsUri`]'s `FromStr` reads it.
    pub fn from_kms_uris<S: AsRef<str>>(uris: &[S]) -> Result<Self, CockroachError> {
        if uris.is_empty() {
            return Ok(Encryption::None);
        }
        uris.iter()
            .map(|u| u.as_ref().parse::<KmsUri>())
            .collect::<Result<Vec<_>, _>>()
            .map(Encryption::Kms)
    }

    /// These keys with `role` as the `ASSUME_ROLE` of each key of `provider`'s cloud that has
    /// none of its own ([`KmsUri::with_default_role`]); a passphrase or no encryption as it is.
    pub fn with_default_role(self, provider: thinledger_topology::Provider, role: &str) -> Self {
        match self {
            Encryption::Kms(keys) => Encryption::Kms(
                keys.into_iter()
                    .map(|k| k.with_default_role(provider, role))
                    .collect(),
            ),
            other => other,
        }
    }

    fn write_option(&self, w: &mut SqlWriter) -> bool {
        match self {
            Encryption::None => false,
            Encryption::Kms(keys) => {
                w.push("kms = ");
                w.param_list(keys.iter().map(|k| Param::text(k.uri())).collect());
                true
            }
            Encryption::Passphrase(p) => {
                w.push("encryption_passphrase = ");
                w.param(Param::sensitive(
                    p.expose().to_owned(),
                    REDACTED.to_owned(),
                    vec![p.clone()],
                ));
                true
            }
        }
    }
}

/// Writes ` WITH a, b, …` for the options that are set.
fn write_with(w: &mut SqlWriter, flags: &[(&'static str, bool)], encryption: &Encryption) {
    let mut first = true;
    let mut sep = |w: &mut SqlWriter| {
        w.push(if first { " WITH " } else { ", " });
        first = false;
    };
    for (flag, on) in flags {
        if *on {
            sep(w);
            w.push(flag);
        }
    }
    if !matches!(encryption, Encryption::None) {
        sep(w);
        encryption.write_option(w);
    }
}

/// Full (a new backup in the collection) or incremental (on top of the latest full one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackupMode {
    /// `BACKUP … INTO …`: a new full backup.
    #[default]
    Full,
    /// `BACKUP … INTO LATEST IN …`: an incremental on the latest full backup.
    Incremental,
}

/// `BACKUP [target] INTO [LATEST IN] uri… [AS OF SYSTEM TIME …] [WITH …]`.
#[derive(Clone, Debug)]
pub struct BackupStatement {
    /// What to back up.
    pub target: Target,
    /// Where.
    pub destination: Destination,
    /// Full or incremental.
    pub mode: BackupMode,
    /// Read time (default `-10s`).
    pub as_of: Option<AsOf>,
    /// Keep every MVCC revision so a restore can go to any time the chain covers (PITR).
    pub revision_history: bool,
    /// Encryption.
    pub encryption: Encryption,
    /// Return the job id at once instead of waiting (how the driver tracks the job).
    pub detached: bool,
}

impl Statement for BackupStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("BACKUP ");
        self.target.write(&mut w);
        w.push("INTO ");
        if self.mode == BackupMode::Incremental {
            w.push("LATEST IN ");
        }
        w.param_list(self.destination.params());
        if let Some(as_of) = &self.as_of {
            w.push(" AS OF SYSTEM TIME ").literal(&as_of.literal());
        }
        write_with(
            &mut w,
            &[
                ("revision_history", self.revision_history),
                ("detached", self.detached),
            ],
            &self.encryption,
        );
        w.finish(match self.mode {
            BackupMode::Full => "BACKUP",
            BackupMode::Incremental => "BACKUP … INTO LATEST",
        })
    }
}

impl fmt::Display for BackupStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// A crontab expression (`0 * * * *`) or macro (`@hourly`, `@daily`, `@weekly`, …) as
/// CockroachDB's scheduler reads them (UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crontab(String);

impl Crontab {
    /// Checks the shape: a macro, or five fields of digits, `*`, `/`, `,`, `-` and names.
    pub fn new(field: &str, expr: impl Into<String>) -> Result<Self, CockroachError> {
        let expr = expr.into();
        let macros = [
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let ok = macros.contains(&expr.as_str())
            || (fields.len() == 5
                && fields.iter().all(|f| {
                    f.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"*/,-?".contains(&b))
                }));
        if ok {
            Ok(Crontab(fields.join(" ")))
        } else {
            Err(CockroachError::invalid(
                field,
                expr.escape_debug().to_string(),
                "a schedule is a 5-field crontab (minute hour day month weekday, UTC) or @hourly, @daily, @weekly, @monthly, @yearly",
                "e.g. '0 * * * *' or @hourly",
            ))
        }
    }

    /// `@hourly`.
    pub fn hourly() -> Self {
        Crontab("@hourly".to_owned())
    }

    /// `@daily` (midnight UTC).
    pub fn daily() -> Self {
        Crontab("@daily".to_owned())
    }

    /// The expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Crontab {
    type Err = CockroachError;

    /// [`Crontab::new`] for the schedule's `recurring` cadence (the field errors name).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Crontab::new("recurring", text)
    }
}

/// When the full backups of a schedule run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FullBackup {
    /// Every run is a full backup (`FULL BACKUP ALWAYS`).
    Always,
    /// Full backups on this schedule, incrementals on the `RECURRING` one in between.
    Every(Crontab),
}

impl FromStr for FullBackup {
    type Err = CockroachError;

    /// `always` (any case) or a crontab expression or macro (errors name `full_backup`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("always") {
            return Ok(FullBackup::Always);
        }
        Crontab::new("full_backup", text).map(FullBackup::Every)
    }
}

/// When a new schedule first runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FirstRun {
    /// At once (`first_run = 'now'`).
    #[default]
    Now,
    /// At the schedule's next time (the option is left out).
    NextScheduled,
    /// At a given time.
    At(DateTime<Utc>),
}

impl FromStr for FirstRun {
    type Err = CockroachError;

    /// `now`, `next` (the schedule's next time) or an RFC 3339 time.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "now" => Ok(FirstRun::Now),
            "next" => Ok(FirstRun::NextScheduled),
            _ => match text.parse::<AsOf>() {
                Ok(AsOf::At(t)) => Ok(FirstRun::At(t)),
                _ => Err(CockroachError::invalid(
                    "first_run",
                    text.escape_debug().to_string(),
                    "a first run is now, next or an RFC 3339 time",
                    "e.g. now, next or 2025-06-01T02:00:00Z",
                )),
            },
        }
    }
}

/// What a schedule does when a run fails (`on_execution_failure`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// Retry soon.
    Retry,
    /// Wait for the next scheduled time (CockroachDB's default).
    #[default]
    Reschedule,
    /// Pause the schedule until someone resumes it.
    Pause,
}

/// What a schedule does when the previous run is still going (`on_previous_running`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnPreviousRunning {
    /// Start anyway.
    Start,
    /// Skip this run.
    Skip,
    /// Wait for the previous run (CockroachDB's default).
    #[default]
    Wait,
}

/// `CREATE SCHEDULE IF NOT EXISTS label FOR BACKUP … RECURRING … FULL BACKUP … WITH SCHEDULE
/// OPTIONS …`.
#[derive(Clone, Debug)]
pub struct CreateScheduleStatement {
    /// The schedule's label (unique: `IF NOT EXISTS` makes creating it again a no-op).
    pub label: String,
    /// What to back up.
    pub target: Target,
    /// Where.
    pub destination: Destination,
    /// Keep MVCC revisions (PITR).
    pub revision_history: bool,
    /// Encryption. With a passphrase, CockroachDB keeps it in the schedule.
    pub encryption: Encryption,
    /// Cadence (backups `recurring`, incrementals when `full_backup` is a different schedule),
    /// first run and policies. Its `label` is not read: [`label`](Self::label) is the one.
    pub schedule: ScheduleOptions,
}

impl Statement for CreateScheduleStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("CREATE SCHEDULE IF NOT EXISTS ")
            .param(Param::text(self.label.clone()))
            .push(" FOR BACKUP ");
        self.target.write(&mut w);
        w.push("INTO ");
        w.param_list(self.destination.params());
        write_with(
            &mut w,
            &[("revision_history", self.revision_history)],
            &self.encryption,
        );
        w.push(" RECURRING ")
            .param(Param::text(self.schedule.recurring.as_str()));
        match &self.schedule.full_backup {
            FullBackup::Always => {
                w.push(" FULL BACKUP ALWAYS");
            }
            FullBackup::Every(cron) => {
                w.push(" FULL BACKUP ").param(Param::text(cron.as_str()));
            }
        }
        w.push(" WITH SCHEDULE OPTIONS ");
        match self.schedule.first_run {
            FirstRun::Now => {
                w.push("first_run = 'now', ");
            }
            FirstRun::At(t) => {
                w.push("first_run = ")
                    .literal(&AsOf::At(t).literal())
                    .push(", ");
            }
            FirstRun::NextScheduled => {}
        }
        w.push("on_execution_failure = ")
            .push(match self.schedule.on_execution_failure {
                OnFailure::Retry => "'retry'",
                OnFailure::Reschedule => "'reschedule'",
                OnFailure::Pause => "'pause'",
            })
            .push(", on_previous_running = ")
            .push(match self.schedule.on_previous_running {
                OnPreviousRunning::Start => "'start'",
                OnPreviousRunning::Skip => "'skip'",
                OnPreviousRunning::Wait => "'wait'",
            });
        if self.schedule.ignore_existing_backups {
            w.push(", ignore_existing_backups");
        }
        w.finish("CREATE SCHEDULE FOR BACKUP")
    }
}

impl fmt::Display for CreateScheduleStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// `SHOW BACKUPS IN uri`: the backups of a collection (one row per full backup subdirectory).
#[derive(Clone, Debug)]
pub struct ShowBackupsStatement {
    /// The collection (for a locality-aware one, its default URI).
    pub collection: StorageUri,
}

impl Statement for ShowBackupsStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("SHOW BACKUPS IN ").param(self.collection.to_param());
        w.finish("SHOW BACKUPS")
    }
}

impl fmt::Display for ShowBackupsStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// `SHOW BACKUP FROM subdir IN uri… [WITH check_files, …]`: a backup's contents; with
/// `check_files`, CockroachDB also checks that every file the backup needs is in storage.
#[derive(Clone, Debug)]
pub struct ShowBackupStatement {
    /// Which backup.
    pub subdir: Subdir,
    /// The collection.
    pub destination: Destination,
    /// Check that every SST and metadata file is present and readable.
    pub check_files: bool,
    /// The encryption the backup was taken with.
    pub encryption: Encryption,
}

impl Statement for ShowBackupStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("SHOW BACKUP FROM ");
        self.subdir.write(&mut w);
        w.push(" IN ");
        w.param_list(self.destination.params());
        write_with(
            &mut w,
            &[("check_files", self.check_files)],
            &self.encryption,
        );
        w.finish(if self.check_files {
            CHECK_FILES_LABEL
        } else {
            "SHOW BACKUP"
        })
    }
}

impl fmt::Display for ShowBackupStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// `RESTORE [target] FROM subdir IN uri… [AS OF SYSTEM TIME …] [WITH …]`.
#[derive(Clone, Debug)]
pub struct RestoreStatement {
    /// What to restore (a cluster restore needs an empty cluster).
    pub target: Target,
    /// Which backup chain.
    pub subdir: Subdir,
    /// The collection.
    pub destination: Destination,
    /// Point in time to restore to (needs `revision_history` backups covering it); the end
    /// of the chain when `None`.
    pub as_of: Option<AsOf>,
    /// The encryption the backup was taken with.
    pub encryption: Encryption,
    /// Restore a single database under another name (`new_db_name`), e.g. for a drill.
    pub new_db_name: Option<String>,
    /// Restore tables into this existing database (`into_db`).
    pub into_db: Option<String>,
    /// Return the job id at once (how the driver tracks the job).
    pub detached: bool,
}

impl Statement for RestoreStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        w.push("RESTORE ");
        self.target.write(&mut w);
        w.push("FROM ");
        self.subdir.write(&mut w);
        w.push(" IN ");
        w.param_list(self.destination.params());
        if let Some(as_of) = &self.as_of {
            w.push(" AS OF SYSTEM TIME ").literal(&as_of.literal());
        }
        write_with(&mut w, &[("detached", self.detached)], &self.encryption);
        let mut any = self.detached || !matches!(self.encryption, Encryption::None);
        for (key, value) in [
            ("new_db_name = ", &self.new_db_name),
            ("into_db = ", &self.into_db),
        ] {
            if let Some(v) = value {
                w.push(if any { ", " } else { " WITH " });
                any = true;
                w.push(key).param(Param::text(v.clone()));
            }
        }
        w.finish("RESTORE")
    }
}

impl RestoreStatement {
    /// Checks that the options fit the target.
    pub fn validate(&self) -> Result<(), CockroachError> {
        self.encryption.validate()?;
        if let Some(name) = &self.new_db_name {
            Ident::new("restore.new_db_name", name.clone())?;
            if !matches!(&self.target, Target::Databases(d) if d.len() == 1) {
                return Err(CockroachError::invalid(
                    "restore.new_db_name",
                    name.clone(),
                    "a new database name applies to restoring exactly one database",
                    "restore one database, or drop new_db_name",
                ));
            }
        }
        if let Some(name) = &self.into_db {
            Ident::new("restore.into_db", name.clone())?;
            if !matches!(self.target, Target::Tables(_)) {
                return Err(CockroachError::invalid(
                    "restore.into_db",
                    name.clone(),
                    "into_db applies to restoring tables",
                    "restore tables, or drop into_db",
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for RestoreStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("-10s", AsOf::Ago(Duration::from_secs(10)), "-10s")]
    #[case("-500ms", AsOf::Ago(Duration::from_millis(500)), "-500ms")]
    #[case("-5m", AsOf::Ago(Duration::from_secs(300)), "-300s")]
    #[case("-2h", AsOf::Ago(Duration::from_secs(7200)), "-7200s")]
    #[case(
        "2025-06-01T12:00:00.5+02:00",
        AsOf::At(DateTime::parse_from_rfc3339("2025-06-01T10:00:00.5Z").unwrap().with_timezone(&Utc)),
        "2025-06-01 10:00:00.500000+00:00"
    )]
    fn as_of_parses_and_renders(#[case] input: &str, #[case] parsed: AsOf, #[case] literal: &str) {
        let a: AsOf = input.parse().unwrap();
        assert_eq!(a, parsed);
        assert_eq!(a.literal(), literal);
    }

    #[rstest]
    #[case("10s")]
    #[case("-0s")]
    #[case("-10d")]
    #[case("-10s'; DROP DATABASE x; --")]
    #[case("yesterday")]
    fn as_of_refuses_anything_else(#[case] input: &str) {
        let err = input.parse::<AsOf>().unwrap_err().to_string();
        assert!(err.starts_with("as_of:"), "{err}");
    }

    #[rstest]
    #[case("@hourly", true)]
    #[case("0 */4 * * *", true)]
    #[case("0 3 * * MON-FRI", true)]
    #[case("0 3 * *", false)]
    #[case("@every 5m", false)]
    #[case("0 3 * * *'; --", false)]
    fn crontabs(#[case] expr: &str, #[case] ok: bool) {
        assert_eq!(Crontab::new("schedule", expr).is_ok(), ok, "{expr}");
    }

    #[rstest]
    #[case("ledger.public.entries", r#""ledger"."public"."entries""#)]
    #[case("ledger.*", r#""ledger".*"#)]
    #[case("entries", r#""entries""#)]
    fn table_patterns(#[case] pattern: &str, #[case] sql: &str) {
        let mut w = SqlWriter::new();
        TablePattern::parse(pattern).unwrap().write(&mut w);
        assert_eq!(w.finish("t").sql(), sql);
    }

    #[rstest]
    #[case("a.b.c.d")]
    #[case("a.b.c.*")]
    #[case("a..b")]
    #[case("*")]
    fn bad_table_patterns(#[case] pattern: &str) {
        assert!(TablePattern::parse(pattern).is_err(), "{pattern}");
    }

    #[rstest]
    #[case("2025/06/01-120000.00", true)]
    #[case("/2025/06/01-120000.00", true)]
    #[case("../x", false)]
    #[case("x' OR '1", false)]
    fn subdirs(#[case] path: &str, #[case] ok: bool) {
        assert_eq!(Subdir::path(path).is_ok(), ok, "{path}");
    }
}
