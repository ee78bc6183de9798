//! The one walk over an error's chain of causes, for every thinledger crate and binary.
//!
//! Not a topology concept, but it has to live in a library: the CockroachDB driver (a library)
//! flattens pgwire client errors with it before scrubbing their secrets, and the CLIs print
//! `error: …` / `caused by: …` and one-line findings with it. This crate is the one library
//! both depend on in every build (a `ledger-size`-only CLI pulls in no backup crate), so the
//! walk sits here rather than in a crate of its own for twenty lines.

use std::error::Error;

/// The message of `err` and of each of its causes, outermost first, leaving out a cause whose
/// text an earlier one already contains (many errors quote their source in their own message).
pub fn error_causes(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        next = cause.source();
        let text = cause.to_string();
        if !texts.iter().any(|kept| kept.contains(&text)) {
            texts.push(text);
        }
    }
    texts
}

/// [`error_causes`] on one line, joined by `: ` (for messages and reports that hold an error as
/// one string).
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    error_causes(err).join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct E {
        text: &'static str,
        #[source]
        source: Option<Box<E>>,
    }

    fn e(text: &'static str, source: Option<E>) -> E {
        E {
            text,
            source: source.map(Box::new),
        }
    }

    #[test]
    fn every_cause_once_outermost_first() {
        let err = e(
            "connecting failed",
            Some(e("tls: bad cert", Some(e("bad cert", None)))),
        );
        assert_eq!(error_causes(&err), ["connecting failed", "tls: bad cert"]);
        assert_eq!(error_chain(&err), "connecting failed: tls: bad cert");
        assert_eq!(error_chain(&e("alone", None)), "alone");
    }
}
