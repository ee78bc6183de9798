//! Errors from building a store, and [`InvalidInput`], the "a value breaks a rule" error every
//! thinledger crate reports.

/// Why a store could not be built. Every message names the input, the rule and the fix, and
/// never contains a secret: values of secret fields are printed as `redacted`, and messages that come
/// from the underlying client are scrubbed of every secret the builder holds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A value in the URL or the options breaks a rule (its field is e.g. `url.scheme` or
    /// `option.endpoint`).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// A setting the chosen store needs is missing.
    #[error("{field} is required for {store} stores; fix: {fix}")]
    Missing {
        /// The missing setting, e.g. `option.azure_account`.
        field: String,
        /// The store kind (`s3`, `azure`, `gcs`, `local`).
        store: &'static str,
        /// What to do.
        fix: String,
    },
    /// The URL needs a store this build of thinledger leaves out.
    #[error(
        "url.scheme: {scheme}:// stores are not in this build; fix: build thinledger-backup with the cargo feature `{feature}`"
    )]
    FeatureDisabled {
        /// The URL scheme.
        scheme: &'static str,
        /// The cargo feature that adds it.
        feature: &'static str,
    },
    /// The store refused a request that carried the configured server-side encryption (an
    /// unknown or unusable key, a bucket policy that wants other encryption, a read with the
    /// wrong customer key). Carried as the source of the `object_store` error the engine sees,
    /// so a failed `init`, lock or upload names the encryption options and what to check.
    #[error(
        "{options}: the store refused to {op} `{path}` with this encryption: {cause}; rule: {rule}; fix: {fix}"
    )]
    EncryptionRefused {
        /// The encryption options as `name=value` pairs (customer keys `redacted`).
        options: String,
        /// `write` or `read`.
        op: &'static str,
        /// The object.
        path: String,
        /// The store's answer, scrubbed of keys.
        cause: String,
        /// The rule the request followed.
        rule: &'static str,
        /// What to check.
        fix: &'static str,
    },
    /// The store refused a write that carried the repository's object-lock retention (GCS: the
    /// bucket has no Object Retention Lock, or the identity may not set retention). Carried
    /// as the source of the `object_store` error the engine sees, like
    /// [`StoreError::EncryptionRefused`].
    #[error(
        "{policy}: the store refused to write `{path}` with retention: {cause}; rule: every object but lock files is written with the repository's retention; fix: {fix}"
    )]
    RetentionRefused {
        /// The policy, e.g. `object lock GOVERNANCE (GCS retention mode Unlocked) for 86400s`.
        policy: String,
        /// The object.
        path: String,
        /// The store's answer.
        cause: String,
        /// What to do.
        fix: &'static str,
    },
    /// An object's Object Lock retention could not be read (a HEAD request the store refused or
    /// answered without the expected headers).
    #[error("reading the object-lock retention of `{path}` failed: {message}; fix: {fix}")]
    RetentionUnreadable {
        /// The object, relative to the store's prefix.
        path: String,
        /// What went wrong (scrubbed of secrets).
        message: String,
        /// What to check.
        fix: &'static str,
    },
    /// The repository's object-lock policy record could not be read (it exists or may exist,
    /// but the store did not answer with it).
    #[error(
        "reading the repository's object-lock policy ({object}) failed: {message}; fix: check the credentials may read the repository and the store is reachable"
    )]
    PolicyUnreadable {
        /// The record's name ([`OBJECT_LOCK_POLICY`](crate::OBJECT_LOCK_POLICY)).
        object: &'static str,
        /// The store's answer.
        message: String,
    },
    /// The object-store client refused the configuration.
    #[error("configuring the {store} client failed: {message}")]
    Client {
        /// The store kind.
        store: &'static str,
        /// The client's message, with every secret replaced by `redacted`.
        message: String,
    },
}

impl StoreError {
    pub(crate) fn missing(
        field: impl Into<String>,
        store: &'static str,
        fix: impl Into<String>,
    ) -> Self {
        StoreError::Missing {
            field: field.into(),
            store,
            fix: fix.into(),
        }
    }
}

/// A value that breaks a rule, naming the field, the value, the rule and the fix: the error
/// every thinledger crate reports for bad input (each crate's error type wraps it in its
/// `Invalid` case and builds it with [`Invalid::invalid`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?} is invalid: {rule}; fix: {fix}")]
#[non_exhaustive]
pub struct InvalidInput {
    /// Where the value came from, e.g. `url.scheme` or `options.path`.
    pub field: String,
    /// The offending value (`redacted` for secret fields).
    pub value: String,
    /// The rule it breaks.
    pub rule: String,
    /// What to do.
    pub fix: String,
}

impl InvalidInput {
    /// The error for `value` of `field`, which breaks `rule`; `fix` says what to do.
    pub fn new(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        InvalidInput {
            field: field.into(),
            value: value.into(),
            rule: rule.into(),
            fix: fix.into(),
        }
    }
}

/// `E::invalid(field, value, rule, fix)` for every error type with an [`InvalidInput`] case
/// (`From<InvalidInput>`), so that no crate writes the constructor again.
pub trait Invalid: From<InvalidInput> {
    /// [`InvalidInput::new`] as this error type.
    fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        InvalidInput::new(field, value, rule, fix).into()
    }
}

impl<E: From<InvalidInput>> Invalid for E {}
