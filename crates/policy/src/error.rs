//! What can go wrong loading inputs and policies, or evaluating them.

use std::path::PathBuf;

/// An error from loading inputs or policies, or from evaluating them.
///
/// Input problems ([`PolicyError::Io`], [`PolicyError::Parse`], [`PolicyError::NoInput`]) mean
/// the check could not run on what it was given; the others are problems with a policy.
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
            PolicyError::Io { .. } | PolicyError::Parse { .. } | PolicyError::NoInput { .. }
        )
    }
}
