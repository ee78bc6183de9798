//! S3 bucket-policy JSON: whether it refuses requests without TLS, and the statement that
//! makes it so, added without touching the owner's statements.

use serde_json::{Value, json};

/// The `Sid` of the statement a plan adds to require TLS ([`BucketChange::RequireTls`](crate::BucketChange::RequireTls)).
pub const TLS_STATEMENT_SID: &str = "ThinledgerDenyInsecureTransport";

/// Whether the policy has a statement denying every principal every S3 action when
/// `aws:SecureTransport` is false. Unparsable text counts as no.
pub fn requires_tls(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    statements(&doc).iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && all_principals(s.get("Principal"))
            && one_or_many(s.get("Action")).any(|a| a == "s3:*" || a == "*")
            && s.get("Condition")
                .and_then(|c| c.get("Bool"))
                .and_then(|b| b.get("aws:SecureTransport"))
                .is_some_and(|v| match v {
                    Value::Bool(b) => !b,
                    Value::String(s) => s.eq_ignore_ascii_case("false"),
                    Value::Array(a) => a.iter().any(|x| {
                        x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
                            || x == &Value::Bool(false)
                    }),
                    _ => false,
                })
    })
}

/// The policy with the TLS-only statement appended (a new policy when there is none), as
/// compact JSON. `Err` carries why the existing policy cannot be extended.
pub(crate) fn with_tls_statement(
    existing: Option<&str>,
    bucket: &str,
    partition: &str,
) -> Result<String, String> {
    let statement = json!({
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            format!("arn:{partition}:s3:::{bucket}"),
            format!("arn:{partition}:s3:::{bucket}/*"),
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    });
    let mut doc = match existing {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(text) => serde_json::from_str::<Value>(text)
            .map_err(|e| format!("the bucket policy is not JSON ({e})"))?,
    };
    let Some(object) = doc.as_object_mut() else {
        return Err("the bucket policy is not a JSON object".into());
    };
    let list = match object.remove("Statement") {
        None => vec![statement],
        Some(Value::Array(mut list)) => {
            list.push(statement);
            list
        }
        Some(single @ Value::Object(_)) => vec![single, statement],
        Some(_) => {
            return Err("the bucket policy's Statement is neither a list nor an object".into());
        }
    };
    object.insert("Statement".into(), Value::Array(list));
    Ok(doc.to_string())
}

/// The ARN partition of an AWS region.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    }
}

fn all_principals(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(o)) => o
            .get("AWS")
            .is_some_and(|v| one_or_many(Some(v)).any(|p| p == "*")),
        _ => false,
    }
}

fn one_or_many(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let items: Vec<&str> = match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    items.into_iter()
}
