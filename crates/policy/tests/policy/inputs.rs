//! Fail-closed inputs: documents the guardrails cannot recognise are refused, never passed;
//! directories are walked without leaving them, and only regular files are read.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use rstest::rstest;
use thinledger_policy::{DocumentKind, InputSet, MAX_INPUT_BYTES, PolicyError};
use thinledger_tests::examples;

use super::{builtin, copy_fixture, fixture};

/// Every refused fixture: the error names the file and what was wrong. Unrecognised documents
/// have no kind; malformed ones name the kind and the JSON path of the field.
#[rstest]
#[case::empty_object("empty-object.json", None, "", "an empty object")]
#[case::empty_array("empty-array.json", None, "", "an empty array")]
#[case::null("null.json", None, "", "null")]
#[case::top_level_string("string.json", None, "", "the string \"terraform plan\"")]
#[case::no_format_version("no-format-version.json", None, "", "an object with keys")]
#[case::empty_yaml("empty.yaml", None, "", "no document")]
#[case::null_change_item(
    "null-change-item.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[1]",
    "null"
)]
#[case::change_is_a_string(
    "change-is-a-string.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change",
    "the string \"delete\""
)]
#[case::actions_is_a_string(
    "actions-is-a-string.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions",
    "the string \"delete\""
)]
#[case::actions_nested_list(
    "actions-nested-list.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions[0]",
    "the array [\"delete\"]"
)]
#[case::actions_upper_case(
    "actions-upper-case.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions[0]",
    "the string \"DELETE\""
)]
#[case::actions_unknown_name(
    "actions-unknown-name.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions[0]",
    "the string \"destroy\""
)]
#[case::actions_empty(
    "actions-empty.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions",
    "an empty array"
)]
#[case::actions_repeated(
    "actions-repeated.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.actions",
    "the array [\"delete\",\"delete\"]"
)]
#[case::mode_upper_case(
    "mode-upper-case.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].mode",
    "the string \"MANAGED\""
)]
#[case::address_missing(
    "address-missing.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].address",
    "missing"
)]
#[case::after_is_a_string(
    "after-is-a-string.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes[0].change.after",
    "the string \"{}\""
)]
#[case::resource_changes_object(
    "resource-changes-object.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes",
    "an object with keys 0"
)]
#[case::format_version_2(
    "format-version-2.json",
    Some(DocumentKind::TerraformPlan),
    "format_version",
    "the string \"2.0\""
)]
#[case::state_not_plan(
    "state-not-plan.json",
    Some(DocumentKind::TerraformPlan),
    "resource_changes",
    "missing"
)]
#[case::kind_without_api_version(
    "kind-without-api-version.yaml",
    Some(DocumentKind::KubernetesObject),
    "apiVersion",
    "missing"
)]
#[case::list_with_null_item(
    "list-with-null-item.yaml",
    Some(DocumentKind::KubernetesList),
    "items[0]",
    "null"
)]
#[case::tenant_tier_number(
    "tenant-tier-number.yaml",
    Some(DocumentKind::TenantFile),
    "tier",
    "the number 1"
)]
fn refused_documents_name_file_field_and_finding(
    #[case] name: &str,
    #[case] kind: Option<DocumentKind>,
    #[case] field: &str,
    #[case] found: &str,
) {
    let path = fixture(&format!("refused/{name}"));
    let err = InputSet::load(&[&path]).unwrap_err();
    assert!(err.is_input_error(), "{err}");
    match (&err, kind) {
        (
            PolicyError::UnrecognisedDocument {
                path: p,
                field: f,
                found: got,
                ..
            },
            None,
        ) => {
            assert_eq!((p, f.as_str()), (&path, field));
            assert!(got.starts_with(found), "{got}");
        }
        (
            PolicyError::MalformedDocument {
                path: p,
                kind: k,
                field: f,
                found: got,
                expected,
                ..
            },
            Some(kind),
        ) => {
            assert_eq!((p, *k, f.as_str()), (&path, kind, field));
            assert_eq!(got, found);
            assert!(!expected.is_empty());
        }
        (other, _) => panic!("{name}: unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains(field) && text.contains("expected"), "{text}");
}

/// The refused plans are refused however they reach the library: as a directory, or as
/// documents already parsed.
#[test]
fn refusal_does_not_depend_on_how_the_document_arrives() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(
        "refused/actions-is-a-string.json",
        &dir.path().join("plan.json"),
    );
    let err = InputSet::load(&[dir.path()]).unwrap_err();
    assert!(
        matches!(err, PolicyError::MalformedDocument { ref field, .. } if field == "resource_changes[0].change.actions"),
        "{err}"
    );
    let err = InputSet::new()
        .add_documents("docs", vec![serde_json::json!({}), serde_json::json!(null)])
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::UnrecognisedDocument {
                document: Some(1),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_bad_document_in_a_yaml_stream_is_named_by_its_position() {
    let path = fixture("refused/second-document-a-string.yaml");
    let err = InputSet::load(&[&path]).unwrap_err();
    match &err {
        PolicyError::UnrecognisedDocument {
            document, found, ..
        } => {
            assert_eq!(*document, Some(2));
            assert_eq!(found, "the string \"just some text\"");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("(document 2)"), "{err}");
}

/// What Terraform really writes is accepted: every action list of its JSON format, a plan
/// without changes (no resource_changes, but planned_values), data sources, an empty List.
#[rstest]
#[case::forget(r#"{"format_version":"1.2","terraform_version":"1.9.8","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["forget"],"before":{},"after":null}}]}"#)]
#[case::create_forget(r#"{"format_version":"1.2","terraform_version":"1.9.8","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["create","forget"],"before":{},"after":{}}}]}"#)]
#[case::replace(r#"{"format_version":"1.2","terraform_version":"1.9.8","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["create","delete"],"before":{},"after":{}}}]}"#)]
#[case::data_read(r#"{"format_version":"1.2","terraform_version":"1.9.8","resource_changes":[{"address":"data.a.b","mode":"data","type":"a","name":"b","change":{"actions":["read"],"before":null,"after":{}}}]}"#)]
#[case::no_changes(
    r#"{"format_version":"1.2","terraform_version":"1.9.8","planned_values":{"root_module":{}}}"#
)]
#[case::empty_list(r#"{"apiVersion":"v1","kind":"List","items":[]}"#)]
#[case::array_of_objects(r#"[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]"#)]
#[case::tenant(r#"{"tenant":"acme","tier":"prod","provider":{"name":"aws"}}"#)]
fn what_terraform_and_kubernetes_write_is_accepted(#[case] json: &str) {
    let mut inputs = InputSet::new();
    inputs.add_json("ok.json", json).unwrap();
    builtin().evaluate(&inputs).unwrap();
}

#[test]
fn a_symlink_loop_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    examples::policy_fixture_in_a_symlink_loop(dir.path(), "terraform/pvc-delete.json");
    symlink("sub", dir.path().join("again")).unwrap();
    let inputs = InputSet::load(&[dir.path()]).unwrap();
    // "again" sorts first, so the plan is read through it, and only there.
    let paths: Vec<_> = inputs.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [dir.path().join("again/plan.json").display().to_string()]
    );
    let report = builtin().evaluate(&inputs).unwrap();
    assert_eq!(report.denials().count(), 1, "{report:#?}");
}

#[test]
fn a_symlink_out_of_the_directory_is_refused_unless_its_target_is_given() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    copy_fixture(
        "terraform/pvc-delete.json",
        &outside.path().join("plan.json"),
    );
    copy_fixture("k8s/tenant-aws.yaml", &root.path().join("tenant.yaml"));
    symlink(outside.path(), root.path().join("elsewhere")).unwrap();
    let err = InputSet::load(&[root.path()]).unwrap_err();
    match &err {
        PolicyError::LinkOutsideRoots { link, target } => {
            assert_eq!(link, &root.path().join("elsewhere"));
            assert_eq!(target, &outside.path().canonicalize().unwrap());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_input_error());
    // A file link out is refused the same way.
    std::fs::remove_file(root.path().join("elsewhere")).unwrap();
    symlink(
        outside.path().join("plan.json"),
        root.path().join("plan.json"),
    )
    .unwrap();
    assert!(matches!(
        InputSet::load(&[root.path()]).unwrap_err(),
        PolicyError::LinkOutsideRoots { .. }
    ));
    // Given both directories, the link stays within them; the plan is read once.
    let inputs = InputSet::load(&[root.path(), outside.path()]).unwrap();
    assert_eq!(inputs.files().len(), 2, "{:?}", inputs.files());
}

#[test]
fn dev_zero_is_refused_as_a_device() {
    let err = InputSet::load(&[Path::new("/dev/zero")]).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::NotAFile {
                what: "a character device",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_input_error());
}

/// A fifo would block the reader until a writer comes: given, or found in a directory, it is
/// refused without being read.
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for given in [fifo.as_path(), dir.path()] {
        let err = InputSet::load(&[given]).unwrap_err();
        match &err {
            PolicyError::NotAFile { path, what } => {
                assert_eq!((path, *what), (&fifo, "a fifo (named pipe)"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // Sparse: no disk space used, and nothing is read.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_INPUT_BYTES + 1)
        .unwrap();
    let err = InputSet::load(&[&path]).unwrap_err();
    assert!(
        matches!(err, PolicyError::TooLarge { size, limit, .. } if size == MAX_INPUT_BYTES + 1 && limit == MAX_INPUT_BYTES),
        "{err}"
    );
}

/// Policy directories are walked the same way: a fifo named like a policy is refused.
#[test]
fn policy_directories_are_walked_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("ours.rego"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut set = thinledger_policy::PolicySet::empty();
    let err = set.add_path(dir.path()).map(|_| ()).unwrap_err();
    assert!(matches!(err, PolicyError::NotAFile { .. }), "{err}");
}
