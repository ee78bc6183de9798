//! [`ObjectLock`]: what a store knows of an immutable repository — the recorded policy its
//! writes carry, and each object's retention as the store reports it — so that forget, prune
//! and check can plan around retention instead of finding it out from a refused delete.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use object_store::path::Path;

use super::error::StoreError;
use super::options::{ObjectLockMode, ObjectLockOptions};

/// One object's retention as the store reports it (S3: HeadObject's
/// `x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date` and `Last-Modified`;
/// Azure: Get Blob Properties' `x-ms-immutability-policy-mode`,
/// `x-ms-immutability-policy-until-date` and `Last-Modified`; GCS: the object resource's
/// `retention` (mode `Unlocked` is governance, `Locked` compliance), a bucket retention
/// policy's `retentionExpirationTime` when later, and `timeCreated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectRetention {
    /// The retention mode, if the object has one.
    pub mode: Option<ObjectLockMode>,
    /// Until when the object cannot be deleted, if it is retained at all.
    pub retain_until: Option<DateTime<Utc>>,
    /// When the object was written.
    pub last_modified: DateTime<Utc>,
}

impl ObjectRetention {
    /// Whether the object is still retained at `now`.
    pub fn retained_at(&self, now: DateTime<Utc>) -> bool {
        self.retain_until.is_some_and(|until| until > now)
    }

    /// Whether the retention falls short of `policy`: no retention at all, or a retain-until
    /// date earlier than the write time plus the policy's retention (less `slack`, for clocks
    /// that differ between the writer and the store). The earliest date the policy asks for.
    pub fn shortfall(
        &self,
        policy: &ObjectLockOptions,
        slack: chrono::Duration,
    ) -> Option<DateTime<Utc>> {
        let retain = chrono::Duration::from_std(policy.retain).unwrap_or(chrono::Duration::MAX);
        let wanted = self.last_modified.checked_add_signed(retain)?;
        match self.retain_until {
            Some(until) if until + slack >= wanted => None,
            _ => Some(wanted),
        }
    }
}

/// Lock files (`…/locks/ID`) are written without retention: they are removed when an
/// operation ends.
#[cfg_attr(
    not(any(feature = "s3", feature = "azure", feature = "gcs")),
    allow(dead_code)
)]
pub(crate) fn is_lock_file(location: &Path) -> bool {
    location.as_ref().rsplit('/').nth(1) == Some("locks")
}

/// What a store answered to a retention read-back (S3's HEAD, Azure's Get Blob Properties,
/// GCS's GET of the object's metadata), `request` naming it: the object's retention (a 2xx
/// answer, read by `parse`), no such object (404), or why the retention cannot be known (any
/// other status, or an answer `parse` refuses). An answer that cannot be read is an error,
/// never "no retention": check would report a retained object as short of its policy, and
/// forget and prune would plan to delete it.
#[cfg(any(feature = "s3", feature = "azure", feature = "gcs"))]
pub(crate) fn read_back<A: ?Sized>(
    request: &str,
    status: http::StatusCode,
    answer: &A,
    parse: impl FnOnce(&A) -> Result<ObjectRetention, String>,
) -> Result<Option<ObjectRetention>, String> {
    if status == http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(format!("{request} answered {status}"));
    }
    parse(answer).map(Some)
}

/// The `Last-Modified` header of an answer (RFC 1123, as S3 and Azure send it): when the
/// object was written, which a retention is measured from, so an answer without it is
/// refused.
#[cfg(any(feature = "s3", feature = "azure"))]
pub(crate) fn last_modified(headers: &http::HeaderMap) -> Result<DateTime<Utc>, String> {
    let text = headers
        .get(http::header::LAST_MODIFIED)
        .map(|v| v.to_str().map_err(|e| format!("Last-Modified: {e}")))
        .transpose()?
        .ok_or("the answer has no Last-Modified header")?;
    DateTime::parse_from_rfc2822(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("Last-Modified {text:?}: {e}"))
}

/// Reads objects' retention; implemented by the S3 store (see `object_lock`), the Azure
/// store (see `azure_lock`) and the GCS store (see `gcs`).
#[async_trait]
pub(crate) trait RetentionSource: fmt::Debug + Send + Sync + 'static {
    /// The retention of `key` (the full key in the bucket), `None` if there is no such object.
    async fn retention(&self, key: &Path) -> Result<Option<ObjectRetention>, StoreError>;
}

/// An immutable repository's store: the policy every write carries, and a way to read each
/// object's retention. [`Store::object_lock`](crate::Store::object_lock) has one when the store
/// writes with retention (S3, Azure or GCS with [`StoreBuilder::with_object_lock`](crate::StoreBuilder::with_object_lock),
/// or a repository whose recorded policy
/// [`StoreBuilder::build_with_recorded_policy`](crate::StoreBuilder::build_with_recorded_policy) read).
#[derive(Debug, Clone)]
pub struct ObjectLock {
    policy: ObjectLockOptions,
    source: Arc<dyn RetentionSource>,
    /// The store's prefix, which the engine's paths are relative to.
    prefix: String,
}

impl ObjectLock {
    pub(crate) fn new(
        policy: ObjectLockOptions,
        source: Arc<dyn RetentionSource>,
        prefix: &str,
    ) -> Self {
        ObjectLock {
            policy,
            source,
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    /// The retention every object but lock files is written with.
    pub fn policy(&self) -> ObjectLockOptions {
        self.policy
    }

    /// The retention of the object at `location` (relative to the store's prefix, as the
    /// engine names objects); `None` if there is no such object. One request (S3: a HEAD;
    /// GCS: a GET of the object's metadata).
    pub async fn retention(&self, location: &Path) -> Result<Option<ObjectRetention>, StoreError> {
        let key = if self.prefix.is_empty() {
            location.clone()
        } else {
            Path::from(format!("{}/{location}", self.prefix))
        };
        self.source.retention(&key).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn shortfalls_are_measured_from_the_write() {
        let policy =
            ObjectLockOptions::new(ObjectLockMode::Governance, Duration::from_secs(86_400));
        let slack = chrono::Duration::seconds(60);
        let written = at("2026-12-06T12:00:00Z");
        let with = |until: Option<&str>| ObjectRetention {
            mode: until.map(|_| ObjectLockMode::Governance),
            retain_until: until.map(at),
            last_modified: written,
        };
        assert_eq!(
            with(Some("2026-12-07T12:15:00Z")).shortfall(&policy, slack),
            None
        );
        assert_eq!(
            with(Some("2026-12-07T11:59:30Z")).shortfall(&policy, slack),
            None
        );
        assert_eq!(
            with(Some("2026-12-07T11:00:00Z")).shortfall(&policy, slack),
            Some(at("2026-12-07T12:00:00Z"))
        );
        assert_eq!(
            with(None).shortfall(&policy, slack),
            Some(at("2026-12-07T12:00:00Z"))
        );
        assert!(with(Some("2026-12-07T12:15:00Z")).retained_at(at("2026-12-07T12:00:00Z")));
        assert!(!with(Some("2026-12-07T12:15:00Z")).retained_at(at("2026-12-07T12:15:00Z")));
        assert!(!with(None).retained_at(written));
    }

    #[test]
    fn only_lock_files_go_unretained() {
        assert!(is_lock_file(&Path::from("tenant/locks/abcd")));
        assert!(is_lock_file(&Path::from("locks/abcd")));
        assert!(!is_lock_file(&Path::from("tenant/data/ab/abcd")));
        assert!(!is_lock_file(&Path::from("locks")));
        assert!(!is_lock_file(&Path::from("tenant/keys/abcd")));
    }
}

/// [`read_back`] with each store's reader, answer by answer: what is read as a retention, what
/// as no object, and what is refused (never read as "no retention").
#[cfg(test)]
#[cfg(all(feature = "s3", feature = "azure", feature = "gcs"))]
mod read_back_tests {
    use http::{HeaderMap, StatusCode};
    use rstest::rstest;

    use super::*;
    use crate::{azure_lock, gcs_retention, object_lock};

    #[derive(Debug, Clone, Copy)]
    enum Store {
        S3,
        Azure,
        Gcs,
    }

    /// What an answer carries.
    #[derive(Debug, Clone, Copy)]
    enum Answer {
        /// Governance retention until `UNTIL`, written at `WRITTEN`.
        Retained,
        /// Written at `WRITTEN`, without retention.
        Plain,
        /// A retain-until date that is no date.
        MalformedDate,
        /// A write time that is no date.
        MalformedWriteTime,
        /// No write time.
        NoWriteTime,
        /// A mode the store does not have.
        UnknownMode,
        /// Nothing at all (as error answers carry).
        Empty,
    }

    const WRITTEN: &str = "2026-12-06T12:00:00Z";
    const UNTIL: &str = "2026-12-07T12:00:00Z";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    type Headers = fn(&HeaderMap) -> Result<ObjectRetention, String>;

    /// `read_back` of an answer of `status` carrying `answer` in `store`'s terms.
    fn ask(store: Store, status: u16, answer: Answer) -> Result<Option<ObjectRetention>, String> {
        let status = StatusCode::from_u16(status).unwrap();
        let (written, until, mode, until_header, mode_header, parse): (_, _, _, _, _, Headers) =
            match store {
                Store::Gcs => return ask_gcs(status, answer),
                Store::S3 => (
                    "Sun, 06 Dec 2026 12:00:00 GMT",
                    UNTIL,
                    "GOVERNANCE",
                    object_lock::UNTIL_HEADER,
                    object_lock::MODE_HEADER,
                    object_lock::parse_retention,
                ),
                Store::Azure => (
                    "Sun, 06 Dec 2026 12:00:00 GMT",
                    "Mon, 07 Dec 2026 12:00:00 GMT",
                    "unlocked",
                    azure_lock::UNTIL_HEADER,
                    azure_lock::MODE_HEADER,
                    azure_lock::parse_retention,
                ),
            };
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: &str| {
            headers.insert(name, value.parse().unwrap());
        };
        match answer {
            Answer::Retained => {
                set("last-modified", written);
                set(until_header, until);
                set(mode_header, mode);
            }
            Answer::Plain => set("last-modified", written),
            Answer::MalformedDate => {
                set("last-modified", written);
                set(until_header, "tomorrow");
                set(mode_header, mode);
            }
            Answer::MalformedWriteTime => {
                set("last-modified", "tomorrow");
                set(until_header, until);
                set(mode_header, mode);
            }
            Answer::NoWriteTime => {
                set(until_header, until);
                set(mode_header, mode);
            }
            Answer::UnknownMode => {
                set("last-modified", written);
                set(until_header, until);
                set(mode_header, "frozen");
            }
            Answer::Empty => {}
        }
        read_back("HEAD", status, &headers, parse)
    }

    fn ask_gcs(status: StatusCode, answer: Answer) -> Result<Option<ObjectRetention>, String> {
        let retention =
            |mode: &str, until: &str| serde_json::json!({ "mode": mode, "retainUntilTime": until });
        let body = match answer {
            Answer::Retained => serde_json::json!({
                "timeCreated": WRITTEN, "retention": retention("Unlocked", UNTIL)
            }),
            Answer::Plain => serde_json::json!({ "timeCreated": WRITTEN }),
            Answer::MalformedDate => serde_json::json!({
                "timeCreated": WRITTEN, "retention": retention("Unlocked", "tomorrow")
            }),
            Answer::MalformedWriteTime => serde_json::json!({
                "timeCreated": "tomorrow", "retention": retention("Unlocked", UNTIL)
            }),
            Answer::NoWriteTime => serde_json::json!({ "retention": retention("Unlocked", UNTIL) }),
            Answer::UnknownMode => serde_json::json!({
                "timeCreated": WRITTEN, "retention": retention("Frozen", UNTIL)
            }),
            Answer::Empty => serde_json::Value::Null,
        };
        let body = match body {
            serde_json::Value::Null => Vec::new(),
            body => body.to_string().into_bytes(),
        };
        read_back("GET", status, &body[..], gcs_retention::parse_retention)
    }

    #[rstest]
    fn a_retained_object_is_read_with_its_mode_and_dates(
        #[values(Store::S3, Store::Azure, Store::Gcs)] store: Store,
    ) {
        let retention = ask(store, 200, Answer::Retained)
            .unwrap()
            .expect("the object");
        assert_eq!(retention.mode, Some(ObjectLockMode::Governance));
        assert_eq!(retention.retain_until, Some(at(UNTIL)));
        assert_eq!(retention.last_modified, at(WRITTEN));
    }

    #[rstest]
    fn an_object_without_retention_is_read_as_none(
        #[values(Store::S3, Store::Azure, Store::Gcs)] store: Store,
    ) {
        let retention = ask(store, 200, Answer::Plain).unwrap().expect("the object");
        assert_eq!((retention.mode, retention.retain_until), (None, None));
        assert_eq!(retention.last_modified, at(WRITTEN));
    }

    #[rstest]
    fn not_found_is_no_object(
        #[values(Store::S3, Store::Azure, Store::Gcs)] store: Store,
        #[values(Answer::Empty, Answer::Retained)] answer: Answer,
    ) {
        assert_eq!(ask(store, 404, answer), Ok(None));
    }

    /// Any other status, and any answer that cannot be read, is refused with what was
    /// wrong: never read as an object without retention.
    #[rstest]
    #[case::forbidden(403, Answer::Empty, "403 Forbidden")]
    #[case::unauthorized(401, Answer::Empty, "401 Unauthorized")]
    #[case::bad_request(400, Answer::Empty, "400 Bad Request")]
    #[case::server_error(500, Answer::Empty, "500 Internal Server Error")]
    #[case::unavailable_with_headers(503, Answer::Retained, "503 Service Unavailable")]
    #[case::redirect(301, Answer::Plain, "301 Moved Permanently")]
    #[case::malformed_date(200, Answer::MalformedDate, "\"tomorrow\"")]
    #[case::malformed_write_time(200, Answer::MalformedWriteTime, "\"tomorrow\"")]
    #[case::unknown_mode(200, Answer::UnknownMode, "rozen\"")]
    #[case::no_write_time(200, Answer::NoWriteTime, "")]
    #[case::empty_success(200, Answer::Empty, "")]
    fn other_answers_are_refused(
        #[values(Store::S3, Store::Azure, Store::Gcs)] store: Store,
        #[case] status: u16,
        #[case] answer: Answer,
        #[case] names: &str,
    ) {
        let refused = ask(store, status, answer).unwrap_err();
        assert!(refused.contains(names), "{store:?}: {refused}");
    }
}
