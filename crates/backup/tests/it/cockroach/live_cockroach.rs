//! Against a real CockroachDB, when THINLEDGER_TEST_COCKROACH_URL names one (e.g. a
//! `cockroach start-single-node --insecure` at postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable).
//! No CockroachDB binary can be installed on the CI machine, so this is reported as skipped
//! there; it backs up into the node's `nodelocal` directory.

use std::time::Duration;

use thinledger_backup::cockroach::{
    AsOf, BackupMode, BackupStatement, CockroachClient, ConnectionUrl, CreateScheduleStatement,
    Crontab, Destination, Encryption, FirstRun, FullBackup, OnFailure, OnPreviousRunning, Param,
    Rendered, RestoreStatement, ScheduleOptions, ShowBackupStatement, ShowBackupsStatement,
    StorageUri, Subdir, Target, WaitOptions,
};

#[tokio::test]
async fn backup_verify_and_point_in_time_restore() {
    let Ok(url) = std::env::var("THINLEDGER_TEST_COCKROACH_URL") else {
        eprintln!("SKIPPED: THINLEDGER_TEST_COCKROACH_URL is not set (no CockroachDB here)");
        return;
    };
    let client = CockroachClient::connect(&ConnectionUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let run = |sql: &'static str| Rendered::from_static("setup", sql, vec![]);
    for sql in [
        "DROP DATABASE IF EXISTS tl_ledger CASCADE",
        "DROP DATABASE IF EXISTS tl_ledger_restored CASCADE",
        "CREATE DATABASE tl_ledger",
        "CREATE TABLE tl_ledger.entries (id INT8 PRIMARY KEY, amount INT8)",
        "INSERT INTO tl_ledger.entries SELECT i, i * 10 FROM generate_series(1, 100) AS i",
    ] {
        client.list_backups(&run(sql)).await.unwrap();
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let uri = StorageUri::nodelocal(1, &format!("thinledger-test/{stamp}")).unwrap();
    let destination = Destination::single(uri.clone());
    let target = Target::databases(["tl_ledger"]).unwrap();
    let wait = WaitOptions::new(Duration::from_secs(300), Duration::from_millis(500)).unwrap();
    let backup = |mode| BackupStatement {
        target: target.clone(),
        destination: destination.clone(),
        mode,
        as_of: Some(AsOf::Ago(Duration::from_millis(1))),
        revision_history: true,
        encryption: Encryption::None,
        detached: true,
    };
    client
        .run_job(&backup(BackupMode::Full), &wait, |_| {})
        .await
        .unwrap();
    let before_delete = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    client
        .list_backups(&run("DELETE FROM tl_ledger.entries WHERE id > 50"))
        .await
        .unwrap();
    client
        .run_job(&backup(BackupMode::Incremental), &wait, |_| {})
        .await
        .unwrap();

    let listed = client
        .list_backups(&ShowBackupsStatement {
            collection: uri.clone(),
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let contents = client
        .show_backup(&ShowBackupStatement {
            subdir: Subdir::Latest,
            destination: destination.clone(),
            check_files: true,
            encryption: Encryption::None,
        })
        .await
        .unwrap();
    assert!(
        contents
            .objects
            .iter()
            .any(|o| o.object_name.as_deref() == Some("entries"))
    );

    // Point in time: before the delete, under another name.
    client
        .run_job(
            &RestoreStatement {
                target: target.clone(),
                subdir: Subdir::Latest,
                destination: destination.clone(),
                as_of: Some(AsOf::At(before_delete)),
                encryption: Encryption::None,
                new_db_name: Some("tl_ledger_restored".into()),
                into_db: None,
                detached: true,
            },
            &wait,
            |_| {},
        )
        .await
        .unwrap();
    let count = client
        .list_backups(&run(
            "SELECT count(*)::text FROM tl_ledger_restored.entries",
        ))
        .await
        .unwrap();
    assert_eq!(count, ["100"]);

    let schedule = CreateScheduleStatement {
        label: format!("thinledger-test-{stamp}"),
        target,
        destination: Destination::single(
            StorageUri::nodelocal(1, &format!("thinledger-test/{stamp}-scheduled")).unwrap(),
        ),
        revision_history: true,
        encryption: Encryption::None,
        schedule: ScheduleOptions::default()
            .with_recurring(Crontab::hourly())
            .with_full_backup(FullBackup::Every(Crontab::daily()))
            .with_first_run(FirstRun::NextScheduled)
            .with_on_execution_failure(OnFailure::Reschedule)
            .with_on_previous_running(OnPreviousRunning::Skip),
    };
    let created = client.create_schedule(&schedule).await.unwrap();
    assert_eq!(created.len(), 2, "{created:?}");
    let again = client.create_schedule(&schedule).await.unwrap();
    assert!(again.is_empty(), "IF NOT EXISTS: {again:?}");
    client
        .list_backups(&Rendered::from_static(
            "cleanup",
            "DROP SCHEDULES SELECT id FROM [SHOW SCHEDULES] WHERE label = $1",
            vec![Param::text(schedule.label.clone())],
        ))
        .await
        .unwrap();
}
