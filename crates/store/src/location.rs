//! Store URLs: what they may say and how they are checked.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};

use super::encryption::{self, EncryptionOptions, SseMode};
use super::error::{Invalid, StoreError};
use super::secret::REDACTED;

/// The kind of object store a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// A folder on a local or mounted file system.
    Local,
    /// Amazon S3 or an S3-compatible server such as MinIO.
    S3,
    /// Azure Blob Storage.
    Azure,
    /// Google Cloud Storage.
    Gcs,
}

impl StoreKind {
    /// Short name used in messages: `local`, `s3`, `azure`, `gcs`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Local => "local",
            StoreKind::S3 => "s3",
            StoreKind::Azure => "azure",
            StoreKind::Gcs => "gcs",
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a store lives: a folder, or a bucket (container) plus a prefix inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// `file:///abs/path` or a plain path; relative paths are made absolute against the
    /// current directory when the URL is parsed.
    Local {
        /// The folder holding the objects.
        root: PathBuf,
    },
    /// `s3://bucket/prefix`.
    S3 {
        /// The bucket name.
        bucket: String,
        /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// `az://container/prefix`; the storage account comes from the options.
    Azure {
        /// The container name.
        container: String,
        /// Blob-name prefix inside the container (may be empty).
        prefix: String,
    },
    /// `gs://bucket/prefix`.
    Gcs {
        /// The bucket name.
        bucket: String,
        /// Object-name prefix inside the bucket (may be empty).
        prefix: String,
    },
}

impl StoreLocation {
    /// The kind of store.
    pub fn kind(&self) -> StoreKind {
        match self {
            StoreLocation::Local { .. } => StoreKind::Local,
            StoreLocation::S3 { .. } => StoreKind::S3,
            StoreLocation::Azure { .. } => StoreKind::Azure,
            StoreLocation::Gcs { .. } => StoreKind::Gcs,
        }
    }

    /// The prefix inside the bucket or container (empty for a local folder).
    pub fn prefix(&self) -> &str {
        match self {
            StoreLocation::Local { .. } => "",
            StoreLocation::S3 { prefix, .. }
            | StoreLocation::Azure { prefix, .. }
            | StoreLocation::Gcs { prefix, .. } => prefix,
        }
    }

    /// For a local folder: refuses a path that is, or lies under, something other than a
    /// directory (a regular file, a device), which the store would otherwise report as a
    /// raw I/O error on its first read. A path that does not exist yet is fine (`init`
    /// creates it). Other stores have nothing to check locally.
    pub fn check_local_directory(&self) -> Result<(), StoreError> {
        let StoreLocation::Local { root } = self else {
            return Ok(());
        };
        // The nearest part of the path that exists must be a directory.
        let Some((existing, meta)) = root
            .ancestors()
            .find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))
        else {
            return Ok(());
        };
        if meta.is_dir() {
            return Ok(());
        }
        let what = if meta.is_file() {
            "a regular file"
        } else {
            "not a directory"
        };
        let rule = if existing == root.as_path() {
            format!("a repository is a directory, and this is {what}")
        } else {
            format!(
                "a repository is a directory, and {} on its path is {what}",
                existing.display()
            )
        };
        Err(StoreError::invalid(
            "url.path",
            root.display().to_string(),
            rule,
            "give the repository's directory (the one holding `config`), or a new path for `init`",
        ))
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, bucket, prefix) = match self {
            StoreLocation::Local { root } => return write!(f, "file://{}", root.display()),
            StoreLocation::S3 { bucket, prefix } => ("s3", bucket, prefix),
            StoreLocation::Azure { container, prefix } => ("az", container, prefix),
            StoreLocation::Gcs { bucket, prefix } => ("gs", bucket, prefix),
        };
        if prefix.is_empty() {
            write!(f, "{scheme}://{bucket}")
        } else {
            write!(f, "{scheme}://{bucket}/{prefix}")
        }
    }
}

/// Settings a URL may carry in its query string (`?endpoint=…&region=…`). Secrets may not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UrlSettings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub allow_http: Option<bool>,
    pub account: Option<String>,
    pub encryption: EncryptionOptions,
}

const QUERY_KEYS: &str = "endpoint, region, path_style, allow_http, account, \
     server_side_encryption, sse_kms_key_id, sse_bucket_key_enabled, encryption_scope, kms_key_name";

/// Query keys that would carry a secret; refused without echoing the value.
const SECRET_QUERY_KEYS: &[&str] = &[
    "access_key",
    "access_key_id",
    "secret",
    "secret_key",
    "secret_access_key",
    "session_token",
    "token",
    "key",
    "account_key",
    "access_key_secret",
    "sas",
    "sig",
    "password",
    "credentials",
    "service_account_key",
];

const SECRET_FIX: &str = "pass credentials through the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
     AZURE_STORAGE_ACCOUNT_KEY, GOOGLE_APPLICATION_CREDENTIALS) or the builder's with_* options, \
     or better, a workload identity";

/// Parses a store URL or a plain path. `cwd` makes relative paths absolute.
pub(crate) fn parse(url: &str, cwd: &FsPath) -> Result<(StoreLocation, UrlSettings), StoreError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(StoreError::invalid(
            "url",
            "",
            "the store URL is empty",
            "give a folder path or a URL such as s3://bucket/prefix, az://container/prefix, gs://bucket/prefix",
        ));
    }
    refuse_restic_style(url)?;
    let Some((scheme, rest)) = url.split_once("://") else {
        let root = absolute(FsPath::new(url), cwd);
        return Ok((StoreLocation::Local { root }, UrlSettings::default()));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => parse_file(rest, cwd),
        "s3" => parse_bucket_url(rest, StoreKind::S3),
        "az" => parse_bucket_url(rest, StoreKind::Azure),
        "gs" => parse_bucket_url(rest, StoreKind::Gcs),
        other => {
            let fix = match other {
                "gcs" | "gcp" => "Google Cloud Storage URLs start with gs://".to_owned(),
                "azure" | "abfs" | "abfss" | "wasb" | "wasbs" => {
                    "Azure Blob URLs are az://container/prefix with the account as an option".to_owned()
                }
                "s3a" | "s3n" | "minio" => {
                    "S3 and MinIO URLs are s3://bucket/prefix; give a MinIO server as ?endpoint=https://host:port"
                        .to_owned()
                }
                "http" | "https" => "give the bucket as s3://, az:// or gs:// and the server as ?endpoint=…".to_owned(),
                _ => "use a folder path, file://, s3://, az:// or gs://".to_owned(),
            };
            Err(StoreError::invalid(
                "url.scheme",
                other,
                "supported schemes are file, s3, az and gs",
                fix,
            ))
        }
    }
}

/// Joins a relative path to `cwd` and drops `.` parts and trailing slashes (`..` is kept: it
/// may cross a symlink, so only the file system can resolve it).
fn absolute(path: &FsPath, cwd: &FsPath) -> PathBuf {
    cwd.join(path).components().collect()
}

/// restic writes `s3:host/bucket`, `azure:container:/path`, `gs:bucket:/path`; say how ours differ
/// instead of treating them as folder names.
fn refuse_restic_style(url: &str) -> Result<(), StoreError> {
    for (prefix, ours) in [
        ("s3:", "s3://bucket/prefix?endpoint=https://host:port"),
        ("azure:", "az://container/prefix"),
        ("gs:", "gs://bucket/prefix"),
        ("b2:", "s3://bucket/prefix with the provider's S3 endpoint"),
        (
            "swift:",
            "s3://bucket/prefix with an S3-compatible endpoint",
        ),
        ("rest:", "a folder path or an object-store URL"),
        (
            "sftp:",
            "a folder path (mount the server) or an object-store URL",
        ),
        ("rclone:", "a folder path or an object-store URL"),
    ] {
        if url.starts_with(prefix) && !url[prefix.len()..].starts_with("//") {
            return Err(StoreError::invalid(
                "url",
                url.split('@').next_back().unwrap_or(url),
                "this looks like a restic repository string, not a thinledger store URL",
                format!("write it as {ours}"),
            ));
        }
    }
    Ok(())
}

fn parse_file(rest: &str, cwd: &FsPath) -> Result<(StoreLocation, UrlSettings), StoreError> {
    if let Some((_, query)) = rest.split_once('?') {
        // Only the option names: a value may be a signature or a token.
        let names: Vec<&str> = query
            .split('&')
            .filter_map(|p| p.split('=').next())
            .filter(|k| is_plain_word(k))
            .collect();
        return Err(StoreError::invalid(
            "url.query",
            REDACTED,
            format!(
                "file:// URLs take no options (given: {})",
                if names.is_empty() {
                    "an option".to_owned()
                } else {
                    names.join(", ")
                }
            ),
            "remove the ?… part",
        ));
    }
    let path = match rest.strip_prefix("localhost") {
        Some(p) if p.starts_with('/') => p,
        _ => rest,
    };
    if !path.starts_with('/') {
        return Err(StoreError::invalid(
            "url.path",
            rest,
            "a file URL holds an absolute path (file:///srv/backups); file://host/… is not supported",
            "write file:///absolute/path, or give the path without file://",
        ));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| {
            StoreError::invalid(
                "url.path",
                path,
                "the path is not valid UTF-8 after percent-decoding",
                "give the path without file://",
            )
        })?;
    let root = absolute(FsPath::new(decoded.as_ref()), cwd);
    Ok((StoreLocation::Local { root }, UrlSettings::default()))
}

fn parse_bucket_url(
    rest: &str,
    kind: StoreKind,
) -> Result<(StoreLocation, UrlSettings), StoreError> {
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (bucket, prefix) = match before_query.split_once('/') {
        Some((b, p)) => (b, p),
        None => (before_query, ""),
    };
    let what = bucket_word(kind);
    if bucket.contains('@') || bucket.contains(':') {
        return Err(StoreError::invalid(
            format!("url.{what}"),
            REDACTED,
            "credentials and ports do not belong in a store URL (URLs end up in logs and process lists)",
            SECRET_FIX,
        ));
    }
    check_bucket_name(kind, bucket)?;
    let prefix = check_prefix(prefix)?;
    let settings = match query {
        Some(q) => parse_query(q, kind)?,
        None => UrlSettings::default(),
    };
    let location = match kind {
        StoreKind::S3 => StoreLocation::S3 {
            bucket: bucket.to_owned(),
            prefix,
        },
        StoreKind::Azure => StoreLocation::Azure {
            container: bucket.to_owned(),
            prefix,
        },
        StoreKind::Gcs | StoreKind::Local => StoreLocation::Gcs {
            bucket: bucket.to_owned(),
            prefix,
        },
    };
    Ok((location, settings))
}

fn bucket_word(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Azure => "container",
        _ => "bucket",
    }
}

fn check_bucket_name(kind: StoreKind, name: &str) -> Result<(), StoreError> {
    let what = bucket_word(kind);
    let fail = |rule: &str| {
        let example = match kind {
            StoreKind::S3 => "s3://ledger-backups/tenant-a",
            StoreKind::Azure => "az://ledger-backups/tenant-a",
            _ => "gs://ledger-backups/tenant-a",
        };
        StoreError::invalid(
            format!("url.{what}"),
            name,
            rule,
            format!("name an existing {what}, e.g. {example}"),
        )
    };
    if name.is_empty() {
        return Err(fail(&format!("the {what} name is missing")));
    }
    let max = if kind == StoreKind::Gcs && name.contains('.') {
        222
    } else {
        63
    };
    if name.len() < 3 || name.len() > max {
        return Err(fail(&format!("a {what} name is 3 to {max} characters")));
    }
    let allowed = |b: u8| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b == b'-'
            || (b == b'.' && kind != StoreKind::Azure)
            || (b == b'_' && kind == StoreKind::Gcs)
    };
    if !name.bytes().all(allowed) {
        let chars = match kind {
            StoreKind::Azure => "lowercase letters, digits and '-'",
            StoreKind::Gcs => "lowercase letters, digits, '-', '_' and '.'",
            _ => "lowercase letters, digits, '-' and '.'",
        };
        return Err(fail(&format!("a {what} name has only {chars}")));
    }
    let first_last_ok =
        |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !first_last_ok(name.bytes().next()) || !first_last_ok(name.bytes().next_back()) {
        return Err(fail(&format!(
            "a {what} name starts and ends with a letter or digit"
        )));
    }
    if kind == StoreKind::Azure && name.contains("--") {
        return Err(fail("a container name has no two '-' in a row"));
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<String, StoreError> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(StoreError::invalid(
                "url.prefix",
                prefix,
                "a prefix is '/'-separated names with no empty, '.' or '..' parts",
                "write the prefix like tenant-a/ledger (no '//', '.' or '..')",
            ));
        }
    }
    let decoded = percent_encoding::percent_decode_str(trimmed)
        .decode_utf8()
        .map_err(|_| {
            StoreError::invalid(
                "url.prefix",
                prefix,
                "the prefix is not valid UTF-8 after percent-decoding",
                "use plain names in the prefix",
            )
        })?;
    Ok(decoded.into_owned())
}

fn parse_query(query: &str, kind: StoreKind) -> Result<UrlSettings, StoreError> {
    let mut settings = UrlSettings::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = raw_key.to_ascii_lowercase();
        let field = format!("url.query.{key}");
        if SECRET_QUERY_KEYS.contains(&key.as_str())
            || key.contains("secret")
            || key.contains("password")
        {
            return Err(StoreError::invalid(
                field,
                REDACTED,
                "secrets are not accepted in a store URL (URLs end up in logs, shell history and process lists)",
                SECRET_FIX,
            ));
        }
        if encryption::SECRET_KEY_OPTIONS.contains(&key.as_str()) {
            return Err(StoreError::invalid(
                field,
                REDACTED,
                "a customer-provided encryption key is a secret, and secrets are not accepted in a store URL",
                encryption::SECRET_KEY_FIX,
            ));
        }
        // object_store also accepts its S3 names with an `aws_` prefix.
        let key = match key.as_str() {
            "aws_server_side_encryption" | "aws_sse_kms_key_id" | "aws_sse_bucket_key_enabled" => {
                key["aws_".len()..].to_owned()
            }
            _ => key,
        };
        // An unknown option may be a pre-signed URL's signature or token (`x-amz-signature`):
        // it is named, never echoed, and refused before its value is even decoded.
        if !QUERY_KEYS.split(", ").any(|k| k == key) {
            let field = if is_plain_word(&key) {
                field
            } else {
                "url.query".to_owned()
            };
            return Err(StoreError::invalid(
                field,
                REDACTED,
                format!("unknown URL option (known: {QUERY_KEYS}); its value is not shown"),
                "remove it or fix its spelling; pass credentials through the environment",
            ));
        }
        let value = percent_encoding::percent_decode_str(raw_value)
            .decode_utf8()
            .map_err(|_| {
                StoreError::invalid(
                    &field,
                    raw_value,
                    "not valid UTF-8",
                    "percent-encode UTF-8 text",
                )
            })?
            .into_owned();
        match key.as_str() {
            "endpoint" => settings.endpoint = Some(value),
            "region" => {
                if kind != StoreKind::S3 {
                    return Err(StoreError::invalid(
                        field,
                        value,
                        "region applies to s3:// stores only",
                        "remove it",
                    ));
                }
                settings.region = Some(value)
            }
            "path_style" => settings.path_style = Some(parse_bool(&field, &value)?),
            "allow_http" => settings.allow_http = Some(parse_bool(&field, &value)?),
            "account" => {
                if kind != StoreKind::Azure {
                    return Err(StoreError::invalid(
                        field,
                        value,
                        "account applies to az:// stores only",
                        "remove it",
                    ));
                }
                settings.account = Some(value)
            }
            "server_side_encryption" | "sse_kms_key_id" | "sse_bucket_key_enabled" => {
                only_for(kind, StoreKind::S3, &field, &value)?;
                let e = &mut settings.encryption;
                match key.as_str() {
                    "server_side_encryption" => {
                        e.server_side_encryption = Some(SseMode::parse(&field, &value)?)
                    }
                    "sse_kms_key_id" => {
                        e.sse_kms_key_id = Some(encryption::check_kms_key_id(&field, &value)?)
                    }
                    _ => e.sse_bucket_key_enabled = Some(parse_bool(&field, &value)?),
                }
            }
            "encryption_scope" => {
                only_for(kind, StoreKind::Azure, &field, &value)?;
                settings.encryption.encryption_scope =
                    Some(encryption::check_scope(&field, &value)?);
            }
            "kms_key_name" => {
                only_for(kind, StoreKind::Gcs, &field, &value)?;
                settings.encryption.kms_key_name =
                    Some(encryption::check_gcs_key_name(&field, &value)?);
            }
            _ => {
                return Err(StoreError::invalid(
                    field,
                    REDACTED,
                    format!("unknown URL option (known: {QUERY_KEYS})"),
                    "remove it or fix its spelling",
                ));
            }
        }
    }
    check_url_kms(&settings.encryption)?;
    Ok(settings)
}

/// A URL that names a KMS key also says how it is used: `sse_kms_key_id` and
/// `sse_bucket_key_enabled` need `server_side_encryption=aws:kms` (or `aws:kms:dsse`) beside them.
fn check_url_kms(e: &EncryptionOptions) -> Result<(), StoreError> {
    let kms = matches!(
        e.server_side_encryption,
        Some(SseMode::Kms | SseMode::DsseKms)
    );
    for (name, value) in [
        ("sse_kms_key_id", e.sse_kms_key_id.clone()),
        (
            "sse_bucket_key_enabled",
            e.sse_bucket_key_enabled.map(|b| b.to_string()),
        ),
    ] {
        if let Some(value) = value
            && !kms
        {
            let given = match e.server_side_encryption {
                Some(mode) => format!("server_side_encryption={mode}"),
                None => "no server_side_encryption".to_owned(),
            };
            return Err(StoreError::invalid(
                format!("url.query.{name}"),
                value,
                format!(
                    "{name} applies to server_side_encryption=aws:kms or aws:kms:dsse, and the URL has {given}"
                ),
                "add server_side_encryption=aws:kms to the URL",
            ));
        }
    }
    Ok(())
}

/// Refuses an option of another store kind's URL.
fn only_for(
    kind: StoreKind,
    wanted: StoreKind,
    field: &str,
    value: &str,
) -> Result<(), StoreError> {
    if kind == wanted {
        return Ok(());
    }
    let scheme = match wanted {
        StoreKind::S3 => "s3://",
        StoreKind::Azure => "az://",
        _ => "gs://",
    };
    let instead = match kind {
        StoreKind::S3 => "server_side_encryption and sse_kms_key_id",
        StoreKind::Azure => "encryption_scope",
        _ => "kms_key_name",
    };
    Err(StoreError::invalid(
        field,
        value,
        format!("this option applies to {scheme} stores only"),
        format!("remove it; a {kind} store takes {instead}"),
    ))
}

/// A name safe to repeat in an error: a short word of letters, digits, `-`, `_` and `.`.
fn is_plain_word(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(crate) fn parse_bool(field: &str, value: &str) -> Result<bool, StoreError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(StoreError::invalid(
            field,
            value,
            "expected a boolean",
            "write true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(url: &str) -> (StoreLocation, UrlSettings) {
        parse(url, FsPath::new("/work")).unwrap()
    }

    #[test]
    fn plain_and_file_paths_are_local_folders() {
        assert_eq!(
            parse_ok("backups/a").0,
            StoreLocation::Local {
                root: "/work/backups/a".into()
            }
        );
        assert_eq!(
            parse_ok("file:///srv/b%20c").0,
            StoreLocation::Local {
                root: "/srv/b c".into()
            }
        );
    }

    #[test]
    fn bucket_urls_keep_bucket_prefix_and_settings() {
        let (loc, settings) =
            parse_ok("s3://ledger/tenant-a/?endpoint=http://127.0.0.1:9000&path_style=true");
        assert_eq!(
            loc,
            StoreLocation::S3 {
                bucket: "ledger".into(),
                prefix: "tenant-a".into()
            }
        );
        assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(settings.path_style, Some(true));
        assert_eq!(loc.to_string(), "s3://ledger/tenant-a");
    }

    #[test]
    fn a_local_repository_must_be_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let local = |root: PathBuf| StoreLocation::Local { root };
        local(tmp.path().to_path_buf())
            .check_local_directory()
            .unwrap();
        local(tmp.path().join("new/repo"))
            .check_local_directory()
            .unwrap();
        for (root, says) in [
            (file.clone(), "this is a regular file"),
            (file.join("repo"), "on its path is a regular file"),
            (PathBuf::from("/dev/null"), "this is not a directory"),
        ] {
            let err = local(root.clone())
                .check_local_directory()
                .unwrap_err()
                .to_string();
            assert!(err.contains(&root.display().to_string()), "{err}");
            assert!(err.contains("a repository is a directory"), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(err.contains("fix:"), "{err}");
        }
    }

    #[rstest::rstest]
    #[case::kms_with_key(
        "s3://ledger/a?server_side_encryption=aws:kms&sse_kms_key_id=arn:aws:kms:eu-west-1:111122223333:key/k1",
        Some(SseMode::Kms),
        Some("arn:aws:kms:eu-west-1:111122223333:key/k1"),
        None
    )]
    #[case::dsse_with_bucket_key(
        "s3://ledger/a?server_side_encryption=aws:kms:dsse&sse_bucket_key_enabled=true",
        Some(SseMode::DsseKms),
        None,
        Some(true)
    )]
    #[case::object_store_aliases(
        "s3://ledger/a?aws_server_side_encryption=aws:kms&aws_sse_kms_key_id=alias/ledger",
        Some(SseMode::Kms),
        Some("alias/ledger"),
        None
    )]
    #[case::sse_s3(
        "s3://ledger/a?server_side_encryption=AES256",
        Some(SseMode::S3Managed),
        None,
        None
    )]
    #[case::sse_c_mode_only(
        "s3://ledger/a?server_side_encryption=sse-c",
        Some(SseMode::CustomerKey),
        None,
        None
    )]
    fn encryption_options_in_s3_urls(
        #[case] url: &str,
        #[case] mode: Option<SseMode>,
        #[case] key_id: Option<&str>,
        #[case] bucket_key: Option<bool>,
    ) {
        let e = parse_ok(url).1.encryption;
        assert_eq!(e.server_side_encryption, mode);
        assert_eq!(e.sse_kms_key_id.as_deref(), key_id);
        assert_eq!(e.sse_bucket_key_enabled, bucket_key);
    }

    #[test]
    fn encryption_options_in_azure_and_gcs_urls() {
        let az = parse_ok("az://ledger/a?account=bank&encryption_scope=ledger-cmk").1;
        assert_eq!(
            az.encryption.encryption_scope.as_deref(),
            Some("ledger-cmk")
        );
        let key = "projects/acme/locations/eu/keyRings/ledger/cryptoKeys/backups";
        let gs = parse_ok(&format!("gs://ledger/a?kms_key_name={key}")).1;
        assert_eq!(gs.encryption.kms_key_name.as_deref(), Some(key));
    }

    /// Malformed encryption options are refused when the URL is parsed, naming the option,
    /// the value, the rule and the fix.
    #[rstest::rstest]
    #[case::unknown_mode(
        "s3://ledger/a?server_side_encryption=aws:kmz",
        "url.query.server_side_encryption: \"aws:kmz\"",
        "one of AES256, aws:kms, aws:kms:dsse, sse-c"
    )]
    #[case::key_without_mode(
        "s3://ledger/a?sse_kms_key_id=alias/ledger",
        "url.query.sse_kms_key_id: \"alias/ledger\"",
        "the URL has no server_side_encryption"
    )]
    #[case::key_with_aes256(
        "s3://ledger/a?server_side_encryption=AES256&sse_kms_key_id=alias/ledger",
        "url.query.sse_kms_key_id",
        "the URL has server_side_encryption=AES256"
    )]
    #[case::bucket_key_without_kms(
        "s3://ledger/a?sse_bucket_key_enabled=true",
        "url.query.sse_bucket_key_enabled",
        "applies to server_side_encryption=aws:kms"
    )]
    #[case::bucket_key_not_bool(
        "s3://ledger/a?server_side_encryption=aws:kms&sse_bucket_key_enabled=maybe",
        "url.query.sse_bucket_key_enabled: \"maybe\"",
        "expected a boolean"
    )]
    #[case::key_with_space(
        "s3://ledger/a?server_side_encryption=aws:kms&sse_kms_key_id=alias%20ledger",
        "url.query.sse_kms_key_id",
        "no spaces"
    )]
    #[case::s3_option_on_azure(
        "az://ledger/a?server_side_encryption=aws:kms",
        "url.query.server_side_encryption",
        "applies to s3:// stores only"
    )]
    #[case::scope_on_s3(
        "s3://ledger/a?encryption_scope=cmk",
        "url.query.encryption_scope",
        "applies to az:// stores only"
    )]
    #[case::bad_scope(
        "az://ledger/a?encryption_scope=-x",
        "url.query.encryption_scope: \"-x\"",
        "3 to 63 letters"
    )]
    #[case::gcs_key_on_s3(
        "s3://ledger/a?kms_key_name=projects/p",
        "url.query.kms_key_name",
        "applies to gs:// stores only"
    )]
    #[case::bad_gcs_key(
        "gs://ledger/a?kms_key_name=ledger-key",
        "url.query.kms_key_name: \"ledger-key\"",
        "projects/PROJECT/locations/LOCATION"
    )]
    #[case::customer_key_in_url(
        "s3://ledger/a?server_side_encryption=sse-c&sse_customer_key_base64=S0VZLU1BUktFUg==",
        "url.query.sse_customer_key_base64: \"redacted\"",
        "a customer-provided encryption key is a secret"
    )]
    #[case::azure_key_in_url(
        "az://ledger/a?encryption_key=S0VZLU1BUktFUg==",
        "url.query.encryption_key: \"redacted\"",
        "a customer-provided encryption key is a secret"
    )]
    fn malformed_encryption_options_are_refused(
        #[case] url: &str,
        #[case] starts: &str,
        #[case] rule: &str,
    ) {
        let err = parse(url, FsPath::new("/work")).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{err}");
        assert!(err.contains(rule), "{err}");
        assert!(err.contains("fix: "), "{err}");
        assert!(!err.contains("S0VZLU1BUktFUg"), "{err}");
    }

    /// Unknown options are named, never echoed with their value (a pre-signed URL's
    /// signature or token), whatever their encoding.
    #[rstest::rstest]
    #[case(
        "s3://ledger/a?x-amz-signature=SIGNATURE-MARKER",
        Some("url.query.x-amz-signature")
    )]
    #[case(
        "s3://ledger/a?X-Amz-Security-Token=SIGNATURE-MARKER%ff",
        Some("url.query.x-amz-security-token")
    )]
    #[case("az://ledger/a?sig=SIGNATURE-MARKER&sv=2020", Some("url.query.sig"))]
    #[case(
        "gs://ledger/a?endpoint=https://h&token=SIGNATURE-MARKER",
        Some("url.query.token")
    )]
    #[case("s3://ledger/a?SIGNATURE-MARKER%2Fx=1", None)]
    #[case(
        "file:///srv/b?x-amz-signature=SIGNATURE-MARKER",
        Some("x-amz-signature")
    )]
    fn unknown_options_are_named_without_their_value(
        #[case] url: &str,
        #[case] named: Option<&str>,
    ) {
        let err = parse(url, FsPath::new("/work")).unwrap_err().to_string();
        assert!(!err.contains("SIGNATURE-MARKER"), "{err}");
        if let Some(named) = named {
            assert!(err.contains(named), "{err}");
        }
        assert!(err.contains("url.query"), "{err}");
    }
}
