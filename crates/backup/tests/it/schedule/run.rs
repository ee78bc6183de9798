//! Real scheduled runs: the engine backs up, applies retention and drills against the local
//! folder and the emulators, and the metrics endpoint is scraped over HTTP.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use thinledger_backup::schedule::{Clock, MetricsServer, Schedule, Scheduler, SchedulerOptions};
use thinledger_backup::store::{EnvVars, StoreBuilder};
use thinledger_backup::{Password, Repository};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common;
use crate::store::services::{self, Service};

/// Wall-clock time running 60 times faster than real time from a fixed start, so a
/// `* * * * *` schedule fires every real second. Once frozen it stands still, so no new run
/// starts and the test can stop the scheduler between runs.
#[derive(Debug)]
struct FastClock {
    wall: DateTime<Utc>,
    start: std::time::Instant,
    frozen_at: std::sync::Mutex<Option<DateTime<Utc>>>,
}

impl FastClock {
    fn freeze(&self) {
        let now = self.now();
        *self.frozen_at.lock().unwrap() = Some(now);
    }
}

impl Clock for FastClock {
    fn now(&self) -> DateTime<Utc> {
        if let Some(t) = *self.frozen_at.lock().unwrap() {
            return t;
        }
        let e = self.start.elapsed().as_millis() as i64 * 60;
        self.wall + chrono::Duration::milliseconds(e)
    }

    fn timer_duration(&self, wall: Duration) -> Duration {
        wall / 60
    }
}

async fn scrape(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

fn value(text: &str, start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The repository URL, store settings (YAML) and credentials (as environment) for `service`.
fn target(service: Service, tmp: &Path) -> Option<(String, String, EnvVars)> {
    let env = services::env(service)?;
    let get = |n: &str| env.get(n).unwrap_or_default().to_owned();
    let prefix = services::unique_prefix("schedule");
    Some(match service {
        Service::Local => (
            tmp.join("repo").display().to_string(),
            "{}".to_owned(),
            EnvVars::default(),
        ),
        Service::S3 => (
            format!("s3://{}/{prefix}", get("THINLEDGER_TEST_S3_BUCKET")),
            format!(
                "{{endpoint: \"{}\", region: {}}}",
                get("THINLEDGER_TEST_S3_ENDPOINT"),
                get("THINLEDGER_TEST_S3_REGION")
            ),
            [
                ("AWS_ACCESS_KEY_ID", get("THINLEDGER_TEST_S3_ACCESS_KEY_ID")),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    get("THINLEDGER_TEST_S3_SECRET_ACCESS_KEY"),
                ),
            ]
            .into_iter()
            .collect(),
        ),
        Service::Azurite => (
            format!("az://{}/{prefix}", get("THINLEDGER_TEST_AZURITE_CONTAINER")),
            format!(
                "{{endpoint: \"{}\", azure_account: {}}}",
                get("THINLEDGER_TEST_AZURITE_ENDPOINT"),
                get("THINLEDGER_TEST_AZURITE_ACCOUNT")
            ),
            [(
                "AZURE_STORAGE_ACCOUNT_KEY",
                get("THINLEDGER_TEST_AZURITE_KEY"),
            )]
            .into_iter()
            .collect(),
        ),
        Service::Gcs => return None,
    })
}

async fn scheduled_backups_retention_and_drills(service: Service) {
    let tmp = tempfile::tempdir().unwrap();
    let Some((url, store_yaml, env)) = target(service, tmp.path()) else {
        return;
    };
    let data = tmp.path().join("data");
    common::make_tree(&data);
    let pw_file = tmp.path().join("password");
    std::fs::write(&pw_file, format!("{}\n", common::PASSWORD)).unwrap();

    // Cheap key derivation for the test: the repository is created here, the jobs open it.
    let store_builder = |url: &str| {
        let mut b = StoreBuilder::new(url).with_env(env.clone());
        if let Some(s) = &store_settings(&store_yaml) {
            if let Some(e) = &s.0 {
                b = b.with_endpoint(e);
            }
            if let Some(r) = &s.1 {
                b = b.with_region(r);
            }
            if let Some(a) = &s.2 {
                b = b.with_azure_account(a);
            }
        }
        b.build().unwrap()
    };
    let store = store_builder(&url);
    Repository::init(
        store.object_store(),
        store.display_url(),
        &common::password(),
        &common::init_options(),
    )
    .await
    .unwrap();

    let stdin_job = if service == Service::Local {
        format!(
            r#"
  - name: ledger-dump
    schedule: "* * * * *"
    retries: {{attempts: 1, initial_backoff: 1s, max_backoff: 2s}}
    repository:
      url: "{url}"
      store: {store_yaml}
      password: {{file: password}}
      stdin: {{command: "seq 1 50000", filename: ledger.sql}}
      retention: {{keep_last: 1}}
    drill: {{restore: true, scratch_dir: "{scratch}"}}
"#,
            scratch = tmp.path().join("scratch").display()
        )
    } else {
        String::new()
    };
    let yaml = format!(
        r#"
stop_timeout: 2m
jobs:
  - name: ledger-files
    schedule: "* * * * *"
    time_zone: Europe/Zurich
    retries: {{attempts: 1, initial_backoff: 1s, max_backoff: 2s}}
    repository:
      url: "{url}"
      store: {store_yaml}
      password: {{file: password}}
      paths: ["{data}"]
      tags: [test]
      retention: {{keep_last: 2, prune: true}}
    drill: {{read_data_percent: 100, restore: true, scratch_dir: "{scratch}"}}
{stdin_job}"#,
        data = data.display(),
        scratch = tmp.path().join("scratch").display(),
    );
    std::fs::create_dir_all(tmp.path().join("scratch")).unwrap();
    let schedule = Schedule::from_yaml_in(&yaml, tmp.path()).unwrap();
    let jobs = schedule.runners(&env).unwrap();
    let clock = Arc::new(FastClock {
        wall: "2025-06-01T10:00:30Z".parse().unwrap(),
        start: std::time::Instant::now(),
        frozen_at: std::sync::Mutex::new(None),
    });
    let scheduler = Scheduler::new(
        jobs,
        SchedulerOptions::default().with_stop_timeout(Duration::from_secs(120)),
    )
    .with_clock(clock.clone());
    let server = MetricsServer::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run_serving(Some(server), async {
        let _ = rx.await;
    }));

    // Wait for three successful runs of the files job, changing the data between runs.
    let mut body = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    let mut changed = 0;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no three runs in time:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (head, b) = scrape(addr, "/metrics").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("application/openmetrics-text"), "{head}");
        body = b;
        let runs = value(
            &body,
            "thinledger_backup_job_runs_total{job=\"ledger-files\"}",
        )
        .unwrap();
        let drills = value(
            &body,
            "thinledger_backup_job_last_drill_success{job=\"ledger-files\"}",
        );
        if runs as usize > changed && changed < 3 {
            std::fs::write(
                data.join(format!("new-{changed}.txt")),
                common::text(50_000, changed as u64),
            )
            .unwrap();
            changed += 1;
        }
        let dump_done = service != Service::Local
            || value(
                &body,
                "thinledger_backup_job_last_drill_success{job=\"ledger-dump\"}",
            )
            .is_some();
        if runs >= 3.0
            && drills.is_some()
            && dump_done
            && value(&body, "thinledger_backup_job_running{job=\"ledger-files\"}") == Some(0.0)
        {
            break;
        }
    }
    // Stop between runs: with time frozen no run starts, so once neither job is running the
    // repository holds exactly what the last runs' retention left.
    clock.freeze();
    let mut idle = 0;
    while idle < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "jobs still running:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        body = scrape(addr, "/metrics").await.1;
        let running = |job: &str| {
            value(
                &body,
                &format!("thinledger_backup_job_running{{job=\"{job}\"}}"),
            )
        };
        let busy = running("ledger-files") != Some(0.0)
            || (service == Service::Local && running("ledger-dump") != Some(0.0));
        idle = if busy { 0 } else { idle + 1 };
    }
    let (head, b) = scrape(addr, "/healthz").await;
    assert!(head.starts_with("HTTP/1.1 200") && b == "ok\n", "{head}");
    let (head, _) = scrape(addr, "/nope").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    tx.send(()).unwrap();
    let report = task.await.unwrap();
    assert!(report.runs >= 3, "{report:?}");

    // What the metrics say.
    let m = |name: &str, job: &str| {
        value(
            &body,
            &format!("thinledger_backup_job_{name}{{job=\"{job}\"}}"),
        )
    };
    assert_eq!(
        value(
            &body,
            "thinledger_backup_job_failures_total{job=\"ledger-files\",stage=\"backup\"}"
        ),
        Some(0.0),
        "{body}"
    );
    for stage in ["retention", "drill"] {
        assert_eq!(
            value(
                &body,
                &format!(
                    "thinledger_backup_job_failures_total{{job=\"ledger-files\",stage=\"{stage}\"}}"
                )
            ),
            Some(0.0),
            "{body}"
        );
    }
    let last_success = m("last_success_timestamp_seconds", "ledger-files").unwrap();
    assert!(last_success > 1_748_772_000.0, "{body}");
    // The RPO is the frozen clock's now minus the last success. Its size depends on how long a
    // run takes in real time (the clock runs 60x fast), so a loaded machine cannot fail this.
    let rpo = m("rpo_seconds", "ledger-files").unwrap();
    let frozen = clock.now().timestamp_millis() as f64 / 1000.0;
    assert!(rpo >= 0.0, "rpo {rpo}");
    assert!(
        (rpo - (frozen - last_success)).abs() < 1.5,
        "rpo {rpo}, frozen clock {frozen}, last success {last_success}"
    );
    assert!(m("last_duration_seconds", "ledger-files").unwrap() > 0.0);
    assert!(m("last_bytes_added", "ledger-files").is_some());
    assert_eq!(m("last_drill_success", "ledger-files"), Some(1.0), "{body}");
    let restore_secs = m("last_drill_restore_seconds", "ledger-files").unwrap();
    assert!(restore_secs > 0.0 && restore_secs < 120.0, "{restore_secs}");

    // What the repository says: retention kept the newest two of this job's snapshots.
    let repo = Repository::open(
        store.object_store(),
        store.display_url(),
        &Password::new(common::PASSWORD),
    )
    .await
    .unwrap();
    let snaps = repo.snapshots().await.unwrap();
    let files: Vec<_> = snaps
        .iter()
        .filter(|s| {
            s.snapshot
                .tags
                .contains(&"schedule=ledger-files".to_owned())
        })
        .collect();
    assert_eq!(files.len(), 2, "{snaps:#?}");
    assert!(
        files
            .iter()
            .all(|s| s.snapshot.tags.contains(&"test".to_owned()))
    );
    if service == Service::Local {
        let dumps = snaps
            .iter()
            .filter(|s| s.snapshot.tags.contains(&"schedule=ledger-dump".to_owned()))
            .count();
        assert_eq!(dumps, 1);
        assert_eq!(m("last_drill_success", "ledger-dump"), Some(1.0), "{body}");
    }
    // The engine's own check agrees, and the drills left no scratch behind.
    let check =
        thinledger_backup::check(&Arc::new(repo), &thinledger_backup::CheckOptions::default())
            .await
            .unwrap();
    assert!(check.is_ok(), "{:?}", check.errors);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("scratch"))
            .unwrap()
            .count(),
        0
    );
    // The endpoint stopped with the scheduler.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

fn store_settings(yaml: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Some((s("endpoint"), s("region"), s("azure_account")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_on_the_local_folder() {
    scheduled_backups_retention_and_drills(Service::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_on_s3() {
    scheduled_backups_retention_and_drills(Service::S3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_on_azurite() {
    scheduled_backups_retention_and_drills(Service::Azurite).await;
}
