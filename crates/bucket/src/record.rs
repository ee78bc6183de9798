//! The repository's record of its object-lock policy ([`OBJECT_LOCK_POLICY`]), read through
//! the repository's own store (`object_store`, the same client, credentials and encryption as
//! the repository's) on every provider, and parsed by the store's own parser
//! ([`ObjectLockOptions::from_record`]): one definition of the file.
//!
//! The record decides what `bucket check` expects of the bucket, so a record that cannot be
//! trusted is refused, never read as "no policy": one over [`MAX_RECORD_BYTES`] (the read is
//! bounded, nothing larger is fetched), malformed JSON, wrong types, an unknown mode, a zero or
//! absurd retention (over [`MAX_RETAIN_SECONDS`]), or a folder in the record's place.

use thinledger_store::object_store::path::Path;
use thinledger_store::object_store::{self, GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use thinledger_store::{OBJECT_LOCK_POLICY, ObjectLockOptions, StoreError};

use crate::error::BucketError;

/// The largest record read (the store's limit, which opening a repository applies too).
pub const MAX_RECORD_BYTES: u64 = thinledger_store::MAX_POLICY_RECORD_BYTES;

/// The longest retention a record may name (the store's limit: 100 years).
pub const MAX_RETAIN_SECONDS: u64 = thinledger_store::MAX_POLICY_RETAIN_SECONDS;

const FIX: &str = "restore the record from the repository's first object version (or write it again with the repository's policy), or give the policy with --object-lock MODE --retain DURATION";

/// The policy the repository in `store` (rooted at the repository's prefix) recorded, if any.
/// `bucket` and `prefix` name it in errors. Access denied is not an error: the bucket is then
/// checked without the record (a bucket administrator's identity may not read objects), as
/// the caller's options say, and a warning says so.
pub(crate) async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
) -> Result<Option<ObjectLockOptions>, BucketError> {
    let object = match prefix.trim_matches('/') {
        "" => OBJECT_LOCK_POLICY.to_owned(),
        p => format!("{p}/{OBJECT_LOCK_POLICY}"),
    };
    // The store's parser quotes what it refuses (a forged mode may be 60 KB): cut short.
    let refused = |value: String, rule: String, fix: &str| BucketError::PolicyRecord {
        bucket: bucket.to_owned(),
        object: object.clone(),
        value: cut(&value, 200),
        rule: cut(&rule, 300),
        fix: fix.to_owned(),
    };
    let failed = |e: object_store::Error| BucketError::Request {
        operation: "reading the repository's object-lock record",
        bucket: bucket.to_owned(),
        message: format!("{object}: {e}"),
        fix: "check the network, the credentials and the repository's encryption options".into(),
    };
    let path = Path::from(OBJECT_LOCK_POLICY);
    let meta = match store.head(&path).await {
        Ok(meta) => meta,
        Err(object_store::Error::NotFound { .. }) => {
            // No record, unless something else sits in its place: objects under
            // `thinledger-object-lock.json/` are no record, and not "no policy" either.
            let listed = store
                .list_with_delimiter(Some(&path))
                .await
                .map_err(failed)?;
            if let Some(first) = listed
                .objects
                .iter()
                .map(|o| o.location.to_string())
                .chain(listed.common_prefixes.iter().map(|p| format!("{p}/")))
                .next()
            {
                return Err(refused(
                    first,
                    "the record's name is a folder, not the record".into(),
                    FIX,
                ));
            }
            return Ok(None);
        }
        Err(e) if denied(&e) => return Ok(warn_denied(bucket, &object)),
        Err(e) => return Err(failed(e)),
    };
    if meta.size > MAX_RECORD_BYTES {
        return Err(refused(
            format!("{} bytes", meta.size),
            format!(
                "larger than the {MAX_RECORD_BYTES}-byte limit of a record (a record is under 100 bytes); not read"
            ),
            FIX,
        ));
    }
    // Bounded even if the object changed since the HEAD: the range stops the read, and the
    // ETag makes a changed object an error rather than another record.
    let options = GetOptions {
        range: (meta.size > 0).then_some(GetRange::Bounded(0..meta.size)),
        if_match: meta.e_tag.clone(),
        ..Default::default()
    };
    let body = match store.get_opts(&path, options).await {
        Ok(result) => result.bytes().await.map_err(failed)?,
        Err(e) if denied(&e) => return Ok(warn_denied(bucket, &object)),
        Err(e) => return Err(failed(e)),
    };
    if body.len() as u64 > MAX_RECORD_BYTES {
        return Err(refused(
            format!("{} bytes", body.len()),
            format!("larger than the {MAX_RECORD_BYTES}-byte limit of a record"),
            FIX,
        ));
    }
    let policy = ObjectLockOptions::from_record(&body).map_err(|e| match e {
        StoreError::Invalid(invalid) => refused(invalid.value, invalid.rule, &invalid.fix),
        other => refused(
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            other.to_string(),
            FIX,
        ),
    })?;
    Ok(Some(policy))
}

/// `text`, at most `max` bytes of it (on a character boundary), marked when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

fn denied(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    )
}

fn warn_denied(bucket: &str, object: &str) -> Option<ObjectLockOptions> {
    tracing::warn!(
        bucket,
        object,
        "the repository's object-lock record cannot be read (access denied): the bucket's default retention is not compared with it; grant read on it (S3 s3:GetObject, Azure Storage Blob Data Reader, GCS storage.objects.get), or give the policy (--object-lock MODE --retain DURATION)"
    );
    None
}
