//! Render a tenant file into Kubernetes objects with the public API: parse it (unknown fields
//! and unsafe values are refused), take its per-node resources, render both CockroachDB modes
//! and write the YAML files `kubectl apply -f` takes; then show a refusal.
//!
//! Run with `cargo run -p thinledger-examples --example render_a_tenant`.

use thinledger_topology::Tenant;
use thinledger_topology::render::{CockroachMode, RenderOptions, ResourcePlan, render};

const TENANT: &str = include_str!("../tenants/azure.yaml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Parse and check the tenant file.
    let tenant = Tenant::from_yaml(TENANT)?;
    println!(
        "tenant {} ({} {}), namespace {}",
        tenant.spec().tenant,
        tenant.spec().provider,
        tenant.spec().tier,
        tenant.namespace()
    );
    for advice in tenant.advice() {
        println!("  note: {advice}");
    }

    // 2. Per-node resources as written in the tenant file (the sizing calculator can derive
    //    them instead; see size_a_node), then both CockroachDB modes.
    let plan = ResourcePlan::from_tenant(&tenant)?;
    for mode in [CockroachMode::StatefulSet, CockroachMode::Operator] {
        let rendering = render(&tenant, &plan, &RenderOptions::new(mode))?;
        let kinds: Vec<String> = rendering
            .objects
            .iter()
            .map(|o| format!("{}/{}", o.kind(), o.name()))
            .collect();
        println!("{}: {} objects", mode.as_str(), kinds.len());
        for kind in &kinds {
            println!("  {kind}");
        }

        // One file per object, as `ledger-topology render --out DIR` writes them.
        let dir = tempfile::tempdir()?;
        for (name, yaml) in rendering.files()? {
            std::fs::write(dir.path().join(&name), yaml)?;
        }
        let written = std::fs::read_dir(dir.path())?.count();
        assert_eq!(written, rendering.objects.len());
        println!("  wrote {written} files (kubectl apply -f DIR)");
    }

    // 3. An even node count tolerates no more failures than the odd one below: refused with
    //    the field, the rule and the fix.
    let even = TENANT.replacen("nodes: 3", "nodes: 4", 1);
    assert_ne!(even, TENANT, "the example tenant has `nodes: 3`");
    match Tenant::from_yaml(&even) {
        Err(err) => println!("refused: {err}"),
        Ok(_) => return Err("a tenant with 4 nodes over 3 zones was accepted".into()),
    }
    Ok(())
}
