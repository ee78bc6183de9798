//! Rendered CronJobs: a snapshot, the hardening rules, and kubernetes-validate (strict) against
//! two Kubernetes minors.

use std::path::Path;

use serde_json::Value;
use thinledger_backup::schedule::Schedule;
use thinledger_backup::schedule::render::{ScheduleRendering, render};
use thinledger_tests::examples::schedule as example;
use thinledger_tests::kubernetes::{KUBERNETES_VERSIONS, validate_strict};
use thinledger_tests::services::var as service;

fn rendering(name: &str) -> ScheduleRendering {
    let schedule = Schedule::from_file(&example(name)).unwrap();
    let tenants = schedule.read_tenant_files().unwrap();
    render(&schedule, &tenants).unwrap()
}

fn pod(r: &ScheduleRendering, job: &str) -> Value {
    let cj = r.cron_job(job).unwrap();
    serde_json::to_value(cj).unwrap()["spec"]["jobTemplate"]["spec"]["template"]["spec"].clone()
}

#[test]
fn cron_job_snapshot() {
    let r = rendering("ledger.yaml");
    let cj = r
        .objects
        .iter()
        .find(|o| o.kind() == "CronJob" && o.name() == "ledger-exports")
        .unwrap();
    insta::assert_snapshot!("schedule-cronjob-ledger-exports", cj.to_yaml().unwrap());
}

#[test]
fn cron_jobs_carry_the_schedule_and_the_policies() {
    let r = rendering("ledger.yaml");
    let kinds: Vec<_> = r
        .objects
        .iter()
        .map(|o| (o.kind(), o.name().to_owned()))
        .collect();
    assert_eq!(kinds[0], ("ServiceAccount", "ledger-backup".to_owned()));
    assert_eq!(kinds[1], ("ConfigMap", "ledger-backup-schedule".to_owned()));
    assert_eq!(kinds.len(), 5);

    let cj = |name: &str| serde_json::to_value(r.cron_job(name).unwrap()).unwrap();
    let exports = cj("ledger-exports");
    assert_eq!(exports["spec"]["schedule"], "15 * * * *");
    assert_eq!(exports["spec"]["timeZone"], "Europe/Zurich");
    assert_eq!(exports["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(exports["spec"]["startingDeadlineSeconds"], 600);
    assert_eq!(exports["spec"]["jobTemplate"]["spec"]["backoffLimit"], 3);
    assert_eq!(
        exports["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"],
        4 * 7200
    );
    // wait: the deadline spans one interval (hourly).
    let hourly = cj("cockroach-hourly");
    assert_eq!(hourly["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(hourly["spec"]["startingDeadlineSeconds"], 3600);
    assert_eq!(hourly["spec"]["jobTemplate"]["spec"]["backoffLimit"], 2);

    // The ServiceAccount carries the identity binding; the pods mount a token only for it.
    let sa = r.objects[0].to_json().unwrap();
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/acme-ledger-backup"
    );
    assert_eq!(sa["automountServiceAccountToken"], false);
    assert_eq!(
        pod(&r, "ledger-exports")["automountServiceAccountToken"],
        true
    );
    assert_eq!(
        pod(&r, "cockroach-hourly")["automountServiceAccountToken"],
        false
    );

    // The pods read a schedule whose passwords come from the mounted Secret, never inline.
    let cm = r.objects[1].to_json().unwrap();
    let text = cm["data"]["schedule.yaml"].as_str().unwrap();
    let inner = Schedule::from_yaml_in(text, Path::new("/etc/thinledger/schedule")).unwrap();
    assert_eq!(inner.jobs().len(), 3);
    assert!(
        text.contains("/var/run/secrets/thinledger/password/ledger-exports"),
        "{text}"
    );
    assert!(
        text.contains("/var/run/secrets/thinledger/cockroach/cockroach-hourly"),
        "{text}"
    );
    assert!(
        !text.contains("kubernetes:") && !text.contains("listen"),
        "{text}"
    );
    assert!(
        cm["data"]["tenant-cockroach-hourly.yaml"]
            .as_str()
            .unwrap()
            .contains("tenant:")
    );
    let args = &pod(&r, "ledger-exports")["containers"][0]["args"];
    assert_eq!(
        args,
        &serde_json::json!([
            "schedule",
            "once",
            "/etc/thinledger/schedule/schedule.yaml",
            "--job",
            "ledger-exports"
        ])
    );
}

#[test]
fn pods_meet_the_restricted_profile() {
    for (file, jobs) in [
        (
            "ledger.yaml",
            &[
                "ledger-exports",
                "cockroach-hourly",
                "cockroach-nightly-full",
            ][..],
        ),
        ("onprem-minio.yaml", &["ledger-dump"][..]),
    ] {
        let r = rendering(file);
        for job in jobs {
            let p = pod(&r, job);
            assert_eq!(p["securityContext"]["runAsNonRoot"], true, "{job}");
            assert_eq!(
                p["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            assert_eq!(p["restartPolicy"], "Never");
            for c in p["containers"].as_array().unwrap() {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{job}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{job}");
                assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
                let image = c["image"].as_str().unwrap();
                assert!(
                    image.rsplit_once(':').is_some_and(|(_, t)| t != "latest"),
                    "{image}"
                );
                assert_eq!(c["resources"]["requests"], c["resources"]["limits"]);
                let mounts: Vec<&str> = c["volumeMounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["mountPath"].as_str().unwrap())
                    .collect();
                assert!(mounts.contains(&"/scratch"), "{mounts:?}");
                // No secret value in the environment: only references.
                for e in c["env"].as_array().unwrap() {
                    let name = e["name"].as_str().unwrap();
                    if e.get("value").is_some() {
                        assert!(["TMPDIR", "HOME"].contains(&name), "{name}");
                    } else {
                        assert!(e["valueFrom"]["secretKeyRef"]["name"].is_string());
                    }
                }
            }
        }
    }
    // On-prem MinIO: keys from the binding's Secret, no service-account token.
    let r = rendering("onprem-minio.yaml");
    let p = pod(&r, "ledger-dump");
    assert_eq!(p["automountServiceAccountToken"], false);
    let env = p["containers"][0]["env"].to_string();
    assert!(
        env.contains("minio-backup") && env.contains("AWS_SECRET_ACCESS_KEY"),
        "{env}"
    );
}

#[test]
fn rendering_needs_the_kubernetes_section_and_a_pinned_image() {
    let yaml = std::fs::read_to_string(example("onprem-minio.yaml")).unwrap();
    let unpinned = yaml.replace("ledger-backup:0.1.0", "ledger-backup:latest");
    let err = Schedule::from_yaml_in(&unpinned, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kubernetes.image") && err.contains("pinned"),
        "{err}"
    );
    let start = yaml.find("kubernetes:").unwrap();
    let end = yaml.find("jobs:").unwrap();
    let without = format!("{}{}", &yaml[..start], &yaml[end..]);
    let s = Schedule::from_yaml_in(&without, Path::new(".")).unwrap();
    let err = render(&s, &Default::default()).unwrap_err().to_string();
    assert!(err.contains("kubernetes") && err.contains("Fix:"), "{err}");
}

#[test]
fn rendered_objects_pass_kubernetes_validate_strict() {
    let Some(tool) = service("THINLEDGER_TEST_KUBERNETES_VALIDATE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for file in ["ledger.yaml", "onprem-minio.yaml"] {
        for (i, o) in rendering(file).objects.iter().enumerate() {
            let p = dir.path().join(format!("{file}-{i:02}-{}.yaml", o.kind()));
            std::fs::write(&p, o.to_yaml().unwrap()).unwrap();
            paths.push(p);
        }
    }
    assert_eq!(paths.len(), 5 + 3);
    for version in KUBERNETES_VERSIONS {
        let (passed, report) = validate_strict(&tool, version, &paths);
        assert!(passed, "Kubernetes {version}:\n{report}");
    }
    // Not vacuous: an unknown field in a CronJob fails.
    let cron = paths
        .iter()
        .find(|p| p.to_string_lossy().ends_with("CronJob.yaml"))
        .unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(cron).unwrap();
    std::fs::write(
        &bad,
        text.replace(
            "concurrencyPolicy: Forbid",
            "concurrencyPolicy: Forbid\n  jitter: 5m",
        ),
    )
    .unwrap();
    let (passed, _) = validate_strict(&tool, KUBERNETES_VERSIONS[0], &[&bad]);
    assert!(!passed);
}
