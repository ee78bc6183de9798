//! A downstream application of thinledger's crates with its own Kubernetes version: parses a
//! tenant, sizes it, renders it and reads the objects back as this application's
//! `k8s-openapi` types, then creates and opens a backup repository on a temporary folder.
//! Exits non-zero when any step fails.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use thinledger_backup::store::StoreBuilder;
use thinledger_backup::{InitOptions, Password, Repository};
use thinledger_sizing::{NodeShapeSpec, SizingOptions, SizingSpec};
use thinledger_topology::Tenant;
use thinledger_topology::render::{CockroachMode, RenderOptions, ResourcePlan, render};

const TENANT: &str = include_str!("../../../examples/tenants/gcp.yaml");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Parse and size.
    let tenant = Tenant::from_yaml(TENANT)?;
    let spec = tenant.spec();
    let resources = spec
        .cockroachdb
        .resources
        .ok_or("the example tenant declares cockroachdb.resources")?;
    let shape = SizingSpec::NodeShape(NodeShapeSpec::new(resources.cpu, resources.memory));
    let options = SizingOptions {
        locality: Some(tenant.locality().clone()),
        ..SizingOptions::default()
    };
    let sized = thinledger_sizing::plan(spec.provider, spec.tier, &shape, &options)?;
    println!(
        "{}: {} CockroachDB nodes of {} vCPU",
        spec.tenant,
        sized.cockroachdb.nodes,
        sized.cockroachdb.resources.vcpu()
    );

    // Render, and read an object back as this application's own k8s-openapi type (v1_37).
    let plan = ResourcePlan::from_tenant(&tenant)?;
    let rendering = render(
        &tenant,
        &plan,
        &RenderOptions::new(CockroachMode::StatefulSet),
    )?;
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
    if replicas != u64::from(plan.cockroach.nodes) {
        return Err("the StatefulSet does not have the planned node count".into());
    }

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
