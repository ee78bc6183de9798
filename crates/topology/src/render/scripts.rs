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

/// The preStop command that drains a CockroachDB node before Kubernetes stops it: `node drain
/// --self` against the node's own RPC port (the node certificate names `localhost`, and the CLI
/// authenticates with it as user `node`), waiting at most `drain_wait_seconds`.
pub fn drain_command(certs_dir: &str, rpc_port: i32, drain_wait_seconds: i64) -> String {
    format!(
        "exec /cockroach/cockroach node drain --self --certs-dir={certs_dir} --host=localhost:{rpc_port} --drain-wait={drain_wait_seconds}s"
    )
}

/// A bash snippet that starts a background loop: every `period_seconds` it compares `files`
/// (name in `secret_dir` → name in `certs_dir`) and, when cert-manager has renewed them (the
/// kubelet updates a mounted Secret in place), copies them in with mode 0400 and sends SIGHUP
/// to the shell's process, which by then is CockroachDB (`exec` keeps the PID); CockroachDB
/// reloads its certificates on SIGHUP.
pub fn cert_refresh_loop(
    secret_dir: &str,
    certs_dir: &str,
    files: &[(&str, &str)],
    period_seconds: u32,
) -> String {
    let pairs: Vec<String> = files.iter().map(|(s, d)| format!("{s}:{d}")).collect();
    format!(
        "# cert-manager renews the certificates in the Secret; copy renewed files in and SIGHUP\n# CockroachDB (this shell's PID after exec), which reloads them.\n(\n  set +e\n  while sleep {period_seconds}; do\n    changed=0\n    for pair in {pairs}; do\n      src=\"{secret_dir}/${{pair%%:*}}\"; dst=\"{certs_dir}/${{pair##*:}}\"\n      if [ -s \"$src\" ] && [ \"$(cat \"$src\")\" != \"$(cat \"$dst\" 2>/dev/null)\" ]; then\n        rm -f \"$dst.new\"; cp -L \"$src\" \"$dst.new\" && chmod 0400 \"$dst.new\" && mv -f \"$dst.new\" \"$dst\" && changed=1\n      fi\n    done\n    if [ \"$changed\" = 1 ]; then echo 'renewed certificates copied in: reloading (SIGHUP)'; kill -HUP $$; fi\n  done\n) &\n",
        pairs = pairs.join(" "),
    )
}

/// The upgrade Job's script before a major upgrade from `from_major` to `to_major` (`25.1`,
/// `25.2`): read the cluster version through `host` (SQL) and set
/// `cluster.preserve_downgrade_option` to `from_major` while the cluster still runs it. Safe to
/// re-run: set again, it is unchanged; once the upgrade is finalized (version `to_major`) there
/// is nothing to preserve. Any other version fails with what to check.
pub fn upgrade_script(certs_dir: &str, host: &str, from_major: &str, to_major: &str) -> String {
    format!(
        "set -euo pipefail\n\
sql() {{ /cockroach/cockroach sql --certs-dir={certs_dir} --host={host} --format=csv \"$@\"; }}\n\
version=\"$(sql -e 'SHOW CLUSTER SETTING version' | tail -n 1)\"\n\
case \"$version\" in\n\
  {from_major})\n\
    sql -e \"SET CLUSTER SETTING cluster.preserve_downgrade_option = '{from_major}'\"\n\
    echo 'cluster.preserve_downgrade_option = {from_major}: the upgrade to {to_major} stays reversible until it is finalized (RESET CLUSTER SETTING cluster.preserve_downgrade_option; docs/runbooks/upgrade.md)' ;;\n\
  {to_major})\n\
    echo 'the cluster version is already {to_major} (the upgrade is finalized): nothing to preserve' ;;\n\
  *)\n\
    echo \"the cluster version is $version, neither {from_major} (before the upgrade) nor {to_major} (finalized): check cockroachdb.upgrade_from in the tenant file\" >&2\n\
    exit 1 ;;\n\
esac\n"
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

    /// Runs `script` with `/cockroach/cockroach` replaced by a fake CLI that answers `SHOW
    /// CLUSTER SETTING version` with `version` and logs every other call.
    fn run_upgrade(version: &str) -> (bool, String, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        let fake = dir.path().join("cockroach");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/bash\ncase \"$*\" in *'SHOW CLUSTER SETTING version'*) printf 'version\\n{version}\\n' ;; *) echo \"$*\" >> '{}' ;; esac\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let script = upgrade_script("/certs", "cockroachdb-public:26257", "25.1", "25.2")
            .replace("/cockroach/cockroach", &fake.display().to_string());
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            std::fs::read_to_string(&log).unwrap_or_default(),
        )
    }

    #[test]
    fn the_upgrade_script_preserves_the_running_major_once_and_is_safe_to_rerun() {
        let (ok, out, err, calls) = run_upgrade("25.1");
        assert!(ok, "{err}");
        assert!(out.contains("reversible"), "{out}");
        assert!(
            calls.contains("SET CLUSTER SETTING cluster.preserve_downgrade_option = '25.1'")
                && calls.contains("--host=cockroachdb-public:26257"),
            "{calls}"
        );
        // Finalized already: succeeds without touching the setting.
        let (ok, out, err, calls) = run_upgrade("25.2");
        assert!(ok, "{err}");
        assert!(out.contains("already 25.2"), "{out}");
        assert!(calls.is_empty(), "{calls}");
        // Anything else (an upgrade_from that is not what runs): refused.
        let (ok, _, err, calls) = run_upgrade("24.3");
        assert!(!ok);
        assert!(
            err.contains("24.3") && err.contains("upgrade_from"),
            "{err}"
        );
        assert!(calls.is_empty(), "{calls}");
    }

    #[test]
    fn the_refresh_loop_copies_renewed_certificates_and_signals_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        let certs = dir.path().join("certs");
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::write(secret.join("node.crt"), "old").unwrap();
        std::fs::write(certs.join("node.crt"), "old").unwrap();
        let marker = dir.path().join("reloaded");
        let lp = cert_refresh_loop(
            &secret.display().to_string(),
            &certs.display().to_string(),
            &[("node.crt", "node.crt")],
            1,
        );
        // The shell stands in for CockroachDB: it records SIGHUP and checks the copy.
        let script = format!(
            "{lp}loop=$!\ntrap 'cat {certs}/node.crt > {marker}; kill $loop; exit 0' HUP\nsleep 1.5\necho new > {secret}/node.crt\nfor i in $(seq 1 50); do sleep 0.1; done\nkill $loop\nexit 3\n",
            certs = certs.display(),
            marker = marker.display(),
            secret = secret.display(),
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "new");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(certs.join("node.crt"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o400);
    }
}
