//! Region survival through multi-region SQL: golden statements (CockroachDB v25.2's documented
//! `ALTER DATABASE … SET PRIMARY REGION / ADD REGION IF NOT EXISTS / SURVIVE REGION FAILURE`)
//! and the refusals, each naming field, value, rule and fix.

use rstest::rstest;
use thinledger_backup::cockroach::{
    RegionSurvivalOptions, RegionSurvivalPlan, SHOW_CLUSTER_REGIONS, Statement,
};
use thinledger_topology::Tenant;

use super::*;

fn golden(plan: &RegionSurvivalPlan) -> String {
    let mut out = plan.to_string();
    out.push_str("\n-- executed as (no parameters):\n");
    for s in plan.statements() {
        let r = s.render();
        assert!(r.params().is_empty(), "{}", r.sql());
        assert_eq!(r.sql(), r.display());
        out.push_str(&format!("{}: {}\n", r.label(), r.sql()));
    }
    out
}

#[rstest]
#[case::one_database("one_database", RegionSurvivalOptions::default().with_databases(["ledger"]))]
#[case::two_databases_other_primary(
    "two_databases_other_primary",
    RegionSurvivalOptions::default()
        .with_databases(["ledger", "Ledger \"Audit\""])
        .with_primary_region("eu-west-1")
        .with_create_databases(false)
)]
fn plans(#[case] name: &str, #[case] options: RegionSurvivalOptions) {
    let plan = RegionSurvivalPlan::for_tenant(&aws_multi_region(), &options).unwrap();
    insta::with_settings!({ snapshot_suffix => name }, {
        insta::assert_snapshot!("region_survival", golden(&plan));
    });
}

#[test]
fn documented_statement_shapes() {
    let plan = RegionSurvivalPlan::for_tenant(
        &aws_multi_region(),
        &RegionSurvivalOptions::default().with_databases(["ledger"]),
    )
    .unwrap();
    let sql: Vec<String> = plan
        .statements()
        .iter()
        .map(|s| s.render().sql().to_owned())
        .collect();
    assert_eq!(
        sql,
        [
            r#"CREATE DATABASE IF NOT EXISTS "ledger""#,
            r#"ALTER DATABASE "ledger" SET PRIMARY REGION "us-east-1""#,
            r#"ALTER DATABASE "ledger" ADD REGION IF NOT EXISTS "us-west-2""#,
            r#"ALTER DATABASE "ledger" ADD REGION IF NOT EXISTS "eu-west-1""#,
            r#"ALTER DATABASE "ledger" SURVIVE REGION FAILURE"#,
        ]
    );
    // Nothing of the hand-set replication zone the docs advise against.
    assert!(
        !plan.script().contains("CONFIGURE ZONE"),
        "{}",
        plan.script()
    );
    assert!(!plan.script().contains("num_replicas"), "{}", plan.script());
    assert_eq!(
        SHOW_CLUSTER_REGIONS,
        "SELECT region FROM [SHOW REGIONS FROM CLUSTER]"
    );
}

#[rstest]
#[case::zone_survival(
    aws(),
    RegionSurvivalOptions::default().with_databases(["ledger"]),
    "survival: \"zone\" is invalid: SURVIVE REGION FAILURE is for tenants whose survival goal is region"
)]
#[case::no_database(
    aws_multi_region(),
    RegionSurvivalOptions::default(),
    "options.databases: \"\" is invalid: the survival goal is set per database"
)]
#[case::unknown_primary(
    aws_multi_region(),
    RegionSurvivalOptions::default().with_databases(["ledger"]).with_primary_region("ap-south-1"),
    "options.primary_region: \"ap-south-1\" is invalid: the primary region is one of the tenant's regions (us-east-1, us-west-2, eu-west-1)"
)]
#[case::bad_primary(
    aws_multi_region(),
    RegionSurvivalOptions::default().with_databases(["ledger"]).with_primary_region("us east"),
    "options.primary_region: \"us east\" is invalid: a region is 1-63 letters"
)]
#[case::system_database(
    aws_multi_region(),
    RegionSurvivalOptions::default().with_databases(["system"]),
    "options.databases: \"system\" is invalid"
)]
#[case::control_character(
    aws_multi_region(),
    RegionSurvivalOptions::default().with_databases(["led\nger"]),
    "options.databases: \"led"
)]
fn refusals_name_field_value_rule_and_fix(
    #[case] tenant: Tenant,
    #[case] options: RegionSurvivalOptions,
    #[case] starts: &str,
) {
    let err = RegionSurvivalPlan::for_tenant(&tenant, &options).unwrap_err();
    assert!(err.is_input());
    let text = err.to_string();
    assert!(text.starts_with(starts), "{text}");
    assert!(text.contains("fix:"), "{text}");
}
