//! `ledger-size`, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;
use rstest::rstest;
use serde_json::Value;

fn ledger_size(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("ledger-size")
        .unwrap()
        .args(args)
        .assert()
}

/// `ledger-size --provider aws ARGS`.
fn on_aws(args: &[&str]) -> assert_cmd::assert::Assert {
    let mut all = vec!["--provider", "aws"];
    all.extend(args);
    ledger_size(&all)
}

/// The runbook's example: AWS production nodes of 8 vCPU and 32 GiB.
const AWS_PROD_8X32: [&str; 8] = [
    "--provider",
    "aws",
    "--tier",
    "prod",
    "--vcpu",
    "8",
    "--memory",
    "32GiB",
];

/// What a successful run with `--output json` printed.
fn json_text(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    stdout(&all)
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&json_text(args)).unwrap()
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(ledger_size(args).success().get_output().stdout.clone()).unwrap()
}

#[test]
fn aws_prod_8_vcpu_32_gib_as_json() {
    let plan = json(&AWS_PROD_8X32);
    let c = &plan["cockroachdb"];
    assert_eq!(
        c["flags"],
        serde_json::json!(["--cache=8GiB", "--max-sql-memory=8GiB"])
    );
    assert_eq!(c["cache"], "8Gi");
    assert_eq!(c["max_sql_memory"], "8Gi");
    assert_eq!(c["resources"]["requests"], c["resources"]["limits"]);
    assert_eq!(c["resources"]["limits"]["cpu"], "8");
    assert_eq!(c["resources"]["limits"]["memory"], "32Gi");
    let family = c["node"]["instance"]["family"].as_str().unwrap();
    assert!(family == "m6i" || family == "r6i", "{family}");
    let rules: Vec<&str> = plan["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "crdb.cache",
        "crdb.max-sql-memory",
        "qos.guaranteed",
        "qos.static-cpu-manager",
        "node.instance",
    ] {
        assert!(rules.contains(&id), "{id} missing from {rules:?}");
    }
    insta::assert_json_snapshot!("aws_prod_8x32_json", plan);
}

#[test]
fn aws_prod_8_vcpu_32_gib_as_table() {
    insta::assert_snapshot!("aws_prod_8x32_table", stdout(&AWS_PROD_8X32));
}

#[test]
fn gcp_workload_surviving_a_region_as_table() {
    insta::assert_snapshot!(
        "gcp_prod_6tib_region_table",
        stdout(&[
            "--provider",
            "gcp",
            "--tier",
            "prod",
            "--data",
            "6TiB",
            "--growth",
            "40%",
            "--survive",
            "region",
        ])
    );
}

#[rstest]
#[case("helm", "helm")]
#[case("crdb-cluster", "crdb_cluster")]
#[case("redpanda", "redpanda")]
fn yaml_fragments(#[case] fragment: &str, #[case] name: &str) {
    let out = stdout(&[
        "--provider",
        "azure",
        "--vcpu",
        "8",
        "--memory",
        "32Gi",
        "--output",
        "yaml",
        "--fragment",
        fragment,
    ]);
    // The YAML parses, comments aside.
    let _: serde_json::Value = serde_yaml_ng_parse(&out);
    insta::assert_snapshot!(format!("azure_8x32_yaml_{name}"), out);
}

fn serde_yaml_ng_parse(text: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn production_below_four_vcpu_exits_2_naming_the_rule() {
    ledger_size(&[
        "--provider",
        "aws",
        "--tier",
        "prod",
        "--vcpu",
        "2",
        "--memory",
        "8GiB",
    ])
    .code(2)
    .stdout("")
    .stderr(predicate::str::contains(
        "error: cannot size the ledger for provider aws, tier prod",
    ))
    .stderr(predicate::str::contains(
        "caused by: vcpu = 2: prod CockroachDB nodes need at least 4 vCPU",
    ))
    .stderr(predicate::str::contains("CockroachDB production checklist"))
    .stderr(predicate::str::contains("Fix: use --vcpu 4"));
}

#[rstest]
#[case(&["--vcpu", "8", "--memory", "16GiB"], "--memory 32GiB or more")]
#[case(&["--vcpu", "8", "--memory", "32GiB", "--nodes", "4"], "nodes = 4")]
#[case(&["--vcpu", "4500m", "--memory", "32GiB"], "use 4 or 5")]
#[case(&["--vcpu", "8", "--memory", "32GiB", "--cache", "40%", "--max-sql-memory", "30%"], "80%")]
#[case(&["--vcpu", "32", "--memory", "128GiB", "--data", "20TiB", "--nodes", "3"], "more than 10 TiB per node")]
#[case(&["--vcpu", "8", "--memory", "32GiB", "--redpanda-cores", "3"], "an even number")]
#[case(&["--vcpu", "8", "--memory", "32GiB", "--storage-class", "gp2"], "valid values: gp3, io2")]
#[case(&["--memory", "32GiB"], "give a node shape (--vcpu and --memory)")]
#[case(&["--vcpu", "8", "--memory", "32GiB", "--regions", "us-east-1", "--zones", "us-east-1a,us-east-1b"], "at least 3 zones")]
fn refusals_exit_2_with_rule_and_fix(#[case] args: &[&str], #[case] message: &str) {
    on_aws(args)
        .code(2)
        .stderr(predicate::str::contains(message));
}

#[rstest]
#[case(&["--vcpu", "8", "--memory", "32 gigs"], "--memory", "\"32 gigs\"")]
#[case(&["--vcpu", "eight", "--memory", "32Gi"], "--vcpu", "\"eight\"")]
#[case(&["--data", "6 TB-ish"], "--data", "\"6 TB-ish\"")]
#[case(&["--data", "1TiB", "--write-rate", "fast"], "--write-rate", "\"fast\"")]
fn malformed_quantities_are_named(#[case] args: &[&str], #[case] flag: &str, #[case] value: &str) {
    on_aws(args)
        .code(2)
        .stderr(predicate::str::contains(flag))
        .stderr(predicate::str::contains(value));
}

#[rstest]
#[case("32Gi")]
#[case("32GiB")]
#[case("32768Mi")]
fn memory_quantities_in_any_kubernetes_spelling(#[case] memory: &str) {
    let plan = json(&["--provider", "aws", "--vcpu", "4000m", "--memory", memory]);
    assert_eq!(plan["cockroachdb"]["resources"]["limits"]["memory"], "32Gi");
    assert_eq!(plan["cockroachdb"]["resources"]["limits"]["cpu"], "4");
}

#[rstest]
fn workload_mode_for_every_provider(
    #[values("aws", "azure", "gcp", "onprem")] provider: &str,
    #[values("zone", "region")] survive: &str,
) {
    let plan = json(&[
        "--provider",
        provider,
        "--data",
        "6TiB",
        "--growth",
        "40%",
        "--survive",
        survive,
        "--write-rate",
        "5MiB/s",
    ]);
    let c = &plan["cockroachdb"];
    let nodes = c["nodes"].as_u64().unwrap();
    assert!(nodes >= 3 && nodes % 2 == 1, "{nodes}");
    let vcpu: u64 = c["resources"]["limits"]["cpu"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let size = c["disk"]["size"].as_str().unwrap();
    let gib: u64 = size.strip_suffix("Gi").unwrap().parse().unwrap();
    assert!(
        gib <= 320 * vcpu && gib <= 10 * 1024,
        "{gib} GiB for {vcpu} vCPU"
    );
}

#[test]
fn tenant_regions_and_zones_set_the_placements() {
    let placed = [
        "--nodes",
        "9",
        "--regions",
        "eu-west-1",
        "--zones",
        "eu-west-1a,eu-west-1b,eu-west-1c",
    ];
    let plan = json(&[&AWS_PROD_8X32[..], &placed].concat());
    let zones: Vec<(&str, u64)> = plan["cockroachdb"]["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["zone"].as_str().unwrap(), p["nodes"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        zones,
        [("eu-west-1a", 3), ("eu-west-1b", 3), ("eu-west-1c", 3)]
    );
}

/// The runbook's odd increments: 5 and 7 nodes over three zones keep a majority through the
/// loss of any zone (2/2/1 and 3/2/2), and 5 nodes over three regions survive a region. The
/// plan explains the placement: what losing each zone or region leaves, and the capacity cost
/// of an uneven spread.
#[rstest]
#[case::aws_5_nodes("aws_prod_8x32_5_nodes", "aws", "5", "zone", &[2, 2, 1])]
#[case::aws_7_nodes("aws_prod_8x32_7_nodes", "aws", "7", "zone", &[3, 2, 2])]
#[case::gcp_5_nodes_region("gcp_prod_8x32_5_nodes_region", "gcp", "5", "region", &[1, 1, 0, 1, 1, 0, 1, 0, 0])]
fn odd_node_counts_are_placed_and_explained(
    #[case] name: &str,
    #[case] provider: &str,
    #[case] nodes: &str,
    #[case] survive: &str,
    #[case] spread: &[u64],
) {
    let args = [
        "--provider",
        provider,
        "--tier",
        "prod",
        "--vcpu",
        "8",
        "--memory",
        "32GiB",
        "--nodes",
        nodes,
        "--survive",
        survive,
    ];
    let plan = json(&args);
    let c = &plan["cockroachdb"];
    let placed: Vec<u64> = c["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["nodes"].as_u64().unwrap())
        .collect();
    assert_eq!(placed, spread);
    let rf = c["replication_factor"].as_u64().unwrap();
    for domain in c["failure_domains"].as_array().unwrap() {
        assert_eq!(domain["kind"], survive);
        // Losing the domain leaves a majority.
        assert!(2 * domain["replicas"].as_u64().unwrap() < rf, "{domain}");
    }
    insta::assert_json_snapshot!(format!("{name}_json"), plan);
    insta::assert_snapshot!(format!("{name}_table"), stdout(&args));
}

#[test]
fn an_even_node_count_is_refused_naming_the_field_the_rule_and_the_fix() {
    on_aws(&["--vcpu", "8", "--memory", "32GiB", "--nodes", "4"])
        .code(2)
        .stderr(predicate::str::contains(
            "nodes = 4: counts must be odd: 4 tolerates no more failures than 3 and can split a vote in half. Fix: use 3 or 5",
        ));
}

/// `--survive provider`: the nodes spread over the providers of `--providers` (one site
/// each), each provider a failure domain; the verdicts are tenant validation's on sites of
/// the same counts (`thinledger_topology::quorum`).
#[rstest]
#[case::five_over_three("aws,azure,onprem", "5", None, &[("aws", 2, 2), ("azure", 2, 2), ("onprem", 1, 1)])]
#[case::seven_over_three("aws,azure,onprem", "7", None, &[("aws", 3, 2), ("azure", 2, 2), ("onprem", 2, 2)])]
#[case::two_providers(
    "aws,azure",
    "5",
    Some("sites = 2: losing provider aws (3 of 5 nodes) would lose 3 of the 5 replicas of some ranges, a majority, and they would stop. Fix: spread the nodes over at least 3 providers"),
    &[]
)]
#[case::four_nodes("aws,azure,onprem", "4", Some("nodes = 4: counts must be odd"), &[])]
#[case::provider_not_first(
    "azure,aws,onprem",
    "5",
    Some("--providers azure,aws,onprem: the first provider is --provider's (aws)"),
    &[]
)]
fn surviving_a_provider_is_placed_per_provider(
    #[case] providers: &str,
    #[case] nodes: &str,
    #[case] refused: Option<&str>,
    #[case] domains: &[(&str, u64, u64)],
) {
    let args = [
        &AWS_PROD_8X32[..],
        &[
            "--nodes",
            nodes,
            "--survive",
            "provider",
            "--providers",
            providers,
        ],
    ]
    .concat();
    if let Some(message) = refused {
        ledger_size(&args)
            .code(2)
            .stderr(predicate::str::contains(message));
        return;
    }
    let plan = json(&args);
    let c = &plan["cockroachdb"];
    assert_eq!(c["replication_factor"], 5);
    let got: Vec<(String, u64, u64)> = c["failure_domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["kind"], "provider");
            (
                d["name"].as_str().unwrap().to_owned(),
                d["nodes"].as_u64().unwrap(),
                d["replicas"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64, u64)> = domains
        .iter()
        .map(|(n, a, b)| ((*n).to_owned(), *a, *b))
        .collect();
    assert_eq!(got, want);
    let table = stdout(&args);
    for needle in [
        "provider aws (",
        "provider azure (",
        "provider onprem (",
        "azure eastus-1: 1",
    ] {
        assert!(table.contains(needle), "{needle:?} in:\n{table}");
    }
}

/// One provider cannot survive its own loss: refused (exit 2) naming the fix.
#[test]
fn surviving_a_provider_needs_several() {
    ledger_size(
        &[
            &AWS_PROD_8X32[..],
            &["--nodes", "5", "--survive", "provider"],
        ]
        .concat(),
    )
    .code(2)
    .stderr(predicate::str::contains(
        "providers = 1: surviving a provider outage needs nodes on at least 3 providers",
    ))
    .stderr(predicate::str::contains("--providers"));
}

#[test]
fn two_zones_cannot_survive_a_zone() {
    let placed = ["--regions", "us-east-1", "--zones", "us-east-1a,us-east-1b"];
    ledger_size(&[&AWS_PROD_8X32[..], &placed].concat())
        .code(2)
        .stderr(predicate::str::contains(
            "zones = 2: surviving a zone needs nodes in at least 3 zones so a majority of 3 replicas remains. Fix: list 3 zones of the region",
        ));
}

#[test]
fn help_shows_examples() {
    ledger_size(&["--help"])
        .success()
        .stdout(predicate::str::contains(
            "ledger-size --provider gcp --tier prod --data 6TiB --growth 40% --survive region",
        ))
        .stdout(predicate::str::contains("Exit status"));
}

/// Absurd quantities exit 2 at once, naming the flag, the value and the bound (they used to
/// run for minutes: a search proportional to the value).
#[rstest]
#[case(&["--vcpu", "8", "--memory", "16383Pi"], "memory = 16383Pi")]
#[case(&["--vcpu", "8", "--memory", "18446744073709551615"], "memory = 18446744073709551615")]
#[case(&["--vcpu", "4000000", "--memory", "32Gi"], "vcpu = 4000000")]
#[case(&["--data", "16383Pi"], "data = 16383Pi")]
#[case(&["--data", "1Ti", "--write-rate", "16383Pi/s"], "write-rate = 16383Pi")]
#[case(&["--vcpu", "8", "--memory", "32Gi", "--nodes", "4294967295"], "nodes = 4294967295")]
#[case(&["--vcpu", "8", "--memory", "32Gi", "--redpanda-cores", "4000000"], "redpanda-cores = 4000000")]
#[case(&["--vcpu", "8", "--memory", "32Gi", "--daemonset-memory", "16383Pi"], "daemonset-memory = 16383Pi")]
fn absurd_quantities_exit_2_within_seconds(#[case] args: &[&str], #[case] names: &str) {
    Command::cargo_bin("ledger-size")
        .unwrap()
        .args(["--provider", "aws"])
        .args(args)
        .timeout(std::time::Duration::from_secs(5))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(names))
        .stderr(predicate::str::contains("the most thinledger accepts"))
        .stderr(predicate::str::contains("Fix: use at most"));
}

/// The JSON `ledger-size` prints is a `SizingPlan` again: read back, it is the plan the
/// library computes, and it prints the same.
#[rstest]
#[case(&["--provider", "aws", "--vcpu", "8", "--memory", "32GiB"])]
#[case(&["--provider", "gcp", "--data", "6TiB", "--growth", "40%", "--survive", "region", "--write-rate", "2MiB/s"])]
#[case(&["--provider", "azure", "--vcpu", "8", "--memory", "32GiB", "--regions", "westeurope"])]
#[case(&["--provider", "onprem", "--vcpu", "8", "--memory", "32GiB", "--data", "1TiB"])]
fn the_printed_json_reads_back_into_the_plan(#[case] args: &[&str]) {
    let out = json_text(args);
    let plan: thinledger_sizing::SizingPlan = serde_json::from_str(&out).unwrap();
    let again = serde_json::to_string_pretty(&plan).unwrap() + "\n";
    assert_eq!(again, out);
    if args[..2] == ["--provider", "aws"] {
        let spec = thinledger_sizing::NodeShapeSpec::new(
            thinledger_topology::Cpu::cores(8),
            thinledger_topology::ByteSize::gib(32),
        );
        let expected = thinledger_sizing::plan(
            thinledger_topology::Provider::Aws,
            thinledger_topology::Tier::Prod,
            &spec.into(),
            &thinledger_sizing::SizingOptions::default(),
        )
        .unwrap();
        assert_eq!(plan, expected);
    }
}

/// `--output yaml` prints the plan as YAML; it reads back too.
#[test]
fn the_printed_yaml_plan_reads_back() {
    let yaml = stdout(&[
        "--provider",
        "aws",
        "--vcpu",
        "8",
        "--memory",
        "32GiB",
        "--output",
        "yaml",
    ]);
    let plan: thinledger_sizing::SizingPlan = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(plan.cockroachdb.nodes, 3);
}
