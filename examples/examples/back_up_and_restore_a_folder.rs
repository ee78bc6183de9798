//! Back up a folder into an encrypted repository on a local folder and restore it, with the
//! public API: init, two backups (the second stores only what changed), a restore of the
//! latest snapshot compared byte for byte, and `check` reading every pack. The repository is
//! in restic's format: `restic -r DIR check --read-data` accepts it with the same password.
//!
//! Run with `cargo run -p thinledger-examples --example back_up_and_restore_a_folder`.

use std::path::Path;
use std::sync::Arc;

use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{
    BackupOptions, CheckOptions, InitOptions, Password, ReadData, Repository, RestoreOptions,
    backup_paths, check, restore,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("exports");
    std::fs::create_dir_all(data.join("2026"))?;
    for day in 1..=30 {
        let entries: String = (0..500)
            .map(|i| {
                format!(
                    "{{\"day\":{day},\"entry\":{i},\"amount\":{}}}\n",
                    i * 7919 % 10_007
                )
            })
            .collect();
        std::fs::write(data.join(format!("2026/day-{day:02}.jsonl")), entries)?;
    }

    // 1. A repository on a local folder (a URL such as s3://bucket/prefix works the same way).
    let password = Password::new("example password, not a secret");
    let mut init = InitOptions::default();
    // Cheap key derivation for the example; the default is restic's (scrypt, ~0.5 s a key).
    init.kdf.n = 1024;
    init.kdf.r = 8;
    init.kdf.p = 1;
    let store = StoreBuilder::new(tmp.path().join("repository").to_string_lossy()).build()?;
    let repo = Arc::new(
        Repository::init(
            store.object_store(),
            store.display_url().to_owned(),
            &password,
            &init,
        )
        .await?,
    );

    // 2. Two backups: the second finds one changed file and stores only that.
    let options = BackupOptions::default();
    let first = backup_paths(&repo, std::slice::from_ref(&data), &options).await?;
    println!(
        "snapshot {}: {} new files, {} bytes added",
        first.snapshot_id.to_hex(),
        first.files_new,
        first.bytes_added
    );
    std::fs::write(
        data.join("2026/day-30.jsonl"),
        "{\"day\":30,\"corrected\":true}\n",
    )?;
    let second = backup_paths(&repo, std::slice::from_ref(&data), &options).await?;
    println!(
        "snapshot {}: {} changed, {} unmodified",
        second.snapshot_id.to_hex(),
        second.files_changed,
        second.files_unmodified
    );
    assert_eq!((second.files_changed, second.files_unmodified), (1, 29));

    // 3. Restore the latest snapshot's folder and compare every file.
    let target = tmp.path().join("restored");
    let summary = restore(
        &repo,
        "latest",
        &data.to_string_lossy(),
        &target,
        &RestoreOptions::default(),
    )
    .await?;
    if !summary.damaged.is_empty() {
        return Err(format!("damaged files: {:?}", summary.damaged).into());
    }
    let compared = same_files(&data, &target)?;
    println!(
        "restored {} files, {compared} compared byte for byte",
        summary.files
    );

    // 4. Check the repository, reading every pack.
    let check_options = CheckOptions::default().with_read_data(ReadData::All);
    let report = check(&repo, &check_options).await?;
    if !report.is_ok() {
        return Err(format!("check found problems: {report:?}").into());
    }
    println!("check: no errors");
    Ok(())
}

/// Compares the regular files under `a` with those under `b`; returns how many.
fn same_files(a: &Path, b: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut count = 0;
    for entry in std::fs::read_dir(a)? {
        let entry = entry?;
        let (pa, pb) = (entry.path(), b.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            count += same_files(&pa, &pb)?;
        } else if std::fs::read(&pa)? == std::fs::read(&pb)? {
            count += 1;
        } else {
            return Err(format!("{} differs after the restore", pb.display()).into());
        }
    }
    Ok(count)
}
