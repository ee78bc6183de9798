//! Shared plumbing of the four thin binaries (`ledger-size`, `ledger-topology`,
//! `ledger-policy`, `ledger-backup`): one set of command-line conventions.
//!
//! - [`GlobalArgs`] and [`OutputArgs`]: the global flags (`--output`, `--verbose`, `--quiet`,
//!   `--color`), each with its `THINLEDGER_*` environment variable;
//! - [`OutputFormat`] and [`write_structured`]: `--output table|json|yaml`, the same data
//!   in each format;
//! - [`ToolCommand`]: the `completion SHELL` and `man` subcommands; [`command`]/[`parse`]
//!   add the [`VERSION`] (git commit, features) and per-subcommand examples;
//! - `prompt_password` (feature `backup`): `ledger-backup`'s password prompt on a terminal (no echo, twice
//!   for a new password);
//! - [`read_input_file`]: tenant files and specs, read with a size cap ([`MAX_INPUT_FILE_BYTES`]);
//! - exit codes ([`EXIT_CODES`]) and the mapping from the libraries' typed errors to them
//!   ([`exit_code_for`], [`exit_status`]).
//!
//! The binaries themselves live in `src/bin/`; each parses flags, calls a library crate and
//! prints. Nothing here is meant for other crates.
//!
//! ```
//! use clap::Parser;
//! use thinledger_cli::{GlobalArgs, OutputArgs, OutputFormat};
//!
//! #[derive(Debug, Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     globals: GlobalArgs,
//!     #[command(flatten)]
//!     output: OutputArgs,
//! }
//!
//! let cli = Cli::try_parse_from(["tool", "-vv", "--output", "yaml"]).unwrap();
//! assert_eq!(cli.globals.verbose, 2);
//! assert_eq!(cli.output.format_or(OutputFormat::Table), OutputFormat::Yaml);
//! ```

mod exit;
mod globals;
mod input;
mod output;
#[cfg(feature = "backup")]
mod prompt;
mod tools;
mod version;

pub use exit::{
    BadInput, EXIT_BAD_INPUT, EXIT_CODES, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED,
    EXIT_NO_REPOSITORY, EXIT_OK, EXIT_WRONG_PASSWORD, bad, exit_code_for, exit_codes_help,
    exit_status, exit_status_or, is_broken_pipe, print_error, to_exit_code, verdict_after,
};
pub use globals::{ColorChoice, GlobalArgs, OutputArgs};
pub use input::{MAX_INPUT_FILE_BYTES, read_input_file};
pub use output::{OutputFormat, write_structured};
#[cfg(feature = "backup")]
pub use prompt::{PromptError, prompt_password, prompt_password_with};
pub use tools::{ToolCommand, command, parse, typed_on_command_line};
pub use version::{COMMIT, FEATURES, VERSION};
