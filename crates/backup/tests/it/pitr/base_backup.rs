//! Base backups from a caller's tar stream (`pg::base_backup_from_tar`) and restores of them,
//! on a local repository with a synthetic archive: the history file PostgreSQL archives at
//! the end of a base backup is pushed as PostgreSQL's archive_command would. (The end-to-end
//! test with a real server and `pg_basebackup` lives in the CLI crate's tests.)

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use thinledger_backup::pitr::pg::{self, BaseBackupOptions, PgRestoreOptions};
use thinledger_backup::pitr::wal::{self, Catalog, PushOptions};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::{seg_name, setup, write_seg};
use crate::common::{assert_restic_checks_if_installed, noise};

const LABEL: &str = "main-20260513T101500Z";

/// Archives segments 1 and 2 and the backup history file of a base backup labelled `LABEL`
/// that started in segment 1 and stopped in segment 2 (1 MiB segments).
async fn archive_wal_for_a_base_backup(
    repo: &std::sync::Arc<thinledger_backup::Repository>,
    wal_dir: &Path,
) {
    let mut paths: Vec<_> = (1..=2)
        .map(|s| write_seg(wal_dir, &seg_name(1, s), 40 + s))
        .collect();
    let history = wal_dir.join(format!("{}.00000028.backup", seg_name(1, 1)));
    std::fs::write(
        &history,
        format!(
            "START WAL LOCATION: 0/100028 (file {first})\n\
             STOP WAL LOCATION: 0/200100 (file {second})\n\
             CHECKPOINT LOCATION: 0/100060\n\
             BACKUP METHOD: streamed\n\
             BACKUP FROM: primary\n\
             START TIME: 2026-05-13 10:15:00 UTC\n\
             LABEL: {LABEL}\n\
             START TIMELINE: 1\n\
             STOP TIME: 2026-05-13 10:15:02 UTC\n\
             STOP TIMELINE: 1\n",
            first = seg_name(1, 1),
            second = seg_name(1, 2),
        ),
    )
    .unwrap();
    paths.push(history);
    let mut cat = Catalog::load(repo, "main", None).await.unwrap();
    let res = wal::push_batch(repo, &mut cat, &paths, &PushOptions::default())
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.outcome.is_ok()), "{res:?}");
}

/// A data directory as `pg_basebackup -F tar` streams it, from `tar` writing to a pipe.
fn tar_stream(data_dir: &Path) -> (tokio::process::Child, tokio::process::ChildStdout) {
    let mut child = tokio::process::Command::new("tar")
        .args(["-cf", "-", "-C"])
        .arg(data_dir)
        .args(["PG_VERSION", "postgresql.auto.conf", "base"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("tar runs");
    let stdout = child.stdout.take().unwrap();
    (child, stdout)
}

/// A stream that fails after its first bytes, as a broken connection to a sidecar would.
struct Broken(bool);

impl AsyncRead for Broken {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.0 {
            return Poll::Ready(Err(io::Error::other("connection reset by the sidecar")));
        }
        self.0 = true;
        buf.put_slice(&[7; 4096]);
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_tar_becomes_a_base_backup_that_restores() {
    let (tmp, repo, wal_dir) = setup().await;
    archive_wal_for_a_base_backup(&repo, &wal_dir).await;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("base/1")).unwrap();
    std::fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    std::fs::write(data.join("postgresql.auto.conf"), "# set by ALTER SYSTEM\n").unwrap();
    // Several pump buffers and chunks.
    let relation = noise(3 << 20, 77);
    std::fs::write(data.join("base/1/1259"), &relation).unwrap();

    let opts = BaseBackupOptions::default().with_history_wait(Duration::from_secs(10));
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();
    let (mut tar, stdout) = tar_stream(&data);
    let summary = pg::base_backup_from_tar(&repo, &mut cat, LABEL, stdout, &opts)
        .await
        .unwrap();
    assert!(tar.wait().await.unwrap().success());
    let b = &summary.backup.backup;
    assert_eq!(b.label, LABEL);
    assert_eq!(b.timeline, 1);
    assert_eq!(b.start_lsn.to_string(), "0/100028");
    assert_eq!(b.stop_lsn.to_string(), "0/200100");
    assert_eq!(
        b.stop_time.to_rfc3339(),
        "2026-05-13T10:15:03+00:00",
        "the history file's stop time plus one second"
    );
    assert!(b.size > relation.len() as u64, "{}", b.size);
    // The catalog of another process sees it too.
    let fresh = Catalog::load(&repo, "main", None).await.unwrap();
    assert_eq!(fresh.backups().len(), 1);
    assert_eq!(fresh.backups()[0].snapshot, summary.backup.snapshot);

    let target = tmp.path().join("restored");
    let restored = pg::restore(
        &repo,
        &fresh,
        &target,
        "ledger-backup wal fetch %f %p",
        &PgRestoreOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(restored.bytes, b.size);
    assert_eq!(std::fs::read(target.join("base/1/1259")).unwrap(), relation);
    assert_eq!(
        std::fs::read_to_string(target.join("PG_VERSION")).unwrap(),
        "15\n"
    );
    let conf = std::fs::read_to_string(target.join("postgresql.auto.conf")).unwrap();
    assert!(conf.starts_with("# set by ALTER SYSTEM\n"), "{conf}");
    assert!(
        conf.contains("restore_command = 'ledger-backup wal fetch %f %p'"),
        "{conf}"
    );
    assert!(!conf.contains("recovery_target_time ="), "{conf}");
    assert!(target.join("recovery.signal").exists());
    assert!(target.join("pg_wal/archive_status").is_dir());

    assert_restic_checks_if_installed(&tmp.path().join("repo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_or_unfinished_stream_records_no_base_backup() {
    let (_tmp, repo, wal_dir) = setup().await;
    archive_wal_for_a_base_backup(&repo, &wal_dir).await;
    let opts = BaseBackupOptions::default().with_history_wait(Duration::from_millis(300));
    let mut cat = Catalog::load(&repo, "main", None).await.unwrap();

    // The stream breaks: the source's error, nothing recorded.
    let e = pg::base_backup_from_tar(&repo, &mut cat, LABEL, Broken(false), &opts)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("connection reset by the sidecar"),
        "{e}"
    );

    // A label whose history file never reaches the archive: the run elsewhere did not finish
    // (or archives into another cluster).
    let tar = (&[0u8; 10240][..]).chain(&[][..]);
    let e = pg::base_backup_from_tar(&repo, &mut cat, "other-label", tar, &opts)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("did not reach the archive"), "{e}");

    // A label that is no label.
    let e = pg::base_backup_from_tar(&repo, &mut cat, "../etc", &[][..], &opts)
        .await
        .unwrap_err();
    assert!(e.is_input_error(), "{e}");

    assert!(
        Catalog::load(&repo, "main", None)
            .await
            .unwrap()
            .backups()
            .is_empty()
    );
}
