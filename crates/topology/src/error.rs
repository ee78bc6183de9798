//! Errors of the provider model.

use std::fmt;

/// `Ok(())` when `ok`, else the error `err` builds: each check reads as one condition and one
/// message.
pub(crate) fn ensure<E>(ok: bool, err: impl FnOnce() -> E) -> Result<(), E> {
    if ok { Ok(()) } else { Err(err()) }
}

/// A string that is not one of a closed set of values (a provider, a tier, a storage class…).
///
/// The message names what was being parsed, the rejected value and every valid value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// What was being parsed, e.g. `"provider"`.
    pub what: &'static str,
    /// The rejected input.
    pub value: String,
    /// Every accepted value.
    pub valid: Vec<String>,
    /// Extra context, e.g. `"for provider aws"`.
    pub context: Option<String>,
}

impl ParseError {
    /// `value` is not the name of any of `all` (a closed set, named by `name`).
    pub(crate) fn unknown<T: Copy>(
        what: &'static str,
        value: &str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Self {
        ParseError {
            what,
            value: value.to_owned(),
            valid: all.iter().map(|&v| name(v).to_owned()).collect(),
            context: None,
        }
    }
}

/// `Display` of closed sets of values: each prints its `as_str()` name.
macro_rules! display_as_str {
    ($($ty:ty),* $(,)?) => {
        $(impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        })*
    };
}
pub(crate) use display_as_str;

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.value)?;
        if let Some(context) = &self.context {
            write!(f, " {context}")?;
        }
        write!(f, "; valid values: {}", self.valid.join(", "))
    }
}

impl std::error::Error for ParseError {}

/// A value that parsed but breaks a rule of the model (quorum, locality, identity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A closed-set value was not recognised.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A node or broker count that cannot keep a Raft quorum safely.
    #[error("{field} = {value}: {rule}. Fix: {fix}")]
    Quorum {
        /// The field that holds the count.
        field: String,
        /// The rejected count.
        value: u32,
        /// The rule that was broken.
        rule: String,
        /// What to change.
        fix: String,
    },
    /// A region or zone that is malformed or inconsistent with the provider.
    #[error("{field} = {value:?}: {rule}. Fix: {fix}")]
    Locality {
        /// The offending field.
        field: String,
        /// The rejected value.
        value: String,
        /// The rule that was broken.
        rule: String,
        /// What to change.
        fix: String,
    },
    /// An identity binding that is malformed or belongs to another provider.
    #[error("{field} = {value:?}: {rule}. Fix: {fix}")]
    Identity {
        /// The offending field.
        field: String,
        /// The rejected value (never a secret: bindings hold references, not keys).
        value: String,
        /// The rule that was broken.
        rule: String,
        /// What to change.
        fix: String,
    },
}
