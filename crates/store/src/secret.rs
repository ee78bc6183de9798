//! A string that must never be printed (keys, passwords, passphrases, service-account JSON),
//! and the one token every crate prints in its place.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What every crate shows in place of a secret: in `Debug` and `Display`, in URIs
/// (`AWS_SECRET_ACCESS_KEY=redacted`, `postgresql://root:redacted@…`), SQL literals, plans,
/// dry runs, logs and error messages. A word rather than `***`: it explains itself in a log
/// line and needs no escaping in a URI or an SQL literal.
pub const REDACTED: &str = "redacted";

/// A secret value. `Debug` prints `Secret(redacted)` and `Display` prints [`REDACTED`]; only
/// [`Secret::expose`] gives the value, so a secret cannot reach a log line or an error message
/// by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for handing to the client that needs it — never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// RFC 3986's unreserved characters stay; everything else is percent-encoded (how a secret
/// travels inside a URI).
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Replaces every occurrence of each secret in `text`, and of its percent-encoded form (how a
/// secret travels in a URI), with [`REDACTED`].
///
/// For messages that come from other libraries or servers (a client builder, an HTTP or SQL
/// error), which we do not control: whatever they say, a secret we handed them does not come
/// back out. Values shorter than 4 characters are left alone: they would blank out ordinary
/// words, and real keys, passwords and passphrases are longer.
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.0.len() < 4 {
            continue;
        }
        out = out.replace(&secret.0, REDACTED);
        let encoded = utf8_percent_encode(&secret.0, URI_COMPONENT).to_string();
        if encoded != secret.0 {
            out = out.replace(&encoded, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(s.to_string(), "redacted");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let s = Secret::new("abcd1234");
        assert_eq!(
            scrub("key abcd1234 and abcd1234!", [&s]),
            "key redacted and redacted!"
        );
    }

    #[test]
    fn scrub_removes_the_uri_encoded_form_and_keeps_short_values() {
        let s = Secret::new("a/b+c d");
        assert_eq!(
            scrub("s3://b?K=a%2Fb%2Bc%20d and a/b+c d", [&s]),
            "s3://b?K=redacted and redacted"
        );
        assert_eq!(scrub("abc abc", [&Secret::new("abc")]), "abc abc");
    }
}
