//! Asking for a password on the terminal, as restic does when no password source is given:
//! without echo, and twice for a new one.
//!
//! This lives in the CLI, not in the library's `PasswordSource`: a source there is a value
//! that schedule files, daemons and PostgreSQL's archive worker read without anyone at a
//! terminal, where a prompt would hang or fail; whether to ask at all (standard input is a
//! terminal, no flag or variable given) is a command-line decision.

use std::io;

/// Why no password was read from the terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// Nothing was typed.
    #[error("the password is empty; type a password, or give --password-file FILE")]
    Empty,
    /// The two entries of a new password differ.
    #[error("the passwords do not match; nothing was created, try again")]
    Mismatch,
    /// The terminal could not be read.
    #[error("cannot read the password from the terminal ({0})")]
    Terminal(#[from] io::Error),
}

/// Asks for `what` password on the terminal without echo (`/dev/tty`, so standard output
/// stays clean); with `confirm` (a new password) asks twice and refuses two different entries.
pub fn prompt_password(what: &str, confirm: bool) -> Result<String, PromptError> {
    prompt_password_with(what, confirm, |p: &str| rpassword::prompt_password(p))
}

/// [`prompt_password`] with the terminal read by `read(prompt)` (one line, without its newline).
///
/// ```
/// use thinledger_cli::{PromptError, prompt_password_with};
///
/// let mut typed = ["s3cret", "s3cret"].into_iter();
/// let pw = prompt_password_with("repository", true, |_| Ok(typed.next().unwrap().into()))?;
/// assert_eq!(pw, "s3cret");
/// let mut typed = ["s3cret", "secret"].into_iter();
/// let err = prompt_password_with("repository", true, |_| Ok(typed.next().unwrap().into()));
/// assert!(matches!(err, Err(PromptError::Mismatch)));
/// # Ok::<(), PromptError>(())
/// ```
pub fn prompt_password_with(
    what: &str,
    confirm: bool,
    mut read: impl FnMut(&str) -> io::Result<String>,
) -> Result<String, PromptError> {
    let first = if confirm {
        read(&format!("enter a new {what} password: "))?
    } else {
        read(&format!("enter {what} password: "))?
    };
    if first.is_empty() {
        return Err(PromptError::Empty);
    }
    if confirm && read(&format!("enter the {what} password again: "))? != first {
        return Err(PromptError::Mismatch);
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn typed(entries: &[&str]) -> (Vec<String>, Result<String, PromptError>, bool) {
        let mut prompts = Vec::new();
        let mut it = entries.iter();
        let confirm = entries.len() > 1;
        let res = prompt_password_with("repository", confirm, |p| {
            prompts.push(p.to_owned());
            it.next()
                .map(|s| s.to_string())
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
        });
        (prompts, res, confirm)
    }

    #[rstest]
    #[case::once(&["pw"], Some("pw"))]
    #[case::twice_the_same(&["pw", "pw"], Some("pw"))]
    #[case::spaces_kept(&[" pw ", " pw "], Some(" pw "))]
    #[case::twice_different(&["pw", "pw "], None)]
    #[case::empty(&[""], None)]
    #[case::empty_twice(&["", ""], None)]
    fn typed_entries(#[case] entries: &[&str], #[case] expected: Option<&str>) {
        let (prompts, res, confirm) = typed(entries);
        assert_eq!(res.ok().as_deref(), expected);
        // An empty first entry is refused before asking again.
        let asked = if confirm && !entries[0].is_empty() {
            2
        } else {
            1
        };
        assert_eq!(prompts.len(), asked, "{prompts:?}");
    }

    #[test]
    fn a_mismatch_and_an_empty_entry_say_so() {
        assert!(matches!(typed(&["a", "b"]).1, Err(PromptError::Mismatch)));
        assert!(matches!(typed(&[""]).1, Err(PromptError::Empty)));
        let (prompts, _, _) = typed(&["a", "a"]);
        assert_eq!(
            prompts,
            [
                "enter a new repository password: ",
                "enter the repository password again: "
            ]
        );
    }

    #[test]
    fn a_terminal_that_cannot_be_read_is_an_error() {
        let err = prompt_password_with("repository", false, |_| {
            Err(io::Error::from(io::ErrorKind::UnexpectedEof))
        })
        .unwrap_err();
        assert!(matches!(err, PromptError::Terminal(_)), "{err}");
    }
}
