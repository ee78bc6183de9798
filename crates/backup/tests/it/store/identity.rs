//! How the tenant model's identity bindings select store credentials.

use object_store::ObjectStoreExt;
use object_store::path::Path;
use thinledger_backup::store::{
    AZURE_FEDERATED_TOKEN_FILE, EKS_WEB_IDENTITY_TOKEN_FILE, EnvVars, StoreBuilder,
    StoreCredentials, StoreError, StoreKind,
};
use thinledger_topology::IdentityBinding;

use super::services::{self, Service};

const CLIENT_ID: &str = "0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d";
const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn no_env() -> EnvVars {
    EnvVars::default()
}

#[test]
fn irsa_maps_to_web_identity_with_the_eks_token_path() {
    let binding = IdentityBinding::Irsa {
        role_arn: "arn:aws:iam::123456789012:role/ledger-backup".into(),
    };
    let creds = StoreCredentials::for_identity(&binding, StoreKind::S3, &no_env()).unwrap();
    assert_eq!(
        creds,
        StoreCredentials::AwsWebIdentity {
            role_arn: "arn:aws:iam::123456789012:role/ledger-backup".into(),
            token_file: EKS_WEB_IDENTITY_TOKEN_FILE.into(),
        }
    );
    // The webhook's variable wins over the default path.
    let env: EnvVars = [("AWS_WEB_IDENTITY_TOKEN_FILE", "/custom/token")]
        .into_iter()
        .collect();
    let creds = StoreCredentials::for_identity(&binding, StoreKind::S3, &env).unwrap();
    assert!(
        matches!(creds, StoreCredentials::AwsWebIdentity { token_file, .. } if token_file == std::path::Path::new("/custom/token"))
    );
    let store = StoreBuilder::new("s3://ledger/x?region=eu-west-1")
        .with_identity(binding)
        .build()
        .unwrap();
    assert_eq!(store.credentials_kind(), "web identity (IRSA)");
}

#[test]
fn azure_workload_identity_needs_a_tenant_from_the_binding_or_the_webhook() {
    let without_tenant = IdentityBinding::AzureWorkloadIdentity {
        client_id: CLIENT_ID.into(),
        tenant_id: None,
    };
    let err =
        StoreCredentials::for_identity(&without_tenant, StoreKind::Azure, &no_env()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Missing { field, .. } if field == "identity.tenant_id"),
        "{err}"
    );
    assert!(err.to_string().contains("AZURE_TENANT_ID"), "{err}");

    let env: EnvVars = [("AZURE_TENANT_ID", TENANT_ID)].into_iter().collect();
    assert_eq!(
        StoreCredentials::for_identity(&without_tenant, StoreKind::Azure, &env).unwrap(),
        StoreCredentials::AzureWorkloadIdentity {
            client_id: CLIENT_ID.into(),
            tenant_id: TENANT_ID.into(),
            token_file: AZURE_FEDERATED_TOKEN_FILE.into(),
        }
    );
    let store = StoreBuilder::new("az://ledger/x?account=bankprod")
        .with_identity(IdentityBinding::AzureWorkloadIdentity {
            client_id: CLIENT_ID.into(),
            tenant_id: Some(TENANT_ID.into()),
        })
        .build()
        .unwrap();
    assert_eq!(store.credentials_kind(), "workload identity");
}

#[test]
fn managed_and_gke_identities_use_the_metadata_services() {
    let mi = IdentityBinding::AzureManagedIdentity {
        client_id: CLIENT_ID.into(),
    };
    assert_eq!(
        StoreCredentials::for_identity(&mi, StoreKind::Azure, &no_env()).unwrap(),
        StoreCredentials::AzureManagedIdentity {
            client_id: Some(CLIENT_ID.into())
        }
    );
    let gke = IdentityBinding::GkeWorkloadIdentity {
        service_account: "ledger-backup@bank-prod.iam.gserviceaccount.com".into(),
    };
    let creds = StoreCredentials::for_identity(&gke, StoreKind::Gcs, &no_env()).unwrap();
    assert_eq!(creds.describe(), "workload identity (metadata server)");
}

#[test]
fn an_identity_of_another_cloud_is_refused() {
    let gke = IdentityBinding::GkeWorkloadIdentity {
        service_account: "ledger-backup@bank-prod.iam.gserviceaccount.com".into(),
    };
    let err = StoreBuilder::new("s3://ledger/x?region=eu-west-1")
        .with_identity(gke)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("identity.kind: \"gke-workload-identity\""),
        "{err}"
    );
    assert!(err.contains("gcs stores, not s3"), "{err}");
}

#[test]
fn secret_ref_without_its_variables_says_how_to_mount_them() {
    let err = StoreBuilder::new("s3://ledger/x?endpoint=http://127.0.0.1:9000")
        .with_identity(IdentityBinding::secret_ref("minio-backup"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("env.AWS_ACCESS_KEY_ID"), "{err}");
    assert!(err.contains("Secret minio-backup"), "{err}");
    assert!(err.contains("envFrom"), "{err}");
}

/// The on-prem binding end to end: keys arrive as the pod's environment variables named in the
/// binding, and the store built from them talks to a real S3 server.
#[tokio::test]
async fn secret_ref_keys_from_the_environment_reach_a_real_s3_server() {
    let Some(env) = services::env(Service::S3) else {
        return;
    };
    let get = |name: &str| env.get(name).unwrap().to_owned();
    let binding = IdentityBinding::SecretRef {
        secret_name: "minio-backup".into(),
        access_key_key: "MINIO_ACCESS_KEY".into(),
        secret_key_key: "MINIO_SECRET_KEY".into(),
    };
    let pod_env: EnvVars = [
        ("MINIO_ACCESS_KEY", get("THINLEDGER_TEST_S3_ACCESS_KEY_ID")),
        (
            "MINIO_SECRET_KEY",
            get("THINLEDGER_TEST_S3_SECRET_ACCESS_KEY"),
        ),
    ]
    .into_iter()
    .collect();
    let store = StoreBuilder::new(format!(
        "s3://{}/{}?endpoint={}",
        get("THINLEDGER_TEST_S3_BUCKET"),
        services::unique_prefix("secret-ref"),
        get("THINLEDGER_TEST_S3_ENDPOINT")
    ))
    .with_env(pod_env)
    .with_identity(binding)
    .build()
    .unwrap();
    assert_eq!(store.credentials_kind(), "static keys");
    let s = store.object_store();
    s.put(&Path::from("config"), "hello".into()).await.unwrap();
    assert_eq!(
        s.get(&Path::from("config"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        "hello"
    );
    assert!(!format!("{store:?}").contains(&get("THINLEDGER_TEST_S3_SECRET_ACCESS_KEY")));
}

#[test]
fn standard_environment_variables_select_credentials() {
    let env: EnvVars = [
        ("AZURE_CLIENT_ID", CLIENT_ID),
        ("AZURE_TENANT_ID", TENANT_ID),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            "/var/run/secrets/azure/tokens/azure-identity-token",
        ),
    ]
    .into_iter()
    .collect();
    assert!(matches!(
        StoreCredentials::from_env_for(StoreKind::Azure, &env),
        StoreCredentials::AzureWorkloadIdentity { .. }
    ));
    let env: EnvVars = [
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/x"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
    ]
    .into_iter()
    .collect();
    assert!(matches!(
        StoreCredentials::from_env_for(StoreKind::S3, &env),
        StoreCredentials::AwsWebIdentity { .. }
    ));
    let env: EnvVars = [("GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcp/key.json")]
        .into_iter()
        .collect();
    assert_eq!(
        StoreCredentials::from_env_for(StoreKind::Gcs, &env),
        StoreCredentials::GcsCredentialsFile {
            path: "/etc/gcp/key.json".into()
        }
    );
    assert_eq!(
        StoreCredentials::from_env_for(StoreKind::S3, &no_env()),
        StoreCredentials::Default
    );
}
