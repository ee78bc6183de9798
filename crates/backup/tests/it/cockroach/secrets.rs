//! Secrets never reach a display, a dry-run, `Debug` output or an error.

use thinledger_backup::cockroach::{
    CockroachBackupOptions, CockroachBackupPlan, Encryption, RestoreRequest, S3Credentials, S3Keys,
    Statement,
};
use thinledger_backup::store::Secret;

use super::*;

fn plan() -> CockroachBackupPlan {
    CockroachBackupPlan::for_tenant(
        &onprem(),
        &CockroachBackupOptions::default()
            .with_s3_credentials(Some(S3Credentials::Keys(
                S3Keys::new("ledger-backup", Secret::new(SECRET_KEY))
                    .unwrap()
                    .with_session_token(Secret::new(format!("token-{SECRET_KEY}"))),
            )))
            .with_encryption(Encryption::Passphrase(Secret::new(PASSPHRASE))),
    )
    .unwrap()
}

#[test]
fn dry_run_debug_and_json_are_redacted() {
    let plan = plan();
    let restore = plan.restore(&RestoreRequest::default()).unwrap();
    let mut shown = vec![
        plan.to_string(),
        format!("{plan:?}"),
        format!("{plan:#?}"),
        serde_json::to_string(&plan.summary()).unwrap(),
        restore.to_string(),
        format!("{restore:?}"),
        format!("{:?}", restore.render()),
        format!("{:?}", plan.destination()),
    ];
    for (_, r) in plan.statements() {
        shown.push(r.to_string());
        shown.push(format!("{r:?}"));
        shown.push(format!("{:?}", r.params()));
        shown.push(r.params().iter().map(|p| p.display().to_owned()).collect());
    }
    for text in &shown {
        assert_no_secret(text);
    }
    let all = shown.join("\n");
    assert!(all.contains("AWS_SECRET_ACCESS_KEY=redacted"), "{all}");
    assert!(all.contains("AWS_SESSION_TOKEN=redacted"), "{all}");
    assert!(all.contains("encryption_passphrase = 'redacted'"), "{all}");
}

#[test]
fn the_secret_is_sent_url_encoded() {
    // The executed parameters carry the secret (that is their job); only there.
    let r = plan().full_backup().render();
    let p = &r.params()[0];
    assert!(p.is_sensitive());
    assert!(!r.sql().contains("wJalr"), "{}", r.sql());
    assert!(!p.display().contains("wJalr"));
}

#[test]
fn errors_about_secrets_do_not_echo_them() {
    let err = S3Keys::new("id", Secret::new("seven77")).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("seven77"));
    let err = CockroachBackupPlan::for_tenant(
        &aws(),
        &CockroachBackupOptions::default()
            .with_encryption(Encryption::Passphrase(Secret::new("short12"))),
    )
    .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("short12"));
    let err = S3Keys::from_lookup(None, |name| {
        (name == "AWS_ACCESS_KEY_ID").then(|| "id".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("AWS_SECRET_ACCESS_KEY is missing"), "{err}");
}

#[test]
fn hostile_identifiers_and_values_stay_quoted() {
    use thinledger_backup::cockroach::Target;
    let plan = CockroachBackupPlan::for_tenant(
        &aws(),
        &CockroachBackupOptions::default()
            .with_target(Target::tables([r#"led"ger.pub;lic.en\tries"#]).unwrap())
            .with_schedule(
                thinledger_backup::cockroach::ScheduleOptions::default()
                    .with_label(r"it's'; DROP DATABASE ledger; --\"),
            ),
    )
    .unwrap();
    let s = plan.schedule().render();
    // The label is a parameter: not in the SQL text at all.
    assert!(!s.sql().contains("DROP"), "{}", s.sql());
    assert!(s.sql().starts_with("CREATE SCHEDULE IF NOT EXISTS $1 FOR BACKUP TABLE \"led\"\"ger\".\"pub;lic\".\"en\\tries\" INTO $2"), "{}", s.sql());
    // In the display it is one literal with its quotes doubled; the backslash stays.
    assert!(
        s.display().starts_with(
            r#"CREATE SCHEDULE IF NOT EXISTS 'it''s''; DROP DATABASE ledger; --\' FOR BACKUP"#
        ),
        "{}",
        s.display()
    );
    assert_eq!(s.params()[0].display(), r"it's'; DROP DATABASE ledger; --\");
}
