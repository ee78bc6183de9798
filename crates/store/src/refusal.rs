//! [`Refusals`]: turns a store's refusal of an encrypted request into
//! [`StoreError::EncryptionRefused`], so the user reads which encryption option was refused,
//! the rule and what to check, not a bare `403 Forbidden`.
//!
//! Only answers that can be about the request itself are rewritten (401, 403, and 400-like
//! client errors); a missing object, an existing one or a failed precondition keep their kind,
//! because the engine acts on them. The `object_store` error kind stays the same: only its
//! source becomes the typed error.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ObjectStore, PutOptions, PutPayload, PutResult, Result,
};

use super::encryption::Encryption;
use super::error::StoreError;
use super::forward::Overrides;
use super::secret::scrub;

/// A cloud store whose writes carry `encryption`.
#[derive(Debug)]
pub(crate) struct Refusals {
    inner: Arc<dyn ObjectStore>,
    encryption: Encryption,
}

impl Refusals {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, encryption: Encryption) -> Self {
        Refusals { inner, encryption }
    }

    fn explain(
        &self,
        op: &'static str,
        at: &Path,
        err: object_store::Error,
    ) -> object_store::Error {
        let typed = |cause: &dyn fmt::Display| -> Box<dyn std::error::Error + Send + Sync> {
            let rule = match op {
                "read" => {
                    "an object written with a customer-provided key is read with the same key"
                }
                _ => {
                    "every object is written with these encryption options; the store refused an upload that carried them"
                }
            };
            let fix = match op {
                "read" => {
                    "give the key the repository was written with (a repository cannot be read without it)"
                }
                _ => self.encryption.refusal_fix(),
            };
            Box::new(StoreError::EncryptionRefused {
                options: self.encryption.summary(),
                op,
                path: at.to_string(),
                cause: scrub(&cause.to_string(), self.encryption.secrets()),
                rule,
                fix,
            })
        };
        match err {
            // Already explained by the store (a refused retention, see `gcs`): keep it.
            object_store::Error::PermissionDenied { ref source, .. }
            | object_store::Error::Generic { ref source, .. }
                if source.downcast_ref::<StoreError>().is_some() =>
            {
                err
            }
            object_store::Error::PermissionDenied { path, source } => {
                let source = typed(&source);
                object_store::Error::PermissionDenied { path, source }
            }
            object_store::Error::Unauthenticated { path, source } => {
                let source = typed(&source);
                object_store::Error::Unauthenticated { path, source }
            }
            object_store::Error::Generic { store, source } if is_client_refusal(&*source) => {
                let source = typed(&source);
                object_store::Error::Generic { store, source }
            }
            other => other,
        }
    }
}

/// Whether a generic error reads like the server refusing the request as given (HTTP 400 with
/// an encryption or KMS code), rather than a transport failure.
fn is_client_refusal(source: &(dyn std::error::Error + Send + Sync)) -> bool {
    let text = source.to_string();
    let lower = text.to_ascii_lowercase();
    [
        "400",
        "bad request",
        "kms",
        "encryption",
        "invalidargument",
        "invalidrequest",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.inner, self.encryption.summary())
    }
}

#[async_trait]
impl Overrides for Refusals {
    fn inner(&self) -> &dyn ObjectStore {
        self.inner.as_ref()
    }

    async fn put_opts(&self, to: &Path, body: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner
            .put_opts(to, body, opts)
            .await
            .map_err(|e| self.explain("write", to, e))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let result = self.inner.get_opts(location, options).await;
        if self.encryption.reads_need_key() {
            result.map_err(|e| self.explain("read", location, e))
        } else {
            result
        }
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner
            .copy_opts(from, to, options)
            .await
            .map_err(|e| self.explain("write", to, e))
    }
}
