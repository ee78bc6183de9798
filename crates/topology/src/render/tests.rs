use super::*;

#[test]
fn cockroach_mode_parses() {
    assert_eq!(
        "operator".parse::<CockroachMode>().unwrap(),
        CockroachMode::Operator
    );
    assert_eq!(
        "StatefulSet".parse::<CockroachMode>().unwrap(),
        CockroachMode::StatefulSet
    );
    let err = "helm".parse::<CockroachMode>().unwrap_err().to_string();
    assert!(err.contains("operator, statefulset"), "{err}");
}

#[test]
fn size_flags() {
    assert_eq!(common::seastar_size_flag(ByteSize::gib(14)), "14336M");
    assert_eq!(common::seastar_size_flag(ByteSize(0)), "0M");
}

/// The kit's builders give what the backup scheduler's CronJobs render today (labels,
/// metadata, secret volumes readable by the pod's group, Guaranteed resources).
#[test]
fn the_kit_builds_what_other_renderers_need() {
    let labels = kit::app_labels("ledger-backup", "backup", "ledger-backup");
    assert_eq!(
        labels,
        kit::labels(&[
            ("app.kubernetes.io/name", "ledger-backup"),
            ("app.kubernetes.io/component", "backup"),
            ("app.kubernetes.io/part-of", "thinledger"),
            ("app.kubernetes.io/managed-by", "ledger-backup"),
        ])
    );
    let meta = kit::object_meta("nightly", "ledger-acme-prod", labels.clone());
    assert_eq!(meta.name.as_deref(), Some("nightly"));
    assert_eq!(meta.namespace.as_deref(), Some("ledger-acme-prod"));
    assert_eq!(meta.labels, Some(labels));

    let secret = kit::secret_volume("password", "ledger-backup-passwords");
    let source = secret.secret.unwrap();
    assert_eq!(
        source.secret_name.as_deref(),
        Some("ledger-backup-passwords")
    );
    assert_eq!(source.default_mode, Some(0o440));

    let resources = kit::guaranteed_quantities("500m", "512Mi");
    let requests = resources.requests.clone().unwrap();
    assert_eq!(requests["cpu"].0, "500m");
    assert_eq!(requests["memory"].0, "512Mi");
    assert_eq!(resources.requests, resources.limits);
    assert_eq!(
        kit::guaranteed(Cpu::cores(4), ByteSize::gib(16)),
        kit::guaranteed_quantities("4", "16Gi")
    );

    let scratch = kit::empty_dir("scratch", false, "2Gi").empty_dir.unwrap();
    assert_eq!(scratch.medium, None);
    assert_eq!(scratch.size_limit.map(|q| q.0).as_deref(), Some("2Gi"));
    assert_eq!(kit::mount("scratch", "/scratch", false).read_only, None);
    assert_eq!(kit::mount("schedule", "/etc", true).read_only, Some(true));
}

#[rstest::rstest]
#[case(kit::COCKROACH_UID)]
#[case(kit::REDPANDA_UID)]
#[case(kit::JOB_UID)]
fn the_kit_security_contexts_meet_the_restricted_profile(#[case] uid: i64) {
    assert!(uid > 10_000, "UIDs above 10000 map to no host account");
    let pod = kit::pod_security(uid);
    assert_eq!(pod.run_as_non_root, Some(true));
    assert_eq!(
        (pod.run_as_user, pod.run_as_group, pod.fs_group),
        (Some(uid), Some(uid), Some(uid))
    );
    assert_eq!(pod.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let container = kit::container_security(uid);
    assert_eq!(container.allow_privilege_escalation, Some(false));
    assert_eq!(container.read_only_root_filesystem, Some(true));
    assert_eq!(
        container.capabilities.unwrap().drop,
        Some(vec!["ALL".to_owned()])
    );
}
