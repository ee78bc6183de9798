//! The rules, one case per way a bucket can break (or meet) them.

use rstest::rstest;
use thinledger_bucket::{
    BucketConfig, BucketOptions, DefaultEncryption, EncryptionAlgorithm, LifecycleRule, LockMode,
    ObjectLock, Provider, PublicAccessBlock, RetentionPolicy, RuleId, Severity, Tier, Transition,
    UnreadRecord, Versioning, check, requires_tls,
};

pub(crate) const KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
pub(crate) const PREFIX: &str = "eu-west-1/ledger-a";

/// A bucket that meets every rule for an immutable, KMS-encrypted repository under PREFIX.
pub(crate) fn good() -> BucketConfig {
    BucketConfig {
        provider: Provider::S3,
        bucket: "ledger-backups".into(),
        region: "eu-west-1".into(),
        versioning: Versioning::Enabled,
        object_lock: Some(ObjectLock {
            default_mode: Some(LockMode::Governance),
            default_days: Some(30),
        }),
        encryption: Some(DefaultEncryption {
            algorithm: EncryptionAlgorithm::Kms,
            kms_key: Some(KEY.into()),
        }),
        public_access_block: Some(PublicAccessBlock::ALL),
        tls_only: true,
        policy: None,
        lifecycle: vec![LifecycleRule {
            id: "cleanup".into(),
            enabled: true,
            prefix: String::new(),
            narrowed: false,
            transitions: vec![transition("GLACIER_IR", false)],
            noncurrent_expiry_days: Some(30),
            abort_multipart_days: Some(7),
        }],
        not_visible: Vec::new(),
    }
}

pub(crate) fn options() -> BucketOptions {
    BucketOptions::default()
        .with_prefix(PREFIX)
        .with_immutable(true)
        .with_kms_key(KEY)
}

/// `options()` expecting the repository's policy `mode` for `days` (the good bucket's
/// default is governance for 30 days).
fn policy(mode: LockMode, days: u64) -> BucketOptions {
    BucketOptions::default()
        .with_prefix(PREFIX)
        .with_kms_key(KEY)
        .with_lock_policy(RetentionPolicy::new(
            mode,
            std::time::Duration::from_secs(days * 86_400),
        ))
}

fn transition(class: &str, noncurrent: bool) -> Transition {
    Transition {
        storage_class: class.into(),
        days: Some(90),
        noncurrent,
    }
}

/// A rule on `prefix` that only moves objects to `class`.
fn tiering(prefix: &str, class: &str, enabled: bool) -> LifecycleRule {
    LifecycleRule {
        id: format!("tier-{class}"),
        enabled,
        prefix: prefix.into(),
        transitions: vec![transition(class, false)],
        ..Default::default()
    }
}

/// The cleanup rule moved to `prefix` (and narrowed by a tag filter when `narrowed`).
fn cleanup_on(prefix: &str, narrowed: bool) -> impl Fn(&mut BucketConfig) {
    let prefix = prefix.to_owned();
    move |c| {
        c.lifecycle[0].prefix = prefix.clone();
        c.lifecycle[0].narrowed = narrowed;
    }
}

fn add_rule(rule: LifecycleRule) -> impl Fn(&mut BucketConfig) {
    move |c| c.lifecycle.push(rule.clone())
}

#[rstest]
#[case::good(|_: &mut BucketConfig| {}, options(), &[])]
#[case::versioning_off(|c: &mut BucketConfig| c.versioning = Versioning::Off, options(), &[RuleId::VersioningOff])]
#[case::versioning_suspended(|c: &mut BucketConfig| c.versioning = Versioning::Suspended, options(), &[RuleId::VersioningOff])]
#[case::no_lock_immutable(|c: &mut BucketConfig| c.object_lock = None, options(), &[RuleId::ObjectLockMissing])]
#[case::no_lock_mutable(|c: &mut BucketConfig| c.object_lock = None, options().with_immutable(false), &[])]
#[case::lock_without_default(|c: &mut BucketConfig| c.object_lock = Some(ObjectLock { default_mode: None, default_days: None }), options(), &[RuleId::ObjectLockMissing])]
#[case::policy_met(|_: &mut BucketConfig| {}, policy(LockMode::Governance, 30), &[])]
#[case::policy_shorter(|_: &mut BucketConfig| {}, policy(LockMode::Governance, 7), &[])]
#[case::policy_longer(|_: &mut BucketConfig| {}, policy(LockMode::Governance, 31), &[RuleId::ObjectLockWeaker])]
#[case::policy_compliance(|_: &mut BucketConfig| {}, policy(LockMode::Compliance, 30), &[RuleId::ObjectLockWeaker])]
#[case::bucket_compliance(|c: &mut BucketConfig| c.object_lock.as_mut().unwrap().default_mode = Some(LockMode::Compliance), policy(LockMode::Governance, 30), &[])]
#[case::policy_without_lock(|c: &mut BucketConfig| c.object_lock = None, policy(LockMode::Governance, 1), &[RuleId::ObjectLockMissing])]
#[case::record_unread(|_: &mut BucketConfig| {}, options().with_unread_record(unread()), &[RuleId::LockRecordUnreadable])]
#[case::record_unread_mutable(|_: &mut BucketConfig| {}, options().with_immutable(false).with_unread_record(unread()), &[RuleId::LockRecordUnreadable])]
#[case::record_unread_but_policy_given(|_: &mut BucketConfig| {}, policy(LockMode::Governance, 30).with_unread_record(unread()), &[])]
#[case::no_encryption(|c: &mut BucketConfig| c.encryption = None, options(), &[RuleId::EncryptionMissing])]
#[case::sse_s3_with_tenant_key(|c: &mut BucketConfig| c.encryption = Some(DefaultEncryption { algorithm: EncryptionAlgorithm::ProviderManaged, kms_key: None }), options(), &[RuleId::EncryptionKey])]
#[case::other_kms_key(|c: &mut BucketConfig| c.encryption.as_mut().unwrap().kms_key = Some("arn:aws:kms:eu-west-1:111122223333:key/other".into()), options(), &[RuleId::EncryptionKey])]
#[case::default_kms_key(|c: &mut BucketConfig| c.encryption.as_mut().unwrap().kms_key = None, options(), &[RuleId::EncryptionKey])]
#[case::key_id_for_arn(|c: &mut BucketConfig| c.encryption.as_mut().unwrap().kms_key = Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()), options(), &[])]
#[case::dsse_with_key(|c: &mut BucketConfig| c.encryption.as_mut().unwrap().algorithm = EncryptionAlgorithm::DualLayerKms, options(), &[])]
#[case::sse_s3_without_tenant_key(|c: &mut BucketConfig| c.encryption = Some(DefaultEncryption { algorithm: EncryptionAlgorithm::ProviderManaged, kms_key: None }), BucketOptions::default().with_prefix(PREFIX), &[])]
#[case::no_public_access_block(|c: &mut BucketConfig| c.public_access_block = None, options(), &[RuleId::PublicAccess])]
#[case::partial_public_access_block(|c: &mut BucketConfig| c.public_access_block = Some(PublicAccessBlock { restrict_public_buckets: false, ..PublicAccessBlock::ALL }), options(), &[RuleId::PublicAccess])]
#[case::tls_not_required(|c: &mut BucketConfig| c.tls_only = false, options(), &[RuleId::TlsNotRequired])]
#[case::deep_archive(add_rule(tiering("", "DEEP_ARCHIVE", true)), options(), &[RuleId::OfflineTier])]
#[case::glacier_on_repository_prefix(add_rule(tiering("eu-west-1/", "GLACIER", true)), options(), &[RuleId::OfflineTier])]
#[case::glacier_under_repository_prefix(add_rule(tiering("eu-west-1/ledger-a/data/", "glacier", true)), options(), &[RuleId::OfflineTier])]
#[case::glacier_noncurrent(|c: &mut BucketConfig| c.lifecycle[0].transitions.push(transition("GLACIER", true)), options(), &[RuleId::OfflineTier])]
#[case::glacier_elsewhere(add_rule(tiering("logs/", "GLACIER", true)), options(), &[])]
#[case::glacier_on_sibling_prefix(add_rule(tiering("eu-west-1/ledger-ab/", "GLACIER", true)), options(), &[])]
#[case::glacier_disabled(add_rule(tiering("", "DEEP_ARCHIVE", false)), options(), &[])]
#[case::standard_ia(add_rule(tiering("", "STANDARD_IA", true)), options(), &[])]
#[case::intelligent_tiering(add_rule(tiering("", "INTELLIGENT_TIERING", true)), options(), &[])]
#[case::unknown_class(add_rule(tiering("", "SNOW", true)), options(), &[RuleId::UnknownTier])]
#[case::cleanup_elsewhere(cleanup_on("logs/", false), options(), &[RuleId::NoncurrentExpiryMissing, RuleId::MultipartCleanupMissing])]
#[case::cleanup_narrowed(cleanup_on("", true), options(), &[RuleId::NoncurrentExpiryMissing, RuleId::MultipartCleanupMissing])]
#[case::cleanup_on_sibling_prefix(cleanup_on("eu-west-1/ledger-ab/", false), options(), &[RuleId::NoncurrentExpiryMissing, RuleId::MultipartCleanupMissing])]
#[case::cleanup_on_repository(cleanup_on("eu-west-1/ledger-a/", false), options(), &[])]
#[case::cleanup_on_parent(cleanup_on("eu-west-1/", false), options(), &[])]
#[case::cleanup_disabled(|c: &mut BucketConfig| c.lifecycle[0].enabled = false, options(), &[RuleId::NoncurrentExpiryMissing, RuleId::MultipartCleanupMissing])]
#[case::no_noncurrent_expiry(|c: &mut BucketConfig| c.lifecycle[0].noncurrent_expiry_days = None, options(), &[RuleId::NoncurrentExpiryMissing])]
#[case::no_multipart_cleanup(|c: &mut BucketConfig| c.lifecycle[0].abort_multipart_days = None, options(), &[RuleId::MultipartCleanupMissing])]
#[case::azure_archive(|c: &mut BucketConfig| { c.provider = Provider::Azure; c.lifecycle = vec![tiering("", "Archive", true)]; }, options(), &[RuleId::OfflineTier])]
#[case::azure_cool(|c: &mut BucketConfig| { c.provider = Provider::Azure; c.lifecycle = vec![tiering("", "Cool", true)]; }, options(), &[])]
#[case::gcs_archive(|c: &mut BucketConfig| { c.provider = Provider::Gcs; c.lifecycle[0].transitions = vec![transition("ARCHIVE", false)]; }, options(), &[])]
fn rules(
    #[case] change: impl Fn(&mut BucketConfig),
    #[case] options: BucketOptions,
    #[case] expected: &[RuleId],
) {
    let mut config = good();
    change(&mut config);
    let report = check(&config, &options);
    let mut rules = report.rules();
    rules.sort();
    assert_eq!(rules, expected, "{report:#?}");
    assert_eq!(report.passed(), expected.is_empty());
    for f in &report.findings {
        assert!(!f.message.is_empty() && !f.fix.is_empty(), "{f:?}");
    }
}

/// The done-when bucket: a Deep Archive transition and no versioning.
#[test]
fn deep_archive_and_no_versioning_are_both_flagged() {
    let mut config = good();
    config.versioning = Versioning::Off;
    config.lifecycle.push(tiering("", "DEEP_ARCHIVE", true));
    let report = check(&config, &options());
    let offline = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::OfflineTier)
        .unwrap();
    assert!(offline.message.contains("DEEP_ARCHIVE"), "{offline:?}");
    assert!(offline.message.contains("tier-DEEP_ARCHIVE"), "{offline:?}");
    assert!(
        !offline.applicable,
        "moving objects out of an owner's tier is the owner's call"
    );
    assert!(report.rules().contains(&RuleId::VersioningOff));
}

#[rstest]
#[case(Provider::S3, "GLACIER", Tier::Offline)]
#[case(Provider::S3, "DEEP_ARCHIVE", Tier::Offline)]
#[case(Provider::S3, "deep-archive", Tier::Offline)]
#[case(Provider::S3, "GLACIER_IR", Tier::Online)]
#[case(Provider::S3, "STANDARD_IA", Tier::Online)]
#[case(Provider::S3, "ONEZONE_IA", Tier::Online)]
#[case(Provider::S3, "INTELLIGENT_TIERING", Tier::Online)]
#[case(Provider::S3, "ARCHIVE", Tier::Unknown)]
#[case(Provider::Azure, "Archive", Tier::Offline)]
#[case(Provider::Azure, "Cool", Tier::Online)]
#[case(Provider::Azure, "Cold", Tier::Online)]
#[case(Provider::Gcs, "NEARLINE", Tier::Online)]
#[case(Provider::Gcs, "COLDLINE", Tier::Online)]
#[case(Provider::Gcs, "ARCHIVE", Tier::Online)]
fn tiers(#[case] provider: Provider, #[case] class: &str, #[case] tier: Tier) {
    assert_eq!(Tier::of(provider, class), tier);
}

const TLS: &str = r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;

#[rstest]
#[case::statement_list(&format!(r#"{{"Statement":[{TLS}]}}"#), true)]
#[case::single_statement(&format!(r#"{{"Statement":{TLS}}}"#), true)]
#[case::bool_false(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace(r#""false""#, "false")), true)]
#[case::aws_principal(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"*"}"#)), true)]
#[case::action_list(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace(r#""Action":"s3:*""#, r#""Action":["s3:*"]"#)), true)]
#[case::allow(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace("Deny", "Allow")), false)]
#[case::one_principal(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"arn:aws:iam::1:root"}"#)), false)]
#[case::puts_only(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace("s3:*", "s3:PutObject")), false)]
#[case::secure_true(&format!(r#"{{"Statement":[{}]}}"#, TLS.replace(r#""false""#, r#""true""#)), false)]
#[case::not_json("{", false)]
fn tls_statements(#[case] policy: &str, #[case] tls: bool) {
    assert_eq!(requires_tls(policy), tls, "{policy}");
}

/// A weaker default names both values and the fix (the stronger mode, the longer days).
#[test]
fn a_weaker_default_names_both_retentions() {
    let report = check(
        &good(),
        &policy(LockMode::Compliance, 2).with_immutable(true),
    );
    let [finding] = report.findings.as_slice() else {
        panic!("{report:?}")
    };
    assert_eq!(finding.rule, RuleId::ObjectLockWeaker);
    assert!(!finding.applicable);
    assert!(
        finding.message.contains("GOVERNANCE for 30 day(s)")
            && finding.message.contains("COMPLIANCE for 2d"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        "set the bucket's default retention to COMPLIANCE for at least 30 day(s)"
    );
}

/// GCS: the bucket retention policy (locked: compliance) against the recorded policy, with
/// the gcloud fix; a retention that meets it passes.
#[rstest]
#[case::shorter_unlocked(
    LockMode::Governance,
    1,
    LockMode::Compliance,
    2,
    Some("--retention-period=2d`) and lock it")
)]
#[case::unlocked_for_compliance(
    LockMode::Governance,
    30,
    LockMode::Compliance,
    2,
    Some("--retention-period=30d`) and lock it")
)]
#[case::shorter_locked(
    LockMode::Compliance,
    1,
    LockMode::Governance,
    7,
    Some("--retention-period=7d`")
)]
#[case::meets(LockMode::Compliance, 30, LockMode::Compliance, 30, None)]
#[case::unlocked_meets_governance(LockMode::Governance, 30, LockMode::Governance, 2, None)]
fn gcs_retention_policy_against_the_record(
    #[case] bucket_mode: LockMode,
    #[case] bucket_days: u32,
    #[case] mode: LockMode,
    #[case] days: u64,
    #[case] fix: Option<&str>,
) {
    let config = BucketConfig {
        provider: Provider::Gcs,
        object_lock: Some(ObjectLock {
            default_mode: Some(bucket_mode),
            default_days: Some(bucket_days),
        }),
        ..good()
    };
    let report = check(&config, &policy(mode, days));
    let weaker = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::ObjectLockWeaker);
    match (fix, weaker) {
        (None, None) => {}
        (Some(fix), Some(finding)) => {
            assert!(finding.fix.contains(fix), "{}", finding.fix);
            assert!(
                finding.fix.contains("gcloud storage buckets update"),
                "{}",
                finding.fix
            );
            assert!(
                finding.message.contains(&format!(
                    "{} for {bucket_days} day(s)",
                    bucket_mode.as_str()
                )) && finding
                    .message
                    .contains(&format!("{} for {days}d", mode.as_str())),
                "{}",
                finding.message
            );
        }
        (fix, finding) => panic!("expected {fix:?}, got {finding:?}"),
    }
}

/// A record the identity may not read (HTTP 403 on its HEAD or GET).
fn unread() -> UnreadRecord {
    UnreadRecord::new(
        format!("{PREFIX}/thinledger-object-lock.json"),
        "403 Forbidden",
    )
}

/// Fail closed: a record the identity may not read is a finding (the check does not pass)
/// naming the object and the permission to grant on each provider. No emulator here refuses
/// a read (moto and fake-gcs-server enforce no permissions; Azurite only refuses a wrong key,
/// which fails the bucket's own requests first), so the mapping of a denied read
/// (`Bucket::check` sets `BucketOptions::unread_record`) is checked here, on the pure rules.
#[rstest]
#[case::s3(
    Provider::S3,
    "s3:GetObject on arn:aws:s3:::ledger-backups/eu-west-1/ledger-a/thinledger-object-lock.json"
)]
#[case::gcs(
    Provider::Gcs,
    "storage.objects.get on gs://ledger-backups/eu-west-1/ledger-a/thinledger-object-lock.json"
)]
#[case::azure(Provider::Azure, "Storage Blob Data Reader")]
fn an_unread_record_fails_the_check_and_names_the_permission(
    #[case] provider: Provider,
    #[case] grant: &str,
) {
    let config = BucketConfig { provider, ..good() };
    let report = check(
        &config,
        &BucketOptions::default().with_unread_record(unread()),
    );
    assert!(!report.passed(), "{report:?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::LockRecordUnreadable)
        .unwrap_or_else(|| panic!("{report:?}"));
    assert_eq!(finding.severity, Severity::High);
    assert!(!finding.applicable);
    assert!(
        finding
            .message
            .contains("eu-west-1/ledger-a/thinledger-object-lock.json cannot be read (access denied: 403 Forbidden)"),
        "{}",
        finding.message
    );
    assert!(finding.fix.contains(grant), "{}", finding.fix);
    assert!(
        finding.fix.contains("--object-lock MODE --retain DURATION"),
        "{}",
        finding.fix
    );
    // Left to the owner: `bucket plan` lists it, changes nothing for it.
    let plan = thinledger_bucket::plan(
        &config,
        &BucketOptions::default().with_unread_record(unread()),
    )
    .unwrap();
    assert!(
        plan.manual
            .iter()
            .any(|f| f.rule == RuleId::LockRecordUnreadable)
    );
}

/// Without object lock, the finding names the recorded policy it would need.
#[test]
fn a_missing_lock_names_the_recorded_policy() {
    let config = BucketConfig {
        object_lock: None,
        ..good()
    };
    let report = check(&config, &policy(LockMode::Compliance, 2));
    let [finding] = report.findings.as_slice() else {
        panic!("{report:?}")
    };
    assert_eq!(finding.rule, RuleId::ObjectLockMissing);
    assert!(
        finding.message.contains("(policy COMPLIANCE for 2d)"),
        "{}",
        finding.message
    );
}
