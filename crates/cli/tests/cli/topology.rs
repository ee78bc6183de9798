//! `ledger-topology`, run as a user would.

use std::ffi::OsStr;
use std::path::PathBuf;

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use predicates::prelude::*;
use rstest::rstest;
use serde_json::Value;

use thinledger_tests::examples::{edited_tenant, tenant as example};

fn cmd() -> Command {
    Command::cargo_bin("ledger-topology").unwrap()
}

/// `ledger-topology ARGS TENANT`.
fn run(args: &[&str], tenant: impl AsRef<OsStr>) -> Assert {
    cmd().args(args).arg(tenant).assert()
}

/// What a run printed on stdout.
fn stdout(assert: Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

/// The AWS example with one line changed, in a temporary file.
fn edited(from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    edited_tenant("aws", from, to)
}

#[rstest]
fn renders_every_example_in_both_modes(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values("statefulset", "operator")] mode: &str,
) {
    let yaml = stdout(run(&["render", "--cockroach-mode", mode], example(name)).success());
    let kinds: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(kinds.first(), Some(&"Namespace"));
    let expected = if mode == "operator" {
        "CrdbCluster"
    } else {
        "StatefulSet"
    };
    assert!(kinds.contains(&expected), "{kinds:?}");
    assert_eq!(yaml.matches("\n---\n").count() + 1, kinds.len());
    assert!(yaml.contains("--locality="));
}

#[test]
fn render_as_json_is_a_list_sized_by_the_calculator() {
    let out = stdout(run(&["render", "--output", "json"], example("aws")).success());
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let sc = items.iter().find(|i| i["kind"] == "StorageClass").unwrap();
    // gp3 IOPS and throughput provisioned by sizing: 500 IOPS and 30 MB/s per vCPU x 8.
    assert_eq!(sc["parameters"]["iops"], "4000");
    assert_eq!(sc["parameters"]["throughput"], "240");
    let crdb = items
        .iter()
        .find(|i| i["kind"] == "StatefulSet" && i["metadata"]["name"] == "cockroachdb")
        .unwrap();
    let start = crdb["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        start.contains("--cache=8GiB") && start.contains("--max-sql-memory=8GiB"),
        "{start}"
    );
}

#[test]
fn object_table() {
    let out = stdout(run(&["render", "--output", "table"], example("gcp")).success());
    insta::assert_snapshot!("topology_gcp_objects", out);
}

/// The entries of `dir`, sorted.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A tenant with sites: one folder per site under --out, each with its kustomization.yaml;
/// on stdout, every site's documents after a line naming the site.
#[test]
fn multi_cloud_renders_a_folder_per_site() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sites");
    cmd()
        .args(["render", "--out"])
        .arg(&out)
        .arg(example("multi-cloud"))
        .assert()
        .success()
        .stderr(predicate::str::contains("site azure-eastus: wrote"))
        .stderr(predicate::str::contains("cluster acme-prod-dc-frankfurt"));
    assert_eq!(entries(&out), ["aws-use1", "azure-eastus", "onprem-fra"]);
    for (site, cloud) in [
        ("aws-use1", "cloud=aws"),
        ("azure-eastus", "cloud=azure"),
        ("onprem-fra", "cloud=onprem"),
    ] {
        let files = entries(&out.join(site));
        assert!(
            files.contains(&"kustomization.yaml".to_owned()),
            "{files:?}"
        );
        let sts = files
            .iter()
            .find(|f| f.ends_with("-statefulset-cockroachdb.yaml"))
            .unwrap();
        let text = std::fs::read_to_string(out.join(site).join(sts)).unwrap();
        assert!(text.contains(cloud), "{site}");
    }
    let yaml = stdout(run(&["render"], example("multi-cloud")).success());
    for site in ["aws-use1", "azure-eastus", "onprem-fra"] {
        assert!(yaml.contains(&format!("# site: {site} ")), "{site}");
    }
}

#[test]
fn out_dir_writes_a_kustomization_and_leaves_foreign_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    std::fs::create_dir_all(&out).unwrap();
    // Files someone else put there, one looking like a rendered one.
    std::fs::write(out.join("99-stale-object.yaml"), "kind: Stale\n").unwrap();
    std::fs::write(out.join("README.md"), "ours\n").unwrap();
    let render_into = |tenant: &std::path::Path| {
        cmd()
            .args(["render", "--out"])
            .arg(&out)
            .arg(tenant)
            .assert()
    };
    render_into(&example("onprem"))
        .success()
        .stderr(predicate::str::contains("objects and kustomization.yaml"))
        .stderr(predicate::str::contains("kubectl apply -k"));
    let first = entries(&out);
    assert_eq!(
        first.first().map(String::as_str),
        Some("01-namespace-ledger-northwind-prod.yaml")
    );
    assert!(
        first.contains(&"17-statefulset-cockroachdb.yaml".to_owned()),
        "{first:?}"
    );
    assert!(first.contains(&"99-stale-object.yaml".to_owned()));
    assert!(first.contains(&"README.md".to_owned()));
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    let listed: Value = serde_yaml_ng::from_str(&kustomization).unwrap();
    let listed: Vec<String> = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Everything but the list itself and the two foreign files.
    assert_eq!(listed.len(), first.len() - 3, "{listed:?}");
    assert!(listed.iter().all(|f| first.contains(f)));
    assert!(!listed.contains(&"99-stale-object.yaml".to_owned()));
    let init = |names: &[String]| {
        names
            .iter()
            .find(|n| n.contains("-job-cockroachdb-init-"))
            .cloned()
            .unwrap()
    };

    // A version bump renames the init Job: its old file goes, nothing foreign does.
    let (_tmp, bumped) = edited_tenant("onprem", "version: v25.2.4", "version: v25.3.1");
    render_into(&bumped)
        .success()
        .stderr(predicate::str::contains(
            "removed 1 files of an earlier rendering",
        ));
    let second = entries(&out);
    assert_ne!(init(&first), init(&second));
    assert!(!second.contains(&init(&first)));
    assert!(second.contains(&"99-stale-object.yaml".to_owned()));
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "ours\n"
    );
    assert_eq!(second.len(), first.len());

    // A kustomization.yaml it did not write is neither overwritten nor used.
    let foreign = dir.path().join("theirs");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(
        foreign.join("kustomization.yaml"),
        "resources: [app.yaml]\n",
    )
    .unwrap();
    cmd()
        .args(["render", "--out"])
        .arg(&foreign)
        .arg(example("onprem"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("did not write"));
    assert_eq!(entries(&foreign), ["kustomization.yaml"]);
}

#[rstest]
#[case::even_nodes(
    "  nodes: 3 ",
    "  nodes: 4 ",
    "tenant.yaml:17",
    "cockroachdb.nodes = \"4\": counts must be odd"
)]
#[case::foreign_storage_class(
    "class: gp3 ",
    "class: managed-csi-premium ",
    "tenant.yaml:14",
    "storage.class = \"managed-csi-premium\": a storage class must be one the platform offers on provider aws"
)]
#[case::too_small_for_production("    cpu: 8\n", "    cpu: 2\n", "tenant.yaml", "at least 4 vCPU")]
fn validate_reports_findings_and_exits_1(
    #[case] from: &str,
    #[case] to: &str,
    #[case] place: &str,
    #[case] message: &str,
) {
    let (_dir, path) = edited(from, to);
    run(&["validate"], &path)
        .code(1)
        .stdout(predicate::str::contains(place))
        .stdout(predicate::str::contains(message))
        .stdout(predicate::str::contains("failed"));
    // render refuses the same file as bad input.
    run(&["render"], &path)
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(message));
}

#[test]
fn validate_table_of_a_broken_tenant() {
    let (_dir, path) = edited("  nodes: 3 ", "  nodes: 4 ");
    let out = stdout(
        cmd()
            .current_dir(path.parent().unwrap())
            .args(["validate", "tenant.yaml"])
            .assert()
            .code(1),
    );
    insta::assert_snapshot!("topology_validate_even", out);
}

#[test]
fn validate_json_of_a_good_tenant() {
    let args = [
        "validate",
        "--output",
        "json",
        "--cockroach-mode",
        "operator",
    ];
    let out = stdout(run(&args, example("azure")).success());
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["tenant"], "contoso");
    assert_eq!(report["cockroach_mode"], "operator");
    assert!(report["objects"].as_u64().unwrap() > 15);
}

#[test]
fn malformed_file_is_bad_input_with_its_line() {
    let (_dir, path) = edited("cockroachdb:\n", "cockroachdb:\n  replicas: 3\n");
    run(&["validate"], &path)
        .code(2)
        .stdout(predicate::str::contains("tenant.yaml:16"))
        .stdout(predicate::str::contains("unknown field `replicas`"));
    cmd()
        .args(["render", "does-not-exist.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read tenant file does-not-exist.yaml",
        ));
}

#[test]
fn resources_from_the_tenant_file_skip_the_calculator() {
    let yaml = stdout(run(&["render", "--resources", "tenant"], example("onprem")).success());
    assert!(yaml.contains("--cache=8GiB"));
    assert!(yaml.contains("storageClassName: csi-ceph"));
}

#[test]
fn multi_region_needs_region_flag() {
    let (_dir, path) = edited("survival: zone", "survival: zone");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "    zones: [us-east-1a, us-east-1b, us-east-1c]\n",
        "    zones: [us-east-1a, us-east-1b, us-east-1c]\n    cluster_domain: use1.ledger.internal\n  - name: us-west-2\n    zones: [us-west-2a, us-west-2b, us-west-2c]\n    cluster_domain: usw2.ledger.internal\n",
    ).replace("  nodes: 3 ", "  nodes: 9 ").replace(
        "  client_namespaces: [payments]",
        "  client_namespaces: [payments]\n  peer_cidrs: [10.20.0.0/16]",
    );
    std::fs::write(&path, text).unwrap();
    // 9 nodes over 6 zones spread 2/2/2/1/1/1: every zone holds one replica of a range.
    run(&["validate"], &path)
        .code(1)
        .stdout(predicate::str::contains("--region"));
    run(&["validate", "--region", "us-west-2"], &path).success();
}

/// A tenant file with an absurd quantity is bad input: `validate` and `render` exit 2 at once
/// naming the field, its line and the bound (they used to search for minutes).
#[rstest]
#[case(
    "    memory: 32Gi",
    "    memory: 16383Pi",
    "cockroachdb.resources.memory",
    "64Ti"
)]
#[case(
    "    memory: 32Gi",
    "    memory: 18446744073709551615",
    "cockroachdb.resources.memory",
    "64Ti"
)]
#[case("    cpu: 8", "    cpu: 4000000", "cockroachdb.resources.cpu", "1024")]
#[case("  nodes: 3 ", "  nodes: 4294967295 ", "cockroachdb.nodes", "999")]
#[case(
    "    memory: 16Gi",
    "    memory: 16383Pi",
    "redpanda.resources.memory",
    "64Ti"
)]
#[case(
    "      partitions: 12",
    "      partitions: 4000000000",
    "redpanda.topics[0].partitions",
    "100000"
)]
fn absurd_quantities_in_a_tenant_exit_2_within_seconds(
    #[case] from: &str,
    #[case] to: &str,
    #[case] field: &str,
    #[case] bound: &str,
) {
    let (_dir, path) = edited(from, to);
    let timeout = std::time::Duration::from_secs(5);
    cmd()
        .arg("validate")
        .arg(&path)
        .timeout(timeout)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(field))
        .stdout(predicate::str::contains(format!("more than {bound}")));
    cmd()
        .arg("render")
        .arg(&path)
        .timeout(timeout)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(field));
}
