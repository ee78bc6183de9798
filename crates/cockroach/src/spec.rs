//! What a user declares for a tenant's CockroachDB backups, as a command line or a config file
//! gives it (a tenant file, names, URIs, files), and the one step from it to the plan.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thinledger_store::Invalid;
use thinledger_topology::Tenant;

use super::error::CockroachError;
use super::plan::{CockroachBackupOptions, CockroachBackupPlan, ScheduleOptions};
use super::statement::{Encryption, Target};
use super::uri::{MinioAuth, S3Credentials};

/// One region's bucket for locality-aware backups; reads and prints as `REGION=BUCKET`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionalBucket {
    /// The tenant's region whose nodes write there, e.g. `us-west-2`.
    pub region: String,
    /// The bucket, e.g. `acme-ledger-backups-us-west-2`.
    pub bucket: String,
}

impl RegionalBucket {
    /// `bucket` for the nodes of `region` (the plan checks both against the tenant).
    pub fn new(region: impl Into<String>, bucket: impl Into<String>) -> Self {
        RegionalBucket {
            region: region.into(),
            bucket: bucket.into(),
        }
    }
}

impl FromStr for RegionalBucket {
    type Err = CockroachError;

    /// `REGION=BUCKET`, both non-empty (field `options.regional_buckets`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((region, bucket)) if !region.is_empty() && !bucket.is_empty() => {
                Ok(RegionalBucket::new(region, bucket))
            }
            _ => Err(CockroachError::invalid(
                "options.regional_buckets",
                text.escape_debug().to_string(),
                "a regional bucket is REGION=BUCKET",
                "write e.g. us-west-2=acme-ledger-backups-us-west-2",
            )),
        }
    }
}

impl fmt::Display for RegionalBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.region, self.bucket)
    }
}

/// What a user declares for a tenant's CockroachDB backups: the tenant file and the
/// selections, as text. [`CockroachBackupSpec::plan`] reads the files and the keys they name
/// and computes the [`CockroachBackupPlan`]; its errors name the input at fault
/// ([`CockroachError::input`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CockroachBackupSpec {
    /// The tenant file (provider, bucket, identity), as `ledger-topology` reads it.
    pub tenant_file: PathBuf,
    /// Collection path inside the bucket (default `cockroach/<tenant>-<environment>`).
    pub path: Option<String>,
    /// Back up / restore these databases instead of the whole cluster.
    pub databases: Vec<String>,
    /// Back up / restore these tables (`db.schema.table`, `db.table` or `db.*`).
    pub tables: Vec<String>,
    /// `AWS_REGION` of the bucket.
    pub aws_region: Option<String>,
    /// Role (AWS ARN) or service account (GCP) the nodes assume.
    pub assume_role: Option<String>,
    /// Locality-aware backups: one bucket per region.
    pub regional_buckets: Vec<RegionalBucket>,
    /// KMS URIs to encrypt with ([`crate::KmsUri`]'s text form; any one can decrypt).
    pub kms: Vec<String>,
    /// A file holding the encryption passphrase (one trailing newline ignored).
    pub encryption_passphrase_file: Option<PathBuf>,
    /// On-prem MinIO: where the keys come from (default [`MinioAuth::Keys`], read from the
    /// variables the tenant's `secret-ref` binding names).
    pub minio_auth: Option<MinioAuth>,
    /// The schedule.
    pub schedule: ScheduleOptions,
}

impl CockroachBackupSpec {
    /// The defaults for the tenant in `tenant_file`.
    pub fn new(tenant_file: impl Into<PathBuf>) -> Self {
        CockroachBackupSpec {
            tenant_file: tenant_file.into(),
            ..CockroachBackupSpec::default()
        }
    }

    /// Reads the tenant file, the passphrase file and (on-prem, with keys) the MinIO keys
    /// through `env` (e.g. `|name| std::env::var(name).ok()`), and computes the plan.
    pub fn plan(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<CockroachBackupPlan, CockroachError> {
        let tenant = read_tenant(&self.tenant_file)?;
        let s3_credentials = S3Credentials::for_tenant(&tenant, self.minio_auth, env)?;
        let encryption = match &self.encryption_passphrase_file {
            Some(_) if !self.kms.is_empty() => {
                return Err(CockroachError::invalid(
                    "options.kms",
                    self.kms.join(" "),
                    "backups are encrypted with KMS keys or with a passphrase, not both",
                    "leave out the KMS keys or the passphrase file",
                ));
            }
            Some(file) => Encryption::passphrase_from_file(file)?,
            None => Encryption::from_kms_uris(&self.kms)?,
        };
        let mut options = CockroachBackupOptions::default()
            .with_target(Target::select(&self.databases, &self.tables)?)
            .with_regional_buckets(self.regional_buckets.iter().cloned())
            .with_s3_credentials(s3_credentials)
            .with_encryption(encryption)
            .with_schedule(self.schedule.clone());
        options.path.clone_from(&self.path);
        options.aws_region.clone_from(&self.aws_region);
        options.assume_role.clone_from(&self.assume_role);
        CockroachBackupPlan::for_tenant(&tenant, &options)
    }
}

/// The tenant in `path`, checked.
fn read_tenant(path: &Path) -> Result<Tenant, CockroachError> {
    let failed = |reason: String| CockroachError::TenantFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        failed(format!(
            "cannot read the tenant file ({e}); give the path of a tenant file such as examples/tenants/aws.yaml"
        ))
    })?;
    Tenant::from_yaml(&text).map_err(|e| failed(format!("the tenant file is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::Statement;
    use rstest::rstest;

    #[rstest]
    #[case::plain(
        "us-west-2=acme-ledger-backups-us-west-2",
        "us-west-2",
        "acme-ledger-backups-us-west-2"
    )]
    #[case::equals_in_bucket("eu=a=b", "eu", "a=b")]
    fn regional_buckets_read_region_equals_bucket(
        #[case] text: &str,
        #[case] region: &str,
        #[case] bucket: &str,
    ) {
        let b: RegionalBucket = text.parse().unwrap();
        assert_eq!(b, RegionalBucket::new(region, bucket));
        assert_eq!(b.to_string(), text);
    }

    #[rstest]
    #[case::no_equals("us-west-2")]
    #[case::no_region("=bucket")]
    #[case::no_bucket("us-west-2=")]
    #[case::empty("")]
    fn regional_bucket_without_both_parts_is_refused(#[case] text: &str) {
        let e = text.parse::<RegionalBucket>().unwrap_err();
        assert_eq!(e.input(), Some("regional-bucket"));
        let shown = e.to_string();
        assert!(
            shown.starts_with("options.regional_buckets: ") && shown.contains("REGION=BUCKET"),
            "{shown}"
        );
    }

    const TENANT: &str = "tenant: acme-bank
environment: prod
ring: ring-2-prod
tier: prod
provider: aws
regions: [{name: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c]}]
cockroachdb: {version: v25.2.4, nodes: 3}
redpanda: {version: v25.1.9}
backup:
  bucket: acme-ledger-backups
  identity: {kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}
";

    fn tenant_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_spec_reads_its_files_into_the_plan() {
        let (dir, path) = tenant_file(TENANT);
        let pass = dir.path().join("passphrase");
        std::fs::write(&pass, "correct horse battery staple\n").unwrap();
        let mut spec = CockroachBackupSpec::new(&path);
        spec.databases = vec!["ledger".into()];
        spec.path = Some("crdb/main".into());
        spec.encryption_passphrase_file = Some(pass);
        let plan = spec.plan(no_env).unwrap();
        assert_eq!(plan.tenant(), "acme-bank-prod");
        assert_eq!(plan.target(), &Target::databases(["ledger"]).unwrap());
        let full = plan.full_backup().render();
        assert!(
            full.display().starts_with(
                "BACKUP DATABASE \"ledger\" INTO 's3://acme-ledger-backups/crdb/main?AUTH=implicit'"
            ) && full
                .display()
                .contains("encryption_passphrase = 'redacted'"),
            "{}",
            full.display()
        );
    }

    #[rstest]
    #[case::missing_file(None, "cannot read the tenant file")]
    #[case::not_a_tenant(Some("tenant: [1]"), "the tenant file is not valid")]
    fn an_unusable_tenant_file_names_its_path(#[case] text: Option<&str>, #[case] reason: &str) {
        let (_dir, path) = tenant_file(text.unwrap_or(""));
        let path = if text.is_none() {
            path.with_file_name("absent.yaml")
        } else {
            path
        };
        let e = CockroachBackupSpec::new(&path).plan(no_env).unwrap_err();
        assert!(e.is_input());
        assert_eq!(e.input(), Some("tenant"));
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}: {reason}", path.display())),
            "{shown}"
        );
    }

    #[rstest]
    #[case::kms_and_passphrase(
        |s: &mut CockroachBackupSpec, dir: &Path| {
            s.kms = vec!["aws-kms:///alias/k?REGION=us-east-1".into()];
            s.encryption_passphrase_file = Some(dir.join("tenant.yaml"));
        },
        "kms"
    )]
    #[case::database_and_table(
        |s: &mut CockroachBackupSpec, _: &Path| {
            s.databases = vec!["a".into()];
            s.tables = vec!["a.b".into()];
        },
        "table"
    )]
    #[case::unknown_region(
        |s: &mut CockroachBackupSpec, _: &Path| {
            s.regional_buckets = vec![RegionalBucket::new("eu-west-1", "b2")];
        },
        "regional-bucket"
    )]
    #[case::minio_auth_on_aws(
        |s: &mut CockroachBackupSpec, _: &Path| s.minio_auth = Some(MinioAuth::Implicit),
        "minio-credentials"
    )]
    fn bad_selections_name_their_input(
        #[case] edit: fn(&mut CockroachBackupSpec, &Path),
        #[case] input: &str,
    ) {
        let (dir, path) = tenant_file(TENANT);
        let mut spec = CockroachBackupSpec::new(&path);
        edit(&mut spec, dir.path());
        let e = spec.plan(no_env).unwrap_err();
        assert!(e.is_input(), "{e}");
        assert_eq!(e.input(), Some(input), "{e}");
    }
}
