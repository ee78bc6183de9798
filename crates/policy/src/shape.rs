//! What the guardrails accept as input, checked before any policy runs.
//!
//! The policies recognise documents by shape, and a document they do not recognise matches no
//! rule: without this check, `{}`, `null` or a plan whose `actions` is a string would pass.
//! A guardrail that cannot read its input refuses it instead. Every document must be one of:
//!
//! - a **Terraform plan** (`terraform show -json PLANFILE`): `format_version` (major version 0
//!   or 1) and `terraform_version` strings, and its changes: `resource_changes` (omitted by
//!   Terraform when nothing changes; then `planned_values` must be there). Each change is an
//!   object with string `address` and `type`, `mode` `managed` or `data`, and a `change`
//!   object whose `actions` is one of Terraform's action lists and whose `before`/`after` are
//!   objects or null;
//! - a **Kubernetes object** (string `apiVersion` and `kind`), or a **List** of them (`kind`
//!   ending in `List` with an `items` array);
//! - a **tenant file**: a string `tenant`, `tenant_id` or `id` and at least one of `tier`,
//!   `provider`, `environment`, `ring`, each of the type the policies read.
//!
//! A top-level array is read as a list of such documents (as conftest reads a JSON array); it
//! must not be empty. The checks are in Rust so the Rego stays the same under OPA.

use std::fmt;

use serde_json::{Map, Value};

/// What an input document was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentKind {
    /// `terraform show -json` output of a plan file.
    TerraformPlan,
    /// A Kubernetes object.
    KubernetesObject,
    /// A Kubernetes `List` (`kind: List`, `PodList`, …) of objects.
    KubernetesList,
    /// A tenant file (`thinledger_topology`'s tenant spec).
    TenantFile,
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentKind::TerraformPlan => "Terraform plan",
            DocumentKind::KubernetesObject => "Kubernetes object",
            DocumentKind::KubernetesList => "Kubernetes List",
            DocumentKind::TenantFile => "tenant file",
        })
    }
}

/// What every input document must be, for messages.
pub(crate) const EXPECTED_INPUT: &str = "a Terraform plan (terraform show -json PLANFILE: format_version, terraform_version, resource_changes), a Kubernetes object or List (apiVersion and kind) or a tenant file (tenant, tenant_id or id, with tier, provider, environment or ring)";

/// Terraform's action lists in `resource_changes[].change.actions` (its JSON output format;
/// `forget` since Terraform 1.7, for `removed` blocks with `destroy = false`).
pub const TERRAFORM_ACTIONS: &[&[&str]] = &[
    &["no-op"],
    &["create"],
    &["read"],
    &["update"],
    &["delete"],
    &["delete", "create"],
    &["create", "delete"],
    &["forget"],
    &["create", "forget"],
];

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShapeProblem {
    /// Not any document the policies recognise.
    Unrecognised {
        /// JSON path of the document inside a top-level array (`[2]`), or empty.
        field: String,
        found: String,
    },
    /// Recognised, but a field has the wrong type or value.
    Malformed {
        kind: DocumentKind,
        /// JSON path from the document root, e.g. `resource_changes[3].change.actions`.
        field: String,
        found: String,
        expected: String,
    },
}

/// Checks one parsed document (a whole file, or one document of a YAML stream).
pub(crate) fn check_document(doc: &Value) -> Result<(), ShapeProblem> {
    match doc {
        Value::Array(items) if items.is_empty() => Err(ShapeProblem::Unrecognised {
            field: String::new(),
            found: describe(doc),
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_one(item).map_err(|p| p.within(&format!("[{i}]")))?;
            }
            Ok(())
        }
        other => check_one(other),
    }
}

fn check_one(doc: &Value) -> Result<(), ShapeProblem> {
    let unrecognised = || ShapeProblem::Unrecognised {
        field: String::new(),
        found: describe(doc),
    };
    let Value::Object(obj) = doc else {
        return Err(unrecognised());
    };
    if obj.contains_key("format_version") {
        check_plan(obj)
    } else if obj.contains_key("apiVersion") || obj.contains_key("kind") {
        check_kubernetes(obj)
    } else if is_tenant(obj) {
        check_tenant(obj)
    } else {
        Err(unrecognised())
    }
}

impl ShapeProblem {
    /// The same problem, located inside `prefix` (an array index of the document).
    fn within(mut self, prefix: &str) -> Self {
        let (ShapeProblem::Unrecognised { field, .. } | ShapeProblem::Malformed { field, .. }) =
            &mut self;
        *field = match field.as_str() {
            "" => prefix.to_owned(),
            f if f.starts_with('[') => format!("{prefix}{f}"),
            f => format!("{prefix}.{f}"),
        };
        self
    }
}

fn malformed(
    kind: DocumentKind,
    field: impl Into<String>,
    found: Option<&Value>,
    expected: impl Into<String>,
) -> ShapeProblem {
    ShapeProblem::Malformed {
        kind,
        field: field.into(),
        found: found.map_or_else(|| "missing".to_owned(), describe),
        expected: expected.into(),
    }
}

// ------------------------------------------------------------------------- Terraform plans

fn check_plan(plan: &Map<String, Value>) -> Result<(), ShapeProblem> {
    let kind = DocumentKind::TerraformPlan;
    let version = plan.get("format_version");
    match version.and_then(Value::as_str) {
        Some(v) if v.starts_with("0.") || v.starts_with("1.") => {}
        _ => {
            return Err(malformed(
                kind,
                "format_version",
                version,
                "a string of major version 0 or 1 such as \"1.2\" (a new major version may change the format this check reads)",
            ));
        }
    }
    if !plan.get("terraform_version").is_some_and(Value::is_string) {
        return Err(malformed(
            kind,
            "terraform_version",
            plan.get("terraform_version"),
            "a string such as \"1.9.8\"",
        ));
    }
    let Some(changes) = plan.get("resource_changes") else {
        // Terraform leaves resource_changes out when nothing changes; a plan still has
        // planned_values. A state file (terraform show -json without a plan) has neither.
        if plan.contains_key("planned_values") {
            return Ok(());
        }
        return Err(malformed(
            kind,
            "resource_changes",
            None,
            "the plan's changes: run terraform show -json on a plan file (terraform plan -out=PLANFILE), not on a state",
        ));
    };
    let Value::Array(changes) = changes else {
        return Err(malformed(
            kind,
            "resource_changes",
            Some(changes),
            "an array of resource changes",
        ));
    };
    for (i, rc) in changes.iter().enumerate() {
        check_change(rc, &format!("resource_changes[{i}]"))?;
    }
    Ok(())
}

fn check_change(rc: &Value, at: &str) -> Result<(), ShapeProblem> {
    let kind = DocumentKind::TerraformPlan;
    let Value::Object(rc) = rc else {
        return Err(malformed(
            kind,
            at,
            Some(rc),
            "an object with address, mode, type and change",
        ));
    };
    for key in ["address", "type"] {
        if !rc.get(key).is_some_and(Value::is_string) {
            return Err(malformed(
                kind,
                format!("{at}.{key}"),
                rc.get(key),
                "a string",
            ));
        }
    }
    if !matches!(
        rc.get("mode").and_then(Value::as_str),
        Some("managed" | "data")
    ) {
        return Err(malformed(
            kind,
            format!("{at}.mode"),
            rc.get("mode"),
            "\"managed\" or \"data\"",
        ));
    }
    let change = rc.get("change");
    let Some(Value::Object(change)) = change else {
        return Err(malformed(
            kind,
            format!("{at}.change"),
            change,
            "an object with actions, before and after",
        ));
    };
    check_actions(change.get("actions"), &format!("{at}.change.actions"))?;
    for key in ["before", "after"] {
        match change.get(key) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(other) => {
                return Err(malformed(
                    kind,
                    format!("{at}.change.{key}"),
                    Some(other),
                    "an object, or null",
                ));
            }
        }
    }
    Ok(())
}

fn check_actions(actions: Option<&Value>, at: &str) -> Result<(), ShapeProblem> {
    let kind = DocumentKind::TerraformPlan;
    let lists = TERRAFORM_ACTIONS
        .iter()
        .map(|l| {
            format!(
                "[{}]",
                l.iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let Some(Value::Array(items)) = actions else {
        return Err(malformed(
            kind,
            at,
            actions,
            format!("an array of Terraform actions, one of {lists}"),
        ));
    };
    let mut names = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(name) if TERRAFORM_ACTIONS.iter().any(|l| l.contains(&name)) => names.push(name),
            _ => {
                return Err(malformed(
                    kind,
                    format!("{at}[{i}]"),
                    Some(item),
                    "one of the action names \"no-op\", \"create\", \"read\", \"update\", \"delete\", \"forget\" (lower case, as terraform show -json writes them)",
                ));
            }
        }
    }
    if !TERRAFORM_ACTIONS.contains(&names.as_slice()) {
        return Err(malformed(kind, at, actions, format!("one of {lists}")));
    }
    Ok(())
}

// ------------------------------------------------------------------------- Kubernetes

fn check_kubernetes(obj: &Map<String, Value>) -> Result<(), ShapeProblem> {
    check_kubernetes_object(obj, DocumentKind::KubernetesObject, "")?;
    let is_list = obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match obj.get("items") {
        Some(Value::Array(items)) if is_list => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("items[{i}]");
                let Value::Object(item_obj) = item else {
                    return Err(malformed(
                        DocumentKind::KubernetesList,
                        at,
                        Some(item),
                        "a Kubernetes object (apiVersion and kind)",
                    ));
                };
                check_kubernetes_object(item_obj, DocumentKind::KubernetesList, &format!("{at}."))?;
            }
            Ok(())
        }
        Some(other) if is_list => Err(malformed(
            DocumentKind::KubernetesList,
            "items",
            Some(other),
            "an array of Kubernetes objects",
        )),
        _ => Ok(()),
    }
}

fn check_kubernetes_object(
    obj: &Map<String, Value>,
    kind: DocumentKind,
    prefix: &str,
) -> Result<(), ShapeProblem> {
    for (key, example) in [("apiVersion", "\"apps/v1\""), ("kind", "\"StatefulSet\"")] {
        match obj.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {}
            other => {
                return Err(malformed(
                    kind,
                    format!("{prefix}{key}"),
                    other,
                    format!("a non-empty string such as {example}"),
                ));
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------- tenant files

const TENANT_ID_KEYS: [&str; 3] = ["tenant", "tenant_id", "id"];
const TENANT_DETAIL_KEYS: [&str; 4] = ["tier", "provider", "environment", "ring"];

/// The policies' definition: a string id and at least one detail.
fn is_tenant(obj: &Map<String, Value>) -> bool {
    TENANT_ID_KEYS
        .iter()
        .any(|k| obj.get(*k).is_some_and(Value::is_string))
        && TENANT_DETAIL_KEYS.iter().any(|k| obj.contains_key(*k))
}

/// The fields the policies read must have the type they read, or a production tenant could
/// pass for not production (a `tier` that is a number is no tier).
fn check_tenant(obj: &Map<String, Value>) -> Result<(), ShapeProblem> {
    let kind = DocumentKind::TenantFile;
    for (key, example) in [
        ("tier", "\"prod\""),
        ("environment", "\"prod\""),
        ("ring", "\"ring-2-prod\""),
    ] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_string()) {
            return Err(malformed(
                kind,
                key,
                Some(v),
                format!("a string such as {example}"),
            ));
        }
    }
    match obj.get("provider") {
        None | Some(Value::String(_)) => {}
        Some(Value::Object(p))
            if p.get("name").is_some_and(Value::is_string)
                || p.get("kind").is_some_and(Value::is_string) => {}
        Some(other) => {
            return Err(malformed(
                kind,
                "provider",
                Some(other),
                "a string such as \"aws\" (or an object with a string name or kind)",
            ));
        }
    }
    check_tenant_layout(obj)?;
    for part in ["cockroachdb", "redpanda"] {
        let cpu = obj
            .get(part)
            .and_then(|p| p.get("resources"))
            .and_then(|r| r.get("cpu"));
        if let Some(v) = cpu.filter(|v| !(v.is_number() || v.is_string())) {
            return Err(malformed(
                kind,
                format!("{part}.resources.cpu"),
                Some(v),
                "a CPU quantity such as 8 or \"8\"",
            ));
        }
    }
    Ok(())
}

/// What `topology.quorum` reads: node and broker counts, the survival goal, the regions with
/// their zones, and Redpanda's region.
fn check_tenant_layout(obj: &Map<String, Value>) -> Result<(), ShapeProblem> {
    let kind = DocumentKind::TenantFile;
    let is_count = |v: &Value| {
        v.as_u64().is_some() || v.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0)
    };
    for (part, key) in [("cockroachdb", "nodes"), ("redpanda", "brokers")] {
        let v = obj.get(part).and_then(|p| p.get(key));
        if let Some(v) = v.filter(|v| !v.is_null() && !is_count(v)) {
            return Err(malformed(
                kind,
                format!("{part}.{key}"),
                Some(v),
                "a whole number such as 5",
            ));
        }
    }
    for (field, v) in [
        ("survival", obj.get("survival")),
        (
            "redpanda.region",
            obj.get("redpanda").and_then(|r| r.get("region")),
        ),
    ] {
        if let Some(v) = v.filter(|v| !v.is_string()) {
            return Err(malformed(kind, field, Some(v), "a string such as \"zone\""));
        }
    }
    let Some(regions) = obj.get("regions") else {
        return Ok(());
    };
    let Some(regions) = regions.as_array() else {
        return Err(malformed(
            kind,
            "regions",
            Some(regions),
            "an array of regions such as [{name: us-east-1, zones: [us-east-1a]}]",
        ));
    };
    for (i, region) in regions.iter().enumerate() {
        let Some(region) = region.as_object() else {
            return Err(malformed(
                kind,
                format!("regions[{i}]"),
                Some(region),
                "an object with a name and zones",
            ));
        };
        if let Some(v) = region.get("name").filter(|v| !v.is_string()) {
            return Err(malformed(
                kind,
                format!("regions[{i}].name"),
                Some(v),
                "a string such as \"us-east-1\"",
            ));
        }
        let zones = region.get("zones");
        let ok = zones.is_none_or(|z| z.as_array().is_some_and(|a| a.iter().all(Value::is_string)));
        if !ok {
            return Err(malformed(
                kind,
                format!("regions[{i}].zones"),
                zones,
                "an array of strings such as [us-east-1a, us-east-1b, us-east-1c]",
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------- messages

/// A short description of a value for messages: its type, and the value when it is short.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string ({:?}…)", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(a) if a.is_empty() => "an empty array".to_owned(),
        Value::Array(a) if a.len() <= 4 && a.iter().all(|x| !x.is_array() && !x.is_object()) => {
            format!("the array {v}")
        }
        Value::Array(a) => format!(
            "an array of {} item{}",
            a.len(),
            if a.len() == 1 { "" } else { "s" }
        ),
        Value::Object(o) if o.is_empty() => "an empty object".to_owned(),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(6).map(String::as_str).collect();
            format!(
                "an object with keys {}{}",
                keys.join(", "),
                if o.len() > keys.len() { ", …" } else { "" }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn descriptions_are_short_and_name_the_type() {
        assert_eq!(describe(&json!("delete")), "the string \"delete\"");
        assert_eq!(describe(&json!([["delete"]])), "an array of 1 item");
        assert_eq!(describe(&json!(["DELETE"])), "the array [\"DELETE\"]");
        assert_eq!(describe(&json!({})), "an empty object");
        assert_eq!(describe(&json!({"a": 1})), "an object with keys a");
        assert!(describe(&json!("x".repeat(100))).ends_with("…)"));
    }

    #[test]
    fn problems_inside_a_top_level_array_are_located() {
        let err = check_document(&json!([{"apiVersion": "v1", "kind": "A"}, 3])).unwrap_err();
        assert_eq!(
            err,
            ShapeProblem::Unrecognised {
                field: "[1]".into(),
                found: "the number 3".into()
            }
        );
        let err = check_document(&json!([{"apiVersion": "v1", "kind": 1}])).unwrap_err();
        assert!(
            matches!(err, ShapeProblem::Malformed { ref field, .. } if field == "[0].kind"),
            "{err:?}"
        );
    }
}
