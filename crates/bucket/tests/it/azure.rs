//! The Azure control plane against Azurite: containers made in a known state
//! (scripts/services/lib/azure_containers.py), read through azure_storage_blob with Shared Key
//! signing, checked, planned and made private.
//!
//! What Azurite cannot show: version-level immutability, immutability policies, legal holds and
//! default encryption scopes (it accepts none of them: Get Container Properties answers no
//! immutability support and no scope), and IAM (an account key may do anything). Those mappings
//! are tested as tables in `azure_rules`; the account settings are never read (management plane).

use std::path::PathBuf;
use std::process::Command;

use thinledger_bucket::{
    BucketBuilder, BucketChange, BucketOptions, ChangeResult, Provider, RuleId, Secret,
    StoreBuilder,
};

pub(crate) struct Azurite {
    endpoint: String,
    account: String,
    key: String,
}

pub(crate) fn azurite() -> Option<Azurite> {
    let var = thinledger_tests::services::var;
    Some(Azurite {
        endpoint: var("THINLEDGER_TEST_AZURITE_ENDPOINT")?,
        account: var("THINLEDGER_TEST_AZURITE_ACCOUNT")?,
        key: var("THINLEDGER_TEST_AZURITE_KEY")?,
    })
}

impl Azurite {
    /// A new container with `access` (`private`, `blob`, `container`); its name.
    pub(crate) fn container(&self, test: &str, access: &str) -> String {
        let name = crate::unique_name(test);
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/services/lib/azure_containers.py");
        let out = Command::new("python3")
            .arg(script)
            .args(["make", &name, access])
            .output()
            .expect("run azure_containers.py");
        assert!(
            out.status.success(),
            "azure_containers.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }

    /// The repository's store (the URL `client` checks), with the account key.
    pub(crate) fn store(&self, container: &str) -> StoreBuilder {
        StoreBuilder::new(format!("az://{container}/eu/ledger-a"))
            .with_endpoint(&self.endpoint)
            .with_azure_account(&self.account)
            .with_azure_access_key(Secret::new(self.key.clone()))
    }

    pub(crate) fn client(&self, container: &str) -> thinledger_bucket::Bucket {
        BucketBuilder::from_store_builder(self.store(container))
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn a_public_container_is_found_and_made_private() {
    let Some(azurite) = azurite() else { return };
    let name = azurite.container("public", "container");
    let bucket = azurite.client(&name);
    assert_eq!(bucket.provider(), Provider::Azure);
    assert_eq!(bucket.prefix(), "eu/ledger-a");

    let config = bucket.config().await.unwrap();
    assert_eq!(config.provider, Provider::Azure);
    assert_eq!(config.bucket, name);
    assert!(!config.public_access_block.unwrap().is_complete());

    let options = BucketOptions::default();
    let report = bucket.check(&options).await.unwrap();
    assert!(
        report.rules().contains(&RuleId::PublicAccess),
        "{report:#?}"
    );
    // Account settings are not judged; they are listed.
    assert!(
        !report.rules().contains(&RuleId::TlsNotRequired),
        "{report:#?}"
    );
    assert!(
        report
            .unverified
            .iter()
            .any(|n| n.rule == Some(RuleId::TlsNotRequired)),
        "{report:#?}"
    );

    let plan = bucket.plan(&options).await.unwrap();
    assert_eq!(plan.changes, vec![BucketChange::BlockPublicAccess]);
    let applied = bucket.apply(&options).await.unwrap();
    assert_eq!(applied.outcomes.len(), 1);
    assert_eq!(applied.outcomes[0].result, ChangeResult::Applied);
    assert!(
        !applied.after.rules().contains(&RuleId::PublicAccess),
        "{applied:#?}"
    );
    assert!(
        bucket
            .config()
            .await
            .unwrap()
            .public_access_block
            .unwrap()
            .is_complete()
    );
}

#[tokio::test]
async fn a_private_container_passes_what_the_data_plane_shows() {
    let Some(azurite) = azurite() else { return };
    let name = azurite.container("private", "private");
    let bucket = azurite.client(&name);
    let report = bucket.check(&BucketOptions::default()).await.unwrap();
    assert!(report.passed(), "{report:#?}");
    // Without version-level immutability support nothing shows versioning: unverified.
    assert!(
        report
            .unverified
            .iter()
            .any(|n| n.rule == Some(RuleId::VersioningOff)),
        "{report:#?}"
    );
    // Azurite has no version-level immutability: an immutable repository's container fails.
    let immutable = bucket
        .check(&BucketOptions::default().with_immutable(true))
        .await
        .unwrap();
    assert_eq!(immutable.rules(), vec![RuleId::ObjectLockMissing]);
    // A blob-level public container is public too.
    let blobs = azurite.client(&azurite.container("blobs", "blob"));
    let config = blobs.config().await.unwrap();
    assert!(!config.public_access_block.unwrap().is_complete());
}

#[tokio::test]
async fn a_missing_container_or_a_wrong_key_is_an_error_naming_the_container() {
    let Some(azurite) = azurite() else { return };
    let err = azurite
        .client("tl-no-such-container")
        .check(&BucketOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Get Container Properties on bucket tl-no-such-container"),
        "{err}"
    );

    let name = azurite.container("wrongkey", "private");
    let wrong = BucketBuilder::new(format!("az://{name}/p"))
        .with_endpoint(&azurite.endpoint)
        .with_azure_account(&azurite.account)
        .with_azure_access_key(Secret::new("d3Jvbmcga2V5IG9mIDMyIGJ5dGVzIGV4YWN0bHkhISE="))
        .build()
        .unwrap();
    let err = wrong.config().await.unwrap_err().to_string();
    assert!(err.contains(&name), "{err}");
    assert!(err.contains("fix:"), "{err}");
    assert!(!err.contains(&azurite.key), "{err}");
}

/// Microsoft Entra identities sign with the store's own tokens: a client is built for
/// workload and managed identity, plain http is refused (tokens go over https only), and a
/// token that cannot be had is an error naming the identity's variables.
#[tokio::test]
async fn entra_identities_use_the_stores_tokens_over_https_only() {
    use thinledger_bucket::StoreCredentials;
    for credentials in [
        StoreCredentials::AzureManagedIdentity { client_id: None },
        StoreCredentials::AzureWorkloadIdentity {
            client_id: "00000000-0000-0000-0000-000000000001".into(),
            tenant_id: "00000000-0000-0000-0000-000000000002".into(),
            token_file: "/var/run/secrets/azure/tokens/azure-identity-token".into(),
        },
    ] {
        let bucket = BucketBuilder::new("az://ledger/p?account=ledgerbk")
            .with_credentials(credentials.clone())
            .build()
            .unwrap();
        assert_eq!(bucket.provider(), Provider::Azure);
        let err = BucketBuilder::new("az://ledger/p?account=devstoreaccount1")
            .with_endpoint("http://127.0.0.1:10000/devstoreaccount1")
            .with_credentials(credentials)
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("https only"), "{err}");
        assert!(err.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{err}");
    }

    // Workload identity from the standard variables, whose token file is missing: the
    // token exchange fails before any request, and the error says what to set.
    let dir = std::env::temp_dir().join(format!("tl-no-token-{}", std::process::id()));
    let token_file = dir.join("azure-identity-token");
    let env: thinledger_bucket::EnvVars = [
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"),
        ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002"),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
    ]
    .into_iter()
    .collect();
    let bucket = BucketBuilder::new("az://ledger/p?account=ledgerbk")
        // Nothing listens there: the token is asked for first.
        .with_endpoint("https://127.0.0.1:9/ledgerbk")
        .with_env(env)
        .build()
        .unwrap();
    let err = bucket.config().await.unwrap_err().to_string();
    assert!(
        err.contains("Get Container Properties on bucket ledger"),
        "{err}"
    );
    assert!(err.contains("workload identity"), "{err}");
    assert!(err.contains("azure-identity-token"), "{err}");
    for var in [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        assert!(err.contains(var), "{var}: {err}");
    }
}

#[test]
fn a_missing_account_is_refused_with_what_to_do() {
    let err = BucketBuilder::new("az://ledger/p")
        .build()
        .unwrap_err()
        .to_string();
    // The store's own settings check (one parser for the store and its control plane).
    assert!(err.contains("azure_account is required"), "{err}");
    assert!(err.contains("AZURE_STORAGE_ACCOUNT_NAME"), "{err}");
}
