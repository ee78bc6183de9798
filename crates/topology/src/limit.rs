//! A bound on a quantity ([`Limit`]) and the error of a value above it ([`BoundError`]); the
//! bounds themselves are the constants of [`bounds`](crate::bounds).

use std::fmt;

/// A quantity above its bound: names the field, the value, the bound, why and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field} = {value}: more than {max}, the most thinledger accepts ({reason}). Fix: use at most \
     {max}; {hint}"
)]
#[non_exhaustive]
pub struct BoundError {
    /// The offending input (a flag or a tenant file field).
    pub field: String,
    /// The rejected value.
    pub value: String,
    /// The bound.
    pub max: String,
    /// Why the bound is where it is.
    pub reason: &'static str,
    /// What to do instead.
    pub hint: &'static str,
}

/// The largest value a kind of quantity may take, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<T> {
    /// The largest accepted value (inclusive).
    pub max: T,
    /// Why no real input exceeds it.
    pub reason: &'static str,
    /// What to do instead of a larger value.
    pub hint: &'static str,
}

impl<T: PartialOrd + fmt::Display> Limit<T> {
    /// Refuses `value` above the bound; `field` names the input in the error.
    pub fn check(&self, field: &str, value: T) -> Result<(), BoundError> {
        if value <= self.max {
            return Ok(());
        }
        Err(BoundError {
            field: field.to_owned(),
            value: value.to_string(),
            max: self.max.to_string(),
            reason: self.reason,
            hint: self.hint,
        })
    }
}
