//! Check a Terraform plan (`terraform show -json tfplan`) with the built-in guardrails before
//! `terraform apply`: a plan that replaces a ledger volume claim is denied, naming the rule,
//! the resource and the fix; the same plan without the replacement passes.
//!
//! Run with `cargo run -p thinledger-examples --example check_a_terraform_plan`.

use thinledger_policy::{InputSet, PolicySet, Severity};

/// A plan with one change: `actions` is what Terraform will do to the resource.
fn plan(actions: &str) -> String {
    format!(
        r#"{{
  "format_version": "1.2",
  "terraform_version": "1.9.8",
  "resource_changes": [{{
    "address": "module.ledger.kubernetes_persistent_volume_claim_v1.datadir",
    "module_address": "module.ledger",
    "mode": "managed",
    "type": "kubernetes_persistent_volume_claim_v1",
    "name": "datadir",
    "provider_name": "registry.terraform.io/hashicorp/kubernetes",
    "change": {{"actions": {actions}, "before": {{}}, "after": {{}}}}
  }}]
}}"#
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policies = PolicySet::builtin()?;

    // 1. Replacing the claim (delete, then create) would drop the ledger's data: denied.
    let mut inputs = InputSet::new();
    inputs.add_json("replace.json", &plan(r#"["delete", "create"]"#))?;
    let report = policies.evaluate(&inputs)?;
    for f in &report.findings {
        println!(
            "{} {} on {}: {}\n  fix: {}",
            f.severity, f.rule, f.resource, f.message, f.remediation
        );
    }
    let denial = report
        .denials()
        .next()
        .ok_or("the replacement was not denied")?;
    assert_eq!(denial.rule, "antideletion.pvc_destroyed");
    assert_eq!(denial.severity, Severity::Deny);
    assert!(report.fails(false));

    // 2. An in-place update of the same claim passes, also in strict mode (warnings fail).
    let mut inputs = InputSet::new();
    inputs.add_json("update.json", &plan(r#"["update"]"#))?;
    let report = policies.evaluate(&inputs)?;
    assert!(!report.fails(true), "{:?}", report.findings);
    println!("update: passed");

    // 3. A document that is not a plan is refused before any rule runs (inputs fail closed).
    let mut inputs = InputSet::new();
    match inputs.add_json(
        "state.json",
        r#"{"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}}"#,
    ) {
        Err(err) => println!("refused: {err}"),
        Ok(_) => return Err("a document that is not a plan was accepted".into()),
    }
    Ok(())
}
