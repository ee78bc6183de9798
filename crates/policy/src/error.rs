//! What can go wrong loading inputs and policies, or evaluating them.

use std::path::{Path, PathBuf};

use crate::shape::{DocumentKind, EXPECTED_INPUT};

/// An error from loading inputs or policies, or from evaluating them.
///
/// Input problems (see [`PolicyError::is_input_error`]) mean the check could not run on what it
/// was given: a guardrail that cannot read its input refuses it rather than passing it. The
/// others are problems with a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An input file is not valid JSON or YAML.
    #[error(
        "{path}:{line}:{column}: malformed {format}: {message}; fix the file (or check it with a {format} linter) and run again"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The format it was read as: `JSON` or `YAML`.
        format: &'static str,
        /// Line of the error, 1-based (0 when the parser gave no position).
        line: usize,
        /// Column of the error, 1-based (0 when the parser gave no position).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A directory given as input holds no JSON or YAML file.
    #[error(
        "{path}: no .json, .yaml or .yml files found; pass a Terraform plan (terraform show -json), Kubernetes manifests or a tenant file"
    )]
    NoInput {
        /// The directory.
        path: PathBuf,
    },
    /// A path given, or found in a directory given, is not a regular file (a device, a fifo, a
    /// socket): reading it could block or never end.
    #[error(
        "{path}: is {what}, not a regular file; pass Terraform plan JSON, Kubernetes YAML or tenant files (or directories of them)"
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is, e.g. `a character device`.
        what: &'static str,
    },
    /// An input or policy file is larger than [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES).
    #[error(
        "{path}: is {size} bytes, over the limit of {limit} bytes for one file; split the input (e.g. one plan per root module)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes (at least this many when it grew while read).
        size: u64,
        /// The limit, [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES).
        limit: u64,
    },
    /// A symbolic link inside a directory given leads outside every directory given. Links are
    /// followed only within the directories given, so a check reads only what it was pointed at.
    #[error(
        "{link}: symbolic link to {target}, outside the directories given; pass {target} explicitly if it should be checked, or remove the link"
    )]
    LinkOutsideRoots {
        /// The link, as found in the directory.
        link: PathBuf,
        /// Where it leads (resolved).
        target: PathBuf,
    },
    /// A document is none of the inputs the guardrails check: a guardrail that cannot
    /// recognise its input refuses it.
    #[error(
        "{}: not a Terraform plan, Kubernetes object or tenant file: found {found}; expected {}",
        location(path, *document, field),
        EXPECTED_INPUT
    )]
    UnrecognisedDocument {
        /// The file.
        path: PathBuf,
        /// The document's position in a multi-document YAML stream (1-based), if it has several.
        document: Option<usize>,
        /// Where in the file's document (`[2]` for an item of a top-level array); empty for
        /// the whole document.
        field: String,
        /// What was found, e.g. `an empty object`, `null`, `the string "hello"`.
        found: String,
    },
    /// A document recognised as a Terraform plan, Kubernetes object or List, or tenant file
    /// has a field of the wrong type or value, e.g. a plan whose `actions` is a string.
    #[error(
        "{}: malformed {kind}: {field} is {found}; expected {expected}",
        location(path, *document, "")
    )]
    MalformedDocument {
        /// The file.
        path: PathBuf,
        /// The document's position in a multi-document YAML stream (1-based), if it has several.
        document: Option<usize>,
        /// What the document was recognised as.
        kind: DocumentKind,
        /// The JSON path of the field, e.g. `resource_changes[3].change.actions`.
        field: String,
        /// What was found, e.g. `the string "delete"`, `missing`.
        found: String,
        /// What the field must be.
        expected: String,
    },
    /// A Rego policy does not parse or compile.
    #[error("policy {name}: {message}")]
    Policy {
        /// The policy's file name or built-in name.
        name: String,
        /// The Rego engine's message, with the position in the policy.
        message: String,
    },
    /// Evaluating a package's rules failed.
    #[error("evaluating data.{package}: {message}")]
    Eval {
        /// The Rego package, e.g. `thinledger.sizing`.
        package: String,
        /// The Rego engine's message.
        message: String,
    },
    /// A report format name that is not one of [`ReportFormat`](crate::ReportFormat)'s.
    #[error("unknown report format {name:?}; use table, json, yaml, sarif, junit or github")]
    UnknownFormat {
        /// The name given.
        name: String,
    },
    /// A report could not be rendered in a format.
    #[error("rendering the report as {format}: {message}")]
    Render {
        /// The format.
        format: crate::ReportFormat,
        /// The serializer's message.
        message: String,
    },
    /// A deny or warn rule produced a value that is neither a string nor an object with a
    /// string `msg` field.
    #[error(
        "data.{package}.{rule} produced {value}; deny/warn rules must produce strings or objects with a string \"msg\" field"
    )]
    BadFinding {
        /// The Rego package.
        package: String,
        /// The rule, e.g. `deny`.
        rule: String,
        /// The offending value, as JSON.
        value: String,
    },
}

impl PolicyError {
    /// Whether the error is about the input (unreadable or malformed), rather than a policy.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            PolicyError::Io { .. }
                | PolicyError::Parse { .. }
                | PolicyError::NoInput { .. }
                | PolicyError::NotAFile { .. }
                | PolicyError::TooLarge { .. }
                | PolicyError::LinkOutsideRoots { .. }
                | PolicyError::UnrecognisedDocument { .. }
                | PolicyError::MalformedDocument { .. }
        )
    }
}

/// `plan.json`, `manifests.yaml (document 2)`, `list.json at [3]`.
fn location(path: &Path, document: Option<usize>, field: &str) -> String {
    let mut at = path.display().to_string();
    if let Some(n) = document {
        at.push_str(&format!(" (document {n})"));
    }
    if !field.is_empty() {
        at.push_str(&format!(" at {field}"));
    }
    at
}
