//! The conventions all four tools share (README, "CLI conventions"): `completion` and `man`
//! subcommands, `--version` with the commit and the features, examples in every
//! subcommand's `--help`, `--output` formats carrying the same data, and `THINLEDGER_*`
//! variables for the global flags.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The tools this test binary was built with.
fn tools() -> Vec<&'static str> {
    [
        #[cfg(feature = "size")]
        "ledger-size",
        #[cfg(feature = "topology")]
        "ledger-topology",
        #[cfg(feature = "policy")]
        "ledger-policy",
        #[cfg(feature = "backup")]
        "ledger-backup",
    ]
    .to_vec()
}

fn bin(tool: &str) -> PathBuf {
    match tool {
        #[cfg(feature = "size")]
        "ledger-size" => env!("CARGO_BIN_EXE_ledger-size").into(),
        #[cfg(feature = "topology")]
        "ledger-topology" => env!("CARGO_BIN_EXE_ledger-topology").into(),
        #[cfg(feature = "policy")]
        "ledger-policy" => env!("CARGO_BIN_EXE_ledger-policy").into(),
        #[cfg(feature = "backup")]
        "ledger-backup" => env!("CARGO_BIN_EXE_ledger-backup").into(),
        other => panic!("no binary {other} in this build"),
    }
}

/// `tool ARGS…` run from the workspace root, without any `THINLEDGER_*` setting of this
/// process.
pub fn tool(name: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin(name));
    c.args(args).current_dir(workspace());
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("THINLEDGER_") {
            c.env_remove(var);
        }
    }
    c.stdin(std::process::Stdio::null());
    c
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs and asserts success; returns stdout.
pub fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", described(&o));
    String::from_utf8(o.stdout).unwrap()
}

pub fn described(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[rstest::rstest]
fn completion_scripts_for_every_tool(#[values("bash", "zsh", "fish")] shell: &str) {
    for name in tools() {
        let script = ok(&mut tool(name, &["completion", shell]));
        assert!(script.contains(name), "{name} {shell}:\n{script}");
        // the subcommands complete too
        assert!(script.contains("completion"), "{name} {shell}");
    }
}

#[test]
fn man_pages_for_every_tool() {
    for name in tools() {
        let page = ok(&mut tool(name, &["man"]));
        assert!(page.contains(&format!(".TH {name} 1")), "{name}:\n{page}");
        assert!(page.contains("Examples"), "{name}");
        let dir = tempfile::tempdir().unwrap();
        ok(&mut tool(
            name,
            &["man", "--dir", dir.path().to_str().unwrap()],
        ));
        assert!(dir.path().join(format!("{name}.1")).is_file(), "{name}");
        assert!(dir.path().join(format!("{name}-man.1")).is_file(), "{name}");
    }
}

#[test]
fn version_names_the_commit_and_the_features() {
    let features: Vec<&str> = tools()
        .iter()
        .map(|t| t.trim_start_matches("ledger-"))
        .collect();
    let git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
    for name in tools() {
        let version = ok(&mut tool(name, &["--version"]));
        let rest = version
            .strip_prefix(&format!("{name} {} (commit ", env!("CARGO_PKG_VERSION")))
            .unwrap_or_else(|| panic!("{version}"));
        let (commit, rest) = rest.split_once(", features ").unwrap();
        match &git {
            Some(head) => assert_eq!(commit, head, "{version}"),
            None => assert!(commit == "unknown" || commit.len() == 12, "{version}"),
        }
        let built: Vec<&str> = rest.trim_end().trim_end_matches(')').split(',').collect();
        for f in &features {
            assert!(built.contains(f), "{version} lacks {f}");
        }
    }
}

/// The subcommands a `--help` lists under "Commands:" (not `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_subcommand_help_has_examples() {
    for name in tools() {
        let mut pending: Vec<Vec<String>> = vec![vec![]];
        let mut seen = 0;
        while let Some(path) = pending.pop() {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let help = ok(&mut tool(name, &args));
            assert!(
                help.contains("\nExamples"),
                "`{name} {}` has no examples:\n{help}",
                args.join(" ")
            );
            for sub in subcommands(&help) {
                let mut next = path.clone();
                next.push(sub);
                pending.push(next);
            }
            seen += 1;
        }
        // the tool's own commands, plus completion and man
        assert!(seen >= 3, "{name}: {seen}");
    }
}

#[cfg(any(feature = "size", feature = "topology", feature = "policy"))]
fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

#[cfg(any(feature = "size", feature = "topology", feature = "policy"))]
fn yaml(text: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

#[cfg(any(feature = "size", feature = "topology", feature = "policy"))]
/// `--output json` and `--output yaml` of `args` print the same data.
fn same_data(name: &str, args: &[&str]) -> serde_json::Value {
    let as_json = json(&ok(&mut tool(
        name,
        &[args, &["--output", "json"]].concat(),
    )));
    let as_yaml = yaml(&ok(&mut tool(name, &[args, &["-o", "yaml"]].concat())));
    assert_eq!(as_json, as_yaml, "{name} {args:?}");
    as_json
}

#[cfg(feature = "size")]
#[test]
fn ledger_size_prints_the_plan_in_every_format_and_fragments_under_their_flag() {
    let shape = ["--provider", "aws", "--vcpu", "8", "--memory", "32GiB"];
    let plan = same_data("ledger-size", &shape);
    assert_eq!(plan["cockroachdb"]["nodes"], 3);
    let table = ok(&mut tool("ledger-size", &shape));
    assert!(table.starts_with("Ledger sizing: aws prod"), "{table}");
    // a fragment: YAML after comments by default, the same keys as JSON
    let fragment = &[&shape[..], &["--fragment", "helm"]].concat();
    let as_yaml = ok(&mut tool("ledger-size", fragment));
    assert!(as_yaml.starts_with("# ledger-size: aws prod"), "{as_yaml}");
    let as_json = ok(&mut tool(
        "ledger-size",
        &[&fragment[..], &["--output", "json"]].concat(),
    ));
    assert_eq!(yaml(&as_yaml), json(&as_json));
    assert!(json(&as_json)["statefulset"]["replicas"].is_number());
}

#[cfg(feature = "topology")]
#[test]
fn ledger_topology_validate_and_render_print_the_same_data_in_every_format() {
    let report = same_data(
        "ledger-topology",
        &["validate", "examples/tenants/aws.yaml"],
    );
    assert_eq!(report["ok"], true, "{report}");
    let table = ok(&mut tool(
        "ledger-topology",
        &["validate", "examples/tenants/aws.yaml"],
    ));
    assert!(
        table.contains("\nok      examples/tenants/aws.yaml"),
        "{table}"
    );

    // render: YAML documents by default, the same objects as the JSON List's items
    let docs = ok(&mut tool(
        "ledger-topology",
        &["render", "examples/tenants/aws.yaml"],
    ));
    let objects: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(&docs)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let list = json(&ok(&mut tool(
        "ledger-topology",
        &["render", "examples/tenants/aws.yaml", "--output", "json"],
    )));
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap(), &objects);
}

#[cfg(feature = "policy")]
#[test]
fn ledger_policy_lists_its_policies_in_every_format() {
    let listed = same_data("ledger-policy", &["policies"]);
    let table = ok(&mut tool("ledger-policy", &["policies"]));
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, table.lines().collect::<Vec<_>>());
}

#[cfg(feature = "topology")]
#[test]
fn thinledger_variables_set_the_global_flags_and_flags_win() {
    let validate = ["validate", "examples/tenants/aws.yaml"];
    let o = ok(tool("ledger-topology", &validate).env("THINLEDGER_OUTPUT", "json"));
    assert_eq!(json(&o)["ok"], true);
    let o = ok(tool(
        "ledger-topology",
        &[&validate[..], &["-o", "yaml"]].concat(),
    )
    .env("THINLEDGER_OUTPUT", "json"));
    assert_eq!(yaml(&o)["ok"], true);
    assert!(!o.trim_start().starts_with('{'), "{o}");

    // --quiet (THINLEDGER_QUIET) drops the notes of a rendering
    let render = ["render", "examples/tenants/aws.yaml", "-o", "table"];
    let loud = tool("ledger-topology", &render).output().unwrap();
    assert!(String::from_utf8_lossy(&loud.stderr).contains("note: "));
    let mut by_variable = tool("ledger-topology", &render);
    by_variable.env("THINLEDGER_QUIET", "1");
    for mut quiet in [
        by_variable,
        tool("ledger-topology", &[&render[..], &["--quiet"]].concat()),
    ] {
        let o = quiet.output().unwrap();
        assert!(o.status.success(), "{}", described(&o));
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("note: "),
            "{}",
            described(&o)
        );
    }

    // a value clap cannot use is a usage error, naming the variable's flag
    let o = tool("ledger-topology", &validate)
        .env("THINLEDGER_COLOR", "sometimes")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--color"),
        "{}",
        described(&o)
    );
}

#[test]
fn usage_errors_exit_2_in_every_tool() {
    for name in tools() {
        let o = tool(name, &["--no-such-flag"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{name}: {}", described(&o));
        let o = tool(name, &["completion", "tcsh"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{name}: {}", described(&o));
    }
}

/// A variable set but empty, or set to a value the flag refuses, is named as the cause (the
/// user never typed the flag).
#[cfg(feature = "backup")]
#[test]
fn a_bad_variable_is_named_not_its_flag() {
    let o = tool("ledger-backup", &["-r", "/nonexistent", "snapshots"])
        .env("THINLEDGER_PASSWORD_FILE", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("THINLEDGER_PASSWORD_FILE is set but empty"),
        "{err}"
    );
    let o = tool("ledger-backup", &["snapshots"])
        .env("THINLEDGER_OUTPUT", "xml")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the environment variable THINLEDGER_OUTPUT: invalid value 'xml'"),
        "{err}"
    );
    // a file the variable names that cannot be read
    let o = tool("ledger-backup", &["-r", "/nonexistent", "snapshots"])
        .env("THINLEDGER_PASSWORD_FILE", "/nonexistent/password")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", described(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("THINLEDGER_PASSWORD_FILE=/nonexistent/password"),
        "{err}"
    );
    assert!(!err.contains("--password-file"), "{err}");
    // typed on the command line, the flag is the cause as usual
    let o = tool("ledger-backup", &["snapshots", "--output", "xml"])
        .env("THINLEDGER_OUTPUT", "xml")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("environment variable"), "{err}");
}
