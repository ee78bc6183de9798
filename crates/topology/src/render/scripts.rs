//! Shell snippets run inside the containers (bash, curl, sed and tr are in both the CockroachDB
//! and the Redpanda images). Every value spliced in has been validated to DNS-label or
//! flag characters, so nothing here needs quoting beyond what is written.

use crate::provider::ZONE_LABEL;

/// Where the init containers find their Kubernetes API token and CA.
pub const KUBE_API_DIR: &str = "/var/run/secrets/thinledger/kube-api";
/// The default token mount (operator mode, whose pods automount it).
pub const DEFAULT_SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A bash expression that prints the zone label of the Node `$NODE_NAME`, read through the
/// Kubernetes API with the token in `token_dir`; prints nothing if it cannot.
pub fn node_zone_expr(token_dir: &str) -> String {
    let key = ZONE_LABEL.replace('.', "\\.").replace('/', "\\/");
    format!(
        "curl --silent --show-error --fail --max-time 10 --retry 6 --retry-all-errors \
--cacert {token_dir}/ca.crt -H \"Authorization: Bearer $(cat {token_dir}/token)\" \
\"https://kubernetes.default.svc/api/v1/nodes/${{NODE_NAME}}\" \
| tr -d ' \\n' | sed -n 's/.*\"{key}\":\"\\([^\"]*\\)\".*/\\1/p'"
    )
}

/// A bash snippet that sets `zone` from the node and fails unless it is one of `zones`.
pub fn checked_zone(token_dir: &str, zones: &[String]) -> String {
    format!(
        "zone=\"$({expr})\"\n\
case \"$zone\" in\n  {alternatives}) ;;\n  *) echo \"node ${{NODE_NAME}} has zone label '$zone', which is not one of the tenant's zones ({list}); refusing to start with a wrong locality\" >&2; exit 1 ;;\nesac\n",
        expr = node_zone_expr(token_dir),
        alternatives = zones.join("|"),
        list = zones.join(" "),
    )
}

/// The operator-mode `--locality` argument: the lookup runs inside the start command, and an
/// empty result (lookup failed or zone foreign) leaves `--locality=` empty, which CockroachDB
/// rejects, so the pod never starts with a wrong locality.
pub fn operator_locality_arg(prefix: &str, zones: &[String]) -> String {
    format!(
        "--locality=\"$(z=\"$({expr})\"; case \"$z\" in {alternatives}) echo \"{prefix},zone=$z\" ;; *) echo \"node ${{NODE_NAME}} zone '$z' is not one of the tenant's zones\" >&2 ;; esac)\"",
        expr = node_zone_expr(DEFAULT_SA_DIR),
        alternatives = zones.join("|"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `script` in bash with `curl` replaced by a function printing `node_json`.
    fn run(script: &str, node_json: &str) -> (bool, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let json_path = dir.path().join("node.json");
        std::fs::write(&json_path, node_json).unwrap();
        let full = format!(
            "curl() {{ case \"$*\" in *'/api/v1/nodes/ip-10-0-1-7'*) cat '{}' ;; *) return 22 ;; esac; }}\ncat() {{ if [ \"$1\" = '{DEFAULT_SA_DIR}/token' ]; then echo token; else command cat \"$@\"; fi; }}\n{script}",
            json_path.display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(full)
            .env("NODE_NAME", "ip-10-0-1-7")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    const COMPACT: &str = r#"{"kind":"Node","apiVersion":"v1","metadata":{"name":"ip-10-0-1-7","labels":{"kubernetes.io/hostname":"ip-10-0-1-7","topology.kubernetes.io/region":"us-east-1","topology.kubernetes.io/zone":"us-east-1b"},"annotations":{"node.alpha.kubernetes.io/ttl":"0"}},"status":{"capacity":{"cpu":"16"}}}"#;

    fn zones() -> Vec<String> {
        ["us-east-1a", "us-east-1b", "us-east-1c"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn reads_the_zone_label_from_compact_and_pretty_json() {
        let script = format!("{}echo \"$zone\"", checked_zone(KUBE_API_DIR, &zones()));
        let (ok, out, err) = run(&script, COMPACT);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "us-east-1b");
        let pretty = COMPACT.replace(",\"", ",\n    \"").replace(":\"", ": \"");
        let (ok, out, err) = run(&script, &pretty);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "us-east-1b");
    }

    #[test]
    fn a_foreign_or_missing_zone_fails() {
        let script = format!("{}echo started", checked_zone(KUBE_API_DIR, &zones()));
        let foreign = COMPACT.replace("us-east-1b\"}", "us-west-2a\"}");
        let (ok, out, err) = run(&script, &foreign);
        assert!(!ok && out.is_empty(), "{out}");
        assert!(
            err.contains("us-west-2a") && err.contains("not one of"),
            "{err}"
        );
        let missing = COMPACT.replace(
            "\"topology.kubernetes.io/zone\":\"us-east-1b\"",
            "\"a\":\"b\"",
        );
        let (ok, _, err) = run(&script, &missing);
        assert!(!ok, "{err}");
    }

    #[test]
    fn operator_argument_is_empty_unless_the_zone_is_known() {
        let arg = operator_locality_arg("cloud=aws,region=us-east-1", &zones());
        // The operator runs `exec … start <args>` through bash; print the argument instead.
        let script = format!("printf '%s\\n' {arg}");
        let (ok, out, err) = run(&script, COMPACT);
        assert!(ok, "{err}");
        assert_eq!(
            out.trim(),
            "--locality=cloud=aws,region=us-east-1,zone=us-east-1b"
        );
        let (_, out, err) = run(&script, &COMPACT.replace("us-east-1b\"}", "eu-west-1a\"}"));
        assert_eq!(out.trim(), "--locality=", "{err}");
        assert!(err.contains("not one of"), "{err}");
    }
}
