//! An Azure container's data-plane properties in the rules: what is judged, and what is
//! reported as not visible (account settings) instead of guessed. No server.

use rstest::rstest;
use thinledger_bucket::{
    AzureContainer, BucketOptions, PublicAccess, RuleId, Versioning, check, plan,
};

/// A container as a bank would have it: version-level immutability, private, the tenant's
/// encryption scope (override denied).
fn good() -> AzureContainer {
    let mut c = AzureContainer::new("ledger-worm");
    c.immutable_storage_with_versioning = true;
    c.default_encryption_scope = Some("ledger-cmk".into());
    c.deny_encryption_scope_override = true;
    c
}

fn options() -> BucketOptions {
    BucketOptions::default()
        .with_prefix("prod")
        .with_immutable(true)
        .with_kms_key("ledger-cmk")
}

#[rstest]
#[case::good(good(), &[RuleId::ObjectLockMissing])]
#[case::public_blobs(
    AzureContainer { public_access: PublicAccess::Blob, ..good() },
    &[RuleId::ObjectLockMissing, RuleId::PublicAccess]
)]
#[case::public_container(
    AzureContainer { public_access: PublicAccess::Container, ..good() },
    &[RuleId::ObjectLockMissing, RuleId::PublicAccess]
)]
#[case::no_version_level_immutability(
    AzureContainer { immutable_storage_with_versioning: false, ..good() },
    &[RuleId::ObjectLockMissing]
)]
#[case::account_scope(
    AzureContainer { default_encryption_scope: None, ..good() },
    &[RuleId::ObjectLockMissing, RuleId::EncryptionKey]
)]
#[case::other_scope(
    AzureContainer { default_encryption_scope: Some("other".into()), ..good() },
    &[RuleId::ObjectLockMissing, RuleId::EncryptionKey]
)]
// A container policy exists: its retention is management-plane, so the rule is not judged.
#[case::container_policy(
    AzureContainer { has_immutability_policy: true, ..good() },
    &[]
)]
fn findings(#[case] container: AzureContainer, #[case] expected: &[RuleId]) {
    let mut rules = check(&container.config(), &options()).rules();
    rules.sort();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(rules, expected);
}

#[test]
fn account_settings_are_reported_not_visible_never_failed() {
    // Without version-level immutability nothing shows whether versioning is on.
    let bare = AzureContainer::new("bare");
    let config = bare.config();
    assert_eq!(config.versioning, Versioning::Off);
    let report = check(&config, &BucketOptions::default());
    for rule in [
        RuleId::VersioningOff,
        RuleId::TlsNotRequired,
        RuleId::OfflineTier,
    ] {
        assert!(
            !report.rules().contains(&rule),
            "{rule} judged: {report:#?}"
        );
        assert!(
            report.unverified.iter().any(|n| n.rule == Some(rule)),
            "{rule} not listed: {report:#?}"
        );
    }
    for n in &report.unverified {
        assert!(
            n.check_with
                .contains("not visible with data-plane credentials"),
            "{n:?}"
        );
        assert!(n.check_with.contains("Terraform"), "{n:?}");
    }
    // The key behind the scope and the account's public-access switch: reported, no rule.
    assert!(
        report
            .unverified
            .iter()
            .any(|n| n.rule.is_none() && n.setting.contains("$account-encryption-key"))
    );
    // No noncurrent-expiry or multipart findings: Azure has its own cleanup rules.
    assert!(report.passed(), "{report:#?}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["unverified"].as_array().unwrap().len() >= 5, "{json}");
}

#[test]
fn only_public_access_is_planned_the_rest_is_the_owners() {
    let container = AzureContainer {
        public_access: PublicAccess::Container,
        immutable_storage_with_versioning: false,
        default_encryption_scope: Some("other".into()),
        ..good()
    };
    let plan = plan(&container.config(), &options()).unwrap();
    assert_eq!(
        plan.changes,
        vec![thinledger_bucket::BucketChange::BlockPublicAccess]
    );
    let manual: Vec<RuleId> = plan.manual.iter().map(|f| f.rule).collect();
    assert!(manual.contains(&RuleId::ObjectLockMissing), "{manual:?}");
    assert!(manual.contains(&RuleId::EncryptionKey), "{manual:?}");
    let key = plan
        .manual
        .iter()
        .find(|f| f.rule == RuleId::EncryptionKey)
        .unwrap();
    assert!(
        key.message
            .contains("scope is other, not the tenant's ledger-cmk"),
        "{key:?}"
    );
    assert!(key.fix.contains("fixed when it is created"), "{key:?}");
}

/// A container policy's retention is management-plane: with a recorded policy, the unseen
/// setting says what it must reach.
#[test]
fn an_unseen_container_policy_names_the_recorded_one() {
    let container = AzureContainer {
        has_immutability_policy: true,
        ..good()
    };
    let options = BucketOptions::default()
        .with_prefix("prod")
        .with_kms_key("ledger-cmk")
        .with_lock_policy(thinledger_bucket::RetentionPolicy::new(
            thinledger_bucket::LockMode::Compliance,
            std::time::Duration::from_secs(7 * 86_400),
        ));
    let report = check(&container.config(), &options);
    assert!(report.passed(), "{report:#?}");
    let unseen = report
        .unverified
        .iter()
        .find(|n| n.rule == Some(RuleId::ObjectLockMissing))
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(
        unseen.setting.contains(
            "it must be COMPLIANCE for at least 7 day(s), the repository's policy COMPLIANCE for 7d"
        ),
        "{}",
        unseen.setting
    );
}
