//! `ledger-backup` on Azure, against Azurite (started by `bash scripts/test.sh`): `init
//! --object-lock` on an `az://` repository, and `bucket check` on its container, whose
//! storage-account settings are reported as not visible (exit 0 for a private container).

use std::process::Command;

use serde_json::Value;

use crate::common::{described, ledger_backup};

struct Azurite {
    endpoint: String,
    account: String,
    key: String,
    container: String,
}

fn azurite() -> Option<Azurite> {
    let var = thinledger_tests::services::var;
    Some(Azurite {
        endpoint: var("THINLEDGER_TEST_AZURITE_ENDPOINT")?,
        account: var("THINLEDGER_TEST_AZURITE_ACCOUNT")?,
        key: var("THINLEDGER_TEST_AZURITE_KEY")?,
        container: var("THINLEDGER_TEST_AZURITE_CONTAINER")?,
    })
}

impl Azurite {
    fn cmd(&self, prefix: &str, password: &std::path::Path, args: &[&str]) -> Command {
        let mut c = ledger_backup();
        c.env(
            "THINLEDGER_REPOSITORY",
            format!(
                "az://{}/{prefix}?account={}&endpoint={}",
                self.container, self.account, self.endpoint
            ),
        )
        .env("AZURE_STORAGE_ACCOUNT_KEY", &self.key)
        .env("THINLEDGER_PASSWORD_FILE", password)
        .args(args);
        c
    }
}

#[test]
fn init_object_lock_on_azure_and_bucket_check() {
    let Some(azurite) = azurite() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let password = tmp.path().join("password");
    std::fs::write(&password, "azure cli test, not a secret\n").unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("cli/azure-lock-{}-{nanos}", std::process::id());

    let out = azurite
        .cmd(
            &prefix,
            &password,
            &[
                "init",
                "--object-lock",
                "compliance",
                "--retain",
                "1h",
                "--output",
                "json",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", described(&out));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["object_lock"]["mode"], "COMPLIANCE", "{created}");
    assert_eq!(created["object_lock"]["retain_seconds"], 3600, "{created}");

    // A later command reads the recorded policy (and writes its lock file without one).
    let out = azurite
        .cmd(&prefix, &password, &["snapshots", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", described(&out));

    // The recorded policy is read from the container and expected of it: Azurite has no
    // version-level immutability.
    let out = azurite
        .cmd(&prefix, &password, &["bucket", "check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["provider"], "azure", "{report}");
    assert_eq!(
        report["findings"][0]["rule"], "bucket.object_lock_missing",
        "{report}"
    );
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("COMPLIANCE for 1h"),
        "{report}"
    );
    let unseen: Vec<&str> = report["unverified"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["rule"].as_str())
        .collect();
    assert!(unseen.contains(&"bucket.tls_not_required"), "{report}");

    let out = azurite
        .cmd(&prefix, &password, &["bucket", "check", "--object-lock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", described(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bucket.object_lock_missing"), "{text}");
    assert!(text.contains("UNSEEN"), "{text}");
}
