//! `bucket check|plan|apply`: the repository's bucket against a bank's rules (versioning,
//! object lock, encryption, public access, TLS, lifecycle tiers and cleanup), through the
//! cloud's control plane (`thinledger_backup::bucket`).

use clap::{Args, Subcommand};
use thinledger_backup::bucket::{
    BucketBuilder, BucketError, BucketOptions, BucketReport, ChangeResult, Finding, LockMode,
    RetentionPolicy,
};
use thinledger_cli::{EXIT_FAILED, EXIT_OK};

use crate::context::{Globals, bad};
use crate::output::print_data;

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Report what the repository's bucket lacks (exit 1 with findings).
    Check(BucketArgs),
    /// Show the changes `apply` would make, and the findings left to the bucket's owner.
    Plan(BucketArgs),
    /// Make the planned changes the identity may, then check again (exit 1 while findings
    /// remain).
    Apply(BucketArgs),
}

#[derive(Debug, Args)]
pub struct BucketArgs {
    /// The tenant's KMS key (ARN or key id; Azure: the encryption scope's name; GCS: the Cloud
    /// KMS key name): default encryption must use it. Default: the repository URL's
    /// sse_kms_key_id (Azure: encryption_scope; GCS: kms_key_name), if any.
    #[arg(long, value_name = "KEY", env = "THINLEDGER_BUCKET_KMS_KEY")]
    kms_key: Option<String>,
    /// The repository is immutable: the bucket needs object lock with a default retention
    /// (GCS: Object Retention Lock enabled); with MODE (and --retain), at least that mode and
    /// retention. Default: the policy the repository recorded (`init --object-lock`), read from
    /// the bucket; this flag wins.
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "any")]
    object_lock: Option<ExpectedLock>,
    /// The retention the bucket's default must reach (with --object-lock MODE), e.g. 30d.
    #[arg(long, value_name = "DURATION", value_parser = crate::context::parse_duration)]
    retain: Option<std::time::Duration>,
    /// Expire noncurrent versions after this many days (the lifecycle rule `apply` adds).
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    noncurrent_days: u32,
    /// Abort incomplete multipart uploads after this many days (the rule `apply` adds).
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    multipart_days: u32,
}

/// `--object-lock` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExpectedLock {
    /// Any default retention.
    Any,
    /// Governance mode or stronger.
    Governance,
    /// Compliance mode.
    Compliance,
}

impl BucketArgs {
    fn options(&self) -> anyhow::Result<BucketOptions> {
        let mut options = BucketOptions::default()
            .with_immutable(self.object_lock.is_some())
            .with_noncurrent_expiry_days(self.noncurrent_days)
            .with_abort_multipart_days(self.multipart_days);
        let mode = match self.object_lock {
            Some(ExpectedLock::Governance) => Some(LockMode::Governance),
            Some(ExpectedLock::Compliance) => Some(LockMode::Compliance),
            _ => None,
        };
        match (mode, self.retain) {
            (Some(mode), Some(retain)) => {
                options = options.with_lock_policy(RetentionPolicy::new(mode, retain))
            }
            (Some(_), None) => {
                return Err(bad(
                    "--object-lock MODE needs --retain DURATION (the retention the bucket's default must reach)",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "--retain needs --object-lock governance|compliance (the mode the bucket's default must have)",
                ));
            }
            (None, None) => {}
        }
        Ok(match &self.kms_key {
            Some(key) => options.with_kms_key(key),
            None => options,
        })
    }
}

pub async fn run(g: &Globals, c: &BucketCommand) -> anyhow::Result<u8> {
    let url = g.repo_url()?;
    let bucket = BucketBuilder::from_env(&url)
        .build()
        .map_err(|e| bad(format!("--repo: {e}")))?;
    match c {
        BucketCommand::Check(a) => {
            let report = bucket.check(&a.options()?).await.map_err(refused)?;
            print_data(g, &report, |out| write_report(out, &report))?;
            Ok(exit(report.passed()))
        }
        BucketCommand::Plan(a) => {
            let plan = bucket.plan(&a.options()?).await.map_err(refused)?;
            print_data(g, &plan, |out| {
                if plan.is_empty() {
                    return writeln!(out, "bucket {}: nothing to change", plan.bucket);
                }
                for change in &plan.changes {
                    writeln!(out, "change  {}", change.describe_on(plan.provider))?;
                }
                for f in &plan.manual {
                    write_finding(out, "manual", f)?;
                }
                writeln!(
                    out,
                    "{} change(s) for `bucket apply`, {} left to the bucket's owner",
                    plan.changes.len(),
                    plan.manual.len()
                )
            })?;
            Ok(EXIT_OK as u8)
        }
        BucketCommand::Apply(a) => {
            let applied = bucket.apply(&a.options()?).await.map_err(refused)?;
            print_data(g, &applied, |out| {
                let provider = applied.plan.provider;
                for o in &applied.outcomes {
                    let change = o.change.describe_on(provider);
                    match &o.result {
                        ChangeResult::Applied => writeln!(out, "applied {change}")?,
                        ChangeResult::Denied { permission, .. } => {
                            writeln!(out, "denied  {change} (the identity needs {permission})")?
                        }
                        _ => writeln!(out, "?       {change}")?,
                    }
                }
                write_report(out, &applied.after)
            })?;
            Ok(exit(applied.after.passed()))
        }
    }
}

/// A repository record `check` cannot trust is bad input (exit 2), not findings (exit 1):
/// the bucket was not judged.
fn refused(e: BucketError) -> anyhow::Error {
    match e {
        BucketError::PolicyRecord { .. } => bad(e.to_string()),
        other => other.into(),
    }
}

fn exit(passed: bool) -> u8 {
    (if passed { EXIT_OK } else { EXIT_FAILED }) as u8
}

fn write_report(out: &mut dyn std::io::Write, report: &BucketReport) -> std::io::Result<()> {
    for f in &report.findings {
        write_finding(out, &format!("{:?}", f.severity).to_uppercase(), f)?;
    }
    // Settings the credentials cannot see (Azure's account settings): neither met nor failed.
    for n in &report.unverified {
        let rule = n.rule.map(|r| r.as_str()).unwrap_or("-");
        writeln!(out, "UNSEEN  {rule}  {}", n.setting)?;
        writeln!(out, "        {}", n.check_with)?;
    }
    if report.passed() && report.unverified.is_empty() {
        writeln!(out, "bucket {}: every rule met", report.bucket)
    } else if report.passed() {
        writeln!(
            out,
            "bucket {}: every rule it could see met; {} setting(s) not visible, check them as listed",
            report.bucket,
            report.unverified.len()
        )
    } else {
        let fixable = report.findings.iter().filter(|f| f.applicable).count();
        writeln!(
            out,
            "bucket {}: {} finding(s), {fixable} fixed by `bucket apply`",
            report.bucket,
            report.findings.len()
        )
    }
}

fn write_finding(out: &mut dyn std::io::Write, label: &str, f: &Finding) -> std::io::Result<()> {
    writeln!(out, "{label:<7} {}  {}", f.rule, f.message)?;
    writeln!(out, "        fix: {}", f.fix)
}
