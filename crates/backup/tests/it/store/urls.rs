//! Store URLs and options: what is accepted, and errors that name the field and the fix.

use rstest::rstest;
use thinledger_backup::store::{InvalidInput, StoreBuilder, StoreError, StoreKind, StoreLocation};

#[rstest]
#[case::empty("", "url", "the store URL is empty", "give a folder path")]
#[case::unknown_scheme("ftp://host/x", "url.scheme", "supported schemes", "use a folder path")]
#[case::gcs_spelling(
    "gcs://bucket/x",
    "url.scheme",
    "supported schemes",
    "start with gs://"
)]
#[case::azure_spelling(
    "azure://c/x",
    "url.scheme",
    "supported schemes",
    "az://container/prefix"
)]
#[case::restic_s3(
    "s3:https://minio:9000/bucket",
    "url",
    "restic repository string",
    "s3://bucket/prefix?endpoint="
)]
#[case::file_host(
    "file://server/share",
    "url.path",
    "absolute path",
    "file:///absolute/path"
)]
#[case::file_query("file:///srv/x?endpoint=y", "url.query", "take no options", "remove")]
#[case::no_bucket("s3://", "url.bucket", "name is missing", "name an existing bucket")]
#[case::uppercase_bucket(
    "s3://Ledger_Backups/x",
    "url.bucket",
    "lowercase letters",
    "s3://ledger-backups"
)]
#[case::short_bucket("gs://ab", "url.bucket", "3 to 63", "gs://ledger-backups")]
#[case::container_dots(
    "az://ledger.backups?account=a",
    "url.container",
    "lowercase letters, digits and '-'",
    "az://ledger-backups"
)]
#[case::container_double_dash(
    "az://ledger--backups?account=a",
    "url.container",
    "no two '-'",
    "existing container"
)]
#[case::dot_dot_prefix(
    "s3://ledger/a/../b?region=eu-west-1",
    "url.prefix",
    "no empty, '.' or '..'",
    "tenant-a/ledger"
)]
#[case::empty_segment("gs://ledger/a//b", "url.prefix", "no empty", "no '//'")]
#[case::unknown_option(
    "s3://ledger/x?regoin=eu-west-1",
    "url.query.regoin",
    "unknown URL option",
    "fix its spelling"
)]
#[case::region_on_azure(
    "az://ledger/x?region=westeurope",
    "url.query.region",
    "s3:// stores only",
    "remove it"
)]
#[case::account_on_s3(
    "s3://ledger/x?account=a",
    "url.query.account",
    "az:// stores only",
    "remove it"
)]
#[case::bad_bool(
    "s3://ledger/x?path_style=maybe&region=r",
    "url.query.path_style",
    "a boolean",
    "true or false"
)]
#[case::no_region("s3://ledger/x", "option.region", "", "AWS_REGION")]
#[case::no_account(
    "az://ledger/x",
    "option.azure_account",
    "",
    "AZURE_STORAGE_ACCOUNT_NAME"
)]
#[case::bad_endpoint(
    "s3://ledger/x?endpoint=minio:9000",
    "option.endpoint",
    "",
    "https://host:port"
)]
#[case::remote_http(
    "s3://ledger/x?endpoint=http://minio.backup.svc:9000",
    "option.endpoint",
    "plain http",
    "allow_http=true"
)]
#[case::endpoint_query(
    "gs://ledger/x?endpoint=https://gcs.local/%3Fa%3Db",
    "option.endpoint",
    "no ?query",
    "remove"
)]
fn bad_urls_name_the_field_and_the_fix(
    #[case] url: &str,
    #[case] field: &str,
    #[case] rule: &str,
    #[case] fix: &str,
) {
    let err = StoreBuilder::new(url)
        .with_base_dir("/work")
        .build()
        .unwrap_err();
    let message = err.to_string();
    let got_field = match &err {
        StoreError::Invalid(InvalidInput { field, .. }) | StoreError::Missing { field, .. } => {
            field.as_str()
        }
        other => panic!("{url}: unexpected error kind {other:?}"),
    };
    assert_eq!(got_field, field, "{url}: {message}");
    assert!(
        message.contains(rule),
        "{url}: rule {rule:?} missing from: {message}"
    );
    assert!(
        message.contains(fix),
        "{url}: fix {fix:?} missing from: {message}"
    );
}

#[rstest]
#[case::plain_relative("repo", StoreKind::Local, "file:///work/repo")]
#[case::plain_absolute("/srv/./backups/", StoreKind::Local, "file:///srv/backups")]
#[case::file("file:///srv/backups", StoreKind::Local, "file:///srv/backups")]
#[case::s3_aws(
    "s3://ledger-backups/tenant-a/?region=eu-west-1",
    StoreKind::S3,
    "s3://ledger-backups/tenant-a"
)]
#[case::minio(
    "s3://ledger/t?endpoint=http://127.0.0.1:9000",
    StoreKind::S3,
    "s3://ledger/t (endpoint http://127.0.0.1:9000)"
)]
#[case::minio_tls_remote(
    "s3://ledger?endpoint=https://minio.backup.svc:9000&path_style=true",
    StoreKind::S3,
    "s3://ledger (endpoint https://minio.backup.svc:9000)"
)]
#[case::minio_http_allowed(
    "s3://ledger?endpoint=http://minio:9000&allow_http=true",
    StoreKind::S3,
    "s3://ledger (endpoint http://minio:9000)"
)]
#[case::azure(
    "az://ledger-backups/t?account=bankprod",
    StoreKind::Azure,
    "az://ledger-backups/t"
)]
#[case::gcs(
    "gs://ledger_backups.example.com/a/b",
    StoreKind::Gcs,
    "gs://ledger_backups.example.com/a/b"
)]
fn good_urls_build_with_a_display_url(
    #[case] url: &str,
    #[case] kind: StoreKind,
    #[case] display: &str,
) {
    // Cloud stores are built with explicit anonymous credentials so the test does not depend
    // on the machine's cloud setup; no request is sent.
    let store = StoreBuilder::new(url)
        .with_base_dir("/work")
        .with_credentials(thinledger_backup::store::StoreCredentials::Anonymous)
        .build();
    let store = match (kind, store) {
        (StoreKind::Local, Err(StoreError::Invalid(InvalidInput { field, .. })))
            if field == "credentials" =>
        {
            StoreBuilder::new(url)
                .with_base_dir("/work")
                .build()
                .unwrap()
        }
        (_, s) => s.unwrap(),
    };
    assert_eq!(store.location().kind(), kind);
    assert_eq!(store.display_url(), display);
    assert_eq!(store.to_string(), display);
}

#[test]
fn prefix_is_normalised() {
    // Leading and trailing slashes are dropped; inner empty segments are errors (see above).
    let location = StoreBuilder::new("s3://ledger//tenant-a/db/?region=eu-west-1")
        .location()
        .unwrap();
    assert_eq!(location.prefix(), "tenant-a/db");
    let location = StoreBuilder::new("gs://ledger/tenant%20a/db/")
        .location()
        .unwrap();
    assert_eq!(
        location,
        StoreLocation::Gcs {
            bucket: "ledger".into(),
            prefix: "tenant a/db".into()
        }
    );
}

#[test]
fn local_folders_take_no_credentials_or_endpoint() {
    let err = StoreBuilder::new("/srv/x")
        .with_s3_keys("AKIA", "secret-value-1234".into())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("credentials") && err.contains("local folder"),
        "{err}"
    );
    assert!(!err.contains("secret-value-1234"));
    let err = StoreBuilder::new("/srv/x")
        .with_endpoint("https://minio:9000")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("option.endpoint") && err.contains("no endpoint"),
        "{err}"
    );
}

#[test]
fn credentials_of_another_cloud_are_refused() {
    let err = StoreBuilder::new("gs://ledger/x")
        .with_s3_keys("AKIA", "secret-value-1234".into())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("these are s3 credentials, but the URL names a gcs store"),
        "{err}"
    );
}

#[test]
fn zero_in_flight_is_refused() {
    let err = StoreBuilder::new("/srv/x")
        .with_max_in_flight(0)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("option.max_in_flight") && err.contains("default 8"),
        "{err}"
    );
}

#[test]
fn settings_come_from_the_captured_environment_only() {
    let env = [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
    ];
    let store = StoreBuilder::new("s3://ledger/x")
        .with_env(env.into_iter().collect())
        .with_credentials(thinledger_backup::store::StoreCredentials::Anonymous)
        .build()
        .unwrap();
    assert_eq!(
        store.display_url(),
        "s3://ledger/x (endpoint http://127.0.0.1:9000)"
    );
    // Without from_env/with_env nothing is read: the region is missing.
    assert!(StoreBuilder::new("s3://ledger/x").build().is_err());
}
