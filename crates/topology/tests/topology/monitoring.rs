//! Monitoring rendered with every tenant: the PodMonitors, the alerts (checked and unit-tested
//! with Prometheus' own promtool), the dashboards, and that every query names a metric the
//! components export.

use std::collections::BTreeSet;

use thinledger_topology::render::monitoring::{METRICS, MetricSource, metrics};

use super::*;

const RUNBOOKS: &str = include_str!("../../../../docs/runbooks/alerts.md");

fn find(r: &Rendering, kind: &str, name: &str) -> Value {
    json(
        r.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name}")),
    )
}

/// Every rule of the rendering's PrometheusRule.
fn rules(r: &Rendering) -> Vec<Value> {
    find(r, "PrometheusRule", "ledger-alerts")["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect()
}

/// Every dashboard's JSON model.
fn dashboards(r: &Rendering) -> Vec<(String, Value)> {
    r.objects
        .iter()
        .filter(|o| o.kind() == "ConfigMap")
        .filter_map(|o| {
            let v = json(o);
            (v["metadata"]["labels"]["grafana_dashboard"] == "1").then(|| {
                let data = v["data"].as_object().unwrap();
                assert_eq!(data.len(), 1, "{}", o.name());
                let (key, text) = data.iter().next().unwrap();
                let board: Value = serde_json::from_str(text.as_str().unwrap())
                    .unwrap_or_else(|e| panic!("{key} is not JSON: {e}"));
                (o.name().to_owned(), board)
            })
        })
        .collect()
}

fn alert_names(r: &Rendering) -> Vec<String> {
    rules(r)
        .iter()
        .map(|r| r["alert"].as_str().unwrap().to_owned())
        .collect()
}

#[rstest]
fn every_tenant_gets_monitors_alerts_and_dashboards(
    #[values("aws", "azure", "gcp", "onprem")] name: &str,
    #[values(CockroachMode::StatefulSet, CockroachMode::Operator)] mode: CockroachMode,
) {
    let r = rendering(name, mode);
    let ns = example(name).namespace();
    let crdb = find(&r, "PodMonitor", "cockroachdb");
    assert_eq!(crdb["apiVersion"], "monitoring.coreos.com/v1");
    let endpoint = &crdb["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["path"], "/_status/vars");
    assert_eq!(endpoint["scheme"], "https", "the cluster runs secure");
    assert_eq!(endpoint["port"], "http");
    assert_eq!(
        endpoint["tlsConfig"]["ca"]["secret"]["name"],
        "cockroachdb-node"
    );
    assert!(
        endpoint["tlsConfig"]["serverName"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cockroachdb-public.{ns}.svc."))
    );
    assert_eq!(
        crdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
        "database"
    );
    let rp = find(&r, "PodMonitor", "redpanda");
    assert_eq!(
        rp["spec"]["podMetricsEndpoints"][0]["path"],
        "/public_metrics"
    );
    assert_eq!(rp["spec"]["podMetricsEndpoints"][0]["port"], "admin");
    let backup = find(&r, "PodMonitor", "ledger-backup");
    assert_eq!(backup["spec"]["podMetricsEndpoints"][0]["path"], "/metrics");
    assert_eq!(
        backup["spec"]["podMetricsEndpoints"][0]["honorLabels"],
        true
    );

    let alerts = alert_names(&r);
    for required in [
        "CockroachRangesUnavailable",
        "CockroachRangesUnderReplicated",
        "CockroachNodeDown",
        "CockroachLiveNodesLow",
        "CockroachClockOffsetHigh",
        "CockroachNodeCertificateExpiring",
        "CockroachDiskLow",
        "RedpandaUnderReplicatedPartitions",
        "RedpandaLeaderlessPartitions",
        "RedpandaConsumerGroupLag",
        "RedpandaDiskLow",
        "BackupRpoExceeded",
        "BackupJobFailed",
        "RestoreDrillFailed",
        "WalArchivingBehind",
    ] {
        assert!(
            alerts.iter().any(|a| a == required),
            "{required}: {alerts:?}"
        );
    }
    let boards: Vec<String> = dashboards(&r).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        boards,
        [
            "grafana-dashboard-ledger",
            "grafana-dashboard-stream",
            "grafana-dashboard-backups"
        ]
    );
}

/// A second region of a multi-region tenant monitors its CockroachDB nodes only: Redpanda and
/// the backup scheduler run in the first.
#[test]
fn other_regions_monitor_their_cockroachdb_only() {
    let west = region_rendering(
        &multi_region_text(),
        CockroachMode::StatefulSet,
        "us-west-2",
    );
    assert!(west.find("PodMonitor", "cockroachdb").is_some());
    assert!(west.find("PodMonitor", "redpanda").is_none());
    assert!(west.find("PodMonitor", "ledger-backup").is_none());
    let alerts = alert_names(&west);
    assert!(
        alerts.iter().all(|a| a.starts_with("Cockroach")),
        "{alerts:?}"
    );
    let live = rules(&west)
        .into_iter()
        .find(|r| r["alert"] == "CockroachLiveNodesLow")
        .unwrap();
    assert!(live["expr"].as_str().unwrap().ends_with("< 9"), "{live}");
}

#[test]
fn alerts_have_severity_summary_and_a_runbook_section() {
    let r = rendering("aws", CockroachMode::StatefulSet);
    let all = rules(&r);
    assert!(all.len() >= 20, "{}", all.len());
    for rule in all {
        let name = rule["alert"].as_str().unwrap();
        assert!(
            ["critical", "warning"].contains(&rule["labels"]["severity"].as_str().unwrap()),
            "{rule}"
        );
        assert_eq!(rule["labels"]["tenant"], "acme-bank");
        for key in ["summary", "description"] {
            assert!(
                rule["annotations"][key].as_str().unwrap().len() > 10,
                "{name}: {key}"
            );
        }
        let url = rule["annotations"]["runbook_url"].as_str().unwrap();
        assert!(
            url.ends_with(&format!(
                "docs/runbooks/alerts.md#{}",
                name.to_ascii_lowercase()
            )),
            "{url}"
        );
        assert!(
            RUNBOOKS.contains(&format!("\n## {name}\n")),
            "docs/runbooks/alerts.md has no section `## {name}`"
        );
    }
}

/// The tier sets how loud alerts are; the tenant's RPO and node count set the thresholds.
#[rstest]
#[case::prod("tier: prod ", "tier: prod ", "  rpo: 15m\n", 900, &["critical", "warning"])]
#[case::staging("tier: prod ", "tier: staging ", "", 4 * 3_600, &["warning"])]
#[case::dev("tier: prod ", "tier: dev ", "", 86_400, &["info"])]
fn thresholds_and_severities_follow_the_tenant(
    #[case] from: &str,
    #[case] to: &str,
    #[case] rpo_line: &str,
    #[case] rpo: u64,
    #[case] severities: &[&str],
) {
    // Only canary and early rings may run below the prod tier.
    let mut text = example_text("aws")
        .replace(from, to)
        .replace("ring: ring-2-prod", "ring: ring-0-canary");
    text = text.replace(
        "    role_arn: arn:aws:iam::123456789012:role/acme-ledger-backup\n",
        &format!("    role_arn: arn:aws:iam::123456789012:role/acme-ledger-backup\n{rpo_line}"),
    );
    let tenant = Tenant::from_yaml(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tenant.rpo_seconds(), rpo);
    let plan = ResourcePlan::from_tenant(&tenant).unwrap();
    let r = render(&tenant, &plan, &RenderOptions::default()).unwrap();
    let all = rules(&r);
    let expr = |alert: &str| {
        all.iter().find(|r| r["alert"] == alert).unwrap()["expr"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(expr("BackupRpoExceeded").ends_with(&format!("> {rpo}")));
    assert!(expr("WalArchivingBehind").ends_with(&format!("> {rpo}")));
    assert!(expr("CockroachLiveNodesLow").ends_with("< 3"));
    let used: BTreeSet<&str> = all
        .iter()
        .map(|r| r["labels"]["severity"].as_str().unwrap())
        .collect();
    assert_eq!(used, severities.iter().copied().collect());
}

/// The metric names in a PromQL expression: identifiers that are not functions, keywords,
/// label names (inside `{…}` or `by (…)`), strings, numbers or durations.
fn metric_names(expr: &str) -> Vec<String> {
    // Binary operators and the aggregations, which may precede `by (…)` instead of `(`.
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Skips past the string starting at `i` (a '"').
    let skip_string = |i: &mut usize| {
        *i += 1;
        while *i < chars.len() && chars[*i] != '"' {
            *i += if chars[*i] == '\\' { 2 } else { 1 };
        }
        *i += 1;
    };
    // Skips past the group opened at `i`, strings inside included.
    let skip_group = |i: &mut usize, close: char| {
        while *i < chars.len() && chars[*i] != close {
            if chars[*i] == '"' {
                skip_string(i);
            } else {
                *i += 1;
            }
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            skip_string(&mut i);
        } else if c == '{' {
            skip_group(&mut i, '}');
        } else if c == '[' {
            skip_group(&mut i, ']');
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let call = j < chars.len() && chars[j] == '(';
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word.as_str())
                && call
            {
                i = j;
                skip_group(&mut i, ')');
            } else if !call && !KEYWORDS.contains(&word.as_str()) {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn the_metric_name_reader_is_not_vacuous() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=\"y{z}\"}[5m]))) / 1e9 > 2 or absent(b{n=\"1\"}) unless on (pod) c"
        ),
        ["a_bucket", "b", "c"]
    );
}

/// Every query of every rule and dashboard names metrics from the catalog (which says who
/// exports each), and every catalog entry is queried somewhere.
#[test]
fn queries_name_only_metrics_the_components_export() {
    let mut used = BTreeSet::new();
    for name in PROVIDERS {
        for mode in MODES {
            let r = rendering(name, mode);
            let mut exprs: Vec<String> = rules(&r)
                .iter()
                .map(|r| r["expr"].as_str().unwrap().to_owned())
                .collect();
            for (board, model) in dashboards(&r) {
                let panels = model["panels"].as_array().unwrap();
                assert!(panels.len() >= 5, "{board}");
                for panel in panels {
                    for target in panel["targets"].as_array().unwrap() {
                        exprs.push(target["expr"].as_str().unwrap().to_owned());
                    }
                }
            }
            for expr in exprs {
                let names = metric_names(&expr);
                // Only a constant line (the RPO target) names no metric.
                assert!(!names.is_empty() || expr.starts_with("vector("), "{expr}");
                for metric in names {
                    assert!(
                        metrics::metric(&metric).is_some(),
                        "{metric} (in `{expr}`) is not in the metric catalog"
                    );
                    used.insert(metric);
                }
            }
        }
    }
    let catalog: BTreeSet<String> = METRICS.iter().map(|m| m.name.to_owned()).collect();
    assert_eq!(used, catalog, "catalog entries no query uses");
}

/// The backup scheduler's metrics the rules use are the ones crates/schedule registers (its
/// registry prefixes `thinledger_backup_job_`, and counters get `_total`).
#[test]
fn backup_metrics_are_the_scheduler_s() {
    let source = include_str!("../../../schedule/src/metrics.rs");
    let backup: Vec<_> = METRICS
        .iter()
        .filter(|m| m.source == MetricSource::BackupScheduler)
        .collect();
    assert!(backup.len() >= 6);
    for m in backup {
        let short = m.name.strip_prefix("thinledger_backup_job_").unwrap();
        let registered = short.strip_suffix("_total").unwrap_or(short);
        assert!(
            source.contains(&format!("\"{registered}\",")),
            "{} is not registered in crates/schedule/src/metrics.rs",
            m.name
        );
    }
}

fn promtool() -> Option<String> {
    service("THINLEDGER_TEST_PROMTOOL")
}

/// The rendered PrometheusRule's spec is a Prometheus rule file.
fn write_rule_file(dir: &Path, file: &str, r: &Rendering) -> PathBuf {
    let spec = &find(r, "PrometheusRule", "ledger-alerts")["spec"];
    let path = dir.join(file);
    std::fs::write(&path, serde_yaml_ng::to_string(spec).unwrap()).unwrap();
    path
}

fn run(tool: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn promtool_accepts_every_rule_file() {
    let Some(tool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in PROVIDERS {
        for mode in MODES {
            let file = format!("{name}-{mode}.yaml");
            write_rule_file(dir.path(), &file, &rendering(name, mode));
            files.push(file);
        }
    }
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let (ok, report) = run(&tool, &args, dir.path());
    assert!(ok, "{report}");
    // Not vacuous: a broken expression is refused.
    let text = std::fs::read_to_string(dir.path().join(&files[0])).unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        text.replacen(" > 0", " >> 0", 1),
    )
    .unwrap();
    let (ok, _) = run(&tool, &["check", "rules", "bad.yaml"], dir.path());
    assert!(!ok);
}

/// `promtool test rules` on synthetic series: the RPO alert fires once the newest backup is
/// older than the tenant's RPO for 5 minutes, the under-replicated alerts after 10 minutes of
/// under-replication, with the labels and annotations on-call sees.
#[test]
fn promtool_fires_the_rpo_and_under_replicated_alerts() {
    let Some(tool) = promtool() else { return };
    let r = rendering("aws", CockroachMode::StatefulSet);
    let dir = tempfile::tempdir().unwrap();
    write_rule_file(dir.path(), "rules.yaml", &r);
    let ns = example("aws").namespace();
    let annotations = |alert: &str, job: Option<&str>| {
        let rule = rules(&r).into_iter().find(|r| r["alert"] == alert).unwrap();
        let mut a = rule["annotations"].clone();
        if let Some(job) = job {
            let d = a["description"]
                .as_str()
                .unwrap()
                .replace("{{ $labels.job }}", job);
            a["description"] = Value::String(d);
        }
        a
    };
    let labels = |job: Option<&str>| {
        let mut l = serde_json::json!({"severity": "critical", "tenant": "acme-bank", "environment": "prod"});
        if let Some(job) = job {
            l["job"] = Value::String(job.to_owned());
        }
        l
    };
    let firing = |alert: &str, at: &str, job: Option<&str>| {
        serde_json::json!({"eval_time": at, "alertname": alert, "exp_alerts": [
            {"exp_labels": labels(job), "exp_annotations": annotations(alert, job)}
        ]})
    };
    let quiet = |alert: &str, at: &str| serde_json::json!({"eval_time": at, "alertname": alert, "exp_alerts": []});
    let test = |checks: Vec<Value>| {
        serde_json::json!({
            "rule_files": ["rules.yaml"],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [
                    // 3000 s at minute 0, one minute more each minute: above the prod tier's
                    // one-hour RPO from minute 11.
                    {"series": format!("thinledger_backup_job_rpo_seconds{{namespace=\"{ns}\",job=\"nightly\"}}"), "values": "3000+60x30"},
                    // A second job that keeps up.
                    {"series": format!("thinledger_backup_job_rpo_seconds{{namespace=\"{ns}\",job=\"hourly\"}}"), "values": "600x30"},
                    // Another tenant's backups are not this tenant's alert.
                    {"series": "thinledger_backup_job_rpo_seconds{namespace=\"ledger-other-prod\",job=\"nightly\"}", "values": "9000x30"},
                    {"series": format!("ranges_underreplicated{{namespace=\"{ns}\",pod=\"cockroachdb-0\",store=\"1\"}}"), "values": "0 0 4x30"},
                    {"series": format!("ranges_underreplicated{{namespace=\"{ns}\",pod=\"cockroachdb-1\",store=\"2\"}}"), "values": "0x32"},
                    {"series": format!("redpanda_kafka_under_replicated_replicas{{namespace=\"{ns}\",pod=\"redpanda-0\",redpanda_topic=\"ledger.entries\"}}"), "values": "0 2x30"},
                ],
                "alert_rule_test": checks,
            }],
        })
    };
    let checks = vec![
        quiet("BackupRpoExceeded", "10m"),
        quiet("BackupRpoExceeded", "14m"),
        firing("BackupRpoExceeded", "20m", Some("nightly")),
        quiet("CockroachRangesUnderReplicated", "8m"),
        firing("CockroachRangesUnderReplicated", "15m", None),
        quiet("RedpandaUnderReplicatedPartitions", "5m"),
        firing("RedpandaUnderReplicatedPartitions", "15m", None),
    ];
    std::fs::write(
        dir.path().join("test.yaml"),
        serde_yaml_ng::to_string(&test(checks)).unwrap(),
    )
    .unwrap();
    let (ok, report) = run(&tool, &["test", "rules", "test.yaml"], dir.path());
    assert!(ok, "{report}");
    // Not vacuous: expecting the RPO alert before the RPO is exceeded fails.
    std::fs::write(
        dir.path().join("early.yaml"),
        serde_yaml_ng::to_string(&test(vec![firing(
            "BackupRpoExceeded",
            "10m",
            Some("nightly"),
        )]))
        .unwrap(),
    )
    .unwrap();
    let (ok, report) = run(&tool, &["test", "rules", "early.yaml"], dir.path());
    assert!(!ok, "{report}");
}

/// The PodMonitors and PrometheusRules match the Prometheus Operator's CRD schemas (the npm
/// @kubernetes-models packages, generated from them; kubernetes-validate knows only built-in
/// kinds).
#[test]
fn custom_resources_match_the_operator_schemas() {
    let mut objects = Vec::new();
    for name in PROVIDERS {
        for mode in MODES {
            for (i, o) in rendering(name, mode).objects.iter().enumerate() {
                if matches!(o.kind(), "PodMonitor" | "PrometheusRule") {
                    objects.push((format!("{name}-{mode}-{i}"), json(o)));
                }
            }
        }
    }
    assert_eq!(
        objects.len(),
        4 * 2 * 4,
        "three PodMonitors and a PrometheusRule each"
    );
    // Not vacuous: a malformed `for` is refused.
    assert_custom_resources_valid(&objects, "PrometheusRule", |rule| {
        let text = rule
            .to_string()
            .replacen("\"for\":\"", "\"for\":\"soon ", 1);
        *rule = serde_json::from_str(&text).unwrap();
    });
}
