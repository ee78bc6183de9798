//! A downstream application of thinledger's crates with its own Kubernetes version: parses a
//! tenant, sizes it, renders it and reads the objects back as this application's
//! `k8s-openapi` types, then creates and opens a backup repository on a temporary folder.
//! Exits non-zero when any step fails.

use std::sync::Arc;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::CronJob;
use thinledger_backup::schedule::Schedule;
use thinledger_backup::schedule::render::render as render_schedule;
use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{InitOptions, Password, Repository};
use thinledger_sizing::{ResourceSource, render_tenant};
use thinledger_topology::render::{CockroachMode, RenderOptions};

const TENANT: &str = include_str!("../../../examples/tenants/gcp.yaml");
const SCHEDULE: &str = include_str!("../../../examples/schedules/onprem-minio.yaml");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Parse, size and render: the composition `ledger-topology render --resources sizing` runs.
    let (plan, rendering) = render_tenant(
        TENANT,
        ResourceSource::Sizing,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )?;
    let sized = plan.sizing.as_ref().ok_or("the plan was sized")?;
    println!(
        "{}: {} CockroachDB nodes of {} vCPU",
        plan.tenant.spec().tenant,
        sized.cockroachdb.nodes,
        sized.cockroachdb.resources.vcpu()
    );

    // Read an object back as this application's own k8s-openapi type (v1_37).
    let manifest = rendering
        .find("StatefulSet", "cockroachdb")
        .ok_or("no StatefulSet cockroachdb in the rendering")?;
    let json = manifest.to_json()?;
    let sts: StatefulSet = serde_json::from_value(json.clone())?;
    let replicas = json["spec"]["replicas"].as_u64().unwrap_or_default();
    println!(
        "rendered {} objects; StatefulSet {} in {} with {replicas} replicas",
        rendering.objects.len(),
        sts.metadata.name.as_deref().unwrap_or("?"),
        sts.metadata.namespace.as_deref().unwrap_or("?"),
    );
    if replicas != u64::from(plan.resources.cockroach.nodes) {
        return Err("the StatefulSet does not have the planned node count".into());
    }

    // The backup schedule's CronJobs, read back as this application's own type. A schedule
    // without CockroachDB jobs needs no tenant files.
    let schedule = Schedule::from_yaml_in(SCHEDULE, std::path::Path::new("."))?;
    let cron_jobs = render_schedule(&schedule, &BTreeMap::new())?;
    let mut names = Vec::new();
    for object in cron_jobs.objects.iter().filter(|o| o.kind() == "CronJob") {
        let cron_job: CronJob = serde_json::from_value(object.to_json()?)?;
        names.push(cron_job.metadata.name.unwrap_or_default());
    }
    if names.is_empty() {
        return Err("the schedule rendered no CronJob".into());
    }
    println!("schedule renders CronJobs {}", names.join(", "));

    // A backup repository on a temporary folder.
    let dir = tempfile::tempdir()?;
    let password = Password::new("downstream example, not a secret");
    let mut init = InitOptions::default();
    init.kdf.n = 1024; // cheap key derivation for a demonstration
    init.kdf.r = 8;
    init.kdf.p = 1;
    let store = StoreBuilder::new(dir.path().to_string_lossy()).build()?;
    let repo = Repository::init(
        store.object_store(),
        store.display_url().to_owned(),
        &password,
        &init,
    )
    .await?;
    let reopened = Arc::new(
        Repository::open(
            store.object_store(),
            store.display_url().to_owned(),
            &password,
        )
        .await?,
    );
    if reopened.config().id != repo.config().id {
        return Err("the reopened repository is another one".into());
    }
    println!("repository {} created and opened", dir.path().display());
    Ok(())
}
