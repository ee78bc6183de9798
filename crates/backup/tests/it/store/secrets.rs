//! Secrets never appear in Debug output, Display output or errors — including errors that
//! come back from a real server.

use object_store::ObjectStoreExt;
use object_store::path::Path;
use thinledger_backup::store::{
    EnvVars, RetryOptions, Secret, StoreBuilder, StoreCredentials, StoreOptions,
};

use super::services::{self, Service};

const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn assert_hidden(text: &str) {
    assert!(!text.contains(KEY), "secret leaked: {text}");
    assert!(
        !text.contains("K7MDENG"),
        "part of the secret leaked: {text}"
    );
}

#[test]
fn debug_of_builder_credentials_and_env_hides_keys() {
    let builder = StoreBuilder::new("s3://ledger/x?endpoint=http://127.0.0.1:9000")
        .with_s3_keys("AKIDEXAMPLE", Secret::new(KEY));
    assert_hidden(&format!("{builder:?}"));
    assert_hidden(&format!("{builder:#?}"));
    let creds = StoreCredentials::AzureAccessKey { key: KEY.into() };
    assert_hidden(&format!("{creds:?}"));
    let env: EnvVars = [("AWS_SECRET_ACCESS_KEY", KEY)].into_iter().collect();
    let shown = format!("{env:?}");
    assert_hidden(&shown);
    assert!(
        shown.contains("AWS_SECRET_ACCESS_KEY"),
        "names stay visible: {shown}"
    );
    let from_env = StoreBuilder::new("s3://ledger/x").with_env(env);
    assert_hidden(&format!("{from_env:?}"));
    assert_hidden(&format!("{:?}", StoreOptions::default()));
}

#[test]
fn built_store_shows_no_keys() {
    let store = StoreBuilder::new("s3://ledger/x?endpoint=http://127.0.0.1:9000")
        .with_s3_keys("AKIDEXAMPLE", Secret::new(KEY))
        .build()
        .unwrap();
    assert_hidden(&format!("{store:?}"));
    assert_hidden(&store.to_string());
    assert_eq!(store.credentials_kind(), "static keys");
}

#[test]
fn secrets_in_urls_are_refused_without_echo() {
    for url in [
        format!("s3://ledger/x?secret_access_key={KEY}"),
        format!("s3://ledger/x?AWS_SECRET_ACCESS_KEY={KEY}"),
        format!("az://ledger/x?account_key={KEY}"),
        format!("az://ledger/x?sig={KEY}"),
        format!("s3://AKID:{KEY}@ledger/x"),
        format!("s3://ledger/x?endpoint=https://AKID:{KEY}@minio:9000"),
    ] {
        let err = StoreBuilder::new(&url).build().unwrap_err();
        let shown = format!("{err} {err:?}");
        assert_hidden(&shown);
        assert!(shown.contains("redacted"), "{shown}");
    }
}

#[test]
fn client_errors_are_scrubbed() {
    // An account key that is not base64: the Azure client refuses it; whatever its message
    // says, our error does not carry the key.
    let bad = format!("{KEY}!!not-base64");
    let err = StoreBuilder::new("az://ledger/x?account=bank")
        .with_azure_access_key(Secret::new(&bad))
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&bad), "{shown}");
    assert_hidden(&shown);
    assert!(shown.contains("azure"), "{shown}");
}

#[tokio::test]
async fn a_wrong_key_against_azurite_fails_without_the_key() {
    let Some(env) = services::env(Service::Azurite) else {
        return;
    };
    let get = |name: &str| env.get(name).unwrap().to_owned();
    // A well-formed key that is not the account's.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let store = StoreBuilder::new(format!(
        "az://{}/{}",
        get("THINLEDGER_TEST_AZURITE_CONTAINER"),
        services::unique_prefix("wrong-key")
    ))
    .with_endpoint(get("THINLEDGER_TEST_AZURITE_ENDPOINT"))
    .with_azure_account(get("THINLEDGER_TEST_AZURITE_ACCOUNT"))
    .with_azure_access_key(Secret::new(wrong))
    .with_retry(RetryOptions::none())
    .build()
    .unwrap();
    let err = store
        .object_store()
        .put(&Path::from("config"), "x".into())
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(
        !shown.contains(&get("THINLEDGER_TEST_AZURITE_KEY")),
        "{shown}"
    );
    assert!(
        shown.contains("403") || shown.to_lowercase().contains("auth"),
        "{shown}"
    );
}

/// Customer-provided encryption keys (S3 SSE-C, Azure CPK) are secrets too: not in Debug
/// output of the builder or the store, not in what the store says about its encryption, not
/// in the error for a malformed key.
#[test]
fn customer_encryption_keys_stay_hidden() {
    use base64::Engine as _;
    let raw = *b"customer-key-marker-32-bytes-ok!";
    let key = base64::engine::general_purpose::STANDARD.encode(raw);
    let hidden = |text: &str| {
        assert!(!text.contains(&key), "key leaked: {text}");
        assert!(!text.contains("customer-key-marker"), "key leaked: {text}");
    };
    for (url, var, summary) in [
        (
            "s3://ledger/x?endpoint=http://127.0.0.1:9000&server_side_encryption=sse-c",
            "AWS_SSE_CUSTOMER_KEY_BASE64",
            "server_side_encryption=sse-c, sse_customer_key=redacted",
        ),
        (
            "az://ledger/x?account=bank&endpoint=http://127.0.0.1:10000/bank",
            "AZURE_STORAGE_ENCRYPTION_KEY",
            "azure_encryption_key=redacted",
        ),
    ] {
        let env: EnvVars = [(var, key.as_str())].into_iter().collect();
        let builder = StoreBuilder::new(url).with_env(env);
        hidden(&format!("{builder:?}"));
        let store = builder.build().unwrap();
        hidden(&format!("{store:?}"));
        assert_eq!(store.encryption(), Some(summary));

        let short: EnvVars = [(var, &key[..20])].into_iter().collect();
        let err = StoreBuilder::new(url).with_env(short).build().unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&key[..20]), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
