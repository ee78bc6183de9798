//! SQL text: quoted identifiers, escaped literals, bind parameters, and the redacted text that
//! `--dry-run` prints.
//!
//! A statement is written once through a private `SqlWriter`, which produces two renderings in step:
//! the text sent to the server (with `$1`, `$2`, … where values go) plus the parameter values,
//! and a display text in which each placeholder is replaced by the escaped literal of the
//! parameter's redacted form. So the dry-run text is exactly the executed statement, secrets
//! excepted.

use std::fmt;

use super::error::CockroachError;
use thinledger_store::Invalid;
use thinledger_store::Secret;

/// A SQL identifier (database, schema or table name), always written double-quoted.
///
/// Quoting makes every name safe — quotes, semicolons, spaces and keywords included — and makes
/// it case-sensitive: give names as CockroachDB stores them (unquoted names are stored in lower
/// case, so a database created as `CREATE DATABASE Ledger` is `ledger`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

impl Ident {
    /// Checks a name: not empty, no control characters (NUL cannot be sent at all).
    pub fn new(field: &str, name: impl Into<String>) -> Result<Self, CockroachError> {
        let name = name.into();
        if name.is_empty() {
            return Err(CockroachError::invalid(
                field,
                name,
                "a name is not empty",
                "give the database or table name",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(CockroachError::invalid(
                field,
                name.escape_debug().to_string(),
                "a name has no control characters",
                "remove the control characters",
            ));
        }
        Ok(Ident(name))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name a caller has checked already (non-empty, no control characters).
    pub(crate) fn from_checked(name: String) -> Self {
        Ident(name)
    }
}

impl fmt::Display for Ident {
    /// The quoted form: `"name"`, with each `"` doubled.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.replace('"', "\"\""))
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string literal: `'text'`, with each `'` doubled. CockroachDB, like PostgreSQL with
/// `standard_conforming_strings`, takes backslashes in `'…'` literally, so nothing else needs
/// escaping. Callers never pass control characters (values are checked or generated).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A value bound to a placeholder: what is sent, how it is shown, and which secrets it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Param {
    value: String,
    display: String,
    secrets: Vec<Secret>,
}

impl Param {
    /// A value that holds no secret; it is shown as it is.
    pub fn text(value: impl Into<String>) -> Self {
        let value = value.into();
        Param {
            display: value.clone(),
            value,
            secrets: Vec::new(),
        }
    }

    /// A value holding secrets: `display` is its redacted form and `secrets` lists every secret
    /// string in `value` (for scrubbing what the server says back).
    pub(crate) fn sensitive(value: String, display: String, secrets: Vec<Secret>) -> Self {
        Param {
            value,
            display,
            secrets,
        }
    }

    /// The redacted form, as printed.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Whether the value holds a secret (its display differs from what is sent).
    pub fn is_sensitive(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// The value sent to the server — never for printing.
    pub(crate) fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn secrets(&self) -> &[Secret] {
        &self.secrets
    }
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({:?})", self.display)
    }
}

/// A statement ready to run: SQL text with `$n` placeholders, their values, and the redacted
/// display text. `Debug` and `Display` show only redacted forms.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    sql: String,
    params: Vec<Param>,
    display: String,
    label: &'static str,
}

impl Rendered {
    /// A fixed statement and its parameters. The text must be a compile-time constant, so no
    /// input can be spliced into it; values go in `params`.
    pub fn from_static(label: &'static str, sql: &'static str, params: Vec<Param>) -> Self {
        let mut display = sql.to_owned();
        // Replace from the highest number down so `$1` does not match the start of `$10`.
        for (i, p) in params.iter().enumerate().rev() {
            display = display.replace(&format!("${}", i + 1), &quote_literal(p.display()));
        }
        Rendered {
            sql: sql.to_owned(),
            params,
            display,
            label,
        }
    }

    /// The SQL text sent to the server, with `$1`, `$2`, … placeholders.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameter values, in placeholder order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The statement with each placeholder replaced by its redacted literal: what `--dry-run`
    /// prints and what logs show.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// A short name of the statement for messages, e.g. `BACKUP` or `SHOW BACKUPS`.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// Every secret string the parameters hold.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        self.params
            .iter()
            .flat_map(|p| p.secrets().iter().cloned())
            .collect()
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("sql", &self.sql)
            .field("params", &self.params)
            .finish()
    }
}

/// Writes the SQL text and the display text of one statement side by side.
#[derive(Debug)]
pub(crate) struct SqlWriter {
    sql: String,
    display: String,
    params: Vec<Param>,
}

impl SqlWriter {
    pub(crate) fn new() -> Self {
        SqlWriter {
            sql: String::new(),
            display: String::new(),
            params: Vec::new(),
        }
    }

    /// Fixed statement text (keywords, punctuation). Only `'static` text, so no input can be
    /// spliced in through this door.
    pub(crate) fn push(&mut self, text: &'static str) -> &mut Self {
        self.sql.push_str(text);
        self.display.push_str(text);
        self
    }

    /// A quoted identifier.
    pub(crate) fn ident(&mut self, ident: &Ident) -> &mut Self {
        let quoted = ident.to_string();
        self.sql.push_str(&quoted);
        self.display.push_str(&quoted);
        self
    }

    /// An escaped string literal, for values this crate generates from typed input
    /// (`AS OF SYSTEM TIME`, schedule option keywords), never secrets.
    pub(crate) fn literal(&mut self, text: &str) -> &mut Self {
        let quoted = quote_literal(text);
        self.sql.push_str(&quoted);
        self.display.push_str(&quoted);
        self
    }

    /// A bind parameter: `$n` in the SQL, the redacted literal in the display.
    pub(crate) fn param(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        let n = self.params.len();
        self.sql.push('$');
        self.sql.push_str(&n.to_string());
        if let Some(p) = self.params.last() {
            self.display.push_str(&quote_literal(p.display()));
        }
        self
    }

    /// One parameter, or several as `($1, $2, …)` (locality-aware URIs, several KMS keys).
    pub(crate) fn param_list(&mut self, params: Vec<Param>) -> &mut Self {
        let several = params.len() > 1;
        if several {
            self.push("(");
        }
        for (i, p) in params.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(p);
        }
        if several {
            self.push(")");
        }
        self
    }

    pub(crate) fn finish(self, label: &'static str) -> Rendered {
        Rendered {
            sql: self.sql,
            params: self.params,
            display: self.display,
            label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("ledger", r#""ledger""#)]
    #[case("Ledger", r#""Ledger""#)]
    #[case(r#"a"b"#, r#""a""b""#)]
    #[case(
        r#"x"; DROP DATABASE ledger; --"#,
        r#""x""; DROP DATABASE ledger; --""#
    )]
    #[case(r"back\slash", r#""back\slash""#)]
    #[case("select", r#""select""#)]
    #[case("with space.and dot", r#""with space.and dot""#)]
    fn identifiers_are_always_quoted_with_quotes_doubled(#[case] name: &str, #[case] sql: &str) {
        assert_eq!(Ident::new("t", name).unwrap().to_string(), sql);
    }

    #[rstest]
    #[case("")]
    #[case("nul\0byte")]
    #[case("line\nbreak")]
    fn identifiers_refuse_empty_and_control_characters(#[case] name: &str) {
        let err = Ident::new("options.database", name)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("options.database:"), "{err}");
    }

    #[rstest]
    #[case("plain", "'plain'")]
    #[case("it's", "'it''s'")]
    #[case("'; DROP TABLE t; --", "'''; DROP TABLE t; --'")]
    #[case(r"C:\path\", r"'C:\path\'")]
    #[case("''", "''''''")]
    fn literals_double_single_quotes_and_keep_backslashes(#[case] text: &str, #[case] sql: &str) {
        assert_eq!(quote_literal(text), sql);
    }

    #[test]
    fn writer_keeps_sql_and_display_in_step() {
        let mut w = SqlWriter::new();
        w.push("SELECT ")
            .param(Param::text("a'b"))
            .push(", ")
            .param(Param::sensitive(
                "s3cr3t-value".into(),
                "redacted".into(),
                vec![Secret::new("s3cr3t-value")],
            ))
            .push(" FROM ")
            .ident(&Ident::new("t", "my\"table").unwrap());
        let r = w.finish("SELECT");
        assert_eq!(r.sql(), r#"SELECT $1, $2 FROM "my""table""#);
        assert_eq!(r.display(), r#"SELECT 'a''b', 'redacted' FROM "my""table""#);
        assert_eq!(r.params()[1].value(), "s3cr3t-value");
        assert!(!format!("{r:?}{r}").contains("s3cr3t"));
    }

    #[test]
    fn from_static_displays_placeholders_past_nine() {
        let params = (1..=10).map(|i| Param::text(i.to_string())).collect();
        let r = Rendered::from_static(
            "SELECT",
            "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10",
            params,
        );
        assert_eq!(
            r.display(),
            "SELECT '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'"
        );
    }
}
