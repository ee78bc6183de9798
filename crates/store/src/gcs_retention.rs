//! GCS Object Retention Lock for immutable repositories: the `retention` every upload but a
//! lock file carries, reading an object's retention back from its JSON metadata, and the
//! typed error for an upload the bucket refuses.
//!
//! GCS names the modes `Unlocked` (authorized users may shorten or remove the retention:
//! S3's governance mode, and the XML API's `GOVERNANCE`) and `Locked` (the date can only be
//! extended: S3's compliance mode). The bucket must have Object Retention Lock enabled
//! (`objectRetention.mode = Enabled`, set when the bucket is created with
//! `--enable-per-object-retention`), and the writer needs `storage.objects.setRetention`.
//!
//! Unlike S3's per-request headers, the retention is a field of the object resource in the
//! upload's metadata part, so each upload gets a date computed at the time it is sent: every
//! object is retained at least `retain` after its upload, and at most a second longer.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use super::error::StoreError;
use super::options::{ObjectLockMode, ObjectLockOptions};
use super::retention::ObjectRetention;

/// GCS's name of `mode`: `Unlocked` (governance) or `Locked` (compliance).
pub(crate) fn gcs_mode(mode: ObjectLockMode) -> &'static str {
    match mode {
        ObjectLockMode::Governance => "Unlocked",
        ObjectLockMode::Compliance => "Locked",
    }
}

/// The `retention` field of an object written at `now` under `lock`: the mode, and
/// `now + retain` rounded up to the next whole second (RFC 3339, UTC), never shorter than
/// the policy.
pub(crate) fn retention_json(lock: &ObjectLockOptions, now: SystemTime) -> serde_json::Value {
    let until = now + lock.retain + Duration::from_secs(1);
    let until = DateTime::<Utc>::from(until).to_rfc3339_opts(SecondsFormat::Secs, true);
    serde_json::json!({ "mode": gcs_mode(lock.mode), "retainUntilTime": until })
}

/// The fields of an object resource that say how long it must be kept.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    time_created: Option<String>,
    retention: Option<Retention>,
    /// Set when the bucket has a retention policy: the time the policy lets the object go.
    retention_expiration_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Retention {
    mode: Option<String>,
    retain_until_time: Option<String>,
}

/// An object's retention from its JSON resource (`GET storage/v1/b/B/o/NAME`): the object's
/// own retention (`retention.mode`, `retention.retainUntilTime`), or, when a bucket retention
/// policy holds it longer, that policy's `retentionExpirationTime` (with no mode): a delete
/// is refused until the later of the two. `last_modified` is `timeCreated` (GCS objects are
/// never modified, only replaced by a new generation).
pub(crate) fn parse_retention(body: &[u8]) -> Result<ObjectRetention, String> {
    let resource: Resource =
        serde_json::from_slice(body).map_err(|e| format!("unreadable object metadata: {e}"))?;
    let time = |field: &str, text: &str| {
        text.parse::<DateTime<Utc>>()
            .map_err(|e| format!("{field} {text:?} is not an RFC 3339 time: {e}"))
    };
    let last_modified = match resource.time_created.as_deref() {
        Some(t) => time("timeCreated", t)?,
        None => return Err("the object metadata has no timeCreated".into()),
    };
    let (mut mode, mut retain_until) = (None, None);
    if let Some(r) = &resource.retention {
        mode = match r.mode.as_deref() {
            Some("Unlocked") => Some(ObjectLockMode::Governance),
            Some("Locked") => Some(ObjectLockMode::Compliance),
            None => None,
            Some(other) => return Err(format!("unknown retention mode {other:?}")),
        };
        if let Some(t) = r.retain_until_time.as_deref() {
            retain_until = Some(time("retention.retainUntilTime", t)?);
        }
    }
    if let Some(t) = resource.retention_expiration_time.as_deref() {
        let policy = time("retentionExpirationTime", t)?;
        if retain_until.is_none_or(|until| policy > until) {
            retain_until = Some(policy);
        }
    }
    Ok(ObjectRetention {
        mode,
        retain_until,
        last_modified,
    })
}

/// The fix for an upload with retention that the bucket refused.
const REFUSED_FIX: &str = "enable Object Retention Lock on the bucket (create it with `gcloud storage buckets create --enable-per-object-retention`) and grant the backup identity storage.objects.setRetention (e.g. a custom role with it besides roles/storage.objectUser); or make the repository without --object-lock";

/// Whether an answer to an upload that carried a retention is about that retention: a 400
/// or 403 whose message names it (GCS says so when the bucket has no Object Retention Lock,
/// or the identity lacks `storage.objects.setRetention`).
pub(crate) fn is_retention_refusal(status: http::StatusCode, body: &[u8]) -> bool {
    matches!(
        status,
        http::StatusCode::BAD_REQUEST | http::StatusCode::FORBIDDEN
    ) && String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("retention")
}

/// [`StoreError::RetentionRefused`] for an upload of `path` under `lock`.
pub(crate) fn refused(lock: &ObjectLockOptions, path: &str, cause: String) -> StoreError {
    StoreError::RetentionRefused {
        policy: format!(
            "object lock {} (GCS retention mode {}) for {}s",
            lock.mode.as_str(),
            gcs_mode(lock.mode),
            lock.retain.as_secs()
        ),
        path: path.to_owned(),
        cause,
        fix: REFUSED_FIX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn every_write_asks_for_the_whole_retention_in_the_gcs_mode() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_570_437_250);
        let day = Duration::from_secs(86_400);
        assert_eq!(
            retention_json(
                &ObjectLockOptions::new(ObjectLockMode::Governance, day),
                now
            ),
            serde_json::json!({"mode": "Unlocked", "retainUntilTime": "2026-12-07T15:20:38Z"})
        );
        assert_eq!(
            retention_json(
                &ObjectLockOptions::new(ObjectLockMode::Compliance, Duration::from_secs(5)),
                now
            ),
            serde_json::json!({"mode": "Locked", "retainUntilTime": "2026-12-06T15:20:43Z"})
        );
    }

    #[test]
    fn retention_reads_back_from_the_object_resource() {
        let body = br#"{"name":"data/ab","timeCreated":"2026-12-06T21:25:04.136904Z",
            "retention":{"mode":"Unlocked","retainUntilTime":"2026-12-07T21:25:05Z"}}"#;
        let r = parse_retention(body).unwrap();
        assert_eq!(r.mode, Some(ObjectLockMode::Governance));
        assert_eq!(r.retain_until, Some(at("2026-12-07T21:25:05Z")));
        assert_eq!(r.last_modified, at("2026-12-06T21:25:04.136904Z"));

        let locked = br#"{"timeCreated":"2026-12-06T21:25:04Z","retention":{"mode":"Locked","retainUntilTime":"2030-01-01T00:00:00Z"}}"#;
        assert_eq!(
            parse_retention(locked).unwrap().mode,
            Some(ObjectLockMode::Compliance)
        );

        let none = br#"{"timeCreated":"2026-12-06T21:25:04Z"}"#;
        let r = parse_retention(none).unwrap();
        assert_eq!((r.mode, r.retain_until), (None, None));
    }

    #[test]
    fn a_bucket_policy_that_holds_an_object_longer_counts() {
        let body = br#"{"timeCreated":"2026-12-06T00:00:00Z",
            "retention":{"mode":"Unlocked","retainUntilTime":"2026-12-07T00:00:00Z"},
            "retentionExpirationTime":"2026-12-13T00:00:00Z"}"#;
        let r = parse_retention(body).unwrap();
        assert_eq!(r.retain_until, Some(at("2026-12-13T00:00:00Z")));
        assert_eq!(r.mode, Some(ObjectLockMode::Governance));
        let only_policy =
            br#"{"timeCreated":"2026-12-06T00:00:00Z","retentionExpirationTime":"2026-12-13T00:00:00Z"}"#;
        let r = parse_retention(only_policy).unwrap();
        assert_eq!(
            (r.mode, r.retain_until),
            (None, Some(at("2026-12-13T00:00:00Z")))
        );
    }

    #[test]
    fn unreadable_metadata_is_an_error_not_a_missing_retention() {
        assert!(parse_retention(b"{}").unwrap_err().contains("timeCreated"));
        assert!(
            parse_retention(
                br#"{"timeCreated":"2026-12-06T00:00:00Z","retention":{"mode":"Forever"}}"#
            )
            .unwrap_err()
            .contains("Forever")
        );
        assert!(parse_retention(b"<html>").is_err());
    }

    #[test]
    fn refusals_are_told_apart_from_other_answers() {
        let no_lock = br#"{"error":{"code":400,"message":"Object retention is not enabled for this bucket."}}"#;
        assert!(is_retention_refusal(http::StatusCode::BAD_REQUEST, no_lock));
        let denied = br#"{"error":{"code":403,"message":"ledger@p.iam.gserviceaccount.com does not have storage.objects.setRetention access"}}"#;
        assert!(is_retention_refusal(http::StatusCode::FORBIDDEN, denied));
        let exists = br#"{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold."}}"#;
        assert!(!is_retention_refusal(
            http::StatusCode::PRECONDITION_FAILED,
            exists
        ));
        let other =
            br#"{"error":{"code":403,"message":"does not have storage.objects.create access"}}"#;
        assert!(!is_retention_refusal(http::StatusCode::FORBIDDEN, other));
        let err = refused(
            &ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(60)),
            "data/ab",
            "HTTP 400".into(),
        )
        .to_string();
        assert!(
            err.contains("GOVERNANCE (GCS retention mode Unlocked)"),
            "{err}"
        );
        assert!(err.contains("--enable-per-object-retention"), "{err}");
        assert!(err.contains("data/ab"), "{err}");
    }
}
