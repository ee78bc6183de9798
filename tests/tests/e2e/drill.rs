//! A backup and a restore drill on a local folder: what is restored is byte-identical (and
//! keeps modes, times and links), and the repository checks clean.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{
    BackupOptions, CheckOptions, InitOptions, Password, ReadData, Repository, RestoreOptions,
    backup_paths, check, restore,
};
use thinledger_tests::data::noise;
use thinledger_tests::examples;
use thinledger_tests::tree::{Compare, assert_same_tree};

/// Something like a ledger's exports: the example tenant files, a large incompressible file,
/// many small ones, an empty file and folder, a symlink and an owner-only file.
fn exports(root: &Path) {
    std::fs::create_dir_all(root.join("tenants")).unwrap();
    std::fs::create_dir_all(root.join("journal/2026")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    for name in ["aws", "azure", "gcp", "onprem"] {
        std::fs::copy(
            examples::tenant(name),
            root.join("tenants").join(format!("{name}.yaml")),
        )
        .unwrap();
    }
    std::fs::write(
        root.join("journal/blob.bin"),
        noise(5 * 1024 * 1024 + 17, 7),
    )
    .unwrap();
    for i in 0..200u64 {
        std::fs::write(
            root.join(format!("journal/2026/entry-{i:03}.json")),
            format!("{{\"id\":{i},\"amount\":{}}}\n", i * 7919 % 10_007),
        )
        .unwrap();
    }
    std::fs::write(root.join("journal/empty.log"), b"").unwrap();
    std::os::unix::fs::symlink("journal/blob.bin", root.join("current")).unwrap();
    std::fs::set_permissions(
        root.join("journal/blob.bin"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_backs_up_and_restores_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("exports");
    exports(&data);
    let repo_dir = tmp.path().join("repository");

    let password = Password::new("e2e drill password, not a secret");
    // Cheap key derivation: the drill is about the data, not the KDF's cost.
    let mut init = InitOptions::default();
    init.kdf.n = 1024;
    init.kdf.r = 8;
    init.kdf.p = 1;
    let store = StoreBuilder::new(repo_dir.to_string_lossy())
        .build()
        .unwrap();
    let repo = Arc::new(
        Repository::init(
            store.object_store(),
            store.display_url().to_owned(),
            &password,
            &init,
        )
        .await
        .unwrap(),
    );
    let summary = backup_paths(
        &repo,
        std::slice::from_ref(&data),
        &BackupOptions::default(),
    )
    .await
    .unwrap();
    assert!(summary.files_new >= 200, "{summary:?}");

    // The drill opens the repository afresh, as a restore on another machine would.
    let store = StoreBuilder::new(repo_dir.to_string_lossy())
        .build()
        .unwrap();
    let reopened = Arc::new(
        Repository::open(
            store.object_store(),
            store.display_url().to_owned(),
            &password,
        )
        .await
        .unwrap(),
    );
    let target = tmp.path().join("restored");
    let restored = restore(
        &reopened,
        "latest",
        &data.to_string_lossy(),
        &target,
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(restored.snapshot_id, summary.snapshot_id);
    assert!(
        restored.damaged.is_empty() && restored.errors.is_empty(),
        "{restored:?}"
    );
    let compared = assert_same_tree(&data, &target, Compare::default());
    assert!(compared > 200, "{compared} entries compared");

    let options = CheckOptions::default().with_read_data(ReadData::All);
    let report = check(&reopened, &options).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}
