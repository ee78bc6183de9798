//! Maintenance mode around a broker restart: the `preStop` hook puts the broker into
//! maintenance mode (`rpk cluster maintenance enable <node-id> --wait`: every partition
//! leadership moves to other brokers before the process stops), and the `postStart` hook takes
//! it out again once the broker answers (`rpk cluster maintenance disable <node-id>`).
//!
//! A broker finds its own node id (assigned when it joined; `redpanda.yaml` sets none) in its
//! admin API's `GET /v1/node_config`. The admin API speaks HTTPS and requires a client
//! certificate: `curl` and `rpk` reach it over loopback and present the broker's own. Both hooks are idempotent and never fail the container:
//! a broker that cannot drain (the admin API is down, another broker is in maintenance — only
//! one may be at a time) stops anyway, as it would without the hook, and says why in its
//! events; a broker already out of maintenance stays out. The termination grace period covers
//! the drain budget plus Redpanda's own shutdown.

use k8s_openapi::api::core::v1::{ExecAction, Lifecycle, LifecycleHandler};

use super::super::common::RP_ADMIN_PORT;
use super::{TLS_DIR, admin_curl, rpk_admin_tls};

/// The most the preStop hook waits for leadership to move (healthy clusters take under a
/// minute, per Redpanda's maintenance-mode documentation).
pub const DRAIN_SECONDS: i64 = 120;
/// What Redpanda's own shutdown after SIGTERM may take.
pub const SHUTDOWN_SECONDS: i64 = 60;
/// `terminationGracePeriodSeconds`: the drain plus the shutdown.
pub const GRACE_SECONDS: i64 = DRAIN_SECONDS + SHUTDOWN_SECONDS;
/// How long the postStart hook waits for the broker's admin API (then it gives up, loudly).
pub const LEAVE_TRIES: u32 = 150;

/// A bash expression printing this broker's node id (empty if the admin API does not answer).
fn node_id_expr() -> String {
    format!(
        "{} | tr -d ' \\n' | sed -n 's/.*\"node_id\":\\([0-9][0-9]*\\).*/\\1/p'",
        admin_curl("/v1/node_config", true).join(" ")
    )
}

/// `rpk`'s admin options: the broker's own admin API over TLS, presenting its certificate.
fn admin() -> String {
    format!(
        "-X admin.hosts=127.0.0.1:{RP_ADMIN_PORT}{}",
        rpk_admin_tls(TLS_DIR)
    )
}

/// The preStop script.
pub fn pre_stop_script() -> String {
    format!(
        "set -u\n\
id=\"$({expr})\"\n\
if [ -z \"$id\" ]; then echo 'preStop: the admin API does not answer; stopping without maintenance mode' >&2; exit 0; fi\n\
echo \"preStop: broker $id enters maintenance mode (leadership moves to the other brokers)\"\n\
if timeout {DRAIN_SECONDS} rpk cluster maintenance enable \"$id\" --wait {admin}; then\n  echo \"preStop: broker $id drained\"\n\
else\n  echo \"preStop: broker $id did not drain within {DRAIN_SECONDS}s (another broker in maintenance, or an unhealthy cluster); stopping anyway\" >&2\nfi\n\
exit 0\n",
        expr = node_id_expr(),
        admin = admin(),
    )
}

/// The postStart script.
pub fn post_start_script() -> String {
    format!(
        "set -u\n\
i=0\n\
while [ \"$i\" -lt {LEAVE_TRIES} ]; do\n\
  id=\"$({expr})\"\n\
  if [ -n \"$id\" ]; then\n\
    if rpk cluster maintenance disable \"$id\" {admin} >/dev/null 2>&1; then echo \"postStart: broker $id is out of maintenance mode\"; exit 0; fi\n\
    if {maintenance} | tr -d ' \\n' | grep -q '\"draining\":false'; then echo \"postStart: broker $id is not in maintenance mode\"; exit 0; fi\n\
  fi\n\
  i=$((i + 1))\n\
  sleep 2\n\
done\n\
echo 'postStart: could not take the broker out of maintenance mode; run rpk cluster maintenance disable <node-id>' >&2\n\
exit 0\n",
        expr = node_id_expr(),
        admin = admin(),
        maintenance = admin_curl("/v1/maintenance", true).join(" "),
    )
}

fn bash(script: String) -> LifecycleHandler {
    LifecycleHandler {
        exec: Some(ExecAction {
            command: Some(vec!["/bin/bash".to_owned(), "-c".to_owned(), script]),
        }),
        ..Default::default()
    }
}

/// The broker container's lifecycle hooks.
// Newer Kubernetes versions add fields to Lifecycle: `..Default::default()` keeps this
// building whatever version the application picks.
#[allow(clippy::needless_update)]
pub fn lifecycle() -> Lifecycle {
    Lifecycle {
        pre_stop: Some(bash(pre_stop_script())),
        post_start: Some(bash(post_start_script())),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `script` with `curl`, `rpk`, `timeout` and `sleep` replaced by functions that log
    /// their arguments and answer as `node_config`, `maintenance` and `rpk_status` say.
    fn run(script: &str, node_config: &str, maintenance: &str, rpk_status: i32) -> (bool, String) {
        let full = format!(
            "curl() {{ echo \"curl $*\" >> \"$LOG\"; case \"$*\" in *node_config*) [ -n '{node_config}' ] || return 7; printf '%s' '{node_config}' ;; *maintenance*) printf '%s' '{maintenance}' ;; esac; }}\n\
rpk() {{ echo \"rpk $*\" >> \"$LOG\"; return {rpk_status}; }}\n\
timeout() {{ shift; \"$@\"; }}\n\
sleep() {{ :; }}\n{script}"
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let out = Command::new("bash")
            .arg("-c")
            .arg(full)
            .env("LOG", &log)
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        (out.status.success(), calls)
    }

    const NODE: &str = r#"{"node_id": 2, "data_directory": "/var/lib/redpanda/data"}"#;

    #[test]
    fn pre_stop_enters_maintenance_mode_with_the_brokers_own_id() {
        let (ok, calls) = run(&pre_stop_script(), NODE, "", 0);
        assert!(ok);
        assert!(
            calls.contains("curl --silent --fail --max-time 4 --cacert /etc/tls/ca.crt --cert /etc/tls/tls.crt --key /etc/tls/tls.key https://127.0.0.1:9644/v1/node_config"),
            "{calls}"
        );
        assert!(
            calls.contains("rpk cluster maintenance enable 2 --wait -X admin.hosts=127.0.0.1:9644 -X admin.tls.enabled=true -X admin.tls.ca=/etc/tls/ca.crt -X admin.tls.cert=/etc/tls/tls.crt -X admin.tls.key=/etc/tls/tls.key"),
            "{calls}"
        );
    }

    #[test]
    fn pre_stop_never_fails_the_stop() {
        // Another broker in maintenance: rpk fails, the hook still succeeds.
        let (ok, calls) = run(&pre_stop_script(), NODE, "", 1);
        assert!(ok, "{calls}");
        // No admin API: no rpk call at all.
        let (ok, calls) = run(&pre_stop_script(), "", "", 0);
        assert!(ok && !calls.contains("rpk"), "{calls}");
    }

    #[test]
    fn post_start_leaves_maintenance_mode_and_is_idempotent() {
        let (ok, calls) = run(&post_start_script(), NODE, "", 0);
        assert!(ok);
        assert!(
            calls.contains("rpk cluster maintenance disable 2"),
            "{calls}"
        );
        assert_eq!(calls.matches("rpk ").count(), 1, "{calls}");
        // disable refused, but the broker reports no drain: done, no retry loop.
        let (ok, calls) = run(
            &post_start_script(),
            NODE,
            r#"{"draining": false, "finished": false}"#,
            1,
        );
        assert!(ok);
        assert_eq!(calls.matches("rpk ").count(), 1, "{calls}");
    }

    #[test]
    fn post_start_gives_up_after_its_budget_without_failing_the_container() {
        let (ok, calls) = run(&post_start_script(), "", "", 0);
        assert!(ok);
        assert_eq!(
            calls.matches("node_config").count(),
            LEAVE_TRIES as usize,
            "one lookup per try"
        );
    }

    #[test]
    fn the_grace_period_covers_the_drain() {
        const { assert!(GRACE_SECONDS > DRAIN_SECONDS) };
        let l = lifecycle();
        assert!(l.pre_stop.unwrap().exec.unwrap().command.unwrap()[2].contains("timeout 120"));
    }
}
