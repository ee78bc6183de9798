//! Rendered CronJobs: a snapshot, the hardening rules, and kubernetes-validate (strict) against
//! two Kubernetes minors.

use std::path::Path;

use serde_json::Value;
use thinledger_backup::schedule::Schedule;
use thinledger_backup::schedule::render::{ScheduleRendering, render};
use thinledger_tests::examples::schedule as example;
use thinledger_tests::kubernetes::{KUBERNETES_VERSIONS, validate_strict};
use thinledger_tests::services::var as service;
use thinledger_topology::iam;
use thinledger_topology::render::{CockroachMode, RenderOptions, ResourcePlan, render_site};

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
    for file in ["ledger.yaml", "onprem-minio.yaml", "multi-cloud-azure.yaml"] {
        for (i, o) in rendering(file).objects.iter().enumerate() {
            let p = dir.path().join(format!("{file}-{i:02}-{}.yaml", o.kind()));
            std::fs::write(&p, o.to_yaml().unwrap()).unwrap();
            paths.push(p);
        }
    }
    assert_eq!(paths.len(), 5 + 3 + 3);
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

// Scheduled backups in a cluster of another provider than the bucket's identity: the multi-cloud
// tenant keeps its backups on S3 with IRSA; examples/schedules/multi-cloud-azure.yaml runs
// CronJobs in its Azure site (and, edited, its on-prem site).

/// The multi-cloud example schedule with its CronJobs in a cluster of `provider`.
fn multi_cloud_schedule(provider: &str) -> Schedule {
    let text = std::fs::read_to_string(example("multi-cloud-azure.yaml")).unwrap();
    assert!(text.contains("  provider: azure"));
    let text = text.replace("  provider: azure", &format!("  provider: {provider}"));
    Schedule::from_yaml_in(&text, &example("")).unwrap()
}

fn container(pod: &Value) -> &Value {
    &pod["containers"][0]
}

/// The value of variable `name` of the pod's container.
fn env_of(pod: &Value, name: &str) -> Option<String> {
    container(pod)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].as_str().unwrap().to_owned())
}

/// The volume and the mount of `name`, if the pod has them.
fn volume_of(pod: &Value, name: &str) -> Option<(Value, Value)> {
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)?
        .clone();
    let mount = container(pod)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)?
        .clone();
    Some((volume, mount))
}

const EXPORTS: &str = "ledger-exports-eastus";
const BACKUP_ROLE: &str = "arn:aws:iam::123456789012:role/acme-ledger-backup";

#[test]
fn foreign_cluster_cron_job_snapshot() {
    let r = render(&multi_cloud_schedule("azure"), &Default::default()).unwrap();
    let cj = r
        .objects
        .iter()
        .find(|o| o.kind() == "CronJob" && o.name() == EXPORTS)
        .unwrap();
    insta::assert_snapshot!("schedule-cronjob-foreign-cluster", cj.to_yaml().unwrap());
}

/// In an Azure or on-prem cluster the pod gets what EKS's webhook would inject for IRSA, from
/// the same implementation and with the same values as the tenant's CockroachDB nodes in that
/// site; on AWS (the identity's own cloud) and without `kubernetes.provider` (the webhook's
/// job, as before) it gets none of it.
#[rstest::rstest]
#[case::azure("azure", Some("azure-eastus"))]
#[case::onprem("onprem", Some("onprem-fra"))]
#[case::at_home("aws", None)]
fn cron_jobs_in_another_clouds_cluster_get_the_identitys_token(
    #[case] provider: &str,
    #[case] site: Option<&str>,
) {
    let r = render(&multi_cloud_schedule(provider), &Default::default()).unwrap();
    let p = pod(&r, EXPORTS);
    let Some(site) = site else {
        assert_eq!(env_of(&p, "AWS_ROLE_ARN"), None);
        assert_eq!(env_of(&p, "AWS_WEB_IDENTITY_TOKEN_FILE"), None);
        assert!(volume_of(&p, "aws-iam-token").is_none());
        assert_eq!(p["automountServiceAccountToken"], true);
        return;
    };
    assert_eq!(env_of(&p, "AWS_ROLE_ARN").as_deref(), Some(BACKUP_ROLE));
    assert_eq!(env_of(&p, "AWS_REGION").as_deref(), Some("us-east-1"));
    let (volume, mount) = volume_of(&p, "aws-iam-token").unwrap();
    let projection = &volume["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(projection["audience"], "sts.amazonaws.com");
    assert_eq!(
        env_of(&p, "AWS_WEB_IDENTITY_TOKEN_FILE").unwrap(),
        format!(
            "{}/{}",
            mount["mountPath"].as_str().unwrap(),
            projection["path"].as_str().unwrap()
        )
    );
    // The projected token is the only one the pod needs.
    assert_eq!(p["automountServiceAccountToken"], false);
    let cj = serde_json::to_value(r.cron_job(EXPORTS).unwrap()).unwrap();
    assert!(
        cj["metadata"]["annotations"]["thinledger.io/backup-identity"]
            .as_str()
            .unwrap()
            .contains(BACKUP_ROLE)
    );

    // Exactly what the site's CockroachDB nodes get for native BACKUP.
    let tenant = thinledger_topology::Tenant::from_yaml(&thinledger_tests::examples::tenant_text(
        "multi-cloud",
    ))
    .unwrap();
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let rendering = render_site(
        &tenant,
        site,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )
    .unwrap();
    let sts = rendering
        .find("StatefulSet", "cockroachdb")
        .unwrap()
        .to_json()
        .unwrap();
    let nodes = &sts["spec"]["template"]["spec"];
    let database = nodes["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cockroachdb")
        .unwrap();
    let node_pod = serde_json::json!({
        "containers": [database],
        "volumes": nodes["volumes"],
    });
    assert_eq!(
        volume_of(&node_pod, "aws-iam-token"),
        Some((volume, mount)),
        "{site}"
    );
    for name in [
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_REGION",
        "AWS_STS_REGIONAL_ENDPOINTS",
    ] {
        assert_eq!(env_of(&node_pod, name), env_of(&p, name), "{site}: {name}");
    }
}

/// The backup role that the CronJob signs in as trusts, from the site's cluster, the CronJob's
/// ServiceAccount in the CronJob's namespace: `ledger-topology iam` and `schedule render`
/// agree (a renamed ServiceAccount, another namespace or an IAM plan that trusts only the
/// CockroachDB nodes fails here).
#[rstest::rstest]
#[case::azure("azure", "eastus")]
#[case::onprem("onprem", "dc-frankfurt")]
fn the_backup_role_trusts_the_cron_jobs_service_account_from_the_sites_cluster(
    #[case] provider: &str,
    #[case] region: &str,
) {
    let r = render(&multi_cloud_schedule(provider), &Default::default()).unwrap();
    let cj = serde_json::to_value(r.cron_job(EXPORTS).unwrap()).unwrap();
    let p = pod(&r, EXPORTS);
    let subject = format!(
        "system:serviceaccount:{}:{}",
        cj["metadata"]["namespace"].as_str().unwrap(),
        p["serviceAccountName"].as_str().unwrap()
    );
    let role = env_of(&p, "AWS_ROLE_ARN").unwrap();
    let role_name = role.rsplit_once("role/").unwrap().1;

    let tenant = thinledger_topology::Tenant::from_yaml(&thinledger_tests::examples::tenant_text(
        "multi-cloud",
    ))
    .unwrap();
    let access = iam::plan(&tenant, &iam::IamOptions::default()).unwrap();
    let trust = access
        .documents
        .iter()
        .find(|d| d.kind == iam::IamDocumentKind::AwsTrustPolicy && d.name == role_name)
        .unwrap_or_else(|| panic!("no trust policy for {role}"));
    let issuer = tenant.spec().backup.iam.as_ref().unwrap().oidc_issuers[region]
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let statement = trust.document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["Principal"]["Federated"]
                .as_str()
                .unwrap()
                .ends_with(&format!("oidc-provider/{issuer}"))
        })
        .unwrap_or_else(|| panic!("{role} does not trust {issuer}"));
    let condition = &statement["Condition"]["StringEquals"];
    assert_eq!(condition[format!("{issuer}:aud")], "sts.amazonaws.com");
    let subs = condition[format!("{issuer}:sub")].to_string();
    assert!(
        subs.contains(&format!("\"{subject}\"")),
        "{subject}: {subs}"
    );
}

/// Identities and their CronJobs' cluster: federated where the identity can be (IRSA, Azure
/// workload identity with tenant_id), MinIO keys anywhere, refused otherwise, naming the field,
/// the value and the fix.
#[rstest::rstest]
#[case::azure_workload_identity_in_aws(
    "aws",
    "{kind: azure-workload-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d, tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47}",
    "az://ledger-backups/exports",
    Ok(&["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "api://AzureADTokenExchange"][..])
)]
#[case::minio_keys_in_aws(
    "aws",
    "{kind: secret-ref, secret_name: minio-backup}",
    "s3://ledger-backups/exports?endpoint=https://minio.backup.svc:9000&region=us-east-1",
    Ok(&["minio-backup", "AWS_SECRET_ACCESS_KEY"][..])
)]
#[case::azure_workload_identity_without_tenant_id(
    "aws",
    "{kind: azure-workload-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
    "az://ledger-backups/exports",
    Err(&["kubernetes.provider = \"aws\"", "tenant_id", "AKS's webhook"][..])
)]
#[case::azure_managed_identity(
    "onprem",
    "{kind: azure-managed-identity, client_id: 0f4c8a2e-9f1b-4b7a-8c3d-2e5f6a7b8c9d}",
    "az://ledger-backups/exports",
    Err(&["kubernetes.provider", "onprem", "AKS nodes only", "azure-workload-identity"][..])
)]
#[case::gke_workload_identity(
    "azure",
    "{kind: gke-workload-identity, service_account: ledger-backup@fabrikam-prod.iam.gserviceaccount.com}",
    "gs://ledger-backups/exports",
    Err(&["kubernetes.provider", "azure", "workload identity federation pool", "kubernetes.provider: gcp"][..])
)]
#[case::irsa_without_the_buckets_region(
    "azure",
    "{kind: irsa, role_arn: \"arn:aws:iam::123456789012:role/acme-ledger-backup\"}",
    "s3://acme-ledger-backups/exports",
    Err(&["repository.store.region", "AWS STS", "?region="][..])
)]
fn identities_federate_or_are_refused(
    #[case] provider: &str,
    #[case] identity: &str,
    #[case] url: &str,
    #[case] expected: Result<&[&str], &[&str]>,
) {
    let text = format!(
        r#"
kubernetes:
  namespace: ledger-acme-bank-prod
  image: registry.example/thinledger/ledger-backup:0.1.0
  provider: {provider}
  password_secret: ledger-backup-passwords
jobs:
  - name: exports
    schedule: "0 * * * *"
    repository:
      url: "{url}"
      identity: {identity}
      password: {{file: /run/secrets/password}}
      stdin: {{command: "cat /etc/hostname", filename: host}}
"#
    );
    let schedule = Schedule::from_yaml_in(&text, Path::new(".")).unwrap();
    match (render(&schedule, &Default::default()), expected) {
        (Ok(r), Ok(wanted)) => {
            let p = pod(&r, "exports").to_string();
            for w in wanted {
                assert!(p.contains(w), "{w}: {p}");
            }
        }
        (Err(e), Err(wanted)) => {
            let e = e.to_string();
            for w in wanted {
                assert!(e.contains(w), "{w}: {e}");
            }
            assert!(e.contains("Fix:"), "{e}");
        }
        (got, _) => panic!("{:?}", got.map(|r| r.objects.len())),
    }
}
